"""What the station store keeps, as Python values, and the checks before anything is written.

* :class:`NewVersion` — a validated upload handed to
  :meth:`~geo.stations.store.StationStore.create_version`;
* :class:`VersionInfo` — one stored version's metadata (a line of ``stations history``);
* :func:`check_new_version` — every check of a :class:`NewVersion` that needs no database
  (texts, counts, coordinates, unique ids), giving the rows ready for ``INSERT``;
* argument checks shared by the store's methods (:func:`target_city`, :func:`version_arg`,
  :func:`user_name_arg`).

No SQLite here: :mod:`geo.stations.versions` writes and reads these values.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from geo.errors import InvalidParameterError, StoreError
from geo.stations.accounts import PROVINCE, normalize_city

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


# --------------------------------------------------------------------------- JSON


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


def dumps(value: Any) -> str:
    """Compact JSON text of ``value`` (see :func:`_jsonable`), never NaN."""
    return json.dumps(_jsonable(value), ensure_ascii=False, allow_nan=False,
                      separators=(",", ":"))


# --------------------------------------------------------------------------- station rows


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


def _columns(frame: pd.DataFrame) -> dict[str, list[Any]]:
    """The station table's columns as lists (a missing optional column: all None)."""
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
    return {name: frame[name].tolist() if name in frame.columns else [None] * n
            for name in (*REQUIRED_STATION_COLUMNS, *OPTIONAL_STATION_COLUMNS)}


def _position(lon_value: object, lat_value: object, row: int,
              station_id: str) -> tuple[float, float]:
    lon = _float_or_none(lon_value, "lon", row)
    lat = _float_or_none(lat_value, "lat", row)
    if lon is None or lat is None:
        raise StoreError(f"station row {row} ({station_id}): lon/lat is missing")
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise StoreError(
            f"station row {row} ({station_id}): lon {lon}, lat {lat} are not WGS-84 "
            "degrees (lon −180…180, lat −90…90)"
        )
    return lon, lat


def _source_row(value: object, row: int, station_id: str) -> int | None:
    if _is_missing(value):
        return None
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        number = -1
    if number < 1 or number != value:
        raise StoreError(
            f"station row {row} ({station_id}): source_row {value!r} must be a "
            "1-based input row number"
        )
    return number


def _extra_json(value: object, row: int, station_id: str) -> str | None:
    if _is_missing(value):
        return None
    if isinstance(value, Mapping):
        return dumps(value)
    raise StoreError(
        f"station row {row} ({station_id}): extra must be a dict of the original "
        f"columns, got {type(value).__name__}"
    )


def _station_row(cols: dict[str, list[Any]], i: int) -> tuple[Any, ...]:
    """Insert tuple of accepted row ``i`` (without city/version/seq); raises StoreError."""
    row = i + 1  # position in the accepted table, 1-based, for messages
    station_id = _required_text(cols["station_id"][i], "station_id", row)
    name = _required_text(cols["name"][i], "name", row)
    type_ = _required_text(cols["type"][i], "type", row)
    lon, lat = _position(cols["lon"][i], cols["lat"][i], row, station_id)
    source_row = _source_row(cols["source_row"][i], row, station_id)
    extra_json = _extra_json(cols["extra"][i], row, station_id)
    return (
        station_id, name, type_,
        _text_or_none(cols["address"][i]), _text_or_none(cols["city"][i]),
        _text_or_none(cols["district"][i]), lon, lat,
        _float_or_none(cols["orig_lon"][i], "orig_lon", row),
        _float_or_none(cols["orig_lat"][i], "orig_lat", row),
        source_row, extra_json,
    )


def station_rows(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    """Check a NewVersion's station table; return insert tuples (without city/version/seq)."""
    cols = _columns(frame)
    seen: dict[str, int] = {}
    rows: list[tuple[Any, ...]] = []
    for i in range(len(frame)):
        station_id = cols["station_id"][i]
        if isinstance(station_id, str) and station_id in seen:
            raise StoreError(
                f"station_id {station_id!r} occurs twice (accepted rows {seen[station_id]} "
                f"and {i + 1}): ids must be unique within a station list"
            )
        row = _station_row(cols, i)
        seen[row[0]] = i + 1
        rows.append(row)
    return rows


# --------------------------------------------------------------------------- a new version


@dataclass(frozen=True)
class CheckedVersion:
    """A :class:`NewVersion` after :func:`check_new_version`: values ready to insert."""

    city: str
    source_name: str
    raw: bytes
    sha256: str
    declared_crs: str
    rows_in: int
    accepted: int
    rejected: int
    flagged: int
    note: str
    report_json: str
    rows: list[tuple[Any, ...]]


def _source_name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise StoreError("NewVersion.source_name is empty: give the uploaded file name")
    if len(value) > MAX_SOURCE_NAME_LENGTH:
        raise StoreError(
            f"NewVersion.source_name is longer than {MAX_SOURCE_NAME_LENGTH} characters"
        )
    return value


def _raw_bytes(value: object) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise StoreError(
            f"NewVersion.raw must be the uploaded bytes, got {type(value).__name__}"
        )
    return bytes(value)


def _declared_crs(value: object) -> str:
    crs = value.strip().lower() if isinstance(value, str) else None
    if crs is None or crs not in DECLARED_CRS_VALUES:
        raise StoreError(
            f"NewVersion.declared_crs {value!r} is not one of "
            f"{', '.join(DECLARED_CRS_VALUES)}"
        )
    return crs


def _note_and_report(new: NewVersion) -> tuple[str, str]:
    if not isinstance(new.note, str):
        raise StoreError(f"NewVersion.note must be text, got {type(new.note).__name__}")
    if not isinstance(new.report, Mapping):
        raise StoreError(
            f"NewVersion.report must be a dict, got {type(new.report).__name__}"
        )
    return new.note, dumps(new.report)


def check_new_version(new: object) -> CheckedVersion:
    """Every check of ``new`` that needs no database; :class:`StoreError` on the first
    problem (the city must not be the province: :class:`InvalidParameterError`)."""
    if not isinstance(new, NewVersion):
        raise StoreError(f"create_version needs a NewVersion, got {type(new).__name__}")
    city = target_city(new.city)
    source_name = _source_name(new.source_name)
    raw = _raw_bytes(new.raw)
    crs = _declared_crs(new.declared_crs)
    rows_in = _non_negative_int(new.rows_in, "NewVersion.rows_in")
    rejected = _non_negative_int(new.rejected, "NewVersion.rejected")
    flagged = _non_negative_int(new.flagged, "NewVersion.flagged")
    note, report_json = _note_and_report(new)
    rows = station_rows(new.stations)
    accepted = len(rows)
    if rows_in != accepted + rejected:
        raise StoreError(
            f"row counts do not add up: rows_in {rows_in} ≠ accepted {accepted} + "
            f"rejected {rejected}; pass the counts of the validation step unchanged"
        )
    return CheckedVersion(
        city=city, source_name=source_name, raw=raw, sha256=hashlib.sha256(raw).hexdigest(),
        declared_crs=crs, rows_in=rows_in, accepted=accepted, rejected=rejected,
        flagged=flagged, note=note, report_json=report_json, rows=rows,
    )


# --------------------------------------------------------------------------- arguments


def target_city(city: object) -> str:
    """Normalize a city that receives station versions (not the province)."""
    target = normalize_city(city)
    if target == PROVINCE:
        raise InvalidParameterError(
            "station lists belong to a city, not the province: give a city name such as "
            "'深圳市'"
        )
    return target


def user_name_arg(user: object) -> str:
    """``user`` if it is text (a user name), else :class:`InvalidParameterError`."""
    if not isinstance(user, str):
        raise InvalidParameterError(
            f"user must be the user name (text), got {type(user).__name__}: the store looks "
            "the account up itself"
        )
    return user


def version_arg(version: object) -> int:
    """``version`` as an int ≥ 1, else :class:`InvalidParameterError`."""
    if isinstance(version, bool) or not isinstance(version, int | np.integer) or version < 1:
        raise InvalidParameterError(f"version must be a whole number ≥ 1, got {version!r}")
    return int(version)


def city_label(city: str) -> str:
    """A city for messages (the province as ``province``)."""
    return "province" if city == PROVINCE else city


__all__ = [
    "DECLARED_CRS_VALUES",
    "MAX_SOURCE_NAME_LENGTH",
    "OPTIONAL_STATION_COLUMNS",
    "REQUIRED_STATION_COLUMNS",
    "STATION_COLUMNS",
    "CheckedVersion",
    "NewVersion",
    "VersionInfo",
    "check_new_version",
    "station_rows",
    "utc_now_iso",
]
