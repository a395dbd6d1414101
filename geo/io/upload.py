"""Reading uploaded station lists as they really arrive: bytes in, string table out.

:func:`read_upload` turns the bytes of an uploaded file into a :class:`RawUpload`: every
data row as strings (IDs stay strings: ``0012`` ≠ ``12``), plus point coordinates for
vector formats, the detected encoding and notes. Nothing is validated here beyond what
parsing needs; :mod:`geo.stations.validation` decides which rows are accepted.

This module picks the reader by the file name and checks the upload size; the readers:

* **CSV** (``.csv``, ``.txt``, ``.tsv``) — :mod:`geo.io.csvread`, the stdlib :mod:`csv`
  module (never GDAL); encoding (UTF-16/UTF-8/GBK/GB18030) and delimiter detected.
* **XLSX** — :mod:`geo.io.xlsx`, openpyxl read-only through defusedxml, after the zip
  and shared-string caps; the chosen sheet (default: the first).
* **GeoJSON**, **GeoPackage**, **zipped Shapefile** — :mod:`geo.io.vector`: the zip is
  expanded by us (:mod:`geo.io.archive`), then :mod:`geo.io.gdal` checks the content
  without GDAL, opens it with the expected driver only and keeps GDAL off the network.

Safety (see ``../shared/notes/security.md``): any file whose content is an OGR VRT is
rejected whatever its name; every cap of :class:`UploadLimits` is checked *before* the
work it bounds.

Blank rows after the last data row (Excel's formatted-but-empty rows, a trailing
newline) are not data and are not counted; blank rows in between are data rows and get
rejected with a reason by the validation step.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Final

from geo.errors import InputFileError, UnknownFormatError, UploadLimitError
from geo.io.archive import SHAPEFILE_PARTS
from geo.io.csvread import read_csv
from geo.io.gdal import ALLOWED_DRIVERS, read_allowed_info, reject_vrt
from geo.io.limits import UploadLimits
from geo.io.table import RawUpload, suffix_of
from geo.io.vector import read_vector_upload
from geo.io.xlsx import excel_sheet_names, read_xlsx

__all__ = [
    "ACCEPTED_SUFFIXES",
    "ALLOWED_DRIVERS",
    "CSV_SUFFIXES",
    "EXCEL_SUFFIXES",
    "SHAPEFILE_PARTS",
    "VECTOR_SUFFIXES",
    "RawUpload",
    "UploadLimits",
    "excel_sheet_names",
    "read_allowed_info",
    "read_upload",
    "read_upload_file",
    "reject_vrt",
]

#: Formats :func:`read_upload` reads, by suffix.
CSV_SUFFIXES: Final = (".csv", ".txt", ".tsv")
EXCEL_SUFFIXES: Final = (".xlsx", ".xlsm")
VECTOR_SUFFIXES: Final = (".geojson", ".json", ".gpkg", ".zip")
ACCEPTED_SUFFIXES: Final = CSV_SUFFIXES + EXCEL_SUFFIXES + VECTOR_SUFFIXES
_VECTOR_FORMATS: Final = {".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg",
                          ".zip": "shapefile"}


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
    suffix = suffix_of(display)
    if suffix in CSV_SUFFIXES:
        return read_csv(display, data, lim)
    if suffix in EXCEL_SUFFIXES:
        if data[:4] != b"PK\x03\x04":
            raise InputFileError(f"{display} is not an .xlsx workbook (old .xls or renamed "
                                 "file?): save it as .xlsx in Excel/WPS")
        return read_xlsx(display, data, sheet, lim)
    if suffix in _VECTOR_FORMATS:
        return read_vector_upload(display, data, _VECTOR_FORMATS[suffix], lim)
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
