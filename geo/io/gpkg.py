"""A GeoPackage inspected with the standard-library :mod:`sqlite3` before GDAL opens it.

A GeoPackage is an SQLite database, and SQLite runs what the file defines: a view
over an infinite ``WITH RECURSIVE`` never returns, a view or a generated column of
``randomblob()`` produces gigabytes from a 98 KB file. :func:`check_gpkg` opens our
own temporary copy read-only and immutable (no journal, no locks, no writes),
refuses views, non-rtree virtual tables and generated columns anywhere, requires every
``gpkg_contents`` row to name a real feature / attribute table, and counts rows itself
(bounded: at most :data:`MAX_CONTENTS` layers and ``max_features`` rows each), all
under a deadline (``max_inspect_seconds``) enforced by SQLite's progress handler.
"""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path
from typing import Final

from geo.errors import InputFileError, UploadLimitError
from geo.io.limits import UploadLimits

SQLITE_MAGIC: Final = b"SQLite format 3\x00"
MAX_CONTENTS: Final = 64
MAX_SCHEMA_OBJECTS: Final = 10_000
_DATA_TYPES: Final = frozenset({"features", "attributes"})
_VIRTUAL_RE: Final = re.compile(r"^\s*CREATE\s+VIRTUAL\s+TABLE\b.*?\bUSING\s+(\w+)",
                                re.IGNORECASE | re.DOTALL)


class _Deadline:
    """SQLite progress handler: non-zero (abort) once the deadline has passed."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds
        self.hit = False

    def __call__(self) -> int:
        if time.monotonic() > self.end:
            self.hit = True
            return 1
        return 0


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _schema(con: sqlite3.Connection, name: str) -> dict[str, tuple[str, str]]:
    """Tables of the file by lower-case name → (type, sql); refuses views and foreign
    virtual tables."""
    (n,) = con.execute("SELECT count(*) FROM sqlite_master").fetchone()
    if n > MAX_SCHEMA_OBJECTS:
        raise UploadLimitError(f"{name} defines {n:,} schema objects (limit "
                               f"{MAX_SCHEMA_OBJECTS:,})")
    tables: dict[str, tuple[str, str]] = {}
    for typ, obj, sql in con.execute("SELECT type, name, sql FROM sqlite_master"):
        if typ == "view":
            raise InputFileError(
                f"{name} contains a view ({obj!r}): GeoPackage views are not accepted (a "
                "view runs a query when it is read) — export the layer as a plain table")
        if typ != "table":
            continue
        virtual = _VIRTUAL_RE.match(sql or "")
        if virtual and virtual.group(1).lower() != "rtree":
            raise InputFileError(
                f"{name} contains a virtual table ({obj!r} using {virtual.group(1)}), which "
                "is not accepted in a GeoPackage")
        tables[str(obj).lower()] = ("virtual" if virtual else "table", sql or "")
    return tables


def _check_table(con: sqlite3.Connection, table: str, name: str,
                 limits: UploadLimits) -> None:
    columns = con.execute(f"PRAGMA table_xinfo({_quote(table)})").fetchall()
    if any(col[6] in (2, 3) for col in columns):  # hidden: 2 virtual, 3 stored generated
        raise InputFileError(
            f"{name}: table {table!r} has generated columns (computed when read), which are "
            "not accepted — export the layer as a plain table")
    if len(columns) > limits.max_columns + 2:  # fid and geometry besides the fields
        raise UploadLimitError(f"{name}: layer {table!r} has {len(columns)} columns (limit "
                               f"{limits.max_columns})")
    (rows,) = con.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM {_quote(table)} LIMIT ?)",
        (limits.max_features + 1,)).fetchone()
    if rows > limits.max_features:
        raise UploadLimitError(f"{name}: layer {table!r} has more than "
                               f"{limits.max_features:,} features")
    if rows * max(len(columns) - 2, 1) > limits.max_cells:
        raise UploadLimitError(
            f"{name}: layer {table!r} has {rows:,} features × {len(columns) - 2} fields "
            f"(limit {limits.max_cells:,} cells)")


def _inspect(con: sqlite3.Connection, name: str, limits: UploadLimits) -> int:
    tables = _schema(con, name)
    if tables.get("gpkg_contents", ("", ""))[0] != "table":
        raise InputFileError(f"{name} is an SQLite file without a gpkg_contents table: not "
                             "a GeoPackage")
    (n,) = con.execute("SELECT count(*) FROM gpkg_contents").fetchone()
    if n > MAX_CONTENTS:
        raise UploadLimitError(f"{name} lists {n:,} layers (limit {MAX_CONTENTS})")
    if n == 0:
        raise InputFileError(f"{name} is a GeoPackage without any layer")
    for table_name, data_type in con.execute(
            "SELECT table_name, data_type FROM gpkg_contents").fetchall():
        table = str(table_name)
        kind = tables.get(table.lower(), ("", ""))[0]
        if kind != "table":
            raise InputFileError(
                f"{name}: gpkg_contents lists {table!r}, which is not a table of the file")
        if str(data_type).lower() not in _DATA_TYPES:
            raise InputFileError(
                f"{name}: layer {table!r} holds {data_type!r} content; only feature tables "
                "are read")
        _check_table(con, table, name, limits)
    return int(n)


def check_gpkg(path: Path, name: str, limits: UploadLimits) -> int:
    """Refuse a GeoPackage that could make GDAL hang or allocate without bound (see the
    module docstring); returns its number of layers. ``path`` must be our own copy."""
    with open(path, "rb") as fh:
        head = fh.read(100)
    if not head.startswith(SQLITE_MAGIC):
        raise InputFileError(f"{name} is not a GeoPackage (no SQLite header)")
    deadline = _Deadline(limits.max_inspect_seconds)
    uri = f"{path.resolve().as_uri()}?mode=ro&immutable=1"
    try:
        con = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=True)
    except sqlite3.Error as exc:
        raise InputFileError(f"{name} cannot be opened as a GeoPackage: {exc}") from None
    try:
        con.set_progress_handler(deadline, 1000)
        con.execute("PRAGMA trusted_schema = OFF")
        con.execute("PRAGMA query_only = ON")
        (ok,) = con.execute("PRAGMA quick_check(1)").fetchone()
        if ok != "ok":
            raise InputFileError(f"{name} is a damaged SQLite/GeoPackage file ({ok})")
        return _inspect(con, name, limits)
    except sqlite3.Error as exc:
        if deadline.hit:
            raise UploadLimitError(
                f"{name}: inspecting the GeoPackage took more than {deadline.seconds:g} s — "
                "rejected") from None
        raise InputFileError(f"{name} is not a readable GeoPackage: {exc}") from None
    finally:
        con.close()
