"""Convalescence bases (职工疗休养基地) by car: nearest base per town, limits, isochrones.

Bases are reached by car or coach, so everything here runs on the ``drive`` network
(:mod:`geo.network.modes`: car filter, ``oneway`` respected, speeds from ``maxspeed`` or
the China per-class defaults). Times are **to** the base (the way a worker travels).

* **Origins**: each town's (or analysis cell's) *population-weighted point* — the mean of
  the population raster's cell centres inside it, weighted by people — when a raster is
  given and the town holds people, else its *representative point* (a point guaranteed
  inside the polygon). ``point_basis`` in ``access.csv`` says which, per town.
* **Snapping**: origins and bases go to the nearest node of the drive network's largest
  strongly connected component (no islands, no one-way traps); farther
  than ``max_snap_m`` they are *unreachable* (reason given). The straight snap leg is
  reported (``snap_dist_m``) and not counted in the drive time.
* **Nearest base**: one multi-source Dijkstra on the reversed directed graph of seconds
  from every base gives, for every node, the time to its nearest base and which base; the
  drive distance is the length of that same fastest path (pointer jumping over the
  predecessor tree, vectorised).
* **Isochrones**: per base and limit, the streets from which the base is reached within
  the limit — exact partial edges (a one-way edge counts from its downstream end only) —
  buffered by ``buffer_m`` and unioned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from geo.crs import WGS84, require_crs
from geo.errors import InvalidParameterError
from geo.network.modes import network_filter, speed_model
from geo.network.travel import TravelGraph
from geo.population.raster import PopulationGrid

DEFAULT_LIMITS_MIN: Final = (30.0, 60.0, 120.0)
DEFAULT_BASE_SNAP_M: Final = 2000.0
DEFAULT_ISOCHRONE_BUFFER_M: Final = 100.0

REASON_NO_STREET: Final = "no drivable street within {m:g} m of the town's point"
REASON_NO_PATH: Final = ("no base reachable by car (the town's streets are cut off from "
                         "every base, or only lead away one-way)")
REASON_NO_BASE: Final = "no base is on the drive network"


@dataclass(frozen=True, eq=False)
class BaseAccess:
    """The result of :func:`base_access` (read-only frames).

    ``access``: one row per town — ``town_id``, ``name``, ``lon``, ``lat`` (the origin
    point, WGS-84), ``point_basis``, ``snap_dist_m``, ``nearest_base`` (base id),
    ``nearest_base_name``, ``drive_time_min``, ``drive_distance_m``, ``population``,
    ``reachable``, ``reason``. ``beyond``: per limit, the towns and people beyond it.
    ``bases``: the bases with snapping. ``isochrones``: ``base_id``, ``name``,
    ``limit_min``, polygon (WGS-84).
    """

    access: pd.DataFrame
    beyond: pd.DataFrame
    bases: pd.DataFrame
    isochrones: gpd.GeoDataFrame
    limits_min: tuple[float, ...]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def unreachable(self) -> pd.DataFrame:
        """Towns without a reachable base, with the reason."""
        a = self.access
        return a.loc[~a["reachable"], ["town_id", "name", "lon", "lat", "reason"]]


def check_limits(limits_min: Sequence[float]) -> tuple[float, ...]:
    """Sorted unique positive minutes, else :class:`InvalidParameterError`."""
    try:
        out = tuple(sorted({float(x) for x in limits_min}))
    except (TypeError, ValueError):
        raise InvalidParameterError(f"limits must be minutes, got {limits_min!r}") from None
    if not out or not all(np.isfinite(x) and 0 < x <= 1440 for x in out):
        raise InvalidParameterError(
            f"limits must be minutes in (0, 1440], e.g. 30,60,120; got {limits_min!r}")
    return out


def base_access(graph: TravelGraph, towns: gpd.GeoDataFrame, bases: gpd.GeoDataFrame, *,
                limits_min: Sequence[float] = DEFAULT_LIMITS_MIN,
                population: PopulationGrid | None = None,
                max_snap_m: float = DEFAULT_BASE_SNAP_M,
                isochrone_buffer_m: float = DEFAULT_ISOCHRONE_BUFFER_M) -> BaseAccess:
    """Drive time and distance from every town to its nearest base.

    ``towns``: polygons (``town_id``, ``name``, optional ``population``); ``bases``:
    points (``base_id``, ``name``); both in the network CRS. ``graph``: a drive
    :class:`TravelGraph`. Raises :class:`InvalidParameterError` for another mode.
    """
    net = graph.network
    if graph.mode != "drive":
        raise InvalidParameterError(f"bases are reached by car: give a drive graph, "
                                    f"not {graph.mode!r}")
    require_crs(towns, net.crs, what="towns")
    require_crs(bases, net.crs, what="bases")
    limits = check_limits(limits_min)
    base_tab = _snap_bases(graph, bases, max_snap_m)
    origins, basis = origin_points(towns, population)
    node, snap_d = nearest_nodes(graph, origins)
    times, dist, which = _nearest_base(graph, base_tab)
    access = _access_table(towns, origins, basis, node, snap_d, times, dist, which, base_tab,
                           max_snap_m, net.crs)
    iso = base_isochrones(graph, base_tab, limits, buffer_m=isochrone_buffer_m)
    meta = {"mode": "drive", "speed_model": speed_model("drive"),
            "network_filter": network_filter("drive"), "graph": graph.summary(),
            "origin": "population-weighted point where a raster gives people, else the "
                      "representative point (point_basis per town)",
            "direction": "to the base", "max_snap_m": max_snap_m}
    return BaseAccess(access=access, beyond=_beyond(access, limits), bases=base_tab,
                      isochrones=iso, limits_min=limits, meta=meta)


def origin_points(towns: gpd.GeoDataFrame,
                  population: PopulationGrid | None) -> tuple[np.ndarray, np.ndarray]:
    """Each town's origin point (town CRS) and its basis (``population_weighted`` /
    ``representative_point``)."""
    geoms = np.asarray(towns.geometry.to_numpy(), dtype=object)
    pts = shapely.point_on_surface(geoms)
    basis = np.full(len(geoms), "representative_point", dtype=object)
    if population is None or not len(geoms):
        return pts, basis
    cx, cy, w = _cell_centres(population, towns.crs)
    if not w.size:
        return pts, basis
    cells = shapely.points(cx, cy)
    ti, ci = shapely.STRtree(cells).query(geoms, predicate="contains")
    people = np.bincount(ti, weights=w[ci], minlength=len(geoms))
    sx = np.bincount(ti, weights=w[ci] * cx[ci], minlength=len(geoms))
    sy = np.bincount(ti, weights=w[ci] * cy[ci], minlength=len(geoms))
    has = people > 0
    weighted = shapely.points(sx[has] / people[has], sy[has] / people[has])
    pts[has] = weighted
    basis[has] = "population_weighted"
    return pts, basis


def _cell_centres(grid: PopulationGrid, crs: Any) -> tuple[np.ndarray, np.ndarray,
                                                          np.ndarray]:
    rows, cols = np.nonzero(np.nan_to_num(grid.values) > 0)
    t = grid.transform
    x = t.c + (cols + 0.5) * t.a
    y = t.f + (rows + 0.5) * t.e
    w = grid.values[rows, cols]
    if not grid.crs.equals(crs):
        from geo.crs import transform_xy

        x, y = transform_xy(x, y, grid.crs, crs)
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float), np.asarray(w, dtype=float)


def nearest_nodes(graph: TravelGraph, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest node of the graph's main (strongly connected) component to each point
    (network CRS) and its distance (m)."""
    net = graph.network
    pts = np.asarray(points, dtype=object)
    main = graph.main_component
    if not pts.size or not main.size:
        return np.zeros(pts.size, dtype=np.int64), np.full(pts.size, np.inf)
    tree = cKDTree(np.column_stack([net.node_x[main], net.node_y[main]]))
    d, i = tree.query(np.column_stack([shapely.get_x(pts), shapely.get_y(pts)]))
    return main[np.asarray(i, dtype=np.int64)], np.asarray(d, dtype=float)


def _snap_bases(graph: TravelGraph, bases: gpd.GeoDataFrame, max_snap_m: float) -> pd.DataFrame:
    node, d = nearest_nodes(graph, np.asarray(bases.geometry.to_numpy(), dtype=object))
    names = bases["name"] if "name" in bases.columns else pd.Series([None] * len(bases))
    ids = bases["base_id"] if "base_id" in bases.columns else pd.Series(
        [f"B{i + 1}" for i in range(len(bases))])
    on = d <= max_snap_m
    return pd.DataFrame({"base_id": ids.astype(object).to_numpy(),
                         "name": names.astype(object).to_numpy(),
                         "node": np.where(on, node, -1), "snap_dist_m": np.round(d, 1),
                         "on_network": on})


def _nearest_base(graph: TravelGraph,
                  base_tab: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per node: seconds to the nearest base, metres of that path, base row (or -1)."""
    n = graph.network.n_nodes
    on = base_tab["on_network"].to_numpy()
    rows = np.flatnonzero(on)
    if not rows.size:
        return np.full(n, np.inf), np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
    nodes = base_tab["node"].to_numpy()[rows]
    t, pred, src = csgraph.dijkstra(graph.csr_reverse, directed=True, indices=nodes,
                                    min_only=True, return_predecessors=True)
    dist = tree_lengths(graph, pred, np.isfinite(t))
    row_of_node = pd.Series(rows, index=nodes)
    row_of_node = row_of_node[~row_of_node.index.duplicated()]
    which = np.where(src >= 0, row_of_node.reindex(np.maximum(src, 0)).to_numpy(), -1)
    return t, dist, np.where(np.isfinite(t), which, -1).astype(np.int64)


def tree_lengths(graph: TravelGraph, pred: np.ndarray, reached: np.ndarray) -> np.ndarray:
    """Metres from each node to its tree root along ``pred`` (the next node towards the
    base, from a search on the reversed graph); ``inf`` where not reached."""
    n = pred.size
    has = pred >= 0
    step = np.zeros(n)
    if has.any():
        x = np.flatnonzero(has)
        edges = _arc_edges(graph, x, pred[has])
        step[has] = graph.network.length_m[edges]
    ptr = np.where(has, pred, np.arange(n))
    acc = step.copy()
    while True:  # pointer jumping: depth halves each round
        nxt = ptr[ptr]
        if np.array_equal(nxt, ptr):
            break
        acc = acc + acc[ptr]
        ptr = nxt
    return np.where(reached, acc, np.inf)


def _arc_edges(graph: TravelGraph, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Edge index of the fastest arc a → b for arrays of node pairs (vectorised)."""
    m = graph.arc_edge
    key = a.astype(np.int64) * graph.network.n_nodes + b.astype(np.int64)
    rows = np.repeat(np.arange(m.shape[0], dtype=np.int64), np.diff(m.indptr))
    all_keys = rows * graph.network.n_nodes + m.indices.astype(np.int64)
    pos = np.searchsorted(all_keys, key)
    pos = np.clip(pos, 0, max(all_keys.size - 1, 0))
    if not all_keys.size or not np.array_equal(all_keys[pos], key):
        raise InvalidParameterError("a path step has no arc in the drive graph")
    return np.asarray(m.data[pos], dtype=np.int64)


def _access_table(towns: gpd.GeoDataFrame, origins: np.ndarray, basis: np.ndarray,
                  node: np.ndarray, snap_d: np.ndarray, times: np.ndarray, dist: np.ndarray,
                  which: np.ndarray, base_tab: pd.DataFrame, max_snap_m: float,
                  crs: Any) -> pd.DataFrame:
    on_street = snap_d <= max_snap_m
    t = np.where(on_street, times[node] if node.size else np.zeros(0), np.inf)
    d = np.where(on_street, dist[node] if node.size else np.zeros(0), np.inf)
    b = np.where(on_street, which[node] if node.size else np.zeros(0, dtype=np.int64), -1)
    reachable = np.isfinite(t) & (b >= 0)
    reason = np.where(~on_street, REASON_NO_STREET.format(m=max_snap_m),
                      np.where(reachable, "", REASON_NO_BASE if not base_tab["on_network"].any()
                               else REASON_NO_PATH)).astype(object)
    ll = gpd.GeoSeries(list(origins), crs=crs).to_crs(WGS84)
    ids = base_tab["base_id"].to_numpy()
    names = base_tab["name"].to_numpy()
    pop = (pd.to_numeric(towns["population"], errors="coerce").to_numpy()
           if "population" in towns.columns else np.full(len(towns), np.nan))
    return pd.DataFrame({
        "town_id": towns["town_id"].astype(object).to_numpy() if "town_id" in towns.columns
        else np.arange(len(towns)),
        "name": towns["name"].astype(object).to_numpy() if "name" in towns.columns
        else [None] * len(towns),
        "lon": np.round(ll.x.to_numpy(), 7), "lat": np.round(ll.y.to_numpy(), 7),
        "point_basis": basis, "snap_dist_m": np.round(snap_d, 1),
        "nearest_base": np.where(reachable, ids[np.maximum(b, 0)] if ids.size else None, None),
        "nearest_base_name": np.where(reachable, names[np.maximum(b, 0)] if names.size
                                      else None, None),
        "drive_time_min": np.where(reachable, np.round(t / 60.0, 2), np.nan),
        "drive_distance_m": np.where(reachable, np.round(d, 1), np.nan),
        "population": pop, "reachable": reachable, "reason": reason,
    })


def _beyond(access: pd.DataFrame, limits: tuple[float, ...]) -> pd.DataFrame:
    """Per limit: towns and people beyond it (unreachable towns count as beyond)."""
    t = access["drive_time_min"].to_numpy(dtype=float)
    pop = access["population"].to_numpy(dtype=float)
    known = bool(len(pop)) and bool(np.isfinite(pop).all())
    rows = []
    for lim in limits:
        out = ~(t <= lim)
        rows.append({"limit_min": lim, "towns_beyond": int(out.sum()),
                     "towns": len(t),
                     "population_beyond": float(pop[out].sum()) if known else None,
                     "population_total": float(pop.sum()) if known else None})
    return pd.DataFrame(rows)


def base_isochrones(graph: TravelGraph, base_tab: pd.DataFrame, limits: tuple[float, ...], *,
                    buffer_m: float = DEFAULT_ISOCHRONE_BUFFER_M) -> gpd.GeoDataFrame:
    """Per base and limit: the streets from which it is reached in time, buffered."""
    net = graph.network
    rows: list[dict[str, Any]] = []
    for r in np.flatnonzero(base_tab["on_network"].to_numpy()):
        t = csgraph.dijkstra(graph.csr_reverse, directed=True,
                             indices=int(base_tab["node"].iloc[r]),
                             limit=max(limits) * 60.0 * (1 + 1e-9))
        for lim in limits:
            pieces = reached_pieces(graph, t, lim * 60.0)
            poly = (shapely.union_all(shapely.buffer(pieces, buffer_m, quad_segs=4))
                    if pieces.size else shapely.Polygon())
            rows.append({"base_id": base_tab["base_id"].iloc[r],
                         "name": base_tab["name"].iloc[r], "limit_min": lim,
                         "geometry": poly})
    gdf = gpd.GeoDataFrame(rows, columns=["base_id", "name", "limit_min", "geometry"],
                           geometry="geometry", crs=net.crs)
    return gdf.to_crs(WGS84)


def reached_pieces(graph: TravelGraph, time_to_s: np.ndarray, budget_s: float) -> np.ndarray:
    """Exact stretches of edges from which the target is reached within ``budget_s``.

    ``time_to_s``: seconds from each node to the target. A point at ``x`` m from ``u``
    on an edge travelled u → v needs ``(L - x) / speed + t(v)``: the stretch
    ``[L - r_v, L]``; travelled v → u, ``[0, r_u]`` (``r`` = remaining metres).
    """
    net = graph.network
    speed = graph.speed_kmh / 3.6
    length = net.length_m
    r_u = np.clip((budget_s - time_to_s[net.edge_u]) * speed, 0.0, None)
    r_v = np.clip((budget_s - time_to_s[net.edge_v]) * speed, 0.0, None)
    r_u = np.where(graph.backward & np.isfinite(r_u), np.minimum(r_u, length), 0.0)
    r_v = np.where(graph.forward & np.isfinite(r_v), np.minimum(r_v, length), 0.0)
    whole = r_u + r_v >= length
    e_whole = np.flatnonzero(whole & (length > 0))
    e_u = np.flatnonzero(~whole & (r_u > 0))
    e_v = np.flatnonzero(~whole & (r_v > 0))
    edge = np.concatenate([e_whole, e_u, e_v])
    x0 = np.concatenate([np.zeros(e_whole.size), np.zeros(e_u.size), length[e_v] - r_v[e_v]])
    x1 = np.concatenate([length[e_whole], r_u[e_u], length[e_v]])
    if not edge.size:
        return np.zeros(0, dtype=object)
    return np.asarray(net.cut(edge, x0, x1), dtype=object)
