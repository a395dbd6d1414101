"""Network coverage (:mod:`geo.coverage.core`) on hand-built networks with hand-computed answers,
plus one real-data check against an independent densified-graph brute force."""

from __future__ import annotations

import math
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import shapely

from geo.coverage.core import compute_coverage, coverage_summary
from geo.errors import CRSError, NoStationsOnNetworkError
from geo.params import CoverageParams
from tests import nets

BUDGET_1000 = CoverageParams()  # 15 min at 4 km/h = 900 s × 10/9 m/s = 1000 m



def _intervals_x(cov, x_of_u: np.ndarray) -> list[tuple[float, float]]:
    """Covered pieces of a west→east line network as merged global x intervals."""
    p = cov.pieces
    net = cov.network
    start = x_of_u[net.edge_u[p["edge"].to_numpy()]]
    iv = sorted(zip(start + p["x0"].to_numpy(), start + p["x1"].to_numpy(), strict=True))
    merged: list[list[float]] = []
    for a, b in iv:
        if merged and a <= merged[-1][1] + 1e-6:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


# ----------------------------------------------------------------------------- a line

@pytest.fixture(scope="module")
def line():
    # nodes at x = 0, 500, 1500, 3000 (y = 0); edges 0–1 (500 m), 1–2 (1000 m), 2–3 (1500 m)
    return nets.build_network([(0, 0), (500, 0), (1500, 0), (3000, 0)],
                              [(0, 1), (1, 2), (2, 3)])


def test_line_station_inside_an_edge(line):
    # Station at (1000, 30): nearest street point (1000, 0), 30 m away, 500 m along the
    # 500–1500 edge. Budget 1000 m → reaches x = 1000 ± 1000 = [0, 2000]:
    #   node x=0: 500 + 500 = 1000; x=500: 500; x=1500: 500; x=3000: 500 + 1500 > 1000 → inf
    #   edges: 0–500 fully (500), 500–1500 fully (1000), 1500–3000: r=500 from x=1500 → 500.
    cov = compute_coverage(line, nets.stations([(1000, 30)]), params=BUDGET_1000)
    st = cov.stations.iloc[0]
    assert st["status"] == "used"
    assert st["snap_dist_m"] == pytest.approx(30.0, abs=1e-6)
    assert st["snap_edge"] == nets.edge_index(line, 1, 2)
    assert st["snap_offset_m"] == pytest.approx(500.0, abs=1e-6)
    np.testing.assert_allclose(cov.node_dist_m[:3], [1000.0, 500.0, 500.0], atol=1e-6)
    assert np.isinf(cov.node_dist_m[3])
    assert cov.node_source.tolist() == [0, 0, 0, -1]
    assert cov.covered_length_m == pytest.approx(2000.0, abs=1e-6)
    edge_cov = {(0, 1): 500.0, (1, 2): 1000.0, (2, 3): 500.0}
    for (u, v), want in edge_cov.items():
        assert cov.edge_covered_m[nets.edge_index(line, u, v)] == pytest.approx(want, abs=1e-6)
    got = _intervals_x(cov, nets.local_x(line))
    assert len(got) == 1
    assert got[0] == pytest.approx((0.0, 2000.0), abs=1e-6)
    assert cov.total_length_m == pytest.approx(3000.0, abs=1e-6)
    summary = coverage_summary(cov)
    assert summary["covered_length_m"] == pytest.approx(2000.0)
    assert summary["covered_length_share"] == pytest.approx(2000 / 3000, abs=1e-6)
    # 500 m at 4 km/h (1.111 m/s) = 450 s = 7.5 min
    assert cov.node_walk_time_min()[1] == pytest.approx(7.5)


@pytest.mark.parametrize(
    ("minutes", "kmh", "budget", "interval"),
    [
        # 10 min × 3 km/h: 600 s × 0.8333 m/s = 500 m → x = 1000 ± 500
        (10, 3.0, 500.0, (500.0, 1500.0)),
        # 5 min × 4 km/h = 333.33 m → 1000 ± 333.33
        (5, 4.0, 1000 / 3, (1000 - 1000 / 3, 1000 + 1000 / 3)),
        # 20 min × 4.5 km/h = 1500 m → west stops at the dead end x=0, east to 2500
        (20, 4.5, 1500.0, (0.0, 2500.0)),
        # 30 min × 6 km/h = 3000 m → the whole line (east end is 2000 m away)
        (30, 6.0, 3000.0, (0.0, 3000.0)),
    ],
)
def test_line_cutoff(line, minutes, kmh, budget, interval):
    params = CoverageParams(walk_time_min=minutes, walk_speed_kmh=kmh)
    assert params.budget_m == pytest.approx(budget)
    cov = compute_coverage(line, nets.stations([(1000, 30)]), params=params)
    assert cov.covered_length_m == pytest.approx(interval[1] - interval[0], abs=1e-6)
    got = _intervals_x(cov, nets.local_x(line))
    assert len(got) == 1
    assert got[0] == pytest.approx(interval, abs=1e-6)


def test_two_stations_on_one_edge():
    # One 1000 m edge, stations at x=200 (A) and x=700 (B), budget 250 m (5 min × 3 km/h).
    #   A covers [0 (dead end), 450], B covers [450, 950]; union [0, 950] = 950 m.
    #   node x=0: A at 200; node x=1000: B at 300 (both within 250? no: 300 > 250 → inf).
    #   nearest: the stretch between the stations splits at their midpoint 450:
    #   A: [0, 450] = 450 m, B: [450, 950] = 500 m.
    net = nets.build_network([(0, 0), (1000, 0)], [(0, 1)])
    params = CoverageParams(walk_time_min=5, walk_speed_kmh=3)
    for order in ([(200, 0), (700, 0)], [(700, 0), (200, 0)]):
        st = nets.stations(order, ids=["A", "B"] if order[0][0] == 200 else ["B", "A"])
        cov = compute_coverage(net, st, params=params)
        assert cov.covered_length_m == pytest.approx(950.0, abs=1e-6)
        table = cov.station_table().set_index("station_id")
        assert table.loc["A", "nearest_covered_length_m"] == pytest.approx(450.0)
        assert table.loc["B", "nearest_covered_length_m"] == pytest.approx(500.0)
        assert cov.node_dist_m[0] == pytest.approx(200.0, abs=1e-6)
        assert np.isinf(cov.node_dist_m[1])
        src_a = int(cov.stations.set_index("station_id").loc["A", "source"])
        assert cov.node_source.tolist() == [src_a, -1]
        assert _intervals_x(cov, nets.local_x(net)) == [pytest.approx((0.0, 950.0), abs=1e-6)]


@pytest.mark.parametrize(("minutes", "covered", "dist3"), [
    # budget 1000: all of 500 + 500 + 800; node 3 at 800
    (15, 1800.0, 800.0),
    # 9 min × 4 km/h = 600 m: 500 + 500 + 600 of the 800 m spur; node 3 unreached
    (9, 1600.0, math.inf),
])
def test_station_exactly_at_a_junction(minutes, covered, dist3):
    # T junction: 0 (0,0) – 1 (500,0) – 2 (1000,0) and spur 1 – 3 (500,800).
    # The station is at node 1 itself: whichever edge it snaps to (offset 0 or L),
    # it must walk into all three streets.
    net = nets.build_network([(0, 0), (500, 0), (1000, 0), (500, 800)],
                             [(0, 1), (1, 2), (1, 3)])
    cov = compute_coverage(net, nets.stations([(500, 0)]),
                           params=CoverageParams(walk_time_min=minutes))
    assert cov.stations["snap_dist_m"].iloc[0] == pytest.approx(0.0, abs=1e-6)
    assert cov.covered_length_m == pytest.approx(covered, abs=1e-6)
    d = cov.node_dist_m[[nets.node_index(net, i) for i in (0, 1, 2, 3)]]
    np.testing.assert_allclose(d, [500.0, 0.0, 500.0, dist3], atol=1e-6)


# ------------------------------------------------------------------- nearest on a grid

@pytest.fixture(scope="module")
def grid():
    # 3 × 3 grid, 500 m spacing; node id 10*i + j at (500 i, 500 j)
    nodes = {10 * i + j: (500.0 * i, 500.0 * j) for i in range(3) for j in range(3)}
    edges = [(10 * i + j, 10 * (i + 1) + j) for i in range(2) for j in range(3)]
    edges += [(10 * i + j, 10 * i + j + 1) for i in range(3) for j in range(2)]
    return nets.build_network(nodes, edges)


def test_grid_nearest_station(grid):
    # A at (100, 0) on edge 00–10; B at (1000, 950) on edge 21–22. Budget 1000.
    # From A: 00:100 10:400 01:600 20:900 11:900 02:1100 21:1400 12:1400 22:1900
    # From B: 22:50 21:450 12:550 20:950 11:950 02:1050 10:1450 01:1550 00:2000
    # nearest within 1000: 00 A100, 10 A400, 01 A600, 20 A900, 11 A900, 02 none,
    #                      21 B450, 12 B550, 22 B50
    cov = compute_coverage(grid, nets.stations([(100, 0), (1000, 950)], ids=["A", "B"]),
                           params=BUDGET_1000)
    want = {0: (100, 0), 10: (400, 0), 1: (600, 0), 20: (900, 0), 11: (900, 0),
            2: (math.inf, -1), 21: (450, 1), 12: (550, 1), 22: (50, 1)}
    for nid, (dist, src) in want.items():
        k = nets.node_index(grid, nid)
        assert cov.node_dist_m[k] == pytest.approx(dist, abs=1e-6), nid
        assert cov.node_source[k] == src, nid
    # Covered: every 500 m edge fully except 01–02 (600 → 400 m) and 02–12 (550 → 450 m):
    # 12 × 500 − 100 − 50 = 5850 m.
    assert cov.covered_length_m == pytest.approx(5850.0, abs=1e-6)
    assert cov.edge_covered_m[nets.edge_index(grid, 1, 2)] == pytest.approx(400.0, abs=1e-6)
    assert cov.edge_covered_m[nets.edge_index(grid, 2, 12)] == pytest.approx(450.0, abs=1e-6)
    # Split points at equal network distance: on 20–21 (d 900 A / 450 B, L 500) the
    # switch is at t = (450 − 900 + 500) / 2 = 25 m from node 20; likewise 11–21 at 25 m
    # from 11; on 11–12 (900 A / 550 B) at (550 − 900 + 500) / 2 = 75 m from 11.
    p = cov.pieces
    for (u, v), t in {(20, 21): 25.0, (11, 21): 25.0, (11, 12): 75.0}.items():
        e = nets.edge_index(grid, u, v)
        pe = p.loc[p["edge"] == e]
        flip = grid.node_id[grid.edge_u[e]] != u  # edge stored v→u
        pos_a = pe.loc[pe["source"] == 0, ["x0", "x1"]].to_numpy()
        pos_b = pe.loc[pe["source"] == 1, ["x0", "x1"]].to_numpy()
        assert pos_a.shape == (1, 2) and pos_b.shape == (1, 2)
        L = grid.length_m[e]
        split = L - t if flip else t
        if flip:
            np.testing.assert_allclose(pos_a[0], [split, L], atol=1e-6)
            np.testing.assert_allclose(pos_b[0], [0, split], atol=1e-6)
        else:
            np.testing.assert_allclose(pos_a[0], [0, split], atol=1e-6)
            np.testing.assert_allclose(pos_b[0], [split, L], atol=1e-6)
    # Nearest street length per station (see the comment above):
    # A = 500 (00–10) + 500 (10–20) + 500 (01–11) + 25 (11–21) + 500 (00–01) + 400 (01–02)
    #     + 500 (10–11) + 75 (11–12) + 25 (20–21) = 3025;  B = 5850 − 3025 = 2825.
    table = cov.station_table().set_index("station_id")
    assert table.loc["A", "nearest_covered_length_m"] == pytest.approx(3025.0, abs=0.05)
    assert table.loc["B", "nearest_covered_length_m"] == pytest.approx(2825.0, abs=0.05)
    assert table["nearest_covered_length_m"].sum() == pytest.approx(cov.covered_length_m,
                                                                    abs=0.1)
    # pieces never overlap and sum to the covered length
    assert (p["x1"] - p["x0"]).sum() == pytest.approx(cov.covered_length_m, abs=1e-6)
    for e, g in p.groupby("edge"):
        iv = g.sort_values("x0")[["x0", "x1"]].to_numpy()
        assert (iv[1:, 0] >= iv[:-1, 1] - 1e-9).all(), e


def test_station_table_adds_up_with_off_network_station(grid):
    # third station 900 m off the grid: excluded, nearest length 0, rest unchanged
    st = nets.stations([(100, 0), (1000, 950), (-900, 500)], ids=["A", "B", "X"])
    st.index = [7, 3, 11]  # a non-default index must not misalign anything
    cov = compute_coverage(grid, st, params=BUDGET_1000)
    table = cov.station_table()
    assert table["station_id"].tolist() == ["A", "B", "X"]
    assert table["status"].tolist() == ["used", "used", "off_network"]
    assert table["nearest_covered_length_m"].tolist() == pytest.approx([3025.0, 2825.0, 0.0],
                                                                       abs=0.05)
    assert table["snap_dist_m"].tolist() == pytest.approx([0.0, 0.0, 900.0])
    assert "900 m" in table["status_reason"].iloc[2]
    assert "max_snap_m" in table["status_reason"].iloc[2]
    assert cov.covered_length_m == pytest.approx(5850.0, abs=1e-6)
    assert cov.n_sources == 2


# ---------------------------------------------------------------- dead end and island

@pytest.fixture(scope="module")
def with_island():
    # main: 0 (0,0) – 1 (500,0) – 2 (1000,0), dead-end spur 1 – 3 (500,700)
    # island far north: 4 (0,3000) – 5 (400,3000) – 6 (400,3600)
    nodes = {0: (0, 0), 1: (500, 0), 2: (1000, 0), 3: (500, 700),
             4: (0, 3000), 5: (400, 3000), 6: (400, 3600)}
    return nets.build_network(nodes, [(0, 1), (1, 2), (1, 3), (4, 5), (5, 6)])


def test_dead_end_and_island_uncovered(with_island):
    # station at node 0: 0–1 (500) + 1–2 (500, node 2 at 1000) + 500 of the 700 m spur;
    # island unreached.
    net = with_island
    cov = compute_coverage(net, nets.stations([(0, 0)]), params=BUDGET_1000)
    assert cov.covered_length_m == pytest.approx(1500.0, abs=1e-6)
    assert cov.edge_covered_m[nets.edge_index(net, 1, 3)] == pytest.approx(500.0, abs=1e-6)
    for u, v in ((4, 5), (5, 6)):
        assert cov.edge_covered_m[nets.edge_index(net, u, v)] == 0.0
    for nid in (3, 4, 5, 6):
        assert np.isinf(cov.node_dist_m[nets.node_index(net, nid)])
    assert cov.total_length_m == pytest.approx(2700.0, abs=1e-6)


def test_station_on_island_covers_only_island(with_island):
    # station (200, 3010): 10 m from the 4–5 street, 200 m along it; the island is
    # 400 + 600 = 1000 m and node 6 is 200 + 600 = 800 m away → all of it, nothing else.
    net = with_island
    cov = compute_coverage(net, nets.stations([(200, 3010)]), params=BUDGET_1000)
    assert cov.stations["snap_dist_m"].iloc[0] == pytest.approx(10.0, abs=1e-6)
    assert cov.covered_length_m == pytest.approx(1000.0, abs=1e-6)
    for nid in (0, 1, 2, 3):
        assert np.isinf(cov.node_dist_m[nets.node_index(net, nid)])
    np.testing.assert_allclose(cov.node_dist_m[[nets.node_index(net, n) for n in (4, 5, 6)]],
                               [200.0, 200.0, 800.0], atol=1e-6)
    # both stations together: 1500 + 1000
    both = compute_coverage(net, nets.stations([(0, 0), (200, 3010)]), params=BUDGET_1000)
    assert both.covered_length_m == pytest.approx(2500.0, abs=1e-6)


# ---------------------------------------------------------------------- bad stations

def test_off_network_station_excluded(line):
    # (1000, 250): 250 m from the line > max_snap_m 200 → off-network, excluded.
    st = nets.stations([(1000, 30), (1000, 250)], ids=["on", "off"])
    cov = compute_coverage(line, st, params=BUDGET_1000)
    s = cov.stations.set_index("station_id")
    assert s.loc["off", "status"] == "off_network"
    assert s.loc["off", "snap_edge"] == -1
    assert s.loc["off", "source"] == -1
    assert s.loc["off", "snap_dist_m"] == pytest.approx(250.0, abs=1e-6)
    assert "250 m" in s.loc["off", "status_reason"]
    assert cov.n_sources == 1
    assert cov.covered_length_m == pytest.approx(2000.0, abs=1e-6)
    # a larger max_snap_m lets it in: it snaps to the same point → same covered length
    wide = compute_coverage(line, st, params=CoverageParams(max_snap_m=300))
    assert wide.n_sources == 2
    assert wide.covered_length_m == pytest.approx(2000.0, abs=1e-6)


def test_all_off_network_raises(line):
    with pytest.raises(NoStationsOnNetworkError, match="max_snap_m"):
        compute_coverage(line, nets.stations([(1000, 500), (0, -900)]), params=BUDGET_1000)


def test_stations_in_another_crs_raise(line):
    st = nets.stations([(1000, 30)], crs="EPSG:4326")
    with pytest.raises(CRSError, match="EPSG:4326"):
        compute_coverage(line, st)
    no_crs = nets.stations([(1000, 30)]).set_crs(None, allow_override=True)
    with pytest.raises(CRSError):
        compute_coverage(line, no_crs)


def test_station_without_point_geometry_is_off_network(line):
    st = nets.stations([(1000, 30), (500, 0)], ids=["ok", "line"])
    st.loc[1, "geometry"] = shapely.LineString([nets.absolute(500, 0), nets.absolute(600, 0)])
    cov = compute_coverage(line, st, params=BUDGET_1000)
    s = cov.stations.set_index("station_id")
    assert s.loc["line", "status"] == "off_network"
    assert s.loc["line", "status_reason"] == "no point geometry"
    assert cov.covered_length_m == pytest.approx(2000.0, abs=1e-6)


# ------------------------------------------------------- parallel edges and self-loops

@pytest.fixture(scope="module")
def multi():
    # A (0,0) – B (200,0): a straight 200 m street and a 400 m detour via (0,100),(200,100);
    # a 300 m square self-loop at B: (200,0) (275,0) (275,-75) (200,-75) (200,0).
    nodes = {1: (0, 0), 2: (200, 0)}
    edges = [
        (1, 2),
        (1, 2, {"via": [(0, 100), (200, 100)]}),
        (2, 2, {"via": [(275, 0), (275, -75), (200, -75)]}),
    ]
    return nets.build_network(nodes, edges)


def test_parallel_edges_and_self_loop(multi):
    net = multi
    assert net.n_edges == 3
    np.testing.assert_allclose(np.sort(net.length_m), [200.0, 300.0, 400.0], atol=1e-6)
    # budget 1000, station at A: B is 200 away (the short street, not the 400 m detour);
    # everything is covered: 200 + 400 + min(300, 2 × 800) = 900
    cov = compute_coverage(net, nets.stations([(0, 0)]), params=BUDGET_1000)
    assert cov.node_dist_m[nets.node_index(net, 2)] == pytest.approx(200.0, abs=1e-6)
    assert cov.covered_length_m == pytest.approx(900.0, abs=1e-6)
    assert cov.edge_covered_m[nets.edge_index(net, 2, 2)] == pytest.approx(300.0, abs=1e-6)
    # budget 250 (5 min × 3 km/h): straight 200; detour r_A 250 + r_B 50 = 300 of 400;
    # loop r_B 50 from each end = 100 of 300 → 600
    small = compute_coverage(net, nets.stations([(0, 0)]),
                             params=CoverageParams(walk_time_min=5, walk_speed_kmh=3))
    assert small.covered_length_m == pytest.approx(600.0, abs=1e-6)
    assert small.edge_covered_m[nets.edge_index(net, 1, 2, 400.0)] == pytest.approx(300.0)
    assert small.edge_covered_m[nets.edge_index(net, 2, 2)] == pytest.approx(100.0)


def test_station_on_a_self_loop(multi):
    # station at (275, -25): on the loop, 75 + 25 = 100 m from B one way, 200 m the other.
    # budget 250: B at 100; A at 300 > 250 → inf. loop: all 300 (station splits it into
    # 100 + 200, each reachable from both its ends); straight: 150 from B; detour: 150.
    net = multi
    cov = compute_coverage(net, nets.stations([(275, -25)]),
                           params=CoverageParams(walk_time_min=5, walk_speed_kmh=3))
    assert cov.stations["snap_offset_m"].iloc[0] == pytest.approx(100.0, abs=1e-6)
    assert cov.node_dist_m[nets.node_index(net, 2)] == pytest.approx(100.0, abs=1e-6)
    assert np.isinf(cov.node_dist_m[nets.node_index(net, 1)])
    assert cov.edge_covered_m[nets.edge_index(net, 2, 2)] == pytest.approx(300.0, abs=1e-6)
    assert cov.edge_covered_m[nets.edge_index(net, 1, 2, 200.0)] == pytest.approx(150.0)
    assert cov.edge_covered_m[nets.edge_index(net, 1, 2, 400.0)] == pytest.approx(150.0)
    assert cov.covered_length_m == pytest.approx(600.0, abs=1e-6)


def test_both_directions_of_a_street_count_once():
    # the raw table lists 0→1 and 1→0 (same street, same length): one 1000 m street
    net = nets.build_network([(0, 0), (1000, 0)], [(0, 1), (1, 0)])
    assert net.n_edges == 1
    cov = compute_coverage(net, nets.stations([(0, 0)]), params=BUDGET_1000)
    assert cov.covered_length_m == pytest.approx(1000.0, abs=1e-6)


# -------------------------------------------------------------------------- real data

def _brute_force_covered(network, stations, budget: float, step: float = 5.0) -> float:
    """Covered length on a graph of points every ≤ ``step`` m along every edge.

    Tiny segment weights are scaled so each edge sums to ``network.length_m``; each
    station is an extra point splitting its edge. Independent of geo's CSR, virtual
    sources and segment table.
    """
    g = nx.Graph()
    tiny4, src_nodes = nets.densify(network, stations, step)
    tiny = [(a, b, w) for a, b, w, _e in tiny4]
    # a simple graph merges parallel tiny edges (only one-piece edges between two base
    # nodes): keep the shortest for the distances; the sum below counts every street.
    for a, b, w in tiny:
        if g.has_edge(a, b):
            g[a][b]["weight"] = min(g[a][b]["weight"], w)
        else:
            g.add_edge(a, b, weight=w)
    dist = nx.multi_source_dijkstra_path_length(g, src_nodes, cutoff=budget, weight="weight")
    total = 0.0
    for a, b, w in tiny:
        ra = max(budget - dist.get(a, math.inf), 0.0)
        rb = max(budget - dist.get(b, math.inf), 0.0)
        total += min(w, ra + rb)
    return total


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_random_networks_against_densified_brute_force(seed):
    # parallel edges, self-loops, explicit lengths ≠ geometry; stations anywhere
    rng = np.random.default_rng(seed)
    net = nets.random_network(rng, n_nodes=60, size_m=3000.0)
    pts = [tuple(p) for p in rng.uniform(0, 3000, (10, 2))]
    loop = int(np.flatnonzero(net.edge_u == net.edge_v)[0])
    on_loop = shapely.line_interpolate_point(net.geometry[loop], 0.4, normalized=True)
    pts.append((on_loop.x - nets.ORIGIN[0], on_loop.y - nets.ORIGIN[1]))
    for minutes in (5, 15):
        params = CoverageParams(walk_time_min=minutes, max_snap_m=5000)
        cov = compute_coverage(net, nets.stations(pts), params=params)
        assert cov.stations["snap_edge"].iloc[-1] == loop
        brute = _brute_force_covered(net, cov.stations, params.budget_m, step=20.0)
        assert cov.covered_length_m == pytest.approx(brute, rel=1e-9, abs=1e-6)


@pytest.mark.realdata
def test_real_network_against_densified_brute_force(futian_graphml: Path):
    from geo.network.loaders import load_network

    net = load_network(futian_graphml)
    # the pedestrian filter dropped every motorway / motorway_link
    hw = {h for v in net.edge_attrs["highway"] if v for h in str(v).split(";")}
    assert not hw & {"motorway", "motorway_link"}
    reasons = dict((r, n) for r, n, _ in net.filter_report.by_reason)
    import osmnx as ox

    raw = ox.load_graphml(futian_graphml)
    # count motorway streets in the raw file once per undirected street (u, v, length)
    motor = set()
    for u, v, d in raw.edges(data=True):
        h = d.get("highway")
        hs = h if isinstance(h, list) else [h]
        if any(str(x).startswith("motorway") for x in hs):
            motor.add((min(u, v), max(u, v), round(float(d["length"]), 1)))
    assert motor, "the real-data file is expected to contain motorway links"
    n_motor = reasons.get("highway=motorway", 0) + reasons.get("highway=motorway_link", 0)
    assert n_motor == len(motor)

    # five deterministic stations: three 15 m beside edge midpoints, two at nodes
    rng = np.random.default_rng(20231)
    edges = rng.choice(np.flatnonzero(net.length_m > 100), size=3, replace=False)
    pts = []
    for e in edges:
        g = net.geometry[e]
        mid = shapely.line_interpolate_point(g, 0.5, normalized=True)
        ahead = shapely.line_interpolate_point(g, 0.5 + 1.0 / g.length, normalized=True)
        dx, dy = ahead.x - mid.x, ahead.y - mid.y
        nrm = math.hypot(dx, dy)
        pts.append(shapely.Point(mid.x - 15 * dy / nrm, mid.y + 15 * dx / nrm))
    for k in rng.choice(net.n_nodes, size=2, replace=False):
        pts.append(shapely.Point(net.node_x[k], net.node_y[k]))
    import geopandas as gpd

    st = gpd.GeoDataFrame({"station_id": [f"R{k}" for k in range(5)],
                           "name": [f"驿站{k}" for k in range(5)],
                           "type": [nets.STATION_TYPE] * 5}, geometry=pts, crs=net.crs)
    cov = compute_coverage(net, st, params=BUDGET_1000)
    assert cov.n_sources == 5
    # snapping: the nearest edge by brute force over every edge geometry
    for k, p in enumerate(pts):
        d = shapely.distance(net.geometry, p)
        assert cov.stations["snap_dist_m"].iloc[k] == pytest.approx(d.min(), abs=1e-6)
    assert (cov.stations["snap_dist_m"].iloc[:3].to_numpy() <= 15.0 + 1e-6).all()
    # the first three snap into edge interiors (not onto a node)
    off = cov.stations["snap_offset_m"].to_numpy()
    host_len = net.length_m[cov.stations["snap_edge"].to_numpy()]
    assert ((off[:3] > 1.0) & (off[:3] < host_len[:3] - 1.0)).all()
    brute = _brute_force_covered(net, cov.stations, BUDGET_1000.budget_m)
    assert cov.covered_length_m > 5000  # five stations in a dense city
    assert cov.covered_length_m == pytest.approx(brute, rel=1e-3)
    table = cov.station_table()
    assert table["nearest_covered_length_m"].sum() == pytest.approx(cov.covered_length_m,
                                                                    abs=1.0)
