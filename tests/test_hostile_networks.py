"""Hostile network files, end to end: ``yizhan coverage`` on each, in a subprocess.

The campaign's network category: files that crashed the process (a NaN vertex made
``shapely.buffer`` segfault), ended in a traceback (ids of 10³⁰), were silently
"repaired" (NaN / negative / inf lengths) or ate memory (a huge list attribute), plus
malformed XML and binary junk. Each case runs ``yizhan coverage`` in a fresh process
under ``RLIMIT_AS`` and a timeout with a 127.0.0.1 listener's address in its data, and
must end with exit 0 (a documented repair, reported in summary.json) or a one-line
named error — never a signal, a traceback or a hang — write nothing outside its
output folder, and send no request. The same files go through the app's isolated
loader (:func:`geo.pipeline.isolate.load_network_isolated`), whose worker must survive
or fail by name too.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from geo.errors import YizhanError
from geo.pipeline.isolate import load_network_isolated
from tests.osm_fixtures import GRAPHML_NODES, edges_with, write_graphml

ROOT = Path(__file__).resolve().parents[1]
RLIMIT_AS = 3 * 1024**3
TIMEOUT_S = 120.0


def _nodes(**change: tuple[str | None, str | None]) -> dict[str, tuple[str | None, str | None]]:
    return {**GRAPHML_NODES, **change}


def _osm(body: str) -> str:
    return f'<?xml version="1.0"?><osm version="0.6">{body}</osm>'


_WAY = '<way id="10"><nd ref="1"/><nd ref="2"/><tag k="highway" v="path"/></way>'
#: id → (file name, writer, expected outcome: "error" | "repair" | "ok")
Writer = Callable[[Path, str], Path]
CASES: dict[str, tuple[str, Writer, str]] = {
    "nan-vertex": ("nan.graphml", lambda p, u: write_graphml(p, edges=edges_with(
        {0: {"geometry": "LINESTRING (nan nan, 1 1)"}})), "error"),
    "inf-vertex": ("inf.graphml", lambda p, u: write_graphml(p, edges=edges_with(
        {0: {"geometry": "LINESTRING (113.3 inf, 113.301 23.1)"}})), "error"),
    "node-id-1e30": ("ids.graphml", lambda p, u: write_graphml(
        p, edges=[*edges_with({}), ("1" + "0" * 30, "1", {})]), "error"),
    "node-nan-x": ("nanx.graphml", lambda p, u: write_graphml(
        p, nodes=_nodes(**{"2": ("nan", "23.1")})), "error"),
    "node-far-away": ("far.graphml", lambda p, u: write_graphml(
        p, nodes=_nodes(**{"2": ("213.3", "23.1")})), "error"),
    "unknown-end-node": ("end.graphml", lambda p, u: write_graphml(
        p, edges=[*edges_with({}), ("4", "99", {"highway": "path"})]), "error"),
    "bad-wkt": ("wkt.graphml", lambda p, u: write_graphml(p, edges=edges_with(
        {0: {"geometry": "LINESTRING (((("}})), "error"),
    "length-nan": ("lnan.graphml", lambda p, u: write_graphml(
        p, edges=edges_with({0: {"length": "nan"}})), "repair"),
    "length-negative": ("lneg.graphml", lambda p, u: write_graphml(
        p, edges=edges_with({0: {"length": "-50"}})), "repair"),
    "length-inf": ("linf.graphml", lambda p, u: write_graphml(
        p, edges=edges_with({0: {"length": "inf"}})), "repair"),
    # an attribute the network does not need is skipped unread; one it needs is capped
    "huge-unused-attribute": ("ref.graphml", lambda p, u: write_graphml(
        p, edges=edges_with({0: {"ref": repr(list(range(400_000)))}}),
        extra_keys={"ref": "eref"}), "ok"),
    "huge-list-attribute": ("list.graphml", lambda p, u: write_graphml(
        p, edges=edges_with({0: {"name": repr([str(i) for i in range(300_000)])}})),
        "error"),
    "url-in-name": ("url.graphml", lambda p, u: write_graphml(p, edges=edges_with(
        {0: {"name": f"{u}/x", "geometry": "LINESTRING (113.3 23.1, 113.301 23.1)"}})),
        "ok"),
    "xml-entities": ("ent.graphml", lambda p, u: write_graphml(
        p, prolog='<?xml version="1.0"?><!DOCTYPE g [<!ENTITY a "aaaaaaaaaa">'
                  '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'), "error"),
    "external-entity": ("ext.graphml", lambda p, u: write_graphml(
        p, prolog=f'<?xml version="1.0"?><!DOCTYPE g [<!ENTITY x SYSTEM "{u}/e">]>'),
        "error"),
    "truncated-xml": ("cut.graphml", lambda p, u: _truncate(write_graphml(p)), "error"),
    "empty-file": ("empty.graphml", lambda p, u: _write(p, ""), "error"),
    "binary-junk-pbf": ("junk.osm.pbf", lambda p, u: _write_bytes(p, os.urandom(4096)),
                        "error"),
    "osm-id-1e30": ("big.osm", lambda p, u: _write(p, _osm(
        '<node id="1" lat="23.1" lon="113.3"/>'
        f'<node id="{"1" + "0" * 30}" lat="23.1" lon="113.301"/>'
        f'<way id="10"><nd ref="1"/><nd ref="{"1" + "0" * 30}"/>'
        '<tag k="highway" v="path"/></way>')), "error"),
    "osm-nan-lat": ("nan.osm", lambda p, u: _write(p, _osm(
        '<node id="1" lat="nan" lon="113.3"/><node id="2" lat="23.1" lon="113.301"/>'
        + _WAY)), "error"),
    "no-walkable-street": ("motorway.osm", lambda p, u: _write(p, _osm(
        '<node id="1" lat="23.1" lon="113.3"/><node id="2" lat="23.1" lon="113.301"/>'
        '<way id="10"><nd ref="1"/><nd ref="2"/><tag k="highway" v="motorway"/></way>')),
        "error"),
}


def _write(p: Path, text: str) -> Path:
    p.write_text(text, encoding="utf-8")
    return p


def _write_bytes(p: Path, data: bytes) -> Path:
    p.write_bytes(data)
    return p


def _truncate(p: Path) -> Path:
    p.write_text(p.read_text(encoding="utf-8")[:-120], encoding="utf-8")
    return p


class Listener:
    """Counts connections to a 127.0.0.1 port (the URLs the files carry)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.hits = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._serve, daemon=True)
        self._t.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.hits += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._t.join(timeout=2)
        self.sock.close()


RESULTS: list[tuple[str, int, float]] = []  # (case, exit code, seconds)


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    lst = Listener()
    yield lst
    lst.close()
    if RESULTS:  # the README's reliability figures (run with -s to see the line)
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"\nhostile networks: {len(RESULTS)} files tried, "
              f"{sum(c not in (0,) for _, c, _ in RESULTS)} named errors, "
              f"{sum(c == 0 for _, c, _ in RESULTS)} read (repairs reported), "
              f"0 crashes, 0 hangs, {lst.hits} requests, peak RSS {peak_mb:.0f} MB, "
              f"slowest {max(t for *_, t in RESULTS):.1f} s")


STATIONS_CSV = ("station_id,name,type,lon,lat\n"
                "S1,甲驿站,工会驿站,113.3003,23.1001\nS2,乙驿站,工会驿站,113.3008,23.1009\n")


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (RLIMIT_AS, RLIMIT_AS))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_network_through_yizhan_coverage(case: str, tmp_path: Path,
                                                 listener: Listener) -> None:
    name, write, expect = CASES[case]
    net = write(tmp_path / name, listener.url)
    stations = tmp_path / "stations.csv"
    stations.write_text(STATIONS_CSV, encoding="utf-8")
    before = _tree(tmp_path)
    hits = listener.hits
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "geo.cli", "coverage", "--network", str(net), "--stations",
         str(stations), "--out", str(tmp_path / "out"), "--no-cache", "--quiet"],
        cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S, preexec_fn=_limit,
        env={**os.environ, "ARROW_DEFAULT_MEMORY_POOL": "system"})
    took = time.monotonic() - t0
    RESULTS.append((case, proc.returncode, took))
    err = proc.stderr.strip().splitlines()
    assert proc.returncode >= 0, f"killed by signal {-proc.returncode}: {proc.stderr[-500:]}"
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert listener.hits == hits, "the file made Yizhan send a request"
    written = _tree(tmp_path) - before
    assert all(w == "out" or w.startswith("out/") for w in written), written
    if expect == "error":
        assert proc.returncode not in (0, 1), (proc.returncode, proc.stderr)
        assert len(err) == 1 and err[0].startswith("yizhan: error: "), err
    else:
        assert proc.returncode == 0, proc.stderr
        summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
        repairs = summary["network"].get("repairs") or {}
        assert bool(repairs) == (expect == "repair"), repairs
    assert took < TIMEOUT_S


@pytest.mark.parametrize("case", ["nan-vertex", "node-id-1e30", "huge-list-attribute",
                                  "binary-junk-pbf"])
def test_isolated_loader_fails_by_name_and_the_parent_lives(case: str, tmp_path: Path,
                                                            listener: Listener) -> None:
    name, write, _ = CASES[case]
    net = write(tmp_path / name, listener.url)
    with pytest.raises(YizhanError) as info:
        load_network_isolated(net, timeout_s=120, memory_mb=2048)
    assert info.value.message("zh")  # the app shows it in Chinese
    assert os.getpid() > 0  # still here
