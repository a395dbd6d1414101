"""Every CSV / XLSX Yizhan writes keeps hostile text inert (one test over all writers).

Station names, addresses, candidate names and a column *header* carry formula payloads,
including one behind a carriage return (``"\\r=cmd|' /C calc'!A0"``, which pandas' own
CSV writer leaves unquoted so that the row splits in two). Every writer is run through
its public entry point (the ``yizhan`` commands and the app's download helpers); then
every CSV must parse back to the expected number of rows with no cell — header
included — that starts, or continues after a line break, with a formula character, and
no XLSX may hold a formula cell.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from geo.cli import commands as cli
from geo.io.sheetsafe import csv_bytes

PASSWORD = "Lychee-harbour-42"
PAYLOADS = ["\r=cmd|' /C calc'!A0", '=HYPERLINK("http://evil.example","点我")',
            "+SUM(1,2)", "@SUM(1)", "-2+3", "\t=1+1", "正常名称\n=1+2"]
HEADER = '=HYPERLINK("http://evil.example")'
_FORMULA_START = re.compile(r"^[=+@\t\r-]")
_AFTER_BREAK = re.compile(r"[\r\n][=+@\t-]")
_NUMBER = re.compile(r"^-(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")


def _unsafe_cells(rows: list[list[str]]) -> list[str]:
    return [c for row in rows for c in row
            if (_FORMULA_START.match(c) and not _NUMBER.match(c)) or _AFTER_BREAK.search(c)]


def _check_csv(path: Path) -> int:
    text = path.read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert not _unsafe_cells(rows), (path.name, _unsafe_cells(rows)[:3])
    return len(rows) - 1


def _check_xlsx(data: bytes | Path) -> None:
    wb = openpyxl.load_workbook(io.BytesIO(data) if isinstance(data, bytes) else data)
    formulas = [c.coordinate for ws in wb.worksheets for row in ws.iter_rows()
                for c in row if c.data_type == "f"]
    assert not formulas, formulas[:5]


@pytest.fixture(scope="module")
def hostile_inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("hostile")
    assert cli.main(["demo", "--out", str(d / "demo"), "--write-inputs", str(d), "--quiet"]) == 0
    st = pd.read_csv(d / "stations.csv", dtype=str, keep_default_na=False)
    for i, payload in enumerate(PAYLOADS):
        st.loc[i, "name"] = payload
        st.loc[i, "address"] = payload
    st[HEADER] = "x"  # an extra column whose header is a formula
    st.to_csv(d / "stations.csv", index=False)
    cand = st.iloc[:6][["lon", "lat"]].copy()
    cand.insert(0, "name", PAYLOADS[:6])
    cand.insert(0, "candidate_id", [f"C{i}" for i in range(6)])
    cand.loc[5, "lon"] = "200"  # one rejected candidate: candidates_rejected.csv
    cand.to_csv(d / "candidates.csv", index=False)
    return d


def test_every_csv_and_xlsx_writer_keeps_hostile_text_inert(
        hostile_inputs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    d = hostile_inputs
    net, stations = str(d / "streets.graphml"), str(d / "stations.csv")
    rows_in = len(pd.read_csv(stations, dtype=str))
    out = tmp_path / "out"
    # coverage outputs: stations.csv, towns.csv, zones.csv
    assert cli.main(["coverage", "--network", net, "--stations", stations,
                     "--zones", str(d / "zones.geojson"), "--out", str(out / "cov"),
                     "--no-cache", "--quiet"]) == 0
    assert _check_csv(out / "cov" / "stations.csv") == rows_in  # no row split in two
    _check_csv(out / "cov" / "towns.csv")
    _check_csv(out / "cov" / "zones.csv")
    # station-list validation: accepted / rejected / flagged
    assert cli.main(["stations", "validate", stations, "--crs", "wgs84",
                     "--out", str(out / "check")]) == 0
    accepted = _check_csv(out / "check" / "accepted.csv")
    assert accepted + _check_csv(out / "check" / "rejected.csv") == rows_in
    _check_csv(out / "check" / "flagged.csv")
    # the store: import, then export CSV and XLSX
    db = str(tmp_path / "s.db")
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert cli.main(["users", "add", "admin", "--city", "广东省", "--role", "admin",
                     "--db", db]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert cli.main(["stations", "import", stations, "--city", "示范市", "--crs", "wgs84",
                     "--db", db, "--user", "admin"]) == 0
    for suffix in (".csv", ".xlsx"):
        target = out / f"export{suffix}"
        assert cli.main(["stations", "export", "--city", "示范市", "--db", db,
                         "--out", str(target)]) == 0
        if suffix == ".csv":
            assert _check_csv(target) == accepted
        else:
            _check_xlsx(target)
    # site suggestions: suggestions.csv and candidates_rejected.csv
    assert cli.main(["suggest", "--network", net, "--stations", stations, "--k", "3",
                     "--candidates", str(d / "candidates.csv"), "--out", str(out / "sg"),
                     "--no-cache", "--quiet"]) == 0
    _check_csv(out / "sg" / "suggestions.csv")
    _check_csv(out / "sg" / "candidates_rejected.csv")
    # the Excel report
    assert cli.main(["report", "--network", net, "--stations", stations, "--no-cache",
                     "--out", str(out / "report.xlsx"), "--quiet"]) == 0
    _check_xlsx(out / "report.xlsx")
    # coverage progress over versions: progress.csv and progress.xlsx
    assert cli.main(["progress", "--db", db, "--network", net, "--no-cache",
                     "--out", str(out / "progress"), "--quiet"]) == 0
    _check_csv(out / "progress" / "progress.csv")
    _check_xlsx(out / "progress" / "progress.xlsx")


def test_the_app_download_helpers_use_the_same_guard() -> None:
    df = pd.DataFrame({HEADER: PAYLOADS, "n": range(len(PAYLOADS))})
    data = csv_bytes(df)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert len(rows) == len(PAYLOADS) + 1 and not _unsafe_cells(rows)
    assert rows[1][0] == "'\r'=cmd|' /C calc'!A0"  # kept, quoted, neutralised
    from geo.reports.town_table import towns_csv

    rows = list(csv.reader(io.StringIO(towns_csv(df, {"n": HEADER}).decode("utf-8-sig"),
                                       newline="")))
    assert not _unsafe_cells(rows)
