"""Network coverage: distance from every street point to its nearest station.

One multi-source Dijkstra (scipy ``csgraph``, ``min_only=True``, cut off at the walk
budget; :mod:`geo.coverage.search`) gives every node its distance to the nearest
station and which station it is; stations sit *inside* edges as virtual sources, and
a sparse run searches only the sub-graph its stations can reach. The pass then builds
the segments of the reached edges only; the whole table is built on first use.

Partial edges count: an edge reached with remaining budgets ``r_u``, ``r_v`` is
covered for ``min(L, r_u + r_v)`` — the union of ``min(L, r_u)`` from ``u`` and
``min(L, r_v)`` from ``v`` — and an edge carrying a station is split at the station
(see :mod:`geo.coverage.segments`).

**By car** (``params.mode == "drive"``, a network prepared for drive) the cost is
seconds (:mod:`geo.coverage.cost`): a street point is covered when a car starting there
reaches a station within ``params.budget_s``, one-way streets respected. The node
figures are each node's time *to* its nearest station (a search from the stations on
the reversed directed graph), the segment table carries each edge's seconds per metre
and ``inf`` at the end a point may not drive to, and a remaining time ``r`` covers
``r / k`` metres. ``node_dist_m`` then holds seconds (:attr:`Coverage.cost_unit`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.coverage.cost import StreetCost, street_cost
from geo.coverage.search import nearest_source_search
from geo.coverage.segments import (
    SEGMENT_COLUMNS,
    SLOPE_COLUMN,
    covered_length,
    covered_pieces,
    segment_arrays,
)
from geo.coverage.snap import STATUS_USED, snap_stations
from geo.errors import InvalidParameterError, NoStationsOnNetworkError
from geo.network.model import WalkNetwork
from geo.network.modes import check_network_mode, mode_of_filter
from geo.network.travel import TravelGraph
from geo.params import CoverageParams


class LazySegments(Mapping[str, np.ndarray]):
    """The whole segment table, built on first access; :attr:`reached` is the part with a
    finite distance (every edge with a reached end or a station), built by the pass.

    The whole table only adds edges beyond the budget at both ends (distance ``inf``,
    no source): what street statistics over *all* streets need (percentiles, towns),
    never what covered length or covered pieces need.
    """

    def __init__(self, reached: dict[str, np.ndarray], network: WalkNetwork,
                 node_dist: np.ndarray, node_source: np.ndarray, src_edge: np.ndarray,
                 src_offset: np.ndarray, cost: StreetCost | None = None) -> None:
        self.reached = reached
        self._args = (network, node_dist, node_source, src_edge, src_offset)
        self._cost = cost if cost is not None and cost.slope is not None else None
        self._keys = SEGMENT_COLUMNS if self._cost is None else (*SEGMENT_COLUMNS,
                                                                  SLOPE_COLUMN)
        self._full: dict[str, np.ndarray] | None = None

    def _table(self) -> dict[str, np.ndarray]:
        if self._full is None:
            net, dist, src, src_edge, src_off = self._args
            c = self._cost
            self._full = segment_arrays(
                net.edge_u, net.edge_v, net.length_m, dist, src, src_edge, src_off,
                **({} if c is None else {"slope": c.slope, "forward": c.forward,
                                         "backward": c.backward}))
        return self._full

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._keys:
            raise KeyError(key)
        return self._table()[key]

    def __contains__(self, key: object) -> bool:
        return key in self._keys  # without building the table

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


@dataclass(frozen=True, eq=False)
class Coverage:
    """The result of :func:`compute_coverage` (read-only).

    ``stations`` is every input station, snapped, in the network CRS, with
    ``status`` and — for used stations — ``source`` (0…S-1, the index used in the
    node/segment tables). ``segment_arrays`` is the :mod:`geo.coverage.segments` table
    with the nearest source at both ends (a :class:`LazySegments` from
    :func:`compute_coverage`: built in full on first access); :attr:`reached_segments`
    is its part with a finite distance, all that covered length and pieces need.

    Distances are in :attr:`cost_unit`: metres on foot / e-bike, seconds by car
    (``node_dist_m`` keeps its name; the segment table then has a ``k`` column, see
    :mod:`geo.coverage.segments`). Use :attr:`cost_budget` with the segment functions
    and :meth:`cost_to_minutes` for times; covered lengths and pieces are metres in
    every mode. ``cost``: the run's :class:`~geo.coverage.cost.StreetCost` (``None``:
    the metric one of ``params``, walk / e-bike only).
    """

    params: CoverageParams
    network: WalkNetwork
    stations: gpd.GeoDataFrame
    node_dist_m: np.ndarray
    node_source: np.ndarray
    segment_arrays: Mapping[str, np.ndarray]
    timings_s: dict[str, float] = field(default_factory=dict)
    cost: StreetCost | None = None

    @cached_property
    def street_cost(self) -> StreetCost:
        """The cost model of the run (:mod:`geo.coverage.cost`)."""
        if self.cost is not None:
            return self.cost
        if self.params.mode == "drive":
            raise InvalidParameterError(
                "a drive Coverage needs its StreetCost: build it with compute_coverage")
        return street_cost(self.network, self.params)

    @property
    def cost_unit(self) -> str:
        """``"m"`` (walk / e-bike) or ``"s"`` (drive): the unit of ``node_dist_m``, the
        segment distances and :attr:`cost_budget`."""
        return self.params.cost_unit

    @property
    def cost_budget(self) -> float:
        """The budget in :attr:`cost_unit` (``params.budget_m`` or ``params.budget_s``)."""
        return self.params.budget_cost

    def cost_to_minutes(self, cost: np.ndarray) -> np.ndarray:
        """Minutes of trips costing ``cost`` (:attr:`cost_unit`); ``inf`` stays ``inf``."""
        return np.asarray(self.params.cost_to_minutes(np.asarray(cost, dtype=float)))

    @cached_property
    def segments(self) -> pd.DataFrame:
        """The segment table as a DataFrame (built on first use)."""
        return pd.DataFrame(dict(self.segment_arrays))

    @property
    def reached_segments(self) -> Mapping[str, np.ndarray]:
        """The segments with a finite distance at an end (or all, for a plain table)."""
        seg = self.segment_arrays
        return seg.reached if isinstance(seg, LazySegments) else seg

    @cached_property
    def used(self) -> gpd.GeoDataFrame:
        """Used (on-network) stations, ordered by ``source``."""
        st = self.stations
        return st.loc[st["status"] == STATUS_USED].sort_values("source")

    @property
    def n_sources(self) -> int:
        return int((self.stations["status"] == STATUS_USED).sum())

    @cached_property
    def segment_covered_m(self) -> np.ndarray:
        return covered_length(self.reached_segments, self.cost_budget)

    @cached_property
    def edge_covered_m(self) -> np.ndarray:
        """Covered metres per edge."""
        return np.bincount(self.reached_segments["edge"], weights=self.segment_covered_m,
                           minlength=self.network.n_edges)

    @property
    def covered_length_m(self) -> float:
        return float(self.segment_covered_m.sum())

    @property
    def total_length_m(self) -> float:
        return self.network.total_length_m

    @cached_property
    def pieces(self) -> pd.DataFrame:
        """Covered stretches ``edge, x0, x1, source`` labelled by nearest station."""
        return covered_pieces(self.reached_segments, self.cost_budget)

    @cached_property
    def merged_pieces(self) -> pd.DataFrame:
        """Covered stretches for polygon building: a segment covered end to end is one
        piece whatever its sources (labels are not meaningful here)."""
        return covered_pieces(self.reached_segments, self.cost_budget, merge="any")

    def node_walk_time_min(self) -> np.ndarray:
        """Travel time (minutes) from each node to its nearest station in the run's mode
        (walk, ride or drive; the name predates modes); ``inf`` beyond the budget."""
        return self.cost_to_minutes(self.node_dist_m)

    def station_table(self) -> pd.DataFrame:
        """Per station: snapping, status and the street length it is nearest to."""
        st = self.stations
        nearest_m = np.zeros(len(st))
        src = st["source"].to_numpy()
        used = src >= 0
        if used.any():
            p = self.pieces
            by_src = np.bincount(p["source"].to_numpy(),
                                 weights=(p["x1"] - p["x0"]).to_numpy(),
                                 minlength=self.n_sources)
            nearest_m[used] = by_src[src[used]]
        cols = [c for c in ("station_id", "name", "type", "address", "city", "district")
                if c in st.columns]
        out = pd.DataFrame(st[cols]).copy()
        out["status"] = st["status"].to_numpy()
        out["status_reason"] = st["status_reason"].to_numpy()
        out["snap_dist_m"] = st["snap_dist_m"].round(1).to_numpy()
        out["nearest_covered_length_m"] = np.round(nearest_m, 1)
        return out


def compute_coverage(network: WalkNetwork, stations: gpd.GeoDataFrame, *,
                     params: CoverageParams | None = None,
                     travel: TravelGraph | None = None) -> Coverage:
    """Compute network coverage of ``stations`` (a GeoDataFrame in ``network.crs``).

    Stations are snapped to the nearest edge point; those farther than
    ``params.max_snap_m`` are off-network and excluded. Raises
    :class:`NoStationsOnNetworkError` when none is on the network. With
    ``params.mode == "drive"`` the network must have been prepared for drive; ``travel``
    (its :func:`~geo.network.travel.travel_graph`, optional) saves building it again.
    """
    params = params or CoverageParams()
    _check_mode(network, params)
    t_prep = time.perf_counter()
    # built once per network (cached on it), not part of the pass: the incidence, and
    # the node grid and length bound of the sparse search
    _ = network.node_edges, network.node_grid, network.min_length_ratio
    cost = street_cost(network, params, travel=travel)  # the walk CSR, or the drive times
    t0 = time.perf_counter()
    snapped = snap_stations(network, stations, max_snap_m=params.max_snap_m,
                            street=_STREET_WORD[params.mode])
    used = (snapped["status"] == STATUS_USED).to_numpy()
    if not used.any():
        raise _no_station_error(len(snapped), params)
    source = np.full(len(snapped), -1, dtype=np.int64)
    source[used] = np.arange(int(used.sum()))
    snapped["source"] = source
    src_edge = snapped["snap_edge"].to_numpy(dtype=np.int64)[used]
    src_off = snapped["snap_offset_m"].to_numpy(dtype=float)[used]
    t1 = time.perf_counter()
    if cost.slope is None:
        dist, src, reached = nearest_source_search(network, src_edge, src_off,
                                                   budget_m=params.budget_m)
        near = segment_arrays(network.edge_u, network.edge_v, network.length_m, dist, src,
                              src_edge, src_off, edges=network.edges_at(reached))
    else:
        dist, src, reached = nearest_source_search(network, src_edge, src_off, cost=cost)
        near = segment_arrays(network.edge_u, network.edge_v, network.length_m, dist, src,
                              src_edge, src_off, edges=network.edges_at(reached),
                              slope=cost.slope, forward=cost.forward,
                              backward=cost.backward)
    segments = LazySegments(near, network, dist, src, src_edge, src_off, cost)
    cov = Coverage(params=params, network=network, stations=snapped, node_dist_m=dist,
                   node_source=src, segment_arrays=segments,
                   timings_s={"network_graph": t0 - t_prep, "snap": t1 - t0}, cost=cost)
    _ = cov.segment_covered_m  # the covered length with partial edges: part of the pass
    cov.timings_s["coverage"] = time.perf_counter() - t1
    return cov


#: How a station's snapping reason names the streets of each mode's network.
_STREET_WORD: Final[dict[str, str]] = {"walk": "walkable", "ebike": "rideable",
                                       "drive": "drivable"}


def _no_station_error(n: int, params: CoverageParams) -> NoStationsOnNetworkError:
    snap = params.max_snap_m
    if params.mode == "walk":
        return NoStationsOnNetworkError(
            f"none of the {n} stations is within max_snap_m={snap:g} m "
            "of a walkable street: check the coordinate system (WGS-84 expected) and that the "
            "network covers the stations' area",
            zh=f"{n} 个站点均不在步行路网 {snap:g} 米范围内："
               "请确认已加载这些站点所在城市的路网，并核对坐标系。",
        )
    what = _STREET_WORD[params.mode]
    what_zh = {"ebike": "电动自行车路网", "drive": "驾车路网"}[params.mode]
    return NoStationsOnNetworkError(
        f"none of the {n} stations is within max_snap_m={snap:g} m of a {what} street: "
        "check the coordinate system (WGS-84 expected) and that the network covers the "
        "stations' area",
        zh=f"{n} 个站点均不在{what_zh} {snap:g} 米范围内：请确认已加载这些站点所在城市的路网，"
           "并核对坐标系。",
    )


def _check_mode(network: WalkNetwork, params: CoverageParams) -> None:
    """The network must have been filtered for ``params.mode``; by car, for drive (its
    one-way and speed tags are kept only then)."""
    check_network_mode(network.filter_report.version, params.mode)
    if params.mode != "drive":
        return
    try:
        filtered = mode_of_filter(network.filter_report.version)
    except InvalidParameterError:
        filtered = None
    if filtered != "drive":
        raise InvalidParameterError(
            f"coverage by car needs a network prepared for drive (filter "
            f"{network.filter_report.version!r} has no one-way or speed model): load it "
            "with mode='drive' (geo.network.loaders.load_network / prepare_network)",
            zh="驾车覆盖需要按驾车方式准备的路网：请以 mode='drive' 重新加载路网。")


def coverage_summary(cov: Coverage) -> dict[str, Any]:
    """Headline figures of a coverage run."""
    total = cov.total_length_m
    return {
        "covered_length_m": round(cov.covered_length_m, 1),
        "total_length_m": round(total, 1),
        "covered_length_share": round(cov.covered_length_m / total, 6) if total else None,
    }
