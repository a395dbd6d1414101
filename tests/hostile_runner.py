"""Runs hostile-corpus cases in this process, one JSON line per case (not a test module).

``python -m tests.hostile_runner MANIFEST START [RLIMIT_AS_BYTES]``: reads the cases of
``MANIFEST`` (written by :mod:`tests.test_hostile_io`) from index ``START`` on, caps the
address space, and prints ``{"start": i}`` before and a result line after each case (with
the case's own peak RSS), so the parent can tell which case hung or killed the process
and go on from the next.
"""

from __future__ import annotations

import contextlib
import json
import resource
import sys
import time
import traceback
from pathlib import Path
from typing import Any


def _read(case: dict[str, Any]) -> str:
    from geo.coverage.towns import read_towns
    from geo.io.layers import read_bases, read_stations, read_zones
    from geo.io.limits import UploadLimits
    from geo.io.upload import read_upload

    path = Path(case["file"])
    limits = UploadLimits(**case["limits"])
    kind = case["kind"]
    if kind == "upload":
        raw = read_upload(path.name, path.read_bytes(), limits=limits)
        return f"{raw.format}: {raw.rows_in} rows"
    if kind == "towns":
        return f"{read_towns(path).rows_in} towns"
    reader = {"zones": read_zones, "bases": read_bases, "stations": read_stations}[kind]
    return f"{reader(path, limits=limits).rows_in} rows"


def _reset_peak() -> None:
    """Reset this process's peak RSS (Linux: VmHWM), so each case reports its own."""
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def _peak_mb() -> float:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def main(argv: list[str]) -> int:
    cases = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    start = int(argv[1])
    if len(argv) > 2:
        cap = int(argv[2])
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    from geo.errors import YizhanError

    for i in range(start, len(cases)):
        print(json.dumps({"start": i}), flush=True)
        _reset_peak()
        t0 = time.perf_counter()
        out: dict[str, Any] = {"index": i, "id": cases[i]["id"]}
        try:
            out.update(outcome="ok", detail=_read(cases[i]))
        except YizhanError as exc:
            out.update(outcome="error", error=type(exc).__name__, detail=str(exc)[:300])
        except BaseException as exc:  # a crash is what the corpus looks for
            out.update(outcome="crash", error=type(exc).__name__,
                       detail="".join(traceback.format_exception(exc))[-1500:])
        out["seconds"] = round(time.perf_counter() - t0, 3)
        out["maxrss_mb"] = _peak_mb()
        print(json.dumps(out, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
