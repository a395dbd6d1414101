"""Tests of :mod:`geo.coverage.towns`: reading towns, the hexagonal grid, the town report and
ranking, and the rider-zone report — on hand-built networks with hand-computed values."""

from __future__ import annotations

import json
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from geo.coverage.core import Coverage, compute_coverage
from geo.coverage.towns import hex_grid, read_towns, town_report, zone_report
from geo.errors import CRSError, StationDataError
from geo.network.model import WalkNetwork
from geo.network.walkfilter import FILTER_VERSION, FilterReport
from geo.params import CoverageParams

CRS = pyproj.CRS.from_epsg(32649)
X0, Y0 = 500_000.0, 2_550_000.0  # a point in UTM 49N (≈ 113.0° E, 23.0° N)
SPEED_M_PER_MIN = 4000.0 / 60.0  # 4 km/h → 66.67 m per minute


def network(nodes: list[tuple[float, float]], edges: list[tuple[int, int]]) -> WalkNetwork:
    """A WalkNetwork in UTM 49N from local metre coordinates and straight edges."""
    x = np.array([X0 + p[0] for p in nodes])
    y = np.array([Y0 + p[1] for p in nodes])
    u = np.array([e[0] for e in edges], dtype=np.int32)
    v = np.array([e[1] for e in edges], dtype=np.int32)
    geoms = shapely.linestrings(np.stack([np.column_stack([x[u], y[u]]),
                                          np.column_stack([x[v], y[v]])], axis=1))
    return WalkNetwork(
        crs=CRS, node_id=np.arange(len(nodes), dtype=np.int64), node_x=x, node_y=y,
        edge_u=u, edge_v=v, length_m=shapely.length(geoms).astype(float), geometry=geoms,
        edge_attrs=pd.DataFrame({"highway": ["residential"] * len(edges),
                                 "name": [None] * len(edges), "osmid": [None] * len(edges)}),
        filter_report=FilterReport(FILTER_VERSION, len(edges), 0, 0.0, ()),
        source="hand-built",
    )


def stations(points: list[tuple[float, float]], types: list[str] | None = None
             ) -> gpd.GeoDataFrame:
    n = len(points)
    return gpd.GeoDataFrame(
        {"station_id": [f"S{i + 1}" for i in range(n)],
         "name": [f"站{i + 1}" for i in range(n)],
         "type": types or ["工会驿站"] * n},
        geometry=[shapely.Point(X0 + p[0], Y0 + p[1]) for p in points], crs=CRS)


def rect(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def towns_frame(polys: list[shapely.Polygon], names: list[str],
                populations: list[float] | None = None) -> gpd.GeoDataFrame:
    n = len(polys)
    return gpd.GeoDataFrame(
        {"town_id": [f"T{i + 1}" for i in range(n)], "name": names,
         "code": [None] * n,
         "population": populations if populations is not None else [np.nan] * n,
         "district": ["示范区"] * n},
        geometry=polys, crs=CRS)


@pytest.fixture
def line_cov() -> Coverage:
    """One street A(0)–B(1200)–C(2000) along y = 0; a station at A; budget 1,000 m.
    Covered: x ∈ [0, 1000]."""
    net = network([(0, 0), (1200, 0), (2000, 0)], [(0, 1), (1, 2)])
    return compute_coverage(net, stations([(0, 0)]), params=CoverageParams())


# ------------------------------------------------------------------------------ reading


def write_geojson(path: Path, features: list[dict[str, object]]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features},
                               ensure_ascii=False), encoding="utf-8")
    return path


def square_feature(x: float, props: dict[str, object]) -> dict[str, object]:
    ring = [[x, 23.1], [x + 0.01, 23.1], [x + 0.01, 23.11], [x, 23.11], [x, 23.1]]
    return {"type": "Feature", "properties": props,
            "geometry": {"type": "Polygon", "coordinates": [ring]}}


def test_read_towns_chinese_columns_and_text_code(tmp_path: Path) -> None:
    p = write_geojson(tmp_path / "towns.geojson", [
        square_feature(113.30, {"名称": "甲街道", "代码": "440100001", "人口": 52000,
                                "区县": "天河区"}),
        square_feature(113.31, {"名称": "乙镇", "代码": "044010002", "人口": 8000.5,
                                "区县": "天河区"}),
        # no code: the name is the id (it must not be rejected as "empty town_id")
        square_feature(113.32, {"名称": "丙街道", "代码": None, "人口": 100,
                                "区县": "天河区"}),
    ])
    t = read_towns(p)
    acc = t.accepted
    assert t.rows_in == 3 and len(t.rejected) == 0, t.rejected
    assert list(acc.columns) == ["town_id", "name", "code", "population", "district",
                                 "geometry"]
    assert acc["name"].tolist() == ["甲街道", "乙镇", "丙街道"]
    # codes are text: 9 digits, leading zero kept
    assert acc["code"].iloc[0] == "440100001"
    assert acc["code"].iloc[1] == "044010002"
    assert pd.isna(acc["code"].iloc[2])
    assert acc["town_id"].tolist() == ["440100001", "044010002", "丙街道"]
    assert acc["population"].tolist() == [52000.0, 8000.5, 100.0]
    assert acc["district"].tolist() == ["天河区"] * 3
    assert acc.crs.to_epsg() == 4326


def test_read_towns_english_columns_case_insensitive(tmp_path: Path) -> None:
    p = write_geojson(tmp_path / "towns.geojson", [
        square_feature(113.30, {"Name": "A Town", "POPULATION": "1200", "AdCode": 440105}),
        square_feature(113.31, {"Name": "B Town", "POPULATION": "n/a", "AdCode": 440106}),
    ])
    acc = read_towns(p).accepted
    assert acc["name"].tolist() == ["A Town", "B Town"]
    assert acc["code"].tolist() == ["440105", "440106"]
    assert acc["population"].iloc[0] == 1200.0 and math.isnan(acc["population"].iloc[1])


def test_read_towns_errors(tmp_path: Path) -> None:
    p = write_geojson(tmp_path / "noname.geojson", [square_feature(113.3, {"foo": "x"})])
    with pytest.raises(StationDataError, match="name column"):
        read_towns(p)
    q = write_geojson(tmp_path / "neg.geojson", [square_feature(113.3, {"name": "x",
                                                                        "population": -5})])
    with pytest.raises(StationDataError, match="≥ 0"):
        read_towns(q)


# ------------------------------------------------------------------------------ hex grid


def test_hex_grid_cell_area_and_tiling() -> None:
    r = 500.0 / math.sqrt(3.0)  # circumradius of a hexagon 500 m across flats
    expected = 3.0 * math.sqrt(3.0) / 2.0 * r * r  # = 216,506.35 m²
    assert expected == pytest.approx(216_506.35, abs=0.01)
    bounds = (X0, Y0, X0 + 2000.0, Y0 + 1500.0)
    grid = hex_grid(bounds, CRS)
    areas = shapely.area(grid.geometry.to_numpy())
    np.testing.assert_allclose(areas, expected, rtol=1e-9)
    # the cells tile the plane: no overlaps, and the bounds are covered
    union = shapely.union_all(grid.geometry.to_numpy())
    assert union.area == pytest.approx(areas.sum(), rel=1e-9)
    # (shared edges are computed twice: allow floating-point slivers of < 1 mm²)
    assert shapely.box(*bounds).difference(union).area < 1e-6
    # across flats = 500 m: width of a flat-topped cell along y
    b = grid.geometry.iloc[0].bounds
    assert b[3] - b[1] == pytest.approx(500.0)
    assert b[2] - b[0] == pytest.approx(2 * r)
    assert grid["town_id"].iloc[0] == "H00001"
    assert grid.crs == CRS
    assert grid["population"].isna().all()


def test_hex_grid_keep_only_cells_touching_streets() -> None:
    line = shapely.LineString([(X0, Y0), (X0 + 100.0, Y0)])
    grid = hex_grid((X0, Y0, X0 + 3000.0, Y0 + 3000.0), CRS,
                    keep=np.array([line], dtype=object))
    assert 1 <= len(grid) <= 3
    assert all(g.intersects(line) for g in grid.geometry)
    assert grid["town_id"].tolist() == [f"H{i + 1:05d}" for i in range(len(grid))]


# --------------------------------------------------------------------------- town report


def test_town_report_split_street_population_and_ranking(line_cov: Coverage) -> None:
    # T1: x ∈ [-100, 600] → street 0…600, all covered.
    # T2: x ∈ [600, 2100] → street 600…2000 (1,400 m), covered 600…1000 = 400 m.
    towns = towns_frame([rect(-100, -100, 600, 100), rect(600, -100, 2100, 100)],
                        ["一街道", "二镇"], populations=[1000.0, 7000.0])
    union = rect(-50, -50, 1000, 50)  # stand-in for the service-area union
    rep = town_report(line_cov, towns, union=union)
    df = rep.towns.set_index("town_id")
    assert rep.demand_basis == "population" and not rep.is_grid
    assert df.loc["T1", "total_length_m"] == pytest.approx(600.0)
    assert df.loc["T2", "total_length_m"] == pytest.approx(1400.0)
    assert df.loc["T1", "covered_length_m"] == pytest.approx(600.0)
    assert df.loc["T2", "covered_length_m"] == pytest.approx(400.0)
    assert df.loc["T2", "covered_length_share"] == pytest.approx(400 / 1400, abs=1e-4)
    # population spread by street length: 1000 × 600/600, 7000 × 400/1400 = 2000
    assert df.loc["T1", "covered_population"] == 1000.0
    assert df.loc["T2", "covered_population"] == 2000.0
    assert df.loc["T2", "covered_population_share"] == pytest.approx(0.2857, abs=1e-4)
    # uncovered demand 0 and 5000 people → T2 is rank 1
    assert df.loc["T1", "uncovered_demand"] == pytest.approx(0.0)
    assert df.loc["T2", "uncovered_demand"] == pytest.approx(5000.0)
    assert df.loc["T2", "rank"] == 1 and df.loc["T1", "rank"] == 2
    assert rep.towns["town_id"].tolist() == ["T2", "T1"]  # sorted by rank
    assert "people" in df.loc["T2", "reason_en"] and "5,000" in df.loc["T2", "reason_en"]
    assert "人" in df.loc["T2", "reason_zh"]
    assert "uncovered demand" in rep.ranking_rule_en and "population" in rep.ranking_rule_en
    # areas: T1 700 × 200, T2 1500 × 200; covered: 650 × 100 and 400 × 100
    assert df.loc["T1", "area_m2"] == 140_000 and df.loc["T2", "area_m2"] == 300_000
    assert df.loc["T1", "covered_area_m2"] == 65_000
    assert df.loc["T2", "covered_area_m2"] == 40_000
    # the station (at x = 0) lies in T1
    assert df.loc["T1", "stations_total"] == 1 and df.loc["T2", "stations_total"] == 0
    assert df.loc["T1", "stations_used"] == 1
    assert df.loc["T1", "stations_工会驿站"] == 1 and df.loc["T1", "stations_司机之家"] == 0
    # p90: T1 distances uniform on [0, 600] → 540 m = 8.1 min; T2 beyond 15 min
    assert df.loc["T1", "walk_time_p90_min"] == pytest.approx(540 / SPEED_M_PER_MIN)
    assert df.loc["T1", "walk_time_p90_min"] == pytest.approx(8.1)
    assert df.loc["T1", "walk_time_p90_note"] == ""
    assert math.isnan(df.loc["T2", "walk_time_p90_min"])
    assert df.loc["T2", "walk_time_p90_note"] == "> 15 min"
    assert rep.outside_length_m == pytest.approx(0.0, abs=1e-6)
    assert rep.towns.crs == CRS


def test_town_report_street_length_basis_and_tie_rule(line_cov: Coverage) -> None:
    # Ta: street 0…1500 → covered 1000, uncovered 500 m, share 2/3
    # Tb: street 1500…2000 → covered 0, uncovered 500 m, share 0
    # tie on uncovered demand → the lower share (Tb) is rank 1
    towns = towns_frame([rect(-100, -100, 1500, 100), rect(1500, -100, 2100, 100)],
                        ["Ta", "Tb"], populations=[1000.0, np.nan])
    rep = town_report(line_cov, towns, union=shapely.Polygon())
    df = rep.towns.set_index("name")
    assert rep.demand_basis == "street_length"
    assert "missing" in rep.note_en
    assert df.loc["Ta", "uncovered_demand"] == pytest.approx(500.0)
    assert df.loc["Tb", "uncovered_demand"] == pytest.approx(500.0)
    assert df.loc["Tb", "rank"] == 1 and df.loc["Ta", "rank"] == 2
    assert math.isnan(df.loc["Ta", "covered_population_share"])
    assert "m of street" in df.loc["Tb", "reason_en"]
    assert df.loc["Ta", "covered_area_m2"] == 0


def test_town_report_outside_length_and_town_without_streets(line_cov: Coverage) -> None:
    # one town over 0…1000 only; one far away with no street
    towns = towns_frame([rect(-100, -100, 1000, 100), rect(5000, 5000, 5100, 5100)],
                        ["有路", "无路"], populations=[10.0, 20.0])
    rep = town_report(line_cov, towns, union=shapely.Polygon())
    df = rep.towns.set_index("name")
    assert rep.outside_length_m == pytest.approx(1000.0)
    assert df.loc["无路", "total_length_m"] == 0
    assert df.loc["无路", "walk_time_p90_note"] == "no streets"
    assert df.loc["无路", "reason_en"] == "no walkable streets"


def test_walk_time_p90_single_street_fully_reached() -> None:
    # one 900 m street reached end to end from a station at one end: the distances
    # are uniform on [0, 900] → p90 = 0.9 × 900 = 810 m = 12.15 min at 4 km/h
    net = network([(0, 0), (900, 0)], [(0, 1)])
    cov = compute_coverage(net, stations([(0, 0)]), params=CoverageParams())
    town = towns_frame([rect(-50, -50, 950, 50)], ["单街"], populations=[100.0])
    df = town_report(cov, town, union=shapely.Polygon()).towns
    assert df["covered_length_m"].iloc[0] == pytest.approx(900.0)
    assert df["walk_time_p90_min"].iloc[0] == pytest.approx(810.0 / SPEED_M_PER_MIN)
    assert df["walk_time_p90_min"].iloc[0] == pytest.approx(12.15)
    # station in the middle: distances uniform on [0, 450] twice → p90 = 405 m
    cov_mid = compute_coverage(net, stations([(450, 0)]), params=CoverageParams())
    df_mid = town_report(cov_mid, town, union=shapely.Polygon()).towns
    # (405 m = 6.075 min; the column is rounded to 0.01 min)
    assert df_mid["walk_time_p90_min"].iloc[0] == pytest.approx(405.0 / SPEED_M_PER_MIN,
                                                                abs=0.006)
    # a 10-minute budget (667 m) does not reach 90 % of the street → "> 10 min"
    cov10 = compute_coverage(net, stations([(0, 0)]), params=CoverageParams(walk_time_min=10))
    df10 = town_report(cov10, town, union=shapely.Polygon()).towns
    assert df10["covered_length_m"].iloc[0] == pytest.approx(666.7, abs=0.05)
    assert math.isnan(df10["walk_time_p90_min"].iloc[0])
    assert df10["walk_time_p90_note"].iloc[0] == "> 10 min"


def test_town_report_grid_and_crs_check(line_cov: Coverage) -> None:
    grid = hex_grid(line_cov.network.bounds, CRS, keep=line_cov.network.geometry)
    rep = town_report(line_cov, grid, union=shapely.Polygon(), is_grid=True)
    assert rep.is_grid and rep.demand_basis == "street_length"
    assert "hexagonal" in rep.note_en and "500" in rep.note_en
    assert rep.towns["total_length_m"].sum() == pytest.approx(2000.0, abs=0.5)
    assert rep.towns["covered_length_m"].sum() == pytest.approx(1000.0, abs=0.5)
    wgs = towns_frame([rect(0, 0, 10, 10)], ["x"]).to_crs("EPSG:4326")
    with pytest.raises(CRSError):
        town_report(line_cov, wgs, union=shapely.Polygon())


# --------------------------------------------------------------------------- zone report


def test_zone_report_share_and_nearest_station() -> None:
    # main street A(0)–B(1200)–C(2000); separate street D(0,3000)–E(500,3000)
    # stations S1 at A, S2 at C; budget 1,000 m → the whole main street is covered
    net = network([(0, 0), (1200, 0), (2000, 0), (0, 3000), (500, 3000)],
                  [(0, 1), (1, 2), (3, 4)])
    cov = compute_coverage(net, stations([(0, 0), (2000, 0)]), params=CoverageParams())
    zones = gpd.GeoDataFrame(
        {"zone_id": ["Znear", "Zmid", "Zfar", "Zempty"],
         "name": ["近", "中", "远", "空"]},
        geometry=[rect(300, -50, 500, 50), rect(1100, -50, 1300, 50),
                  rect(-50, 2950, 550, 3050), rect(5000, 5000, 5100, 5100)], crs=CRS)
    df = zone_report(cov, zones).set_index("zone_id")
    # Znear: street 300…500, covered; nearest street point 300 m from S1 → 4.5 min
    assert df.loc["Znear", "street_length_m"] == pytest.approx(200.0)
    assert df.loc["Znear", "covered_length_share"] == pytest.approx(1.0)
    assert df.loc["Znear", "nearest_station_id"] == "S1"
    assert df.loc["Znear", "nearest_station_name"] == "站1"
    assert df.loc["Znear", "nearest_walk_time_min"] == pytest.approx(4.5)
    # Zmid: street 1100…1300; S2 reaches x = 1300 after 700 m (S1 needs 1,100 m to
    # x = 1100) → S2, 10.5 min; covered by S2 from x = 1000 on → share 1
    assert df.loc["Zmid", "nearest_station_id"] == "S2"
    assert df.loc["Zmid", "nearest_walk_time_min"] == pytest.approx(10.5)
    assert df.loc["Zmid", "covered_length_m"] == pytest.approx(200.0)
    # Zfar: 500 m of street, no station reaches it
    assert df.loc["Zfar", "street_length_m"] == pytest.approx(500.0)
    assert df.loc["Zfar", "covered_length_m"] == 0
    assert not df.loc["Zfar", "station_within_threshold"]
    assert pd.isna(df.loc["Zfar", "nearest_station_id"])
    assert math.isnan(df.loc["Zfar", "nearest_walk_time_min"])
    # Zempty: no street at all
    assert df.loc["Zempty", "street_length_m"] == 0
    assert math.isnan(df.loc["Zempty", "covered_length_share"])
    assert not df.loc["Zempty", "station_within_threshold"]
    assert df["station_within_threshold"].tolist() == [True, True, False, False]


def test_zone_report_station_beyond_threshold_is_not_nearest() -> None:
    # a zone reached only at 1,200 m: beyond the 1,000 m budget → no station within
    net = network([(0, 0), (1500, 0)], [(0, 1)])
    cov = compute_coverage(net, stations([(0, 0)]), params=CoverageParams())
    zones = gpd.GeoDataFrame({"zone_id": ["Z"], "name": ["z"]},
                             geometry=[rect(1200, -50, 1500, 50)], crs=CRS)
    df = zone_report(cov, zones)
    assert df["street_length_m"].iloc[0] == pytest.approx(300.0)
    assert df["covered_length_m"].iloc[0] == 0
    assert not df["station_within_threshold"].iloc[0]
    assert math.isnan(df["nearest_walk_time_min"].iloc[0])
    # with a 20-minute budget (1,333 m) the zone is reached at 1,200 m = 18 min
    cov20 = compute_coverage(net, stations([(0, 0)]), params=CoverageParams(walk_time_min=20))
    df20 = zone_report(cov20, zones)
    assert df20["station_within_threshold"].iloc[0]
    assert df20["nearest_walk_time_min"].iloc[0] == pytest.approx(18.0)
    assert df20["covered_length_m"].iloc[0] == pytest.approx(133.3, abs=0.05)


def test_ranking_rule_and_reasons_name_the_travel_mode() -> None:
    # an e-bike run's towns.csv says 骑行 / ride where a walk run says 步行 / walk
    import nets

    nodes = {0: (0.0, 0.0), 1: (3000.0, 0.0), 2: (6000.0, 0.0)}
    walk_net = nets.build_network(nodes, [(0, 1), (1, 2)])
    ride_net = nets.build_network(nodes, [(0, 1), (1, 2)], mode="ebike")
    town = gpd.GeoDataFrame({"town_id": ["T"], "name": ["镇"]},
                            geometry=[shapely.box(-10, -10, 6010, 10)], crs=nets.CRS)
    town = town.set_geometry(town.geometry.translate(*nets.ORIGIN))
    st = nets.stations([(10.0, 0.0)])
    walk = town_report(compute_coverage(walk_net, st, params=CoverageParams(walk_time_min=10)),
                       town)
    ride = town_report(compute_coverage(ride_net, st, params=CoverageParams.for_mode(
        "ebike", minutes=10.0)), town)
    assert "步行" in walk.ranking_rule_zh and "walk" in walk.ranking_rule_en
    assert "步行" not in ride.ranking_rule_zh and "骑行" in ride.ranking_rule_zh
    assert "walk" not in ride.ranking_rule_en and "ride" in ride.ranking_rule_en
    assert not any("步行" in r for r in ride.towns["reason_zh"])
    assert not any("walk" in r for r in ride.towns["reason_en"])
