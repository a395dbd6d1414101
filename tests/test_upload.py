"""Tests of :mod:`geo.io.upload`: every format and encoding, caps, and hostile files."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import textwrap
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pyproj
import pytest

from geo.errors import InputFileError, UnknownFormatError, UploadLimitError, YizhanError
from geo.io import upload
from geo.io.upload import UploadLimits, excel_sheet_names, read_upload, read_upload_file
from geo.stations.validation import validate_stations
from tests.upload_fixtures import (
    GB18030_ONLY,
    HARD_NAMES_GB18030,
    HARD_NAMES_GBK,
    HEADER,
    VRT_XML,
    VRT_XML_PASSWD,
    billion_laughs_prolog,
    csv_bytes,
    csv_text,
    geojson_bytes,
    gpkg_bytes,
    shapefile_zip,
    stations_gdf,
    xlsx_bytes,
    xlsx_with_shared_string,
    zip_bomb,
    zip_of,
)

IDS = ["0012", "012", "12", "A-01", "7", "0", "00"]


def _rows(names: tuple[str, ...]) -> list[list[str]]:
    return [[IDS[k % len(IDS)] + ("" if k < len(IDS) else f"-{k}"), n, "工会驿站",
             f"{113.9 + k / 100:.2f}", f"{22.5 + k / 100:.2f}"] for k, n in enumerate(names)]


def _passwd_lines() -> list[str]:
    try:
        text = Path("/etc/passwd").read_text(errors="replace")
    except OSError:  # pragma: no cover - every Linux box has one
        return ["root:x:0:0"]
    return [ln for ln in text.splitlines() if len(ln) > 8]


def _assert_no_passwd(*texts: str) -> None:
    joined = "\n".join(texts)
    for line in _passwd_lines():
        assert line not in joined
    assert "root:" not in joined and "/bin/" not in joined


# ---------------------------------------------------------------------------- CSV


@pytest.mark.parametrize(("encoding", "label", "names"), [
    ("utf-8", "UTF-8", HARD_NAMES_GB18030),
    ("utf-8-sig", "UTF-8-BOM", HARD_NAMES_GB18030),
    ("gbk", "GBK", HARD_NAMES_GBK),
    ("gb18030", "GB18030", HARD_NAMES_GB18030),
    ("utf-16", "UTF-16", HARD_NAMES_GB18030),
])
def test_csv_encodings_round_trip_names_and_ids(encoding: str, label: str,
                                                names: tuple[str, ...]) -> None:
    rows = _rows(names)
    text, lines = csv_text(HEADER, rows)
    data = text.encode(encoding)
    raw = read_upload("驿站名单.csv", data)
    assert raw.format == "csv"
    assert raw.encoding == label
    assert raw.columns == HEADER  # no BOM glued to the first header
    assert raw.rows_in == len(rows)
    assert raw.frame["名称"].tolist() == list(names)
    assert raw.frame["编号"].tolist() == [r[0] for r in rows]  # "0012" stays "0012"
    assert raw.frame["经度"].tolist() == [r[3] for r in rows]
    assert raw.source_lines.tolist() == lines
    assert raw.data == data
    assert raw.row_issues == (None,) * len(rows)
    v = validate_stations(raw, crs="wgs84")
    assert v.accepted["name"].tolist() == list(names)
    assert v.accepted["station_id"].tolist() == [r[0] for r in rows]


def test_gb18030_only_characters_are_not_gbk() -> None:
    # the fixture is meaningful: these characters cannot be written as GBK
    for ch in GB18030_ONLY:
        with pytest.raises(UnicodeEncodeError):
            ch.encode("gbk")
    raw = read_upload("s.csv", csv_bytes(HEADER, _rows(("刘䶮纪念站",)), encoding="gb18030"))
    assert raw.encoding == "GB18030"
    assert raw.frame["名称"].tolist() == ["刘䶮纪念站"]


@pytest.mark.parametrize(("delimiter", "suffix"), [(";", ".csv"), ("\t", ".tsv"),
                                                   ("\t", ".txt"), ("|", ".csv")])
def test_csv_delimiters(delimiter: str, suffix: str) -> None:
    rows = _rows(HARD_NAMES_GBK)
    raw = read_upload("s" + suffix, csv_bytes(HEADER, rows, delimiter=delimiter))
    assert raw.delimiter == delimiter
    assert raw.columns == HEADER
    assert raw.frame["名称"].tolist() == list(HARD_NAMES_GBK)


@pytest.mark.parametrize("value", ['"\t', "a\tb\tc", "x;y;z|w", "a\t\nb"])
def test_csv_delimiter_follows_the_header_not_one_quoted_value(value: str) -> None:
    # csv.Sniffer alone took TAB here and read the 7-column file as one column
    header = ["编号", "名称", "类型", "经度", "纬度", "城市", "备注"]
    rows = [["1", value, "工会驿站", "113.9", "22.5", "深圳", ""]]
    raw = read_upload("s.csv", csv_bytes(header, rows))
    assert raw.delimiter == ","
    assert raw.columns == header
    assert raw.frame.iloc[0].tolist() == rows[0]
    # a header with a comma inside a name, ';'-separated
    data = '经纬度(lon,lat);名称\n"113.9,22.5";a\n"114,23";b\n'.encode()
    assert read_upload("s.csv", data).columns == ["经纬度(lon,lat)", "名称"]


def test_csv_quoted_newlines_give_start_lines_and_lone_cr_line_ends() -> None:
    rows = [["1", "a\nb\nc", "工会驿站", "113.9", "22.5"],
            ["2", "plain", "工会驿站", "113.9", "22.5"],
            ["3", 'say "hi", ok', "工会驿站", "113.9", "22.5"]]
    text, lines = csv_text(HEADER, rows, lineterminator="\n")
    assert lines == [2, 5, 6]
    raw = read_upload("s.csv", text.encode())
    assert raw.source_lines.tolist() == [2, 5, 6]
    assert raw.frame["名称"].tolist() == [r[1] for r in rows]
    cr_only = read_upload("s.csv", text.replace("\n", "\r").encode())
    assert cr_only.rows_in == 3
    assert cr_only.frame["名称"].tolist() == ["a\rb\rc", "plain", 'say "hi", ok']


def test_csv_trailing_blank_lines_not_counted_but_middle_ones_are() -> None:
    data = ("编号,名称,类型,经度,纬度\r\n1,a,工会驿站,113.9,22.5\r\n\r\n,,,,\r\n"
            "2,b,工会驿站,113.9,22.5\r\n\r\n,,,,\r\n \r\n").encode()
    raw = read_upload("s.csv", data)
    assert raw.rows_in == 4
    assert raw.source_lines.tolist() == [2, 3, 4, 5]
    assert raw.frame["编号"].tolist() == ["1", "", "", "2"]
    assert any("blank line" in n for n in raw.notes)


def test_csv_too_many_fields_kept_with_issue_and_short_rows_padded() -> None:
    data = "编号,名称,经度,纬度\n1,a,b,113.9,22.5\n2,c\n3,d,113.9,22.5,,\n".encode()
    raw = read_upload("s.csv", data)
    assert raw.rows_in == 3
    assert raw.row_issues[0] is not None and "5 fields" in raw.row_issues[0]
    assert raw.row_issues[1] is None  # short rows are padded with ""
    assert raw.frame.iloc[1].tolist() == ["2", "c", "", ""]
    assert raw.row_issues[2] is None  # empty extra fields are harmless


def test_csv_duplicate_and_blank_headers_are_made_unique() -> None:
    raw = read_upload("s.csv", "名称,名称,,经度,纬度,column_3\na,b,c,1,2,x\n".encode())
    assert raw.columns == ["名称", "名称_2", "column_3", "经度", "纬度", "column_3_2"]
    assert len(set(raw.columns)) == len(raw.columns)


def test_csv_undecodable_and_empty() -> None:
    with pytest.raises(InputFileError, match="decode"):
        read_upload("s.csv", b"\xff\xfe\xfd" * 3 + b"\x81\n")  # odd-length UTF-16-ish junk
    with pytest.raises(InputFileError, match="BOM"):
        read_upload("s.csv", b"\xef\xbb\xbf\xe5\x90\x8d\xff\n")
    with pytest.raises(InputFileError, match="empty"):
        read_upload("s.csv", b"")
    with pytest.raises(InputFileError, match="header"):
        read_upload("s.csv", b"\r\n\r\n")
    with pytest.raises(InputFileError):
        read_upload("s.csv", "not bytes")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- XLSX


def _two_sheet_workbook() -> bytes:
    return xlsx_bytes({
        "说明": [["本表为驿站名单"], ["请看第二张表"]],
        "站点": [
            ["编号", "名称", "类型", "经度", "纬度"],
            ["0012", "南山区粤海街道工会驿站", "工会驿站", 113.93, 22.53],
            ["012", "龍華區（一）", "工会驿站", 114.0291532, 22.6543217],
            ["12", '福田区"爱心妈妈小屋",二号', "爱心妈妈小屋", 114.05, 22.54],
            [None, None, None, None, None],
            ["13", "宝安区\n西乡街道 驿站", "工会驿站", 113.88, 22.58],
            [None, None, None, None, None],
            [None, None, None, None, None],
        ],
    })


def test_xlsx_second_sheet_by_name_text_ids_and_exact_floats() -> None:
    data = _two_sheet_workbook()
    assert excel_sheet_names(data) == ["说明", "站点"]
    raw = read_upload("名单.xlsx", data, sheet="站点")
    assert raw.format == "xlsx" and raw.sheet == "站点" and raw.sheets == ("说明", "站点")
    assert raw.columns == HEADER
    assert raw.rows_in == 5  # the blank row in the middle counts, the trailing ones not
    assert raw.source_lines.tolist() == [2, 3, 4, 5, 6]
    assert raw.frame["编号"].tolist() == ["0012", "012", "12", "", "13"]
    assert raw.frame["名称"].tolist()[:3] == ["南山区粤海街道工会驿站", "龍華區（一）",
                                              '福田区"爱心妈妈小屋",二号']
    assert raw.frame["经度"].tolist()[:2] == ["113.93", "114.0291532"]
    v = validate_stations(raw, crs="wgs84")
    acc = v.accepted.set_index("station_id")
    assert acc.loc["0012", "orig_lon"] == 113.93
    assert acc.loc["012", "orig_lat"] == 22.6543217
    assert acc.loc["13", "name"] == "宝安区\n西乡街道 驿站"
    assert v.rejected["code"].tolist() == ["blank_row"]
    assert v.rejected["source_line"].tolist() == [5]


def test_xlsx_first_sheet_by_default_and_unknown_sheet() -> None:
    data = _two_sheet_workbook()
    raw = read_upload("名单.xlsx", data)
    assert raw.sheet == "说明"
    assert raw.columns == ["本表为驿站名单"]
    with pytest.raises(InputFileError, match="站点"):
        read_upload("名单.xlsx", data, sheet="不存在")


def test_xlsx_header_after_blank_rows_and_numbers_as_text() -> None:
    data = xlsx_bytes({"S": [[None], [None, None], ["名称", "编号", "经度", "纬度"],
                             ["a", 12, 113.0, 22.5], ["b", "1e3", "113.930", "22.53"]]})
    raw = read_upload("x.xlsx", data)
    assert raw.columns == ["名称", "编号", "经度", "纬度"]
    assert raw.source_lines.tolist() == [4, 5]
    # an integral number cell gives "12"/"113"; text stays exactly as typed
    assert raw.frame.iloc[0].tolist() == ["a", "12", "113", "22.5"]
    assert raw.frame.iloc[1].tolist() == ["b", "1e3", "113.930", "22.53"]


def test_xlsx_values_beyond_named_columns_flagged() -> None:
    data = xlsx_bytes({"S": [["名称", "经度", "纬度"], ["a", 113.9, 22.5, "多余"],
                             ["b", 113.9, 22.5]]})
    raw = read_upload("x.xlsx", data)
    assert raw.columns == ["名称", "经度", "纬度"]
    assert raw.row_issues[0] is not None and raw.row_issues[1] is None


def test_xlsx_shared_strings_are_read() -> None:
    # control for the billion-laughs test: the hand-made sharedStrings part is used
    raw = read_upload("x.xlsx", xlsx_with_shared_string("南山区粤海街道工会驿站"))
    assert raw.frame["名称"].tolist() == ["南山区粤海街道工会驿站"]


def test_xlsx_billion_laughs_rejected_not_expanded() -> None:
    data = xlsx_with_shared_string("&lol9;", prolog=billion_laughs_prolog())
    assert len(data) < 20_000
    tracemalloc.start()
    try:
        with pytest.raises(InputFileError):
            read_upload("laughs.xlsx", data)
        _cur, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 1024 * 1024  # expanded it would be 3 GB


def test_xlsx_that_is_not_a_zip() -> None:
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512
    with pytest.raises(InputFileError, match="xlsx"):
        read_upload("old.xlsx", ole)
    with pytest.raises(InputFileError):
        read_upload("broken.xlsx", b"PK\x03\x04" + b"\0" * 100)


# ---------------------------------------------------------------------------- GDAL formats

NAMES = HARD_NAMES_GB18030
LONLAT = [(113.93 + k * 0.003, 22.53 + k * 0.002) for k in range(len(NAMES))]
GDF_IDS = ["0012", "012", "12", "A-01", "7", "0", "00"]


def _gdf(crs: str = "EPSG:4326", names: tuple[str, ...] = NAMES):
    return stations_gdf(names, LONLAT[: len(names)], ids=GDF_IDS[: len(names)], crs=crs)


def test_geojson_round_trip() -> None:
    data = geojson_bytes(NAMES, LONLAT, ids=GDF_IDS)
    raw = read_upload("stations.geojson", data)
    assert raw.format == "geojson" and raw.has_geometry
    assert raw.frame["名称"].tolist() == list(NAMES)
    assert raw.frame["编号"].tolist() == GDF_IDS
    np.testing.assert_array_equal(raw.geom_lon, [p[0] for p in LONLAT])
    np.testing.assert_array_equal(raw.geom_lat, [p[1] for p in LONLAT])
    assert raw.source_lines.tolist() == list(range(1, len(NAMES) + 1))
    v = validate_stations(raw, crs="wgs84")
    assert v.accepted["name"].tolist() == list(NAMES)
    assert v.mapping.lon is None and v.mapping.coords is None


def test_geojson_non_point_and_null_geometry_are_row_issues() -> None:
    data = (b'{"type":"FeatureCollection","features":['
            b'{"type":"Feature","properties":{"name":"a","type":"x"},"geometry":null},'
            b'{"type":"Feature","properties":{"name":"b","type":"x"},"geometry":'
            b'{"type":"LineString","coordinates":[[113.9,22.5],[114,22.6]]}},'
            b'{"type":"Feature","properties":{"name":"c","type":"x"},"geometry":'
            b'{"type":"MultiPoint","coordinates":[[113.9,22.5]]}}]}')
    raw = read_upload("s.json", data)
    assert raw.rows_in == 3
    assert raw.row_issues[0] == "missing geometry"
    assert raw.row_issues[1] is not None and "LineString" in raw.row_issues[1]
    assert raw.row_issues[2] is None and raw.geom_lon[2] == 113.9


def test_gpkg_round_trip(tmp_path: Path) -> None:
    data = gpkg_bytes(_gdf(), tmp_path)
    raw = read_upload("驿站.gpkg", data)
    assert raw.format == "gpkg"
    assert raw.frame["名称"].tolist() == list(NAMES)
    assert raw.frame["编号"].tolist() == GDF_IDS
    np.testing.assert_allclose(raw.geom_lon, [p[0] for p in LONLAT], rtol=0, atol=1e-12)
    assert raw.geom_crs is not None and raw.geom_crs.to_epsg() == 4326


def test_gpkg_without_geometry_is_input_error(tmp_path: Path) -> None:
    import pandas as pd
    import pyogrio

    path = tmp_path / "table.gpkg"
    pyogrio.write_dataframe(pd.DataFrame({"名称": ["a"], "经度": [113.9]}), path)
    with pytest.raises(InputFileError, match="geometry"):
        read_upload("table.gpkg", path.read_bytes())


def test_gpkg_without_sqlite_header() -> None:
    with pytest.raises(InputFileError, match="GeoPackage"):
        read_upload("x.gpkg", b"{}")


# 138 bytes in GBK, 147 in UTF-8: GDAL writes a field width byte >= 0x80 into the .dbf
ADDRESS = "深圳市南山区科技园" + "A" * 120


@pytest.mark.parametrize(("encoding", "cpg", "expect"), [
    ("UTF-8", True, "utf-8"),
    ("GBK", True, "gbk"),
    ("GBK", "936", "gbk"),
    ("GBK", "GBK", "gbk"),
    ("GBK", False, "gbk"),          # no .cpg: detected from the .dbf bytes
    ("UTF-8", False, "utf-8"),
    ("GB18030", False, "gb18030"),
])
def test_shapefile_encodings(tmp_path: Path, encoding: str, cpg: str | bool,
                             expect: str) -> None:
    names = NAMES if encoding in ("UTF-8", "GB18030") else HARD_NAMES_GBK
    # a long address makes GDAL widen the field beyond 127 bytes (a 0x96-like width
    # byte in the header that is not text)
    gdf = stations_gdf(names, LONLAT[: len(names)], ids=GDF_IDS[: len(names)],
                       extra={"地址": [ADDRESS] * len(names)})
    data = shapefile_zip(gdf, tmp_path, encoding=encoding, cpg=cpg, folder="导出/")
    raw = read_upload("驿站.zip", data)
    assert raw.format == "shapefile"
    assert raw.encoding == expect
    assert raw.columns == ["编号", "名称", "类型", "地址"]
    assert raw.frame["名称"].tolist() == list(names)
    assert raw.frame["编号"].tolist() == GDF_IDS[: len(names)]
    assert raw.frame["地址"].tolist() == [ADDRESS] * len(names)
    np.testing.assert_allclose(raw.geom_lon, [p[0] for p in LONLAT[: len(names)]], atol=1e-12)


def test_shapefile_without_prj(tmp_path: Path) -> None:
    data = shapefile_zip(_gdf(names=HARD_NAMES_GBK), tmp_path, encoding="GBK", prj=False)
    raw = read_upload("s.zip", data)
    assert raw.geom_crs is None
    assert any("no .prj" in n for n in raw.notes)
    v = validate_stations(raw, crs="wgs84")
    np.testing.assert_array_equal(v.accepted["lon"], [p[0] for p in LONLAT[:5]])
    np.testing.assert_array_equal(v.accepted["lat"], [p[1] for p in LONLAT[:5]])


def test_shapefile_projected_prj_converted_to_lonlat(tmp_path: Path) -> None:
    utm = _gdf(crs="EPSG:32650")
    data = shapefile_zip(utm, tmp_path)
    raw = read_upload("s.zip", data)
    assert raw.geom_crs is not None and raw.geom_crs.to_epsg() == 32650
    assert raw.geom_lon[0] > 1000  # metres as stored
    v = validate_stations(raw, crs="wgs84")
    assert len(v.accepted) == len(NAMES)
    tr = pyproj.Transformer.from_crs("EPSG:32650", "EPSG:4326", always_xy=True)
    ex, ey = tr.transform(utm.geometry.x.to_numpy(), utm.geometry.y.to_numpy())
    np.testing.assert_allclose(v.accepted["lon"], ex, rtol=0, atol=1e-9)
    np.testing.assert_allclose(v.accepted["lat"], ey, rtol=0, atol=1e-9)
    np.testing.assert_allclose(v.accepted["lon"], [p[0] for p in LONLAT], atol=1e-7)


def test_shapefile_zip_problems(tmp_path: Path) -> None:
    data = shapefile_zip(_gdf(), tmp_path)
    members = {i.filename: zipfile.ZipFile(io.BytesIO(data)).read(i)
               for i in zipfile.ZipFile(io.BytesIO(data)).infolist()}
    no_dbf = {k: v for k, v in members.items() if not k.endswith(".dbf")}
    with pytest.raises(InputFileError, match=r"\.dbf"):
        read_upload("s.zip", zip_of(no_dbf))
    two = dict(members)
    two.update({"other/b.shp": members["驿站.shp"]})
    with pytest.raises(InputFileError, match="2 Shapefiles"):
        read_upload("s.zip", zip_of(two))
    with pytest.raises(InputFileError, match=r"no \.shp"):
        read_upload("s.zip", zip_of({"readme.txt": b"hi"}))
    with pytest.raises(InputFileError, match="zip"):
        read_upload("s.zip", b"PK\x03\x04 not really")
    # macOS resource forks and dot files are ignored
    mac = dict(members)
    mac["__MACOSX/._驿站.shp"] = b"junk"
    assert read_upload("s.zip", zip_of(mac)).rows_in == len(NAMES)


def test_zipped_geojson(tmp_path: Path) -> None:
    data = zip_of({"dir/stations.geojson": geojson_bytes(NAMES, LONLAT)})
    raw = read_upload("s.zip", data)
    assert raw.format == "geojson"
    assert raw.frame["名称"].tolist() == list(NAMES)


# ---------------------------------------------------------------------------- hostile files


@pytest.mark.parametrize("name", ["stations.csv", "stations.geojson", "stations.json",
                                  "stations.txt"])
@pytest.mark.parametrize("vrt", [VRT_XML, VRT_XML_PASSWD, b"\xef\xbb\xbf  " + VRT_XML])
def test_vrt_disguised_as_station_file_rejected(name: str, vrt: bytes,
                                                tmp_path: Path) -> None:
    with pytest.raises(InputFileError) as err:
        read_upload(name, vrt)
    assert "VRT" in str(err.value)
    _assert_no_passwd(str(err.value))


def test_vrt_driver_allow_list_is_a_second_line_of_defence() -> None:
    """Even with every content check disabled and GDAL loaded before GDAL_SKIP is set (so
    the VRT driver is active), the driver-prefixed open (``GeoJSON:``) and the driver
    allow-list stop the VRT; the CSV reader never hands the file to GDAL."""
    code = textwrap.dedent(f"""
        import os, sys
        import pyogrio  # GDAL drivers registered before geo.io.gdal sets GDAL_SKIP
        import geo.io.csvread as c
        import geo.io.gdal as g
        import geo.io.upload as u
        from geo.errors import InputFileError
        g.check_content = lambda *a, **k: None
        c.reject_vrt = lambda *a, **k: None
        vrt = {VRT_XML_PASSWD!r}
        try:
            u.read_upload("stations.geojson", vrt)
            print("READ")
        except InputFileError as e:
            print("REJECTED", e)
        raw = u.read_upload("stations.csv", vrt)
        print("CSV", raw.rows_in, raw.columns)
    """)
    env = {k: v for k, v in os.environ.items() if k != "GDAL_SKIP"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, cwd=Path(__file__).resolve().parents[1], timeout=120)
    assert out.returncode == 0, out.stderr
    assert "REJECTED" in out.stdout and "READ" not in out.stdout.split("REJECTED")[0]
    assert "CSV 0" in out.stdout
    _assert_no_passwd(out.stdout, out.stderr)


def test_zip_with_vrt_members_rejected(tmp_path: Path) -> None:
    with pytest.raises(InputFileError):
        read_upload("s.zip", zip_of({"stations.vrt": VRT_XML_PASSWD}))
    with pytest.raises(InputFileError, match="VRT"):
        read_upload("s.zip", zip_of({"stations.geojson": VRT_XML_PASSWD}))
    # a .shp that is really a VRT, next to the other parts
    data = shapefile_zip(_gdf(), tmp_path)
    zf = zipfile.ZipFile(io.BytesIO(data))
    members = {i.filename: zf.read(i) for i in zf.infolist()}
    members["驿站.shp"] = VRT_XML_PASSWD
    with pytest.raises(InputFileError) as err:
        read_upload("s.zip", zip_of(members))
    _assert_no_passwd(str(err.value))
    members = {i.filename: zf.read(i) for i in zf.infolist()}
    members["驿站.prj"] = VRT_XML_PASSWD
    with pytest.raises(InputFileError, match="VRT"):
        read_upload("s.zip", zip_of(members))


@pytest.fixture(scope="module")
def bomb() -> bytes:
    data = zip_bomb("stations.shp", 200 * 1024 * 1024)
    assert len(data) < 400_000
    assert zipfile.ZipFile(io.BytesIO(data)).infolist()[0].file_size == 200 * 1024 * 1024
    return data


@pytest.mark.parametrize("name", ["bomb.zip", "bomb.xlsx"])
def test_zip_bomb_rejected_before_expansion(bomb: bytes, name: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    def no_open(*_a: object, **_k: object) -> None:
        raise AssertionError("a zip member was opened")

    monkeypatch.setattr(zipfile.ZipFile, "open", no_open)
    monkeypatch.setattr(zipfile.ZipFile, "read", no_open)
    with pytest.raises(UploadLimitError, match="bomb"):
        read_upload(name, bomb)


def test_zip_bomb_peak_memory_small(bomb: bytes) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(UploadLimitError):
            read_upload("bomb.zip", bomb)
        _cur, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5 * 1024 * 1024


def test_zip_total_uncompressed_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(1)
    members = {f"part{k}.bin": rng.bytes(300_000) for k in range(4)}  # incompressible
    data = zip_of(members)
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda *a, **k: pytest.fail("opened"))
    with pytest.raises(UploadLimitError, match="expands to"):
        read_upload("s.zip", data, limits=UploadLimits(max_uncompressed_bytes=1_000_000))


def test_zip_too_many_members() -> None:
    data = zip_of({f"f{k}.txt": b"x" for k in range(65)})
    with pytest.raises(UploadLimitError, match="65 members"):
        read_upload("s.zip", data)
    with pytest.raises(UploadLimitError, match="4 members"):
        read_upload("s.zip", zip_of({f"f{k}.txt": b"x" for k in range(4)}),
                    limits=UploadLimits(max_zip_members=3))


def test_upload_size_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = csv_bytes(HEADER, _rows(HARD_NAMES_GBK) * 20)
    lim = UploadLimits(max_upload_bytes=1000)
    assert len(data) > 1000
    for name in ("s.csv", "s.xlsx", "s.zip", "s.geojson", "s.xls"):
        with pytest.raises(UploadLimitError, match="MB"):
            read_upload(name, data, limits=lim)
    path = tmp_path / "big.csv"
    path.write_bytes(data)
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("read before the check"))
    with pytest.raises(UploadLimitError):
        read_upload_file(path, limits=lim)


def test_read_upload_file(tmp_path: Path) -> None:
    path = tmp_path / "名单.csv"
    path.write_bytes(csv_bytes(HEADER, _rows(HARD_NAMES_GBK), encoding="gbk"))
    raw = read_upload_file(path)
    assert raw.name == "名单.csv" and raw.encoding == "GBK"
    with pytest.raises(InputFileError, match="not found"):
        read_upload_file(tmp_path / "missing.csv")


def test_feature_count_cap_every_format(tmp_path: Path) -> None:
    lim = UploadLimits(max_features=10)
    names = tuple(f"站{k}" for k in range(11))
    ll = [(113.9 + k * 1e-3, 22.5) for k in range(11)]
    rows = _rows(names)
    gdf = stations_gdf(names, ll)
    files = {
        "s.csv": csv_bytes(HEADER, rows),
        "cr.csv": csv_bytes(HEADER, rows, lineterminator="\r"),  # no "\n" to count
        "s.xlsx": xlsx_bytes({"S": [HEADER, *rows]}),
        "s.geojson": geojson_bytes(names, ll),
        "s.gpkg": gpkg_bytes(gdf, tmp_path),
        "s.zip": shapefile_zip(gdf, tmp_path),
    }
    for name, data in files.items():
        with pytest.raises(UploadLimitError):
            read_upload(name, data, limits=lim)
        # ten rows are fine
    ok = {
        "s.csv": csv_bytes(HEADER, rows[:10]),
        "cr.csv": csv_bytes(HEADER, rows[:10], lineterminator="\r"),
        "s.xlsx": xlsx_bytes({"S": [HEADER, *rows[:10]]}),
        "s.geojson": geojson_bytes(names[:10], ll[:10]),
    }
    for name, data in ok.items():
        assert read_upload(name, data, limits=lim).rows_in == 10


def test_column_cap() -> None:
    header = [f"c{k}" for k in range(6)]
    with pytest.raises(UploadLimitError, match="columns"):
        read_upload("s.csv", csv_bytes(header, [["1"] * 6]), limits=UploadLimits(max_columns=5))
    with pytest.raises(UploadLimitError, match="columns"):
        read_upload("s.xlsx", xlsx_bytes({"S": [header]}), limits=UploadLimits(max_columns=5))


def test_limits_validated() -> None:
    from geo.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError):
        UploadLimits(max_features=0)
    with pytest.raises(InvalidParameterError):
        UploadLimits(max_compression_ratio=1)


@pytest.mark.parametrize(("head", "match"), [(b"PK\x03\x04", "zip"),
                                             (b"SQLite format 3\x00", "SQLite")])
def test_csv_with_binary_header_rejected(head: bytes, match: str) -> None:
    with pytest.raises(InputFileError, match=match):
        read_upload("stations.csv", head + b"\0" * 200 + "名称,经度\n".encode())


@pytest.mark.parametrize(("name", "match"), [
    ("stations.xls", r"\.xlsx"),
    ("stations.XLS", r"\.xlsx"),
    ("stations.shp", r"\.zip"),
    ("stations.kml", "CSV, XLSX"),
    ("stations", "CSV, XLSX"),
])
def test_unknown_formats_helpful(name: str, match: str) -> None:
    with pytest.raises(UnknownFormatError, match=match):
        read_upload(name, b"\xd0\xcf\x11\xe0 whatever")


def test_path_in_name_is_not_used() -> None:
    raw = read_upload("../../etc/名单.csv", csv_bytes(HEADER, _rows(("a",))))
    assert raw.name == "名单.csv"


def test_errors_are_yizhan_errors() -> None:
    for exc in (InputFileError, UnknownFormatError, UploadLimitError):
        assert issubclass(exc, YizhanError)
    assert os.environ.get("GDAL_SKIP") == "OGR_VRT"
    assert frozenset({"GeoJSON", "GPKG", "ESRI Shapefile"}) == upload.ALLOWED_DRIVERS


# ---------------------------------------------------------------------------- hardening
# (the whole hostile corpus is in tests/test_hostile_io.py)


def test_shapefile_cpg_with_nul_is_a_named_error(tmp_path: Path) -> None:
    zf = zipfile.ZipFile(io.BytesIO(shapefile_zip(_gdf(), tmp_path)))
    members = {i.filename: zf.read(i) for i in zf.infolist()}
    members["驿站.cpg"] = b"UTF-8\0"  # was a ValueError traceback
    with pytest.raises(InputFileError, match=r"\.cpg"):
        read_upload("s.zip", zip_of(members))


def test_gpkg_view_refused_before_gdal(tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    import pyogrio

    path = tmp_path / "v.gpkg"
    path.write_bytes(gpkg_bytes(_gdf(), tmp_path))
    con = sqlite3.connect(path)
    con.executescript(
        "CREATE VIEW evil AS WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r)"
        " SELECT i AS fid, NULL AS geom FROM r;"
        "UPDATE gpkg_contents SET table_name = 'evil';")
    con.close()
    monkeypatch.setattr(pyogrio, "read_info", lambda *a, **k: pytest.fail("GDAL called"))
    with pytest.raises(InputFileError, match="view"):
        read_upload("v.gpkg", path.read_bytes())


@pytest.mark.parametrize(("crs", "ok"), [
    ({"type": "link", "properties": {"href": "http://127.0.0.1:9/crs", "type": "ogcwkt"}},
     False),
    ({"type": "name", "properties": {"name": "http://127.0.0.1:9/crs"}}, False),
    ({"type": "name", "properties": {"name": "/etc/passwd"}}, False),
    ({"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}, True),
    ({"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4326"}}, True),
    ({"type": "EPSG", "properties": {"code": 4326}}, True),
])
def test_geojson_legacy_crs_members(crs: dict[str, object], ok: bool) -> None:
    doc = json.loads(geojson_bytes(NAMES[:2], LONLAT[:2]))
    data = json.dumps({**doc, "crs": crs}).encode()
    if ok:
        assert read_upload("s.geojson", data).rows_in == 2
    else:
        with pytest.raises(InputFileError, match="crs"):
            read_upload("s.geojson", data)


@pytest.mark.parametrize("body", [
    b"<OGRWFSDataSource><URL>http://127.0.0.1:9/wfs</URL></OGRWFSDataSource>",
    b'{"type": "gdal_streamed_alg", "command_line": "gdal vector pipeline ! read /etc/passwd"}',
    b'{"type": "Topology", "objects": {}, "arcs": []}',
    b'{"geometryType": "esriGeometryPoint", "features": []}',
])
def test_json_for_other_gdal_drivers_refused(body: bytes) -> None:
    with pytest.raises(InputFileError, match="GeoJSON"):
        read_upload("s.geojson", body)


def _xlsx_with_dimension(rows: list[list[str]], dimension: str) -> bytes:
    data = xlsx_bytes({"S": rows})
    zin = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for n in zin.namelist():
            d = zin.read(n)
            if n.startswith("xl/worksheets/"):
                d = re.sub(rb'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{dimension}"/>'
                           .encode(), d)
                assert dimension.encode() in d
            z.writestr(n, d)
    return out.getvalue()


def test_xlsx_declared_dimension_is_ignored() -> None:
    rows = [["名称", "经度", "纬度"], ["a", "113.9", "22.5"], ["b", "114.0", "22.6"]]
    raw = read_upload("x.xlsx", _xlsx_with_dimension(rows, "A1:SF200001"))
    assert raw.columns == ["名称", "经度", "纬度"]
    assert raw.rows_in == 2 and raw.frame.iloc[1].tolist() == rows[2]
    # the padded table would be 500 × 200,001 cells; the real one is capped as read
    wide = [[f"h{k}" for k in range(50)], *[["x"]] * 30]
    with pytest.raises(UploadLimitError, match="cells"):
        read_upload("x.xlsx", _xlsx_with_dimension(wide, "A1:AX31"),
                    limits=UploadLimits(max_cells=1000))


def test_xlsx_shared_strings_capped_before_openpyxl(monkeypatch: pytest.MonkeyPatch) -> None:
    import openpyxl

    data = xlsx_with_shared_string("南山区粤海街道工会驿站")
    monkeypatch.setattr(openpyxl, "load_workbook", lambda *a, **k: pytest.fail("parsed"))
    with pytest.raises(UploadLimitError, match="shared strings"):
        read_upload("x.xlsx", data, limits=UploadLimits(max_shared_strings_bytes=10))
    assert excel_sheet_names(data, limits=UploadLimits(max_shared_strings_bytes=10)) == []


def test_csv_cells_capped_while_reading() -> None:
    data = csv_bytes([f"c{k}" for k in range(10)], [[""] * 10] * 20)
    with pytest.raises(UploadLimitError, match="cells"):
        read_upload("s.csv", data, limits=UploadLimits(max_cells=100))
    assert read_upload("s.csv", data, limits=UploadLimits(max_cells=300)).rows_in == 0


def test_zip_end_record_checked_before_zipfile_parses_the_directory(
        monkeypatch: pytest.MonkeyPatch) -> None:
    data = zip_of({f"f{k}.txt": b"" for k in range(70)})
    monkeypatch.setattr(zipfile, "ZipFile", lambda *a, **k: pytest.fail("directory parsed"))
    with pytest.raises(UploadLimitError, match="70 members"):
        read_upload("s.zip", data)


def test_zip_member_with_bad_crc_is_a_named_error(tmp_path: Path) -> None:
    data = bytearray(shapefile_zip(_gdf(), tmp_path))
    i = data.find(b"PK\x03\x04")
    data[i + 14] ^= 0xFF  # the first member's CRC, in its local header
    j = data.find(b"PK\x01\x02")
    data[j + 16] ^= 0xFF  # and in the directory
    with pytest.raises(InputFileError, match="CRC"):
        read_upload("s.zip", bytes(data))
