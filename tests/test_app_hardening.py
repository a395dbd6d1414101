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
