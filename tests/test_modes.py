"""Travel modes: filters, one-way streets, speed model, coverage by e-bike (geo.network.modes)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import shapely

from geo.coverage.core import compute_coverage
from geo.errors import InvalidParameterError
from geo.network.loaders import load_network
from geo.network.model import prepare_network
from geo.network.modes import (
    DRIVE_DEFAULT_SPEED_KMH,
    MODES,
    class_default_speed_kmh,
    parse_maxspeed_kmh,
)
from geo.network.travel import travel_graph
from geo.params import TRAVEL_MODES, CoverageParams
from tests import nets


def _net(edges: list[nets.EdgeSpec], mode: str,
         nodes: dict[int, tuple[float, float]] | None = None) -> object:
    nodes = nodes or {0: (0.0, 0.0), 1: (100.0, 0.0), 2: (200.0, 0.0)}
    return prepare_network(nets.raw_streets(nodes, edges), crs=nets.CRS, mode=mode)


def test_modes_agree_with_params() -> None:
    assert MODES == TRAVEL_MODES


def test_footway_only_link_is_walkable_not_rideable_or_drivable() -> None:
    edges: list[nets.EdgeSpec] = [(0, 1), (1, 2, {"highway": "footway"})]
    walk, ebike, drive = (_net(edges, m) for m in ("walk", "ebike", "drive"))
    assert walk.n_edges == 2  # type: ignore[attr-defined]
    assert ebike.n_edges == 1 and drive.n_edges == 1  # type: ignore[attr-defined]
    assert ebike.filter_report.by_reason[0][0] == (  # type: ignore[attr-defined]
        "highway=footway without bicycle access")
    assert drive.filter_report.by_reason[0][0] == "highway=footway"  # type: ignore[attr-defined]
    bikes = _net([(0, 1), (1, 2, {"highway": "footway", "bicycle": "yes"})], "ebike")
    assert bikes.n_edges == 2  # type: ignore[attr-defined]


def test_motorway_is_driven_not_ridden_nor_walked() -> None:
    edges: list[nets.EdgeSpec] = [(0, 1), (1, 2, {"highway": "motorway"})]
    assert _net(edges, "drive").n_edges == 2  # type: ignore[attr-defined]
    assert _net(edges, "ebike").n_edges == 1  # type: ignore[attr-defined]
    assert _net(edges, "walk").n_edges == 1  # type: ignore[attr-defined]
    no_bikes = [(0, 1), (1, 2, {"bicycle": "no"})]
    assert _net(no_bikes, "ebike").n_edges == 1  # type: ignore[attr-defined]
    no_cars = [(0, 1), (1, 2, {"motor_vehicle": "no"})]
    assert _net(no_cars, "drive").n_edges == 1  # type: ignore[attr-defined]


def test_maxspeed_parsing() -> None:
    assert parse_maxspeed_kmh("50") == 50
    assert parse_maxspeed_kmh("30 mph") == pytest.approx(30 * 1.609344)
    assert parse_maxspeed_kmh("60;80") == 70
    assert parse_maxspeed_kmh("40 km/h") == 40
    for v in ("none", "signals", "CN:urban", None, ""):
        assert math.isnan(parse_maxspeed_kmh(v))
    assert class_default_speed_kmh("primary;residential") == 30


def test_maxspeed_wins_over_the_class_default() -> None:
    edges: list[nets.EdgeSpec] = [(0, 1, {"highway": "primary", "maxspeed": "80"}),
                                  (1, 2, {"highway": "primary"})]
    g = travel_graph(_net(edges, "drive"))  # type: ignore[arg-type]
    by_speed = sorted(zip(g.speed_kmh.tolist(), g.speed_from_maxspeed.tolist(), strict=True))
    assert by_speed == [(DRIVE_DEFAULT_SPEED_KMH["primary"], False), (80.0, True)]
    assert np.allclose(g.time_s, 100.0 / (g.speed_kmh / 3.6))


SQUARE = {0: (0.0, 0.0), 1: (1000.0, 0.0), 2: (1000.0, 1000.0), 3: (0.0, 1000.0)}


def _square(oneway: str | None) -> object:
    edges: list[nets.EdgeSpec] = [(0, 1, {"oneway": oneway, "name": "单行路"}),
                                  (1, 2, {"name": "东路"}), (2, 3, {"name": "北路"}),
                                  (3, 0, {"name": "西路"})]
    return _net(edges, "drive", SQUARE)


def _seconds(g: object, a: int, b: int) -> float:
    from scipy.sparse import csgraph

    net = g.network  # type: ignore[attr-defined]
    ia, ib = nets.node_index(net, a), nets.node_index(net, b)
    return float(csgraph.dijkstra(g.csr, directed=True, indices=ia)[ib])  # type: ignore[attr-defined]


def test_one_way_street_changes_the_drive_answer() -> None:
    two = travel_graph(_square(None))  # type: ignore[arg-type]
    fwd = travel_graph(_square("yes"))  # type: ignore[arg-type]
    back = travel_graph(_square("-1"))  # type: ignore[arg-type]
    side = 1000.0 / (30 / 3.6)  # residential: 30 km/h
    assert _seconds(two, 1, 0) == pytest.approx(side)
    assert _seconds(fwd, 0, 1) == pytest.approx(side)
    assert _seconds(fwd, 1, 0) == pytest.approx(3 * side)  # round the block
    assert _seconds(back, 0, 1) == pytest.approx(3 * side)
    assert _seconds(back, 1, 0) == pytest.approx(side)
    assert fwd.summary()["one_way_edges"] == 1
    # osmnx graphs store the boolean, edges already oriented
    assert _seconds(travel_graph(_square("True")), 1, 0) == pytest.approx(3 * side)  # type: ignore[arg-type]


def test_modes_refuse_a_network_of_another_mode() -> None:
    ebike = _net([(0, 1), (1, 2)], "ebike")
    with pytest.raises(InvalidParameterError, match="prepared for 'ebike'"):
        compute_coverage(ebike, nets.stations([(0.0, 0.0)]),  # type: ignore[arg-type]
                         params=CoverageParams())
    with pytest.raises(InvalidParameterError, match="prepared for 'ebike'"):
        compute_coverage(ebike, nets.stations([(0.0, 0.0)]),  # type: ignore[arg-type]
                         params=CoverageParams(mode="drive"))
    with pytest.raises(InvalidParameterError, match="prepared for"):
        travel_graph(ebike, mode="drive")  # type: ignore[arg-type]


def test_params_by_mode() -> None:
    assert "mode" not in CoverageParams().to_dict()
    p = CoverageParams.for_mode("ebike")
    assert p.speed_kmh == 15 and p.budget_m == pytest.approx(3750)
    assert p.to_dict()["mode"] == "ebike"
    with pytest.raises(InvalidParameterError, match="E-bike"):
        CoverageParams(mode="ebike")  # 4 km/h is a walk
    with pytest.raises(InvalidParameterError, match="unknown travel mode"):
        CoverageParams(mode="boat")
    d = CoverageParams(mode="drive")
    assert d.budget_s == 900 and d.to_dict()["budget_m"] is None
    with pytest.raises(InvalidParameterError, match="budget_s"):
        _ = d.budget_m


def test_ebike_coverage_on_a_line_is_the_ride_budget() -> None:
    nodes = {0: (0.0, 0.0), 1: (5000.0, 0.0)}
    net = _net([(0, 1)], "ebike", nodes)
    cov = compute_coverage(net, nets.stations([(0.0, 0.0)]),  # type: ignore[arg-type]
                           params=CoverageParams.for_mode("ebike", minutes=10,
                                                          speed_kmh=12))
    assert cov.covered_length_m == pytest.approx(2000.0)
    assert cov.node_walk_time_min()[nets.node_index(net, 1)] == np.inf  # type: ignore[arg-type]


def test_futian_ebike_covers_far_more_than_walking(futian_graphml: Path) -> None:
    walk = load_network(futian_graphml)
    ebike = load_network(futian_graphml, mode="ebike")
    drive = travel_graph(load_network(futian_graphml, mode="drive"))
    assert ebike.n_edges < walk.n_edges  # footways and paths without bicycle access
    assert drive.summary()["one_way_edges"] > 0
    assert int(drive.speed_from_maxspeed.sum()) > 0
    pts = [shapely.Point(walk.node_x[i], walk.node_y[i]) for i in (0, 400, 800, 1200)]
    import geopandas as gpd

    st = gpd.GeoDataFrame({"station_id": list("abcd"), "name": list("abcd"),
                           "type": [nets.STATION_TYPE] * 4}, geometry=pts, crs=walk.crs)
    w = compute_coverage(walk, st, params=CoverageParams(walk_time_min=10))
    e = compute_coverage(ebike, st.to_crs(ebike.crs),
                         params=CoverageParams.for_mode("ebike", minutes=10))
    share_w = w.covered_length_m / w.total_length_m
    share_e = e.covered_length_m / e.total_length_m
    assert share_e > 2 * share_w
    assert share_e > 0.3
