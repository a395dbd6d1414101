"""Demand for site suggestions: what one covered street metre is worth.

``street_length`` — every metre of walkable street counts 1 (the whole network);
``population`` — every town's population spread over its streets in proportion to
street length (density = population / street length of the town; edges crossing a town
boundary are weighted per part, as :func:`geo.coverage.towns.edge_parts` cuts them).
``population_raster`` — people from a population raster (:mod:`geo.population`): the
people of each H3 cell (resolution :data:`RASTER_DEMAND_H3_RESOLUTION`, ≈ 0.1 km²),
summed exactly over the hexagon (area-weighted, ``population_sums``), spread over the
cell's streets (cut exactly at the cell edges, ``convex_cell_parts``). Why cells and
not the raster's own cells (``cell_cover``): the hexagons are convex, so the streets
are cut exactly and fast; a 100 m raster cell often holds no street, and spreading
it alone would drop its people, while a hexagon of ~340 m across almost always
holds one — people in a cell with no street cannot be reached on foot and are left
out (said in ``note``). The objective is then the people along the newly covered
streets: the coverage job measures the suggested sites' covered people exactly
(inside the service-area union) afterwards.
``auto`` uses the raster when one is given, else population when towns are given and
every town has one (the rule of :func:`geo.coverage.towns.town_report`), else street
length.

Any of these can be restricted to the streets inside rider-friendly zones
(:func:`geo.siting.zones.zone_demand`): the demand then carries ``parts`` on every
basis (density 1 per metre for street length) and the zone of each part.

:func:`build_demand` builds the model (:class:`Demand`); :func:`covered_demand` measures
a coverage run in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.coverage.cells import convex_cell_parts, h3_cells
from geo.coverage.core import Coverage
from geo.coverage.segments import clip_segments, covered_length
from geo.coverage.towns import edge_parts
from geo.errors import InvalidParameterError
from geo.network.model import WalkNetwork
from geo.population.raster import PopulationGrid
from geo.population.sums import population_sums
from geo.vocab import DemandBasis, DemandChoice

#: The demand bases a caller may ask for.
DEMAND_BASES: Final[tuple[DemandChoice, ...]] = ("auto", "population", "population_raster",
                                                 "street_length")
#: The H3 resolution whose cells spread a population raster's people over the streets.
RASTER_DEMAND_H3_RESOLUTION: Final = 9


@dataclass(frozen=True, eq=False)
class Demand:
    """The demand model: what one covered street metre is worth.

    ``parts`` (people bases, and every basis restricted to rider zones; ``None``: every
    street metre of the network counts 1) holds the pieces of edges that carry demand:
    ``part`` (town / cell index, or the piece's own index inside zones), ``edge``,
    ``p``, ``q`` (metres along the edge), ``density`` (people — or 1 for street length —
    per street metre there) and, inside rider zones, ``zone`` (index into ``zones``).
    ``towns`` (network CRS) is kept for labelling sites even on the street-length basis;
    ``zones`` (network CRS) is the rider-zone layer the demand is restricted to.
    """

    basis: DemandBasis
    total: float  # all demand: people (towns with streets) or street metres
    unit: str  # "people" | "m"
    towns: gpd.GeoDataFrame | None = None
    parts: pd.DataFrame | None = None
    note: str = ""
    zones: gpd.GeoDataFrame | None = None


def build_demand(network: WalkNetwork, towns: gpd.GeoDataFrame | None = None, *,
                 basis: DemandChoice = "auto",
                 population: PopulationGrid | None = None) -> Demand:
    """The demand model of ``network`` (``towns``: polygons with ``population``, any CRS;
    ``population``: a raster window over the network).

    ``basis``: ``"auto"`` (the raster when given, else population when every town has
    one, else street length), ``"population"``, ``"population_raster"`` or
    ``"street_length"``.
    """
    if basis not in DEMAND_BASES:
        raise InvalidParameterError(f"demand basis must be one of {DEMAND_BASES}, got {basis!r}")
    if basis == "population_raster" and population is None:
        raise InvalidParameterError(
            "demand basis 'population_raster' needs a population raster: give "
            "--population FILE")
    t = None
    if towns is not None and len(towns):
        if towns.crs is None:
            raise InvalidParameterError("the town layer has no CRS: declare it (WGS-84)")
        t = towns.to_crs(network.crs).reset_index(drop=True)
    if population is not None and basis in ("auto", "population_raster"):
        return raster_demand(network, population, towns=t)
    pop = (pd.to_numeric(t["population"], errors="coerce").to_numpy(dtype=float)
           if t is not None and "population" in t.columns else None)
    has_pop = pop is not None and bool(np.isfinite(pop).all())
    if basis == "population" and not has_pop:
        raise InvalidParameterError(
            "demand basis 'population' needs towns with a population for every town: "
            "give --towns with a population column, or use the street-length basis")
    if basis == "street_length" or (basis == "auto" and not has_pop):
        note = ("" if t is None or basis == "street_length"
                else "population is missing for some towns: demand is street length")
        return Demand(basis="street_length", total=network.total_length_m, unit="m",
                      towns=t, note=note)
    assert t is not None and pop is not None
    return _population_demand(network, t, pop)


def _population_demand(network: WalkNetwork, towns: gpd.GeoDataFrame,
                       pop: np.ndarray) -> Demand:
    """Every town's population ``pop`` spread over its streets (towns in the network CRS)."""
    parts = edge_parts(network, towns.geometry.to_numpy())
    part = parts["part"].to_numpy(dtype=np.int64)
    street = np.bincount(part, weights=(parts["q"] - parts["p"]).to_numpy(),
                         minlength=len(towns))
    density = np.divide(pop, street, out=np.zeros(len(towns)), where=street > 0)
    parts = parts.assign(part=part, density=density[part])
    note = ""
    if (street <= 0).any():
        note = (f"{int((street <= 0).sum())} town(s) without walkable streets: their "
                "population cannot be reached on foot and is left out")
    return Demand(basis="population", total=float(pop[street > 0].sum()), unit="people",
                  towns=towns, parts=parts, note=note)


def raster_demand(network: WalkNetwork, grid: PopulationGrid, *,
                  towns: gpd.GeoDataFrame | None = None,
                  h3_resolution: int = RASTER_DEMAND_H3_RESOLUTION) -> Demand:
    """People from the raster window ``grid``: each H3 cell's people (exact sums) spread
    over the cell's streets (see the module docstring); ``towns`` label the sites."""
    cells = h3_cells(network, resolution=h3_resolution)
    geoms = cells.geometry.to_numpy()
    parts = convex_cell_parts(network, geoms)
    part = parts["part"].to_numpy(dtype=np.int64)
    street = np.bincount(part, weights=(parts["q"] - parts["p"]).to_numpy(),
                         minlength=len(cells))
    people = population_sums(grid, geoms, network.crs).population
    density = np.divide(people, street, out=np.zeros(len(cells)), where=street > 0)
    parts = parts.assign(part=part, density=density[part])
    lost = float(people[street <= 0].sum())
    note = (f"people spread over the streets of H3 cells (resolution {h3_resolution}) "
            "from the population raster")
    if lost > 0:
        note += f"; {lost:,.0f} people in cells without a street are left out"
    return Demand(basis="population_raster", total=float(people[street > 0].sum()),
                  unit="people", towns=towns, parts=parts, note=note)


def covered_demand(cov: Coverage, demand: Demand) -> float:
    """Demand covered by a coverage run (street metres, or people spread over streets;
    inside rider zones only when the demand is restricted to them)."""
    if demand.parts is None:
        return cov.covered_length_m
    assert demand.parts is not None
    parts = demand.parts
    clipped = clip_segments(cov.segments, parts[["part", "edge", "p", "q"]])
    if clipped.empty:
        return 0.0
    dens = np.zeros(int(parts["part"].max()) + 1 if len(parts) else 1)
    dens[parts["part"].to_numpy()] = parts["density"].to_numpy()
    return float(np.sum(covered_length(clipped, cov.params.budget_m)
                        * dens[clipped["part"].to_numpy(dtype=np.int64)]))


__all__ = ["DEMAND_BASES", "Demand", "build_demand", "covered_demand", "raster_demand"]
