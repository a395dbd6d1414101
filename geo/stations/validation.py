"""Validating an uploaded station list: every row accepted or rejected with a reason.

:func:`validate_stations` takes a :class:`~geo.io.upload.RawUpload` (strings as parsed), a
:class:`~geo.stations.columns.ColumnMapping` and the **declared** coordinate system, and returns a
frozen :class:`StationValidation`:

* ``accepted`` — EPSG:4326 points (converted from GCJ-02 / BD-09 when declared), the
  original coordinates kept in ``orig_lon``/``orig_lat``, the original row in ``extra``;
* ``rejected`` — ``row`` (1-based data row), ``source_line``, ``code``, ``reason``
  (English) and ``reason_zh``, plus the row's original values;
* ``flagged`` — near-duplicate pairs among the accepted rows, for review (not rejected):
  the same name within 50 m, or any two stations within 5 m;
* ``hints`` — when the declared coordinate system looks wrong (header says otherwise,
  or — given the walk network — the points sit systematically off the streets and
  another system puts them on): a hint, never a silent change.

Invariant: ``rows_in == len(accepted) + len(rejected)``.

Rejection codes (one row may have several; the reasons are joined with ``; ``):
``malformed_row``, ``blank_row``, ``bad_geometry``, ``bad_text`` (control characters),
``too_long``, ``empty_id``, ``empty_name``, ``empty_type``, ``unknown_type``,
``convalescence_base``, ``missing_coordinates``, ``invalid_coordinates``,
``projected_coordinates``, ``zero_coordinates``, ``swapped_coordinates``,
``outside_region``, ``wrong_city``, ``duplicate_id``.

:func:`diff_stations` compares a new list with the city's current one: added, removed,
moved (with distance) and renamed stations.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geo.crs import WGS84, utm_crs_for
from geo.errors import InvalidParameterError, StationDataError
from geo.io.layers import LayerTable
from geo.io.upload import RawUpload
from geo.schema import CONVALESCENCE_ALIASES, STATION_TYPES, canonical_station_type
from geo.stations.columns import ColumnMapping, check_mapping
from geo.stations.coords import crs_hint, guess_from_columns, normalize_coord_system
from geo.stations.coords import to_wgs84 as _to_wgs84

if TYPE_CHECKING:
    from geo.network.model import WalkNetwork
    from geo.stations.store import NewVersion

_GEOD: Final = pyproj.Geod(ellps="WGS84")

#: Maximum characters per field (longer values are rejected, not truncated).
MAX_CHARS: Final[dict[str, int]] = {
    "station_id": 64, "name": 200, "type": 64, "address": 500, "city": 64, "district": 64,
}
NEAR_SAME_NAME_M: Final = 50.0
NEAR_ANY_M: Final = 5.0
MOVED_THRESHOLD_M: Final = 5.0


@dataclass(frozen=True)
class RegionBounds:
    """A lon/lat box (WGS-84 degrees) that accepted stations must lie in."""

    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float
    label: str = ""

    def __post_init__(self) -> None:
        vals = (self.min_lon, self.min_lat, self.max_lon, self.max_lat)
        if not all(math.isfinite(v) for v in vals):
            raise InvalidParameterError(f"region bounds must be finite numbers, got {vals}")
        if not (-180 <= self.min_lon < self.max_lon <= 180
                and -90 <= self.min_lat < self.max_lat <= 90):
            raise InvalidParameterError(
                f"region bounds need min_lon < max_lon and min_lat < max_lat in degrees, got "
                f"{vals}")

    def contains(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        return ((lon >= self.min_lon) & (lon <= self.max_lon)
                & (lat >= self.min_lat) & (lat <= self.max_lat))

    def text(self) -> str:
        name = f"{self.label} " if self.label else ""
        return (f"{name}{self.min_lon:g}–{self.max_lon:g}°E, "
                f"{self.min_lat:g}–{self.max_lat:g}°N")

    @classmethod
    def parse(cls, text: str, *, label: str = "") -> RegionBounds:
        """``"min_lon,min_lat,max_lon,max_lat"``."""
        try:
            a, b, c, d = (float(v) for v in str(text).split(","))
        except ValueError:
            raise InvalidParameterError(
                f"bounds must be min_lon,min_lat,max_lon,max_lat, got {text!r}") from None
        return cls(a, b, c, d, label=label)


#: Guangdong province (default region bounds).
GUANGDONG: Final = RegionBounds(109.6, 20.1, 117.4, 25.6, label="广东省 Guangdong")


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


# --------------------------------------------------------------------------- reasons

_REASONS: Final[dict[str, tuple[str, str]]] = {
    "malformed_row": ("行格式有误：{detail}", "malformed row: {detail}"),
    "blank_row": ("空行", "blank row"),
    "bad_geometry": ("几何有误：{detail}", "{detail}"),
    "bad_text": ("{field}含控制字符（{detail}）", "{field} contains a control character "
                 "({detail})"),
    "too_long": ("{field}过长（{detail} 字，上限 {limit}）",
                 "{field} is too long ({detail} characters, max {limit})"),
    "empty_id": ("编号为空", "empty station_id"),
    "empty_name": ("名称为空", "empty name"),
    "empty_type": ("类型为空", "empty type"),
    "unknown_type": ("未知类型“{detail}”，可用：{limit}", "unknown type {detail!r}; use one of "
                     "{limit}"),
    "convalescence_base": ("疗休养基地单独成层，不计入步行站点",
                           "convalescence bases are a separate layer (reached by car/transit), "
                           "not walk-in stations"),
    "missing_coordinates": ("缺少{field}", "missing {field}"),
    "invalid_coordinates": ("{field}“{detail}”不是有效的度数", "{field} {detail!r} is not a "
                            "valid number of degrees"),
    "projected_coordinates": ("坐标 {detail} 像是投影坐标（米），请导出经纬度",
                              "coordinates {detail} look like projected metres, not degrees: "
                              "export longitude/latitude"),
    "zero_coordinates": ("坐标为 0,0（缺失的占位值）", "coordinates are 0,0 (a placeholder for "
                         "missing values)"),
    "swapped_coordinates": ("经纬度疑似填反（经度 {detail}）：请交换经度、纬度两列",
                            "longitude and latitude look swapped (lon {detail}): swap the two "
                            "columns"),
    "outside_region": ("位置 {detail} 不在区域范围内（{limit}）",
                       "location {detail} is outside the region ({limit})"),
    "wrong_city": ("该行属于“{detail}”，不是“{limit}”", "row belongs to {detail!r}, not "
                   "{limit!r}"),
    "duplicate_id": ("编号“{detail}”重复（与第 {limit} 行相同）",
                     "duplicate station_id {detail!r} (same as row {limit})"),
}

_FIELD_ZH: Final = {"station_id": "编号", "name": "名称", "type": "类型", "address": "地址",
                    "city": "城市", "district": "区县", "longitude": "经度", "latitude": "纬度",
                    "coordinates": "经纬度"}


def _reason(code: str, *, field: str = "", detail: object = "",
            limit: object = "") -> tuple[str, str, str]:
    zh, en = _REASONS[code]
    return (code, zh.format(field=_FIELD_ZH.get(field, field), detail=detail, limit=limit),
            en.format(field=field, detail=detail, limit=limit))


# --------------------------------------------------------------------------- parsing

_CONTROL_RE: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufffe\uffff]")
_NUM_RE: Final = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?$",
                            re.ASCII)
_DMS_RE: Final = re.compile(
    r"(?a)^(?P<deg>\d{1,3}(?:\.\d+)?)\s*[°度]\s*(?:(?P<min>\d{1,2}(?:\.\d+)?)\s*['′’分])?\s*"
    r"(?:(?P<sec>\d{1,2}(?:\.\d+)?)\s*(?:[\"″”秒]|''|′′))?$")  # NFKC turns ″ into ′′
_HEMI_RE: Final = re.compile(r"^(?:东经|北纬|[EN])\s*|\s*(?:[EN]|东经|北纬)$", re.IGNORECASE)
_WS: Final = " \t\r\n\u3000\u00a0\ufeff"


def clean_text(value: object) -> str:
    """A cell as text without surrounding (also full-width) white space."""
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    return str(value).strip(_WS)


def parse_degrees(text: str) -> float | None:
    """A coordinate written as ``113.95``, ``１１３．９５``, ``113.95E``, ``东经113.95`` or
    ``113°57'00"``; ``None`` when it is not a finite number of degrees."""
    s = unicodedata.normalize("NFKC", text).strip(_WS)
    s = _HEMI_RE.sub("", s).strip()
    if not s or len(s) > 40:
        return None
    if _NUM_RE.match(s):
        v = float(s)
        return v if math.isfinite(v) else None
    m = _DMS_RE.match(s)
    if m:
        v = float(m["deg"]) + float(m["min"] or 0) / 60 + float(m["sec"] or 0) / 3600
        if float(m["min"] or 0) >= 60 or float(m["sec"] or 0) >= 60:
            return None
        return v
    return None


def _split_coords(text: str) -> tuple[str, str] | None:
    s = unicodedata.normalize("NFKC", text).strip(_WS).strip("()[]")
    parts = [p for p in re.split(r"[,;\s]+", s) if p]
    if len(parts) != 2:
        return None
    return parts[0], parts[1]


def _norm_name(name: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name)).lower()


def _norm_city(city: str) -> str:
    s = re.sub(r"\s+", "", unicodedata.normalize("NFKC", city)).lower()
    for suffix in ("市", "city"):
        if s.endswith(suffix) and len(s) > len(suffix):
            s = s[: -len(suffix)]
    return s


# --------------------------------------------------------------------------- result


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

    def __post_init__(self) -> None:
        if len(self.accepted) + len(self.rejected) != self.rows_in:
            raise AssertionError("rows_in must equal accepted + rejected")

    @property
    def rows_in(self) -> int:
        return self.raw.rows_in

    @property
    def n_flagged(self) -> int:
        """Accepted rows in at least one near-duplicate pair."""
        if self.flagged.empty:
            return 0
        return int(pd.unique(pd.concat([self.flagged["row_a"], self.flagged["row_b"]])).size)

    def reason_counts(self) -> dict[str, int]:
        c: Counter[str] = Counter()
        for codes in self.rejected["code"]:
            c.update(str(codes).split(";"))
        return dict(c.most_common())

    def report_dict(self) -> dict[str, Any]:
        """``report.json``: counts, inputs, mapping, hints and every rejected row."""
        return {
            "file": self.raw.name, "sha256": self.raw.sha256, "format": self.raw.format,
            "encoding": self.raw.encoding, "sheet": self.raw.sheet,
            "declared_crs": self.declared_crs, "city": self.city,
            "bounds": [self.bounds.min_lon, self.bounds.min_lat, self.bounds.max_lon,
                       self.bounds.max_lat],
            "mapping": self.mapping.as_dict(), "ids_generated": self.ids_generated,
            "rows_in": self.rows_in, "accepted": len(self.accepted),
            "rejected": len(self.rejected), "flagged": self.n_flagged,
            "flagged_pairs": len(self.flagged),
            "rejected_by_code": self.reason_counts(),
            "hints": [h.as_dict() for h in self.hints],
            "notes": list(self.raw.notes) + list(self.notes),
            "rejected_rows": [
                {"row": int(r.row), "source_line": int(r.source_line), "code": r.code,
                 "reason": r.reason, "reason_zh": r.reason_zh}
                for r in self.rejected[["row", "source_line", "code", "reason",
                                        "reason_zh"]].itertuples(index=False)],
        }

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
        from geo.stations.store import NewVersion

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
        from geo.io.sheetsafe import csv_safe

        for key, df in (("accepted", self.accepted_table()), ("rejected", self.rejected_table()),
                        ("flagged", self.flagged)):
            csv_safe(df).to_csv(paths[key], index=False, encoding="utf-8-sig")
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
    from geo.stations.columns import guess_mapping

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
    n = raw.rows_in
    frame = raw.frame
    reasons: list[list[tuple[str, str, str]]] = [[] for _ in range(n)]
    cells = frame.to_numpy(dtype=object).tolist()

    def col(fld: str) -> list[str]:
        name = getattr(mp, fld)
        if name is None:
            return [""] * n
        return [clean_text(v) for v in frame[name].tolist()]

    text = {f: col(f) for f in ("station_id", "name", "type", "address", "city", "district")}
    for i in range(n):
        if raw.row_issues[i]:
            code = "bad_geometry" if raw.has_geometry else "malformed_row"
            reasons[i].append(_reason(code, detail=raw.row_issues[i]))
        if not raw.has_geometry and all(not clean_text(v) for v in cells[i]):
            reasons[i].append(_reason("blank_row"))
            continue
        for f, vals in text.items():
            v = vals[i]
            m = _CONTROL_RE.search(v)
            if m:
                reasons[i].append(_reason("bad_text", field=f, detail=f"U+{ord(m[0]):04X}"))
            elif len(v) > MAX_CHARS[f]:
                reasons[i].append(_reason("too_long", field=f, detail=f"{len(v):,}",
                                          limit=MAX_CHARS[f]))
    ids_generated = mp.station_id is None
    ids = (text["station_id"] if not ids_generated
           else [f"row-{int(r)}" for r in range(1, n + 1)])
    types: list[str | None] = []
    allowed = ", ".join(STATION_TYPES)
    for i in range(n):
        if _is_blank(reasons[i]):
            types.append(None)
            continue
        if not ids[i]:
            reasons[i].append(_reason("empty_id"))
        if not text["name"][i]:
            reasons[i].append(_reason("empty_name"))
        raw_type = text["type"][i] if mp.type is not None else ""
        t = canonical_station_type(raw_type) if raw_type else dtype
        if raw_type and raw_type.lower() in {a.lower() for a in CONVALESCENCE_ALIASES}:
            reasons[i].append(_reason("convalescence_base"))
        elif t is None:
            reasons[i].append(_reason("unknown_type", detail=raw_type[:40], limit=allowed)
                              if raw_type else _reason("empty_type"))
        types.append(t)
        if city and text["city"][i] and _norm_city(text["city"][i]) != _norm_city(city):
            reasons[i].append(_reason("wrong_city", detail=text["city"][i][:40], limit=city))

    lon0, lat0 = _coordinates(raw, mp, reasons)
    lon, lat = _to_wgs84_checked(lon0, lat0, system, bounds, reasons)

    first_row: dict[str, int] = {}
    for i in range(n):
        if reasons[i] or not ids[i]:
            continue
        if ids[i] in first_row:
            reasons[i].append(_reason("duplicate_id", detail=ids[i], limit=first_row[ids[i]]))
        else:
            first_row[ids[i]] = i + 1

    ok = np.array([not r for r in reasons], dtype=bool)
    rows = np.arange(1, n + 1)
    sel = np.flatnonzero(ok)
    cities = [text["city"][i] or (city or "") for i in range(n)]
    accepted = gpd.GeoDataFrame(
        {
            "row": rows[sel],
            "station_id": pd.array([ids[i] for i in sel], dtype=object),
            "name": [text["name"][i] for i in sel],
            "type": [types[i] for i in sel],
            "address": [text["address"][i] or None for i in sel],
            "city": [cities[i] or None for i in sel],
            "district": [text["district"][i] or None for i in sel],
            "lon": lon[sel], "lat": lat[sel],
            "orig_crs": [system] * sel.size,
            "orig_lon": lon0[sel], "orig_lat": lat0[sel],
        },
        geometry=gpd.points_from_xy(lon[sel], lat[sel]), crs=WGS84,
    )
    bad = np.flatnonzero(~ok)
    rejected = pd.DataFrame({
        "row": rows[bad].astype(int),
        "source_line": np.asarray(raw.source_lines, dtype=int)[bad] if n else
        np.zeros(0, dtype=int),
        "code": [";".join(dict.fromkeys(c for c, _z, _e in reasons[i])) for i in bad],
        "reason": ["; ".join(e for _c, _z, e in reasons[i]) for i in bad],
        "reason_zh": ["；".join(z for _c, z, _e in reasons[i]) for i in bad],
        "station_id": [ids[i] or None for i in bad],
        "name": [text["name"][i] or None for i in bad],
    })
    flagged = near_duplicates(accepted)
    used = set(mp.used_columns())
    keep = [(j, c) for j, c in enumerate(raw.columns) if c not in used]
    extra = tuple({c: cells[i][j] for j, c in keep} for i in sel)
    hints = _hints(raw, system, lon0[sel], lat0[sel], network)
    notes: list[str] = []
    if ids_generated:
        notes.append("no station_id column: ids are 'row-N'; the diff matches stations by name")
    if mp.type is None and dtype:
        notes.append(f"no type column: every row is typed {dtype}")
    return StationValidation(raw=raw, mapping=mp, declared_crs=system, bounds=bounds,
                             accepted=accepted, rejected=rejected, flagged=flagged,
                             hints=tuple(hints), notes=tuple(notes), city=city,
                             ids_generated=ids_generated, _extra=extra)


def _is_blank(r: list[tuple[str, str, str]]) -> bool:
    return any(c == "blank_row" for c, _z, _e in r)


def _coordinates(raw: RawUpload, mp: ColumnMapping,
                 reasons: list[list[tuple[str, str, str]]]) -> tuple[np.ndarray, np.ndarray]:
    """Original lon/lat per row (NaN where unusable, with a reason added)."""
    n = raw.rows_in
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    if raw.has_geometry:
        assert raw.geom_lon is not None and raw.geom_lat is not None
        x, y = raw.geom_lon.astype(float), raw.geom_lat.astype(float)
        crs = raw.geom_crs
        if crs is not None and not crs.is_geographic:
            tr = pyproj.Transformer.from_crs(crs, WGS84, always_xy=True)
            x, y = tr.transform(x, y)
            x, y = np.asarray(x, float), np.asarray(y, float)
        for i in range(n):
            if reasons[i]:
                continue
            if not (np.isfinite(x[i]) and np.isfinite(y[i])):
                reasons[i].append(_reason("missing_coordinates", field="coordinates"))
            else:
                lon[i], lat[i] = x[i], y[i]
        return lon, lat
    unsplit = [False] * n  # a lon,lat cell that is not two values (reason already added)
    if mp.coords is not None:
        cells = [clean_text(v) for v in raw.frame[mp.coords].tolist()]
        pairs: list[tuple[str, str]] = []
        for i, c in enumerate(cells):
            if not c:
                pairs.append(("", ""))
                continue
            sp = _split_coords(c)
            if sp is None:
                if not _is_blank(reasons[i]):
                    reasons[i].append(_reason("invalid_coordinates", field="coordinates",
                                              detail=c[:40]))
                pairs.append(("", ""))
                unsplit[i] = True
            else:
                pairs.append(sp)
        xs = [p[0] for p in pairs]
        ys = [p[1] for p in pairs]
    else:
        assert mp.lon is not None and mp.lat is not None
        xs = [clean_text(v) for v in raw.frame[mp.lon].tolist()]
        ys = [clean_text(v) for v in raw.frame[mp.lat].tolist()]
    for i in range(n):
        if _is_blank(reasons[i]) or unsplit[i]:
            continue
        vals = []
        for fld, s in (("longitude", xs[i]), ("latitude", ys[i])):
            if not s:
                reasons[i].append(_reason("missing_coordinates", field=fld))
                vals.append(None)
                continue
            v = parse_degrees(s)
            if v is None:
                reasons[i].append(_reason("invalid_coordinates", field=fld, detail=s[:40]))
            vals.append(v)
        if vals[0] is not None and vals[1] is not None:
            lon[i], lat[i] = vals
    return lon, lat


def _to_wgs84_checked(lon0: np.ndarray, lat0: np.ndarray, system: str, bounds: RegionBounds,
                      reasons: list[list[tuple[str, str, str]]]) -> tuple[np.ndarray, np.ndarray]:
    """Range, projection, swap and region checks; WGS-84 positions of the good rows."""
    n = lon0.size
    good = np.isfinite(lon0) & np.isfinite(lat0)
    for i in np.flatnonzero(good):
        x, y = lon0[i], lat0[i]
        where = f"{x:.6f}, {y:.6f}"
        if x == 0 and y == 0:
            reasons[i].append(_reason("zero_coordinates"))
        elif abs(x) > 180 or abs(y) > 90:
            if abs(x) > 1000 or abs(y) > 1000:
                reasons[i].append(_reason("projected_coordinates", detail=where))
            elif abs(y) <= 180 and abs(x) <= 90:
                reasons[i].append(_reason("swapped_coordinates", detail=f"{x:g}"))
            else:
                reasons[i].append(_reason("invalid_coordinates", field="coordinates",
                                          detail=where))
        if reasons[i]:
            good[i] = False
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    if good.any():
        gx, gy = _to_wgs84(lon0[good], lat0[good], system)
        lon[good], lat[good] = gx, gy
    inside = bounds.contains(lon, lat)
    swapped_inside = bounds.contains(lat0, lon0)
    for i in np.flatnonzero(good & ~inside):
        if swapped_inside[i]:
            reasons[i].append(_reason("swapped_coordinates", detail=f"{lon0[i]:g}"))
        else:
            reasons[i].append(_reason("outside_region", detail=f"{lon[i]:.5f}, {lat[i]:.5f}",
                                      limit=bounds.text()))
    return lon, lat


def _hints(raw: RawUpload, system: str, lon0: np.ndarray,
           lat0: np.ndarray, network: WalkNetwork | None) -> list[Hint]:
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
    from geo.crs import transform_xy

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


# --------------------------------------------------------------------------- near-duplicates


def near_duplicates(stations: gpd.GeoDataFrame, *, same_name_m: float = NEAR_SAME_NAME_M,
                    any_m: float = NEAR_ANY_M) -> pd.DataFrame:
    """Pairs of stations to review: same name within ``same_name_m`` or any two within
    ``any_m`` (metres, measured in the local UTM zone). Needs ``row``, ``station_id``,
    ``name`` and EPSG:4326 points."""
    from scipy.spatial import cKDTree

    cols = ["row_a", "row_b", "station_id_a", "station_id_b", "name_a", "name_b",
            "distance_m", "reason", "reason_zh"]
    if len(stations) < 2:
        return pd.DataFrame(columns=cols)
    g = stations.geometry
    cx, cy = float(np.nanmedian(g.x)), float(np.nanmedian(g.y))
    metric = g.to_crs(utm_crs_for(cx, cy))
    xy = np.column_stack([metric.x.to_numpy(), metric.y.to_numpy()])
    tree = cKDTree(xy)
    pairs = tree.query_pairs(r=max(same_name_m, any_m), output_type="ndarray")
    names = [_norm_name(str(v)) for v in stations["name"]]
    out = []
    rows = stations["row"].to_numpy()
    sid = stations["station_id"].to_numpy()
    nm = stations["name"].to_numpy()
    for a, b in pairs:
        d = float(np.hypot(*(xy[a] - xy[b])))
        if d <= any_m:
            why, why_zh = f"two stations within {any_m:g} m", f"两站相距不足 {any_m:g} 米"
        elif names[a] == names[b] and d <= same_name_m:
            why, why_zh = (f"same name within {same_name_m:g} m",
                           f"同名站点相距不足 {same_name_m:g} 米")
        else:
            continue
        a, b = (a, b) if rows[a] < rows[b] else (b, a)
        out.append((int(rows[a]), int(rows[b]), sid[a], sid[b], nm[a], nm[b], round(d, 2),
                    why, why_zh))
    df = pd.DataFrame(out, columns=cols)
    return df.sort_values(["row_a", "row_b"]).reset_index(drop=True)


# --------------------------------------------------------------------------- diff


@dataclass(frozen=True, eq=False)
class StationDiff:
    """A new list against the current one."""

    added: pd.DataFrame      # station_id, name, lon, lat
    removed: pd.DataFrame    # station_id, name, lon, lat
    moved: pd.DataFrame      # station_id, name, distance_m, old_lon, old_lat, lon, lat
    renamed: pd.DataFrame    # station_id, old_name, name
    unchanged: int
    matched_by: str          # "station_id" | "name"

    def counts(self) -> dict[str, int]:
        return {"added": len(self.added), "removed": len(self.removed),
                "moved": len(self.moved), "renamed": len(self.renamed),
                "unchanged": self.unchanged}


def diff_stations(current: gpd.GeoDataFrame | None, new: gpd.GeoDataFrame, *,
                  match: str = "station_id",
                  moved_threshold_m: float = MOVED_THRESHOLD_M) -> StationDiff:
    """Compare two station lists (EPSG:4326; ``station_id``, ``name`` columns).

    ``match="station_id"`` pairs stations by id; ``"name"`` by normalised name (for
    lists without ids; a name used twice is paired in order of appearance). A pair is
    *moved* when its positions differ by more than ``moved_threshold_m`` (geodesic
    metres) and *renamed* when its names differ (both can hold).
    """
    if match not in ("station_id", "name"):
        raise InvalidParameterError("match must be 'station_id' or 'name'")
    for what, g in (("current", current), ("new", new)):
        if g is not None and (g.crs is None or not pyproj.CRS(g.crs).equals(WGS84)):
            raise InvalidParameterError(f"{what} station list must be in EPSG:4326")
    empty = gpd.GeoDataFrame({"station_id": [], "name": []}, geometry=[], crs=WGS84)
    old = current if current is not None else empty

    def keyed(g: gpd.GeoDataFrame) -> pd.DataFrame:
        df = pd.DataFrame({"station_id": g["station_id"].astype(str).to_numpy(),
                           "name": g["name"].astype(str).to_numpy(),
                           "lon": g.geometry.x.to_numpy() if len(g) else [],
                           "lat": g.geometry.y.to_numpy() if len(g) else []})
        if match == "station_id":
            df["key"] = df["station_id"]
        else:
            base = df["name"].map(_norm_name)
            df["key"] = base + "#" + base.groupby(base).cumcount().astype(str)
        return df

    a, b = keyed(old), keyed(new)
    m = a.merge(b, on="key", how="outer", suffixes=("_old", ""), indicator=True)
    added = m.loc[m["_merge"] == "right_only", ["station_id", "name", "lon", "lat"]]
    removed = m.loc[m["_merge"] == "left_only", ["station_id_old", "name_old", "lon_old",
                                                 "lat_old"]]
    removed = removed.set_axis(["station_id", "name", "lon", "lat"], axis=1)
    both = m.loc[m["_merge"] == "both"].copy()
    if len(both):
        _f, _b, dist = _GEOD.inv(both["lon_old"].to_numpy(float), both["lat_old"].to_numpy(float),
                                 both["lon"].to_numpy(float), both["lat"].to_numpy(float))
        both["distance_m"] = np.round(np.asarray(dist, float), 2)
    else:
        both["distance_m"] = []
    mv = both["distance_m"] > moved_threshold_m
    rn = both["name_old"].map(_norm_name) != both["name"].map(_norm_name)
    moved = both.loc[mv, ["station_id", "name", "distance_m", "lon_old", "lat_old", "lon",
                          "lat"]].rename(columns={"lon_old": "old_lon", "lat_old": "old_lat"})
    renamed = both.loc[rn, ["station_id", "name_old", "name"]].rename(
        columns={"name_old": "old_name"})
    return StationDiff(added=added.reset_index(drop=True),
                       removed=removed.reset_index(drop=True),
                       moved=moved.sort_values("distance_m", ascending=False)
                       .reset_index(drop=True),
                       renamed=renamed.reset_index(drop=True),
                       unchanged=int((~mv & ~rn).sum()), matched_by=match)


__all__ = ["GUANGDONG", "Hint", "RegionBounds", "StationDiff",
           "StationValidation", "clean_text", "diff_stations", "near_duplicates",
           "parse_degrees", "street_distance_fn", "validate_stations"]
