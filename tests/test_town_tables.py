"""Town tables joined to the town polygons (:mod:`geo.pipeline.town_tables`,
:mod:`geo.cli.towns`): a GBK population table with unmatched, ambiguous and duplicated
rows (rows in = matched + unmatched + ambiguous, each with its reason), GCJ-02 town
polygons converted back to WGS-84, official codes from a statistics-bureau style list."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.cli import main
from geo.coverage.towns import read_towns
from geo.errors import TownTableError
from geo.io.upload import read_upload
from geo.pipeline.town_tables import (
    REPORT_NAME,
    convert_towns_crs,
    join_town_population,
    match_codes_file,
)
from geo.stations.coords import from_wgs84

TOWNS = [  # name, district, code; 新村街道 is in both districts
    ("甲街道", "东区", "440000001"), ("新村街道", "东区", "440000002"),
    ("新村街道", "西区", "440000003"), ("丙街道", "西区", "440000004"),
    ("丁街道", "西区", "440000005"), ("戊街道", "东区", "440000006"),
]


def _towns_file(path: Path, *, codes: bool = True) -> Path:
    geoms = [shapely.box(113.90 + 0.01 * i, 22.50, 113.909 + 0.01 * i, 22.509)
             for i in range(len(TOWNS))]
    gdf = gpd.GeoDataFrame({"name": [t[0] for t in TOWNS], "district": [t[1] for t in TOWNS],
                            **({"code": [t[2] for t in TOWNS]} if codes else {})},
                           geometry=geoms, crs=4326)
    gdf.to_file(path, driver="GeoJSON", engine="pyogrio")
    return path


GBK_TABLE = (
    "镇街名称,区县,常住人口\n"
    "甲街道,东区,1000\n"          # matched by name
    "新村街道,,500\n"             # ambiguous: two towns of this name, no district
    "新村街道,西区,700\n"          # matched within its district
    "不存在街道,东区,10\n"         # unmatched: no such town
    "丙街道,西区,abc\n"           # unmatched: not a number
    "丁街道,西区,\"1,200\"\n"      # matched (thousands separator)
    "丁街道,西区,1200\n"           # unmatched: duplicate with the same population
    "戊街道,东区,１２万\n"          # matched: full-width digits and 万
)


def test_gbk_table_every_row_accounted_for(tmp_path: Path) -> None:
    towns = read_towns(_towns_file(tmp_path / "towns.geojson"))
    raw = read_upload("人口.csv", GBK_TABLE.encode("gbk"))
    join = join_town_population(towns, raw)
    r = join.report
    assert join.rows_in == 8 == join.count("matched") + join.count("unmatched") + \
        join.count("ambiguous")
    assert list(r["status"]) == ["matched", "ambiguous", "matched", "unmatched", "unmatched",
                                 "matched", "unmatched", "matched"]
    assert (r.loc[r["status"] != "matched", "reason"].str.len() > 0).all()
    assert "2 towns are named" in r["reason"].iloc[1]
    assert "no town named '不存在街道'" in r["reason"].iloc[3]
    assert "not a number" in r["reason"].iloc[4]
    assert "duplicate of row 6" in r["reason"].iloc[6]
    pop = join.towns.accepted.set_index("town_id")["population"]
    assert pop["440000001"] == 1000 and pop["440000003"] == 700
    assert pop["440000005"] == 1200 and pop["440000006"] == 120_000
    assert np.isnan(pop["440000002"]) and np.isnan(pop["440000004"])
    assert sorted(join.towns_without_row) == ["丙街道", "新村街道"]
    s = join.summary()
    assert (s["matched"], s["unmatched"], s["ambiguous"]) == (4, 3, 1)


def test_conflicting_rows_give_the_town_no_population(tmp_path: Path) -> None:
    towns = read_towns(_towns_file(tmp_path / "towns.geojson"))
    raw = read_upload("t.csv", "code,人口\n440000001,10\n440000001,20\n".encode("gbk"))
    join = join_town_population(towns, raw)
    assert list(join.report["status"]) == ["unmatched", "unmatched"]
    assert "another population" in join.report["reason"].iloc[0]
    assert np.isnan(join.towns.accepted.set_index("town_id")["population"]["440000001"])


def test_a_table_without_population_or_key_is_a_named_error(tmp_path: Path) -> None:
    towns = read_towns(_towns_file(tmp_path / "towns.geojson"))
    with pytest.raises(TownTableError, match="population column"):
        join_town_population(towns, read_upload("t.csv", b"name,x\na,1\n"))


def test_gcj02_town_polygons_convert_back_within_1e6_deg(tmp_path: Path) -> None:
    wgs = gpd.read_file(_towns_file(tmp_path / "towns.geojson"))
    gcj = wgs.copy()
    gcj.geometry = shapely.transform(wgs.geometry.to_numpy(), lambda xy: np.column_stack(
        from_wgs84(xy[:, 0], xy[:, 1], "gcj02")))
    shift = np.abs(shapely.get_coordinates(gcj.geometry) -
                   shapely.get_coordinates(wgs.geometry)).max()
    assert shift > 1e-3  # GCJ-02 is hundreds of metres off
    gcj.to_file(tmp_path / "gcj.geojson", driver="GeoJSON", engine="pyogrio",
                layer_options={"COORDINATE_PRECISION": 12})
    out = convert_towns_crs(tmp_path / "gcj.geojson", "gcj02", tmp_path / "back.geojson")
    back = gpd.read_file(out)
    np.testing.assert_allclose(shapely.get_coordinates(back.geometry),
                               shapely.get_coordinates(wgs.geometry), atol=1e-6)
    assert list(back["name"]) == list(wgs["name"])


def test_code_list_matching_names_within_the_district(tmp_path: Path) -> None:
    path = _towns_file(tmp_path / "towns.geojson", codes=False)
    gdf = gpd.read_file(path)
    gdf["code"] = [f"osm-{i}" for i in range(len(gdf))]  # e.g. OSM ids, not official codes
    gdf["district_ref"] = ["440001", "440001", "440002", "440002", "440002", "440001"]
    gdf.to_file(path, driver="GeoJSON", engine="pyogrio")
    codes = tmp_path / "codes.csv"
    codes.write_text("code,name,areaCode\n440001001,甲街道,440001\n440001002,新村街道,440001\n"
                     "440002003,新村街道,440002\n440002004,丙街道,440002\n", encoding="utf-8")
    match = match_codes_file(read_towns(path), codes, path)
    by_name = dict(zip(match.towns["name"] + match.towns["district"], match.towns["code"],
                       strict=True))
    assert by_name["新村街道东区"] == "440001002" and by_name["新村街道西区"] == "440002003"
    assert match.matched == 4
    assert sorted(match.unmatched["name"]) == ["丁街道", "戊街道"]
    assert (match.unmatched["reason"] == "no town of this name in the code list").all()


@pytest.fixture(scope="module")
def demo_inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo-in")
    assert main(["demo", "--out", str(folder / "o"), "--write-inputs", str(folder),
                 "--quiet"]) == 0
    return folder


def test_cli_town_population_report_and_summary(demo_inputs: Path, tmp_path: Path) -> None:
    table = tmp_path / "人口.csv"
    table.write_bytes(("名称,区县,人口\n榕荫街道,云溪区,1000\n金沙街道,云溪区,2000\n"
                       "花溪街道,云溪区,3000\n临江街道,明珠区,4000\n北岸街道,明珠区,5000\n"
                       "新洲镇,明珠区,6000\n新洲镇,明珠区,6000\n海上街道,明珠区,7\n")
                      .encode("gb18030"))
    out = tmp_path / "out"
    assert main(["coverage", "--network", str(demo_inputs / "streets.graphml"),
                 "--stations", str(demo_inputs / "stations.csv"),
                 "--towns", str(demo_inputs / "towns.geojson"),
                 "--town-population", str(table), "--out", str(out), "--quiet"]) == 0
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    tp = s["inputs"]["town_population"]
    assert (tp["rows_in"], tp["matched"], tp["unmatched"], tp["ambiguous"]) == (8, 6, 2, 0)
    assert s["inputs"]["towns"]["path"].endswith("towns_population.geojson")
    assert s["demand_basis"] == "population"
    report = pd.read_csv(out / REPORT_NAME)
    assert len(report) == 8 and report["reason"].notna().sum() == 2
    towns = pd.read_csv(out / "towns.csv").set_index("name")
    assert towns.loc["新洲镇", "population"] == 6000 and towns.loc["榕荫街道", "population"] == 1000


def test_cli_towns_crs_gcj02_gives_the_wgs84_figures(demo_inputs: Path, tmp_path: Path) -> None:
    wgs = gpd.read_file(demo_inputs / "towns.geojson")
    gcj = wgs.copy()
    gcj.geometry = shapely.transform(wgs.geometry.to_numpy(), lambda xy: np.column_stack(
        from_wgs84(xy[:, 0], xy[:, 1], "gcj02")))
    gcj.to_file(tmp_path / "towns_gcj.geojson", driver="GeoJSON", engine="pyogrio",
                layer_options={"COORDINATE_PRECISION": 12})
    runs = {}
    for name, towns, extra in (("wgs", demo_inputs / "towns.geojson", []),
                               ("gcj", tmp_path / "towns_gcj.geojson",
                                ["--towns-crs", "gcj02"])):
        out = tmp_path / name
        assert main(["coverage", "--network", str(demo_inputs / "streets.graphml"),
                     "--stations", str(demo_inputs / "stations.csv"), "--towns", str(towns),
                     *extra, "--out", str(out), "--quiet"]) == 0
        runs[name] = pd.read_csv(out / "towns.csv").set_index("town_id").sort_index()
    np.testing.assert_allclose(runs["gcj"]["total_length_m"], runs["wgs"]["total_length_m"],
                               atol=0.5)
    with pytest.raises(SystemExit):
        main(["coverage", "--network", "x", "--towns-crs", "mars", "--out", str(tmp_path)])


def test_cli_town_codes_lists_the_unmatched(demo_inputs: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    towns = gpd.read_file(demo_inputs / "towns.geojson").drop(columns=["code"])
    towns["code"] = [f"osm-{i}" for i in range(len(towns))]
    towns.to_file(tmp_path / "towns.geojson", driver="GeoJSON", engine="pyogrio")
    codes = tmp_path / "codes.csv"
    codes.write_bytes("code,name,areaCode\n449901001,榕荫街道,449901\n449901002,金沙街道,449901\n"
                      "449902006,新洲镇,449902\n".encode("gbk"))
    out = tmp_path / "out"
    assert main(["coverage", "--network", str(demo_inputs / "streets.graphml"),
                 "--stations", str(demo_inputs / "stations.csv"),
                 "--towns", str(tmp_path / "towns.geojson"), "--town-codes", str(codes),
                 "--out", str(out), "--quiet"]) == 0
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert (s["inputs"]["town_codes"]["matched"], s["inputs"]["town_codes"]["unmatched"]) \
        == (3, 3)
    result = pd.read_csv(out / "towns.csv", dtype={"code": str}).set_index("name")
    assert result.loc["新洲镇", "code"] == "449902006"
    unmatched = pd.read_csv(out / "town_codes_report.csv")
    assert sorted(unmatched["name"]) == ["临江街道", "北岸街道", "花溪街道"]
    assert "town without a code: 临江街道" in capsys.readouterr().err
