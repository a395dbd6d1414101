"""Population rasters: the window of a GeoTIFF a region needs, nodata honoured.

Gridded population (WorldPop, GHS-POP, LandScan-style GeoTIFFs) holds *people per cell*.
:func:`read_population` opens the file with rasterio (GeoTIFF driver only: content that
is anything else, e.g. a VRT pointing at other files, is refused whatever its name),
reads only the cells over the bounds asked for (+ a margin of cells) and turns nodata
(the declared value, the dataset mask, NaN) and negative values into NaN, counted.

The cells are never resampled: a count raster resampled to another grid changes its
sums. Polygons are reprojected into the raster's CRS instead (:mod:`geo.population.sums`),
which is exact for the area-weighted sums.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import pyproj
from affine import Affine

from geo.crs import as_crs
from geo.errors import PopulationRasterError

#: At most this many cells are read (8 bytes each): a province at 100 m is ~18 M cells.
DEFAULT_MAX_CELLS: Final = 60_000_000
#: Extra cells read on every side of the bounds asked for.
DEFAULT_MARGIN_CELLS: Final = 2
_TIFF_MAGIC: Final = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
#: GDAL options while a user's raster is open: no directory listing (no sidecar files
#: found by name), no network.
_GDAL_ENV: Final = {"GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
                    "GDAL_HTTP_MAX_RETRY": "0", "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".none"}


@dataclass(frozen=True, eq=False)
class PopulationGrid:
    """People per cell over a north-up window (read-only).

    ``values`` (rows × cols, float64) is NaN where the raster has no value; ``transform``
    maps (col, row) to the window's CRS coordinates of the cell's top-left corner.
    """

    values: np.ndarray
    transform: Affine
    crs: pyproj.CRS
    source: str
    synthetic: bool = False
    nodata_cells: int = 0  # cells of the window without a value (nodata, mask, NaN)
    negative_cells: int = 0  # cells with a negative value (read as no value)

    @property
    def shape(self) -> tuple[int, int]:
        rows, cols = self.values.shape
        return int(rows), int(cols)

    @property
    def cell_size(self) -> tuple[float, float]:
        """(width, height) of a cell in the CRS's units (metres or degrees)."""
        return abs(self.transform.a), abs(self.transform.e)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) of the window in its CRS."""
        rows, cols = self.shape
        x0, y0 = self.transform.c, self.transform.f
        return x0, y0 + rows * self.transform.e, x0 + cols * self.transform.a, y0

    @property
    def total_population(self) -> float:
        """People in every cell of the window."""
        return float(np.nansum(self.values))

    def describe(self) -> dict[str, Any]:
        """What ``summary.json`` says about the raster."""
        return {"source": self.source, "crs": self.crs.to_string(),
                "cell_size": [round(v, 9) for v in self.cell_size],
                "window_cells": int(self.values.size), "nodata_cells": self.nodata_cells,
                "negative_cells": self.negative_cells, "synthetic": self.synthetic}


def population_grid(values: np.ndarray, *, transform: Affine, crs: Any, source: str,
                    synthetic: bool = False, nodata: float | None = None) -> PopulationGrid:
    """A :class:`PopulationGrid` from an array (synthetic rasters, tests).

    ``nodata`` cells, NaN and negative values become NaN (counted).
    """
    _check_transform(transform, source)
    arr = np.array(values, dtype=np.float64)
    if arr.ndim != 2 or arr.size == 0:
        raise PopulationRasterError(f"{source}: population values must be a 2-D array")
    missing = ~np.isfinite(arr)
    if nodata is not None and np.isfinite(nodata):
        missing |= arr == nodata
    return _finish(arr, missing, transform, as_crs(crs), source, synthetic)


def read_population(path: str | os.PathLike[str], *,
                    bounds: tuple[float, float, float, float], bounds_crs: Any,
                    margin_cells: int = DEFAULT_MARGIN_CELLS,
                    max_cells: int = DEFAULT_MAX_CELLS) -> PopulationGrid:
    """Read the cells of a population GeoTIFF over ``bounds`` (in ``bounds_crs``).

    Only that window (+ ``margin_cells`` on every side, clipped to the raster) is read;
    nodata, masked, NaN and negative cells become NaN and are counted.
    :class:`~geo.errors.PopulationRasterError` names what is wrong: not a GeoTIFF, no
    CRS, a rotated grid, no overlap with the bounds, or a window over ``max_cells``.
    """
    import rasterio  # heavy: only when a raster is read

    p = Path(path)
    _check_tiff_magic(p)
    with rasterio.Env(**_GDAL_ENV):
        try:
            ds = rasterio.open(p, driver="GTiff")
        except rasterio.errors.RasterioIOError as exc:
            raise PopulationRasterError(f"{p.name}: not a readable GeoTIFF ({exc})") from None
        with ds:
            crs = _dataset_crs(ds, p.name)
            _check_transform(ds.transform, p.name)
            window = _window(ds, bounds, as_crs(bounds_crs), crs, margin_cells, p.name)
            if window.width * window.height > max_cells:
                raise PopulationRasterError(
                    f"{p.name}: the region needs {window.width}×{window.height} cells, over "
                    f"the cap of {max_cells:,}: clip the raster or split the region")
            data = ds.read(1, window=window, masked=True)
            t = ds.transform
            transform = Affine(t.a, 0.0, t.c + window.col_off * t.a,
                               0.0, t.e, t.f + window.row_off * t.e)
    arr = np.ma.getdata(data).astype(np.float64)
    missing = np.ma.getmaskarray(data) | ~np.isfinite(arr)
    return _finish(arr, missing, transform, crs, p.name, False)


def write_population_tif(grid: PopulationGrid, path: str | os.PathLike[str]) -> Path:
    """Write ``grid`` as a float32 GeoTIFF (nodata -1; synthetic grids are tagged so)."""
    import rasterio

    p = Path(path)
    rows, cols = grid.shape
    out = np.where(np.isnan(grid.values), -1.0, grid.values).astype(np.float32)
    with rasterio.open(p, "w", driver="GTiff", height=rows, width=cols, count=1,
                       dtype="float32", crs=grid.crs.to_wkt(), transform=grid.transform,
                       nodata=-1.0, compress="deflate") as ds:
        ds.write(out, 1)
        ds.update_tags(units="people per cell", source=grid.source,
                       synthetic="yes" if grid.synthetic else "no")
    return p


def _check_tiff_magic(path: Path) -> None:
    try:
        with path.open("rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise PopulationRasterError(f"population raster not readable: {path} ({exc})") from None
    if head not in _TIFF_MAGIC:
        raise PopulationRasterError(
            f"{path.name} is not a GeoTIFF (its content does not start like a TIFF): give "
            "the population raster as .tif")


def _dataset_crs(ds: Any, name: str) -> pyproj.CRS:
    if ds.crs is None:
        raise PopulationRasterError(
            f"{name} has no coordinate system: set one (e.g. gdal_edit.py -a_srs EPSG:4326)")
    return as_crs(ds.crs.to_wkt())


def _check_transform(transform: Affine, name: str) -> None:
    if transform.b != 0 or transform.d != 0 or transform.a <= 0 or transform.e >= 0:
        raise PopulationRasterError(
            f"{name}: only north-up grids are read (this one is rotated or flipped): "
            "warp it first, e.g. gdalwarp in.tif out.tif")


def _window(ds: Any, bounds: tuple[float, float, float, float], bounds_crs: pyproj.CRS,
            crs: pyproj.CRS, margin: int, name: str) -> Any:
    """The raster window over ``bounds`` (+ ``margin`` cells), clipped to the raster."""
    from rasterio.warp import transform_bounds
    from rasterio.windows import Window

    xmin, ymin, xmax, ymax = (bounds if bounds_crs.equals(crs) else
                              transform_bounds(bounds_crs.to_wkt(), crs.to_wkt(), *bounds,
                                               densify_pts=21))
    t = ds.transform  # north-up (checked): col = (x - c) / a, row = (y - f) / e
    c0, r0 = (xmin - t.c) / t.a, (ymax - t.f) / t.e
    c1, r1 = (xmax - t.c) / t.a, (ymin - t.f) / t.e
    col0 = max(math.floor(min(c0, c1)) - margin, 0)
    row0 = max(math.floor(min(r0, r1)) - margin, 0)
    col1 = min(math.ceil(max(c0, c1)) + margin, ds.width)
    row1 = min(math.ceil(max(r0, r1)) + margin, ds.height)
    if col1 <= col0 or row1 <= row0:
        raise PopulationRasterError(
            f"{name} does not overlap the region (raster bounds {tuple(ds.bounds)} in "
            f"{crs.to_string()}): give the raster that covers it")
    return Window(col0, row0, col1 - col0, row1 - row0)


def _finish(arr: np.ndarray, missing: np.ndarray, transform: Affine, crs: pyproj.CRS,
            source: str, synthetic: bool) -> PopulationGrid:
    negative = ~missing & (arr < 0)
    arr = np.where(missing | negative, np.nan, arr)
    arr.setflags(write=False)
    return PopulationGrid(values=arr, transform=transform, crs=crs, source=source,
                          synthetic=synthetic, nodata_cells=int(missing.sum()),
                          negative_cells=int(negative.sum()))
