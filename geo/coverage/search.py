"""The multi-source search: distance from every node to its nearest source.

Stations sit *inside* edges: each becomes a virtual source node with two outgoing
edges to the ends of its edge (lengths ``offset`` and ``L - offset``); base nodes get
no edge back, so the virtual nodes never serve as shortcuts and the base CSR is reused
as it is (only rows are appended).

A sparse run (few stations on a large network) searches the sub-graph of the nodes
that can lie within the budget: a node at network distance ``d`` from a host edge's
end lies within ``d / r`` of it in a straight line, where ``r`` (≤ 1) is the network's
smallest ratio of edge length to the straight line between the edge's ends
(:attr:`~geo.network.model.WalkNetwork.min_length_ratio`). Every node and edge of a
path within the budget is in that sub-graph, so its distances are the whole graph's.

Costs other than metres (a :class:`~geo.coverage.cost.StreetCost`: seconds by car,
one-way streets) search the cost model's graph — the *reversed* directed time graph,
so that a search from the stations gives every node's time *to* its nearest station —
with the source rows weighted by the host edge's time and left out where the edge may
not be driven towards the station. The straight-line bound then uses
:attr:`~geo.coverage.cost.StreetCost.reach_m` (the budget × the fastest speed): a
trip within the budget runs at most that many metres of street.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph

from geo.coverage.cost import StreetCost
from geo.network.model import WalkNetwork

#: A sparse search is used when the candidate nodes are at most this share of the network.
SPARSE_SHARE: Final = 0.05
#: Above this many (box, cell) pairs the run is dense anyway: search the whole graph.
_MAX_BOX_CELLS: Final = 2_000_000


def append_sources(csr: sp.csr_matrix, edge_u: np.ndarray, edge_v: np.ndarray,
                   length_m: np.ndarray, src_edge: np.ndarray,
                   src_offset: np.ndarray) -> sp.csr_matrix:
    """``csr`` with one extra row per source: edges to both ends of its host edge.

    The result is square ``(n + S)``; source ``k`` is node ``n + k``. Columns of the
    new rows only point into the base graph (directed), so shortest paths from the
    sources are exact and the base rows are untouched.
    """
    s = np.asarray(src_edge, dtype=np.int64)
    a = np.clip(np.asarray(src_offset, dtype=float), 0.0, length_m[s])
    return append_source_rows(csr, edge_u[s], edge_v[s], a, length_m[s] - a)


def append_source_rows(csr: sp.csr_matrix, src_u: np.ndarray, src_v: np.ndarray,
                       w_u: np.ndarray, w_v: np.ndarray) -> sp.csr_matrix:
    """``csr`` with one row per source ``k``: an edge to node ``src_u[k]`` of weight
    ``w_u[k]`` and one to ``src_v[k]`` of ``w_v[k]``, left out where the weight is
    ``inf`` (a one-way host edge); a self-loop host (``u == v``) gets one edge of the
    smaller weight. See :func:`append_sources`.
    """
    n = csr.shape[0]
    u = np.asarray(src_u).astype(np.int64)
    v = np.asarray(src_v).astype(np.int64)
    w_u = np.asarray(w_u, dtype=float)
    w_v = np.asarray(w_v, dtype=float)
    loop = u == v
    # per source: [u, v] (or just [u] with min(a, b) on a self-loop)
    cols = np.stack([u, v], axis=1)
    first = np.where(loop, np.minimum(w_u, w_v), w_u)
    wts = np.stack([first, w_v], axis=1)
    mask = np.stack([np.isfinite(first), ~loop & np.isfinite(w_v)], axis=1)
    counts = mask.sum(axis=1)
    new_indices = cols[mask]
    new_data = wts[mask]
    m = n + u.size
    idx_dtype = np.int32 if max(m, csr.indices.size + new_indices.size) < 2**31 - 1 \
        else np.int64
    # one copy of the base arrays, already in the final index type
    indptr = np.concatenate([csr.indptr.astype(idx_dtype, copy=False),
                             (csr.indptr[-1] + np.cumsum(counts)).astype(idx_dtype)])
    indices = np.concatenate([csr.indices.astype(idx_dtype, copy=False),
                              new_indices.astype(idx_dtype)])
    data = np.concatenate([csr.data, new_data])
    return sp.csr_matrix((data, indices, indptr), shape=(m, m))


def search_limit(budget_m: float) -> float:
    """Dijkstra cutoff for ``budget_m``: a hair (1e-9 relative) above it, so that a node
    exactly at the budget is not lost to sub-micrometre rounding of coordinates and
    lengths (its remaining budget is 0 either way)."""
    return float(budget_m) * (1.0 + 1e-9)


def sub_csr(csr: sp.csr_matrix, idx: np.ndarray, local: np.ndarray) -> sp.csr_matrix:
    """Induced sub-graph on ``idx`` (``local`` maps global → local index or -1)."""
    start = csr.indptr[idx].astype(np.int64)
    count = csr.indptr[idx + 1].astype(np.int64) - start
    total = int(count.sum())
    row_ptr = np.zeros(idx.size + 1, dtype=np.int64)
    np.cumsum(count, out=row_ptr[1:])
    # positions start[k] .. start[k] + count[k] - 1 of every row, without a loop
    pos = np.repeat(start - row_ptr[:-1], count) + np.arange(total)
    cols = local[csr.indices[pos]]
    keep = cols >= 0
    # kept entries before each row start = the new row pointers
    kept_before = np.zeros(total + 1, dtype=np.int64)
    np.cumsum(keep, out=kept_before[1:])
    return sp.csr_matrix((csr.data[pos[keep]], cols[keep].astype(np.int32),
                          kept_before[row_ptr].astype(np.int32)),
                         shape=(idx.size, idx.size))


def nearest_source_search(network: WalkNetwork, src_edge: np.ndarray,
                          src_offset: np.ndarray, *, budget_m: float | None = None,
                          sparse: bool | None = None, cost: StreetCost | None = None,
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distance (m) from every node to the nearest source within ``budget_m``.

    Returns ``(dist, source, reached)``: ``inf`` / ``-1`` beyond the budget, ``source``
    indexing ``src_edge``, and the reached nodes' indices (distinct, in no set order).
    ``sparse``: ``None`` searches the sub-graph when its candidate nodes are at most
    :data:`SPARSE_SHARE` of the network, ``True`` whenever the network's lengths bound
    it, ``False`` never; the answer is the same. ``cost`` (instead of ``budget_m``):
    search that cost model (:mod:`geo.coverage.cost`) within its budget; ``dist`` is
    then in its unit (seconds by car: each node's time *to* its nearest station).
    """
    n = network.n_nodes
    src_edge = np.asarray(src_edge, dtype=np.int64)
    src_offset = np.asarray(src_offset, dtype=float)
    if cost is None:
        if budget_m is None:
            raise TypeError("nearest_source_search needs budget_m or cost")
        graph, budget, reach = network.csr, float(budget_m), float(budget_m)
    else:
        graph, budget, reach = cost.graph, cost.budget, cost.reach_m
    if src_edge.size == 0:
        return (np.full(n, np.inf), np.full(n, -1, dtype=np.int64),
                np.zeros(0, dtype=np.int64))
    if cost is None:
        w_u, w_v = _metric_costs(network.length_m, src_edge, src_offset)
    else:
        w_u, w_v = cost.source_costs(network.length_m, src_edge, src_offset)
    nodes = None if sparse is False else _candidate_nodes(
        network, src_edge, src_offset, budget_m=reach,
        share=1.0 if sparse else SPARSE_SHARE)
    if nodes is None:
        return _search_whole(network, graph, src_edge, w_u, w_v, budget=budget)
    return _search_sub(network, graph, nodes, src_edge, w_u, w_v, budget=budget)


def _metric_costs(length_m: np.ndarray, src_edge: np.ndarray,
                  src_offset: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.clip(src_offset, 0.0, length_m[src_edge])
    return a, length_m[src_edge] - a


def _search_whole(network: WalkNetwork, csr: sp.csr_matrix, src_edge: np.ndarray,
                  w_u: np.ndarray, w_v: np.ndarray, *, budget: float,
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = network.n_nodes
    graph = append_source_rows(csr, network.edge_u[src_edge], network.edge_v[src_edge],
                               w_u, w_v)
    dist, _pred, sources = csgraph.dijkstra(
        graph, directed=True, indices=np.arange(n, n + src_edge.size), min_only=True,
        limit=search_limit(budget), return_predecessors=True,
    )
    dist = dist[:n]
    reached = np.flatnonzero(np.isfinite(dist))
    src = np.full(n, -1, dtype=np.int64)
    src[reached] = sources[reached] - n
    return dist, src, reached


def _search_sub(network: WalkNetwork, csr: sp.csr_matrix, nodes: np.ndarray,
                src_edge: np.ndarray, w_u: np.ndarray, w_v: np.ndarray, *, budget: float,
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = network.n_nodes
    local = np.full(n, -1, dtype=np.int64)
    local[nodes] = np.arange(nodes.size)
    # the host edges' ends, even when out of budget (the virtual source edges end there)
    hosts = np.concatenate([network.edge_u[src_edge], network.edge_v[src_edge]])
    extra = sorted_unique(hosts[local[hosts] < 0])
    if extra.size:
        local[extra] = np.arange(nodes.size, nodes.size + extra.size)
        nodes = np.concatenate([nodes, extra])
    sub = sub_csr(csr, nodes, local)
    m = nodes.size
    graph = append_source_rows(sub, local[network.edge_u[src_edge]],
                               local[network.edge_v[src_edge]], w_u, w_v)
    d, _pred, sources = csgraph.dijkstra(
        graph, directed=True, indices=np.arange(m, m + src_edge.size), min_only=True,
        limit=search_limit(budget), return_predecessors=True,
    )
    hit = np.flatnonzero(np.isfinite(d[:m]))
    reached = nodes[hit]
    dist = np.full(n, np.inf)
    dist[reached] = d[hit]
    src = np.full(n, -1, dtype=np.int64)
    src[reached] = sources[hit] - m
    return dist, src, reached


def straight_line_reach_m(network: WalkNetwork, path_m: Any) -> Any:
    """How far (m, in a straight line) a path of ``path_m`` metres of street can get:
    ``path_m / r`` with ``r`` the network's smallest ratio of edge length to the straight
    line between the edge's ends, a hair more for rounding; ``inf`` when the network's
    lengths give no bound (an edge of length 0 between distinct points)."""
    ratio = network.min_length_ratio
    if not ratio > 0:
        return np.full_like(np.asarray(path_m, dtype=float), np.inf)
    return np.asarray(path_m, dtype=float) / ratio * (1.0 + 1e-9) + 1e-6


def _candidate_nodes(network: WalkNetwork, src_edge: np.ndarray, src_offset: np.ndarray,
                     *, budget_m: float, share: float) -> np.ndarray | None:
    """The distinct nodes that can lie within ``budget_m`` of a source, or ``None`` when
    they are too many for a sub-graph to pay (or the network's lengths give no bound)."""
    if not network.min_length_ratio > 0:
        return None
    length = network.length_m[src_edge]
    a = np.clip(src_offset, 0.0, length)
    ends = np.concatenate([network.edge_u[src_edge], network.edge_v[src_edge]])
    left = np.concatenate([budget_m - a, budget_m - (length - a)])
    keep = left >= 0
    # straight-line reach from each host end, with a hair for rounding
    radius = straight_line_reach_m(network, left[keep])
    ends = ends[keep]
    grid = network.node_grid
    x = network.node_x[ends]
    y = network.node_y[ends]
    cx0 = np.clip(np.floor((x - radius - grid.x0) / grid.cell_m), 0, grid.width - 1)
    cx1 = np.clip(np.floor((x + radius - grid.x0) / grid.cell_m), 0, grid.width - 1)
    cy0 = np.clip(np.floor((y - radius - grid.y0) / grid.cell_m), 0, grid.height - 1)
    cy1 = np.clip(np.floor((y + radius - grid.y0) / grid.cell_m), 0, grid.height - 1)
    kx = (cx1 - cx0 + 1).astype(np.int64)
    ky = (cy1 - cy0 + 1).astype(np.int64)
    k = int(max(kx.max(initial=1), ky.max(initial=1)))
    if ends.size * k * k > _MAX_BOX_CELLS:
        return None
    step = np.arange(k)
    gx = cx0.astype(np.int64)[:, None, None] + step[None, None, :]
    gy = cy0.astype(np.int64)[:, None, None] + step[None, :, None]
    inside = (step[None, None, :] < kx[:, None, None]) & (step[None, :, None] < ky[:, None, None])
    cells = sorted_unique((gy * grid.width + gx)[inside])
    count = grid.starts[cells + 1] - grid.starts[cells]
    total = int(count.sum())
    if total > share * network.n_nodes:
        return None
    offs = np.repeat(grid.starts[cells] - np.concatenate([[0], np.cumsum(count)[:-1]]), count)
    return grid.order[offs + np.arange(total)]  # each node is in one cell: no repeats


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique`` of integers by sorting (numpy's hash-based unique is several times
    slower on the few-thousand-element arrays of a search)."""
    out = np.sort(values)
    if out.size < 2:
        return out
    keep = np.empty(out.size, dtype=bool)
    keep[0] = True
    np.not_equal(out[1:], out[:-1], out=keep[1:])
    return out[keep]


__all__ = [
    "SPARSE_SHARE",
    "append_source_rows",
    "append_sources",
    "nearest_source_search",
    "search_limit",
    "sorted_unique",
    "straight_line_reach_m",
    "sub_csr",
]
