"""Snapping stations to the nearest street *point* (:mod:`geo.coverage.snap`)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geo.coverage.snap import STATUS_OFF, STATUS_USED, snap_points, snap_stations
from geo.errors import CRSError, InvalidParameterError
from tests import nets


@pytest.fixture(scope="module")
def bent():
    # edge 0: L-shaped 0 (0,0) → (400,0) → 1 (400,300), geometry 700 m, explicit
    #         length_m 1400 (a street twice as long as drawn, e.g. steps / slopes)
    # edge 1: 1 (400,300) → 2 (1000,300), 600 m, length from geometry
    return nets.build_network(
        [(0, 0), (400, 300), (1000, 300)],
        [(0, 1, {"via": [(400, 0)], "length": 1400.0}), (1, 2)],
    )


def test_snap_to_interior_of_a_bent_edge(bent):
    # (420, 100): nearest point (400, 100) on the vertical leg, 20 m away; 400 + 100 =
    # 500 m along a 700 m geometry = 5/7 of the edge → offset 5/7 × 1400 = 1000 m.
    r = snap_points(bent, np.array([shapely.Point(nets.absolute(420, 100))]))
    assert r["edge"].tolist() == [nets.edge_index(bent, 0, 1)]
    assert r["snap_dist_m"][0] == pytest.approx(20.0, abs=1e-6)
    assert r["offset_m"][0] == pytest.approx(1000.0, abs=1e-5)
    assert (r["snap_x"][0], r["snap_y"][0]) == pytest.approx(nets.absolute(400, 100), abs=1e-6)


def test_snap_offset_is_measured_from_u(bent):
    # (900, 310): 10 m off edge 1–2, 500 m from node 1 and 100 m from node 2; the
    # offset counts from the edge's u end, whichever node that is.
    r = snap_points(bent, np.array([shapely.Point(nets.absolute(900, 310))]))
    e = nets.edge_index(bent, 1, 2)
    assert r["edge"][0] == e
    from_u = 500.0 if bent.node_id[bent.edge_u[e]] == 1 else 100.0
    assert r["offset_m"][0] == pytest.approx(from_u, abs=1e-6)
    assert r["snap_dist_m"][0] == pytest.approx(10.0, abs=1e-6)


def test_snap_beyond_the_end_clamps_to_the_node(bent):
    # (1100, 300) is 100 m east of node 2, the end of the network: snaps onto node 2.
    r = snap_points(bent, np.array([shapely.Point(nets.absolute(1100, 300))]))
    e = nets.edge_index(bent, 1, 2)
    assert r["edge"][0] == e
    at_v = bent.node_id[bent.edge_v[e]] == 2
    assert r["offset_m"][0] == pytest.approx(600.0 if at_v else 0.0, abs=1e-6)
    assert r["snap_dist_m"][0] == pytest.approx(100.0, abs=1e-6)


def test_snap_stations_status_and_threshold(bent):
    # distances to the network: 20 (A), 150 − 1 µm (B, above node 2; the threshold is
    # inclusive), 150.5 (C), and a missing geometry (D)
    st = nets.stations([(420, 100), (1000, 450 - 1e-6), (1000, 450.5), (0, 0)],
                       ids=["A", "B", "C", "D"])
    st.loc[3, "geometry"] = None
    out = snap_stations(bent, st, max_snap_m=150.0)
    assert out["status"].tolist() == [STATUS_USED, STATUS_USED, STATUS_OFF, STATUS_OFF]
    assert out["snap_dist_m"].iloc[:3].tolist() == pytest.approx([20.0, 150.0, 150.5], abs=1e-6)
    assert out["snap_edge"].iloc[2] == -1 and out["snap_edge"].iloc[3] == -1
    assert np.isnan(out["snap_offset_m"].iloc[2]) and np.isnan(out["snap_x"].iloc[2])
    assert "(> max_snap_m 150 m)" in out["status_reason"].iloc[2]
    assert out["status_reason"].iloc[3] == "no point geometry"
    assert out["status_reason"].iloc[0] == ""
    # input untouched, all input columns kept
    assert "status" not in st.columns
    assert list(out.columns[:4]) == list(st.columns[:4])


def test_snap_stations_rejects_bad_input(bent):
    st = nets.stations([(420, 100)])
    with pytest.raises(CRSError):
        snap_stations(bent, st.to_crs("EPSG:4326"))
    with pytest.raises(InvalidParameterError):
        snap_stations(bent, st, max_snap_m=-1.0)
    with pytest.raises(InvalidParameterError):
        snap_stations(bent, st, max_snap_m=float("nan"))


def test_snap_zero_threshold_accepts_only_points_on_streets(bent):
    st = nets.stations([(400, 100), (401, 100)])
    out = snap_stations(bent, st, max_snap_m=0.0)
    # the first lies on the street (distance ~1e-10 after the CRS round trip)
    assert out["snap_dist_m"].iloc[0] < 1e-6
    assert out["status"].iloc[1] == STATUS_OFF


def test_snap_many_random_points_match_brute_force():
    rng = np.random.default_rng(5)
    net = nets.random_network(rng, n_nodes=40, size_m=2000.0)
    pts = shapely.points(rng.uniform(0, 2000, (200, 2)) + np.array(nets.ORIGIN))
    r = snap_points(net, pts)
    d_all = shapely.distance(net.geometry[None, :], pts[:, None])  # (200, n_edges)
    np.testing.assert_allclose(r["snap_dist_m"], d_all.min(axis=1), atol=1e-6)
    # the snapped point lies on its edge, at the reported distance from the station
    snapped = shapely.points(r["snap_x"], r["snap_y"])
    assert (shapely.distance(net.geometry[r["edge"]], snapped) < 1e-6).all()
    np.testing.assert_allclose(shapely.distance(snapped, pts), r["snap_dist_m"], atol=1e-6)
    # offset = fraction along the geometry × length_m
    along = shapely.line_locate_point(net.geometry[r["edge"]], snapped)
    frac = along / shapely.length(net.geometry[r["edge"]])
    np.testing.assert_allclose(r["offset_m"], frac * net.length_m[r["edge"]], atol=1e-5)
    assert ((r["offset_m"] >= 0) & (r["offset_m"] <= net.length_m[r["edge"]])).all()
