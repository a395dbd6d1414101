"""CSV / TSV / TXT station lists, parsed with the stdlib :mod:`csv` (never by GDAL).

Encoding detected: UTF-16 (BOM), UTF-8 (with or without BOM), else GBK, else GB18030
(a GBK superset with characters GBK lacks). Delimiter chosen among ``, ; TAB |`` by
the header and the rows' widths. A row with more fields than the header is kept and
rejected later; rows × columns is capped (``max_cells``) while reading.
"""

from __future__ import annotations

import csv
import hashlib
import io
from typing import Final

import numpy as np

from geo.errors import InputFileError, UploadLimitError
from geo.io.gdal import reject_vrt
from geo.io.gpkg import SQLITE_MAGIC
from geo.io.limits import UploadLimits
from geo.io.table import (
    RawUpload,
    fit_rows,
    is_blank_row,
    string_frame,
    suffix_of,
    trim_trailing_blank,
    unique_headers,
)

_DELIMITERS: Final = (",", "\t", ";", "|")


def decode_text(data: bytes, name: str) -> tuple[str, str]:
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


def _head_rows(text: str, delimiter: str) -> list[list[str]]:
    rows: list[list[str]] = []
    try:
        for row in csv.reader(io.StringIO(text[:65536], newline=""), delimiter=delimiter):
            rows.append(row)
            if len(rows) > 50:
                break
    except csv.Error:
        pass
    return rows


def sniff_delimiter(text: str, suffix: str) -> str:
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
    for d in _DELIMITERS:
        rows = _head_rows(text, d)
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
    counts = {d: first.count(d) for d in (*_DELIMITERS, "，")}
    top = max(counts, key=lambda d: counts[d])
    return top if counts[top] else ","


def _check_head(data: bytes, name: str, limits: UploadLimits) -> None:
    if data[:4] == b"PK\x03\x04":
        raise InputFileError(f"{name} is a zip/XLSX file, not a CSV: upload it as .xlsx or .zip")
    if data.startswith(SQLITE_MAGIC):
        raise InputFileError(f"{name} is a SQLite/GeoPackage file, not a CSV: name it .gpkg")
    reject_vrt(data, name)
    newlines = data.count(b"\n")
    if newlines > limits.max_features + 1:
        raise UploadLimitError(
            f"{name} has ~{newlines:,} lines (limit {limits.max_features:,} rows): split the list")


def _parse(text: str, delim: str, name: str,
           limits: UploadLimits) -> tuple[list[str] | None, list[list[str]], list[int]]:
    """(header, rows, start line of each row), rows × columns capped while reading."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    rows: list[list[str]] = []
    lines: list[int] = []
    cells = 0
    try:
        header = next(reader, None)
        width = len(header or ())
        if width > limits.max_columns:
            raise UploadLimitError(f"{name} has {width} columns (limit {limits.max_columns})")
        while True:
            line = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            cells += max(len(row), width)
            if cells > limits.max_cells:
                raise UploadLimitError(
                    f"{name} has more than {limits.max_cells:,} cells ({width} columns × "
                    f"{len(rows) + 1:,}+ rows): split the list or drop unused columns")
            rows.append(row)
            lines.append(line)
    except csv.Error as exc:
        raise InputFileError(
            f"cannot parse {name} near line {reader.line_num}: {exc}. Check quotes in that line"
        ) from None
    return header, rows, lines


def read_csv(name: str, data: bytes, limits: UploadLimits) -> RawUpload:
    """A CSV upload as a :class:`RawUpload` (strings; see the module docstring)."""
    _check_head(data, name, limits)
    text, encoding = decode_text(data, name)
    delim = sniff_delimiter(text, suffix_of(name))
    header, rows, lines = _parse(text, delim, name, limits)
    if header is None or is_blank_row(header):
        raise InputFileError(f"{name} is empty or has no header row: the first row must name "
                             "the columns (e.g. 名称, 经度, 纬度)")
    cols = unique_headers(header)
    dropped = trim_trailing_blank(rows)
    del lines[len(rows):]
    if len(rows) > limits.max_features:  # the newline count misses CR-only line ends
        raise UploadLimitError(
            f"{name} has {len(rows):,} rows (limit {limits.max_features:,}): split the list")
    table, issues = fit_rows(rows, len(cols), lambda row: (
        f"row has {len(row)} fields but the header has {len(cols)} "
        "(an unquoted delimiter inside a value?)"))
    notes = [f"encoding {encoding}", f"delimiter {delim!r}"]
    if dropped:
        notes.append(f"{dropped} blank line(s) at the end ignored")
    return RawUpload(name=name, format="csv", sha256=hashlib.sha256(data).hexdigest(),
                     size_bytes=len(data), frame=string_frame(table, cols),
                     source_lines=np.asarray(lines, int), row_issues=tuple(issues),
                     encoding=encoding, delimiter=delim, notes=tuple(notes))
