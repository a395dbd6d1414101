"""Reading the cells of an uploaded station list: text, names, cities and coordinates.

* :func:`clean_text` — a cell without surrounding (also full-width) white space;
* :func:`parse_degrees` — ``113.95``, ``１１３．９５``, ``113.95E``, ``东经113.95`` or
  ``113°57'00"`` as degrees;
* :func:`read_positions` — the mapped coordinate column(s) (or the features' points) as
  lon/lat arrays in the uploaded system, with a reason added for every unusable row.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Final

import numpy as np
import pyproj

from geo.crs import WGS84
from geo.io.upload import RawUpload
from geo.stations.columns import ColumnMapping
from geo.stations.reasons import Reason, is_blank, reason

CONTROL_RE: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufffe\uffff]")
_NUM_RE: Final = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?$",
                            re.ASCII)
_DMS_RE: Final = re.compile(
    r"(?a)^(?P<deg>\d{1,3}(?:\.\d+)?)\s*[°度]\s*(?:(?P<min>\d{1,2}(?:\.\d+)?)\s*['′’分])?\s*"
    r"(?:(?P<sec>\d{1,2}(?:\.\d+)?)\s*(?:[\"″”秒]|''|′′))?$")  # NFKC turns ″ into ′′
_HEMI_RE: Final = re.compile(r"^(?:东经|北纬|[EN])\s*|\s*(?:[EN]|东经|北纬)$", re.IGNORECASE)
_WS: Final = " \t\r\n\u3000\u00a0\ufeff"


# --------------------------------------------------------------------------- text


def clean_text(value: object) -> str:
    """A cell as text without surrounding (also full-width) white space."""
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    return str(value).strip(_WS)


def norm_name(name: str) -> str:
    """A station name for comparisons: NFKC, no white space, lower case."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name)).lower()


def norm_city(city: str) -> str:
    """A city for comparisons: as :func:`norm_name`, without a trailing 市 / city."""
    s = re.sub(r"\s+", "", unicodedata.normalize("NFKC", city)).lower()
    for suffix in ("市", "city"):
        if s.endswith(suffix) and len(s) > len(suffix):
            s = s[: -len(suffix)]
    return s


# --------------------------------------------------------------------------- degrees


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


def split_coords(text: str) -> tuple[str, str] | None:
    """``"113.9, 22.5"`` (also ``;``, spaces, brackets) → ``("113.9", "22.5")``."""
    s = unicodedata.normalize("NFKC", text).strip(_WS).strip("()[]")
    parts = [p for p in re.split(r"[,;\s]+", s) if p]
    if len(parts) != 2:
        return None
    return parts[0], parts[1]


# --------------------------------------------------------------------------- positions


def _geometry_positions(raw: RawUpload,
                        reasons: list[list[Reason]]) -> tuple[np.ndarray, np.ndarray]:
    """The features' points (projected CRSs → WGS-84 degrees)."""
    n = raw.rows_in
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
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
            reasons[i].append(reason("missing_coordinates", field="coordinates"))
        else:
            lon[i], lat[i] = x[i], y[i]
    return lon, lat


def _split_cells(cells: list[str], reasons: list[list[Reason]]
                 ) -> tuple[list[str], list[str], list[bool]]:
    """One ``lon,lat`` column → lon texts, lat texts, and which cells did not split in two
    (their reason is added here)."""
    xs: list[str] = []
    ys: list[str] = []
    unsplit = [False] * len(cells)
    for i, c in enumerate(cells):
        sp = split_coords(c) if c else ("", "")
        if sp is None:
            if not is_blank(reasons[i]):
                reasons[i].append(reason("invalid_coordinates", field="coordinates",
                                         detail=c[:40]))
            sp = ("", "")
            unsplit[i] = True
        xs.append(sp[0])
        ys.append(sp[1])
    return xs, ys, unsplit


def _coordinate_texts(raw: RawUpload, mp: ColumnMapping, reasons: list[list[Reason]]
                      ) -> tuple[list[str], list[str], list[bool]]:
    """Lon and lat texts per row from the mapped column(s)."""
    if mp.coords is not None:
        return _split_cells([clean_text(v) for v in raw.frame[mp.coords].tolist()], reasons)
    assert mp.lon is not None and mp.lat is not None
    xs = [clean_text(v) for v in raw.frame[mp.lon].tolist()]
    ys = [clean_text(v) for v in raw.frame[mp.lat].tolist()]
    return xs, ys, [False] * raw.rows_in


def _parse_pair(x: str, y: str, reasons: list[Reason]) -> tuple[float, float] | None:
    """Lon/lat texts of one row as degrees (a reason added for each unusable one)."""
    vals: list[float | None] = []
    for fld, s in (("longitude", x), ("latitude", y)):
        if not s:
            reasons.append(reason("missing_coordinates", field=fld))
            vals.append(None)
            continue
        v = parse_degrees(s)
        if v is None:
            reasons.append(reason("invalid_coordinates", field=fld, detail=s[:40]))
        vals.append(v)
    lon, lat = vals
    return None if lon is None or lat is None else (lon, lat)


def read_positions(raw: RawUpload, mp: ColumnMapping,
                   reasons: list[list[Reason]]) -> tuple[np.ndarray, np.ndarray]:
    """Original lon/lat per row (NaN where unusable, with a reason added).

    Vector uploads give their features' points; tables the mapped ``lon``/``lat``
    columns or the one ``coords`` column. Blank rows get no further reason.
    """
    if raw.has_geometry:
        return _geometry_positions(raw, reasons)
    xs, ys, unsplit = _coordinate_texts(raw, mp, reasons)
    lon = np.full(raw.rows_in, np.nan)
    lat = np.full(raw.rows_in, np.nan)
    for i in range(raw.rows_in):
        if is_blank(reasons[i]) or unsplit[i]:
            continue
        pair = _parse_pair(xs[i], ys[i], reasons[i])
        if pair is not None:
            lon[i], lat[i] = pair
    return lon, lat


__all__ = ["clean_text", "norm_city", "norm_name", "parse_degrees", "read_positions",
           "split_coords"]
