"""Service-area polygons built from the reached parts of streets.

Construction (no convex or concave hulls): the reached stretches of streets are cut at
the exact remaining distance, each stretch is buffered by ``buffer_m`` (round caps and
joins, ``quad_segs`` segments per quarter circle) and the buffers are unioned. Blocks
larger than twice the buffer that no street reaches into stay holes.

* per station: from the station's own reach (:mod:`geo.coverage.reach`) — areas overlap;
* the union: from the coverage pass — identical to the union of the per-station areas;
* optionally a split of the union into non-overlapping parts, each belonging to the
  station nearest along the network: Voronoi cells of points sampled every
  ``split_spacing_m`` along the covered streets (labelled by nearest station),
  dissolved per station and clipped to the union.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.coverage.core import Coverage
from geo.coverage.reach import station_reach, station_segments
from geo.coverage.segments import covered_length, covered_pieces
from geo.errors import InvalidParameterError

DEFAULT_QUAD_SEGS: Final = 4
_MIN_PIECE_M: Final = 0.01
_CHUNK_PIECES: Final = 100_000  # pieces cut and buffered at a time
_UNION_TILE_M: Final = 2_000.0


@dataclass(frozen=True, eq=False)
class ServiceAreas:
    """Polygons of one coverage run, in the network CRS."""

    buffer_m: float
    per_station: gpd.GeoDataFrame | None
    union: shapely.Geometry
    nearest_split: gpd.GeoDataFrame | None

    @property
    def union_area_m2(self) -> float:
        return float(shapely.area(self.union))


def _buffer_union_groups(network: Any, pieces: pd.DataFrame, groups: np.ndarray,
                         n_groups: int, *, buffer_m: float, quad_segs: int, workers: int,
                         group_rank: np.ndarray | None = None) -> np.ndarray:
    """Cut every piece, buffer it, union the buffers of each group: one polygon per
    group.

    Works in chunks of whole groups (bounded memory), taken in ``group_rank`` order
    (give neighbouring groups neighbouring ranks: pieces shared by groups of one chunk
    — a street reached from several stations — are cut and buffered once). With
    ``workers > 1`` chunks are buffered and unioned in worker processes while the main
    process cuts the next one.
    """
    out = np.empty(n_groups, dtype=object)
    out[:] = shapely.Polygon()
    if len(pieces) == 0:
        return out
    rank = np.arange(n_groups) if group_rank is None else np.asarray(group_rank)
    order = np.argsort(rank[groups], kind="stable")
    g_sorted = groups[order]
    edge = pieces["edge"].to_numpy()[order]
    x0 = pieces["x0"].to_numpy()[order]
    x1 = pieces["x1"].to_numpy()[order]
    bound = np.flatnonzero(np.diff(g_sorted)) + 1
    starts = np.concatenate([[0], bound])
    ends = np.concatenate([bound, [g_sorted.size]])
    present = g_sorted[starts]
    # chunk boundaries at group boundaries, ~_CHUNK_PIECES pieces each
    chunk_of = np.floor(starts / _CHUNK_PIECES).astype(np.int64)
    chunks = np.split(np.arange(present.size), np.flatnonzero(np.diff(chunk_of)) + 1)

    def payload(c: np.ndarray) -> tuple[bytes, bytes, list[int], float, int]:
        lo, hi = starts[c[0]], ends[c[-1]]
        key = np.column_stack([edge[lo:hi].astype(float), np.round(x0[lo:hi], 3),
                               np.round(x1[lo:hi], 3)])
        _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
        idx = first + lo
        lines = network.cut(edge[idx], x0[idx], x1[idx])
        return (shapely.to_wkb(lines), inverse.reshape(-1).astype(np.int32).tobytes(),
                (ends[c] - starts[c]).tolist(), buffer_m, quad_segs)

    if workers > 1 and len(chunks) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            pending: list[tuple[np.ndarray, Any]] = []
            for c in chunks:
                pending.append((c, pool.submit(_worker, payload(c))))
                while len(pending) > workers * 2:
                    done_c, fut = pending.pop(0)
                    out[present[done_c]] = shapely.from_wkb(fut.result())
            for done_c, fut in pending:
                out[present[done_c]] = shapely.from_wkb(fut.result())
        return out
    for c in chunks:
        out[present[c]] = shapely.from_wkb(_worker(payload(c)))
    return out


def _worker(payload: tuple[bytes, bytes, list[int], float, int]) -> bytes:
    """Buffer unique lines once; union the buffers of consecutive groups (sizes given,
    members given by the inverse index into the unique lines)."""
    wkb, inverse_bytes, sizes, buffer_m, quad_segs = payload
    buffers = shapely.buffer(shapely.from_wkb(wkb), buffer_m, quad_segs=quad_segs)
    inverse = np.frombuffer(inverse_bytes, dtype=np.int32)
    ends = np.cumsum(sizes)
    starts = ends - np.asarray(sizes)
    return shapely.to_wkb(np.array([shapely.union_all(buffers[inverse[a:b]])
                                    for a, b in zip(starts, ends, strict=True)], dtype=object))


def default_workers() -> int:
    """Worker processes for polygon building: the CPUs available, at most 4."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        n = os.cpu_count() or 1
    return max(1, min(n, 4))


def union_polygon(cov: Coverage, *, buffer_m: float | None = None,
                  quad_segs: int = DEFAULT_QUAD_SEGS, workers: int | None = None,
                  tile_m: float = _UNION_TILE_M) -> shapely.Geometry:
    """The union of every station's service area (from the coverage pieces).

    Pieces are unioned per square tile (in parallel), then the tiles are unioned.
    """
    buffer_m = cov.params.buffer_m if buffer_m is None else buffer_m
    p = cov.merged_pieces
    p = p.loc[(p["x1"] - p["x0"]) > _MIN_PIECE_M]
    if p.empty:
        return shapely.Polygon()
    net = cov.network
    e = p["edge"].to_numpy()
    tx = np.floor((net.node_x[net.edge_u[e]] - net.bounds[0]) / tile_m).astype(np.int64)
    ty = np.floor((net.node_y[net.edge_u[e]] - net.bounds[1]) / tile_m).astype(np.int64)
    _, tile = np.unique(ty * (tx.max() + 1) + tx, return_inverse=True)
    tile = tile.reshape(-1)
    n_tiles = int(tile.max()) + 1
    parts = _buffer_union_groups(net, p, tile, n_tiles, buffer_m=buffer_m,
                                 quad_segs=quad_segs,
                                 workers=default_workers() if workers is None else workers)
    return shapely.union_all(parts)


def covered_area_within(cov: Coverage, polygons: np.ndarray, *,
                        buffer_m: float | None = None, quad_segs: int = DEFAULT_QUAD_SEGS,
                        workers: int | None = None) -> np.ndarray:
    """Area (m²) of each polygon ∩ the union of all service areas.

    Exact and local: for each polygon only the covered pieces whose buffer can reach it
    are buffered and unioned, so thousands of towns (or grid cells) on a province-size
    union cost about one union, not one overlay with the whole union each.
    """
    buffer_m = cov.params.buffer_m if buffer_m is None else buffer_m
    polys = np.asarray(polygons, dtype=object)
    out = np.zeros(polys.size)
    p = cov.merged_pieces
    p = p.loc[(p["x1"] - p["x0"]) > _MIN_PIECE_M].reset_index(drop=True)
    if p.empty or polys.size == 0:
        return out
    net = cov.network
    b = shapely.bounds(net.geometry[p["edge"].to_numpy()])
    boxes = shapely.box(b[:, 0] - buffer_m, b[:, 1] - buffer_m, b[:, 2] + buffer_m,
                        b[:, 3] + buffer_m)
    piece_i, poly_i = shapely.STRtree(polys).query(boxes, predicate="intersects")
    if piece_i.size == 0:
        return out
    local = _buffer_union_groups(net, p.iloc[piece_i].reset_index(drop=True), poly_i,
                                 polys.size, buffer_m=buffer_m, quad_segs=quad_segs,
                                 workers=default_workers() if workers is None else workers)
    return np.asarray(shapely.area(shapely.intersection(polys, local)), dtype=float)


def per_station_polygons(cov: Coverage, *, buffer_m: float | None = None,
                         quad_segs: int = DEFAULT_QUAD_SEGS,
                         workers: int | None = None) -> gpd.GeoDataFrame:
    """One service-area polygon per used station (overlapping), network CRS.

    Columns: ``station_id``, ``name``, ``type``, ``reach_length_m`` (street metres
    within the budget of this station, whatever other stations do), ``area_m2``.
    """
    buffer_m = cov.params.buffer_m if buffer_m is None else buffer_m
    used = cov.used
    src_edge = used["snap_edge"].to_numpy(dtype=np.int64)
    src_off = used["snap_offset_m"].to_numpy(dtype=float)
    budget = cov.params.budget_m
    reach = station_reach(cov.network, src_edge, src_off, budget_m=budget)
    seg = station_segments(cov.network, reach, src_edge, src_off)
    reach_len = np.bincount(seg["source"].to_numpy(), weights=covered_length(seg, budget),
                            minlength=len(used))
    pieces = covered_pieces(seg, budget, merge="same_source")
    pieces = pieces.loc[(pieces["x1"] - pieces["x0"]) > _MIN_PIECE_M]
    del seg, reach
    sx = cov.network.node_x[cov.network.edge_u[src_edge]]
    sy = cov.network.node_y[cov.network.edge_u[src_edge]]
    cell = 2.0 * budget
    spatial = np.lexsort((np.floor(sx / cell), np.floor(sy / cell)))
    rank = np.empty(len(used), dtype=np.int64)
    rank[spatial] = np.arange(len(used))
    polys = _buffer_union_groups(cov.network, pieces, pieces["source"].to_numpy(), len(used),
                                 group_rank=rank,
                                 buffer_m=buffer_m, quad_segs=quad_segs,
                                 workers=default_workers() if workers is None else workers)
    cols = [c for c in ("station_id", "name", "type") if c in used.columns]
    df = pd.DataFrame(used[cols]).reset_index(drop=True)
    df["reach_length_m"] = np.round(reach_len, 1)
    df["area_m2"] = np.round(shapely.area(polys), 1)
    return gpd.GeoDataFrame(df, geometry=list(polys), crs=cov.network.crs)


def nearest_split_polygons(cov: Coverage, union: shapely.Geometry, *,
                           split_spacing_m: float | None = None) -> gpd.GeoDataFrame:
    """Split ``union`` into non-overlapping parts by nearest station along the network."""
    if split_spacing_m is not None and not split_spacing_m > 0:
        raise InvalidParameterError(f"split_spacing_m must be > 0, got {split_spacing_m!r}")
    spacing = split_spacing_m or max(cov.params.buffer_m / 2.0, 5.0)
    p = cov.pieces
    p = p.loc[(p["x1"] - p["x0"]) > _MIN_PIECE_M]
    used = cov.used
    cols = [c for c in ("station_id", "name", "type") if c in used.columns]
    base = pd.DataFrame(used[cols]).reset_index(drop=True)
    if p.empty or shapely.is_empty(union):
        return gpd.GeoDataFrame(base.iloc[:0], geometry=[], crs=cov.network.crs)
    length = (p["x1"] - p["x0"]).to_numpy()
    n_pts = np.maximum(np.ceil(length / spacing).astype(np.int64), 1) + 1
    rep = np.repeat(np.arange(len(p)), n_pts)
    k = np.arange(rep.size) - np.repeat(np.cumsum(n_pts) - n_pts, n_pts)
    frac_in = k / (n_pts[rep] - 1)
    x = p["x0"].to_numpy()[rep] + frac_in * length[rep]
    edge = p["edge"].to_numpy()[rep]
    net = cov.network
    safe = np.where(net.length_m[edge] > 0, net.length_m[edge], 1.0)
    pts = shapely.line_interpolate_point(net.geometry[edge], x / safe, normalized=True)
    xy = shapely.get_coordinates(pts)
    label = p["source"].to_numpy()[rep]
    # one point per location; a location shared by pieces of *different* stations (where
    # their pieces meet) is dropped, so the Voronoi boundary falls midway between the
    # nearest points of each side (accurate to about split_spacing_m / 2)
    key = np.round(xy, 3)
    _, first, inv = np.unique(key, axis=0, return_index=True, return_inverse=True)
    inv = inv.reshape(-1)
    lab_min = np.full(first.size, np.iinfo(np.int64).max)
    lab_max = np.full(first.size, np.iinfo(np.int64).min)
    np.minimum.at(lab_min, inv, label)
    np.maximum.at(lab_max, inv, label)
    first = np.sort(first[lab_min == lab_max])
    xy, label = xy[first], label[first]
    env = shapely.buffer(shapely.envelope(union), cov.params.buffer_m * 4)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(xy),
                                                       extend_to=env, ordered=True))
    order = np.argsort(label, kind="stable")
    bounds = np.searchsorted(label[order], np.arange(len(used) + 1))
    geoms = []
    for s in range(len(used)):
        members = order[bounds[s]:bounds[s + 1]]
        if members.size == 0:
            geoms.append(shapely.Polygon())
            continue
        try:
            merged = shapely.coverage_union_all(cells[members])
        except shapely.errors.GEOSException:
            merged = shapely.union_all(cells[members])
        geoms.append(shapely.intersection(merged, union))
    geoms_arr = np.array(geoms, dtype=object)
    base["area_m2"] = np.round(shapely.area(geoms_arr), 1)
    return gpd.GeoDataFrame(base, geometry=list(geoms_arr), crs=cov.network.crs)


def build_service_areas(cov: Coverage, *, per_station: bool = True,
                        split_nearest: bool = False, quad_segs: int = DEFAULT_QUAD_SEGS,
                        workers: int | None = None) -> ServiceAreas:
    """All polygons of a coverage run (see the module docstring)."""
    union = union_polygon(cov, quad_segs=quad_segs)
    per = per_station_polygons(cov, quad_segs=quad_segs, workers=workers) if per_station \
        else None
    split = nearest_split_polygons(cov, union) if split_nearest else None
    return ServiceAreas(buffer_m=cov.params.buffer_m, per_station=per, union=union,
                        nearest_split=split)
