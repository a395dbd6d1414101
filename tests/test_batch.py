"""Tests of :mod:`geo.batch` on Dask distributed: merged = whole-network run (hand-built
network cut by two partitions, the real Futian network split in two), killed workers,
bad partitions, re-use of finished partitions, a separately started scheduler/worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.batch.run import run_batch, run_batch_regions
from geo.cli.commands import main
from geo.errors import BatchIncompleteError
from geo.network.model import save_network
from geo.params import CoverageParams
from geo.pipeline.job import run_coverage_files
from tests import batchhelp
from tests.batchhelp import assert_same_as_whole, polygons_file, write_inputs

distributed = pytest.importorskip("distributed")

PARAMS = CoverageParams(walk_time_min=6.0, max_snap_m=60.0, buffer_m=30.0)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_inputs(tmp_path_factory.mktemp("batch-in"))


def _whole(inp: dict[str, Path], *, towns: bool = True, params: CoverageParams = PARAMS
           ) -> Any:
    return run_coverage_files(inp["network"], inp["stations"],
                              towns_path=inp["towns"] if towns else None, params=params)


def _batch(inp: dict[str, Path], out: Path, client: Any, *, towns: bool = True,
           params: CoverageParams = PARAMS, **kw: Any) -> Any:
    return run_batch(network=inp["network"], stations=inp["stations"],
                     partitions=inp["partitions"], partition_field="city",
                     towns=inp["towns"] if towns else None, params=params, out_dir=out,
                     client=client, **kw)


def test_merged_equals_whole_with_towns(inputs: dict[str, Path], client: Any,
                                        tmp_path: Path) -> None:
    res = _batch(inputs, tmp_path / "out", client)
    assert res.complete
    diffs = assert_same_as_whole(_whole(inputs), tmp_path / "out")
    print("hand-built, towns:", diffs)
    s = res.summary
    names = [p["name"] for p in s["partitions"]]
    assert names == ["西城", "东城"]
    assert sum(p["total_length_m"] for p in s["partitions"]) == pytest.approx(
        s["total_length_m"], abs=0.2)
    assert {p["worker"] for p in s["partitions"]} <= set(s["engine"]["worker_addresses"])
    assert s["engine"]["workers"] == 2
    for p in s["partitions"]:
        assert p["status"] == "done" and p["wall_s"] > 0
        folder = tmp_path / "out" / p["folder"]
        for f in ("summary.json", "stations.csv", "towns.csv", "towns.geojson",
                  "coverage.geojson"):
            assert (folder / f).is_file()
        assert (folder / "region" / "network" / "meta.json").is_file()
    # a town straddling the border gets the whole run's p90 (pieces merged)
    towns = pd.read_csv(tmp_path / "out" / "towns.csv").set_index("name")
    assert np.isfinite(towns.loc["乙街道", "walk_time_p90_min"]) or \
        towns.loc["乙街道", "walk_time_p90_note"].startswith(">")


def test_merged_equals_whole_on_h3_cells(inputs: dict[str, Path], client: Any,
                                         tmp_path: Path) -> None:
    params = CoverageParams(walk_time_min=15.0, max_snap_m=60.0, buffer_m=30.0)
    res = _batch(inputs, tmp_path / "out", client, towns=False, params=params)
    assert res.complete and res.summary["analysis_cells"]["system"] == "H3"
    print("hand-built, H3:", assert_same_as_whole(_whole(inputs, towns=False, params=params),
                                                 tmp_path / "out"))
    cells = pd.read_csv(tmp_path / "out" / "towns.csv")
    assert np.isfinite(cells["walk_time_p90_min"]).any()


def _raster(tmp: Path) -> Path:
    """A random population raster (50 m cells) over the hand-built network and every town,
    in the network's CRS."""
    from affine import Affine

    from geo.population.raster import population_grid, write_population_tif
    from tests.nets import CRS, absolute

    x0, y1 = absolute(-600.0, 5_600.0)
    values = np.random.default_rng(7).uniform(0.0, 40.0, size=(6_400 // 50, 5_800 // 50))
    grid = population_grid(values, transform=Affine(50.0, 0, x0, 0, -50.0, y1), crs=CRS,
                           source="random test raster")
    return write_population_tif(grid, tmp / "population.tif")


def _whole_with_people(inp: dict[str, Path], population: Path, *, towns: bool,
                       params: CoverageParams) -> Any:
    from geo.pipeline.job import run_region
    from geo.pipeline.region import region_from_files

    region = region_from_files(inp["network"], stations_path=inp["stations"],
                               towns_path=inp["towns"] if towns else None,
                               population_path=population)
    return run_region(region, params=params, union_method="vector")


@pytest.mark.parametrize("towns", [True, False], ids=["towns", "h3"])
def test_population_raster_per_partition_window_merges_exactly(
        inputs: dict[str, Path], client: Any, tmp_path: Path, towns: bool) -> None:
    """Each partition reads its own window; people per town (and in the union) add up
    to the whole run's, the far town with no street included."""
    pop = _raster(tmp_path)
    params = PARAMS if towns else CoverageParams(walk_time_min=15.0, max_snap_m=60.0,
                                                 buffer_m=30.0)
    res = _batch(inputs, tmp_path / "out", client, towns=towns, params=params,
                 population=pop)
    assert res.complete
    whole = _whole_with_people(inputs, pop, towns=towns, params=params)
    assert_same_as_whole(whole, tmp_path / "out")
    s = res.summary
    assert s["demand_basis"] == "population_raster"
    assert s["covered_population"] == pytest.approx(whole.people.covered_population,
                                                    abs=0.051)  # rounded to 0.1
    merged = pd.read_csv(tmp_path / "out" / "towns.csv", dtype={"town_id": str})
    assert merged["population"].sum() == pytest.approx(
        whole.towns.towns["population"].sum(), abs=0.051 * len(merged))
    if towns:
        assert s["total_population"] == pytest.approx(  # the towns' (rounded) sum
            whole.people.total_population, abs=0.051 * len(merged))
        assert merged.set_index("name").loc["空街道", "population"] > 0  # counted once
    for p in s["partitions"]:  # every partition wrote its people (its own window)
        assert (tmp_path / "out" / p["folder"] / "batch" / "people.parquet").is_file()


def test_rerun_reuses_finished_partitions(inputs: dict[str, Path], client: Any,
                                          tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    client.run(batchhelp.setenv, "YIZHAN_TEST_RUNS", str(runs))
    first = _batch(inputs, tmp_path / "out", client, task=batchhelp.counting_task)
    assert len(list(runs.iterdir())) == 2
    marker = tmp_path / "out" / "西城" / "batch" / "done.json"
    stamp = marker.stat().st_mtime_ns
    second = _batch(inputs, tmp_path / "out", client, task=batchhelp.counting_task)
    assert len(list(runs.iterdir())) == 2  # no task ran again
    assert marker.stat().st_mtime_ns == stamp
    assert [p["status"] for p in second.summary["partitions"]] == ["reused", "reused"]
    assert second.summary["covered_length_m"] == first.summary["covered_length_m"]
    # another walk time is other content: both partitions run again
    _batch(inputs, tmp_path / "out", client, task=batchhelp.counting_task,
           params=CoverageParams(walk_time_min=5.0, max_snap_m=60.0, buffer_m=30.0))
    assert len(list(runs.iterdir())) == 4


def test_bad_partition_fails_alone_and_sets_the_exit_code(inputs: dict[str, Path],
                                                          client: Any, tmp_path: Path
                                                          ) -> None:
    parts = polygons_file(tmp_path / "three.geojson", {
        "西城": (-100, -100, 1450, 1000), "东城": (1450, -100, 2800, 1000),
        "海上": (90_000, 90_000, 91_000, 91_000)}, "city")
    res = run_batch(network=inputs["network"], stations=inputs["stations"], partitions=parts,
                    partition_field="city", towns=inputs["towns"], params=PARAMS,
                    out_dir=tmp_path / "out", client=client)
    assert res.failed == ("海上",)
    entry = {p["name"]: p for p in res.summary["partitions"]}
    assert entry["海上"]["status"] == "failed" and "no street" in entry["海上"]["reason"]
    assert entry["西城"]["status"] == entry["东城"]["status"] == "done"
    assert res.summary["complete"] is False
    assert_same_as_whole(_whole(inputs), tmp_path / "out")  # the others cover it all
    code = main(["batch", "--network", str(inputs["network"]), "--stations",
                 str(inputs["stations"]), "--partition", str(parts), "--partition-field",
                 "city", "--walk-time-min", "6", "--max-snap-m", "60", "--buffer-m", "30",
                 "--scheduler", client.scheduler.address, "--out", str(tmp_path / "cli")])
    assert code == BatchIncompleteError.exit_code == 11


def test_regions_mode_bad_region_reported(client: Any, tmp_path: Path) -> None:
    regions = tmp_path / "regions"
    net = batchhelp.grid_network()
    for name in ("广州市", "深圳市"):
        save_network(net, regions / name / "network")
        batchhelp.stations_csv(regions / name / "stations.csv")
    bad = regions / "坏市"
    bad.mkdir()
    (bad / "city.graphml").write_text("<graphml>not a network", encoding="utf-8")
    res = run_batch_regions(regions_dir=regions, out_dir=tmp_path / "out", params=PARAMS,
                            client=client)
    status = {p["name"]: p["status"] for p in res.summary["partitions"]}
    assert status == {"坏市": "failed", "广州市": "done", "深圳市": "done"}
    assert res.failed == ("坏市",)
    one = json.loads((tmp_path / "out" / "广州市" / "summary.json").read_text("utf-8"))
    assert res.summary["total_length_m"] == pytest.approx(2 * one["total_length_m"], abs=0.2)
    st = pd.read_csv(tmp_path / "out" / "stations.csv")
    assert sorted(set(st["partition"])) == ["广州市", "深圳市"]


def test_killed_worker_is_rescheduled(inputs: dict[str, Path], tmp_path: Path) -> None:
    mark = tmp_path / "mark"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as c:
        c.run(batchhelp.setenv, "YIZHAN_TEST_SLOW", "东城")
        c.run(batchhelp.setenv, "YIZHAN_TEST_MARK", str(mark))
        box: dict[str, Any] = {}
        thread = threading.Thread(target=lambda: box.update(
            res=_batch(inputs, tmp_path / "out", c, task=batchhelp.killable_task)))
        thread.start()
        deadline = time.monotonic() + 90
        while not mark.exists() or not mark.read_text():
            assert time.monotonic() < deadline, "the slow task never started"
            time.sleep(0.1)
        os.kill(int(mark.read_text()), signal.SIGKILL)
        thread.join(timeout=180)
        assert not thread.is_alive()
    res = box["res"]
    assert res.complete
    assert_same_as_whole(_whole(inputs), tmp_path / "out")


def _wait_for(pred: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_cli_against_separately_started_scheduler_and_worker(inputs: dict[str, Path],
                                                             tmp_path: Path) -> None:
    sched_file = tmp_path / "scheduler.json"
    dask = [str(Path(sys.executable).with_name("dask"))]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(subprocess.Popen(
            [*dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(sched_file)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        _wait_for(sched_file.exists, 60, "the scheduler file")
        address = json.loads(sched_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        procs.append(subprocess.Popen(
            [*dask, "worker", address, "--host", "127.0.0.1", "--nworkers", "1",
             "--nthreads", "1", "--no-dashboard"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        with distributed.Client(address, timeout="30s") as c:
            _wait_for(lambda: len(c.scheduler_info()["workers"]) >= 1, 60, "a worker")
        out = tmp_path / "out"
        code = main(["batch", "--network", str(inputs["network"]), "--stations",
                     str(inputs["stations"]), "--partition", str(inputs["partitions"]),
                     "--partition-field", "city", "--towns", str(inputs["towns"]),
                     "--walk-time-min", "6", "--max-snap-m", "60", "--buffer-m", "30",
                     "--scheduler", address, "--out", str(out), "--quiet"])
        assert code == 0
        s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        assert s["engine"]["scheduler"] == address and s["engine"]["workers"] == 1
        assert_same_as_whole(_whole(inputs), out)
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)


def test_futian_split_in_two(futian_graphml: Path, client: Any, tmp_path: Path) -> None:
    from geo.network.loaders import load_network

    net = load_network(futian_graphml, cache_dir=tmp_path / "cache")
    net_dir = save_network(net, tmp_path / "futian")
    rng = np.random.default_rng(3)
    edges = rng.choice(net.n_edges, size=40, replace=False)
    pts = shapely.line_interpolate_point(net.geometry[edges], rng.random(40), normalized=True)
    st = gpd.GeoDataFrame({"station_id": [f"F{i:02d}" for i in range(40)], "name": "福田站",
                           "type": "工会驿站"}, geometry=pts, crs=net.crs).to_crs(4326)
    table = pd.DataFrame(st.drop(columns="geometry"))
    table["lon"], table["lat"] = st.geometry.x, st.geometry.y
    table.to_csv(tmp_path / "stations.csv", index=False)
    x_mid = float(np.median(net.node_x))
    x0, y0, x1, y1 = net.bounds
    halves = gpd.GeoDataFrame({"half": ["west", "east"]}, geometry=[
        shapely.box(x0 - 500, y0 - 500, x_mid, y1 + 500),
        shapely.box(x_mid, y0 - 500, x1 + 500, y1 + 500)], crs=net.crs).to_crs(4326)
    halves.to_file(tmp_path / "halves.geojson", driver="GeoJSON", engine="pyogrio")
    inp = {"network": net_dir, "stations": tmp_path / "stations.csv",
           "partitions": tmp_path / "halves.geojson"}
    params = CoverageParams()
    res = run_batch(network=net_dir, stations=inp["stations"], partitions=inp["partitions"],
                    partition_field="half", params=params, out_dir=tmp_path / "out",
                    client=client)
    assert res.complete
    job = run_coverage_files(net_dir, inp["stations"], params=params)
    diffs = assert_same_as_whole(job, tmp_path / "out")
    print("Futian split in two:", diffs, "covered", job.coverage.covered_length_m)
