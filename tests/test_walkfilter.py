"""Tests of :mod:`geo.network.walkfilter`: every rule of the module docstring and the report."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from geo.network.raw import tag_to_str
from geo.network.walkfilter import (
    DROP_HIGHWAY,
    FILTER_VERSION,
    WALKABLE_HIGHWAY,
    apply_walk_filter,
    classify_edge,
)

TAG_COLS = ("highway", "foot", "access", "service", "motorroad", "area")


def tags(highway: object, **extra: object) -> dict[str, object]:
    return {"highway": highway, **extra}


# ----------------------------------------------------------------------- classify_edge


@pytest.mark.parametrize(
    ("tagset", "reason"),
    [
        # rule 1: motorways and their links, construction, proposed …
        (tags("motorway"), "highway=motorway"),
        (tags("motorway_link"), "highway=motorway_link"),
        (tags("construction"), "highway=construction"),
        (tags("proposed"), "highway=proposed"),
        # a foot=yes does not rescue a rule-1 highway
        (tags("motorway", foot="yes"), "highway=motorway"),
        # list-valued edge: dropped when ANY part is dropped
        (tags("trunk;motorway_link"), "highway=motorway_link"),
        # osmnx list values reach the filter through geo.network.raw.tag_to_str
        (tags(tag_to_str(["trunk", "motorway_link"])), "highway=motorway_link"),
        # rule 2: unknown highway values are dropped and named
        (tags("bus_stop"), "unknown highway=bus_stop"),
        (tags("footway;bus_stop"), "unknown highway=bus_stop"),
        # rule 3: foot=no / foot=private
        (tags("residential", foot="no"), "foot=no"),
        (tags("footway", foot="private"), "foot=private"),
        (tags("trunk", foot="no"), "foot=no"),
        # rule 4: access=no/private unless foot allows it
        (tags("service", access="private"), "access=private"),
        (tags("residential", access="no"), "access=no"),
        # rule 5: service=private
        (tags("service", service="private"), "service=private"),
        # rule 6: motorroad=yes (expressway-standard trunk)
        (tags("trunk", motorroad="yes"), "motorroad=yes"),
        (tags("primary", motorroad="yes"), "motorroad=yes"),
        # rule 7: area=yes
        (tags("pedestrian", area="yes"), "area=yes"),
        # rule 8: cycleway only with foot access
        (tags("cycleway"), "highway=cycleway without foot access"),
        (tags("cycleway", foot="use_sidepath"), "highway=cycleway without foot access"),
        (tags("residential;cycleway"), "highway=cycleway without foot access"),
        # no highway at all
        (tags(None), "no highway tag"),
        (tags(""), "no highway tag"),
        (tags(float("nan")), "no highway tag"),
    ],
)
def test_dropped(tagset: dict[str, object], reason: str) -> None:
    assert classify_edge(tagset) == reason


@pytest.mark.parametrize(
    "tagset",
    [
        tags("residential"),
        tags("footway"),
        tags("steps"),
        # list-valued edge whose parts are all walkable is kept
        tags("footway;steps"),
        tags(tag_to_str(["footway", "steps"])),
        tags(tag_to_str("['footway', 'steps']")),  # osmnx 1.x GraphML repr
        # trunks are kept (Guangdong arterials with unmapped sidewalks)
        tags("trunk"),
        tags("trunk_link"),
        tags("trunk", sidewalk="both"),
        # access=private + an explicit foot permission is walkable
        tags("service", access="private", foot="yes"),
        tags("residential", access="no", foot="designated"),
        tags("residential", access="private", foot="permissive"),
        # cycleway with foot access
        tags("cycleway", foot="yes"),
        tags("cycleway", foot="designated"),
        # harmless values of the other filter tags
        tags("service", service="parking_aisle"),
        tags("pedestrian", area="no"),
        tags("primary", motorroad="no"),
        tags("residential", access="yes"),
        # values are normalised: case and whitespace
        tags(" Residential "),
        tags("FOOTWAY ; Steps"),
    ],
)
def test_kept(tagset: dict[str, object]) -> None:
    assert classify_edge(tagset) is None


def test_every_walkable_value_is_kept_and_every_drop_value_dropped() -> None:
    assert not (DROP_HIGHWAY & WALKABLE_HIGHWAY)
    for hw in WALKABLE_HIGHWAY - {"cycleway"}:
        assert classify_edge({"highway": hw}) is None, hw
    for hw in DROP_HIGHWAY:
        assert classify_edge({"highway": hw}) == f"highway={hw}", hw


def test_rule_order_drop_highway_before_unknown_and_foot() -> None:
    # rule 1 is checked on all parts before rule 2: the drop reason wins
    assert classify_edge(tags("bus_stop;motorway")) == "highway=motorway"
    # rule 2 before rule 3
    assert classify_edge(tags("bus_stop", foot="no")) == "unknown highway=bus_stop"
    # foot=no wins over access (rule 3 before 4)
    assert classify_edge(tags("residential", foot="no", access="private")) == "foot=no"


# --------------------------------------------------------------------- apply_walk_filter


def frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    for c in TAG_COLS:
        if c not in df.columns:
            df[c] = None
    df = df.astype({c: object for c in TAG_COLS})
    return df.where(df.notna(), None).assign(length_m=df["length_m"].astype(float))


def test_apply_walk_filter_counts_and_lengths() -> None:
    rows = [
        {"highway": "residential", "length_m": 100.0},            # kept
        {"highway": "motorway", "length_m": 1000.0},              # dropped
        {"highway": "motorway", "length_m": 500.0},               # dropped
        {"highway": "service", "access": "private", "length_m": 30.0},             # dropped
        {"highway": "service", "access": "private", "foot": "yes", "length_m": 40.0},  # kept
        {"highway": "cycleway", "length_m": 70.0},                # dropped
        {"highway": "cycleway", "foot": "designated", "length_m": 80.0},  # kept
        {"highway": "trunk", "length_m": 300.0},                  # kept
        {"highway": "trunk", "motorroad": "yes", "length_m": 250.0},  # dropped
        {"highway": "footway;steps", "length_m": 20.0},           # kept
        {"highway": "trunk;motorway_link", "length_m": 60.0},     # dropped (motorway_link)
        {"highway": "bus_stop", "length_m": 5.0},                 # dropped (unknown)
        {"highway": "pedestrian", "area": "yes", "length_m": 45.0},  # dropped
        {"highway": "residential", "foot": "no", "length_m": 15.0},  # dropped
        {"highway": "service", "service": "private", "length_m": 12.0},  # dropped
        {"highway": "construction", "length_m": 33.0},            # dropped
        {"highway": "proposed", "length_m": float("nan")},        # dropped, no length
    ]
    df = frame(rows)
    keep, report = apply_walk_filter(df)
    expected_keep = [True, False, False, False, True, False, True, True, False, True, False,
                     False, False, False, False, False, False]
    assert keep.dtype == bool
    assert keep.tolist() == expected_keep
    assert report.version == FILTER_VERSION
    assert report.kept_edges == 5
    assert report.dropped_edges == 12
    # 1000 + 500 + 30 + 70 + 250 + 60 + 5 + 45 + 15 + 12 + 33 (+ NaN ignored) = 2020
    assert report.dropped_length_m == pytest.approx(2020.0)
    by = {r: (n, length) for r, n, length in report.by_reason}
    assert by == {
        "highway=motorway": (2, 1500.0),
        "access=private": (1, 30.0),
        "highway=cycleway without foot access": (1, 70.0),
        "motorroad=yes": (1, 250.0),
        "highway=motorway_link": (1, 60.0),
        "unknown highway=bus_stop": (1, 5.0),
        "area=yes": (1, 45.0),
        "foot=no": (1, 15.0),
        "service=private": (1, 12.0),
        "highway=construction": (1, 33.0),
        "highway=proposed": (1, 0.0),
    }
    # sorted by dropped length, largest first
    lengths = [length for _, _, length in report.by_reason]
    assert lengths == sorted(lengths, reverse=True)
    assert report.by_reason[0][0] == "highway=motorway"
    d = report.to_dict()
    assert d["filter"] == FILTER_VERSION
    assert d["kept_edges"] == 5 and d["dropped_edges"] == 12
    assert d["dropped_length_m"] == 2020.0
    assert d["by_reason"][0] == {"reason": "highway=motorway", "edges": 2, "length_m": 1500.0}
    assert sum(r["edges"] for r in d["by_reason"]) == 12


def test_mask_follows_row_order_and_tag_combinations() -> None:
    """Rows sharing some but not all tags are classified separately; a shuffle of the
    rows shuffles the mask the same way."""
    rows = [
        {"highway": "service", "access": None, "length_m": 1.0},
        {"highway": "service", "access": "private", "length_m": 2.0},
        {"highway": "service", "access": "private", "foot": "yes", "length_m": 3.0},
        {"highway": "service", "foot": "yes", "length_m": 4.0},
        {"highway": "service", "foot": "no", "length_m": 5.0},
        {"highway": "cycleway", "foot": "yes", "length_m": 6.0},
        {"highway": "cycleway", "foot": None, "length_m": 7.0},
    ] * 3
    df = frame(rows)
    keep, report = apply_walk_filter(df)
    base = [True, False, True, True, False, True, False]
    assert keep.tolist() == base * 3
    assert report.dropped_length_m == pytest.approx(3 * (2.0 + 5.0 + 7.0))
    perm = np.random.default_rng(7).permutation(len(df))
    keep2, report2 = apply_walk_filter(df.iloc[perm].reset_index(drop=True))
    assert keep2.tolist() == keep[perm].tolist()
    assert report2.kept_edges == report.kept_edges
    assert report2.dropped_length_m == pytest.approx(report.dropped_length_m)


def test_nan_and_none_tags_are_the_same() -> None:
    df = pd.DataFrame({
        "highway": ["footway", "footway"],
        "foot": [None, float("nan")],
        "access": [float("nan"), None],
        "service": [None, None],
        "motorroad": [None, None],
        "area": [None, None],
        "length_m": [1.0, 2.0],
    })
    keep, report = apply_walk_filter(df)
    assert keep.tolist() == [True, True]
    assert report.dropped_edges == 0 and report.by_reason == ()


def test_empty_table() -> None:
    df = frame([{"highway": "residential", "length_m": 1.0}]).iloc[:0]
    keep, report = apply_walk_filter(df)
    assert keep.shape == (0,)
    assert report.kept_edges == 0 and report.dropped_edges == 0
    assert report.dropped_length_m == 0.0 and not math.isnan(report.dropped_length_m)
