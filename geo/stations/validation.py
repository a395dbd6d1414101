"""Validating an uploaded station list: every row accepted or rejected with a reason.

:func:`validate_stations` takes a :class:`~geo.io.upload.RawUpload` (strings as parsed), a
:class:`~geo.stations.columns.ColumnMapping` and the **declared** coordinate system, and returns a
frozen :class:`StationValidation`:

* ``accepted`` — EPSG:4326 points (converted from GCJ-02 / BD-09 when declared), the
  original coordinates kept in ``orig_lon``/``orig_lat``, the original row in ``extra``;
* ``rejected`` — ``row`` (1-based data row), ``source_line``, ``code``, ``reason``
  (English) and ``reason_zh``, plus the row's original values;
* ``flagged`` — near-duplicate pairs among the accepted rows, for review (not rejected):
  the same name within 50 m, or any two stations within 5 m (:mod:`geo.stations.neardup`;
  at most 10,000 pairs listed, the counts stay exact and a note says so);
* ``hints`` — when the declared coordinate system looks wrong (header says otherwise,
  or — given the walk network — the points sit systematically off the streets and
  another system puts them on): a hint, never a silent change.

Invariant: ``rows_in == len(accepted) + len(rejected)``.

Rejection codes (one row may have several; the reasons are joined with ``; ``):
``malformed_row``, ``blank_row``, ``bad_geometry``, ``bad_text`` (control characters),
``too_long``, ``empty_id``, ``empty_name``, ``empty_type``, ``unknown_type``,
``convalescence_base``, ``missing_coordinates``, ``invalid_coordinates``,
``projected_coordinates``, ``zero_coordinates``, ``swapped_coordinates``,
``outside_region``, ``wrong_city``, ``duplicate_id`` (messages in
:mod:`geo.stations.reasons`).

The steps live in their own modules: reading cells and coordinates
(:mod:`geo.stations.cells`), the region and position checks (:mod:`geo.stations.region`),
near-duplicates (:mod:`geo.stations.neardup`). :func:`diff_stations`
(:mod:`geo.stations.diff`, re-exported here) compares a new list with the city's current
one: added, removed, moved (with distance) and renamed stations.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import WGS84, transform_xy
from geo.errors import InvalidParameterError, StationDataError
from geo.io.layers import LayerTable
from geo.io.sheetsafe import write_csv
from geo.io.upload import RawUpload
from geo.network.model import WalkNetwork
from geo.schema import CONVALESCENCE_ALIASES, STATION_TYPES, canonical_station_type
from geo.stations.cells import (
    CONTROL_RE,
    clean_text,
    norm_city,
    parse_degrees,
    read_positions,
)
from geo.stations.columns import ColumnMapping, check_mapping, guess_mapping
from geo.stations.coords import crs_hint, guess_from_columns, normalize_coord_system
from geo.stations.diff import MOVED_THRESHOLD_M, StationDiff, diff_stations
from geo.stations.neardup import (
    NEAR_ANY_M,
    NEAR_SAME_NAME_M,
    NearDuplicates,
    find_near_duplicates,
    near_duplicates,
)
from geo.stations.reasons import Reason, is_blank, reason
from geo.stations.records import NewVersion
from geo.stations.region import GUANGDONG, RegionBounds, check_positions

#: Maximum characters per field (longer values are rejected, not truncated).
MAX_CHARS: Final[dict[str, int]] = {
    "station_id": 64, "name": 200, "type": 64, "address": 500, "city": 64, "district": 64,
}
_TEXT_FIELDS: Final = ("station_id", "name", "type", "address", "city", "district")
_CONVALESCENCE: Final = frozenset(a.lower() for a in CONVALESCENCE_ALIASES)


@dataclass(frozen=True)
class Hint:
    """Advice shown with a validation (never applied automatically)."""

    code: str
    message_zh: str
    message_en: str
    suggested_crs: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message_zh": self.message_zh,
                "message_en": self.message_en, "suggested_crs": self.suggested_crs}



@dataclass(frozen=True, eq=False)
class StationValidation:
    """The outcome of :func:`validate_stations` (read-only)."""

    raw: RawUpload
    mapping: ColumnMapping
    declared_crs: str
    bounds: RegionBounds
    accepted: gpd.GeoDataFrame
    rejected: pd.DataFrame
    flagged: pd.DataFrame
    hints: tuple[Hint, ...] = ()
    notes: tuple[str, ...] = ()
    city: str | None = None
    ids_generated: bool = False
    _extra: tuple[dict[str, str], ...] = field(default=(), repr=False)
    #: The near-duplicate search behind ``flagged`` (exact counts when the table is capped).
    near: NearDuplicates | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if len(self.accepted) + len(self.rejected) != self.rows_in:
            raise AssertionError("rows_in must equal accepted + rejected")

    @property
    def rows_in(self) -> int:
        return self.raw.rows_in

    @property
    def n_flagged(self) -> int:
        """Accepted rows in at least one near-duplicate pair."""
        if self.near is not None:
            return self.near.flagged_rows
        if self.flagged.empty:
            return 0
        return int(pd.unique(pd.concat([self.flagged["row_a"], self.flagged["row_b"]])).size)

    def reason_counts(self) -> dict[str, int]:
        c: Counter[str] = Counter()
        for codes in self.rejected["code"]:
            c.update(str(codes).split(";"))
        return dict(c.most_common())

    @property
    def n_flagged_pairs(self) -> int:
        """Near-duplicate pairs (``len(flagged)`` unless the table was capped)."""
        return self.near.total_pairs if self.near is not None else len(self.flagged)

    def report_dict(self) -> dict[str, Any]:
        """``report.json``: counts, inputs, mapping, hints and every rejected row
        (``flagged_pairs_listed`` too when the pair table was capped)."""
        report = {
            "file": self.raw.name, "sha256": self.raw.sha256, "format": self.raw.format,
            "encoding": self.raw.encoding, "sheet": self.raw.sheet,
            "declared_crs": self.declared_crs, "city": self.city,
            "bounds": [self.bounds.min_lon, self.bounds.min_lat, self.bounds.max_lon,
                       self.bounds.max_lat],
            "mapping": self.mapping.as_dict(), "ids_generated": self.ids_generated,
            "rows_in": self.rows_in, "accepted": len(self.accepted),
            "rejected": len(self.rejected), "flagged": self.n_flagged,
            "flagged_pairs": self.n_flagged_pairs,
            "rejected_by_code": self.reason_counts(),
            "hints": [h.as_dict() for h in self.hints],
            "notes": list(self.raw.notes) + list(self.notes),
            "rejected_rows": [
                {"row": int(r.row), "source_line": int(r.source_line), "code": r.code,
                 "reason": r.reason, "reason_zh": r.reason_zh}
                for r in self.rejected[["row", "source_line", "code", "reason",
                                        "reason_zh"]].itertuples(index=False)],
        }
        if self.n_flagged_pairs > len(self.flagged):
            report["flagged_pairs_listed"] = len(self.flagged)
        return report

    def accepted_table(self) -> pd.DataFrame:
        """``accepted.csv``: row, WGS-84 ``lon``/``lat``, the cleaned fields, then the
        original columns (a name that collides gets ``_original``)."""
        cols = ["row", "lon", "lat", "station_id", "name", "type", "address", "city",
                "district", "orig_crs", "orig_lon", "orig_lat"]
        base = pd.DataFrame(self.accepted[cols])
        return _with_original(base, self.raw.frame.iloc[self.accepted["row"].to_numpy() - 1])

    def rejected_table(self) -> pd.DataFrame:
        """``rejected.csv``: row, source_line, code, reason, reason_zh, original columns."""
        base = self.rejected[["row", "source_line", "code", "reason", "reason_zh"]]
        rows = self.rejected["row"].to_numpy(dtype=int) - 1
        return _with_original(pd.DataFrame(base), self.raw.frame.iloc[rows])

    def to_layer_table(self) -> LayerTable:
        """The accepted stations as a :class:`~geo.io.layers.LayerTable` for coverage."""
        acc = self.accepted[["station_id", "name", "type", "address", "city", "district",
                             "geometry"]].copy()
        rej = pd.DataFrame({"row": self.rejected["row"], "id": self.rejected["station_id"],
                            "name": self.rejected["name"], "reason": self.rejected["reason"]})
        return LayerTable(accepted=gpd.GeoDataFrame(acc, geometry="geometry", crs=WGS84),
                          rejected=rej, rows_in=self.rows_in, source=self.raw.name)

    def to_new_version(self, *, city: str, note: str = "") -> NewVersion:
        """What :meth:`geo.stations.store.StationStore.create_version` stores for this upload."""
        stations = pd.DataFrame({
            "station_id": self.accepted["station_id"].astype(str),
            "name": self.accepted["name"], "type": self.accepted["type"],
            "address": self.accepted["address"], "city": self.accepted["city"],
            "district": self.accepted["district"],
            "lon": self.accepted["lon"].astype(float), "lat": self.accepted["lat"].astype(float),
            "orig_lon": self.accepted["orig_lon"].astype(float),
            "orig_lat": self.accepted["orig_lat"].astype(float),
            "source_row": self.accepted["row"].astype(int),
            "extra": list(self._extra),
        })
        return NewVersion(city=city, source_name=self.raw.name, raw=self.raw.data,
                          declared_crs=self.declared_crs, stations=stations,
                          rows_in=self.rows_in, rejected=len(self.rejected),
                          flagged=self.n_flagged, report=self.report_dict(), note=note)

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write ``accepted.csv``, ``rejected.csv``, ``flagged.csv`` and ``report.json``
        (CSV in UTF-8 with BOM so Excel shows Chinese text; text a spreadsheet would run
        as a formula gets a leading ``'``, see :mod:`geo.io.sheetsafe`)."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = {"accepted": out / "accepted.csv", "rejected": out / "rejected.csv",
                 "flagged": out / "flagged.csv", "report": out / "report.json"}
        for key, df in (("accepted", self.accepted_table()), ("rejected", self.rejected_table()),
                        ("flagged", self.flagged)):
            write_csv(df, paths[key], encoding="utf-8-sig")
        paths["report"].write_text(json.dumps(self.report_dict(), ensure_ascii=False, indent=2),
                                   encoding="utf-8")
        return paths


def _with_original(base: pd.DataFrame, original: pd.DataFrame) -> pd.DataFrame:
    orig = original.reset_index(drop=True).copy()
    taken = set(base.columns)
    rename = {}
    for c in orig.columns:
        new = c
        while new in taken:
            new = f"{new}_original"
        taken.add(new)
        rename[c] = new
    return pd.concat([base.reset_index(drop=True), orig.rename(columns=rename)], axis=1)


# --------------------------------------------------------------------------- validation


@dataclass
class _Rows:
    """Per-row state while validating: cleaned texts, ids, types and reasons."""

    text: dict[str, list[str]]
    ids: list[str]
    ids_generated: bool
    types: list[str | None]
    reasons: list[list[Reason]]


def _resolve_inputs(raw: RawUpload, mapping: ColumnMapping | None, crs: str,
                    default_type: str | None) -> tuple[str, ColumnMapping, str | None]:
    """The declared system, the column mapping (guessed when None) and the default type,
    checked (:class:`StationDataError` for an incomplete mapping)."""
    system = normalize_coord_system(crs)
    mp = mapping or guess_mapping(raw.columns, has_geometry=raw.has_geometry)
    dtype = None
    if default_type:
        dtype = canonical_station_type(default_type)
        if dtype is None:
            raise InvalidParameterError(
                f"default type {default_type!r} is not a station type; use one of "
                f"{', '.join(STATION_TYPES)}")
    problems = check_mapping(mp, raw.columns, has_geometry=raw.has_geometry,
                             default_type=dtype)
    if problems:
        raise StationDataError("column mapping is incomplete: " + "; ".join(problems)
                               + f". Columns in the file: {', '.join(raw.columns)}")
    return system, mp, dtype


def _text_reasons(raw: RawUpload, i: int, cells: list[object],
                  text: dict[str, list[str]]) -> list[Reason]:
    """Row ``i``: parse problems, blank, control characters, over-long fields."""
    found: list[Reason] = []
    if raw.row_issues[i]:
        code = "bad_geometry" if raw.has_geometry else "malformed_row"
        found.append(reason(code, detail=raw.row_issues[i]))
    if not raw.has_geometry and all(not clean_text(v) for v in cells):
        found.append(reason("blank_row"))
        return found
    for f, vals in text.items():
        v = vals[i]
        m = CONTROL_RE.search(v)
        if m:
            found.append(reason("bad_text", field=f, detail=f"U+{ord(m[0]):04X}"))
        elif len(v) > MAX_CHARS[f]:
            found.append(reason("too_long", field=f, detail=f"{len(v):,}",
                                limit=MAX_CHARS[f]))
    return found


def _field_reasons(rows: _Rows, i: int, mp: ColumnMapping, dtype: str | None,
                   city: str | None) -> str | None:
    """Row ``i``: empty id / name, type, city; returns the canonical type (or None)."""
    reasons, text = rows.reasons[i], rows.text
    if not rows.ids[i]:
        reasons.append(reason("empty_id"))
    if not text["name"][i]:
        reasons.append(reason("empty_name"))
    raw_type = text["type"][i] if mp.type is not None else ""
    t = canonical_station_type(raw_type) if raw_type else dtype
    if raw_type and raw_type.lower() in _CONVALESCENCE:
        reasons.append(reason("convalescence_base"))
    elif t is None:
        reasons.append(reason("unknown_type", detail=raw_type[:40], limit=", ".join(STATION_TYPES))
                       if raw_type else reason("empty_type"))
    if city and text["city"][i] and norm_city(text["city"][i]) != norm_city(city):
        reasons.append(reason("wrong_city", detail=text["city"][i][:40], limit=city))
    return t


def _check_rows(raw: RawUpload, mp: ColumnMapping, dtype: str | None,
                city: str | None) -> _Rows:
    """Every check of a row that does not need its coordinates."""
    n = raw.rows_in
    cells = raw.frame.to_numpy(dtype=object).tolist()

    def col(fld: str) -> list[str]:
        name = getattr(mp, fld)
        if name is None:
            return [""] * n
        return [clean_text(v) for v in raw.frame[name].tolist()]

    text = {f: col(f) for f in _TEXT_FIELDS}
    ids_generated = mp.station_id is None
    ids = (text["station_id"] if not ids_generated
           else [f"row-{int(r)}" for r in range(1, n + 1)])
    rows = _Rows(text=text, ids=ids, ids_generated=ids_generated, types=[],
                 reasons=[_text_reasons(raw, i, cells[i], text) for i in range(n)])
    for i in range(n):
        blank = is_blank(rows.reasons[i])
        rows.types.append(None if blank else _field_reasons(rows, i, mp, dtype, city))
    return rows


def _check_duplicate_ids(rows: _Rows) -> None:
    """``duplicate_id`` for each later row whose id an earlier good row already has."""
    first_row: dict[str, int] = {}
    for i, sid in enumerate(rows.ids):
        if rows.reasons[i] or not sid:
            continue
        if sid in first_row:
            rows.reasons[i].append(reason("duplicate_id", detail=sid, limit=first_row[sid]))
        else:
            first_row[sid] = i + 1


def _accepted_frame(rows: _Rows, sel: np.ndarray, system: str, city: str | None,
                    positions: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
                    ) -> gpd.GeoDataFrame:
    lon0, lat0, lon, lat = positions
    text = rows.text
    cities = [text["city"][i] or (city or "") for i in sel]
    return gpd.GeoDataFrame(
        {
            "row": sel + 1,
            "station_id": pd.array([rows.ids[i] for i in sel], dtype=object),
            "name": [text["name"][i] for i in sel],
            "type": [rows.types[i] for i in sel],
            "address": [text["address"][i] or None for i in sel],
            "city": [c or None for c in cities],
            "district": [text["district"][i] or None for i in sel],
            "lon": lon[sel], "lat": lat[sel],
            "orig_crs": [system] * sel.size,
            "orig_lon": lon0[sel], "orig_lat": lat0[sel],
        },
        geometry=gpd.points_from_xy(lon[sel], lat[sel]), crs=WGS84,
    )


def _rejected_frame(raw: RawUpload, rows: _Rows, bad: np.ndarray) -> pd.DataFrame:
    reasons = rows.reasons
    return pd.DataFrame({
        "row": (bad + 1).astype(int),
        "source_line": np.asarray(raw.source_lines, dtype=int)[bad] if raw.rows_in else
        np.zeros(0, dtype=int),
        "code": [";".join(dict.fromkeys(c for c, _z, _e in reasons[i])) for i in bad],
        "reason": ["; ".join(e for _c, _z, e in reasons[i]) for i in bad],
        "reason_zh": ["；".join(z for _c, z, _e in reasons[i]) for i in bad],
        "station_id": [rows.ids[i] or None for i in bad],
        "name": [rows.text["name"][i] or None for i in bad],
    })


def _notes(rows: _Rows, mp: ColumnMapping, dtype: str | None,
           near: NearDuplicates) -> tuple[str, ...]:
    notes: list[str] = []
    if rows.ids_generated:
        notes.append("no station_id column: ids are 'row-N'; the diff matches stations by name")
    if mp.type is None and dtype:
        notes.append(f"no type column: every row is typed {dtype}")
    capped = near.note()
    if capped:
        notes.append(capped)
    return tuple(notes)


def validate_stations(raw: RawUpload, *, mapping: ColumnMapping | None = None,
                      crs: str, bounds: RegionBounds = GUANGDONG, city: str | None = None,
                      default_type: str | None = None,
                      network: WalkNetwork | None = None) -> StationValidation:
    """Validate an uploaded station list (see the module docstring for the rules).

    ``crs`` is the declared coordinate system of the uploaded coordinates (``wgs84``,
    ``gcj02`` or ``bd09``; aliases such as ``高德`` accepted). ``city``: the city union
    the list is for (rows naming another city are rejected; blank city cells take it).
    ``default_type``: the type of rows when no type column is mapped. ``network``: the
    walk network, to check whether the declared system puts the points on the streets.
    """
    system, mp, dtype = _resolve_inputs(raw, mapping, crs, default_type)
    rows = _check_rows(raw, mp, dtype, city)
    lon0, lat0 = read_positions(raw, mp, rows.reasons)
    lon, lat = check_positions(lon0, lat0, system, bounds, rows.reasons)
    _check_duplicate_ids(rows)
    return _result(raw, mp, system, bounds, city, dtype, rows, (lon0, lat0, lon, lat),
                   network)


def _result(raw: RawUpload, mp: ColumnMapping, system: str, bounds: RegionBounds,
            city: str | None, dtype: str | None, rows: _Rows,
            positions: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
            network: WalkNetwork | None) -> StationValidation:
    """Accepted / rejected tables, near-duplicates, original columns, hints and notes."""
    ok = np.array([not r for r in rows.reasons], dtype=bool)
    sel = np.flatnonzero(ok)
    accepted = _accepted_frame(rows, sel, system, city, positions)
    near = find_near_duplicates(accepted)
    used = set(mp.used_columns())
    keep = [(j, c) for j, c in enumerate(raw.columns) if c not in used]
    cells = raw.frame.to_numpy(dtype=object)
    extra = tuple({c: cells[i, j] for j, c in keep} for i in sel)
    lon0, lat0 = positions[0], positions[1]
    hints = _hints(raw, system, lon0[sel], lat0[sel], network)
    return StationValidation(raw=raw, mapping=mp, declared_crs=system, bounds=bounds,
                             accepted=accepted, rejected=_rejected_frame(raw, rows,
                                                                         np.flatnonzero(~ok)),
                             flagged=near.pairs, hints=tuple(hints),
                             notes=_notes(rows, mp, dtype, near), city=city,
                             ids_generated=rows.ids_generated, _extra=extra, near=near)


def _hints(raw: RawUpload, system: str, lon0: np.ndarray,
           lat0: np.ndarray, network: WalkNetwork | None) -> list[Hint]:
    """Advice when the declared system looks wrong: by the headers, by the streets."""
    hints: list[Hint] = []
    guessed = guess_from_columns(raw.columns)
    if guessed is not None and guessed != system:
        hints.append(Hint(
            code="header_crs",
            message_zh=f"列名提示坐标系为 {guessed.upper()}，但上传时声明为 {system.upper()}："
                       "请确认坐标系。",
            message_en=f"the column headers suggest {guessed.upper()} but the upload declares "
                       f"{system.upper()}: check the coordinate system.",
            suggested_crs=guessed))
    if network is not None and lon0.size:
        ch = crs_hint(lon0, lat0, declared=system,
                      distance_to_streets_m=street_distance_fn(network))
        if ch is not None:
            hints.append(Hint(code="streets_crs", message_zh=ch.message_zh,
                              message_en=ch.message_en, suggested_crs=ch.suggested))
    return hints


def street_distance_fn(network: WalkNetwork) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A callback: WGS-84 lon/lat arrays → metres to the nearest street of ``network``."""
    def dist(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        x, y = transform_xy(np.asarray(lon, float), np.asarray(lat, float), WGS84, network.crs)
        out = np.full(x.size, np.inf)
        ok = np.isfinite(x) & np.isfinite(y)
        if ok.any():
            pts = shapely.points(x[ok], y[ok])
            (pi, _ei), d = network.edge_tree.query_nearest(pts, return_distance=True,
                                                          all_matches=False)
            sub = np.full(ok.sum(), np.inf)
            sub[pi] = d
            out[ok] = sub
        return out

    return dist


__all__ = ["GUANGDONG", "MAX_CHARS", "MOVED_THRESHOLD_M", "NEAR_ANY_M", "NEAR_SAME_NAME_M",
           "Hint", "NearDuplicates", "RegionBounds", "StationDiff", "StationValidation",
           "clean_text", "diff_stations", "find_near_duplicates", "near_duplicates",
           "parse_degrees", "street_distance_fn", "validate_stations"]
