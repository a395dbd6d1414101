"""People covered from a population raster, through the coverage job (geo.pipeline.people,
the job's summary and outputs, region folders, the CLI)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine

from geo.cli import main
from geo.pipeline.job import run_demo, run_region, summary_dict, write_outputs
from geo.pipeline.region import demo_region, region_from_folder
from geo.population.raster import PopulationGrid, population_grid, write_population_tif

DENSITY = 0.015  # people per m²


def _uniform(region_grid_crs: object, bounds: tuple[float, ...], cell_m: float = 100.0
             ) -> PopulationGrid:
    x0 = np.floor(bounds[0] / cell_m) * cell_m - 1_000
    y1 = np.ceil(bounds[3] / cell_m) * cell_m + 1_000
    cols = int((bounds[2] - x0) / cell_m) + 20
    rows = int((y1 - bounds[1]) / cell_m) + 20
    return population_grid(np.full((rows, cols), DENSITY * cell_m * cell_m),
                           transform=Affine(cell_m, 0, x0, 0, -cell_m, y1),
                           crs=region_grid_crs, source="uniform")


@pytest.fixture(scope="module")
def uniform_job():
    region = demo_region()
    towns = region.towns.accepted.to_crs(region.network.crs)
    grid = _uniform(region.network.crs, tuple(towns.total_bounds))
    return run_region(dataclasses.replace(region, population=grid), per_station_areas=True,
                      split_nearest=True)


def test_uniform_density_covered_people_are_density_times_covered_area(uniform_job) -> None:
    job = uniform_job
    s = summary_dict(job)
    assert s["demand_basis"] == "population_raster"
    assert s["covered_population"] == pytest.approx(DENSITY * s["covered_area_m2"], rel=0.01)
    towns = job.towns.towns
    assert s["total_population"] == pytest.approx(
        DENSITY * shapely.union_all(towns.geometry.to_numpy()).area, rel=1e-6)
    np.testing.assert_allclose(towns["population"], DENSITY * towns["area_m2"], rtol=1e-4)
    np.testing.assert_allclose(towns["covered_population"],
                               DENSITY * towns["covered_area_m2"], rtol=0.02, atol=50)
    assert s["population"]["valid_area_share"] == pytest.approx(1.0)


def test_stations_and_their_nearest_parts_get_the_people_inside(uniform_job) -> None:
    job = uniform_job
    people = job.people
    per = job.areas.per_station
    np.testing.assert_allclose(people.station_population, DENSITY * per.geometry.area,
                               rtol=1e-6)
    near = job.areas.nearest_split
    np.testing.assert_allclose(people.nearest_population, DENSITY * near.geometry.area,
                               rtol=1e-6)
    assert people.nearest_population.sum() == pytest.approx(people.covered_population,
                                                            rel=0.01)
    zones = job.zones
    assert (zones["covered_population"] <= zones["population"] + 1e-6).all()
    assert (zones["population"] > 0).all()


def test_ranking_follows_uncovered_people(uniform_job) -> None:
    towns = uniform_job.towns.towns.sort_values("rank")
    unc = (towns["population"] - towns["covered_population"]).to_numpy()
    assert (np.diff(unc) <= 1.0).all()
    assert set(towns["demand_basis"]) == {"population_raster"}
    assert "people" in towns["reason_en"].iloc[0]


def test_without_towns_the_total_is_the_cells_holding_the_streets() -> None:
    region = demo_region()
    grid = _uniform(region.network.crs, region.network.bounds)
    job = run_region(dataclasses.replace(region, towns=None, population=grid))
    cells = job.towns.towns
    assert job.towns.is_grid and job.towns.demand_basis == "population_raster"
    assert job.people.total_population == pytest.approx(
        DENSITY * shapely.union_all(cells.geometry.to_numpy()).area, rel=1e-6)


def test_demo_synthetic_population_and_written_outputs(tmp_path: Path) -> None:
    job = run_demo(population=True, per_station_areas=True)
    assert job.people is not None and job.people.grid.synthetic
    s = summary_dict(job)
    assert s["population"]["synthetic"] and "synthetic" in s["population"]["note"]
    # the synthetic raster spreads each town's invented population over its cells
    assert s["total_population"] == pytest.approx(
        float(demo_region().towns.accepted["population"].sum()), rel=0.01)
    paths = write_outputs(job, tmp_path)
    summary = json.loads(paths["summary.json"].read_text(encoding="utf-8"))
    assert summary["covered_population"] == s["covered_population"]
    unc = gpd.read_file(paths["uncovered_population.geojson"])
    covered_in_units = job.people.covered_units_population
    assert unc["uncovered_population"].sum() == pytest.approx(
        job.people.total_population - covered_in_units, rel=1e-3)
    areas = gpd.read_file(paths["service_areas.geojson"])
    assert "population" in areas.columns and (areas["population"] >= 0).all()


def test_region_folder_population_tif_and_cli(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "region"
    assert main(["demo", "--out", str(tmp_path / "demo"), "--write-inputs", str(folder),
                 "--synthetic-population", "--quiet"]) == 0
    assert (folder / "population.tif").is_file()
    region = region_from_folder(folder)
    assert region.population is not None and region.inputs["population"]["sha256"]
    out = tmp_path / "out"
    assert main(["coverage", "--network", str(folder / "streets.graphml"),
                 "--stations", str(folder / "stations.csv"),
                 "--towns", str(folder / "towns.geojson"),
                 "--population", str(folder / "population.tif"),
                 "--out", str(out), "--quiet"]) == 0
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert s["demand_basis"] == "population_raster" and s["covered_population"] > 0
    assert "people covered" in capsys.readouterr().out


def test_a_raster_outside_the_region_is_a_named_error(tmp_path: Path) -> None:
    far = population_grid(np.ones((3, 3)), transform=Affine(100, 0, 0, 0, -100, 300),
                          crs=32649, source="far")
    path = write_population_tif(far, tmp_path / "far.tif")
    folder = tmp_path / "r"
    assert main(["demo", "--out", str(tmp_path / "o"), "--write-inputs", str(folder),
                 "--quiet"]) == 0
    assert main(["coverage", "--network", str(folder / "streets.graphml"),
                 "--stations", str(folder / "stations.csv"), "--population", str(path),
                 "--out", str(tmp_path / "x"), "--quiet"]) == 2
