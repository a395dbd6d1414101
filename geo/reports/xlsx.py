"""The Excel report (openpyxl): one sheet per table — summary, towns, stations, zones —
and a ``fields`` sheet mapping every header to its CSV column name.

The towns / stations / zones sheets hold the same rows as ``towns.csv``,
``stations.csv`` and ``zones.csv`` of ``yizhan coverage`` (plus report columns: the
threshold flag, per-station reach, covered population and overlap). Numbers are
written as numbers (shares with a percent format), flags as booleans, identifiers and
codes as text; the header row is frozen and filtered; column widths follow the content.
"""

from __future__ import annotations

import math
import os
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from geo.io.sheetsafe import keep_text
from geo.reports.data import ReportData, drive_rows, mode_rows, review_rule
from geo.reports.display import fmt_figure
from geo.vocab import MODE_COLUMNS, Lang, basis_label, mode_term, pick, type_label
from geo.vocab import label as column_label

SHEET_NAMES: Final[dict[str, tuple[str, str]]] = {
    "summary": ("汇总", "summary"),
    "towns": ("镇街", "towns"),
    "stations": ("站点", "stations"),
    "zones": ("骑手友好场景", "zones"),
    "bases": ("疗休养基地", "bases"),
    "bases_beyond": ("基地超出限值", "bases beyond limits"),
    "fields": ("字段说明", "fields"),
}
MAX_WIDTH: Final = 60
TEXT_COLUMNS: Final = frozenset({"station_id", "town_id", "code", "zone_id", "input_row_text",
                                 "nearest_station_id", "overlap_top_neighbour"})


def sheet_name(key: str, lang: Lang) -> str:
    zh, en = SHEET_NAMES[key]
    return pick(zh, en, lang)


def _number_format(col: str) -> str | None:
    if col.endswith("_share") or col in ("share", "threshold"):
        return "0.0%"
    if col == "uncovered_demand":  # people, or street metres: whole numbers
        return "#,##0"
    if col.endswith(("_m", "_m2")):
        return "#,##0.0"
    if col.endswith("_min"):
        return "0.00"
    if col in ("lon", "lat"):
        return "0.0000000"
    if col in ("population", "covered_population", "nearest_covered_population") \
            or col.startswith("stations_") or col in ("rank", "input_row", "overlap_neighbours"):
        return "#,##0"
    return None


def _text_width(value: Any) -> int:
    s = "" if value is None else str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _missing(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, (float, np.floating))
                                       and not math.isfinite(float(v)))


def _number(v: Any) -> Any:
    """A number (int / float / bool) for a numeric cell; ``None`` when missing."""
    if _missing(v):
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v)
    return v


def _text(v: Any) -> str | None:
    if _missing(v):
        return None
    s = str(v)
    return s or None


def write_frame(ws: Any, df: pd.DataFrame, lang: Lang, *,
                headers: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """Write ``df`` into the worksheet ``ws`` as the report does: a bold, frozen and
    filtered header row (``headers[column]``, else the column's label in ``lang``),
    typed cells with the report's number formats, column widths from the content.
    Returns the (header, column) pairs. The caller runs :func:`keep_text` on the
    workbook before saving it."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    cols = list(df.columns)
    named = headers or {}
    heads = [named.get(c) or column_label(c, lang) for c in cols]
    ws.append(heads)
    kinds = []
    for c in cols:
        s = df[c]
        if c in TEXT_COLUMNS:
            kinds.append("text")
        elif pd.api.types.is_bool_dtype(s):
            kinds.append("bool")
        elif pd.api.types.is_numeric_dtype(s):
            kinds.append("num")
        else:
            kinds.append("text")
    arrays = [df[c].to_numpy(dtype=object) for c in cols]
    for i in range(len(df)):
        ws.append([_text(a[i]) if k == "text" else _number(a[i])
                   for a, k in zip(arrays, kinds, strict=True)])
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDE8F3")
    for j, c in enumerate(cols, start=1):
        cell = ws.cell(row=1, column=j)
        cell.font = bold
        cell.fill = fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        fmt = _number_format(c) if kinds[j - 1] == "num" else None
        if fmt:
            for row in ws.iter_rows(min_row=2, max_row=len(df) + 1, min_col=j, max_col=j):
                row[0].number_format = fmt
        sample = arrays[j - 1][:2000]
        width = max([_text_width(heads[j - 1])] + [
            _text_width(f"{v:,.2f}" if isinstance(v, (float, np.floating)) and kinds[j - 1]
                        == "num" and math.isfinite(float(v)) else v) for v in sample])
        ws.column_dimensions[get_column_letter(j)].width = min(max(width + 2, 8), MAX_WIDTH)
    ws.freeze_panes = "A2"
    if len(cols):
        ws.auto_filter.ref = f"A1:{get_column_letter(len(cols))}{len(df) + 1}"
    return list(zip(heads, cols, strict=True))


def _trip_rows(data: ReportData, sec: str) -> list[tuple[str, str, Any, str, str]]:
    """The travel mode, filter and speed model, then the time, speed and budget as
    numbers with units (by car: the time, the one-way rule and the budget in seconds)."""
    t, lang, p, mode = data.t, data.lang, data.job.params, data.mode
    rows = [(sec, k, v, "", "") for k, v in mode_rows(p, lang)[:3]]
    time = (sec, mode_term(mode, "time", lang), p.walk_time_min, t("分钟", "min"), "")
    if mode == "drive":
        return rows + [time, *((sec, k, v, "", "") for k, v in drive_rows(p, lang)[2:3]),
                       (sec, mode_term(mode, "budget", lang), p.budget_s, "s", "")]
    return rows + [time, (sec, mode_term(mode, "speed", lang), p.walk_speed_kmh, "km/h", ""),
                   (sec, mode_term(mode, "budget", lang), p.budget_m, "m", "")]


def summary_rows(data: ReportData) -> list[tuple[str, str, Any, str, str]]:
    """(section, item, value, unit, note) rows of the summary sheet."""
    t = data.t
    lang = data.lang
    s = data.summary
    p = data.job.params
    rows: list[tuple[str, str, Any, str, str]] = []
    sec = t("报告", "Report")
    rows.append((sec, t("标题", "Title"), data.title, "", ""))
    for k, v in data.cover:
        rows.append((sec, k, v, "", ""))
    if data.job.synthetic:
        rows.append((sec, t("说明", "Disclaimer"), data.job.disclaimer, "", ""))
    sec = t("数据版本", "Data versions")
    for k, v in data.versions:
        rows.append((sec, k, v, "", ""))
    sec = t("参数", "Parameters")
    mode = data.mode
    rows += _trip_rows(data, sec)
    rows += [
        (sec, t("街道缓冲半宽", "Street buffer"), p.buffer_m, "m", ""),
        (sec, t("最大吸附距离", "Max snap distance"), p.max_snap_m, "m", ""),
        (sec, column_label("demand_basis", lang),
         basis_label(s["demand_basis"], lang), "", ""),
        (sec, t("镇街覆盖率阈值", "Town threshold"), data.options.town_threshold, "share", ""),
        (sec, t("重叠复核阈值（服务圈被其他站点覆盖）", "Review: area covered by others"),
         data.options.overlap_threshold, "share", ""),
        (sec, t("复核阈值（是最近站点的街道占比低于）", "Review: nearest for under"),
         data.options.review_nearest_share, "share", review_rule(data.options)),
    ]
    sec = t("核心指标", "Headline figures")
    for f in data.headline:
        unit = {"share": "share", "km2": "km²", "km": "km"}.get(f.kind, "")
        value = f.value if isinstance(f.value, (int, float, np.integer, np.floating)) \
            else fmt_figure(f, lang)
        rows.append((sec, f.label, value, unit, f.note))
    rows += [
        (sec, t("覆盖街道长度", "Covered street length"), s["covered_length_m"], "m", ""),
        (sec, t("街道总长度", "Total street length"), s["total_length_m"], "m", ""),
        (sec, t("服务圈面积（合并，平方米）", "Service area (union, m²)"), s["covered_area_m2"],
         "m²", ""),
    ]
    sec = t("各类型站点", "Stations by type")
    for r in data.by_type.itertuples():
        rows.append((sec, type_label(r.type, lang), r.total, t("个", "stations"),
                     t(f"接入路网{r.used}个", f"{r.used} on the network")))
    sec = t("路网", "Network")
    net = s["network"]
    rows += [
        (sec, t("节点", "Nodes"), net["nodes"], "", ""),
        (sec, t("边", "Edges"), net["edges"], "", ""),
        (sec, t("街道总长度", "Street length"), net["total_length_m"], "m", ""),
        (sec, t(f"过滤掉的边（不{mode_term(mode, 'passable', 'zh')}）",
                f"Dropped edges (not {mode_term(mode, 'passable', 'en')})"),
         net["dropped_edges"], "", ""),
    ]
    sec = t("排名规则", "Ranking rule")
    for n in data.notes:
        rows.append((sec, "", n, "", ""))
    return rows


def write_xlsx(data: ReportData, path: str | os.PathLike[str]) -> Path:
    """Write the Excel report to ``path``."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    lang = data.lang
    t = data.t
    wb = Workbook()
    ws = wb.active
    ws.title = sheet_name("summary", lang)
    header = [t("类别", "Section"), t("项目", "Item"), t("数值", "Value"), t("单位", "Unit"),
              t("说明", "Note")]
    ws.append(header)
    rows = summary_rows(data)
    for sec, item, value, unit, note in rows:
        is_num = isinstance(value, (int, float, np.integer, np.floating)) \
            and not isinstance(value, bool)
        v = _number(value) if is_num else value
        ws.append([sec, item, v, "" if unit == "share" else unit, note or None])
        if is_num:
            c = ws.cell(row=ws.max_row, column=3)
            c.number_format = "0.0%" if unit == "share" else (
                "#,##0" if float(value).is_integer() else "#,##0.00")
            c.alignment = Alignment(horizontal="right")
    for j, width in enumerate((16, 34, 40, 10, 50), start=1):
        ws.column_dimensions[get_column_letter(j)].width = width
    for j in range(1, 6):
        cell = ws.cell(row=1, column=j)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDE8F3")
    ws.freeze_panes = "A2"

    fields: list[tuple[str, str, str]] = []
    tables: list[tuple[str, pd.DataFrame]] = [("towns", data.towns), ("stations", data.stations)]
    if data.zones is not None:
        tables.append(("zones", data.zones))
    if data.bases is not None and not data.bases.note:
        tables += [("bases", data.bases.towns), ("bases_beyond", data.bases.beyond)]
    headers = {c: data.mode_label(c) for c in MODE_COLUMNS.get(data.mode, {})}
    for key, df in tables:
        name = sheet_name(key, lang)
        sheet = wb.create_sheet(name)
        for head, col in write_frame(sheet, df, lang, headers=headers):
            fields.append((name, head, col))
    wf = wb.create_sheet(sheet_name("fields", lang))
    wf.append([t("工作表", "Sheet"), t("表头", "Header"), t("CSV列名", "CSV column")])
    for row in fields:
        wf.append(list(row))
    for j, width in enumerate((14, 30, 30), start=1):
        wf.column_dimensions[get_column_letter(j)].width = width
        wf.cell(row=1, column=j).font = Font(bold=True)
    wf.freeze_panes = "A2"
    wb.properties.title = data.title
    wb.properties.creator = "yizhan"
    out = Path(path)
    keep_text(wb)  # uploaded names such as '=HYPERLINK(…)' stay text
    wb.save(out)
    return out
