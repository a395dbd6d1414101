"""Reading uploaded station lists as they really arrive: bytes in, string table out.

:func:`read_upload` turns the bytes of an uploaded file into a :class:`RawUpload`: every
data row as strings (IDs stay strings: ``0012`` ≠ ``12``), plus point coordinates for
vector formats, the detected encoding and notes. Nothing is validated here beyond what
parsing needs; :mod:`geo.stations.validation` decides which rows are accepted.

Formats and how they are read:

* **CSV** (``.csv``, ``.txt``, ``.tsv``) — parsed with the stdlib :mod:`csv` module, never
  handed to GDAL. Encoding detected: UTF-16 (BOM), UTF-8 (with or without BOM), else GBK,
  else GB18030 (a GBK superset with characters GBK lacks). Delimiter sniffed among
  ``, ; TAB |``. A row with more fields than the header is kept and rejected later.
* **XLSX** — openpyxl in read-only mode (XML parsed through defusedxml); the chosen sheet
  (default: the first). Numbers written as text stay text.
* **GeoJSON**, **GeoPackage**, **zipped Shapefile** — GDAL through pyogrio, only after
  :func:`pyogrio.read_info` confirms an allow-listed driver. The zip is expanded by us
  (caps checked first, member names sanitised); a Shapefile's attribute encoding comes
  from its ``.cpg`` or, without one, is detected from the ``.dbf`` bytes (UTF-8, else
  GB18030) so GBK text is not garbled.

Safety (see ``../shared/notes/security.md``): ``GDAL_SKIP=OGR_VRT`` is set before GDAL
loads; any file whose content is an OGR VRT is rejected whatever its name; caps on
upload size, uncompressed size, zip member count, compression ratio and feature count
are checked *before* parsing (:class:`UploadLimits`).

Blank rows after the last data row (Excel's formatted-but-empty rows, a trailing
newline) are not data and are not counted; blank rows in between are data rows and get
rejected with a reason by the validation step.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import os
import re
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Final

os.environ.setdefault("GDAL_SKIP", "OGR_VRT")

import numpy as np
import pandas as pd
import pyproj

from geo.errors import InputFileError, UnknownFormatError, UploadLimitError

#: Formats :func:`read_upload` reads, by suffix.
CSV_SUFFIXES: Final = (".csv", ".txt", ".tsv")
EXCEL_SUFFIXES: Final = (".xlsx", ".xlsm")
VECTOR_SUFFIXES: Final = (".geojson", ".json", ".gpkg", ".zip")
ACCEPTED_SUFFIXES: Final = CSV_SUFFIXES + EXCEL_SUFFIXES + VECTOR_SUFFIXES
ALLOWED_DRIVERS: Final = frozenset({"GeoJSON", "GPKG", "ESRI Shapefile"})
SHAPEFILE_PARTS: Final = frozenset({".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn",
                                    ".sbx", ".qmd", ".xml", ".fix", ".shp.xml"})

# GDAL's VRT drivers identify a file by these opening tags (case-insensitive here)
_VRT_MARKERS: Final = (b"<ogrvrtdatasource", b"<ogrvrtlayer", b"<ogrvrtunionlayer",
                       b"<ogrvrtwarpedlayer", b"<vrtdataset")
_BLANK_RE: Final = re.compile(r"^[\s\u3000\ufeff]*$")


@dataclass(frozen=True)
class UploadLimits:
    """Caps checked before a file is parsed (defaults suit a province-wide list)."""

    max_upload_bytes: int = 50 * 1024 * 1024
    max_uncompressed_bytes: int = 200 * 1024 * 1024
    max_zip_members: int = 64
    max_compression_ratio: float = 100.0
    max_features: int = 200_000
    max_columns: int = 500

    def __post_init__(self) -> None:
        from geo.errors import InvalidParameterError

        for name in ("max_upload_bytes", "max_uncompressed_bytes", "max_zip_members",
                     "max_features", "max_columns"):
            if int(getattr(self, name)) <= 0:
                raise InvalidParameterError(f"UploadLimits.{name} must be > 0")
        if not self.max_compression_ratio > 1:
            raise InvalidParameterError("UploadLimits.max_compression_ratio must be > 1")


@dataclass(frozen=True, eq=False)
class RawUpload:
    """An uploaded file parsed into strings, before validation.

    ``frame`` has one row per data row (``""`` for an empty cell), columns as in the
    file (blank headers become ``column_N``, repeated ones get ``_2``…). For vector
    formats ``geom_lon``/``geom_lat`` hold each feature's point (NaN when it has none)
    in ``geom_crs`` (``None``: a Shapefile without ``.prj``), and ``row_issues`` says
    why a row cannot be used as parsed (e.g. not a point, too many fields).
    """

    name: str
    format: str  # csv | xlsx | geojson | gpkg | shapefile
    sha256: str
    size_bytes: int
    frame: pd.DataFrame
    source_lines: np.ndarray  # line (CSV) / sheet row (XLSX) / feature number per row
    row_issues: tuple[str | None, ...]
    encoding: str | None = None
    sheet: str | None = None
    sheets: tuple[str, ...] = ()
    delimiter: str | None = None
    geom_lon: np.ndarray | None = None
    geom_lat: np.ndarray | None = None
    geom_crs: pyproj.CRS | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    data: bytes = field(default=b"", repr=False)  # the uploaded bytes, verbatim

    @property
    def rows_in(self) -> int:
        return len(self.frame)

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self.frame.columns]

    @property
    def has_geometry(self) -> bool:
        return self.geom_lon is not None


# ---------------------------------------------------------------------------- helpers


def _suffix(name: str) -> str:
    low = name.lower().strip()
    return PurePosixPath(low).suffix


def reject_vrt(data: bytes, name: str) -> None:
    """Raise :class:`InputFileError` when ``data`` (a file's head) is an OGR VRT."""
    head = data[: 1 << 16].lower()
    if any(m in head for m in _VRT_MARKERS):
        raise InputFileError(
            f"{name} is an OGR VRT (an XML pointer to other files), which is not accepted: "
            "upload the station data itself (CSV, XLSX, GeoJSON, GeoPackage or zipped Shapefile)"
        )


def _check_zip(data: bytes, name: str, limits: UploadLimits) -> zipfile.ZipFile:
    """Open a zip and check member count, sizes and ratios *before* expanding anything."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputFileError(f"{name} is not a readable zip archive: {exc}") from None
    if len(infos) > limits.max_zip_members:
        raise UploadLimitError(
            f"{name} has {len(infos)} members (limit {limits.max_zip_members}): zip only the "
            "station layer's files"
        )
    total = 0
    for info in infos:
        total += info.file_size
        if info.flag_bits & 0x1:
            raise InputFileError(f"{name}: encrypted zip members are not accepted")
        if info.file_size > 1 << 20 and info.file_size > limits.max_compression_ratio * max(
                info.compress_size, 1):
            ratio = info.file_size / max(info.compress_size, 1)
            raise UploadLimitError(
                f"{name}: member {info.filename!r} expands {ratio:,.0f}:1 "
                f"(limit {limits.max_compression_ratio:g}:1) — rejected as a possible zip bomb"
            )
    if total > limits.max_uncompressed_bytes:
        raise UploadLimitError(
            f"{name} expands to {total / 1e6:,.1f} MB (limit "
            f"{limits.max_uncompressed_bytes / 1e6:,.0f} MB): split the list or remove other files"
        )
    if total > 1 << 20 and total > limits.max_compression_ratio * max(len(data), 1):
        raise UploadLimitError(
            f"{name} expands {total / max(len(data), 1):,.0f}:1 (limit "
            f"{limits.max_compression_ratio:g}:1) — rejected as a possible zip bomb"
        )
    return zf


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """Read one member (zipfile stops at its declared size, checked by :func:`_check_zip`)."""
    with zf.open(info) as fh:
        return fh.read()


def _decode_text(data: bytes, name: str) -> tuple[str, str]:
    """Decode CSV bytes: UTF-16 (BOM), UTF-8 (BOM or not), GBK, GB18030."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError:
            pass
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "UTF-8-BOM"
        except UnicodeDecodeError as exc:
            raise InputFileError(
                f"{name} starts with a UTF-8 BOM but is not valid UTF-8 (byte {exc.start + 3}): "
                "save it again as 'CSV UTF-8'"
            ) from None
    for codec, label in (("utf-8", "UTF-8"), ("gbk", "GBK"), ("gb18030", "GB18030")):
        try:
            return data.decode(codec), label
        except UnicodeDecodeError:
            continue
    raise InputFileError(
        f"cannot decode {name}: it is neither UTF-8 nor GBK/GB18030. Save it as 'CSV UTF-8' "
        "in Excel or WPS"
    )


def _unique_headers(headers: Sequence[object]) -> list[str]:
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, h in enumerate(headers):
        s = "" if h is None else str(h).replace("\ufeff", "").strip()
        if not s:
            s = f"column_{i + 1}"
        base = s
        k = seen.get(base, 0)
        while s in seen:
            k += 1
            s = f"{base}_{k + 1}"
        seen[base] = k
        seen[s] = 0
        out.append(s)
    return out


def _is_blank_row(values: Sequence[str]) -> bool:
    return all(_BLANK_RE.match(v or "") for v in values)


def _trim_trailing_blank(rows: list[list[str]]) -> int:
    n = len(rows)
    while n and _is_blank_row(rows[n - 1]):
        n -= 1
    dropped = len(rows) - n
    del rows[n:]
    return dropped


# ---------------------------------------------------------------------------- CSV


def _sniff_delimiter(text: str, suffix: str) -> str:
    if suffix == ".tsv":
        return "\t"
    sample = "\n".join(text[:65536].splitlines()[:50])
    try:
        sniffed: str | None = csv.Sniffer().sniff(sample, delimiters=",\t;|").delimiter
    except csv.Error:
        sniffed = None
    # csv.Sniffer alone is easily fooled by one quoted value (a data row '"a<TAB>b"' made a
    # 7-column comma file one column): prefer the delimiter that splits the header into
    # columns and gives most data rows the header's width; the sniffer breaks ties.
    best: tuple[tuple[int, bool, int], str] | None = None
    for d in (",", "\t", ";", "|"):
        rows: list[list[str]] = []
        try:
            for row in csv.reader(io.StringIO(text[:65536], newline=""), delimiter=d):
                rows.append(row)
                if len(rows) > 50:
                    break
        except csv.Error:
            pass
        if not rows or len(rows[0]) < 2:
            continue
        body = rows[1:-1] if len(rows) > 2 else rows[1:]  # the last may be cut off
        fit = sum(len(r) == len(rows[0]) for r in body if r)
        key = (fit, d == sniffed, len(rows[0]))
        if best is None or key > best[0]:
            best = (key, d)
    if best is not None:
        return best[1]
    if sniffed is not None:
        return sniffed
    first = sample.splitlines()[0] if sample else ""
    counts = {d: first.count(d) for d in (",", "\t", ";", "|", "，")}
    top = max(counts, key=lambda d: counts[d])
    return top if counts[top] else ","


def _read_csv(name: str, data: bytes, limits: UploadLimits) -> RawUpload:
    if data[:4] == b"PK\x03\x04":
        raise InputFileError(f"{name} is a zip/XLSX file, not a CSV: upload it as .xlsx or .zip")
    if data.startswith(b"SQLite format 3\x00"):
        raise InputFileError(f"{name} is a SQLite/GeoPackage file, not a CSV: name it .gpkg")
    reject_vrt(data, name)
    newlines = data.count(b"\n")
    if newlines > limits.max_features + 1:
        raise UploadLimitError(
            f"{name} has ~{newlines:,} lines (limit {limits.max_features:,} rows): split the list"
        )
    text, encoding = _decode_text(data, name)
    delim = _sniff_delimiter(text, _suffix(name))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        header = next(reader, None)
        while True:
            line = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            rows.append(row)
            lines.append(line)
    except csv.Error as exc:
        raise InputFileError(
            f"cannot parse {name} near line {reader.line_num}: {exc}. Check quotes in that line"
        ) from None
    if header is None or _is_blank_row(header):
        raise InputFileError(f"{name} is empty or has no header row: the first row must name "
                             "the columns (e.g. 名称, 经度, 纬度)")
    if len(header) > limits.max_columns:
        raise UploadLimitError(f"{name} has {len(header)} columns (limit {limits.max_columns})")
    cols = _unique_headers(header)
    dropped = _trim_trailing_blank(rows)
    del lines[len(rows):]
    if len(rows) > limits.max_features:  # the newline count misses CR-only line ends
        raise UploadLimitError(
            f"{name} has {len(rows):,} rows (limit {limits.max_features:,}): split the list")
    issues: list[str | None] = []
    table: list[list[str]] = []
    for row in rows:
        issue = None
        if len(row) > len(cols) and not _is_blank_row(row[len(cols):]):
            issue = (f"row has {len(row)} fields but the header has {len(cols)} "
                     "(an unquoted delimiter inside a value?)")
        values = (row + [""] * len(cols))[: len(cols)]
        table.append(values)
        issues.append(issue)
    frame = pd.DataFrame(table, columns=cols, dtype=object) if table else pd.DataFrame(
        columns=cols, dtype=object)
    notes = [f"encoding {encoding}", f"delimiter {delim!r}"]
    if dropped:
        notes.append(f"{dropped} blank line(s) at the end ignored")
    return RawUpload(name=name, format="csv", sha256=hashlib.sha256(data).hexdigest(),
                     size_bytes=len(data), frame=frame, source_lines=np.asarray(lines, int),
                     row_issues=tuple(issues), encoding=encoding, delimiter=delim,
                     notes=tuple(notes))


# ---------------------------------------------------------------------------- XLSX


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def excel_sheet_names(data: bytes, *, limits: UploadLimits | None = None) -> list[str]:
    """Sheet names of an XLSX (after the zip caps); ``[]`` when it cannot be read."""
    lim = limits or UploadLimits()
    try:
        _check_zip(data, "workbook", lim)
        wb = _open_workbook(data, "workbook")
    except InputFileError:
        return []
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def _open_workbook(data: bytes, name: str) -> Any:
    import openpyxl
    import openpyxl.xml

    if not openpyxl.xml.DEFUSEDXML:  # pragma: no cover - defusedxml is a dependency
        raise InputFileError("defusedxml is not installed: refusing to parse XLSX without it")
    try:
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds (KeyError, XML errors, …)
        raise InputFileError(f"cannot read Excel file {name}: {type(exc).__name__}: {exc}. "
                             "Save it again as .xlsx") from None


def _read_xlsx(name: str, data: bytes, sheet: str | None, limits: UploadLimits) -> RawUpload:
    _check_zip(data, name, limits)
    wb = _open_workbook(data, name)
    try:
        sheets = tuple(wb.sheetnames)
        if not sheets:
            raise InputFileError(f"{name} has no worksheet")
        chosen = sheet if sheet is not None else sheets[0]
        if chosen not in sheets:
            raise InputFileError(f"{name} has no sheet {chosen!r}; sheets: {', '.join(sheets)}")
        ws = wb[chosen]
        rows: list[list[str]] = []
        lines: list[int] = []
        header: list[str] | None = None
        header_row = 0
        try:
            for r, values in enumerate(ws.iter_rows(values_only=True), start=1):
                texts = [_cell_text(v) for v in values]
                if header is None:
                    if _is_blank_row(texts):
                        continue
                    header, header_row = texts, r
                    if len(header) > limits.max_columns:
                        raise UploadLimitError(
                            f"{name}: sheet {chosen!r} has {len(header)} columns (limit "
                            f"{limits.max_columns})")
                    continue
                rows.append(texts)
                lines.append(r)
                if len(rows) > limits.max_features + 10_000 and _is_blank_row(texts):
                    break  # a huge formatted-but-empty tail
                if len(rows) > limits.max_features + 10_000:
                    raise UploadLimitError(
                        f"{name}: sheet {chosen!r} has more than {limits.max_features:,} rows")
        except UploadLimitError:
            raise
        except Exception as exc:
            raise InputFileError(f"cannot read sheet {chosen!r} of {name}: {exc}") from None
    finally:
        wb.close()
    if header is None:
        raise InputFileError(f"sheet {chosen!r} of {name} is empty: the first row must name "
                             "the columns (e.g. 名称, 经度, 纬度)")
    # trailing empty header cells (formatting) are not columns
    while header and not header[-1].strip():
        header.pop()
    cols = _unique_headers(header)
    _trim_trailing_blank(rows)
    del lines[len(rows):]
    if len(rows) > limits.max_features:
        raise UploadLimitError(
            f"{name}: sheet {chosen!r} has {len(rows):,} rows (limit {limits.max_features:,})")
    issues: list[str | None] = []
    table = []
    for row in rows:
        extra = row[len(cols):]
        issue = None
        if extra and not _is_blank_row(extra):
            issue = f"row has values beyond the {len(cols)} named columns"
        table.append((row + [""] * len(cols))[: len(cols)])
        issues.append(issue)
    frame = pd.DataFrame(table, columns=cols, dtype=object) if table else pd.DataFrame(
        columns=cols, dtype=object)
    notes = [f"sheet {chosen!r} (header in row {header_row})"]
    if len(sheets) > 1:
        notes.append(f"{len(sheets)} sheets: {', '.join(sheets)}")
    return RawUpload(name=name, format="xlsx", sha256=hashlib.sha256(data).hexdigest(),
                     size_bytes=len(data), frame=frame, source_lines=np.asarray(lines, int),
                     row_issues=tuple(issues), sheet=chosen, sheets=sheets,
                     notes=tuple(notes))


# ---------------------------------------------------------------------------- GDAL formats


_CPG_CODECS: Final = {
    "utf-8": "utf-8", "utf8": "utf-8", "65001": "utf-8",
    "gbk": "gbk", "cp936": "gbk", "936": "gbk", "ansi 936": "gbk", "gb2312": "gbk",
    "gb18030": "gb18030", "54936": "gb18030",
    "big5": "big5", "950": "big5", "cp950": "big5",
    "iso-8859-1": "latin-1", "latin1": "latin-1", "1252": "cp1252", "cp1252": "cp1252",
}


def _dbf_text(dbf: bytes) -> bytes:
    """The text-bearing bytes of a .dbf: field names and records, without the binary
    header and field descriptors (whose width/offset bytes are not text: a field 150
    wide has the byte 0x96, which is not valid UTF-8)."""
    if len(dbf) < 32:
        return b""
    header_len = int.from_bytes(dbf[8:10], "little")
    names = []
    off = 32
    while off + 32 <= min(header_len, len(dbf)) and dbf[off] != 0x0D:
        names.append(dbf[off:off + 11].split(b"\0", 1)[0])
        off += 32
    return b" ".join(names) + b" " + dbf[max(header_len, 32):]


def _dbf_encoding(dbf: bytes, cpg: str | None) -> tuple[str, str]:
    """(codec for pyogrio, how it was chosen) for a Shapefile's attribute table."""
    if cpg:
        key = cpg.strip().lower()
        codec = _CPG_CODECS.get(key)
        if codec is None:
            try:
                import codecs

                codec = codecs.lookup(key).name
            except LookupError:
                codec = None
        if codec:
            return codec, f".cpg says {cpg.strip()}"
    body = _dbf_text(dbf)
    try:
        body.decode("utf-8")
        return "utf-8", "no .cpg; attribute bytes are valid UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        body.decode("gbk")
        return "gbk", "no .cpg; attribute bytes decoded as GBK"
    except UnicodeDecodeError:
        return "gb18030", "no .cpg; attribute bytes decoded as GB18030"


def _safe_member(filename: str) -> str | None:
    p = PurePosixPath(filename.replace("\\", "/"))
    if filename.endswith("/") or p.name.startswith(".") or "__MACOSX" in p.parts:
        return None
    return p.name


def _expand_zip(name: str, data: bytes, tmp: Path,
                limits: UploadLimits) -> tuple[Path, str | None, str]:
    """Extract a zipped layer (caps already checked); returns (path to read, attribute
    encoding, how the encoding was chosen)."""
    zf = _check_zip(data, name, limits)
    members: dict[str, zipfile.ZipInfo] = {}
    for info in zf.infolist():
        base = _safe_member(info.filename)
        if base is None:
            continue
        members.setdefault(base, info)
    shp = sorted(b for b in members if b.lower().endswith(".shp"))
    others = sorted(b for b in members if b.lower().endswith((".geojson", ".json", ".gpkg")))
    if len(shp) > 1:
        raise InputFileError(f"{name} holds {len(shp)} Shapefiles ({', '.join(shp)}): zip one")
    if not shp:
        if len(others) == 1:
            target = others[0]
            (tmp / "layer").mkdir()
            out = tmp / "layer" / ("layer" + _suffix(target))
            content = _read_member(zf, members[target])
            reject_vrt(content, target)
            out.write_bytes(content)
            return out, None, ""
        raise InputFileError(
            f"{name} contains no .shp: zip the .shp together with its .shx, .dbf and .prj "
            "(and .cpg) files"
        )
    stem = shp[0][:-4]
    parts = {b: i for b, i in members.items()
             if b[: len(stem)] == stem and b[len(stem):].lower() in SHAPEFILE_PARTS}
    lowered = {b[len(stem):].lower() for b in parts}
    for needed in (".shx", ".dbf"):
        if needed not in lowered:
            raise InputFileError(f"{name}: {stem}{needed} is missing next to {shp[0]}")
    d = tmp / "layer"
    d.mkdir()
    cpg_text = None
    dbf_bytes = b""
    for base, info in parts.items():
        ext = base[len(stem):].lower()
        content = _read_member(zf, info)
        if ext in (".prj", ".cpg"):
            reject_vrt(content[:4096], base)
        (d / f"layer{ext}").write_bytes(content)
        if ext == ".cpg":
            cpg_text = content.decode("ascii", "replace")
        elif ext == ".dbf":
            dbf_bytes = content
    codec, how = _dbf_encoding(dbf_bytes, cpg_text)
    return d / "layer.shp", codec, how


def read_allowed_info(source: str | os.PathLike[str], *, name: str,
                      encoding: str | None = None) -> dict[str, Any]:
    """``pyogrio.read_info`` of ``source``, refused unless GDAL reads it with one of
    :data:`ALLOWED_DRIVERS` (checked before any feature is read)."""
    import pyogrio

    try:
        info = pyogrio.read_info(source, encoding=encoding)
    except Exception as exc:
        raise InputFileError(f"cannot read {name}: {exc}") from None
    driver = info.get("driver")
    if driver not in ALLOWED_DRIVERS:
        raise InputFileError(
            f"{name} is read by GDAL driver {driver!r}, which is not allowed; use GeoJSON, "
            "GeoPackage or a zipped Shapefile"
        )
    return dict(info)


def _read_gdal(name: str, data: bytes, fmt: str, limits: UploadLimits) -> RawUpload:
    import geopandas as gpd
    import pyogrio

    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="yizhan-upload-") as tmpdir:
        tmp = Path(tmpdir)
        encoding: str | None = None
        if fmt == "shapefile":
            path, encoding, how = _expand_zip(name, data, tmp, limits)
            if path.suffix == ".shp":
                notes.append(f"Shapefile attribute encoding {encoding} ({how})")
                if not (path.with_suffix(".prj")).exists():
                    notes.append("no .prj: coordinates are taken as longitude/latitude in the "
                                 "declared coordinate system")
            else:
                fmt = "gpkg" if path.suffix == ".gpkg" else "geojson"
        else:
            if fmt == "gpkg" and not data.startswith(b"SQLite format 3\x00"):
                raise InputFileError(f"{name} is not a GeoPackage (no SQLite header)")
            reject_vrt(data, name)
            path = tmp / ("layer.gpkg" if fmt == "gpkg" else "layer.geojson")
            path.write_bytes(data)
        info = read_allowed_info(path, name=name, encoding=encoding)
        n_features = int(info.get("features") or 0)
        if n_features > limits.max_features:
            raise UploadLimitError(
                f"{name} has {n_features:,} features (limit {limits.max_features:,})")
        if len(info.get("fields", ())) > limits.max_columns:
            raise UploadLimitError(f"{name} has {len(info['fields'])} fields (limit "
                                   f"{limits.max_columns})")
        try:
            gdf = pyogrio.read_dataframe(path, encoding=encoding)
        except Exception as exc:
            raise InputFileError(f"cannot read {name}: {exc}") from None
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InputFileError(f"{name} has no geometry column (a table without points): "
                             "upload a point layer, or a CSV/XLSX with 经度/纬度 columns")
    if len(gdf) > limits.max_features:
        raise UploadLimitError(f"{name} has {len(gdf):,} features (limit "
                               f"{limits.max_features:,})")
    crs = None
    if gdf.crs is not None:
        crs = pyproj.CRS.from_user_input(gdf.crs)
    attrs = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    cols = _unique_headers(list(attrs.columns))
    table = [[_cell_text(v) if not (isinstance(v, float) and np.isnan(v)) and v is not pd.NaT
              else "" for v in row] for row in attrs.itertuples(index=False, name=None)]
    frame = (pd.DataFrame(table, columns=cols, dtype=object) if table
             else pd.DataFrame(columns=cols, dtype=object))
    lon = np.full(len(gdf), np.nan)
    lat = np.full(len(gdf), np.nan)
    issues: list[str | None] = []
    for i, g in enumerate(gdf.geometry.to_numpy()):
        issue = None
        if g is None or g.is_empty:
            issue = "missing geometry"
        elif g.geom_type == "Point":
            lon[i], lat[i] = g.x, g.y
        elif g.geom_type == "MultiPoint" and len(g.geoms) == 1:
            lon[i], lat[i] = g.geoms[0].x, g.geoms[0].y
        else:
            issue = f"geometry is a {g.geom_type}, expected a point"
        issues.append(issue)
    if crs is not None:
        notes.append(f"layer CRS {crs.to_string()}")
    return RawUpload(name=name, format=fmt, sha256=hashlib.sha256(data).hexdigest(),
                     size_bytes=len(data), frame=frame,
                     source_lines=np.arange(1, len(frame) + 1), row_issues=tuple(issues),
                     encoding=encoding, geom_lon=lon, geom_lat=lat, geom_crs=crs,
                     notes=tuple(notes))


# ---------------------------------------------------------------------------- entry point


def read_upload(name: str, data: bytes, *, sheet: str | None = None,
                limits: UploadLimits | None = None) -> RawUpload:
    """Parse an uploaded station file (bytes) into a :class:`RawUpload`.

    ``name`` is the uploaded file name (its suffix picks the reader; the content is
    checked too). ``sheet`` chooses an XLSX sheet (default: the first). Raises
    :class:`~geo.errors.UploadLimitError` when a cap of ``limits`` is exceeded,
    :class:`~geo.errors.UnknownFormatError` for an unsupported suffix and
    :class:`~geo.errors.InputFileError` for unreadable or disguised content.
    """
    raw = _read_upload(name, data, sheet=sheet, limits=limits)
    return dataclasses.replace(raw, data=bytes(data))


def _read_upload(name: str, data: bytes, *, sheet: str | None = None,
                 limits: UploadLimits | None = None) -> RawUpload:
    """The parser behind :func:`read_upload` (``data`` not yet attached)."""
    lim = limits or UploadLimits()
    if not isinstance(data, bytes | bytearray | memoryview):
        raise InputFileError(f"upload {name!r}: expected bytes, got {type(data).__name__}")
    data = bytes(data)
    display = Path(str(name)).name or "upload"
    if len(data) > lim.max_upload_bytes:
        raise UploadLimitError(
            f"{display} is {len(data) / 1e6:,.1f} MB (limit {lim.max_upload_bytes / 1e6:,.0f} MB)"
            ": split the list by city or district")
    if not data:
        raise InputFileError(f"{display} is empty")
    suffix = _suffix(display)
    if suffix in CSV_SUFFIXES:
        return _read_csv(display, data, lim)
    if suffix in EXCEL_SUFFIXES:
        if data[:4] != b"PK\x03\x04":
            raise InputFileError(f"{display} is not an .xlsx workbook (old .xls or renamed "
                                 "file?): save it as .xlsx in Excel/WPS")
        return _read_xlsx(display, data, sheet, lim)
    if suffix in (".geojson", ".json"):
        return _read_gdal(display, data, "geojson", lim)
    if suffix == ".gpkg":
        return _read_gdal(display, data, "gpkg", lim)
    if suffix == ".zip":
        return _read_gdal(display, data, "shapefile", lim)
    if suffix == ".xls":
        raise UnknownFormatError(f"{display} is an old .xls workbook: save it as .xlsx")
    if suffix == ".shp":
        raise UnknownFormatError(f"{display}: a Shapefile needs its .shx/.dbf/.prj/.cpg — zip "
                                 "them together and upload the .zip")
    raise UnknownFormatError(
        f"unsupported station file {display!r}: use CSV, XLSX, GeoJSON, GeoPackage (.gpkg) or "
        "a zipped Shapefile (.zip)")


def read_upload_file(path: str | os.PathLike[str], *, sheet: str | None = None,
                     limits: UploadLimits | None = None) -> RawUpload:
    """:func:`read_upload` for a file on disk (size checked before reading it)."""
    p = Path(path)
    lim = limits or UploadLimits()
    if not p.is_file():
        raise InputFileError(f"station file not found: {p}. Check the path.")
    size = p.stat().st_size
    if size > lim.max_upload_bytes:
        raise UploadLimitError(f"{p.name} is {size / 1e6:,.1f} MB (limit "
                               f"{lim.max_upload_bytes / 1e6:,.0f} MB)")
    return read_upload(p.name, p.read_bytes(), sheet=sheet, limits=lim)
