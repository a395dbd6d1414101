"""Does a station list belong to the loaded region?

Before a new list is compared with the loaded region (or diffed against its own list),
the app checks how many of its stations lie within ``max_snap_m`` of one of the
region's walkable streets. A Zhaoqing list on the demo region has none: the user is
told to load that city's network instead of getting a coverage error that blames the
coordinate system, or a diff against another city's list.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np

from geo.errors import CRSError
from geo.network.model import WalkNetwork


@dataclass(frozen=True)
class RegionFit:
    """How many of ``n_stations`` lie within ``max_snap_m`` of the region's streets."""

    n_stations: int
    n_on_network: int
    max_snap_m: float

    @property
    def n_outside(self) -> int:
        return self.n_stations - self.n_on_network

    @property
    def fits(self) -> bool:
        """At least one station is on the region's network."""
        return self.n_on_network > 0


def region_fit(network: WalkNetwork, stations: gpd.GeoDataFrame, *,
               max_snap_m: float) -> RegionFit:
    """Count the ``stations`` (any CRS) within ``max_snap_m`` of ``network``'s streets."""
    if stations.crs is None:
        raise CRSError("the stations have no CRS: set it (EPSG:4326 for lon/lat) first")
    points = np.asarray(stations.to_crs(network.crs).geometry.to_numpy(), dtype=object)
    if len(points) == 0:
        return RegionFit(0, 0, float(max_snap_m))
    hits = network.edge_tree.query(points, predicate="dwithin", distance=float(max_snap_m))
    near = np.unique(hits[0]).size if hits.size else 0
    return RegionFit(len(points), int(near), float(max_snap_m))
