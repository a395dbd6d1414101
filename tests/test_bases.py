"""Convalescence bases by car: nearest base, limits, isochrones, routes (geo.access)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo.access.bases import base_access, check_limits, origin_points
from geo.access.routes import routes_frame, routes_to_bases
from geo.coverage.towns import hex_grid
from geo.errors import InvalidParameterError
from geo.network.loaders import load_network
from geo.network.model import WalkNetwork, prepare_network
from geo.network.travel import TravelGraph, travel_graph
from tests import nets

SQUARE = {0: (0.0, 0.0), 1: (1000.0, 0.0), 2: (1000.0, 1000.0), 3: (0.0, 1000.0)}
SIDE_S = 1000.0 / (30 / 3.6)  # a residential side at the 30 km/h class default


def _square(oneway: str | None) -> TravelGraph:
    edges: list[nets.EdgeSpec] = [(0, 1, {"oneway": oneway, "name": "单行路"}),
                                  (1, 2, {"name": "东路"}),
                                  (2, 3, {"name": "北路", "highway": "primary",
                                          "maxspeed": "60"}),
                                  (3, 0, {"name": "西路"})]
    net = prepare_network(nets.raw_streets(SQUARE, edges), crs=nets.CRS, mode="drive")
    return travel_graph(net)


def _points(xy: list[tuple[float, float]], ids: list[str], id_col: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({id_col: ids, "name": [f"名{i}" for i in ids]},
                            geometry=[shapely.Point(nets.absolute(x, y)) for x, y in xy],
                            crs=nets.CRS)


def _town(x: float, y: float, tid: str, population: float = 100.0) -> gpd.GeoDataFrame:
    x0, y0 = nets.absolute(x, y)
    return gpd.GeoDataFrame({"town_id": [tid], "name": [f"镇{tid}"],
                             "population": [population]},
                            geometry=[shapely.box(x0 - 5, y0 - 5, x0 + 5, y0 + 5)],
                            crs=nets.CRS)


def test_one_way_changes_the_time_to_the_base() -> None:
    base = _points([(0.0, 0.0)], ["B0"], "base_id")
    town = _town(1000.0, 0.0, "T1")
    two = base_access(_square(None), town, base, limits_min=[3, 10])
    one = base_access(_square("yes"), town, base, limits_min=[3, 10])
    row2, row1 = two.access.iloc[0], one.access.iloc[0]
    assert row2["nearest_base"] == "B0" and row2["drive_distance_m"] == pytest.approx(1000)
    assert row2["drive_time_min"] == pytest.approx(SIDE_S / 60, abs=0.01)
    # 0 → 1 only: from node 1 the car goes round 1 → 2 → 3 → 0 (the north side at 60 km/h)
    expect_s = 2 * SIDE_S + 1000.0 / (60 / 3.6)
    assert row1["drive_time_min"] == pytest.approx(expect_s / 60, abs=0.01)
    assert row1["drive_distance_m"] == pytest.approx(3000)
    assert row1["point_basis"] == "representative_point"
    b = one.beyond.set_index("limit_min")
    assert b.loc[3.0, "towns_beyond"] == 1 and b.loc[3.0, "population_beyond"] == 100
    assert b.loc[10.0, "towns_beyond"] == 0
    assert one.meta["mode"] == "drive" and one.meta["network_filter"]["filter"] == "drive-v1"


def test_nearest_of_two_bases_and_unreachable_towns() -> None:
    bases = _points([(0.0, 0.0), (1000.0, 1000.0)], ["B0", "B2"], "base_id")
    towns = gpd.GeoDataFrame(
        {"town_id": ["near0", "far"], "name": ["近", "远"], "population": [10.0, 5.0]},
        geometry=[shapely.box(*nets.absolute(90, -5), *nets.absolute(100, 5)),
                  shapely.box(*nets.absolute(90_000, 0), *nets.absolute(90_010, 10))],
        crs=nets.CRS)
    r = base_access(_square(None), towns, bases, max_snap_m=500)
    a = r.access.set_index("town_id")
    assert a.loc["near0", "nearest_base"] == "B0"
    assert not a.loc["far", "reachable"]
    assert "no drivable street within 500 m" in a.loc["far", "reason"]
    assert list(r.unreachable["town_id"]) == ["far"]
    assert set(r.isochrones["base_id"]) == {"B0", "B2"}
    assert (r.isochrones.crs.to_epsg() == 4326)


def test_isochrone_counts_a_one_way_edge_from_its_downstream_end() -> None:
    g = _square("yes")
    base = _points([(1000.0, 0.0)], ["B1"], "base_id")
    town = _town(0.0, 0.0, "T0")
    # within 1 minute of base 1 along 0 → 1: the last 500 m of that edge (30 km/h)
    r = base_access(g, town, base, limits_min=[1], isochrone_buffer_m=1)
    poly = r.isochrones.to_crs(nets.CRS).geometry.iloc[0]
    on_edge = poly.intersection(shapely.LineString([nets.absolute(0, 0),
                                                    nets.absolute(1000, 0)]))
    assert on_edge.length == pytest.approx(500 + 1, abs=1.0)
    assert poly.contains(shapely.Point(nets.absolute(900, 0)))
    assert not poly.contains(shapely.Point(nets.absolute(100, 0)))


def test_route_geometry_and_totals_are_the_sum_of_their_edges() -> None:
    g = _square("yes")
    bases = _points([(0.0, 0.0), (1000.0, 1000.0), (0.0, 1000.0)], ["B0", "B2", "B3"],
                    "base_id")
    routes = routes_to_bases(g, shapely.Point(nets.absolute(1000.0, 0.0)), bases)
    assert [r.base_id for r in routes] == ["B2", "B3", "B0"]
    for r in routes:
        e = np.asarray(r.edges)
        assert r.drive_time_min == pytest.approx(g.time_s[e].sum() / 60)
        assert r.drive_distance_km == pytest.approx(g.network.length_m[e].sum() / 1000)
        assert r.geometry.length == pytest.approx(g.network.length_m[e].sum(), rel=1e-6)
        assert r.geometry.coords[0] == pytest.approx(nets.absolute(1000.0, 0.0), abs=1e-6)
    last = routes[-1]
    assert last.streets == ("东路", "北路", "西路")
    assert last.geometry.coords[-1] == pytest.approx(nets.absolute(0.0, 0.0), abs=1e-6)
    frame = routes_frame(routes, g.network.crs)
    assert frame.crs.to_epsg() == 4326 and list(frame["rank"]) == [1, 2, 3]
    assert frame["streets"].iloc[-1] == "东路、北路、西路"


def test_refusals() -> None:
    walk = travel_graph(nets.build_network(SQUARE, [(0, 1), (1, 2)]))
    base = _points([(0.0, 0.0)], ["B0"], "base_id")
    with pytest.raises(InvalidParameterError, match="by car"):
        base_access(walk, _town(0, 0, "T"), base)
    with pytest.raises(InvalidParameterError, match="limits"):
        check_limits([0, 30])
    assert check_limits(["120", 30, 60, 30]) == (30.0, 60.0, 120.0)


def test_population_weighted_point() -> None:
    from affine import Affine

    from geo.population.raster import population_grid

    x0, y0 = nets.absolute(0, 0)
    values = np.zeros((10, 10))
    values[0, 9] = 1000.0  # all people in the top-right cell (y grows up, row 0 is top)
    grid = population_grid(values, transform=Affine(10, 0, x0, 0, -10, y0 + 100),
                           crs=nets.CRS, source="test")
    town = gpd.GeoDataFrame({"town_id": ["T"], "name": ["镇"]},
                            geometry=[shapely.box(x0, y0, x0 + 100, y0 + 100)], crs=nets.CRS)
    pts, basis = origin_points(town, grid)
    assert basis.tolist() == ["population_weighted"]
    assert (pts[0].x, pts[0].y) == pytest.approx((x0 + 95, y0 + 95))


def test_futian_bases_by_car(futian_graphml: Path) -> None:
    net: WalkNetwork = load_network(futian_graphml, mode="drive")
    g = travel_graph(net)
    bases = gpd.GeoDataFrame({"base_id": ["A", "B"], "name": ["甲", "乙"]},
                             geometry=[shapely.Point(114.00, 22.52),
                                       shapely.Point(114.035, 22.545)],
                             crs=4326).to_crs(net.crs)
    cells = hex_grid(net.bounds, net.crs, size_m=1000, keep=net.geometry)
    r = base_access(g, cells, bases, limits_min=[5, 10, 30])
    ok = r.access["reachable"]
    assert ok.mean() > 0.9
    assert set(r.access.loc[ok, "nearest_base"]) == {"A", "B"}
    assert (r.access.loc[ok, "drive_distance_m"] > 0).any()
    routes = routes_to_bases(g, shapely.Point(net.node_x[0], net.node_y[0]), bases)
    assert len(routes) == 2 and routes[0].drive_time_min <= routes[1].drive_time_min
    assert all(r.streets for r in routes)


def test_cli_bases_writes_access_isochrones_and_routes(futian_graphml: Path,
                                                       tmp_path: Path) -> None:
    import json

    import pandas as pd

    from geo.cli.commands import main

    bases = tmp_path / "bases.geojson"
    gpd.GeoDataFrame({"base_id": ["A", "B"], "name": ["甲基地", "=乙基地"]},
                     geometry=[shapely.Point(114.00, 22.52), shapely.Point(114.035, 22.545)],
                     crs=4326).to_file(bases)
    out = tmp_path / "out"
    assert main(["bases", "--network", str(futian_graphml), "--bases", str(bases),
                 "--limits-min", "5,10", "--route-from", "H00005", "--out", str(out),
                 "--no-cache"]) == 0
    access = pd.read_csv(out / "access.csv", dtype=str)
    for col in ("lon", "lat", "nearest_base", "drive_time_min", "drive_distance_m",
                "point_basis"):
        assert col in access.columns
    assert set(access["nearest_base"].dropna()) <= {"A", "B"}
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["mode"] == "drive" and summary["network_filter"]["filter"] == "drive-v1"
    assert summary["speed_model"]["kind"] == "per_edge" and summary["units"] == "cells"
    routes = gpd.read_file(out / "routes.geojson")
    assert len(routes) == 2 and routes["streets"].str.len().min() > 0
    assert "'=乙基地" in (out / "routes.csv").read_text(encoding="utf-8")  # formula guarded
    assert len(gpd.read_file(out / "isochrones.geojson")) == 4
