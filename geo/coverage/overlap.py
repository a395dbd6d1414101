"""Station overlap: how much of each station's service area the others already cover.

For every used station, the share of its own service-area polygon covered by the union
of the *other* stations' polygons (candidates from an ``STRtree`` over the per-station
polygons), and the station sharing the most area with it.

The review flag singles out the few stations that add almost nothing of their own,
not every station in a dense area (where almost every service area is covered by the
neighbours' union): a station is flagged when **both**

* at least ``threshold`` (default 95 %) of its service area is covered by the other
  stations' areas — less than 5 % of its area is its own; and
* it is the nearest station for less than ``nearest_share`` (default 5 %) of the
  streets it reaches (``nearest_length_m / reach_length_m``) — other stations are
  closer almost everywhere it reaches.

Flagged means *review*, not *remove*: the station may serve a different group of
workers. Without ``nearest_length_m`` only the first condition is applied. The reports
show the figures (:mod:`geo.reports.data`).

Instead of intersecting every pair (slow: service areas have many holes), the polygon
boundaries are noded and polygonized into *faces*, tile by tile (square tiles of
``tile_m``); an ``STRtree`` point-in-polygon query counts the polygons over each face.
A polygon's overlapped area is the area of its faces that at least one other polygon
also covers — exact up to floating-point noding.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.errors import InvalidParameterError

DEFAULT_OVERLAP_THRESHOLD: Final = 0.95
#: a flagged station is the nearest for less than this share of the streets it reaches
DEFAULT_NEAREST_SHARE: Final = 0.05
OVERLAP_TILE_M: Final = 4_000.0

#: (station index, other station index) → area (m²) both cover
PairArea = dict[tuple[int, int], float]


def station_overlap(per_station: gpd.GeoDataFrame | None, *,
                    nearest_length_m: np.ndarray | None = None,
                    threshold: float = DEFAULT_OVERLAP_THRESHOLD,
                    nearest_share: float = DEFAULT_NEAREST_SHARE,
                    tile_m: float = OVERLAP_TILE_M) -> pd.DataFrame:
    """Per row of ``per_station``: how much of its polygon the *other* polygons cover,
    and whether the station is worth reviewing.

    ``nearest_length_m``: per row, the street length for which the station is the
    nearest (``nearest_covered_length_m``); with ``per_station["reach_length_m"]`` it
    gives ``nearest_share``. Columns ``overlap_share`` (0–1; NaN for an empty polygon),
    ``overlap_neighbours`` (other polygons intersecting it, from an ``STRtree`` query),
    ``overlap_top_neighbour`` (the station_id sharing the largest area),
    ``nearest_share`` (0–1; NaN when not known) and ``review_flag``
    (``overlap_share >= threshold`` and ``nearest_share < nearest_share``; see the
    module docstring).
    """
    if per_station is None or len(per_station) == 0:
        return _empty_overlap()
    near = _nearest_share(per_station, nearest_length_m)
    geoms = np.asarray(per_station.geometry.to_numpy(), dtype=object)
    n = len(geoms)
    area = shapely.area(geoms)
    ids = per_station["station_id"].to_numpy() if "station_id" in per_station else np.arange(n)
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    keep = a != b
    neighbours = np.bincount(a[keep], minlength=n)
    nonempty = ~shapely.is_empty(geoms) & (area > 0)
    overlapped = np.zeros(n)
    pair_area: PairArea = {}
    if nonempty.any() and keep.any():
        overlapped, pair_area = _overlapped_area(geoms, tree, neighbours,
                                                 shapely.total_bounds(geoms[nonempty]), tile_m)
    share = np.where(nonempty, np.minimum(np.divide(overlapped, area, out=np.zeros(n),
                                                    where=area > 0), 1.0), np.nan)
    flag = np.nan_to_num(share, nan=0.0) >= threshold
    if nearest_length_m is not None:
        flag &= np.nan_to_num(near, nan=1.0) < nearest_share
    return pd.DataFrame({
        "overlap_share": np.round(share, 4),
        "overlap_neighbours": neighbours.astype(np.int64),
        "overlap_top_neighbour": pd.Series(_top_neighbour(pair_area, ids, n),
                                           dtype=object),  # None (not NaN) when none
        "nearest_share": np.round(near, 4),
        "review_flag": flag,
    })


def _nearest_share(per_station: gpd.GeoDataFrame,
                   nearest_length_m: np.ndarray | None) -> np.ndarray:
    """``nearest_length_m / reach_length_m`` per row (NaN when unknown or no reach)."""
    n = len(per_station)
    if nearest_length_m is None or "reach_length_m" not in per_station:
        return np.full(n, np.nan)
    near = np.asarray(nearest_length_m, dtype=float)
    if near.shape != (n,):
        raise InvalidParameterError(
            f"nearest_length_m has {near.size} values for {n} stations: give one per row")
    reach = per_station["reach_length_m"].to_numpy(dtype=float)
    out = np.full(n, np.nan)
    np.divide(near, reach, out=out, where=reach > 0)
    return np.minimum(out, 1.0)


def _empty_overlap() -> pd.DataFrame:
    return pd.DataFrame({"overlap_share": pd.Series([], dtype=float),
                         "overlap_neighbours": pd.Series([], dtype=np.int64),
                         "overlap_top_neighbour": pd.Series([], dtype=object),
                         "nearest_share": pd.Series([], dtype=float),
                         "review_flag": pd.Series([], dtype=bool)})


def _tiles(bounds: np.ndarray, tile_m: float) -> Iterator[shapely.Polygon]:
    """Square tiles of ``tile_m`` over ``bounds`` (the last row / column clipped)."""
    x0, y0, x1, y1 = bounds
    nx = max(int(np.ceil((x1 - x0) / tile_m)), 1)
    ny = max(int(np.ceil((y1 - y0) / tile_m)), 1)
    for ix in range(nx):
        for iy in range(ny):
            yield shapely.box(x0 + ix * tile_m, y0 + iy * tile_m,
                              min(x0 + (ix + 1) * tile_m, x1), min(y0 + (iy + 1) * tile_m, y1))


def _overlapped_area(geoms: np.ndarray, tree: shapely.STRtree, neighbours: np.ndarray,
                     bounds: np.ndarray, tile_m: float) -> tuple[np.ndarray, PairArea]:
    """Per polygon, the area other polygons also cover; and that area by pair."""
    n = len(geoms)
    overlapped = np.zeros(n)
    pair_area: PairArea = {}
    boundaries = shapely.boundary(geoms)
    for tile in _tiles(bounds, tile_m):
        cand = tree.query(tile, predicate="intersects")
        cand = cand[neighbours[cand] > 0]
        if cand.size < 2:
            continue
        lines = shapely.intersection(boundaries[cand], tile)
        noded = shapely.union_all(np.append(lines, shapely.boundary(tile)))
        faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
        if faces.size == 0:
            continue
        fi, pi = tree.query(shapely.point_on_surface(faces), predicate="within")
        count = np.bincount(fi, minlength=faces.size)
        face_area = shapely.area(faces)
        multi = count[fi] >= 2  # faces under two polygons or more
        fi, pi = fi[multi], pi[multi]
        overlapped += np.bincount(pi, weights=face_area[fi], minlength=n)
        if fi.size:
            _add_pair_areas(pair_area, fi, pi, face_area)
    return overlapped, pair_area


def _add_pair_areas(pair_area: PairArea, fi: np.ndarray, pi: np.ndarray,
                    face_area: np.ndarray) -> None:
    """Add the area of every face to each ordered pair of polygons over it."""
    pairs = pd.DataFrame({"f": fi, "p": pi})
    pairs = pairs.merge(pairs, on="f")
    pairs = pairs.loc[pairs["p_x"] != pairs["p_y"]]
    sums = pd.Series(face_area[pairs["f"].to_numpy()]).groupby(
        [pairs["p_x"].to_numpy(), pairs["p_y"].to_numpy()]).sum()
    for (i, j), v in sums.items():
        key = (int(i), int(j))
        pair_area[key] = pair_area.get(key, 0.0) + v


def _top_neighbour(pair_area: PairArea, ids: np.ndarray, n: int) -> np.ndarray:
    """Per polygon, the id of the other polygon sharing the largest area (or None)."""
    top = np.full(n, None, dtype=object)
    if pair_area:
        keys = np.array(list(pair_area.keys()), dtype=np.int64)
        vals = np.round(np.array(list(pair_area.values())), 3)
        order = np.lexsort((keys[:, 1], -vals, keys[:, 0]))  # largest, then lowest index
        first = order[np.r_[True, np.diff(keys[order, 0]) != 0]]
        top[keys[first, 0]] = ids[keys[first, 1]]
    return top
