"""Merging the partitions' results (``<out>/<partition>/batch/``) into whole-network
figures.

* **Streets**: every street is owned by one partition, so covered and total lengths
  (whole and per town) are sums.
* **Stations**: each station's row comes from the partition that owns it; its nearest
  covered street length is the sum over the partitions (its reach crosses borders).
* **Towns**: sums of street length, covered length and covered area; the 90th
  percentile trip time (by car from the pieces' cost per metre ``k``) from the owning
  partition when the town lies inside one partition with all its streets, else from the
  distance pieces of every partition. Station counts per town are recounted from the
  merged stations. Shares, covered population and the ranking are then computed once,
  as a whole-network run does.
* **People** (with a population raster, :mod:`geo.batch.people`): sums by town (or
  cell) of the people each partition counts; the basis is then ``population_raster``.
* **Union**: the union tiles are owned by one partition each, so the parts of all
  partitions are the whole run's parts; they are merged with
  :func:`geo.coverage.service_areas.merge_parts`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.batch.outputs import SUM_COLUMNS, finalize_towns, station_counts
from geo.batch.people import merged_people
from geo.batch.tasks import _p90
from geo.coverage.service_areas import merge_parts
from geo.params import CoverageParams


@dataclass(frozen=True, eq=False)
class Merged:
    """Merged figures (read-only): ``stations.csv`` rows, the town table, the union."""

    stations: pd.DataFrame
    towns: gpd.GeoDataFrame
    demand_basis: str
    union: shapely.Geometry
    town_length_m: float  # street length inside towns (the rest is outside every town)


def _read(folders: list[Path], name: str) -> pd.DataFrame:
    frames = [pd.read_parquet(f / "batch" / name) for f in folders]
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _has(folders: list[Path], name: str) -> bool:
    """Whether the partitions wrote ``name`` (all of them, or none: one batch's inputs)."""
    return bool(folders) and all((f / "batch" / name).is_file() for f in folders)


def merge_stations(folders: list[Path], rejected: pd.DataFrame) -> pd.DataFrame:
    """Owned station rows with the summed nearest length, then the rejected rows."""
    rows = _read(folders, "stations.parquet")
    if rows.empty:
        table = pd.DataFrame(columns=["station_id", "name", "status", "_row"])
    else:
        near = rows.groupby("_row")["_nearest_m"].sum()
        table = rows.loc[rows["_owned"].to_numpy(dtype=bool)].sort_values("_row")
        table = table.drop_duplicates("_row").copy()
        table["nearest_covered_length_m"] = np.round(
            near.reindex(table["_row"]).to_numpy(), 1)
    table = table.drop(columns=[c for c in ("_owned", "_nearest_m") if c in table.columns])
    if len(rejected):
        extra = pd.DataFrame({
            "station_id": rejected["id"].to_numpy(), "name": rejected["name"].to_numpy(),
            "status": "rejected", "status_reason": rejected["reason"].to_numpy(),
            "input_row": rejected["row"].to_numpy(),
        })
        table = pd.concat([table, extra], ignore_index=True)
    return table.reset_index(drop=True)


def _merged_p90(towns: pd.DataFrame, pieces: pd.DataFrame, key: str, totals: pd.Series,
                budget: float) -> pd.Series:
    """p90 per town (the run's cost unit: metres, or seconds by car with the pieces'
    slope ``k``): a local partition's value, else from every partition's pieces
    (grouped once; one quantile per shared town)."""
    local = towns.loc[towns["local"].to_numpy(dtype=bool)].drop_duplicates(key)
    p90 = pd.Series(np.nan, index=totals.index, dtype=float)
    local_keys = local[key].to_numpy()
    p90.loc[local_keys] = local["p90_m"].to_numpy(dtype=float)
    shared = totals.index[~totals.index.isin(local_keys)]
    if len(shared) and len(pieces):
        col = "town_id" if key == "town_id" else "_town"
        groups = pieces.groupby(col, sort=False).indices
        lo_all = pieces["lo"].to_numpy(dtype=float)
        span_all = pieces["span"].to_numpy(dtype=float)
        k_all = pieces["k"].to_numpy(dtype=float) if "k" in pieces.columns else None
        empty = np.zeros(0, dtype=np.int64)
        tot = totals.loc[shared].to_numpy(dtype=float)
        vals = []
        for k, t in zip(shared, tot, strict=True):
            idx = groups.get(k, empty)
            vals.append(_p90(lo_all[idx], span_all[idx], float(t), budget,
                             None if k_all is None else k_all[idx]))
        p90.loc[shared] = np.asarray(vals, dtype=float)
    return p90


def merge_towns(folders: list[Path], *, towns: gpd.GeoDataFrame | None,
                stations: gpd.GeoDataFrame, crs: object, params: CoverageParams
                ) -> tuple[gpd.GeoDataFrame, str, float]:
    """(ranked town table, demand basis, street length inside towns)."""
    reported = _read(folders, "towns.parquet")
    pieces = _read(folders, "pieces.parquet")
    is_grid = towns is None
    key = "town_id" if is_grid else "_town"
    if is_grid:
        base = reported.drop_duplicates("town_id").sort_values("town_id")
        base = gpd.GeoDataFrame(base[["town_id", "name", "code", "district", "population"]]
                                .reset_index(drop=True),
                                geometry=list(shapely.from_wkb(base["wkb"].to_numpy())),
                                crs=crs)
        keys = base["town_id"]
    else:
        assert towns is not None
        base = towns[["town_id", "name", "code", "district", "population", "geometry"]]
        base = base.reset_index(drop=True)
        keys = pd.Series(np.arange(len(base)))
    sums = reported.groupby(key)[list(SUM_COLUMNS)].sum() if len(reported) else \
        pd.DataFrame(columns=list(SUM_COLUMNS))
    sums = sums.reindex(keys.to_numpy()).fillna(0.0)
    p90 = _merged_p90(reported, pieces, key, sums["total_m"], params.budget_cost) \
        if len(reported) else pd.Series(np.nan, index=sums.index)
    for c in SUM_COLUMNS:
        base[c] = sums[c].to_numpy()
    counts = station_counts(base.geometry.to_numpy(), stations)
    people = _read(folders, "people.parquet") if _has(folders, "people.parquet") else None
    table, basis = finalize_towns(base, counts, p90.to_numpy(dtype=float), params=params,
                                  is_grid=is_grid,
                                  people=None if people is None else merged_people(people, keys))
    return table, basis, float(sums["total_m"].sum())


def merge_union(folders: list[Path]) -> shapely.Geometry:
    """The service-area union from every partition's tile parts (a Dask task in a
    batch: it runs on a worker while the driver merges stations and towns)."""
    parts = _read(folders, "union.parquet")
    if parts.empty:
        return shapely.Polygon()
    return merge_parts(np.asarray(shapely.from_wkb(parts["wkb"].to_numpy()), dtype=object))


def merge_partitions(folders: list[Path], *, accepted: gpd.GeoDataFrame,
                     rejected: pd.DataFrame, towns: gpd.GeoDataFrame | None,
                     params: CoverageParams,
                     union: Callable[[], shapely.Geometry] | None = None) -> Merged:
    """Merge the finished partitions in ``folders`` (see the module docstring).

    ``accepted`` are the accepted stations in the network CRS (row order = ``_row``),
    ``towns`` the accepted towns in the network CRS (``None``: H3 cells); ``union``
    returns the merged union when it is computed elsewhere (:func:`merge_union` on a
    worker), called after the stations and towns are merged.
    """
    table = merge_stations(folders, rejected)
    known = table.loc[table["status"] != "rejected"]
    st = accepted.iloc[known["_row"].to_numpy(dtype=np.int64)].copy()
    st["status"] = known["status"].to_numpy()
    town_table, basis, town_len = merge_towns(folders, towns=towns, stations=st,
                                              crs=accepted.crs, params=params)
    return Merged(stations=table.drop(columns=["_row"]), towns=town_table,
                  demand_basis=basis,
                  union=union() if union is not None else merge_union(folders),
                  town_length_m=town_len)
