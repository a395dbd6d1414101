"""A corpus of hostile input files, built in code (not a test module).

Each :class:`Case` is one file (or a Shapefile's files) that once made a reader hang,
eat memory, go on the network, read another file or crash — each within every cap —
plus controls that must still be read. :func:`build_corpus` writes them under a
directory; URLs point at ``http://127.0.0.1:<port>/`` (a listener the test counts).
``kind`` says which reader gets the file: ``upload`` (:func:`geo.io.upload.read_upload`),
``towns`` / ``zones`` / ``bases`` / ``stations`` (the layer readers).
"""

from __future__ import annotations

import io
import json
import random
import sqlite3
import struct
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio
import shapely

from tests.upload_fixtures import (
    VRT_XML_PASSWD,
    billion_laughs_prolog,
    stations_gdf,
    xlsx_with_shared_string,
    zip_bomb,
)


@dataclass
class Case:
    """One hostile file: ``expect`` is ``error`` (a named error), ``ok`` (read) or
    ``any`` (either, bounded)."""

    id: str
    kind: str
    file: str
    expect: str = "error"
    limits: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class _Builder:
    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.cases: list[Case] = []
        self.n = 0

    def add(self, cid: str, kind: str, name: str, data: bytes | Callable[[Path], None], *,
            expect: str = "error", note: str = "", **limits: Any) -> None:
        self.n += 1
        d = self.root / f"{self.n:03d}-{cid}"
        d.mkdir(parents=True)
        path = d / name
        if callable(data):
            data(path)
        else:
            path.write_bytes(data)
        self.cases.append(Case(cid, kind, str(path), expect, dict(limits), note))


# ---------------------------------------------------------------------------- GeoJSON


def _fc(features: list[dict[str, Any]], **extra: Any) -> bytes:
    return json.dumps({"type": "FeatureCollection", **extra, "features": features},
                      ensure_ascii=False).encode()


def _pt(lon: float = 113.93, lat: float = 22.53, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"名称": "驿站", "类型": "工会驿站", **props},
            "geometry": {"type": "Point", "coordinates": [lon, lat]}}


def _zone(**props: Any) -> dict[str, Any]:
    ring = [[113.30, 23.10], [113.31, 23.10], [113.31, 23.11], [113.30, 23.11], [113.30, 23.10]]
    return {"type": "Feature", "properties": {"zone_id": "Z1", "base_id": "B1", "name": "区",
                                              **props},
            "geometry": {"type": "Polygon", "coordinates": [ring]}}


def _geojson_cases(b: _Builder) -> None:
    u = b.url
    link = {"type": "link", "properties": {"href": f"{u}/crs.wkt", "type": "ogcwkt"}}
    b.add("geojson-wfs-datasource", "upload", "stations.geojson",
          f"<OGRWFSDataSource><URL>{u}/wfs?</URL></OGRWFSDataSource>".encode())
    b.add("geojson-crs-link", "upload", "stations.geojson", _fc([_pt()], crs=link))
    b.add("geojson-crs-link-in-geometry", "upload", "stations.geojson", _fc([{
        "type": "Feature", "properties": {"名称": "a"},
        "geometry": {"type": "Point", "coordinates": [113.9, 22.5], "crs": link}}]))
    b.add("geojson-crs-link-escaped-key", "upload", "stations.json",
          _fc([_pt()]).replace(b'{"type": "FeatureCollection",',
                               b'{"type": "FeatureCollection", "\\u0063rs": '
                               + json.dumps(link).encode() + b","))
    b.add("geojson-crs-link-uppercase-key", "upload", "stations.geojson",
          _fc([_pt()], CRS=link))
    b.add("geojson-crs-link-feature", "upload", "stations.geojson",
          json.dumps({**_pt(), "crs": link}).encode())
    b.add("geojson-crs-name-url", "upload", "stations.geojson", _fc(
        [_pt()], crs={"type": "name", "properties": {"name": f"{u}/crs"}}))
    b.add("geojson-crs-name-file", "upload", "stations.geojson", _fc(
        [_pt()], crs={"type": "name", "properties": {"name": "/etc/passwd"}}))
    b.add("geojson-crs-name-urn-control", "upload", "stations.geojson", _fc(
        [_pt()], crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}),
        expect="ok")
    gdalg = {"type": "gdal_streamed_alg", "command_line":
             "gdal vector pipeline ! read /etc/passwd ! write --of stream streamed_dataset"}
    b.add("gdalg-reads-local-file", "upload", "stations.geojson", json.dumps(gdalg).encode())
    b.add("gdalg-reads-url", "upload", "stations.json", json.dumps(
        {**gdalg, "command_line": f"gdal vector pipeline ! read /vsicurl/{u}/x.csv ! write "
                                  "--of stream streamed_dataset"}).encode())
    b.add("esrijson", "upload", "stations.json", json.dumps({
        "geometryType": "esriGeometryPoint", "spatialReference": {"wkid": 4326},
        "fields": [{"name": "名称", "type": "esriFieldTypeString"}],
        "features": [{"attributes": {"名称": "a"}, "geometry": {"x": 113.9, "y": 22.5}}]}).encode())
    b.add("topojson", "upload", "stations.json", json.dumps({
        "type": "Topology", "objects": {"s": {"type": "GeometryCollection", "geometries": [
            {"type": "Point", "coordinates": [113.9, 22.5], "properties": {"名称": "a"}}]}},
        "arcs": []}).encode())
    b.add("gml-with-xlink", "upload", "stations.geojson", (
        '<?xml version="1.0"?><ogr:FeatureCollection xmlns:ogr="http://ogr.maptools.org/" '
        'xmlns:gml="http://www.opengis.net/gml" xmlns:xlink="http://www.w3.org/1999/xlink">'
        f'<gml:featureMember xlink:href="{u}/gml#f1"/></ogr:FeatureCollection>').encode())
    b.add("gpx", "upload", "stations.json", (
        b'<?xml version="1.0"?><gpx version="1.1" creator="x" xmlns="http://www.topografix.com/'
        b'GPX/1/1"><wpt lat="22.5" lon="113.9"><name>a</name></wpt></gpx>'))
    b.add("osm-xml", "upload", "stations.geojson", (
        b'<?xml version="1.0"?><osm version="0.6"><node id="1" lat="22.5" lon="113.9"/>'
        b'</osm>'))
    b.add("kml-network-link", "upload", "stations.geojson", (
        '<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><NetworkLink>'
        f'<Link><href>{u}/k.kml</href></Link></NetworkLink></kml>').encode())
    b.add("vrt-vsicurl-source", "upload", "stations.geojson", (
        f'<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>/vsicurl/{u}/x.csv'
        '</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>').encode())
    b.add("vrt-passwd", "upload", "stations.json", VRT_XML_PASSWD)
    b.add("geojson-seq", "upload", "stations.geojson",
          b"\x1e" + json.dumps(_pt()).encode() + b"\n\x1e" + json.dumps(_pt()).encode() + b"\n")
    b.add("geojson-utf16", "upload", "stations.geojson", _fc([_pt()]).decode().encode("utf-16"))
    b.add("geojson-deep-nesting", "upload", "stations.geojson",
          b'{"type":"FeatureCollection","features":[' + b"[" * 100_000 + b"]" * 100_000 + b"]}")
    b.add("geojson-too-many-features", "upload", "stations.geojson",
          b'{"type":"FeatureCollection","features":['
          + b",".join([b'{"type":"Feature","properties":{},"geometry":null}'] * 200_001) + b"]}")
    n = 48_000_000 // 3
    b.add("geojson-empty-array-bomb", "upload", "stations.geojson",
          b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},'
          b'"geometry":{"type":"MultiPoint","coordinates":[' + b"[]," * n + b"[]]}}]}",
          note="48 MB of [], : 16M arrays")
    def strings(n: int) -> bytes:
        return (b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"a":['
                + b'"ab",' * n + b'"ab"]},"geometry":{"type":"Point","coordinates":[1,2]}}]}')

    b.add("geojson-string-array-bomb", "upload", "stations.geojson", strings(9_600_000),
          note="48 MB: 9.6M strings in one array (MemoryError under a 1.5 GB cap)")
    b.add("geojson-string-array-at-cap", "upload", "stations.geojson", strings(7_900_000),
          expect="any", note="just under max_json_values: bounded memory")
    b.add("geojson-huge-integers", "upload", "stations.geojson",
          b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"n":'
          + b"9" * 100_000 + b'},"geometry":{"type":"Point","coordinates":[113.9,22.5]}}]}',
          expect="any")
    wide = [_pt(**{f"p{k}": k for k in range(200)}) for _ in range(1000)]
    b.add("geojson-cells-over-cap", "upload", "stations.geojson", _fc(wide), max_cells=100_000)
    # layers
    b.add("zones-geojson-crs-link", "zones", "zones.geojson", _fc([_zone()], crs=link))
    b.add("towns-geojson-wfs", "towns", "towns.geojson",
          f"<OGRWFSDataSource><URL>{u}/wfs?</URL></OGRWFSDataSource>".encode())
    b.add("bases-json-gdalg", "bases", "bases.json", json.dumps(gdalg).encode())
    b.add("stations-geojson-vrt", "stations", "stations.geojson", VRT_XML_PASSWD)
    b.add("zones-geojson-control", "zones", "zones.geojson", _fc([_zone()]), expect="ok")


# ---------------------------------------------------------------------------- GeoPackage


def _gpkg(path: Path, statements: Iterable[str] = (), *, rows: int = 2,
          table: str = "stations") -> None:
    """A GDAL-written point GeoPackage, then ``statements`` run on it with sqlite3."""
    names = tuple(f"站{k}" for k in range(rows))
    gdf = stations_gdf(names, [(113.9 + k * 1e-4, 22.5) for k in range(rows)])
    pyogrio.write_dataframe(gdf, path, layer=table, driver="GPKG")
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA writable_schema = ON")  # only for the virtual-table case
        for sql in statements:
            con.execute(sql)
        con.commit()
    finally:
        con.close()


_RECURSIVE = ("CREATE VIEW evil AS WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
              "FROM r) SELECT i AS fid, NULL AS geom, 'x' AS name FROM r")
_BLOBS = ("CREATE VIEW evil AS WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r "
          "LIMIT 10000) SELECT i AS fid, NULL AS geom, randomblob(10000000) AS name FROM r")
_CONTENTS = ("INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) "
             "VALUES ('{t}', '{d}', '{t}', 4326)")
_GEOMCOL = ("INSERT INTO gpkg_geometry_columns VALUES ('{t}', 'geom', 'POINT', 4326, 0, 0)")


def _as_first_layer(table: str, data_type: str = "features") -> list[str]:
    """Make ``table`` the layer GDAL reads first (the real one deleted from the list)."""
    return ["DELETE FROM gpkg_contents", "DELETE FROM gpkg_geometry_columns",
            _CONTENTS.format(t=table, d=data_type), _GEOMCOL.format(t=table)]


def _gpkg_cases(b: _Builder) -> None:
    def g(statements: Iterable[str] = (), **kw: Any) -> Callable[[Path], None]:
        return lambda p: _gpkg(p, list(statements), **kw)

    b.add("gpkg-view-infinite-recursive", "upload", "stations.gpkg",
          g([_RECURSIVE, *_as_first_layer("evil")]), note="never returned from read_info")
    b.add("gpkg-view-random-blobs", "upload", "stations.gpkg",
          g([_BLOBS, *_as_first_layer("evil")]), note="reached 6.9 GB")
    b.add("gpkg-view-not-listed", "upload", "stations.gpkg", g([_RECURSIVE]))
    b.add("gpkg-generated-column-blobs", "upload", "stations.gpkg", g([
        "CREATE TABLE gen (fid INTEGER PRIMARY KEY, geom BLOB, name TEXT, "
        "big BLOB GENERATED ALWAYS AS (zeroblob(500000000)) VIRTUAL)",
        "INSERT INTO gen (fid) VALUES (1), (2), (3)", *_as_first_layer("gen", "attributes")]))
    b.add("gpkg-contents-missing-table", "upload", "stations.gpkg",
          g(_as_first_layer("nope")))
    b.add("gpkg-contents-names-trigger", "upload", "stations.gpkg",
          g(_as_first_layer("rtree_stations_geom_insert")))
    b.add("gpkg-contents-names-rtree", "upload", "stations.gpkg",
          g(_as_first_layer("rtree_stations_geom")))
    b.add("gpkg-tiles-content", "upload", "stations.gpkg",
          g(["UPDATE gpkg_contents SET data_type = 'tiles'"]))
    b.add("gpkg-virtual-ogr-table", "upload", "stations.gpkg", g([
        "INSERT INTO sqlite_master (type, name, tbl_name, rootpage, sql) VALUES ('table', "
        "'vogr', 'vogr', 0, 'CREATE VIRTUAL TABLE vogr USING VirtualOGR(''/etc/passwd'')')",
        *_as_first_layer("vogr")]))
    b.add("gpkg-virtual-fts-table", "upload", "stations.gpkg",
          g(["CREATE VIRTUAL TABLE fts USING fts4(name)", *_as_first_layer("fts")]))
    b.add("gpkg-lying-feature-count", "upload", "stations.gpkg",
          g(["UPDATE gpkg_ogr_contents SET feature_count = 1"], rows=60), max_features=50)
    b.add("gpkg-too-many-layers", "upload", "stations.gpkg", g([
        _CONTENTS.format(t=f"stations{k}", d="features") for k in range(100)]))
    def wide(p: Path) -> None:
        gdf = stations_gdf(("a",), [(113.9, 22.5)], extra={f"c{k}": ["x"] for k in range(600)})
        pyogrio.write_dataframe(gdf, p, layer="stations", driver="GPKG")

    b.add("gpkg-600-columns", "upload", "stations.gpkg", wide)
    b.add("gpkg-schema-bomb", "upload", "stations.gpkg", g([
        "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r LIMIT 12000) "
        "INSERT INTO sqlite_master (type, name, tbl_name, rootpage, sql) SELECT 'trigger', "
        "'t' || i, 'stations', 0, 'CREATE TRIGGER t' || i || ' AFTER INSERT ON stations "
        "BEGIN SELECT 1; END' FROM r"]))

    def truncated(p: Path) -> None:
        _gpkg(p)
        data = p.read_bytes()
        p.write_bytes(data[: len(data) // 2])

    def scrambled(p: Path) -> None:
        _gpkg(p)
        data = bytearray(p.read_bytes())
        rnd = random.Random(7)
        for k in range(4096, len(data), 997):
            data[k] = rnd.randrange(256)
        p.write_bytes(bytes(data))

    b.add("gpkg-truncated", "upload", "stations.gpkg", truncated)
    b.add("gpkg-scrambled-pages", "upload", "stations.gpkg", scrambled, expect="any")
    b.add("gpkg-not-sqlite", "upload", "stations.gpkg", random.Random(1).randbytes(4096))
    b.add("bases-gpkg-view", "bases", "bases.gpkg", g([_RECURSIVE, *_as_first_layer("evil")]))
    b.add("gpkg-control", "upload", "stations.gpkg", g(), expect="ok")


# ---------------------------------------------------------------------------- XLSX

_CT = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
       b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
       b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
       b'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
       b'<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
       b'officedocument.spreadsheetml.sheet.main+xml"/>'
       b'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
       b'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>{sst}</Types>')
_SST_CT = (b'<Override PartName="/{part}" ContentType="application/vnd.openxmlformats-'
           b'officedocument.spreadsheetml.sharedStrings+xml"/>')
_RELS = (b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
         b'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
         b'schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
         b'Target="xl/workbook.xml"/></Relationships>')
_WB = (b'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.'
       b'org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/'
       b'2006/relationships"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets>'
       b'</workbook>')
_WB_RELS = (b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            b'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type='
            b'"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
            b'Target="worksheets/sheet1.xml"/>{sst}</Relationships>')
_WB_SST_REL = (b'<Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/'
               b'2006/relationships/sharedStrings" Target="{target}"/>')
_NS = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def _col(k: int) -> str:
    s = ""
    k += 1
    while k:
        k, r = divmod(k - 1, 26)
        s = chr(65 + r) + s
    return s


def _write_xlsx(path: Path, sheet: Iterable[bytes], sst: Iterable[bytes] | None = None,
                sst_part: str = "xl/sharedStrings.xml") -> None:
    """A minimal workbook written member by member (the sheet and shared strings
    streamed, so building a 100 MB part needs little memory)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        sst_ct = _SST_CT.replace(b"{part}", sst_part.encode()) if sst is not None else b""
        z.writestr("[Content_Types].xml", _CT.replace(b"{sst}", sst_ct))
        z.writestr("_rels/.rels", _RELS)
        z.writestr("xl/workbook.xml", _WB)
        rel = (_WB_SST_REL.replace(b"{target}", sst_part.removeprefix("xl/").encode())
               if sst is not None else b"")
        z.writestr("xl/_rels/workbook.xml.rels", _WB_RELS.replace(b"{sst}", rel))
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            for chunk in sheet:
                fh.write(chunk)
        if sst is not None:
            with z.open(sst_part, "w", force_zip64=True) as fh:
                for chunk in sst:
                    fh.write(chunk)


def _sheet(rows: Iterable[bytes], dimension: str | None = None) -> Iterator[bytes]:
    yield b'<?xml version="1.0" encoding="UTF-8"?><worksheet ' + _NS + b">"
    if dimension:
        yield f'<dimension ref="{dimension}"/>'.encode()
    yield b"<sheetData>"
    buf: list[bytes] = []
    for row in rows:
        buf.append(row)
        if len(buf) >= 10_000:
            yield b"".join(buf)
            buf.clear()
    yield b"".join(buf)
    yield b"</sheetData></worksheet>"


def _text_cell(ref: str, text: str) -> bytes:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'.encode()


def _header(cols: int) -> bytes:
    return (b'<row r="1">' + b"".join(_text_cell(f"{_col(k)}1", f"h{k}") for k in range(cols))
            + b"</row>")


def _xlsx_cases(b: _Builder) -> None:
    def padded(p: Path) -> None:  # 500 header columns, 200,000 one-cell rows
        rows = (f'<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>'.encode()
                for r in range(2, 200_002))
        _write_xlsx(p, _sheet(iter([_header(500), *rows]), dimension="A1:SF200001"))

    def shared(p: Path, count: int, part: str = "xl/sharedStrings.xml") -> None:
        def sst() -> Iterator[bytes]:
            yield (b'<?xml version="1.0" encoding="UTF-8"?><sst ' + _NS
                   + f' count="{count}" uniqueCount="{count}">'.encode())
            for start in range(0, count, 100_000):
                yield b"".join(f"<si><t>s{k}</t></si>".encode()
                               for k in range(start, min(start + 100_000, count)))
            yield b"</sst>"
        rows = [_header(3), b'<row r="2"><c r="A2" t="s"><v>0</v></c></row>']
        _write_xlsx(p, _sheet(iter(rows)), sst(), part)

    def far_column(p: Path) -> None:
        rows = (f'<row r="{r}"><c r="A{r}"><v>1</v></c><c r="XFD{r}"><v>1</v></c></row>'.encode()
                for r in range(2, 100_002))
        _write_xlsx(p, _sheet(iter([_header(3), *rows])))

    def row_gap(p: Path) -> None:
        rows = [_header(3), b'<row r="1048576"><c r="A1048576"><v>1</v></c></row>']
        _write_xlsx(p, _sheet(iter(rows)))

    def gap_before_header(p: Path) -> None:
        _write_xlsx(p, _sheet(iter([b'<row r="2000000000"><c r="A2000000000"><v>1</v></c>'
                                    b"</row>"])))

    def many_cells(p: Path) -> None:  # 6M real cells, 30 columns
        rows = (f'<row r="{r}">'.encode() + b"".join(
            f'<c r="{_col(k)}{r}"><v>1</v></c>'.encode() for k in range(30)) + b"</row>"
            for r in range(2, 200_002))
        _write_xlsx(p, _sheet(iter([_header(30), *rows])))

    b.add("xlsx-declared-dimension-padding", "upload", "stations.xlsx", padded,
          note="padded to 100M cells: 29 s, 3-5 GB")
    b.add("xlsx-5m-shared-strings", "upload", "stations.xlsx",
          lambda p: shared(p, 5_000_000), note="57 s")
    b.add("xlsx-shared-strings-renamed-part", "upload", "stations.xlsx",
          lambda p: shared(p, 2_000_000, "xl/media/image1.bin"))
    b.add("xlsx-cell-at-column-xfd", "upload", "stations.xlsx", far_column)
    b.add("xlsx-row-gap-to-1048576", "upload", "stations.xlsx", row_gap, expect="any")
    b.add("xlsx-row-gap-before-header", "upload", "stations.xlsx", gap_before_header,
          note="2 billion empty rows generated before the header")
    b.add("xlsx-6m-real-cells", "upload", "stations.xlsx", many_cells)
    b.add("xlsx-billion-laughs", "upload", "stations.xlsx",
          xlsx_with_shared_string("&lol9;", prolog=billion_laughs_prolog()))
    b.add("xlsx-shared-strings-control", "upload", "stations.xlsx",
          lambda p: shared(p, 1000), expect="ok")


# ---------------------------------------------------------------------------- zips, Shapefile


def _shapefile_parts(tmp: Path, **extra: Any) -> dict[str, bytes]:
    d = tmp / f"shp{len(list(tmp.iterdir()))}"
    d.mkdir()
    gdf = gpd.GeoDataFrame({"zone_id": ["Z1"], "base_id": ["B1"], "name": ["区"], **extra},
                           geometry=[shapely.Point(113.3, 23.1)], crs="EPSG:4326")
    pyogrio.write_dataframe(gdf, d / "layer.shp", encoding="UTF-8")
    return {p.suffix: p.read_bytes() for p in d.iterdir()}


def _zip(members: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _shp_zip(parts: dict[str, bytes], **replace: bytes) -> bytes:
    merged = {**parts, **{"." + k: v for k, v in replace.items()}}
    return _zip({f"驿站{ext}": data for ext, data in merged.items()})


def _bad_crc(data: bytes) -> bytes:
    """Flip the stored CRC of the first member (local header and directory)."""
    out = bytearray(data)
    for sig, off in ((b"PK\x03\x04", 14), (b"PK\x01\x02", 16)):
        i = out.find(sig)
        crc = struct.unpack_from("<I", out, i + off)[0]
        struct.pack_into("<I", out, i + off, crc ^ 0xFFFFFFFF)
    return bytes(out)


def _corrupt_deflate(data: bytes) -> bytes:
    out = bytearray(data)
    i = out.find(b"PK\x03\x04")
    name_len, extra_len = struct.unpack_from("<HH", out, i + 26)
    start = i + 30 + name_len + extra_len
    for k in range(start + 2, start + 40):
        out[k] ^= 0x5A
    return bytes(out)


def _lying_directory(count: int) -> bytes:
    """A zip whose end record says 1 member while its directory holds ``count``."""
    data = bytearray(_zip({f"f{k}.txt": b"" for k in range(count)},
                          compression=zipfile.ZIP_STORED))
    i = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", data, i + 8, 1, 1)
    return bytes(data)


def _zip_cases(b: _Builder, tmp: Path) -> None:
    parts = _shapefile_parts(tmp)
    u = b.url
    b.add("shp-cpg-with-nul", "upload", "s.zip", _shp_zip(parts, cpg=b"UTF-8\x00"),
          note="was a traceback")
    b.add("shp-cpg-binary", "upload", "s.zip",
          _shp_zip(parts, cpg=random.Random(3).randbytes(200)))
    b.add("shp-cpg-bytes-codec", "upload", "s.zip", _shp_zip(parts, cpg=b"zlib_codec"),
          expect="any")
    b.add("shp-prj-url", "upload", "s.zip", _shp_zip(parts, prj=f"{u}/prj".encode()))
    b.add("shp-prj-wkt-with-url", "upload", "s.zip",
          _shp_zip(parts, prj=f'GEOGCS["x",AUTHORITY["{u}/a","1"]]'.encode()))
    b.add("shp-not-a-shp", "upload", "s.zip",
          _shp_zip(parts, shp=random.Random(4).randbytes(500)))
    b.add("shp-is-vrt", "upload", "s.zip", _shp_zip(parts, shp=VRT_XML_PASSWD))
    shx = bytearray(parts[".shx"])
    struct.pack_into(">ii", shx, 100, 50, 10_000_000)
    b.add("shp-index-points-outside", "upload", "s.zip", _shp_zip(parts, shx=bytes(shx)))
    dbf = bytearray(parts[".dbf"])
    struct.pack_into("<I", dbf, 4, 100_000_000)
    b.add("shp-dbf-lying-record-count", "upload", "s.zip", _shp_zip(parts, dbf=bytes(dbf)))
    b.add("shp-qix-garbage-ignored", "upload", "s.zip",
          _shp_zip(parts, qix=random.Random(5).randbytes(5000)), expect="ok")
    b.add("zip-bad-crc", "upload", "s.zip", _bad_crc(_shp_zip(parts)))
    b.add("zip-corrupt-deflate", "upload", "s.zip", _corrupt_deflate(_shp_zip(parts)))
    b.add("zip-directory-lies-about-count", "upload", "s.zip", _lying_directory(20_000))
    b.add("zip-geojson-crs-link", "upload", "s.zip", _zip({"a/stations.geojson": _fc(
        [_pt()], crs={"type": "link", "properties": {"href": f"{u}/crs"}})}))

    def zipped_view(p: Path) -> None:
        inner = tmp / "zipped-view.gpkg"
        _gpkg(inner, [_RECURSIVE, *_as_first_layer("evil")])
        p.write_bytes(_zip({"x.gpkg": inner.read_bytes()}))

    b.add("zip-gpkg-view", "upload", "s.zip", zipped_view)
    b.add("zip-nested-zip", "upload", "s.zip", _zip({"inner.zip": _shp_zip(parts)}))
    b.add("zip-absolute-and-dotdot-names", "upload", "s.zip", _zip(
        {f"/etc/../../tmp/驿站{ext}": data for ext, data in parts.items()}), expect="any")
    b.add("csv-cell-bomb", "upload", "stations.csv",
          b"h" + b",h" * 499 + b"\n" + (b"," * 499 + b"\n") * 90_000)
    b.add("csv-field-of-1mb", "upload", "stations.csv",
          b"name,lon,lat\n\"" + b"x" * 1_000_000 + b"\",113.9,22.5\n")
    b.add("shp-control", "upload", "s.zip", _shp_zip(parts), expect="ok")
    # layers: the same caps as an upload
    b.add("towns-zip-bomb-1000-to-1", "towns", "towns.zip",
          zip_bomb("towns.shp", 600 * 1024 * 1024), note="600 MB was accepted")
    b.add("towns-zip-500-members", "towns", "towns.zip",
          _zip({f"towns{k}.txt": b"x" for k in range(500)}), note="was accepted")
    b.add("zones-zip-cpg-with-nul", "zones", "zones.zip", _shp_zip(parts, cpg=b"UTF-8\x00"))
    b.add("bases-zip-shp-is-vrt", "bases", "bases.zip", _shp_zip(parts, shp=VRT_XML_PASSWD))

    def shp_on_disk(p: Path) -> None:
        for ext, data in parts.items():
            p.with_suffix(ext).write_bytes(b"UTF-8\x00" if ext == ".cpg" else data)

    b.add("zones-shp-path-cpg-with-nul", "zones", "zones.shp", shp_on_disk)
    b.add("stations-csv-cell-bomb", "stations", "stations.csv",
          b"station_id,name,type,lon,lat" + b",x" * 495 + b"\n"
          + (b"," * 499 + b"\n") * 90_000)


def build_corpus(root: Path, port: int) -> list[Case]:
    """Write every case under ``root`` (URLs at 127.0.0.1:``port``); returns them."""
    b = _Builder(root, port)
    tmp = root / "_work"
    tmp.mkdir(parents=True)
    _geojson_cases(b)
    _gpkg_cases(b)
    _xlsx_cases(b)
    _zip_cases(b, tmp)
    return b.cases
