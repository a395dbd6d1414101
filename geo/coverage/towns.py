"""Towns (乡镇/街道), demand and the under-served ranking; rider-zone figures.

Street length is attributed to towns *exactly*: edges are cut at town boundaries
(edges inside a town count whole, crossing edges are intersected with the polygon).

Demand basis
    * ``population`` — when every town has a population: a town's population is spread
      over its streets in proportion to street length, so the covered population is
      ``population × covered street length / street length``;
    * ``street_length`` — otherwise: demand is street metres.

Ranking rule
    Towns are ranked by *uncovered demand* (population, or street length, farther than
    the walk budget from every station), largest first; ties go to the lower covered
    share. Rank 1 is the most under-served.

With no town file, the region is divided into H3 hexagonal analysis cells
(:mod:`geo.coverage.cells`, resolution 8 by default) and every output says so;
:func:`hex_grid` (a plain hexagon grid) is kept for callers that want one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.coverage.cells import cell_area_km2
from geo.coverage.core import Coverage
from geo.coverage.segments import clip_segments, cost_pieces, covered_length, weighted_quantile
from geo.coverage.service_areas import covered_area_within
from geo.crs import require_crs
from geo.errors import StationDataError
from geo.io.layers import LayerTable, _clean_str, polygons_from_frame, read_vector
from geo.schema import STATION_TYPES
from geo.vocab import DemandBasis, is_people, reword_for_mode

DEFAULT_HEX_M: Final = 500.0
_DIRECT_OVERLAY: Final = 20_000_000  # union vertices × towns below which we overlay directly
NAME_COLUMNS: Final = ("name", "town", "town_name", "名称", "乡镇", "街道", "镇街", "乡镇街道")
CODE_COLUMNS: Final = ("code", "town_code", "adcode", "代码", "编码", "区划代码")
POP_COLUMNS: Final = ("population", "pop", "popu", "人口", "常住人口", "人口数")
DISTRICT_COLUMNS: Final = ("district", "区县", "区", "county")

RANKING_RULE_EN: Final = (
    "Ranked by uncovered demand ({basis} farther than {minutes:g} min walk from every "
    "station), largest first; ties: lower covered share first. Rank 1 = most under-served."
)
RANKING_RULE_ZH: Final = (
    "按未覆盖需求（步行{minutes:g}分钟内无站点的{basis_zh}）从大到小排序；并列时覆盖率低者在前。"
    "第1名为最薄弱。"
)
GRID_NOTE_EN: Final = (
    "No town boundaries were given: figures are per hexagonal analysis cell "
    "({size:g} m across), not per town."
)
GRID_NOTE_ZH: Final = "未提供镇街边界：以下为六边形分析网格（对边距{size:g}米）统计，并非镇街。"
H3_NOTE_EN: Final = (
    "No town boundaries were given: figures are per H3 hexagonal analysis cell "
    "(resolution {res}, ≈{area:.2f} km² each; the cell id is the H3 index), not per town."
)
H3_NOTE_ZH: Final = (
    "未提供镇街边界：以下为H3六边形分析网格（分辨率{res}，每格约{area:.2f}平方公里，编号为H3索引）"
    "统计，并非镇街。"
)


def _find(columns: Any, names: tuple[str, ...]) -> str | None:
    lower = {str(c).strip().lower(): c for c in columns}
    for n in names:
        if n.lower() in lower:
            return lower[n.lower()]
    return None


def read_towns(path: str | os.PathLike[str]) -> LayerTable:
    """Read town polygons (GeoJSON / GPKG / zipped Shapefile).

    Recognised columns: name (``name``/``名称``/``街道``…), optional code
    (``code``/``代码``…, kept as text), population (``population``/``人口``…) and district.
    Output columns: ``town_id`` (code, else name), ``name``, ``code``, ``population``
    (float, NaN when unknown), ``district``.
    """
    raw = read_vector(path, what="towns")
    name_c = _find(raw.columns, NAME_COLUMNS)
    if name_c is None:
        raise StationDataError(
            f"town file has no name column; expected one of {', '.join(NAME_COLUMNS)}"
        )
    code_c = _find(raw.columns, CODE_COLUMNS)
    pop_c = _find(raw.columns, POP_COLUMNS)
    dist_c = _find(raw.columns, DISTRICT_COLUMNS)
    n = len(raw)
    names = [_clean_str(v) for v in raw[name_c]]
    codes = [_clean_str(v) for v in raw[code_c]] if code_c else [None] * n
    # object columns keep None for a missing code: pandas ≥ 3 would infer a ``str``
    # column with NaN, and NaN is truthy (a town without code lost its name as id)
    df = gpd.GeoDataFrame({
        "name": pd.array(names, dtype=object),
        "code": pd.array(codes, dtype=object),
        "population": pd.to_numeric(raw[pop_c], errors="coerce") if pop_c else np.nan,
        "district": pd.array([_clean_str(v) for v in raw[dist_c]] if dist_c else [None] * n,
                             dtype=object),
    }, geometry=raw.geometry.to_numpy(), crs=raw.crs)
    df["town_id"] = pd.array([c or nm for c, nm in zip(codes, names, strict=True)],
                             dtype=object)
    table = polygons_from_frame(df, id_column="town_id", source=str(path))
    acc = table.accepted
    acc["population"] = pd.to_numeric(acc["population"], errors="coerce")
    bad_pop = acc["population"].notna() & (acc["population"] < 0)
    if bad_pop.any():
        raise StationDataError("town population must be ≥ 0: fix the negative values")
    return LayerTable(accepted=acc[["town_id", "name", "code", "population", "district",
                                    "geometry"]],
                      rejected=table.rejected, rows_in=table.rows_in, source=str(path))


def hex_grid(bounds: tuple[float, float, float, float], crs: Any, *,
             size_m: float = DEFAULT_HEX_M,
             keep: np.ndarray | None = None) -> gpd.GeoDataFrame:
    """Flat-topped regular hexagons ``size_m`` across flats covering ``bounds``.

    ``keep`` (optional geometries) keeps only cells that intersect them.
    """
    x0, y0, x1, y1 = bounds
    r = size_m / np.sqrt(3.0)  # circumradius
    dx = 1.5 * r
    dy = size_m
    cols = int(np.ceil((x1 - x0) / dx)) + 2
    rows = int(np.ceil((y1 - y0) / dy)) + 2
    ci, ri = np.meshgrid(np.arange(cols), np.arange(rows))
    cx = x0 + ci.ravel() * dx
    cy = y0 + ri.ravel() * dy + np.where(ci.ravel() % 2 == 1, dy / 2.0, 0.0)
    ang = np.deg2rad(np.arange(0, 360, 60))
    ring = np.stack([cx[:, None] + r * np.cos(ang), cy[:, None] + r * np.sin(ang)], axis=2)
    polys = shapely.polygons(ring)
    if keep is not None and len(keep):
        tree = shapely.STRtree(np.asarray(keep))
        hit = np.unique(tree.query(polys, predicate="intersects")[0])
        polys = polys[hit]
    ids = [f"H{i + 1:05d}" for i in range(len(polys))]
    return gpd.GeoDataFrame({
        "town_id": ids, "name": [f"网格 {i}" for i in ids], "code": None,
        "population": np.nan, "district": None,
    }, geometry=list(polys), crs=crs)


def edge_parts(network: Any, polygons: np.ndarray) -> pd.DataFrame:
    """Exact pieces of edges inside polygons: ``part (polygon index), edge, p, q``.

    ``p``/``q`` are positions along the edge in ``length_m`` metres.
    """
    polys = np.asarray(polygons, dtype=object)
    pi, ei = network.edge_tree.query(polys, predicate="intersects")
    if pi.size == 0:
        return pd.DataFrame({"part": [], "edge": [], "p": [], "q": []})
    inside = shapely.contains(polys[pi], network.geometry[ei])
    parts = [pd.DataFrame({"part": pi[inside], "edge": ei[inside], "p": 0.0,
                           "q": network.length_m[ei[inside]]})]
    cross_p, cross_e = pi[~inside], ei[~inside]
    if cross_p.size:
        inter = shapely.intersection(network.geometry[cross_e], polys[cross_p])
        pieces, idx = shapely.get_parts(inter, return_index=True)
        is_line = shapely.get_type_id(pieces) == 1
        pieces, idx = pieces[is_line], idx[is_line]
        e = cross_e[idx]
        g = network.geometry[e]
        glen = network.geometry_length[e]
        a = shapely.line_locate_point(g, shapely.get_point(pieces, 0))
        b = shapely.line_locate_point(g, shapely.get_point(pieces, -1))
        scale = np.where(glen > 0, network.length_m[e] / np.where(glen > 0, glen, 1.0), 0.0)
        lo = np.minimum(a, b) * scale
        hi = np.maximum(a, b) * scale
        parts.append(pd.DataFrame({"part": cross_p[idx], "edge": e, "p": lo, "q": hi}))
    out = pd.concat(parts, ignore_index=True)
    return out.loc[out["q"] > out["p"]].reset_index(drop=True)


@dataclass(frozen=True)
class TownReport:
    """Per-town figures, ranked, with the basis and rule stated."""

    towns: gpd.GeoDataFrame  # network CRS
    demand_basis: DemandBasis
    is_grid: bool
    ranking_rule_en: str
    ranking_rule_zh: str
    note_en: str
    note_zh: str
    outside_length_m: float  # street length outside every town polygon


def _p90_distance_m(clipped: pd.DataFrame, total: np.ndarray, budget: float) -> np.ndarray:
    """90th percentile over street length of the distance to the nearest station, per
    town (``nan`` when beyond ``budget``); street length no segment covers is unreached.
    Distances and ``budget`` are in the segment table's cost unit (metres, or seconds
    on a table with a slope column)."""
    n = total.size
    p90 = np.full(n, np.nan)
    if len(clipped):
        lo, span, slope = cost_pieces(clipped)
        part_of = np.concatenate([clipped["part"].to_numpy(), clipped["part"].to_numpy()])
        order = np.argsort(part_of, kind="stable")
        bnd = np.searchsorted(part_of[order], np.arange(n + 1))
        for i in range(n):
            m = order[bnd[i]:bnd[i + 1]]
            extra = max(total[i] - float(span[m].sum()), 0.0)
            p90[i] = weighted_quantile(
                np.concatenate([lo[m], [np.inf]]), np.concatenate([span[m], [extra]]), 0.9,
                cap=budget, slope=None if slope is None else np.concatenate([slope[m], [1.0]]))
    return p90


def town_demand(t: pd.DataFrame, share: np.ndarray, *, is_grid: bool,
            people: tuple[np.ndarray, np.ndarray] | None
            ) -> tuple[np.ndarray, np.ndarray, DemandBasis]:
    """(population, covered population, demand basis) per town: measured ``people``
    (a population raster), else each town's population spread over its streets."""
    if people is not None:
        pop, covered = (np.round(np.asarray(a, dtype=float), 1) for a in people)
        return pop, covered, "population_raster"
    n = len(t)
    pop = pd.to_numeric(t.get("population"), errors="coerce").to_numpy(dtype=float) \
        if "population" in t.columns else np.full(n, np.nan)
    basis: DemandBasis = ("population" if n and np.isfinite(pop).all() and not is_grid
                          else "street_length")
    covered = np.where(np.isfinite(pop), pop * np.nan_to_num(share, nan=0.0), np.nan)
    return pop, covered, basis


def town_report(cov: Coverage, towns: gpd.GeoDataFrame, *,
                union: shapely.Geometry | None = None,
                is_grid: bool = False, grid_size_m: float = DEFAULT_HEX_M,
                parts: pd.DataFrame | None = None,
                covered_area_m2: np.ndarray | None = None,
                h3_resolution: int | None = None,
                people: tuple[np.ndarray, np.ndarray] | None = None) -> TownReport:
    """Figures per town and the under-served ranking (``towns`` in network CRS).

    ``parts`` (``part, edge, p, q``: the streets of each town, e.g. from
    :func:`geo.coverage.cells.convex_cell_parts`) and ``covered_area_m2`` (per town)
    may be given when already known; otherwise streets are cut at the town boundaries
    here and ``union`` (the service-area union, optional) is overlaid with the towns
    directly when that is cheap, else covered areas are built locally per town.
    ``h3_resolution``: the towns are H3 cells of that resolution (implies a grid).
    ``people`` (population, covered population per town, e.g. from a population raster)
    makes them the demand: ``demand_basis`` ``"population_raster"``.
    """
    require_crs(towns, cov.network.crs, what="towns")
    net = cov.network
    budget = cov.cost_budget
    t = towns.reset_index(drop=True)
    geoms = t.geometry.to_numpy()
    is_grid = is_grid or h3_resolution is not None
    if parts is None:
        parts = edge_parts(net, geoms)
    clipped = clip_segments(cov.segments, parts)
    n = len(t)
    part_len = (parts["q"] - parts["p"]).to_numpy()
    total = np.bincount(parts["part"].to_numpy(dtype=np.int64), weights=part_len, minlength=n)
    cov_len = np.bincount(clipped["part"].to_numpy(dtype=np.int64),
                          weights=covered_length(clipped, budget), minlength=n)
    share = np.divide(cov_len, total, out=np.full(n, np.nan), where=total > 0)
    pop, covered_pop, basis = town_demand(t, share, is_grid=is_grid, people=people)
    area = shapely.area(geoms)
    if covered_area_m2 is not None:
        cov_area = np.asarray(covered_area_m2, dtype=float)
    elif union is not None and \
            int(shapely.get_num_coordinates(union)) * max(n, 1) < _DIRECT_OVERLAY:
        cov_area = shapely.area(shapely.intersection(geoms, union))
    else:  # province scale: overlay each town with the pieces near it only
        cov_area = covered_area_within(cov, geoms)
    p90 = _p90_distance_m(clipped, total, budget)
    p90_min = cov.cost_to_minutes(p90)
    # stations located in each town, by type
    st = cov.stations
    sidx, tidx = shapely.STRtree(geoms).query(st.geometry.to_numpy(), predicate="within")
    # a station on a shared border counts once (first town)
    _, first = np.unique(sidx, return_index=True)
    sidx, tidx = sidx[first], tidx[first]
    out = pd.DataFrame({
        "town_id": t["town_id"].to_numpy(),
        "name": t["name"].to_numpy(),
        "code": t["code"].to_numpy() if "code" in t.columns else None,
        "district": t["district"].to_numpy() if "district" in t.columns else None,
    })
    add_figure_columns(out, pop=pop, total=total, cov_len=cov_len, share=share,
                       covered_pop=covered_pop, basis=basis, area=area, cov_area=cov_area)
    types = st["type"].to_numpy()
    status = st["status"].to_numpy()
    out["stations_total"] = np.bincount(tidx, minlength=n)
    out["stations_used"] = np.bincount(tidx[status[sidx] == "used"], minlength=n)
    for ty in STATION_TYPES:
        sel = types[sidx] == ty
        out[f"stations_{ty}"] = np.bincount(tidx[sel], minlength=n)
    out["walk_time_p90_min"] = np.round(p90_min, 2)
    out["walk_time_p90_note"] = np.where(
        np.isfinite(p90_min), "",
        np.where(total > 0, f"> {cov.params.walk_time_min:g} min", "no streets"))
    rank_towns(out, pop=pop, covered_pop=covered_pop, total=total, cov_len=cov_len,
               share=share, basis=basis, walk_time_min=cov.params.walk_time_min,
               mode=cov.params.mode)
    gdf = gpd.GeoDataFrame(out, geometry=list(geoms), crs=net.crs).sort_values("rank")
    basis_en = "street length" if basis == "street_length" else "population"
    basis_zh = "街道长度" if basis == "street_length" else "人口"
    rule_en = RANKING_RULE_EN.format(basis=basis_en, minutes=cov.params.walk_time_min)
    rule_zh = RANKING_RULE_ZH.format(basis_zh=basis_zh, minutes=cov.params.walk_time_min)
    rule_en = reword_for_mode(rule_en, cov.params.mode)
    rule_zh = reword_for_mode(rule_zh, cov.params.mode)
    note_en = GRID_NOTE_EN.format(size=grid_size_m) if is_grid else ""
    note_zh = GRID_NOTE_ZH.format(size=grid_size_m) if is_grid else ""
    if h3_resolution is not None:
        cell_km2 = cell_area_km2(h3_resolution)
        note_en = H3_NOTE_EN.format(res=h3_resolution, area=cell_km2)
        note_zh = H3_NOTE_ZH.format(res=h3_resolution, area=cell_km2)
    if not is_grid and basis == "street_length" and n:
        note_en = "Population is missing for some towns: demand is street length."
        note_zh = "部分镇街缺少人口数据：需求按街道长度计。"
    return TownReport(
        towns=gdf.reset_index(drop=True), demand_basis=basis, is_grid=is_grid,
        ranking_rule_en=rule_en, ranking_rule_zh=rule_zh, note_en=note_en, note_zh=note_zh,
        outside_length_m=float(max(net.total_length_m - total.sum(), 0.0)),
    )


def zone_report(cov: Coverage, zones: gpd.GeoDataFrame) -> pd.DataFrame:
    """Per rider zone: street length inside, share within the budget, nearest station.

    ``nearest_walk_time_min`` is the trip (walk, ride or drive: the run's mode) from the
    zone's closest street point to its nearest station (``NaN`` when no station is
    within the budget).
    """
    require_crs(zones, cov.network.crs, what="zones")
    z = zones.reset_index(drop=True)
    n = len(z)
    budget = cov.cost_budget
    parts = edge_parts(cov.network, z.geometry.to_numpy())
    clipped = clip_segments(cov.segments, parts)
    total = np.bincount(parts["part"].to_numpy(dtype=np.int64),
                        weights=(parts["q"] - parts["p"]).to_numpy(), minlength=n)
    cov_len = np.bincount(clipped["part"].to_numpy(dtype=np.int64),
                          weights=covered_length(clipped, budget), minlength=n)
    best = np.full(n, np.inf)
    best_src = np.full(n, -1, dtype=np.int64)
    if len(clipped):
        d = np.concatenate([clipped["d0"].to_numpy(), clipped["d1"].to_numpy()])
        s = np.concatenate([clipped["s0"].to_numpy(), clipped["s1"].to_numpy()])
        p = np.concatenate([clipped["part"].to_numpy(), clipped["part"].to_numpy()])
        order = np.lexsort((d, p))
        first = np.ones(order.size, dtype=bool)
        first[1:] = p[order][1:] != p[order][:-1]
        sel = order[first]
        best[p[sel]] = d[sel]
        best_src[p[sel]] = s[sel]
    used = cov.used
    ids = used["station_id"].to_numpy()
    names = used["name"].to_numpy()
    within = np.isfinite(best) & (best <= budget)
    minutes = cov.cost_to_minutes(best)
    return pd.DataFrame({
        "zone_id": z["zone_id"].to_numpy(),
        "name": z["name"].to_numpy(),
        "street_length_m": np.round(total, 1),
        "covered_length_m": np.round(cov_len, 1),
        "covered_length_share": np.round(np.divide(cov_len, total, out=np.full(n, np.nan),
                                                   where=total > 0), 4),
        "nearest_station_id": np.where(within, ids[np.maximum(best_src, 0)], None),
        "nearest_station_name": np.where(within, names[np.maximum(best_src, 0)], None),
        "nearest_walk_time_min": np.where(within, np.round(minutes, 2), np.nan),
        "station_within_threshold": within,
    })


def add_figure_columns(out: pd.DataFrame, *, pop: np.ndarray, total: np.ndarray,
                       cov_len: np.ndarray, share: np.ndarray, covered_pop: np.ndarray,
                       basis: DemandBasis, area: np.ndarray, cov_area: np.ndarray) -> None:
    """The town table's figure columns, rounded as ``towns.csv`` writes them (shared by
    :func:`town_report` and the batch merge, so both tables are the same)."""
    n = len(out)
    out["population"] = pop
    out["total_length_m"] = np.round(total, 1)
    out["covered_length_m"] = np.round(cov_len, 1)
    out["covered_length_share"] = np.round(share, 4)
    out["covered_population"] = np.round(covered_pop, 0)
    out["covered_population_share"] = np.round(share, 4) if basis == "population" else \
        np.round(np.divide(covered_pop, pop, out=np.full(n, np.nan), where=pop > 0), 4) \
        if basis == "population_raster" else np.nan
    out["area_m2"] = np.round(area, 0)
    out["covered_area_m2"] = np.round(cov_area, 0)
    out["covered_area_share"] = np.round(np.divide(cov_area, area, out=np.full(n, np.nan),
                                                   where=area > 0), 4)


def rank_towns(out: pd.DataFrame, *, pop: np.ndarray, covered_pop: np.ndarray,
               total: np.ndarray, cov_len: np.ndarray, share: np.ndarray,
               basis: DemandBasis | str, walk_time_min: float, mode: str = "walk") -> None:
    """Uncovered demand, rank (most uncovered first, then lowest share) and the reasons
    (in ``mode``'s words), in place (shared by :func:`town_report` and the batch merge)."""
    if is_people(basis):
        uncovered = pop - covered_pop
        unit_en, unit_zh = "people", "人"
    else:
        uncovered = total - cov_len
        unit_en, unit_zh = "m of street", "米街道"
    n = len(out)
    out["demand_basis"] = basis
    out["uncovered_demand"] = np.round(uncovered, 1)
    order = np.lexsort((np.nan_to_num(share, nan=1.0), -np.nan_to_num(uncovered, nan=-1.0)))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(1, n + 1)
    out["rank"] = rank
    out["reason_en"] = [
        f"uncovered {u:,.0f} {unit_en}; {s:.0%} of streets within {walk_time_min:g} "
        f"min; {k} station(s) in the area" if np.isfinite(s) else "no walkable streets"
        for u, s, k in zip(uncovered, share, out["stations_used"], strict=True)
    ]
    out["reason_zh"] = [
        f"未覆盖{u:,.0f}{unit_zh}；{walk_time_min:g}分钟覆盖街道{s:.0%}；区内站点{k}个"
        if np.isfinite(s) else "无可步行街道"
        for u, s, k in zip(uncovered, share, out["stations_used"], strict=True)
    ]
    if mode != "walk":
        for col in ("reason_en", "reason_zh"):
            out[col] = [reword_for_mode(t, mode) for t in out[col]]
