"""The raw street table every network source is read into before filtering.

Readers (``.osm.pbf`` via pyosmium, ``.osm`` XML / GraphML / Overpass via osmnx, the
synthetic demo) all produce a :class:`RawStreets`: one row per street segment between
two junctions, in WGS-84, with the OSM tags the pedestrian filter needs. Nothing is
filtered yet, so the filter can report what it drops.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

#: Tags kept on every raw edge (missing tags are ``None``). List-valued tags (osmnx
#: merges them when simplifying) are joined with ``";"``.
RAW_TAG_COLUMNS: tuple[str, ...] = (
    "highway",
    "name",
    "foot",
    "access",
    "service",
    "motorroad",
    "area",
    "sidewalk",
    # read by the e-bike and car filters / speed model (geo.network.modes)
    "bicycle",
    "motor_vehicle",
    "motorcar",
    "vehicle",
    "oneway",
    "junction",
    "maxspeed",
    "osmid",
)

#: osmnx ``useful_tags_way`` needed to evaluate the pedestrian filter.
OSMNX_WAY_TAGS: tuple[str, ...] = (
    "highway", "name", "foot", "access", "service", "motorroad", "area", "sidewalk",
    "bridge", "tunnel", "oneway", "lanes", "maxspeed", "junction", "ref",
    "bicycle", "motor_vehicle", "motorcar", "vehicle",
)


@dataclass(frozen=True)
class RawStreets:
    """Unfiltered street segments in WGS-84 (EPSG:4326).

    Attributes
    ----------
    node_id, node_lon, node_lat:
        One entry per junction / end node (OSM node ids, ``int64``; degrees).
    edges:
        ``pandas.DataFrame`` with columns ``u``, ``v`` (OSM node ids present in
        ``node_id``), ``geometry`` (shapely ``LineString`` in lon/lat that starts at
        ``u`` and ends at ``v``), ``length_m`` (float, ``NaN`` where the source has
        none) and every column of :data:`RAW_TAG_COLUMNS` (``str`` or ``None``).
        An undirected street appears once or twice (both directions); the network
        builder de-duplicates.
    source:
        Human-readable description of where the data came from.
    meta:
        Reader details; ``meta["repairs"]`` lists the repairs made while reading
        (:class:`geo.network.validate.RepairLog`), carried into the prepared network.
    """

    node_id: np.ndarray
    node_lon: np.ndarray
    node_lat: np.ndarray
    edges: pd.DataFrame
    source: str = ""
    meta: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = {"u", "v", "geometry", "length_m", *RAW_TAG_COLUMNS} - set(self.edges.columns)
        if missing:
            raise ValueError(f"RawStreets.edges lacks columns {sorted(missing)}")
        if not (len(self.node_id) == len(self.node_lon) == len(self.node_lat)):
            raise ValueError("RawStreets node arrays differ in length")


def tag_to_str(value: object) -> str | None:
    """Normalise an OSM tag value: lists joined with ``;``, NaN/None → ``None``."""
    if value is None:
        return None
    if isinstance(value, (list, tuple, set)):
        parts = [str(v) for v in value if v is not None and str(v) != "nan"]
        return ";".join(dict.fromkeys(parts)) if parts else None
    if isinstance(value, float) and np.isnan(value):
        return None
    s = str(value)
    # osmnx 1.x GraphML stores merged tags as the repr of a Python list.
    if s.startswith("[") and s.endswith("]"):
        inner = [p.strip().strip("'\"") for p in s[1:-1].split(",")]
        inner = [p for p in inner if p]
        return ";".join(dict.fromkeys(inner)) if inner else None
    return s
