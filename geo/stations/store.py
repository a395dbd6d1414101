"""Versioned station lists and local accounts in one SQLite file.

Each city's station list is a sequence of immutable versions 1, 2, 3, … Every upload
(``import``) or rollback (a copy of an older version) adds a version; nothing is ever
updated or deleted (triggers refuse it). A version keeps the uploaded bytes verbatim,
their SHA-256, the validation report and the accepted station rows.

Concurrency and crash safety (measured on this machine, see
``shared/notes/security.md``): WAL journal, ``synchronous=FULL`` and every write inside
``BEGIN IMMEDIATE … COMMIT``; a whole version is one transaction, so readers never see a
partial version and a writer killed mid-save leaves the previous state intact.

A :class:`StationStore` holds only its path and options; every method opens its own
connection, so one object may be shared by threads and Streamlit sessions.

Permissions are enforced here, inside the write transaction, from the ``users`` table:
callers pass the user *name*, never an :class:`~geo.stations.accounts.Account` object.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import math
import os
import sqlite3
import tempfile
import time
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.errors import (
    AuthenticationError,
    InvalidParameterError,
    PermissionDeniedError,
    StoreError,
    UnknownUserError,
    UnknownVersionError,
    UserExistsError,
)
from geo.stations.accounts import (
    DUMMY_HASH,
    PROVINCE,
    Account,
    check_password_strength,
    check_role_city,
    hash_password,
    needs_rehash,
    normalize_city,
    validate_role,
    validate_user_name,
    verify_password,
)

__all__ = [
    "DECLARED_CRS_VALUES",
    "OPTIONAL_STATION_COLUMNS",
    "REQUIRED_STATION_COLUMNS",
    "SCHEMA_VERSION",
    "STATION_COLUMNS",
    "NewVersion",
    "StationStore",
    "VersionInfo",
    "export_version",
    "layer_table",
]

#: ``PRAGMA user_version`` of the schema this module writes.
SCHEMA_VERSION: Final = 1
#: ``PRAGMA application_id`` marking a Yizhan database ("YZH1").
APPLICATION_ID: Final = 0x595A4831

DECLARED_CRS_VALUES: Final[tuple[str, ...]] = ("wgs84", "gcj02", "bd09")
#: Columns a NewVersion's station table must have.
REQUIRED_STATION_COLUMNS: Final[tuple[str, ...]] = ("station_id", "name", "type", "lon", "lat")
#: Columns that may be missing (stored as NULL / empty).
OPTIONAL_STATION_COLUMNS: Final[tuple[str, ...]] = (
    "address", "city", "district", "orig_lon", "orig_lat", "source_row", "extra",
)
#: Columns of :meth:`StationStore.stations` (plus ``geometry``), in this order.
STATION_COLUMNS: Final[tuple[str, ...]] = (
    "station_id", "name", "type", "address", "city", "district", "lon", "lat",
    "orig_lon", "orig_lat", "source_row", "extra",
)
MAX_SOURCE_NAME_LENGTH: Final = 255

_SCHEMA: Final[tuple[str, ...]] = (
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

_VERSION_FIELDS: Final = (
    "city, version, created_at, created_by, action, parent_version, source_name, sha256, "
    "declared_crs, rows_in, accepted, rejected, flagged, note"
)
_STATION_INSERT: Final = (
    "INSERT INTO stations (city, version, seq, station_id, name, type, address, "
    "station_city, district, lon, lat, orig_lon, orig_lat, source_row, extra_json) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def utc_now_iso() -> str:
    """Current UTC time as ISO 8601 with a trailing ``Z``, to the second."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- values


@dataclass(frozen=True, eq=False)  # holds a DataFrame: no value equality
class NewVersion:
    """A validated upload, handed to :meth:`StationStore.create_version`.

    ``stations`` holds the accepted rows: columns ``station_id``, ``name``, ``type``
    (text), ``lon``/``lat`` (WGS-84 degrees), optionally ``address``, ``city``,
    ``district``, ``orig_lon``/``orig_lat`` (as uploaded, in ``declared_crs``),
    ``source_row`` (1-based input row) and ``extra`` (dict of the original columns,
    JSON-able). ``rows_in`` must equal ``len(stations) + rejected``.
    """

    city: str
    source_name: str
    raw: bytes
    declared_crs: str
    stations: pd.DataFrame
    rows_in: int
    rejected: int
    flagged: int = 0
    report: dict[str, Any] = field(default_factory=dict)
    note: str = ""


@dataclass(frozen=True)
class VersionInfo:
    """One version's metadata (no rows): a line of ``yizhan stations history``."""

    city: str
    version: int
    created_at: str
    created_by: str
    action: str
    parent_version: int | None
    source_name: str
    sha256: str
    declared_crs: str
    rows_in: int
    accepted: int
    rejected: int
    flagged: int
    note: str

    def line(self) -> str:
        """One line starting with the version number, e.g.

        ``3  2026-12-01T10:00:00Z  gz_editor  import  stations.csv  sha256=ab12…
        rows_in=120 accepted=118 rejected=2 flagged=1``; rollbacks say ``rollback to v2``.
        """
        action = (f"rollback to v{self.parent_version}" if self.action == "rollback"
                  else self.action)
        text = (
            f"{self.version}  {self.created_at}  {self.created_by}  {action}  "
            f"{_printable(self.source_name)}  sha256={self.sha256}  rows_in={self.rows_in} "
            f"accepted={self.accepted} rejected={self.rejected} flagged={self.flagged}"
        )
        if self.note:
            text += f"  note={_printable(self.note)!r}"
        return text


def _printable(text: str) -> str:
    """Replace control / format characters so a value cannot break a terminal line."""
    return "".join("?" if unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp"} else ch
                   for ch in text)


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    return False


def _jsonable(value: Any) -> Any:
    """Plain JSON value: numpy scalars → Python, NaN/inf/NA → None, dates → ISO text."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset | np.ndarray):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if _is_missing(value):
        return None
    if isinstance(value, dt.datetime | dt.date | pd.Timestamp):
        return value.isoformat()
    return str(value)


def _dumps(value: Any) -> str:
    return json.dumps(_jsonable(value), ensure_ascii=False, allow_nan=False,
                      separators=(",", ":"))


def _non_negative_int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise StoreError(f"{what} must be a whole number ≥ 0, got {value!r}")
    return int(value)


def _text_or_none(value: object) -> str | None:
    if _is_missing(value):
        return None
    text = str(value)
    return text if text.strip() else None


def _float_or_none(value: object, what: str, row: int) -> float | None:
    if _is_missing(value):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise StoreError(f"station row {row}: {what} {value!r} is not a number") from None
    if not math.isfinite(number):
        raise StoreError(f"station row {row}: {what} {value!r} is not a finite number")
    return number


def _required_text(value: object, column: str, row: int) -> str:
    if not isinstance(value, str):
        hint = (" (read station ids as text, e.g. pandas dtype=str, so '0012' stays '0012')"
                if column == "station_id" else "")
        raise StoreError(
            f"station row {row}: {column} must be text, got {type(value).__name__} "
            f"{value!r}{hint}"
        )
    if not value.strip():
        raise StoreError(f"station row {row}: {column} is empty: reject such rows before saving")
    return value


def _station_rows(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    """Check a NewVersion's station table; return insert tuples (without city/version/seq)."""
    if not isinstance(frame, pd.DataFrame):
        raise StoreError(
            f"NewVersion.stations must be a pandas DataFrame, got {type(frame).__name__}"
        )
    missing = [c for c in REQUIRED_STATION_COLUMNS if c not in frame.columns]
    if missing:
        raise StoreError(
            f"NewVersion.stations lacks column(s) {', '.join(missing)}; it needs "
            f"{', '.join(REQUIRED_STATION_COLUMNS)} (optional: "
            f"{', '.join(OPTIONAL_STATION_COLUMNS)})"
        )
    n = len(frame)

    def column(name: str) -> list[Any]:
        return frame[name].tolist() if name in frame.columns else [None] * n

    cols = {name: column(name) for name in (*REQUIRED_STATION_COLUMNS,
                                            *OPTIONAL_STATION_COLUMNS)}
    seen: dict[str, int] = {}
    rows: list[tuple[Any, ...]] = []
    for i in range(n):
        row = i + 1  # position in the accepted table, 1-based, for messages
        station_id = _required_text(cols["station_id"][i], "station_id", row)
        if station_id in seen:
            raise StoreError(
                f"station_id {station_id!r} occurs twice (accepted rows {seen[station_id]} "
                f"and {row}): ids must be unique within a station list"
            )
        seen[station_id] = row
        name = _required_text(cols["name"][i], "name", row)
        type_ = _required_text(cols["type"][i], "type", row)
        lon = _float_or_none(cols["lon"][i], "lon", row)
        lat = _float_or_none(cols["lat"][i], "lat", row)
        if lon is None or lat is None:
            raise StoreError(f"station row {row} ({station_id}): lon/lat is missing")
        if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
            raise StoreError(
                f"station row {row} ({station_id}): lon {lon}, lat {lat} are not WGS-84 "
                "degrees (lon −180…180, lat −90…90)"
            )
        source_row = cols["source_row"][i]
        if _is_missing(source_row):
            source_row = None
        else:
            try:
                source_row_int = int(source_row)
            except (TypeError, ValueError):
                source_row_int = -1
            if source_row_int < 1 or source_row_int != source_row:
                raise StoreError(
                    f"station row {row} ({station_id}): source_row {source_row!r} must be a "
                    "1-based input row number"
                )
            source_row = source_row_int
        extra = cols["extra"][i]
        if _is_missing(extra):
            extra_json = None
        elif isinstance(extra, Mapping):
            extra_json = _dumps(extra)
        else:
            raise StoreError(
                f"station row {row} ({station_id}): extra must be a dict of the original "
                f"columns, got {type(extra).__name__}"
            )
        rows.append((
            station_id, name, type_,
            _text_or_none(cols["address"][i]), _text_or_none(cols["city"][i]),
            _text_or_none(cols["district"][i]), lon, lat,
            _float_or_none(cols["orig_lon"][i], "orig_lon", row),
            _float_or_none(cols["orig_lat"][i], "orig_lat", row),
            source_row, extra_json,
        ))
    return rows


def _target_city(city: object) -> str:
    """Normalize a city that receives station versions (not the province)."""
    target = normalize_city(city)
    if target == PROVINCE:
        raise InvalidParameterError(
            "station lists belong to a city, not the province: give a city name such as "
            "'深圳市'"
        )
    return target


def _user_name_arg(user: object) -> str:
    if not isinstance(user, str):
        raise InvalidParameterError(
            f"user must be the user name (text), got {type(user).__name__}: the store looks "
            "the account up itself"
        )
    return user


def _version_arg(version: object) -> int:
    if isinstance(version, bool) or not isinstance(version, int | np.integer) or version < 1:
        raise InvalidParameterError(f"version must be a whole number ≥ 1, got {version!r}")
    return int(version)


def _city_label(city: str) -> str:
    return "province" if city == PROVINCE else city


# --------------------------------------------------------------------------- the store


class StationStore:
    """Versioned station lists and local accounts in the SQLite file ``path``.

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
        return f"StationStore({str(self.path)!r})"

    # ---------------------------------------------------------------- connections

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

    def _identity(self, conn: sqlite3.Connection) -> tuple[int, int, int]:
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

    def _initialize(self, uri: str, *, create: bool) -> None:
        """Check the file is ours; create the schema on a new, empty file (race-safe)."""
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
            if not fresh:
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                app_id, user_version, n_objects = self._identity(conn)
                if app_id == 0 and user_version == 0 and n_objects == 0:
                    for statement in _SCHEMA:
                        conn.execute(statement)
                    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                else:  # another process initialized (or filled) it meanwhile
                    self._check_identity(app_id, user_version)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise self._store_error(exc) from exc
        finally:
            conn.close()

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A fresh, configured connection to the (existing) database; closed afterwards."""
        conn = self._open(self._uri_rw)
        try:
            try:
                app_id, user_version, _ = self._identity(conn)
                self._check_identity(app_id, user_version)
                self._use_wal(conn)
                yield conn
            except sqlite3.Error as exc:
                raise self._store_error(exc) from exc
        finally:
            conn.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE … COMMIT`` on a fresh connection; rollback on any exception."""
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

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

    # ---------------------------------------------------------------- accounts

    @staticmethod
    def _account(row: tuple[Any, ...]) -> Account:
        name, city, role, created_at = row
        return Account(name=name, city=city, role=role, created_at=created_at)

    @staticmethod
    def _user_row(conn: sqlite3.Connection, name: str) -> tuple[Any, ...] | None:
        return conn.execute(
            "SELECT name, city, role, created_at, password_hash FROM users WHERE name = ?",
            (name,),
        ).fetchone()

    def add_user(self, name: str, *, password: str, city: str, role: str,
                 check_strength: bool = True) -> Account:
        """Add a local account and return it.

        Editors need a city, admins are province-level (``city="province"`` or
        ``"广东省"``), reviewers either. Raises :class:`UserExistsError` for a taken
        name, :class:`~geo.errors.WeakPasswordError` for a weak password (unless
        ``check_strength=False``, e.g. for a random password of an OIDC-only user).
        """
        validate_user_name(name)
        validate_role(role)
        city = normalize_city(city)
        check_role_city(role, city)
        if check_strength:
            check_password_strength(password, name=name)
        password_hash = hash_password(password)  # slow (Argon2): outside the transaction
        account = Account(name=name, city=city, role=role, created_at=utc_now_iso())
        with self._write() as conn:
            if self._user_row(conn, name) is not None:
                raise UserExistsError(
                    f"user {name!r} already exists: choose another name, or change the "
                    "password with set_password"
                )
            conn.execute(
                "INSERT INTO users (name, city, role, password_hash, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (account.name, account.city, account.role, password_hash,
                 account.created_at),
            )
        return account

    def set_password(self, name: str, *, password: str, check_strength: bool = True) -> None:
        """Replace the password of user ``name`` (:class:`UnknownUserError` if absent)."""
        validate_user_name(name)
        if check_strength:
            check_password_strength(password, name=name)
        password_hash = hash_password(password)
        with self._write() as conn:
            if self._user_row(conn, name) is None:
                raise self._unknown_user(name)
            conn.execute("UPDATE users SET password_hash = ? WHERE name = ?",
                         (password_hash, name))

    def authenticate(self, name: str, password: str) -> Account:
        """Return the account if ``password`` is right, else raise AuthenticationError.

        The message is the same for an unknown name and a wrong password, and an unknown
        name is checked against a dummy hash so both take about as long.
        """
        failure = AuthenticationError(
            "user name or password is wrong: check both and try again"
        )
        row = None
        if isinstance(name, str) and isinstance(password, str) and name:
            with self._read() as conn:
                row = self._user_row(conn, name)
        ok = verify_password(row[4] if row else DUMMY_HASH, password)
        if row is None or not ok:
            raise failure
        if needs_rehash(row[4]):
            with contextlib.suppress(StoreError), self._write() as conn:
                conn.execute("UPDATE users SET password_hash = ? WHERE name = ?",
                             (hash_password(password), name))
        return self._account(row[:4])

    @staticmethod
    def _unknown_user(name: str) -> UnknownUserError:
        return UnknownUserError(
            f"unknown user {name!r}: check the name, or add the account first "
            "(yizhan users add)"
        )

    def get_user(self, name: str) -> Account:
        """The account called ``name`` (:class:`UnknownUserError` if there is none)."""
        name = _user_name_arg(name)
        with self._read() as conn:
            row = self._user_row(conn, name)
        if row is None:
            raise self._unknown_user(name)
        return self._account(row[:4])

    def users(self) -> list[Account]:
        """All accounts, sorted by name."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT name, city, role, created_at FROM users ORDER BY name"
            ).fetchall()
        return [self._account(r) for r in rows]

    def _require_writer(self, conn: sqlite3.Connection, user: str, city: str) -> Account:
        """Look ``user`` up in this transaction; raise unless they may write ``city``."""
        row = self._user_row(conn, user)
        if row is None:
            raise self._unknown_user(user)
        account = self._account(row[:4])
        if not account.can_write(city):
            if account.role == "reviewer":
                advice = "reviewers only read; ask an editor of that city or an admin"
            else:
                advice = ("editors change their own city only; ask an editor of that city or "
                          "an admin")
            raise PermissionDeniedError(
                f"user {account.name} ({account.role}, {_city_label(account.city)}) may not "
                f"change the station list of {city}: {advice}"
            )
        return account

    # ---------------------------------------------------------------- versions

    @staticmethod
    def _next_version(conn: sqlite3.Connection, city: str) -> int:
        row = conn.execute("SELECT coalesce(max(version), 0) + 1 FROM versions WHERE city = ?",
                           (city,)).fetchone()
        return int(row[0])

    @staticmethod
    def _info(row: tuple[Any, ...]) -> VersionInfo:
        return VersionInfo(*row)

    def _get_info(self, conn: sqlite3.Connection, city: str, version: int) -> VersionInfo:
        row = conn.execute(
            f"SELECT {_VERSION_FIELDS} FROM versions WHERE city = ? AND version = ?",
            (city, version),
        ).fetchone()
        if row is None:
            latest = conn.execute("SELECT max(version) FROM versions WHERE city = ?",
                                  (city,)).fetchone()[0]
            have = f"versions 1–{latest}" if latest else "no versions yet"
            raise UnknownVersionError(
                f"{city} has no station list version {version} ({have}): see "
                "`yizhan stations history`"
            )
        return self._info(row)

    def create_version(self, new: NewVersion, *, user: str) -> VersionInfo:
        """Store ``new`` as the next version of its city, by user name ``user``.

        Validates ``new`` first (:class:`StoreError`), then in one write transaction
        checks that ``user`` exists (:class:`UnknownUserError`) and may write the city
        (:class:`PermissionDeniedError`), numbers the version max+1 and writes the
        version row and all station rows.
        """
        if not isinstance(new, NewVersion):
            raise StoreError(f"create_version needs a NewVersion, got {type(new).__name__}")
        user = _user_name_arg(user)
        city = _target_city(new.city)
        if not isinstance(new.source_name, str) or not new.source_name.strip():
            raise StoreError("NewVersion.source_name is empty: give the uploaded file name")
        if len(new.source_name) > MAX_SOURCE_NAME_LENGTH:
            raise StoreError(
                f"NewVersion.source_name is longer than {MAX_SOURCE_NAME_LENGTH} characters"
            )
        if not isinstance(new.raw, bytes | bytearray | memoryview):
            raise StoreError(
                f"NewVersion.raw must be the uploaded bytes, got {type(new.raw).__name__}"
            )
        raw = bytes(new.raw)
        crs = new.declared_crs.strip().lower() if isinstance(new.declared_crs, str) else None
        if crs not in DECLARED_CRS_VALUES:
            raise StoreError(
                f"NewVersion.declared_crs {new.declared_crs!r} is not one of "
                f"{', '.join(DECLARED_CRS_VALUES)}"
            )
        rows_in = _non_negative_int(new.rows_in, "NewVersion.rows_in")
        rejected = _non_negative_int(new.rejected, "NewVersion.rejected")
        flagged = _non_negative_int(new.flagged, "NewVersion.flagged")
        if not isinstance(new.note, str):
            raise StoreError(f"NewVersion.note must be text, got {type(new.note).__name__}")
        if not isinstance(new.report, Mapping):
            raise StoreError(
                f"NewVersion.report must be a dict, got {type(new.report).__name__}"
            )
        rows = _station_rows(new.stations)
        accepted = len(rows)
        if rows_in != accepted + rejected:
            raise StoreError(
                f"row counts do not add up: rows_in {rows_in} ≠ accepted {accepted} + "
                f"rejected {rejected}; pass the counts of the validation step unchanged"
            )
        report_json = _dumps(new.report)
        sha256 = hashlib.sha256(raw).hexdigest()
        with self._write() as conn:
            self._require_writer(conn, user, city)
            version = self._next_version(conn, city)
            info = VersionInfo(
                city=city, version=version, created_at=utc_now_iso(), created_by=user,
                action="import", parent_version=None, source_name=new.source_name,
                sha256=sha256, declared_crs=crs, rows_in=rows_in, accepted=accepted,
                rejected=rejected, flagged=flagged, note=new.note,
            )
            conn.execute(
                f"INSERT INTO versions ({_VERSION_FIELDS}, report_json, raw) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (info.city, info.version, info.created_at, info.created_by, info.action,
                 info.parent_version, info.source_name, info.sha256, info.declared_crs,
                 info.rows_in, info.accepted, info.rejected, info.flagged, info.note,
                 report_json, raw),
            )
            conn.executemany(
                _STATION_INSERT,
                ((city, version, seq, *r) for seq, r in enumerate(rows)),
            )
        return info

    def rollback(self, city: str, *, to_version: int, user: str, note: str = "") -> VersionInfo:
        """Add a NEW version of ``city`` that copies version ``to_version``.

        Rows, raw bytes, report and counts are copied; ``action='rollback'`` and
        ``parent_version=to_version``. Same permission rules as :meth:`create_version`;
        :class:`UnknownVersionError` if ``to_version`` does not exist.
        """
        user = _user_name_arg(user)
        city = _target_city(city)
        to_version = _version_arg(to_version)
        if not isinstance(note, str):
            raise InvalidParameterError(f"note must be text, got {type(note).__name__}")
        with self._write() as conn:
            self._require_writer(conn, user, city)
            source = self._get_info(conn, city, to_version)
            version = self._next_version(conn, city)
            created_at = utc_now_iso()
            conn.execute(
                f"INSERT INTO versions ({_VERSION_FIELDS}, report_json, raw) "
                "SELECT city, ?, ?, ?, 'rollback', version, source_name, sha256, "
                "declared_crs, rows_in, accepted, rejected, flagged, ?, report_json, raw "
                "FROM versions WHERE city = ? AND version = ?",
                (version, created_at, user, note, city, to_version),
            )
            conn.execute(
                "INSERT INTO stations (city, version, seq, station_id, name, type, address, "
                "station_city, district, lon, lat, orig_lon, orig_lat, source_row, "
                "extra_json) SELECT city, ?, seq, station_id, name, type, address, "
                "station_city, district, lon, lat, orig_lon, orig_lat, source_row, "
                "extra_json FROM stations WHERE city = ? AND version = ? ORDER BY seq",
                (version, city, to_version),
            )
        return VersionInfo(
            city=city, version=version, created_at=created_at, created_by=user,
            action="rollback", parent_version=to_version, source_name=source.source_name,
            sha256=source.sha256, declared_crs=source.declared_crs, rows_in=source.rows_in,
            accepted=source.accepted, rejected=source.rejected, flagged=source.flagged,
            note=note,
        )

    def history(self, city: str) -> list[VersionInfo]:
        """All versions of ``city``, oldest first (empty if it has none)."""
        city = _target_city(city)
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {_VERSION_FIELDS} FROM versions WHERE city = ? ORDER BY version",
                (city,),
            ).fetchall()
        return [self._info(r) for r in rows]

    def cities(self) -> list[str]:
        """Cities that have at least one version, sorted."""
        with self._read() as conn:
            rows = conn.execute("SELECT DISTINCT city FROM versions ORDER BY city").fetchall()
        return [r[0] for r in rows]

    def current(self, city: str) -> VersionInfo | None:
        """The newest version of ``city``, or None if it has none."""
        city = _target_city(city)
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {_VERSION_FIELDS} FROM versions WHERE city = ? "
                "ORDER BY version DESC LIMIT 1",
                (city,),
            ).fetchone()
        return None if row is None else self._info(row)

    def _resolve(self, conn: sqlite3.Connection, city: str,
                 version: int | None) -> VersionInfo:
        if version is None:
            latest = conn.execute("SELECT max(version) FROM versions WHERE city = ?",
                                  (city,)).fetchone()[0]
            if latest is None:
                raise UnknownVersionError(
                    f"{city} has no station list yet: upload one first"
                )
            version = int(latest)
        return self._get_info(conn, city, _version_arg(version))

    def stations(self, city: str, *, version: int | None = None) -> gpd.GeoDataFrame:
        """The station rows of one version (default: the current one), EPSG:4326 points.

        Columns :data:`STATION_COLUMNS` + ``geometry``; ``station_id`` is text exactly
        as uploaded, ``extra`` a dict per row, ``source_row`` nullable Int64. Raises
        :class:`UnknownVersionError` for a version that does not exist.
        """
        city = _target_city(city)
        with self._read() as conn:
            info = self._resolve(conn, city, version)
            rows = conn.execute(
                "SELECT station_id, name, type, address, station_city, district, lon, lat, "
                "orig_lon, orig_lat, source_row, extra_json FROM stations "
                "WHERE city = ? AND version = ? ORDER BY seq",
                (city, info.version),
            ).fetchall()
        if len(rows) != info.accepted:
            raise StoreError(
                f"{city} version {info.version} has {len(rows)} station rows but recorded "
                f"{info.accepted}: the database was changed outside Yizhan; restore a backup"
            )
        columns = list(zip(*rows, strict=True)) if rows else [()] * len(STATION_COLUMNS)
        data = dict(zip(STATION_COLUMNS, columns, strict=True))
        frame = pd.DataFrame({
            "station_id": pd.Series(data["station_id"], dtype=object),
            "name": pd.Series(data["name"], dtype=object),
            "type": pd.Series(data["type"], dtype=object),
            "address": pd.Series(data["address"], dtype=object),
            "city": pd.Series(data["city"], dtype=object),
            "district": pd.Series(data["district"], dtype=object),
            "lon": pd.Series(data["lon"], dtype="float64"),
            "lat": pd.Series(data["lat"], dtype="float64"),
            "orig_lon": pd.Series(data["orig_lon"], dtype="float64"),
            "orig_lat": pd.Series(data["orig_lat"], dtype="float64"),
            "source_row": pd.Series(data["source_row"], dtype="Int64"),
            "extra": pd.Series([json.loads(x) if x else {} for x in data["extra"]],
                               dtype=object),
        })
        geometry = gpd.points_from_xy(frame["lon"], frame["lat"], crs="EPSG:4326")
        return gpd.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4326")

    def raw(self, city: str, *, version: int) -> tuple[str, bytes]:
        """``(source_name, uploaded bytes)`` of one version, bytes exactly as uploaded."""
        city = _target_city(city)
        version = _version_arg(version)
        with self._read() as conn:
            info = self._get_info(conn, city, version)
            blob = conn.execute("SELECT raw FROM versions WHERE city = ? AND version = ?",
                                (city, version)).fetchone()[0]
        return info.source_name, bytes(blob)

    def report(self, city: str, *, version: int) -> dict[str, Any]:
        """The validation report of one version (JSON round trip: keys become text)."""
        city = _target_city(city)
        version = _version_arg(version)
        with self._read() as conn:
            self._get_info(conn, city, version)
            text = conn.execute(
                "SELECT report_json FROM versions WHERE city = ? AND version = ?",
                (city, version),
            ).fetchone()[0]
        return dict(json.loads(text))

    # ---------------------------------------------------------------- maintenance

    def backup(self, dest: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write a consistent copy of the database to ``dest`` and return its path.

        Uses the SQLite backup API (copying only the ``.db`` file would lose data still
        in the ``-wal`` file). The copy is written to a temporary file next to ``dest``,
        checked and then renamed, so ``dest`` is never half-written. An existing
        ``dest`` is replaced only with ``overwrite=True``.
        """
        target = Path(dest).expanduser()
        if target.exists() and target.resolve() == self.path.resolve():
            raise StoreError("backup destination is the database itself: choose another file")
        if target.is_dir():
            raise StoreError(f"backup destination {target} is a folder: give a file name")
        if target.exists() and not overwrite:
            raise StoreError(
                f"backup destination {target} exists: choose a new name or pass overwrite=True"
            )
        if not target.parent.is_dir():
            raise StoreError(f"backup folder {target.parent} does not exist: create it first")
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                        dir=target.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            with self._connect() as conn:
                dst = sqlite3.connect(tmp, isolation_level=None)
                try:
                    conn.backup(dst)
                    dst.execute("PRAGMA journal_mode = DELETE")  # a single self-contained file
                    check = dst.execute("PRAGMA quick_check").fetchone()[0]
                finally:
                    dst.close()
            if check != "ok":
                raise StoreError(f"the backup copy failed its check ({check}): try again")
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except sqlite3.Error as exc:
            raise self._store_error(exc) from exc
        finally:
            tmp.unlink(missing_ok=True)
        return target

    def integrity_check(self) -> str:
        """``PRAGMA integrity_check`` plus foreign-key check: ``"ok"`` when healthy."""
        with self._connect() as conn:
            results = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
            fk = conn.execute("PRAGMA foreign_key_check").fetchall()
        if results == ["ok"] and not fk:
            return "ok"
        lines = [r for r in results if r != "ok"]
        lines += [f"foreign key violation in {table} row {rowid} → {parent}"
                  for table, rowid, parent, _ in fk]
        return "\n".join(lines)


def layer_table(store: StationStore, city: str, *,
                version: int | None = None) -> tuple[Any, VersionInfo]:
    """A stored version (default: the current one) as the station
    :class:`~geo.io.layers.LayerTable` coverage runs on, with its :class:`VersionInfo`.

    Rejected rows were never stored (they are in the version's report), so the table
    has ``rows_in == accepted`` and its source names the database, city and version.
    """
    from geo.io.layers import LayerTable as _LayerTable

    city = _target_city(city)
    with store._read() as conn:
        info = store._resolve(conn, city, version)
    gdf = store.stations(city, version=info.version)
    cols = ["station_id", "name", "type", "address", "city", "district", "geometry"]
    accepted = gpd.GeoDataFrame(gdf[cols].copy(), geometry="geometry", crs="EPSG:4326")
    empty = pd.DataFrame({"row": pd.Series([], dtype=int), "id": [], "name": [],
                          "reason": []})
    table = _LayerTable(accepted=accepted, rejected=empty, rows_in=len(accepted),
                        source=f"{store.path}#{city}@v{info.version}")
    return table, info


def export_version(store: StationStore, city: str, *, version: int | None,
                   out: str | os.PathLike[str]) -> Path:
    """Write a stored version (default: the current one) to ``out``: ``.csv`` (UTF-8 with
    BOM, formula-looking text quoted), ``.geojson``, ``.gpkg`` or ``.xlsx`` (text kept as
    text); ``extra`` (the original columns) becomes a JSON text column."""
    from geo.errors import InputFileError
    from geo.io.sheetsafe import csv_safe, excel_bytes

    p = Path(out)
    suffix = p.suffix.lower()
    if suffix not in (".csv", ".geojson", ".json", ".gpkg", ".xlsx"):
        raise InputFileError(f"--out {p.name}: use .csv, .geojson, .gpkg or .xlsx")
    gdf = store.stations(city, version=version)
    flat = gdf.assign(extra=[json.dumps(x or {}, ensure_ascii=False) for x in gdf["extra"]])
    table = pd.DataFrame(flat.drop(columns="geometry"))
    p.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        csv_safe(table).to_csv(p, index=False, encoding="utf-8-sig")
    elif suffix == ".xlsx":
        p.write_bytes(excel_bytes({"stations": table}))
    else:
        flat.to_file(p, driver="GPKG" if suffix == ".gpkg" else "GeoJSON",
                     layer="stations" if suffix == ".gpkg" else None, engine="pyogrio")
    return p
