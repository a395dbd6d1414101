"""Per-station reach (:mod:`geo.coverage.reach`) against a brute-force Dijkstra per station."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from scipy.sparse import csgraph

from geo.coverage.core import compute_coverage
from geo.coverage.reach import station_reach, station_segments
from geo.coverage.segments import covered_length
from geo.params import CoverageParams
from tests import nets


def brute_reach(network, src_edge, src_offset, budget: float) -> dict[tuple[int, int], float]:
    """(source, node) → distance by one scipy Dijkstra per station on the *whole* graph.

    The graph is built here as a dense matrix from the edge arrays (shortest of
    parallel edges, no self-loops) plus one extra node splitting the station's edge into
    its two parts (on a self-loop: the shorter way round).
    """
    n = network.n_nodes
    out: dict[tuple[int, int], float] = {}
    base = np.full((n + 1, n + 1), np.inf)
    for u, v, w in zip(network.edge_u, network.edge_v, network.length_m, strict=True):
        if u != v:
            base[u, v] = base[v, u] = min(base[u, v], float(w))
    for k, (e, a) in enumerate(zip(src_edge, src_offset, strict=True)):
        dense = base.copy()
        u, v, L = int(network.edge_u[e]), int(network.edge_v[e]), float(network.length_m[e])
        dense[n, u] = dense[u, n] = min(a, dense[n, u])
        dense[n, v] = dense[v, n] = min(L - a, dense[n, v])
        # inf marks "no edge", so zero-length links (a station at a node) are kept
        g = csgraph.csgraph_from_dense(dense, null_value=np.inf)
        d = csgraph.dijkstra(g, directed=False, indices=n, limit=budget + 1e-3)[:n]
        for node in np.flatnonzero(np.isfinite(d)):
            out[(k, int(node))] = float(d[node])
    return out


def random_stations(rng, network, n: int) -> tuple[np.ndarray, np.ndarray]:
    e = rng.integers(0, network.n_edges, n)
    off = rng.uniform(0, 1, n) * network.length_m[e]
    off[:3] = 0.0  # at a node (u end)
    off[3:5] = network.length_m[e[3:5]]  # at the v end
    loops = np.flatnonzero(network.edge_u == network.edge_v)
    e[5] = loops[0]  # a station on a self-loop
    off[5] = 0.3 * network.length_m[loops[0]]
    return e, off


def compare(reach: pd.DataFrame, brute: dict[tuple[int, int], float], budget: float) -> None:
    got = {(int(s), int(nd)): float(d) for s, nd, d in
           reach[["source", "node", "dist_m"]].itertuples(index=False, name=None)}
    assert len(got) == len(reach), "duplicate (source, node) pairs"
    for key, d in got.items():
        assert key in brute, key
        assert d == pytest.approx(brute[key], abs=1e-6), key
        assert d <= budget * (1 + 1e-9)
    # every pair the brute force finds within the budget (minus float noise) is present
    missing = [k for k, d in brute.items() if d <= budget - 1e-6 and k not in got]
    assert not missing, missing[:5]


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("cell_m", [300.0, 750.0, 4000.0])
def test_station_reach_equals_brute_force(seed, cell_m):
    rng = np.random.default_rng(seed)
    net = nets.random_network(rng, n_nodes=70, size_m=3500.0)
    src_e, src_off = random_stations(rng, net, 25)
    budget = 1000.0
    reach = station_reach(net, src_e, src_off, budget_m=budget, cell_m=cell_m)
    compare(reach, brute_reach(net, src_e, src_off, budget), budget)


def test_station_reach_small_budget_and_large_cells():
    rng = np.random.default_rng(9)
    net = nets.random_network(rng, n_nodes=50, size_m=2000.0)
    src_e, src_off = random_stations(rng, net, 15)
    for budget in (150.0, 2500.0):
        reach = station_reach(net, src_e, src_off, budget_m=budget, cell_m=250.0)
        compare(reach, brute_reach(net, src_e, src_off, budget), budget)


def test_station_reach_no_sources():
    net = nets.build_network([(0, 0), (100, 0)], [(0, 1)])
    r = station_reach(net, np.zeros(0, np.int64), np.zeros(0), budget_m=1000)
    assert len(r) == 0 and list(r.columns) == ["source", "node", "dist_m"]


def test_station_on_the_western_boundary_edge_with_small_cells():
    # Regression: a station on a north–south edge along the western boundary (both
    # ends at the minimum x). Its interpolated x, x0 (1 − f) + x0 f, can round to one
    # ulp below x0 → grid column −1, which wrapped to the far east end of the previous
    # row of cells: only the host edge's ends were searched.
    # Line of nodes 0..20 every 300 m along y = 0 and a spur 0 – 100 north (500 m).
    nodes = {i: (300.0 * i, 0.0) for i in range(21)}
    nodes[100] = (0.0, 500.0)
    net = nets.build_network(nodes, [(i, i + 1) for i in range(20)] + [(0, 100)])
    x = net.node_x.copy()
    x0 = 199_999.99999999997  # an x at which x0 (1 − f) + x0 f < x0 for some f
    x[[nets.node_index(net, 0), nets.node_index(net, 100)]] = x0
    net = dataclasses.replace(net, node_x=x)
    e = nets.edge_index(net, 0, 100)
    f = 0.7214883401940817
    assert x0 * (1 - f) + x0 * f < x0  # the rounding this test is about
    # from node 0 side the station is f × 500 = 360.7 m away: nodes 1, 2 (660.7, 960.7)
    off = f * net.length_m[e] if net.node_id[net.edge_u[e]] == 0 else (1 - f) * net.length_m[e]
    reach = station_reach(net, np.array([e]), np.array([off]), budget_m=1000.0, cell_m=300.0)
    got = dict(zip(net.node_id[reach["node"]], reach["dist_m"], strict=True))
    assert set(got) == {0, 1, 2, 100}
    assert got[2] == pytest.approx(0.7214883401940817 * 500 + 600, abs=1e-6)


def test_station_segments_reach_length_equals_single_station_coverage():
    # For every station alone, compute_coverage's covered length is its reach length.
    rng = np.random.default_rng(4)
    net = nets.random_network(rng, n_nodes=50, size_m=2500.0)
    params = CoverageParams(walk_time_min=9)  # 600 m
    pts = rng.uniform(0, 2500, (12, 2))
    st = nets.stations([tuple(p) for p in pts])
    cov = compute_coverage(net, st, params=params)
    used = cov.used
    src_e = used["snap_edge"].to_numpy()
    src_off = used["snap_offset_m"].to_numpy()
    reach = station_reach(net, src_e, src_off, budget_m=params.budget_m, cell_m=400.0)
    seg = station_segments(net, reach, src_e, src_off)
    per = np.bincount(seg["source"], weights=covered_length(seg, params.budget_m),
                      minlength=len(used))
    for k in range(len(used)):
        alone = compute_coverage(net, st.loc[[used.index[k]]], params=params)
        assert per[k] == pytest.approx(alone.covered_length_m, abs=1e-6), k
    # labels: s0 / s1 are the station itself where that end is reached, else -1
    s = seg["source"].to_numpy()
    assert ((seg["s0"] == s) | (seg["s0"] == -1)).all()
    assert ((seg["s1"] == s) | (seg["s1"] == -1)).all()
    assert (np.isfinite(seg["d0"]) == (seg["s0"] >= 0)).all()
    # never more than the union, and at least the nearest share of each station
    assert per.sum() >= cov.covered_length_m - 1e-6
    nearest = cov.station_table().loc[cov.stations["status"].to_numpy() == "used",
                                      "nearest_covered_length_m"].to_numpy()
    assert (per >= nearest - 0.1).all()
