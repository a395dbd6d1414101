"""``yizhan batch --regions DIR``: a folder of prepared region folders (one per city),
each run whole as one Dask task, and the merge of their results.

Regions are independent (each its own network, stations and towns), so the merge is a
concatenation: stations and towns get a ``partition`` column, towns are ranked again
across all regions by the same rule, street lengths and counts add up, and the union is
the union of the regions' unions; the covered area is the sum of the regions' areas
(regions are meant not to overlap).
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.batch.outputs import write_json
from geo.batch.partition import safe_folder
from geo.batch.tasks import BATCH_FORMAT, MARKER, PartitionOutcome, worker_name
from geo.errors import InputFileError, YizhanError
from geo.network.loaders import file_sha256
from geo.params import CoverageParams
from geo.pipeline.job import run_region, stations_output, summary_dict, write_outputs
from geo.pipeline.region import list_region_folders, region_from_folder
from geo.vocab import is_people


@dataclass(frozen=True)
class RegionSpec:
    """One region folder to run on a worker."""

    name: str
    folder: str
    source_dir: str
    out_dir: str
    key: str
    params: CoverageParams
    h3_resolution: int
    cache_dir: str | None


def region_specs(regions_dir: str | os.PathLike[str], out: Path, *, params: CoverageParams,
                 h3_resolution: int, cache_dir: str | os.PathLike[str] | None
                 ) -> list[RegionSpec]:
    """A spec per region folder under ``regions_dir`` (content-keyed by its files)."""
    folders = list_region_folders(regions_dir)
    if not folders:
        raise InputFileError(f"{regions_dir} holds no region folder (a folder with network/, "
                             "an .osm.pbf, .osm or .graphml): prepare them first")
    return [RegionSpec(name=d.name, folder=safe_folder(d.name), source_dir=str(d),
                       out_dir=str(out / safe_folder(d.name)),
                       key=_folder_key(d, params, h3_resolution), params=params,
                       h3_resolution=h3_resolution,
                       cache_dir=None if cache_dir is None else str(cache_dir))
            for d in folders]


def _folder_key(folder: Path, params: CoverageParams, h3_resolution: int) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(folder)).encode())
            h.update(file_sha256(p).encode())
    h.update(repr((sorted(params.to_dict().items()), h3_resolution, BATCH_FORMAT,
                   folder.name)).encode())
    return h.hexdigest()[:32]


def run_region_task(spec: RegionSpec) -> PartitionOutcome:
    """Run one region folder and write its outputs (+ merge inputs, then the marker)."""
    t0 = time.perf_counter()
    try:
        region = region_from_folder(spec.source_dir, cache_dir=spec.cache_dir,
                                    mode=spec.params.mode)
        job = run_region(region, params=spec.params, per_station_areas=False,
                         h3_resolution=spec.h3_resolution)
        out = Path(spec.out_dir)
        write_outputs(job, out)
        d = out / "batch"
        d.mkdir(parents=True, exist_ok=True)
        stations_output(job).astype(object).to_parquet(d / "stations.parquet", index=False)
        towns = pd.DataFrame(job.towns.towns.drop(columns="geometry")).astype(
            {"code": object, "district": object})
        towns.to_parquet(d / "towns.parquet", index=False)
        pd.DataFrame({"wkb": [shapely.to_wkb(job.areas.union)]}).to_parquet(
            d / "union.parquet", index=False)
        s = summary_dict(job)
    except YizhanError as exc:
        return PartitionOutcome(name=spec.name, folder=spec.folder, key=spec.key,
                                status="failed", reason=" ".join(str(exc).split()),
                                wall_s=time.perf_counter() - t0, worker=worker_name())
    figures = {"covered_length_m": s["covered_length_m"], "total_length_m": s["total_length_m"],
               "covered_length_raw_m": job.coverage.covered_length_m,
               "total_length_raw_m": job.coverage.total_length_m,
               "covered_area_m2": s["covered_area_m2"], "stations": dict(s["stations"]),
               "network": {k: s["network"][k] for k in ("nodes", "edges")},
               "demand_basis": s["demand_basis"], "is_grid": s["towns"]["is_grid"],
               "covered_population_raw": s["covered_population"],
               "population": None if job.people is None else job.people.grid.describe()}
    outcome = PartitionOutcome(name=spec.name, folder=spec.folder, key=spec.key,
                               status="done", figures=figures,
                               wall_s=time.perf_counter() - t0, worker=worker_name())
    write_json(Path(spec.out_dir) / "batch" / MARKER, {"format": BATCH_FORMAT, **asdict(outcome)})
    return outcome


def merge_regions(ok: list[PartitionOutcome], out: Path, crs: Any
                  ) -> tuple[pd.DataFrame, gpd.GeoDataFrame, shapely.Geometry, str]:
    """(stations, towns ranked across regions, union (WGS-84), demand basis)."""
    st, towns, unions = [], [], []
    for o in ok:
        d = out / o.folder / "batch"
        s = pd.read_parquet(d / "stations.parquet")
        s.insert(0, "partition", o.name)
        st.append(s)
        t = gpd.read_file(out / o.folder / "towns.geojson", engine="pyogrio")
        t.insert(0, "partition", o.name)
        towns.append(t)
        u = gpd.read_file(out / o.folder / "coverage.geojson", engine="pyogrio")
        unions.extend(u.geometry.to_numpy())
    stations = pd.concat(st, ignore_index=True) if st else pd.DataFrame(
        columns=["partition", "station_id", "status", "type"])
    town = gpd.GeoDataFrame(pd.concat(towns, ignore_index=True), crs=crs) if towns else \
        gpd.GeoDataFrame({"partition": [], "name": [], "population": [], "rank": [],
                          "covered_population": []}, geometry=[], crs=crs)
    bases = {o.figures.get("demand_basis") for o in ok}
    basis = "street_length"
    if bases and all(is_people(b) for b in bases):  # people in every region
        basis = str(bases.pop()) if len(bases) == 1 else "population"
    if len(town):
        if basis == "street_length":
            town["uncovered_demand"] = np.round(town["total_length_m"]
                                                - town["covered_length_m"], 1)
        order = np.lexsort((town["covered_length_share"].fillna(1.0).to_numpy(),
                            -town["uncovered_demand"].fillna(-1.0).to_numpy()))
        rank = np.empty(len(town), dtype=np.int64)
        rank[order] = np.arange(1, len(town) + 1)
        town["rank_in_region"] = town["rank"]
        town["rank"] = rank
        town = town.sort_values("rank").reset_index(drop=True)
    union = shapely.union_all(np.asarray(unions, dtype=object)) if unions else shapely.Polygon()
    return stations, town, union, basis


def region_hulls(ok: list[PartitionOutcome], out: Path) -> gpd.GeoDataFrame:
    """Each finished region's outline (the convex hull of its towns or cells), WGS-84."""
    names, geoms = [], []
    for o in ok:
        t = gpd.read_file(out / o.folder / "towns.geojson", engine="pyogrio")
        if len(t):
            names.append(o.name)
            geoms.append(shapely.convex_hull(shapely.union_all(t.geometry.to_numpy())))
    return gpd.GeoDataFrame({"name": names}, geometry=geoms, crs="EPSG:4326")
