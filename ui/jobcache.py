"""A bounded, thread-safe cache of coverage jobs shared by the sessions.

Jobs are computed *outside* ``st.cache_resource`` so their progress can be shown
(Streamlit refuses element calls inside a cached function). The store itself is one
``st.cache_resource`` object; keys are content keys (region, parameters, station list),
so a session only hits an entry by supplying the same content. One lock per key: two
sessions asking for the same new job compute it once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class LruStore(Generic[T]):
    """At most ``max_entries`` values, least recently used dropped first."""

    def __init__(self, max_entries: int) -> None:
        self._max = max_entries
        self._items: OrderedDict[Hashable, T] = OrderedDict()
        self._lock = threading.Lock()
        self._key_locks: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable) -> T | None:
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The cached value of ``key``, or ``compute()`` (once, even when sessions race)."""
        hit = self.get(key)
        if hit is not None:
            return hit
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            hit = self.get(key)
            if hit is not None:
                return hit
            value = compute()
            with self._lock:
                self._items[key] = value
                self._items.move_to_end(key)
                while len(self._items) > self._max:
                    old, _ = self._items.popitem(last=False)
                    self._key_locks.pop(old, None)
            return value
