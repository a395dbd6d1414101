"""The main job, headless: network + stations (+ towns, zones, bases) → coverage outputs.

:func:`run_coverage` works on loaded objects (used by the CLI, the app and reports);
:func:`run_coverage_files` loads the files first; :func:`run_demo` uses the built-in
synthetic demo region. :func:`write_outputs` writes the files of ``yizhan coverage``.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, TypedDict

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.coverage.cells import (
    DEFAULT_H3_RESOLUTION,
    cell_area_km2,
)
from geo.coverage.core import Coverage, compute_coverage
from geo.coverage.raster import DEFAULT_PIXEL_M, DISPLAY_MAX_PX
from geo.coverage.service_areas import (
    ServiceAreas,
    UnionMethod,
    area_within,
    build_service_areas,
)
from geo.coverage.towns import TownReport, town_report, zone_report
from geo.crs import WGS84
from geo.errors import NoStationsOnNetworkError, StationDataError
from geo.io.layers import LayerTable
from geo.io.sheetsafe import write_csv
from geo.network.model import WalkNetwork
from geo.network.modes import mode_summary
from geo.params import CoverageParams
from geo.pipeline.people import (
    PeopleFigures,
    UnitPeople,
    people_figures,
    uncovered_cells,
    unit_people,
)
from geo.pipeline.region import Region, demo_region, region_from_files
from geo.pipeline.units import AnalysisUnits, analysis_units, cached_analysis_units
from geo.population.raster import PopulationGrid
from geo.schema import STATION_TYPES
from geo.vocab import MODE_LABELS, DemandBasis

__version__ = "0.1.0"

BASES_NOTE_EN = ("Convalescence bases are reached by car or public transport, not on foot: "
                 "they are shown as a layer and excluded from walking coverage.")
BASES_NOTE_ZH = "职工疗休养基地以驾车或公共交通到达，不计入步行覆盖，仅作为图层展示。"


def bases_note(mode: str) -> tuple[str, str]:
    """``(zh, en)``: the bases are not part of the coverage of ``mode`` (walk: the
    :data:`BASES_NOTE_ZH` / :data:`BASES_NOTE_EN` sentences)."""
    if mode == "walk":
        return BASES_NOTE_ZH, BASES_NOTE_EN
    zh, en = MODE_LABELS.get(mode, (mode, mode))
    return (f"职工疗休养基地以驾车或公共交通到达，不计入{zh}覆盖，仅作为图层展示"
            "（驾车时间见报告的疗休养基地部分或 yizhan bases）。",
            f"Convalescence bases are reached by car or public transport: they are shown "
            f"as a layer and excluded from the {en.lower()} coverage (drive times: the "
            "report's bases section or yizhan bases).")


@dataclass(frozen=True, eq=False)
class CoverageJob:
    """Everything one coverage run produced (read-only)."""

    params: CoverageParams
    network: WalkNetwork
    coverage: Coverage
    areas: ServiceAreas
    towns: TownReport
    station_input: LayerTable
    zones: pd.DataFrame | None
    zones_layer: gpd.GeoDataFrame | None
    bases: gpd.GeoDataFrame | None
    region_name: str
    synthetic: bool
    inputs: dict[str, Any] = field(default_factory=dict)
    timings_s: dict[str, float] = field(default_factory=dict)
    disclaimer: str = ""
    zones_rejected: int = 0  # zone rows rejected on input (invalid polygon, duplicate id…)
    h3_resolution: int | None = None  # the analysis cells' resolution (None with towns)
    station_areas_mode: StationAreasMode = "auto"
    people: PeopleFigures | None = None  # with a population raster

    def summary(self) -> Summary:
        """What ``summary.json`` holds (:func:`summary_dict`)."""
        return summary_dict(self)


ProgressFn = Callable[[str, float], None]
"""``progress(stage, fraction)``: ``fraction`` 0 → 1 within the stage (see :data:`STAGES`)."""

#: The stages of a coverage job, in order, with their labels (zh, en).
STAGES: dict[str, tuple[str, str]] = {
    "coverage": ("计算覆盖（步行或骑行）", "coverage (walk or ride)"),
    "cells": ("划分分析网格", "analysis cells"),
    "union": ("生成服务范围", "service-area union"),
    "station_areas": ("生成各站点服务范围", "per-station service areas"),
    "towns": ("统计镇街", "town figures and ranking"),
    "zones": ("统计骑手友好场景", "rider zones"),
    "population": ("统计覆盖人口", "people covered (population raster)"),
}
#: ``per_station_areas="auto"`` builds them for at most this many used stations.
AUTO_STATION_AREAS_MAX = 500
#: The app's area grid (m): a parameter change must answer in seconds; 10 m measures the
#: union within about 0.5 % of the exact buffered union (5 m on a district-size extent,
#: where :func:`~geo.coverage.raster.refined_pixel_m` halves it). The CLI keeps 5 m.
APP_AREA_PIXEL_M: Final = 10.0
#: The app's drawn union: a grid of at most this many points (a city's contour on a
#: 40 m grid, the demo's on 20 m; the map simplifies it further, downloads keep it).
APP_DISPLAY_MAX_PX: Final = 3_000_000
StationAreasMode = bool | Literal["auto"]


def _want_station_areas(mode: StationAreasMode, n_used: int) -> bool:
    if mode == "auto":
        return n_used <= AUTO_STATION_AREAS_MAX
    return bool(mode)


def _notify(progress: ProgressFn | None, stage: str, fraction: float) -> None:
    if progress is not None:
        progress(stage, fraction)


def run_coverage(
    network: WalkNetwork,
    stations: LayerTable,
    *,
    params: CoverageParams | None = None,
    towns: LayerTable | None = None,
    zones: LayerTable | None = None,
    bases: LayerTable | None = None,
    region_name: str = "",
    synthetic: bool = False,
    inputs: dict[str, Any] | None = None,
    timings_s: dict[str, float] | None = None,
    per_station_areas: StationAreasMode = "auto",
    split_nearest: bool = False,
    h3_resolution: int = DEFAULT_H3_RESOLUTION,
    disclaimer: str = "",
    progress: ProgressFn | None = None,
    union_method: UnionMethod = "raster",
    area_pixel_m: float = DEFAULT_PIXEL_M,
    units: AnalysisUnits | None = None,
    population: PopulationGrid | None = None,
    units_cache_dir: str | os.PathLike[str] | None = None,
    area_display_max_px: int = DISPLAY_MAX_PX,
) -> CoverageJob:
    """Run coverage, service areas, towns and zones on loaded inputs.

    Without towns the analysis units are H3 cells at ``h3_resolution``. Per-station
    areas: ``True``, ``False`` or ``"auto"`` (built for at most
    :data:`AUTO_STATION_AREAS_MAX` used stations; :func:`service_area_of` builds any on
    demand). ``union_method``: ``"raster"`` (default: the covered area and the area per
    town measured on an ``area_pixel_m`` grid of exact distances, the union drawn as
    its contour — :mod:`geo.coverage.raster`) or ``"vector"`` (an overlay of every
    buffer, much slower). ``units`` (from :func:`analysis_units` on the same network,
    towns, resolution and buffer) skips rebuilding the towns/cells and their streets.
    ``progress(stage, fraction)`` is called for each of :data:`STAGES` run.
    ``population`` (a raster window, :mod:`geo.population`): people are the demand
    (``demand_basis`` ``"population_raster"``) and every people figure is measured.
    """
    params = params or CoverageParams()
    timings = dict(timings_s or {})
    if len(stations.accepted) == 0:
        raise NoStationsOnNetworkError(
            f"no valid station in the input ({stations.rows_in} rows, all rejected): "
            "see the rejection reasons in stations.csv",
            zh=f"输入中没有有效站点（{stations.rows_in} 行全部被拒绝）：原因见 stations.csv。",
        )
    _notify(progress, "coverage", 0.0)
    cov = compute_coverage(network, stations.accepted.to_crs(network.crs), params=params)
    timings.update(cov.timings_s)
    _notify(progress, "coverage", 1.0)
    areas, report, t_areas, unit_pop = _areas_and_towns(
        cov, towns, h3_resolution=h3_resolution, per_station_areas=per_station_areas,
        split_nearest=split_nearest, progress=progress, union_method=union_method,
        area_pixel_m=area_pixel_m, given=units, population=population,
        units_cache_dir=units_cache_dir, display_max_px=area_display_max_px)
    timings.update(t_areas)
    zone_df = zone_layer = None
    if zones is not None:
        t0 = time.perf_counter()
        _notify(progress, "zones", 0.0)
        zone_layer = zones.accepted.to_crs(network.crs)
        zone_df = zone_report(cov, zone_layer)
        _notify(progress, "zones", 1.0)
        timings["zones"] = time.perf_counter() - t0
    people = None
    if population is not None and unit_pop is not None:
        t0 = time.perf_counter()
        _notify(progress, "population", 0.0)
        people = people_figures(population, units=unit_pop[0], unit_figures=unit_pop[1],
                                union=areas.union, crs=network.crs,
                                per_station=areas.per_station,
                                nearest_split=areas.nearest_split, zones=zone_layer)
        _notify(progress, "population", 1.0)
        timings["population"] = timings.get("population", 0.0) + time.perf_counter() - t0
    if people is not None and zone_df is not None and people.zone_population is not None \
            and people.zone_covered_population is not None:
        zone_df = zone_df.assign(population=np.round(people.zone_population, 1),
                                 covered_population=np.round(people.zone_covered_population, 1))
    return CoverageJob(
        params=params, network=network, coverage=cov, areas=areas, towns=report,
        station_input=stations, zones=zone_df, zones_layer=zone_layer,
        bases=bases.accepted if bases is not None else None,
        region_name=region_name, synthetic=synthetic, inputs=dict(inputs or {}),
        timings_s=timings, disclaimer=disclaimer,
        zones_rejected=len(zones.rejected) if zones is not None else 0,
        h3_resolution=h3_resolution if report.is_grid else None,
        station_areas_mode=per_station_areas, people=people,
    )


def _areas_and_towns(cov: Coverage, towns: LayerTable | None, *, h3_resolution: int,
                     per_station_areas: StationAreasMode, split_nearest: bool,
                     progress: ProgressFn | None, union_method: UnionMethod = "raster",
                     area_pixel_m: float = DEFAULT_PIXEL_M,
                     given: AnalysisUnits | None = None,
                     population: PopulationGrid | None = None,
                     units_cache_dir: str | os.PathLike[str] | None = None,
                     display_max_px: int = DISPLAY_MAX_PX,
                     ) -> tuple[ServiceAreas, TownReport, dict[str, float],
                                tuple[np.ndarray, UnitPeople] | None]:
    """Analysis cells, the union (raster-measured, or by cells), per-station areas (if
    wanted) and towns (with ``population``: people per unit are their demand)."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    _notify(progress, "cells", 0.0)
    ok = given is not None and given.h3_resolution == h3_resolution and \
        given.buffer_m == cov.params.buffer_m and \
        given.is_grid == (towns is None or not len(towns.accepted)) and \
        (union_method == "raster" or given.tiles is not None)
    if given is not None and ok:
        au = given
    elif union_method == "raster":
        au = cached_analysis_units(cov.network, towns, cache_dir=units_cache_dir,
                                   h3_resolution=h3_resolution, buffer_m=cov.params.buffer_m)
    else:
        au = analysis_units(cov.network, towns, h3_resolution=h3_resolution,
                            buffer_m=cov.params.buffer_m, union_method=union_method)
    units, is_grid, tiles, parts = au.units, au.is_grid, au.tiles, au.parts
    _notify(progress, "cells", 1.0)
    timings["cells"] = time.perf_counter() - t0
    per = _want_station_areas(per_station_areas, cov.n_sources)
    t0 = time.perf_counter()
    _notify(progress, "union", 0.0)
    if per:
        _notify(progress, "station_areas", 0.0)
    areas = build_service_areas(cov, per_station=per, split_nearest=split_nearest,
                                tiles=tiles, method=union_method,
                                polygons=units.geometry.to_numpy(), pixel_m=area_pixel_m,
                                progress=progress, display_max_px=display_max_px)
    _notify(progress, "union", 1.0)
    if per:
        _notify(progress, "station_areas", 1.0)
    timings["service_areas"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    _notify(progress, "towns", 0.0)
    if areas.within_m2 is not None:
        cov_area = areas.within_m2
    elif is_grid and areas.union_parts is not None:
        cov_area = shapely.area(areas.union_parts[:len(units)])
    else:
        union_parts = areas.union_parts if areas.union_parts is not None \
            else np.array([areas.union], dtype=object)
        cov_area = area_within(union_parts, units.geometry.to_numpy())
    unit_pop = None
    if population is not None:
        t1 = time.perf_counter()
        geoms = units.geometry.to_numpy()
        unit_pop = (geoms, unit_people(population, geoms, areas.union, cov.network.crs))
        timings["population"] = time.perf_counter() - t1
    report = town_report(cov, units, union=areas.union, parts=parts, covered_area_m2=cov_area,
                         h3_resolution=h3_resolution if is_grid else None,
                         people=None if unit_pop is None else
                         (unit_pop[1].population, unit_pop[1].covered_population))
    _notify(progress, "towns", 1.0)
    timings["towns"] = time.perf_counter() - t0
    return areas, report, timings, unit_pop


def run_region(region: Region, *, params: CoverageParams | None = None,
               stations: LayerTable | None = None, split_nearest: bool = False,
               per_station_areas: StationAreasMode = "auto",
               h3_resolution: int = DEFAULT_H3_RESOLUTION,
               progress: ProgressFn | None = None, union_method: UnionMethod = "raster",
               area_pixel_m: float = DEFAULT_PIXEL_M,
               units: AnalysisUnits | None = None,
               units_cache_dir: str | os.PathLike[str] | None = None,
               area_display_max_px: int = DISPLAY_MAX_PX) -> CoverageJob:
    """Run the job on a :class:`~geo.pipeline.region.Region` (``stations`` overrides its list).

    ``progress(stage, fraction)`` is called for each stage run (:data:`STAGES`);
    ``union_method``, ``area_pixel_m``, ``units``, ``units_cache_dir`` and
    ``area_display_max_px`` as for :func:`run_coverage`.
    """
    stations = stations if stations is not None else region.stations
    if stations is None:
        raise StationDataError(
            f"region {region.label} has no station list: provide one (CSV station_id,name,"
            "type,lon,lat or GeoJSON)"
        )
    return run_coverage(
        region.network, stations, params=params, towns=region.towns, zones=region.zones,
        bases=region.bases, region_name=region.label, synthetic=region.synthetic,
        population=region.population,
        inputs=region.inputs, timings_s={"load_network": region.load_s},
        split_nearest=split_nearest, per_station_areas=per_station_areas,
        h3_resolution=h3_resolution, disclaimer=region.disclaimer, progress=progress,
        union_method=union_method, area_pixel_m=area_pixel_m, units=units,
        units_cache_dir=units_cache_dir, area_display_max_px=area_display_max_px,
    )


def run_coverage_files(
    network_path: str | os.PathLike[str],
    stations_path: str | os.PathLike[str],
    *,
    towns_path: str | os.PathLike[str] | None = None,
    zones_path: str | os.PathLike[str] | None = None,
    bases_path: str | os.PathLike[str] | None = None,
    params: CoverageParams | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    split_nearest: bool = False,
    bbox: tuple[float, float, float, float] | None = None,
    union_method: UnionMethod = "vector",
) -> CoverageJob:
    """Load the files and run the job; timings include loading.

    The network is loaded with the street filter of ``params.mode``. ``bbox`` (min_lon,
    min_lat, max_lon, max_lat) clips the network on loading.
    ``union_method`` defaults to ``"vector"`` here: this is the whole-run reference of
    ``yizhan batch``, whose merge sums the vector union's parts per tile.
    """
    region = region_from_files(network_path, stations_path=stations_path,
                               towns_path=towns_path, zones_path=zones_path,
                               bases_path=bases_path, bbox=bbox, cache_dir=cache_dir,
                               mode=(params or CoverageParams()).mode)
    return run_region(region, params=params, split_nearest=split_nearest,
                      union_method=union_method)


def run_demo(params: CoverageParams | None = None, *, split_nearest: bool = False,
             per_station_areas: StationAreasMode = "auto",
             h3_resolution: int = DEFAULT_H3_RESOLUTION,
             progress: ProgressFn | None = None, union_method: UnionMethod = "raster",
             area_pixel_m: float = DEFAULT_PIXEL_M,
             units: AnalysisUnits | None = None,
             population: bool = True) -> CoverageJob:
    """The job on the built-in synthetic demo region (no files, no internet), its streets
    prepared for ``params.mode`` (walk by default); ``population`` (default): with its
    synthetic population raster (people covered are the demand); ``False``: the towns'
    invented populations spread over their streets."""
    mode = (params or CoverageParams()).mode
    return run_region(demo_region(population=population, mode=mode), params=params,
                      split_nearest=split_nearest,
                      per_station_areas=per_station_areas, h3_resolution=h3_resolution,
                      progress=progress, union_method=union_method,
                      area_pixel_m=area_pixel_m, units=units)


# ------------------------------------------------------------------------------ outputs


def _num(x: Any) -> Any:
    if x is None:
        return None
    if isinstance(x, (float, np.floating)):
        return None if not np.isfinite(x) else round(float(x), 3)
    if isinstance(x, (np.integer,)):
        return int(x)
    return x


class StationCounts(TypedDict):
    """``summary["stations"]``: rows in, rejected, used and off-network, by type."""

    input: int
    rejected: int
    used: int
    off_network: int
    by_type: dict[str, int]


class TownsSummary(TypedDict):
    """``summary["towns"]``: how many, the ranking rule and the most under-served."""

    count: int
    is_grid: bool
    ranking_rule: str
    ranking_rule_zh: str
    note: str | None
    note_zh: str | None
    street_length_outside_towns_m: float
    most_underserved: list[str]


class ZonesSummary(TypedDict):
    """``summary["zones"]``: rider-friendly zones without a station within reach."""

    count: int
    without_station_within_threshold: list[str]
    rejected: Any


class BasesSummary(TypedDict):
    """``summary["bases"]``: convalescence bases (a layer, not walked)."""

    count: int
    note: str
    note_zh: str


class Summary(TypedDict):
    """``summary.json``: the keys every coverage run writes (see the README)."""

    yizhan_version: str
    generated_at: str
    region: str
    synthetic_data: bool
    disclaimer: str | None
    params: dict[str, Any]
    inputs: dict[str, Any]
    network: dict[str, Any]
    stations: StationCounts
    covered_length_m: float
    total_length_m: float
    covered_length_share: float | None
    covered_area_m2: float
    covered_population_share: float | None
    covered_population: float | None  # people inside the union (population raster)
    total_population: float | None  # people inside the towns / cells (population raster)
    population: dict[str, Any] | None  # the raster and its figures (PeopleFigures.summary)
    demand_basis: DemandBasis
    towns: TownsSummary
    zones: ZonesSummary | None
    bases: BasesSummary | None
    analysis_cells: AnalysisCellsSummary | None
    station_areas: StationAreasSummary
    timings_s: dict[str, float]


class AnalysisCellsSummary(TypedDict):
    """``summary["analysis_cells"]``: the H3 cells used instead of towns."""

    system: str
    resolution: int
    average_cell_area_km2: float
    count: int
    note: str


class StationAreasSummary(TypedDict):
    """``summary["station_areas"]``: whether per-station polygons were built and written."""

    mode: str
    written: bool
    count: int
    note: str


def summary_dict(job: CoverageJob) -> Summary:
    cov = job.coverage
    st = cov.stations
    town_df = job.towns.towns
    pop = pd.to_numeric(town_df["population"], errors="coerce")
    pop_share = None
    if job.towns.demand_basis in ("population", "population_raster") and pop.sum() > 0:
        pop_share = float(town_df["covered_population"].sum() / pop.sum())
    by_type = {t: int((st["type"] == t).sum()) for t in STATION_TYPES}
    zones_block: ZonesSummary | None = None
    if job.zones is not None:
        zones_block = {
            "count": len(job.zones),
            "without_station_within_threshold": job.zones.loc[
                ~job.zones["station_within_threshold"], "zone_id"].tolist(),
            "rejected": job.zones_rejected,
        }
    total = cov.total_length_m
    return {
        "yizhan_version": __version__,
        "generated_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "region": job.region_name,
        "synthetic_data": job.synthetic,
        "disclaimer": job.disclaimer or None,
        "params": {**job.params.to_dict(),
                   **mode_summary(job.params.mode, speed_kmh=job.params.walk_speed_kmh),
                   "service_area_construction": job.areas.construction},
        "inputs": job.inputs,
        "network": job.network.summary(),
        "stations": {
            "input": job.station_input.rows_in,
            "rejected": len(job.station_input.rejected),
            "used": int((st["status"] == "used").sum()),
            "off_network": int((st["status"] == "off_network").sum()),
            "by_type": by_type,
        },
        "covered_length_m": round(cov.covered_length_m, 1),
        "total_length_m": round(total, 1),
        "covered_length_share": round(cov.covered_length_m / total, 6) if total else None,
        "covered_area_m2": round(job.areas.union_area_m2, 1),
        "covered_population_share": None if pop_share is None else round(pop_share, 6),
        "covered_population": None if job.people is None
        else round(job.people.covered_population, 1),
        "total_population": None if job.people is None
        else round(job.people.total_population, 1),
        "population": None if job.people is None else job.people.summary(),
        "demand_basis": job.towns.demand_basis,
        "towns": {
            "count": len(town_df),
            "is_grid": job.towns.is_grid,
            "ranking_rule": job.towns.ranking_rule_en,
            "ranking_rule_zh": job.towns.ranking_rule_zh,
            "note": job.towns.note_en or None,
            "note_zh": job.towns.note_zh or None,
            "street_length_outside_towns_m": round(job.towns.outside_length_m, 1),
            "most_underserved": town_df.sort_values("rank").head(5)["name"].tolist(),
        },
        "zones": zones_block,
        "bases": None if job.bases is None else {
            "count": len(job.bases), "note": bases_note(job.params.mode)[1],
            "note_zh": bases_note(job.params.mode)[0]},
        "analysis_cells": _cells_block(job),
        "station_areas": _station_areas_block(job),
        "timings_s": {k: round(v, 4) for k, v in job.timings_s.items()},
    }


def _cells_block(job: CoverageJob) -> AnalysisCellsSummary | None:
    if job.h3_resolution is None:
        return None
    return {"system": "H3", "resolution": job.h3_resolution,
            "average_cell_area_km2": round(cell_area_km2(job.h3_resolution), 4),
            "count": len(job.towns.towns),
            "note": "no town boundaries were given: towns.csv / towns.geojson rows are H3 "
                    "cells; town_id is the H3 index"}


def _station_areas_block(job: CoverageJob) -> StationAreasSummary:
    per = job.areas.per_station
    mode = str(job.station_areas_mode).lower()
    if per is not None:
        note = "service_areas.geojson holds one exact polygon per used station"
    else:
        note = ("per-station service areas were not built (--station-areas all builds them; "
                f"auto builds them for at most {AUTO_STATION_AREAS_MAX} used stations): "
                "service_areas.geojson is not written; coverage.geojson holds the union")
    return {"mode": mode, "written": per is not None,
            "count": 0 if per is None else len(per), "note": note}


def stations_output(job: CoverageJob) -> pd.DataFrame:
    """Every input row: used / off_network stations and rejected rows with reasons."""
    cov = job.coverage
    table = cov.station_table()
    ll = cov.stations.geometry.to_crs(WGS84)
    table.insert(6, "lon", np.round(ll.x.to_numpy(), 7))
    table.insert(7, "lat", np.round(ll.y.to_numpy(), 7))
    rej = job.station_input.rejected
    if len(rej):
        extra = pd.DataFrame({
            "station_id": rej["id"].to_numpy(), "name": rej["name"].to_numpy(),
            "status": "rejected", "status_reason": rej["reason"].to_numpy(),
            "input_row": rej["row"].to_numpy(),
        })
        table = pd.concat([table, extra], ignore_index=True)
    return table


def _one_feature_geojson(gdf: gpd.GeoDataFrame, path: Path) -> Path:
    """A one-feature GeoJSON in WGS-84 written with GEOS's GeoJSON writer (the union has
    up to millions of vertices; pyogrio's writer takes seconds for them)."""
    ll = gdf.to_crs(WGS84)
    props = {str(k): _num(v) for k, v in ll.drop(columns="geometry").iloc[0].items()}
    text = ('{"type": "FeatureCollection", "name": ' + json.dumps(path.stem)
            + ', "crs": {"type": "name", "properties": {"name": '
            '"urn:ogc:def:crs:OGC:1.3:CRS84"}}, "features": [{"type": "Feature", '
            '"properties": ' + json.dumps(props, ensure_ascii=False)
            + ', "geometry": ' + shapely.to_geojson(ll.geometry.iloc[0]) + '}]}\n')
    path.write_text(text, encoding="utf-8")
    return path


def write_outputs(job: CoverageJob, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write the files of ``yizhan coverage`` into ``out_dir`` (created if needed)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}

    def _geojson(gdf: gpd.GeoDataFrame, name: str) -> None:
        p = out / name
        gdf.to_crs(WGS84).to_file(p, driver="GeoJSON", engine="pyogrio")
        paths[name] = p

    summary = summary_dict(job)
    p = out / "summary.json"
    p.write_text(json.dumps(summary, ensure_ascii=False, indent=2, default=_num),
                 encoding="utf-8")
    paths["summary.json"] = p
    p = out / "stations.csv"
    write_csv(stations_output(job), p)
    paths["stations.csv"] = p
    per = job.areas.per_station
    if per is not None and job.people is not None and job.people.station_population is not None:
        per = per.assign(population=np.round(job.people.station_population, 1))
    if per is not None:
        _geojson(per, "service_areas.geojson")
    cov_gdf = gpd.GeoDataFrame({
        "covered_area_m2": [round(job.areas.union_area_m2, 1)],
        "walk_time_min": [job.params.walk_time_min],
        "walk_speed_kmh": [job.params.walk_speed_kmh],
        "buffer_m": [job.params.buffer_m],
        "construction": [job.areas.construction],
    }, geometry=[job.areas.union], crs=job.network.crs)
    paths["coverage.geojson"] = _one_feature_geojson(cov_gdf, out / "coverage.geojson")
    near = job.areas.nearest_split
    if near is not None and job.people is not None and job.people.nearest_population is not None:
        near = near.assign(population=np.round(job.people.nearest_population, 1))
    if near is not None:
        _geojson(near, "service_areas_nearest.geojson")
    if job.people is not None:
        _geojson(uncovered_cells(job.people.grid, units=job.towns.towns.geometry.to_numpy(),
                                 union=job.areas.union, crs=job.network.crs),
                 "uncovered_population.geojson")
    towns = job.towns.towns
    p = out / "towns.csv"
    write_csv(pd.DataFrame(towns.drop(columns="geometry")), p)
    paths["towns.csv"] = p
    _geojson(towns, "towns.geojson")
    if job.zones is not None:
        p = out / "zones.csv"
        write_csv(job.zones, p)
        paths["zones.csv"] = p
    return paths
