"""Tests of :mod:`geo.io.layers`: station tables, point / polygon layers, formats, safety."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geo.errors import CRSError, InputFileError, StationDataError, UnknownFormatError
from geo.io.layers import read_bases, read_stations, read_vector, read_zones

HEADER = "station_id,name,type,lon,lat,address,city,district\n"


def write_csv(path: Path, body: str, *, encoding: str = "utf-8") -> Path:
    path.write_text(HEADER + textwrap.dedent(body).lstrip("\n"), encoding=encoding)
    return path


def feature_collection(features: list[dict[str, object]], **extra: object) -> str:
    return json.dumps({"type": "FeatureCollection", **extra, "features": features},
                      ensure_ascii=False)


def point(lon: float, lat: float, **props: object) -> dict[str, object]:
    return {"type": "Feature", "properties": props,
            "geometry": {"type": "Point", "coordinates": [lon, lat]}}


def polygon(ring: list[tuple[float, float]], **props: object) -> dict[str, object]:
    return {"type": "Feature", "properties": props,
            "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in ring]]}}


# -------------------------------------------------------------------------- stations CSV


def test_station_ids_stay_strings(tmp_path: Path) -> None:
    p = write_csv(tmp_path / "s.csv", """
        0012,天河驿站,工会驿站,113.30,23.10,,,
        12,越秀驿站,工会驿站,113.31,23.11,,,
        007,海珠驿站,驿站,113.32,23.12,海珠区某路1号,广州市,海珠区
    """)
    t = read_stations(p)
    assert t.rows_in == 3 and len(t.rejected) == 0
    assert t.accepted["station_id"].tolist() == ["0012", "12", "007"]
    assert all(isinstance(x, str) for x in t.accepted["station_id"])
    # the alias 驿站 maps to the canonical type
    assert t.accepted["type"].tolist() == ["工会驿站", "工会驿站", "工会驿站"]
    assert t.accepted.crs.to_epsg() == 4326
    assert t.accepted.geometry.iloc[1].coords[0] == (113.31, 23.11)
    # missing optional values are missing (None or NaN), not the text "None"/"nan"
    district = t.accepted["district"].tolist()
    assert pd.isna(district[0]) and pd.isna(district[1]) and district[2] == "海珠区"


def test_utf8_bom_header(tmp_path: Path) -> None:
    p = write_csv(tmp_path / "bom.csv", "A1,站,工会驿站,113.3,23.1,,,\n", encoding="utf-8-sig")
    assert p.read_bytes().startswith(b"\xef\xbb\xbf")
    t = read_stations(p)
    assert t.accepted["station_id"].tolist() == ["A1"]


def test_rejections_with_reasons(tmp_path: Path) -> None:
    p = write_csv(tmp_path / "s.csv", """
        S1,好站,工会驿站,113.30,23.10,,,
        S2,缺坐标,工会驿站,,23.10,,,
        S3,非数字,工会驿站,abc,23.10,,,
        S4,超范围,工会驿站,213.30,23.10,,,
        S1,重复,工会驿站,113.31,23.11,,,
        S6,,工会驿站,113.32,23.12,,,
        S7,未知类型,便利店,113.33,23.13,,,
        S8,基地,职工疗休养基地,113.34,23.14,,,
        ,无编号,工会驿站,113.35,23.15,,,
        S10,纬度超范围,司机之家,113.30,95,,,
        S11, 好站二 ,outdoor_worker_station, 113.36 , 23.16 ,,,
    """)
    t = read_stations(p)
    assert t.rows_in == 11
    assert len(t.accepted) + len(t.rejected) == t.rows_in
    assert t.accepted["station_id"].tolist() == ["S1", "S11"]
    assert t.accepted["name"].tolist() == ["好站", "好站二"]
    assert t.accepted["type"].tolist() == ["工会驿站", "户外劳动者服务站"]
    reasons = dict(zip(t.rejected["row"], t.rejected["reason"], strict=True))
    assert sorted(reasons) == [2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert reasons[2] == "missing or non-numeric lon/lat"
    assert reasons[3] == "missing or non-numeric lon/lat"
    assert reasons[4].startswith("lon/lat out of range")
    assert reasons[5].startswith("duplicate station_id 'S1'") and "row 1" in reasons[5]
    assert reasons[6] == "empty name"
    assert reasons[7].startswith("unknown type '便利店'")
    assert "bases" in reasons[8] and "疗休养基地" in reasons[8]
    assert reasons[9] == "empty station_id"
    assert reasons[10].startswith("lon/lat out of range")
    ids = dict(zip(t.rejected["row"], t.rejected["id"], strict=True))
    assert ids[5] == "S1" and pd.isna(ids[9])


def test_csv_without_coordinates_or_columns(tmp_path: Path) -> None:
    p = tmp_path / "nolonlat.csv"
    p.write_text("station_id,name,type,x_coord,y_coord\nS1,站,工会驿站,113.3,23.1\n",
                 encoding="utf-8")
    with pytest.raises(StationDataError, match="lon"):
        read_stations(p)
    q = tmp_path / "notype.csv"
    q.write_text("station_id,name,lon,lat\nS1,站,113.3,23.1\n", encoding="utf-8")
    with pytest.raises(StationDataError, match="type"):
        read_stations(q)
    # alternative coordinate column names are recognised
    r = tmp_path / "lng.csv"
    r.write_text("station_id,name,type,Longitude,Latitude\nS1,站,工会驿站,113.3,23.1\n",
                 encoding="utf-8")
    assert len(read_stations(r).accepted) == 1


def test_non_utf8_and_missing_csv(tmp_path: Path) -> None:
    p = tmp_path / "gbk.csv"
    p.write_bytes((HEADER + "S1,天河驿站,工会驿站,113.3,23.1,,,\n").encode("gbk"))
    with pytest.raises(InputFileError, match="UTF-8"):
        read_stations(p)
    with pytest.raises(InputFileError, match="not found"):
        read_stations(tmp_path / "missing.csv")


# ------------------------------------------------------------------ point GeoJSON input


def test_geojson_points(tmp_path: Path) -> None:
    p = tmp_path / "stations.geojson"
    line = {"type": "Feature", "properties": {"station_id": "L1", "name": "线",
                                              "type": "工会驿站"},
            "geometry": {"type": "LineString", "coordinates": [[113.3, 23.1], [113.4, 23.2]]}}
    nogeom = {"type": "Feature", "properties": {"station_id": "N1", "name": "无",
                                                "type": "工会驿站"}, "geometry": None}
    p.write_text(feature_collection([
        point(113.30, 23.10, station_id="0012", name="甲", type="工会驿站"),
        point(113.31, 23.11, station_id="12", name="乙", type="司机之家"),
        line,
        nogeom,
    ]), encoding="utf-8")
    t = read_stations(p)
    assert t.rows_in == 4
    assert t.accepted["station_id"].tolist() == ["0012", "12"]
    assert t.accepted.geometry.iloc[0].coords[0] == pytest.approx((113.30, 23.10))
    reasons = dict(zip(t.rejected["id"], t.rejected["reason"], strict=True))
    assert reasons == {"L1": "geometry is a LineString, expected a Point",
                       "N1": "missing geometry"}


def test_geojson_in_other_crs_is_reprojected(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"base_id": ["B1"], "name": ["基地"]},
                           geometry=[shapely.Point(113.3, 23.1)], crs="EPSG:4326")
    p = tmp_path / "bases.gpkg"
    gdf.to_crs("EPSG:32649").to_file(p, driver="GPKG")
    t = read_bases(p)
    assert t.accepted.crs.to_epsg() == 4326
    assert t.accepted.geometry.iloc[0].coords[0] == pytest.approx((113.3, 23.1), abs=1e-7)
    assert t.accepted["base_id"].tolist() == ["B1"]


# ------------------------------------------------------------------------ polygon layer


def test_zones_invalid_bowtie_rejected(tmp_path: Path) -> None:
    square = [(113.30, 23.10), (113.31, 23.10), (113.31, 23.11), (113.30, 23.11),
              (113.30, 23.10)]
    bowtie = [(113.32, 23.10), (113.33, 23.11), (113.33, 23.10), (113.32, 23.11),
              (113.32, 23.10)]
    p = tmp_path / "zones.geojson"
    p.write_text(feature_collection([
        polygon(square, zone_id="Z1", name="好区"),
        polygon(bowtie, zone_id="Z2", name="蝴蝶结"),
        polygon(square, zone_id="Z1", name="重复"),
        point(113.3, 23.1, zone_id="Z4", name="点"),
    ]), encoding="utf-8")
    t = read_zones(p)
    assert t.rows_in == 4
    assert t.accepted["zone_id"].tolist() == ["Z1"]
    reasons = dict(zip(t.rejected["row"], t.rejected["reason"], strict=True))
    assert reasons[2].startswith("invalid polygon: Self-intersection")
    assert reasons[3] == "duplicate zone_id 'Z1'"
    assert reasons[4] == "geometry is a Point, expected a Polygon"
    # not silently repaired: the accepted polygon is the input square
    assert t.accepted.geometry.iloc[0].equals(shapely.Polygon(square))


def test_shapefile_zip_without_prj_is_crs_error(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"zone_id": ["Z1"], "name": ["区"]},
                           geometry=[shapely.box(113.3, 23.1, 113.31, 23.11)])
    shp_dir = tmp_path / "shp"
    shp_dir.mkdir()
    with pytest.warns(UserWarning, match="crs"):
        gdf.to_file(shp_dir / "zones.shp")
    assert not (shp_dir / "zones.prj").exists()
    z = tmp_path / "zones.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in shp_dir.iterdir():
            zf.write(f, f.name)
    with pytest.raises(CRSError, match="no CRS"):
        read_zones(z)
    assert CRSError.exit_code == 3
    # the same shapefile with its .prj reads fine
    gdf.set_crs("EPSG:4326").to_file(shp_dir / "zones.shp")
    assert (shp_dir / "zones.prj").exists()
    z2 = tmp_path / "zones_prj.zip"
    with zipfile.ZipFile(z2, "w") as zf:
        for f in shp_dir.iterdir():
            zf.write(f, f.name)
    assert read_zones(z2).accepted["zone_id"].tolist() == ["Z1"]


def test_unknown_extension(tmp_path: Path) -> None:
    for name in ("zones.kml", "zones.txt", "zones.xlsx"):
        p = tmp_path / name
        p.write_text("whatever", encoding="utf-8")
        with pytest.raises(UnknownFormatError):
            read_zones(p)
    s = tmp_path / "stations.txt"
    s.write_text(HEADER, encoding="utf-8")
    with pytest.raises(UnknownFormatError):
        read_stations(s)


# --------------------------------------------------------------------------------- safety

VRT = """<OGRVRTDataSource>
  <OGRVRTLayer name="passwd">
    <SrcDataSource>CSV:/etc/passwd</SrcDataSource>
    <GeometryType>wkbNone</GeometryType>
  </OGRVRTLayer>
</OGRVRTDataSource>
"""


def test_vrt_disguised_as_geojson_is_not_read(tmp_path: Path) -> None:
    p = tmp_path / "stations.geojson"
    p.write_text(VRT, encoding="utf-8")
    for reader in (read_stations, read_zones, read_bases):
        with pytest.raises(InputFileError) as info:
            reader(p)
        assert "root:" not in str(info.value)
    with pytest.raises(InputFileError):
        read_vector(p, what="towns")


def test_vrt_not_read_even_when_gdal_skip_is_set_otherwise(tmp_path: Path) -> None:
    """``GDAL_SKIP`` already set by the user (so ``OGR_VRT`` is not added): the driver
    allow-list must still refuse the file, in a fresh process."""
    p = tmp_path / "zones.geojson"
    p.write_text(VRT, encoding="utf-8")
    code = textwrap.dedent(f"""
        import sys
        from geo.io.layers import read_stations, read_zones
        for reader in (read_stations, read_zones):
            try:
                t = reader({str(p)!r})
            except Exception as exc:
                assert "root:" not in str(exc), exc
                print(type(exc).__name__)
            else:
                rows = t.accepted.astype(str).to_string() + t.rejected.astype(str).to_string()
                print("READ", "root:" in rows)
    """)
    env = {**os.environ, "GDAL_SKIP": "JP2OpenJPEG"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, cwd=Path(__file__).resolve().parents[1], timeout=60,
                         check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["InputFileError", "InputFileError"]
    assert "root:" not in out.stdout + out.stderr


# ----------------------------------------------------- layers: the caps of an upload


def _zones_shapefile(tmp_path: Path, **kw: object) -> Path:
    gdf = gpd.GeoDataFrame({"zone_id": ["Z1"], "name": ["区"]},
                           geometry=[shapely.box(113.3, 23.1, 113.31, 23.11)], crs="EPSG:4326")
    d = tmp_path / "shp"
    d.mkdir()
    gdf.to_file(d / "zones.shp", **kw)
    return d / "zones.shp"


def test_layer_zips_have_the_upload_caps(tmp_path: Path) -> None:
    from geo.errors import UploadLimitError
    from tests.upload_fixtures import zip_bomb, zip_of

    bomb = tmp_path / "towns.zip"
    bomb.write_bytes(zip_bomb("towns.shp", 300 * 1024 * 1024))
    many = tmp_path / "zones.zip"
    many.write_bytes(zip_of({f"z{k}.txt": b"x" for k in range(500)}))
    with pytest.raises(UploadLimitError, match="bomb"):
        read_vector(bomb, what="towns")
    with pytest.raises(UploadLimitError, match="500 members"):
        read_zones(many)
    with pytest.raises(UploadLimitError, match="500 members"):
        read_bases(many)


def test_layer_limits_parameter_and_size_cap(tmp_path: Path) -> None:
    from geo.errors import UploadLimitError
    from geo.io.limits import UploadLimits

    square = [(113.30, 23.10), (113.31, 23.10), (113.31, 23.11), (113.30, 23.10)]
    p = tmp_path / "zones.geojson"
    p.write_text(feature_collection([polygon(square, zone_id="Z1", name="a"),
                                     polygon(square, zone_id="Z2", name="b")]),
                 encoding="utf-8")
    assert read_zones(p).rows_in == 2
    with pytest.raises(UploadLimitError, match="features"):
        read_zones(p, limits=UploadLimits(max_features=1))
    with pytest.raises(UploadLimitError, match="MB"):
        read_zones(p, limits=UploadLimits(max_upload_bytes=100))
    s = write_csv(tmp_path / "s.csv",
                  "S1,站,工会驿站,113.3,23.1,,,\nS2,站,工会驿站,113.3,23.1,,,\n")
    with pytest.raises(UploadLimitError):
        read_stations(s, limits=UploadLimits(max_features=1))


def test_layer_shapefile_path_reads_its_parts_with_the_checks(tmp_path: Path) -> None:
    shp = _zones_shapefile(tmp_path)
    assert read_zones(shp).accepted["zone_id"].tolist() == ["Z1"]
    shp.with_suffix(".cpg").write_bytes(b"UTF-8\0")  # was a ValueError traceback
    with pytest.raises(InputFileError, match=r"\.cpg"):
        read_zones(shp)
    shp.with_suffix(".cpg").write_bytes(b"UTF-8")
    shp.with_suffix(".shx").unlink()
    with pytest.raises(InputFileError, match=r"\.shx"):
        read_zones(shp)


def test_layer_gbk_shapefile_without_cpg_is_not_garbled(tmp_path: Path) -> None:
    shp = _zones_shapefile(tmp_path, encoding="GBK")
    shp.with_suffix(".cpg").unlink(missing_ok=True)
    z = tmp_path / "zones.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in shp.parent.iterdir():
            zf.write(f, f.name)
    assert read_zones(z).accepted["name"].tolist() == ["区"]


@pytest.mark.parametrize("crs", [
    {"type": "link", "properties": {"href": "http://127.0.0.1:9/crs.wkt"}},
    {"type": "name", "properties": {"name": "http://127.0.0.1:9/crs"}},
])
def test_layer_geojson_remote_crs_refused(tmp_path: Path, crs: dict[str, object]) -> None:
    p = tmp_path / "bases.geojson"
    p.write_text(feature_collection([point(113.3, 23.1, base_id="B1", name="基地")], crs=crs),
                 encoding="utf-8")
    with pytest.raises(InputFileError, match="crs"):
        read_bases(p)


def test_layer_gpkg_view_refused(tmp_path: Path) -> None:
    import sqlite3

    gdf = gpd.GeoDataFrame({"base_id": ["B1"], "name": ["基地"]},
                           geometry=[shapely.Point(113.3, 23.1)], crs="EPSG:4326")
    p = tmp_path / "bases.gpkg"
    gdf.to_file(p, driver="GPKG")
    con = sqlite3.connect(p)
    con.execute("CREATE VIEW v AS WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
                "FROM r) SELECT i FROM r")
    con.commit()
    con.close()
    with pytest.raises(InputFileError, match="view"):
        read_bases(p)
