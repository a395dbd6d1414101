"""H3 analysis cells: the fallback "towns" when no town boundaries are given.

Cells are H3 hexagons (Uber's hierarchical grid, the ``h3`` package) at a chosen
resolution (8 by default, ≈0.74 km²); a cell's id is its H3 index (hex string), so
other H3 data joins on it. Cell polygons are the H3 boundary vertices projected into
the network CRS with straight edges between them; neighbouring cells share their
projected vertices, so the cells tile the plane without gaps or overlaps.

Street length is attributed to cells *exactly*: an edge that meets one cell only lies
inside it; the others are clipped against each convex hexagon (Cyrus–Beck, vectorised
over every segment of every crossing edge), so the parts of an edge sum to its length.
"""

from __future__ import annotations

from typing import Final

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely

from geo.crs import WGS84, transform_xy
from geo.errors import InvalidParameterError
from geo.network.model import WalkNetwork

DEFAULT_H3_RESOLUTION: Final = 8
MIN_H3_RESOLUTION: Final = 5
MAX_H3_RESOLUTION: Final = 10
_SEED_GRID_M: Final = 200.0  # node positions are rounded to this before locating cells
_DENSIFY_M: Final = 200.0  # long edges are sampled this often to find every cell they cross


def check_h3_resolution(resolution: int) -> int:
    """``resolution`` as an int in the supported range, else a named error."""
    if isinstance(resolution, bool) or int(resolution) != resolution or not (
            MIN_H3_RESOLUTION <= int(resolution) <= MAX_H3_RESOLUTION):
        raise InvalidParameterError(
            f"h3_resolution={resolution!r} is outside {MIN_H3_RESOLUTION}–{MAX_H3_RESOLUTION}: "
            "use 8 (≈0.74 km² cells, the default), 7 (≈5.2 km²) or 9 (≈0.11 km²)")
    return int(resolution)


def cell_area_km2(resolution: int) -> float:
    """Average area of an H3 cell at ``resolution`` (km²)."""
    return float(h3.average_hexagon_area(check_h3_resolution(resolution), unit="km^2"))


def h3_cells(network: WalkNetwork, *, resolution: int = DEFAULT_H3_RESOLUTION
             ) -> gpd.GeoDataFrame:
    """The H3 cells at ``resolution`` that hold any street of ``network`` (network CRS).

    Columns as for towns: ``town_id`` (the H3 index), ``name``, ``code`` (the H3 index
    too), ``population`` (NaN), ``district`` (None), ``h3_resolution``.
    """
    res = check_h3_resolution(resolution)
    ids = _candidate_cells(network, res)
    polys = _cell_polygons(ids, network)
    hit = np.unique(network.edge_tree.query(polys, predicate="intersects")[0])
    return _cells_frame([ids[i] for i in hit], polys[hit], res, network)


def h3_tiles(network: WalkNetwork, cells: gpd.GeoDataFrame, *, margin_m: float
             ) -> gpd.GeoDataFrame:
    """``cells`` (from :func:`h3_cells`) plus every cell within ``margin_m`` of them, so
    that the tiles hold everything within ``margin_m`` of a street (the buffered union)."""
    ids = cells["town_id"].tolist()
    if not ids:
        return cells
    res = int(h3.get_resolution(ids[0]))
    inradius_m = float(h3.average_hexagon_edge_length(res, unit="m")) * np.sqrt(3.0) / 2.0
    k = int(np.ceil(margin_m / (0.9 * inradius_m))) + 1
    ring: set[str] = set()
    for c in ids:
        ring.update(h3.grid_disk(c, k))
    extra = sorted(ring.difference(ids))
    if not extra:
        return cells
    more = _cells_frame(extra, _cell_polygons(extra, network), res, network)
    return pd.concat([cells, more], ignore_index=True)


def _cells_frame(ids: list[str], polys: np.ndarray, res: int,
                 network: WalkNetwork) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({
        "town_id": pd.array(ids, dtype=object), "name": pd.array(ids, dtype=object),
        "code": pd.array(ids, dtype=object), "population": np.nan, "district": None,
        "h3_resolution": res,
    }, geometry=list(polys), crs=network.crs)


def _candidate_cells(network: WalkNetwork, res: int) -> list[str]:
    """Cells of (rounded) node positions and long-edge samples, plus their neighbours."""
    g = _SEED_GRID_M
    xs = [network.node_x]
    ys = [network.node_y]
    long_ = np.flatnonzero(network.geometry_length > _DENSIFY_M)
    if long_.size:
        pts = shapely.get_coordinates(shapely.segmentize(network.geometry[long_], _DENSIFY_M))
        xs.append(pts[:, 0])
        ys.append(pts[:, 1])
    gx = np.round(np.concatenate(xs) / g).astype(np.int64)
    gy = np.round(np.concatenate(ys) / g).astype(np.int64)
    key = np.unique((gx - gx.min()) * (int(gy.max() - gy.min()) + 1) + (gy - gy.min()))
    span = int(gy.max() - gy.min()) + 1
    px = (key // span + gx.min()) * g
    py = (key % span + gy.min()) * g
    lon, lat = transform_xy(px, py, network.crs, WGS84)
    seeds = {h3.latlng_to_cell(a, b, res) for a, b in zip(lat.tolist(), lon.tolist(),
                                                          strict=True)}
    out: set[str] = set()
    for c in seeds:
        out.update(h3.grid_disk(c, 1))
    return sorted(out)


def _cell_polygons(ids: list[str], network: WalkNetwork) -> np.ndarray:
    """Projected polygons of H3 cells (counter-clockwise)."""
    rings = [h3.cell_to_boundary(c) for c in ids]
    nv = np.array([len(r) for r in rings], dtype=np.int64)
    flat = np.array([p for r in rings for p in r], dtype=float).reshape(-1, 2)
    x, y = transform_xy(flat[:, 1], flat[:, 0], WGS84, network.crs)
    lr = shapely.linearrings(np.column_stack([x, y]),
                             indices=np.repeat(np.arange(len(ids)), nv))
    return np.asarray(shapely.orient_polygons(shapely.polygons(lr)), dtype=object)


def convex_cell_parts(network: WalkNetwork, cells: np.ndarray) -> pd.DataFrame:
    """Exact pieces of edges inside convex, non-overlapping cells: ``part, edge, p, q``.

    ``part`` indexes ``cells``; ``p``/``q`` are positions along the edge in ``length_m``
    metres. An edge meeting a single cell counts whole; the others are clipped.
    """
    polys = np.asarray(cells, dtype=object)
    ci, ei = network.edge_tree.query(polys, predicate="intersects")
    if ci.size == 0:
        return pd.DataFrame({"part": np.zeros(0, np.int64), "edge": np.zeros(0, np.int64),
                             "p": np.zeros(0), "q": np.zeros(0)})
    n_hit = np.bincount(ei, minlength=network.n_edges)
    whole = n_hit[ei] == 1
    out = [pd.DataFrame({"part": ci[whole].astype(np.int64), "edge": ei[whole].astype(np.int64),
                         "p": 0.0, "q": network.length_m[ei[whole]]})]
    if (~whole).any():
        out.append(_clip_pairs(network, polys, ci[~whole], ei[~whole]))
    parts = pd.concat(out, ignore_index=True)
    return parts.loc[parts["q"] > parts["p"]].reset_index(drop=True)


def _clip_pairs(network: WalkNetwork, polys: np.ndarray, ci: np.ndarray,
                ei: np.ndarray) -> pd.DataFrame:
    """Cyrus–Beck clip of every segment of edge ``ei[k]`` against cell ``ci[k]``."""
    cut = network.cutter
    n_seg = np.maximum(cut.count[ei] - 1, 0)
    pair = np.repeat(np.arange(ei.size), n_seg)
    j = cut.start[ei][pair] + (np.arange(pair.size)
                               - np.repeat(np.cumsum(n_seg) - n_seg, n_seg))
    a, b = cut.coords[j], cut.coords[j + 1]
    # only segments whose box meets the cell's box can have a part inside it
    cell_ids, cell_of = np.unique(ci, return_inverse=True)
    box = shapely.bounds(polys[cell_ids])[cell_of.reshape(-1)][pair]
    near = ((np.minimum(a[:, 0], b[:, 0]) <= box[:, 2])
            & (np.maximum(a[:, 0], b[:, 0]) >= box[:, 0])
            & (np.minimum(a[:, 1], b[:, 1]) <= box[:, 3])
            & (np.maximum(a[:, 1], b[:, 1]) >= box[:, 1]))
    pair, j, a, b = pair[near], j[near], a[near], b[near]
    t0, t1 = _cyrus_beck(a, b, _padded_rings(polys[cell_ids]), cell_of.reshape(-1)[pair])
    seg_len = cut.cum[j + 1] - cut.cum[j]
    keep = t1 > t0
    pair, j, t0, t1, seg_len = pair[keep], j[keep], t0[keep], t1[keep], seg_len[keep]
    e = ei[pair]
    scale = np.where(network.geometry_length[e] > 0,
                     network.length_m[e] / np.where(network.geometry_length[e] > 0,
                                                    network.geometry_length[e], 1.0), 0.0)
    lo = (cut.cum[j] + t0 * seg_len) * scale
    hi = (cut.cum[j] + t1 * seg_len) * scale
    # merge runs of consecutive segments of one pair that join end to start
    new = np.ones(pair.size, dtype=bool)
    new[1:] = (pair[1:] != pair[:-1]) | (np.abs(lo[1:] - hi[:-1]) > 1e-9)
    starts = np.flatnonzero(new)
    return pd.DataFrame({"part": ci[pair[starts]].astype(np.int64),
                         "edge": e[starts].astype(np.int64),
                         "p": lo[starts], "q": np.maximum.reduceat(hi, starts)
                         if starts.size else hi[:0]})


def _padded_rings(polys: np.ndarray) -> np.ndarray:
    """Exterior ring vertices of each polygon as ``(n, K, 2)`` (closing vertex dropped;
    short rings padded by repeating their last vertex — a zero-length side)."""
    coords, idx = shapely.get_coordinates(shapely.get_exterior_ring(polys), return_index=True)
    counts = np.bincount(idx, minlength=polys.size)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    k = int(counts.max()) - 1
    pos = np.minimum(np.arange(k)[None, :], (counts - 2)[:, None])
    return coords[starts[:, None] + pos]


def _cyrus_beck(a: np.ndarray, b: np.ndarray, rings: np.ndarray, ring_of: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """Parameters ``t0`` ≤ ``t1`` in [0, 1] of the part of segment ``a[i]→b[i]`` inside
    the convex counter-clockwise ring ``rings[ring_of[i]]`` (``t0 ≥ t1`` when outside)."""
    side = np.roll(rings, -1, axis=1) - rings  # (cells, K, 2)
    degenerate = (side[..., 0] == 0) & (side[..., 1] == 0)
    t0 = np.zeros(a.shape[0])
    t1 = np.ones(a.shape[0])
    dx = b[:, 0] - a[:, 0]
    dy = b[:, 1] - a[:, 1]
    for k in range(rings.shape[1]):
        ex = side[ring_of, k, 0]
        ey = side[ring_of, k, 1]
        num = ex * (a[:, 1] - rings[ring_of, k, 1]) - ey * (a[:, 0] - rings[ring_of, k, 0])
        den = ex * dy - ey * dx
        live = ~degenerate[ring_of, k]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = -num / den
        t0 = np.where(live & (den > 0), np.maximum(t0, t), t0)
        t1 = np.where(live & (den < 0), np.minimum(t1, t), t1)
        t1 = np.where(live & (den == 0) & (num < 0), -1.0, t1)  # parallel and outside
    return t0, t1


__all__ = ["DEFAULT_H3_RESOLUTION", "cell_area_km2", "check_h3_resolution",
           "convex_cell_parts", "h3_cells", "h3_tiles"]
