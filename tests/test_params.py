"""Tests of :mod:`geo.params`: unit conversions, validation and the presets."""

from __future__ import annotations

import dataclasses
import math

import pytest

from geo.errors import InvalidParameterError, YizhanError
from geo.params import (
    DEFAULT_BUFFER_M,
    DEFAULT_MAX_SNAP_M,
    DEFAULT_WALK_SPEED_KMH,
    DEFAULT_WALK_TIME_MIN,
    LIFE_CIRCLE_PRESETS,
    WALK_SPEED_LABELS,
    WALK_SPEED_PRESETS_KMH,
    CoverageParams,
    distance_to_walk_time_min,
    kmh_to_m_per_s,
    walk_budget_m,
)


def test_conversions() -> None:
    assert kmh_to_m_per_s(3.6) == pytest.approx(1.0)
    assert kmh_to_m_per_s(4.0) == pytest.approx(1.1111111)
    # 15 min at 4 km/h = 1,000 m; 5 min = 333.3 m; 10 min at 3 km/h = 500 m
    assert walk_budget_m(15, 4.0) == pytest.approx(1000.0)
    assert walk_budget_m(5, 4.0) == pytest.approx(333.333, abs=1e-3)
    assert walk_budget_m(10, 3.0) == pytest.approx(500.0)
    assert distance_to_walk_time_min(1000.0, 4.0) == pytest.approx(15.0)
    assert distance_to_walk_time_min(250.0, 5.0) == pytest.approx(3.0)
    assert distance_to_walk_time_min(walk_budget_m(7.5, 4.7), 4.7) == pytest.approx(7.5)


def test_defaults_and_to_dict() -> None:
    p = CoverageParams()
    assert (p.walk_time_min, p.walk_speed_kmh, p.buffer_m, p.max_snap_m) == (
        DEFAULT_WALK_TIME_MIN, DEFAULT_WALK_SPEED_KMH, DEFAULT_BUFFER_M, DEFAULT_MAX_SNAP_M)
    assert (p.walk_time_min, p.walk_speed_kmh, p.buffer_m,
                                        p.max_snap_m) == (15.0, 4.0, 50.0, 200.0)
    assert p.budget_m == pytest.approx(1000.0)
    assert p.to_dict() == {"walk_time_min": 15.0, "walk_speed_kmh": 4.0, "buffer_m": 50.0,
                           "max_snap_m": 200.0, "budget_m": pytest.approx(1000.0)}
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.walk_time_min = 10  # type: ignore[misc]


def test_values_are_coerced_to_float() -> None:
    p = CoverageParams(walk_time_min="10", walk_speed_kmh=3, buffer_m="25.5",  # type: ignore[arg-type]
                       max_snap_m=0)
    assert p.walk_time_min == 10.0 and isinstance(p.walk_time_min, float)
    assert p.walk_speed_kmh == 3.0 and isinstance(p.walk_speed_kmh, float)
    assert p.buffer_m == 25.5
    assert p.max_snap_m == 0.0
    assert p.budget_m == pytest.approx(500.0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("walk_time_min", 0), ("walk_time_min", -5), ("walk_time_min", 0.49),
        ("walk_time_min", 120.01), ("walk_time_min", math.nan), ("walk_time_min", math.inf),
        ("walk_time_min", "abc"), ("walk_time_min", None),
        ("walk_speed_kmh", 0), ("walk_speed_kmh", 0.4), ("walk_speed_kmh", 10.5),
        ("walk_speed_kmh", -4),
        ("buffer_m", 0), ("buffer_m", 0.99), ("buffer_m", 501),
        ("max_snap_m", -1), ("max_snap_m", 5000.5), ("max_snap_m", math.nan),
    ],
)
def test_invalid_values(field: str, value: object) -> None:
    with pytest.raises(InvalidParameterError, match=field) as info:
        CoverageParams(**{field: value})  # type: ignore[arg-type]
    err = info.value
    assert isinstance(err, ValueError) and isinstance(err, YizhanError)
    assert err.exit_code == 4
    # the message says what to do
    assert any(w in str(err) for w in ("e.g.", "Use", "Typical")), str(err)


@pytest.mark.parametrize(
    ("field", "value"),
    [("walk_time_min", 0.5), ("walk_time_min", 120), ("walk_speed_kmh", 0.5),
     ("walk_speed_kmh", 10), ("buffer_m", 1), ("buffer_m", 500), ("max_snap_m", 0),
     ("max_snap_m", 5000)],
)
def test_range_bounds_inclusive(field: str, value: float) -> None:
    assert getattr(CoverageParams(**{field: value}), field) == value  # type: ignore[arg-type]


def test_presets() -> None:
    assert sorted(LIFE_CIRCLE_PRESETS) == ["10min", "15min", "5min"]
    budgets = {k: CoverageParams.from_preset(k).budget_m for k in LIFE_CIRCLE_PRESETS}
    assert budgets["5min"] == pytest.approx(333.333, abs=1e-3)
    assert budgets["10min"] == pytest.approx(666.667, abs=1e-3)
    assert budgets["15min"] == pytest.approx(1000.0)
    elderly = CoverageParams.from_preset("15min",
                                         walk_speed_kmh=WALK_SPEED_PRESETS_KMH["elderly"],
                                         buffer_m=30, max_snap_m=100)
    assert elderly.budget_m == pytest.approx(750.0)
    assert (elderly.buffer_m, elderly.max_snap_m) == (30.0, 100.0)
    assert LIFE_CIRCLE_PRESETS["15min"].label_zh == "15分钟生活圈"
    with pytest.raises(InvalidParameterError, match="5min"):
        CoverageParams.from_preset("20min")
    assert WALK_SPEED_PRESETS_KMH == {"adult": 4.0, "elderly": 3.0, "with_children": 3.0,
                                      "brisk": 5.0}
    assert set(WALK_SPEED_LABELS) == set(WALK_SPEED_PRESETS_KMH)
    for key, (zh, en) in WALK_SPEED_LABELS.items():
        speed = f"{WALK_SPEED_PRESETS_KMH[key]:.1f} km/h"
        assert speed in zh and speed in en
