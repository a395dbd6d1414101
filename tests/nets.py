"""Tiny hand-built walk networks for the coverage tests (not a test module).

Coordinates are given in metres as *local* offsets from :data:`ORIGIN`, a point in
UTM 50N (EPSG:32650, Shenzhen area). :func:`build_network` converts them to lon/lat
with pyproj, builds a :class:`~geo.network.raw.RawStreets` and runs the real
:func:`~geo.network.model.prepare_network` with ``crs="EPSG:32650"``, so every test goes
through the same code path as real data. After the round trip UTM → WGS-84 → UTM
the coordinates are exact to far below a micrometre.

Edges are ``(u, v)`` or ``(u, v, opts)`` with ``opts`` keys:

* ``via``: intermediate vertices (local metres) of the geometry between ``u`` and ``v``;
* ``length``: explicit ``length_m`` (default ``NaN`` → length of the geometry);
* ``highway`` / ``foot`` / …: OSM tags (default ``highway="residential"``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geo.network.model import WalkNetwork, prepare_network
from geo.network.raw import RAW_TAG_COLUMNS, RawStreets

CRS = "EPSG:32650"
ORIGIN = (200_000.0, 2_500_000.0)
STATION_TYPE = "工会驿站"

_TO_LONLAT = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)

NodeSpec = Mapping[int, tuple[float, float]] | Sequence[tuple[float, float]]
EdgeSpec = tuple[int, int] | tuple[int, int, Mapping[str, Any]]


def to_lonlat(xy: np.ndarray) -> np.ndarray:
    """Local metres (n × 2) → lon/lat degrees (n × 2)."""
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    lon, lat = _TO_LONLAT.transform(xy[:, 0] + ORIGIN[0], xy[:, 1] + ORIGIN[1])
    return np.column_stack([lon, lat])


def absolute(x: float, y: float) -> tuple[float, float]:
    """Local metres → absolute EPSG:32650 coordinates."""
    return (x + ORIGIN[0], y + ORIGIN[1])


def raw_streets(nodes: NodeSpec, edges: Sequence[EdgeSpec]) -> RawStreets:
    """A :class:`RawStreets` from local node coordinates and an edge list."""
    if isinstance(nodes, Mapping):
        ids = np.array(list(nodes.keys()), dtype=np.int64)
        xy = np.array([nodes[i] for i in ids], dtype=float)
    else:
        ids = np.arange(len(nodes), dtype=np.int64)
        xy = np.array(nodes, dtype=float).reshape(-1, 2)
    pos = {int(i): k for k, i in enumerate(ids)}
    lonlat = to_lonlat(xy)
    rows: list[dict[str, Any]] = []
    for e in edges:
        u, v = int(e[0]), int(e[1])
        opts: Mapping[str, Any] = e[2] if len(e) > 2 else {}  # type: ignore[misc]
        pts = [xy[pos[u]], *[np.asarray(p, dtype=float) for p in opts.get("via", ())],
               xy[pos[v]]]
        geom = shapely.LineString(to_lonlat(np.array(pts)))
        row: dict[str, Any] = dict.fromkeys(RAW_TAG_COLUMNS)
        row["highway"] = "residential"
        row.update({k: opts[k] for k in RAW_TAG_COLUMNS if k in opts})
        row.update(u=u, v=v, geometry=geom, length_m=float(opts.get("length", np.nan)))
        rows.append(row)
    df = pd.DataFrame(rows, columns=["u", "v", "geometry", "length_m", *RAW_TAG_COLUMNS])
    df = df.astype({c: object for c in RAW_TAG_COLUMNS})
    return RawStreets(node_id=ids, node_lon=lonlat[:, 0], node_lat=lonlat[:, 1], edges=df,
                      source="tests.nets")


def build_network(nodes: NodeSpec, edges: Sequence[EdgeSpec], *,
                  mode: str = "walk") -> WalkNetwork:
    """A prepared :class:`WalkNetwork` in EPSG:32650 (see the module docstring), with the
    street filter of ``mode``."""
    return prepare_network(raw_streets(nodes, edges), crs=CRS, mode=mode)


def stations(points: Sequence[tuple[float, float]], *, ids: Sequence[str] | None = None,
             crs: str = CRS) -> gpd.GeoDataFrame:
    """Station layer at local coordinates (metres from :data:`ORIGIN`) in EPSG:32650."""
    ids = list(ids) if ids is not None else [f"S{k}" for k in range(len(points))]
    geoms = [shapely.Point(absolute(x, y)) for x, y in points]
    gdf = gpd.GeoDataFrame(
        {"station_id": ids, "name": [f"驿站{s}" for s in ids],
         "type": [STATION_TYPE] * len(ids)},
        geometry=geoms, crs=CRS,
    )
    return gdf if crs == CRS else gdf.to_crs(crs)


def node_index(network: WalkNetwork, node_id: int) -> int:
    """Position of an input node id in the network's node arrays."""
    hit = np.flatnonzero(network.node_id == node_id)
    assert hit.size == 1, f"node {node_id} not in the network"
    return int(hit[0])


def edge_index(network: WalkNetwork, u: int, v: int, length: float | None = None) -> int:
    """Position of the edge joining input node ids ``u``–``v`` (either direction)."""
    a = network.node_id[network.edge_u]
    b = network.node_id[network.edge_v]
    hit = ((a == u) & (b == v)) | ((a == v) & (b == u))
    if length is not None:
        hit &= np.abs(network.length_m - length) < 1e-6
    idx = np.flatnonzero(hit)
    assert idx.size == 1, f"edge {u}-{v} (length {length}) matched {idx.size} edges"
    return int(idx[0])


def local_x(network: WalkNetwork) -> np.ndarray:
    """Node x as local metres."""
    return network.node_x - ORIGIN[0]


def knn_pairs(xy: np.ndarray, k: int) -> tuple[np.ndarray, set[tuple[int, int]]]:
    """(distance matrix, node pairs ``(i, j)``, ``i < j``, joining each node to its ``k``
    nearest neighbours) of points ``xy``."""
    d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    pairs: set[tuple[int, int]] = set()
    for i in range(xy.shape[0]):
        for j in np.argsort(d[i])[1:k + 1]:
            pairs.add((min(i, int(j)), max(i, int(j))))
    return d, pairs


def densify(network: WalkNetwork, stations: gpd.GeoDataFrame, step: float
            ) -> tuple[list[tuple[Any, Any, float, int]], list[str]]:
    """Every edge as tiny pieces of at most ``step`` m of geometry, its length scaled to
    ``length_m``, each snapped station an extra point ``"s<k>"`` splitting its edge:
    ``([(a, b, length, edge), …], station point names)`` for brute-force checks that
    share nothing with geo's CSR, virtual sources and segment table."""
    host: dict[int, list[tuple[float, str]]] = {}
    src: list[str] = []
    for k, (e, off) in enumerate(zip(stations["snap_edge"], stations["snap_offset_m"],
                                     strict=True)):
        if e >= 0:
            host.setdefault(int(e), []).append((float(off), f"s{k}"))
            src.append(f"s{k}")
    tiny: list[tuple[Any, Any, float, int]] = []
    glen = shapely.length(network.geometry)
    for e in range(network.n_edges):
        length = float(network.length_m[e])
        n = max(math.ceil(glen[e] / step), 1)
        fr: list[tuple[float, Any]] = [(j / n, ("e", e, j)) for j in range(1, n)]
        fr += [(off / length if length > 0 else 0.0, name) for off, name in host.get(e, [])]
        fr.sort(key=lambda t: t[0])
        chain = [(0.0, ("n", int(network.edge_u[e]))), *fr,
                 (1.0, ("n", int(network.edge_v[e])))]
        for (f0, a), (f1, b) in itertools.pairwise(chain):
            tiny.append((a, b, length * (f1 - f0), e))
    return tiny, src


def random_network(rng: np.random.Generator, *, n_nodes: int = 60, size_m: float = 3000.0,
                   k: int = 3, stretch: float = 0.3) -> WalkNetwork:
    """A random connected-ish planar-ish street graph (k nearest neighbours).

    Lengths are explicit: the straight distance times ``1 + U(0, stretch)`` (never
    shorter than the straight line, as real street lengths), plus a few parallel
    edges and self-loops.
    """
    xy = rng.uniform(0, size_m, size=(n_nodes, 2))
    d, pairs = knn_pairs(xy, k)
    edges: list[EdgeSpec] = []
    for i, j in sorted(pairs):
        edges.append((i, j, {"length": float(d[i, j] * (1 + rng.uniform(0, stretch)))}))
    # parallel edges (a longer detour) and self-loops
    some = sorted(pairs)[:: max(len(pairs) // 4, 1)]
    for i, j in some:
        mid = (xy[i] + xy[j]) / 2 + rng.uniform(-50, 50, 2)
        straight = d[i, j]
        edges.append((i, j, {"via": [tuple(mid)], "length": float(straight * 1.6 + 20)}))
    for i in rng.choice(n_nodes, size=3, replace=False):
        x, y = xy[i]
        edges.append((int(i), int(i), {"via": [(x + 30, y), (x + 30, y + 30), (x, y + 30)],
                                       "length": 120.0 + float(rng.uniform(0, 50))}))
    return build_network({i: tuple(p) for i, p in enumerate(xy)}, edges)
