"""The towns table as the 薄弱镇街 page shows it, and its downloads.

:func:`filter_sort` applies the page's district filter and sort (names and districts in
pinyin order, :func:`pinyin_key`, not by code point); :func:`screen_frame` is what the
page shows (shares in per cent, people as whole numbers, the P90 walk time as text with
"> 15 分钟" where the walk is longer than the budget); :func:`download_frame` holds the
same rows in the same order — the shown columns first, then the rest of ``towns.csv`` —
and :func:`towns_csv` / :func:`towns_xlsx` write it with headers in the UI language,
the Excel file through the report's own writer (:func:`geo.reports.xlsx.write_frame`:
the same number formats and column widths as the report's towns sheet).
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from typing import Final, Literal, get_args

import numpy as np
import pandas as pd
from pypinyin import Style, lazy_pinyin

from geo.io.sheetsafe import csv_bytes, keep_text
from geo.reports.xlsx import sheet_name, write_frame
from geo.vocab import DemandBasis, Lang, basis_label, is_people, label, pick

#: How the page can order the towns.
TownSort = Literal["rank", "covered_length_share", "uncovered_demand", "name"]
TOWN_SORTS: Final[tuple[TownSort, ...]] = get_args(TownSort)
_DESCENDING: Final = frozenset({"uncovered_demand"})
#: vocabulary key of each sort's label
SORT_LABEL_KEYS: Final[dict[TownSort, str]] = {
    "rank": "rank", "covered_length_share": "sort_covered_length_share",
    "uncovered_demand": "sort_uncovered_demand", "name": "sort_name",
}
SHARE_COLUMNS: Final = ("covered_population_share", "covered_length_share",
                        "covered_area_share")
PEOPLE_COLUMNS: Final = ("population",)


def pinyin_key(text: object) -> str:
    """A sort key putting Chinese names in pinyin order (tone 1–4, then neutral), other
    characters as themselves (lower case); missing values last."""
    if not isinstance(text, str) or not text.strip():
        return "\uffff"
    syllables = lazy_pinyin(text.strip(), style=Style.TONE3, neutral_tone_with_five=True)
    return " ".join(s.lower() for s in syllables)


def pinyin_sorted(values: Sequence[object]) -> list[str]:
    """The distinct non-empty texts of ``values`` in pinyin order."""
    texts = {str(v).strip() for v in values if isinstance(v, str) and v.strip()}
    return sorted(texts, key=lambda s: (pinyin_key(s), s))


def district_choices(towns: pd.DataFrame) -> list[str]:
    """The districts of ``towns`` for the filter, in pinyin order."""
    return pinyin_sorted(towns["district"].tolist()) if "district" in towns else []


def sort_label(key: TownSort, lang: Lang | str) -> str:
    return label(SORT_LABEL_KEYS[key], lang)


def filter_sort(towns: pd.DataFrame, *, districts: Sequence[str] = (),
                sort_by: TownSort = "rank") -> pd.DataFrame:
    """The towns in ``districts`` (all when empty), ordered by ``sort_by`` — rank,
    covered street share (low first), uncovered demand (high first) or name (pinyin);
    ties by rank."""
    out = towns.loc[towns["district"].isin(list(districts))] if districts else towns
    if sort_by not in TOWN_SORTS:
        sort_by = "rank"
    key = out["name"].map(pinyin_key) if sort_by == "name" else out[sort_by]
    order = pd.DataFrame({"k": key.to_numpy(), "r": out["rank"].to_numpy()})
    idx = order.sort_values(["k", "r"], ascending=[sort_by not in _DESCENDING, True],
                            kind="stable", na_position="last").index.to_numpy()
    return out.iloc[idx]


def _has_population(towns: pd.DataFrame) -> bool:
    return "population" in towns and bool(pd.to_numeric(towns["population"],
                                                         errors="coerce").notna().any())


def screen_columns(towns: pd.DataFrame, lang: Lang | str) -> list[str]:
    """The columns the page shows, in order: rank, name, district and the reason for
    the rank first (visible without scrolling), then the figures (population columns
    only when known)."""
    cols = ["rank", "name", "district", "reason_zh" if lang == "zh" else "reason_en"]
    if _has_population(towns):
        cols += ["population", "covered_population_share"]
    cols += ["covered_length_share", "covered_area_share", "uncovered_demand",
             "stations_used", "walk_time_p90_min"]
    return [c for c in cols if c in towns]


def headers(towns: pd.DataFrame, demand_basis: DemandBasis | str,
            lang: Lang | str) -> dict[str, str]:
    """Column → header in ``lang`` for every column of ``towns``."""
    out = {c: label(c, lang) for c in towns.columns}
    out["name"] = label("town", lang)
    out["uncovered_demand"] = label("uncovered_people" if is_people(demand_basis)
                                    else "uncovered_street_m", lang)
    out["reason_zh" if lang == "zh" else "reason_en"] = label("reason", lang)
    return out


def p90_text(towns: pd.DataFrame, *, walk_time_min: float, lang: Lang | str) -> list[str]:
    """The P90 walk time as the page shows it: ``14.3``, ``> 15 分钟`` (beyond the walk
    budget) or ``无街道`` (no streets)."""
    beyond = pick(f"> {walk_time_min:g} 分钟", f"> {walk_time_min:g} min", lang)
    none = pick("无街道", "no streets", lang)
    total = towns["total_length_m"].to_numpy(float) if "total_length_m" in towns \
        else np.ones(len(towns))
    return [f"{v:.1f}" if np.isfinite(v) else (beyond if t > 0 else none)
            for v, t in zip(towns["walk_time_p90_min"].to_numpy(float), total, strict=True)]


def screen_frame(towns: pd.DataFrame, *, walk_time_min: float,
                 lang: Lang | str) -> pd.DataFrame:
    """The shown columns (:func:`screen_columns`) as the page shows them: shares in per
    cent, people and uncovered demand as whole numbers, the P90 walk time as text."""
    out = towns[screen_columns(towns, lang)].copy()
    for c in SHARE_COLUMNS:
        if c in out:
            out[c] = (pd.to_numeric(out[c], errors="coerce") * 100.0).round(1)
    for c in (*PEOPLE_COLUMNS, "uncovered_demand"):
        if c in out:
            out[c] = pd.to_numeric(out[c], errors="coerce").round(0).astype("Int64")
    out["walk_time_p90_min"] = p90_text(towns, walk_time_min=walk_time_min, lang=lang)
    return out


def reason_width_px(reasons: pd.Series, lang: Lang | str, *, cap_px: int = 560) -> int:
    """A column width (px) that shows the longest reason on one line: CJK characters
    ~14 px, others ~6.6 px at the grid's 14 px font, plus padding; at most ``cap_px``."""
    longest = max((_text_px(str(r)) for r in reasons if isinstance(r, str)), default=0.0)
    return int(min(max(longest + 24, 120 if lang == "zh" else 160), cap_px))


def _text_px(text: str) -> float:
    return sum(14.0 if unicodedata.east_asian_width(ch) in "WF" else 6.6 for ch in text)


def download_frame(towns: pd.DataFrame, *, walk_time_min: float,
                   lang: Lang | str) -> pd.DataFrame:
    """The rows of ``towns`` in their order, the shown columns first, then the other
    ``towns.csv`` columns; numbers stay numbers (shares 0–1), the P90 note and the
    demand basis in ``lang``."""
    first = screen_columns(towns, lang)
    out = towns[first + [c for c in towns.columns if c not in first and c != "geometry"]].copy()
    if "walk_time_p90_note" in out:
        text = p90_text(towns, walk_time_min=walk_time_min, lang=lang)
        out["walk_time_p90_note"] = [t if not np.isfinite(v) else "" for t, v in
                                     zip(text, towns["walk_time_p90_min"].to_numpy(float),
                                         strict=True)]
    if "demand_basis" in out:
        out["demand_basis"] = [basis_label(b, lang) for b in out["demand_basis"]]
    return out.reset_index(drop=True)


def towns_csv(frame: pd.DataFrame, names: dict[str, str]) -> bytes:
    """``frame`` as CSV (UTF-8 with BOM, for Excel) under the headers ``names``; text
    that a spreadsheet would run as a formula is kept as text (:func:`csv_safe`)."""
    return csv_bytes(frame.rename(columns=names))


def towns_xlsx(frame: pd.DataFrame, names: dict[str, str], lang: Lang) -> bytes:
    """``frame`` as a one-sheet workbook formatted like the report's towns sheet."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = sheet_name("towns", lang)
    write_frame(ws, frame, lang, headers=names)
    keep_text(wb)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


__all__ = [
    "TOWN_SORTS",
    "TownSort",
    "district_choices",
    "download_frame",
    "filter_sort",
    "headers",
    "p90_text",
    "pinyin_key",
    "pinyin_sorted",
    "reason_width_px",
    "screen_columns",
    "screen_frame",
    "sort_label",
    "towns_csv",
    "towns_xlsx",
]
