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
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Final, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.coverage.core import Coverage
from geo.coverage.raster import DEFAULT_PIXEL_M, DISPLAY_MAX_PX, raster_union
from geo.coverage.reach import station_reach, station_segments
from geo.coverage.segments import covered_length, covered_pieces
from geo.errors import InvalidParameterError

DEFAULT_QUAD_SEGS: Final = 4
_MIN_PIECE_M: Final = 0.01
_CHUNK_PIECES: Final = 100_000  # pieces cut and buffered at a time
_UNION_TILE_M: Final = 2_000.0
_JOIN_TOL_M: Final = 1e-3  # line ends closer than this are one point (chain_lines)
_PAIR_SHIFT_M: Final = 1e-6  # chain_lines: the k-th pair of ends at a point moves k × this
FractionFn = Callable[[float], None]  # progress of one stage, 0–1
UnionMethod = Literal["raster", "vector"]
UNION_METHODS: Final = ("raster", "vector")


@dataclass(frozen=True, eq=False)
class ServiceAreas:
    """Polygons of one coverage run, in the network CRS.

    ``union_parts`` (when the union was built by tiles) are the union clipped to each
    tile of ``tiles``: non-overlapping, summing to the union. ``per_station`` is
    ``None`` when per-station areas were not built (:func:`service_area_of` builds any
    of them on demand, exactly as the full computation would).
    """

    buffer_m: float
    per_station: gpd.GeoDataFrame | None
    union: shapely.Geometry
    nearest_split: gpd.GeoDataFrame | None
    union_parts: np.ndarray | None = None
    tiles: np.ndarray | None = None
    method: UnionMethod = "vector"
    area_m2: float | None = None  # the measured area (raster method); else the union's
    within_m2: np.ndarray | None = None  # raster method: area inside each given polygon
    pixel_m: float | None = None
    display_m: float | None = None  # raster method: the drawn contour's grid

    @property
    def union_area_m2(self) -> float:
        return float(shapely.area(self.union)) if self.area_m2 is None else self.area_m2

    @property
    def construction(self) -> str:
        """How the union and its area were built (written into the outputs)."""
        if self.method == "raster":
            return (f"reached street stretches buffered by {self.buffer_m:g} m; area measured "
                    f"on a {self.pixel_m:g} m grid of exact distances to the streets (within "
                    f"1 % of the exact buffered union); the drawn polygon is the contour of "
                    f"that distance field on a {self.display_m or 0:g} m grid")
        return f"reached street stretches buffered by {self.buffer_m:g} m, unioned"


def _buffer_union_groups(network: Any, pieces: pd.DataFrame, groups: np.ndarray,
                         n_groups: int, *, buffer_m: float, quad_segs: int, workers: int,
                         group_rank: np.ndarray | None = None,
                         clip: np.ndarray | None = None,
                         progress: FractionFn | None = None) -> np.ndarray:
    """Cut every piece, buffer it, union the buffers of each group: one polygon per
    group (intersected with ``clip[group]`` when given).

    Works in chunks of whole groups (bounded memory), taken in ``group_rank`` order
    (give neighbouring groups neighbouring ranks: pieces shared by groups of one chunk
    — a street reached from several stations — are cut and buffered once). With
    ``workers > 1`` chunks are buffered and unioned in worker processes while the main
    process cuts the next one. Each group's polygon is computed the same way whatever
    ``workers`` is, so the result does not depend on it.
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

    def payload(c: np.ndarray) -> _Payload:
        lo, hi = starts[c[0]], ends[c[-1]]
        key = np.column_stack([edge[lo:hi].astype(float), np.round(x0[lo:hi], 3),
                               np.round(x1[lo:hi], 3)])
        _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
        idx = first + lo
        lines = network.cut(edge[idx], x0[idx], x1[idx])
        clip_wkb = None if clip is None else shapely.to_wkb(clip[present[c]])
        return (shapely.to_wkb(lines), inverse.reshape(-1).astype(np.int32).tobytes(),
                (ends[c] - starts[c]).tolist(), buffer_m, quad_segs, clip_wkb)

    def report(done: int) -> None:
        if progress is not None:
            progress(done / len(chunks))

    if workers > 1 and len(chunks) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            pending: list[tuple[np.ndarray, Any]] = []
            n_done = 0
            for c in chunks:
                pending.append((c, pool.submit(_worker, payload(c))))
                while len(pending) > workers * 2:
                    done_c, fut = pending.pop(0)
                    out[present[done_c]] = shapely.from_wkb(fut.result())
                    n_done += 1
                    report(n_done)
            for done_c, fut in pending:
                out[present[done_c]] = shapely.from_wkb(fut.result())
                n_done += 1
                report(n_done)
        return out
    for i, c in enumerate(chunks):
        out[present[c]] = shapely.from_wkb(_worker(payload(c)))
        report(i + 1)
    return out


_Payload = tuple[Any, bytes, list[int], float, int, Any]  # WKB arrays, sizes, options


def chain_lines(lines: np.ndarray) -> np.ndarray:
    """The same linework as fewer, longer lines: at every point where line ends meet,
    the ends are paired (two by two) and each pair is joined, so paths run on through
    junctions (``shapely.line_merge`` alone stops at every junction).

    The ends of a pair share one coordinate; the k-th pair of a point is moved by
    ``k × 1 µm`` along x so that every coordinate joins exactly two ends (ends within
    1 mm count as one point and are moved onto it). The buffer of a path is the union
    of the buffers of its lines (up to the chords of the round joins and caps), built
    with one GEOS buffer instead of one overlay per line.
    """
    lines = np.asarray(lines, dtype=object)
    if lines.size < 2:
        return lines
    coords, idx = shapely.get_coordinates(lines, return_index=True)
    counts = np.bincount(idx, minlength=lines.size)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    ends = np.concatenate([first, first + counts - 1])
    key = np.round(coords[ends] / _JOIN_TOL_M).astype(np.int64)
    _, node = np.unique(key, axis=0, return_inverse=True)
    order = np.argsort(node.reshape(-1), kind="stable")
    ns = node.reshape(-1)[order]
    pos = np.arange(order.size)
    head = np.maximum.accumulate(np.where(np.r_[True, ns[1:] != ns[:-1]], pos, 0))
    moved = coords[ends[order[head]]]
    moved[:, 0] += ((pos - head) // 2) * _PAIR_SHIFT_M
    coords[ends[order]] = moved
    joined = shapely.line_merge(shapely.multilinestrings(shapely.linestrings(coords,
                                                                             indices=idx)))
    return shapely.get_parts(joined)


def _worker(payload: _Payload) -> bytes:
    """Union the buffers of the lines of consecutive groups (sizes given, members given
    by the inverse index into the unique lines): each group's lines are chained into
    paths (:func:`chain_lines`), the paths buffered and unioned; clip each group's union
    to its clip polygon when given."""
    wkb, inverse_bytes, sizes, buffer_m, quad_segs, clip_wkb = payload
    lines = shapely.from_wkb(wkb)
    inverse = np.frombuffer(inverse_bytes, dtype=np.int32)
    ends = np.cumsum(sizes)
    starts = ends - np.asarray(sizes)
    unions = np.array([shapely.union_all(shapely.buffer(chain_lines(lines[inverse[a:b]]),
                                                        buffer_m, quad_segs=quad_segs))
                       for a, b in zip(starts, ends, strict=True)], dtype=object)
    if clip_wkb is not None:
        unions = shapely.intersection(unions, shapely.from_wkb(clip_wkb))
    return shapely.to_wkb(unions)


def default_workers() -> int:
    """Worker processes for polygon building: the CPUs available, at most 4."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        n = os.cpu_count() or 1
    return max(1, min(n, 4))


def _pieces_reaching(cov: Coverage, polygons: np.ndarray, buffer_m: float
                     ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The merged covered pieces (longer than :data:`_MIN_PIECE_M`) and the pairs
    ``(piece, polygon)`` where the piece's street box grown by ``buffer_m`` meets the
    polygon (a superset of the pairs where its buffer does)."""
    p = cov.merged_pieces
    p = p.loc[(p["x1"] - p["x0"]) > _MIN_PIECE_M].reset_index(drop=True)
    none = np.zeros(0, dtype=np.int64)
    if p.empty or polygons.size == 0:
        return p, none, none
    b = shapely.bounds(cov.network.geometry[p["edge"].to_numpy()])
    boxes = shapely.box(b[:, 0] - buffer_m, b[:, 1] - buffer_m, b[:, 2] + buffer_m,
                        b[:, 3] + buffer_m)
    piece_i, poly_i = shapely.STRtree(polygons).query(boxes, predicate="intersects")
    return p, piece_i, poly_i


def union_parts(cov: Coverage, tiles: np.ndarray, *, buffer_m: float | None = None,
                quad_segs: int = DEFAULT_QUAD_SEGS, workers: int | None = None,
                progress: FractionFn | None = None) -> np.ndarray:
    """The union of every station's service area clipped to each of ``tiles``.

    ``tiles`` (polygons, network CRS) must not overlap and should cover the network
    (the H3 analysis cells do): then the parts partition the union, their areas sum to
    its area and the part of a tile is its covered area. Each tile's part is the union
    of the buffers of the covered pieces that can reach it, intersected with the tile,
    so tiles are independent (computed in parallel, the same whatever ``workers``).
    """
    buffer_m = cov.params.buffer_m if buffer_m is None else buffer_m
    tiles = np.asarray(tiles, dtype=object)
    p, piece_i, tile_i = _pieces_reaching(cov, tiles, buffer_m)
    if p.empty or tiles.size == 0:
        out = np.empty(tiles.size, dtype=object)
        out[:] = shapely.Polygon()
        return out
    net = cov.network
    c = shapely.get_coordinates(shapely.centroid(tiles))
    block = 4.0 * max(buffer_m, 1.0) * 10.0
    rank = np.empty(tiles.size, dtype=np.int64)
    rank[np.lexsort((c[:, 0], np.floor(c[:, 1] / block)))] = np.arange(tiles.size)
    return _buffer_union_groups(net, p.iloc[piece_i].reset_index(drop=True), tile_i,
                                tiles.size, buffer_m=buffer_m, quad_segs=quad_segs,
                                workers=default_workers() if workers is None else workers,
                                group_rank=rank, clip=tiles, progress=progress)


def merge_parts(parts: np.ndarray) -> shapely.Geometry:
    """One (multi)polygon from non-overlapping parts (:func:`union_parts`).

    ``shapely.coverage_union_all`` dissolves the shared tile edges cheaply; when the
    parts' shared edges do not match vertex for vertex it can leave a result that is
    invalid or loses area, and the parts are then unioned by overlay instead.
    """
    parts = np.asarray(parts, dtype=object)
    parts = parts[~shapely.is_empty(parts)]
    if parts.size == 0:
        return shapely.Polygon()
    total = float(shapely.area(parts).sum())
    try:
        merged = shapely.coverage_union_all(parts)
        if shapely.is_valid(merged) and abs(float(shapely.area(merged)) - total) <= 1e-6 * total:
            return merged
    except shapely.errors.GEOSException:
        pass
    return shapely.union_all(parts)


def area_within(parts: np.ndarray, polygons: np.ndarray) -> np.ndarray:
    """Area (m²) of each polygon ∩ the union given as non-overlapping ``parts``."""
    parts = np.asarray(parts, dtype=object)
    polys = np.asarray(polygons, dtype=object)
    out = np.zeros(polys.size)
    live = np.flatnonzero(~shapely.is_empty(parts))
    if live.size == 0 or polys.size == 0:
        return out
    poly_i, part_i = shapely.STRtree(parts[live]).query(polys, predicate="intersects")
    inter = shapely.area(shapely.intersection(polys[poly_i], parts[live][part_i]))
    return np.bincount(poly_i, weights=inter, minlength=polys.size)


def union_polygon(cov: Coverage, *, buffer_m: float | None = None,
                  quad_segs: int = DEFAULT_QUAD_SEGS, workers: int | None = None,
                  tile_m: float = _UNION_TILE_M) -> shapely.Geometry:
    """The union of every station's service area (from the coverage pieces).

    Pieces are unioned per square tile of ``tile_m`` (clipped to the tile, in
    parallel), then the tiles are merged (:func:`merge_parts`).
    """
    net = cov.network
    pad = (cov.params.buffer_m if buffer_m is None else buffer_m) + 1.0
    x0, y0, x1, y1 = net.bounds
    x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
    nx_ = max(int(np.ceil((x1 - x0) / tile_m)), 1)
    ny_ = max(int(np.ceil((y1 - y0) / tile_m)), 1)
    gx, gy = np.meshgrid(np.arange(nx_), np.arange(ny_))
    bx = x0 + gx.ravel() * tile_m
    by = y0 + gy.ravel() * tile_m
    tiles = shapely.box(bx, by, bx + tile_m, by + tile_m)
    return merge_parts(union_parts(cov, tiles, buffer_m=buffer_m, quad_segs=quad_segs,
                                   workers=workers))


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
    p, piece_i, poly_i = _pieces_reaching(cov, polys, buffer_m)
    if piece_i.size == 0:
        return out
    local = _buffer_union_groups(cov.network, p.iloc[piece_i].reset_index(drop=True), poly_i,
                                 polys.size, buffer_m=buffer_m, quad_segs=quad_segs,
                                 workers=default_workers() if workers is None else workers)
    return np.asarray(shapely.area(shapely.intersection(polys, local)), dtype=float)


def service_area_of(cov: Coverage, station_ids: Any, *, buffer_m: float | None = None,
                    quad_segs: int = DEFAULT_QUAD_SEGS) -> gpd.GeoDataFrame:
    """The service areas of the used stations among ``station_ids`` (on demand).

    Same rows, columns and polygons as :func:`per_station_polygons` gives for these
    stations (the construction is per station, so computing a few of them is exact);
    ids that are unknown or off-network are left out. Runs in this process.
    """
    ids = {str(i) for i in np.atleast_1d(np.asarray(station_ids, dtype=object))}
    return per_station_polygons(cov, buffer_m=buffer_m, quad_segs=quad_segs, workers=1,
                                station_ids=ids)


def per_station_polygons(cov: Coverage, *, buffer_m: float | None = None,
                         quad_segs: int = DEFAULT_QUAD_SEGS,
                         workers: int | None = None,
                         station_ids: set[str] | None = None,
                         progress: FractionFn | None = None) -> gpd.GeoDataFrame:
    """One service-area polygon per used station (overlapping), network CRS.

    Columns: ``station_id``, ``name``, ``type``, ``reach_length_m`` (street metres
    within the budget of this station, whatever other stations do), ``area_m2``.
    ``station_ids`` restricts the result to those stations.
    """
    buffer_m = cov.params.buffer_m if buffer_m is None else buffer_m
    used = cov.used
    if station_ids is not None:
        used = used.loc[used["station_id"].astype(str).isin(station_ids)]
    cols = [c for c in ("station_id", "name", "type") if c in used.columns]
    if len(used) == 0:
        empty = pd.DataFrame(used[cols]).reset_index(drop=True)
        empty["reach_length_m"] = np.zeros(0)
        empty["area_m2"] = np.zeros(0)
        return gpd.GeoDataFrame(empty, geometry=[], crs=cov.network.crs)
    src_edge = used["snap_edge"].to_numpy(dtype=np.int64)
    src_off = used["snap_offset_m"].to_numpy(dtype=float)
    cost = cov.street_cost  # metres on foot / e-bike, seconds (one-way) by car
    budget = cost.budget
    reach = station_reach(cov.network, src_edge, src_off, cost=cost)
    seg = station_segments(cov.network, reach, src_edge, src_off, cost=cost)
    reach_len = np.bincount(seg["source"].to_numpy(), weights=covered_length(seg, budget),
                            minlength=len(used))
    pieces = covered_pieces(seg, budget, merge="same_source")
    pieces = pieces.loc[(pieces["x1"] - pieces["x0"]) > _MIN_PIECE_M]
    del seg, reach
    sx = cov.network.node_x[cov.network.edge_u[src_edge]]
    sy = cov.network.node_y[cov.network.edge_u[src_edge]]
    cell = 2.0 * cost.reach_m
    spatial = np.lexsort((np.floor(sx / cell), np.floor(sy / cell)))
    rank = np.empty(len(used), dtype=np.int64)
    rank[spatial] = np.arange(len(used))
    polys = _buffer_union_groups(cov.network, pieces, pieces["source"].to_numpy(), len(used),
                                 group_rank=rank,
                                 buffer_m=buffer_m, quad_segs=quad_segs,
                                 workers=default_workers() if workers is None else workers,
                                 progress=progress)
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
                        workers: int | None = None, tiles: np.ndarray | None = None,
                        method: UnionMethod = "vector", polygons: np.ndarray | None = None,
                        pixel_m: float = DEFAULT_PIXEL_M,
                        progress: Callable[[str, float], None] | None = None,
                        display_max_px: int = DISPLAY_MAX_PX,
                        ) -> ServiceAreas:
    """All polygons of a coverage run (see the module docstring).

    ``method="vector"``: the union is an overlay of the buffers — by ``tiles``
    (non-overlapping polygons covering the network, e.g. the H3 analysis cells; their
    parts are kept as ``union_parts``) or else on square tiles. ``method="raster"``: the
    area and the area inside each of ``polygons`` (``within_m2``) are measured on a
    ``pixel_m`` grid and the union drawn is its contour (:mod:`geo.coverage.raster`).
    ``progress(stage, fraction)`` is called for the stages ``"union"`` and
    ``"station_areas"``.
    """
    if method not in UNION_METHODS:
        raise InvalidParameterError(f"union method must be one of {UNION_METHODS}, got "
                                    f"{method!r}")

    def stage(name: str) -> FractionFn | None:
        return None if progress is None else (lambda f: progress(name, f))

    n_workers = default_workers() if workers is None else workers
    parts = None
    extra: dict[str, Any] = {}
    if method == "raster":
        r = raster_union(cov, polygons=polygons, pixel_m=pixel_m, workers=n_workers,
                         progress=stage("union"), display_max_px=display_max_px)
        union = r.geometry if r.geometry is not None else shapely.Polygon()
        extra = {"area_m2": r.area_m2, "within_m2": r.within_m2, "pixel_m": r.pixel_m,
                 "display_m": r.display_m}
    elif tiles is not None:
        parts = union_parts(cov, tiles, quad_segs=quad_segs, workers=n_workers,
                            progress=stage("union"))
        union = merge_parts(parts)
    else:
        union = union_polygon(cov, quad_segs=quad_segs, workers=n_workers)
    per = per_station_polygons(cov, quad_segs=quad_segs, workers=n_workers,
                               progress=stage("station_areas")) if per_station else None
    split = nearest_split_polygons(cov, union) if split_nearest else None
    return ServiceAreas(buffer_m=cov.params.buffer_m, per_station=per, union=union,
                        nearest_split=split, union_parts=parts, tiles=tiles, method=method,
                        **extra)
