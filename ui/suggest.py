"""Cached site suggestions for the 选址建议 page.

Keyed by content only: the job's key (region | parameters | station list), K, the
candidates' key (node settings, or the uploaded file's sha256 and name), the method and
solver; for the rider-zone target also the ride parameters. The job, region, stations
and upload are passed unhashed (``_job``, ``_region`` …).

The rider-zone target runs on the region's streets loaded with the e-bike filter
(:func:`ui.modes.region_in_mode`, cached per region and mode), from the stations of the
list in use that riders use (工会驿站 / 司机之家, chosen by :mod:`geo.siting.suggest`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import geopandas as gpd
import streamlit as st

from geo.network.model import WalkNetwork
from geo.params import DEFAULT_EBIKE_SPEED_KMH, CoverageParams
from geo.pipeline.job import CoverageJob
from geo.pipeline.region import Region
from geo.siting.suggest import Candidates, SuggestResult, read_candidates, suggest_sites
from geo.siting.zones import DEFAULT_RIDE_TIME_MIN
from geo.vocab import SitingMethod
from ui.data import JobHandle
from ui.modes import region_in_mode

#: Ride times (minutes) offered for the rider-zone target.
RIDE_TIME_CHOICES_MIN = (5.0, 10.0, 15.0)

Upload = tuple[str, bytes]


def uploaded_candidates(network: WalkNetwork, upload: Upload | None, *,
                        max_snap_m: float) -> Candidates | None:
    """The uploaded candidate file (``(name, bytes)``) read and snapped to ``network``."""
    if upload is None:
        return None
    name, data = upload
    suffix = ".csv" if name.lower().endswith(".csv") else ".geojson"
    with tempfile.TemporaryDirectory(prefix="yizhan-cand-") as tmp:
        p = Path(tmp) / f"candidates{suffix}"
        p.write_bytes(data)
        return read_candidates(network, p, max_snap_m=max_snap_m)


def rider_params(sidebar: CoverageParams, *, minutes: float | None = None) -> CoverageParams:
    """The e-bike parameters of the rider-zone target: the sidebar's riding speed when
    the sidebar is on e-bike (else 15 km/h), ``minutes`` (default 10), the sidebar's
    buffer and snap distance."""
    speed = sidebar.walk_speed_kmh if sidebar.mode == "ebike" else DEFAULT_EBIKE_SPEED_KMH
    return CoverageParams.for_mode("ebike", minutes=minutes or DEFAULT_RIDE_TIME_MIN,
                                   speed_kmh=speed, buffer_m=sidebar.buffer_m,
                                   max_snap_m=sidebar.max_snap_m)


def _towns(job: CoverageJob) -> gpd.GeoDataFrame | None:
    return None if job.towns.is_grid else job.towns.towns


@st.cache_resource(show_spinner=False, max_entries=16)
def _region_sites(job_key: str, k: int, cand_key: str, method: SitingMethod, solver: str | None,
            min_distance_m: float, _job: CoverageJob, _upload: Upload | None) -> SuggestResult:
    candidates = uploaded_candidates(_job.network, _upload, max_snap_m=_job.params.max_snap_m)
    result = suggest_sites(_job.network, coverage=_job.coverage, k=k, candidates=candidates,
                           towns=_towns(_job), method=method, solver=solver,
                           min_distance_m=min_distance_m)
    _ = result.service_areas  # built once, inside the cache
    return result


@st.cache_resource(show_spinner=False, max_entries=16)
def _rider_sites(job_key: str, ride_key: str, k: int, cand_key: str, method: SitingMethod,
           solver: str | None, min_distance_m: float, _job: CoverageJob, _region: Region,
           _params: CoverageParams, _upload: Upload | None) -> SuggestResult:
    net = region_in_mode(_region, _params.mode).network
    candidates = uploaded_candidates(net, _upload, max_snap_m=_params.max_snap_m)
    zones = _region.zones.accepted if _region.zones is not None else None
    result = suggest_sites(net, _job.station_input.accepted, k=k, candidates=candidates,
                           towns=_towns(_job), params=_params, method=method,
                           solver=solver, min_distance_m=min_distance_m,
                           target="rider-zones", zones=zones)
    _ = result.service_areas
    return result


def region_suggestions(handle: JobHandle, *, k: int, cand_key: str, method: SitingMethod,
                       solver: str | None, min_distance_m: float,
                       upload: Upload | None) -> SuggestResult:
    """Sites for the whole region, the job's stations and parameters fixed."""
    return _region_sites(handle.key, k, cand_key, method, solver, min_distance_m, handle.job,
                   upload)


def rider_suggestions(handle: JobHandle, region: Region, params: CoverageParams, *, k: int,
                      cand_key: str, method: SitingMethod, solver: str | None,
                      min_distance_m: float,
                      upload: Upload | None) -> SuggestResult:
    """Sites for the region's rider zones by e-bike (``params``: :func:`rider_params`)."""
    ride_key = (f"{params.mode}|{params.walk_time_min:g}|{params.walk_speed_kmh:g}|"
                f"{params.buffer_m:g}|{params.max_snap_m:g}")
    return _rider_sites(handle.key, ride_key, k, cand_key, method, solver, min_distance_m,
                  handle.job, region, params, upload)


def has_rider_zones(region: Region | None) -> bool:
    """Whether ``region`` has rider-friendly zones (the page then offers the target)."""
    return region is not None and region.zones is not None and len(region.zones.accepted) > 0
