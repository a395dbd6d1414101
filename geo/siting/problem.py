"""The coverage problem behind site suggestions: candidates × street elements.

A street point is covered by a set of stations iff *some* station is within the budget,
so the covered set is the union of every station's covered intervals. A candidate's
intervals on each edge come from its own reach (:mod:`geo.coverage.reach`): on an edge
``(u, v, L)`` not carrying it, ``[0, min(L, B − d(u))] ∪ [L − min(L, B − d(v)), L]``; on
its own edge the same per half (:func:`candidate_intervals`). The existing stations'
covered intervals come from the coverage pass. :func:`build_problem` cuts every edge at
all interval and town endpoints into *elements*; each element is wholly covered or not
by each candidate and by the existing stations, and carries the weight ``length ×
density`` (and, for demand restricted to rider zones, the zone it lies in). The result,
:class:`CoverProblem`, gives exact marginal gains to both solvers.
:func:`disjoint_pieces` makes overlapping pieces of edges (overlapping zones) disjoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from geo.coverage.core import Coverage
from geo.coverage.reach import DEFAULT_CELL_M, station_reach, station_segments
from geo.coverage.segments import covered_pieces
from geo.network.model import WalkNetwork
from geo.siting.candidates import Candidates
from geo.siting.demand import Demand

_TOL_M: Final = 1e-7  # interval endpoints closer than this (metres) are one breakpoint
_CHUNK: Final = 4096  # candidates per reach pass (bounds memory)

#: Intervals on edges: ``(edge, a, b)``, or with their source first.
_Intervals = tuple[np.ndarray, ...]


@dataclass(frozen=True, eq=False)
class CoverProblem:
    """The weighted set-cover structure behind both methods (read-only).

    Candidate ``c`` covers elements ``elem[ptr[c]:ptr[c + 1]]`` — only elements not
    covered by the existing stations and with street length. ``weight`` is each
    element's demand (0 where the existing stations cover it), ``length`` its street
    metres (idem). ``zone`` (demand restricted to rider zones; else ``None``): the zone
    index of each element, ``-1`` outside every zone.
    """

    ptr: np.ndarray
    elem: np.ndarray
    weight: np.ndarray
    length: np.ndarray
    zone: np.ndarray | None = None

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
    be, ba, bb = _base_intervals(base, budget_m)
    te, ta, tb, td = _town_intervals(demand)
    sizes = [ce.size, be.size, te.size]
    e_all = np.concatenate([ce.astype(np.int64), be, te])
    bp_x, ptr, idx = _breakpoints(network.length_m, np.concatenate([e_all, e_all]),
                                  np.concatenate([ca, ba, ta, cb, bb, tb]))
    m = e_all.size
    lo, hi = idx[:m], idx[m:]
    c_lo, b_lo, t_lo = np.split(lo, np.cumsum(sizes)[:2])
    c_hi, b_hi, t_hi = np.split(hi, np.cumsum(sizes)[:2])
    del e_all, idx, lo, hi
    length = _element_lengths(bp_x, ptr, b_lo, b_hi)
    weight = (_element_weights(length, t_lo, t_hi, td) if demand.parts is not None
              else length.copy())
    zone = _element_zones(demand, length.size, t_lo, t_hi)
    cand_ptr, elem = _incidences(c, c_lo, c_hi, length, len(candidates))
    return CoverProblem(ptr=cand_ptr, elem=elem, weight=weight, length=length, zone=zone)


def _base_intervals(base: Coverage | None, budget_m: float) -> _Intervals:
    """The intervals ``(edge, a, b)`` the existing stations cover (none without ``base``)."""
    if base is None:
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0)
    p = covered_pieces(base.segment_arrays, budget_m)
    p = p.loc[(p["x1"] - p["x0"]) > _TOL_M]
    return p["edge"].to_numpy(np.int64), p["x0"].to_numpy(), p["x1"].to_numpy()


def _town_intervals(demand: Demand) -> _Intervals:
    """The demand pieces ``(edge, p, q, density)`` — towns, cells or zone pieces — of a
    demand with ``parts`` (none when every street metre counts 1)."""
    parts = demand.parts
    if parts is None:
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0)
    return (parts["edge"].to_numpy(np.int64), parts["p"].to_numpy(), parts["q"].to_numpy(),
            parts["density"].to_numpy())


def _element_lengths(bp_x: np.ndarray, ptr: np.ndarray, b_lo: np.ndarray,
                     b_hi: np.ndarray) -> np.ndarray:
    """The street metres of the element starting at every breakpoint, 0 where the
    existing stations (breakpoint ranges ``[b_lo, b_hi)``) cover it."""
    n_bp = bp_x.size
    length = np.zeros(n_bp)
    length[:-1] = np.diff(bp_x)
    length[ptr[1:] - 1] = 0.0  # the last breakpoint of an edge starts no element
    np.clip(length, 0.0, None, out=length)
    cnt = (np.bincount(b_lo, minlength=n_bp + 1) - np.bincount(b_hi, minlength=n_bp + 1))
    covered0 = np.cumsum(cnt)[:n_bp] > 0
    length[covered0] = 0.0
    return length


def _element_weights(length: np.ndarray, t_lo: np.ndarray, t_hi: np.ndarray,
                     td: np.ndarray) -> np.ndarray:
    """The people on every element: its length × the density of the towns over it
    (town piece ``i`` spans the breakpoint range ``[t_lo[i], t_hi[i])``)."""
    owner, el = _expand_ranges(t_lo, t_hi)
    return length * np.bincount(el, weights=td[owner], minlength=length.size)


def _element_zones(demand: Demand, n_elements: int, t_lo: np.ndarray,
                   t_hi: np.ndarray) -> np.ndarray | None:
    """The zone of every element (``-1``: outside every zone) when the demand is
    restricted to rider zones (its pieces are disjoint, one zone each), else ``None``."""
    if demand.parts is None or "zone" not in demand.parts.columns:
        return None
    owner, el = _expand_ranges(t_lo, t_hi)
    zone = np.full(n_elements, -1, dtype=np.int64)
    zone[el] = demand.parts["zone"].to_numpy(np.int64)[owner]
    return zone


def disjoint_pieces(length_m: np.ndarray, edge: np.ndarray, p: np.ndarray, q: np.ndarray,
                    key: np.ndarray) -> pd.DataFrame:
    """Pieces ``[p, q]`` of edges made disjoint: where pieces overlap, the stretch goes
    to the piece with the lowest ``key``. Returns ``edge, p, q, key`` (adjacent
    stretches of one edge and key are merged), ordered by edge and position."""
    edge = np.asarray(edge, dtype=np.int64)
    bp_x, ptr, idx = _breakpoints(length_m, np.concatenate([edge, edge]),
                                  np.concatenate([np.asarray(p, float), np.asarray(q, float)]))
    lo, hi = idx[:edge.size], idx[edge.size:]
    owner, el = _expand_ranges(lo, hi)
    best = np.full(bp_x.size, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(best, el, np.asarray(key, dtype=np.int64)[owner])
    on = np.flatnonzero(best < np.iinfo(np.int64).max)
    el_edge = np.repeat(np.arange(ptr.size - 1), np.diff(ptr))[on]
    k = best[on]
    # a run of consecutive elements of one edge and one key is one piece
    start = np.ones(on.size, dtype=bool)
    start[1:] = (on[1:] != on[:-1] + 1) | (el_edge[1:] != el_edge[:-1]) | (k[1:] != k[:-1])
    first = np.flatnonzero(start)
    last = np.append(first[1:], on.size) - 1
    return pd.DataFrame({"edge": el_edge[first], "p": bp_x[on[first]],
                         "q": bp_x[on[last] + 1], "key": k[first]})


def _incidences(c: np.ndarray, c_lo: np.ndarray, c_hi: np.ndarray, length: np.ndarray,
                n_candidates: int) -> tuple[np.ndarray, np.ndarray]:
    """``(ptr, elem)``: the elements with street length that each candidate covers
    (candidate ``c[i]`` covers the breakpoint range ``[c_lo[i], c_hi[i])``)."""
    owner, el = _expand_ranges(c_lo, c_hi)
    keep = length[el] > 0
    cand = c[owner[keep]]
    el = el[keep]
    del owner, keep
    order = np.argsort(cand, kind="stable")
    cand_ptr = np.zeros(n_candidates + 1, dtype=np.int64)
    cand_ptr[1:] = np.cumsum(np.bincount(cand, minlength=n_candidates))
    elem_dtype = np.int32 if length.size < 2**31 - 1 else np.int64
    return cand_ptr, el[order].astype(elem_dtype)


__all__ = ["CoverProblem", "build_problem", "candidate_intervals", "disjoint_pieces"]
