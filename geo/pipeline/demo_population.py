"""A SYNTHETIC population raster for the demo region, generated in code.

Each demo town's (invented) population is spread over the 100 m cells whose centre lies
in the town, in proportion to the street length in the cell: people live along streets,
none in the river, the lake or the park's interior. The grid is in the network's CRS,
tagged ``synthetic`` everywhere it is written or summarised. No real people.
"""

from __future__ import annotations

from typing import Final

import geopandas as gpd
import numpy as np
import shapely
from affine import Affine

from geo.crs import require_crs
from geo.network.model import WalkNetwork
from geo.population.raster import PopulationGrid, population_grid

DEMO_POPULATION_CELL_M: Final = 100.0
DEMO_POPULATION_SOURCE: Final = "synthetic demo population (generated in code)"
_SAMPLE_M: Final = 10.0


def demo_population(network: WalkNetwork, towns: gpd.GeoDataFrame, *,
                    cell_m: float = DEMO_POPULATION_CELL_M) -> PopulationGrid:
    """People per ``cell_m`` cell: each town's ``population`` over its cells by street
    length (``towns`` in the network's CRS)."""
    require_crs(towns, network.crs, what="demo towns")
    transform, rows, cols = _grid_over(towns.total_bounds, cell_m)
    street = _street_length_per_cell(network, transform, rows, cols)
    values = _spread_town_population(towns, street, transform)
    return population_grid(values, transform=transform, crs=network.crs,
                           source=DEMO_POPULATION_SOURCE, synthetic=True)


def _grid_over(bounds: np.ndarray, cell_m: float) -> tuple[Affine, int, int]:
    x0 = np.floor(bounds[0] / cell_m) * cell_m
    y1 = np.ceil(bounds[3] / cell_m) * cell_m
    cols = int(np.ceil((bounds[2] - x0) / cell_m))
    rows = int(np.ceil((y1 - bounds[1]) / cell_m))
    return Affine(cell_m, 0.0, float(x0), 0.0, -cell_m, float(y1)), rows, cols


def _street_length_per_cell(network: WalkNetwork, transform: Affine, rows: int,
                            cols: int) -> np.ndarray:
    """Street metres per cell, from points every :data:`_SAMPLE_M` along the streets."""
    pts = shapely.get_coordinates(shapely.segmentize(network.geometry, _SAMPLE_M))
    c = np.floor((pts[:, 0] - transform.c) / transform.a).astype(np.int64)
    r = np.floor((pts[:, 1] - transform.f) / transform.e).astype(np.int64)
    ok = (c >= 0) & (c < cols) & (r >= 0) & (r < rows)
    out = np.zeros((rows, cols))
    np.add.at(out, (r[ok], c[ok]), _SAMPLE_M)
    return out


def _spread_town_population(towns: gpd.GeoDataFrame, street: np.ndarray,
                            transform: Affine) -> np.ndarray:
    rows, cols = street.shape
    cc, rr = np.meshgrid(np.arange(cols), np.arange(rows))
    centres = shapely.points(transform.c + (cc.ravel() + 0.5) * transform.a,
                             transform.f + (rr.ravel() + 0.5) * transform.e)
    tree = shapely.STRtree(towns.geometry.to_numpy())
    cell_i, town_i = tree.query(centres, predicate="within")
    weights = street.ravel()[cell_i]
    pop = towns["population"].to_numpy(dtype=float)[town_i]
    per_town = np.bincount(town_i, weights=weights, minlength=len(towns))
    share = np.divide(weights, per_town[town_i], out=np.zeros_like(weights),
                      where=per_town[town_i] > 0)
    values = np.zeros(rows * cols)
    np.add.at(values, cell_i, pop * share)
    return values.reshape(rows, cols)
