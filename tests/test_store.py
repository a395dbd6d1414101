"""Tests of geo.stations.store: versioned station lists in SQLite, permissions, crash safety."""

from __future__ import annotations

import hashlib
import os
import queue
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from geopandas.testing import assert_geodataframe_equal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.errors import (
    AuthenticationError,
    InvalidParameterError,
    PermissionDeniedError,
    StoreError,
    UnknownUserError,
    UnknownVersionError,
    UserExistsError,
    WeakPasswordError,
)
from geo.stations.accounts import PROVINCE, Account
from geo.stations.store import STATION_COLUMNS, NewVersion, StationStore

REPO = Path(__file__).resolve().parents[1]
WRITER = Path(__file__).resolve().with_name("store_writer.py")
PASSWORD = "Lychee-harbour-42"


def station_frame(ids: list[str], *, city: str = "深圳市", lon0: float = 114.05) -> pd.DataFrame:
    n = len(ids)
    return pd.DataFrame({
        "station_id": ids,
        "name": [f"福田区工会驿站{i}" for i in range(n)],
        "type": ["工会驿站"] * n,
        "address": [f"深南大道{i}号" if i % 2 else None for i in range(n)],
        "city": [city] * n,
        "district": ["福田区"] * n,
        "lon": [lon0 + i * 1e-3 for i in range(n)],
        "lat": [22.54 + i * 1e-3 for i in range(n)],
        "orig_lon": [lon0 + 0.005 + i * 1e-3 for i in range(n)],
        "orig_lat": [22.537 + i * 1e-3 for i in range(n)],
        "source_row": list(range(2, n + 2)),
        "extra": [{"编号": sid, "row": i} for i, sid in enumerate(ids)],
    })


def new_version(city: str = "深圳市", ids: list[str] | None = None, *, rejected: int = 0,
                raw: bytes | None = None, note: str = "", **kw: object) -> NewVersion:
    ids = ["a1", "a2", "a3"] if ids is None else ids
    frame = station_frame(ids, city=city)
    raw = ("station_id,name\n" + "\n".join(ids)).encode() if raw is None else raw
    return NewVersion(city=city, source_name="stations.csv", raw=raw, declared_crs="wgs84",
                      stations=frame, rows_in=len(ids) + rejected, rejected=rejected,
                      note=note, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def users_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with one user of each kind (Argon2 hashing is slow: make it once)."""
    path = tmp_path_factory.mktemp("users") / "template.sqlite"
    store = StationStore(path)
    store.add_user("admin", password=PASSWORD, city="广东省", role="admin")
    store.add_user("gz_editor", password=PASSWORD, city="广州市", role="editor")
    store.add_user("sz_editor", password=PASSWORD, city="深圳市", role="editor")
    store.add_user("reviewer", password=PASSWORD, city=PROVINCE, role="reviewer")
    store.add_user("gz_reviewer", password=PASSWORD, city="广州市", role="reviewer")
    return path


@pytest.fixture
def store(users_db: Path, tmp_path: Path) -> StationStore:
    """A fresh copy of the users database."""
    dest = tmp_path / "yizhan.sqlite"
    StationStore(users_db).backup(dest)
    return StationStore(dest, create=False)


def count_versions(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT count(*) FROM versions").fetchone()[0]


# ----------------------------------------------------------------- round trip


def test_create_history_current_stations_round_trip(store: StationStore) -> None:
    ids = ["0012", "12", "012", "A-7"]
    raw = "station_id,name\n0012,福田驿站\n".encode("gb18030") + b"\x00\xff\xfe " + "𠀀".encode()
    report = {"rows": 5, "rejected": [{"row": 4, "reason": "缺少经纬度"}],
              "crs": "gcj02", "shift_m": 612.5, "nested": {"a": [1, 2, None]}}
    new = NewVersion(city=" 深圳市 ", source_name="驿站 名单.csv", raw=raw,
                     declared_crs="gcj02", stations=station_frame(ids), rows_in=5,
                     rejected=1, flagged=2, report=report, note="首次导入")
    info = store.create_version(new, user="sz_editor")

    assert info.version == 1 and info.city == "深圳市" and info.action == "import"
    assert info.parent_version is None and info.created_by == "sz_editor"
    assert (info.rows_in, info.accepted, info.rejected, info.flagged) == (5, 4, 1, 2)
    assert info.sha256 == hashlib.sha256(raw).hexdigest()
    assert info.created_at.endswith("Z") and "T" in info.created_at
    assert store.history("深圳市") == [info]
    assert store.current("深圳市") == info
    assert store.current("广州市") is None and store.history("广州市") == []
    assert store.cities() == ["深圳市"]

    got = store.stations("深圳市")
    assert isinstance(got, gpd.GeoDataFrame) and got.crs.to_epsg() == 4326
    assert list(got.columns) == [*STATION_COLUMNS, "geometry"]
    assert got["station_id"].tolist() == ids  # '0012', '12', '012' stay distinct text
    assert all(isinstance(s, str) for s in got["station_id"])
    assert got["name"].tolist() == [f"福田区工会驿站{i}" for i in range(4)]
    assert got["address"].tolist() == [None, "深南大道1号", None, "深南大道3号"]
    assert got["city"].tolist() == ["深圳市"] * 4
    assert got["source_row"].tolist() == [2, 3, 4, 5]
    assert got["extra"].tolist() == [{"编号": s, "row": i} for i, s in enumerate(ids)]
    expected = station_frame(ids)
    assert got["lon"].tolist() == expected["lon"].tolist()
    assert got["orig_lat"].tolist() == expected["orig_lat"].tolist()
    assert got.geometry.x.tolist() == expected["lon"].tolist()
    assert got.geometry.y.tolist() == expected["lat"].tolist()
    assert_geodataframe_equal(store.stations("深圳市", version=1), got)

    assert store.raw("深圳市", version=1) == ("驿站 名单.csv", raw)
    assert store.report("深圳市", version=1) == report

    with pytest.raises(UnknownVersionError, match="version 2"):
        store.stations("深圳市", version=2)
    with pytest.raises(UnknownVersionError, match="no station list yet"):
        store.stations("广州市")
    with pytest.raises(UnknownVersionError):
        store.raw("深圳市", version=9)


def test_missing_optional_columns_and_report_values(store: StationStore) -> None:
    frame = pd.DataFrame({"station_id": ["007"], "name": ["驿站"], "type": ["司机之家"],
                          "lon": [113.26], "lat": [23.13]})
    new = NewVersion(city="广州市", source_name="x.csv", raw=b"", declared_crs="WGS84",
                     stations=frame, rows_in=1, rejected=0,
                     report={"shift": float("nan"), "n": pd.Series([1]).iloc[0]})
    info = store.create_version(new, user="admin")
    assert info.declared_crs == "wgs84" and info.sha256 == hashlib.sha256(b"").hexdigest()
    got = store.stations("广州市")
    assert got.loc[0, "station_id"] == "007" and got.loc[0, "extra"] == {}
    assert pd.isna(got.loc[0, "address"]) and pd.isna(got.loc[0, "source_row"])
    assert store.report("广州市", version=1) == {"shift": None, "n": 1}  # numpy → plain JSON


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ids=st.lists(st.text(min_size=1, max_size=12).filter(str.strip), min_size=1,
                    max_size=6, unique=True),
       name=st.text(min_size=1, max_size=30).filter(str.strip))
def test_any_text_ids_and_names_round_trip(store: StationStore, ids: list[str],
                                           name: str) -> None:
    frame = station_frame(ids).assign(name=name)
    new = NewVersion(city="珠海市", source_name="h.csv", raw=name.encode(),
                     declared_crs="bd09", stations=frame, rows_in=len(ids), rejected=0)
    info = store.create_version(new, user="admin")
    got = store.stations("珠海市", version=info.version)
    assert got["station_id"].tolist() == ids
    assert got["name"].tolist() == [name] * len(ids)


# ----------------------------------------------------------------- rollback / history


def test_rollback_is_a_new_version_equal_to_its_target(store: StationStore) -> None:
    v1 = store.create_version(new_version(ids=["0001", "0002"], raw=b"first",
                                          report={"v": 1}, rejected=1), user="sz_editor")
    v2 = store.create_version(new_version(ids=["0003"], raw=b"second", report={"v": 2}),
                              user="admin")
    v3 = store.rollback("深圳市", to_version=1, user="sz_editor", note="第二版有误")
    assert (v3.version, v3.action, v3.parent_version) == (3, "rollback", 1)
    assert (v3.sha256, v3.rows_in, v3.accepted, v3.rejected) == (
        v1.sha256, v1.rows_in, v1.accepted, v1.rejected)
    assert store.current("深圳市") == v3
    assert_geodataframe_equal(store.stations("深圳市"), store.stations("深圳市", version=1))
    assert store.raw("深圳市", version=3) == store.raw("深圳市", version=1)
    assert store.report("深圳市", version=3) == {"v": 1}
    # the older versions are untouched
    assert store.stations("深圳市", version=2)["station_id"].tolist() == ["0003"]

    history = store.history("深圳市")
    assert [h.version for h in history] == [1, 2, 3] and history[1] == v2
    lines = [h.line() for h in history]
    for number, line in zip((1, 2, 3), lines, strict=True):
        assert line.startswith(f"{number}  ")
        assert f"sha256={history[number - 1].sha256}" in line
    assert "sz_editor  import  stations.csv" in lines[0]
    assert "rows_in=3 accepted=2 rejected=1 flagged=0" in lines[0]
    assert "rollback to v1" in lines[2] and "第二版有误" in lines[2]

    with pytest.raises(UnknownVersionError):
        store.rollback("深圳市", to_version=7, user="admin")
    assert len(store.history("深圳市")) == 3


def test_versions_are_immutable_in_sqlite(store: StationStore) -> None:
    store.create_version(new_version(), user="admin")
    store.create_version(new_version(ids=["b1"]), user="admin")
    before = store.stations("深圳市", version=1)
    with sqlite3.connect(store.path) as conn:
        for sql in (
            "UPDATE versions SET note = 'changed'",
            "DELETE FROM versions WHERE version = 1",
            "UPDATE stations SET name = '改名' WHERE version = 1",
            "DELETE FROM stations WHERE version = 1",
            "INSERT OR REPLACE INTO versions SELECT * FROM versions WHERE version = 1",
            # rows cannot be added to an older version either
            "INSERT INTO stations (city, version, seq, station_id, name, type, lon, lat) "
            "VALUES ('深圳市', 1, 99, 'zz', 'x', 'x', 114.0, 22.5)",
        ):
            with pytest.raises(sqlite3.DatabaseError, match="immutable"):
                conn.execute(sql)
    assert_geodataframe_equal(store.stations("深圳市", version=1), before)
    assert [h.note for h in store.history("深圳市")] == ["", ""]
    assert store.integrity_check() == "ok"


# ----------------------------------------------------------------- permissions


def test_editor_cannot_write_another_city(store: StationStore) -> None:
    with pytest.raises(PermissionDeniedError) as err:
        store.create_version(new_version("深圳市"), user="gz_editor")
    message = str(err.value)
    assert "gz_editor" in message and "editor" in message
    assert "广州市" in message and "深圳市" in message
    assert err.value.exit_code == 10
    assert count_versions(store.path) == 0  # nothing written
    assert store.history("深圳市") == []
    # own city works, with the city spelled with spaces around it
    assert store.create_version(new_version(" 广州市 "), user="gz_editor").version == 1
    with pytest.raises(PermissionDeniedError):
        store.rollback("深圳市", to_version=1, user="gz_editor")


@pytest.mark.parametrize("reviewer", ["reviewer", "gz_reviewer"])
def test_reviewer_never_writes(store: StationStore, reviewer: str) -> None:
    store.create_version(new_version("广州市"), user="admin")
    with pytest.raises(PermissionDeniedError, match=f"{reviewer} \\(reviewer"):
        store.create_version(new_version("广州市"), user=reviewer)
    with pytest.raises(PermissionDeniedError):
        store.rollback("广州市", to_version=1, user=reviewer)
    assert count_versions(store.path) == 1
    assert len(store.stations("广州市")) == 3  # reviewers read


def test_admin_writes_any_city(store: StationStore) -> None:
    for city in ("深圳市", "广州市", "潮州市"):
        store.create_version(new_version(city), user="admin")
        assert store.rollback(city, to_version=1, user="admin").version == 2
    assert store.cities() == sorted(["深圳市", "广州市", "潮州市"])
    with pytest.raises(InvalidParameterError, match="not the province"):
        store.create_version(new_version("广东省"), user="admin")


def test_unknown_user_and_forged_account_cannot_write(store: StationStore) -> None:
    with pytest.raises(UnknownUserError) as err:
        store.create_version(new_version(), user="mallory")
    assert isinstance(err.value, PermissionDeniedError) and err.value.exit_code == 10
    with pytest.raises(UnknownUserError):
        store.rollback("深圳市", to_version=1, user="mallory")
    # an Account object claiming admin rights is not accepted: the API takes a name and
    # looks the role up in the database
    forged = Account(name="gz_editor", city=PROVINCE, role="admin", created_at="")
    with pytest.raises(InvalidParameterError, match="user name"):
        store.create_version(new_version(), user=forged)  # type: ignore[arg-type]
    with pytest.raises(PermissionDeniedError):
        store.create_version(new_version(), user=forged.name)
    assert count_versions(store.path) == 0


@pytest.mark.parametrize("change", [
    {"rows_in": 99},
    {"declared_crs": "epsg:4326"},
    {"stations": station_frame(["x", "x"])},
    {"stations": station_frame(["x"]).assign(station_id=[12])},
    {"stations": station_frame(["x"]).assign(lon=[float("nan")])},
    {"stations": station_frame(["x"]).assign(lat=[float("inf")])},
    {"stations": station_frame(["x"]).assign(lat=[113.0])},
    {"stations": station_frame(["x"]).drop(columns=["type"])},
    {"stations": station_frame(["x"]).assign(name=["  "])},
    {"stations": station_frame(["x"]).assign(extra=["not a dict"])},
    {"stations": station_frame(["x"]).assign(source_row=[0])},
    {"source_name": ""},
    {"raw": "text, not bytes"},
    {"rejected": -1},
])
def test_invalid_new_version_is_refused_before_writing(store: StationStore,
                                                       change: dict[str, object]) -> None:
    base = new_version(ids=["x"])
    fields = {f: getattr(base, f) for f in base.__dataclass_fields__}
    fields.update(change)
    if "stations" in change and "rows_in" not in change:
        fields["rows_in"] = len(change["stations"])  # type: ignore[arg-type]
    with pytest.raises(StoreError):
        store.create_version(NewVersion(**fields), user="admin")  # type: ignore[arg-type]
    assert count_versions(store.path) == 0


# ----------------------------------------------------------------- accounts in the store


def test_accounts_authenticate_and_passwords(store: StationStore) -> None:
    account = store.authenticate("gz_editor", PASSWORD)
    assert (account.name, account.city, account.role) == ("gz_editor", "广州市", "editor")
    assert store.get_user("admin").is_province
    assert [u.name for u in store.users()] == sorted(
        ["admin", "gz_editor", "sz_editor", "reviewer", "gz_reviewer"])

    with pytest.raises(AuthenticationError) as wrong:
        store.authenticate("gz_editor", PASSWORD + "x")
    with pytest.raises(AuthenticationError) as unknown:
        store.authenticate("nobody", PASSWORD)
    assert str(wrong.value) == str(unknown.value)  # no user enumeration
    with pytest.raises(UnknownUserError):
        store.get_user("nobody")
    with pytest.raises(UserExistsError):
        store.add_user("gz_editor", password=PASSWORD, city="广州市", role="editor")
    with pytest.raises(WeakPasswordError):
        store.add_user("new_user", password="12345678", city="广州市", role="editor")
    with pytest.raises(InvalidParameterError):
        store.add_user("prov_editor", password=PASSWORD, city="全省", role="editor")
    with pytest.raises(UnknownUserError):
        store.set_password("nobody", password=PASSWORD)

    store.set_password("gz_editor", password="Another-good-one-7")
    with pytest.raises(AuthenticationError):
        store.authenticate("gz_editor", PASSWORD)
    assert store.authenticate("gz_editor", "Another-good-one-7").name == "gz_editor"

    with sqlite3.connect(store.path) as conn:
        hashes = [h for (h,) in conn.execute("SELECT password_hash FROM users")]
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert len(set(hashes)) == len(hashes)  # same password, different salts
    assert not any(PASSWORD in h for h in hashes)


# ----------------------------------------------------------------- concurrency


def test_eight_concurrent_writers_store_all_200_versions(store: StationStore) -> None:
    n_threads, n_uploads = 8, 25
    cities = ["广州市", "深圳市", "珠海市"]
    writer_of = {"广州市": "gz_editor", "深圳市": "sz_editor", "珠海市": "admin"}
    errors: list[BaseException] = []
    stop = threading.Event()
    start = threading.Barrier(n_threads + 1)

    def write(thread: int) -> None:
        own = StationStore(store.path, create=False)
        city = cities[thread % len(cities)]
        start.wait()
        for k in range(n_uploads):
            ids = [f"{thread:02d}{k:02d}{i:03d}" for i in range(1 + k % 5)]
            try:
                own.create_version(new_version(city, ids, note=f"t{thread}-{k}"),
                                   user=writer_of[city])
            except BaseException as exc:  # record everything, e.g. "database is locked"
                errors.append(exc)

    def read() -> None:
        own = StationStore(store.path, create=False)
        start.wait()
        while not stop.is_set():
            try:
                for city in cities:
                    info = own.current(city)
                    if info is not None:
                        assert len(own.stations(city, version=info.version)) == info.accepted
            except BaseException as exc:
                errors.append(exc)
                return

    threads = [threading.Thread(target=write, args=(t,)) for t in range(n_threads)]
    reader = threading.Thread(target=read)
    for t in [*threads, reader]:
        t.start()
    for t in threads:
        t.join(timeout=120)
    stop.set()
    reader.join(timeout=30)
    assert not errors, f"{len(errors)} errors, first: {errors[0]!r}"

    total = 0
    for index, city in enumerate(cities):
        history = store.history(city)
        n_writers = len(range(index, n_threads, len(cities)))
        assert [h.version for h in history] == list(range(1, n_writers * n_uploads + 1))
        expected_notes = {f"t{t}-{k}" for t in range(index, n_threads, len(cities))
                          for k in range(n_uploads)}
        notes = Counter(h.note for h in history)
        assert set(notes) == expected_notes and max(notes.values()) == 1
        for h in history:
            assert len(store.stations(city, version=h.version)) == h.accepted
        total += len(history)
    assert total == n_threads * n_uploads == count_versions(store.path)
    assert store.integrity_check() == "ok"


def test_concurrent_open_of_a_new_file(tmp_path: Path) -> None:
    for attempt in range(10):
        path = tmp_path / f"new{attempt}.sqlite"
        n = 6
        barrier = threading.Barrier(n)
        errors: list[BaseException] = []

        def open_store(path: Path = path, barrier: threading.Barrier = barrier,
                       errors: list[BaseException] = errors) -> None:
            barrier.wait()
            try:
                s = StationStore(path)
                assert s.users() == [] and s.cities() == []
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=open_store) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not errors, repr(errors[0])
        assert StationStore(path, create=False).integrity_check() == "ok"


class _Lines:
    """Lines of a subprocess's stdout, read by a thread, with a timeout per line."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.queue: queue.Queue[str | None] = queue.Queue()
        assert proc.stdout is not None
        stdout = proc.stdout

        def pump() -> None:
            for line in stdout:
                self.queue.put(line.strip())
            self.queue.put(None)

        threading.Thread(target=pump, daemon=True).start()

    def next(self, timeout_s: float = 30.0) -> str | None:
        return self.queue.get(timeout=timeout_s)

    def rest(self) -> list[str]:
        lines = []
        while (line := self.next()) is not None:
            lines.append(line)
        return lines


def _spawn_writer(db: Path, n_rows: int) -> tuple[subprocess.Popen[str], _Lines]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)}
    proc = subprocess.Popen(
        [sys.executable, str(WRITER), str(db), "深圳市", "admin", str(n_rows)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env, cwd=str(REPO),
    )
    return proc, _Lines(proc)


def _wait_for(lines: _Lines, prefix: str) -> list[str]:
    """Read lines up to and including the next one starting with ``prefix``."""
    seen = []
    while (line := lines.next()) is not None:
        seen.append(line)
        if line.startswith(prefix):
            break
    return seen


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL semantics")
def test_writer_killed_mid_save_twenty_times(store: StationStore) -> None:
    """SIGKILL a writer of 20,000-row versions 20 times: never a partial or lost version.

    The kills cycle through four moments: a random 0.05–0.5 s after starting; 0–0.2 s
    after ``BEGIN IMMEDIATE`` (while the rows are inserted); right as ``COMMIT`` starts
    (during the commit's fsync); 0.05–0.5 s after the first save returned.
    """
    n_rows, n_kills = 20_000, 20
    rng = random.Random(20261201)
    verified: set[int] = set()
    committed: set[int] = set()  # versions whose create_version returned before the kill
    inside_transaction = 0  # kills after "sql-begin"/"sql-commit" and before "done"
    started = time.monotonic()
    upcoming = _spawn_writer(store.path, n_rows)
    for kill in range(n_kills):
        proc, lines = upcoming
        ready = lines.next(timeout_s=60)
        if ready != "ready":
            proc.kill()
            proc.wait(timeout=30)
            pytest.fail(f"writer did not start: {ready!r}, "
                        f"{proc.stderr.read() if proc.stderr else ''}")
        # start the next writer now: its imports overlap with this one's work
        upcoming = _spawn_writer(store.path, n_rows) if kill + 1 < n_kills else None
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
        seen: list[str] = []
        moment = kill % 4
        if moment == 0:
            time.sleep(rng.uniform(0.05, 0.5))
        elif moment == 1:
            seen += _wait_for(lines, "sql-begin")
            time.sleep(rng.uniform(0.0, 0.2))
        elif moment == 2:
            seen += _wait_for(lines, "sql-commit")
        else:
            seen += _wait_for(lines, "done")
            time.sleep(rng.uniform(0.05, 0.5))
        proc.kill()
        proc.wait(timeout=30)
        output = seen + lines.rest()
        if proc.returncode != -signal.SIGKILL:  # the writer died by itself
            pytest.fail(f"writer exited {proc.returncode}: {output[-3:]}, "
                        f"{proc.stderr.read() if proc.stderr else ''}")
        committed |= {int(line.split()[2]) for line in output if line.startswith("done")}
        if output and output[-1].startswith("sql-"):
            inside_transaction += 1

        assert store.integrity_check() == "ok"
        history = store.history("深圳市")
        assert [h.version for h in history] == list(range(1, len(history) + 1))
        assert committed <= {h.version for h in history}  # returned ⇒ durable
        with sqlite3.connect(store.path) as conn:
            counts = dict(conn.execute(
                "SELECT version, count(*) FROM stations GROUP BY version").fetchall())
        conn.close()
        assert set(counts) <= {h.version for h in history}  # no rows without a version
        for info in history:
            assert info.accepted == n_rows
            assert counts.get(info.version, 0) == info.accepted  # no partial version
            if info.version not in verified:
                assert len(store.stations("深圳市", version=info.version)) == info.accepted
                verified.add(info.version)
    assert upcoming is None
    assert inside_transaction >= 5, f"only {inside_transaction} kills landed inside a save"
    assert len(committed) >= 5, f"only {len(committed)} saves completed"
    print(f"kills inside a transaction: {inside_transaction}/{n_kills}; "
          f"versions stored: {len(verified)}, returned: {len(committed)}; "
          f"{time.monotonic() - started:.1f} s")


# ----------------------------------------------------------------- files


def test_backup_contains_committed_versions(store: StationStore, tmp_path: Path) -> None:
    store.create_version(new_version("深圳市"), user="admin")
    store.create_version(new_version("广州市", ["g1"]), user="gz_editor")
    # keep a reader open so the data stays in the -wal file, not yet in the main file
    holder = sqlite3.connect(store.path)
    holder.execute("BEGIN")
    holder.execute("SELECT count(*) FROM versions").fetchone()
    try:
        store.create_version(new_version("深圳市", ["s9"]), user="admin")
        (tmp_path / "backup").mkdir()
        dest = store.backup(tmp_path / "backup" / "copy.sqlite")
        naive = tmp_path / "naive.sqlite"
        shutil.copyfile(store.path, naive)  # the .db file alone, without its -wal
    finally:
        holder.close()
    # the naive copy misses the newest commit; the backup has it
    assert [h.version for h in StationStore(naive, create=False).history("深圳市")] == [1]
    copy = StationStore(dest, create=False)
    assert [h.version for h in copy.history("深圳市")] == [1, 2]
    assert copy.stations("深圳市")["station_id"].tolist() == ["s9"]
    assert copy.stations("广州市")["station_id"].tolist() == ["g1"]
    assert copy.authenticate("admin", PASSWORD).role == "admin"
    assert copy.integrity_check() == "ok"
    assert list((tmp_path / "backup").iterdir()) == [dest]  # no temporary file left
    with pytest.raises(StoreError, match="exists"):
        store.backup(dest)
    assert store.backup(dest, overwrite=True) == dest


def test_not_a_yizhan_database(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
        conn.execute("INSERT INTO t VALUES (1)")
    conn.close()
    before = other.read_bytes()
    with pytest.raises(StoreError, match="not a Yizhan station database"):
        StationStore(other)
    assert other.read_bytes() == before  # left untouched

    text = tmp_path / "stations.csv"
    text.write_text("station_id,name\n0012,福田驿站\n" * 50, encoding="utf-8")
    with pytest.raises(StoreError, match="not a Yizhan station database"):
        StationStore(text)

    with pytest.raises(StoreError, match="no station database"):
        StationStore(tmp_path / "missing.sqlite", create=False)
    assert not (tmp_path / "missing.sqlite").exists()
    with pytest.raises(StoreError, match="folder"):
        StationStore(tmp_path)
    assert StoreError.exit_code == 9


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "y.sqlite"
    StationStore(path)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreError, match="newer Yizhan"):
        StationStore(path)


def test_store_object_is_shareable_across_threads(store: StationStore) -> None:
    store.create_version(new_version(), user="admin")
    results: list[int] = []

    def read() -> None:
        results.append(len(store.stations("深圳市")))

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [3, 3, 3, 3]

