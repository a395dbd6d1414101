"""Coverage reports reviewers can hand in: Excel, PDF (maps, charts), GeoPackage, HTML.

:func:`report_data` gathers everything a report shows once, in the report language
(Chinese by default, English with ``lang="en"``): the cover (region, date, data
versions, parameters, synthetic-data disclaimer), the headline figures, the ranked
towns, the per-station table with overlap review flags, and the rider zones. The
writers render it:

* :mod:`geo.reports.xlsx` — one sheet per table, typed cells, frozen header row;
* :mod:`geo.reports.pdf` — reportlab, an embedded subset of Noto Sans CJK, maps and
  charts as images (:mod:`geo.reports.figures`, matplotlib), paginated tables, page
  numbers;
* :mod:`geo.reports.gpkg` — layers ``stations``, ``service_areas``, ``coverage``,
  ``towns``, ``zones`` (and ``bases``), all in EPSG:4326;
* :mod:`geo.reports.html` — one standalone page: the tables, the figures and, when the
  caller passes it, the interactive folium map (``map_html``; see that module for why
  the map is passed in rather than built here).

:func:`write_report` writes one format to a file (atomically); :func:`report_bytes`
returns the bytes (for the app's download buttons).

Overlap review flag
    For every used station, the share of its own service-area polygon covered by the
    union of the *other* stations' polygons (candidates from an ``STRtree`` over the
    per-station polygons). A station at or above ``overlap_threshold`` (default 0.95)
    adds almost no area of its own and is flagged for review — not for removal: it
    may still serve a different group of workers.

Per-station population
    ``nearest_covered_population``: the covered population on the streets for which
    this station is the nearest (the demand model of :mod:`geo.coverage.towns`: a town's
    population spread over its streets by length), so the column sums to the covered
    population of the region. Only with a population demand basis.
"""

from __future__ import annotations

import datetime as _dt
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.coverage.segments import clip_segments, covered_pieces, distance_pieces
from geo.coverage.towns import edge_parts
from geo.errors import InvalidParameterError, YizhanError
from geo.pipeline.job import CoverageJob, stations_output, summary_dict
from geo.schema import STATION_TYPES
from geo.vocab import label, status_label, type_label

REPORT_FORMATS: Final = ("xlsx", "pdf", "html", "gpkg")
REPORT_MIME: Final[dict[str, str]] = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "html": "text/html",
    "gpkg": "application/geopackage+sqlite3",
}
LANGS: Final = ("zh", "en")
DEFAULT_TOWN_THRESHOLD: Final = 0.8
DEFAULT_WORST_TOWNS: Final = 3
DEFAULT_OVERLAP_THRESHOLD: Final = 0.95
MAX_WORST_TOWNS: Final = 20
OVERLAP_TILE_M: Final = 4_000.0


class ReportError(YizhanError):
    """A report cannot be produced (e.g. no CJK font for the PDF)."""

    exit_code = 1


def check_format(fmt: str | None, out: str | os.PathLike[str] | None = None) -> str:
    """The report format: ``fmt``, else the suffix of ``out``; one of :data:`REPORT_FORMATS`."""
    if not fmt and out is not None:
        fmt = Path(out).suffix.lstrip(".")
    value = (fmt or "").strip().lower()
    if value not in REPORT_FORMATS:
        shown = fmt if fmt else "(none)"
        raise InvalidParameterError(
            f"unknown report format {shown!r}: use --format xlsx, pdf, html or gpkg"
        )
    return value


@dataclass(frozen=True)
class ReportOptions:
    """Report parameters (validated on construction).

    lang: ``"zh"`` (default) or ``"en"``.
    town_threshold: towns whose covered share is below this are listed (default 0.8).
    worst_towns: how many of the most under-served towns get their own map (default 3).
    overlap_threshold: a station whose service area is covered at least this much by
        the other stations' areas is flagged for review (default 0.95).
    """

    lang: str = "zh"
    town_threshold: float = DEFAULT_TOWN_THRESHOLD
    worst_towns: int = DEFAULT_WORST_TOWNS
    overlap_threshold: float = DEFAULT_OVERLAP_THRESHOLD

    def __post_init__(self) -> None:
        if self.lang not in LANGS:
            raise InvalidParameterError(f"unknown report language {self.lang!r}: use zh or en")
        for name, lo, hi in (("town_threshold", 0.0, 1.0), ("overlap_threshold", 0.0, 1.0)):
            v = getattr(self, name)
            try:
                f = float(v)
            except (TypeError, ValueError):
                raise InvalidParameterError(f"{name} must be a number, got {v!r}") from None
            if not (lo <= f <= hi):
                raise InvalidParameterError(
                    f"{name}={v!r} is outside [{lo:g}, {hi:g}]: give a share, e.g. 0.8")
            object.__setattr__(self, name, f)
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


def tr(lang: str, zh: str, en: str) -> str:
    return zh if lang == "zh" else en


# ---------------------------------------------------------------------------- labels

# ------------------------------------------------------------------------- computation


def station_overlap(per_station: gpd.GeoDataFrame | None, *,
                    threshold: float = DEFAULT_OVERLAP_THRESHOLD,
                    tile_m: float = OVERLAP_TILE_M) -> pd.DataFrame:
    """Per row of ``per_station``: how much of its polygon the *other* polygons cover.

    Columns ``overlap_share`` (0–1; NaN for an empty polygon), ``overlap_neighbours``
    (other polygons intersecting it, from an ``STRtree`` query),
    ``overlap_top_neighbour`` (the station_id sharing the largest area) and
    ``review_flag`` (``overlap_share >= threshold``).

    Instead of intersecting every pair (slow: service areas have many holes), the
    polygon boundaries are noded and polygonized into *faces*, tile by tile (square
    tiles of ``tile_m``); an ``STRtree`` point-in-polygon query counts the polygons
    over each face. A polygon's overlapped area is the area of its faces that at least
    one other polygon also covers — exact up to floating-point noding.
    """
    if per_station is None or len(per_station) == 0:
        return pd.DataFrame({"overlap_share": pd.Series([], dtype=float),
                             "overlap_neighbours": pd.Series([], dtype=np.int64),
                             "overlap_top_neighbour": pd.Series([], dtype=object),
                             "review_flag": pd.Series([], dtype=bool)})
    geoms = np.asarray(per_station.geometry.to_numpy(), dtype=object)
    n = len(geoms)
    area = shapely.area(geoms)
    ids = per_station["station_id"].to_numpy() if "station_id" in per_station else np.arange(n)
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    keep = a != b
    neighbours = np.bincount(a[keep], minlength=n)
    overlapped = np.zeros(n)
    pair_area: dict[tuple[int, int], float] = {}
    nonempty = ~shapely.is_empty(geoms) & (area > 0)
    if nonempty.any() and keep.any():
        x0, y0, x1, y1 = shapely.total_bounds(geoms[nonempty])
        nx = max(int(np.ceil((x1 - x0) / tile_m)), 1)
        ny = max(int(np.ceil((y1 - y0) / tile_m)), 1)
        boundaries = shapely.boundary(geoms)
        for ix in range(nx):
            for iy in range(ny):
                tile = shapely.box(x0 + ix * tile_m, y0 + iy * tile_m,
                                   min(x0 + (ix + 1) * tile_m, x1),
                                   min(y0 + (iy + 1) * tile_m, y1))
                cand = tree.query(tile, predicate="intersects")
                cand = cand[neighbours[cand] > 0]
                if cand.size < 2:
                    continue
                lines = shapely.intersection(boundaries[cand], tile)
                noded = shapely.union_all(np.append(lines, shapely.boundary(tile)))
                faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
                if faces.size == 0:
                    continue
                pts = shapely.point_on_surface(faces)
                fi, pi = tree.query(pts, predicate="within")
                count = np.bincount(fi, minlength=faces.size)
                face_area = shapely.area(faces)
                multi = count[fi] >= 2
                fi, pi = fi[multi], pi[multi]
                overlapped += np.bincount(pi, weights=face_area[fi], minlength=n)
                if fi.size:
                    pairs = pd.DataFrame({"f": fi, "p": pi})
                    pairs = pairs.merge(pairs, on="f")
                    pairs = pairs.loc[pairs["p_x"] != pairs["p_y"]]
                    sums = pd.Series(face_area[pairs["f"].to_numpy()]).groupby(
                        [pairs["p_x"].to_numpy(), pairs["p_y"].to_numpy()]).sum()
                    for (i, j), v in sums.items():
                        pair_area[(int(i), int(j))] = pair_area.get((int(i), int(j)), 0.0) + v
    share = np.where(nonempty, np.minimum(np.divide(overlapped, area, out=np.zeros(n),
                                                    where=area > 0), 1.0), np.nan)
    top = np.full(n, None, dtype=object)
    if pair_area:
        keys = np.array(list(pair_area.keys()), dtype=np.int64)
        vals = np.round(np.array(list(pair_area.values())), 3)
        order = np.lexsort((keys[:, 1], -vals, keys[:, 0]))  # largest, then lowest index
        first = order[np.r_[True, np.diff(keys[order, 0]) != 0]]
        top[keys[first, 0]] = ids[keys[first, 1]]
    return pd.DataFrame({
        "overlap_share": np.round(share, 4),
        "overlap_neighbours": neighbours.astype(np.int64),
        "overlap_top_neighbour": pd.Series(top, dtype=object),  # None (not NaN) when none
        "review_flag": np.nan_to_num(share, nan=0.0) >= threshold,
    })


def station_population(job: CoverageJob) -> np.ndarray | None:
    """Covered population on the streets each used station is nearest to (by source).

    ``None`` unless the demand basis is population. Sums to the towns' covered
    population.
    """
    if job.towns.demand_basis != "population":
        return None
    cov = job.coverage
    towns = job.towns.towns
    n_src = cov.n_sources
    if len(towns) == 0 or n_src == 0:
        return np.zeros(n_src)
    pop = pd.to_numeric(towns["population"], errors="coerce").to_numpy(dtype=float)
    total = towns["total_length_m"].to_numpy(dtype=float)
    density = np.divide(pop, total, out=np.zeros(len(towns)), where=total > 0)
    parts = edge_parts(cov.network, towns.geometry.to_numpy())
    clipped = clip_segments(cov.segments, parts)
    if len(clipped) == 0:
        return np.zeros(n_src)
    # covered_pieces passes ``edge`` through as a label: use the clipped row instead,
    # to know each piece's town
    seg = {c: clipped[c].to_numpy() for c in ("x0", "x1", "d0", "d1", "s0", "s1")}
    seg["edge"] = np.arange(len(clipped))
    pieces = covered_pieces(seg, cov.params.budget_m)
    part = clipped["part"].to_numpy()[pieces["edge"].to_numpy()]
    w = (pieces["x1"] - pieces["x0"]).to_numpy() * density[part]
    return np.bincount(pieces["source"].to_numpy(dtype=np.int64), weights=w, minlength=n_src)


def walk_time_distribution(job: CoverageJob, *, step_min: float | None = None) -> pd.DataFrame:
    """Street length (m) by walk time to the nearest station, in bins of ``step_min``.

    Exact over street length (the distance along a segment is piecewise linear). The
    last row (``upper_min`` = inf) is the street length beyond the walk time: the
    search stops at the budget, so it is not broken down further.
    """
    p = job.params
    if step_min is None:
        step_min = 1.0 if p.walk_time_min <= 20 else float(np.ceil(p.walk_time_min / 15.0))
    edges_min = np.arange(0.0, p.walk_time_min + 1e-9, step_min)
    if edges_min[-1] < p.walk_time_min - 1e-9:
        edges_min = np.append(edges_min, p.walk_time_min)
    speed_m_per_min = p.budget_m / p.walk_time_min
    lo, span = distance_pieces(job.coverage.segment_arrays)
    total = float(job.network.total_length_m)
    fin = np.isfinite(lo) & (span > 0)
    a = lo[fin]
    b = np.minimum(a + span[fin], p.budget_m)
    ok = b > a
    a, b = a[ok], b[ok]
    cdf = np.array([float(np.clip(t - a, 0.0, b - a).sum())
                    for t in edges_min * speed_m_per_min])
    within = np.diff(cdf)
    beyond = max(total - float(cdf[-1]), 0.0)
    return pd.DataFrame({
        "lower_min": np.append(edges_min[:-1], p.walk_time_min),
        "upper_min": np.append(edges_min[1:], np.inf),
        "length_m": np.append(within, beyond),
    })


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
    summary: dict[str, Any]
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

    @property
    def lang(self) -> str:
        return self.options.lang

    def t(self, zh: str, en: str) -> str:
        return tr(self.options.lang, zh, en)

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


def _fmt_sha(sha: str | None) -> str:
    return sha if sha else "—"


def report_data(job: CoverageJob, options: ReportOptions | None = None) -> ReportData:
    """Compute everything a report shows, once."""
    o = options or ReportOptions()
    lang = o.lang

    def t(zh: str, en: str) -> str:
        return tr(lang, zh, en)

    summary = summary_dict(job)
    generated = _dt.datetime.now(_dt.UTC).replace(microsecond=0)
    params = job.params
    basis = job.towns.demand_basis
    cov = job.coverage
    st = cov.stations

    # ---- stations: the stations.csv rows + report columns
    table = stations_output(job)
    n_snapped = len(st)
    src = np.full(len(table), -1, dtype=np.int64)
    src[:n_snapped] = st["source"].to_numpy(dtype=np.int64)
    used = src >= 0
    per = job.areas.per_station
    overlap = station_overlap(per, threshold=o.overlap_threshold)

    def by_source(values: np.ndarray | pd.Series, fill: Any) -> np.ndarray:
        v = np.asarray(values)
        out = np.full(len(table), fill, dtype=object if v.dtype == object else float)
        if len(v):
            out[used] = v[src[used]]
        return out

    if per is not None:
        table["reach_length_m"] = by_source(per["reach_length_m"].to_numpy(float), np.nan)
        table["service_area_m2"] = by_source(per["area_m2"].to_numpy(float), np.nan)
        table["overlap_share"] = by_source(overlap["overlap_share"].to_numpy(float), np.nan)
        nb = by_source(overlap["overlap_neighbours"].to_numpy(float), np.nan)
        table["overlap_neighbours"] = pd.array(
            [None if not np.isfinite(x) else int(x) for x in nb], dtype="Int64")
        table["overlap_top_neighbour"] = by_source(
            overlap["overlap_top_neighbour"].to_numpy(object), None)
        flag = np.zeros(len(table), dtype=bool)
        flag[used] = overlap["review_flag"].to_numpy(bool)[src[used]]
        table["review_flag"] = flag
    pop = station_population(job)
    if pop is not None:
        table["nearest_covered_population"] = np.round(by_source(pop, np.nan).astype(float), 0)

    # ---- towns
    towns = pd.DataFrame(job.towns.towns.drop(columns="geometry")).sort_values("rank")
    share_col = "covered_population_share" if basis == "population" else "covered_length_share"
    share = pd.to_numeric(towns[share_col], errors="coerce")
    towns["below_threshold"] = (share < o.town_threshold).to_numpy(bool)
    towns = towns.reset_index(drop=True)

    zones = job.zones.copy() if job.zones is not None else None

    # ---- by type
    types = st["type"].to_numpy()
    status = st["status"].to_numpy()
    by_type = pd.DataFrame({
        "type": list(STATION_TYPES),
        "label": [type_label(k, lang) for k in STATION_TYPES],
        "total": [int((types == k).sum()) for k in STATION_TYPES],
        "used": [int(((types == k) & (status == "used")).sum()) for k in STATION_TYPES],
    })

    # ---- headline figures
    s_st = summary["stations"]
    minutes = f"{params.walk_time_min:g}"
    head: list[Figure] = [
        Figure("stations_used", t("接入路网的站点", "Stations on the network"), s_st["used"],
               note=t(f"共输入{s_st['input']}个；未接入路网{s_st['off_network']}个；"
                      f"被拒绝{s_st['rejected']}个",
                      f"of {s_st['input']} input rows; {s_st['off_network']} off the network; "
                      f"{s_st['rejected']} rejected")),
    ]
    if summary["covered_population_share"] is not None:
        head.append(Figure(
            "covered_population_share",
            t(f"{minutes}分钟步行可达人口占比", f"Population within {minutes} min walk"),
            summary["covered_population_share"], "share",
            t("人口按街道长度分布到各镇街的街道上", "population spread over each town's streets")))
    head.append(Figure(
        "covered_length_share",
        t(f"{minutes}分钟步行覆盖街道占比", f"Street length within {minutes} min walk"),
        summary["covered_length_share"], "share",
        t(f"覆盖{summary['covered_length_m'] / 1000:,.1f}公里，共"
          f"{summary['total_length_m'] / 1000:,.1f}公里",
          f"{summary['covered_length_m'] / 1000:,.1f} km of "
          f"{summary['total_length_m'] / 1000:,.1f} km")))
    head.append(Figure("covered_area_km2", t("服务圈面积（合并）", "Service area (union)"),
                       summary["covered_area_m2"] / 1e6, "km2"))
    below = towns.loc[towns["below_threshold"]]
    unit_zh = "分析网格" if job.towns.is_grid else "镇街"
    unit_en = "analysis cells" if job.towns.is_grid else "towns"
    head.append(Figure(
        "towns_below_threshold",
        t(f"覆盖率低于{o.town_threshold:.0%}的{unit_zh}",
          f"{unit_en.capitalize()} below {o.town_threshold:.0%} covered"),
        len(below),
        note=t(f"共{len(towns)}个", f"of {len(towns)}") + (
            t("：", ": ") + t("、", ", ").join(below["name"].astype(str).head(8))
            if len(below) else "")))
    if zones is not None:
        missing = zones.loc[~zones["station_within_threshold"].astype(bool)]
        head.append(Figure(
            "zones_without_station",
            t(f"{minutes}分钟内无站点的骑手友好场景", f"Rider zones with no station within "
                                                     f"{minutes} min"),
            len(missing),
            note=t(f"共{len(zones)}个", f"of {len(zones)}") + (
                t("：", ": ") + t("、", ", ").join(missing["name"].astype(str).head(8))
                if len(missing) else "")))
    if per is not None:
        head.append(Figure(
            "stations_flagged",
            t("服务圈几乎被其他站点覆盖、建议复核的站点",
              "Stations whose area others almost entirely cover (review)"),
            int(table["review_flag"].sum()),
            note=t(f"重叠比例≥{o.overlap_threshold:.0%}",
                   f"overlap share ≥ {o.overlap_threshold:.0%}")))

    # ---- cover, versions, parameters
    title = t("驿站圈 · 职工服务站点15分钟步行覆盖报告",
              "Yizhan · 15-minute walking coverage of worker service stations")
    if params.walk_time_min != 15:
        title = t(f"驿站圈 · 职工服务站点{minutes}分钟步行覆盖报告",
                  f"Yizhan · {minutes}-minute walking coverage of worker service stations")
    cover = [
        (t("区域", "Region"), job.region_name or "—"),
        (t("生成时间", "Generated"), generated.strftime("%Y-%m-%d %H:%M UTC")),
        (t("软件版本", "Software"), f"yizhan {summary['yizhan_version']}"),
    ]
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
    basis_txt = t("人口", "population") if basis == "population" else t("街道长度",
                                                                        "street length")
    parameters = [
        (t("步行时间", "Walk time"), t(f"{minutes}分钟", f"{minutes} min")),
        (t("步行速度", "Walk speed"), f"{params.walk_speed_kmh:g} km/h"),
        (t("步行距离预算", "Walk budget"), f"{params.budget_m:,.0f} m"),
        (t("街道缓冲半宽（服务圈）", "Street buffer (service areas)"), f"{params.buffer_m:g} m"),
        (t("最大吸附距离", "Max snap distance"), f"{params.max_snap_m:g} m"),
        (t("需求口径", "Demand basis"), basis_txt),
        (t("镇街覆盖率阈值", "Town threshold"), f"{o.town_threshold:.0%}"),
        (t("重叠复核阈值", "Overlap review threshold"), f"{o.overlap_threshold:.0%}"),
        (t("坐标系（分析 / 输出）", "CRS (analysis / outputs)"),
         f"{job.network.crs.to_string()} / EPSG:4326"),
    ]
    notes = [job.towns.ranking_rule_zh if lang == "zh" else job.towns.ranking_rule_en]
    town_note = job.towns.note_zh if lang == "zh" else job.towns.note_en
    if town_note:
        notes.append(town_note)
    return ReportData(
        job=job, options=o, summary=summary, generated_at=generated, title=title,
        cover=cover, versions=versions, parameters=parameters, headline=head,
        by_type=by_type, towns=towns, town_share_column=share_col, stations=table,
        zones=zones, walk_times=walk_time_distribution(job), notes=notes,
    )


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


def fmt_figure(f: Figure, lang: str) -> str:
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


# ---------------------------------------------------------------- display tables & text


@dataclass(frozen=True)
class DisplayColumn:
    key: str
    label: str
    kind: str = "text"  # text | int | m | share | min | bool | flag
    width: float = 1.0  # relative width (PDF)


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


def fmt_cell(value: Any, kind: str, lang: str) -> str:
    """A cell as text (``—`` for missing)."""
    if value is None or value is pd.NA:
        return "—" if kind != "text" else ""
    if kind == "text":
        if isinstance(value, float) and not np.isfinite(value):
            return ""
        return str(value)
    if kind in ("bool", "flag"):
        yes = bool(value)
        if kind == "flag":
            return tr(lang, "复核", "review") if yes else ""
        return tr(lang, "是", "yes") if yes else tr(lang, "否", "no")
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not np.isfinite(v):
        return "—"
    if kind == "share":
        return f"{v:.1%}"
    if kind == "int":
        return f"{v:,.0f}"
    if kind == "m":
        return f"{v:,.0f}"
    if kind == "min":
        return f"{v:.1f}"
    return f"{v:,.2f}"


def _limit(df: pd.DataFrame, priority: np.ndarray, max_rows: int | None) -> pd.DataFrame:
    """At most ``max_rows`` rows, priority rows first kept, original order otherwise."""
    if max_rows is None or len(df) <= max_rows:
        return df
    order = np.argsort(~priority, kind="stable")[:max_rows]
    return df.iloc[np.sort(order)]


def display_tables(data: ReportData, *, max_rows: int | None = None) -> dict[str, DisplayTable]:
    """The towns, zones and stations tables of the PDF / HTML reports."""
    lang = data.lang
    t = data.t
    out: dict[str, DisplayTable] = {}
    towns = data.towns
    pop_basis = data.job.towns.demand_basis == "population"
    unit = "分析网格" if data.job.towns.is_grid else "镇街"
    cols = [DisplayColumn("rank", t("排名", "Rank"), "int", 0.55),
            DisplayColumn("name", label("name", lang), "text", 1.5)]
    if towns["district"].notna().any():
        cols.append(DisplayColumn("district", label("district", lang), "text", 1.0))
    if pop_basis:
        cols += [DisplayColumn("population", label("population", lang), "int", 1.0),
                 DisplayColumn("covered_population_share",
                               label("covered_population_share", lang), "share", 0.9)]
    cols += [DisplayColumn("covered_length_share", label("covered_length_share", lang),
                           "share", 0.9),
             DisplayColumn("uncovered_demand",
                           t("未覆盖人口", "Uncovered people") if pop_basis
                           else t("未覆盖街道（米）", "Uncovered streets (m)"), "int", 1.0),
             DisplayColumn("stations_used", t("区内站点", "Stations"), "int", 0.7),
             DisplayColumn("walk_time_p90_min", label("walk_time_p90_min", lang),
                           "min", 0.8),
             DisplayColumn("reason_zh" if lang == "zh" else "reason_en",
                           t("排名原因", "Why this rank"), "text", 2.6)]
    frame = towns.copy()
    p90_note = frame["walk_time_p90_note"].astype(str)
    frame["walk_time_p90_min"] = frame["walk_time_p90_min"].astype(object).where(
        frame["walk_time_p90_min"].notna(), p90_note.where(p90_note != "", None))
    below = frame["below_threshold"].to_numpy(bool)
    lim = _limit(frame, below | (frame["rank"].to_numpy() <= 10), max_rows)
    out["towns"] = DisplayTable(
        "towns", t(f"{unit}薄弱排名", "Under-served towns, ranked" if not data.job.towns.is_grid
                   else "Under-served analysis cells, ranked"),
        cols, lim, lim["below_threshold"].to_numpy(bool),
        note=t(f"标色行：覆盖率低于{data.options.town_threshold:.0%}。",
               f"Shaded rows: covered share below {data.options.town_threshold:.0%}."),
        total_rows=len(frame))
    if data.zones is not None:
        z = data.zones
        zcols = [DisplayColumn("zone_id", label("zone_id", lang), "text", 0.9),
                 DisplayColumn("name", label("name", lang), "text", 1.8),
                 DisplayColumn("street_length_m", label("street_length_m", lang), "m",
                               0.9),
                 DisplayColumn("covered_length_share",
                               label("covered_length_share", lang), "share", 0.9),
                 DisplayColumn("nearest_station_name",
                               label("nearest_station_name", lang), "text", 1.8),
                 DisplayColumn("nearest_walk_time_min",
                               label("nearest_walk_time_min", lang), "min", 1.0),
                 DisplayColumn("station_within_threshold",
                               label("station_within_threshold", lang), "bool", 0.9)]
        miss = ~z["station_within_threshold"].astype(bool).to_numpy()
        out["zones"] = DisplayTable(
            "zones", t("骑手友好场景", "Rider-friendly zones"), zcols, z, miss,
            note=t(f"标色行：步行{data.job.params.walk_time_min:g}分钟内没有站点。",
                   f"Shaded rows: no station within {data.job.params.walk_time_min:g} min."),
            total_rows=len(z))
    s = data.stations.copy()
    s["type"] = [type_label(str(x), lang) if isinstance(x, str) else "" for x in s["type"]]
    s["status"] = [data.status_label(str(x)) for x in s["status"]]
    scols = [DisplayColumn("station_id", label("station_id", lang), "text", 1.0),
             DisplayColumn("name", label("name", lang), "text", 2.0),
             DisplayColumn("type", label("type", lang), "text", 1.2),
             DisplayColumn("status", label("status", lang), "text", 0.9),
             DisplayColumn("snap_dist_m", t("吸附距离（米）", "Snap (m)"), "m", 0.7),
             DisplayColumn("nearest_covered_length_m",
                           t("最近覆盖街道（米）", "Nearest-covered streets (m)"), "m", 0.9)]
    if "reach_length_m" in s:
        scols.append(DisplayColumn("reach_length_m", t("可达街道（米）", "Reachable streets (m)"),
                                   "m", 0.9))
    if "nearest_covered_population" in s:
        scols.append(DisplayColumn("nearest_covered_population",
                                   t("最近覆盖人口", "Nearest-covered population"), "int", 0.9))
    flagged = np.zeros(len(s), dtype=bool)
    if "overlap_share" in s:
        scols += [DisplayColumn("overlap_share", t("被其他站点覆盖", "Overlapped by others"),
                                "share", 0.8),
                  DisplayColumn("overlap_neighbours", t("重叠站点数", "Overlapping stations"),
                                "int", 0.7),
                  DisplayColumn("review_flag", label("review_flag", lang), "flag", 0.6)]
        flagged = s["review_flag"].to_numpy(bool)
    not_used = data.stations["status"].to_numpy() != "used"
    lim_s = _limit(s, flagged | not_used, max_rows)
    keep = lim_s.index.to_numpy()
    out["stations"] = DisplayTable(
        "stations", t("站点明细", "Stations"), scols, lim_s, flagged[keep],
        note=t(f"标色行：服务圈至少{data.options.overlap_threshold:.0%}被其他站点的服务圈覆盖，"
               "建议复核（不一定要撤并：它可能服务不同的职工群体）。",
               f"Shaded rows: at least {data.options.overlap_threshold:.0%} of the station's "
               "service area is covered by other stations' areas — review it (not "
               "necessarily remove it: it may serve a different group of workers)."),
        total_rows=len(s))
    return out


def method_notes(data: ReportData) -> list[str]:
    """How the figures were computed (paragraphs, in the report language)."""
    p = data.job.params
    t = data.t
    from geo.pipeline.job import BASES_NOTE_EN, BASES_NOTE_ZH

    notes = [
        t(f"站点吸附到最近的可步行街道上（超过{p.max_snap_m:g}米视为未接入路网）。在无向步行路网上做一次"
          f"多源最短路，得到每个街道点到最近站点的步行距离；步行{p.walk_time_min:g}分钟、"
          f"速度{p.walk_speed_kmh:g}公里/小时，即{p.budget_m:,.0f}米。部分可达的街道按可达部分计。",
          f"Stations are snapped to the nearest walkable street (farther than "
          f"{p.max_snap_m:g} m: off the network). One multi-source shortest-path search on "
          f"the undirected walk network gives every street point its walking distance to the "
          f"nearest station; {p.walk_time_min:g} min at {p.walk_speed_kmh:g} km/h is "
          f"{p.budget_m:,.0f} m. Partly reached streets count for the reached part."),
        t(f"服务圈：可达街道段两侧各缓冲{p.buffer_m:g}米后合并（不用凸包），无街道进入的大街区保留为空洞。",
          f"Service areas: the reached street stretches buffered by {p.buffer_m:g} m and "
          "unioned (no hulls); large blocks no street reaches into stay holes."),
        data.job.towns.ranking_rule_zh if data.lang == "zh" else data.job.towns.ranking_rule_en,
        t("需求口径：各镇街都有人口时按人口（人口按街道长度分布到该镇街的街道上），否则按街道长度。",
          "Demand basis: population when every town has one (spread over the town's streets "
          "by length), otherwise street length."),
        t("站点重叠：每个站点自身服务圈被其他站点服务圈合并范围覆盖的面积比例（用STRtree筛选相交站点）。"
          f"比例≥{data.options.overlap_threshold:.0%}的站点建议复核。",
          "Station overlap: the share of a station's own service area covered by the union of "
          "the other stations' areas (candidates found with an STRtree); at or above "
          f"{data.options.overlap_threshold:.0%} the station is flagged for review."),
        t("最近覆盖人口：以该站点为最近站点、且在步行范围内的街道上的人口，各站点之和等于覆盖人口。",
          "Nearest-covered population: the population on the reached streets for which the "
          "station is the nearest; it sums to the covered population."),
        t(BASES_NOTE_ZH, BASES_NOTE_EN),
        t("坐标：分析在米制投影坐标系（UTM）中进行；GeoPackage与GeoJSON输出为WGS-84（EPSG:4326）。",
          "Coordinates: the analysis runs in a metric projected CRS (UTM); the GeoPackage and "
          "GeoJSON outputs are WGS-84 (EPSG:4326)."),
    ]
    town_note = data.job.towns.note_zh if data.lang == "zh" else data.job.towns.note_en
    if town_note:
        notes.insert(3, town_note)
    return notes


# ------------------------------------------------------------------------------ writers


def _writer(fmt: str) -> Any:
    if fmt == "xlsx":
        from geo.reports.xlsx import write_xlsx

        return write_xlsx
    if fmt == "pdf":
        from geo.reports.pdf import write_pdf

        return write_pdf
    if fmt == "gpkg":
        from geo.reports.gpkg import write_gpkg

        return write_gpkg
    from geo.reports.html import write_html

    return write_html


def write_report(job: CoverageJob | ReportData, fmt: str, out: str | os.PathLike[str], *,
                 options: ReportOptions | None = None, map_html: str | None = None) -> Path:
    """Write the report in ``fmt`` (xlsx, pdf, html, gpkg) to ``out``, atomically.

    ``map_html`` (HTML only): a standalone interactive map page to embed (e.g.
    ``geo.webmap.offline.standalone_html(geo.webmap.maps.build_map(...))``); without it the
    page shows the static overview map.
    """
    fmt = check_format(fmt)
    data = job if isinstance(job, ReportData) else report_data(job, options)
    path = Path(out)
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".{fmt}",
                                    dir=path.parent or ".")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        tmp.unlink()  # writers create the file (GeoPackage needs a fresh one)
        if fmt == "html":
            _writer(fmt)(data, tmp, map_html=map_html)
        else:
            _writer(fmt)(data, tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def report_bytes(job: CoverageJob | ReportData, fmt: str, *,
                 options: ReportOptions | None = None, map_html: str | None = None) -> bytes:
    """The report as bytes (for downloads)."""
    with tempfile.TemporaryDirectory(prefix="yizhan-report-") as tmp:
        p = write_report(job, fmt, Path(tmp) / f"report.{check_format(fmt)}",
                         options=options, map_html=map_html)
        return p.read_bytes()


def report_file_name(data_or_job: CoverageJob | ReportData, fmt: str) -> str:
    """A download file name such as ``yizhan_report_20250101.pdf``."""
    day = _dt.date.today().strftime("%Y%m%d")
    return f"yizhan_report_{day}.{check_format(fmt)}"
