"""Tests of :mod:`geo.stations.validation`: every row accepted or rejected with a reason,
coordinate systems, near-duplicates, the diff, hints, outputs, and fuzzing."""

from __future__ import annotations

import csv
import io
import json
import math
import string
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.errors import InvalidParameterError, StationDataError, YizhanError
from geo.io.upload import read_upload
from geo.stations.coords import from_wgs84, to_wgs84
from geo.stations.validation import (
    GUANGDONG,
    RegionBounds,
    diff_stations,
    near_duplicates,
    parse_degrees,
    validate_stations,
)
from tests import nets
from tests.upload_fixtures import csv_bytes, csv_text, xlsx_bytes

GEOD = pyproj.Geod(ellps="WGS84")
H = ["编号", "名称", "类型", "经度", "纬度", "城市", "地址"]
SZ = (114.05, 22.54)  # Shenzhen, Futian


def _validate(rows: list[list[str]], header: list[str] = H, name: str = "s.csv",
              **kw: object):
    raw = read_upload(name, csv_bytes(header, rows))
    kw.setdefault("crs", "wgs84")
    return validate_stations(raw, **kw)  # type: ignore[arg-type]


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


# ---------------------------------------------------------------------------- rows

# (row values, expected code or None when accepted)
CASES: list[tuple[list[str], str | None]] = [
    (["1", "南山区粤海街道工会驿站\n（总站）", "工会驿站", "113.93", "22.53", "深圳", "科技园"],
     None),
    (["2", "缺经度", "工会驿站", "", "22.53", "深圳", ""], "missing_coordinates"),
    (["3", "经纬度填反", "工会驿站", "22.53", "113.93", "深圳", ""], "swapped_coordinates"),
    (["4", "超范围", "工会驿站", "200", "22.53", "深圳", ""], "invalid_coordinates"),
    (["5", "杭州", "工会驿站", "120.15", "30.28", "深圳", ""], "outside_region"),
    (["6", "投影", "工会驿站", "200000", "2500000", "深圳", ""], "projected_coordinates"),
    (["7", "零", "工会驿站", "0", "0", "深圳", ""], "zero_coordinates"),
    (["1", "重复编号", "工会驿站", "113.94", "22.54", "深圳市", ""], "duplicate_id"),
    (["9", "", "工会驿站", "113.95", "22.55", "深圳", ""], "empty_name"),
    (["10", "咖啡", "咖啡馆", "113.96", "22.56", "深圳", ""], "unknown_type"),
    (["11", "疗休养", "疗休养基地", "113.97", "22.57", "深圳", ""], "convalescence_base"),
    (["12", "广州站", "工会驿站", "113.26", "23.13", "广州", ""], "wrong_city"),
    (["13", "长" * 201, "工会驿站", "113.98", "22.58", "深圳", ""], "too_long"),
    (["14", "控制\x07字符", "工会驿站", "113.99", "22.59", "深圳", ""], "bad_text"),
    (["15", "多字段", "工会驿站", "113.9", "22.5", "深圳", "地址", "多余"], "malformed_row"),
    ([], "blank_row"),
    (["", "", "", "", "", "", ""], "blank_row"),
    (["18", "", "未知", "abc", "", "深圳", ""],
     "empty_name;unknown_type;invalid_coordinates;missing_coordinates"),
    (["", "无编号", "other", "114.0", "22.6", "", ""], "empty_id"),
    ([" 20 ", "\u3000好站\u3000", "驿站", "１１４．０１", "22.61", "深圳市 ", ""], None),
    (["21", "空类型", "", "114.02", "22.62", "深圳", ""], "empty_type"),
    (["22", "地址过长", "工会驿站", "114.03", "22.63", "深圳", "址" * 501], "too_long"),
    (["23", "行分隔\u2028符", "工会驿站", "114.04", "22.64", "深圳", ""], "bad_text"),
    (["24", "好站二", "司机之家", "114.05", "22.65", "", ""], None),
]


@pytest.fixture(scope="module")
def case_file() -> tuple[bytes, list[int]]:
    text, lines = csv_text(H, [r for r, _c in CASES] + [[], ["", "", ""], []])
    return text.encode("utf-8-sig"), lines


def test_every_row_accepted_or_rejected_with_code_row_and_line(
        case_file: tuple[bytes, list[int]]) -> None:
    data, lines = case_file
    raw = read_upload("名单.csv", data)
    assert raw.rows_in == len(CASES)  # trailing blank lines are not rows
    v = validate_stations(raw, crs="wgs84", city="深圳")
    assert v.rows_in == len(v.accepted) + len(v.rejected) == len(CASES)
    want_rej = {k + 1: code for k, (_r, code) in enumerate(CASES) if code}
    got = dict(zip(v.rejected["row"].tolist(), v.rejected["code"].tolist(), strict=True))
    assert got == want_rej
    # source lines: the quoted newline in row 1 shifts every later line by one
    assert v.rejected["source_line"].tolist() == [lines[r - 1] for r in v.rejected["row"]]
    assert lines[:3] == [2, 4, 5]
    assert v.accepted["row"].tolist() == [k + 1 for k, (_r, c) in enumerate(CASES) if not c]
    acc = v.accepted.set_index("row")
    assert acc.loc[1, "name"] == "南山区粤海街道工会驿站\n（总站）"
    assert acc.loc[20, "station_id"] == "20" and acc.loc[20, "name"] == "好站"
    assert acc.loc[20, "type"] == "工会驿站" and acc.loc[20, "lon"] == 114.01
    assert acc.loc[24, "city"] == "深圳"  # a blank city takes the upload's city
    rej = v.rejected.set_index("row")
    assert "same as row 1" in rej.loc[8, "reason"]
    assert rej.loc[8, "station_id"] == "1"
    assert "8 fields" in rej.loc[15, "reason"]
    assert "疗休养" in rej.loc[11, "reason_zh"]
    assert v.reason_counts()["blank_row"] == 2


def test_without_city_wrong_city_is_not_checked() -> None:
    v = _validate([["1", "广州站", "工会驿站", "113.26", "23.13", "广州", ""]])
    assert len(v.accepted) == 1 and v.accepted["city"].tolist() == ["广州"]


def test_duplicate_of_a_rejected_row_is_not_a_duplicate() -> None:
    v = _validate([["1", "", "工会驿站", "113.9", "22.5", "", ""],
                   ["1", "b", "工会驿站", "113.9", "22.6", "", ""],
                   ["0012", "c", "工会驿站", "113.9", "22.7", "", ""],
                   ["12", "d", "工会驿站", "113.9", "22.8", "", ""]])
    assert v.rejected["code"].tolist() == ["empty_name"]
    assert v.accepted["station_id"].tolist() == ["1", "0012", "12"]


def test_outputs_written(case_file: tuple[bytes, list[int]], tmp_path: Path) -> None:
    data, lines = case_file
    raw = read_upload("名单.csv", data)
    v = validate_stations(raw, crs="wgs84", city="深圳")
    paths = v.write(tmp_path / "out")
    assert set(paths) == {"accepted", "rejected", "flagged", "report"}
    assert paths["accepted"].read_bytes().startswith(b"\xef\xbb\xbf")
    rejected = _read_csv(paths["rejected"])
    assert [int(r["row"]) for r in rejected] == v.rejected["row"].tolist()
    by_row = {int(r["row"]): r for r in rejected}
    for k, (values, code) in enumerate(CASES):
        if not code:
            continue
        got = by_row[k + 1]
        assert got["code"] == code
        assert int(got["source_line"]) == lines[k]
        for col, val in zip(H, (values + [""] * len(H))[: len(H)], strict=True):
            assert got[col] == val, (k, col)  # the original text, untouched
    accepted = _read_csv(paths["accepted"])
    assert list(accepted[0])[:3] == ["row", "lon", "lat"]
    for got in accepted:
        values = CASES[int(got["row"]) - 1][0]
        assert float(got["lon"]) == v.accepted.set_index("row").loc[int(got["row"]), "lon"]
        for col, val in zip(H, values, strict=True):
            # clashing original columns get "_original"; these do not clash
            assert got[col] == val
    report = json.loads(paths["report"].read_text(encoding="utf-8"))
    assert report["rows_in"] == len(CASES)
    assert report["accepted"] == len(v.accepted) == 3
    assert report["rejected"] == len(v.rejected) == len(CASES) - 3
    assert report["flagged"] == 0
    assert report["encoding"] == "UTF-8-BOM"
    assert len(report["rejected_rows"]) == report["rejected"]
    assert report["rejected_by_code"]["blank_row"] == 2
    flagged = paths["flagged"].read_text(encoding="utf-8-sig")
    assert flagged.splitlines()[0].startswith("row_a,row_b")


def test_accepted_table_renames_clashing_original_columns() -> None:
    header = ["id", "name", "type", "lon", "lat", "row"]
    v = _validate([["A", "站", "工会驿站", "113.9", "22.5", "x"]], header=header)
    t = v.accepted_table()
    assert t.loc[0, "row"] == 1 and t.loc[0, "row_original"] == "x"
    assert t.loc[0, "lon_original"] == "113.9" and t.loc[0, "name_original"] == "站"


def test_mapping_problems_raise() -> None:
    raw = read_upload("s.csv", csv_bytes(["编号", "经度", "纬度"], [["1", "113.9", "22.5"]]))
    with pytest.raises(StationDataError, match="name"):
        validate_stations(raw, crs="wgs84", default_type="工会驿站")
    raw = read_upload("s.csv", csv_bytes(["名称", "经度", "纬度"], [["a", "113.9", "22.5"]]))
    with pytest.raises(StationDataError, match="type"):
        validate_stations(raw, crs="wgs84")
    with pytest.raises(InvalidParameterError, match="station type"):
        validate_stations(raw, crs="wgs84", default_type="咖啡馆")
    with pytest.raises(InvalidParameterError):
        validate_stations(raw, crs="mercator")
    v = validate_stations(raw, crs="wgs84", default_type="驿站")
    assert v.accepted["type"].tolist() == ["工会驿站"]
    assert v.ids_generated and v.accepted["station_id"].tolist() == ["row-1"]
    assert any("row-N" in n for n in v.notes)


def test_geometry_rows_bad_geometry_and_projected() -> None:
    data = (b'{"type":"FeatureCollection","features":['
            b'{"type":"Feature","properties":{"name":"a","type":"\xe9\xa9\xbf\xe7\xab\x99"},'
            b'"geometry":null},'
            b'{"type":"Feature","properties":{"name":"b","type":"other"},"geometry":'
            b'{"type":"LineString","coordinates":[[113.9,22.5],[114,22.6]]}},'
            b'{"type":"Feature","properties":{"name":"c","type":"other"},"geometry":'
            b'{"type":"Point","coordinates":[22.5,113.9]}},'
            b'{"type":"Feature","properties":{"name":"d","type":"other"},"geometry":'
            b'{"type":"Point","coordinates":[113.9,22.5]}}]}')
    v = validate_stations(read_upload("s.geojson", data), crs="wgs84")
    assert v.rejected["code"].tolist() == ["bad_geometry", "bad_geometry",
                                           "swapped_coordinates"]
    assert v.accepted["name"].tolist() == ["d"]


# ---------------------------------------------------------------------------- coordinates

GCJ_LONLAT = [("113.930123", "22.530456"), ("114.0579", "22.5431"), ("113.2644", "23.1291")]


@pytest.mark.parametrize("system", ["gcj02", "bd09", "高德", "百度"])
def test_declared_system_converted(system: str) -> None:
    rows = [[str(k), f"站{k}", "工会驿站", x, y, "", ""] for k, (x, y) in enumerate(GCJ_LONLAT)]
    v = _validate(rows, crs=system)
    canonical = {"高德": "gcj02", "百度": "bd09"}.get(system, system)
    assert v.declared_crs == canonical
    x0 = np.array([float(x) for x, _y in GCJ_LONLAT])
    y0 = np.array([float(y) for _x, y in GCJ_LONLAT])
    ex, ey = to_wgs84(x0, y0, canonical)
    np.testing.assert_allclose(v.accepted["lon"], ex, rtol=0, atol=1e-11)
    np.testing.assert_allclose(v.accepted["lat"], ey, rtol=0, atol=1e-11)
    np.testing.assert_array_equal(v.accepted["orig_lon"], x0)  # exactly as uploaded
    np.testing.assert_array_equal(v.accepted["orig_lat"], y0)
    assert set(v.accepted["orig_crs"]) == {canonical}
    shift = GEOD.inv(x0, y0, v.accepted["lon"].to_numpy(), v.accepted["lat"].to_numpy())[2]
    assert np.all(shift > 200)  # a naive reader that ignores the declaration is far off
    g = v.accepted.geometry
    np.testing.assert_array_equal(g.x, v.accepted["lon"])
    assert v.accepted.crs.to_epsg() == 4326
    assert v.to_layer_table().rows_in == 3


def test_combined_lonlat_column() -> None:
    header = ["编号", "名称", "类型", "经纬度"]
    cells = ["113.93,22.53", "113.93，22.53", "(113.93, 22.53)", " 113.93 22.53 ",
             "113.93", "113.93,22.53,0", "", "abc,def"]
    v = _validate([[str(k), f"站{k}", "工会驿站", c] for k, c in enumerate(cells)],
                  header=header)
    assert v.mapping.coords == "经纬度"
    assert v.accepted["row"].tolist() == [1, 2, 3, 4]
    assert set(v.accepted["lon"]) == {113.93} and set(v.accepted["lat"]) == {22.53}
    assert v.rejected["code"].tolist() == ["invalid_coordinates", "invalid_coordinates",
                                           "missing_coordinates", "invalid_coordinates"]


def test_combined_column_with_nul_values_is_rejected_not_nan() -> None:
    v = _validate([["1", "a", "工会驿站", "\x00,\x00"], ["2", "b", "工会驿站", "\x00"],
                   ["3", "c", "工会驿站", "113.9,22.5"]], header=["编号", "名称", "类型", "坐标"])
    assert v.rejected["code"].tolist() == ["invalid_coordinates", "invalid_coordinates"]
    assert np.isfinite(v.accepted["lon"]).all()


@pytest.mark.parametrize(("text", "value"), [
    ("113.93", 113.93), ("１１３．９３", 113.93), (" 113.93 ", 113.93), ("113.93E", 113.93),
    ("东经113.93", 113.93), ("113°55'48\"", 113.93), ("113度55分48秒", 113.93),
    ("22°31′48″N", 22.53), ("113°55.8'", 113.93), ("+113.93", 113.93), (".5", 0.5),
    ("1.1393e2", 113.93), ("-0", 0.0),
])
def test_parse_degrees_accepts(text: str, value: float) -> None:
    got = parse_degrees(text)
    assert got is not None and math.isclose(got, value, rel_tol=0, abs_tol=1e-12)


@pytest.mark.parametrize("text", ["1_000", "nan", "NaN", "inf", "-inf", "Infinity", "1e400",
                                  "0x10", "113.9.1", "", "   ", "113,93", "113°75'", "E",
                                  "113°55'61\"", "1" * 41, "一百一十三", "113.93S"])
def test_parse_degrees_rejects(text: str) -> None:
    assert parse_degrees(text) is None


def test_odd_numbers_rejected_in_validation() -> None:
    bad = ["1_000", "nan", "inf", "1e400", "0x10", "113.9.1"]
    v = _validate([[str(k), f"站{k}", "工会驿站", b, "22.5", "", ""] for k, b in enumerate(bad)])
    assert v.rejected["code"].tolist() == ["invalid_coordinates"] * len(bad)
    assert v.accepted.empty


def test_custom_region_bounds() -> None:
    shenzhen = RegionBounds.parse("113.75,22.4,114.65,22.87", label="深圳市")
    rows = [["1", "福田", "工会驿站", "114.05", "22.54", "", ""],
            ["2", "广州", "工会驿站", "113.26", "23.13", "", ""],
            ["3", "反", "工会驿站", "22.54", "114.05", "", ""]]
    v = _validate(rows, bounds=shenzhen)
    assert v.accepted["row"].tolist() == [1]
    assert v.rejected["code"].tolist() == ["outside_region", "swapped_coordinates"]
    assert "深圳市" in v.rejected["reason"].iloc[0]
    assert len(_validate(rows[:2]).accepted) == 2  # both in Guangdong
    # swapped within ±90°: only the region test can tell
    tiny = RegionBounds(20.0, 20.0, 30.0, 30.0)
    v2 = _validate([["1", "a", "工会驿站", "25.5", "21.5", "", ""],
                    ["2", "b", "工会驿站", "21.5", "25.5", "", ""],
                    ["3", "c", "工会驿站", "35", "45", "", ""]], bounds=tiny)
    assert v2.rejected["code"].tolist() == ["outside_region"]
    assert v2.accepted["row"].tolist() == [1, 2]
    for bad in ("1,2,3", "114,22,113,23", "a,b,c,d", "nan,1,2,3"):
        with pytest.raises(InvalidParameterError):
            RegionBounds.parse(bad)
    assert GUANGDONG.contains(np.array([113.0]), np.array([23.0]))[0]


# ---------------------------------------------------------------------------- near-duplicates


def _offset(lon: float, lat: float, metres: float, az: float = 63.0) -> tuple[float, float]:
    x, y, _ = GEOD.fwd(lon, lat, az, metres)
    return float(x), float(y)


@pytest.mark.parametrize(("same_name", "metres", "flagged"), [
    (True, 30.0, True), (True, 80.0, False), (True, 49.0, True), (True, 51.5, False),
    (False, 3.0, True), (False, 8.0, False), (False, 30.0, False),
])
def test_near_duplicates(same_name: bool, metres: float, flagged: bool) -> None:
    x2, y2 = _offset(*SZ, metres)
    far = _offset(*SZ, 3000.0, az=200)
    names = ["福田区工会驿站", "福田区 工会驿站" if same_name else "莲花山驿站", "远处驿站"]
    rows = [["A", names[0], "工会驿站", repr(SZ[0]), repr(SZ[1]), "", ""],
            ["B", names[1], "工会驿站", repr(x2), repr(y2), "", ""],
            ["C", names[2], "工会驿站", repr(far[0]), repr(far[1]), "", ""]]
    v = _validate(rows)
    assert len(v.accepted) == 3  # flagged, never rejected
    if not flagged:
        assert v.flagged.empty and v.n_flagged == 0
        return
    assert len(v.flagged) == 1 and v.n_flagged == 2
    f = v.flagged.iloc[0]
    assert (f["row_a"], f["row_b"], f["station_id_a"], f["station_id_b"]) == (1, 2, "A", "B")
    assert abs(f["distance_m"] - metres) < 0.1
    assert ("same name" in f["reason"]) == (same_name and metres > 5)


def test_near_duplicates_helper_edge_cases() -> None:
    empty = gpd.GeoDataFrame({"row": [], "station_id": [], "name": []}, geometry=[],
                             crs="EPSG:4326")
    assert near_duplicates(empty).empty
    one = gpd.GeoDataFrame({"row": [1], "station_id": ["a"], "name": ["n"]},
                           geometry=[shapely.Point(*SZ)], crs="EPSG:4326")
    assert near_duplicates(one).empty
    pts = [SZ, _offset(*SZ, 2.0), _offset(*SZ, 4.0, az=240)]
    three = gpd.GeoDataFrame({"row": [3, 1, 2], "station_id": ["c", "a", "b"],
                              "name": ["x", "y", "z"]},
                             geometry=[shapely.Point(p) for p in pts], crs="EPSG:4326")
    f = near_duplicates(three)
    # rows 1 and 2 are ~6 m apart (opposite sides of row 3): not a pair
    assert list(zip(f["row_a"], f["row_b"], strict=True)) == [(1, 3), (2, 3)]
    assert f["distance_m"].round(1).tolist() == [2.0, 4.0]


# ---------------------------------------------------------------------------- diff


def _gdf(rows: list[tuple[str, str, float, float]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"station_id": [r[0] for r in rows], "name": [r[1] for r in rows]},
                            geometry=[shapely.Point(r[2], r[3]) for r in rows], crs="EPSG:4326")


def test_diff_added_removed_moved_renamed() -> None:
    moved_to = _offset(*SZ, 123.4, az=37.0)
    nudged = _offset(113.93, 22.53, 3.0)
    old = _gdf([("0012", "福田站", *SZ), ("12", "南山站", 113.93, 22.53),
                ("3", "罗湖站", 114.12, 22.55), ("4", "旧名", 114.0, 22.6),
                ("5", "不变", 113.8, 22.7)])
    new = _gdf([("0012", "福田站", *moved_to), ("12", "南山站", *nudged),
                ("4", "新名", 114.0, 22.6), ("5", "不变", 113.8, 22.7),
                ("6", "新站", 113.5, 22.3)])
    d = diff_stations(old, new)
    assert d.matched_by == "station_id"
    assert d.added["station_id"].tolist() == ["6"]
    assert d.removed["station_id"].tolist() == ["3"]
    assert d.removed["name"].tolist() == ["罗湖站"]
    assert d.moved["station_id"].tolist() == ["0012"]  # "0012" is not "12"
    truth = GEOD.inv(SZ[0], SZ[1], *moved_to)[2]
    assert abs(d.moved["distance_m"].iloc[0] - truth) < 0.5
    assert abs(truth - 123.4) < 1e-6
    assert d.moved[["old_lon", "old_lat"]].iloc[0].tolist() == [SZ[0], SZ[1]]
    assert d.renamed[["station_id", "old_name", "name"]].values.tolist() == [
        ["4", "旧名", "新名"]]
    assert d.counts() == {"added": 1, "removed": 1, "moved": 1, "renamed": 1, "unchanged": 2}
    big = diff_stations(old, new, moved_threshold_m=200)
    assert big.moved.empty


def test_diff_against_nothing_and_errors() -> None:
    new = _gdf([("1", "a", *SZ)])
    d = diff_stations(None, new)
    assert d.counts() == {"added": 1, "removed": 0, "moved": 0, "renamed": 0, "unchanged": 0}
    with pytest.raises(InvalidParameterError):
        diff_stations(None, new.to_crs("EPSG:32650"))
    with pytest.raises(InvalidParameterError):
        diff_stations(None, new, match="address")


def test_diff_by_name_when_ids_are_generated() -> None:
    header = ["名称", "类型", "经度", "纬度"]
    moved = _offset(113.93, 22.53, 40.0, az=100.0)
    old = _validate([["福田站", "工会驿站", "114.05", "22.54"],
                     ["南山站", "工会驿站", "113.93", "22.53"],
                     ["罗湖站", "工会驿站", "114.12", "22.55"]], header=header)
    new = _validate([["新站", "工会驿站", "113.5", "22.3"],
                     ["南山 站", "工会驿站", repr(moved[0]), repr(moved[1])],
                     ["福田站", "工会驿站", "114.05", "22.54"]], header=header)
    assert old.ids_generated and new.ids_generated
    d = diff_stations(old.accepted, new.accepted, match="name")
    assert d.matched_by == "name"
    assert d.added["name"].tolist() == ["新站"]
    assert d.removed["name"].tolist() == ["罗湖站"]
    assert d.moved["name"].tolist() == ["南山 站"]
    assert abs(d.moved["distance_m"].iloc[0] - 40.0) < 0.5
    assert d.renamed.empty  # names match after normalisation
    assert d.unchanged == 1
    # matching the generated ids instead pairs the wrong stations
    wrong = diff_stations(old.accepted, new.accepted)
    assert wrong.renamed["old_name"].tolist() == ["福田站", "罗湖站"]
    assert wrong.added.empty and wrong.removed.empty


def test_diff_same_name_twice_paired_in_order() -> None:
    old = _gdf([("a", "驿站", 114.0, 22.5), ("b", "驿站", 114.1, 22.6)])
    new = _gdf([("x", "驿站", 114.0, 22.5), ("y", "驿站", 114.1, 22.6)])
    d = diff_stations(old, new, match="name")
    assert d.counts()["unchanged"] == 2 and d.moved.empty


# ---------------------------------------------------------------------------- hints


def test_header_crs_hint() -> None:
    header = ["编号", "名称", "类型", "经度(GCJ02)", "纬度(GCJ02)"]
    rows = [["1", "a", "工会驿站", "114.05", "22.54"]]
    v = _validate(rows, header=header, crs="wgs84")
    assert [h.code for h in v.hints] == ["header_crs"]
    assert v.hints[0].suggested_crs == "gcj02"
    assert "GCJ02" in v.hints[0].message_en
    assert v.report_dict()["hints"][0]["code"] == "header_crs"
    assert _validate(rows, header=header, crs="gcj02").hints == ()
    assert _validate(rows, crs="wgs84").hints == ()  # plain 经度/纬度 say nothing


@pytest.fixture(scope="module")
def street_net():
    # two long straight streets meeting at the origin (Shenzhen, UTM 50N)
    return nets.build_network({0: (0, 0), 1: (1500, 0), 2: (3000, 0), 3: (0, 1500),
                               4: (0, 3000)}, [(0, 1), (1, 2), (0, 3), (3, 4)])


def _stations_off_streets() -> np.ndarray:
    rng = np.random.default_rng(7)
    along = [(x, s * d) for x, d, s in zip(np.linspace(200, 2800, 6), rng.uniform(5, 15, 6),
                                           [1, -1] * 3, strict=True)]
    up = [(s * d, y) for y, d, s in zip(np.linspace(400, 2800, 4), rng.uniform(5, 15, 4),
                                        [1, -1] * 2, strict=True)]
    return nets.to_lonlat(np.array(along + up))


def _rows_at(lon: np.ndarray, lat: np.ndarray) -> list[list[str]]:
    return [[str(k), f"站{k}", "工会驿站", repr(float(x)), repr(float(y))]
            for k, (x, y) in enumerate(zip(lon, lat, strict=True))]


def test_streets_crs_hint(street_net) -> None:
    header = ["编号", "名称", "类型", "经度", "纬度"]
    wgs = _stations_off_streets()
    gx, gy = from_wgs84(wgs[:, 0], wgs[:, 1], "gcj02")
    gcj_rows = _rows_at(gx, gy)
    v = _validate(gcj_rows, header=header, crs="wgs84", network=street_net)
    assert [h.code for h in v.hints] == ["streets_crs"]
    assert v.hints[0].suggested_crs == "gcj02"
    assert len(v.accepted) == 10  # a hint, nothing changed
    np.testing.assert_array_equal(v.accepted["lon"], gx)
    # declared correctly: no hint
    ok = _validate(gcj_rows, header=header, crs="gcj02", network=street_net)
    assert ok.hints == ()
    np.testing.assert_allclose(ok.accepted["lon"], wgs[:, 0], rtol=0, atol=1e-9)
    # true WGS-84 declared WGS-84: no hint; declared GCJ-02: hint back to WGS-84
    w_rows = _rows_at(wgs[:, 0], wgs[:, 1])
    assert _validate(w_rows, header=header, crs="wgs84", network=street_net).hints == ()
    back = _validate(w_rows, header=header, crs="gcj02", network=street_net)
    assert [(h.code, h.suggested_crs) for h in back.hints] == [("streets_crs", "wgs84")]
    # no network: no street hint
    assert _validate(gcj_rows, header=header, crs="wgs84").hints == ()


# ---------------------------------------------------------------------------- store export


def test_to_new_version_keeps_ids_and_extra_columns() -> None:
    header = ["编号", "名称", "类型", "经度", "纬度", "联系人"]
    v = _validate([["0012", "站", "工会驿站", "113.93", "22.53", "张三"]], header=header,
                  crs="gcj02")
    nv = v.to_new_version(city="深圳", note="test")
    s = nv.stations
    assert s["station_id"].tolist() == ["0012"]
    assert s["orig_lon"].tolist() == [113.93]
    assert s["extra"].tolist() == [{"联系人": "张三"}]
    assert nv.rows_in == 1 and nv.rejected == 0 and nv.declared_crs == "gcj02"
    assert nv.raw == v.raw.data


# ---------------------------------------------------------------------------- fuzzing

HOSTILE = [
    "南山区粤海街道工会驿站", "龍華區（一）", "䶮", "𠀀", "<script>alert(1)</script>", "${x}",
    "`x`", "\x00", "a\x00b", "\u2028", "x\u2029y", "\ufeff", "\u3000", " ", "\t", "\r",
    "\n", "\r\n", '"', '""', "'", ",", ";", "|", "\t,;|", "a,b", 'a"b,c\nd', "=1+1",
    "@SUM(A1)", "1e400", "-0", "0x10", "١١٣", "113.9.1", " 113 ", "", "nan", "inf",
    "113.93", "22.53", "113.93,22.53", "0", "200000", "１１３．９３", "113°55'48\"",
    "工会驿站", "驿站", "疗休养基地", "other", "深圳", "广州市", "x" * 10_000, "长" * 10_000,
    "\x1c\x1d\x1e", "\x85", "\u00a0", "\U0010ffff", "\ud7ff", "<OGRVRTDataSource>",
]
_cell = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=12),
                  st.text(alphabet=string.digits + ".-+eE,; ", max_size=10))
FUZZ_HEADER = ["编号", "名称", "类型", "经度", "纬度", "城市", "备注"]
_row = st.lists(_cell, min_size=0, max_size=len(FUZZ_HEADER) + 2)


def _is_blank(values: list[str]) -> bool:
    return all(ch.isspace() or ch == "\ufeff" for ch in "".join(values))


def _expected_rows(rows: list[list[str]]) -> int:
    n = len(rows)
    while n and _is_blank(rows[n - 1]):
        n -= 1
    return n


def _check_validation(raw, crs: str, city: str | None) -> None:
    try:
        v = validate_stations(raw, crs=crs, city=city)
    except YizhanError:
        return
    assert v.rows_in == len(v.accepted) + len(v.rejected) == raw.rows_in
    assert sorted([*v.accepted["row"], *v.rejected["row"]]) == list(range(1, raw.rows_in + 1))
    assert np.isfinite(v.accepted["lon"]).all() and np.isfinite(v.accepted["lat"]).all()
    assert GUANGDONG.contains(v.accepted["lon"].to_numpy(), v.accepted["lat"].to_numpy()).all()
    assert all(isinstance(c, str) and c for c in v.rejected["code"])
    json.dumps(v.report_dict(), ensure_ascii=False)
    for table in (v.accepted_table(), v.rejected_table(), v.flagged):
        table.to_csv(io.StringIO(), index=False)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(rows=st.lists(_row, max_size=8),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]),
       crs=st.sampled_from(["wgs84", "gcj02", "bd09"]),
       city=st.sampled_from([None, "深圳"]),
       lineterminator=st.sampled_from(["\r\n", "\n"]))
def test_fuzz_csv(rows: list[list[str]], encoding: str, crs: str, city: str | None,
                  lineterminator: str) -> None:
    text, _lines = csv_text(FUZZ_HEADER, rows, lineterminator=lineterminator)
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        data = text.encode("utf-8")
    try:
        raw = read_upload("fuzz.csv", data)
    except YizhanError:
        return
    assert raw.rows_in == _expected_rows(rows)
    assert raw.columns == FUZZ_HEADER
    assert len(raw.source_lines) == len(raw.row_issues) == raw.rows_in
    _check_validation(raw, crs, city)


def _xlsx_safe(value: str) -> str:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub("", value)


_xcell = st.one_of(_cell.map(_xlsx_safe), st.none(),
                   st.floats(allow_nan=False, allow_infinity=False),
                   st.integers(-10**15, 10**15))


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(rows=st.lists(st.lists(_xcell, max_size=len(FUZZ_HEADER) + 1), max_size=6),
       crs=st.sampled_from(["wgs84", "gcj02"]))
def test_fuzz_xlsx(rows: list[list[object]], crs: str) -> None:
    data = xlsx_bytes({"站点": [FUZZ_HEADER, *rows]})
    try:
        raw = read_upload("fuzz.xlsx", data)
    except YizhanError:
        return
    # XML turns "\r" into "\n"; either way a cell of white space is blank
    as_text = [["" if v is None else str(v).replace("\r", "\n") for v in r] for r in rows]
    assert raw.rows_in == _expected_rows(as_text)
    assert raw.columns == FUZZ_HEADER
    _check_validation(raw, crs, None)


def test_fuzz_frame_is_strings() -> None:
    raw = read_upload("s.xlsx", xlsx_bytes({"S": [FUZZ_HEADER, [12, "a", None, 113.5, 22.25]]}))
    assert all(isinstance(v, str) for v in raw.frame.to_numpy().ravel())
    assert pd.isna(raw.frame.to_numpy()).sum() == 0
