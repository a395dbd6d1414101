"""Hostile files against every reader of user files (:mod:`geo.io`).

The corpus (:mod:`tests.hostile_corpus`, built in code) holds files that once made a
reader hang, eat gigabytes, send HTTP requests, read another local file or crash —
each within every cap — plus controls that must still be read. Each case must end in a
named error (a :class:`~geo.errors.YizhanError`) or a bounded result: no traceback, no
hang (per-case timeout), no request to a listener on 127.0.0.1 whose address is in the
files, and memory bounded (the cases run in a subprocess under ``RLIMIT_AS``).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from geo.errors import InputFileError, UploadLimitError, YizhanError
from geo.io import gdal
from geo.io.upload import read_upload
from tests.hostile_corpus import Case, build_corpus

REPO = Path(__file__).resolve().parents[1]
RLIMIT_AS = 1536 * 1024 * 1024  # 1.5 GB of address space for the reading process
CASE_TIMEOUT_S = 60.0


class Listener:
    """A TCP listener on 127.0.0.1 (random port) that counts connections, in a thread."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port: int = self.sock.getsockname()[1]
        self.requests: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _addr = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            with conn:
                conn.settimeout(1.0)
                try:
                    head = conn.recv(2048)
                except OSError:
                    head = b""
                self.requests.append(head[:300])
                with contextlib.suppress(OSError):
                    conn.sendall(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n")

    def __enter__(self) -> Listener:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()

    def probe(self) -> None:
        """One request of our own, to show the listener does see requests."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as c:
            c.sendall(b"GET /probe HTTP/1.0\r\n\r\n")
            c.recv(100)


@pytest.fixture
def listener() -> Iterator[Listener]:
    with Listener() as lst:
        yield lst


def _lines(stream: Any, out: queue.Queue[str | None]) -> None:
    for line in stream:
        out.put(line)
    out.put(None)


def run_corpus(manifest: Path, n: int, log: Path) -> dict[int, dict[str, Any]]:
    """Run every case in a capped subprocess; a hang or a dead process is recorded
    and the run goes on with the next case in a new process."""
    # pyarrow's default allocator reserves 1 GB of address space up front (pandas builds
    # the string tables through it), which would make RLIMIT_AS measure that reservation
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "ARROW_DEFAULT_MEMORY_POOL": "system", "PYTHONPATH": str(REPO)}
    results: dict[int, dict[str, Any]] = {}
    start = 0
    while start < n:
        with open(log, "a", encoding="utf-8") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "tests.hostile_runner", str(manifest), str(start),
                 str(RLIMIT_AS)], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=err,
                text=True, encoding="utf-8")
            lines: queue.Queue[str | None] = queue.Queue()
            threading.Thread(target=_lines, args=(proc.stdout, lines), daemon=True).start()
            current: int | None = None
            t0 = time.monotonic()
            while True:
                try:
                    line = lines.get(timeout=CASE_TIMEOUT_S + 30.0 * (current is None))
                except queue.Empty:  # the current case hangs
                    proc.kill()
                    proc.wait()
                    if current is not None:
                        results[current] = {"outcome": "hang",
                                            "seconds": round(time.monotonic() - t0, 1)}
                    start = (current if current is not None else start) + 1
                    break
                if line is None:  # the process ended
                    rc = proc.wait()
                    if current is not None and current not in results:
                        results[current] = {"outcome": "died", "returncode": rc}
                        start = current + 1
                    else:
                        start = n if rc == 0 else (current or start) + 1
                    break
                msg = json.loads(line)
                if "start" in msg:
                    current, t0 = int(msg["start"]), time.monotonic()
                else:
                    results[int(msg["index"])] = msg
    return results


def _summary(cases: list[Case], results: dict[int, dict[str, Any]],
             requests: int) -> dict[str, Any]:
    outcomes = [results.get(i, {"outcome": "missing"}) for i in range(len(cases))]
    return {
        "files": len(cases),
        "crashes": sum(r["outcome"] in ("crash", "died", "missing") for r in outcomes),
        "hangs": sum(r["outcome"] == "hang" for r in outcomes),
        "requests": requests,
        "named_errors": sum(r["outcome"] == "error" for r in outcomes),
        "read": sum(r["outcome"] == "ok" for r in outcomes),
        "peak_rss_mb": max((r.get("maxrss_mb", 0) for r in outcomes), default=0),
        "median_rss_mb": sorted(r.get("maxrss_mb", 0) for r in outcomes)[len(outcomes) // 2],
        "peak_case": max(range(len(cases)), key=lambda i: outcomes[i].get("maxrss_mb", 0)),
        "slowest_s": max((r.get("seconds", 0) for r in outcomes), default=0),
    }


def test_hostile_corpus(tmp_path: Path, listener: Listener) -> None:
    cases = build_corpus(tmp_path / "corpus", listener.port)
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps([c.to_json() for c in cases]), encoding="utf-8")
    t0 = time.monotonic()
    results = run_corpus(manifest, len(cases), tmp_path / "stderr.log")
    elapsed = time.monotonic() - t0
    requests = len(listener.requests)
    listener.probe()
    deadline = time.monotonic() + 5
    while len(listener.requests) == requests and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(listener.requests) == requests + 1, "the listener did not see its probe"

    s = _summary(cases, results, requests)
    table = "\n".join(
        f"{c.id:38s} {c.kind:8s} expect={c.expect:5s} "
        f"{results.get(i, {}).get('outcome', 'missing'):7s} "
        f"{results.get(i, {}).get('seconds', '')!s:>7s}s "
        f"{results.get(i, {}).get('maxrss_mb', '')!s:>7s}MB "
        f"{str(results.get(i, {}).get('detail', ''))[:90]!r}"
        for i, c in enumerate(cases))
    print(f"\n{table}\n")
    print(f"hostile corpus: {s['files']} files tried, {s['crashes']} crashes, {s['hangs']} "
          f"hangs, {s['requests']} requests to the 127.0.0.1 listener, peak RSS "
          f"{s['peak_rss_mb']:.0f} MB ({cases[s['peak_case']].id}; median case "
          f"{s['median_rss_mb']:.0f} MB; RLIMIT_AS {RLIMIT_AS / 2**30:.1f} GB), "
          f"{s['named_errors']} named errors, {s['read']} read, slowest case "
          f"{s['slowest_s']:.1f} s, {elapsed:.0f} s in all")
    assert s["crashes"] == 0 and s["hangs"] == 0, table
    assert requests == 0, listener.requests
    wrong = [(c.id, c.expect, results[i]["outcome"]) for i, c in enumerate(cases)
             if c.expect != "any" and results[i]["outcome"] != c.expect]
    assert not wrong, wrong
    assert all(results[i]["outcome"] in ("ok", "error") for i in range(len(cases)))
    assert s["peak_rss_mb"] * 2**20 < RLIMIT_AS
    assert len(cases) >= 85


# ------------------------------------------------------------ the GDAL guard on its own


def _crs_link(port: int) -> bytes:
    return json.dumps({
        "type": "FeatureCollection",
        "crs": {"type": "link", "properties": {"href": f"http://127.0.0.1:{port}/crs.wkt",
                                               "type": "ogcwkt"}},
        "features": [{"type": "Feature", "properties": {"名称": "a"},
                      "geometry": {"type": "Point", "coordinates": [113.9, 22.5]}}]}).encode()


def test_listener_sees_a_plain_gdal_request(listener: Listener, tmp_path: Path) -> None:
    """Control: unguarded, GDAL does fetch a GeoJSON's link CRS (so the guarded tests
    below can fail)."""
    path = tmp_path / "crs.geojson"
    path.write_bytes(_crs_link(listener.port))
    code = ("import pyogrio, sys; pyogrio.read_info(sys.argv[1])")
    subprocess.run([sys.executable, "-c", code, str(path)], timeout=120, check=False,
                   capture_output=True)
    assert listener.requests, "GDAL did not fetch the link CRS: the control is broken"


def test_network_blocked_even_when_the_content_checks_are_bypassed(
        listener: Listener, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert gdal.network_guard_active()
    monkeypatch.setattr(gdal, "check_content", lambda *a, **k: None)
    with pytest.raises(InputFileError, match="network"):
        read_upload("stations.geojson", _crs_link(listener.port))
    # no driver prefix: GDAL picks the WFS driver for this file, which fetches at once
    wfs = tmp_path / "wfs.geojson"
    wfs.write_text(f"<OGRWFSDataSource><URL>http://127.0.0.1:{listener.port}/wfs?</URL>"
                   "</OGRWFSDataSource>", encoding="utf-8")
    with pytest.raises(InputFileError, match="network"):
        gdal.read_allowed_info(wfs, name="wfs.geojson")
    with pytest.raises(InputFileError):
        gdal.read_allowed_info(f"/vsicurl/http://127.0.0.1:{listener.port}/x.geojson",
                               name="remote")
    with pytest.raises(InputFileError):  # the prefix keeps the WFS driver out
        read_upload("stations.geojson", wfs.read_bytes())
    time.sleep(0.3)
    assert listener.requests == []


def test_guard_is_thread_local_and_restored() -> None:
    import pyogrio

    key = "CPL_VSIL_CURL_ALLOWED_EXTENSIONS"
    assert pyogrio.get_gdal_config_option(key) is None
    seen: dict[str, Any] = {}
    with gdal.untrusted_gdal():
        seen["inside"] = pyogrio.get_gdal_config_option(key)
        t = threading.Thread(target=lambda: seen.update(
            other=pyogrio.get_gdal_config_option(key)))
        t.start()
        t.join()
    assert seen == {"inside": gdal.UNTRUSTED_CONFIG[key], "other": None}
    assert pyogrio.get_gdal_config_option(key) is None


def test_content_checked_before_any_gdal_call(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import pyogrio

    from geo.io.limits import UploadLimits
    from tests import hostile_corpus as hc

    gpkg = tmp_path / "view.gpkg"
    hc._gpkg(gpkg, [hc._RECURSIVE, *hc._as_first_layer("evil")])
    parts = hc._shapefile_parts(tmp_path)
    shx = bytearray(parts[".shx"])
    shx[100:108] = (50).to_bytes(4, "big") + (10_000_000).to_bytes(4, "big")
    xlsx = tmp_path / "sst.xlsx"
    hc._write_xlsx(xlsx, hc._sheet(iter([hc._header(2)])),
                   iter([b"<sst " + hc._NS + b">" + b"<si><t>a</t></si>" * 20 + b"</sst>"]))
    files = {
        "view.gpkg": gpkg.read_bytes(),
        "wfs.geojson": b"<OGRWFSDataSource><URL>http://127.0.0.1:9/</URL></OGRWFSDataSource>",
        "link.geojson": _crs_link(9),
        "gdalg.json": json.dumps({"type": "gdal_streamed_alg",
                                  "command_line": "gdal vector pipeline ! read /etc/passwd"
                                  }).encode(),
        "cpg.zip": hc._shp_zip(parts, cpg=b"UTF-8\x00"),
        "shx.zip": hc._shp_zip(parts, shx=bytes(shx)),
        "sst.xlsx": xlsx.read_bytes(),
    }

    def no_gdal(*_a: object, **_k: object) -> None:
        raise AssertionError("GDAL was called")

    monkeypatch.setattr(pyogrio, "read_info", no_gdal)
    monkeypatch.setattr(pyogrio, "read_dataframe", no_gdal)
    for name, data in files.items():
        with pytest.raises(YizhanError):
            read_upload(name, data, limits=UploadLimits(max_shared_strings=10))


def test_errors_are_named_and_limits_validated() -> None:
    from geo.errors import InvalidParameterError
    from geo.io.limits import UploadLimits

    assert issubclass(UploadLimitError, InputFileError)
    for field in ("max_cells", "max_shared_strings", "max_json_values"):
        with pytest.raises(InvalidParameterError):
            UploadLimits(**{field: 0})
    with pytest.raises(InvalidParameterError):
        UploadLimits(max_inspect_seconds=0)
