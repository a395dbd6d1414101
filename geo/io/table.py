"""The string table every station reader produces (:class:`RawUpload`) and its helpers.

IDs stay strings (``0012`` ≠ ``12``), empty cells are ``""``, headers are made unique,
and blank rows after the last data row are not data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Final

import numpy as np
import pandas as pd
import pyproj

_BLANK_RE: Final = re.compile(r"^[\s\u3000\ufeff]*$")


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


def suffix_of(name: str) -> str:
    """The lower-case suffix of a file name (``""`` without one)."""
    return PurePosixPath(name.lower().strip()).suffix


def unique_headers(headers: Sequence[object]) -> list[str]:
    """Header cells as column names: stripped, blanks named ``column_N``, repeats ``_2``…"""
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


def is_blank_row(values: Sequence[str]) -> bool:
    return all(_BLANK_RE.match(v or "") for v in values)


def trim_trailing_blank(rows: list[list[str]]) -> int:
    """Drop blank rows at the end of ``rows`` (in place); returns how many."""
    n = len(rows)
    while n and is_blank_row(rows[n - 1]):
        n -= 1
    dropped = len(rows) - n
    del rows[n:]
    return dropped


def cell_text(value: Any) -> str:
    """A cell value as the text a user typed (integral floats without ``.0``)."""
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


def fit_rows(rows: list[list[str]], width: int, issue: Callable[[list[str]], str],
             ) -> tuple[list[list[str]], list[str | None]]:
    """Rows padded / cut to ``width``; a row with non-blank values beyond it gets
    ``issue(row)`` as its row issue."""
    table: list[list[str]] = []
    issues: list[str | None] = []
    for row in rows:
        extra = row[width:]
        issues.append(issue(row) if extra and not is_blank_row(extra) else None)
        table.append((row + [""] * width)[:width])
    return table, issues


def string_frame(table: list[list[str]], columns: list[str]) -> pd.DataFrame:
    """A DataFrame of strings (object dtype), also when there are no rows."""
    if table:
        return pd.DataFrame(table, columns=columns, dtype=object)
    return pd.DataFrame(columns=columns, dtype=object)
