"""Rider-friendly zones (骑手友好场景) by e-bike: how much of each zone is a short ride from
a station riders use.

Delivery riders ride, they do not walk: each zone is measured on the ``ebike`` network
(:mod:`geo.network.modes`: roads open to non-motor vehicles, footways only with bicycle
access, one riding speed — 12 / 15 / 20 km/h presets, default 15) from the stations
riders use, :data:`RIDER_STATION_TYPES` (工会驿站 and 司机之家).

* ``covered_length_share``: the share of the zone's rideable streets within
  ``ride_time_min`` (default :data:`DEFAULT_RIDE_TIME_MIN` = 10 minutes) of such a
  station — partial streets count, as in walking coverage
  (:func:`geo.coverage.towns.zone_report` on the e-bike coverage).
* ``nearest_station_id`` / ``nearest_station_name`` / ``nearest_ride_time_min``: the
  nearest such station from the zone's closest street point and the ride there
  (empty when no station is within the ride time).
* **Order**: zones without a station within the ride time first, then by covered share
  (lowest first), then by street length (longest first); ``rank`` 1 is the neediest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.coverage.core import compute_coverage
from geo.coverage.towns import zone_report
from geo.crs import as_crs
from geo.errors import CRSError, StationDataError
from geo.network.model import WalkNetwork
from geo.network.modes import mode_summary
from geo.params import DEFAULT_EBIKE_SPEED_KMH, DEFAULT_MAX_SNAP_M, CoverageParams

#: The station types riders use (a 工会驿站 or a 司机之家).
RIDER_STATION_TYPES: Final[tuple[str, ...]] = ("工会驿站", "司机之家")
DEFAULT_RIDE_TIME_MIN: Final = 10.0

#: Columns of :attr:`RiderZones.zones`, in order.
RIDER_COLUMNS: Final[tuple[str, ...]] = (
    "rank", "zone_id", "name", "street_length_m", "covered_length_m",
    "covered_length_share", "nearest_station_id", "nearest_station_name",
    "nearest_ride_time_min", "station_within_threshold",
)


@dataclass(frozen=True, eq=False)
class RiderZones:
    """The result of :func:`rider_zones`.

    ``zones``: one row per zone, columns :data:`RIDER_COLUMNS`, neediest first.
    ``params``: the e-bike parameters; ``stations_used``: rider stations on the network;
    ``meta``: ``travel_mode``, ``speed_model``, ``network_filter`` and the station types.
    """

    zones: pd.DataFrame
    params: CoverageParams
    stations_used: int
    meta: dict[str, Any] = field(default_factory=dict)

    def without_station(self) -> pd.DataFrame:
        """The zones with no rider station within the ride time."""
        return self.zones.loc[~self.zones["station_within_threshold"]]


def rider_zones(network: WalkNetwork, stations: gpd.GeoDataFrame, zones: gpd.GeoDataFrame,
                *, ride_time_min: float = DEFAULT_RIDE_TIME_MIN,
                speed_kmh: float = DEFAULT_EBIKE_SPEED_KMH,
                max_snap_m: float = DEFAULT_MAX_SNAP_M) -> RiderZones:
    """Per rider zone: the share of its streets within ``ride_time_min`` of a 工会驿站 /
    司机之家 by e-bike, the nearest such station and its ride time, neediest first.

    ``network`` must be prepared in ``ebike`` mode (``load_network(…, mode="ebike")``);
    ``stations`` (with ``type``) and ``zones`` (``zone_id``, ``name``) must declare a CRS
    and are reprojected to the network's. Raises :class:`StationDataError` when no
    station is of a rider type and :class:`~geo.errors.NoStationsOnNetworkError` when
    none is on the network.
    """
    params = CoverageParams.for_mode("ebike", minutes=ride_time_min, speed_kmh=speed_kmh,
                                     max_snap_m=max_snap_m)
    riders = _rider_stations(_in_crs(stations, network, "stations"))
    cov = compute_coverage(network, riders, params=params)
    table = _ranked(zone_report(cov, _in_crs(zones, network, "zones")))
    meta = {**mode_summary("ebike", speed_kmh=params.speed_kmh),
            "ride_time_min": params.walk_time_min, "station_types": list(RIDER_STATION_TYPES)}
    return RiderZones(zones=table, params=params, stations_used=len(cov.used), meta=meta)


def _in_crs(layer: gpd.GeoDataFrame, network: WalkNetwork, what: str) -> gpd.GeoDataFrame:
    if layer.crs is None:
        raise CRSError(f"the {what} layer has no coordinate system: declare it (WGS-84 "
                       "for lon/lat) before measuring rider zones")
    return layer if as_crs(layer.crs) == as_crs(network.crs) else layer.to_crs(network.crs)


def rider_stations(stations: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The stations riders use (``type`` in :data:`RIDER_STATION_TYPES`), possibly none
    (site suggestions for rider zones start from them)."""
    keep = stations["type"].isin(RIDER_STATION_TYPES).to_numpy() \
        if "type" in stations.columns else np.zeros(len(stations), dtype=bool)
    return stations.loc[keep].reset_index(drop=True)


def _rider_stations(stations: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    keep = stations["type"].isin(RIDER_STATION_TYPES).to_numpy()
    if not keep.any():
        raise StationDataError(
            f"none of the {len(stations)} stations is a {' or '.join(RIDER_STATION_TYPES)}: "
            "rider zones are measured from those types only",
            zh=f"{len(stations)} 个站点中没有工会驿站或司机之家：骑手友好场景只按这两类站点计算。")
    return stations.loc[keep].reset_index(drop=True)


def _ranked(report: pd.DataFrame) -> pd.DataFrame:
    out = report.rename(columns={"nearest_walk_time_min": "nearest_ride_time_min"})
    share = out["covered_length_share"].fillna(0.0)
    order = np.lexsort((-out["street_length_m"].to_numpy(dtype=float), share.to_numpy(),
                        out["station_within_threshold"].to_numpy(dtype=bool)))
    out = out.iloc[order].reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out.loc[:, list(RIDER_COLUMNS)]
