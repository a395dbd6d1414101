"""Site suggestions (:mod:`geo.siting.suggest`, :mod:`geo.cli.suggest`): a hand-built network
with a known optimum, random instances (ILP ≥ greedy ≥ (1 − 1/e) ILP, brute force), the
exactness of the reported gains against ``compute_coverage``, the CLI and the app page."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.cli import suggest as cli_suggest
from geo.coverage.core import compute_coverage
from geo.coverage.towns import town_report
from geo.errors import InvalidParameterError, StationDataError
from geo.network.model import save_network
from geo.params import CoverageParams
from geo.siting.suggest import (
    GUARANTEE,
    Candidates,
    build_demand,
    build_problem,
    covered_demand,
    nearest_street,
    network_candidates,
    point_candidates,
    sites_output,
    solve_ilp,
    street_name,
    suggest_sites,
    suggested_stations,
)
from tests import nets

ROOT = Path(__file__).resolve().parents[1]
BUDGET_1000 = CoverageParams()  # 15 min at 4 km/h = 1,000 m
BUDGET_333 = CoverageParams(walk_time_min=5.0)  # 333.3 m


# ---------------------------------------------------------------- the hand-built network
#
# Three stars joined by two long connectors (all straight, lengths = geometry):
#   A: centre (0, 0), 6 spokes of 900 m; B: centre (6000, 0), 4 spokes of 900 m;
#   C: centre (12000, 0), 3 spokes of 900 m (west, 60°, −60°), the existing station;
#   connectors A-east tip (900, 0) → B-west tip (5100, 0) and B-east tip (6900, 0) →
#   C-west tip (11100, 0), 4,200 m each with nodes every 1,050 m;
#   a trunk road of 1,500 m from C's 60° tip to T (its nodes are no candidates).
# Budget 1,000 m. New street covered by a site at:
#   A centre: 6 × 900 + 100 (connector beyond the east tip)          = 5,500 m
#   B centre: 4 × 900 + 100 + 100                                     = 3,800 m
#   a connector node: 2,000 m (1,950 m next to a covered stretch); a tip: ≤ 2,400 m.
# So K = 2 → {A centre, B centre}, gains 5,500 then 3,800; K = 3 adds a middle connector
# node (x = 3000 or 9000) with 2,000 m.

def _polar(cx: float, r: float, deg: float) -> tuple[float, float]:
    return (cx + r * math.cos(math.radians(deg)), r * math.sin(math.radians(deg)))


def _stars():
    nodes: dict[int, tuple[float, float]] = {}
    edges: list = []
    for cid, cx, angles in ((100, 0.0, (0, 60, 120, 180, 240, 300)),
                            (200, 6000.0, (0, 90, 180, 270)),
                            (300, 12000.0, (180, 60, -60))):
        nodes[cid] = (cx, 0.0)
        for j, a in enumerate(angles):
            nodes[cid + 1 + j] = _polar(cx, 900.0, a)
            edges.append((cid, cid + 1 + j))
    # connectors: A east tip 101 → B west tip 203; B east tip 201 → C west tip 301
    for start, end, x0, base in ((101, 203, 900.0, 400), (201, 301, 6900.0, 500)):
        chain = [start]
        for i in range(1, 4):
            nodes[base + i] = (x0 + 1050.0 * i, 0.0)
            chain.append(base + i)
        chain.append(end)
        edges += list(itertools.pairwise(chain))
    tip60 = 302
    nodes[900] = (nodes[tip60][0] + 1500.0, nodes[tip60][1])
    edges.append((tip60, 900, {"highway": "trunk"}))
    return nets.build_network(nodes, edges)


@pytest.fixture(scope="module")
def stars():
    return _stars()


@pytest.fixture(scope="module")
def star_station():
    return nets.stations([(12000.0, 0.0)])


def test_default_candidates_filters(stars, star_station) -> None:
    xy = np.array([nets.absolute(12000.0, 0.0)])
    c = network_candidates(stars, xy)
    ids = set(c.sites["node_id"])
    assert 300 not in ids  # the existing station's node (< 300 m)
    assert 302 not in ids and 900 not in ids  # on the trunk road
    assert ids == set(stars.node_id.tolist()) - {300, 302, 900}
    assert (c.sites["snap_dist_m"] < 1e-6).all()
    # 1,000 m also drops C's tips (900 m from the station)
    far = set(network_candidates(stars, xy, min_distance_m=1000.0).sites["node_id"])
    assert far == ids - {301, 303}
    # the cap keeps a deterministic sample
    a = network_candidates(stars, xy, max_candidates=5, seed=3).sites["node_id"].tolist()
    b = network_candidates(stars, xy, max_candidates=5, seed=3).sites["node_id"].tolist()
    assert a == b and len(a) == 5 and set(a) <= ids


@pytest.mark.parametrize("method", ["greedy", "ilp"])
def test_hand_built_known_optimum(stars, star_station, method: str) -> None:
    res = suggest_sites(stars, star_station, k=2, params=BUDGET_1000, method=method)
    assert res.demand_basis == "street_length"
    assert res.sites["node_id"].tolist() == [100, 200]
    assert res.sites["marginal_gain"].tolist() == pytest.approx([5500.0, 3800.0], abs=1e-6)
    assert res.sites["cumulative_gain"].tolist() == pytest.approx([5500.0, 9300.0], abs=1e-6)
    assert res.total_gain == pytest.approx(9300.0, abs=1e-6)
    assert res.sites["new_street_m"].tolist() == pytest.approx([5500.0, 3800.0], abs=1e-6)
    assert res.curve["k"].tolist() == [0, 1, 2]
    assert res.curve["cumulative_gain"].tolist() == pytest.approx([0, 5500, 9300], abs=1e-6)
    before = compute_coverage(stars, star_station, params=BUDGET_1000).covered_length_m
    assert res.covered_before == pytest.approx(before)
    assert res.curve["covered_share"].iloc[-1] == pytest.approx(
        (before + 9300.0) / stars.total_length_m)
    if method == "ilp":
        assert res.solver["optimal"] and res.solver["solver"] == "cbc"
        assert res.optimum_upper_bound == pytest.approx(9300.0)
    else:
        assert res.optimum_upper_bound >= 9300.0 - 1e-6


def test_hand_built_brute_force_and_third_site(stars, star_station) -> None:
    """Every pair of candidates through compute_coverage: {A, B} is the unique best."""
    cands = network_candidates(stars, np.array([nets.absolute(12000.0, 0.0)]))
    before = compute_coverage(stars, star_station, params=BUDGET_1000).covered_length_m
    pts = cands.sites.geometry.to_numpy()
    ids = cands.sites["node_id"].to_numpy()
    best: dict[tuple[int, int], float] = {}
    for i, j in itertools.combinations(range(len(pts)), 2):
        st = pd.concat([star_station, gpd.GeoDataFrame(
            {"station_id": ["a", "b"], "name": "x", "type": nets.STATION_TYPE},
            geometry=[pts[i], pts[j]], crs=nets.CRS)], ignore_index=True)
        best[(int(ids[i]), int(ids[j]))] = compute_coverage(
            stars, st, params=BUDGET_1000).covered_length_m - before
    top = sorted(best.items(), key=lambda kv: -kv[1])
    assert top[0][0] == (100, 200) and top[0][1] == pytest.approx(9300.0, abs=1e-6)
    assert top[1][1] < 9300.0 - 100
    res = suggest_sites(stars, star_station, k=3, params=BUDGET_1000)
    assert res.sites["node_id"].iloc[2] in (402, 502)  # x = 3000 or 9000
    assert res.sites["marginal_gain"].iloc[2] == pytest.approx(2000.0, abs=1e-6)


def test_greedy_stops_when_nothing_is_left(stars) -> None:
    # a user list of two sites: the third and fourth requested site add nothing
    pts = gpd.GeoDataFrame({"candidate_id": ["A", "A2", "far"]},
                           geometry=[shapely.Point(nets.absolute(0, 0)),
                                     shapely.Point(nets.absolute(0, 10)),
                                     shapely.Point(nets.absolute(3000, 5000))],
                           crs=nets.CRS)
    res = suggest_sites(stars, None, k=4, candidates=pts, params=BUDGET_1000)
    assert res.existing_used == 0 and res.covered_before == 0.0
    assert res.sites["candidate_id"].tolist() == ["A"]  # A2 (10 m away) adds nothing new
    assert res.sites["marginal_gain"].iloc[0] == pytest.approx(5500.0, abs=1e-6)
    assert any("only 1 of the 4" in n for n in res.notes)
    assert res.candidates.rejected["candidate_id"].tolist() == ["far"]
    assert "max_snap_m" in res.candidates.rejected["reason"].iloc[0]


def test_parameter_errors(stars, star_station) -> None:
    for bad in (0, -1, 1001, 2.5):
        with pytest.raises(InvalidParameterError):
            suggest_sites(stars, star_station, k=bad)
    with pytest.raises(InvalidParameterError):
        suggest_sites(stars, star_station, k=2, method="annealing")
    with pytest.raises(InvalidParameterError):
        suggest_sites(stars, star_station, k=2, min_distance_m=-5)
    with pytest.raises(StationDataError, match="no candidate"):
        suggest_sites(stars, star_station, k=2, min_distance_m=40_000)


def test_ilp_refuses_large_instances(stars, star_station,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import geo.siting.solvers as solvers

    monkeypatch.setattr(solvers, "ILP_MAX_CANDIDATES", 3)
    with pytest.raises(InvalidParameterError, match="method greedy"):
        suggest_sites(stars, star_station, k=2, params=BUDGET_1000, method="ilp")


# ---------------------------------------------------------------------- random instances


def _random_case(seed: int, n_stations: int = 2):
    rng = np.random.default_rng(seed)
    net = nets.random_network(rng, n_nodes=50, size_m=2500.0)
    e = rng.choice(net.n_edges, size=n_stations, replace=False)
    pts = shapely.line_interpolate_point(net.geometry[e], rng.random(n_stations),
                                         normalized=True)
    st = gpd.GeoDataFrame({"station_id": [f"S{i}" for i in range(n_stations)], "name": "s",
                           "type": nets.STATION_TYPE}, geometry=pts, crs=net.crs)
    return rng, net, st


def _towns(net, rng) -> gpd.GeoDataFrame:
    """Three towns (two quadrants and a disc) leaving some streets outside every town."""
    x0, y0, x1, y1 = net.bounds
    mx, my = (x0 + x1) / 2, (y0 + y1) / 2
    polys = [shapely.box(x0 - 1, y0 - 1, mx, my), shapely.box(mx, my, x1 + 1, y1 + 1),
             shapely.Point(x0 + 0.2 * (x1 - x0), y0 + 0.8 * (y1 - y0)).buffer(500.0)]
    polys[2] = shapely.difference(polys[2], shapely.union(polys[0], polys[1]))
    return gpd.GeoDataFrame({"town_id": ["T1", "T2", "T3"], "name": ["甲镇", "乙街道", "丙镇"],
                             "population": rng.integers(1000, 50_000, 3).astype(float)},
                            geometry=polys, crs=net.crs)


def _recomputed_gain(net, st, res, towns, params) -> float:
    demand = build_demand(net, towns)
    before = covered_demand(compute_coverage(net, st, params=params), demand)
    both = pd.concat([st, suggested_stations(res).to_crs(net.crs)], ignore_index=True)
    return covered_demand(compute_coverage(net, both, params=params), demand) - before


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_ilp_geq_greedy_geq_bound(seed: int) -> None:
    rng, net, st = _random_case(seed)
    towns = _towns(net, rng) if seed % 2 else None
    k = 2 + seed % 3
    kwargs = {"k": k, "towns": towns, "params": BUDGET_333, "max_candidates": 35,
              "seed": seed}
    greedy = suggest_sites(net, st, method="greedy", **kwargs)
    ilp = suggest_sites(net, st, method="ilp", solver="highs" if seed > 2 else "cbc",
                        **kwargs)
    assert ilp.solver["optimal"]
    tol = 1e-7 * max(ilp.total_gain, 1.0)
    assert ilp.total_gain >= greedy.total_gain - tol
    assert greedy.total_gain >= GUARANTEE * ilp.total_gain - tol
    assert greedy.optimum_upper_bound >= ilp.total_gain - tol
    assert ilp.solver["objective"] == pytest.approx(ilp.total_gain, rel=1e-6, abs=1e-6)
    # both gains are exact: coverage recomputed with the sites added, minus before
    for res in (greedy, ilp):
        assert res.total_gain == pytest.approx(_recomputed_gain(net, st, res, towns,
                                                                BUDGET_333),
                                               rel=1e-9, abs=1e-6)
        assert (np.diff(res.sites["marginal_gain"].to_numpy()) <= 1e-9).all() \
            if res.method == "greedy" else True


def test_random_ilp_matches_brute_force() -> None:
    _rng, net, st = _random_case(11)
    base = compute_coverage(net, st, params=BUDGET_333)
    demand = build_demand(net, None)
    cands = network_candidates(net, shapely.get_coordinates(base.used.geometry.to_numpy()),
                               max_candidates=25, seed=5)
    problem = build_problem(net, cands, demand, base, budget_m=BUDGET_333.budget_m)
    # one candidate never covers an element twice
    for c in range(problem.n_candidates):
        el = problem.elem[problem.ptr[c]:problem.ptr[c + 1]]
        assert np.unique(el).size == el.size
    for k in (2, 3):
        brute = max(problem.value(np.array(s))[0]
                    for s in itertools.combinations(range(len(cands)), k))
        chosen, info = solve_ilp(problem, k)
        assert problem.value(chosen)[0] == pytest.approx(brute, rel=1e-9)
        assert len(chosen) <= k and info["optimal"]
    # the element value of any set equals compute_coverage's difference
    for s in ([0, 3], [1, 2, 7], [4]):
        sites = cands.sites.iloc[s]
        both = pd.concat([st, gpd.GeoDataFrame(
            {"station_id": [f"c{i}" for i in s], "name": "c", "type": nets.STATION_TYPE},
            geometry=sites.geometry.to_numpy(), crs=net.crs)], ignore_index=True)
        diff = compute_coverage(net, both, params=BUDGET_333).covered_length_m \
            - base.covered_length_m
        gain, street = problem.value(np.array(s))
        assert gain == pytest.approx(diff, rel=1e-9, abs=1e-6)
        assert street == pytest.approx(diff, rel=1e-9, abs=1e-6)


def test_population_gain_matches_town_report() -> None:
    rng, net, st = _random_case(21, n_stations=3)
    towns = _towns(net, rng)
    res = suggest_sites(net, st, k=3, towns=towns, params=BUDGET_333)
    assert res.demand_basis == "population" and res.demand_unit == "people"
    empty = shapely.Polygon()

    def covered_people(stations: gpd.GeoDataFrame) -> float:
        cov = compute_coverage(net, stations, params=BUDGET_333)
        rep = town_report(cov, towns, union=empty)
        return float(rep.towns["covered_population"].sum())

    both = pd.concat([st, suggested_stations(res)], ignore_index=True)
    # town_report rounds to whole people per town
    assert res.total_gain == pytest.approx(covered_people(both) - covered_people(st), abs=2.0)
    assert res.total_demand == pytest.approx(float(towns["population"].sum()))
    assert set(res.sites["town"].dropna()) <= set(towns["name"])
    # the street-length basis of the same instance
    res_len = suggest_sites(net, st, k=3, towns=towns, params=BUDGET_333,
                            demand_basis="street_length")
    assert res_len.demand_basis == "street_length"
    assert res_len.total_gain == pytest.approx(res_len.total_street_m)
    with pytest.raises(InvalidParameterError, match="population"):
        suggest_sites(net, st, k=2, towns=towns.assign(population=np.nan),
                      demand_basis="population")


def test_user_candidates_and_precomputed_coverage() -> None:
    _rng, net, st = _random_case(31)
    base = compute_coverage(net, st, params=BUDGET_333)
    pts = shapely.points(net.node_x[:12] + 5.0, net.node_y[:12])
    user = gpd.GeoDataFrame({"candidate_id": [f"U{i}" for i in range(12)],
                             "name": [f"<b>候选{i}</b>" for i in range(12)]},
                            geometry=pts, crs=net.crs).to_crs("EPSG:4326")
    cands = point_candidates(net, user, max_snap_m=BUDGET_333.max_snap_m)
    assert isinstance(cands, Candidates) and len(cands) == 12
    a = suggest_sites(net, coverage=base, k=3, candidates=user)
    b = suggest_sites(net, st, k=3, candidates=cands, params=BUDGET_333)
    assert a.sites["candidate_id"].tolist() == b.sites["candidate_id"].tolist()
    assert a.total_gain == pytest.approx(b.total_gain)
    assert set(a.sites["candidate_id"]) <= {f"U{i}" for i in range(12)}
    assert a.total_gain == pytest.approx(_recomputed_gain(net, st, a, None, BUDGET_333),
                                         rel=1e-9, abs=1e-6)
    with pytest.raises(InvalidParameterError):
        suggest_sites(net, coverage=base, k=3, params=BUDGET_1000)


def test_service_areas_of_the_sites(stars, star_station) -> None:
    res = suggest_sites(stars, star_station, k=2, params=BUDGET_1000)
    areas = res.service_areas
    assert areas["rank"].tolist() == [1, 2]
    assert areas["reach_length_m"].tolist() == pytest.approx([5500.0, 3800.0], abs=0.1)
    # A's area contains its centre and lies within 1,000 + 50 m of it
    a = areas.geometry.iloc[0]
    centre = shapely.Point(nets.absolute(0, 0))
    assert a.contains(centre)
    assert shapely.hausdorff_distance(a, centre) <= 1050.0 + 1e-6


# ----------------------------------------------------------------------------- the CLI


@pytest.fixture(scope="module")
def cli_files(tmp_path_factory: pytest.TempPathFactory, stars) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("suggest_cli")
    save_network(stars, d / "network")
    lonlat = nets.to_lonlat(np.array([[12000.0, 0.0]]))[0]
    (d / "stations.csv").write_text(
        "station_id,name,type,lon,lat\n"
        f"C,驿站C,{nets.STATION_TYPE},{lonlat[0]:.9f},{lonlat[1]:.9f}\n", encoding="utf-8")
    ll = nets.to_lonlat(np.array([[0.0, 0.0], [6000.0, 0.0], [3000.0, 0.0],
                                  [3000.0, 9000.0]]))
    (d / "candidates.csv").write_text(
        "candidate_id,name,lon,lat\n"
        + "".join(f"{cid},{cid},{x:.9f},{y:.9f}\n"
                  for cid, (x, y) in zip(["A", "B", "MID", "FAR"], ll, strict=True))
        + "BAD,bad,abc,23\n", encoding="utf-8")
    # two towns split at x = 2500 (local): 西镇 holds star A and 1,600 m of connector
    # (7,000 m of street, 10,000 people), 东镇 the remaining 14,600 m (5,000 people)
    west = shapely.Polygon(nets.to_lonlat(np.array([[-2000, -2000], [2500, -2000],
                                                    [2500, 2000], [-2000, 2000]])))
    east = shapely.Polygon(nets.to_lonlat(np.array([[2500, -2000], [14000, -2000],
                                                    [14000, 2000], [2500, 2000]])))
    gpd.GeoDataFrame({"name": ["西镇", "东镇"], "code": ["1", "2"],
                      "population": [10000, 5000]},
                     geometry=[west, east], crs="EPSG:4326").to_file(d / "towns.geojson",
                                                                      driver="GeoJSON")
    return {"dir": d, "network": d / "network", "stations": d / "stations.csv",
            "candidates": d / "candidates.csv", "towns": d / "towns.geojson"}


def test_cli_network_candidates(cli_files: dict[str, Path], tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    rc = cli_suggest.main(["suggest", "--network", str(cli_files["network"]), "--stations",
                           str(cli_files["stations"]), "--k", "2", "--out", str(out),
                           "--no-cache"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "suggested 2 of 2 sites by greedy" in text
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["method"] == "greedy" and summary["demand_basis"] == "street_length"
    assert summary["total_gain"] == pytest.approx(9300.0, abs=1e-3)
    assert [p["cumulative_gain"] for p in summary["curve"]] == pytest.approx(
        [0.0, 5500.0, 9300.0], abs=1e-3)
    df = pd.read_csv(out / "suggestions.csv")
    assert df["node_id"].tolist() == [100, 200]
    assert df["rank"].tolist() == [1, 2]
    pts = gpd.read_file(out / "suggestions.geojson")
    assert len(pts) == 2 and pts.crs.to_epsg() == 4326
    areas = gpd.read_file(out / "new_service_areas.geojson")
    assert len(areas) == 2 and (areas.geom_type == "Polygon").all()


def test_cli_candidate_file_ilp_population(cli_files: dict[str, Path], tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    rc = cli_suggest.main(["suggest", "--network", str(cli_files["network"]), "--stations",
                           str(cli_files["stations"]), "--towns", str(cli_files["towns"]),
                           "--candidates", str(cli_files["candidates"]), "--k", "2",
                           "--method", "ilp", "--solver", "highs", "--no-areas",
                           "--out", str(out), "--no-cache"])
    assert rc == 0, capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["method"] == "ilp" and summary["solver"]["solver"] == "highs"
    assert summary["demand_basis"] == "population"
    assert summary["candidates"]["source"] == "input"
    assert summary["candidates"]["rejected"] == 2  # FAR (off-network) and BAD (lon)
    assert summary["inputs"]["candidates"]["sha256"]
    # A: 5,500 m × 10,000/7,000; B: 3,800 m × 5,000/14,600. MID (x = 3000) would add
    # 500 m × 10,000/7,000 + 1,500 m × 5,000/14,600 = 1,228.0 < B's 1,301.4
    df = pd.read_csv(out / "suggestions.csv")
    assert df["candidate_id"].tolist() == ["A", "B"]
    assert df["marginal_gain"].tolist() == pytest.approx([5500 * 10000 / 7000,
                                                          3800 * 5000 / 14600], abs=1e-2)
    assert df["town"].tolist() == ["西镇", "东镇"]
    assert (df["gain_unit"] == "people").all()
    rej = pd.read_csv(out / "candidates_rejected.csv")
    assert set(rej["candidate_id"]) == {"FAR", "BAD"}
    assert not (out / "new_service_areas.geojson").exists()


@pytest.mark.parametrize(("extra", "code"), [
    (["--k", "0"], 4),
    (["--k", "2", "--walk-time-min", "500"], 4),
    (["--k", "2", "--candidates", "missing.csv"], 2),
])
def test_cli_errors(cli_files: dict[str, Path], tmp_path: Path,
                    capsys: pytest.CaptureFixture[str], extra: list[str], code: int) -> None:
    args = ["suggest", "--network", str(cli_files["network"]), "--stations",
            str(cli_files["stations"]), "--out", str(tmp_path / "o"), "--no-cache"]
    assert cli_suggest.main(args + extra) == code
    err = capsys.readouterr().err.strip()
    assert err.startswith("yizhan: error:") and "\n" not in err and "Traceback" not in err


def test_cli_help_lists_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli_suggest.main(["suggest", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for opt in ("--network", "--stations", "--towns", "--k", "--candidates", "--method",
                "--min-distance-m", "--walk-time-min", "--out", "CELF"):
        assert opt in text


# ------------------------------------------------------------------- where a site is


def test_street_name_from_osm_name() -> None:
    assert street_name("荔枝路") == "荔枝路"
    assert street_name("['深南大道', '深南中路']") == "深南大道"  # an osmnx list in GraphML
    assert street_name(["福华路", "福华一路"]) == "福华路"
    assert street_name("红荔路;红荔西路") == "红荔路"
    for blank in (None, "", "  ", float("nan"), "[]"):
        assert street_name(blank) is None


def test_nearest_street_of_a_site() -> None:
    # a named street 0–1–2 along y = 0, an unnamed footway 2–3 going north, and an
    # unnamed path 4–5 far away from every named street
    net = nets.build_network(
        {0: (0, 0), 1: (100, 0), 2: (200, 0), 3: (200, 120), 4: (2000, 0), 5: (2100, 0)},
        [(0, 1, {"name": "荔枝路"}), (1, 2, {"name": "荔枝路"}),
         (2, 3, {"highway": "footway"}), (4, 5, {"highway": "path"})])
    e_named = nets.edge_index(net, 0, 1)
    e_foot = nets.edge_index(net, 2, 3)
    e_far = nets.edge_index(net, 4, 5)
    pts = [shapely.Point(nets.absolute(50, 0)), shapely.Point(nets.absolute(200, 100)),
           shapely.Point(nets.absolute(2050, 0))]
    got = nearest_street(net, np.array([e_named, e_foot, e_far]), np.array(pts, dtype=object))
    # on the footway 100 m from 荔枝路: the nearest named street within 150 m
    assert got == ["荔枝路", "荔枝路", None]
    assert nearest_street(net, np.array([e_foot]), np.array(pts[1:2], dtype=object),
                          radius_m=50.0) == [None]


def test_demo_sites_name_their_street_and_district() -> None:
    from geo.pipeline.job import run_demo

    job = run_demo()
    res = suggest_sites(job.network, coverage=job.coverage, k=3, towns=job.towns.towns)
    out = sites_output(res)
    assert {"street", "district"} <= set(out.columns)
    assert out["street"].map(lambda v: isinstance(v, str) and len(v) > 1).all()
    assert set(out["district"]) <= {"明珠区", "云溪区"} and out["district"].notna().all()
    assert out["town"].notna().all()
    assert "at least (1 - 1/e)" in res.summary()["method_note"]


def test_map_legend_lists_extra_entries_escaped() -> None:
    from geo.pipeline.job import run_demo
    from geo.webmap.maps import legend_html, map_data

    data = map_data(run_demo())
    html = legend_html("zh", frozenset({"union"}), data, extra=[
        ("", "", "建议站点"), ("#6a3d9a", "1", "翠华直街 · 明珠区 +92,957 人"),
        ("#6a3d9a", "■", "<img src=x onerror=alert(1)>")])
    assert "<b>建议站点</b>" in html and "翠华直街 · 明珠区 +92,957 人" in html
    assert "<img" not in html and "&lt;img" in html


# ------------------------------------------------------------------------- the app page


def test_app_page_on_demo() -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "pages" / "suggest.py"), default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value.startswith("选址建议")
    at.slider(key="sg_k").set_value(3)
    at.button(key="sg_run").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    df = at.dataframe[0].value
    assert len(df) == 3
    assert {"最近街道", "区县"} <= set(df.columns) and df["最近街道"].notna().all()
    labels = [b.label for b in at.download_button]
    assert any("CSV" in s for s in labels) and any("GeoJSON" in s for s in labels)
    # exact ILP on the same page
    at.radio(key="sg_method").set_value("ilp")
    at.slider(key="sg_k").set_value(2)
    at.button(key="sg_run").click().run()
    assert not at.exception, at.exception
    assert len(at.dataframe[0].value) == 2


# ------------------------------------------------------------ people from a raster


def _star_raster(*, around_x: float, people_per_cell: float = 50.0):
    """People only in the 100 m cells within 1,000 m of (``around_x``, 0) on the stars."""
    from affine import Affine

    from geo.population.raster import population_grid

    x0, y1 = nets.absolute(-2_000.0, 2_000.0)
    cols, rows = 200, 40
    cx = x0 + (np.arange(cols) + 0.5) * 100.0
    cy = y1 - (np.arange(rows) + 0.5) * 100.0
    ax, ay = nets.absolute(around_x, 0.0)
    xx, yy = np.meshgrid(cx, cy)
    values = np.where(np.hypot(xx - ax, yy - ay) <= 1_000.0, people_per_cell, 0.0)
    return population_grid(values, transform=Affine(100.0, 0, x0, 0, -100.0, y1),
                           crs=nets.CRS, source="test raster")


def test_raster_demand_picks_the_people_not_the_streets(stars, star_station) -> None:
    """Street length prefers star A (5,500 m); with everyone living around star B the
    site goes to B, the gain is in people and equals the covered-demand difference."""
    by_street = suggest_sites(stars, star_station, k=1, params=BUDGET_1000,
                              demand_basis="street_length")
    assert by_street.sites["node_id"].tolist() == [100]  # star A's centre
    grid = _star_raster(around_x=6_000.0)
    res = suggest_sites(stars, star_station, k=1, params=BUDGET_1000, population=grid)
    assert res.demand_basis == "population_raster" and res.demand_unit == "people"
    assert res.sites["node_id"].tolist() == [200]  # star B's centre
    demand = build_demand(stars, population=grid)
    assert demand.total == pytest.approx(res.total_demand)
    assert 0 < demand.total <= float(np.nansum(grid.values))
    both = pd.concat([star_station, suggested_stations(res)], ignore_index=True)
    gain = covered_demand(compute_coverage(stars, both, params=BUDGET_1000), demand) - \
        covered_demand(compute_coverage(stars, star_station, params=BUDGET_1000), demand)
    assert res.total_gain == pytest.approx(gain, rel=1e-9)
    with pytest.raises(InvalidParameterError, match="population raster"):
        suggest_sites(stars, star_station, k=1, demand_basis="population_raster")


def test_raster_demand_spreads_each_cells_people_over_its_streets(stars) -> None:
    """Uniform people: every H3 cell holding streets gets its people (area-weighted
    exactly), spread over its streets; cells' people sum to the demand's total."""
    from geo.coverage.cells import h3_cells
    from geo.siting.demand import RASTER_DEMAND_H3_RESOLUTION

    grid = _star_raster(around_x=6_000.0, people_per_cell=0.0)
    grid = dataclasses.replace(grid, values=np.full(grid.values.shape, 10.0))
    demand = build_demand(stars, population=grid)
    cells = h3_cells(stars, resolution=RASTER_DEMAND_H3_RESOLUTION)
    inside = cells.geometry.area.to_numpy() * 10.0 / 100.0 ** 2  # 10 people per 100 m cell
    assert demand.total == pytest.approx(float(inside.sum()), rel=1e-6)
    parts = demand.parts
    per_cell = np.bincount(parts["part"], weights=(parts["q"] - parts["p"]) * parts["density"],
                           minlength=len(cells))
    np.testing.assert_allclose(per_cell, inside, rtol=1e-6)
