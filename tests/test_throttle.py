"""Tests of sign-in throttling (:mod:`geo.stations.throttle` through
:meth:`StationStore.authenticate`): lockouts per account name and per client, stored in
the database, time-bounded, lifted by an admin or a right password. An injected clock
replaces sleeping."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from geo.errors import (
    AuthenticationError,
    InvalidParameterError,
    PermissionDeniedError,
    SignInLockedError,
    UnknownUserError,
)
from geo.stations.accounts import PROVINCE, hash_password
from geo.stations.db import APPLICATION_ID, SCHEMA_V1, SCHEMA_VERSION
from geo.stations.store import OPERATOR, StationStore, ThrottleConfig

PASSWORD = "Lychee-harbour-42"
WRONG = "Wrong-password-99"


class Clock:
    """A settable Unix clock."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="module")
def users_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("throttle") / "template.sqlite"
    store = StationStore(path)
    store.add_user("admin", password=PASSWORD, city="广东省", role="admin")
    store.add_user("gz_editor", password=PASSWORD, city="广州市", role="editor")
    store.add_user("reviewer", password=PASSWORD, city=PROVINCE, role="reviewer")
    return path


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db(users_db: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "yizhan.sqlite"
    StationStore(users_db).backup(dest)
    return dest


@pytest.fixture
def store(db: Path, clock: Clock) -> StationStore:
    return StationStore(db, create=False, clock=clock)


def fail(store: StationStore, name: str = "gz_editor", *, client: str | None = None,
         password: str = WRONG) -> AuthenticationError:
    with pytest.raises(AuthenticationError) as info:
        store.authenticate(name, password, client=client)
    return info.value


def test_defaults_and_validation() -> None:
    c = ThrottleConfig()
    assert (c.max_failures, c.client_max_failures, c.base_lockout_s, c.max_lockout_s,
            c.forget_after_s) == (5, 20, 30.0, 900.0, 86_400.0)
    assert [c.lockout_s(k, "user") for k in (1, 4, 5, 6, 7, 9, 10, 11, 10_000)] == [
        0, 0, 30, 60, 120, 480, 900, 900, 900]
    assert c.lockout_s(19, "client") == 0 and c.lockout_s(20, "client") == 30
    for bad in ({"max_failures": 0}, {"max_failures": 2.5}, {"max_failures": True},
                {"client_max_failures": -1}, {"base_lockout_s": 0},
                {"max_lockout_s": float("inf")}, {"base_lockout_s": 60, "max_lockout_s": 30},
                {"forget_after_s": 10}, {"base_lockout_s": "30"}):
        with pytest.raises(InvalidParameterError):
            ThrottleConfig(**bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError):
        StationStore(":memory:", throttle={"max_failures": 3})  # type: ignore[arg-type]


def test_lockout_after_five_failures_doubles_up_to_the_cap(store: StationStore,
                                                           clock: Clock) -> None:
    for _ in range(4):
        err = fail(store)
        assert type(err) is AuthenticationError  # plain failures, no lockout yet
    err = fail(store)  # the 5th failure starts a 30 s lockout, and says so
    assert isinstance(err, SignInLockedError)
    assert err.retry_after_s == 30 and err.retry_at == clock.now + 30
    assert "wrong" in str(err) and "try again in 30 s" in str(err)
    assert "30 秒后" in err.message("zh")

    clock.advance(10)
    locked = fail(store, password=PASSWORD)  # even the right password waits
    assert isinstance(locked, SignInLockedError)
    assert "try again in 20 s" in str(locked) and "admin" in str(locked)
    assert locked.retry_at == err.retry_at  # attempts during a lockout do not extend it

    waits = []
    for _ in range(7):
        clock.now = err.retry_at + 0.5
        err = fail(store)
        assert isinstance(err, SignInLockedError)
        waits.append(err.retry_after_s)
    assert waits == [60, 120, 240, 480, 900, 900, 900]  # time-bounded: 15 min at most

    clock.now = err.retry_at + 0.5
    assert store.authenticate("gz_editor", PASSWORD).name == "gz_editor"
    for _ in range(4):  # a right password reset the counter
        assert type(fail(store)) is AuthenticationError


def test_unknown_names_are_throttled_alike(store: StationStore) -> None:
    known = [str(fail(store, "gz_editor")) for _ in range(6)]
    unknown = [str(fail(store, "nobody")) for _ in range(6)]
    assert known == unknown  # a lockout says nothing about which names exist
    assert "too many failed sign-ins" in known[-1]


def test_lockout_is_in_the_database(store: StationStore, db: Path, clock: Clock) -> None:
    for _ in range(5):
        fail(store)
    other = StationStore(db, create=False, clock=clock)  # e.g. another process
    assert isinstance(fail(other, password=PASSWORD), SignInLockedError)
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT kind, key, failures, locked_until FROM "
                            "sign_in_throttle").fetchall()
    conn.close()
    assert rows == [("user", "gz_editor", 5, clock.now + 30)]
    assert store.authenticate("admin", PASSWORD).role == "admin"  # other accounts unaffected


def test_admin_unlocks(store: StationStore, clock: Clock) -> None:
    for _ in range(5):
        fail(store)
    with pytest.raises(PermissionDeniedError, match="only a province admin"):
        store.unlock_user("gz_editor", by_admin="reviewer")
    with pytest.raises(UnknownUserError):
        store.unlock_user("gz_editor", by_admin="ghost")
    with pytest.raises(UnknownUserError):
        store.unlock_user("ghost", by_admin="admin")
    assert store.unlock_user("gz_editor", by_admin="admin") is True
    assert store.unlock_user("gz_editor", by_admin="admin") is False  # nothing left
    assert store.authenticate("gz_editor", PASSWORD).name == "gz_editor"
    for _ in range(5):
        fail(store)
    assert store.unlock_user("gz_editor", by_admin=OPERATOR) is True  # the CLI on the server
    for _ in range(4):  # the counter was cleared too
        assert type(fail(store)) is AuthenticationError


def test_client_key(db: Path, clock: Clock) -> None:
    store = StationStore(db, create=False, clock=clock,
                         throttle=ThrottleConfig(client_max_failures=3))
    fail(store, "gz_editor", client="browser-1")
    fail(store, "reviewer", client="browser-1")
    # a right password from the client is not a failure (its count is taken back) ...
    assert store.authenticate("admin", PASSWORD, client="browser-1").name == "admin"
    err = fail(store, "nobody", client="browser-1")  # ... so this is the 3rd failure
    assert isinstance(err, SignInLockedError) and "browser" in str(err)
    locked = fail(store, "admin", client="browser-1", password=PASSWORD)
    assert isinstance(locked, SignInLockedError)  # every name, from this client
    assert store.authenticate("admin", PASSWORD, client="browser-2").name == "admin"
    assert store.authenticate("admin", PASSWORD).name == "admin"
    assert store.unlock_client("browser-1", by_admin="admin") is True
    assert store.authenticate("admin", PASSWORD, client="browser-1").name == "admin"
    clock.advance(31)
    for bad in ("", "x" * 257, "a\nb", 7):
        with pytest.raises(InvalidParameterError):
            store.authenticate("admin", PASSWORD, client=bad)  # type: ignore[arg-type]


def test_counters_are_forgotten(db: Path, clock: Clock) -> None:
    store = StationStore(db, create=False, clock=clock,
                         throttle=ThrottleConfig(forget_after_s=3600))
    for _ in range(4):
        fail(store)
    fail(store, "nobody")
    clock.advance(3601)
    assert type(fail(store)) is AuthenticationError  # counting starts again at 1
    with sqlite3.connect(db) as conn:
        keys = [k for (k,) in conn.execute("SELECT key FROM sign_in_throttle")]
    conn.close()
    assert keys == ["gz_editor"]  # the stale 'nobody' row was pruned


def test_schema_1_database_is_upgraded(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in SCHEMA_V1:
        conn.execute(statement)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO users VALUES ('admin', 'province', 'admin', ?, "
                 "'2026-01-01T00:00:00Z')", (hash_password(PASSWORD),))
    conn.close()

    store = StationStore(path, create=False, clock=clock)
    with sqlite3.connect(path) as check:
        assert check.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
        assert check.execute("SELECT count(*) FROM sign_in_throttle").fetchone()[0] == 0
    check.close()
    assert store.authenticate("admin", PASSWORD).created_at == "2026-01-01T00:00:00Z"
    for _ in range(5):
        fail(store, "admin")
    assert isinstance(fail(store, "admin", password=PASSWORD), SignInLockedError)
    assert StationStore(path, create=False).integrity_check() == "ok"
