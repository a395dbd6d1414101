"""Helper process for the kill test in ``tests/test_store.py`` (not a test module).

Usage: ``python tests/store_writer.py DB CITY USER N_ROWS``

Opens the store, builds one large NewVersion, prints ``ready`` and waits for a line on
stdin; then saves that version again and again, printing ``begin K`` before each
``create_version`` call and ``done K VERSION`` after it returns. In between, a SQLite
trace callback prints ``sql-begin`` when ``BEGIN IMMEDIATE`` starts and ``sql-commit``
when ``COMMIT`` starts, so the test can SIGKILL the process inside the write
transaction, or during the commit itself, and then check the database.
"""

from __future__ import annotations

import sqlite3
import sys
from typing import Any

import pandas as pd

from geo.stations.store import NewVersion, StationStore

_connect = sqlite3.connect


_in_write: list[bool] = [False]  # inside BEGIN IMMEDIATE (this process has one thread)


def _trace(statement: str) -> None:
    head = statement.lstrip()[:15].upper()
    if head.startswith("BEGIN IMMEDIATE"):
        _in_write[0] = True
        print("sql-begin", flush=True)
    elif head.startswith(("COMMIT", "ROLLBACK")) and _in_write[0]:
        _in_write[0] = False
        if head.startswith("COMMIT"):
            print("sql-commit", flush=True)


def _traced_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
    conn = _connect(*args, **kwargs)
    conn.set_trace_callback(_trace)
    return conn


def build_version(city: str, n_rows: int) -> NewVersion:
    """A version of ``n_rows`` stations with text ids, CJK names and extra columns."""
    ids = [f"{i:06d}" for i in range(n_rows)]
    frame = pd.DataFrame({
        "station_id": ids,
        "name": [f"工会驿站{i}号" for i in range(n_rows)],
        "type": ["工会驿站"] * n_rows,
        "address": [f"深南大道{i}号" for i in range(n_rows)],
        "city": [city] * n_rows,
        "district": ["福田区"] * n_rows,
        "lon": [113.0 + (i % 1000) * 1e-4 for i in range(n_rows)],
        "lat": [22.5 + (i // 1000) * 1e-4 for i in range(n_rows)],
        "orig_lon": [113.005 + (i % 1000) * 1e-4 for i in range(n_rows)],
        "orig_lat": [22.497 + (i // 1000) * 1e-4 for i in range(n_rows)],
        "source_row": list(range(2, n_rows + 2)),
        "extra": [{"编号": sid, "备注": "测试"} for sid in ids],
    })
    raw = ("station_id,name\n" + "\n".join(f"{sid},驿站" for sid in ids)).encode("utf-8")
    return NewVersion(city=city, source_name="big.csv", raw=raw, declared_crs="gcj02",
                      stations=frame, rows_in=n_rows + 1, rejected=1,
                      report={"rows": n_rows + 1, "rejected": [{"row": 1, "reason": "空"}]})


def main(argv: list[str]) -> int:
    db, city, user, n_rows = argv[1], argv[2], argv[3], int(argv[4])
    sqlite3.connect = _traced_connect  # this process only: report transaction steps
    store = StationStore(db, create=False)
    new = build_version(city, n_rows)
    print("ready", flush=True)
    sys.stdin.readline()
    k = 0
    while True:
        k += 1
        print(f"begin {k}", flush=True)
        info = store.create_version(new, user=user)
        print(f"done {k} {info.version}", flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
