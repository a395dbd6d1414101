"""Near-duplicate stations, for review: the same name within 50 m, or any two within 5 m.

Work and memory stay bounded whatever the input (16,000 rows at one point: a fraction
of a second). Rows at identical positions are collapsed to one point with a count, so
no step enumerates pairs of rows:

1. *flagged rows* (in at least one pair) come from each unique point's second-nearest
   neighbour — for the name rule in a 3-D tree where each name sits on its own level,
   farther apart than the search radius — so they are exact, in O(n log n);
2. *the pair table* lists the first ``max_pairs`` pairs by ``row_a``, ``row_b`` (found
   row by row from each unique point's neighbours; at most about ``2 × max_pairs`` rows
   are visited);
3. *the number of pairs*, when the table is capped, is counted over pairs of unique
   points weighted by their row counts (rows at one point: ``c (c − 1) / 2`` pairs at
   once), examining at most :data:`COUNT_BUDGET` neighbour entries: exact when that
   suffices, else a lower bound (:attr:`NearDuplicates.pairs_exact` False, reported as
   "≥ N pairs").
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from geo.crs import utm_crs_for
from geo.errors import InvalidParameterError
from geo.stations.cells import norm_name

NEAR_SAME_NAME_M: Final = 50.0
NEAR_ANY_M: Final = 5.0
#: Pairs listed at most (the flagged-row count stays exact beyond it).
MAX_FLAGGED_PAIRS: Final = 10_000
#: Neighbour entries (pairs of unique points) examined at most to count the pairs.
COUNT_BUDGET: Final = 2_000_000
PAIR_COLUMNS: Final[tuple[str, ...]] = (
    "row_a", "row_b", "station_id_a", "station_id_b", "name_a", "name_b", "distance_m",
    "reason", "reason_zh",
)
_NEIGHBOUR_CACHE: Final = 8      # unique points whose neighbour rows are kept while listing
_CHUNK_POINTS: Final = 4096      # unique points per neighbour query when counting
_CHUNK_ENTRIES: Final = 262_144  # neighbour entries materialised at once when counting


@dataclass(frozen=True, eq=False)
class NearDuplicates:
    """The outcome of :func:`find_near_duplicates`.

    ``pairs``: columns :data:`PAIR_COLUMNS`, sorted by ``row_a``, ``row_b``, at most
    ``max_pairs`` rows; ``total_pairs``: how many pairs exist (a lower bound when
    ``pairs_exact`` is False); ``flagged_rows``: how many rows are in at least one pair
    (always exact).
    """

    pairs: pd.DataFrame
    total_pairs: int
    flagged_rows: int
    max_pairs: int
    pairs_exact: bool = True

    @property
    def truncated(self) -> bool:
        """True when ``pairs`` lists fewer pairs than exist."""
        return self.total_pairs > len(self.pairs)

    def count_text(self) -> str:
        """``"1,234"`` or, for a lower bound, ``"≥ 1,234"``."""
        return f"{self.total_pairs:,}" if self.pairs_exact else f"≥ {self.total_pairs:,}"

    def note(self) -> str | None:
        """A sentence for the report when the pair table was capped, else None."""
        if not self.truncated:
            return None
        return (f"near-duplicates: {self.count_text()} pairs among {self.flagged_rows:,} "
                f"rows; only the first {len(self.pairs):,} pairs (by row) are listed")


@dataclass(frozen=True, eq=False)
class _Points:
    """Rows in row order, collapsed to unique positions (metres, local UTM)."""

    order: np.ndarray   # positions in the input, in row order
    rows: np.ndarray    # row numbers, ascending
    names: np.ndarray   # normalised-name codes per row
    xy: np.ndarray      # unique points (m × 2)
    point: np.ndarray   # unique point of each row
    count: np.ndarray   # rows per unique point
    # rows grouped by unique point: members[starts[p]:starts[p + 1]]
    members: np.ndarray
    starts: np.ndarray


def _points(stations: gpd.GeoDataFrame) -> _Points:
    g = stations.geometry
    cx, cy = float(np.nanmedian(g.x)), float(np.nanmedian(g.y))
    metric = g.to_crs(utm_crs_for(cx, cy))
    xy = np.column_stack([metric.x.to_numpy(), metric.y.to_numpy()])
    rows = stations["row"].to_numpy()
    order = np.argsort(rows, kind="stable")
    names = pd.factorize(np.array([norm_name(str(v)) for v in stations["name"]],
                                  dtype=object)[order])[0]
    uxy, point, count = np.unique(xy[order], axis=0, return_inverse=True,
                                  return_counts=True)
    point = point.reshape(-1)
    members = np.argsort(point, kind="stable")
    starts = np.concatenate([[0], np.cumsum(count)])
    return _Points(order=order, rows=rows[order], names=np.asarray(names), xy=uxy,
                   point=point, count=count, members=members, starts=starts)


def _name_levels(pts: _Points, radius: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unique (point, name) keys as 3-D points (each name on its own level, levels
    farther apart than ``radius``): coordinates, the key of each row, rows per key."""
    n_names = int(pts.names.max()) + 1
    keys, key_of_row, key_count = np.unique(pts.point.astype(np.int64) * n_names + pts.names,
                                            return_inverse=True, return_counts=True)
    level = 4.0 * radius + 1.0
    xyz = np.column_stack([pts.xy[keys // n_names], (keys % n_names) * level])
    return xyz, key_of_row.reshape(-1), key_count


# --------------------------------------------------------------------------- flagged rows


def _has_neighbour(tree: cKDTree, coords: np.ndarray, count: np.ndarray,
                   radius: float) -> np.ndarray:
    """Per unique point: another row at it, or another unique point within ``radius``."""
    if coords.shape[0] < 2:
        return count >= 2
    d, _i = tree.query(coords, k=2, distance_upper_bound=np.nextafter(radius, math.inf))
    return (count >= 2) | (d[:, 1] <= radius)


def _flagged(pts: _Points, tree: cKDTree, same_name_m: float, any_m: float) -> np.ndarray:
    """Which rows (in row order) are in at least one pair."""
    flagged = _has_neighbour(tree, pts.xy, pts.count, any_m)[pts.point]
    if same_name_m > any_m:
        xyz, key_of_row, key_count = _name_levels(pts, same_name_m)
        flagged |= _has_neighbour(cKDTree(xyz), xyz, key_count, same_name_m)[key_of_row]
    return flagged


# --------------------------------------------------------------------------- listing


def _first_pairs(pts: _Points, tree: cKDTree, flagged: np.ndarray, same_name_m: float,
                 any_m: float, max_pairs: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The first ``max_pairs`` pairs ``(a, b, distance)``, a < b in row order."""
    radius = max(same_name_m, any_m)

    @functools.lru_cache(maxsize=_NEIGHBOUR_CACHE)
    def near(p: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows at unique points within ``radius`` of point ``p`` (ascending), and their
        points."""
        ball = np.asarray(tree.query_ball_point(pts.xy[p], radius), dtype=np.int64)
        sizes = pts.count[ball]
        first = np.repeat(pts.starts[ball] - (np.cumsum(sizes) - sizes), sizes)
        rows = np.sort(pts.members[first + np.arange(int(sizes.sum()))])
        return rows, pts.point[rows]

    found_a: list[np.ndarray] = []
    found_b: list[np.ndarray] = []
    found_d: list[np.ndarray] = []
    left = max_pairs
    for a in np.flatnonzero(flagged):
        if left <= 0:
            break
        p = int(pts.point[a])
        rows, points = near(p)
        start = int(np.searchsorted(rows, a, side="right"))
        b, q = rows[start:], points[start:]
        d = np.hypot(pts.xy[q, 0] - pts.xy[p, 0], pts.xy[q, 1] - pts.xy[p, 1])
        ok = (d <= any_m) | ((pts.names[b] == pts.names[a]) & (d <= same_name_m))
        b, d = b[ok][:left], d[ok][:left]
        found_a.append(np.full(b.size, a))
        found_b.append(b)
        found_d.append(d)
        left -= b.size
    if not found_a:
        return np.zeros(0, int), np.zeros(0, int), np.zeros(0)
    return np.concatenate(found_a), np.concatenate(found_b), np.concatenate(found_d)


def _pair_frame(stations: gpd.GeoDataFrame, pts: _Points, a: np.ndarray, b: np.ndarray,
                d: np.ndarray, any_m: float, same_name_m: float) -> pd.DataFrame:
    """The pair table (as the row-by-row search always built it)."""
    sid = stations["station_id"].to_numpy()[pts.order]
    nm = stations["name"].to_numpy()[pts.order]
    near_any = (f"two stations within {any_m:g} m", f"两站相距不足 {any_m:g} 米")
    same_name = (f"same name within {same_name_m:g} m", f"同名站点相距不足 {same_name_m:g} 米")
    out = []
    for i, j, dist in zip(a.tolist(), b.tolist(), d.tolist(), strict=True):
        why, why_zh = near_any if dist <= any_m else same_name
        out.append((int(pts.rows[i]), int(pts.rows[j]), sid[i], sid[j], nm[i], nm[j],
                    round(dist, 2), why, why_zh))
    df = pd.DataFrame(out, columns=list(PAIR_COLUMNS))
    return df.sort_values(["row_a", "row_b"]).reset_index(drop=True)


# --------------------------------------------------------------------------- counting


@dataclass
class _Budget:
    """Neighbour entries still allowed while counting."""

    left: int


def _ball_lengths(tree: cKDTree, coords: np.ndarray, radius: float, start: int,
                  budget: _Budget) -> tuple[np.ndarray, np.ndarray]:
    """The next points from ``start`` whose neighbour entries fit in one batch (and in the
    budget), with their neighbour counts; empty when the budget is spent."""
    idx = np.arange(start, min(start + _CHUNK_POINTS, coords.shape[0]))
    lengths = np.asarray(tree.query_ball_point(coords[idx], radius, return_length=True))
    cum = np.cumsum(lengths)
    fit = int(np.searchsorted(cum, min(budget.left, _CHUNK_ENTRIES), side="right"))
    if fit == 0 and lengths[0] <= budget.left:
        fit = 1  # one point with more neighbours than a batch, but within the budget
    return idx[:fit], lengths[:fit]


def _weighted_pairs(tree: cKDTree, coords: np.ndarray, weight: np.ndarray, radius: float,
                    above: float, budget: _Budget) -> tuple[int, bool]:
    """Row pairs between distinct unique points ``i < j`` with ``above < d <= radius``
    (each pair of points stands for ``weight[i] * weight[j]`` row pairs); False when the
    budget ran out first (the count is then a lower bound)."""
    total, start = 0, 0
    while start < coords.shape[0]:
        idx, lengths = _ball_lengths(tree, coords, radius, start, budget)
        if idx.size == 0:
            return total, False
        balls = tree.query_ball_point(coords[idx], radius)
        j = np.fromiter(itertools.chain.from_iterable(balls), dtype=np.int64,
                        count=int(lengths.sum()))
        i = np.repeat(idx, lengths)
        keep = j > i
        if above >= 0:
            keep &= np.linalg.norm(coords[j] - coords[i], axis=1) > above
        total += int((weight[i[keep]] * weight[j[keep]]).sum())
        budget.left -= int(lengths.sum())
        start = int(idx[-1]) + 1
    return total, True


def _count_pairs(pts: _Points, tree: cKDTree, same_name_m: float,
                 any_m: float) -> tuple[int, bool]:
    """All pairs (rows at one point: ``c (c − 1) / 2`` each, then pairs of points), and
    whether the count is exact."""
    count = pts.count.astype(np.int64)
    total = int((count * (count - 1) // 2).sum())
    budget = _Budget(COUNT_BUDGET)
    between, exact = _weighted_pairs(tree, pts.xy, count, any_m, -1.0, budget)
    total += between
    if exact and same_name_m > any_m:
        xyz, _key_of_row, key_count = _name_levels(pts, same_name_m)
        named, exact = _weighted_pairs(cKDTree(xyz), xyz, key_count.astype(np.int64),
                                       same_name_m, any_m, budget)
        total += named
    return total, exact


# --------------------------------------------------------------------------- public


def _check_limits(same_name_m: float, any_m: float, max_pairs: int) -> None:
    for what, value in (("same_name_m", same_name_m), ("any_m", any_m)):
        if (isinstance(value, bool) or not isinstance(value, int | float)
                or not math.isfinite(value) or value < 0):
            raise InvalidParameterError(f"{what} must be metres ≥ 0, got {value!r}")
    if isinstance(max_pairs, bool) or not isinstance(max_pairs, int) or max_pairs < 0:
        raise InvalidParameterError(f"max_pairs must be a whole number ≥ 0, got {max_pairs!r}")


def find_near_duplicates(stations: gpd.GeoDataFrame, *, same_name_m: float = NEAR_SAME_NAME_M,
                         any_m: float = NEAR_ANY_M,
                         max_pairs: int = MAX_FLAGGED_PAIRS) -> NearDuplicates:
    """Pairs of stations to review: same name within ``same_name_m`` or any two within
    ``any_m`` (metres, measured in the local UTM zone); the first ``max_pairs`` listed,
    all counted (see the module docstring). Needs ``row``, ``station_id``, ``name`` and
    EPSG:4326 points."""
    _check_limits(same_name_m, any_m, max_pairs)
    if len(stations) < 2:
        return NearDuplicates(pairs=pd.DataFrame(columns=list(PAIR_COLUMNS)), total_pairs=0,
                              flagged_rows=0, max_pairs=max_pairs)
    pts = _points(stations)
    tree = cKDTree(pts.xy)
    flagged = _flagged(pts, tree, same_name_m, any_m)
    a, b, d = _first_pairs(pts, tree, flagged, same_name_m, any_m, max_pairs)
    total, exact = len(a), True
    if len(a) >= max_pairs and flagged.any():  # capped: count them all
        total, exact = _count_pairs(pts, tree, same_name_m, any_m)
        total = max(total, len(a))
    return NearDuplicates(pairs=_pair_frame(stations, pts, a, b, d, any_m, same_name_m),
                          total_pairs=total, flagged_rows=int(flagged.sum()),
                          max_pairs=max_pairs, pairs_exact=exact)


def near_duplicates(stations: gpd.GeoDataFrame, *, same_name_m: float = NEAR_SAME_NAME_M,
                    any_m: float = NEAR_ANY_M,
                    max_pairs: int = MAX_FLAGGED_PAIRS) -> pd.DataFrame:
    """The pair table of :func:`find_near_duplicates` (at most ``max_pairs`` rows)."""
    return find_near_duplicates(stations, same_name_m=same_name_m, any_m=any_m,
                                max_pairs=max_pairs).pairs


__all__ = ["COUNT_BUDGET", "MAX_FLAGGED_PAIRS", "NEAR_ANY_M", "NEAR_SAME_NAME_M",
           "PAIR_COLUMNS", "NearDuplicates", "find_near_duplicates", "near_duplicates"]
