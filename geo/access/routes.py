"""Route recommendation (路线推荐): the fastest car routes from a point to its nearest bases.

One Dijkstra from the origin's nearest drive node over the directed graph of seconds
(``return_predecessors=True``), then each of the ``k`` fastest-reached bases' paths is
read back from the predecessors. A route's minutes and kilometres are the sums over its
edges (the fastest of parallel edges, in the travelled direction) and its geometry is
their geometries joined in travel order; ``streets`` lists the names along the way, in
order, each once per consecutive run.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csgraph

from geo.access.bases import DEFAULT_BASE_SNAP_M, nearest_nodes
from geo.crs import WGS84, require_crs
from geo.errors import InvalidParameterError
from geo.network.travel import TravelGraph


@dataclass(frozen=True)
class Route:
    """One recommended route (geometry in the network CRS)."""

    rank: int
    base_id: object
    base_name: object
    drive_time_min: float
    drive_distance_km: float
    streets: tuple[str, ...]
    edges: tuple[int, ...]
    geometry: shapely.LineString


def routes_to_bases(graph: TravelGraph, origin: shapely.Point, bases: gpd.GeoDataFrame, *,
                    k: int = 3, max_snap_m: float = DEFAULT_BASE_SNAP_M) -> tuple[Route, ...]:
    """The fastest routes from ``origin`` (a point in the network CRS) to its ``k``
    nearest bases by drive time (fewer when fewer are reachable).

    Raises :class:`InvalidParameterError` when the origin is farther than
    ``max_snap_m`` from every drivable street or ``graph`` is not a drive graph.
    """
    if graph.mode != "drive":
        raise InvalidParameterError(f"routes to bases are by car, not {graph.mode!r}")
    require_crs(bases, graph.network.crs, what="bases")
    o_node, o_d = nearest_nodes(graph, np.asarray([origin], dtype=object))
    if not o_node.size or o_d[0] > max_snap_m:
        raise InvalidParameterError(
            f"the origin is farther than {max_snap_m:g} m from every drivable street")
    b_node, b_d = nearest_nodes(graph, np.asarray(bases.geometry.to_numpy(), dtype=object))
    t, pred = csgraph.dijkstra(graph.csr, directed=True, indices=int(o_node[0]),
                               return_predecessors=True)
    cand = np.flatnonzero((b_d <= max_snap_m) & np.isfinite(t[b_node]))
    order = cand[np.argsort(t[b_node[cand]], kind="stable")][:max(int(k), 0)]
    return tuple(_route(graph, pred, int(o_node[0]), int(b_node[i]), rank, bases.iloc[i])
                 for rank, i in enumerate(order, start=1))


def _route(graph: TravelGraph, pred: np.ndarray, origin: int, target: int, rank: int,
           base: pd.Series) -> Route:
    nodes = _path(pred, origin, target)
    edges = graph.edges_of_path(nodes)
    net = graph.network
    return Route(rank=rank, base_id=base.get("base_id"), base_name=base.get("name"),
                 drive_time_min=float(graph.time_s[edges].sum() / 60.0),
                 drive_distance_km=float(net.length_m[edges].sum() / 1000.0),
                 streets=_street_names(net.edge_attrs["name"].to_numpy()[edges]),
                 edges=tuple(int(e) for e in edges),
                 geometry=_join(graph, nodes, edges))


def _path(pred: np.ndarray, origin: int, target: int) -> np.ndarray:
    out = [target]
    while out[-1] != origin:
        p = int(pred[out[-1]])
        if p < 0:
            raise InvalidParameterError("the base is not reachable from the origin")
        out.append(p)
    return np.asarray(out[::-1], dtype=np.int64)


def _join(graph: TravelGraph, nodes: np.ndarray, edges: np.ndarray) -> shapely.LineString:
    """Edge geometries in travel order (each reversed when travelled v → u)."""
    net = graph.network
    parts = []
    for a, e in zip(nodes[:-1].tolist(), edges.tolist(), strict=True):
        c = np.asarray(shapely.get_coordinates(net.geometry[e]))
        parts.append(c if int(net.edge_u[e]) == a else c[::-1])
    if not parts:
        x, y = float(net.node_x[nodes[0]]), float(net.node_y[nodes[0]])
        return shapely.LineString([(x, y), (x, y)])
    coords = np.vstack([parts[0], *[p[1:] for p in parts[1:]]])
    return shapely.LineString(coords)


def _street_names(names: np.ndarray) -> tuple[str, ...]:
    out: list[str] = []
    for n in names.tolist():
        if n is None or (isinstance(n, float) and np.isnan(n)) or not str(n).strip():
            continue
        for part in str(n).split(";"):
            part = part.strip()
            if part and (not out or out[-1] != part):
                out.append(part)
    return tuple(out)


def routes_frame(routes: tuple[Route, ...], crs: object) -> gpd.GeoDataFrame:
    """Routes as a GeoDataFrame in WGS-84 (``streets`` joined with ``、``)."""
    gdf = gpd.GeoDataFrame({
        "rank": [r.rank for r in routes], "base_id": [r.base_id for r in routes],
        "base_name": [r.base_name for r in routes],
        "drive_time_min": [round(r.drive_time_min, 2) for r in routes],
        "drive_distance_km": [round(r.drive_distance_km, 3) for r in routes],
        "streets": ["、".join(r.streets) for r in routes],
    }, geometry=[r.geometry for r in routes], crs=crs)
    return gdf.to_crs(WGS84)
