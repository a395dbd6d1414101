"""The multi-source search (geo.coverage.search): the sparse sub-graph search gives the
whole graph's answer, the straight-line bound it rests on, and the incidence helpers."""

from __future__ import annotations

import nets
import numpy as np
import pytest

from geo.coverage.core import LazySegments, compute_coverage
from geo.coverage.search import nearest_source_search, sorted_unique, sub_csr
from geo.coverage.segments import covered_pieces, segment_arrays
from geo.params import CoverageParams


def _grid(n: int = 30, step: float = 100.0):
    """An ``n × n`` street grid (``step`` m blocks)."""
    nodes = {r * n + c: (c * step, r * step) for r in range(n) for c in range(n)}
    edges = [(r * n + c, r * n + c + 1) for r in range(n) for c in range(n - 1)]
    edges += [(r * n + c, (r + 1) * n + c) for r in range(n - 1) for c in range(n)]
    return nets.build_network(nodes, edges)


@pytest.fixture(scope="module")
def grid():
    return _grid()


def _sources(net, rng, k):
    edge = rng.choice(net.n_edges, size=k, replace=False)
    off = rng.uniform(0, 1, size=k) * net.length_m[edge]
    return edge.astype(np.int64), off


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("budget", [150.0, 333.0, 1000.0])
def test_sparse_search_equals_whole_graph(grid, seed, budget):
    rng = np.random.default_rng(seed)
    edge, off = _sources(grid, rng, 3)
    d_all, s_all, r_all = nearest_source_search(grid, edge, off, budget_m=budget,
                                                sparse=False)
    d_sub, s_sub, r_sub = nearest_source_search(grid, edge, off, budget_m=budget,
                                                sparse=True)
    np.testing.assert_array_equal(d_sub, d_all)
    np.testing.assert_array_equal(s_sub, s_all)
    np.testing.assert_array_equal(np.sort(r_sub), np.sort(r_all))
    np.testing.assert_array_equal(np.sort(r_all), np.flatnonzero(np.isfinite(d_all)))


def test_random_networks_sparse_equals_whole():
    # parallel edges, self-loops, explicit lengths longer than the straight line
    for seed in (3, 4):
        rng = np.random.default_rng(seed)
        net = nets.random_network(rng, n_nodes=80, size_m=4000.0)
        edge, off = _sources(net, rng, 2)
        whole = nearest_source_search(net, edge, off, budget_m=600.0, sparse=False)
        sub = nearest_source_search(net, edge, off, budget_m=600.0, sparse=True)
        np.testing.assert_array_equal(sub[0], whole[0])
        np.testing.assert_array_equal(sub[1], whole[1])


def test_an_edge_shorter_than_its_straight_line_widens_the_box():
    # a 1,000 m straight gap crossed by a "tunnel" edge of length 10 m: a path reaches
    # much farther than its length in a straight line; the bound must follow
    nodes = {0: (0.0, 0.0), 1: (100.0, 0.0), 2: (1100.0, 0.0), 3: (1200.0, 0.0)}
    edges = [(0, 1), (1, 2, {"length": 10.0}), (2, 3)]
    net = nets.build_network(nodes, edges)
    assert net.min_length_ratio == pytest.approx(0.01, rel=1e-6)
    e0 = nets.edge_index(net, 0, 1)
    dist, _, _ = nearest_source_search(net, np.array([e0]), np.array([50.0]),
                                       budget_m=200.0, sparse=True)
    # node 3 is 50 + 10 + 100 = 160 m away along the network, 1,150 m in a straight line
    assert dist[nets.node_index(net, 3)] == pytest.approx(160.0)


def test_the_host_edge_ends_are_in_the_sub_graph_even_beyond_the_budget(grid):
    # a station in the middle of a 100 m block with a 10 m budget reaches no node
    e = 5
    dist, src, reached = nearest_source_search(grid, np.array([e]), np.array([50.0]),
                                               budget_m=10.0, sparse=True)
    assert reached.size == 0 and np.isinf(dist).all() and (src == -1).all()


def test_sub_csr_is_the_induced_sub_graph(grid):
    idx = np.array([0, 1, 2, 30, 31, 900 - 1])
    local = np.full(grid.n_nodes, -1, dtype=np.int64)
    local[idx] = np.arange(idx.size)
    sub = sub_csr(grid.csr, idx, local).toarray()
    full = grid.csr.toarray()[np.ix_(idx, idx)]
    np.testing.assert_array_equal(sub, full)


def test_sorted_unique():
    a = np.array([5, 3, 5, 1, 3, 9])
    np.testing.assert_array_equal(sorted_unique(a), [1, 3, 5, 9])
    assert sorted_unique(np.zeros(0, np.int64)).size == 0


def test_edges_at_lists_every_touching_edge_once():
    nodes = {0: (0.0, 0.0), 1: (100.0, 0.0), 2: (200.0, 0.0), 3: (100.0, 100.0)}
    edges = [(0, 1), (1, 2), (1, 3), (3, 3, {"via": [(130.0, 100.0), (130.0, 130.0)]}),
             (0, 1, {"via": [(50.0, 30.0)]})]
    net = nets.build_network(nodes, edges)
    n1, n3 = nets.node_index(net, 1), nets.node_index(net, 3)
    touching = {i for i in range(net.n_edges) if n1 in (net.edge_u[i], net.edge_v[i])
                or n3 in (net.edge_u[i], net.edge_v[i])}
    got = net.edges_at(np.array([n1, n3]))
    assert list(got) == sorted(touching)
    assert net.edges_at(np.zeros(0, np.int64)).size == 0


def test_node_grid_holds_every_node_once(grid):
    g = grid.node_grid
    assert np.array_equal(np.sort(g.order), np.arange(grid.n_nodes))
    assert g.starts[-1] == grid.n_nodes
    cx = ((grid.node_x - g.x0) // g.cell_m).astype(int)
    cy = ((grid.node_y - g.y0) // g.cell_m).astype(int)
    for c in (0, g.width * g.height - 1):
        members = g.order[g.starts[c]:g.starts[c + 1]]
        assert (np.minimum(cy[members], g.height - 1) * g.width
                + np.minimum(cx[members], g.width - 1) == c).all()


def test_pass_keeps_reached_segments_and_the_whole_table_on_demand(grid):
    pts = [(450.0, 1000.0), (2000.0, 2500.0)]
    params = CoverageParams(walk_time_min=5)  # 333 m
    cov = compute_coverage(grid, nets.stations(pts), params=params)
    seg = cov.segment_arrays
    assert isinstance(seg, LazySegments)
    reached = cov.reached_segments
    assert len(reached["edge"]) < grid.n_edges / 5
    # the whole table equals the table built over every edge
    used = cov.used
    full = segment_arrays(grid.edge_u, grid.edge_v, grid.length_m, cov.node_dist_m,
                          cov.node_source, used["snap_edge"].to_numpy(),
                          used["snap_offset_m"].to_numpy())
    for k in full:
        np.testing.assert_array_equal(seg[k], full[k])
    assert len(cov.segments) == len(full["edge"])
    # covered length and covered pieces from the reached part are the whole table's
    assert cov.covered_length_m == pytest.approx(
        float(np.sum(np.minimum(full["x1"] - full["x0"],
                                np.clip(params.budget_m - full["d0"], 0, None)
                                + np.clip(params.budget_m - full["d1"], 0, None)))),
        rel=1e-12)
    a = covered_pieces(full, params.budget_m)
    b = cov.pieces
    for k in ("edge", "x0", "x1", "source"):
        np.testing.assert_array_equal(a[k].to_numpy(), b[k].to_numpy())
