"""Column mapping: which uploaded column is the station id, name, longitude, latitude…

:func:`guess_mapping` recognises the headers city unions really use (Chinese and English,
with units or coordinate-system notes in brackets such as ``经度(GCJ-02)``); the user
confirms or changes the result (the app shows it as editable selects, the CLI takes
``--map field=column``). :func:`check_mapping` says what is missing before validation.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Final

from geo.errors import StationDataError

#: Target fields, in display order, with (zh, en) labels.
FIELDS: Final[dict[str, tuple[str, str]]] = {
    "station_id": ("编号", "Station ID"),
    "name": ("名称", "Name"),
    "lon": ("经度", "Longitude"),
    "lat": ("纬度", "Latitude"),
    "coords": ("经纬度（一列，“经度,纬度”）", "Lon,lat in one column"),
    "type": ("类型", "Type"),
    "address": ("地址", "Address"),
    "city": ("城市", "City"),
    "district": ("区县", "District"),
}

# normalised header → field; earlier entries of a field win over later ones
_ALIASES: Final[dict[str, tuple[str, ...]]] = {
    "station_id": ("stationid", "station_id", "id", "编号", "站点编号", "驿站编号", "阵地编号",
                   "站点id", "驿站id", "代码", "站点代码", "code", "poiid", "poi_id", "uid",
                   "编码", "站点编码", "序号", "no", "no.", "number"),
    "name": ("name", "名称", "站点名称", "驿站名称", "站名", "阵地名称", "服务站名称",
             "站点名", "poi名称", "title", "stationname", "station_name", "名字", "单位名称"),
    "lon": ("lon", "lng", "long", "longitude", "经度", "x", "东经", "经度坐标", "gcjlng",
            "gcj02lng", "bdlng", "bd09lng", "wgslng", "wgs84lng", "gcjlon", "bd09lon",
            "wgs84lon", "point_x", "pointx", "x坐标", "坐标x"),
    "lat": ("lat", "latitude", "纬度", "y", "北纬", "纬度坐标", "gcjlat", "gcj02lat", "bdlat",
            "bd09lat", "wgslat", "wgs84lat", "point_y", "pointy", "y坐标", "坐标y"),
    "coords": ("经纬度", "坐标", "location", "lnglat", "lonlat", "坐标经纬度", "经纬度坐标",
               "gps坐标", "位置坐标", "coordinates", "coord"),
    "type": ("type", "类型", "站点类型", "驿站类型", "类别", "阵地类型", "种类", "category",
             "stationtype", "station_type"),
    "address": ("address", "地址", "详细地址", "addr", "站点地址", "所在地址", "位置",
                "具体地址", "地点"),
    "city": ("city", "城市", "地市", "所属城市", "所属地市", "市", "地级市", "市别"),
    "district": ("district", "区县", "区", "县区", "所属区县", "区/县", "县", "county",
                 "所属区", "行政区"),
}

_STRIP_RE: Final = re.compile(r"[\s_\-·・:：]+")
_BRACKET_RE: Final = re.compile(r"[（(\[【].*?[)）\]】]")


def normalize_header(header: str) -> str:
    """Lower-case, NFKC (full-width → ASCII), without spaces, ``_``/``-`` and brackets."""
    s = unicodedata.normalize("NFKC", str(header)).strip().lower()
    s = _BRACKET_RE.sub("", s)
    return _STRIP_RE.sub("", s)


_LOOKUP: Final[dict[str, tuple[str, int]]] = {}
for _field, _names in _ALIASES.items():
    for _rank, _n in enumerate(_names):
        _LOOKUP.setdefault(normalize_header(_n), (_field, _rank))


@dataclass(frozen=True)
class ColumnMapping:
    """Uploaded column name per target field (``None``: not in the file)."""

    station_id: str | None = None
    name: str | None = None
    lon: str | None = None
    lat: str | None = None
    coords: str | None = None
    type: str | None = None
    address: str | None = None
    city: str | None = None
    district: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, values: Mapping[str, str | None]) -> ColumnMapping:
        unknown = set(values) - set(FIELDS)
        if unknown:
            raise StationDataError(
                f"unknown mapping field(s) {sorted(unknown)}; fields are {', '.join(FIELDS)}")
        return cls(**{k: (v or None) for k, v in values.items()})

    def with_changes(self, **changes: str | None) -> ColumnMapping:
        return replace(self, **changes)

    def used_columns(self) -> list[str]:
        return [v for v in self.as_dict().values() if v]


def guess_mapping(columns: Iterable[str], *, has_geometry: bool = False) -> ColumnMapping:
    """The most likely column for each field (exact alias match after normalisation).

    With ``has_geometry`` (GeoJSON / GeoPackage / Shapefile) the coordinates come from
    the point geometry and no lon/lat column is mapped.
    """
    best: dict[str, tuple[int, str]] = {}
    for col in columns:
        hit = _LOOKUP.get(normalize_header(col))
        if hit is None:
            continue
        fld, rank = hit
        if fld not in best or rank < best[fld][0]:
            best[fld] = (rank, col)
    chosen = {f: c for f, (_r, c) in best.items()}
    if has_geometry:
        for f in ("lon", "lat", "coords"):
            chosen.pop(f, None)
    elif "lon" in chosen and "lat" in chosen:
        chosen.pop("coords", None)
    return ColumnMapping(**chosen)


def check_mapping(mapping: ColumnMapping, columns: Iterable[str], *, has_geometry: bool,
                  default_type: str | None = None) -> list[str]:
    """Problems that make validation impossible (empty list: the mapping is usable)."""
    cols = list(columns)
    problems: list[str] = []
    values = mapping.as_dict()
    for fld, col in values.items():
        if col is not None and col not in cols:
            problems.append(f"{fld}: column {col!r} is not in the file")
    used = [c for c in values.values() if c]
    dup = sorted({c for c in used if used.count(c) > 1})
    if dup:
        problems.append(f"column(s) {dup} are mapped to more than one field")
    if mapping.name is None:
        problems.append("name: choose the column with the station names (名称)")
    if not has_geometry:
        pair = mapping.lon is not None and mapping.lat is not None
        if not pair and mapping.coords is None:
            problems.append("lon/lat: choose the longitude and latitude columns (经度, 纬度) "
                            "or one column holding 'lon,lat'")
        if pair and mapping.coords is not None:
            problems.append("choose either lon + lat columns or one lon,lat column, not both")
        if (mapping.lon is None) != (mapping.lat is None):
            problems.append("lon/lat: map both longitude and latitude")
    if mapping.type is None and not default_type:
        problems.append("type: choose the type column (类型) or a type for every row")
    return problems
