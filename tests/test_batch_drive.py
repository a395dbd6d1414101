"""``yizhan batch --mode drive`` (:mod:`geo.batch`): coverage by car cut into partitions.

A hand-built drive grid (:func:`tests.batchhelp.drive_grid_network`: one-way streets
across the partition border, a primary road, a ``maxspeed`` row) cut into west / east
equals one whole-network drive run — covered length, station statuses and nearest
lengths, town figures and their p90 drive times; the halo is the fastest car's reach;
every ``summary.json`` names the mode.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from geo.batch import partition
from geo.batch.partition import halo_for, reach_m
from geo.batch.run import run_batch
from geo.cli.commands import main
from geo.network.model import load_prepared_network
from geo.params import CoverageParams
from geo.pipeline.job import run_coverage_files
from tests.batchhelp import (
    BORDER_X,
    assert_same_as_whole,
    drive_grid_network,
    station_rows,
    write_drive_inputs,
)
from tests.nets import absolute

distributed = pytest.importorskip("distributed")

#: 1 min by car: 500 m of a residential street (30 km/h), 1,000 m at the 60 km/h row
DRIVE = CoverageParams(mode="drive", walk_time_min=1.0, max_snap_m=60.0, buffer_m=30.0)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_drive_inputs(tmp_path_factory.mktemp("batch-drive"))


def _summary(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "summary.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _whole(inp: dict[str, Path], params: CoverageParams = DRIVE) -> Any:
    return run_coverage_files(inp["network"], inp["stations"], towns_path=inp["towns"],
                              params=params)


def _check_drive_summary(s: dict[str, Any]) -> None:
    p = s["params"]
    assert p["travel_mode"] == "drive" and p["mode"] == "drive"
    assert p["speed_model"]["kind"] == "per_edge" and p["speed_model"]["directed"] is True
    assert p["network_filter"]["filter"] == "drive-v1"
    assert p["budget_m"] is None


def test_halo_is_the_fastest_cars_reach() -> None:
    net = drive_grid_network()
    assert reach_m(net, DRIVE) == pytest.approx(60.0 * 60 / 3.6)  # 60 s at 60 km/h
    halo = halo_for(net, DRIVE)
    assert halo.reach_m == pytest.approx(1000.0)
    assert halo.network_m >= 1000.0 + 60.0
    walk = CoverageParams(walk_time_min=1.0, max_snap_m=60.0, buffer_m=30.0)
    assert reach_m(net, walk) == pytest.approx(walk.budget_m)


def test_drive_batch_equals_a_whole_drive_run(inputs: dict[str, Path], client: Any,
                                              tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = run_batch(network=inputs["network"], stations=inputs["stations"],
                    partitions=inputs["partitions"], partition_field="city",
                    towns=inputs["towns"], params=DRIVE, out_dir=out, client=client)
    assert res.complete
    whole = _whole(inputs)
    assert whole.network.filter_report.version == "drive-v1"
    diffs = assert_same_as_whole(whole, out)
    print("drive grid, towns:", diffs)
    merged = _summary(out)
    cov = whole.coverage
    raw = sum(json.loads((out / p["folder"] / "batch" / "done.json").read_text(
        encoding="utf-8"))["figures"]["covered_length_raw_m"] for p in merged["partitions"])
    assert raw == pytest.approx(cov.covered_length_m, rel=1e-6)  # unrounded
    assert 0 < cov.covered_length_m < cov.total_length_m
    # the p90 drive times of the towns (乙街道 straddles the border: from the pieces)
    ta = whole.towns.towns.set_index("town_id")
    tb = pd.read_csv(out / "towns.csv", dtype={"town_id": str}).set_index("town_id")
    np.testing.assert_allclose(tb.loc[ta.index, "walk_time_p90_min"].to_numpy(float),
                               ta["walk_time_p90_min"].to_numpy(float), atol=0.011)
    for s in (merged, *(_summary(out / p["folder"]) for p in merged["partitions"])):
        _check_drive_summary(s)
    for p in merged["partitions"]:  # each partition's region folder holds car streets
        net = load_prepared_network(out / p["folder"] / "region" / "network")
        assert net.filter_report.version == "drive-v1"


def test_one_way_street_across_the_border_is_counted_once_and_exactly(
        inputs: dict[str, Path], client: Any, tmp_path: Path) -> None:
    """One station just east of the border on the eastward one-way row (y = 200, 30 km/h,
    60 s = 500 m): on that row its minute covers the 500 m *upstream* of it (x 970–1470,
    480 m of them west of the border, in the other partition) and downstream only what
    can loop back by the side streets (the x = 1500 column is one-way north): node
    (1500, 200) → north, west, south, east = 370 m, so 1470–1500 is covered, and node
    (1600, 200) is 470 m away, so 1570–1600 (30 m) — 560 m in all."""
    st = tmp_path / "one.csv"
    station_rows([("ONE", BORDER_X + 20.0, 200.0)]).to_csv(st, index=False, encoding="utf-8")
    out = tmp_path / "out"
    res = run_batch(network=inputs["network"], stations=st, partitions=inputs["partitions"],
                    partition_field="city", towns=inputs["towns"], params=DRIVE,
                    out_dir=out, client=client)
    assert res.complete
    whole = _whole({**inputs, "stations": st})
    assert_same_as_whole(whole, out)
    cov = whole.coverage
    row = _edges_on_row(cov.network, 200.0)
    on_row = float(cov.edge_covered_m[row].sum())
    assert on_row == pytest.approx(560.0, abs=1e-3)
    parts = {p["name"]: _summary(out / p["folder"]) for p in _summary(out)["partitions"]}
    west, east = parts["西城"]["covered_length_m"], parts["东城"]["covered_length_m"]
    assert west > 0 and east > 0
    assert west + east == pytest.approx(cov.covered_length_m, abs=0.11)


def _edges_on_row(net: Any, y: float) -> np.ndarray:
    """Edges lying along the row ``y`` (local metres) of the grid."""
    yy = net.node_y - absolute(0.0, 0.0)[1]
    return np.flatnonzero((np.abs(yy[net.edge_u] - y) < 1e-6)
                          & (np.abs(yy[net.edge_v] - y) < 1e-6))


def test_a_walking_halo_would_not_be_enough(inputs: dict[str, Path], client: Any,
                                            tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The check is sharp: cut with the reach of the slowest street (500 m) instead of
    the fastest (1,000 m), the east partition misses D1 and the merge differs."""
    monkeypatch.setattr(partition, "reach_m", lambda net, params: 500.0)
    out = tmp_path / "small"
    res = run_batch(network=inputs["network"], stations=inputs["stations"],
                    partitions=inputs["partitions"], partition_field="city",
                    towns=inputs["towns"], params=DRIVE, out_dir=out, client=client)
    assert res.complete
    whole = _whole(inputs)
    assert _summary(out)["covered_length_m"] < whole.coverage.covered_length_m - 50.0


def test_cli_batch_by_car_writes_the_mode(inputs: dict[str, Path], client: Any,
                                          tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli"
    code = main(["batch", "--network", str(inputs["network"]), "--stations",
                 str(inputs["stations"]), "--partition", str(inputs["partitions"]),
                 "--partition-field", "city", "--towns", str(inputs["towns"]),
                 "--mode", "drive", "--walk-time-min", "1", "--max-snap-m", "60",
                 "--buffer-m", "30", "--scheduler", client.scheduler.address, "--out",
                 str(out), "--quiet"])
    assert code == 0
    assert "travel mode: drive (network filter drive-v1)" in capsys.readouterr().out
    merged = _summary(out)
    _check_drive_summary(merged)
    assert [p["status"] for p in merged["partitions"]] == ["done", "done"]
    for p in merged["partitions"]:
        _check_drive_summary(_summary(out / p["folder"]))
    assert merged["covered_length_m"] == pytest.approx(
        _whole(inputs).coverage.covered_length_m, abs=0.051)
