"""Validated analysis parameters and the life-circle presets (GB 50180-2018).

All unit conversions of the project live here: minutes × km/h → metres of walk budget.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Final, overload

import numpy.typing as npt

from geo.errors import InvalidParameterError
from geo.vocab import WALK_SPEED_LABELS as WALK_SPEED_LABELS  # re-export

DEFAULT_WALK_TIME_MIN: Final = 15.0
DEFAULT_WALK_SPEED_KMH: Final = 4.0
DEFAULT_BUFFER_M: Final = 50.0
DEFAULT_MAX_SNAP_M: Final = 200.0


@dataclass(frozen=True)
class LifeCircle:
    """A life-circle level of GB 50180-2018 / TD/T 1062-2021."""

    key: str
    walk_time_min: float
    reference_distance_m: str
    label_zh: str
    label_en: str


#: 5 / 10 / 15-minute life circles. The standard gives walking distances of about
#: 300 m, 500 m and 800–1,000 m; at the default 4.0 km/h the budgets are 333 m,
#: 667 m and 1,000 m.
LIFE_CIRCLE_PRESETS: Final[dict[str, LifeCircle]] = {
    "5min": LifeCircle("5min", 5.0, "≈300 m", "5分钟生活圈", "5-minute life circle"),
    "10min": LifeCircle("10min", 10.0, "≈500 m", "10分钟生活圈", "10-minute life circle"),
    "15min": LifeCircle("15min", 15.0, "800–1,000 m", "15分钟生活圈", "15-minute life circle"),
}

#: Travel modes (:mod:`geo.network.modes` documents each filter and speed model).
TRAVEL_MODES: Final[tuple[str, ...]] = ("walk", "ebike", "drive")

#: E-bike speed presets in km/h (GB 17761-2018 caps e-bikes at 25 km/h).
DEFAULT_EBIKE_SPEED_KMH: Final = 15.0

#: Walking-speed presets in km/h.
WALK_SPEED_PRESETS_KMH: Final[dict[str, float]] = {
    "adult": 4.0,
    "elderly": 3.0,
    "with_children": 3.0,
    "brisk": 5.0,
}


def kmh_to_m_per_s(speed_kmh: float) -> float:
    """Convert km/h to m/s."""
    return speed_kmh * 1000.0 / 3600.0


def walk_budget_m(walk_time_min: float, walk_speed_kmh: float) -> float:
    """Distance walked in ``walk_time_min`` minutes at ``walk_speed_kmh``."""
    return walk_time_min * 60.0 * kmh_to_m_per_s(walk_speed_kmh)


FloatArray = npt.NDArray[Any]


@overload
def distance_to_walk_time_min(distance_m: float, walk_speed_kmh: float) -> float: ...
@overload
def distance_to_walk_time_min(distance_m: FloatArray, walk_speed_kmh: float) -> FloatArray: ...
def distance_to_walk_time_min(distance_m: float | FloatArray,
                              walk_speed_kmh: float) -> float | FloatArray:
    """Minutes needed to walk ``distance_m`` metres (a number or an array) at
    ``walk_speed_kmh``."""
    return distance_m / kmh_to_m_per_s(walk_speed_kmh) / 60.0


def _check_range(name: str, value: float, lo: float, hi: float, hint: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"{name} must be a number, got {value!r}. {hint}") from None
    if not math.isfinite(v) or not (lo <= v <= hi):
        raise InvalidParameterError(f"{name}={value!r} is outside [{lo:g}, {hi:g}]. {hint}")
    return v


@dataclass(frozen=True)
class CoverageParams:
    """Parameters of one coverage run (validated on construction).

    walk_time_min: time budget in minutes (default 15), whatever the mode.
    walk_speed_kmh: the speed of the mode — walking (default 4.0 km/h → 15 min =
        1,000 m, range 0.5–10) or, with ``mode="ebike"``, riding (range 5–25 km/h,
        presets 12 / 15 / 20; use :meth:`for_mode`); ignored for ``drive``, whose speeds
        are per edge (:mod:`geo.network.modes`). The name predates modes.
    buffer_m: half-width of the street buffer that turns reached streets into
        service-area polygons (default 50 m).
    max_snap_m: a station farther than this from every street is off-network.
    mode: ``"walk"`` (default), ``"ebike"`` or ``"drive"``.
    """

    walk_time_min: float = DEFAULT_WALK_TIME_MIN
    walk_speed_kmh: float = DEFAULT_WALK_SPEED_KMH
    buffer_m: float = DEFAULT_BUFFER_M
    max_snap_m: float = DEFAULT_MAX_SNAP_M
    mode: str = "walk"

    def __post_init__(self) -> None:
        if self.mode not in TRAVEL_MODES:
            raise InvalidParameterError(
                f"unknown travel mode {self.mode!r}; use one of {', '.join(TRAVEL_MODES)}")
        object.__setattr__(
            self, "walk_time_min",
            _check_range("walk_time_min", self.walk_time_min, 0.5, 120.0,
                         "Use e.g. 5, 10 or 15 minutes."),
        )
        lo, hi, hint = ((5.0, 25.0, "E-bike speeds: 12, 15 (default) or 20 km/h.")
                        if self.mode == "ebike" else
                        (0.5, 10.0, "Typical walking speeds are 3.0 (elderly) to 5.0 km/h."))
        object.__setattr__(
            self, "walk_speed_kmh",
            _check_range("walk_speed_kmh", self.walk_speed_kmh, lo, hi, hint),
        )
        object.__setattr__(
            self, "buffer_m",
            _check_range("buffer_m", self.buffer_m, 1.0, 500.0,
                         "The street buffer is a half-width in metres, e.g. 50."),
        )
        object.__setattr__(
            self, "max_snap_m",
            _check_range("max_snap_m", self.max_snap_m, 0.0, 5000.0,
                         "Stations farther than this from a street are off-network; e.g. 200."),
        )

    @property
    def speed_kmh(self) -> float:
        """The constant speed of walk / e-bike (``walk_speed_kmh``)."""
        return self.walk_speed_kmh

    @property
    def budget_s(self) -> float:
        """The time budget in seconds."""
        return self.walk_time_min * 60.0

    @property
    def budget_m(self) -> float:
        """Walk (or ride) budget in metres: walk_time_min at walk_speed_kmh. A drive
        budget has no single length (speeds are per edge): use :attr:`budget_s`."""
        if self.mode == "drive":
            raise InvalidParameterError(
                "a drive budget is a time (per-edge speeds): use budget_s, not budget_m")
        return walk_budget_m(self.walk_time_min, self.walk_speed_kmh)

    @property
    def cost_unit(self) -> str:
        """The unit the coverage engine measures trips in: ``"m"`` (walk / e-bike: one
        speed, so metres) or ``"s"`` (drive: per-edge speeds)."""
        return "s" if self.mode == "drive" else "m"

    @property
    def budget_cost(self) -> float:
        """The budget in :attr:`cost_unit`: :attr:`budget_m` (walk / e-bike) or
        :attr:`budget_s` (drive)."""
        return self.budget_s if self.mode == "drive" else self.budget_m

    @overload
    def cost_to_minutes(self, cost: float) -> float: ...
    @overload
    def cost_to_minutes(self, cost: FloatArray) -> FloatArray: ...
    def cost_to_minutes(self, cost: float | FloatArray) -> float | FloatArray:
        """Minutes of a trip costing ``cost`` (in :attr:`cost_unit`; a number or an
        array): metres at ``walk_speed_kmh``, or seconds / 60 for drive."""
        if self.mode == "drive":
            return cost / 60.0
        return distance_to_walk_time_min(cost, self.walk_speed_kmh)

    @classmethod
    def for_mode(cls, mode: str, *, minutes: float = DEFAULT_WALK_TIME_MIN,
                 speed_kmh: float | None = None, buffer_m: float = DEFAULT_BUFFER_M,
                 max_snap_m: float = DEFAULT_MAX_SNAP_M) -> CoverageParams:
        """Parameters of ``mode`` with its default speed (walk 4.0, e-bike 15 km/h)."""
        if speed_kmh is None:
            speed_kmh = DEFAULT_EBIKE_SPEED_KMH if mode == "ebike" else DEFAULT_WALK_SPEED_KMH
        return cls(walk_time_min=minutes, walk_speed_kmh=speed_kmh, buffer_m=buffer_m,
                   max_snap_m=max_snap_m, mode=mode)

    @classmethod
    def from_preset(cls, preset: str, *, walk_speed_kmh: float = DEFAULT_WALK_SPEED_KMH,
                    buffer_m: float = DEFAULT_BUFFER_M,
                    max_snap_m: float = DEFAULT_MAX_SNAP_M) -> CoverageParams:
        """Parameters for a life-circle preset ``"5min"``, ``"10min"`` or ``"15min"``."""
        try:
            circle = LIFE_CIRCLE_PRESETS[preset]
        except KeyError:
            raise InvalidParameterError(
                f"unknown life-circle preset {preset!r}; use one of {sorted(LIFE_CIRCLE_PRESETS)}"
            ) from None
        return cls(walk_time_min=circle.walk_time_min, walk_speed_kmh=walk_speed_kmh,
                   buffer_m=buffer_m, max_snap_m=max_snap_m)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict including the derived ``budget_m``; ``mode`` only when it is not
        walk (so walk parameters, their hashes and outputs are as before modes)."""
        d: dict[str, Any] = asdict(self)
        if self.mode == "walk":
            del d["mode"]
        d["budget_m"] = None if self.mode == "drive" else self.budget_m
        return d
