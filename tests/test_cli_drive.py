"""``yizhan coverage --mode drive`` (:mod:`geo.cli.common`): the car network loaded from a
file, per-edge speeds and one-way streets, ``summary.json``'s drive blocks, the speed
options refused, and the commands that do not compute by car refusing it with what to do.

The hand-built GraphML is the 1 km block of ``tests/test_drive_coverage.py``: the south
side 0 → 1 one-way, the other three sides two-way, all residential (30 km/h by the China
class default: 1,000 m take 120 s).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from geo.cli import commands as cli
from geo.cli.common import mode_line
from geo.errors import InvalidParameterError
from geo.params import CoverageParams
from geo.pipeline.demo import write_demo_inputs
from tests import nets
from tests.osm_fixtures import write_graphml

SQUARE = {0: (0.0, 0.0), 1: (1000.0, 0.0), 2: (1000.0, 1000.0), 3: (0.0, 1000.0)}


@pytest.fixture(scope="module")
def demo_inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {k: Path(v) for k, v in
            write_demo_inputs(tmp_path_factory.mktemp("drive_inputs")).items()}


def _square_graphml(path: Path) -> Path:
    """The block as osmnx writes it: a two-way street as both directions with
    ``oneway=False``, the one-way 0 → 1 as one edge with ``oneway=True``."""
    lonlat = nets.to_lonlat([SQUARE[i] for i in range(4)])
    nodes = {str(i): (repr(float(x)), repr(float(y))) for i, (x, y) in enumerate(lonlat)}

    def attrs(osmid: int, oneway: bool) -> dict[str, str]:
        return {"osmid": str(osmid), "highway": "residential", "name": f"路{osmid}",
                "length": "1000.0", "oneway": str(oneway), "reversed": "False"}

    edges = [("0", "1", attrs(10, True))]
    for osmid, (u, v) in enumerate(((1, 2), (2, 3), (3, 0)), start=11):
        edges += [(str(u), str(v), attrs(osmid, False)), (str(v), str(u), attrs(osmid, False))]
    return write_graphml(path, nodes=nodes, edges=edges)


def _stations_csv(path: Path, points: list[tuple[float, float]]) -> Path:
    lonlat = nets.to_lonlat(points)
    rows = [f"S{i},驿站{i},工会驿站,{float(lon)!r},{float(lat)!r}"
            for i, (lon, lat) in enumerate(lonlat)]
    path.write_text("station_id,name,type,lon,lat\n" + "\n".join(rows) + "\n",
                    encoding="utf-8")
    return path


def _coverage(network: Path, stations: Path, out: Path, *extra: str) -> int:
    return cli.main(["coverage", "--network", str(network), "--stations", str(stations),
                     "--out", str(out), "--quiet", "--no-cache", "--station-areas", "none",
                     *extra])


def _summary(out: Path) -> dict[str, object]:
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_demo_inputs_by_car_record_the_drive_mode(demo_inputs: dict[str, Path],
                                                  tmp_path: Path) -> None:
    out = tmp_path / "drive"
    assert _coverage(demo_inputs["streets"], demo_inputs["stations"], out,
                     "--mode", "drive", "--walk-time-min", "5") == 0
    s = _summary(out)
    p = s["params"]
    assert isinstance(p, dict)
    assert p["travel_mode"] == "drive" and p["mode"] == "drive"
    assert p["speed_model"]["kind"] == "per_edge" and p["speed_model"]["directed"] is True
    assert p["budget_m"] is None and p["walk_time_min"] == 5.0
    assert p["network_filter"]["filter"] == "drive-v1"
    assert s["network"]["filter"]["filter"] == "drive-v1"  # type: ignore[index]
    assert 0 < float(s["covered_length_share"]) <= 1  # type: ignore[arg-type]
    assert (out / "towns.csv").is_file() and (out / "coverage.geojson").is_file()


def test_one_way_block_by_car_covers_the_hand_computed_length(tmp_path: Path) -> None:
    net = _square_graphml(tmp_path / "block.graphml")
    # a station at node 0, upstream of the one-way 0 → 1: in 300 s the car reaches it
    # from all of 3–0 (120 s), 2–3 (240 s) and the last 500 m of 1–2 (300 s); the one-way
    # side is 360 s away round the block
    stations = _stations_csv(tmp_path / "stations.csv", [(0.0, 0.0)])
    assert _coverage(net, stations, tmp_path / "d5", "--mode", "drive",
                     "--walk-time-min", "5") == 0
    five = _summary(tmp_path / "d5")
    assert five["total_length_m"] == pytest.approx(4000.0, abs=0.5)
    assert five["covered_length_m"] == pytest.approx(2500.0, abs=0.5)
    # 7 min = 420 s: node 1 is reached at 360 s → also the last 500 m of 0 → 1
    assert _coverage(net, stations, tmp_path / "d7", "--mode", "drive",
                     "--walk-time-min", "7") == 0
    assert _summary(tmp_path / "d7")["covered_length_m"] == pytest.approx(3500.0, abs=0.5)
    # downstream of the one-way street (node 1) one minute covers 500 m of it and
    # 500 m of the two-way 1–2
    down = _stations_csv(tmp_path / "down.csv", [(1000.0, 0.0)])
    assert _coverage(net, down, tmp_path / "d1", "--mode", "drive",
                     "--walk-time-min", "1") == 0
    assert _summary(tmp_path / "d1")["covered_length_m"] == pytest.approx(1000.0, abs=0.5)


def test_drive_refuses_speed_options(demo_inputs: dict[str, Path], tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    for extra in (["--walk-speed-kmh", "4"], ["--speed-preset", "elderly"],
                  ["--ride-speed-kmh", "15"], ["--ride-preset", "fast"]):
        rc = _coverage(demo_inputs["streets"], demo_inputs["stations"], tmp_path / "x",
                       "--mode", "drive", *extra)
        assert rc == InvalidParameterError.exit_code
        err = capsys.readouterr().err
        assert "per street" in err and "--walk-time-min" in err
    assert not (tmp_path / "x" / "summary.json").exists()


def test_suggest_refuses_drive_saying_what_to_do(demo_inputs: dict[str, Path], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    rc = cli.main(["suggest", "--network", str(demo_inputs["streets"]), "--k", "1",
                   "--out", str(tmp_path / "s"), "--mode", "drive", "--quiet", "--no-cache"])
    assert rc == InvalidParameterError.exit_code
    err = capsys.readouterr().err
    assert "--mode walk or --mode ebike" in err and "yizhan coverage --mode drive" in err


def test_mode_line_by_car() -> None:
    line = mode_line(CoverageParams(mode="drive", walk_time_min=15))
    assert line == ("travel mode: drive (network filter drive-v1), 15 min by car (per-edge "
                    "speeds: maxspeed or China class defaults; one-way streets respected)")
    assert mode_line(CoverageParams()) == \
        "travel mode: walk (network filter walk-v1), 15 min at 4 km/h = 1,000 m"
