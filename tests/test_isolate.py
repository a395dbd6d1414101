"""Tests of :mod:`geo.pipeline.isolate`: a worker process with memory and time limits.

The functions the worker runs are defined at the top of this module (they must pickle by
reference); each test starts one or two real worker processes (~1 s each).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import shapely

from geo.errors import (
    InvalidParameterError,
    NetworkDataError,
    StationDataError,
    WorkerCrashedError,
    WorkerError,
    WorkerMemoryError,
    WorkerTimeoutError,
    YizhanError,
)
from geo.network.loaders import load_network
from geo.pipeline.isolate import (
    load_network_isolated,
    run_coverage_isolated,
    run_isolated,
    run_region_isolated,
)
from geo.pipeline.job import run_region
from geo.pipeline.region import demo_region
from tests.osm_fixtures import edges_with, write_graphml

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the worker limits (RLIMIT_AS, PDEATHSIG) are Linux's")

LIMITS = {"timeout_s": 60.0, "memory_mb": 1000}


# ------------------------------------------------------------- run in the worker process


def add(a: int, b: int = 0) -> tuple[int, int]:
    return a + b, os.getpid()


def segfault() -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


def sleep(seconds: float) -> None:
    time.sleep(seconds)


def allocate(n_bytes: int) -> int:
    return len(bytearray(n_bytes))


def raise_yizhan(message: str) -> None:
    raise StationDataError(message, zh="缺少 x 列：请补上")


def raise_value_error() -> None:
    raise ValueError("a plain bug in the worker")


def exit_without_result(code: int) -> None:
    os._exit(code)


def sleep_with_helper(pid_file: str) -> None:
    helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    Path(pid_file).write_text(str(helper.pid))
    time.sleep(120)


def unpicklable_result() -> object:
    return lambda: None


# ----------------------------------------------------------------------------- results


def test_result_comes_back_from_another_process() -> None:
    (total, pid) = run_isolated(add, 2, b=3, **LIMITS)
    assert total == 5
    assert pid != os.getpid()


def test_segfault_is_a_named_error_and_the_parent_lives() -> None:
    with pytest.raises(WorkerCrashedError, match="SIGSEGV") as info:
        run_isolated(segfault, **LIMITS)
    assert info.value.signal == signal.SIGSEGV
    assert info.value.returncode == -signal.SIGSEGV
    assert "segfault" in str(info.value)  # where it crashed (faulthandler's frame)
    assert isinstance(info.value, YizhanError) and info.value.exit_code == 11
    assert "崩溃" in info.value.message("zh")
    assert run_isolated(add, 1, **LIMITS)[0] == 1  # and the next call works


def test_hang_is_stopped_at_the_timeout() -> None:
    t0 = time.monotonic()
    with pytest.raises(WorkerTimeoutError, match="within 3 s"):
        run_isolated(sleep, 60, timeout_s=3.0, memory_mb=500)
    assert time.monotonic() - t0 < 3.0 + 2.0


def test_memory_limit() -> None:
    with pytest.raises(WorkerMemoryError, match="500 MB"):
        run_isolated(allocate, 4 * 2**30, timeout_s=60, memory_mb=500)
    # the limit is on top of the worker's start-up footprint: 200 MB fit in 500 MB
    assert run_isolated(allocate, 200 * 2**20, timeout_s=60, memory_mb=500) == 200 * 2**20


def test_yizhan_error_comes_back_as_itself() -> None:
    with pytest.raises(StationDataError) as info:
        run_isolated(raise_yizhan, "column x is missing: add it", **LIMITS)
    assert type(info.value) is StationDataError
    assert str(info.value) == "column x is missing: add it"
    assert info.value.message("zh") == "缺少 x 列：请补上"
    assert info.value.exit_code == StationDataError.exit_code


def test_other_exception_comes_back_with_the_worker_traceback() -> None:
    with pytest.raises(ValueError, match="plain bug") as info:
        run_isolated(raise_value_error, **LIMITS)
    assert "raise_value_error" in str(info.value.__cause__)


def test_exit_without_result_is_a_crash() -> None:
    with pytest.raises(WorkerCrashedError, match="exit code 3") as info:
        run_isolated(exit_without_result, 3, **LIMITS)
    assert info.value.returncode == 3 and info.value.signal is None


def test_helpers_of_a_hung_worker_are_killed_too(tmp_path: Path) -> None:
    pid_file = tmp_path / "helper.pid"
    with pytest.raises(WorkerTimeoutError):
        run_isolated(sleep_with_helper, str(pid_file), timeout_s=5.0, memory_mb=500)
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        except FileNotFoundError:
            break  # gone
        if state == "Z":  # killed, waiting to be reaped by init
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"helper process {pid} still runs after the worker's timeout")


def test_bad_calls_are_refused_before_starting(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match="top-level function"):
        run_isolated(lambda: 1, **LIMITS)
    with pytest.raises(InvalidParameterError, match="timeout_s"):
        run_isolated(add, 1, timeout_s=0, memory_mb=100)
    with pytest.raises(InvalidParameterError, match="memory_mb"):
        run_isolated(add, 1, timeout_s=10, memory_mb=-1)
    with pytest.raises(WorkerError, match="cannot be sent back"):
        run_isolated(unpicklable_result, **LIMITS)


def test_no_temporary_files_are_left(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    run_isolated(add, 1, **LIMITS)
    with pytest.raises(WorkerCrashedError):
        run_isolated(segfault, **LIMITS)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------ entry points


def test_nan_geometry_graphml_through_the_isolated_loader(tmp_path: Path) -> None:
    p = write_graphml(tmp_path / "nan.graphml",
                      edges=edges_with({2: {"geometry": "LINESTRING (nan nan, 1 1)"}}))
    with pytest.raises(NetworkDataError, match=r"edge 3→4: geometry has non-finite"):
        load_network_isolated(p, timeout_s=60, memory_mb=2000)
    assert load_network_isolated(write_graphml(tmp_path / "ok.graphml"), timeout_s=60,
                                 memory_mb=2000).n_edges == 4


def test_isolated_loader_returns_the_same_network(tmp_path: Path) -> None:
    p = write_graphml(tmp_path / "ok.graphml")
    cache = tmp_path / "cache"
    a = load_network(p)
    b = load_network_isolated(p, cache_dir=cache, timeout_s=60, memory_mb=2000)
    for name in ("node_id", "node_x", "node_y", "edge_u", "edge_v", "length_m"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert all(shapely.equals_exact(a.geometry, b.geometry, tolerance=0.0))
    assert a.edge_attrs.equals(b.edge_attrs) and a.crs == b.crs
    assert b.meta["cache"] == "miss"  # the worker wrote the cache entry
    assert load_network(p, cache_dir=cache).meta["cache"] == "hit"


def test_coverage_job_in_the_worker_matches_in_process() -> None:
    region = demo_region()
    local = run_region(region, per_station_areas=False)
    remote = run_region_isolated(region, per_station_areas=False, timeout_s=300,
                                 memory_mb=3000)
    assert remote.network is region.network and remote.coverage.network is region.network
    assert remote.coverage.covered_length_m == pytest.approx(local.coverage.covered_length_m)
    assert remote.areas.union_area_m2 == pytest.approx(local.areas.union_area_m2)
    a, b = local.summary(), remote.summary()
    for key in ("network", "stations", "covered_length_m", "total_length_m", "towns"):
        assert a[key] == b[key], key
    assert region.stations is not None
    job = run_coverage_isolated(region.network, region.stations, per_station_areas=False,
                                timeout_s=300, memory_mb=3000)
    assert job.network is region.network
    assert job.coverage.covered_length_m == pytest.approx(local.coverage.covered_length_m)
