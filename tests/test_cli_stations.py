"""``yizhan stations …`` / ``yizhan users …`` and ``--db/--city`` of coverage, suggest and
report (:mod:`geo.cli.stations`)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from geo.cli import commands as cli
from geo.stations.store import StationStore

ROOT = Path(__file__).resolve().parents[1]
PW = "Correct-Horse-42"

SZ_CSV = (
    "编号,站点名称,类型,经度,纬度,地址,城市\n"
    "0012,南山区粤海街道工会驿站,工会驿站,113.93,22.53,科技园,深圳市\n"
    "12,福田区华强北驿站,驿站,114.08,22.54,,深圳市\n"
    "0012,重复编号,工会驿站,114.06,22.54,,深圳市\n"
    "14,填反了,工会驿站,22.54,114.06,,深圳市\n"
    "15,广州的站,工会驿站,113.30,23.10,,广州市\n"
    "16,,工会驿站,114.0,22.6,,\n"
)


def yz(argv: list[str], monkeypatch: pytest.MonkeyPatch, *, stdin: str = "") -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return cli.main(argv)


@pytest.fixture()
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "stations.db"
    for name, city, role in (("sz_editor", "深圳市", "editor"), ("gz_editor", "广州市", "editor"),
                             ("reviewer", "province", "reviewer"),
                             ("admin", "广东省", "admin")):
        assert yz(["users", "add", name, "--city", city, "--role", role, "--db", str(path)],
                  monkeypatch, stdin=PW + "\n") == 0
    return path


@pytest.fixture()
def sz_file(tmp_path: Path) -> Path:
    p = tmp_path / "深圳站点.csv"
    p.write_bytes(SZ_CSV.encode("gbk"))
    return p


def test_validate_writes_the_four_files_and_keeps_every_row(
        sz_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert yz(["stations", "validate", str(sz_file), "--crs", "gcj02", "--city", "深圳市",
               "--out", str(out)], monkeypatch) == 0
    text = capsys.readouterr().out
    assert "rows in 6 = accepted 2 + rejected 4" in text
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert (report["rows_in"], report["accepted"], report["rejected"]) == (6, 2, 4)
    assert "flagged" in report and report["encoding"] == "GBK"
    acc = pd.read_csv(out / "accepted.csv", dtype=str, encoding="utf-8-sig")
    assert list(acc["station_id"]) == ["0012", "12"]
    assert list(acc["站点名称"]) == ["南山区粤海街道工会驿站", "福田区华强北驿站"]
    assert {"lon", "lat", "经度", "纬度"} <= set(acc.columns)
    # GCJ-02 converted: WGS-84 lon differs from the uploaded one by hundreds of metres
    assert abs(float(acc["lon"][0]) - 113.93) > 0.003
    assert acc["经度"][0] == "113.93"
    rej = pd.read_csv(out / "rejected.csv", dtype=str, encoding="utf-8-sig")
    assert list(rej["row"]) == ["3", "4", "5", "6"]
    assert list(rej["code"]) == ["duplicate_id", "swapped_coordinates", "wrong_city",
                                 "empty_name"]
    assert (out / "flagged.csv").is_file()


def test_validate_strict_and_bad_file(sz_file: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert yz(["stations", "validate", str(sz_file), "--crs", "gcj02", "--strict",
               "--out", str(tmp_path / "o")], monkeypatch) == 6
    vrt = tmp_path / "stations.csv"
    vrt.write_text('<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>CSV:/etc/passwd'
                   "</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>")
    capsys.readouterr()
    assert yz(["stations", "validate", str(vrt), "--crs", "wgs84", "--out",
               str(tmp_path / "v")], monkeypatch) == 2
    err = capsys.readouterr().err
    assert err.startswith("yizhan: error:") and "VRT" in err and err.count("\n") == 1
    assert not (tmp_path / "v" / "accepted.csv").exists()


def test_validate_and_import_require_the_coordinate_system(
        sz_file: Path, db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """No silent WGS-84: without --crs nothing is read, written, prompted or stored, and
    the one-line error names the three choices (exit 3, a coordinate-system error)."""
    out = tmp_path / "o"
    capsys.readouterr()
    assert yz(["stations", "validate", str(sz_file), "--out", str(out)], monkeypatch) == 3
    err = capsys.readouterr().err
    assert err.startswith("yizhan: error: --crs is required") and err.count("\n") == 1
    for choice in ("--crs wgs84", "--crs gcj02", "--crs bd09"):
        assert choice in err
    assert not out.exists()
    # import checks it before asking for the password
    stdin = io.StringIO(PW + "\n")
    monkeypatch.setattr(sys, "stdin", stdin)
    assert cli.main(["stations", "import", str(sz_file), "--city", "深圳市", "--db", str(db),
                     "--user", "sz_editor"]) == 3
    assert stdin.read() == PW + "\n"  # the password was never read
    assert "--crs is required" in capsys.readouterr().err
    assert StationStore(db).cities() == []
    # the help says it is required
    with pytest.raises(SystemExit):
        cli.main(["stations", "validate", "--help"])
    assert "required: the coordinate system" in " ".join(capsys.readouterr().out.split())


def test_users_add_refuses_weak_and_duplicate(db: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert yz(["users", "add", "weak", "--city", "深圳市", "--role", "editor", "--db",
               str(db)], monkeypatch, stdin="12345678\n") == 4
    assert yz(["users", "add", "sz_editor", "--city", "深圳市", "--role", "editor", "--db",
               str(db)], monkeypatch, stdin=PW + "\n") == 9
    assert yz(["users", "add", "x", "--city", "深圳市", "--role", "editor", "--db", str(db)],
              monkeypatch, stdin="") == 4
    capsys.readouterr()
    assert yz(["users", "list", "--db", str(db)], monkeypatch) == 0
    listing = capsys.readouterr().out
    assert "sz_editor\teditor\t深圳市" in listing and "weak" not in listing
    assert PW not in listing and "argon2" not in listing


def test_import_permissions_history_rollback_export(
        db: Path, sz_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    base = ["stations", "import", str(sz_file), "--city", "深圳市", "--crs", "gcj02",
            "--db", str(db)]
    # a Guangzhou editor cannot create a Shenzhen version; a reviewer cannot write
    assert yz([*base, "--user", "gz_editor"], monkeypatch, stdin=PW + "\n") == 10
    assert "may not change" in capsys.readouterr().err
    assert yz([*base, "--user", "reviewer"], monkeypatch, stdin=PW + "\n") == 10
    # wrong password / unknown user: one generic message
    assert yz([*base, "--user", "sz_editor"], monkeypatch, stdin="wrong\n") == 10
    assert yz([*base, "--user", "nobody"], monkeypatch, stdin=PW + "\n") == 10
    assert StationStore(db).history("深圳市") == []
    capsys.readouterr()
    assert yz([*base, "--user", "sz_editor", "--note", "first"], monkeypatch,
              stdin=PW + "\n") == 0
    assert "stored 深圳市 v1: 2 stations" in capsys.readouterr().out
    # second upload: one station moved, one renamed, one added
    v2 = tmp_path / "v2.csv"
    v2.write_text("编号,名称,类型,经度,纬度\n0012,南山驿站（新）,工会驿站,113.94,22.53\n"
                  "12,福田区华强北驿站,驿站,114.08,22.54\n20,新站,爱心妈妈小屋,114.1,22.6\n",
                  encoding="utf-8")
    assert yz(["stations", "import", str(v2), "--city", "深圳市", "--crs", "gcj02", "--db",
               str(db), "--user", "admin"], monkeypatch, stdin=PW + "\n") == 0
    out = capsys.readouterr().out
    assert "+1 added, -0 removed, 1 moved, 1 renamed, 1 unchanged" in out
    assert yz(["stations", "rollback", "--city", "深圳市", "--to", "1", "--db", str(db),
               "--user", "gz_editor"], monkeypatch, stdin=PW + "\n") == 10
    assert yz(["stations", "rollback", "--city", "深圳市", "--to", "1", "--db", str(db),
               "--user", "sz_editor"], monkeypatch, stdin=PW + "\n") == 0
    capsys.readouterr()
    assert yz(["stations", "history", "--city", "深圳市", "--db", str(db)], monkeypatch) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split()[0] for ln in lines] == ["1", "2", "3"]
    assert "sz_editor" in lines[0] and "深圳站点.csv" in lines[0] and "rollback" in lines[2]
    assert "rows_in=6" in lines[0] and "accepted=2" in lines[0] and "rejected=4" in lines[0]
    # export: the current version (= v1) keeps '0012'; --raw gives the upload's bytes back
    csv_out = tmp_path / "export.csv"
    assert yz(["stations", "export", "--city", "深圳市", "--db", str(db), "--out",
               str(csv_out)], monkeypatch) == 0
    exp = pd.read_csv(csv_out, dtype=str, encoding="utf-8-sig")
    assert list(exp["station_id"]) == ["0012", "12"]
    raw_out = tmp_path / "raw"
    raw_out.mkdir()
    assert yz(["stations", "export", "--city", "深圳市", "--db", str(db), "--version", "1",
               "--raw", "--out", str(raw_out)], monkeypatch) == 0
    assert (raw_out / "深圳站点.csv").read_bytes() == sz_file.read_bytes()
    for suffix in (".geojson", ".gpkg", ".xlsx"):
        assert yz(["stations", "export", "--city", "深圳市", "--db", str(db), "--version", "2",
                   "--out", str(tmp_path / f"v2{suffix}")], monkeypatch) == 0
    import geopandas as gpd

    g = gpd.read_file(tmp_path / "v2.gpkg")
    assert len(g) == 3 and g.crs.to_epsg() == 4326
    assert yz(["stations", "export", "--city", "深圳市", "--db", str(db), "--version", "9",
               "--out", str(tmp_path / "x.csv")], monkeypatch) == 9


def test_import_nothing_accepted_stores_nothing(db: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("名称,经度,纬度\nA,0,0\nB,,\n", encoding="utf-8")
    assert yz(["stations", "import", str(bad), "--city", "深圳市", "--crs", "wgs84", "--db",
               str(db), "--user", "sz_editor", "--default-type", "工会驿站"], monkeypatch,
              stdin=PW + "\n") == 6
    assert StationStore(db).cities() == []


def test_mapping_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "odd.csv"
    f.write_text("站,东,北,种类\nA,113.3,23.1,工会驿站\n", encoding="utf-8")
    out = tmp_path / "o"
    assert yz(["stations", "validate", str(f), "--crs", "wgs84", "--out", str(out)],
              monkeypatch) == 6
    assert yz(["stations", "validate", str(f), "--map", "name=站", "--map", "lon=东",
               "--map", "lat=北", "--crs", "wgs84", "--out", str(out)], monkeypatch) == 0
    rep = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert rep["accepted"] == 1 and rep["mapping"]["name"] == "站"
    assert yz(["stations", "validate", str(f), "--map", "bogus=站", "--crs", "wgs84",
               "--out", str(out)], monkeypatch) == 4


@pytest.fixture(scope="module")
def demo_inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("demo-inputs")
    from geo.pipeline.demo import write_demo_inputs

    write_demo_inputs(d)
    return d


def test_coverage_suggest_report_from_the_db(demo_inputs: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "st.db"
    assert yz(["users", "add", "admin", "--role", "admin", "--db", str(db)], monkeypatch,
              stdin=PW + "\n") == 0
    stations = demo_inputs / "stations.csv"
    assert yz(["stations", "import", str(stations), "--city", "示范市", "--crs", "wgs84",
               "--db", str(db), "--user", "admin"], monkeypatch, stdin=PW + "\n") == 0
    network = next(demo_inputs.glob("*.graphml"))
    towns = next(demo_inputs.glob("towns.*"))
    a, b = tmp_path / "a", tmp_path / "b"
    common = ["--network", str(network), "--towns", str(towns), "--no-cache"]
    assert yz(["coverage", *common, "--stations", str(stations), "--out", str(a)],
              monkeypatch) == 0
    assert yz(["coverage", *common, "--db", str(db), "--city", "示范市", "--out", str(b)],
              monkeypatch) == 0
    sa = json.loads((a / "summary.json").read_text(encoding="utf-8"))
    sb = json.loads((b / "summary.json").read_text(encoding="utf-8"))
    assert sb["covered_length_m"] == pytest.approx(sa["covered_length_m"], rel=1e-9)
    assert sb["inputs"]["stations"]["city"] == "示范市"
    assert sb["inputs"]["stations"]["version"] == 1
    assert sb["inputs"]["stations"]["sha256"] == StationStore(db).current("示范市").sha256
    # both or neither; not with --stations
    assert yz(["coverage", *common, "--db", str(db), "--out", str(b)], monkeypatch) == 4
    assert yz(["coverage", *common, "--db", str(db), "--city", "示范市", "--stations",
               str(stations), "--out", str(b)], monkeypatch) == 4
    assert yz(["coverage", *common, "--db", str(db), "--city", "无此市", "--out", str(b)],
              monkeypatch) == 9
    s = tmp_path / "s"
    assert yz(["suggest", "--network", str(network), "--db", str(db), "--city", "示范市",
               "--k", "2", "--no-areas", "--no-cache", "--out", str(s)], monkeypatch) == 0
    assert json.loads((s / "summary.json").read_text(encoding="utf-8"))["inputs"][
        "stations"]["city"] == "示范市"
    rep = tmp_path / "r.xlsx"
    assert yz(["report", *common, "--db", str(db), "--city", "示范市", "--out", str(rep)],
              monkeypatch) == 0
    assert rep.stat().st_size > 0


def test_password_is_read_from_stdin_in_a_subprocess(tmp_path: Path) -> None:
    """The installed command reads the password from a pipe (never from argv)."""
    db = tmp_path / "p.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-m", "geo.cli", "users", "add", "piped", "--role",
                        "admin", "--db", str(db)], input=PW + "\n", capture_output=True,
                       text=True, env=env, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    assert StationStore(db).authenticate("piped", PW).role == "admin"
