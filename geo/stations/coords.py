"""Chinese map coordinate systems: WGS-84, GCJ-02 (Amap / Tencent) and BD-09 (Baidu).

Station lists exported from Chinese map services are not in WGS-84: Amap (高德) and
Tencent (腾讯) use GCJ-02 ("火星坐标"), Baidu (百度) uses BD-09, a further obfuscation
of GCJ-02. OpenStreetMap and GPS are WGS-84. In Guangdong a GCJ-02 point is about
300–600 m away from the WGS-84 position of the same place, a BD-09 point about 1 km:
more than enough to snap a station to the wrong street.

The transforms are those of the public-domain PRCoords (:mod:`prcoords`, Mingye Wang):

* WGS-84 → GCJ-02 / BD-09 is prcoords' forward function (``wgs_gcj``, ``wgs_bd``).
* GCJ-02 / BD-09 → WGS-84 is prcoords' rough inverse (``gcj_wgs``, ``bd_wgs``) refined
  by the fixed-point iteration of prcoords' ``*_bored`` functions (Caijun 2014),
  run until the step is below :data:`_ITER_TOL_DEG` (≈0.1 µm) instead of prcoords'
  ``PRC_EPS`` = 1e-5° (which stops up to ~2 cm short for BD-09). Forward ∘ inverse is
  the identity to well under a millimetre over the province.

The array API runs prcoords' own functions on numpy arrays: their code objects are
re-bound to a namespace in which ``math`` is numpy (same formulas, same constants,
element-wise). At first use the result is checked against prcoords' scalar functions;
should a future prcoords not allow this, the module falls back to a per-point loop.

Points outside prcoords' China box (``sanity_in_china_p``) are returned unchanged, as
prcoords does; a point with a non-finite longitude or latitude becomes ``(NaN, NaN)``.
Argument order: prcoords takes ``Coords(lat, lon)``; every function here takes
``lon, lat`` (x, y), like the rest of Yizhan.
"""

from __future__ import annotations

import functools
import math
import re
import types
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

import numpy as np
import prcoords
import pyproj
from numpy.typing import ArrayLike

from geo.errors import InvalidParameterError
from geo.vocab import COORD_SYSTEM_LABELS

#: Canonical names of the supported coordinate systems.
COORD_SYSTEMS: Final = ("wgs84", "gcj02", "bd09")


#: Short display names, used in messages.
COORD_SYSTEM_NAMES: Final[dict[str, str]] = {"wgs84": "WGS-84", "gcj02": "GCJ-02", "bd09": "BD-09"}

#: Where data in each system usually comes from ``(zh, en)``, used in hint messages.
_SOURCE_NOTE: Final[dict[str, tuple[str, str]]] = {
    "wgs84": ("GPS 设备与 OpenStreetMap 使用 WGS-84", "GPS devices and OpenStreetMap use WGS-84"),
    "gcj02": ("高德/腾讯导出通常是 GCJ-02", "Amap/Tencent exports are usually GCJ-02"),
    "bd09": ("百度地图导出通常是 BD-09", "Baidu Maps exports are usually BD-09"),
}

# Aliases, compared after :func:`_compact` (NFKC, lower case, no spaces / "-" / "_").
_ALIASES: Final[dict[str, tuple[str, ...]]] = {
    "wgs84": ("wgs84", "wgs", "wgs1984", "epsg:4326", "epsg4326", "4326", "gps", "osm",
              "openstreetmap"),
    "gcj02": ("gcj02", "gcj", "gcj02ll", "amap", "gaode", "高德", "tencent", "腾讯", "qq",
              "火星", "火星坐标", "火星坐标系", "mars", "国测局", "国测局坐标"),
    "bd09": ("bd09", "bd09ll", "bd", "baidu", "百度", "百度坐标", "百度坐标系"),
}

#: Thresholds of :func:`crs_hint` (medians of the distance to the nearest street).
HINT_MIN_DECLARED_M: Final = 60.0
HINT_MAX_SUGGESTED_M: Final = 40.0
HINT_MIN_RATIO: Final = 2.5

# Convergence of the fixed-point inverse (degrees; 1e-12° ≈ 0.1 µm) and its cap.
_ITER_TOL_DEG: Final = 1e-12
_MAX_ITER: Final = 12

_GEOD: Final = pyproj.Geod(ellps="WGS84")


def _compact(value: str) -> str:
    text = unicodedata.normalize("NFKC", value).strip().lower()
    return re.sub(r"[\s\-_]+", "", text)


def _build_alias_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for system, aliases in _ALIASES.items():
        for alias in (system, *aliases, *COORD_SYSTEM_LABELS[system]):
            table[_compact(alias)] = system
    return table


_ALIAS_TABLE: Final = _build_alias_table()


def normalize_coord_system(value: str) -> str:
    """The canonical name (``"wgs84"``, ``"gcj02"`` or ``"bd09"``) of ``value``.

    Case-insensitive; accepts e.g. ``"WGS-84"``, ``"EPSG:4326"``, ``"gps"``; ``"GCJ-02"``,
    ``"gcj"``, ``"amap"``, ``"高德"``, ``"tencent"``, ``"腾讯"``, ``"火星"``; ``"BD-09"``,
    ``"bd09ll"``, ``"baidu"``, ``"百度"``, and the labels of :data:`COORD_SYSTEM_LABELS`.
    Anything else raises :class:`~geo.errors.InvalidParameterError`.
    """
    if not isinstance(value, str):
        raise InvalidParameterError(
            f"coordinate system must be a string such as 'wgs84', 'gcj02' or 'bd09', "
            f"got {value!r}"
        )
    key = _compact(value)
    system = _ALIAS_TABLE.get(key)
    if system is not None:
        return system
    if key.startswith("bd09mc") or "mercator" in key or "墨卡托" in key:
        raise InvalidParameterError(
            f"coordinate system {value!r}: projected (Mercator, metres) coordinates are not "
            "supported; export longitude/latitude in degrees (Baidu: bd09ll)"
        )
    raise InvalidParameterError(
        f"unknown coordinate system {value!r}: use wgs84 (also WGS-84, EPSG:4326, gps), "
        "gcj02 (also GCJ-02, gcj, amap, 高德, tencent, 腾讯, 火星) or "
        "bd09 (also BD-09, bd09ll, baidu, 百度)"
    )


# --------------------------------------------------------------------------- kernels
# A kernel maps (lat, lon) float arrays to (lat, lon) float arrays. All points given
# to a kernel are finite and inside prcoords' China box.

_Kernel = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]

# prcoords.sanity_in_china_p's box (its chained comparisons do not work on arrays);
# tests check the two agree.
_CHINA_LAT: Final = (0.8293, 55.8271)
_CHINA_LON: Final = (72.004, 137.8347)

# The prcoords functions the module uses: forward, rough inverse.
_PRC_NAMES: Final = ("wgs_gcj", "gcj_wgs", "gcj_bd", "bd_gcj", "wgs_bd", "bd_wgs")
_NUMPY_MATH: Final = types.SimpleNamespace(
    pi=math.pi, sin=np.sin, cos=np.cos, sqrt=np.sqrt, pow=np.power, radians=np.radians,
    atan2=np.arctan2, hypot=np.hypot, asin=np.arcsin,
)


def _scalar_kernel(func: Callable[..., prcoords.Coords]) -> _Kernel:
    """A kernel looping over the prcoords function ``func`` point by point."""

    def kernel(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out_lat = np.empty(lat.shape)
        out_lon = np.empty(lat.shape)
        for i, (a, o) in enumerate(zip(lat.tolist(), lon.tolist(), strict=True)):
            c = func(prcoords.Coords(a, o), False)
            out_lat[i] = c.lat
            out_lon[i] = c.lon
        return out_lat, out_lon

    return kernel


def _numpy_kernel(func: Callable[..., prcoords.Coords]) -> _Kernel:
    def kernel(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c = func(prcoords.Coords(lat, lon), False)
        return (np.broadcast_to(np.asarray(c.lat, dtype=float), lat.shape),
                np.broadcast_to(np.asarray(c.lon, dtype=float), lat.shape))

    return kernel


def _scalar_kernels() -> dict[str, _Kernel]:
    """Per-point loops over prcoords (the reference, and the fallback)."""
    return {name: _scalar_kernel(getattr(prcoords, name)) for name in _PRC_NAMES}


def _numpy_kernels() -> dict[str, _Kernel]:
    """prcoords' functions re-bound so that their ``math`` calls are numpy ufuncs."""
    namespace = dict(vars(prcoords))
    namespace["math"] = _NUMPY_MATH
    for name in _PRC_NAMES:
        f = getattr(prcoords, name)
        namespace[name] = types.FunctionType(f.__code__, namespace, f.__name__,
                                             f.__defaults__, f.__closure__)
    return {name: _numpy_kernel(namespace[name]) for name in _PRC_NAMES}


def _kernels_agree(a: dict[str, _Kernel], b: dict[str, _Kernel]) -> bool:
    lat = np.array([22.54, 23.13, 20.1, 25.6, 39.9, 31.2, 1.0, 55.0])
    lon = np.array([114.05, 113.26, 109.6, 117.4, 116.4, 121.5, 73.0, 137.0])
    for name in _PRC_NAMES:
        la, oa = a[name](lat, lon)
        lb, ob = b[name](lat, lon)
        if not (np.allclose(la, lb, rtol=0.0, atol=1e-11)
                and np.allclose(oa, ob, rtol=0.0, atol=1e-11)):
            return False
    return True


@functools.cache
def _kernels() -> dict[str, _Kernel]:
    """The numpy kernels if they reproduce prcoords' scalar results, else the loops."""
    scalar = _scalar_kernels()
    try:
        vectorised = _numpy_kernels()
        if _kernels_agree(vectorised, scalar):
            return vectorised
    except Exception:  # any incompatibility of a future prcoords
        pass
    return scalar


def _forward(system: str, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    k = _kernels()
    return k["wgs_gcj" if system == "gcj02" else "wgs_bd"](lat, lon)


def _inverse(system: str, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """WGS-84 ``(lat, lon)`` whose forward transform is the given point (fixed point)."""
    k = _kernels()
    fwd = k["wgs_gcj" if system == "gcj02" else "wgs_bd"]
    rough = k["gcj_wgs" if system == "gcj02" else "bd_wgs"]
    w_lat, w_lon = (np.array(v, dtype=float) for v in rough(lat, lon))
    for _ in range(_MAX_ITER):
        f_lat, f_lon = fwd(w_lat, w_lon)
        d_lat = f_lat - lat
        d_lon = f_lon - lon
        w_lat -= d_lat
        w_lon -= d_lon
        if max(np.abs(d_lat).max(initial=0.0), np.abs(d_lon).max(initial=0.0)) < _ITER_TOL_DEG:
            break
    return w_lat, w_lon


# ------------------------------------------------------------------------ array API


def _as_arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    try:
        x = np.asarray(lon, dtype=float)
        y = np.asarray(lat, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(f"longitude / latitude must be numbers: {exc}") from None
    try:
        x, y = np.broadcast_arrays(x, y)
    except ValueError:
        raise InvalidParameterError(
            f"longitude and latitude have different shapes {x.shape} and {y.shape}"
        ) from None
    return np.array(x, dtype=float), np.array(y, dtype=float)


def _convert(lon: ArrayLike, lat: ArrayLike, system: str,
             inverse: bool) -> tuple[np.ndarray, np.ndarray]:
    s = normalize_coord_system(system)
    x, y = _as_arrays(lon, lat)
    shape = x.shape
    x = x.ravel()
    y = y.ravel()
    finite = np.isfinite(x) & np.isfinite(y)
    x[~finite] = np.nan
    y[~finite] = np.nan
    if s != "wgs84":
        ok = (finite & (y >= _CHINA_LAT[0]) & (y <= _CHINA_LAT[1])
              & (x >= _CHINA_LON[0]) & (x <= _CHINA_LON[1]))
        if ok.any():
            step = _inverse if inverse else _forward
            new_lat, new_lon = step(s, y[ok], x[ok])
            x[ok] = new_lon
            y[ok] = new_lat
    return x.reshape(shape), y.reshape(shape)


def to_wgs84(lon: ArrayLike, lat: ArrayLike, system: str) -> tuple[np.ndarray, np.ndarray]:
    """WGS-84 ``(lon, lat)`` of points given in ``system`` (any alias).

    Array-like or scalar inputs (broadcast together); returns float arrays of the
    broadcast shape (0-d for scalars). A point with a non-finite coordinate becomes
    ``(NaN, NaN)``; points outside China are returned unchanged. The GCJ-02 / BD-09
    inverse is exact to ≪ 1 mm (see the module docstring).
    """
    return _convert(lon, lat, system, inverse=True)


def from_wgs84(lon: ArrayLike, lat: ArrayLike, system: str) -> tuple[np.ndarray, np.ndarray]:
    """``(lon, lat)`` in ``system`` of WGS-84 points: the inverse of :func:`to_wgs84`."""
    return _convert(lon, lat, system, inverse=False)


def offset_m(lon: ArrayLike, lat: ArrayLike, system: str) -> np.ndarray:
    """Metres between WGS-84 points and their coordinates in ``system`` (geodesic).

    For explanations ("GCJ-02 shifts points by ~N m here"); 0 for ``wgs84`` and outside
    China, NaN for non-finite input.
    """
    x, y = _as_arrays(lon, lat)
    sx, sy = from_wgs84(x, y, system)
    out = np.full(x.shape, np.nan)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.any():
        out[ok] = _GEOD.inv(x[ok], y[ok], sx[ok], sy[ok])[2]
    return out


# ----------------------------------------------------------------------- detection


@dataclass(frozen=True)
class CrsHint:
    """A suggestion that the declared coordinate system of a station list is wrong.

    ``median_dist_m`` maps every system of :data:`COORD_SYSTEMS` to the median distance
    (m) from the stations, read in that system, to the nearest street.
    """

    declared: str
    suggested: str
    median_dist_m: dict[str, float]
    n_points: int
    message_zh: str
    message_en: str


def crs_hint(
    lon: ArrayLike,
    lat: ArrayLike,
    *,
    declared: str,
    distance_to_streets_m: Callable[[np.ndarray, np.ndarray], np.ndarray],
    min_points: int = 5,
) -> CrsHint | None:
    """A :class:`CrsHint` if another coordinate system fits the streets much better.

    ``lon, lat`` are the uploaded values, declared to be in ``declared``. They are read
    in each system of :data:`COORD_SYSTEMS` (:func:`to_wgs84`) and the callback
    ``distance_to_streets_m(wgs_lon, wgs_lat)`` (WGS-84 degrees in, metres out; the
    caller builds it from the walk network) gives each point's distance to the nearest
    street (``inf`` for "none in reach" is fine; NaN answers are ignored). A hint is
    returned when, with medians over the finite points,

    * the declared system's median is at least :data:`HINT_MIN_DECLARED_M` (60 m),
    * the best other system's median is at most :data:`HINT_MAX_SUGGESTED_M` (40 m), and
    * the declared median is at least :data:`HINT_MIN_RATIO` (2.5) times the best one.

    Why these numbers: urban stations are usually < 30 m from a street centre line, while
    the GCJ-02 offset in Guangdong is 300–600 m (BD-09 ~1 km). The rule is deliberately
    conservative: in a dense street grid a shifted point still lands near *some* street
    (with blocks of side S, random points have a median distance of ≈0.15 S), so a
    wrong declaration may go unnoticed there, but a correct one is not flagged; a sparse
    or rural network, where every reading is far from the streets, fails the 40 m test.

    Returns None with fewer than ``min_points`` finite points or when no rule fires.
    It is a hint only: nothing is converted or changed.
    """
    declared_s = normalize_coord_system(declared)
    if isinstance(min_points, bool) or not isinstance(min_points, int) or min_points < 1:
        raise InvalidParameterError(f"min_points must be a positive integer, got {min_points!r}")
    x, y = _as_arrays(lon, lat)
    x = x.ravel()
    y = y.ravel()
    finite = np.isfinite(x) & np.isfinite(y)
    n = int(finite.sum())
    if n < min_points:
        return None
    x = x[finite]
    y = y[finite]
    medians: dict[str, float] = {}
    for s in COORD_SYSTEMS:
        wx, wy = to_wgs84(x, y, s)
        d = np.asarray(distance_to_streets_m(wx, wy), dtype=float)
        if d.shape != wx.shape:
            raise InvalidParameterError(
                f"distance_to_streets_m returned shape {d.shape} for {wx.shape[0]} points"
            )
        medians[s] = float(np.nanmedian(d)) if np.isfinite(d).any() else math.nan
    dm = medians[declared_s]
    others = [s for s in COORD_SYSTEMS if s != declared_s and not math.isnan(medians[s])]
    if math.isnan(dm) or not others:
        return None
    best = min(others, key=lambda s: medians[s])
    bm = medians[best]
    if not (dm >= HINT_MIN_DECLARED_M and bm <= HINT_MAX_SUGGESTED_M
            and dm >= HINT_MIN_RATIO * bm):
        return None
    name_s = COORD_SYSTEM_NAMES[best]
    name_d = COORD_SYSTEM_NAMES[declared_s]
    note_zh, note_en = _SOURCE_NOTE[best]
    return CrsHint(
        declared=declared_s,
        suggested=best,
        median_dist_m=medians,
        n_points=n,
        message_zh=(f"按 {name_s} 理解时站点离街道中位 {_fmt_m(bm)}，按声明的 {name_d} 为 "
                    f"{_fmt_m(dm)}：请确认坐标系（{note_zh}）"),
        message_en=(f"Read as {name_s}, the stations' median distance to a street is "
                    f"{_fmt_m(bm)}; read as the declared {name_d} it is {_fmt_m(dm)}: please "
                    f"check the coordinate system ({note_en})."),
    )


def _fmt_m(value: float) -> str:
    # the callback may answer inf (no street reachable); say so instead of "inf m"
    return f"{value:.0f} m" if math.isfinite(value) else "∞"


# Column headers. Explicit system names are enough; vendor names (and a bare "bd")
# count only in a header that is about coordinates (经度, lat, 坐标, ...).
_HEADER_CONTEXT: Final = re.compile(
    r"经|纬|坐标|位置|lon|lng|lat|coord|point|(?<![a-z])[xy](?![a-z])"
)
_HEADER_STRONG: Final = (
    ("wgs84", re.compile(r"wgs|gps|epsg:?4326")),
    ("gcj02", re.compile(r"gcj|火星|国测局|(?<![a-z])mars(?![a-z])")),
    ("bd09", re.compile(r"bd0?9")),
)
_HEADER_WEAK: Final = (
    ("gcj02", re.compile(r"高德|腾讯|amap|gaode|tencent")),
    ("bd09", re.compile(r"百度|baidu|(?<![a-z])bd(?![a-z])")),
)


def _header_system(column: str) -> str | None:
    text = re.sub(r"[\s\-]+", "", unicodedata.normalize("NFKC", column).lower())
    found = {s for s, pattern in _HEADER_STRONG if pattern.search(text)}
    if _HEADER_CONTEXT.search(text):
        found |= {s for s, pattern in _HEADER_WEAK if pattern.search(text)}
    return found.pop() if len(found) == 1 else None


def guess_from_columns(columns: Iterable[str]) -> str | None:
    """The coordinate system the column headers name, e.g. ``"经度(GCJ02)"`` → ``"gcj02"``.

    Recognises ``lng_gcj``, ``bd09_lon``, ``百度经度``, ``高德坐标``, ``wgs84_lat`` and the
    like. Returns None when no header names a system, or when headers name different
    systems (e.g. both ``lng_wgs84`` and ``lng_gcj02``: the caller must ask).
    """
    found: set[str] = set()
    for column in columns:
        system = _header_system(str(column))
        if system is not None:
            found.add(system)
    return found.pop() if len(found) == 1 else None
