"""``--population`` and the town tables on the other sub-commands: ``yizhan report``,
``yizhan suggest`` (people as the siting demand), and their one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from geo.cli import main
from geo.pipeline.region import demo_region
from geo.population.raster import write_population_tif


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo inputs with its synthetic population raster (``population.tif``)."""
    folder = tmp_path_factory.mktemp("pop-inputs")
    assert main(["demo", "--out", str(folder / "demo-out"), "--write-inputs", str(folder),
                 "--quiet"]) == 0
    if not (folder / "population.tif").is_file():
        grid = demo_region(population=True).population
        assert grid is not None
        write_population_tif(grid, folder / "population.tif")
    return folder


def _files(folder: Path) -> list[str]:
    return ["--network", str(folder / "streets.graphml"),
            "--stations", str(folder / "stations.csv"),
            "--towns", str(folder / "towns.geojson")]


def test_report_takes_the_population_raster(inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.xlsx"
    assert main(["report", *_files(inputs), "--population", str(inputs / "population.tif"),
                 "--format", "xlsx", "--lang", "en", "--out", str(out), "--quiet"]) == 0
    wb = load_workbook(out, read_only=True)
    text = " ".join(str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True)
                    for c in row if c is not None)
    assert "population_raster" in text or "population raster" in text.lower()


def test_report_demo_with_population_is_a_parameter_error(inputs: Path,
                                                          tmp_path: Path) -> None:
    assert main(["report", "--demo", "--population", str(inputs / "population.tif"),
                 "--format", "xlsx", "--out", str(tmp_path / "r.xlsx")]) == 4


def test_suggest_maximises_people_from_the_raster(inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "s"
    assert main(["suggest", *_files(inputs), "--population", str(inputs / "population.tif"),
                 "--k", "3", "--no-areas", "--out", str(out), "--quiet"]) == 0
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert s["demand_basis"] == "population_raster" and s["total_gain"] > 0
    # the town basis is still there when asked for
    out2 = tmp_path / "s2"
    assert main(["suggest", *_files(inputs), "--population", str(inputs / "population.tif"),
                 "--demand", "population", "--k", "1", "--no-areas", "--out", str(out2),
                 "--quiet"]) == 0
    s2 = json.loads((out2 / "summary.json").read_text(encoding="utf-8"))
    assert s2["demand_basis"] == "population"


def test_reports_treat_raster_people_as_people(inputs: Path) -> None:
    """The report's town table, headline and station figures use people (not street
    length) for population_raster, as for town populations."""
    from geo.pipeline.job import run_region
    from geo.pipeline.region import region_from_files
    from geo.reports.data import ReportOptions, report_data, station_population
    from geo.reports.town_table import headers

    region = region_from_files(inputs / "streets.graphml",
                               stations_path=inputs / "stations.csv",
                               towns_path=inputs / "towns.geojson",
                               population_path=inputs / "population.tif")
    job = run_region(region)
    assert job.towns.demand_basis == "population_raster"
    data = report_data(job, ReportOptions(lang="en"))
    assert data.town_share_column == "covered_population_share"
    pop = station_population(job)
    assert pop is not None and pop.sum() > 0
    assert pop.sum() <= job.towns.towns["covered_population"].sum() + 1.0
    assert headers(job.towns.towns, "population_raster", "en")["uncovered_demand"] == \
        "Uncovered people"
