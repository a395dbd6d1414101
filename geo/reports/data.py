"""What a coverage report shows, computed once: :class:`ReportData`.

:func:`report_data` gathers everything in the report language (Chinese by default,
English with ``lang="en"``): the cover (region, date, data versions, parameters), the
headline figures, the ranked towns, the per-station table with overlap review flags
(:mod:`geo.coverage.overlap`), and the rider zones. Tables keep the CSV column names of
``yizhan coverage``; the writers (:mod:`geo.reports.write`) render them.

Per-station population
    ``nearest_covered_population``: the covered population on the streets for which
    this station is the nearest (the demand model of :mod:`geo.coverage.towns`: a town's
    population spread over its streets by length), so the column sums to the covered
    population of the region. Only with a population demand basis.
"""

from __future__ import annotations

import datetime as _dt
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, NamedTuple

import numpy as np
import pandas as pd

from geo.coverage.overlap import (
    DEFAULT_NEAREST_SHARE,
    DEFAULT_OVERLAP_THRESHOLD,
    station_overlap,
)
from geo.coverage.segments import SLOPE_COLUMN, clip_segments, cost_pieces, covered_pieces
from geo.coverage.towns import edge_parts
from geo.errors import InvalidParameterError, YizhanError
from geo.network.modes import network_filter
from geo.params import CoverageParams
from geo.pipeline.job import CoverageJob, Summary, stations_output, summary_dict
from geo.reports.bases import ReportBases, report_bases
from geo.schema import STATION_TYPES
from geo.vocab import (
    LANGS,
    Lang,
    basis_label,
    is_people,
    label,
    mode_label,
    mode_name,
    mode_term,
    pick,
    reword_for_mode,
    status_label,
    type_label,
)

DEFAULT_TOWN_THRESHOLD: Final = 0.8
DEFAULT_WORST_TOWNS: Final = 3
MAX_WORST_TOWNS: Final = 20

#: ``t(zh, en)``: the text in the report language
Translate = Callable[[str, str], str]


class ReportError(YizhanError):
    """A report cannot be produced (e.g. no CJK font for the PDF)."""

    exit_code = 1


@dataclass(frozen=True)
class ReportOptions:
    """Report parameters (validated on construction).

    lang: ``"zh"`` (default) or ``"en"`` (any other text is refused; read it as a
        :data:`~geo.vocab.Lang` from :attr:`ReportData.lang` or :func:`as_lang`).
    town_threshold: towns whose covered share is below this are listed (default 0.8).
    worst_towns: how many of the most under-served towns get their own map (default 3).
    overlap_threshold, review_nearest_share: a station is flagged for review when at
        least ``overlap_threshold`` of its service area is covered by the other
        stations' areas (default 0.95) *and* it is the nearest station for less than
        ``review_nearest_share`` of the streets it reaches (default 0.05); see
        :mod:`geo.coverage.overlap`.
    """

    lang: Lang | str = "zh"
    town_threshold: float = DEFAULT_TOWN_THRESHOLD
    worst_towns: int = DEFAULT_WORST_TOWNS
    overlap_threshold: float = DEFAULT_OVERLAP_THRESHOLD
    review_nearest_share: float = DEFAULT_NEAREST_SHARE

    def __post_init__(self) -> None:
        object.__setattr__(self, "lang", as_lang(self.lang))
        for name in ("town_threshold", "overlap_threshold", "review_nearest_share"):
            object.__setattr__(self, name, _share(name, getattr(self, name)))
        try:
            n = int(self.worst_towns)
        except (TypeError, ValueError):
            raise InvalidParameterError(
                f"worst_towns must be a whole number, got {self.worst_towns!r}") from None
        if n != self.worst_towns or not (0 <= n <= MAX_WORST_TOWNS):
            raise InvalidParameterError(
                f"worst_towns={self.worst_towns!r} must be a whole number in "
                f"[0, {MAX_WORST_TOWNS}]")
        object.__setattr__(self, "worst_towns", n)


def as_lang(value: object) -> Lang:
    """``value`` as a report language, or an :class:`InvalidParameterError`."""
    for lang in LANGS:
        if value == lang:
            return lang
    raise InvalidParameterError(f"unknown report language {value!r}: use zh or en")


def _share(name: str, v: Any) -> float:
    """``v`` as a share in [0, 1], or an :class:`InvalidParameterError` naming ``name``."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"{name} must be a number, got {v!r}") from None
    if not (0.0 <= f <= 1.0):
        raise InvalidParameterError(f"{name}={v!r} is outside [0, 1]: give a share, e.g. 0.8")
    return f


def translator(lang: Lang | str) -> Translate:
    """``t(zh, en)`` for ``lang``."""
    return functools.partial(pick, lang=lang)


# ------------------------------------------------------------------------- report data


@dataclass(frozen=True)
class Figure:
    """One headline figure: label, value (number or text) and how to show it."""

    key: str
    label: str
    value: Any
    kind: str = "int"  # int | share | km | km2 | text
    note: str = ""


@dataclass(frozen=True, eq=False)
class ReportData:
    """Everything a report shows (read-only). Tables keep the CSV column names."""

    job: CoverageJob
    options: ReportOptions
    summary: Summary
    generated_at: _dt.datetime
    title: str
    cover: list[tuple[str, str]]  # region, date, …
    versions: list[tuple[str, str]]
    parameters: list[tuple[str, str]]
    headline: list[Figure]
    by_type: pd.DataFrame  # type, label, total, used
    towns: pd.DataFrame  # towns.csv rows (+ below_threshold), by rank
    town_share_column: str
    stations: pd.DataFrame  # stations.csv rows (+ report columns)
    zones: pd.DataFrame | None  # zones.csv rows
    walk_times: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    bases: ReportBases | None = None  # drive time to the convalescence bases

    @property
    def lang(self) -> Lang:
        return as_lang(self.options.lang)

    def t(self, zh: str, en: str) -> str:
        return pick(zh, en, self.lang)

    @property
    def mode(self) -> str:
        """The travel mode of the job (``walk``, ``ebike``)."""
        return self.job.params.mode

    def trip(self) -> str:
        """The time budget as a trip in the report language: 15分钟步行 / 15 min walk,
        15分钟骑行（电动自行车） / 15 min e-bike ride."""
        return trip_text(self.job.params, self.lang)

    def mode_label(self, key: str) -> str:
        """The header of ``key`` in the job's travel mode (:func:`geo.vocab.mode_label`)."""
        return mode_label(key, self.mode, self.lang)

    @property
    def worst(self) -> pd.DataFrame:
        """The ``worst_towns`` most under-served towns that have streets."""
        df = self.towns.loc[self.towns["total_length_m"] > 0]
        return df.sort_values("rank").head(self.options.worst_towns)

    @property
    def below(self) -> pd.DataFrame:
        return self.towns.loc[self.towns["below_threshold"]]

    def status_label(self, status: str) -> str:
        return status_label(status, self.lang)


def trip_text(params: CoverageParams, lang: Lang | str) -> str:
    """``params``' time budget as a trip: 15分钟步行 / 15 min walk (the mode's wording)."""
    m = f"{params.walk_time_min:g}"
    return pick(f"{m}分钟{mode_term(params.mode, 'trip', 'zh')}",
                f"{m} min {mode_term(params.mode, 'trip', 'en')}", lang)


def report_data(job: CoverageJob, options: ReportOptions | None = None) -> ReportData:
    """Compute everything a report shows, once.

    1. :func:`_station_table` — the ``stations.csv`` rows plus the report columns (reach,
       service area, overlap and review flag, nearest-covered population);
    2. :func:`_town_table` — the ``towns.csv`` rows by rank, with ``below_threshold``;
    3. :func:`_headline` — the headline figures;
    4. :func:`_front_matter` — title, cover, data versions, parameters and notes.

    The stations by type (:func:`stations_by_type`) and the walk-time distribution
    (:func:`walk_time_distribution`) complete it.
    """
    o = options or ReportOptions()
    summary = summary_dict(job)
    generated = _dt.datetime.now(_dt.UTC).replace(microsecond=0)
    stations = _station_table(job, o)
    towns, share_col = _town_table(job, o)
    zones = job.zones.copy() if job.zones is not None else None
    front = _front_matter(job, o, summary, generated)
    return ReportData(
        job=job, options=o, summary=summary, generated_at=generated, title=front.title,
        cover=front.cover, versions=front.versions, parameters=front.parameters,
        headline=_headline(job, o, summary, stations, towns, zones),
        by_type=stations_by_type(job, as_lang(o.lang)), towns=towns, town_share_column=share_col,
        stations=stations, zones=zones, walk_times=walk_time_distribution(job),
        notes=front.notes, bases=report_bases(job),
    )


def _station_table(job: CoverageJob, o: ReportOptions) -> pd.DataFrame:
    """The ``stations.csv`` rows + reach, service area, overlap, review flag, population."""
    table = stations_output(job)
    if job.params.mode != "walk":  # the engine words the off-network reason for walking
        table["status_reason"] = [None if r is None or r != r else
                                  reword_for_mode(str(r), job.params.mode)
                                  for r in table["status_reason"]]
    src = np.full(len(table), -1, dtype=np.int64)
    src[:len(job.coverage.stations)] = job.coverage.stations["source"].to_numpy(dtype=np.int64)
    used = src >= 0

    def by_source(values: np.ndarray | pd.Series, fill: Any) -> np.ndarray:
        v = np.asarray(values)
        out = np.full(len(table), fill, dtype=object if v.dtype == object else float)
        if len(v):
            out[used] = v[src[used]]
        return out

    per = job.areas.per_station
    if per is not None:
        nearest = np.zeros(len(per))  # per used station (= per row of per_station)
        nearest[src[used]] = table["nearest_covered_length_m"].to_numpy(float)[used]
        overlap = station_overlap(per, nearest_length_m=nearest,
                                  threshold=o.overlap_threshold,
                                  nearest_share=o.review_nearest_share)
        table["reach_length_m"] = by_source(per["reach_length_m"].to_numpy(float), np.nan)
        table["service_area_m2"] = by_source(per["area_m2"].to_numpy(float), np.nan)
        table["overlap_share"] = by_source(overlap["overlap_share"].to_numpy(float), np.nan)
        nb = by_source(overlap["overlap_neighbours"].to_numpy(float), np.nan)
        table["overlap_neighbours"] = pd.array(
            [None if not np.isfinite(x) else int(x) for x in nb], dtype="Int64")
        table["overlap_top_neighbour"] = by_source(
            overlap["overlap_top_neighbour"].to_numpy(object), None)
        table["nearest_share"] = by_source(overlap["nearest_share"].to_numpy(float), np.nan)
        flag = np.zeros(len(table), dtype=bool)
        flag[used] = overlap["review_flag"].to_numpy(bool)[src[used]]
        table["review_flag"] = flag
    pop = station_population(job)
    if pop is not None:
        table["nearest_covered_population"] = np.round(by_source(pop, np.nan).astype(float), 0)
    return table


def _town_table(job: CoverageJob, o: ReportOptions) -> tuple[pd.DataFrame, str]:
    """The ``towns.csv`` rows by rank with ``below_threshold``; the share column used."""
    towns = pd.DataFrame(job.towns.towns.drop(columns="geometry")).sort_values("rank")
    for col in ("reason_zh", "reason_en"):  # the engine words them for walking
        if col in towns and job.params.mode != "walk":
            towns[col] = [reword_for_mode(str(r), job.params.mode) for r in towns[col]]
    share_col = ("covered_population_share" if is_people(job.towns.demand_basis)
                 else "covered_length_share")
    share = pd.to_numeric(towns[share_col], errors="coerce")
    towns["below_threshold"] = (share < o.town_threshold).to_numpy(bool)
    return towns.reset_index(drop=True), share_col


def _headline(job: CoverageJob, o: ReportOptions, summary: Summary, stations: pd.DataFrame,
              towns: pd.DataFrame, zones: pd.DataFrame | None) -> list[Figure]:
    """Stations on the network, covered shares and area, towns below the threshold,
    zones without a station, stations flagged for review."""
    t = translator(o.lang)
    s_st = summary["stations"]
    minutes = f"{job.params.walk_time_min:g}"
    trip_zh, trip_en = trip_text(job.params, "zh"), trip_text(job.params, "en")
    head = [Figure("stations_used", t("接入路网的站点", "Stations on the network"), s_st["used"],
                   note=t(f"共输入{s_st['input']}个；未接入路网{s_st['off_network']}个；"
                          f"被拒绝{s_st['rejected']}个",
                          f"of {s_st['input']} input rows; {s_st['off_network']} off the "
                          f"network; {s_st['rejected']} rejected"))]
    if summary["covered_population_share"] is not None:
        head.append(Figure(
            "covered_population_share",
            t(f"{trip_zh}可达人口占比", f"Population within {trip_en}"),
            summary["covered_population_share"], "share",
            t("人口按街道长度分布到各镇街的街道上", "population spread over each town's streets")))
    covered_km, total_km = summary["covered_length_m"] / 1000, summary["total_length_m"] / 1000
    head.append(Figure(
        "covered_length_share",
        t(f"{trip_zh}覆盖街道占比", f"Street length within {trip_en}"),
        summary["covered_length_share"], "share",
        t(f"覆盖{covered_km:,.1f}公里，共{total_km:,.1f}公里",
          f"{covered_km:,.1f} km of {total_km:,.1f} km")))
    head.append(Figure("covered_area_km2", t("服务圈面积（合并）", "Service area (union)"),
                       summary["covered_area_m2"] / 1e6, "km2"))
    below = towns.loc[towns["below_threshold"]]
    unit_zh, unit_en = ("分析网格", "analysis cells") if job.towns.is_grid else ("镇街", "towns")
    head.append(Figure(
        "towns_below_threshold",
        t(f"覆盖率低于{o.town_threshold:.0%}的{unit_zh}",
          f"{unit_en.capitalize()} below {o.town_threshold:.0%} covered"),
        len(below), note=_count_note(t, len(towns), below["name"])))
    if zones is not None:
        missing = zones.loc[~zones["station_within_threshold"].astype(bool)]
        head.append(Figure(
            "zones_without_station",
            t(f"{minutes}分钟内无站点的骑手友好场景",
              f"Rider zones with no station within {minutes} min"),
            len(missing), note=_count_note(t, len(zones), missing["name"])))
    if job.areas.per_station is not None:
        head.append(Figure(
            "stations_flagged",
            t("几乎不增加覆盖、建议复核的站点", "Stations adding almost nothing (review)"),
            int(stations["review_flag"].sum()), note=review_rule(o)))
    return head


def review_rule(o: ReportOptions) -> str:
    """The review-flag rule in one sentence, in the report language."""
    own = 1.0 - o.overlap_threshold
    return pick(f"服务圈至少{o.overlap_threshold:.0%}已被其他站点覆盖（独有面积不足{own:.0%}），"
                f"且它是最近站点的街道不足其可达街道的{o.review_nearest_share:.0%}",
                f"at least {o.overlap_threshold:.0%} of its service area is covered by other "
                f"stations (under {own:.0%} its own) and it is the nearest station for under "
                f"{o.review_nearest_share:.0%} of the streets it reaches", o.lang)


def _count_note(t: Translate, total: int, names: pd.Series) -> str:
    """``of 6: A, B`` — the total and the first eight names."""
    note = t(f"共{total}个", f"of {total}")
    if len(names):
        note += t("：", ": ") + t("、", ", ").join(names.astype(str).head(8))
    return note


class _FrontMatter(NamedTuple):
    title: str
    cover: list[tuple[str, str]]
    versions: list[tuple[str, str]]
    parameters: list[tuple[str, str]]
    notes: list[str]


def _front_matter(job: CoverageJob, o: ReportOptions, summary: Summary,
                  generated: _dt.datetime) -> _FrontMatter:
    """Title, cover (region, date, software), data versions, parameters, ranking notes."""
    t = translator(o.lang)
    minutes = f"{job.params.walk_time_min:g}"
    mode = job.params.mode
    title = t(f"驿站圈 · 职工服务站点{minutes}分钟{mode_term(mode, 'adjective', 'zh')}覆盖报告",
              f"Yizhan · {minutes}-minute {mode_term(mode, 'adjective', 'en')} coverage of "
              "worker service stations")
    cover = [
        (t("区域", "Region"), job.region_name or "—"),
        (t("生成时间", "Generated"), generated.strftime("%Y-%m-%d %H:%M UTC")),
        (t("软件版本", "Software"), f"yizhan {summary['yizhan_version']}"),
    ]
    notes = [reword_for_mode(pick(job.towns.ranking_rule_zh, job.towns.ranking_rule_en,
                                  o.lang), mode)]
    town_note = reword_for_mode(pick(job.towns.note_zh, job.towns.note_en, o.lang), mode)
    if town_note:
        notes.append(town_note)
    return _FrontMatter(title, cover, _versions(job, t, summary), _parameters(job, o), notes)


def _fmt_sha(sha: str | None) -> str:
    return sha if sha else "—"


def _versions(job: CoverageJob, t: Translate, summary: Summary) -> list[tuple[str, str]]:
    """Input files and their sha256, the network size."""
    inputs = job.inputs or {}
    versions: list[tuple[str, str]] = []
    stn = inputs.get("stations")
    if stn:
        versions.append((t("站点名单文件", "Station list file"), Path(str(stn["path"])).name))
        versions.append((t("站点名单版本（sha256）", "Station list version (sha256)"),
                         _fmt_sha(stn.get("sha256"))))
    else:
        versions.append((t("站点名单", "Station list"),
                         t("区域内置名单", "the region's built-in list") if job.synthetic
                         else job.station_input.source or "—"))
    net_in = inputs.get("network") or {}
    versions.append((t("OSM路网来源文件", "OSM source file"),
                     str(net_in.get("path") or job.network.source or "—")))
    versions.append((t("OSM文件sha256", "OSM file sha256"), _fmt_sha(net_in.get("sha256"))))
    for role, (zh, en) in {"towns": ("镇街边界文件", "Town boundaries file"),
                           "zones": ("骑手友好场景文件", "Rider zones file"),
                           "bases": ("疗休养基地文件", "Convalescence bases file")}.items():
        ent = inputs.get(role)
        if ent:
            versions.append((t(zh, en), f"{Path(str(ent['path'])).name}  "
                                        f"sha256 {_fmt_sha(ent.get('sha256'))}"))
    net_s = summary["network"]
    versions.append((t("路网规模", "Network size"),
                     t(f"{net_s['nodes']:,}个节点，{net_s['edges']:,}条边，"
                       f"{net_s['total_length_m'] / 1000:,.1f}公里",
                       f"{net_s['nodes']:,} nodes, {net_s['edges']:,} edges, "
                       f"{net_s['total_length_m'] / 1000:,.1f} km")))
    return versions


def mode_rows(params: CoverageParams, lang: Lang | str) -> list[tuple[str, str]]:
    """The travel mode, its network filter and speed model, and the time, speed and
    distance budget (in the mode's words), as (label, value) rows; by car the speed
    model is per edge and the budget a time (:func:`drive_rows`)."""
    t = translator(lang)
    mode = params.mode
    minutes = f"{params.walk_time_min:g}"
    nf = network_filter(mode)
    head = [
        (mode_label("travel_mode", mode, lang), mode_name(mode, lang)),
        (mode_label("network_filter", mode, lang), f"{nf['filter']} ({nf['defined_in']})"),
    ]
    if mode == "drive":
        return head + drive_rows(params, lang)
    return head + [
        (mode_label("speed_model", mode, lang),
         f"{mode_label('speed_constant', mode, lang)}{t('：', ': ')}"
         f"{params.walk_speed_kmh:g} km/h"),
        (mode_term(mode, "time", lang), t(f"{minutes}分钟", f"{minutes} min")),
        (mode_term(mode, "speed", lang), f"{params.walk_speed_kmh:g} km/h"),
        (mode_term(mode, "budget", lang), f"{params.budget_m:,.0f} m"),
    ]


def drive_rows(params: CoverageParams, lang: Lang | str) -> list[tuple[str, str]]:
    """By car: the per-edge speed model, the drive time, the one-way rule and the time
    budget in seconds, as (label, value) rows (after the mode and filter rows)."""
    t = translator(lang)
    minutes = f"{params.walk_time_min:g}"
    return [
        (mode_label("speed_model", "drive", lang), mode_label("speed_per_edge", "drive", lang)),
        (mode_term("drive", "time", lang), t(f"{minutes}分钟", f"{minutes} min")),
        (mode_label("drive_direction", "drive", lang),
         mode_label("drive_direction_value", "drive", lang)),
        (mode_term("drive", "budget", lang),
         t(f"{params.budget_s:,.0f}秒", f"{params.budget_s:,.0f} s")),
    ]


def _parameters(job: CoverageJob, o: ReportOptions) -> list[tuple[str, str]]:
    """The travel mode and its budget, buffer and snap parameters, demand basis,
    thresholds and CRS."""
    t = translator(o.lang)
    params = job.params
    basis = basis_label(job.towns.demand_basis, o.lang)
    return [
        *mode_rows(params, o.lang),
        (t("街道缓冲半宽（服务圈）", "Street buffer (service areas)"), f"{params.buffer_m:g} m"),
        (t("最大吸附距离", "Max snap distance"), f"{params.max_snap_m:g} m"),
        (label("demand_basis", o.lang), basis),
        (t("镇街覆盖率阈值", "Town threshold"), f"{o.town_threshold:.0%}"),
        (t("站点复核规则", "Station review rule"), review_rule(o)),
        (t("坐标系（分析 / 输出）", "CRS (analysis / outputs)"),
         f"{job.network.crs.to_string()} / EPSG:4326"),
    ]


# ------------------------------------------------------------------------- computation


def stations_by_type(job: CoverageJob, lang: Lang) -> pd.DataFrame:
    """Stations per type: ``type``, ``label`` (in ``lang``), ``total``, ``used``."""
    st = job.coverage.stations
    types = st["type"].to_numpy()
    status = st["status"].to_numpy()
    return pd.DataFrame({
        "type": list(STATION_TYPES),
        "label": [type_label(k, lang) for k in STATION_TYPES],
        "total": [int((types == k).sum()) for k in STATION_TYPES],
        "used": [int(((types == k) & (status == "used")).sum()) for k in STATION_TYPES],
    })


def station_population(job: CoverageJob) -> np.ndarray | None:
    """Covered population on the streets each used station is nearest to (by source).

    ``None`` unless the demand is people. With town populations each town's people are
    spread over its streets; with a population raster each town's *covered* people
    (measured) are spread over its covered streets. Either way the stations' figures
    sum to the towns' covered population (with a raster, less the covered people of a
    town none of whose streets is covered: they are near no station's street).
    """
    if not is_people(job.towns.demand_basis):
        return None
    cov = job.coverage
    towns = job.towns.towns
    n_src = cov.n_sources
    if len(towns) == 0 or n_src == 0:
        return np.zeros(n_src)
    raster = job.towns.demand_basis == "population_raster"
    pop = pd.to_numeric(towns["covered_population" if raster else "population"],
                        errors="coerce").to_numpy(dtype=float)
    total = towns["covered_length_m" if raster else "total_length_m"].to_numpy(dtype=float)
    density = np.divide(np.nan_to_num(pop), total, out=np.zeros(len(towns)), where=total > 0)
    parts = edge_parts(cov.network, towns.geometry.to_numpy())
    clipped = clip_segments(cov.segments, parts)
    if len(clipped) == 0:
        return np.zeros(n_src)
    # covered_pieces passes ``edge`` through as a label: use the clipped row instead,
    # to know each piece's town
    seg = {c: clipped[c].to_numpy() for c in ("x0", "x1", "d0", "d1", "s0", "s1")}
    if SLOPE_COLUMN in clipped:  # a cost table (drive: seconds per metre)
        seg[SLOPE_COLUMN] = clipped[SLOPE_COLUMN].to_numpy()
    seg["edge"] = np.arange(len(clipped))
    pieces = covered_pieces(seg, cov.cost_budget)
    part = clipped["part"].to_numpy()[pieces["edge"].to_numpy()]
    w = (pieces["x1"] - pieces["x0"]).to_numpy() * density[part]
    return np.bincount(pieces["source"].to_numpy(dtype=np.int64), weights=w, minlength=n_src)


def walk_time_distribution(job: CoverageJob, *, step_min: float | None = None) -> pd.DataFrame:
    """Street length (m) by travel time to the nearest station (walk, ride or drive),
    in bins of ``step_min``.

    Exact over street length (the cost along a segment is piecewise linear: metres on
    foot / e-bike, seconds by car with slope ``k`` per metre). The last row
    (``upper_min`` = inf) is the street length beyond the time budget: the search stops
    at the budget, so it is not broken down further.
    """
    p = job.params
    if step_min is None:
        step_min = 1.0 if p.walk_time_min <= 20 else float(np.ceil(p.walk_time_min / 15.0))
    edges_min = np.arange(0.0, p.walk_time_min + 1e-9, step_min)
    if edges_min[-1] < p.walk_time_min - 1e-9:
        edges_min = np.append(edges_min, p.walk_time_min)
    budget = p.budget_cost
    per_min = budget / p.walk_time_min  # cost units (m or s) per minute
    lo, span, slope = cost_pieces(job.coverage.segment_arrays)
    total = float(job.network.total_length_m)
    fin = np.isfinite(lo) & (span > 0)
    a = lo[fin]
    k = np.ones(a.size) if slope is None else slope[fin]
    b = np.minimum(a + k * span[fin], budget)
    ok = b > a
    a, b, k = a[ok], b[ok], k[ok]
    # metres of street with a cost below t: (cost reached - a) / k along each piece
    cdf = np.array([float((np.clip(t - a, 0.0, b - a) / k).sum())
                    for t in edges_min * per_min])
    within = np.diff(cdf)
    beyond = max(total - float(cdf[-1]), 0.0)
    return pd.DataFrame({
        "lower_min": np.append(edges_min[:-1], p.walk_time_min),
        "upper_min": np.append(edges_min[1:], np.inf),
        "length_m": np.append(within, beyond),
    })
