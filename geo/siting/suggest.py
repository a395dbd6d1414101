"""Where to add stations: coverage-maximising site suggestions (maximal covering location).

The existing stations stay fixed. From a set of candidate sites, :func:`suggest_sites`
picks up to ``k`` sites that together *newly* cover the most demand within the walk
budget (the maximal covering location problem, MCLP).

Demand
    ``street_length`` — every metre of walkable street counts 1 (the whole network);
    ``population`` — every town's population spread over its streets in proportion to
    street length (density = population / street length of the town; edges crossing a
    town boundary are weighted per part, as :func:`geo.coverage.towns.edge_parts` cuts them).
    ``auto`` uses population when towns are given and every town has one (the rule of
    :func:`geo.coverage.towns.town_report`), else street length.

Exact coverage of a set
    A street point is covered by a set of stations iff *some* station is within the
    budget, so the covered set is the union of every station's covered intervals. A
    candidate's intervals on each edge come from its own reach (:mod:`geo.coverage.reach`): on
    an edge ``(u, v, L)`` not carrying it, ``[0, min(L, B − d(u))] ∪ [L − min(L,
    B − d(v)), L]``; on its own edge the same per half. The existing stations' covered
    intervals come from the coverage pass. Every edge is cut at all interval and town
    endpoints into *elements*; each element is wholly covered or not by each candidate
    and by the existing stations, and carries the weight ``length × density``. The
    marginal gain of a candidate is the weight of its elements not covered yet — exact,
    so greedy and ILP gains are comparable and equal the difference of two
    :func:`~geo.coverage.core.compute_coverage` runs (see :func:`covered_demand`).

Methods
    ``greedy`` — lazy greedy (CELF): all candidates are evaluated once, then the best
    upper bound is re-evaluated against the current coverage and accepted when it is
    still the best. The objective is monotone submodular, so the result is within
    ``1 − 1/e`` (≈ 63 %) of the optimum; a data-dependent bound on the optimum
    (``optimum_upper_bound``) is reported too, usually much tighter.
    ``ilp`` — the exact integer programme: ``max Σ w_j y_j`` s.t. ``Σ x_c ≤ k``,
    ``y_j ≤ Σ_{c covers j} x_c``, ``x`` binary, ``0 ≤ y ≤ 1``, over the elements not
    covered by the existing stations (elements with the same covering candidates are
    merged). Solved with CBC (``pulp.PULP_CBC_CMD``, bundled, the default) or HiGHS
    (``pulp.HiGHS``) to a relative gap of 1e-9; meant for small instances (limits:
    :data:`ILP_MAX_CANDIDATES`, :data:`ILP_MAX_ROWS`).

Default candidates are network nodes none of whose streets is a motorway or trunk
road, farther than ``min_distance_m`` (straight line, default 300 m) from every
existing station on the network; above ``max_candidates`` a deterministic random
sample (``seed``) is kept. A user list of points is snapped like stations (farther
than ``max_snap_m`` from a street: rejected with the reason).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import heapq
import json
import math
import os
import time
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.coverage.core import Coverage, compute_coverage
from geo.coverage.reach import DEFAULT_CELL_M, station_reach, station_segments
from geo.coverage.segments import clip_segments, covered_length, covered_pieces
from geo.coverage.snap import STATUS_USED, snap_points
from geo.crs import WGS84
from geo.errors import InvalidParameterError, StationDataError
from geo.network.model import WalkNetwork
from geo.params import CoverageParams

METHODS: Final = ("greedy", "ilp")
SOLVERS: Final = ("highs", "cbc")
DEMAND_BASES: Final = ("auto", "population", "street_length")
DEFAULT_K: Final = 10
MAX_K: Final = 1000
DEFAULT_MIN_DISTANCE_M: Final = 300.0
DEFAULT_MAX_CANDIDATES: Final = 20_000
DEFAULT_ILP_TIME_LIMIT_S: Final = 120.0
#: Largest ILP accepted: candidates with a positive gain, and merged demand rows.
ILP_MAX_CANDIDATES: Final = 5_000
ILP_MAX_ROWS: Final = 60_000
#: Streets on which no site is suggested (a node touching one is not a default candidate).
EXCLUDED_HIGHWAY: Final = frozenset({"motorway", "motorway_link", "trunk", "trunk_link"})
SOURCE_NODES: Final = "network_nodes"
SOURCE_INPUT: Final = "input"
GUARANTEE: Final = 1.0 - 1.0 / math.e
_TOL_M: Final = 1e-7  # interval endpoints closer than this (metres) are one breakpoint
_MIN_GAIN: Final = 1e-9  # a candidate adding less demand than this adds nothing
_CHUNK: Final = 4096  # candidates per reach pass (bounds memory)
_ILP_GAP: Final = 1e-9  # relative MIP gap: solved to optimality, not to the solvers' 1e-4


# ------------------------------------------------------------------------------ demand


@dataclass(frozen=True, eq=False)
class Demand:
    """The demand model: what one covered street metre is worth.

    ``parts`` (population basis only) holds the pieces of edges inside towns:
    ``part`` (town index), ``edge``, ``p``, ``q`` (metres along the edge) and
    ``density`` (people per street metre of that town). ``towns`` (network CRS) is
    kept for labelling sites even on the street-length basis.
    """

    basis: str  # "population" | "street_length"
    total: float  # all demand: people (towns with streets) or street metres
    unit: str  # "people" | "m"
    towns: gpd.GeoDataFrame | None = None
    parts: pd.DataFrame | None = None
    note: str = ""


def build_demand(network: WalkNetwork, towns: gpd.GeoDataFrame | None = None, *,
                 basis: str = "auto") -> Demand:
    """The demand model of ``network`` (``towns``: polygons with ``population``, any CRS).

    ``basis``: ``"auto"`` (population when every town has one), ``"population"`` or
    ``"street_length"``.
    """
    if basis not in DEMAND_BASES:
        raise InvalidParameterError(f"demand basis must be one of {DEMAND_BASES}, got {basis!r}")
    t = None
    if towns is not None and len(towns):
        if towns.crs is None:
            raise InvalidParameterError("the town layer has no CRS: declare it (WGS-84)")
        t = towns.to_crs(network.crs).reset_index(drop=True)
    pop = (pd.to_numeric(t["population"], errors="coerce").to_numpy(dtype=float)
           if t is not None and "population" in t.columns else None)
    has_pop = pop is not None and bool(np.isfinite(pop).all())
    if basis == "population" and not has_pop:
        raise InvalidParameterError(
            "demand basis 'population' needs towns with a population for every town: "
            "give --towns with a population column, or use the street-length basis")
    if basis == "street_length" or (basis == "auto" and not has_pop):
        note = ("" if t is None or basis == "street_length"
                else "population is missing for some towns: demand is street length")
        return Demand(basis="street_length", total=network.total_length_m, unit="m",
                      towns=t, note=note)
    assert t is not None and pop is not None
    from geo.coverage.towns import edge_parts

    parts = edge_parts(network, t.geometry.to_numpy())
    part = parts["part"].to_numpy(dtype=np.int64)
    street = np.bincount(part, weights=(parts["q"] - parts["p"]).to_numpy(), minlength=len(t))
    density = np.divide(pop, street, out=np.zeros(len(t)), where=street > 0)
    parts = parts.assign(part=part, density=density[part])
    note = ""
    if (street <= 0).any():
        note = (f"{int((street <= 0).sum())} town(s) without walkable streets: their "
                "population cannot be reached on foot and is left out")
    return Demand(basis="population", total=float(pop[street > 0].sum()), unit="people",
                  towns=t, parts=parts, note=note)


def covered_demand(cov: Coverage, demand: Demand) -> float:
    """Demand covered by a coverage run (street metres, or people spread over streets)."""
    if demand.basis == "street_length":
        return cov.covered_length_m
    assert demand.parts is not None
    parts = demand.parts
    clipped = clip_segments(cov.segments, parts[["part", "edge", "p", "q"]])
    if clipped.empty:
        return 0.0
    dens = np.zeros(int(parts["part"].max()) + 1 if len(parts) else 1)
    dens[parts["part"].to_numpy()] = parts["density"].to_numpy()
    return float(np.sum(covered_length(clipped, cov.params.budget_m)
                        * dens[clipped["part"].to_numpy(dtype=np.int64)]))


# -------------------------------------------------------------------------- candidates


@dataclass(frozen=True, eq=False)
class Candidates:
    """Candidate sites, snapped to the network (network CRS).

    ``sites`` columns: ``candidate_id``, ``name``, ``source`` (``network_nodes`` /
    ``input``), ``node_id`` (network nodes only), ``snap_edge``, ``snap_offset_m``,
    ``snap_dist_m`` and the point geometry. ``rejected``: ``candidate_id``, ``reason``.
    """

    sites: gpd.GeoDataFrame
    rejected: pd.DataFrame
    source: str
    eligible: int  # before the max_candidates cap
    settings: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.sites)


def _excluded_edges(network: WalkNetwork) -> np.ndarray:
    hw = network.edge_attrs["highway"] if "highway" in network.edge_attrs.columns else None
    if hw is None:
        return np.zeros(network.n_edges, dtype=bool)
    codes, uniques = pd.factorize(hw.astype(object), use_na_sentinel=True)
    bad = np.array([any(p.strip().lower() in EXCLUDED_HIGHWAY for p in str(u).split(";"))
                    for u in uniques] + [False], dtype=bool)
    return bad[codes]  # the sentinel -1 picks the trailing False


def _empty_rejected() -> pd.DataFrame:
    return pd.DataFrame({"candidate_id": pd.Series([], dtype=object),
                         "reason": pd.Series([], dtype=object)})


def network_candidates(network: WalkNetwork, existing_xy: np.ndarray | None = None, *,
                       min_distance_m: float = DEFAULT_MIN_DISTANCE_M,
                       max_candidates: int = DEFAULT_MAX_CANDIDATES,
                       seed: int = 0) -> Candidates:
    """Default candidates: network nodes off motorways / trunk roads and farther than
    ``min_distance_m`` (straight line) from every point of ``existing_xy`` (n × 2,
    network CRS); a deterministic random sample of ``max_candidates`` above that."""
    if not (np.isfinite(min_distance_m) and 0 <= min_distance_m <= 50_000):
        raise InvalidParameterError(
            f"min_distance_m={min_distance_m!r} is outside [0, 50000] m; e.g. 300")
    if int(max_candidates) < 1:
        raise InvalidParameterError(f"max_candidates must be ≥ 1, got {max_candidates!r}")
    excl = _excluded_edges(network)
    ok = np.ones(network.n_nodes, dtype=bool)
    ok[network.edge_u[excl]] = False
    ok[network.edge_v[excl]] = False
    idx = np.flatnonzero(ok)
    if existing_xy is not None and len(existing_xy) and min_distance_m > 0 and idx.size:
        from scipy.spatial import cKDTree

        tree = cKDTree(np.asarray(existing_xy, dtype=float).reshape(-1, 2))
        d, _ = tree.query(np.column_stack([network.node_x[idx], network.node_y[idx]]),
                          distance_upper_bound=min_distance_m)
        idx = idx[~np.isfinite(d)]  # nothing within min_distance_m
    eligible = int(idx.size)
    if idx.size > max_candidates:
        rng = np.random.default_rng(seed)
        idx = np.sort(rng.choice(idx, size=int(max_candidates), replace=False))
    pts = shapely.points(network.node_x[idx], network.node_y[idx])
    snap = snap_points(network, pts)
    ids = np.asarray(network.node_id[idx])
    sites = gpd.GeoDataFrame({
        "candidate_id": pd.array([f"N{i}" for i in ids], dtype=object),
        "name": pd.array([None] * idx.size, dtype=object),
        "source": SOURCE_NODES,
        "node_id": ids.astype(np.int64),
        "snap_edge": snap["edge"], "snap_offset_m": snap["offset_m"],
        "snap_dist_m": snap["snap_dist_m"],
    }, geometry=pts, crs=network.crs)
    return Candidates(sites=sites, rejected=_empty_rejected(), source=SOURCE_NODES,
                      eligible=eligible,
                      settings={"min_distance_m": float(min_distance_m),
                                "max_candidates": int(max_candidates), "seed": int(seed),
                                "excluded_highway": sorted(EXCLUDED_HIGHWAY)})


def point_candidates(network: WalkNetwork, points: gpd.GeoDataFrame, *,
                     max_snap_m: float, id_column: str = "candidate_id") -> Candidates:
    """A user list of candidate points (any CRS) snapped to the network.

    Rows without a point geometry, with a duplicate id or farther than ``max_snap_m``
    from every walkable street are rejected with the reason. Without ``id_column`` the
    ids are ``C1, C2, …``.
    """
    if points.crs is None:
        raise InvalidParameterError("the candidate layer has no CRS: declare it (WGS-84)")
    p = points.to_crs(network.crs).reset_index(drop=True)
    n = len(p)
    if id_column in p.columns:
        ids = [None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
               for v in p[id_column]]
    else:
        ids = [f"C{i + 1}" for i in range(n)]
    names = list(p["name"]) if "name" in p.columns else [None] * n
    geoms = p.geometry.to_numpy()
    reason: list[str | None] = [None] * n
    seen: set[str] = set()
    for i, g in enumerate(geoms):
        if ids[i] is None:
            ids[i] = f"C{i + 1}"
        if ids[i] in seen:
            reason[i] = f"duplicate candidate id {ids[i]!r}"
        elif g is None or shapely.is_empty(g) or g.geom_type != "Point":
            reason[i] = "no point geometry"
        seen.add(ids[i])
    is_pt = np.array([r is None for r in reason], dtype=bool)
    snap = {"edge": np.full(n, -1, dtype=np.int64), "offset_m": np.full(n, np.nan),
            "snap_dist_m": np.full(n, np.inf)}
    if is_pt.any():
        s = snap_points(network, geoms[is_pt])
        for key in snap:
            snap[key][is_pt] = s[key]
    for i in np.flatnonzero(is_pt & ((snap["snap_dist_m"] > max_snap_m) | (snap["edge"] < 0))):
        reason[i] = (f"nearest walkable street is {snap['snap_dist_m'][i]:.0f} m away "
                     f"(> max_snap_m {max_snap_m:g} m)")
    ok = np.array([r is None for r in reason], dtype=bool)
    sites = gpd.GeoDataFrame({
        "candidate_id": pd.array([ids[i] for i in np.flatnonzero(ok)], dtype=object),
        "name": pd.array([names[i] for i in np.flatnonzero(ok)], dtype=object),
        "source": SOURCE_INPUT,
        "node_id": np.full(int(ok.sum()), -1, dtype=np.int64),
        "snap_edge": snap["edge"][ok], "snap_offset_m": snap["offset_m"][ok],
        "snap_dist_m": snap["snap_dist_m"][ok],
    }, geometry=list(geoms[ok]), crs=network.crs)
    rejected = pd.DataFrame({"candidate_id": [ids[i] for i in np.flatnonzero(~ok)],
                             "reason": [reason[i] for i in np.flatnonzero(~ok)]})
    return Candidates(sites=sites, rejected=rejected, source=SOURCE_INPUT, eligible=int(ok.sum()),
                      settings={"max_snap_m": float(max_snap_m)})


def read_candidates(network: WalkNetwork, path: str | os.PathLike[str], *,
                    max_snap_m: float) -> Candidates:
    """Read a candidate file — CSV ``candidate_id,name,lon,lat`` (WGS-84; the id is
    optional) or a point GeoJSON / GeoPackage — and snap it (:func:`point_candidates`).

    Rows rejected on reading (bad coordinates…) and on snapping are both listed in
    ``rejected``.
    """
    from geo.io.layers import read_points_layer

    table = read_points_layer(path, id_column="candidate_id", what="candidates")
    cands = point_candidates(network, table.accepted, max_snap_m=max_snap_m)
    read_rej = pd.DataFrame({"candidate_id": table.rejected["id"].to_numpy(),
                             "reason": table.rejected["reason"].to_numpy()})
    rejected = pd.concat([read_rej, cands.rejected], ignore_index=True) if len(read_rej) \
        else cands.rejected
    return dataclasses.replace(cands, rejected=rejected)


# --------------------------------------------------------------------- element problem


@dataclass(frozen=True, eq=False)
class CoverProblem:
    """The weighted set-cover structure behind both methods (read-only).

    Candidate ``c`` covers elements ``elem[ptr[c]:ptr[c + 1]]`` — only elements not
    covered by the existing stations and with street length. ``weight`` is each
    element's demand (0 where the existing stations cover it), ``length`` its street
    metres (idem).
    """

    ptr: np.ndarray
    elem: np.ndarray
    weight: np.ndarray
    length: np.ndarray

    @property
    def n_candidates(self) -> int:
        return int(self.ptr.size - 1)

    @property
    def n_incidences(self) -> int:
        return int(self.elem.size)

    def owners(self) -> np.ndarray:
        """Candidate of each incidence."""
        return np.repeat(np.arange(self.n_candidates), np.diff(self.ptr))

    def gains(self, covered: np.ndarray | None = None) -> np.ndarray:
        """Marginal demand of every candidate given extra covered elements (bool mask)."""
        w = self.weight if covered is None else np.where(covered, 0.0, self.weight)
        return np.bincount(self.owners(), weights=w[self.elem], minlength=self.n_candidates)

    def value(self, chosen: np.ndarray) -> tuple[float, float]:
        """New demand and new street metres covered by the candidate set ``chosen``."""
        mask = np.zeros(self.weight.size, dtype=bool)
        for c in np.asarray(chosen, dtype=np.int64):
            mask[self.elem[self.ptr[c]:self.ptr[c + 1]]] = True
        return float(self.weight[mask].sum()), float(self.length[mask].sum())


def _expand_ranges(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(owner, index)`` for every integer of every range ``[lo[i], hi[i])``."""
    counts = np.maximum(hi - lo, 0)
    owner = np.repeat(np.arange(lo.size), counts)
    start = np.cumsum(counts) - counts
    index = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(start - lo, counts)
    return owner, index


def _breakpoints(length_m: np.ndarray, e: np.ndarray,
                 x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut every edge at the positions ``x`` on edges ``e`` (endpoints within
    :data:`_TOL_M` are merged; positions within it of an edge end snap to the end).

    Returns ``bp_x`` (all breakpoints, edge after edge, each edge from 0 to L),
    ``ptr`` (edge ``i``'s breakpoints are ``ptr[i]:ptr[i + 1]``) and the breakpoint
    index of every input position.
    """
    n_edges = length_m.size
    at0 = x <= _TOL_M
    at_l = ~at0 & (x >= length_m[e] - _TOL_M)
    inner = ~(at0 | at_l)
    ie, ix = e[inner], x[inner]
    order = np.lexsort((ix, ie))
    se, sx = ie[order], ix[order]
    new = np.ones(se.size, dtype=bool)
    new[1:] = (se[1:] != se[:-1]) | (sx[1:] - sx[:-1] > _TOL_M)
    uid = np.cumsum(new) - 1
    ue, ux = se[new], sx[new]
    n_inner = np.bincount(ue, minlength=n_edges)
    ptr = np.zeros(n_edges + 1, dtype=np.int64)
    ptr[1:] = np.cumsum(n_inner + 2)
    first_u = np.cumsum(n_inner) - n_inner
    upos = ptr[ue] + 1 + (np.arange(ue.size) - first_u[ue])
    bp_x = np.empty(int(ptr[-1]))
    bp_x[ptr[:-1]] = 0.0
    bp_x[ptr[1:] - 1] = length_m
    bp_x[upos] = ux
    idx = np.empty(e.size, dtype=np.int64)
    idx[at0] = ptr[e[at0]]
    idx[at_l] = ptr[e[at_l] + 1] - 1
    inner_idx = np.empty(ie.size, dtype=np.int64)
    inner_idx[order] = upos[uid]
    idx[inner] = inner_idx
    return bp_x, ptr, idx


def _segment_intervals(seg: pd.DataFrame, budget_m: float) -> tuple[np.ndarray, ...]:
    """The covered intervals ``(source, edge, a, b)`` of one source's segments."""
    x0 = seg["x0"].to_numpy()
    x1 = seg["x1"].to_numpy()
    length = x1 - x0
    r0 = np.clip(budget_m - seg["d0"].to_numpy(), 0.0, None)
    r1 = np.clip(budget_m - seg["d1"].to_numpy(), 0.0, None)
    whole = r0 + r1 >= length
    src = seg["source"].to_numpy()
    edge = seg["edge"].to_numpy()
    a_end = np.where(whole, x1, x0 + np.minimum(r0, length))
    k1 = a_end - x0 > _TOL_M
    b_start = x1 - np.minimum(r1, length)
    k2 = ~whole & (r1 > _TOL_M)
    return (np.concatenate([src[k1], src[k2]]), np.concatenate([edge[k1], edge[k2]]),
            np.concatenate([x0[k1], b_start[k2]]), np.concatenate([a_end[k1], x1[k2]]))


def candidate_intervals(network: WalkNetwork, src_edge: np.ndarray, src_offset: np.ndarray,
                        *, budget_m: float) -> tuple[np.ndarray, ...]:
    """Every candidate's covered intervals ``(candidate, edge, a, b)`` within the budget.

    Candidates are processed in spatial chunks (their own reach, :mod:`geo.coverage.reach`).
    The intervals of one candidate are disjoint (they may touch).
    """
    src_edge = np.asarray(src_edge, dtype=np.int64)
    src_offset = np.asarray(src_offset, dtype=float)
    n = src_edge.size
    xs = network.node_x[network.edge_u[src_edge]]
    ys = network.node_y[network.edge_u[src_edge]]
    cx = np.floor((xs - network.bounds[0]) / DEFAULT_CELL_M)
    cy = np.floor((ys - network.bounds[1]) / DEFAULT_CELL_M)
    order = np.lexsort((cx, cy))
    out: list[tuple[np.ndarray, ...]] = []
    for start in range(0, n, _CHUNK):
        members = order[start:start + _CHUNK]
        reach = station_reach(network, src_edge[members], src_offset[members],
                              budget_m=budget_m)
        seg = station_segments(network, reach, src_edge[members], src_offset[members])
        del reach
        s, e, a, b = _segment_intervals(seg, budget_m)
        out.append((members[s].astype(np.int32), e.astype(np.int32), a, b))
    if not out:
        return (np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0), np.zeros(0))
    return tuple(np.concatenate([o[i] for o in out]) for i in range(4))


def build_problem(network: WalkNetwork, candidates: Candidates, demand: Demand,
                  base: Coverage | None, *, budget_m: float) -> CoverProblem:
    """The element structure for ``candidates`` given the existing coverage ``base``."""
    c, ce, ca, cb = candidate_intervals(network, candidates.sites["snap_edge"].to_numpy(),
                                        candidates.sites["snap_offset_m"].to_numpy(),
                                        budget_m=budget_m)
    if base is not None:
        p = covered_pieces(base.segment_arrays, budget_m)
        p = p.loc[(p["x1"] - p["x0"]) > _TOL_M]
        be, ba, bb = (p["edge"].to_numpy(np.int64), p["x0"].to_numpy(), p["x1"].to_numpy())
    else:
        be, ba, bb = np.zeros(0, np.int64), np.zeros(0), np.zeros(0)
    if demand.basis == "population":
        assert demand.parts is not None
        parts = demand.parts
        te, ta, tb = (parts["edge"].to_numpy(np.int64), parts["p"].to_numpy(),
                      parts["q"].to_numpy())
        td = parts["density"].to_numpy()
    else:
        te, ta, tb, td = np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0)
    sizes = [ce.size, be.size, te.size]
    e_all = np.concatenate([ce.astype(np.int64), be, te])
    bp_x, ptr, idx = _breakpoints(network.length_m, np.concatenate([e_all, e_all]),
                                  np.concatenate([ca, ba, ta, cb, bb, tb]))
    m = e_all.size
    lo, hi = idx[:m], idx[m:]
    c_lo, b_lo, t_lo = np.split(lo, np.cumsum(sizes)[:2])
    c_hi, b_hi, t_hi = np.split(hi, np.cumsum(sizes)[:2])
    del e_all, idx, lo, hi
    n_bp = bp_x.size
    length = np.zeros(n_bp)
    length[:-1] = np.diff(bp_x)
    length[ptr[1:] - 1] = 0.0  # the last breakpoint of an edge starts no element
    np.clip(length, 0.0, None, out=length)
    cnt = (np.bincount(b_lo, minlength=n_bp + 1) - np.bincount(b_hi, minlength=n_bp + 1))
    covered0 = np.cumsum(cnt)[:n_bp] > 0
    length[covered0] = 0.0
    if demand.basis == "population":
        owner, el = _expand_ranges(t_lo, t_hi)
        weight = length * np.bincount(el, weights=td[owner], minlength=n_bp)
    else:
        weight = length.copy()
    owner, el = _expand_ranges(c_lo, c_hi)
    keep = length[el] > 0
    cand = c[owner[keep]]
    el = el[keep]
    del owner, keep
    order = np.argsort(cand, kind="stable")
    cand_ptr = np.zeros(len(candidates) + 1, dtype=np.int64)
    cand_ptr[1:] = np.cumsum(np.bincount(cand, minlength=len(candidates)))
    elem_dtype = np.int32 if n_bp < 2**31 - 1 else np.int64
    return CoverProblem(ptr=cand_ptr, elem=el[order].astype(elem_dtype), weight=weight,
                        length=length)


# ----------------------------------------------------------------------------- solvers


@dataclass(frozen=True)
class Selection:
    """Chosen candidates in order with their marginal demand and street metres."""

    order: np.ndarray
    gain: np.ndarray
    street_m: np.ndarray
    evaluations: int = 0


def lazy_greedy(problem: CoverProblem, k: int, *,
                allowed: np.ndarray | None = None) -> Selection:
    """CELF lazy greedy: up to ``k`` candidates, each time the one adding most demand.

    ``allowed`` (indices) restricts the choice. Stops early when no candidate adds
    demand. Ties go to the lower candidate index.
    """
    w = problem.weight.copy()
    ln = problem.length.copy()
    ptr, elem = problem.ptr, problem.elem
    cands = np.arange(problem.n_candidates) if allowed is None else np.asarray(allowed)
    gains0 = problem.gains()
    heap = [(-float(gains0[c]), int(c)) for c in cands]
    heapq.heapify(heap)
    fresh = np.full(problem.n_candidates, -1, dtype=np.int64)
    fresh[cands] = 0
    order, gain, street = [], [], []
    evaluations = len(cands)
    while heap and len(order) < k:
        neg, c = heapq.heappop(heap)
        if fresh[c] == len(order):
            if -neg <= _MIN_GAIN:
                break
            idx = elem[ptr[c]:ptr[c + 1]]
            order.append(c)
            gain.append(-neg)
            street.append(float(ln[idx].sum()))
            w[idx] = 0.0
            ln[idx] = 0.0
            continue
        g = float(w[elem[ptr[c]:ptr[c + 1]]].sum())
        evaluations += 1
        fresh[c] = len(order)
        heapq.heappush(heap, (-g, c))
    return Selection(order=np.asarray(order, dtype=np.int64), gain=np.asarray(gain),
                     street_m=np.asarray(street), evaluations=evaluations)


def optimum_upper_bound(problem: CoverProblem, chosen: np.ndarray, k: int) -> float:
    """A bound on the best new demand of any ``k`` candidates (submodularity):
    ``f(S) + Σ top-k marginal gains w.r.t. S``, the smaller of ``S = ∅`` and ``S = chosen``."""
    g0 = problem.gains()
    bound = float(np.sort(g0)[::-1][:k].sum())
    if len(chosen):
        mask = np.zeros(problem.weight.size, dtype=bool)
        for c in chosen:
            mask[problem.elem[problem.ptr[c]:problem.ptr[c + 1]]] = True
        f = float(problem.weight[mask].sum())
        g = problem.gains(mask)
        bound = min(bound, f + float(np.sort(g)[::-1][:k].sum()))
    return bound


def default_solver() -> str:
    """``"cbc"``: bundled with PuLP, so always there (and silent). ``"highs"`` is the
    other choice (``pulp.HiGHS``, needs ``highspy``)."""
    return "cbc"


def _group_rows(item: np.ndarray, member: np.ndarray,
                item_w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge items with identical member sets: ``(row_w, ptr, members)`` with row ``j``'s
    members ``members[ptr[j]:ptr[j + 1]]`` (sorted) and weight the sum of its items'."""
    order = np.lexsort((member, item))
    it, mb = item[order], member[order]
    if it.size == 0:
        return np.zeros(0), np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64)
    bounds = np.flatnonzero(np.diff(it)) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [it.size]])
    rows: dict[bytes, int] = {}
    row_w: list[float] = []
    row_members: list[np.ndarray] = []
    for a, b, w in zip(starts.tolist(), ends.tolist(), item_w[it[starts]].tolist(),
                       strict=True):
        members = mb[a:b]
        key = members.tobytes()
        r = rows.get(key)
        if r is None:
            rows[key] = len(row_w)
            row_w.append(w)
            row_members.append(members)
        else:
            row_w[r] += w
    ptr = np.zeros(len(row_members) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([m.size for m in row_members])
    return np.asarray(row_w), ptr, np.concatenate(row_members).astype(np.int64)


def _dominated(ptr: np.ndarray, members: np.ndarray, n: int) -> np.ndarray:
    """Candidates whose covered rows are a subset of another's (of identical sets, all
    but the lowest index): dropping them leaves the optimum unchanged."""
    import scipy.sparse as sp

    m = sp.csr_matrix((np.ones(members.size), members, ptr), shape=(ptr.size - 1, n))
    size = np.asarray(m.sum(axis=0)).ravel()
    g = (m.T @ m).tocoo()
    r, c, v = g.row, g.col, g.data
    sub = (r != c) & (v >= size[r]) & ((size[c] > size[r]) | ((size[c] == size[r]) & (c < r)))
    out = np.zeros(n, dtype=bool)
    out[r[sub]] = True
    return out


def solve_ilp(problem: CoverProblem, k: int, *, solver: str | None = None,
              time_limit_s: float = DEFAULT_ILP_TIME_LIMIT_S) -> tuple[np.ndarray, dict[str, Any]]:
    """The optimal set of at most ``k`` candidates (exact MCLP with PuLP).

    Exact reductions first: elements with the same covering candidates become one row;
    candidates covering a subset of another's rows are dropped; a row only one
    candidate covers becomes part of that candidate's objective coefficient. Returns the
    chosen candidate indices and solver info (``solver``, ``status``, ``optimal``,
    ``objective``, ``rows``, ``columns``). Raises :class:`InvalidParameterError` when
    the instance exceeds the ILP limits.
    """
    import pulp

    solver = solver or default_solver()
    if solver not in SOLVERS:
        raise InvalidParameterError(f"solver must be one of {SOLVERS}, got {solver!r}")
    owners = problem.owners()
    el = problem.elem.astype(np.int64)
    keep = problem.weight[el] > 0
    owners, el = owners[keep], el[keep]
    useful = np.unique(owners)
    if useful.size == 0:
        return np.zeros(0, dtype=np.int64), {"solver": solver, "status": "trivial",
                                              "optimal": True, "objective": 0.0,
                                              "rows": 0, "columns": 0}
    too_big = (f"use --method greedy, fewer candidates or a smaller region (the ILP is "
               f"for small instances: ≤ {ILP_MAX_CANDIDATES:,} useful candidates, "
               f"≤ {ILP_MAX_ROWS:,} demand rows)")
    if useful.size > ILP_MAX_CANDIDATES or np.unique(el).size > 50 * ILP_MAX_ROWS:
        raise InvalidParameterError(
            f"the ILP would have {useful.size:,} candidate sites: {too_big}")
    local = np.searchsorted(useful, owners)
    row_w, ptr, members = _group_rows(el, local, problem.weight)
    dominated = _dominated(ptr, members, useful.size)
    if dominated.any():
        row_of = np.repeat(np.arange(row_w.size), np.diff(ptr))
        kept = ~dominated[members]
        row_w, ptr, members = _group_rows(row_of[kept], members[kept], row_w)
    sizes = np.diff(ptr)
    single = sizes == 1
    coef = np.bincount(members[ptr[:-1][single]], weights=row_w[single],
                       minlength=useful.size)
    multi = np.flatnonzero(~single)
    if multi.size > ILP_MAX_ROWS:
        raise InvalidParameterError(f"the ILP would have {multi.size:,} demand rows: {too_big}")
    cols = np.flatnonzero(~dominated)
    prob = pulp.LpProblem("max_covering_location", pulp.LpMaximize)
    x = {int(c): prob.add_variable(f"x_{int(c)}", cat=pulp.LpBinary) for c in cols}
    y = [prob.add_variable(f"y_{j}", lowBound=0, upBound=1) for j in range(multi.size)]
    prob += (pulp.lpSum(float(coef[c]) * x[c] for c in x if coef[c] > 0)
             + pulp.lpSum(float(row_w[j]) * yj for j, yj in zip(multi, y, strict=True)))
    prob += pulp.lpSum(x.values()) <= int(k)
    for j, yj in zip(multi, y, strict=True):
        prob += yj <= pulp.lpSum(x[int(c)] for c in members[ptr[j]:ptr[j + 1]])
    if solver == "highs":
        engine = pulp.HiGHS(msg=False, timeLimit=time_limit_s, gapRel=_ILP_GAP)
    else:
        with warnings.catch_warnings():  # PuLP 3.3 deprecates its bundled CBC for 4.0
            warnings.simplefilter("ignore", DeprecationWarning)
            engine = pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit_s, gapRel=_ILP_GAP)
    t0 = time.perf_counter()
    prob.solve(engine)
    # a time limit can end the search with an integer-feasible, unproven solution:
    # sol_status tells (the problem status would still read "Optimal" with CBC)
    optimal = prob.sol_status == pulp.LpSolutionOptimal
    status = pulp.LpSolution.get(prob.sol_status, pulp.LpStatus[prob.status])
    if not optimal and prob.sol_status != pulp.LpSolutionIntegerFeasible:
        raise InvalidParameterError(
            f"the ILP solver ({solver}) ended with status {status!r} and no solution: use "
            "--method greedy or a longer time limit")
    chosen = np.array(sorted(int(useful[c]) for c, v in x.items() if (v.value() or 0.0) > 0.5),
                      dtype=np.int64)
    info = {"solver": solver, "status": status, "optimal": optimal,
            "objective": float(pulp.value(prob.objective) or 0.0), "rows": int(multi.size),
            "columns": len(x), "dominated": int(dominated.sum()),
            "solve_s": round(time.perf_counter() - t0, 4)}
    return chosen, info


# ------------------------------------------------------------------------------ result


@dataclass(frozen=True, eq=False)
class SuggestResult:
    """Suggested sites and their gains (read-only; geometries in the network CRS).

    ``sites``: ``rank``, ``candidate_id``, ``name``, ``source``, ``node_id``, ``lon``,
    ``lat``, ``town_id``, ``town``, ``marginal_gain`` / ``cumulative_gain`` (demand
    newly covered: people or street metres), ``new_street_m`` / ``cumulative_street_m``
    (street metres newly covered), ``covered_share_after``, ``snap_dist_m``, point
    geometry. ``curve``: ``k`` (0…), ``marginal_gain``, ``cumulative_gain``,
    ``covered_demand``, ``covered_share``.
    """

    sites: gpd.GeoDataFrame
    curve: pd.DataFrame
    method: str
    demand_basis: str
    demand_unit: str
    total_gain: float
    total_street_m: float
    k_requested: int
    covered_before: float
    total_demand: float
    network: WalkNetwork
    params: CoverageParams
    candidates: Candidates
    existing_used: int
    optimum_upper_bound: float | None = None
    solver: dict[str, Any] | None = None
    notes: tuple[str, ...] = ()
    stats: dict[str, Any] = field(default_factory=dict)
    timings_s: dict[str, float] = field(default_factory=dict)

    @property
    def covered_after(self) -> float:
        return self.covered_before + self.total_gain

    @cached_property
    def service_areas(self) -> gpd.GeoDataFrame:
        """The service area of every suggested site (its own 15-minute reach, buffered;
        network CRS): ``rank``, ``candidate_id``, ``marginal_gain``, ``reach_length_m``,
        ``area_m2``."""
        return site_service_areas(self)

    def summary(self) -> dict[str, Any]:
        """The ``summary.json`` of ``yizhan suggest``."""
        return summary_dict(self)


def _town_of(points: np.ndarray, towns: gpd.GeoDataFrame | None) -> tuple[list[Any], list[Any]]:
    n = len(points)
    if towns is None or not len(towns) or not n:
        return [None] * n, [None] * n
    pi, ti = shapely.STRtree(towns.geometry.to_numpy()).query(points, predicate="intersects")
    first = np.full(n, -1, dtype=np.int64)
    o = np.lexsort((ti, pi))
    pi, ti = pi[o], ti[o]
    u, at = np.unique(pi, return_index=True)
    first[u] = ti[at]
    ids = towns["town_id"].to_numpy() if "town_id" in towns.columns else towns.index.to_numpy()
    names = towns["name"].to_numpy() if "name" in towns.columns else ids
    return ([None if f < 0 else ids[f] for f in first],
            [None if f < 0 else names[f] for f in first])


def _check_k(k: Any) -> int:
    try:
        kk = int(k)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"k must be a whole number, got {k!r}") from None
    if kk != k or not 1 <= kk <= MAX_K:
        raise InvalidParameterError(f"k={k!r} is outside [1, {MAX_K}]: the number of sites "
                                    "to add, e.g. 10")
    return kk


def suggest_sites(
    network: WalkNetwork,
    stations: gpd.GeoDataFrame | None = None,
    *,
    k: int = DEFAULT_K,
    candidates: gpd.GeoDataFrame | Candidates | None = None,
    towns: gpd.GeoDataFrame | None = None,
    params: CoverageParams | None = None,
    coverage: Coverage | None = None,
    method: str = "greedy",
    solver: str | None = None,
    demand_basis: str = "auto",
    min_distance_m: float = DEFAULT_MIN_DISTANCE_M,
    max_candidates: int = DEFAULT_MAX_CANDIDATES,
    seed: int = 0,
    time_limit_s: float = DEFAULT_ILP_TIME_LIMIT_S,
) -> SuggestResult:
    """Suggest up to ``k`` new station sites that newly cover the most demand.

    ``stations``: the existing (fixed) stations, any CRS (``None``/empty: none yet);
    or pass ``coverage``, an existing :class:`~geo.coverage.core.Coverage` of them (its
    parameters are then used). ``candidates``: ``None`` for network nodes (see the
    module docstring), a point GeoDataFrame (any CRS; ``candidate_id``/``name``
    optional) or prepared :class:`Candidates`. ``towns``: polygons with ``town_id``,
    ``name``, ``population`` (any CRS) for the population basis and site labels.
    ``method``: ``"greedy"`` (CELF) or ``"ilp"`` (exact; ``solver`` ``"highs"`` or
    ``"cbc"``).
    """
    t_start = time.perf_counter()
    timings: dict[str, float] = {}
    kk = _check_k(k)
    if method not in METHODS:
        raise InvalidParameterError(f"method must be one of {METHODS}, got {method!r}")
    if solver is not None and solver not in SOLVERS:
        raise InvalidParameterError(f"solver must be one of {SOLVERS}, got {solver!r}")
    if coverage is not None:
        if params is not None and params != coverage.params:
            raise InvalidParameterError("params differ from the parameters of the given "
                                        "coverage: pass one of them")
        params = coverage.params
        if coverage.network is not network:
            raise InvalidParameterError("the coverage was computed on another network")
    params = params or CoverageParams()
    budget = params.budget_m
    base = coverage
    if base is None and stations is not None and len(stations):
        if stations.crs is None:
            raise InvalidParameterError("the station layer has no CRS: declare it (WGS-84)")
        t0 = time.perf_counter()
        base = compute_coverage(network, stations.to_crs(network.crs), params=params)
        timings["base_coverage"] = time.perf_counter() - t0
    existing_xy = None
    existing_used = 0
    if base is not None:
        used = base.stations.loc[base.stations["status"] == STATUS_USED]
        existing_used = len(used)
        existing_xy = shapely.get_coordinates(used.geometry.to_numpy())
    t0 = time.perf_counter()
    demand = build_demand(network, towns, basis=demand_basis)
    timings["demand"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if candidates is None:
        cands = network_candidates(network, existing_xy, min_distance_m=min_distance_m,
                                   max_candidates=max_candidates, seed=seed)
    elif isinstance(candidates, Candidates):
        cands = candidates
    else:
        cands = point_candidates(network, candidates, max_snap_m=params.max_snap_m)
    timings["candidates"] = time.perf_counter() - t0
    if len(cands) == 0:
        hint = (f"lower the minimum distance ({min_distance_m:g} m) to existing stations"
                if cands.source == SOURCE_NODES else
                "check the candidate file (points in WGS-84, near walkable streets)")
        raise StationDataError(f"no candidate site is left ({len(cands.rejected)} rejected): "
                               f"{hint}")
    covered_before = covered_demand(base, demand) if base is not None else 0.0
    t0 = time.perf_counter()
    problem = build_problem(network, cands, demand, base, budget_m=budget)
    timings["build"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    notes: list[str] = []
    solver_info = None
    bound = None
    if method == "greedy":
        sel = lazy_greedy(problem, kk)
        timings["greedy"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        bound = optimum_upper_bound(problem, sel.order, kk)
        timings["bound"] = time.perf_counter() - t0
    else:
        chosen, solver_info = solve_ilp(problem, kk, solver=solver, time_limit_s=time_limit_s)
        timings["ilp"] = time.perf_counter() - t0
        # rank the optimal sites by their marginal gains (greedy order within the set)
        sel = lazy_greedy(problem, max(len(chosen), 1), allowed=chosen) if len(chosen) \
            else lazy_greedy(problem, 0)
        if not solver_info["optimal"]:
            notes.append(f"the ILP solver stopped with status {solver_info['status']}: the "
                         "sites are the best found, not proven optimal")
        bound = float(sel.gain.sum()) if solver_info["optimal"] else None
    if len(sel.order) < kk:
        notes.append(f"only {len(sel.order)} of the {kk} requested sites add demand: the "
                     "other candidates cover nothing new")
    if demand.note:
        notes.append(demand.note)
    sites = _site_table(network, cands, sel, demand, covered_before)
    curve = _curve(sel, demand, covered_before)
    timings["total"] = time.perf_counter() - t_start
    stats = {"candidates": len(cands), "elements": int(problem.weight.size),
             "incidences": problem.n_incidences, "evaluations": sel.evaluations}
    return SuggestResult(
        sites=sites, curve=curve, method=method, demand_basis=demand.basis,
        demand_unit=demand.unit, total_gain=float(sel.gain.sum()),
        total_street_m=float(sel.street_m.sum()), k_requested=kk,
        covered_before=covered_before, total_demand=demand.total, network=network,
        params=params, candidates=cands, existing_used=existing_used,
        optimum_upper_bound=bound, solver=solver_info, notes=tuple(notes), stats=stats,
        timings_s=timings,
    )


def _site_table(network: WalkNetwork, cands: Candidates, sel: Selection, demand: Demand,
                covered_before: float) -> gpd.GeoDataFrame:
    s = cands.sites.iloc[sel.order].reset_index(drop=True)
    geoms = s.geometry.to_numpy()
    town_id, town = _town_of(geoms, demand.towns)
    ll = s.geometry.to_crs(WGS84)
    cum = np.cumsum(sel.gain)
    total = demand.total
    out = pd.DataFrame({
        "rank": np.arange(1, len(s) + 1),
        "candidate_id": s["candidate_id"].to_numpy(),
        "name": s["name"].to_numpy(),
        "source": s["source"].to_numpy(),
        "node_id": s["node_id"].to_numpy(),
        "lon": np.round(ll.x.to_numpy(), 7) if len(s) else np.zeros(0),
        "lat": np.round(ll.y.to_numpy(), 7) if len(s) else np.zeros(0),
        "town_id": pd.array(town_id, dtype=object),
        "town": pd.array(town, dtype=object),
        "marginal_gain": sel.gain,
        "cumulative_gain": cum,
        "new_street_m": sel.street_m,
        "cumulative_street_m": np.cumsum(sel.street_m),
        "covered_share_after": (covered_before + cum) / total if total > 0
        else np.full(len(s), np.nan),
        "snap_dist_m": s["snap_dist_m"].to_numpy(),
    })
    return gpd.GeoDataFrame(out, geometry=list(geoms), crs=network.crs)


def _curve(sel: Selection, demand: Demand, covered_before: float) -> pd.DataFrame:
    gain = np.concatenate([[0.0], sel.gain])
    cum = np.cumsum(gain)
    total = demand.total
    return pd.DataFrame({
        "k": np.arange(gain.size),
        "marginal_gain": gain,
        "cumulative_gain": cum,
        "covered_demand": covered_before + cum,
        "covered_share": (covered_before + cum) / total if total > 0
        else np.full(gain.size, np.nan),
    })


def suggested_stations(result: SuggestResult) -> gpd.GeoDataFrame:
    """The suggested sites as a station layer (``station_id``, ``name``, ``type``; network
    CRS), e.g. to add to the station list and run the coverage again."""
    s = result.sites
    names = [n if isinstance(n, str) and n else f"建议站点 {r}" for n, r in
             zip(s["name"], s["rank"], strict=True)]
    return gpd.GeoDataFrame({
        "station_id": [f"SUGGEST-{r:03d}-{c}" for r, c in zip(s["rank"], s["candidate_id"],
                                                               strict=True)],
        "name": names, "type": "工会驿站",
    }, geometry=s.geometry.to_numpy(), crs=s.crs)


def site_service_areas(result: SuggestResult, *, workers: int | None = 1) -> gpd.GeoDataFrame:
    """The service area polygon of every suggested site (network CRS)."""
    from geo.coverage.service_areas import per_station_polygons

    s = result.sites
    cols = {"rank": [], "candidate_id": [], "marginal_gain": [], "reach_length_m": [],
            "area_m2": []}
    if not len(s):
        return gpd.GeoDataFrame(cols, geometry=[], crs=result.network.crs)
    st = suggested_stations(result)
    cov = compute_coverage(result.network, st, params=result.params)
    per = per_station_polygons(cov, workers=workers)
    return gpd.GeoDataFrame({
        "rank": s["rank"].to_numpy(), "candidate_id": s["candidate_id"].to_numpy(),
        "marginal_gain": s["marginal_gain"].to_numpy(),
        "reach_length_m": per["reach_length_m"].to_numpy(),
        "area_m2": per["area_m2"].to_numpy(),
    }, geometry=per.geometry.to_numpy(), crs=result.network.crs)


# ----------------------------------------------------------------------------- outputs


def _r(x: float | None, nd: int = 3) -> float | None:
    if x is None or not np.isfinite(x):
        return None
    return round(float(x), nd)


def method_text(result: SuggestResult) -> str:
    """One sentence saying which method produced the sites."""
    if result.method == "greedy":
        return ("lazy greedy (CELF) maximal covering: within (1 - 1/e) ≈ 63% of the optimum "
                "by submodularity; the optimum is at most optimum_upper_bound")
    info = result.solver or {}
    return (f"exact integer programme (maximal covering location) solved with "
            f"{info.get('solver', '?')}: status {info.get('status', '?')}")


def summary_dict(result: SuggestResult) -> dict[str, Any]:
    """Headline figures, the gain-vs-K curve and the settings of a suggestion run."""
    from geo.pipeline.job import __version__

    c = result.candidates
    total = result.total_demand
    ub = result.optimum_upper_bound
    return {
        "yizhan_version": __version__,
        "generated_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "method": result.method,
        "method_note": method_text(result),
        "solver": result.solver,
        "k_requested": result.k_requested,
        "k_suggested": len(result.sites),
        "demand_basis": result.demand_basis,
        "demand_unit": result.demand_unit,
        "total_gain": _r(result.total_gain),
        "total_new_street_m": _r(result.total_street_m, 1),
        "covered_before": _r(result.covered_before),
        "covered_after": _r(result.covered_after),
        "total_demand": _r(total),
        "covered_share_before": _r(result.covered_before / total, 6) if total else None,
        "covered_share_after": _r(result.covered_after / total, 6) if total else None,
        "optimum_upper_bound": _r(ub),
        "gain_over_upper_bound": _r(result.total_gain / ub, 6) if ub else None,
        "approximation_guarantee": round(GUARANTEE, 6) if result.method == "greedy" else 1.0,
        "curve": [{"k": int(r.k), "marginal_gain": _r(r.marginal_gain),
                   "cumulative_gain": _r(r.cumulative_gain),
                   "covered_share": _r(r.covered_share, 6)}
                  for r in result.curve.itertuples(index=False)],
        "candidates": {"source": c.source, "count": len(c), "eligible": c.eligible,
                       "rejected": len(c.rejected), **c.settings},
        "existing_stations_used": result.existing_used,
        "params": {**result.params.to_dict(), "travel_mode": "walk"},
        "notes": list(result.notes),
        "stats": result.stats,
        "timings_s": {k: round(v, 4) for k, v in result.timings_s.items()},
    }


def sites_output(result: SuggestResult) -> pd.DataFrame:
    """The rows of ``suggestions.csv`` (gains rounded to 0.001, lengths to 0.1 m)."""
    df = pd.DataFrame(result.sites.drop(columns="geometry"))
    for col in ("marginal_gain", "cumulative_gain"):
        df[col] = df[col].round(3)
    for col in ("new_street_m", "cumulative_street_m", "snap_dist_m"):
        df[col] = df[col].round(1)
    df["covered_share_after"] = df["covered_share_after"].round(6)
    df["node_id"] = df["node_id"].where(df["node_id"] >= 0, None)
    df.insert(df.columns.get_loc("marginal_gain"), "gain_unit", result.demand_unit)
    return df


def sites_geojson(result: SuggestResult) -> str:
    """``suggestions.geojson``: the sites as WGS-84 points with the CSV's properties."""
    df = sites_output(result)
    gdf = gpd.GeoDataFrame(df, geometry=result.sites.geometry.to_numpy(),
                           crs=result.network.crs).to_crs(WGS84)
    return gdf.to_json(na="null", drop_id=True, ensure_ascii=False)


def areas_geojson(result: SuggestResult) -> str:
    """``new_service_areas.geojson``: each suggested site's service area (WGS-84)."""
    areas = result.service_areas.copy()
    areas["marginal_gain"] = areas["marginal_gain"].round(3)
    return areas.to_crs(WGS84).to_json(na="null", drop_id=True, ensure_ascii=False)


def write_suggestions(result: SuggestResult, out_dir: str | os.PathLike[str], *,
                      areas: bool = True,
                      extra_summary: dict[str, Any] | None = None) -> dict[str, Path]:
    """Write ``suggestions.csv``, ``suggestions.geojson``, ``summary.json``,
    ``new_service_areas.geojson`` (``areas``) and ``candidates_rejected.csv`` (when
    some candidates were rejected) into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    p = out / "suggestions.csv"
    sites_output(result).to_csv(p, index=False, encoding="utf-8")
    paths["suggestions.csv"] = p
    p = out / "suggestions.geojson"
    p.write_text(sites_geojson(result), encoding="utf-8")
    paths["suggestions.geojson"] = p
    if areas:
        p = out / "new_service_areas.geojson"
        p.write_text(areas_geojson(result), encoding="utf-8")
        paths["new_service_areas.geojson"] = p
    if len(result.candidates.rejected):
        p = out / "candidates_rejected.csv"
        result.candidates.rejected.to_csv(p, index=False, encoding="utf-8")
        paths["candidates_rejected.csv"] = p
    summary = {**summary_dict(result), **(extra_summary or {})}
    p = out / "summary.json"
    p.write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    paths["summary.json"] = p
    return paths


__all__ = [
    "DEFAULT_MAX_CANDIDATES",
    "DEFAULT_MIN_DISTANCE_M",
    "EXCLUDED_HIGHWAY",
    "METHODS",
    "Candidates",
    "CoverProblem",
    "Demand",
    "SuggestResult",
    "build_demand",
    "build_problem",
    "covered_demand",
    "lazy_greedy",
    "network_candidates",
    "point_candidates",
    "read_candidates",
    "site_service_areas",
    "solve_ilp",
    "suggest_sites",
    "suggested_stations",
    "summary_dict",
    "write_suggestions",
]
