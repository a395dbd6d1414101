"""The versions part of the station store: writing and reading immutable versions.

Each city's station list is a sequence of immutable versions 1, 2, 3, … Every upload
(:meth:`VersionStore.create_version`) or rollback (a copy of an older version) adds a
version; nothing is ever updated or deleted (triggers refuse it). A version keeps the
uploaded bytes verbatim, their SHA-256, the validation report and the accepted rows.

Writes check the writer in the write transaction; reads take ``user=`` and apply the
read rules of :mod:`geo.stations.access` in the read transaction.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from typing import Any, Final

import geopandas as gpd
import pandas as pd

from geo.errors import (
    InvalidParameterError,
    NoChangeError,
    ReadPermissionError,
    StoreError,
    UnknownVersionError,
)
from geo.stations.access import (
    ANONYMOUS_TEXT,
    OPERATOR,
    Reader,
    full_reader,
    require_full_reader,
    require_writer,
)
from geo.stations.db import Database
from geo.stations.records import (
    STATION_COLUMNS,
    CheckedVersion,
    NewVersion,
    VersionInfo,
    check_new_version,
    target_city,
    user_name_arg,
    utc_now_iso,
    version_arg,
)

_VERSION_FIELDS: Final = (
    "city, version, created_at, created_by, action, parent_version, source_name, sha256, "
    "declared_crs, rows_in, accepted, rejected, flagged, note"
)
_VERSION_INSERT: Final = (
    f"INSERT INTO versions ({_VERSION_FIELDS}, report_json, raw) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_STATION_INSERT: Final = (
    "INSERT INTO stations (city, version, seq, station_id, name, type, address, "
    "station_city, district, lon, lat, orig_lon, orig_lat, source_row, extra_json) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_STATION_SELECT: Final = (
    "SELECT station_id, name, type, address, station_city, district, lon, lat, "
    "orig_lon, orig_lat, source_row, extra_json FROM stations "
    "WHERE city = ? AND version = ? ORDER BY seq"
)
_ROLLBACK_VERSION: Final = (
    f"INSERT INTO versions ({_VERSION_FIELDS}, report_json, raw) "
    "SELECT city, ?, ?, ?, 'rollback', version, source_name, sha256, "
    "declared_crs, rows_in, accepted, rejected, flagged, ?, report_json, raw "
    "FROM versions WHERE city = ? AND version = ?"
)
_ROLLBACK_STATIONS: Final = (
    "INSERT INTO stations (city, version, seq, station_id, name, type, address, "
    "station_city, district, lon, lat, orig_lon, orig_lat, source_row, "
    "extra_json) SELECT city, ?, seq, station_id, name, type, address, "
    "station_city, district, lon, lat, orig_lon, orig_lat, source_row, "
    "extra_json FROM stations WHERE city = ? AND version = ? ORDER BY seq"
)


def _anonymous(info: VersionInfo) -> VersionInfo:
    """What an anonymous reader sees of a version: no user name, file name or note."""
    return dataclasses.replace(info, created_by=ANONYMOUS_TEXT, source_name=ANONYMOUS_TEXT,
                               note="")


def _station_frame(rows: list[tuple[Any, ...]], *, with_extra: bool) -> gpd.GeoDataFrame:
    """Stored station rows (``_STATION_SELECT`` order) as an EPSG:4326 GeoDataFrame."""
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(STATION_COLUMNS)
    data = dict(zip(STATION_COLUMNS, columns, strict=True))
    extra = ([json.loads(x) if x else {} for x in data["extra"]] if with_extra
             else [{} for _ in data["extra"]])
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
        "extra": pd.Series(extra, dtype=object),
    })
    geometry = gpd.points_from_xy(frame["lon"], frame["lat"], crs="EPSG:4326")
    return gpd.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4326")


def identical_to(current: VersionInfo, checked: CheckedVersion,
                 stored_rows: list[tuple[Any, ...]]) -> bool:
    """Whether an upload would store nothing new over ``current``.

    Identical means: the same uploaded bytes (sha256), the same declared coordinate
    system, the same row counts (in, rejected) and the same accepted station rows in
    the same order, every stored column equal (ids, names, types, addresses, city,
    district, WGS-84 and original coordinates, source rows, original columns). The file
    name, the note, who and when do not count. So the same file with another column
    mapping that changes any row is a new version; the same file again is not.
    """
    return (current.sha256 == checked.sha256
            and current.declared_crs == checked.declared_crs
            and current.rows_in == checked.rows_in
            and current.rejected == checked.rejected
            and [tuple(r) for r in stored_rows] == [tuple(r) for r in checked.rows])


class VersionStore(Database):
    """Versioned station lists (a part of :class:`~geo.stations.store.StationStore`)."""

    # ---------------------------------------------------------------- lookups

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

    @staticmethod
    def _latest(conn: sqlite3.Connection, city: str) -> int | None:
        latest = conn.execute("SELECT max(version) FROM versions WHERE city = ?",
                              (city,)).fetchone()[0]
        return None if latest is None else int(latest)

    def _resolve(self, conn: sqlite3.Connection, city: str,
                 version: int | None) -> VersionInfo:
        if version is None:
            latest = self._latest(conn, city)
            if latest is None:
                raise UnknownVersionError(
                    f"{city} has no station list yet: upload one first"
                )
            version = latest
        return self._get_info(conn, city, version_arg(version))

    # ---------------------------------------------------------------- writing

    def create_version(self, new: NewVersion, *, user: str,
                       only_if_changed: bool = False) -> VersionInfo:
        """Store ``new`` as the next version of its city, by user name ``user``.

        Validates ``new`` first (:class:`StoreError`), then in one write transaction
        checks that ``user`` exists (:class:`UnknownUserError`) and may write the city
        (:class:`PermissionDeniedError`), numbers the version max+1 and writes the
        version row and all station rows.

        ``only_if_changed=True`` (what imports pass): when ``new`` is identical to the
        city's current version (:func:`identical_to`) nothing is written and
        :class:`~geo.errors.NoChangeError` names that version.
        """
        if not isinstance(new, NewVersion):
            raise StoreError(f"create_version needs a NewVersion, got {type(new).__name__}")
        user = user_name_arg(user)
        checked = check_new_version(new)
        city = checked.city
        with self._write() as conn:
            require_writer(conn, user, city)
            if only_if_changed:
                self._refuse_identical(conn, checked)
            version = self._next_version(conn, city)
            info = VersionInfo(
                city=city, version=version, created_at=utc_now_iso(), created_by=user,
                action="import", parent_version=None, source_name=checked.source_name,
                sha256=checked.sha256, declared_crs=checked.declared_crs,
                rows_in=checked.rows_in, accepted=checked.accepted,
                rejected=checked.rejected, flagged=checked.flagged, note=checked.note,
            )
            conn.execute(
                _VERSION_INSERT,
                (*dataclasses.astuple(info), checked.report_json, checked.raw),
            )
            conn.executemany(
                _STATION_INSERT,
                ((city, version, seq, *r) for seq, r in enumerate(checked.rows)),
            )
        return info

    def _refuse_identical(self, conn: sqlite3.Connection, checked: CheckedVersion) -> None:
        """Raise :class:`NoChangeError` when ``checked`` equals the city's current version."""
        latest = self._latest(conn, checked.city)
        if latest is None:
            return
        current = self._get_info(conn, checked.city, latest)
        if identical_to(current, checked, conn.execute(
                _STATION_SELECT, (checked.city, latest)).fetchall()):
            raise NoChangeError(
                f"unchanged: identical to v{latest}, no new version ({checked.city}: same "
                "file, coordinate system and accepted stations as the current version)",
                city=checked.city, version=latest,
                zh=f"未变化：与第 {latest} 版相同，未创建新版本（{checked.city}：文件、坐标系和"
                   "接受的站点均与当前版本一致）",
            )

    def rollback(self, city: str, *, to_version: int, user: str, note: str = "") -> VersionInfo:
        """Add a NEW version of ``city`` that copies version ``to_version``.

        Rows, raw bytes, report and counts are copied; ``action='rollback'`` and
        ``parent_version=to_version``. Same permission rules as :meth:`create_version`;
        :class:`UnknownVersionError` if ``to_version`` does not exist.
        """
        user = user_name_arg(user)
        city = target_city(city)
        to_version = version_arg(to_version)
        if not isinstance(note, str):
            raise InvalidParameterError(f"note must be text, got {type(note).__name__}")
        with self._write() as conn:
            require_writer(conn, user, city)
            source = self._get_info(conn, city, to_version)
            version = self._next_version(conn, city)
            created_at = utc_now_iso()
            conn.execute(_ROLLBACK_VERSION, (version, created_at, user, note, city, to_version))
            conn.execute(_ROLLBACK_STATIONS, (version, city, to_version))
        return dataclasses.replace(source, version=version, created_at=created_at,
                                   created_by=user, action="rollback",
                                   parent_version=to_version, note=note)

    # ---------------------------------------------------------------- reading

    def cities(self, *, user: Reader = OPERATOR) -> list[str]:
        """Cities that have at least one version, sorted (every reader)."""
        with self._read() as conn:
            full_reader(conn, user)
            rows = conn.execute("SELECT DISTINCT city FROM versions ORDER BY city").fetchall()
        return [r[0] for r in rows]

    def history(self, city: str, *, user: Reader = OPERATOR) -> list[VersionInfo]:
        """All versions of ``city``, oldest first (empty if it has none).

        Anonymous readers (``user=None``) get numbers, dates and counts; ``created_by``,
        ``source_name`` are ``"—"`` and ``note`` is empty.
        """
        city = target_city(city)
        with self._read() as conn:
            full = full_reader(conn, user)
            rows = conn.execute(
                f"SELECT {_VERSION_FIELDS} FROM versions WHERE city = ? ORDER BY version",
                (city,),
            ).fetchall()
        infos = [self._info(r) for r in rows]
        return infos if full else [_anonymous(i) for i in infos]

    def current(self, city: str, *, user: Reader = OPERATOR) -> VersionInfo | None:
        """The newest version of ``city``, or None if it has none (anonymous readers:
        as in :meth:`history`)."""
        city = target_city(city)
        with self._read() as conn:
            full = full_reader(conn, user)
            row = conn.execute(
                f"SELECT {_VERSION_FIELDS} FROM versions WHERE city = ? "
                "ORDER BY version DESC LIMIT 1",
                (city,),
            ).fetchone()
        if row is None:
            return None
        return self._info(row) if full else _anonymous(self._info(row))

    def version_info(self, city: str, *, version: int | None = None,
                     user: Reader = OPERATOR) -> VersionInfo:
        """One version's metadata (default: the current one); :class:`UnknownVersionError`
        if it does not exist (anonymous readers: as in :meth:`history`)."""
        city = target_city(city)
        with self._read() as conn:
            full = full_reader(conn, user)
            info = self._resolve(conn, city, version)
        return info if full else _anonymous(info)

    def stations_with_info(self, city: str, *, version: int | None = None,
                           user: Reader = OPERATOR) -> tuple[gpd.GeoDataFrame, VersionInfo]:
        """:meth:`stations` and :meth:`version_info` of one version, from one snapshot."""
        city = target_city(city)
        with self._read() as conn:
            full = full_reader(conn, user)
            info = self._resolve(conn, city, version)
            if not full and info.version != self._latest(conn, city):
                latest = self._latest(conn, city)
                raise ReadPermissionError(
                    f"sign in to see older versions of {city}'s station list: without "
                    f"signing in only the current one (v{latest}) is shown",
                    zh=f"登录后才能查看{city}站点名单的旧版本；未登录时只显示当前版本"
                       f"（第 {latest} 版）",
                )
            rows = conn.execute(_STATION_SELECT, (city, info.version)).fetchall()
        if len(rows) != info.accepted:
            raise StoreError(
                f"{city} version {info.version} has {len(rows)} station rows but recorded "
                f"{info.accepted}: the database was changed outside Yizhan; restore a backup"
            )
        frame = _station_frame(rows, with_extra=full)
        return frame, info if full else _anonymous(info)

    def stations(self, city: str, *, version: int | None = None,
                 user: Reader = OPERATOR) -> gpd.GeoDataFrame:
        """The station rows of one version (default: the current one), EPSG:4326 points.

        Columns :data:`STATION_COLUMNS` + ``geometry``; ``station_id`` is text exactly
        as uploaded, ``extra`` a dict per row, ``source_row`` nullable Int64. Raises
        :class:`UnknownVersionError` for a version that does not exist. Anonymous
        readers (``user=None``) may read the current version only
        (:class:`~geo.errors.ReadPermissionError` otherwise), with ``extra`` empty.
        """
        frame, _info = self.stations_with_info(city, version=version, user=user)
        return frame

    def raw(self, city: str, *, version: int,
            user: Reader = OPERATOR) -> tuple[str, bytes]:
        """``(source_name, uploaded bytes)`` of one version, bytes exactly as uploaded
        (not for anonymous readers: :class:`~geo.errors.ReadPermissionError`)."""
        city = target_city(city)
        version = version_arg(version)
        with self._read() as conn:
            require_full_reader(conn, user, "uploaded files", "原始上传文件")
            info = self._get_info(conn, city, version)
            blob = conn.execute("SELECT raw FROM versions WHERE city = ? AND version = ?",
                                (city, version)).fetchone()[0]
        return info.source_name, bytes(blob)

    def report(self, city: str, *, version: int,
               user: Reader = OPERATOR) -> dict[str, Any]:
        """The validation report of one version (JSON round trip: keys become text; not
        for anonymous readers, it lists rejected rows)."""
        city = target_city(city)
        version = version_arg(version)
        with self._read() as conn:
            require_full_reader(conn, user, "validation reports", "校验报告")
            self._get_info(conn, city, version)
            text = conn.execute(
                "SELECT report_json FROM versions WHERE city = ? AND version = ?",
                (city, version),
            ).fetchone()[0]
        return dict(json.loads(text))


__all__ = ["VersionStore", "identical_to"]
