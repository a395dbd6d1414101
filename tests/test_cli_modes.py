"""``yizhan coverage --mode walk|ebike`` (:mod:`geo.cli.common`): the network loaded with
the mode's filter, the ride speed, ``summary.json``'s mode blocks (drive: also
tests/test_cli_drive.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from geo.cli import commands as cli
from geo.errors import InvalidParameterError
from geo.pipeline.demo import write_demo_inputs


@pytest.fixture(scope="module")
def demo_inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {k: Path(v) for k, v in
            write_demo_inputs(tmp_path_factory.mktemp("modes_inputs")).items()}


def _coverage(inputs: dict[str, Path], out: Path, *extra: str) -> int:
    return cli.main(["coverage", "--network", str(inputs["streets"]),
                     "--stations", str(inputs["stations"]), "--out", str(out), "--quiet",
                     "--no-cache", "--station-areas", "none", *extra])


def _summary(out: Path) -> dict[str, object]:
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_ebike_coverage_records_mode_speed_and_filter(demo_inputs: dict[str, Path],
                                                      tmp_path: Path) -> None:
    assert _coverage(demo_inputs, tmp_path / "walk", "--walk-time-min", "10") == 0
    assert _coverage(demo_inputs, tmp_path / "ebike", "--walk-time-min", "10",
                     "--mode", "ebike", "--ride-preset", "slow") == 0
    walk, ebike = _summary(tmp_path / "walk"), _summary(tmp_path / "ebike")
    wp, ep = walk["params"], ebike["params"]
    assert isinstance(wp, dict) and isinstance(ep, dict)
    assert wp["travel_mode"] == "walk" and wp["network_filter"]["filter"] == "walk-v1"
    assert ep["travel_mode"] == "ebike" and ep["mode"] == "ebike"
    assert ep["network_filter"]["filter"] == "ebike-v1"
    assert ep["speed_model"]["speed_kmh"] == 12.0 and ep["walk_speed_kmh"] == 12.0
    assert ep["budget_m"] == pytest.approx(2000.0)
    assert ebike["network"]["filter"]["filter"] == "ebike-v1"  # type: ignore[index]
    assert ebike["covered_length_share"] > walk["covered_length_share"]  # type: ignore[operator]


def test_drive_runs_and_mixed_speed_options_are_refused(
        demo_inputs: dict[str, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    # by car since coverage computes drive times (tests/test_cli_drive.py)
    assert _coverage(demo_inputs, tmp_path / "d", "--mode", "drive",
                     "--walk-time-min", "2") == 0
    assert _summary(tmp_path / "d")["params"]["travel_mode"] == "drive"  # type: ignore[index]
    assert _coverage(demo_inputs, tmp_path / "dw", "--mode", "drive",
                     "--walk-speed-kmh", "4") == InvalidParameterError.exit_code
    assert "per street" in capsys.readouterr().err
    assert _coverage(demo_inputs, tmp_path / "r", "--ride-speed-kmh", "15") != 0
    assert "--mode ebike" in capsys.readouterr().err
    assert _coverage(demo_inputs, tmp_path / "w", "--mode", "ebike",
                     "--walk-speed-kmh", "4") != 0
    assert _coverage(demo_inputs, tmp_path / "s", "--mode", "ebike",
                     "--ride-speed-kmh", "40") != 0
    assert "E-bike" in capsys.readouterr().err



def test_trip_labels_are_in_minutes_for_every_mode() -> None:
    from geo.network.modes import EBIKE_SPEED_PRESETS_KMH, MODES
    from geo.vocab import EBIKE_SPEED_LABELS, MODE_LABELS, trip_label

    assert set(MODE_LABELS) == set(MODES)
    assert set(EBIKE_SPEED_LABELS) == set(EBIKE_SPEED_PRESETS_KMH)
    assert trip_label("walk", 15, "zh") == "15分钟步行"
    assert trip_label("ebike", 10, "en") == "10-minute e-bike ride"
    assert trip_label("drive", 30, "zh") == "30分钟车程"
