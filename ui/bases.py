"""Cached drive-time access to the current region's convalescence bases (疗休养基地 page).

Keyed by content only: the region's key (its inputs' sha256, or the demo), the limits
and the town; the region object itself is passed unhashed (``_region``).
"""

from __future__ import annotations

import geopandas as gpd
import streamlit as st

from geo.network.loaders import default_cache_dir
from geo.network.travel import TravelGraph
from geo.pipeline.bases import RegionBases, drive_graph, region_base_access, town_routes
from geo.pipeline.region import Region


@st.cache_resource(show_spinner=False, max_entries=4)
def _graph(region_key: str, _region: Region) -> TravelGraph:
    return drive_graph(_region, cache_dir=default_cache_dir())


@st.cache_resource(show_spinner=False, max_entries=16)
def _access(region_key: str, limits_min: tuple[float, ...], _region: Region) -> RegionBases:
    return region_base_access(_region, _graph(region_key, _region), limits_min=limits_min)


@st.cache_resource(show_spinner=False, max_entries=64)
def _routes(region_key: str, limits_min: tuple[float, ...], town_id: str,
            _region: Region) -> gpd.GeoDataFrame:
    return town_routes(_access(region_key, limits_min, _region), _graph(region_key, _region),
                       town_id)


def bases_access_for(region: Region, limits_min: tuple[float, ...]) -> RegionBases:
    """Drive-time access of the region's towns to its bases (cached per region + limits)."""
    return _access(region.key, tuple(limits_min), region)


def routes_for(region: Region, limits_min: tuple[float, ...], town_id: str) -> gpd.GeoDataFrame:
    """The routes from ``town_id`` to its 3 nearest bases (cached per region + town)."""
    return _routes(region.key, tuple(limits_min), str(town_id), region)
