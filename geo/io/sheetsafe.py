"""Spreadsheet safety for untrusted text (station names, addresses…) in CSV / XLSX.

A cell such as ``=HYPERLINK("http://evil","点我")`` is a *formula* to Excel and WPS:
openpyxl even writes any string starting with ``=`` as one. Two guards:

* :func:`keep_text` — after writing a workbook with openpyxl, every formula cell holding
  uploaded text becomes a plain text cell (the value is kept exactly);
* :func:`csv_safe` — for CSV files meant to be opened in Excel, text cells starting
  with ``=``, ``+``, ``@``, a tab / carriage return, or ``-`` (unless the cell is just a
  negative number)
  get a leading ``'`` (OWASP "CSV injection"); numbers and other text are unchanged.
  Stored data (database, GeoJSON, GeoPackage) keeps the original text.
"""

from __future__ import annotations

import re
from typing import Any, Final

import pandas as pd

_DANGER: Final = re.compile(r"^[=+@\t\r-]")
_NUMBER: Final = re.compile(r"^-(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")


def csv_cell(value: Any) -> Any:
    """``value`` with a leading ``'`` when a spreadsheet would run it as a formula."""
    if isinstance(value, str) and _DANGER.match(value) and not _NUMBER.match(value):
        return "'" + value
    return value


def csv_safe(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells are safe to open in Excel (see module doc)."""
    out = df.copy()
    for c in out.columns:
        col = out[c]
        if col.dtype == object or pd.api.types.is_string_dtype(col):
            out[c] = col.map(csv_cell)
    return out


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
    import io

    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        for name, df in sheets.items():
            df.to_excel(xw, index=False, sheet_name=name)
        keep_text(xw.book)
    return buf.getvalue()
