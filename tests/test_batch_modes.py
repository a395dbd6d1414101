"""``yizhan batch --mode ebike`` (:mod:`geo.batch`): each partition cut from the network
loaded with the e-bike filter and run with the e-bike parameters, the merge equal to one
whole-network e-bike run, every ``summary.json`` naming the mode; region folders loaded
for the mode (:func:`geo.pipeline.region.region_from_folder`), by car too
(:mod:`tests.test_batch_drive` checks a drive batch cut by partitions)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import shapely

from geo.batch.run import run_batch_regions
from geo.cli.commands import main
from geo.errors import InputFileError, InvalidParameterError
from geo.network.model import load_prepared_network, save_network
from geo.params import CoverageParams
from geo.pipeline.demo import write_demo_inputs
from geo.pipeline.job import run_coverage_files, run_region, summary_dict
from geo.pipeline.region import region_from_folder
from tests.batchhelp import assert_same_as_whole

distributed = pytest.importorskip("distributed")

EBIKE = CoverageParams.for_mode("ebike", minutes=3.0)  # no two towns tie in rank


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo's input files (GraphML streets…) and west / east partitions of it."""
    root = tmp_path_factory.mktemp("batch-modes")
    inp = {k: Path(v) for k, v in write_demo_inputs(root / "region").items()}
    x0, y0, x1, y1 = gpd.read_file(inp["towns"]).total_bounds
    mid = (x0 + x1) / 2
    pad = 0.05
    parts = gpd.GeoDataFrame({"city": ["西区", "东区"]}, geometry=[
        shapely.box(x0 - pad, y0 - pad, mid, y1 + pad),
        shapely.box(mid, y0 - pad, x1 + pad, y1 + pad)], crs="EPSG:4326")
    parts.to_file(root / "parts.geojson", driver="GeoJSON", engine="pyogrio")
    return {**inp, "partitions": root / "parts.geojson", "root": root}


def _summary(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "summary.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_cli_batch_by_ebike_equals_a_whole_ebike_run(demo: dict[str, Path], client: Any,
                                                    tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    code = main(["batch", "--network", str(demo["streets"]), "--stations",
                 str(demo["stations"]), "--partition", str(demo["partitions"]),
                 "--partition-field", "city", "--towns", str(demo["towns"]),
                 "--mode", "ebike", "--walk-time-min", "3", "--no-cache",
                 "--scheduler", client.scheduler.address, "--out", str(out), "--quiet"])
    assert code == 0
    assert "travel mode: ebike (network filter ebike-v1)" in capsys.readouterr().out
    whole = run_coverage_files(demo["streets"], demo["stations"], towns_path=demo["towns"],
                               params=EBIKE)
    assert whole.network.filter_report.version == "ebike-v1"
    assert_same_as_whole(whole, out)
    merged = _summary(out)
    walk = run_coverage_files(demo["streets"], demo["stations"], towns_path=demo["towns"],
                              params=CoverageParams(walk_time_min=3.0))
    assert merged["total_length_m"] < walk.coverage.total_length_m  # footways not ridden
    for s in (merged, *(_summary(out / p["folder"]) for p in merged["partitions"])):
        assert s["params"]["travel_mode"] == "ebike" and s["params"]["mode"] == "ebike"
        assert s["params"]["network_filter"]["filter"] == "ebike-v1"
        assert s["params"]["speed_model"]["speed_kmh"] == 15.0
        assert s["params"]["budget_m"] == pytest.approx(750.0)
    assert [p["status"] for p in merged["partitions"]] == ["done", "done"]
    for p in merged["partitions"]:  # each partition's region folder holds e-bike streets
        net = load_prepared_network(out / p["folder"] / "region" / "network")
        assert net.filter_report.version == "ebike-v1"


def test_batch_regions_by_ebike(demo: dict[str, Path], client: Any, tmp_path: Path) -> None:
    regions = tmp_path / "regions"
    shutil.copytree(demo["root"] / "region", regions / "示范")
    out = tmp_path / "out"
    res = run_batch_regions(regions_dir=regions, out_dir=out, params=EBIKE, client=client)
    assert res.complete
    s = res.summary
    assert s["params"]["travel_mode"] == "ebike"
    assert s["params"]["network_filter"]["filter"] == "ebike-v1"
    own = _summary(out / s["partitions"][0]["folder"])
    assert own["params"]["travel_mode"] == "ebike" and own["network"]["filter"]["filter"] == \
        "ebike-v1"
    direct = summary_dict(run_region(region_from_folder(regions / "示范", mode="ebike"),
                                     params=EBIKE, per_station_areas=False))
    assert s["covered_length_m"] == pytest.approx(direct["covered_length_m"], abs=0.2)
    assert s["total_length_m"] == pytest.approx(direct["total_length_m"], abs=0.2)


def test_region_folder_in_a_mode(demo: dict[str, Path], tmp_path: Path) -> None:
    """A prepared network/ (prepared for walking) is used on foot; for the e-bike the
    folder's source file is read with the e-bike filter; without one the loader's error
    says what to do."""
    folder = tmp_path / "r"
    shutil.copytree(demo["root"] / "region", folder)
    walk = region_from_folder(folder)
    save_network(walk.network, folder / "network")
    assert region_from_folder(folder).network.filter_report.version == "walk-v1"
    assert region_from_folder(folder).inputs["network"]["path"] == str(folder / "network")
    ebike = region_from_folder(folder, mode="ebike")
    assert ebike.network.filter_report.version == "ebike-v1"
    assert ebike.inputs["network"]["path"].endswith("streets.graphml")
    assert ebike.key != walk.key
    (folder / "streets.graphml").unlink()
    with pytest.raises(InputFileError, match="prepare it for 'ebike'"):
        region_from_folder(folder, mode="ebike")


def test_batch_regions_by_car(demo: dict[str, Path], client: Any, tmp_path: Path) -> None:
    """--regions by car: each region folder's streets loaded with the drive filter, the
    merge equal to the region's own drive run, the mode in every summary.json."""
    regions = tmp_path / "regions"
    shutil.copytree(demo["root"] / "region", regions / "示范")
    drive = CoverageParams(mode="drive", walk_time_min=3.0)
    res = run_batch_regions(regions_dir=regions, out_dir=tmp_path / "out", params=drive,
                            client=client)
    assert res.complete
    s = res.summary
    own = _summary(tmp_path / "out" / s["partitions"][0]["folder"])
    for x in (s, own):
        assert x["params"]["travel_mode"] == "drive" and x["params"]["budget_m"] is None
        assert x["params"]["speed_model"]["kind"] == "per_edge"
        assert x["params"]["network_filter"]["filter"] == "drive-v1"
    direct = summary_dict(run_region(region_from_folder(regions / "示范", mode="drive"),
                                     params=drive, per_station_areas=False))
    assert s["covered_length_m"] == pytest.approx(direct["covered_length_m"], abs=0.2)


def test_cli_batch_by_car_refuses_speed_options(demo: dict[str, Path], tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["batch", "--network", str(demo["streets"]), "--stations",
                 str(demo["stations"]), "--partition", str(demo["partitions"]),
                 "--partition-field", "city", "--mode", "drive", "--walk-speed-kmh", "4",
                 "--workers", "1", "--out", str(tmp_path / "d")])
    assert code == InvalidParameterError.exit_code
    assert "per street" in capsys.readouterr().err
    assert not (tmp_path / "d" / "summary.json").exists()
