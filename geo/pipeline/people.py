"""People covered, from a population raster: the region, towns, zones and stations.

With a :class:`~geo.population.raster.PopulationGrid` every figure is an exact
area-weighted sum (:mod:`geo.population.sums`):

* ``covered_population`` — people inside the service-area union;
* ``total_population`` — people inside the analysis units (the towns, or the H3 cells
  that hold the network's streets when there are no towns);
* per unit (town or cell): people inside it and inside its part of the union — these
  are the towns' demand (``demand_basis: "population_raster"``);
* per zone: people inside it and inside its part of the union;
* per station: people inside its own service area, and inside its part of the
  nearest-station split (when built);
* the uncovered people by cell (inside the units, outside the union) for the map.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Final

import geopandas as gpd
import h3
import numpy as np
import pyproj
import shapely

from geo.coverage.cells import MIN_H3_RESOLUTION
from geo.crs import WGS84, transform_xy
from geo.population.raster import PopulationGrid, read_population
from geo.population.sums import cell_cover, population_sums

#: The raster window is the region's bounds grown by this much (metres).
WINDOW_MARGIN_M: Final = 500.0
#: Without towns the units are H3 cells holding streets, which reach beyond the streets
#: by up to a cell's diameter: the window grows by that of the coarsest resolution.
CELLS_MARGIN_M: Final = 2.2 * float(h3.average_hexagon_edge_length(MIN_H3_RESOLUTION,
                                                                     unit="m"))
SYNTHETIC_NOTE: Final = "synthetic population raster (generated in code; no real people)"


@dataclass(frozen=True, eq=False)
class UnitPeople:
    """People per analysis unit (town / cell): inside it and inside its covered part."""

    population: np.ndarray
    covered_population: np.ndarray
    valid_share: np.ndarray


@dataclass(frozen=True, eq=False)
class PeopleFigures:
    """Every people figure of one coverage run (read-only)."""

    grid: PopulationGrid
    covered_population: float
    total_population: float
    valid_share: float  # share of the units' area over raster cells with a value
    units: UnitPeople
    station_population: np.ndarray | None  # per row of ServiceAreas.per_station
    nearest_population: np.ndarray | None  # per row of ServiceAreas.nearest_split
    zone_population: np.ndarray | None
    zone_covered_population: np.ndarray | None

    def summary(self) -> dict[str, Any]:
        """``summary.json["population"]``."""
        share = (self.covered_units_population / self.total_population
                 if self.total_population > 0 else None)
        return {**self.grid.describe(),
                "demand_basis": "population_raster",
                "covered_population": round(self.covered_population, 1),
                "total_population": round(self.total_population, 1),
                "covered_population_in_units": round(self.covered_units_population, 1),
                "covered_population_share": None if share is None else round(share, 6),
                "valid_area_share": round(self.valid_share, 6),
                "note": SYNTHETIC_NOTE if self.grid.synthetic else
                "exact area-weighted sums of the raster's cells (partial cells by the "
                "covered fraction); cells without a value count 0"}

    @property
    def covered_units_population(self) -> float:
        return float(self.units.covered_population.sum())


def load_population(path: str | os.PathLike[str], network_bounds: tuple[float, ...],
                    crs: pyproj.CRS, *, extra_bounds: tuple[float, ...] | None = None
                    ) -> PopulationGrid:
    """The window of the raster at ``path`` over the network (and ``extra_bounds``, e.g.
    the towns), both in ``crs``, grown by :data:`WINDOW_MARGIN_M` — and, without
    ``extra_bounds`` (no towns: the units are H3 cells), by :data:`CELLS_MARGIN_M`."""
    cells = extra_bounds is None
    b = np.array(network_bounds, dtype=float)
    if extra_bounds is not None and np.isfinite(extra_bounds).all():
        e = np.asarray(extra_bounds, dtype=float)
        b = np.array([min(b[0], e[0]), min(b[1], e[1]), max(b[2], e[2]), max(b[3], e[3])])
    m = WINDOW_MARGIN_M + (CELLS_MARGIN_M if cells else 0.0)
    return read_population(path, bounds=(b[0] - m, b[1] - m, b[2] + m, b[3] + m),
                           bounds_crs=crs)


def unit_people(grid: PopulationGrid, units: np.ndarray, union: shapely.Geometry,
                crs: pyproj.CRS) -> UnitPeople:
    """People inside each unit and inside its intersection with ``union`` (in ``crs``)."""
    geoms = np.asarray(units, dtype=object)
    inside = population_sums(grid, geoms, crs)
    covered = population_sums(grid, shapely.intersection(geoms, union), crs)
    return UnitPeople(population=inside.population,
                      covered_population=np.minimum(covered.population, inside.population),
                      valid_share=inside.valid_share)


def people_figures(grid: PopulationGrid, *, units: np.ndarray, unit_figures: UnitPeople,
                   union: shapely.Geometry, crs: pyproj.CRS,
                   per_station: gpd.GeoDataFrame | None,
                   nearest_split: gpd.GeoDataFrame | None,
                   zones: gpd.GeoDataFrame | None) -> PeopleFigures:
    """The region's, zones' and stations' people (``unit_figures`` from :func:`unit_people`)."""
    region = shapely.union_all(np.asarray(units, dtype=object))
    total = population_sums(grid, [region], crs)
    covered = population_sums(grid, [union], crs).total_population
    zone_pop = zone_cov = None
    if zones is not None:
        zg = zones.geometry.to_numpy()
        zone_pop = population_sums(grid, zg, crs).population
        zone_cov = population_sums(grid, shapely.intersection(zg, union), crs).population
    return PeopleFigures(
        grid=grid, covered_population=covered, total_population=total.total_population,
        valid_share=float(np.nan_to_num(total.valid_share[0], nan=0.0)), units=unit_figures,
        station_population=_sums_of(grid, per_station, crs),
        nearest_population=_sums_of(grid, nearest_split, crs),
        zone_population=zone_pop, zone_covered_population=zone_cov)


def uncovered_cells(grid: PopulationGrid, *, units: np.ndarray, union: shapely.Geometry,
                    crs: pyproj.CRS) -> gpd.GeoDataFrame:
    """People outside the union, by raster cell, inside the units (WGS-84 cell centres).

    Columns ``uncovered_population``, ``population`` (the cell's, inside the units) and
    ``row``, ``col`` (in the raster window); only cells with uncovered people.
    """
    region = shapely.union_all(np.asarray(units, dtype=object))
    inside = _dense(grid, cell_cover(grid, region, crs))
    covered = _dense(grid, cell_cover(grid, shapely.intersection(region, union), crs))
    values = np.nan_to_num(grid.values, nan=0.0)
    pop = values * inside
    uncovered = values * np.clip(inside - covered, 0.0, 1.0)
    rows, cols = np.nonzero(uncovered > 0)
    t = grid.transform
    x = t.c + (cols + 0.5) * t.a
    y = t.f + (rows + 0.5) * t.e
    lon, lat = transform_xy(x, y, grid.crs, WGS84)
    return gpd.GeoDataFrame({
        "uncovered_population": np.round(uncovered[rows, cols], 2),
        "population": np.round(pop[rows, cols], 2), "row": rows, "col": cols,
    }, geometry=gpd.points_from_xy(lon, lat), crs=WGS84)


def _dense(grid: PopulationGrid, cover: Any) -> np.ndarray:
    out = np.zeros(grid.shape)
    out[cover.row, cover.col] = cover.fraction
    return out


def _sums_of(grid: PopulationGrid, frame: gpd.GeoDataFrame | None,
             crs: pyproj.CRS) -> np.ndarray | None:
    if frame is None:
        return None
    return population_sums(grid, frame.geometry.to_numpy(), crs).population
