"""``yizhan progress`` (:mod:`geo.cli.progress`): the three files, the cache, exit codes."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from geo.cli import commands as cli
from geo.pipeline.demo import write_demo_inputs
from geo.pipeline.region import demo_region
from geo.stations.store import StationStore
from tests.test_progress import CITY, PASSWORD, version_of

PARAMS = ["--walk-time-min", "10", "--buffer-m", "40", "--quiet"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(region folder of the demo, database with 示范市 v1–v3 and 乙市 v1)."""
    root = tmp_path_factory.mktemp("cli_progress")
    folder = root / "demo"
    write_demo_inputs(folder)
    region = demo_region()
    assert region.stations is not None
    acc = region.stations.accepted
    db = root / "stations.sqlite"
    store = StationStore(db)
    store.add_user("admin", password=PASSWORD, city="广东省", role="admin")
    for n in (8, 16, len(acc)):
        store.create_version(version_of(acc.iloc[:n]), user="admin")
    store.create_version(version_of(acc.iloc[3:7], city="乙市"), user="admin")
    return folder, db


def yz(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    return cli.main(argv)


def test_writes_csv_xlsx_and_json(inputs: tuple[Path, Path], tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    folder, db = inputs
    out = tmp_path / "out"
    cache = tmp_path / "cache"
    argv = ["progress", "--db", str(db), "--region", str(folder), "--out", str(out),
            "--cache-dir", str(cache), *PARAMS]
    assert yz(argv, monkeypatch) == 0
    text = capsys.readouterr().out
    assert f"{CITY}  v3" in text and "covered population" in text
    assert "4 version(s): 4 computed, 0 from the cache" in text
    csv = pd.read_csv(out / "progress.csv", encoding="utf-8-sig", dtype={"city": str})
    assert list(zip(csv["city"], csv["version"], strict=True)) == [
        ("乙市", 1), (CITY, 1), (CITY, 2), (CITY, 3)]
    assert list(csv.loc[csv["city"] == CITY, "stations_total"]) == [8, 16, 32]
    assert (csv["demand_basis"] == "population").all()
    shares = csv.loc[csv["city"] == CITY, "covered_share"].tolist()
    assert shares == sorted(shares) and 0 < shares[0] <= 1
    meta = json.loads((out / "progress.json").read_text(encoding="utf-8"))
    assert meta["params"]["walk_time_min"] == 10.0 and meta["params"]["buffer_m"] == 40.0
    assert meta["demand_basis"] == "population" and meta["network"]["region"] == "demo"
    assert len(meta["rows"]) == 4 and meta["rows"][1]["created_by"] == "admin"
    wb = load_workbook(out / "progress.xlsx")
    ws = wb["覆盖进度"]
    heads = [c.value for c in ws[1]]
    assert "城市" in heads and "版本" in heads and "覆盖率" in heads
    share_col = heads.index("覆盖率") + 1
    assert ws.cell(row=2, column=share_col).number_format == "0.0%"
    assert isinstance(ws.cell(row=2, column=share_col).value, float)
    assert "参数" in wb.sheetnames
    # again: every version from the cache, the same figures
    assert yz(argv, monkeypatch) == 0
    assert "4 computed" not in capsys.readouterr().out
    again = pd.read_csv(out / "progress.csv", encoding="utf-8-sig")
    assert again["covered_share"].tolist() == csv["covered_share"].tolist()


def test_city_choice_network_only_and_english(inputs: tuple[Path, Path], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    folder, db = inputs
    out = tmp_path / "out"
    assert yz(["progress", "--db", str(db), "--network", str(folder / "streets.graphml"),
               "--city", f"乙市,{CITY}", "--city", "乙市", "--no-cache", "--lang", "en",
               "--out", str(out), *PARAMS], monkeypatch) == 0
    assert "covered street length" in capsys.readouterr().out
    csv = pd.read_csv(out / "progress.csv", encoding="utf-8-sig")
    assert (csv["demand_basis"] == "street_length").all() and len(csv) == 4
    assert "progress" in load_workbook(out / "progress.xlsx").sheetnames
    out2 = tmp_path / "out2"
    assert yz(["progress", "--db", str(db), "--network", str(folder / "streets.graphml"),
               "--towns", str(folder / "towns.geojson"), "--city", "乙市", "--no-cache",
               "--out", str(out2), *PARAMS], monkeypatch) == 0
    one = pd.read_csv(out2 / "progress.csv", encoding="utf-8-sig")
    assert list(one["city"]) == ["乙市"] and one["demand_basis"].iloc[0] == "population"


def test_exit_codes(inputs: tuple[Path, Path], tmp_path: Path,
                    monkeypatch: pytest.MonkeyPatch,
                    capsys: pytest.CaptureFixture[str]) -> None:
    folder, db = inputs
    base = ["--region", str(folder), "--out", str(tmp_path / "o"), "--no-cache", *PARAMS]
    # a city without versions: station-database error, one line
    assert yz(["progress", "--db", str(db), "--city", "深圳市", *base], monkeypatch) == 9
    err = capsys.readouterr().err
    assert err.startswith("yizhan: error:") and "深圳市" in err and len(err.splitlines()) == 1
    # a database that does not exist
    assert yz(["progress", "--db", str(tmp_path / "none.sqlite"), *base], monkeypatch) == 9
    # a bad parameter
    assert yz(["progress", "--db", str(db), *base, "--walk-time-min", "0"], monkeypatch) == 4
    # --towns with --region
    assert yz(["progress", "--db", str(db), *base, "--towns", "x.geojson"], monkeypatch) == 4
    # a missing region folder
    assert yz(["progress", "--db", str(db), "--region", str(tmp_path / "nope"), "--out",
               str(tmp_path / "o"), "--no-cache"], monkeypatch) == 2
    # no network source at all: argparse usage error
    with pytest.raises(SystemExit) as caught:
        cli.main(["progress", "--db", str(db), "--out", str(tmp_path / "o")])
    assert caught.value.code == 2
    assert not (tmp_path / "o" / "progress.csv").exists()


def test_progress_by_ebike(inputs: tuple[Path, Path], tmp_path: Path,
                           monkeypatch: pytest.MonkeyPatch,
                           capsys: pytest.CaptureFixture[str]) -> None:
    """--mode ebike: the region's streets loaded with the e-bike filter, the mode in
    progress.json and progress.xlsx; every version covers more than on foot."""
    folder, db = inputs
    base = ["progress", "--db", str(db), "--region", str(folder), "--city", CITY,
            "--no-cache", "--walk-time-min", "10", "--quiet"]
    assert yz([*base, "--out", str(tmp_path / "walk")], monkeypatch) == 0
    assert yz([*base, "--out", str(tmp_path / "ebike"), "--mode", "ebike", "--ride-preset",
               "slow"], monkeypatch) == 0
    assert "travel mode: ebike (network filter ebike-v1), 10 min at 12 km/h" in \
        capsys.readouterr().out
    walk = json.loads((tmp_path / "walk" / "progress.json").read_text(encoding="utf-8"))
    ebike = json.loads((tmp_path / "ebike" / "progress.json").read_text(encoding="utf-8"))
    assert walk["params"]["travel_mode"] == "walk"
    assert walk["params"]["network_filter"]["filter"] == "walk-v1"
    p = ebike["params"]
    assert p["travel_mode"] == "ebike" and p["mode"] == "ebike"
    assert p["network_filter"]["filter"] == "ebike-v1"
    assert p["speed_model"] == {"kind": "constant", "speed_kmh": 12.0, "directed": False,
                                "presets_kmh": {"slow": 12.0, "standard": 15.0, "fast": 20.0}}
    assert p["budget_m"] == pytest.approx(2000.0)
    assert ebike["network"]["key"] != walk["network"]["key"]
    for w, e in zip(walk["rows"], ebike["rows"], strict=True):
        assert e["covered_length_share"] > w["covered_length_share"]
        assert e["total_length_m"] < w["total_length_m"]  # footways are not ridden
    about = {r[0]: r[1] for r in load_workbook(tmp_path / "ebike" / "progress.xlsx")["参数"]
             .iter_rows(values_only=True)}
    assert about["出行方式"] == "电动自行车" and about["骑行时间（分钟）"] == 10
    assert str(about["路网筛选"]).startswith("ebike-v1")
    assert not [k for k in about if "步行" in str(k)]


def test_progress_by_car(inputs: tuple[Path, Path], tmp_path: Path,
                        monkeypatch: pytest.MonkeyPatch,
                        capsys: pytest.CaptureFixture[str]) -> None:
    """--mode drive: the region's streets loaded with the drive filter (one-way streets,
    per-edge speeds), the mode in progress.json and progress.xlsx (budget in seconds, no
    budget_m); every version covers more street than on foot in the same minutes."""
    folder, db = inputs
    base = ["progress", "--db", str(db), "--region", str(folder), "--city", CITY,
            "--no-cache", "--walk-time-min", "5", "--quiet"]
    assert yz([*base, "--out", str(tmp_path / "walk")], monkeypatch) == 0
    assert yz([*base, "--out", str(tmp_path / "drive"), "--mode", "drive"], monkeypatch) == 0
    assert "travel mode: drive (network filter drive-v1), 5 min by car" in \
        capsys.readouterr().out
    walk = json.loads((tmp_path / "walk" / "progress.json").read_text(encoding="utf-8"))
    drive = json.loads((tmp_path / "drive" / "progress.json").read_text(encoding="utf-8"))
    p = drive["params"]
    assert p["travel_mode"] == "drive" and p["mode"] == "drive"
    assert p["network_filter"]["filter"] == "drive-v1"
    assert p["speed_model"]["kind"] == "per_edge" and p["speed_model"]["directed"] is True
    assert p["budget_m"] is None
    assert drive["network"]["key"] != walk["network"]["key"]
    assert len(drive["rows"]) == len(walk["rows"]) == 3
    for w, d in zip(walk["rows"], drive["rows"], strict=True):
        assert d["covered_length_m"] > w["covered_length_m"]
        assert d["covered_share"] > w["covered_share"]
        assert d["stations_total"] == w["stations_total"]
    about = {r[0]: r[1] for r in load_workbook(tmp_path / "drive" / "progress.xlsx")["参数"]
             .iter_rows(values_only=True)}
    assert about["出行方式"] == "驾车"
    assert str(about["路网筛选"]).startswith("drive-v1")
    assert 300 in about.values()  # the budget in seconds
    assert not [k for k in about if "步行" in str(k)]
