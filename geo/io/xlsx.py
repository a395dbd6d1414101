"""XLSX station lists: openpyxl in read-only mode (XML parsed through defusedxml).

Caps come before openpyxl: the zip caps (:func:`geo.io.archive.check_zip`), then a
streaming count of the raw XML — shared-string items (``<si>``, which openpyxl loads
whole when it opens the workbook) and real cells (``<c>``, which openpyxl parses whole
at open for a sheet without ``<dimension>``) — against ``max_shared_strings`` /
``max_shared_strings_bytes`` / ``max_cells``. The sheet's declared ``<dimension>`` is
ignored (``reset_dimensions``: a declared ``A1:SF200001`` made openpyxl pad every row to
500 cells), and rows stop at the cell caps while they are read. Numbers written as
text stay text.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from geo.errors import InputFileError, UploadLimitError
from geo.io.archive import check_zip, member_chunks
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

# Tags counted in the raw XML, as an upper bound: every tag whose name starts with
# "si" / "c" (one bytes.count pass each; <cols>, <cfRule>… count too) plus the
# namespace-prefixed forms (x:si, x:c) by regex where a prefix occurs.
_SI_PREFIXED: Final = re.compile(rb"<[A-Za-z_][\w.\-]{0,31}:si[\s/>]")
_CELL_PREFIXED: Final = re.compile(rb"<[A-Za-z_][\w.\-]{0,31}:c[\s/>]")
_OVERLAP: Final = 64  # longer than any counted tag
_BLANK_TAIL: Final = 10_000  # formatted-but-empty rows tolerated after max_features
_EXCEL_ROWS: Final = 1_048_576  # openpyxl yields an empty row for every missing row number


def _count(buf: bytes, cut: int, tag: bytes, prefixed: re.Pattern[bytes]) -> int:
    """Occurrences of ``tag`` (and its prefixed form) in ``buf`` starting before ``cut``
    (each is complete: ``buf`` runs at least :data:`_OVERLAP` bytes further)."""
    n = buf.count(tag, 0, cut + len(tag) - 1)
    if b":" + tag[1:] in buf:
        n += sum(1 for m in prefixed.finditer(buf) if m.start() < cut)
    return n


def _count_tags(chunks: Iterable[bytes]) -> tuple[int, int]:
    """(shared-string items, cells) in a stream of XML bytes (upper bounds)."""
    si = cells = 0
    tail = b""
    for chunk in chunks:
        buf = tail + chunk
        cut = max(len(buf) - _OVERLAP, 0)  # tags starting from `cut` on: counted next time
        si += _count(buf, cut, b"<si", _SI_PREFIXED)
        cells += _count(buf, cut, b"<c", _CELL_PREFIXED)
        tail = buf[cut:]
    end = len(tail)
    return (si + _count(tail, end, b"<si", _SI_PREFIXED),
            cells + _count(tail, end, b"<c", _CELL_PREFIXED))


def _prescan(zf: zipfile.ZipFile, name: str, limits: UploadLimits) -> dict[str, int]:
    """Refuse a workbook whose shared strings or real cells exceed the caps (before
    openpyxl parses anything); returns the real cells per member."""
    strings = strings_bytes = 0
    cells: dict[str, int] = {}
    for info in zf.infolist():
        si, c = _count_tags(member_chunks(zf, info, name))
        if si:
            strings += si
            strings_bytes += info.file_size
        if c:
            cells[info.filename] = c
    if strings > limits.max_shared_strings:
        raise UploadLimitError(
            f"{name} has {strings:,} shared strings (limit {limits.max_shared_strings:,}): "
            "split the workbook")
    if strings_bytes > limits.max_shared_strings_bytes:
        raise UploadLimitError(
            f"{name}: its shared strings take {strings_bytes / 1e6:,.1f} MB (limit "
            f"{limits.max_shared_strings_bytes / 1e6:,.0f} MB)")
    # openpyxl parses each sheet without a <dimension> whole when it opens the workbook
    if sum(cells.values()) > limits.max_cells:
        raise UploadLimitError(
            f"{name} has {sum(cells.values()):,} cells (limit {limits.max_cells:,}): split "
            "the workbook")
    return cells


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


def _checked_workbook(data: bytes, name: str, limits: UploadLimits) -> tuple[Any, dict[str, int]]:
    zf = check_zip(data, name, limits)
    cells = _prescan(zf, name, limits)
    return _open_workbook(data, name), cells


def excel_sheet_names(data: bytes, *, limits: UploadLimits | None = None) -> list[str]:
    """Sheet names of an XLSX (after the zip and shared-string caps); ``[]`` when it
    cannot be read."""
    lim = limits or UploadLimits()
    try:
        wb, _cells = _checked_workbook(data, "workbook", lim)
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
    cells: int = 0
    stopped_at: int | None = None

    def _limit(self, what: str) -> UploadLimitError:
        return UploadLimitError(f"{self.name}: sheet {self.sheet!r} has {what}")

    def add(self, r: int, values: tuple[Any, ...]) -> bool:
        """Take sheet row ``r``; ``False`` once the rest is a blank tail to ignore."""
        if r > _EXCEL_ROWS:
            raise self._limit(f"row numbers beyond Excel's {_EXCEL_ROWS:,}")
        self.cells += len(values)  # as parsed (before trimming): bounds the work
        if self.cells > self.limits.max_cells:
            raise self._limit(f"more than {self.limits.max_cells:,} cells")
        n = len(values)
        while n and values[n - 1] is None:
            n -= 1
        if n > self.limits.max_columns:
            raise self._limit(f"a value in column {n} of row {r} (limit "
                              f"{self.limits.max_columns} columns)")
        texts = [cell_text(v) for v in values[:n]]
        if self.header is None:
            if not is_blank_row(texts):
                self.header, self.header_row = texts, r
                self.width = len(texts)
                while self.width and not texts[self.width - 1].strip():
                    self.width -= 1
            return True
        self.rows.append(texts)
        self.lines.append(r)
        if len(self.rows) * max(self.width, 1) > self.limits.max_cells:
            raise self._limit(f"more than {self.limits.max_cells:,} cells ({self.width} "
                              f"columns × {len(self.rows):,} rows)")
        if len(self.rows) > self.limits.max_features + _BLANK_TAIL:
            if is_blank_row(texts):
                self.stopped_at = r  # a huge formatted-but-empty tail
                return False
            raise self._limit(f"more than {self.limits.max_features:,} rows")
        return True


def _iter_rows(ws: Any) -> Iterator[tuple[Any, ...]]:
    if hasattr(ws, "reset_dimensions"):
        ws.reset_dimensions()  # the declared <dimension> pads every row to its width
    yield from ws.iter_rows(values_only=True)


def _read_sheet(wb: Any, cells: dict[str, int], name: str, sheet: str | None,
                limits: UploadLimits) -> tuple[_Sheet, tuple[str, ...]]:
    sheets = tuple(wb.sheetnames)
    if not sheets:
        raise InputFileError(f"{name} has no worksheet")
    chosen = sheet if sheet is not None else sheets[0]
    if chosen not in sheets:
        raise InputFileError(f"{name} has no sheet {chosen!r}; sheets: {', '.join(sheets)}")
    ws = wb[chosen]
    real = cells.get(str(getattr(ws, "_worksheet_path", "")), max(cells.values(), default=0))
    if real > limits.max_cells:
        raise UploadLimitError(f"{name}: sheet {chosen!r} has {real:,} cells (limit "
                               f"{limits.max_cells:,})")
    got = _Sheet(name, chosen, limits)
    try:
        for r, values in enumerate(_iter_rows(ws), start=1):
            if not got.add(r, values):
                break
    except UploadLimitError:
        raise
    except Exception as exc:
        raise InputFileError(f"cannot read sheet {chosen!r} of {name}: {exc}") from None
    return got, sheets


def read_xlsx(name: str, data: bytes, sheet: str | None, limits: UploadLimits) -> RawUpload:
    """The chosen sheet (default: the first) of an XLSX upload as a :class:`RawUpload`."""
    wb, cells = _checked_workbook(data, name, limits)
    try:
        got, sheets = _read_sheet(wb, cells, name, sheet, limits)
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
    if got.stopped_at is not None:
        notes.append(f"reading stopped at sheet row {got.stopped_at:,} after "
                     f"{_BLANK_TAIL:,}+ blank rows: any later row was not read")
    if len(sheets) > 1:
        notes.append(f"{len(sheets)} sheets: {', '.join(sheets)}")
    return RawUpload(name=name, format="xlsx", sha256=hashlib.sha256(data).hexdigest(),
                     size_bytes=len(data), frame=string_frame(table, cols),
                     source_lines=np.asarray(lines, int), row_issues=tuple(issues),
                     sheet=got.sheet, sheets=sheets, notes=tuple(notes))
