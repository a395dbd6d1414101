"""The region accepted stations must lie in, and the checks of uploaded positions:
range, projected metres, 0,0 placeholders, swapped columns, conversion to WGS-84 and
the region box."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from geo.errors import InvalidParameterError
from geo.stations.coords import to_wgs84
from geo.stations.reasons import Reason, reason


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


def _range_reason(x: float, y: float) -> Reason | None:
    """Why uploaded ``x, y`` cannot be degrees at all (None: they can)."""
    where = f"{x:.6f}, {y:.6f}"
    if x == 0 and y == 0:
        return reason("zero_coordinates")
    if abs(x) > 180 or abs(y) > 90:
        if abs(x) > 1000 or abs(y) > 1000:
            return reason("projected_coordinates", detail=where)
        if abs(y) <= 180 and abs(x) <= 90:
            return reason("swapped_coordinates", detail=f"{x:g}")
        return reason("invalid_coordinates", field="coordinates", detail=where)
    return None


def _in_range(lon0: np.ndarray, lat0: np.ndarray, reasons: list[list[Reason]]) -> np.ndarray:
    """Rows whose uploaded position is usable so far (a reason added to the others)."""
    good = np.isfinite(lon0) & np.isfinite(lat0)
    for i in np.flatnonzero(good):
        why = _range_reason(lon0[i], lat0[i])
        if why is not None:
            reasons[i].append(why)
        if reasons[i]:
            good[i] = False
    return good


def _outside(lon0: np.ndarray, lat0: np.ndarray, lon: np.ndarray, lat: np.ndarray,
             good: np.ndarray, bounds: RegionBounds, reasons: list[list[Reason]]) -> None:
    """Add ``swapped_coordinates`` / ``outside_region`` to good rows outside ``bounds``."""
    inside = bounds.contains(lon, lat)
    swapped_inside = bounds.contains(lat0, lon0)
    for i in np.flatnonzero(good & ~inside):
        if swapped_inside[i]:
            reasons[i].append(reason("swapped_coordinates", detail=f"{lon0[i]:g}"))
        else:
            reasons[i].append(reason("outside_region", detail=f"{lon[i]:.5f}, {lat[i]:.5f}",
                                     limit=bounds.text()))


def check_positions(lon0: np.ndarray, lat0: np.ndarray, system: str, bounds: RegionBounds,
                    reasons: list[list[Reason]]) -> tuple[np.ndarray, np.ndarray]:
    """Range, projection, swap and region checks of uploaded positions in ``system``;
    the WGS-84 positions of the rows without a reason so far (NaN elsewhere)."""
    good = _in_range(lon0, lat0, reasons)
    lon = np.full(lon0.size, np.nan)
    lat = np.full(lon0.size, np.nan)
    if good.any():
        gx, gy = to_wgs84(lon0[good], lat0[good], system)
        lon[good], lat[good] = gx, gy
    _outside(lon0, lat0, lon, lat, good, bounds, reasons)
    return lon, lat


__all__ = ["GUANGDONG", "RegionBounds", "check_positions"]
