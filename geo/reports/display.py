"""The report as people read it, shared by the PDF and HTML writers (and the Excel
summary's figures): formatted values, the display tables (a selection of the columns,
in the report language, with the rows to emphasise), and the report's prose — the
disclaimer, the section sentences and the method notes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from geo.pipeline.job import bases_note
from geo.reports.bases import ReportBases
from geo.reports.data import Figure, ReportData, review_rule
from geo.vocab import (
    MODE_TEXT,
    Lang,
    is_people,
    label,
    mode_term,
    pick,
    reword_for_mode,
    type_label,
)

# ----------------------------------------------------------------------------- values


def fmt_figure(f: Figure, lang: Lang) -> str:
    """A headline figure's value as text (``—`` for missing)."""
    v = f.value
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "—"
    if f.kind == "share":
        return f"{float(v):.1%}"
    if f.kind == "km2":
        return f"{float(v):,.2f} km²"
    if f.kind == "km":
        return f"{float(v):,.1f} km"
    if f.kind == "int":
        return f"{int(v):,}"
    return str(v)


def fmt_cell(value: Any, kind: str, lang: Lang) -> str:
    """A cell as text (``—`` for missing)."""
    if value is None or value is pd.NA:
        return "—" if kind != "text" else ""
    if kind == "text":
        if isinstance(value, float) and not np.isfinite(value):
            return ""
        return str(value)
    if kind == "flag":
        return pick("复核", "review", lang) if bool(value) else ""
    if kind == "bool":
        return pick("是", "yes", lang) if bool(value) else pick("否", "no", lang)
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not np.isfinite(v):
        return "—"
    if kind == "share":
        return f"{v:.1%}"
    if kind in ("int", "m"):
        return f"{v:,.0f}"
    if kind == "min":
        return f"{v:.1f}"
    return f"{v:,.2f}"


# ----------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class DisplayColumn:
    """A column: CSV name, header, how to format it, relative width (PDF) and an
    abbreviation (``short``) the PDF uses, with a legend, when the header would wrap to
    three lines or more."""

    key: str
    label: str
    kind: str = "text"  # text | int | m | share | min | bool | flag
    width: float = 1.0  # relative width (PDF)
    short: str = ""

    @property
    def numeric(self) -> bool:
        """Right-aligned (everything but text, flags and yes/no)."""
        return self.kind not in ("text", "flag", "bool")


@dataclass(frozen=True, eq=False)
class DisplayTable:
    """A table as the PDF and HTML reports show it (a selection of the columns)."""

    key: str
    title: str
    columns: list[DisplayColumn]
    frame: pd.DataFrame
    highlight: np.ndarray  # rows to emphasise (below threshold, flagged…)
    note: str = ""
    total_rows: int = 0  # rows before ``max_rows``

    def cells(self, lang: Lang) -> list[list[str]]:
        """The rows as text (:func:`fmt_cell`)."""
        return [[fmt_cell(r.get(c.key), c.kind, lang) for c in self.columns]
                for _, r in self.frame.iterrows()]


def _limit(df: pd.DataFrame, priority: np.ndarray, max_rows: int | None) -> pd.DataFrame:
    """At most ``max_rows`` rows, priority rows first kept, original order otherwise."""
    if max_rows is None or len(df) <= max_rows:
        return df
    order = np.argsort(~priority, kind="stable")[:max_rows]
    return df.iloc[np.sort(order)]


def display_tables(data: ReportData, *, max_rows: int | None = None) -> dict[str, DisplayTable]:
    """The towns, zones (when given) and stations tables of the PDF / HTML reports."""
    out = {"towns": _towns_table(data, max_rows)}
    if data.zones is not None:
        out["zones"] = _zones_table(data, data.zones)
    out["stations"] = _stations_table(data, max_rows)
    if data.bases is not None:
        out["bases"] = _bases_table(data, data.bases)
        if not data.bases.note:
            out["bases_beyond"] = _bases_beyond_table(data, data.bases)
    return out


def _bases_beyond_table(data: ReportData, b: ReportBases) -> DisplayTable:
    """Towns and people beyond each drive-time limit (as the Excel 基地超出限值 sheet)."""
    lang = data.lang
    cols = [DisplayColumn("limit_min", label("limit_min", lang), "int", 1.2),
            DisplayColumn("towns_beyond", label("towns_beyond", lang), "int", 1.0),
            DisplayColumn("towns_total", label("towns_total", lang), "int", 0.8),
            DisplayColumn("population_beyond", label("population_beyond", lang), "int", 1.0),
            DisplayColumn("population_total", label("population_total", lang), "int", 1.0)]
    frame = b.beyond.reindex(columns=[c.key for c in cols])
    beyond = pd.to_numeric(frame["towns_beyond"], errors="coerce").fillna(0).to_numpy() > 0
    return DisplayTable(
        "bases_beyond", data.t("超出驾车时间限值的镇街与人口", "Towns and people beyond each "
                                                        "drive-time limit"),
        cols, frame, beyond,
        note=data.t("标色行：有镇街超出该限值。", "Shaded rows: some towns are beyond the limit."),
        total_rows=len(frame))


def _bases_table(data: ReportData, b: ReportBases) -> DisplayTable:
    """Each town's drive time to its nearest base (unreachable and longest first)."""
    lang, t = data.lang, data.t
    cols = [DisplayColumn("name", label("name", lang), "text", 1.5),
            DisplayColumn("nearest_base_name", label("nearest_base_name", lang), "text", 1.8),
            DisplayColumn("drive_time_min", label("drive_time_min", lang), "min", 0.9),
            DisplayColumn("drive_distance_m", label("drive_distance_m", lang), "m", 0.9),
            DisplayColumn("population", label("population", lang), "int", 0.9)]
    beyond = "；".join(
        t(f"{r.limit_min:g}分钟以外：{r.towns_beyond}个镇街",
          f"beyond {r.limit_min:g} min: {r.towns_beyond} towns")
        + ("" if r.population_beyond is None or r.population_beyond != r.population_beyond
           else t(f"，{r.population_beyond:,.0f}人", f", {r.population_beyond:,.0f} people"))
        for r in b.beyond.itertuples())
    far = ~(b.towns["drive_time_min"].to_numpy(dtype=float) <= b.limits_min[0])
    note = b.note or t(f"驾车（单行道、限速或道路等级默认车速）到最近基地。{beyond}。标色行：超过"
                       f"{b.limits_min[0]:g}分钟或不可达。",
                       f"By car (one-way streets, maxspeed or class-default speeds) to the "
                       f"nearest base. {beyond}. Shaded rows: beyond {b.limits_min[0]:g} min "
                       "or unreachable.")
    return DisplayTable("bases", label("bases", lang), cols, b.towns, far, note=note,
                        total_rows=len(b.towns))


def _towns_table(data: ReportData, max_rows: int | None) -> DisplayTable:
    lang = data.lang
    t = data.t
    towns = data.towns
    pop_basis = is_people(data.job.towns.demand_basis)
    cols = [DisplayColumn("rank", t("排名", "Rank"), "int", 0.55),
            DisplayColumn("name", label("name", lang), "text", 1.5)]
    if towns["district"].notna().any():
        cols.append(DisplayColumn("district", label("district", lang), "text", 1.0))
    if pop_basis:
        cols += [DisplayColumn("population", label("population", lang), "int", 1.0),
                 DisplayColumn("covered_population_share",
                               label("covered_population_share", lang), "share", 0.9,
                               t("人口覆盖", "Pop. %"))]
    cols += [DisplayColumn("covered_length_share", label("covered_length_share", lang),
                           "share", 0.9, t("街道覆盖", "Street %")),
             DisplayColumn("uncovered_demand",
                           t("未覆盖人口", "Uncovered people") if pop_basis
                           else t("未覆盖街道（米）", "Uncovered streets (m)"), "int", 1.0,
                           t("未覆盖", "Uncov.")),
             DisplayColumn("stations_used", t("区内站点", "Stations"), "int", 0.85),
             DisplayColumn("walk_time_p90_min", data.mode_label("walk_time_p90_min"),
                           "min", 0.8, t("P90分钟", "P90 min")),
             DisplayColumn("reason_zh" if lang == "zh" else "reason_en",
                           t("排名原因", "Why this rank"), "text", 2.6)]
    frame = towns.copy()
    p90_note = frame["walk_time_p90_note"].astype(str)
    frame["walk_time_p90_min"] = frame["walk_time_p90_min"].astype(object).where(
        frame["walk_time_p90_min"].notna(), p90_note.where(p90_note != "", None))
    below = frame["below_threshold"].to_numpy(bool)
    lim = _limit(frame, below | (frame["rank"].to_numpy() <= 10), max_rows)
    return DisplayTable(
        "towns", t(f"{_unit_zh(data)}薄弱排名", "Under-served analysis cells, ranked"
                   if data.job.towns.is_grid else "Under-served towns, ranked"),
        cols, lim, lim["below_threshold"].to_numpy(bool),
        note=t(f"标色行：覆盖率低于{data.options.town_threshold:.0%}。",
               f"Shaded rows: covered share below {data.options.town_threshold:.0%}."),
        total_rows=len(frame))


#: the zones table's abbreviated time header, by travel mode
_TIME_SHORT: Final[dict[str, tuple[str, str]]] = {"walk": ("步行分钟", "Walk min"),
                                                  "ebike": ("骑行分钟", "Ride min"),
                                                  "drive": ("车程分钟", "Drive min")}


def _zones_table(data: ReportData, z: pd.DataFrame) -> DisplayTable:
    lang = data.lang
    t = data.t
    cols = [DisplayColumn("zone_id", label("zone_id", lang), "text", 0.9),
            DisplayColumn("name", label("name", lang), "text", 1.8),
            DisplayColumn("street_length_m", label("street_length_m", lang), "m", 0.9,
                          t("街道米", "Streets m")),
            DisplayColumn("covered_length_share", label("covered_length_share", lang),
                          "share", 0.9, t("街道覆盖", "Street %")),
            DisplayColumn("nearest_station_name", label("nearest_station_name", lang),
                          "text", 1.8),
            DisplayColumn("nearest_walk_time_min", data.mode_label("nearest_walk_time_min"),
                          "min", 1.0, t(*_TIME_SHORT.get(data.mode, _TIME_SHORT["walk"]))),
            DisplayColumn("station_within_threshold",
                          data.mode_label("station_within_threshold"), "bool", 0.9,
                          t("范围内有站", "In reach"))]
    miss = ~z["station_within_threshold"].astype(bool).to_numpy()
    return DisplayTable(
        "zones", label("zones", lang), cols, z, miss,
        note=data.t(f"标色行：{data.trip()}范围内没有站点。",
                    f"Shaded rows: no station within a {data.trip()}."),
        total_rows=len(z))


def _stations_table(data: ReportData, max_rows: int | None) -> DisplayTable:
    lang = data.lang
    t = data.t
    s = data.stations.copy()
    s["type"] = [type_label(str(x), lang) if isinstance(x, str) else "" for x in s["type"]]
    s["status"] = [data.status_label(str(x)) for x in s["status"]]
    cols = [DisplayColumn("station_id", label("station_id", lang), "text", 1.0),
            DisplayColumn("name", label("name", lang), "text", 1.8),
            DisplayColumn("type", label("type", lang), "text", 1.1),
            DisplayColumn("status", label("status", lang), "text", 0.9),
            DisplayColumn("snap_dist_m", t("吸附距离（米）", "Snap (m)"), "m", 0.7,
                          t("吸附米", "Snap m")),
            DisplayColumn("nearest_covered_length_m", label("nearest_covered_length_m", lang),
                          "m", 0.9, t("最近街道米", "Nearest m"))]
    if "reach_length_m" in s:
        cols.append(DisplayColumn("reach_length_m", label("reach_length_m", lang), "m", 0.9,
                                  t("可达街道米", "Reach m")))
    if "nearest_covered_population" in s:
        cols.append(DisplayColumn("nearest_covered_population",
                                  label("nearest_covered_population", lang), "int", 0.9,
                                  t("最近人口", "Nearest pop.")))
    flagged = np.zeros(len(s), dtype=bool)
    if "overlap_share" in s:
        cols += [DisplayColumn("overlap_share", t("被其他站点覆盖", "Overlapped by others"),
                               "share", 0.8, t("被覆盖", "Overlap")),
                 DisplayColumn("nearest_share", label("nearest_share", lang), "share", 0.8,
                               t("最近占比", "Nearest %")),
                 DisplayColumn("overlap_top_neighbour", label("overlap_top_neighbour", lang),
                               "text", 1.0, t("重叠最多", "Top overlap")),
                 DisplayColumn("review_flag", label("review_flag", lang), "flag", 0.85)]
        flagged = s["review_flag"].to_numpy(bool)
    not_used = data.stations["status"].to_numpy() != "used"
    lim = _limit(s, flagged | not_used, max_rows)
    return DisplayTable(
        "stations", t("站点明细", "Stations"), cols, lim, flagged[lim.index.to_numpy()],
        note=t(f"标色行：建议复核——{review_rule(data.options)}"
               "（不一定要撤并：它可能服务不同的职工群体；可与“重叠最多的站点”一并复核）。",
               f"Shaded rows: review — {review_rule(data.options)} (not necessarily "
               "remove it: it may serve a different group of workers; review it together "
               "with its most overlapping station)."),
        total_rows=len(s))


# ------------------------------------------------------------------------------ prose


def disclaimer(data: ReportData) -> str:
    """The synthetic-data disclaimer (empty for real data)."""
    job = data.job
    if not job.synthetic:
        return ""
    text = job.disclaimer or ""
    if data.lang == "zh":
        zh = text.split(" All data")[0].strip() if " All data" in text else text
        return zh or "示范区（合成数据）：全部数据均为虚构。"
    en = text[text.find("All data"):] if "All data" in text else text
    return en or "Synthetic demo region: all data are fictional."


def disclaimer_title(data: ReportData) -> str:
    return data.t("示范区（合成数据）", "Synthetic demo data")


def _unit_zh(data: ReportData) -> str:
    return "分析网格" if data.job.towns.is_grid else "镇街"


def town_unit(data: ReportData) -> str:
    """``镇街`` / ``towns``, or ``分析网格`` / ``analysis cells`` without a town file."""
    return data.t(_unit_zh(data), "analysis cells" if data.job.towns.is_grid else "towns")


def below_text(data: ReportData) -> str:
    """How many towns are below the town threshold."""
    unit = town_unit(data)
    thr = data.options.town_threshold
    n, total = len(data.below), len(data.towns)
    return data.t(f"覆盖率低于{thr:.0%}的{unit}：{n}个（共{total}个）。",
                  f"{unit.capitalize()} below {thr:.0%} covered: {n} of {total}.")


def worst_title(data: ReportData, n: int) -> str:
    """The heading over the maps of the ``n`` most under-served towns."""
    unit = town_unit(data)
    return data.t(f"最薄弱的{n}个{unit}", f"The {n} most under-served {unit}")


def worst_caption(data: ReportData, town: pd.Series) -> str:
    """The caption of an under-served town's map: rank, name, why."""
    rank = int(town["rank"])
    return data.t(f"第{rank}名 {town['name']}：{town['reason_zh']}",
                  f"Rank {rank} {town['name']}: {town['reason_en']}")


def bases_text(data: ReportData) -> str:
    """The convalescence-base section's lead: how the bases are reached, how many, the
    longest drive to a nearest base and the unreachable towns (or why there are no
    drive times)."""
    b = data.bases
    if b is None:
        return ""
    if b.note:
        return data.t("无法计算驾车时间：", "No drive times: ") + b.note
    n_bases = 0 if data.job.bases is None else len(data.job.bases)
    unit = town_unit(data)
    times = pd.to_numeric(b.towns["drive_time_min"], errors="coerce")
    lost = int(times.isna().sum())
    lead = data.t(f"职工疗休养基地以驾车或大巴到达，不计入{data.trip()}覆盖。共{n_bases}个基地、"
                  f"{len(b.towns)}个{unit}",
                  f"Convalescence bases are reached by car or coach, not within the "
                  f"{data.trip()} coverage: {n_bases} bases, {len(b.towns)} {unit}")
    if times.notna().any():
        far = b.towns.loc[times.idxmax()]
        lead += data.t(f"；到最近基地驾车最长{float(times.max()):.0f}分钟（{far['name']}）",
                       f"; the longest drive to a nearest base is {float(times.max()):.0f} "
                       f"min ({far['name']})")
    if lost:
        lead += data.t(f"；{lost}个{unit}驾车不可达", f"; {lost} {unit} unreachable by car")
    return lead + data.t("。", ".")


def flagged_text(data: ReportData) -> str:
    """How many stations are flagged for review."""
    s = data.stations
    if "review_flag" not in s:
        return data.t("建议复核的站点：0个。", "Stations flagged for review: 0.")
    flagged = s.loc[s["review_flag"].to_numpy(bool)]
    used = int((s["status"] == "used").sum())
    ids = data.t("、", ", ").join(flagged["station_id"].astype(str).head(12))
    more = "…" if len(flagged) > 12 else ""
    return data.t(f"建议复核的站点：{len(flagged)}个（接入路网{used}个）" + (f"：{ids}{more}。"
                                                                  if ids else "。"),
                  f"Stations flagged for review: {len(flagged)} of {used} on the network"
                  + (f": {ids}{more}." if ids else "."))


def walk_time_caption(data: ReportData) -> str:
    time_zh, time_en = mode_term(data.mode, "time", "zh"), mode_term(data.mode, "time", "en")
    return data.t(f"按街道长度加权：每段街道到最近站点的{time_zh}。",
                  f"Weighted by street length: {time_en.lower()} from each street point to "
                  "the nearest station.")


def method_notes(data: ReportData) -> list[str]:
    """How the figures were computed (paragraphs, in the report language)."""
    p = data.job.params
    t = data.t
    mode = data.mode
    thr = data.options.overlap_threshold
    own, near = 1.0 - thr, data.options.review_nearest_share

    def term(key: str) -> tuple[str, str]:
        return mode_term(mode, key, "zh"), mode_term(mode, key, "en")

    tz, _ = term("trip")
    notes = [
        _search_note(data),
        t(f"服务圈：可达街道段两侧各缓冲{p.buffer_m:g}米后合并（不用凸包），无街道进入的大街区保留为空洞。",
          f"Service areas: the reached street stretches buffered by {p.buffer_m:g} m and "
          "unioned (no hulls); large blocks no street reaches into stay holes."),
        reword_for_mode(t(data.job.towns.ranking_rule_zh, data.job.towns.ranking_rule_en),
                        mode),
        t("需求口径：各镇街都有人口时按人口（人口按街道长度分布到该镇街的街道上），否则按街道长度。",
          "Demand basis: population when every town has one (spread over the town's streets "
          "by length), otherwise street length."),
        t("站点重叠：每个站点自身服务圈被其他站点服务圈合并范围覆盖的面积比例（用STRtree筛选相交站点），"
          "以及与它重叠面积最大的站点。建议复核的站点须同时满足两条：服务圈至少"
          f"{thr:.0%}已被其他站点覆盖（独有面积不足{own:.0%}），且它是最近站点的街道不足其可达街道的"
          f"{near:.0%}——即撤掉它几乎不减少覆盖，其可达范围内几乎处处有更近的站点。站点密集时，"
          "几乎每个服务圈都被邻站的合并范围覆盖，单看重叠比例会标记几乎所有站点，故加第二条。",
          "Station overlap: the share of a station's own service area covered by the union of "
          "the other stations' areas (candidates found with an STRtree), and the station "
          "sharing the most area with it. A station is flagged for review when both hold: at "
          f"least {thr:.0%} of its service area is covered by other stations (under {own:.0%} "
          f"its own), and it is the nearest station for under {near:.0%} of the streets it "
          "reaches — removing it would barely reduce coverage and almost everywhere it "
          "reaches another station is closer. Where stations are dense almost every area is "
          "covered by the neighbours' union, so the overlap share alone would flag nearly "
          "every station; hence the second condition."),
        t(f"最近覆盖人口：以该站点为最近站点、且在{tz}范围内的街道上的人口，各站点之和等于覆盖人口。",
          "Nearest-covered population: the population on the reached streets for which the "
          "station is the nearest; it sums to the covered population."),
        t(*bases_note(mode)),
        t("坐标：分析在米制投影坐标系（UTM）中进行；GeoPackage与GeoJSON输出为WGS-84（EPSG:4326）。",
          "Coordinates: the analysis runs in a metric projected CRS (UTM); the GeoPackage and "
          "GeoJSON outputs are WGS-84 (EPSG:4326)."),
    ]
    network_note = MODE_TEXT.get(f"{mode}_network")
    if network_note:
        notes.insert(1, t(*network_note))
    town_note = reword_for_mode(t(data.job.towns.note_zh, data.job.towns.note_en), mode)
    if town_note:
        notes.insert(4 if network_note else 3, town_note)
    return notes


def _search_note(data: ReportData) -> str:
    """The method's first paragraph: snapping, the shortest-path search and the budget
    (by car: the directed search to the stations, per-edge speeds, the budget a time)."""
    p, t, mode = data.job.params, data.t, data.mode

    def term(key: str) -> tuple[str, str]:
        return mode_term(mode, key, "zh"), mode_term(mode, key, "en")

    (pz, pe), (nz, ne), (dz, de) = term("passable"), term("network"), term("distance")
    tz, te = term("trip")
    if mode == "drive":
        return t(
            f"站点吸附到最近的{pz}街道上（超过{p.max_snap_m:g}米视为未接入路网）。在有向{nz}上"
            "做一次多源最短路（沿反向路网从站点出发），得到每个街道点驶往最近站点的车程；"
            "单行道只按允许方向通行，每条路段按其 maxspeed 标签或中国道路等级默认车速计时"
            f"（自由流）。{tz}{p.walk_time_min:g}分钟，即{p.budget_s:,.0f}秒。部分可达的街道按"
            "可达部分计。",
            f"Stations are snapped to the nearest {pe} street (farther than "
            f"{p.max_snap_m:g} m: off the network). One multi-source shortest-path search on "
            f"the directed {ne} (from the stations over the reversed streets) gives every "
            "street point its drive time TO the nearest station; one-way streets are "
            "travelled only in their allowed direction and each street is timed at its "
            "maxspeed, else the China class default (free flow). The budget is a "
            f"{p.walk_time_min:g} min {te} ({p.budget_s:,.0f} s). Partly reached streets "
            "count for the reached part.")
    return t(
        f"站点吸附到最近的{pz}街道上（超过{p.max_snap_m:g}米视为未接入路网）。在无向{nz}上做一次"
        f"多源最短路，得到每个街道点到最近站点的{dz}；{tz}{p.walk_time_min:g}分钟、"
        f"速度{p.walk_speed_kmh:g}公里/小时，即{p.budget_m:,.0f}米。部分可达的街道按可达部分计。",
        f"Stations are snapped to the nearest {pe} street (farther than "
        f"{p.max_snap_m:g} m: off the network). One multi-source shortest-path search on "
        f"the undirected {ne} gives every street point its {de} to the "
        f"nearest station; a {p.walk_time_min:g} min {te} at {p.walk_speed_kmh:g} km/h is "
        f"{p.budget_m:,.0f} m. Partly reached streets count for the reached part.")
