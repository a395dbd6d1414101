"""The covered area of the service-area union measured on a grid, and a contour of it.

The union of every station's service area is the set of points within ``buffer_m`` of
the covered streets (the reached stretches cut at the exact remaining distance). Its
area, and its area inside each analysis cell or town, are measured here without a
vector overlay:

1. the plane is divided into square tiles of ``TILE_PX`` pixels of ``pixel_m`` (each
   tile independent, computed in worker processes, the same whatever their number);
2. in a tile, points sampled every ``pixel_m / 2`` along the covered segments mark the
   pixels they fall in with the segment's index; OpenCV's distance transform (5 × 5
   mask, within 2 % of Euclidean) gives every pixel centre its nearest marked pixel;
3. pixel centres near the buffer's edge (within ``2.5 × pixel_m`` of it by the transform,
   widened by the transform's error) get their *exact* distance: the least to the
   segments of the nearest marked pixels of them and their four neighbours;
4. a pixel counts for ``smooth_inside(buffer_m - d)`` of its area: the indicator of
   ``d ≤ buffer_m`` smoothed over about a pixel, whose integral across a straight edge
   equals the indicator's, so the count has no ± one-row steps (:func:`smooth_inside`);
5. areas inside polygons are sums over pixel rows (pixels whose centre is inside, rows
   cut exactly where each polygon ring crosses them), from per-row cumulative sums.

The drawable geometry is the contour of the same distance field at ``buffer_m``
(contourpy, once over all tiles) on every 2nd pixel centre — every 4th or 8th when the
extent is large (at most ``DISPLAY_MAX_PX`` grid points): a polygon with holes, true to
about that grid, used for display and ``coverage.geojson``.
"""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Final

import contourpy
import cv2
import numpy as np
import shapely

from geo.coverage.core import Coverage
from geo.errors import InvalidParameterError

DEFAULT_PIXEL_M: Final = 5.0
MIN_PIXEL_M: Final = 0.5
MAX_PIXEL_M: Final = 25.0
TILE_PX: Final = 512
DISPLAY_STRIDES: Final = (2, 4, 8)  # the contour's grid: every 2nd (4th, 8th) pixel centre…
DISPLAY_MAX_PX: Final = 12_000_000  # …the finest with at most this many grid points
_MIN_PIECE_M: Final = 0.01
REFINE_MAX_PX: Final = 16_000_000  # refined_pixel_m: finer pixels up to this many
_MIN_PARALLEL_TILES: Final = 40  # fewer tiles (< ~0.5 s of work) stay in this process
_BAND_PX: Final = 2.5  # exact distances within this many pixels of the buffer's edge
_CHAMFER_ERR: Final = 0.03  # bound on the 5 × 5 mask's relative error (≈ 2 %)
_NEIGHBOURS: Final = ((-1, 0), (1, 0), (0, -1), (0, 1))  # whose streets a pixel also tries
FractionFn = Callable[[float], None]


def check_pixel_m(pixel_m: float, buffer_m: float) -> float:
    """``pixel_m`` as a float in range (and at most a fifth of the buffer), else a
    named error."""
    p = float(pixel_m)
    if not (MIN_PIXEL_M <= p <= MAX_PIXEL_M) or p > buffer_m / 5.0:
        raise InvalidParameterError(
            f"area_pixel_m={pixel_m!r} must be within {MIN_PIXEL_M:g}–{MAX_PIXEL_M:g} m and "
            f"at most a fifth of the buffer ({buffer_m:g} m): use 5 (the default)")
    return p


@dataclass(frozen=True, eq=False)
class RasterUnion:
    """The union's area measured on a grid (see the module docstring).

    ``area_m2`` is the union's area; ``within_m2[i]`` its area inside ``polygons[i]``
    (as given to :func:`raster_union`); ``geometry`` the contour for display, in the
    network CRS (``None`` when not asked for).
    """

    pixel_m: float
    buffer_m: float
    area_m2: float
    within_m2: np.ndarray
    geometry: shapely.Geometry | None
    n_tiles: int
    display_m: float = 0.0  # the contour's grid spacing (0: no contour)


def covered_segments(cov: Coverage) -> np.ndarray:
    """The covered linework as straight segments ``(n, 4)``: ``ax, ay, bx, by``."""
    p = cov.merged_pieces
    p = p.loc[(p["x1"] - p["x0"]) > _MIN_PIECE_M]
    if p.empty:
        return np.zeros((0, 4))
    xy, offsets = cov.network.cut_coords(p["edge"].to_numpy(), p["x0"].to_numpy(),
                                         p["x1"].to_numpy())
    same = np.ones(xy.shape[0] - 1, dtype=bool)  # consecutive points of one piece
    same[offsets[1:-1] - 1] = False
    seg = np.column_stack([xy[:-1][same], xy[1:][same]])
    return seg[(seg[:, 0] != seg[:, 2]) | (seg[:, 1] != seg[:, 3])]


def refined_pixel_m(seg: np.ndarray, pixel_m: float, buffer_m: float) -> float:
    """``pixel_m / 2`` when the covered streets' extent (grown by the buffer) holds at
    most :data:`REFINE_MAX_PX` such pixels (a district: the error shrinks 4× at no real
    cost), else ``pixel_m``. The choice depends on the extent, so a partition of a
    small network may refine where the whole does not: pass the same extent (or a
    large network) when figures must match across partitions."""
    half = pixel_m / 2.0
    if half < MIN_PIXEL_M:
        return pixel_m
    w = float(seg[:, [0, 2]].max() - seg[:, [0, 2]].min()) + 2.0 * buffer_m
    h = float(seg[:, [1, 3]].max() - seg[:, [1, 3]].min()) + 2.0 * buffer_m
    return half if (w / half) * (h / half) <= REFINE_MAX_PX else pixel_m


def row_intervals(polygons: np.ndarray, origin: tuple[float, float], pixel_m: float
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pixels whose centre is inside each polygon, as row runs ``(poly, row, c0, c1)``
    (columns ``c0 ≤ c < c1`` of global row ``row``); holes and multi-parts count
    by the even–odd rule. Neighbouring polygons sharing edges get each pixel once."""
    polys = np.asarray(polygons, dtype=object)
    empty = (np.zeros(0, np.int64),) * 4
    if polys.size == 0:
        return empty
    ox, oy = origin
    parts, pidx = shapely.get_parts(polys, return_index=True)
    rings, ridx = shapely.get_rings(parts, return_index=True)
    xy, cidx = shapely.get_coordinates(rings, return_index=True)
    same = cidx[:-1] == cidx[1:]
    a, b = xy[:-1][same], xy[1:][same]
    owner = pidx[ridx[cidx[:-1][same]]]
    lo = np.minimum(a[:, 1], b[:, 1])
    hi = np.maximum(a[:, 1], b[:, 1])
    j0 = np.ceil((lo - oy) / pixel_m - 0.5).astype(np.int64)
    j1 = np.ceil((hi - oy) / pixel_m - 0.5).astype(np.int64)
    n = np.maximum(j1 - j0, 0)
    if n.sum() == 0:
        return empty
    rep = np.repeat(np.arange(n.size), n)
    row = j0[rep] + (np.arange(rep.size) - np.repeat(np.cumsum(n) - n, n))
    yc = oy + (row + 0.5) * pixel_m
    ar, br = a[rep], b[rep]
    x = ar[:, 0] + (yc - ar[:, 1]) * (br[:, 0] - ar[:, 0]) / (br[:, 1] - ar[:, 1])
    own = owner[rep]
    order = np.lexsort((x, row, own))
    own, row, x = own[order], row[order], x[order]
    c = np.ceil((x - ox) / pixel_m - 0.5).astype(np.int64)
    c0, c1 = c[0::2], c[1::2]
    keep = c1 > c0
    return own[0::2][keep], row[0::2][keep], c0[keep], c1[keep]


_Tile = tuple[int, int, np.ndarray, np.ndarray, float, float, float, float, int]
_TileResult = tuple[float, np.ndarray, np.ndarray | None]


def _tile_worker(task: _Tile) -> _TileResult:
    """One tile: (its covered area m², the sums of the given row runs, the distance field
    at every ``stride``-th pixel centre for the contour, or ``None`` when ``stride`` is 0)."""
    tx, ty, seg, runs, ox, oy, pixel_m, buffer_m, stride = task
    p = pixel_m
    margin = int(np.ceil(buffer_m / p + 3.0))
    size = TILE_PX + 2 * margin
    gx0 = ox + (tx * TILE_PX - margin) * p
    gy0 = oy + (ty * TILE_PX - margin) * p
    # sample points every p / 2 along each segment, marking their pixels
    d = seg[:, 2:] - seg[:, :2]
    length = np.hypot(d[:, 0], d[:, 1])
    k = np.ceil(length / (0.5 * p)).astype(np.int64) + 1
    rep = np.repeat(np.arange(seg.shape[0]), k)
    t = (np.arange(rep.size) - np.repeat(np.cumsum(k) - k, k)) / (k[rep] - 1)
    px = seg[rep, 0] + t * d[rep, 0]
    py = seg[rep, 1] + t * d[rep, 1]
    ix = np.floor((px - gx0) / p).astype(np.int64)
    iy = np.floor((py - gy0) / p).astype(np.int64)
    inside = (ix >= 0) & (ix < size) & (iy >= 0) & (iy < size)
    feat = np.full((size, size), -1, dtype=np.int32)
    feat[iy[inside], ix[inside]] = rep[inside]
    if not inside.any():  # streets near the tile but none inside its margin
        z = np.full((TILE_PX, TILE_PX), np.inf)
        bi = bj = np.zeros(0, dtype=np.int64)
    else:
        z, bi, bj = _distances(feat, seg, margin, gx0, gy0, p, buffer_m)
    frac = (z <= buffer_m).astype(np.float64)  # away from the edge: 0 or 1
    frac[bi, bj] = smooth_inside(buffer_m - z[bi, bj], p)
    area = float(frac.sum()) * p * p
    sums = np.zeros(runs.shape[0])
    if runs.shape[0]:
        cum = np.zeros((TILE_PX, TILE_PX + 1))
        np.cumsum(frac, axis=1, out=cum[:, 1:])
        sums = (cum[runs[:, 0], runs[:, 2]] - cum[runs[:, 0], runs[:, 1]]) * p * p
    shown = z[::stride, ::stride].astype(np.float32) if stride else None
    return area, sums, shown


def _distances(feat: np.ndarray, seg: np.ndarray, margin: int, gx0: float, gy0: float,
               p: float, buffer_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distance (m) from every core pixel centre to the covered streets, exact in the
    band around the buffer's edge; and the band's pixels.

    OpenCV's distance transform (5 × 5 mask: within 2 % of the Euclidean distance to the
    nearest marked pixel) with the label of that pixel gives each pixel its nearest
    segment; pixels whose distance may lie within :data:`_BAND_PX` pixels of the edge
    get their exact distance, the least to the segments labelled at them and their four
    neighbours (a neighbour's label covers a nearly tied nearest street)."""
    free = (feat < 0).astype(np.uint8)  # 0 on marked pixels
    d_px, label = cv2.distanceTransformWithLabels(free, cv2.DIST_L2, cv2.DIST_MASK_5,
                                                  labelType=cv2.DIST_LABEL_PIXEL)
    marked = np.flatnonzero(free.ravel() == 0)  # label k ↔ the k-th marked pixel
    flat_feat = feat.ravel()
    core = slice(margin, margin + TILE_PX)
    z = d_px[core, core].astype(np.float64) * p
    # widen the band by the transform's error at the buffer's distance
    half = _BAND_PX + _CHAMFER_ERR * (buffer_m / p + _BAND_PX)  # pixels
    dc = d_px[core, core]
    bi, bj = np.nonzero((dc > buffer_m / p - half) & (dc < buffer_m / p + half))
    cx = gx0 + (bj + margin + 0.5) * p
    cy = gy0 + (bi + margin + 0.5) * p

    def segment_at(di: int, dj: int) -> np.ndarray:
        return flat_feat[marked[label[bi + margin + di, bj + margin + dj] - 1]]

    own = segment_at(0, 0)
    best = _point_segment_distance(cx, cy, seg[own])
    for di, dj in _NEIGHBOURS:
        other = segment_at(di, dj)
        m = np.flatnonzero(other != own)  # only where a neighbour names another street
        if m.size:
            best[m] = np.minimum(best[m], _point_segment_distance(cx[m], cy[m], seg[other[m]]))
    z[bi, bj] = best
    return z, bi, bj


def smooth_inside(s: np.ndarray, pixel_m: float) -> np.ndarray:
    """How much of a pixel counts as inside when its centre is ``s`` metres inside the
    buffer's edge: the step at 0 smoothed by a box of ``pixel_m`` convolved with a box of
    ``√2 · pixel_m`` (piecewise quadratic, 0 below ``-h2``, 1 above ``h2``).

    Summed over pixel centres, a smoothed step gives the area under a straight edge
    without the ± one-row steps of counting centres; with these two boxes the sum is
    exact for edges along the grid axes and the diagonals (lattice spacings ``p`` and
    ``p / √2``) and close for any other direction. Over a circle arc of radius R it
    adds about ``p² / (8 R)`` per metre of edge (0.06 m at 5 m pixels, R = 50 m).
    """
    a, b = pixel_m, math.sqrt(2.0) * pixel_m
    h1, h2 = (b - a) / 2.0, (a + b) / 2.0
    out = np.clip(0.5 + s / b, 0.0, 1.0)
    lo = (s > -h2) & (s < -h1)
    out[lo] = (s[lo] + h2) ** 2 / (2.0 * a * b)
    hi = (s > h1) & (s < h2)
    out[hi] = 1.0 - (h2 - s[hi]) ** 2 / (2.0 * a * b)
    out[s <= -h2] = 0.0
    out[s >= h2] = 1.0
    return out


def _point_segment_distance(x: np.ndarray, y: np.ndarray, seg: np.ndarray) -> np.ndarray:
    dx = seg[:, 2] - seg[:, 0]
    dy = seg[:, 3] - seg[:, 1]
    l2 = dx * dx + dy * dy
    t = np.clip(((x - seg[:, 0]) * dx + (y - seg[:, 1]) * dy) / np.where(l2 > 0, l2, 1.0),
                0.0, 1.0)
    return np.hypot(x - seg[:, 0] - t * dx, y - seg[:, 1] - t * dy)


def _contour(z: np.ndarray, x0: float, y0: float, p: float, level: float) -> shapely.Geometry:
    """Polygons where ``z ≤ level`` on the grid of centres starting at ``(x0, y0)``."""
    if not (z <= level).any():
        return shapely.Polygon()
    xs = x0 + np.arange(z.shape[1]) * p
    ys = y0 + np.arange(z.shape[0]) * p
    gen = contourpy.contour_generator(xs, ys, z, name="serial",
                                      fill_type=contourpy.FillType.ChunkCombinedOffsetOffset)
    filled: Any = gen.filled(-1.0, level)  # ChunkCombinedOffsetOffset: 3 lists
    points, offsets, outer = filled[0], filled[1], filled[2]
    if points[0] is None:
        return shapely.Polygon()
    polys = shapely.from_ragged_array(shapely.GeometryType.POLYGON, points[0],
                                      (offsets[0], outer[0]))
    return shapely.multipolygons(polys)


def _tasks(seg: np.ndarray, runs: tuple[np.ndarray, ...], origin: tuple[float, float],
           pixel_m: float, buffer_m: float, want_geometry: bool,
           display_max_px: int = DISPLAY_MAX_PX
           ) -> tuple[list[_Tile], list[np.ndarray]]:
    """One task per tile with segments near it, and the indices of the runs it sums."""
    ox, oy = origin
    reach = buffer_m + 3.0 * pixel_m
    span = TILE_PX * pixel_m
    lo = np.minimum(seg[:, :2], seg[:, 2:])
    hi = np.maximum(seg[:, :2], seg[:, 2:])
    t0 = np.floor((lo - reach - np.array([ox, oy])) / span).astype(np.int64)
    t1 = np.floor((hi + reach - np.array([ox, oy])) / span).astype(np.int64)
    nx_ = t1[:, 0] - t0[:, 0] + 1
    ny_ = t1[:, 1] - t0[:, 1] + 1
    cnt = nx_ * ny_
    rep = np.repeat(np.arange(seg.shape[0]), cnt)
    k = np.arange(rep.size) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    tx = t0[rep, 0] + k % nx_[rep]
    ty = t0[rep, 1] + k // nx_[rep]
    key = tx * 1_000_003 + ty
    order = np.argsort(key, kind="stable")
    key, rep, tx, ty = key[order], rep[order], tx[order], ty[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    ends = np.r_[starts[1:], key.size]
    stride = _display_stride(tx[starts], ty[starts], display_max_px) if want_geometry else 0
    _poly, row, c0, c1 = runs
    # split row runs at tile columns
    rt = row // TILE_PX
    ct0 = c0 // TILE_PX
    ct1 = (c1 - 1) // TILE_PX
    nr = ct1 - ct0 + 1
    rrep = np.repeat(np.arange(row.size), nr)
    rct = ct0[rrep] + (np.arange(rrep.size) - np.repeat(np.cumsum(nr) - nr, nr))
    lc0 = np.clip(c0[rrep] - rct * TILE_PX, 0, TILE_PX)
    lc1 = np.clip(c1[rrep] - rct * TILE_PX, 0, TILE_PX)
    rkey = rct * 1_000_003 + rt[rrep]
    rorder = np.argsort(rkey, kind="stable")
    rkey_s = rkey[rorder]
    tasks: list[_Tile] = []
    run_idx: list[np.ndarray] = []
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        ka = key[a]
        r0, r1 = np.searchsorted(rkey_s, [ka, ka + 1])
        sel = rorder[r0:r1]
        local = np.column_stack([row[rrep[sel]] - ty[a] * TILE_PX, lc0[sel], lc1[sel]])
        tasks.append((int(tx[a]), int(ty[a]), seg[rep[a:b]], local, ox, oy, pixel_m,
                      buffer_m, stride))
        run_idx.append(rrep[sel])
    return tasks, run_idx


def raster_union(cov: Coverage, *, polygons: np.ndarray | None = None,
                 pixel_m: float = DEFAULT_PIXEL_M, buffer_m: float | None = None,
                 geometry: bool = True, workers: int = 1,
                 progress: FractionFn | None = None,
                 display_max_px: int = DISPLAY_MAX_PX, refine: bool = True) -> RasterUnion:
    """The union's area, its area inside each of ``polygons`` and (``geometry``) its
    contour, measured on a grid of ``pixel_m`` — of ``pixel_m / 2`` on small extents
    (:func:`refined_pixel_m`; the result's ``pixel_m`` says which) — see the module
    docstring.

    Tiles are independent and summed in a fixed order, so the figures are identical
    for any ``workers``. ``display_max_px`` bounds the contour's grid (fewer points: a
    coarser, quicker contour; the areas do not change). ``refine=False`` measures at
    ``pixel_m`` whatever the extent.
    """
    buffer_m = float(cov.params.buffer_m if buffer_m is None else buffer_m)
    pixel_m = check_pixel_m(pixel_m, buffer_m)
    polys = np.zeros(0, dtype=object) if polygons is None else np.asarray(polygons, dtype=object)
    seg = covered_segments(cov)
    within = np.zeros(polys.size)
    if seg.shape[0] and refine:
        pixel_m = refined_pixel_m(seg, pixel_m, buffer_m)
    if seg.shape[0] == 0:
        return RasterUnion(pixel_m, buffer_m, 0.0, within,
                           shapely.Polygon() if geometry else None, 0,
                           DISPLAY_STRIDES[0] * pixel_m if geometry else 0.0)
    # the grid is anchored at whole tiles of the CRS, not at these streets: any subset
    # of the network (a partition) sees the same pixels and tiles
    span = TILE_PX * pixel_m
    reach = buffer_m + 3.0 * pixel_m
    origin = (float(np.floor((seg[:, [0, 2]].min() - reach) / span) * span),
              float(np.floor((seg[:, [1, 3]].min() - reach) / span) * span))
    runs = row_intervals(polys, origin, pixel_m)
    tasks, run_idx = _tasks(seg, runs, origin, pixel_m, buffer_m, geometry, display_max_px)
    results = _run(tasks, workers, progress)
    area = 0.0
    for (a, sums, _shown), idx in zip(results, run_idx, strict=True):
        area += a
        within += np.bincount(runs[0][idx], weights=sums, minlength=polys.size)
    geom = _display(tasks, results, origin, pixel_m, buffer_m) if geometry else None
    return RasterUnion(pixel_m, buffer_m, area, within, geom, len(tasks),
                       tasks[0][8] * pixel_m)


def _run(tasks: list[_Tile], workers: int, progress: FractionFn | None) -> list[_TileResult]:
    out: list[_TileResult] = []
    # a daemonic process (a Dask or pool worker) may not start processes: run serially
    if workers > 1 and len(tasks) >= _MIN_PARALLEL_TILES and \
            not multiprocessing.current_process().daemon:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for i, r in enumerate(pool.map(_tile_worker, tasks, chunksize=4)):
                out.append(r)
                if progress is not None:
                    progress((i + 1) / len(tasks))
        return out
    for i, t in enumerate(tasks):
        out.append(_tile_worker(t))
        if progress is not None:
            progress((i + 1) / len(tasks))
    return out


def _display_stride(tx: np.ndarray, ty: np.ndarray, max_px: int = DISPLAY_MAX_PX) -> int:
    """The finest of :data:`DISPLAY_STRIDES` whose grid over the tiles' extent has at
    most :data:`DISPLAY_MAX_PX` points."""
    n_tiles = (int(tx.max()) - int(tx.min()) + 1) * (int(ty.max()) - int(ty.min()) + 1)
    for stride in DISPLAY_STRIDES:
        if n_tiles * (TILE_PX // stride) ** 2 <= max_px:
            return stride
    return DISPLAY_STRIDES[-1]


def _display(tasks: list[_Tile], results: list[_TileResult], origin: tuple[float, float],
             pixel_m: float, buffer_m: float) -> shapely.Geometry:
    """The contour at ``buffer_m`` of the distance field on every ``stride``-th pixel
    centre (as the tiles were given), all tiles at once (no seams)."""
    stride = tasks[0][8]
    n = TILE_PX // stride
    tx = np.array([t[0] for t in tasks])
    ty = np.array([t[1] for t in tasks])
    x0, y0 = int(tx.min()), int(ty.min())
    z = np.full(((int(ty.max()) - y0 + 1) * n, (int(tx.max()) - x0 + 1) * n),
                2.0 * buffer_m, dtype=np.float32)
    for t, r in zip(tasks, results, strict=True):
        shown = r[2]
        if shown is not None:
            z[(t[1] - y0) * n:(t[1] - y0 + 1) * n, (t[0] - x0) * n:(t[0] - x0 + 1) * n] = shown
    step = stride * pixel_m
    return _contour(z, origin[0] + (x0 * TILE_PX + 0.5) * pixel_m,
                    origin[1] + (y0 * TILE_PX + 0.5) * pixel_m, step, buffer_m)


__all__ = [
    "DEFAULT_PIXEL_M",
    "DISPLAY_STRIDES",
    "RasterUnion",
    "check_pixel_m",
    "covered_segments",
    "raster_union",
    "refined_pixel_m",
    "row_intervals",
]
