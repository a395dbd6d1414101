"""Figures and files shared by a partition's own outputs and the merged batch outputs.

Towns are finalised from *sums* (street length, covered length, covered area) and the
90th-percentile walk distance, with the ranking rule of
:func:`geo.coverage.towns.town_report`, so a merged table equals a whole-network run's.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.coverage.cells import cell_area_km2
from geo.coverage.towns import (
    H3_NOTE_EN,
    H3_NOTE_ZH,
    RANKING_RULE_EN,
    RANKING_RULE_ZH,
    add_figure_columns,
    rank_towns,
    town_demand,
)
from geo.crs import WGS84
from geo.io.sheetsafe import write_csv
from geo.network.modes import mode_summary
from geo.params import CoverageParams
from geo.pipeline.job import BASES_NOTE_EN, __version__
from geo.schema import STATION_TYPES
from geo.vocab import is_people, reword_for_mode

#: the per-town sums a partition reports (besides the identifying columns)
SUM_COLUMNS: Final = ("total_m", "covered_m", "covered_area_m2")
TOWN_ID_COLUMNS: Final = ("town_id", "name", "code", "district", "population")
_ = BASES_NOTE_EN  # bases are not part of a batch run (see summary["bases"])


def station_counts(town_geoms: np.ndarray, stations: gpd.GeoDataFrame) -> pd.DataFrame:
    """Stations located in each town (total, used, by type); a station on a shared
    border counts once (first town) — as :func:`town_report` counts them."""
    n = len(town_geoms)
    sidx, tidx = shapely.STRtree(town_geoms).query(stations.geometry.to_numpy(),
                                                    predicate="within")
    _, first = np.unique(sidx, return_index=True)
    sidx, tidx = sidx[first], tidx[first]
    types = stations["type"].to_numpy()
    status = stations["status"].to_numpy()
    out = {"stations_total": np.bincount(tidx, minlength=n),
           "stations_used": np.bincount(tidx[status[sidx] == "used"], minlength=n)}
    for ty in STATION_TYPES:
        out[f"stations_{ty}"] = np.bincount(tidx[types[sidx] == ty], minlength=n)
    return pd.DataFrame(out)


def finalize_towns(sums: gpd.GeoDataFrame, counts: pd.DataFrame, p90_m: np.ndarray, *,
                   params: CoverageParams, is_grid: bool,
                   people: tuple[np.ndarray, np.ndarray] | None = None
                   ) -> tuple[gpd.GeoDataFrame, str]:
    """The ranked town table (as ``towns.csv``) and its demand basis, from per-town sums.

    ``sums`` has :data:`TOWN_ID_COLUMNS`, :data:`SUM_COLUMNS` and the geometry (network
    CRS); ``counts`` is :func:`station_counts`; ``p90_m`` the 90th-percentile cost (metres,
    or seconds by car: ``params.cost_unit``);
    ``people`` (people inside, covered people per town, from a population raster) makes
    them the demand (``population_raster``), as ``town_report`` does.
    """
    n = len(sums)
    total = sums["total_m"].to_numpy(dtype=float)
    cov_len = sums["covered_m"].to_numpy(dtype=float)
    share = np.divide(cov_len, total, out=np.full(n, np.nan), where=total > 0)
    pop, covered_pop, basis = town_demand(sums, share, is_grid=is_grid, people=people)
    geoms = sums.geometry.to_numpy()
    area = shapely.area(geoms)
    cov_area = sums["covered_area_m2"].to_numpy(dtype=float)
    out = pd.DataFrame({c: sums[c].to_numpy() for c in ("town_id", "name", "code", "district")})
    add_figure_columns(out, pop=pop, total=total, cov_len=cov_len, share=share,
                       covered_pop=covered_pop, basis=basis, area=area, cov_area=cov_area)
    for c in counts.columns:
        out[c] = counts[c].to_numpy()
    p90_min = params.cost_to_minutes(np.asarray(p90_m, dtype=float))
    out["walk_time_p90_min"] = np.round(p90_min, 2)
    out["walk_time_p90_note"] = np.where(
        np.isfinite(p90_min), "",
        np.where(total > 0, f"> {params.walk_time_min:g} min", "no streets"))
    rank_towns(out, pop=pop, covered_pop=covered_pop, total=total, cov_len=cov_len,
               share=share, basis=basis, walk_time_min=params.walk_time_min,
               mode=params.mode)
    gdf = gpd.GeoDataFrame(out, geometry=list(geoms), crs=sums.crs).sort_values("rank")
    return gdf.reset_index(drop=True), basis


def towns_block(towns: pd.DataFrame, *, basis: str, is_grid: bool, params: CoverageParams,
                h3_resolution: int | None, outside_length_m: float) -> dict[str, Any]:
    """``summary["towns"]`` as ``yizhan coverage`` writes it."""
    minutes = params.walk_time_min
    basis_en = "population" if is_people(basis) else "street length"
    basis_zh = "人口" if is_people(basis) else "街道长度"
    note_en = note_zh = ""
    if is_grid and h3_resolution is not None:
        note_en = H3_NOTE_EN.format(res=h3_resolution, area=cell_area_km2(h3_resolution))
        note_zh = H3_NOTE_ZH.format(res=h3_resolution, area=cell_area_km2(h3_resolution))
    elif basis == "street_length" and len(towns):
        note_en = "Population is missing for some towns: demand is street length."
        note_zh = "部分镇街缺少人口数据：需求按街道长度计。"
    return {
        "count": len(towns), "is_grid": is_grid,
        "ranking_rule": reword_for_mode(RANKING_RULE_EN.format(basis=basis_en,
                                                               minutes=minutes), params.mode),
        "ranking_rule_zh": reword_for_mode(RANKING_RULE_ZH.format(basis_zh=basis_zh,
                                                                  minutes=minutes),
                                           params.mode),
        "note": note_en or None, "note_zh": note_zh or None,
        "street_length_outside_towns_m": round(max(outside_length_m, 0.0), 1),
        "most_underserved": towns.sort_values("rank").head(5)["name"].tolist(),
    }


def station_block(stations: pd.DataFrame, *, rows_in: int, rejected: int) -> dict[str, Any]:
    """``summary["stations"]`` from a ``stations.csv`` table."""
    status = stations["status"]
    return {"input": int(rows_in), "rejected": int(rejected),
            "used": int((status == "used").sum()),
            "off_network": int((status == "off_network").sum()),
            "by_type": {t: int(((stations["type"] == t) & (status != "rejected")).sum())
                        for t in STATION_TYPES}}


def summary_base(*, region: str, params: CoverageParams, inputs: dict[str, Any],
                 network: dict[str, Any], stations: dict[str, Any], covered_m: float,
                 total_m: float, covered_area_m2: float, towns: pd.DataFrame, basis: str,
                 towns_summary: dict[str, Any], h3_resolution: int | None,
                 timings_s: dict[str, float],
                 people: dict[str, Any] | None = None) -> dict[str, Any]:
    """The keys of ``yizhan coverage``'s ``summary.json`` (:class:`geo.pipeline.job.Summary`);
    ``people`` (:func:`people_block`) with a population raster."""
    pop = pd.to_numeric(towns["population"], errors="coerce")
    pop_share = None
    if is_people(basis) and pop.sum() > 0:
        pop_share = round(float(towns["covered_population"].sum() / pop.sum()), 6)
    cells = None
    if h3_resolution is not None:
        cells = {"system": "H3", "resolution": h3_resolution,
                 "average_cell_area_km2": round(cell_area_km2(h3_resolution), 4),
                 "count": len(towns),
                 "note": "no town boundaries were given: towns.csv / towns.geojson rows are "
                         "H3 cells; town_id is the H3 index"}
    return {
        "yizhan_version": __version__,
        "generated_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "region": region, "synthetic_data": False, "disclaimer": None,
        "params": {**params.to_dict(),
                   **mode_summary(params.mode, speed_kmh=params.walk_speed_kmh),
                   "service_area_construction":
                       f"reached street stretches buffered by {params.buffer_m:g} m, unioned"},
        "inputs": inputs, "network": network, "stations": stations,
        "covered_length_m": round(covered_m, 1), "total_length_m": round(total_m, 1),
        "covered_length_share": round(covered_m / total_m, 6) if total_m else None,
        "covered_area_m2": round(covered_area_m2, 1),
        "covered_population_share": pop_share,
        "covered_population": None if people is None else people["covered_population"],
        "total_population": None if people is None else people["total_population"],
        "population": people, "demand_basis": basis,
        "towns": towns_summary, "zones": None, "bases": None, "analysis_cells": cells,
        "station_areas": {"mode": "false", "written": False, "count": 0,
                          "note": "a batch run builds the service-area union only: "
                                  "coverage.geojson holds it; service_areas.geojson is not "
                                  "written"},
        "timings_s": {k: round(v, 4) for k, v in timings_s.items()},
    }


def people_block(describe: dict[str, Any], *, covered_population: float,
                 towns: pd.DataFrame) -> dict[str, Any]:
    """``summary["population"]`` of a batch: the raster (one partition's window
    described), the people inside the union (summed over the partitions' owned union
    parts) and inside the towns or cells (summed over the towns)."""
    total = float(pd.to_numeric(towns["population"], errors="coerce").sum())
    in_units = float(pd.to_numeric(towns["covered_population"], errors="coerce").sum())
    keep = {k: v for k, v in describe.items()
            if k not in ("window_cells", "nodata_cells", "negative_cells")}  # per window
    return {**keep, "demand_basis": "population_raster",
            "covered_population": round(covered_population, 1),
            "total_population": round(total, 1),
            "covered_population_in_units": round(in_units, 1),
            "covered_population_share": round(in_units / total, 6) if total > 0 else None,
            "note": "batch: each partition read its own window of the raster; people "
                    "inside each town are counted by one partition, covered people by "
                    "the partitions owning the union tiles (exact area-weighted sums)"}


def _num(x: Any) -> Any:
    if isinstance(x, (float, np.floating)):
        return None if not np.isfinite(x) else round(float(x), 3)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return str(x)


def write_json(path: Path, obj: Any) -> None:
    """JSON (UTF-8, numpy numbers converted), written atomically."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(obj, ensure_ascii=False, indent=2, default=_num),
                   encoding="utf-8")
    os.replace(tmp, path)


def write_files(out: Path, *, summary: dict[str, Any], stations: pd.DataFrame,
                towns: gpd.GeoDataFrame, union: shapely.Geometry, crs: Any,
                params: CoverageParams) -> dict[str, Path]:
    """``summary.json``, ``stations.csv``, ``towns.csv``/``.geojson`` and ``coverage.geojson``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"stations.csv": out / "stations.csv", "towns.csv": out / "towns.csv",
             "towns.geojson": out / "towns.geojson", "coverage.geojson": out / "coverage.geojson"}
    write_csv(stations, paths["stations.csv"])
    write_csv(pd.DataFrame(towns.drop(columns="geometry")), paths["towns.csv"])
    towns.to_crs(WGS84).to_file(paths["towns.geojson"], driver="GeoJSON", engine="pyogrio")
    cov = gpd.GeoDataFrame({
        "covered_area_m2": [round(float(shapely.area(union)), 1)],
        "walk_time_min": [params.walk_time_min], "walk_speed_kmh": [params.walk_speed_kmh],
        "buffer_m": [params.buffer_m]}, geometry=[union], crs=crs)
    cov.to_crs(WGS84).to_file(paths["coverage.geojson"], driver="GeoJSON", engine="pyogrio")
    write_json(out / "summary.json", summary)
    paths["summary.json"] = out / "summary.json"
    return paths
