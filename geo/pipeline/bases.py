"""A region's convalescence bases (职工疗休养基地) by car: its streets reloaded with the car
filter, drive-time access per town (or analysis cell) and routes from a town.

The app's 疗休养基地 page and the report use this; the computation is
:mod:`geo.access.bases` and :mod:`geo.access.routes`. A region's network is loaded for
walking, so :func:`region_network` reloads its *source* in another mode: the demo's
streets are rebuilt in code; a file (``.osm.pbf``, ``.osm``, ``.graphml``) is read again
with the mode's filter (through the prepared-network cache). A directory prepared for
walking holds no car streets: it is refused with what to do.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.access.bases import DEFAULT_BASE_SNAP_M, BaseAccess, base_access
from geo.access.routes import routes_frame, routes_to_bases
from geo.coverage.towns import hex_grid
from geo.crs import WGS84
from geo.errors import InvalidParameterError
from geo.network.loaders import load_network
from geo.network.model import WalkNetwork, prepare_network
from geo.network.modes import FILTER_VERSIONS, check_mode
from geo.network.travel import TravelGraph, travel_graph
from geo.pipeline.demo import build_demo_region
from geo.pipeline.region import Region

#: Analysis cells (hexagons) used when the region has no towns, as ``yizhan bases``.
CELL_M: Final = 2000.0


@dataclass(frozen=True, eq=False)
class RegionBases:
    """Drive-time access of a region's towns to its bases (read-only).

    ``access``: the :class:`BaseAccess`; ``towns``: the town (or cell) polygons in
    WGS-84 with ``town_id``, ``name``, ``nearest_base_name``, ``drive_time_min``,
    ``drive_distance_m``, ``reachable``; ``bases``: the bases in WGS-84; ``units``:
    ``"towns"`` or ``"cells"``.
    """

    access: BaseAccess
    towns: gpd.GeoDataFrame
    bases: gpd.GeoDataFrame
    units: str


def region_network(region: Region, mode: str, *,
                   cache_dir: str | os.PathLike[str] | None = None) -> WalkNetwork:
    """The region's streets filtered for ``mode`` (the loaded network when it already is).

    Raises :class:`InvalidParameterError` when the region's source cannot be read again
    (a downloaded region, an upload no longer on disk, a directory prepared for walking).
    """
    mode = check_mode(mode)
    if region.network.filter_report.version == FILTER_VERSIONS[mode]:
        return region.network
    if region.network.meta.get("format") == "demo":
        return prepare_network(build_demo_region().streets, meta={"format": "demo"},
                               mode=mode)
    path = (region.inputs.get("network") or {}).get("path")
    if not path or not Path(path).exists():
        raise InvalidParameterError(
            f"the region's street source is not available to load for {mode!r}: use a "
            "region folder with an .osm.pbf / .graphml, or run `yizhan bases` on the file")
    return load_network(path, cache_dir=cache_dir, mode=mode)


def region_base_access(region: Region, graph: TravelGraph, *,
                       limits_min: tuple[float, ...],
                       max_snap_m: float = DEFAULT_BASE_SNAP_M) -> RegionBases:
    """Drive time from every town of ``region`` (hexagonal cells of :data:`CELL_M` when
    it has no towns) to its nearest base, on the drive ``graph``.

    Raises :class:`InvalidParameterError` when the region has no bases.
    """
    if region.bases is None or not len(region.bases.accepted):
        raise InvalidParameterError("the region has no convalescence bases (bases layer)")
    net = graph.network
    towns, units = _units(region, net)
    bases = region.bases.accepted.to_crs(net.crs)
    result = base_access(graph, towns, bases, limits_min=limits_min,
                         population=region.population, max_snap_m=max_snap_m)
    return RegionBases(access=result, towns=_town_layer(towns, result.access),
                       bases=region.bases.accepted.to_crs(WGS84), units=units)


def town_routes(rb: RegionBases, graph: TravelGraph, town_id: object, *, k: int = 3,
                max_snap_m: float = DEFAULT_BASE_SNAP_M) -> gpd.GeoDataFrame:
    """The fastest car routes from a town's origin point to its ``k`` nearest bases
    (WGS-84; ``rank``, ``base_name``, ``drive_time_min``, ``drive_distance_km``,
    ``streets``)."""
    a = rb.access.access
    hit = a.loc[a["town_id"].astype(str) == str(town_id)]
    if not len(hit):
        raise InvalidParameterError(f"unknown town {town_id!r}")
    crs = graph.network.crs
    origin = gpd.GeoSeries.from_xy(hit["lon"].iloc[:1], hit["lat"].iloc[:1],
                                   crs=WGS84).to_crs(crs).iloc[0]
    bases = rb.bases.to_crs(crs)
    return routes_frame(routes_to_bases(graph, origin, bases, k=k, max_snap_m=max_snap_m),
                        crs)


def drive_graph(region: Region, *,
                cache_dir: str | os.PathLike[str] | None = None) -> TravelGraph:
    """The directed car graph of the region's streets (:func:`region_network`)."""
    return travel_graph(region_network(region, "drive", cache_dir=cache_dir))


def _units(region: Region, net: WalkNetwork) -> tuple[gpd.GeoDataFrame, str]:
    if region.towns is not None and len(region.towns.accepted):
        return region.towns.accepted.to_crs(net.crs).reset_index(drop=True), "towns"
    return hex_grid(net.bounds, net.crs, size_m=CELL_M, keep=net.geometry), "cells"


def _town_layer(towns: gpd.GeoDataFrame, access: pd.DataFrame) -> gpd.GeoDataFrame:
    cols = ["town_id", "name", "nearest_base_name", "drive_time_min", "drive_distance_m",
            "reachable", "population"]
    frame = access.loc[:, cols].reset_index(drop=True)
    frame["town_id"] = frame["town_id"].astype(str)
    geoms = np.asarray(towns.geometry.to_numpy(), dtype=object)
    return gpd.GeoDataFrame(frame, geometry=list(geoms), crs=towns.crs).to_crs(WGS84)
