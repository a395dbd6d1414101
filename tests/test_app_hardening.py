"""Hostile uploads through the app: the session gets a message, the server lives on.

The sidebar's OSM-file upload needs no sign-in; its parsing and the coverage job run in
a limited worker process (:mod:`geo.pipeline.isolate`), so a bad network ends that job
with a message in the UI language and the next request is served as before.
"""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.apphelp import metric, run_app
from tests.osm_fixtures import edges_with, write_graphml


def _upload_network(at: AppTest, name: str, data: bytes) -> None:
    at.selectbox(key="region_kind").set_value("upload").run()
    at.file_uploader(key="up_network").set_value((name, data, "application/xml")).run()


def test_nan_geometry_network_upload_is_refused_with_a_message(tmp_path: Path) -> None:
    bad = write_graphml(tmp_path / "bad.graphml",
                        edges=edges_with({0: {"geometry": "LINESTRING (nan nan, 1 1)"}}))
    at = run_app()
    _upload_network(at, "bad.graphml", bad.read_bytes())
    assert not at.exception, at.exception
    errors = " ".join(e.value for e in at.error)
    assert "路网数据有误" in errors and "non\\-finite" in errors, errors
    assert "/tmp" not in errors and "yizhan-upload-" not in errors  # no server paths
    # the same server goes on serving: back to the demo region
    at.selectbox(key="region_kind").set_value("demo").run()
    assert not at.exception, at.exception
    assert metric(at, "接入路网的站点") == "30 / 32"


def test_huge_node_id_network_upload_is_refused(tmp_path: Path) -> None:
    bad = write_graphml(tmp_path / "ids.graphml",
                        edges=[*edges_with({}), ("1" + "0" * 30, "1", {})])
    at = run_app()
    _upload_network(at, "ids.graphml", bad.read_bytes())
    assert not at.exception, at.exception
    errors = " ".join(e.value for e in at.error)
    assert "路网数据有误" in errors and "OverflowError" not in errors, errors


def test_region_upload_takes_a_population_geotiff(tmp_path: Path) -> None:
    """A region uploaded with a population GeoTIFF: people covered are measured on it."""
    from geo.cli import main
    from geo.pipeline.job import run_region, summary_dict
    from geo.pipeline.region import region_from_files

    folder = tmp_path / "in"
    assert main(["demo", "--out", str(tmp_path / "o"), "--write-inputs", str(folder),
                 "--quiet"]) == 0
    at = run_app()
    _upload_network(at, "streets.graphml", (folder / "streets.graphml").read_bytes())
    for role, name, mime in (("stations", "stations.csv", "text/csv"),
                             ("towns", "towns.geojson", "application/geo+json"),
                             ("population", "population.tif", "image/tiff")):
        at.file_uploader(key=f"up_{role}").set_value(
            (name, (folder / name).read_bytes(), mime)).run()
    assert not at.exception, at.exception
    region = region_from_files(folder / "streets.graphml",
                               stations_path=folder / "stations.csv",
                               towns_path=folder / "towns.geojson",
                               population_path=folder / "population.tif")
    share = summary_dict(run_region(region))["covered_population_share"]
    assert region.population is not None and share is not None
    assert metric(at, "覆盖人口") == f"{share:.1%}"
