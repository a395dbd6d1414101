"""Tests of :mod:`geo.batch.partition`: ownership, halo, sub-networks, folder names."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo.batch.partition import (
    cut_plan,
    edge_owner,
    halo_for,
    plan_partition,
    prepare_whole,
    read_partitions,
    safe_folder,
    subnetwork,
)
from geo.coverage.cells import h3_cells, h3_tiles
from geo.errors import StationDataError
from geo.params import CoverageParams
from tests.batchhelp import BORDER_X, grid_network, polygons_file
from tests.nets import CRS, absolute


def _polys(*boxes: tuple[float, float, float, float]) -> np.ndarray:
    return np.array([shapely.box(*absolute(a, b), *absolute(c, d)) for a, b, c, d in boxes])


def test_every_edge_has_one_owner_and_lengths_add_up() -> None:
    net = grid_network()
    polys = _polys((-100, -100, BORDER_X, 1000), (BORDER_X, -100, 2800, 1000))
    owner = edge_owner(net, polys)
    assert (owner >= 0).all()
    assert sum(net.length_m[owner == k].sum() for k in (0, 1)) == pytest.approx(
        net.total_length_m, rel=1e-12)
    mid_x = shapely.get_x(shapely.line_interpolate_point(net.geometry, 0.5, normalized=True))
    local = mid_x - absolute(0, 0)[0]
    assert (owner[local < BORDER_X] == 0).all()
    # streets beyond the east polygon (x > 2800) go to the nearest one
    assert (owner[local > 2800] == 1).all() and (local > 2800).any()


def test_halo_is_budget_plus_snap_scaled() -> None:
    net = grid_network()
    params = CoverageParams(walk_time_min=15.0, max_snap_m=200.0, buffer_m=50.0)
    halo = halo_for(net, params)
    assert halo.network_m >= params.budget_m + params.max_snap_m
    assert halo.stations_m >= halo.network_m + params.max_snap_m
    assert 1.0 <= halo.scale <= 1.2 * 1.01


def test_subnetwork_keeps_edges_and_reindexes_nodes() -> None:
    net = grid_network()
    edges = np.array([5, 1, 3, 3])
    sub = subnetwork(net, edges, label="x")
    assert sub.n_edges == 3
    np.testing.assert_array_equal(sub.length_m, net.length_m[[1, 3, 5]])
    np.testing.assert_array_equal(sub.node_id[sub.edge_u], net.node_id[net.edge_u[[1, 3, 5]]])
    assert sub.n_nodes == np.unique(np.concatenate([net.edge_u[[1, 3, 5]],
                                                    net.edge_v[[1, 3, 5]]])).size


def test_cut_equals_the_halo_of_every_core_member() -> None:
    """The plan drops what lies inside the polygon from the core and the worker queries
    the core as one collection: the same streets and stations as growing every owned
    street and tile one by one."""
    net = grid_network()
    params = CoverageParams(walk_time_min=4.0, max_snap_m=60.0, buffer_m=30.0)
    polys = gpd.GeoDataFrame({"name": ["w", "e"], "folder": ["w", "e"]},
                             geometry=list(_polys((-100, -100, BORDER_X, 1000),
                                                  (BORDER_X, -100, 2800, 1000))), crs=CRS)
    pts = shapely.points([absolute(x, y) for x, y in ((120, 310), (1420, 505), (2890, 120),
                                                      (1500, 3000))])
    stations = gpd.GeoDataFrame({"station_id": ["a", "b", "c", "d"]}, geometry=pts, crs=CRS)
    tiles = h3_tiles(net, h3_cells(net, resolution=10), margin_m=params.buffer_m)
    whole = prepare_whole(net, polys, stations, tiles, towns=None, params=params)
    for k in (0, 1):
        plan = plan_partition(whole, polys, k)
        cut = cut_plan(net, plan)
        owned = np.flatnonzero(whole.edge_owner == k)
        owned_tiles = tiles.geometry.to_numpy()[np.isin(tiles["town_id"],
                                                        plan.tiles["town_id"])]
        full = np.concatenate([[polys.geometry.iloc[k]], net.geometry[owned], owned_tiles])
        near = net.edge_tree.query(full, predicate="dwithin", distance=whole.halo.network_m)[1]
        st = np.union1d(whole.station_tree.query(full, predicate="dwithin",
                                                 distance=whole.halo.stations_m)[1],
                        np.flatnonzero(whole.station_owner == k))
        st_edges = whole.station_edge[st]
        edges = np.unique(np.concatenate([near, owned, st_edges[st_edges >= 0]]))
        np.testing.assert_array_equal(plan.stations["_row"].to_numpy(), st)
        assert cut.network.n_edges == edges.size
        np.testing.assert_array_equal(cut.network.length_m, net.length_m[edges])
        assert int(cut.owned_edges.sum()) == owned.size
        assert plan.core.size < full.size  # the inside of the polygon was dropped


def test_folder_names_are_safe_and_unique() -> None:
    assert safe_folder("深圳市") == "深圳市"
    bad = safe_folder("../etc/passwd")
    assert "/" not in bad and not bad.startswith(".")
    assert safe_folder("a b") != safe_folder("a_b")


def test_read_partitions_refuses_bad_names(tmp_path: Path) -> None:
    ok = polygons_file(tmp_path / "p.geojson", {"甲": (0, 0, 10, 10), "乙": (10, 0, 20, 10)},
                       "city")
    parts = read_partitions(ok, "city")
    assert parts["name"].tolist() == ["甲", "乙"] and parts.crs.to_epsg() == 4326
    with pytest.raises(StationDataError, match="no field"):
        read_partitions(ok, "name")
    dup = gpd.GeoDataFrame({"city": ["甲", "甲"]}, geometry=list(_polys((0, 0, 1, 1),
                                                                         (1, 0, 2, 1))), crs=CRS)
    dup.to_crs(4326).to_file(tmp_path / "d.geojson", driver="GeoJSON", engine="pyogrio")
    with pytest.raises(StationDataError, match="repeat"):
        read_partitions(tmp_path / "d.geojson", "city")
