"""The coverage-progress table (:class:`~geo.pipeline.progress.ProgressTable`) as files:
``progress.csv``, ``progress.xlsx`` and ``progress.json``, and the same CSV / Excel as
bytes for the app's downloads.

Text from the database (city names, user names) goes through :mod:`geo.io.sheetsafe`:
quoted in CSV, kept as text in XLSX. The workbook's rows sheet is written like the
report's tables: numbers as numbers (shares with a percent format, counts and metres
with separators), text as text, a bold frozen and filtered header, widths from the
content; a second sheet holds the parameters and the network.
"""

from __future__ import annotations

import io
import json
import math
import os
import unicodedata
from pathlib import Path
from typing import Any, Final

import pandas as pd

from geo.io.sheetsafe import csv_bytes, keep_text
from geo.network.modes import network_filter
from geo.pipeline.progress import ProgressTable
from geo.vocab import Lang, label, mode_label, mode_name, mode_term, pick

SHEETS: Final[dict[str, tuple[str, str]]] = {
    "rows": ("覆盖进度", "progress"),
    "about": ("参数", "parameters"),
}


def display_frame(table: ProgressTable, lang: Lang | str) -> pd.DataFrame:
    """The rows with actions and demand bases in ``lang`` (column names unchanged)."""
    frame = table.frame()
    frame["action"] = [label(f"action_{a}", lang) for a in frame["action"]]
    frame["demand_basis"] = [label(f"basis_{b}", lang) for b in frame["demand_basis"]]
    return frame


def progress_csv(table: ProgressTable, *, lang: Lang | str | None = None) -> bytes:
    """The rows as CSV (UTF-8 with BOM, for Excel): column names as in
    :data:`~geo.pipeline.progress.FRAME_COLUMNS`, or with ``lang`` the headers and
    values in that language."""
    frame = table.frame() if lang is None else display_frame(table, lang)
    if lang is not None:
        frame = frame.rename(columns={c: label(c, lang) for c in frame.columns})
    return csv_bytes(frame)


_WIDTH_MAX: Final = 48


def _number_format(column: str) -> str | None:
    if column.endswith("_share"):
        return "0.0%"
    if column.endswith("_m"):
        return "#,##0.0"
    if column.startswith("stations_"):
        return "#,##0"
    return None


def _width(value: Any) -> int:
    text = "" if value is None else str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cell(value: Any, numeric: bool) -> Any:
    """A typed cell value: a number (None when missing) or text."""
    if value is None or value is pd.NA or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if numeric:
        return value.item() if hasattr(value, "item") else value
    return str(value)


def _write_rows(ws: Any, frame: pd.DataFrame, lang: Lang) -> None:
    """``frame`` into ``ws``: header labels in ``lang``, typed cells, formats, widths."""
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    cols = list(frame.columns)
    heads = [label(c, lang) for c in cols]
    ws.append(heads)
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in cols]
    values = [frame[c].to_numpy(dtype=object) for c in cols]
    for i in range(len(frame)):
        ws.append([_cell(v[i], n) for v, n in zip(values, numeric, strict=True)])
    for j, c in enumerate(cols, start=1):
        head = ws.cell(row=1, column=j)
        head.font = Font(bold=True)
        head.fill = PatternFill("solid", fgColor="DDE8F3")
        fmt = _number_format(c) if numeric[j - 1] else None
        for row in ws.iter_rows(min_row=2, max_row=len(frame) + 1, min_col=j, max_col=j):
            if fmt:
                row[0].number_format = fmt
        width = max([_width(heads[j - 1]), *(_width(v) for v in values[j - 1][:500])])
        ws.column_dimensions[get_column_letter(j)].width = min(max(width + 2, 8), _WIDTH_MAX)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(cols))}{len(frame) + 1}"


def _about_rows(table: ProgressTable, lang: Lang | str) -> list[tuple[str, Any]]:
    p = table.params
    basis = table.demand_basis
    mode = p.mode

    def term(key: str, unit_zh: str, unit_en: str) -> str:
        return pick(f"{mode_term(mode, key, 'zh')}（{unit_zh}）",
                    f"{mode_term(mode, key, 'en')} ({unit_en})", lang)

    nf = network_filter(mode)
    trip: list[tuple[str, Any]] = [
        (mode_label("speed_model", mode, lang),
         f"{mode_label('speed_constant', mode, lang)}{pick('：', ': ', lang)}"
         f"{p.walk_speed_kmh:g} km/h"),
        (term("time", "分钟", "min"), p.walk_time_min),
        (term("speed", "km/h", "km/h"), p.walk_speed_kmh),
        (term("budget", "米", "m"), p.budget_m),
    ] if mode != "drive" else [  # per-edge speeds: the budget is a time
        (mode_label("speed_model", mode, lang), mode_label("speed_per_edge", mode, lang)),
        (term("time", "分钟", "min"), p.walk_time_min),
        (term("budget", "秒", "s"), p.budget_s),
    ]
    rows: list[tuple[str, Any]] = [
        (mode_label("travel_mode", mode, lang), mode_name(mode, lang)),
        (mode_label("network_filter", mode, lang), f"{nf['filter']} ({nf['defined_in']})"),
        *trip,
        (pick("街道缓冲半宽（米）", "Street buffer (m)", lang), p.buffer_m),
        (pick("最大吸附距离（米）", "Max snap distance (m)", lang), p.max_snap_m),
        (pick("区域 / 路网", "Region / network", lang), table.region_label),
        (pick("路网内容 SHA-256", "Network content SHA-256", lang), table.network_key),
        (label("demand_basis", lang), label(f"basis_{basis}", lang) if basis else "—"),
    ]
    if table.anonymous:
        rows.append((label("note", lang), table.note(str(lang))))
    return rows


def progress_xlsx(table: ProgressTable, lang: Lang) -> bytes:
    """A workbook: the rows (headers in ``lang``) and a sheet of the parameters."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    zh, en = SHEETS["rows"]
    ws.title = pick(zh, en, lang)
    _write_rows(ws, display_frame(table, lang), lang)
    zh, en = SHEETS["about"]
    about = wb.create_sheet(pick(zh, en, lang))
    about.append([pick("项目", "Item", lang), pick("数值", "Value", lang)])
    for item, value in _about_rows(table, lang):
        about.append([item, value])
    about.column_dimensions["A"].width = 28
    about.column_dimensions["B"].width = 70
    about.cell(row=1, column=1).font = Font(bold=True)
    about.cell(row=1, column=2).font = Font(bold=True)
    wb.properties.creator = "yizhan"
    keep_text(wb)  # city and user names stay text
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def progress_json(table: ProgressTable) -> dict[str, Any]:
    """``progress.json``: :meth:`ProgressTable.meta` plus the rows (plain JSON values)."""
    frame = table.frame().astype(object).where(table.frame().notna(), None)
    return {**table.meta(), "rows": frame.to_dict(orient="records")}


def write_progress(table: ProgressTable, out_dir: str | os.PathLike[str], *,
                   lang: Lang = "zh") -> dict[str, Path]:
    """Write ``progress.csv`` (column names), ``progress.xlsx`` (headers in ``lang``) and
    ``progress.json`` into ``out_dir`` (created if needed)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / name for name in ("progress.csv", "progress.xlsx", "progress.json")}
    paths["progress.csv"].write_bytes(progress_csv(table))
    paths["progress.xlsx"].write_bytes(progress_xlsx(table, lang))
    paths["progress.json"].write_text(
        json.dumps(progress_json(table), ensure_ascii=False, indent=2, default=_plain),
        encoding="utf-8")
    return paths


def _plain(value: Any) -> Any:
    """numpy scalars → Python numbers for ``json.dumps``."""
    if hasattr(value, "item"):
        return value.item()
    return str(value)


__all__ = ["display_frame", "progress_csv", "progress_json", "progress_xlsx",
           "write_progress"]
