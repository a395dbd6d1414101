"""Builders of uploaded station files for the upload / validation tests (not a test module).

Every fixture is built programmatically (bytes in memory or files under ``tmp_path``):
CSV in any encoding, XLSX (openpyxl; optionally with a hand-made ``sharedStrings.xml``),
GeoJSON, GeoPackage and zipped Shapefiles (pyogrio), zip bombs and other hostile zips.
No binary fixture is committed.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import openpyxl
import pyogrio
import shapely

#: Names that break naive readers: GBK-encodable ones first.
HARD_NAMES_GBK = (
    "南山区粤海街道工会驿站",
    "龍華區（一）",
    '福田区"爱心妈妈小屋",二号',
    "宝安区\n西乡街道 驿站",
    "罗湖区东门'司机之家'；第3站",
)
#: Characters that exist in GB18030 but not in GBK.
GB18030_ONLY = ("䶮", "𠀀")
HARD_NAMES_GB18030 = (*HARD_NAMES_GBK, "刘䶮纪念站", "𠀀坑社区工会驿站")

#: An OGR VRT that, if GDAL opened it, would read /etc/passwd as a CSV layer.
VRT_XML = (b'<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>CSV:/etc/passwd'
           b"</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>")
#: The same, with the layer named like the CSV layer GDAL would find in /etc/passwd.
VRT_XML_PASSWD = VRT_XML.replace(b'name="x"', b'name="passwd"')

HEADER = ["编号", "名称", "类型", "经度", "纬度"]


# ---------------------------------------------------------------------------- CSV


def _csv_field(value: Any, delimiter: str) -> str:
    text = "" if value is None else str(value)
    # quote like Excel: also for a lone "\r"/"\n" (Python 3.11's csv.writer quotes only
    # the characters of its own line terminator, so "\r" would end a row unquoted)
    if any(c in text for c in (delimiter, '"', "\r", "\n")):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_text(header: Sequence[str] | None, rows: Iterable[Sequence[Any]], *,
             delimiter: str = ",", lineterminator: str = "\r\n") -> tuple[str, list[int]]:
    """CSV text (minimal quoting) and the 1-based line where each data row starts."""
    out: list[str] = []
    lines: list[int] = []
    line = 1

    def put(row: Sequence[Any]) -> None:
        nonlocal line
        fields = [_csv_field(v, delimiter) for v in row]
        text = '""' if fields == [""] else delimiter.join(fields)
        text += lineterminator
        out.append(text)
        # line breaks as a universal-newline reader counts them (\r\n, \r, \n)
        line += text.count("\n") + text.count("\r") - text.count("\r\n")

    if header is not None:
        put(header)
    for row in rows:
        lines.append(line)
        put(row)
    return "".join(out), lines


def csv_bytes(header: Sequence[str] | None, rows: Iterable[Sequence[Any]], *,
              encoding: str = "utf-8", delimiter: str = ",",
              lineterminator: str = "\r\n") -> bytes:
    """CSV bytes in ``encoding`` (``utf-8-sig`` adds a BOM, ``utf-16`` a UTF-16 BOM)."""
    text, _lines = csv_text(header, rows, delimiter=delimiter, lineterminator=lineterminator)
    return text.encode(encoding)


# ---------------------------------------------------------------------------- XLSX


def xlsx_bytes(sheets: Mapping[str, Sequence[Sequence[Any]]]) -> bytes:
    """A workbook with one sheet per item (rows as lists; ``None`` = empty cell).

    Strings are stored as text cells even when they start with ``=`` (no formulas), so
    ``"0012"`` is a text cell and ``113.93`` a number cell.
    """
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is None:
                    continue
                cell = ws.cell(row=r, column=c)
                cell.value = value
                if isinstance(value, str):
                    cell.data_type = "s"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


_SST_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_PLACEHOLDER = "PLACEHOLDER-SHARED-STRING"


def xlsx_with_shared_string(si_text: str, *, prolog: str = "") -> bytes:
    """A workbook (header 名称/类型/经度/纬度, one data row) whose A2 cell refers to
    entry 0 of a hand-written ``xl/sharedStrings.xml`` holding ``<t>{si_text}</t>``,
    preceded by ``prolog`` (e.g. an XML declaration and a DOCTYPE with entities).

    openpyxl writes inline strings, so the shared-strings part, its content type and
    relationship are added here.
    """
    base = xlsx_bytes({"Sheet1": [["名称", "类型", "经度", "纬度"],
                                  [_PLACEHOLDER, "工会驿站", 113.93, 22.53]]})
    zin = zipfile.ZipFile(io.BytesIO(base))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for n in zin.namelist():
            d = zin.read(n)
            if n == "xl/worksheets/sheet1.xml":
                old = f'<c r="A2" t="inlineStr"><is><t>{_PLACEHOLDER}</t></is></c>'.encode()
                assert old in d, "openpyxl changed how it writes text cells"
                d = d.replace(old, b'<c r="A2" t="s"><v>0</v></c>')
            elif n == "[Content_Types].xml":
                d = d.replace(b"</Types>", (
                    b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml" />'
                    b"</Types>"))
            elif n == "xl/_rels/workbook.xml.rels":
                d = d.replace(b"</Relationships>", (
                    b'<Relationship Type="http://schemas.openxmlformats.org/officeDocument/'
                    b'2006/relationships/sharedStrings" Target="sharedStrings.xml" '
                    b'Id="rId99" /></Relationships>'))
            z.writestr(n, d)
        sst = (f'{prolog}<sst xmlns="{_SST_NS}" count="1" uniqueCount="1"><si><t>{si_text}'
               "</t></si></sst>")
        z.writestr("xl/sharedStrings.xml", sst.encode("utf-8"))
    return out.getvalue()


def billion_laughs_prolog(levels: int = 9, fanout: int = 10) -> str:
    """A DOCTYPE whose entity ``&lol{levels};`` expands to 3 · fanout**levels characters."""
    ents = ['<!ENTITY lol "lol">']
    for i in range(1, levels + 1):
        ref = "&lol;" if i == 1 else f"&lol{i - 1};"
        ents.append(f'<!ENTITY lol{i} "{ref * fanout}">')
    return f'<?xml version="1.0"?>\n<!DOCTYPE sst [{"".join(ents)}]>\n'


# ---------------------------------------------------------------------------- vector


def stations_gdf(names: Sequence[str], lonlat: Sequence[tuple[float, float]], *,
                 ids: Sequence[str] | None = None, crs: str = "EPSG:4326",
                 extra: Mapping[str, Sequence[Any]] | None = None) -> gpd.GeoDataFrame:
    """A point layer with columns 编号, 名称, 类型 (+ ``extra``) in EPSG:4326,
    re-projected to ``crs``."""
    ids = list(ids) if ids is not None else [f"{k + 1:04d}" for k in range(len(names))]
    data: dict[str, Any] = {"编号": ids, "名称": list(names),
                            "类型": ["工会驿站"] * len(names)}
    data.update({k: list(v) for k, v in (extra or {}).items()})
    gdf = gpd.GeoDataFrame(data, geometry=[shapely.Point(x, y) for x, y in lonlat],
                           crs="EPSG:4326")
    return gdf if crs == "EPSG:4326" else gdf.to_crs(crs)


def geojson_bytes(names: Sequence[str], lonlat: Sequence[tuple[float, float]], *,
                  ids: Sequence[str] | None = None) -> bytes:
    """A GeoJSON FeatureCollection (UTF-8, non-ASCII kept) written with :mod:`json`."""
    ids = list(ids) if ids is not None else [f"{k + 1:04d}" for k in range(len(names))]
    feats = [{"type": "Feature",
              "properties": {"编号": i, "名称": n, "类型": "工会驿站"},
              "geometry": {"type": "Point", "coordinates": [x, y]}}
             for i, n, (x, y) in zip(ids, names, lonlat, strict=True)]
    return json.dumps({"type": "FeatureCollection", "features": feats},
                      ensure_ascii=False).encode("utf-8")


def gpkg_bytes(gdf: gpd.GeoDataFrame, tmp_path: Path, *, layer: str = "stations") -> bytes:
    path = tmp_path / f"{layer}.gpkg"
    pyogrio.write_dataframe(gdf, path, layer=layer, driver="GPKG")
    return path.read_bytes()


def shapefile_zip(gdf: gpd.GeoDataFrame, tmp_path: Path, *, encoding: str = "UTF-8",
                  cpg: str | bool | None = True, prj: bool = True, stem: str = "驿站",
                  folder: str = "") -> bytes:
    """A zipped Shapefile written by pyogrio with attributes in ``encoding``.

    ``cpg``: ``True`` keeps the ``.cpg`` GDAL wrote, ``False``/``None`` deletes it, a
    string replaces its content. ``prj=False`` deletes the ``.prj``. ``folder``: a
    directory prefix inside the zip.
    """
    d = tmp_path / f"shp-{encoding}-{cpg}-{prj}-{len(list(tmp_path.iterdir()))}"
    d.mkdir()
    path = d / f"{stem}.shp"
    pyogrio.write_dataframe(gdf, path, encoding=encoding)
    cpg_path = path.with_suffix(".cpg")
    if cpg is False or cpg is None:
        cpg_path.unlink(missing_ok=True)
    elif isinstance(cpg, str):
        cpg_path.write_text(cpg, encoding="ascii")
    if not prj:
        path.with_suffix(".prj").unlink()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(d.iterdir()):
            z.write(f, arcname=f"{folder}{f.name}")
    return buf.getvalue()


# ---------------------------------------------------------------------------- hostile zips


def zip_bomb(member: str = "stations.shp", size: int = 200 * 1024 * 1024,
             chunk: int = 1 << 20) -> bytes:
    """One member of ``size`` zero bytes, deflated (~1000:1; 200 MB → ~200 KB), written
    in chunks so building it needs little memory."""
    buf = io.BytesIO()
    zeros = b"\0" * chunk
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z, \
            z.open(member, "w", force_zip64=size >= 0xFFFFFFFF) as fh:
        left = size
        while left > 0:
            fh.write(zeros[: min(chunk, left)])
            left -= chunk
    return buf.getvalue()


def zip_of(members: Mapping[str, bytes], *,
           compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()
