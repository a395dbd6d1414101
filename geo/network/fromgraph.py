"""osmnx-style street graphs → :class:`~geo.network.raw.RawStreets`, validated.

Two inputs share one assembly (:func:`raw_from_parts`): a networkx ``MultiDiGraph`` as
osmnx builds it (``.osm`` XML, Overpass downloads — :func:`raw_from_graph`) and the
columns the streaming GraphML reader (:mod:`geo.network.graphml`) collects without
building a graph. Nodes carry ``x`` / ``y`` in the graph's CRS (``graph['crs']``); edges
an optional ``geometry`` (shapely or WKT text), an optional ``length`` (metres) and the
tags of :data:`~geo.network.raw.RAW_TAG_COLUMNS`.

Checks and repairs follow :mod:`geo.network.validate`; in addition node coordinates are
checked in the source CRS before they are converted to WGS-84, so a message quotes the
values as they are in the file.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import shapely

from geo.crs import WGS84, as_crs, transform_geometries, transform_xy
from geo.errors import CRSError, EmptyNetworkError
from geo.network.raw import RAW_TAG_COLUMNS, RawStreets, tag_to_str
from geo.network.validate import (
    REPAIR_GEOMETRY,
    RepairLog,
    check_geometries,
    check_node_coords,
    check_unique_ids,
    fail,
    id_array,
    parse_lengths,
    short,
    straight_lines,
)


@dataclass
class GraphParts:
    """The columns of an osmnx-style graph, one entry per node / per edge (graph order).

    ``node_x`` / ``node_y`` hold the raw values (``None`` = attribute absent); ``edge_u``
    / ``edge_v`` are positions into the node columns; ``geometry``, ``length`` and
    ``tags`` hold raw values (``None`` = absent).
    """

    node_key: Sequence[object] | np.ndarray
    node_x: Sequence[object]
    node_y: Sequence[object]
    edge_u: np.ndarray
    edge_v: np.ndarray
    geometry: Sequence[object]
    length: Sequence[object]
    tags: dict[str, Sequence[object]]
    crs: object
    source: str = ""
    meta: dict[str, object] = field(default_factory=dict)


def raw_from_graph(graph: nx.MultiDiGraph, *, source: str = "") -> RawStreets:
    """Convert an osmnx-style graph (any CRS declared in ``graph.graph['crs']``)."""
    nodes = list(graph.nodes)
    pos = {n: i for i, n in enumerate(nodes)}
    node_data = graph.nodes
    us: list[int] = []
    vs: list[int] = []
    geoms: list[object] = []
    lengths: list[object] = []
    tags: dict[str, list[object]] = {c: [] for c in RAW_TAG_COLUMNS}
    for u, v, data in graph.edges(data=True):
        us.append(pos[u])
        vs.append(pos[v])
        geoms.append(data.get("geometry"))
        lengths.append(data.get("length"))
        for c in RAW_TAG_COLUMNS:
            tags[c].append(data.get(c))
    return raw_from_parts(GraphParts(
        node_key=nodes,
        node_x=[node_data[n].get("x") for n in nodes],
        node_y=[node_data[n].get("y") for n in nodes],
        edge_u=np.asarray(us, dtype=np.int64), edge_v=np.asarray(vs, dtype=np.int64),
        geometry=geoms, length=lengths, tags=dict(tags), crs=graph.graph.get("crs"),
        source=source,
    ))


def raw_from_parts(parts: GraphParts) -> RawStreets:
    """Validate and assemble the columns of a graph into a :class:`RawStreets` (WGS-84)."""
    source = parts.source or "the graph"
    if parts.edge_u.size == 0:
        raise EmptyNetworkError(f"{source} has no edges")
    if parts.crs is None:
        raise CRSError(
            f"{source} declares no CRS (graph attribute 'crs'); "
            "save it with osmnx so the CRS is recorded"
        )
    crs = as_crs(parts.crs)
    node_ids = id_array(parts.node_key, source=source, what="node")
    check_unique_ids(node_ids, source=source)
    x = _coordinates(parts.node_x, "x", node_ids, source)
    y = _coordinates(parts.node_y, "y", node_ids, source)
    geographic = crs.is_geographic
    check_node_coords(node_ids, x, y, source=source, lonlat=geographic)
    iu, iv = parts.edge_u, parts.edge_v

    def label(i: int) -> str:
        return f"edge {node_ids[iu[i]]}→{node_ids[iv[i]]}"

    repairs = RepairLog()
    geo_arr = _geometries(parts.geometry, label, source)
    gc = check_geometries(geo_arr, source=source, label=label, lonlat=geographic)
    repairs.add_mask(REPAIR_GEOMETRY, gc.degenerate,
                     lambda i: f"{label(i)}: {short(geo_arr[i], 60)}")
    given = ~gc.straight
    geo_arr[given] = _orient(geo_arr[given], x[iu[given]], y[iu[given]])
    rows = np.flatnonzero(gc.straight)
    geo_arr[rows] = straight_lines(x, y, iu[rows], iv[rows])
    lengths = parse_lengths(parts.length, label=label, repairs=repairs)  # metres stay metres
    lon, lat = x, y
    if not crs.equals(WGS84):
        lon, lat = transform_xy(x, y, crs, WGS84)
        check_node_coords(node_ids, lon, lat, source=source, lonlat=True, shown=(x, y),
                          crs_note=f"from {crs.to_string()} to WGS-84 lon/lat")
        geo_arr = transform_geometries(geo_arr, crs, WGS84)
    edges = pd.DataFrame({
        "u": node_ids[iu],
        "v": node_ids[iv],
        "geometry": geo_arr,
        "length_m": lengths,
        **{c: pd.Series([tag_to_str(t) for t in parts.tags[c]], dtype=object)
           for c in RAW_TAG_COLUMNS},
    })
    meta = dict(parts.meta)
    if repairs:
        meta["repairs"] = repairs.to_dict()
    return RawStreets(node_id=node_ids, node_lon=np.asarray(lon, dtype=float),
                      node_lat=np.asarray(lat, dtype=float), edges=edges, source=source,
                      meta=meta)


def _coordinates(values: Sequence[object], axis: str, node_ids: np.ndarray,
                 source: str) -> np.ndarray:
    """Node coordinates as floats; a missing or non-numeric value names its node."""
    out = np.empty(len(values), dtype=float)
    for i, v in enumerate(values):
        try:
            out[i] = float(v)  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            problem = (f"has no {axis} coordinate" if v is None
                       else f"{axis} coordinate {short(v, 40)} is not a number")
            bad = sum(1 for w in values[i + 1:] if not _is_number(w))
            fail(source, f"node {node_ids[i]}", problem, more=bad, noun="nodes")
    return out


def _is_number(value: object) -> bool:
    try:
        float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return False
    return True


def _geometries(values: Sequence[object], label: Any, source: str) -> np.ndarray:
    """Edge geometries: shapely objects kept, WKT text parsed (unreadable text named)."""
    arr = np.empty(len(values), dtype=object)
    arr[:] = list(values)
    is_text = np.array([isinstance(v, str) for v in values], dtype=bool)
    if is_text.any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            parsed = shapely.from_wkt(arr[is_text], on_invalid="ignore")
        unreadable = pd.isna(parsed)
        if unreadable.any():
            rows = np.flatnonzero(is_text)[unreadable]
            fail(source, label(int(rows[0])),
                 f"geometry {short(arr[rows[0]], 60)} is not readable WKT",
                 more=rows.size - 1, noun="edges")
        arr[is_text] = parsed
    return arr


def _orient(lines: np.ndarray, x0: np.ndarray, y0: np.ndarray) -> np.ndarray:
    """Reverse each line whose end, not its start, is at its (x0, y0)."""
    if lines.size == 0:
        return lines
    first = shapely.get_coordinates(shapely.get_point(lines, 0))
    last = shapely.get_coordinates(shapely.get_point(lines, -1))
    d0 = (first[:, 0] - x0) ** 2 + (first[:, 1] - y0) ** 2
    d1 = (last[:, 0] - x0) ** 2 + (last[:, 1] - y0) ** 2
    flip = d1 < d0
    out = lines.copy()
    out[flip] = shapely.reverse(lines[flip])
    return out


__all__ = ["GraphParts", "raw_from_graph", "raw_from_parts"]
