"""Per-station reach: every (station, node, distance) within the walk budget.

The coverage pass only knows each node's *nearest* station; a station's own service
area needs its own reach. A scipy call per station on the whole graph costs time in
proportion to the whole graph, so stations are grouped into square cells and each
cell's stations are searched together on the sub-graph of the cell's box grown by how
far the budget can get in a straight line
(:func:`~geo.coverage.search.straight_line_reach_m`: the budget over the network's
smallest ratio of edge length to the straight line between the edge's ends), so the
answer is the whole graph's.

With a cost model (:class:`~geo.coverage.cost.StreetCost`, e.g. seconds by car with
one-way streets) the search runs on its graph (the reversed directed time graph, so
``dist_m`` is each node's *time to* the station, in the model's unit) and the box is
grown by :attr:`~geo.coverage.cost.StreetCost.reach_m` (budget × fastest speed);
:func:`station_segments` then carries the slope column and the one-way ends.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import pandas as pd
from scipy.sparse import csgraph

from geo.coverage.cost import StreetCost
from geo.coverage.search import (
    append_source_rows,
    search_limit,
    straight_line_reach_m,
    sub_csr,
)
from geo.coverage.segments import orient_segments
from geo.network.model import WalkNetwork

DEFAULT_CELL_M: Final = 4000.0
_BATCH: Final = 256  # sources per dijkstra call
_MAX_DENSE: Final = 20_000_000  # distance cells per dijkstra call with a cost model


def station_reach(network: WalkNetwork, src_edge: np.ndarray, src_offset: np.ndarray, *,
                  budget_m: float | None = None, cell_m: float = DEFAULT_CELL_M,
                  cost: StreetCost | None = None) -> pd.DataFrame:
    """Long table ``source, node, dist_m`` of every node within ``budget_m`` of each
    source (sources given by edge and offset along it). ``cost`` (instead of
    ``budget_m``): within that cost model's budget, ``dist_m`` in its unit (seconds by
    car: the time from the node to the source)."""
    src_edge = np.asarray(src_edge, dtype=np.int64)
    src_offset = np.asarray(src_offset, dtype=float)
    csr, budget, reach_m, (w_u, w_v) = _search_model(network, src_edge, src_offset,
                                                     budget_m=budget_m, cost=cost)
    n_src = src_edge.size
    if n_src == 0:
        return pd.DataFrame({"source": np.zeros(0, np.int64), "node": np.zeros(0, np.int64),
                             "dist_m": np.zeros(0)})
    u = network.edge_u[src_edge]
    v = network.edge_v[src_edge]
    # source position: interpolate between the edge ends (good enough for cell choice;
    # the box margin covers the difference)
    f = np.where(network.length_m[src_edge] > 0,
                 src_offset / np.maximum(network.length_m[src_edge], 1e-12), 0.0)
    sx = network.node_x[u] * (1 - f) + network.node_x[v] * f
    sy = network.node_y[u] * (1 - f) + network.node_y[v] * f
    # a path within the budget gets at most this far in a straight line
    margin = float(straight_line_reach_m(network, reach_m))
    x0, y0 = network.node_x.min(), network.node_y.min()
    width = int((network.node_x.max() - x0) // cell_m) + 1
    # clamp to the grid: rounding can put sx a hair outside [min x, max x] (e.g. on an
    # edge along the western boundary), and a column of -1 or ``width`` would wrap into
    # the neighbouring row of cells
    scx = np.clip(np.floor((sx - x0) / cell_m).astype(np.int64), 0, width - 1)
    scy = np.clip(np.floor((sy - y0) / cell_m).astype(np.int64), 0, None)
    src_cell = scy * width + scx
    local = np.full(network.n_nodes, -1, dtype=np.int64)
    out_s, out_n, out_d = [], [], []
    for cell in np.unique(src_cell):
        members = np.flatnonzero(src_cell == cell)
        cx, cy = int(cell % width), int(cell // width)
        bx0 = min(x0 + cx * cell_m, sx[members].min()) - margin
        bx1 = max(x0 + (cx + 1) * cell_m, sx[members].max()) + margin
        by0 = min(y0 + cy * cell_m, sy[members].min()) - margin
        by1 = max(y0 + (cy + 1) * cell_m, sy[members].max()) + margin
        idx = network.node_grid.nodes_near(bx0, by0, bx1, by1)
        nx_, ny_ = network.node_x[idx], network.node_y[idx]
        idx = idx[(nx_ >= bx0) & (nx_ <= bx1) & (ny_ >= by0) & (ny_ <= by1)]
        # the host edge's ends must be present for the virtual source edges
        idx = np.unique(np.concatenate([idx, u[members], v[members]]))
        local[idx] = np.arange(idx.size)
        sub = sub_csr(csr, idx, local)
        # virtual sources on the host edges' ends (local indices)
        graph = append_source_rows(sub, local[u[members]], local[v[members]],
                                   w_u[members], w_v[members])
        m = idx.size
        # batches bound the dense (batch × sub-graph) distance array (a drive box spans
        # the budget at the fastest speed: fewer sources per call on a large sub-graph)
        size = _BATCH if cost is None else max(1, min(_BATCH, _MAX_DENSE // max(m, 1)))
        for start in range(0, members.size, size):
            batch = np.arange(start, min(start + size, members.size))
            dist = csgraph.dijkstra(graph, directed=True, indices=m + batch,
                                    limit=search_limit(budget))
            dist = dist[:, :m]
            r, c = np.nonzero(np.isfinite(dist))
            out_s.append(members[batch[r]])
            out_n.append(idx[c])
            out_d.append(dist[r, c])
        local[idx] = -1
    return pd.DataFrame({
        "source": np.concatenate(out_s).astype(np.int64),
        "node": np.concatenate(out_n).astype(np.int64),
        "dist_m": np.concatenate(out_d),
    })


def _search_model(network: WalkNetwork, src_edge: np.ndarray, src_offset: np.ndarray, *,
                  budget_m: float | None, cost: StreetCost | None
                  ) -> tuple[Any, float, float, tuple[np.ndarray, np.ndarray]]:
    """(graph, budget, straight-line reach in metres, source-row weights) of a search
    in metres (``budget_m``) or in ``cost``'s model."""
    if cost is not None:
        return (cost.graph, cost.budget, cost.reach_m,
                cost.source_costs(network.length_m, src_edge, src_offset))
    if budget_m is None:
        raise TypeError("station_reach needs budget_m or cost")
    a = np.clip(src_offset, 0.0, network.length_m[src_edge])
    return (network.csr, float(budget_m), float(budget_m),
            (a, network.length_m[src_edge] - a))


def station_segments(network: WalkNetwork, reach: pd.DataFrame, src_edge: np.ndarray,
                     src_offset: np.ndarray, *, cost: StreetCost | None = None
                     ) -> pd.DataFrame:
    """Per-station segment table: the :mod:`geo.coverage.segments` columns plus ``source``.

    For each source: every edge touching a node it reaches, plus its own edge split at
    the station; ``s0``/``s1`` hold the source itself where that end is reached.
    ``cost`` (the model ``reach`` was searched with): the slope column ``k`` and the
    one-way ends (``inf``) of :func:`~geo.coverage.segments.orient_segments`.
    """
    src_edge = np.asarray(src_edge, dtype=np.int64)
    n = network.n_nodes
    eu = network.edge_u.astype(np.int64)
    ev = network.edge_v.astype(np.int64)
    # node → incident edges (built once per network)
    indptr, inc_edge = network.node_edges
    start = indptr[:-1]
    deg = np.diff(indptr)
    rs = reach["source"].to_numpy()
    rn = reach["node"].to_numpy()
    rd = reach["dist_m"].to_numpy()
    reps = deg[rn]
    pair_src = np.repeat(rs, reps)
    first = np.repeat(start[rn], reps)
    k = np.arange(pair_src.size) - np.repeat(np.cumsum(reps) - reps, reps)
    pair_edge = inc_edge[first + k]
    # add each source's own edge, then de-duplicate (source, edge)
    pair_src = np.concatenate([pair_src, np.arange(src_edge.size)])
    pair_edge = np.concatenate([pair_edge, src_edge])
    key = np.unique(pair_src * network.n_edges + pair_edge)
    ps = key // network.n_edges
    pe = key % network.n_edges
    # distance lookup per (source, node)
    rkey = rs * n + rn
    ro = np.argsort(rkey)
    rkey, rdist = rkey[ro], rd[ro]

    def lookup(src: np.ndarray, node: np.ndarray) -> np.ndarray:
        q = src * n + node
        pos = np.searchsorted(rkey, q)
        pos = np.clip(pos, 0, max(rkey.size - 1, 0))
        hit = rkey.size > 0
        found = (rkey[pos] == q) if hit else np.zeros(q.size, dtype=bool)
        return np.where(found, rdist[pos] if hit else np.inf, np.inf)

    d0 = lookup(ps, eu[pe])
    d1 = lookup(ps, ev[pe])
    own = pe == src_edge[ps]
    # plain edges: one segment each
    plain = ~own
    seg_plain = pd.DataFrame({
        "source": ps[plain], "edge": pe[plain], "x0": 0.0,
        "x1": network.length_m[pe[plain]], "d0": d0[plain], "d1": d1[plain],
    })
    # own edges: [0, a] with (d_u, 0) and [a, L] with (0, d_v)
    os_ = ps[own]
    oe = pe[own]
    a = np.clip(np.asarray(src_offset, dtype=float)[os_], 0.0, network.length_m[oe])
    seg_own = pd.DataFrame({
        "source": np.concatenate([os_, os_]),
        "edge": np.concatenate([oe, oe]),
        "x0": np.concatenate([np.zeros(oe.size), a]),
        "x1": np.concatenate([a, network.length_m[oe]]),
        "d0": np.concatenate([d0[own], np.zeros(oe.size)]),
        "d1": np.concatenate([np.zeros(oe.size), d1[own]]),
    })
    seg = pd.concat([seg_plain, seg_own], ignore_index=True)
    if cost is not None and cost.slope is not None:
        cols = orient_segments({c: seg[c].to_numpy() for c in seg.columns},
                               slope=cost.slope, forward=cost.forward,
                               backward=cost.backward)
        seg = pd.DataFrame(cols)
    reached = np.isfinite(seg["d0"].to_numpy()) | np.isfinite(seg["d1"].to_numpy())
    seg = seg.loc[reached].reset_index(drop=True)
    seg["s0"] = np.where(np.isfinite(seg["d0"]), seg["source"], -1)
    seg["s1"] = np.where(np.isfinite(seg["d1"]), seg["source"], -1)
    return seg


__all__ = ["DEFAULT_CELL_M", "station_reach", "station_segments"]
