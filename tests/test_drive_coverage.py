"""Coverage by car (``mode="drive"``): one-way streets, per-edge speeds, times *to* a station.

Hand-built drive networks (through the real ``prepare_network(mode="drive")``) whose
answers are computed by hand, the segment functions with a slope column against dense
sampling, a brute force on random directed networks (every edge densified, networkx
Dijkstra on the reversed graph), the pipeline on a drive network, and Futian.

Residential streets are 30 km/h by the China class default: 1,000 m take 120 s, a
slope of 0.12 s/m.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.coverage.core import Coverage, compute_coverage
from geo.coverage.cost import street_cost
from geo.coverage.reach import station_reach, station_segments
from geo.coverage.segments import (
    SLOPE_COLUMN,
    clip_segments,
    cost_pieces,
    covered_length,
    covered_pieces,
    crossing_point,
    weighted_quantile,
)
from geo.coverage.towns import town_report, zone_report
from geo.errors import InvalidParameterError
from geo.network.model import WalkNetwork, prepare_network
from geo.network.travel import travel_graph
from geo.params import CoverageParams
from tests import nets

K30 = 3.6 / 30.0  # s/m at 30 km/h
SQUARE = {0: (0.0, 0.0), 1: (1000.0, 0.0), 2: (1000.0, 1000.0), 3: (0.0, 1000.0)}


def drive_net(nodes: nets.NodeSpec, edges: list[nets.EdgeSpec]) -> WalkNetwork:
    return prepare_network(nets.raw_streets(nodes, edges), crs=nets.CRS, mode="drive")


def square(oneway: str | None = "yes") -> WalkNetwork:
    """A 1 km block: the south side 0 → 1 one-way (``oneway``), the others two-way."""
    return drive_net(SQUARE, [(0, 1, {"oneway": oneway}), (1, 2), (2, 3), (3, 0)])


def drive(net: WalkNetwork, points: list[tuple[float, float]], minutes: float,
          **kw: Any) -> Coverage:
    return compute_coverage(net, nets.stations(points),
                            params=CoverageParams(mode="drive", walk_time_min=minutes, **kw))


def node_minutes(cov: Coverage, node: int) -> float:
    return float(cov.node_walk_time_min()[nets.node_index(cov.network, node)])


def host_pieces(cov: Coverage, u: int, v: int) -> list[tuple[float, float]]:
    e = nets.edge_index(cov.network, u, v)
    p = cov.pieces.loc[cov.pieces["edge"] == e].sort_values("x0")
    return [(round(a, 6), round(b, 6)) for a, b in zip(p["x0"], p["x1"], strict=True)]


# ------------------------------------------------------------------ hand-built one-way

def test_station_downstream_of_a_one_way_street_covers_it_when_the_budget_allows() -> None:
    net = square("yes")
    # station at node 1, the one-way street's downstream end: 0 → 1 takes 120 s
    one = drive(net, [(1000.0, 0.0)], 1)
    # 60 s: the last 500 m before node 1, and 500 m of the two-way 1–2
    assert one.covered_length_m == pytest.approx(1000.0)
    assert host_pieces(one, 0, 1) == [(500.0, 1000.0)]
    two = drive(net, [(1000.0, 0.0)], 2)
    assert host_pieces(two, 0, 1) == [(0.0, 1000.0)]  # wholly covered
    assert two.covered_length_m == pytest.approx(2000.0)  # 0 → 1 and 1–2; node 3 is 240 s
    assert node_minutes(two, 0) == pytest.approx(2.0)
    assert node_minutes(two, 3) == math.inf


def test_station_upstream_of_a_one_way_street_covers_only_what_a_detour_allows() -> None:
    net = square("yes")
    # station at node 0, the upstream end: node 1 reaches it round the block (360 s)
    short = drive(net, [(0.0, 0.0)], 2)
    assert host_pieces(short, 0, 1) == []  # walking would cover 0–1 wholly
    assert short.covered_length_m == pytest.approx(1000.0)  # only 3 → 0
    five = drive(net, [(0.0, 0.0)], 5)  # 300 s: 3–0, 2–3 whole, 500 m of 1–2
    assert five.covered_length_m == pytest.approx(2500.0)
    assert host_pieces(five, 0, 1) == []
    seven = drive(net, [(0.0, 0.0)], 7)  # 420 s: node 1 at 360 s → the last 500 m of 0 → 1
    assert seven.covered_length_m == pytest.approx(3500.0)
    assert host_pieces(seven, 0, 1) == [(500.0, 1000.0)]
    assert node_minutes(seven, 1) == pytest.approx(6.0)
    assert node_minutes(seven, 2) == pytest.approx(4.0)
    # the same block two-way: everything within 4 min of node 0
    assert drive(square(None), [(0.0, 0.0)], 5).covered_length_m == pytest.approx(4000.0)


def test_one_way_against_the_way_and_a_one_way_dead_end() -> None:
    # oneway=-1: the street runs 1 → 0, so a station at node 0 is downstream
    back = drive(square("-1"), [(0.0, 0.0)], 1)
    assert host_pieces(back, 0, 1) == [(0.0, 500.0)]
    # a lone one-way street: nothing upstream of it reaches a station at its start
    line = drive_net({0: (0.0, 0.0), 1: (1000.0, 0.0)}, [(0, 1, {"oneway": "yes"})])
    assert drive(line, [(0.0, 0.0)], 30).covered_length_m == pytest.approx(0.0, abs=1e-9)
    assert drive(line, [(1000.0, 0.0)], 1).covered_length_m == pytest.approx(500.0)


def test_maxspeed_versus_the_class_default() -> None:
    nodes = {0: (0.0, 0.0), 1: (1000.0, 0.0), 2: (2000.0, 0.0)}
    fast = drive_net(nodes, [(0, 1, {"highway": "primary", "maxspeed": "80"}),
                             (1, 2, {"highway": "primary"})])
    plain = drive_net(nodes, [(0, 1, {"highway": "primary"}), (1, 2, {"highway": "primary"})])
    # 60 s from node 0: 1,000 m at 80 km/h take 45 s, then 15 s at the primary default 50
    assert drive(fast, [(0.0, 0.0)], 1).covered_length_m == pytest.approx(1000 + 15 * 50 / 3.6)
    assert drive(plain, [(0.0, 0.0)], 1).covered_length_m == pytest.approx(60 * 50 / 3.6)
    cov = drive(fast, [(0.0, 0.0)], 1)
    assert node_minutes(cov, 1) == pytest.approx(45 / 60)
    # maxspeed in mph
    mph = drive_net(nodes, [(0, 1, {"highway": "primary", "maxspeed": "30 mph"}),
                            (1, 2, {"highway": "primary"})])
    assert drive(mph, [(0.0, 0.0)], 0.5).covered_length_m == pytest.approx(
        30 * 30 * 1.609344 / 3.6)


def test_station_inside_a_one_way_edge() -> None:
    net = square("yes")
    # station 400 m along 0 → 1: the 400 m upstream drive to it, the 600 m downstream
    # must go round the block (node 1 → 2 → 3 → 0 → station: 360 + 48 s)
    one = drive(net, [(400.0, 0.0)], 1)
    assert host_pieces(one, 0, 1) == [(0.0, 400.0)]
    assert one.covered_length_m == pytest.approx(400.0 + 12 / K30)  # + 100 m of 3 → 0
    assert node_minutes(one, 0) == pytest.approx(0.8)
    seven = drive(net, [(400.0, 0.0)], 7)
    assert node_minutes(seven, 1) == pytest.approx(6.8)
    # 420 s: node 1 has 12 s left = the last 100 m before it
    assert host_pieces(seven, 0, 1) == [(0.0, 400.0), (900.0, 1000.0)]
    assert seven.covered_length_m == pytest.approx(400.0 + 100.0 + 3000.0)
    # walking the same block: 500 m either side of the station in 7.5 min at 4 km/h
    walk = nets.build_network(SQUARE, [(0, 1), (1, 2), (2, 3), (3, 0)])
    w = compute_coverage(walk, nets.stations([(400.0, 0.0)]),
                         params=CoverageParams(walk_time_min=7.5))
    assert w.covered_length_m == pytest.approx(1000.0)


def test_two_stations_on_one_one_way_edge_and_labels() -> None:
    net = square("yes")
    cov = drive(net, [(300.0, 0.0), (700.0, 0.0)], 0.5)  # 30 s = 250 m upstream of each
    assert host_pieces(cov, 0, 1) == [(50.0, 300.0), (450.0, 700.0)]
    p = cov.pieces.sort_values("x0")
    assert p.loc[p["edge"] == nets.edge_index(net, 0, 1), "source"].tolist() == [0, 1]
    table = cov.station_table()
    assert table["nearest_covered_length_m"].tolist() == [250.0, 250.0]


def test_off_network_stations_by_car() -> None:
    net = square()
    cov = drive(net, [(500.0, 0.0), (500.0, 500.0)], 5)
    assert cov.stations["status_reason"].iloc[1] == (
        "nearest drivable street is 500 m away (> max_snap_m 200 m)")
    from geo.errors import NoStationsOnNetworkError

    with pytest.raises(NoStationsOnNetworkError, match="drivable street") as err:
        drive(net, [(500.0, 500.0)], 5)
    assert "驾车路网" in err.value.message("zh")


def test_drive_coverage_refuses_a_network_not_prepared_for_drive() -> None:
    walk = nets.build_network(SQUARE, [(0, 1), (1, 2)])
    with pytest.raises(InvalidParameterError, match="prepared for 'walk'"):
        drive(walk, [(0.0, 0.0)], 5)
    ebike = prepare_network(nets.raw_streets(SQUARE, [(0, 1)]), crs=nets.CRS, mode="ebike")
    with pytest.raises(InvalidParameterError, match="mode='drive'"):
        drive(ebike, [(0.0, 0.0)], 5)
    net = square()
    other = square()
    with pytest.raises(InvalidParameterError, match="TravelGraph of this network"):
        compute_coverage(net, nets.stations([(0.0, 0.0)]),
                         params=CoverageParams(mode="drive"), travel=travel_graph(other))
    # a given travel graph is used as it is
    g = travel_graph(net)
    cov = compute_coverage(net, nets.stations([(1000.0, 0.0)]),
                           params=CoverageParams(mode="drive", walk_time_min=1), travel=g)
    assert cov.covered_length_m == pytest.approx(1000.0)
    assert cov.street_cost.graph is g.csr_reverse


def test_cost_units_and_params() -> None:
    p = CoverageParams(mode="drive", walk_time_min=15)
    assert p.cost_unit == "s" and p.budget_cost == 900
    assert p.cost_to_minutes(90.0) == 1.5
    w = CoverageParams(walk_time_min=15)
    assert w.cost_unit == "m" and w.budget_cost == pytest.approx(1000.0)
    assert w.cost_to_minutes(500.0) == pytest.approx(7.5)
    cov = drive(square(), [(1000.0, 0.0)], 2)
    assert cov.cost_unit == "s" and cov.cost_budget == 120
    assert SLOPE_COLUMN in cov.segment_arrays and SLOPE_COLUMN in cov.segments.columns
    assert np.allclose(cov.segments[SLOPE_COLUMN], K30)


# ------------------------------------------------------------ towns, zones, pipeline

def _box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return shapely.box(*nets.absolute(x0, y0), *nets.absolute(x1, y1))


def test_town_p90_and_zone_times_are_drive_minutes() -> None:
    line = drive_net({0: (0.0, 0.0), 1: (1000.0, 0.0)}, [(0, 1, {"oneway": "yes"})])
    cov = drive(line, [(1000.0, 0.0)], 5)
    # the drive time along the street runs 0 … 120 s uniformly over its 1,000 m
    towns = gpd.GeoDataFrame({"town_id": ["T"], "name": ["镇"], "code": [None],
                              "population": [np.nan], "district": [None]},
                             geometry=[_box(-10, -10, 1010, 10)], crs=nets.CRS)
    rep = town_report(cov, towns)
    row = rep.towns.iloc[0]
    assert row["covered_length_share"] == pytest.approx(1.0)
    assert row["walk_time_p90_min"] == pytest.approx(108 / 60, abs=0.005)
    zones = gpd.GeoDataFrame({"zone_id": ["Z"], "name": ["区"]},
                             geometry=[_box(200, -10, 400, 10)], crs=nets.CRS)
    z = zone_report(cov, zones).iloc[0]
    assert z["nearest_walk_time_min"] == pytest.approx(600 * K30 / 60)  # from x = 400
    assert z["covered_length_m"] == pytest.approx(200.0)
    assert bool(z["station_within_threshold"])
    short = zone_report(drive(line, [(1000.0, 0.0)], 1), zones).iloc[0]
    assert not bool(short["station_within_threshold"])  # 72 s > 60 s
    assert short["covered_length_m"] == 0.0


def test_run_coverage_pipeline_by_car(tmp_path: Path) -> None:
    from geo.io.layers import stations_from_frame
    from geo.pipeline.job import run_coverage, write_outputs

    net = square("yes")
    st = nets.stations([(400.0, 0.0)]).to_crs("EPSG:4326")
    table = stations_from_frame(pd.DataFrame(st.drop(columns="geometry")),
                                st.geometry.to_numpy(), source="test")
    params = CoverageParams(mode="drive", walk_time_min=7)
    job = run_coverage(net, table, params=params, per_station_areas=False)
    assert job.coverage.covered_length_m == pytest.approx(3500.0)
    towns = job.towns.towns
    assert towns["covered_length_m"].sum() == pytest.approx(3500.0, abs=0.1 * len(towns))
    assert job.areas.union_area_m2 > 3500.0 * 2 * params.buffer_m * 0.9
    out = write_outputs(job, tmp_path)
    assert out


# --------------------------------------------------------- segment functions with k

def _tent(x: np.ndarray, x0: float, x1: float, d0: float, d1: float, k: float) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.minimum(d0 + k * (x - x0), d1 + k * (x1 - x))


def test_segment_functions_with_a_slope_against_dense_sampling() -> None:
    rng = np.random.default_rng(7)
    n = 300
    x0 = rng.uniform(0, 50, n)
    x1 = x0 + rng.uniform(1, 400, n)
    k = rng.uniform(0.02, 0.5, n)
    d0 = rng.uniform(0, 150, n)
    d1 = rng.uniform(0, 150, n)
    d0[rng.random(n) < 0.3] = np.inf  # one-way ends
    d1[rng.random(n) < 0.3] = np.inf
    seg = pd.DataFrame({"edge": np.arange(n), "x0": x0, "x1": x1, "d0": d0, "d1": d1,
                        "s0": np.where(np.isfinite(d0), 0, -1),
                        "s1": np.where(np.isfinite(d1), 1, -1), "k": k})
    budget = 60.0
    m = 20001
    frac = (np.arange(m) + 0.5) / m
    got = covered_length(seg, budget)
    pieces = covered_pieces(seg, budget)
    t = crossing_point(seg)
    all_f, all_w = [], []
    for i in range(n):
        xs = x0[i] + frac * (x1[i] - x0[i])
        f = _tent(xs, x0[i], x1[i], d0[i], d1[i], k[i])
        w = (x1[i] - x0[i]) / m
        assert got[i] == pytest.approx(float((f <= budget).sum()) * w, abs=2 * w + 1e-9)
        p = pieces.loc[pieces["edge"] == i]
        assert float((p["x1"] - p["x0"]).sum()) == pytest.approx(got[i], abs=1e-9)
        if np.isfinite(d0[i]) and np.isfinite(d1[i]):
            # the crossing point is where the two branches meet
            xc = x0[i] + t[i]
            if 0 < t[i] < x1[i] - x0[i]:
                assert d0[i] + k[i] * t[i] == pytest.approx(d1[i] + k[i] * (x1[i] - xc))
        all_f.append(f)
        all_w.append(np.full(m, w))
    # the p50 / p90 over street length, with the cap
    f_all = np.concatenate(all_f)
    w_all = np.concatenate(all_w)
    lo, span, slope = cost_pieces(seg)
    assert slope is not None
    order = np.argsort(f_all)
    cum = np.cumsum(w_all[order])
    for q in (0.1, 0.3):
        want = f_all[order][np.searchsorted(cum, q * cum[-1])]
        got_q = weighted_quantile(lo, span, q, cap=1e9, slope=slope)
        assert got_q == pytest.approx(want, rel=1e-3, abs=0.05)
    # more than half of the streets are beyond 60 s: the p90 is above the cap
    assert math.isnan(weighted_quantile(lo, span, 0.9, cap=budget, slope=slope))


def test_clip_segments_keeps_the_slope_and_the_cost() -> None:
    seg = pd.DataFrame({"edge": [0, 1], "x0": [0.0, 0.0], "x1": [1000.0, 500.0],
                        "d0": [np.inf, 10.0], "d1": [20.0, 30.0], "s0": [-1, 0],
                        "s1": [0, 1], "k": [0.12, 0.2]})
    parts = pd.DataFrame({"part": [0, 1], "edge": [0, 1], "p": [200.0, 100.0],
                          "q": [600.0, 400.0]})
    c = clip_segments(seg, parts)
    assert c["k"].tolist() == [0.12, 0.2]
    # edge 0: only towards x1; at 200 m the cost is 20 + 0.12 · 800, at 600 m 20 + 48
    assert c["d0"].iloc[0] == pytest.approx(20 + 96) and c["d1"].iloc[0] == pytest.approx(68)
    # edge 1: 10 + 0.2 · 100 = 30 at 100 m; at 400 m min(10 + 80, 30 + 20) = 50
    assert c["d0"].iloc[1] == pytest.approx(30) and c["d1"].iloc[1] == pytest.approx(50)
    budget = 80.0
    xs = np.linspace(200, 600, 400001)
    direct = float((_tent(xs, 0, 1000, np.inf, 20, 0.12) <= budget).mean()) * 400
    assert covered_length(c, budget)[0] == pytest.approx(direct, abs=1e-2)


# ---------------------------------------------------------- per-station reach by car

def test_station_reach_by_car_equals_single_station_coverage() -> None:
    rng = np.random.default_rng(11)
    net = random_drive_network(rng, n_nodes=40, size_m=2500.0)
    pts = [tuple(p) for p in rng.uniform(0, 2500, (6, 2))]
    params = CoverageParams(mode="drive", walk_time_min=2, max_snap_m=5000)
    cov = compute_coverage(net, nets.stations(pts), params=params)
    cost = cov.street_cost
    used = cov.used
    e = used["snap_edge"].to_numpy(dtype=np.int64)
    off = used["snap_offset_m"].to_numpy(dtype=float)
    reach = station_reach(net, e, off, cost=cost, cell_m=400.0)
    seg = station_segments(net, reach, e, off, cost=cost)
    per = np.bincount(seg["source"], weights=covered_length(seg, cost.budget),
                      minlength=len(used))
    for i, (x, y) in enumerate(pts):
        alone = compute_coverage(net, nets.stations([(x, y)]), params=params)
        assert per[i] == pytest.approx(alone.covered_length_m, rel=1e-9, abs=1e-6)
        times = reach.loc[reach["source"] == i].set_index("node")["dist_m"]
        want = alone.node_dist_m[times.index.to_numpy()]
        assert np.allclose(times.to_numpy(), want)
    # pieces per station, as per-station service areas build them
    p = covered_pieces(seg, cost.budget, merge="same_source")
    assert float((p["x1"] - p["x0"]).sum()) == pytest.approx(per.sum(), rel=1e-9)


# --------------------------------------------------------------------- brute force

HIGHWAYS = ("primary", "secondary", "tertiary", "residential", "service")


def random_drive_network(rng: np.random.Generator, *, n_nodes: int = 50,
                         size_m: float = 3000.0, k: int = 3) -> WalkNetwork:
    """Random street graph (k nearest neighbours) with one-way streets both ways, road
    classes, some ``maxspeed`` tags, parallel edges and one-way self-loops."""
    xy = rng.uniform(0, size_m, size=(n_nodes, 2))
    d, pairs = nets.knn_pairs(xy, k)

    def tags() -> dict[str, Any]:
        t: dict[str, Any] = {"highway": str(rng.choice(HIGHWAYS)),
                             "oneway": rng.choice(np.array(["yes", "-1", None, None],
                                                           dtype=object))}
        if rng.random() < 0.25:
            t["maxspeed"] = str(int(rng.choice([20, 40, 60, 80])))
        return t

    edges: list[nets.EdgeSpec] = []
    for i, j in sorted(pairs):
        edges.append((i, j, {"length": float(d[i, j] * (1 + rng.uniform(0, 0.3))), **tags()}))
    for i, j in sorted(pairs)[::6]:
        mid = (xy[i] + xy[j]) / 2 + rng.uniform(-50, 50, 2)
        edges.append((i, j, {"via": [tuple(mid)], "length": float(d[i, j] * 1.6 + 20),
                             **tags()}))
    for i in rng.choice(n_nodes, size=3, replace=False):
        x, y = xy[i]
        edges.append((int(i), int(i), {"via": [(x + 30, y), (x + 30, y + 30), (x, y + 30)],
                                       "length": 120.0 + float(rng.uniform(0, 50)),
                                       "highway": "residential", "oneway": "yes"}))
    return drive_net({i: tuple(p) for i, p in enumerate(xy)}, edges)


def brute_force_drive(network: WalkNetwork, stations: gpd.GeoDataFrame, budget_s: float,
                      step: float = 20.0) -> tuple[float, dict[int, float]]:
    """(covered metres, time of each base node to its nearest station) on a directed
    graph of points every ≤ ``step`` m along every edge: each tiny piece is driven the
    ways its edge is open, at its edge's speed; stations are extra points. Dijkstra on
    the reversed graph from the stations (networkx), independent of geo's CSR, virtual
    sources, segment table and search. A station exactly at a node is reached from the
    node whatever the edge's direction (a zero-length piece is open both ways)."""
    g = travel_graph(network)
    k = 3.6 / g.speed_kmh  # s/m, the speed model of geo.network.modes
    tiny, src = nets.densify(network, stations, step)
    rev = nx.DiGraph()  # arc b → a when a may drive to b
    for a, b, w, e in tiny:
        t = w * float(k[e])
        # a station exactly at a node is that node whichever way the edge runs
        both = w == 0.0
        for frm, to, ok in ((a, b, g.forward[e] or both), (b, a, g.backward[e] or both)):
            if ok and frm != to:
                if rev.has_edge(to, frm):
                    rev[to][frm]["weight"] = min(rev[to][frm]["weight"], t)
                else:
                    rev.add_edge(to, frm, weight=t)
    time_to = nx.multi_source_dijkstra_path_length(rev, src, cutoff=budget_s, weight="weight")
    total = 0.0
    for a, b, w, e in tiny:
        ra = max(budget_s - time_to.get(a, math.inf), 0.0) if g.backward[e] else 0.0
        rb = max(budget_s - time_to.get(b, math.inf), 0.0) if g.forward[e] else 0.0
        total += min(w, (ra + rb) / float(k[e]))
    nodes = {int(key[1]): t for key, t in time_to.items()
             if isinstance(key, tuple) and key[0] == "n"}
    return total, nodes


@pytest.mark.parametrize("seed", [3, 4, 5, 6])
def test_random_directed_networks_against_densified_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    net = random_drive_network(rng)
    g = travel_graph(net)
    assert (g.forward != g.backward).sum() > 10  # plenty of one-way streets
    pts = [tuple(p) for p in rng.uniform(0, 3000, (8, 2))]
    loop = int(np.flatnonzero(net.edge_u == net.edge_v)[0])
    on_loop = shapely.line_interpolate_point(net.geometry[loop], 0.4, normalized=True)
    pts.append((on_loop.x - nets.ORIGIN[0], on_loop.y - nets.ORIGIN[1]))
    pts.append((float(nets.local_x(net)[0]), float(net.node_y[0] - nets.ORIGIN[1])))  # a node
    for minutes in (1, 3):
        params = CoverageParams(mode="drive", walk_time_min=minutes, max_snap_m=5000)
        cov = compute_coverage(net, nets.stations(pts), params=params, travel=g)
        assert cov.stations["snap_edge"].iloc[-2] == loop
        brute, node_t = brute_force_drive(net, cov.stations, params.budget_s)
        assert brute > 0
        assert cov.covered_length_m == pytest.approx(brute, rel=1e-9, abs=1e-6)
        reached = np.flatnonzero(np.isfinite(cov.node_dist_m))
        assert set(reached.tolist()) == set(node_t)
        for i in reached:
            assert cov.node_dist_m[i] == pytest.approx(node_t[int(i)], rel=1e-9, abs=1e-9)
        # the sparse sub-graph search (bound by the fastest speed) gives the same times
        from geo.coverage.search import nearest_source_search

        used = cov.used
        args = (net, used["snap_edge"].to_numpy(), used["snap_offset_m"].to_numpy())
        whole = nearest_source_search(*args, cost=cov.street_cost, sparse=False)
        sub = nearest_source_search(*args, cost=cov.street_cost, sparse=True)
        assert np.array_equal(whole[0], cov.node_dist_m)
        assert np.allclose(sub[0], whole[0], equal_nan=True)
        # covered pieces (metres) add up to the covered length
        assert float((cov.pieces["x1"] - cov.pieces["x0"]).sum()) == pytest.approx(
            cov.covered_length_m, rel=1e-9)
        full = cov.segments
        assert float(covered_length(full, cov.cost_budget).sum()) == pytest.approx(
            cov.covered_length_m, rel=1e-12)


def test_street_cost_of_walk_is_metres() -> None:
    walk = nets.build_network(SQUARE, [(0, 1), (1, 2)])
    c = street_cost(walk, CoverageParams(walk_time_min=15))
    assert c.unit == "m" and c.slope is None and c.budget == pytest.approx(1000.0)
    assert c.graph is walk.csr and not c.directed
    d = street_cost(square(), CoverageParams(mode="drive", walk_time_min=10))
    assert d.unit == "s" and d.budget == 600 and d.directed
    assert d.reach_m == pytest.approx(600 * 30 / 3.6)


# ----------------------------------------------------------------------- real data

@pytest.mark.realdata
def test_futian_by_car_covers_more_than_walking(futian_graphml: Path) -> None:
    from geo.network.loaders import load_network

    walk = load_network(futian_graphml)
    car = load_network(futian_graphml, mode="drive")
    pts = [shapely.Point(walk.node_x[i], walk.node_y[i]) for i in (0, 400, 800, 1200)]
    st = gpd.GeoDataFrame({"station_id": list("abcd"), "name": list("abcd"),
                           "type": [nets.STATION_TYPE] * 4}, geometry=pts, crs=walk.crs)
    w = compute_coverage(walk, st, params=CoverageParams(walk_time_min=10))
    c = compute_coverage(car, st.to_crs(car.crs),
                         params=CoverageParams(mode="drive", walk_time_min=10, max_snap_m=500))
    assert c.n_sources == 4
    print(f"Futian, 10 min: by car {c.covered_length_m / c.total_length_m:.0%} of drivable "
          f"streets, on foot {w.covered_length_m / w.total_length_m:.0%} of walkable ones")
    assert c.covered_length_m > w.covered_length_m
    assert c.covered_length_m / c.total_length_m > 2 * w.covered_length_m / w.total_length_m
    # every reached node's time agrees with a directed search towards the stations
    assert np.nanmax(np.where(np.isfinite(c.node_dist_m), c.node_dist_m, np.nan)) <= 600 + 1e-6
    # a short budget on the real one-way streets against the densified brute force
    short = compute_coverage(car, st.to_crs(car.crs),
                             params=CoverageParams(mode="drive", walk_time_min=1,
                                                   max_snap_m=500))
    brute, _ = brute_force_drive(car, short.stations, 60.0, step=25.0)
    assert short.covered_length_m == pytest.approx(brute, rel=1e-9, abs=1e-6)
