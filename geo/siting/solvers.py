"""Solvers for site suggestions: lazy greedy (CELF) and the exact ILP.

``greedy`` (:func:`lazy_greedy`) — all candidates are evaluated once, then the best
upper bound is re-evaluated against the current coverage and accepted when it is still
the best. The objective is monotone submodular, so the result is at least ``1 − 1/e``
(≈ 63 %, :data:`GUARANTEE`) of the optimum; :func:`optimum_upper_bound` gives a
data-dependent bound on the optimum, usually much tighter.

``ilp`` (:func:`solve_ilp`) — the exact integer programme: ``max Σ w_j y_j`` s.t.
``Σ x_c ≤ k``, ``y_j ≤ Σ_{c covers j} x_c``, ``x`` binary, ``0 ≤ y ≤ 1``, over the
elements not covered by the existing stations (elements with the same covering
candidates are merged, dominated candidates dropped). Solved with CBC
(``pulp.PULP_CBC_CMD``, bundled, the default) or HiGHS (``pulp.HiGHS``) to a relative
gap of 1e-9; meant for small instances (limits: :data:`ILP_MAX_CANDIDATES`,
:data:`ILP_MAX_ROWS`).
"""

from __future__ import annotations

import heapq
import math
import time
import warnings
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import scipy.sparse as sp

from geo.errors import InvalidParameterError
from geo.siting.problem import CoverProblem

SOLVERS: Final = ("highs", "cbc")
DEFAULT_ILP_TIME_LIMIT_S: Final = 120.0
#: Largest ILP accepted: candidates with a positive gain, and merged demand rows.
ILP_MAX_CANDIDATES: Final = 5_000
ILP_MAX_ROWS: Final = 60_000
#: The approximation guarantee of the greedy method, ``1 − 1/e``.
GUARANTEE: Final = 1.0 - 1.0 / math.e
_MIN_GAIN: Final = 1e-9  # a candidate adding less demand than this adds nothing
_ILP_GAP: Final = 1e-9  # relative MIP gap: solved to optimality, not to the solvers' 1e-4


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
    order: list[int] = []
    gain: list[float] = []
    street: list[float] = []
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
    m = sp.csr_matrix((np.ones(members.size), members, ptr), shape=(ptr.size - 1, n))
    size = np.asarray(m.sum(axis=0)).ravel()
    g = (m.T @ m).tocoo()
    r, c, v = g.row, g.col, g.data
    sub = (r != c) & (v >= size[r]) & ((size[c] > size[r]) | ((size[c] == size[r]) & (c < r)))
    out = np.zeros(n, dtype=bool)
    out[r[sub]] = True
    return out


@dataclass(frozen=True, eq=False)
class _Rows:
    """The reduced ILP over the ``useful`` candidates (local column ``i`` is candidate
    ``useful[i]``): row ``j`` (weight ``row_w[j]``) is covered by the columns
    ``members[ptr[j]:ptr[j + 1]]``; rows one column covers are folded into ``coef``,
    ``multi`` lists the others."""

    useful: np.ndarray
    row_w: np.ndarray
    ptr: np.ndarray
    members: np.ndarray
    dominated: np.ndarray
    coef: np.ndarray
    multi: np.ndarray


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
    solver = solver or default_solver()
    if solver not in SOLVERS:
        raise InvalidParameterError(f"solver must be one of {SOLVERS}, got {solver!r}")
    rows = _reduced_rows(problem)
    if rows is None:
        return np.zeros(0, dtype=np.int64), {"solver": solver, "status": "trivial",
                                              "optimal": True, "objective": 0.0,
                                              "rows": 0, "columns": 0}
    return _solve_rows(rows, k, solver=solver, time_limit_s=time_limit_s)


def _reduced_rows(problem: CoverProblem) -> _Rows | None:
    """The exact reductions of :func:`solve_ilp` (``None``: no candidate adds demand);
    raises :class:`InvalidParameterError` above the ILP limits."""
    owners = problem.owners()
    el = problem.elem.astype(np.int64)
    keep = problem.weight[el] > 0
    owners, el = owners[keep], el[keep]
    useful = np.unique(owners)
    if useful.size == 0:
        return None
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
    return _Rows(useful=useful, row_w=row_w, ptr=ptr, members=members, dominated=dominated,
                 coef=coef, multi=multi)


def _solve_rows(rows: _Rows, k: int, *, solver: str,
                time_limit_s: float) -> tuple[np.ndarray, dict[str, Any]]:
    """Build the reduced ILP in PuLP and solve it: the chosen candidates and solver info."""
    import pulp  # third party, slow to import: only when the ILP runs

    coef, row_w, ptr, members, multi = rows.coef, rows.row_w, rows.ptr, rows.members, rows.multi
    cols = np.flatnonzero(~rows.dominated)
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
    chosen = np.array(sorted(int(rows.useful[c]) for c, v in x.items()
                             if (v.value() or 0.0) > 0.5), dtype=np.int64)
    info = {"solver": solver, "status": status, "optimal": optimal,
            "objective": float(pulp.value(prob.objective) or 0.0), "rows": int(multi.size),
            "columns": len(x), "dominated": int(rows.dominated.sum()),
            "solve_s": round(time.perf_counter() - t0, 4)}
    return chosen, info


__all__ = [
    "DEFAULT_ILP_TIME_LIMIT_S",
    "GUARANTEE",
    "ILP_MAX_CANDIDATES",
    "ILP_MAX_ROWS",
    "SOLVERS",
    "Selection",
    "default_solver",
    "lazy_greedy",
    "optimum_upper_bound",
    "solve_ilp",
]
