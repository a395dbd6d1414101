"""Coordinate reference systems: one metric CRS per analysis, WGS-84 at the edges."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyproj
import shapely

from geo.errors import CRSError, InvalidParameterError

WGS84 = pyproj.CRS.from_epsg(4326)


def utm_crs_for(lon: float, lat: float) -> pyproj.CRS:
    """The WGS-84 / UTM zone CRS containing ``(lon, lat)`` (EPSG 326xx / 327xx)."""
    if not (-180.0 <= lon <= 180.0 and -80.0 <= lat <= 84.0):
        raise CRSError(
            f"cannot choose a metric CRS for lon={lon:.4f}, lat={lat:.4f}: coordinates must be "
            "WGS-84 degrees (check that longitude and latitude are not swapped)"
        )
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    return pyproj.CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def as_crs(crs: Any) -> pyproj.CRS:
    """Parse anything pyproj accepts; ``None`` raises :class:`CRSError`."""
    if crs is None:
        raise CRSError("the layer has no CRS: declare one (e.g. EPSG:4326 for lon/lat)")
    try:
        return pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        raise CRSError(f"unrecognised CRS {crs!r}: {exc}") from None


def require_crs(layer: Any, expected: pyproj.CRS, *, what: str) -> None:
    """Raise :class:`CRSError` unless ``layer.crs`` equals ``expected``."""
    crs = getattr(layer, "crs", None)
    if crs is None:
        raise CRSError(f"{what} has no CRS: set it (e.g. .set_crs('EPSG:4326')) before use")
    if not as_crs(crs).equals(expected):
        raise CRSError(
            f"{what} is in {as_crs(crs).to_string()} but the network is in "
            f"{expected.to_string()}: reproject it first, e.g. layer.to_crs(network.crs)"
        )


def transform_geometries(geoms: np.ndarray, src: pyproj.CRS, dst: pyproj.CRS) -> np.ndarray:
    """Vectorised reprojection of a shapely geometry array."""
    if src.equals(dst):
        return np.asarray(geoms, dtype=object)
    tr = pyproj.Transformer.from_crs(src, dst, always_xy=True)

    def _f(coords: np.ndarray) -> np.ndarray:
        x, y = tr.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(np.asarray(geoms, dtype=object), _f)


def transform_xy(x: np.ndarray, y: np.ndarray, src: pyproj.CRS,
                 dst: pyproj.CRS) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised reprojection of coordinate arrays."""
    if src.equals(dst):
        return np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    tr = pyproj.Transformer.from_crs(src, dst, always_xy=True)
    xx, yy = tr.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return np.asarray(xx, dtype=float), np.asarray(yy, dtype=float)


def validate_bbox(bbox: object) -> tuple[float, float, float, float]:
    """Check a WGS-84 bbox ``(min_lon, min_lat, max_lon, max_lat)`` and return floats."""
    hint = (
        "Pass bbox=(min_lon, min_lat, max_lon, max_lat) in WGS-84 degrees, "
        "e.g. (113.1, 22.9, 113.6, 23.4) for Guangzhou."
    )
    if not isinstance(bbox, Sequence) or isinstance(bbox, str) or len(bbox) != 4:
        raise InvalidParameterError(f"bbox must be 4 numbers, got {bbox!r}. {hint}")
    try:
        vals = tuple(float(v) for v in bbox)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"bbox must be 4 numbers, got {bbox!r}. {hint}") from None
    min_lon, min_lat, max_lon, max_lat = vals
    if not all(math.isfinite(v) for v in vals):
        raise InvalidParameterError(f"bbox contains a non-finite value: {bbox!r}. {hint}")
    if not (-180.0 <= min_lon <= 180.0 and -180.0 <= max_lon <= 180.0):
        raise InvalidParameterError(
            f"bbox longitudes must lie in [-180, 180], got {bbox!r} "
            f"(projected coordinates or lat/lon swapped?). {hint}"
        )
    if not (-90.0 <= min_lat <= 90.0 and -90.0 <= max_lat <= 90.0):
        raise InvalidParameterError(
            f"bbox latitudes must lie in [-90, 90], got {bbox!r} (lat/lon swapped?). {hint}"
        )
    if not (min_lon < max_lon and min_lat < max_lat):
        raise InvalidParameterError(
            f"bbox needs min_lon < max_lon and min_lat < max_lat, got {bbox!r}. {hint}"
        )
    return (min_lon, min_lat, max_lon, max_lat)
