"""Tests of :mod:`geo.stations.columns`: guessing and checking the column mapping."""

from __future__ import annotations

import pytest

from geo.errors import StationDataError
from geo.stations.columns import (
    FIELDS,
    ColumnMapping,
    check_mapping,
    guess_mapping,
    normalize_header,
)


def test_chinese_headers_with_crs_notes() -> None:
    cols = ["序号", "编号", "站点名称", "经度(GCJ-02)", "纬度（GCJ-02）", "详细地址", "所属区县",
            "类型", "地市", "备注"]
    m = guess_mapping(cols)
    assert m == ColumnMapping(station_id="编号", name="站点名称", lon="经度(GCJ-02)",
                              lat="纬度（GCJ-02）", coords=None, type="类型",
                              address="详细地址", city="地市", district="所属区县")
    assert check_mapping(m, cols, has_geometry=False) == []


def test_english_and_mixed_headers() -> None:
    cols = ["ID", "Name", "lng", "纬度", "Address", "District", "Type", "City"]
    m = guess_mapping(cols)
    assert (m.station_id, m.name, m.lon, m.lat) == ("ID", "Name", "lng", "纬度")
    assert (m.address, m.district, m.type, m.city) == ("Address", "District", "Type", "City")
    m2 = guess_mapping([" Longitude ", "LATITUDE", "station_name", "Station-Type"])
    assert (m2.lon, m2.lat, m2.name, m2.type) == (" Longitude ", "LATITUDE", "station_name",
                                                  "Station-Type")


def test_full_width_and_spaced_headers() -> None:
    assert normalize_header("　经 度（ＷＧＳ８４）") == "经度"
    assert normalize_header("Point_X") == "pointx"
    m = guess_mapping(["ＮＡＭＥ", "　经 度", "纬_度", "ＬＮＧ"])
    assert m.name == "ＮＡＭＥ"
    # both are longitude aliases; the earlier alias ("lng") wins over "经度"
    assert m.lon == "ＬＮＧ"
    assert m.lat == "纬_度"


def test_combined_location_column() -> None:
    m = guess_mapping(["编号", "名称", "location", "类型"])
    assert m.coords == "location" and m.lon is None and m.lat is None
    assert check_mapping(m, ["编号", "名称", "location", "类型"], has_geometry=False) == []
    m2 = guess_mapping(["名称", "经纬度", "经度", "纬度"])
    # with both a pair and a combined column, the pair is used
    assert (m2.lon, m2.lat, m2.coords) == ("经度", "纬度", None)


def test_better_alias_wins() -> None:
    m = guess_mapping(["站点名称", "名称", "驿站编号", "id"])
    assert m.name == "名称"  # earlier in the alias list than 站点名称
    assert m.station_id == "id"


def test_geometry_formats_map_no_coordinate_columns() -> None:
    m = guess_mapping(["name", "lon", "lat", "location", "type"], has_geometry=True)
    assert m.lon is None and m.lat is None and m.coords is None
    assert m.name == "name"
    assert check_mapping(m, ["name", "lon", "lat", "location", "type"], has_geometry=True) == []


def test_unrecognised_headers_map_nothing() -> None:
    m = guess_mapping(["备注", "联系人", "电话", "a", "名称2"])
    assert m.used_columns() == []


def test_check_mapping_missing_name() -> None:
    cols = ["编号", "经度", "纬度", "类型"]
    problems = check_mapping(guess_mapping(cols), cols, has_geometry=False)
    assert len(problems) == 1 and problems[0].startswith("name:")


def test_check_mapping_lon_without_lat() -> None:
    cols = ["名称", "经度", "类型"]
    m = guess_mapping(cols)
    assert m.lon == "经度" and m.lat is None
    problems = check_mapping(m, cols, has_geometry=False)
    assert any("map both longitude and latitude" in p for p in problems)
    assert any(p.startswith("lon/lat: choose") for p in problems)


def test_check_mapping_column_used_twice() -> None:
    cols = ["名称", "经度", "纬度", "类型"]
    m = ColumnMapping(name="名称", lon="经度", lat="经度", type="类型")
    problems = check_mapping(m, cols, has_geometry=False)
    assert problems == ["column(s) ['经度'] are mapped to more than one field"]


def test_check_mapping_other_problems() -> None:
    cols = ["名称", "经度", "纬度", "坐标"]
    m = ColumnMapping(name="名称", lon="经度", lat="纬度", coords="坐标")
    problems = check_mapping(m, cols, has_geometry=False)
    assert any("not both" in p for p in problems)
    assert any(p.startswith("type:") for p in problems)
    assert check_mapping(m.with_changes(coords=None), cols, has_geometry=False,
                         default_type="工会驿站") == []
    missing = ColumnMapping(name="站名", lon="经度", lat="纬度", type="类型")
    problems = check_mapping(missing, cols, has_geometry=False)
    assert "name: column '站名' is not in the file" in problems
    assert "type: column '类型' is not in the file" in problems


def test_mapping_dict_round_trip() -> None:
    m = ColumnMapping(station_id="编号", name="名称", lon="经度", lat="纬度")
    d = m.as_dict()
    assert list(d) == list(FIELDS)
    assert ColumnMapping.from_dict(d) == m
    assert ColumnMapping.from_dict({"name": "名称", "lon": ""}) == ColumnMapping(name="名称")
    assert m.used_columns() == ["编号", "名称", "经度", "纬度"]
    with pytest.raises(StationDataError, match="unknown mapping"):
        ColumnMapping.from_dict({"nom": "名称"})
