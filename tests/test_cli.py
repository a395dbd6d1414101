"""Tests of the ``yizhan`` command line (:mod:`geo.cli.commands`): the demo, coverage from files,
one-line errors with documented exit codes, and the help texts."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import geopandas as gpd
import networkx as nx
import pandas as pd
import pytest
import shapely

from geo.cli import commands as cli

ROOT = Path(__file__).resolve().parents[1]
LON0, LAT0 = 113.30, 23.10


def yizhan_cmd() -> list[str]:
    exe = shutil.which("yizhan")
    return [exe] if exe else [sys.executable, "-m", "geo.cli"]


def run(args: list[str], tmp: Path, *, script: bool = False) -> subprocess.CompletedProcess[str]:
    cmd = yizhan_cmd() if script else [sys.executable, "-m", "geo.cli"]
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp / "xdg-cache"),
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([*cmd, *args], capture_output=True, text=True, cwd=tmp, env=env,
                          timeout=300, check=False)


# ----------------------------------------------------------------------------- the demo


@pytest.fixture(scope="module")
def demo_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    tmp = tmp_path_factory.mktemp("cli_demo")
    out, inputs = tmp / "out", tmp / "inputs"
    proc = run(["demo", "--out", str(out), "--write-inputs", str(inputs)], tmp, script=True)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "synthetic" in proc.stdout
    return tmp, out, inputs


def test_demo_summary(demo_dirs: tuple[Path, Path, Path]) -> None:
    _, out, _ = demo_dirs
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    for key in ("params", "inputs", "network", "stations", "covered_length_m",
                "total_length_m", "covered_area_m2", "covered_population_share",
                "demand_basis", "timings_s"):
        assert key in s, key
    assert set(s["network"]) >= {"nodes", "edges", "total_length_m", "dropped_edges"}
    assert set(s["stations"]) >= {"input", "used", "off_network"}
    assert set(s["timings_s"]) >= {"load_network", "snap", "coverage", "service_areas",
                                   "towns"}
    assert s["params"]["walk_time_min"] == 15.0 and s["params"]["budget_m"] == 1000.0
    assert s["stations"]["input"] == 32 and s["stations"]["off_network"] == 2
    assert s["stations"]["used"] == 30
    assert s["network"]["dropped_edges"] == 6
    assert 0 < s["covered_length_m"] < s["total_length_m"] == s["network"]["total_length_m"]
    assert s["covered_area_m2"] > 0
    # the demo ships its synthetic population raster: people covered are the demand
    assert s["demand_basis"] == "population_raster"
    assert s["population"]["synthetic"] and 0 < s["covered_population"] < s["total_population"]
    assert 0 < s["covered_population_share"] < 1
    assert all(v >= 0 for v in s["timings_s"].values())


def test_demo_files(demo_dirs: tuple[Path, Path, Path]) -> None:
    _, out, _ = demo_dirs
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    names = {p.name for p in out.iterdir()}
    assert names >= {"summary.json", "stations.csv", "service_areas.geojson",
                     "coverage.geojson", "towns.csv", "towns.geojson", "zones.csv"}
    st = pd.read_csv(out / "stations.csv", dtype=str, keep_default_na=False)
    assert {"station_id", "status", "snap_dist_m"} <= set(st.columns)
    assert len(st) == s["stations"]["input"]
    assert (st["status"] == "used").sum() == s["stations"]["used"]
    assert (st["status"] == "off_network").sum() == 2
    assert st["station_id"].is_unique
    used = st.loc[st["status"] == "used", "snap_dist_m"].astype(float)
    assert (used <= s["params"]["max_snap_m"]).all()

    areas = json.loads((out / "service_areas.geojson").read_text(encoding="utf-8"))
    assert len(areas["features"]) == s["stations"]["used"]
    ids = {f["properties"]["station_id"] for f in areas["features"]}
    assert ids == set(st.loc[st["status"] == "used", "station_id"])
    gdf = gpd.read_file(out / "service_areas.geojson")
    assert gdf.crs.to_epsg() == 4326
    minx, miny, maxx, maxy = gdf.total_bounds
    assert 113.2 < minx < maxx < 113.45 and 23.0 < miny < maxy < 23.2  # lon/lat order
    cov = gpd.read_file(out / "coverage.geojson")
    assert len(cov) == 1 and cov.crs.to_epsg() == 4326
    assert cov["covered_area_m2"].iloc[0] == pytest.approx(s["covered_area_m2"], abs=0.1)
    assert cov.to_crs(32649).area.iloc[0] == pytest.approx(s["covered_area_m2"], rel=1e-3)

    towns = pd.read_csv(out / "towns.csv", dtype={"code": str, "town_id": str})
    assert len(towns) == 6
    assert towns["rank"].tolist() == list(range(1, 7))
    assert towns["code"].str.fullmatch(r"\d{9}").all()
    assert gpd.read_file(out / "towns.geojson").crs.to_epsg() == 4326
    zones = pd.read_csv(out / "zones.csv")
    assert len(zones) == 2
    assert zones["station_within_threshold"].tolist().count(False) == 1


def test_coverage_from_demo_inputs_matches_demo(demo_dirs: tuple[Path, Path, Path],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    tmp, out, d = demo_dirs
    o = tmp / "coverage_out"
    code = cli.main(["coverage", "--network", str(d / "streets.graphml"),
                     "--stations", str(d / "stations.csv"), "--towns", str(d / "towns.geojson"),
                     "--zones", str(d / "zones.geojson"), "--bases", str(d / "bases.geojson"),
                     "--out", str(o), "--cache-dir", str(tmp / "cache")])
    assert code == 0, capsys.readouterr().err
    assert "covered street length" in capsys.readouterr().out
    demo = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    s = json.loads((o / "summary.json").read_text(encoding="utf-8"))
    assert s["covered_length_m"] == pytest.approx(demo["covered_length_m"], rel=0.005)
    assert s["total_length_m"] == pytest.approx(demo["total_length_m"], rel=0.005)
    assert s["stations"]["used"] == demo["stations"]["used"]
    assert s["network"]["dropped_edges"] == demo["network"]["dropped_edges"]
    assert s["covered_population_share"] == pytest.approx(demo["covered_population_share"],
                                                          abs=0.005)
    assert s["inputs"]["network"]["sha256"]
    assert s["bases"]["count"] == 2
    assert s["zones"]["without_station_within_threshold"] == \
        demo["zones"]["without_station_within_threshold"]
    assert {p.name for p in o.iterdir()} >= {"summary.json", "stations.csv", "zones.csv",
                                             "service_areas.geojson", "towns.csv"}


def test_coverage_with_bbox_records_inputs_and_timings(
        demo_dirs: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    tmp, _, d = demo_dirs
    o = tmp / "bbox_out"
    # a bbox around the whole demo region: same result as without clipping
    code = cli.main(["coverage", "--network", str(d / "streets.graphml"),
                     "--stations", str(d / "stations.csv"), "--bbox", "113.25,23.05,113.40,23.20",
                     "--out", str(o), "--no-cache"])
    assert code == 0, capsys.readouterr().err
    s = json.loads((o / "summary.json").read_text(encoding="utf-8"))
    full = cli.main(["coverage", "--network", str(d / "streets.graphml"),
                     "--stations", str(d / "stations.csv"), "--out", str(tmp / "nobbox"),
                     "--no-cache"])
    assert full == 0
    ref = json.loads((tmp / "nobbox" / "summary.json").read_text(encoding="utf-8"))
    assert s["covered_length_m"] == pytest.approx(ref["covered_length_m"], rel=1e-9)
    # the clipped run reports its inputs and load time like the unclipped one
    assert s["inputs"]["network"]["sha256"] == ref["inputs"]["network"]["sha256"]
    assert s["inputs"]["stations"]["path"] == str(d / "stations.csv")
    assert set(s["timings_s"]) == set(ref["timings_s"])


def test_demo_with_preset_and_speed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["demo", "--out", str(tmp_path), "--preset", "10min",
                     "--speed-preset", "elderly", "--buffer-m", "30"])
    assert code == 0, capsys.readouterr().err
    s = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    # 10 min at 3.0 km/h = 500 m
    assert s["params"]["walk_time_min"] == 10.0 and s["params"]["walk_speed_kmh"] == 3.0
    assert s["params"]["budget_m"] == pytest.approx(500.0)
    assert s["params"]["buffer_m"] == 30.0


# ------------------------------------------------------------------------------- errors


def small_graph(highway: str = "residential") -> nx.MultiDiGraph:
    g = nx.MultiDiGraph(crs="epsg:4326")
    for j in range(3):
        for i in range(3):
            g.add_node(1 + i + 3 * j, x=LON0 + 0.001 * i, y=LAT0 + 0.001 * j)
    k = 0
    for j in range(3):
        for i in range(3):
            a = 1 + i + 3 * j
            for b, ok in ((a + 1, i < 2), (a + 3, j < 2)):
                if ok:
                    k += 1
                    for s, t in ((a, b), (b, a)):
                        g.add_edge(s, t, osmid=k, highway=highway, length=105.0)
    return g


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    ox = pytest.importorskip("osmnx")
    d = tmp_path_factory.mktemp("cli_inputs")
    paths = {"net": d / "grid.graphml", "motorways": d / "motorways.graphml",
             "stations": d / "stations.csv", "far": d / "far.csv",
             "nolonlat": d / "nolonlat.csv", "towns_nocrs": d / "towns.zip",
             "net_txt": d / "grid.txt"}
    ox.save_graphml(small_graph(), paths["net"])
    ox.save_graphml(small_graph("motorway"), paths["motorways"])
    paths["net_txt"].write_text("not a network", encoding="utf-8")
    head = "station_id,name,type,lon,lat\n"
    paths["stations"].write_text(head + f"S1,站,工会驿站,{LON0 + 0.001},{LAT0 + 0.001}\n",
                                 encoding="utf-8")
    paths["far"].write_text(head + "S1,远站,工会驿站,113.50,23.30\nS2,远站二,驿站,113.6,23.4\n",
                            encoding="utf-8")
    paths["nolonlat"].write_text("station_id,name,type,x_coord,y_coord\nS1,站,工会驿站,1,2\n",
                                 encoding="utf-8")
    shp = d / "shp"
    shp.mkdir()
    with pytest.warns(UserWarning, match="crs"):
        gpd.GeoDataFrame({"name": ["甲街道"]},
                         geometry=[shapely.box(LON0 - 0.01, LAT0 - 0.01, LON0 + 0.01,
                                               LAT0 + 0.01)]).to_file(shp / "towns.shp")
    with zipfile.ZipFile(paths["towns_nocrs"], "w") as zf:
        for f in shp.iterdir():
            zf.write(f, f.name)
    return paths


def coverage_args(files: dict[str, Path], out: Path, *, network: str = "net",
                  stations: str = "stations", extra: tuple[str, ...] = ()) -> list[str]:
    net = str(files[network]) if network in files else network
    return ["coverage", "--network", net, "--stations", str(files[stations]),
            "--out", str(out), "--no-cache", *extra]


ERROR_CASES = [
    # (id, network, stations, extra args, exit code, text in the message)
    ("missing-network", "/nonexistent/dir/streets.graphml", "stations", (), 2, "not found"),
    ("unknown-format", "net_txt", "stations", (), 2, "unknown network format"),
    ("no-lon-lat", "net", "nolonlat", (), 6, "lon"),
    ("all-off-network", "net", "far", (), 7, "max_snap_m"),
    ("empty-network", "motorways", "stations", (), 5, "pedestrian filter"),
    ("towns-no-crs", "net", "stations", ("--towns", "TOWNS"), 3, "no CRS"),
    ("walk-time-zero", "net", "stations", ("--walk-time-min", "0"), 4, "walk_time_min"),
    ("preset-and-minutes", "net", "stations", ("--preset", "10min", "--walk-time-min", "10"),
     4, "--preset"),
    ("speed-preset-and-speed", "net", "stations",
     ("--speed-preset", "elderly", "--walk-speed-kmh", "3"), 4, "--speed-preset"),
    ("bad-bbox", "net", "stations", ("--bbox", "23.1,113.3,23.2,113.4"), 4, "bbox"),
    ("buffer-zero", "net", "stations", ("--buffer-m", "0"), 4, "buffer_m"),
]


@pytest.mark.parametrize(("network", "stations", "extra", "code", "text"),
                         [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES])
def test_errors_in_process(files: dict[str, Path], tmp_path: Path,
                           capsys: pytest.CaptureFixture[str], network: str, stations: str,
                           extra: tuple[str, ...], code: int, text: str) -> None:
    extra = tuple(str(files["towns_nocrs"]) if a == "TOWNS" else a for a in extra)
    rc = cli.main(coverage_args(files, tmp_path / "out", network=network, stations=stations,
                                extra=extra))
    err = capsys.readouterr().err
    assert rc == code, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("yizhan: error: ")
    assert text in lines[0]
    assert "Traceback" not in err
    assert not (tmp_path / "out" / "summary.json").exists()


@pytest.mark.parametrize(("case", "code"), [("missing-network", 2), ("all-off-network", 7),
                                             ("empty-network", 5)])
def test_errors_in_subprocess(files: dict[str, Path], tmp_path: Path, case: str,
                              code: int) -> None:
    _, network, stations, extra, _, text = next(c for c in ERROR_CASES if c[0] == case)
    proc = run(coverage_args(files, tmp_path / "out", network=network, stations=stations,
                             extra=extra), tmp_path)
    assert proc.returncode == code, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("yizhan: error: ") and text in lines[0]
    assert "Traceback" not in proc.stderr


def test_usage_error_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["coverage", "--network", "x.graphml"])  # --stations / --out missing
    assert info.value.code == 2
    assert "--stations" in capsys.readouterr().err


# --------------------------------------------------------------------------------- help


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _options(parser: argparse.ArgumentParser) -> list[str]:
    return [s for a in parser._actions for s in a.option_strings
            if s.startswith("--") and s != "--help"]


def test_help_mentions_every_command_and_option(tmp_path: Path) -> None:
    parser = cli.build_parser()
    subs = _subparsers(parser)
    assert set(subs) == {"coverage", "demo", "prepare", "download", "suggest", "report",
                         "stations", "users", "batch", "progress", "bases",
                         "riders"}
    top = run(["--help"], tmp_path, script=True)
    assert top.returncode == 0
    for name in subs:
        assert name in top.stdout
    assert "Exit codes" in top.stdout and "7 no station" in top.stdout
    cov = run(["coverage", "--help"], tmp_path)
    assert cov.returncode == 0
    expected = {"--network", "--stations", "--towns", "--zones", "--bases", "--bbox", "--out",
                "--walk-time-min", "--preset", "--walk-speed-kmh", "--speed-preset",
                "--buffer-m", "--max-snap-m", "--split-nearest", "--cache-dir", "--no-cache",
                "--db", "--city", "--version", "--station-areas", "--h3-resolution", "--quiet",
                "--population", "--admin-level", "--mode", "--ride-speed-kmh",
                "--ride-preset", "--towns-crs", "--town-codes", "--town-population",
                "--town-population-sheet"}
    assert set(_options(subs["coverage"])) == expected
    for opt in expected:
        assert opt in cov.stdout, opt
    # every sub-command's help names all of its options (and its positional arguments)
    nested = {f"{name} {k}": v for name, sub in subs.items()
              for k, v in _subparsers(sub).items()}
    for name, sub in {**subs, **nested}.items():
        text = sub.format_help()
        for opt in _options(sub):
            assert opt in text, (name, opt)
        for a in sub._actions:
            if not a.option_strings and a.dest != "help":
                shown = a.metavar if isinstance(a.metavar, str) else a.dest
                assert shown in text, (name, a.dest)
