"""``--population`` and the town tables on the other sub-commands: ``yizhan report``,
``yizhan suggest`` (people as the siting demand), and their one-line errors."""

from __future__ import annotations

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
