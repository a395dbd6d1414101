"""People covered in a batch: each partition reads its own window of the population
raster, and the partitions' people add up to a whole-network run's.

Every figure is an exact area-weighted sum (:mod:`geo.population.sums`) over disjoint
pieces, so sums over partitions are the whole run's sums:

* **covered people** of a town (or cell) are those inside the town and inside the union
  parts of the union tiles a partition owns — the owned tiles are disjoint and hold the
  whole union, so the partitions' covered people of a town sum to ``people(town ∩
  union)``;
* **people inside** a town are counted by one partition only: the one that owns the
  town (:func:`town_owners`: the partition containing its representative point among
  those whose plan holds it); an H3 cell's people by the partition owning the cell's
  union tile;
* **people inside the union** are the sums over the owned tile parts.

A partition's window is its halo network, its towns or cells and its owned tiles,
grown by :data:`geo.pipeline.people.WINDOW_MARGIN_M`; the cells are never resampled.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.batch.partition import PartitionPlan, _owner
from geo.pipeline.people import load_population
from geo.population.raster import PopulationGrid
from geo.population.sums import population_sums

#: The key of the merge table: the town's index among the accepted towns, or the cell's
#: H3 index.
TOWN_KEY = "_town"
CELL_KEY = "town_id"


@dataclass(frozen=True, eq=False)
class PartitionPeople:
    """One partition's people (read-only).

    ``unit_population`` / ``unit_covered`` per row of the partition's towns or cells
    (people inside it; inside it and the owned union parts) — its own outputs;
    ``merge`` the rows the merge sums (``key``, ``population``, ``covered_population``);
    ``covered_population`` the people inside the owned union parts.
    """

    unit_population: np.ndarray
    unit_covered: np.ndarray
    merge: pd.DataFrame
    covered_population: float
    describe: dict[str, Any]


def town_owners(plans: list[PartitionPlan], polygons: gpd.GeoDataFrame,
                towns: gpd.GeoDataFrame) -> list[PartitionPlan]:
    """The plans with ``population_towns`` set: each accepted town (network CRS) is
    counted by exactly one partition. A town no plan holds (it meets no partition's
    core: no street of the network near it) is added to the plan of the partition its
    representative point belongs to, so its people are still counted once."""
    n = len(towns)
    polys = polygons.geometry.to_numpy()
    by_point = _owner(np.asarray(shapely.point_on_surface(towns.geometry.to_numpy()),
                                 dtype=object), polys) if n else np.zeros(0, np.int64)
    holders: list[set[int]] = [set() for _ in range(n)]
    index = {p.index: k for k, p in enumerate(plans)}
    for p in plans:
        if p.towns is not None:
            for t in p.towns[TOWN_KEY].to_numpy(dtype=np.int64):
                holders[int(t)].add(p.index)
    owned: dict[int, list[int]] = {p.index: [] for p in plans}
    extra: dict[int, list[int]] = {p.index: [] for p in plans}
    for t in range(n):
        want = int(by_point[t])
        if holders[t]:
            owned[want if want in holders[t] else min(holders[t])].append(t)
        elif want in index:
            owned[want].append(t)
            extra[want].append(t)
    return [_with_towns(p, towns, np.asarray(owned[p.index], dtype=np.int64),
                        extra[p.index]) for p in plans]


def _with_towns(plan: PartitionPlan, towns: gpd.GeoDataFrame, owned: np.ndarray,
                extra: list[int]) -> PartitionPlan:
    held = plan.towns
    if extra:
        add = towns.iloc[extra].copy()
        add[TOWN_KEY] = extra
        held = add.reset_index(drop=True) if held is None else \
            pd.concat([held, add], ignore_index=True)
    return dataclasses.replace(plan, towns=held, population_towns=np.sort(owned))


def partition_people(path: str, *, units: gpd.GeoDataFrame, tiles: gpd.GeoDataFrame,
                     parts_union: np.ndarray, union: shapely.Geometry, network_bounds: Any,
                     population_towns: np.ndarray | None) -> PartitionPeople:
    """The people of one partition from its window of the raster at ``path``.

    ``units`` are its towns (with ``_town``) or H3 cells (network CRS), ``tiles`` its
    owned union tiles with their parts ``parts_union``, ``union`` their merge;
    ``population_towns`` the towns (``_town``) whose people it counts (``None``: cells).
    """
    crs = units.crs
    grid = _window(path, units, tiles, network_bounds)
    geoms = units.geometry.to_numpy()
    unit_pop = population_sums(grid, geoms, crs).population
    unit_cov = np.minimum(population_sums(grid, shapely.intersection(geoms, union),
                                          crs).population, unit_pop)
    if population_towns is None:
        merge = _cell_rows(grid, tiles, parts_union, crs)
    else:
        counted = np.isin(units[TOWN_KEY].to_numpy(dtype=np.int64), population_towns)
        merge = pd.DataFrame({"key": units[TOWN_KEY].to_numpy(dtype=np.int64),
                              "population": np.where(counted, unit_pop, 0.0),
                              "covered_population": unit_cov})
    covered = population_sums(grid, [union], crs).total_population
    return PartitionPeople(unit_population=unit_pop, unit_covered=unit_cov, merge=merge,
                           covered_population=covered, describe=grid.describe())


def _window(path: str, units: gpd.GeoDataFrame, tiles: gpd.GeoDataFrame,
            network_bounds: Any) -> PopulationGrid:
    frames = [g for g in (units.geometry.to_numpy(), tiles.geometry.to_numpy()) if len(g)]
    extra = tuple(shapely.total_bounds(np.concatenate(frames))) if frames else None
    return load_population(path, tuple(network_bounds), units.crs, extra_bounds=extra)


def _cell_rows(grid: PopulationGrid, tiles: gpd.GeoDataFrame, parts_union: np.ndarray,
               crs: Any) -> pd.DataFrame:
    """People inside each owned tile (an H3 cell) and inside its union part."""
    inside = population_sums(grid, tiles.geometry.to_numpy(), crs).population
    covered = population_sums(grid, np.asarray(parts_union, dtype=object), crs).population
    return pd.DataFrame({"key": tiles[CELL_KEY].astype(str).to_numpy(),
                         "population": inside,
                         "covered_population": np.minimum(covered, inside)})


def merged_people(people: pd.DataFrame, keys: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(people inside, covered people) per merged town or cell (``keys`` in order) from
    the partitions' ``people.parquet`` rows: sums by key."""
    if people.empty:
        zero = np.zeros(len(keys))
        return zero, zero.copy()
    sums = people.groupby("key")[["population", "covered_population"]].sum()
    sums = sums.reindex(keys.to_numpy()).fillna(0.0)
    return (sums["population"].to_numpy(dtype=float),
            sums["covered_population"].to_numpy(dtype=float))
