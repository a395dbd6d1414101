"""XLSX station lists: openpyxl in read-only mode (XML parsed through defusedxml).

The zip caps (:func:`geo.io.archive.check_zip`) come before openpyxl; the chosen sheet
(default: the first) is read row by row. Numbers written as text stay text.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from geo.errors import InputFileError, UploadLimitError
from geo.io.archive import check_zip
from geo.io.limits import UploadLimits
from geo.io.table import (
    RawUpload,
    cell_text,
    fit_rows,
    is_blank_row,
    string_frame,
    trim_trailing_blank,
    unique_headers,
)

_BLANK_TAIL: Final = 10_000  # formatted-but-empty rows tolerated after max_features


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


def _checked_workbook(data: bytes, name: str, limits: UploadLimits) -> Any:
    check_zip(data, name, limits)
    return _open_workbook(data, name)


def excel_sheet_names(data: bytes, *, limits: UploadLimits | None = None) -> list[str]:
    """Sheet names of an XLSX (after the zip caps); ``[]`` when it cannot be read."""
    lim = limits or UploadLimits()
    try:
        wb = _checked_workbook(data, "workbook", lim)
    except InputFileError:
        return []
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


@dataclass
class _Sheet:
    """Rows of a sheet as read: the header, data rows as text, their sheet row numbers."""

    name: str
    sheet: str
    limits: UploadLimits
    header: list[str] | None = None
    header_row: int = 0
    width: int = 0
    rows: list[list[str]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)

    def _limit(self, what: str) -> UploadLimitError:
        return UploadLimitError(f"{self.name}: sheet {self.sheet!r} has {what}")

    def add(self, r: int, values: tuple[Any, ...]) -> bool:
        """Take sheet row ``r``; ``False`` once the rest is a blank tail to ignore."""
        texts = [cell_text(v) for v in values]
        if self.header is None:
            if not is_blank_row(texts):
                if len(texts) > self.limits.max_columns:
                    raise self._limit(f"{len(texts)} columns (limit "
                                      f"{self.limits.max_columns})")
                self.header, self.header_row = texts, r
                self.width = len(texts)
                while self.width and not texts[self.width - 1].strip():
                    self.width -= 1
            return True
        self.rows.append(texts)
        self.lines.append(r)
        if len(self.rows) > self.limits.max_features + _BLANK_TAIL:
            if is_blank_row(texts):
                return False  # a huge formatted-but-empty tail
            raise self._limit(f"more than {self.limits.max_features:,} rows")
        return True


def _read_sheet(wb: Any, name: str, sheet: str | None,
                limits: UploadLimits) -> tuple[_Sheet, tuple[str, ...]]:
    sheets = tuple(wb.sheetnames)
    if not sheets:
        raise InputFileError(f"{name} has no worksheet")
    chosen = sheet if sheet is not None else sheets[0]
    if chosen not in sheets:
        raise InputFileError(f"{name} has no sheet {chosen!r}; sheets: {', '.join(sheets)}")
    ws = wb[chosen]
    got = _Sheet(name, chosen, limits)
    try:
        for r, values in enumerate(ws.iter_rows(values_only=True), start=1):
            if not got.add(r, values):
                break
    except UploadLimitError:
        raise
    except Exception as exc:
        raise InputFileError(f"cannot read sheet {chosen!r} of {name}: {exc}") from None
    return got, sheets


def read_xlsx(name: str, data: bytes, sheet: str | None, limits: UploadLimits) -> RawUpload:
    """The chosen sheet (default: the first) of an XLSX upload as a :class:`RawUpload`."""
    wb = _checked_workbook(data, name, limits)
    try:
        got, sheets = _read_sheet(wb, name, sheet, limits)
    finally:
        wb.close()
    if got.header is None:
        raise InputFileError(f"sheet {got.sheet!r} of {name} is empty: the first row must "
                             "name the columns (e.g. 名称, 经度, 纬度)")
    cols = unique_headers(got.header[: got.width])  # trailing empty header cells: formatting
    rows, lines = got.rows, got.lines
    trim_trailing_blank(rows)
    del lines[len(rows):]
    if len(rows) > limits.max_features:
        raise UploadLimitError(f"{name}: sheet {got.sheet!r} has {len(rows):,} rows (limit "
                               f"{limits.max_features:,})")
    table, issues = fit_rows(rows, len(cols),
                             lambda _row: f"row has values beyond the {len(cols)} named columns")
    notes = [f"sheet {got.sheet!r} (header in row {got.header_row})"]
    if len(sheets) > 1:
        notes.append(f"{len(sheets)} sheets: {', '.join(sheets)}")
    return RawUpload(name=name, format="xlsx", sha256=hashlib.sha256(data).hexdigest(),
                     size_bytes=len(data), frame=string_frame(table, cols),
                     source_lines=np.asarray(lines, int), row_issues=tuple(issues),
                     sheet=got.sheet, sheets=sheets, notes=tuple(notes))
