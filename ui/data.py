"""Data access for the pages: regions, jobs and display layers, cached.

Caching rules (safe for many concurrent sessions):

* every cache key is a *content* key (sha256 of uploaded bytes, region folder path +
  file hashes, parameters) — a session can only hit an entry by supplying the same
  content, so nothing of another session's uploads is reachable;
* cached objects are read-only (frozen dataclasses; pages never mutate them);
* uploads themselves live in the session (:mod:`ui.state`), never in a global.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from geo.coverage.service_areas import service_area_of
from geo.errors import InputFileError, YizhanError
from geo.io.layers import LayerTable
from geo.network.loaders import default_cache_dir
from geo.params import CoverageParams
from geo.pipeline.isolate import (
    download_network_isolated,
    region_from_files_isolated,
    run_region_isolated,
)
from geo.pipeline.job import (
    APP_AREA_PIXEL_M,
    APP_DISPLAY_MAX_PX,
    STAGES,
    CoverageJob,
    ProgressFn,
    run_region,
    write_outputs,
)
from geo.pipeline.region import Region, demo_region, list_region_folders
from geo.pipeline.region import region_from_folder as _region_from_folder
from geo.pipeline.units import AnalysisUnits, analysis_units
from geo.stations.store import OPERATOR, Reader, StationStore, layer_table
from geo.webmap.maps import MapData, map_data
from ui.auth import open_store, reader
from ui.config import WORKER_MEMORY_MB, WORKER_TIMEOUT_S, settings
from ui.jobcache import LruStore
from ui.modes import region_in_mode
from ui.state import AppState, StationList, app_state, tr
from ui.text import safe_message


def regions_dir() -> Path:
    """Where region folders are listed from (``$YIZHAN_REGIONS_DIR``)."""
    return settings().regions_dir


def available_region_folders() -> list[Path]:
    return list_region_folders(regions_dir())


@st.cache_resource(show_spinner=False, max_entries=1)
def _demo() -> Region:
    return demo_region()


@st.cache_resource(show_spinner=False, max_entries=8)
def _folder(path: str, _stamp: tuple[Any, ...], mode: str) -> Region:
    # loaded in the session's travel mode: a folder prepared for the e-bike (an e-bike
    # batch's partitions) opens as it is, others are read again with that mode's filter
    return _region_from_folder(path, cache_dir=default_cache_dir(), mode=mode)


def _stamp(path: Path) -> tuple[Any, ...]:
    return tuple(sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns)
                        for p in path.iterdir()))


@st.cache_resource(show_spinner=False, max_entries=8)
def _uploaded(key: str, _files: dict[str, tuple[str, bytes]]) -> Region:
    with tempfile.TemporaryDirectory(prefix="yizhan-upload-") as tmp:
        paths: dict[str, Path] = {}
        for role, (name, data) in _files.items():
            safe = f"{role}{_suffix(name)}"
            p = Path(tmp) / safe
            p.write_bytes(data)
            paths[role] = p
        if "network" not in paths:
            raise InputFileError(tr("请先上传路网文件", "Upload a network file first"))
        region = region_from_files_isolated(
            paths["network"], stations_path=paths.get("stations"),
            towns_path=paths.get("towns"), zones_path=paths.get("zones"),
            bases_path=paths.get("bases"), population_path=paths.get("population"),
            cache_dir=default_cache_dir(),
            label=_files["network"][0], timeout_s=WORKER_TIMEOUT_S,
            memory_mb=WORKER_MEMORY_MB)
    return region


@st.cache_resource(show_spinner=False, max_entries=4)
def _online(place: str) -> Region:
    net = download_network_isolated(place=place, cache_dir=default_cache_dir(),
                                    timeout_s=WORKER_TIMEOUT_S, memory_mb=WORKER_MEMORY_MB)
    return Region(key="online:" + hashlib.sha256(place.encode()).hexdigest()[:16],
                  label=place, network=net,
                  inputs={"network": {"path": f"OpenStreetMap: {place}", "sha256": None}})


def _suffix(name: str) -> str:
    low = name.lower()
    for s in (".osm.pbf", ".osm.xml", ".graphml", ".osm", ".pbf", ".geojson", ".json",
              ".gpkg", ".zip", ".csv", ".xlsx", ".tiff", ".tif"):
        if low.endswith(s):
            return s
    return Path(low).suffix


def upload_key(files: dict[str, tuple[str, bytes]]) -> str:
    h = hashlib.sha256()
    for role in sorted(files):
        name, data = files[role]
        h.update(role.encode() + b"\0" + name.encode() + b"\0")
        h.update(hashlib.sha256(data).digest())
    return h.hexdigest()[:24]


def current_region(state: AppState | None = None) -> Region | None:
    """The region chosen in the sidebar (``None`` when it cannot be loaded yet)."""
    s = state or app_state()
    if s.region_kind == "demo":
        return _demo()
    if s.region_kind == "folder" and s.region_folder:
        p = Path(s.region_folder)
        return _folder(str(p), _stamp(p), s.params.mode)
    if s.region_kind == "upload" and "network" in s.uploads:
        return _uploaded(upload_key(s.uploads), dict(s.uploads))
    if s.region_kind == "online" and s.online_place:
        return _online(s.online_place)
    return None


def _params_key(p: CoverageParams) -> str:
    key = f"{p.walk_time_min:g}|{p.walk_speed_kmh:g}|{p.buffer_m:g}|{p.max_snap_m:g}"
    return key if p.mode == "walk" else f"{key}|{p.mode}"


@st.cache_resource(show_spinner=False)
def _jobs() -> LruStore[CoverageJob]:
    return LruStore(max_entries=24)


@st.cache_resource(show_spinner=False, max_entries=8)
def _units(region_key: str, buffer_m: float, _region: Region) -> AnalysisUnits:
    # towns or H3 cells and their streets: built once per region (and buffer), reused
    # by every parameter change
    return analysis_units(_region.network, _region.towns, buffer_m=buffer_m)


def _job(region_key: str, params_key: str, stations_key: str, region: Region,
         params: CoverageParams, stations: LayerTable | None,
         progress: ProgressFn | None = None, *, isolated: bool = False) -> CoverageJob:
    """The job from the shared store, else computed: in this process with progress
    for a server region (its analysis units reused, the area measured on the app's
    grid), in a limited worker process for an uploaded or downloaded network
    (``isolated``)."""
    def compute() -> CoverageJob:
        if isolated:
            return run_region_isolated(region, params=params, stations=stations,
                                       timeout_s=WORKER_TIMEOUT_S, memory_mb=WORKER_MEMORY_MB)
        return run_region(region, params=params, stations=stations, progress=progress,
                          units=_units(region.key, params.buffer_m, region),
                          area_pixel_m=APP_AREA_PIXEL_M, area_display_max_px=APP_DISPLAY_MAX_PX)

    return _jobs().get_or_compute((region_key, params_key, stations_key), compute)


def _as_reader(signed_in: bool) -> Reader:
    # every signed-in account reads everything, as the operator does; the cache key
    # says which of the two views an entry holds, so an anonymous session never gets
    # an entry read for a signed-in one
    return OPERATOR if signed_in else None


@st.cache_resource(show_spinner=False, max_entries=16)
def _db_table(path: str, city: str, version: int, sha256: str, created_at: str,
              signed_in: bool) -> LayerTable:
    # versions are immutable: (path, city, version, sha256, created_at) names the content
    table, _info = layer_table(StationStore(path, create=False), city, version=version,
                               user=_as_reader(signed_in))
    return table


@st.cache_resource(show_spinner=False, max_entries=16)
def _db_stations(path: str, city: str, version: int, sha256: str, created_at: str,
                 signed_in: bool) -> Any:
    return StationStore(path, create=False).stations(city, version=version,
                                                     user=_as_reader(signed_in))


def stored_stations(store: Any, info: Any, *, user: str | None) -> Any:
    """The stations of a stored version as ``user`` (``None``: not signed in) may see
    them (a read-only GeoDataFrame; cached — versions are immutable, so path, city,
    version, sha256 and time name the content)."""
    return _db_stations(str(store.path), info.city, info.version, info.sha256,
                        info.created_at, user is not None)


def base_stations(region: Region, state: AppState) -> tuple[str, LayerTable | None]:
    """The list uploads are compared with: the chosen city's current stored version
    (``$YIZHAN_DB``), else the region's own list."""
    if state.db_city:
        store = open_store()
        user = reader(state, store)
        info = store.current(state.db_city, user=user) if store is not None else None
        if store is not None and info is not None:
            key = f"db:{info.city}:v{info.version}:{info.sha256[:16]}"
            return key, _db_table(str(store.path), info.city, info.version, info.sha256,
                                  info.created_at, user is not None)
    return "region", region.stations


def stations_for(region: Region, state: AppState) -> tuple[str, LayerTable | None]:
    """The station list in use: the session's uploaded list (on top of the base list),
    else the base list (:func:`base_stations`)."""
    base_key, base = base_stations(region, state)
    chosen = state.stations_in_use
    if chosen is None:
        return base_key, base
    return f"{base_key}+{chosen.key}", combine(base, chosen)


def combine(base: LayerTable | None, upload: StationList) -> LayerTable:
    """``replace``: the uploaded list alone; ``add``: base + uploaded (uploaded wins on id)."""
    if upload.mode == "replace" or base is None:
        return upload.table
    new_ids = set(upload.table.accepted["station_id"])
    kept = base.accepted.loc[~base.accepted["station_id"].isin(new_ids)]
    acc = pd.concat([kept, upload.table.accepted], ignore_index=True)
    rej = pd.concat([base.rejected, upload.table.rejected], ignore_index=True)
    dropped = len(base.accepted) - len(kept)
    return LayerTable(accepted=acc.set_crs(base.accepted.crs, allow_override=True),
                      rejected=rej,
                      rows_in=len(acc) + len(rej),
                      source=f"{base.source} + {upload.file_name} ({dropped} replaced)")


@dataclass(frozen=True, eq=False)
class JobHandle:
    """A computed job and its content key (region | parameters | station list)."""

    key: str
    job: CoverageJob


def job_for(region: Region, params: CoverageParams, stations_key: str,
            stations: LayerTable | None, state: AppState | None = None) -> JobHandle:
    """The coverage job, computed once per (region, parameters, station list)."""
    s = state or app_state()
    key = (region.key, _params_key(params), stations_key)
    isolated = s.region_kind in ("upload", "online")
    if key in s.computed:
        return JobHandle("|".join(key), _job(*key, region, params, stations,
                                             isolated=isolated))
    label = (tr("正在独立进程中计算步行覆盖…", "Computing walking coverage in a worker process…")
             if isolated else tr("正在计算步行覆盖…", "Computing walking coverage…"))
    with st.status(label, expanded=True) as status:
        bar = st.progress(0.0)

        def progress(stage: str, fraction: float) -> None:
            zh, en = STAGES.get(stage, (stage, stage))
            bar.progress(min(max(float(fraction), 0.0), 1.0), text=tr(zh, en))

        try:
            job = _job(*key, region, params, stations, progress, isolated=isolated)
        except Exception:
            status.update(label=tr("计算未完成", "Not computed"), state="error")
            raise
        status.update(label=tr("计算完成", "Done"), state="complete", expanded=False)
    s.computed.add(key)
    return JobHandle("|".join(key), job)


def current_job(state: AppState | None = None) -> JobHandle | None:
    """The job for the sidebar's region, parameters and station list (or ``None``)."""
    s = state or app_state()
    region = current_region(s)
    if region is None:
        return None
    key, stations = stations_for(region, s)
    if stations is None:
        return None
    return job_for(region_in_mode(region, s.params.mode), s.params, key, stations, s)


@st.cache_resource(show_spinner=False, max_entries=32)
def _map_data(job_key: str, lang: str, _job: CoverageJob) -> MapData:
    return map_data(_job, lang=lang)


def map_data_for(handle: JobHandle, lang: str) -> MapData:
    return _map_data(handle.key, lang, handle.job)


@st.cache_resource(show_spinner=False, max_entries=64)
def _station_areas(job_key: str, ids: tuple[str, ...], _job: CoverageJob) -> Any:
    return service_area_of(_job.coverage, list(ids))


def station_areas_for(handle: JobHandle, ids: list[str]) -> Any:
    """The exact service areas of the chosen stations, computed on demand (a few
    hundredths of a second each) — the app never builds every station's area first."""
    return _station_areas(handle.key, tuple(sorted(str(i) for i in ids)), handle.job)


@st.cache_resource(show_spinner=False, max_entries=16)
def _outputs(job_key: str, _job: CoverageJob) -> dict[str, bytes]:
    with tempfile.TemporaryDirectory(prefix="yizhan-out-") as tmp:
        paths = write_outputs(_job, tmp)
        return {name: p.read_bytes() for name, p in paths.items()}


def outputs_for(handle: JobHandle) -> dict[str, bytes]:
    """The files ``yizhan coverage`` writes, as bytes."""
    return _outputs(handle.key, handle.job)


def outputs_zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def error_text(exc: Exception) -> str:
    """A one-paragraph message for the page (named errors carry their own advice)."""
    if isinstance(exc, YizhanError):
        return safe_message(exc.message(app_state().lang))
    name = type(exc).__name__
    return safe_message(tr(f"意外错误：{name}: {exc}", f"Unexpected error: {name}: {exc}"))
