"""Exact area-weighted population sums over polygons (``exactextract``).

A cell partly inside a polygon counts by the covered fraction of the cell: the sum over
a polygon is ``Σ value × fraction``. Polygons are reprojected into the raster's CRS
(densified first, so straight edges stay faithful); the cells are never resampled.
Cells without a value count 0 and the share of each polygon's area over cells *with* a
value is returned beside the sums (``valid_share``), so missing data is visible.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geo.crs import as_crs, transform_geometries
from geo.population.raster import PopulationGrid

#: Polygon edges are split into pieces of at most this length (metres, or ~degrees ×
#: 1e-4 in a geographic CRS) before they are reprojected into the raster's CRS.
_SEGMENT_M: Final = 10.0
_SEGMENT_DEG: Final = 1e-4


@dataclass(frozen=True, eq=False)
class PopulationSums:
    """Per polygon: ``population`` (people) and ``valid_share`` (share of its area over
    cells with a value; NaN for an empty polygon)."""

    population: np.ndarray
    valid_share: np.ndarray

    @property
    def total_population(self) -> float:
        return float(self.population.sum())


@dataclass(frozen=True, eq=False)
class CellCover:
    """The cells a polygon touches: ``row``, ``col``, covered ``fraction`` (0–1]."""

    row: np.ndarray
    col: np.ndarray
    fraction: np.ndarray


def population_sums(grid: PopulationGrid, polygons: Any, crs: Any) -> PopulationSums:
    """People inside each polygon of ``polygons`` (in ``crs``), area-weighted exactly.

    Non-polygonal parts (lines, points of an intersection) are ignored; an empty or
    missing geometry sums to 0 with ``valid_share`` NaN.
    """
    geoms = _in_raster_crs(_polygonal(polygons), as_crs(crs), grid.crs)
    n = geoms.size
    pop = np.zeros(n)
    valid = np.full(n, np.nan)
    live = np.flatnonzero(~shapely.is_empty(geoms))
    if live.size:
        res = _extract(grid, geoms[live], ["sum", "count"])
        pop[live] = res["sum"].to_numpy(dtype=float)
        cell_area = grid.cell_size[0] * grid.cell_size[1]
        area = shapely.area(geoms[live])
        valid[live] = np.divide(res["count"].to_numpy(dtype=float) * cell_area, area,
                                out=np.full(live.size, np.nan), where=area > 0)
        valid[live] = np.minimum(valid[live], 1.0)
    return PopulationSums(population=pop, valid_share=valid)


def cell_cover(grid: PopulationGrid, polygon: Any, crs: Any) -> CellCover:
    """The covered fraction of every cell ``polygon`` (in ``crs``) touches."""
    geoms = _in_raster_crs(_polygonal([polygon]), as_crs(crs), grid.crs)
    if shapely.is_empty(geoms[0]):
        empty = np.zeros(0, dtype=np.int64)
        return CellCover(row=empty, col=empty, fraction=np.zeros(0))
    res = _extract(grid, geoms, ["cell_id", "coverage"])
    ids = np.asarray(res["cell_id"].iloc[0], dtype=np.int64)
    frac = np.asarray(res["coverage"].iloc[0], dtype=float)
    cols = grid.shape[1]
    return CellCover(row=ids // cols, col=ids % cols, fraction=frac)


def _polygonal(polygons: Any) -> np.ndarray:
    """Only the polygonal parts of each geometry (``None`` → empty polygon)."""
    geoms = np.asarray(polygons, dtype=object).ravel()
    out = np.empty(geoms.size, dtype=object)
    empty = shapely.Polygon()
    for i, g in enumerate(geoms):
        if g is None or shapely.is_empty(g):
            out[i] = empty
        elif shapely.get_type_id(g) in (3, 6):  # Polygon, MultiPolygon
            out[i] = g
        else:
            parts = [p for p in shapely.get_parts(g) if shapely.get_type_id(p) in (3, 6)]
            out[i] = shapely.union_all(parts) if parts else empty
    return out


def _in_raster_crs(geoms: np.ndarray, src: pyproj.CRS, dst: pyproj.CRS) -> np.ndarray:
    if src.equals(dst):
        return geoms
    step = _SEGMENT_DEG if src.is_geographic else _SEGMENT_M
    return transform_geometries(shapely.segmentize(geoms, step), src, dst)


def _extract(grid: PopulationGrid, geoms: np.ndarray, ops: list[str]) -> pd.DataFrame:
    from exactextract import exact_extract
    from exactextract.raster import NumPyRasterSource

    xmin, ymin, xmax, ymax = grid.bounds
    src = NumPyRasterSource(grid.values, xmin, ymin, xmax, ymax,
                            srs_wkt=grid.crs.to_wkt(), name="population")
    frame = gpd.GeoDataFrame({"i": np.arange(geoms.size)}, geometry=list(geoms),
                             crs=grid.crs)
    out = exact_extract(src, frame, ops, include_cols=["i"], output="pandas")
    return pd.DataFrame(out).sort_values("i").reset_index(drop=True)
