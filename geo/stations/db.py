"""The SQLite file behind :class:`~geo.stations.store.StationStore`: opening, schema,
schema upgrades and error messages.

Concurrency and crash safety (measured on this machine, see
``shared/notes/security.md``): WAL journal, ``synchronous=FULL`` and every write inside
``BEGIN IMMEDIATE … COMMIT`` (:meth:`Database._write`); readers get one snapshot per
:meth:`Database._read`. Every call opens its own connection, so one object may be shared
by threads and Streamlit sessions.

Schema versions (``PRAGMA user_version``): 1 — users, versions, stations and the
immutability triggers; 2 — ``sign_in_throttle`` (failed sign-ins per account and per
client). A file of an older schema is upgraded in place when opened (one
``BEGIN IMMEDIATE`` transaction, safe when several processes open it at once); a file of
a newer schema is refused.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from geo.errors import InvalidParameterError, StoreError

#: ``PRAGMA user_version`` of the schema this module writes.
SCHEMA_VERSION: Final = 2
#: ``PRAGMA application_id`` marking a Yizhan database ("YZH1").
APPLICATION_ID: Final = 0x595A4831

#: Schema 1: accounts, immutable versions and their station rows.
SCHEMA_V1: Final[tuple[str, ...]] = (
    """
    CREATE TABLE IF NOT EXISTS users (
        name TEXT PRIMARY KEY NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
        city TEXT NOT NULL CHECK (length(city) >= 1),
        role TEXT NOT NULL CHECK (role IN ('editor', 'reviewer', 'admin')),
        password_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        CHECK (role <> 'editor' OR city <> 'province'),
        CHECK (role <> 'admin' OR city = 'province')
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS versions (
        city TEXT NOT NULL CHECK (length(city) >= 1 AND city <> 'province'),
        version INTEGER NOT NULL CHECK (version >= 1),
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL REFERENCES users (name),
        action TEXT NOT NULL CHECK (action IN ('import', 'rollback')),
        parent_version INTEGER,
        source_name TEXT NOT NULL,
        sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
        declared_crs TEXT NOT NULL CHECK (declared_crs IN ('wgs84', 'gcj02', 'bd09')),
        rows_in INTEGER NOT NULL CHECK (rows_in >= 0),
        accepted INTEGER NOT NULL CHECK (accepted >= 0),
        rejected INTEGER NOT NULL CHECK (rejected >= 0),
        flagged INTEGER NOT NULL DEFAULT 0 CHECK (flagged >= 0),
        note TEXT NOT NULL DEFAULT '',
        report_json TEXT NOT NULL,
        raw BLOB NOT NULL,
        PRIMARY KEY (city, version),
        FOREIGN KEY (city, parent_version) REFERENCES versions (city, version),
        CHECK ((action = 'rollback') = (parent_version IS NOT NULL)),
        CHECK (parent_version IS NULL OR parent_version < version),
        CHECK (rows_in = accepted + rejected)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS stations (
        city TEXT NOT NULL,
        version INTEGER NOT NULL,
        seq INTEGER NOT NULL CHECK (seq >= 0),
        station_id TEXT NOT NULL,
        name TEXT NOT NULL,
        type TEXT NOT NULL,
        address TEXT,
        station_city TEXT,
        district TEXT,
        lon REAL NOT NULL CHECK (lon BETWEEN -180 AND 180),
        lat REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),
        orig_lon REAL,
        orig_lat REAL,
        source_row INTEGER,
        extra_json TEXT,
        PRIMARY KEY (city, version, seq),
        UNIQUE (city, version, station_id),
        FOREIGN KEY (city, version) REFERENCES versions (city, version)
    )
    """,
    # Versions are numbered 1, 2, 3 … per city; this also refuses INSERT OR REPLACE.
    """
    CREATE TRIGGER IF NOT EXISTS versions_consecutive BEFORE INSERT ON versions
    WHEN NEW.version <> (SELECT coalesce(max(version), 0) + 1 FROM versions
                         WHERE city = NEW.city)
    BEGIN SELECT RAISE(ABORT, 'versions are immutable: version numbers must be consecutive');
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS versions_no_update BEFORE UPDATE ON versions
    BEGIN SELECT RAISE(ABORT, 'versions are immutable'); END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS versions_no_delete BEFORE DELETE ON versions
    BEGIN SELECT RAISE(ABORT, 'versions are immutable'); END
    """,
    # Rows may only be added to the newest version of a city (the one being written).
    """
    CREATE TRIGGER IF NOT EXISTS stations_only_newest BEFORE INSERT ON stations
    WHEN NEW.version IS NOT (SELECT max(version) FROM versions WHERE city = NEW.city)
      OR EXISTS (SELECT 1 FROM stations WHERE city = NEW.city AND version = NEW.version
                 AND seq = NEW.seq)
    BEGIN SELECT RAISE(ABORT, 'versions are immutable'); END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS stations_no_update BEFORE UPDATE ON stations
    BEGIN SELECT RAISE(ABORT, 'versions are immutable'); END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS stations_no_delete BEFORE DELETE ON stations
    BEGIN SELECT RAISE(ABORT, 'versions are immutable'); END
    """,
)

#: Statements that bring a schema ``v - 1`` file to schema ``v``.
MIGRATIONS: Final[dict[int, tuple[str, ...]]] = {
    2: (
        # Failed sign-ins per account name (kind 'user', also for names without an
        # account, so a lockout says nothing about which names exist) and per client.
        """
        CREATE TABLE IF NOT EXISTS sign_in_throttle (
            kind TEXT NOT NULL CHECK (kind IN ('user', 'client')),
            key TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 256),
            failures INTEGER NOT NULL CHECK (failures >= 1),
            last_failure_at REAL NOT NULL,
            locked_until REAL NOT NULL DEFAULT 0,
            PRIMARY KEY (kind, key)
        ) WITHOUT ROWID
        """,
        """
        CREATE INDEX IF NOT EXISTS sign_in_throttle_last
        ON sign_in_throttle (last_failure_at)
        """,
    ),
}
if sorted(MIGRATIONS) != list(range(2, SCHEMA_VERSION + 1)):  # pragma: no cover
    raise AssertionError("MIGRATIONS must hold every schema version 2…SCHEMA_VERSION")


class Database:
    """The SQLite file ``path``: checked, created or upgraded on construction.

    ``create=True`` creates the file (and the schema) when missing; ``create=False``
    raises :class:`StoreError` instead. ``timeout_s`` is how long a write waits for
    another writer's transaction before giving up. A file that is not a Yizhan database
    raises :class:`StoreError`.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout_s: float = 30.0,
                 create: bool = True) -> None:
        if not isinstance(timeout_s, int | float) or not timeout_s > 0:
            raise InvalidParameterError(f"timeout_s must be > 0 seconds, got {timeout_s!r}")
        self.path: Path = Path(path).expanduser()
        self.timeout_s: float = float(timeout_s)
        if self.path.is_dir():
            raise StoreError(
                f"{self.path} is a folder: give the station database file, e.g. "
                f"{self.path / 'yizhan.sqlite'}"
            )
        if not create and not self.path.exists():
            raise StoreError(
                f"no station database at {self.path}: check the path, or create one "
                "(create=True / add the first user)"
            )
        uri = self.path.resolve().as_uri()
        self._uri_rw: str = uri + "?mode=rw"
        self._initialize(uri + ("?mode=rwc" if create else "?mode=rw"), create=create)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

    # ---------------------------------------------------------------- opening

    def _open(self, uri: str) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(uri, uri=True, timeout=self.timeout_s,
                                   isolation_level=None, check_same_thread=True)
        except sqlite3.Error as exc:
            raise StoreError(
                f"cannot open the station database {self.path} ({exc}): check that the "
                "folder exists and is writable"
            ) from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout_s * 1000)}")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = FULL")
        except sqlite3.Error as exc:
            conn.close()
            raise self._store_error(exc) from exc
        return conn

    def _store_error(self, exc: sqlite3.Error) -> StoreError:
        text = str(exc)
        if isinstance(exc, sqlite3.DatabaseError) and "not a database" in text:
            return StoreError(
                f"{self.path} is not a Yizhan station database (not an SQLite file at all): "
                "give the path of a Yizhan database, or a new file name to create one"
            )
        if "locked" in text or "busy" in text:
            return StoreError(
                f"the station database {self.path} is busy ({text}, waited up to "
                f"{self.timeout_s:g} s): another save is running or another program holds "
                "the file; try again"
            )
        return StoreError(f"station database {self.path}: {text}")

    @staticmethod
    def _identity(conn: sqlite3.Connection) -> tuple[int, int, int]:
        """``(application_id, user_version, number of schema objects)`` from one snapshot.

        Outside a transaction the three reads run in one read transaction, so a file
        being initialized by another process is seen either before or after, never half.
        """
        own_transaction = not conn.in_transaction
        if own_transaction:
            conn.execute("BEGIN")
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            user_version = conn.execute("PRAGMA user_version").fetchone()[0]
            n_objects = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        finally:
            if own_transaction and conn.in_transaction:
                conn.execute("COMMIT")
        return int(app_id), int(user_version), int(n_objects)

    def _use_wal(self, conn: sqlite3.Connection) -> None:
        """``PRAGMA journal_mode=WAL``, retried while another connection holds a lock.

        Switching a new file to WAL needs an exclusive lock and SQLite answers "database
        is locked" at once, without waiting for ``busy_timeout``; so wait here, up to
        ``timeout_s``. (Once the file is in WAL mode, which is persistent, this is a no-op.)
        """
        deadline = time.monotonic() + self.timeout_s
        pause_s = 0.005
        while True:
            try:
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() + pause_s > deadline:
                    raise
                time.sleep(pause_s)
                pause_s = min(pause_s * 2, 0.1)
        if str(mode).lower() != "wal":
            raise StoreError(
                f"the station database {self.path} cannot use SQLite's WAL journal (got "
                f"{mode!r}): put it on a local disk, not a network share"
            )

    def _check_identity(self, app_id: int, user_version: int) -> None:
        if app_id != APPLICATION_ID:
            raise StoreError(
                f"{self.path} is an SQLite database but not a Yizhan station database: "
                "give the path of a Yizhan database, or a new file name to create one"
            )
        if user_version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer Yizhan (schema {user_version}, this "
                f"version reads {SCHEMA_VERSION}): upgrade Yizhan"
            )
        if user_version < 1:
            raise StoreError(f"{self.path} has an unfinished Yizhan schema: restore a backup")

    # ---------------------------------------------------------------- schema

    @staticmethod
    def _immediate(conn: sqlite3.Connection) -> contextlib.AbstractContextManager[None]:
        """``BEGIN IMMEDIATE … COMMIT`` on ``conn``; rollback on any exception."""

        @contextlib.contextmanager
        def transaction() -> Iterator[None]:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

        return transaction()

    def _create_schema(self, conn: sqlite3.Connection) -> None:
        """Write the whole schema on an empty file, unless another process did meanwhile."""
        with self._immediate(conn):
            app_id, user_version, n_objects = self._identity(conn)
            if app_id == 0 and user_version == 0 and n_objects == 0:
                for statement in SCHEMA_V1:
                    conn.execute(statement)
                for version in range(2, SCHEMA_VERSION + 1):
                    for statement in MIGRATIONS[version]:
                        conn.execute(statement)
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            else:  # another process initialized (or filled) it meanwhile
                self._check_identity(app_id, user_version)

    def _upgrade(self, conn: sqlite3.Connection) -> None:
        """Bring an older schema up to :data:`SCHEMA_VERSION` (no-op when current)."""
        with self._immediate(conn):
            app_id, user_version, _ = self._identity(conn)
            self._check_identity(app_id, user_version)
            for version in range(user_version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[version]:
                    conn.execute(statement)
            if user_version < SCHEMA_VERSION:
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _initialize(self, uri: str, *, create: bool) -> None:
        """Check the file is ours; create the schema on a new, empty file, upgrade an
        older one (race-safe)."""
        conn = self._open(uri)
        try:
            app_id, user_version, n_objects = self._identity(conn)
            fresh = app_id == 0 and user_version == 0 and n_objects == 0
            if not fresh:
                self._check_identity(app_id, user_version)
            elif not create:
                raise StoreError(
                    f"{self.path} is an empty file, not a station database: remove it or "
                    "open it with create=True"
                )
            self._use_wal(conn)
            if fresh:
                self._create_schema(conn)
            elif user_version < SCHEMA_VERSION:
                self._upgrade(conn)
        except sqlite3.Error as exc:
            raise self._store_error(exc) from exc
        finally:
            conn.close()

    # ---------------------------------------------------------------- connections

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A fresh, configured connection to the (existing) database; closed afterwards."""
        conn = self._open(self._uri_rw)
        try:
            try:
                app_id, user_version, _ = self._identity(conn)
                self._check_identity(app_id, user_version)
                self._use_wal(conn)
                if user_version < SCHEMA_VERSION:  # e.g. an old backup restored in place
                    self._upgrade(conn)
                yield conn
            except sqlite3.Error as exc:
                raise self._store_error(exc) from exc
        finally:
            conn.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE … COMMIT`` on a fresh connection; rollback on any exception."""
        with self._connect() as conn, self._immediate(conn):
            yield conn

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every SELECT inside sees the same committed snapshot."""
        with self._connect() as conn:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")


__all__ = ["APPLICATION_ID", "MIGRATIONS", "SCHEMA_V1", "SCHEMA_VERSION", "Database"]
