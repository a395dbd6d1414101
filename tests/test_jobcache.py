"""The shared job store of the app (:mod:`ui.jobcache`)."""

from __future__ import annotations

import threading
import time

import pytest

from ui.jobcache import LruStore


def test_least_recently_used_entry_is_dropped() -> None:
    store: LruStore[int] = LruStore(max_entries=2)
    assert store.get_or_compute("a", lambda: 1) == 1
    assert store.get_or_compute("b", lambda: 2) == 2
    assert store.get("a") == 1  # "a" is now the most recent
    store.get_or_compute("c", lambda: 3)
    assert store.get("b") is None and store.get("a") == 1 and store.get("c") == 3


def test_sessions_racing_for_one_key_compute_it_once() -> None:
    store: LruStore[int] = LruStore(max_entries=4)
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        time.sleep(0.2)
        return 42

    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(store.get_or_compute("k", compute)))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [42] * 8 and len(calls) == 1


def test_a_failed_computation_is_not_cached() -> None:
    store: LruStore[int] = LruStore(max_entries=2)

    def boom() -> int:
        raise ValueError("bad input")

    for _ in range(2):
        with pytest.raises(ValueError):
            store.get_or_compute("k", boom)
    assert store.get("k") is None
    assert store.get_or_compute("k", lambda: 7) == 7
