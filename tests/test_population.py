"""geo.population: windowed GeoTIFF reading and exact area-weighted sums, on synthetic
rasters whose sums are computed by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyproj
import pytest
import rasterio
import shapely
from affine import Affine

from geo.errors import PopulationRasterError
from geo.population.raster import population_grid, read_population, write_population_tif
from geo.population.sums import cell_cover, population_sums

UTM = pyproj.CRS.from_epsg(32649)
WGS = pyproj.CRS.from_epsg(4326)
X0, Y0 = 500_000.0, 2_560_000.0  # UTM 49N, near Guangzhou


def _tif(path: Path, values: np.ndarray, transform: Affine, crs: pyproj.CRS,
         nodata: float | None = None) -> Path:
    with rasterio.open(path, "w", driver="GTiff", height=values.shape[0],
                       width=values.shape[1], count=1, dtype="float64", crs=crs.to_wkt(),
                       transform=transform, nodata=nodata) as ds:
        ds.write(values.astype(np.float64), 1)
    return path


def _utm_grid(values: np.ndarray, cell_m: float = 100.0):
    return population_grid(values, transform=Affine(cell_m, 0, X0, 0, -cell_m, Y0), crs=UTM,
                           source="test")


def test_uniform_density_gives_density_times_area() -> None:
    d = 0.02  # people per m²
    grid = _utm_grid(np.full((50, 50), d * 100 * 100))
    poly = shapely.Point(X0 + 2_500, Y0 - 2_500).buffer(1_234.5, quad_segs=64)
    sums = population_sums(grid, [poly], UTM)
    assert sums.population[0] == pytest.approx(d * poly.area, rel=1e-9)
    assert sums.valid_share[0] == pytest.approx(1.0)


def test_a_single_populated_cell_counts_by_the_covered_fraction() -> None:
    v = np.zeros((10, 10))
    v[3, 4] = 1000.0  # cell x 400–500 m, y 300–400 m below the top
    grid = _utm_grid(v)
    inside = shapely.box(X0 + 400, Y0 - 400, X0 + 500, Y0 - 300)
    quarter = shapely.box(X0 + 450, Y0 - 350, X0 + 550, Y0 - 250)  # a quarter of the cell
    strip = shapely.box(X0 + 400, Y0 - 400, X0 + 410, Y0 - 300)  # a tenth
    away = shapely.box(X0, Y0 - 100, X0 + 100, Y0)
    sums = population_sums(grid, [inside, quarter, strip, away], UTM)
    np.testing.assert_allclose(sums.population, [1000.0, 250.0, 100.0, 0.0], atol=1e-9)


def test_nodata_holes_count_zero_and_lower_the_valid_share(tmp_path: Path) -> None:
    v = np.full((4, 4), 10.0)
    v[0, 0] = -9999.0  # declared nodata
    v[1, 1] = np.nan
    v[2, 2] = -3.0  # negative: no value, counted apart
    path = _tif(tmp_path / "pop.tif", v, Affine(100, 0, X0, 0, -100, Y0), UTM, nodata=-9999)
    grid = read_population(path, bounds=(X0, Y0 - 400, X0 + 400, Y0), bounds_crs=UTM)
    assert grid.nodata_cells == 2 and grid.negative_cells == 1
    assert grid.total_population == pytest.approx(13 * 10.0)
    whole = shapely.box(X0, Y0 - 400, X0 + 400, Y0)
    half_hole = shapely.box(X0 + 50, Y0 - 100, X0 + 150, Y0)  # half of [0,0], half of [0,1]
    sums = population_sums(grid, [whole, half_hole], UTM)
    assert sums.population[0] == pytest.approx(130.0)
    assert sums.population[1] == pytest.approx(5.0)
    assert sums.valid_share[0] == pytest.approx(13 / 16)
    assert sums.valid_share[1] == pytest.approx(0.5)


def test_geographic_raster_equals_utm_raster_of_the_same_people(tmp_path: Path) -> None:
    """People per cell of an EPSG:4326 grid = density × the cell's true area; the sum over
    a UTM polygon is density × its area within 0.5 % — and matches a UTM raster."""
    d = 0.01
    lon0, lat0, step = 113.0, 23.2, 0.001
    n = 60
    geod = pyproj.Geod(ellps="WGS84")
    lats = lat0 - step * np.arange(n + 1)
    row_area = np.array([abs(geod.polygon_area_perimeter(
        [lon0, lon0 + step, lon0 + step, lon0], [lats[i], lats[i], lats[i + 1], lats[i + 1]])[0])
        for i in range(n)])
    values = np.repeat((d * row_area)[:, None], n, axis=1)
    path = _tif(tmp_path / "geo.tif", values, Affine(step, 0, lon0, 0, -step, lat0), WGS)
    to_utm = pyproj.Transformer.from_crs(WGS, UTM, always_xy=True)
    cx, cy = to_utm.transform(lon0 + 0.03, lat0 - 0.03)
    poly = shapely.Point(cx, cy).buffer(2_000.0, quad_segs=64)
    grid = read_population(path, bounds=poly.bounds, bounds_crs=UTM)
    assert grid.crs.equals(WGS) and grid.values.size < values.size  # a window only
    geo_sum = population_sums(grid, [poly], UTM).population[0]
    assert geo_sum == pytest.approx(d * poly.area, rel=5e-3)
    utm = _utm_grid(np.full((80, 80), d * 100 * 100))
    utm = population_grid(utm.values, transform=Affine(100, 0, cx - 4_000, 0, -100, cy + 4_000),
                          crs=UTM, source="utm")
    assert population_sums(utm, [poly], UTM).population[0] == pytest.approx(geo_sum, rel=5e-3)


def test_only_the_window_over_the_bounds_is_read(tmp_path: Path) -> None:
    v = np.arange(200 * 300, dtype=float).reshape(200, 300)
    path = _tif(tmp_path / "big.tif", v, Affine(100, 0, X0, 0, -100, Y0), UTM)
    grid = read_population(path, bounds=(X0 + 1_000, Y0 - 2_000, X0 + 1_500, Y0 - 1_200),
                           bounds_crs=UTM, margin_cells=2)
    assert grid.shape == (8 + 4, 5 + 4)
    assert grid.transform.c == X0 + 800 and grid.transform.f == Y0 - 1_000
    assert grid.values[0, 0] == v[10, 8]
    with pytest.raises(PopulationRasterError, match="cap"):
        read_population(path, bounds=(X0, Y0 - 20_000, X0 + 30_000, Y0), bounds_crs=UTM,
                        max_cells=1000)
    with pytest.raises(PopulationRasterError, match="does not overlap"):
        read_population(path, bounds=(0, 0, 10, 10), bounds_crs=UTM)


def test_what_is_not_a_usable_geotiff_is_refused_by_name(tmp_path: Path) -> None:
    real = _tif(tmp_path / "real.tif", np.ones((2, 2)), Affine(100, 0, X0, 0, -100, Y0), UTM)
    vrt = tmp_path / "pop.tif"
    vrt.write_text(f'<VRTDataset rasterXSize="2" rasterYSize="2"><VRTRasterBand '
                   f'dataType="Float64" band="1"><SimpleSource><SourceFilename>{real}'
                   '</SourceFilename></SimpleSource></VRTRasterBand></VRTDataset>')
    with pytest.raises(PopulationRasterError, match="not a GeoTIFF"):
        read_population(vrt, bounds=(X0, Y0 - 200, X0 + 200, Y0), bounds_crs=UTM)
    no_crs = tmp_path / "nocrs.tif"
    with rasterio.open(no_crs, "w", driver="GTiff", height=2, width=2, count=1,
                       dtype="float32", transform=Affine(100, 0, X0, 0, -100, Y0)) as ds:
        ds.write(np.ones((2, 2), dtype=np.float32), 1)
    with pytest.raises(PopulationRasterError, match="no coordinate system"):
        read_population(no_crs, bounds=(X0, Y0 - 200, X0 + 200, Y0), bounds_crs=UTM)
    with pytest.raises(PopulationRasterError, match="north-up"):
        population_grid(np.ones((2, 2)), transform=Affine(100, 5, X0, 0, -100, Y0), crs=UTM,
                        source="rotated")


def test_written_grid_reads_back_with_its_synthetic_tag(tmp_path: Path) -> None:
    v = np.array([[1.0, np.nan], [3.0, 4.0]])
    grid = population_grid(v, transform=Affine(100, 0, X0, 0, -100, Y0), crs=UTM,
                           source="demo", synthetic=True)
    path = write_population_tif(grid, tmp_path / "population.tif")
    back = read_population(path, bounds=grid.bounds, bounds_crs=UTM)
    np.testing.assert_array_equal(back.values, v)
    assert back.nodata_cells == 1
    with rasterio.open(path) as ds:
        assert ds.tags()["synthetic"] == "yes"


def test_cell_cover_gives_each_touched_cell_its_fraction() -> None:
    grid = _utm_grid(np.ones((10, 10)))
    cover = cell_cover(grid, shapely.box(X0 + 50, Y0 - 150, X0 + 250, Y0 + 50), UTM)
    got = {(int(r), int(c)): round(float(f), 6)
           for r, c, f in zip(cover.row, cover.col, cover.fraction, strict=True)}
    assert got == {(0, 0): 0.5, (0, 1): 1.0, (0, 2): 0.5, (1, 0): 0.25, (1, 1): 0.5,
                   (1, 2): 0.25}
    assert cell_cover(grid, shapely.Polygon(), UTM).row.size == 0
