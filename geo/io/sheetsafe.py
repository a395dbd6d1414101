"""Spreadsheet safety for untrusted text (station names, addresses…) in CSV / XLSX.

A cell such as ``=HYPERLINK("http://evil","点我")`` is a *formula* to Excel and WPS:
openpyxl even writes any string starting with ``=`` as one. Two guards:

* :func:`keep_text` — after writing a workbook with openpyxl, every formula cell holding
  uploaded text becomes a plain text cell (the value is kept exactly);
* :func:`csv_safe` — for CSV files meant to be opened in Excel, text cells (and column
  names) starting with ``=``, ``+``, ``@``, a tab / carriage return, or ``-`` (unless
  the cell is just a negative number) get a leading ``'`` (OWASP "CSV injection"), and
  so does every such start *after a line break* inside a cell; numbers and other text
  are unchanged. Stored data (database, GeoJSON, GeoPackage) keeps the original text.

Every CSV Yizhan writes goes through :func:`write_csv` / :func:`csv_bytes` (cells and
headers guarded, ``\r\n`` line ends so that a field holding a CR *or* an LF is
quoted — pandas' default ``\n`` leaves a bare CR unquoted, and the row splits), and
every workbook through :func:`save_workbook` / :func:`excel_bytes` (:func:`keep_text`
first). ``tests/test_sheetsafe.py`` runs every writer on hostile text.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import IO, Any, Final

import pandas as pd

_DANGER: Final = re.compile(r"^[=+@\t\r-]")
_DANGER_AFTER_BREAK: Final = re.compile(r"([\r\n])(?=[=+@\t-])")
_NUMBER: Final = re.compile(r"^-(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")


def csv_cell(value: Any) -> Any:
    """``value`` with a leading ``'`` when a spreadsheet would run it as a formula (also
    for a formula start right after a line break inside the text)."""
    if not isinstance(value, str):
        return value
    if ("\r" in value or "\n" in value) and _DANGER_AFTER_BREAK.search(value):
        value = _DANGER_AFTER_BREAK.sub(r"\1'", value)
    if _DANGER.match(value) and not _NUMBER.match(value):
        return "'" + value
    return value


def csv_safe(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells and column names are safe to open in Excel
    (see the module docstring)."""
    out = df.copy()
    for i in range(out.shape[1]):  # by position: column names may repeat
        col = out.iloc[:, i]
        if col.dtype == object or pd.api.types.is_string_dtype(col):
            out.isetitem(i, col.map(csv_cell))
    out.columns = [csv_cell(c) if isinstance(c, str) else c for c in out.columns]
    return out


def csv_bytes(df: pd.DataFrame, *, encoding: str = "utf-8-sig") -> bytes:
    """``df`` as CSV bytes, guarded (:func:`csv_safe`), CR/LF fields quoted, no index."""
    text = csv_safe(df).to_csv(index=False, lineterminator="\r\n")
    return text.encode(encoding)


def write_csv(df: pd.DataFrame, path: str | os.PathLike[str], *,
              encoding: str = "utf-8") -> Path:
    """Write ``df`` as a guarded CSV file (:func:`csv_bytes`); returns the path."""
    p = Path(path)
    p.write_bytes(csv_bytes(df, encoding=encoding))
    return p


def save_workbook(workbook: Any, target: str | os.PathLike[str] | IO[bytes]) -> None:
    """Save an openpyxl ``workbook`` after turning every formula cell into text."""
    keep_text(workbook)
    workbook.save(target)


def keep_text(workbook: Any) -> int:
    """Turn every formula cell of an openpyxl ``workbook`` into a text cell; returns how
    many were changed (Yizhan never writes formulas itself)."""
    n = 0
    for ws in workbook.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"
                    n += 1
    return n


def excel_bytes(sheets: dict[str, pd.DataFrame]) -> bytes:
    """An XLSX (one sheet per frame, no index) with every cell's text kept as text."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        for name, df in sheets.items():
            df.to_excel(xw, index=False, sheet_name=name)
        keep_text(xw.book)
    return buf.getvalue()
