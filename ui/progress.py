"""The 进度 page's data: the coverage-progress table, cached by content.

The cache key names everything the table depends on: the database file, which view of
it (signed in: every version and user names; anonymous: current versions only), each
version read (city, number, sha256, time — versions are immutable), the region's content
key and the parameters. So a session reaches an entry only by reading the same versions
it may read itself. Below this in-memory cache, the library's on-disk cache
(``~/.cache/yizhan/progress``, shared with ``yizhan progress``) keeps each version's
figures, so a new version costs one coverage run.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from geo.network.loaders import default_cache_dir
from geo.params import CoverageParams
from geo.pipeline.isolate import run_isolated
from geo.pipeline.progress import ProgressTable, coverage_progress
from geo.pipeline.region import Region
from geo.stations.store import OPERATOR, Reader, StationStore
from ui.config import WORKER_MEMORY_MB, WORKER_TIMEOUT_S

VersionKey = tuple[str, int, str, str]


def _reader(signed_in: bool) -> Reader:
    # every signed-in account reads everything, as the operator does
    return OPERATOR if signed_in else None


@st.cache_data(show_spinner=False, max_entries=16)
def _table(db_path: str, signed_in: bool, versions: tuple[VersionKey, ...],
           region_key: str, params_key: tuple[float, ...], isolated: bool,
           _region: Region, _params: CoverageParams) -> ProgressTable:
    store = StationStore(db_path, create=False)
    cities = list(dict.fromkeys(v[0] for v in versions))
    options: dict[str, Any] = {"cities": cities, "params": _params,
                               "user": _reader(signed_in),
                               "cache_dir": default_cache_dir() / "progress"}
    if isolated:  # an uploaded or downloaded network: in a limited worker process
        return run_isolated(coverage_progress, store, _region, timeout_s=WORKER_TIMEOUT_S,
                            memory_mb=WORKER_MEMORY_MB, **options)
    return coverage_progress(store, _region, **options)


def version_keys(store: StationStore, cities: list[str],
                 user: str | None) -> tuple[VersionKey, ...]:
    """The versions ``user`` may read of ``cities`` (anonymous: the current ones)."""
    keys: list[VersionKey] = []
    for city in cities:
        infos = ([store.current(city, user=None)] if user is None
                 else store.history(city, user=user))
        keys += [(i.city, i.version, i.sha256, i.created_at) for i in infos if i is not None]
    return tuple(keys)


def progress_table(store: StationStore, region: Region, cities: list[str], *,
                   params: CoverageParams, user: str | None,
                   isolated: bool) -> ProgressTable:
    """The progress table of ``cities`` as ``user`` (``None``: not signed in) may see it."""
    p = params
    return _table(str(store.path), user is not None, version_keys(store, cities, user),
                  region.key, (p.walk_time_min, p.walk_speed_kmh, p.buffer_m, p.max_snap_m),
                  isolated, region, params)


__all__ = ["progress_table", "version_keys"]
