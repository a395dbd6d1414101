"""Service-area polygons (:mod:`geo.coverage.service_areas`) with hand-computed areas."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import shapely

from geo.coverage.core import compute_coverage
from geo.coverage.service_areas import (
    build_service_areas,
    nearest_split_polygons,
    per_station_polygons,
    union_polygon,
)
from geo.params import CoverageParams
from tests import nets

B = 50.0  # default buffer_m
# quad_segs = 4: a quarter circle is drawn with 4 chords, so a full round cap of radius r
# is a 16-gon of area 8 r² sin(π/8) ≈ 3.0615 r² instead of π r² (−2.5 %).
DISK_16 = 8 * math.sin(math.pi / 8)


@pytest.fixture(scope="module")
def ring():
    # square ring road, 1200 m sides, corners 0 (0,0) 1 (1200,0) 2 (1200,1200) 3 (0,1200)
    return nets.build_network({0: (0, 0), 1: (1200, 0), 2: (1200, 1200), 3: (0, 1200)},
                              [(0, 1), (1, 2), (2, 3), (3, 0)])


# exact areas of the buffered, fully covered ring:
#   outer: a 1300 m square with corners rounded by r = 50: 1300² − (4 − π) 50²
#   hole:  the block minus 50 m on each side: 1100² (sharp inner corners)
RING_OUTER = 1300.0**2 - (4 - math.pi) * B**2
RING_HOLE = 1100.0**2


def l_shape_area(arm: float) -> float:
    """Two perpendicular ``arm`` m streets from one corner, buffered by B (16-gon caps).

    Exact: 2 (2 B arm + π B²) − B² − ¾ π B² (the overlap at the corner: the B × B square
    inside plus three quarter disks); the round parts (two half caps + the outer-corner
    quarter = 1.25 disks) are drawn as 16-gons.
    """
    return 2 * (2 * B * arm + math.pi * B**2) - B**2 - 0.75 * math.pi * B**2 \
        - 1.25 * (math.pi - DISK_16) * B**2


def _check_ring_with_hole(poly):
    assert poly.geom_type == "Polygon"
    assert len(poly.interiors) == 1
    hole = shapely.Polygon(poly.interiors[0])
    assert hole.area == pytest.approx(RING_HOLE, rel=1e-6)
    # the hole is the square [50, 1150]² (local)
    x0, y0, x1, y1 = hole.bounds
    assert (x0 - nets.ORIGIN[0], y0 - nets.ORIGIN[1]) == pytest.approx((50, 50), abs=1e-3)
    assert (x1 - nets.ORIGIN[0], y1 - nets.ORIGIN[1]) == pytest.approx((1150, 1150), abs=1e-3)
    assert shapely.Polygon(poly.exterior).area == pytest.approx(RING_OUTER, rel=0.01)
    assert poly.area == pytest.approx(RING_OUTER - RING_HOLE, rel=0.01)


def test_ring_road_with_four_corner_stations_has_a_hole(ring):
    # budget 1000 from every corner: each side is reached from both ends (600 m each
    # way would do) → the whole 4800 m ring; the 1.2 km block stays a hole.
    cov = compute_coverage(ring, nets.stations([(0, 0), (1200, 0), (1200, 1200), (0, 1200)]),
                           params=CoverageParams())
    assert cov.covered_length_m == pytest.approx(4800.0, abs=1e-6)
    _check_ring_with_hole(union_polygon(cov))


def test_ring_road_one_corner_station_long_budget_has_a_hole(ring):
    # 36 min × 4 km/h = 2400 m: from corner 0 both ways round to the opposite corner
    cov = compute_coverage(ring, nets.stations([(0, 0)]), params=CoverageParams(walk_time_min=36))
    assert cov.covered_length_m == pytest.approx(4800.0, abs=1e-6)
    _check_ring_with_hole(union_polygon(cov))


def test_ring_road_one_corner_station_15_min_is_an_l(ring):
    # budget 1000 from corner 0: 1000 m along each of the two sides → an L, no hole.
    # Exact area: two 1000 m buffers (1000 × 100 + π 50² each) minus their overlap at
    # the corner (the 50 × 50 square inside plus three quarter disks):
    #   2 (100000 + 2500 π) − 2500 − ¾ 2500 π = 197500 + 3125 π ≈ 207317
    cov = compute_coverage(ring, nets.stations([(0, 0)]), params=CoverageParams())
    poly = union_polygon(cov)
    assert poly.geom_type == "Polygon" and len(poly.interiors) == 0
    assert poly.area == pytest.approx(197500 + 3125 * math.pi, rel=0.01)
    # only the two half-disk caps at the far ends and the quarter disk at the outer
    # corner are round: 1.25 disks drawn as 16-gons lose 1.25 (π − DISK_16) r²
    assert poly.area == pytest.approx(l_shape_area(1000.0), rel=1e-6)


def test_straight_street_area():
    # a 1000 m street fully covered from one end: 1000 × 100 + π 50²
    line = nets.build_network([(0, 0), (1000, 0)], [(0, 1)])
    cov = compute_coverage(line, nets.stations([(0, 0)]), params=CoverageParams())
    poly = union_polygon(cov)
    assert poly.area == pytest.approx(1000 * 2 * B + math.pi * B**2, rel=0.01)
    assert poly.area == pytest.approx(1000 * 2 * B + DISK_16 * B**2, rel=1e-6)
    # a wider buffer argument overrides params.buffer_m: 1000 × 200 + π 100²
    wide = union_polygon(cov, buffer_m=100.0)
    assert wide.area == pytest.approx(1000 * 200 + DISK_16 * 100**2, rel=1e-6)
    # half covered (budget 500 from the end): 500 × 100 + π 50²
    half = compute_coverage(line, nets.stations([(0, 0)]),
                            params=CoverageParams(walk_time_min=10, walk_speed_kmh=3))
    assert union_polygon(half).area == pytest.approx(500 * 2 * B + DISK_16 * B**2, rel=1e-6)


def test_straight_street_two_stations_split():
    # stations at x = 300 and 700 on a 1000 m street: nearest split at x = 500. Sample
    # points where the two stations' pieces meet are dropped, so the Voronoi boundary is
    # the bisector of the nearest samples on either side: exactly x = 500 here.
    line = nets.build_network([(0, 0), (1000, 0)], [(0, 1)])
    cov = compute_coverage(line, nets.stations([(300, 0), (700, 10)]), params=CoverageParams())
    sa = build_service_areas(cov, split_nearest=True, workers=1)
    parts = sa.nearest_split.geometry.to_numpy()
    half = 500 * 2 * B + DISK_16 * B**2 / 2
    for a in shapely.area(parts):
        assert a == pytest.approx(half, abs=1 * 2 * B)  # boundary within 1 m
    assert shapely.area(shapely.intersection(parts[0], parts[1])) < 1e-6
    # asymmetric: stations at 300 and 600 → boundary at 450
    cov2 = compute_coverage(line, nets.stations([(300, 0), (600, 10)]),
                            params=CoverageParams())
    a0, a1 = shapely.area(build_service_areas(cov2, split_nearest=True, workers=1)
                          .nearest_split.geometry.to_numpy())
    assert a0 == pytest.approx(450 * 2 * B + DISK_16 * B**2 / 2, abs=2 * B)
    assert a1 == pytest.approx(550 * 2 * B + DISK_16 * B**2 / 2, abs=2 * B)
    # per station: each reaches the whole street (1000 m from either)
    assert sa.per_station["reach_length_m"].tolist() == pytest.approx([1000.0, 1000.0])


def _grid(n: int, spacing: float):
    nodes = {10 * i + j: (spacing * i, spacing * j) for i in range(n) for j in range(n)}
    edges = [(10 * i + j, 10 * (i + 1) + j) for i in range(n - 1) for j in range(n)]
    edges += [(10 * i + j, 10 * i + j + 1) for i in range(n) for j in range(n - 1)]
    return nets.build_network(nodes, edges)


@pytest.fixture(scope="module", params=["grid", "random"])
def grid_cov(request):
    rng = np.random.default_rng(12)
    if request.param == "grid":
        net = _grid(6, 400.0)  # 2 km × 2 km, 60 streets of 400 m
        pts = [tuple(p) for p in rng.uniform(-30, 2030, (6, 2))]
    else:  # with parallel edges, self-loops and lengths ≠ geometry
        net = nets.random_network(rng, n_nodes=60, size_m=3000.0)
        pts = [tuple(p) for p in rng.uniform(0, 3000, (8, 2))]
    return compute_coverage(net, nets.stations(pts),
                            params=CoverageParams(walk_time_min=8, max_snap_m=5000))  # 533 m


def test_union_of_per_station_polygons_is_the_union(grid_cov):
    cov = grid_cov
    union = union_polygon(cov)
    per = per_station_polygons(cov, workers=1)
    assert len(per) == cov.n_sources
    merged = shapely.union_all(per.geometry.to_numpy())
    sym = shapely.area(shapely.symmetric_difference(merged, union))
    assert sym < 1e-6 * union.area
    # per-station reach ≥ its nearest share, areas consistent with the geometry
    np.testing.assert_allclose(per["area_m2"], shapely.area(per.geometry.to_numpy()), atol=0.1)
    assert (per["reach_length_m"] > 0).all()


def test_nearest_split_partitions_the_union(grid_cov):
    cov = grid_cov
    union = union_polygon(cov)
    split = nearest_split_polygons(cov, union)
    parts = split.geometry.to_numpy()
    assert len(parts) == cov.n_sources
    for a, b in itertools.combinations(range(len(parts)), 2):
        assert shapely.area(shapely.intersection(parts[a], parts[b])) < 1e-6 * union.area
    merged = shapely.union_all(parts)
    assert merged.area == pytest.approx(union.area, rel=0.005)
    assert shapely.area(shapely.symmetric_difference(merged, union)) < 1e-6 * union.area
    assert split["area_m2"].sum() == pytest.approx(union.area, rel=1e-6)


def test_per_station_polygons_workers_agree():
    # ≥ 64 stations so the process pool path is taken with workers=2
    net = _grid(8, 300.0)
    rng = np.random.default_rng(21)
    pts = [tuple(p) for p in rng.uniform(0, 2100, (70, 2))]
    cov = compute_coverage(net, nets.stations(pts), params=CoverageParams(walk_time_min=5))
    assert cov.n_sources == 70
    one = per_station_polygons(cov, workers=1)
    two = per_station_polygons(cov, workers=2)
    np.testing.assert_array_equal(one["area_m2"].to_numpy(), two["area_m2"].to_numpy())
    assert one["station_id"].tolist() == two["station_id"].tolist()
    for g1, g2 in zip(one.geometry, two.geometry, strict=True):
        assert shapely.area(shapely.symmetric_difference(g1, g2)) < 1e-6
    # and the union of either equals the union polygon
    union = union_polygon(cov)
    merged = shapely.union_all(two.geometry.to_numpy())
    assert shapely.area(shapely.symmetric_difference(merged, union)) < 1e-6 * union.area


def test_build_service_areas_bundle(ring):
    # two opposite corners, 18 min × 4 km/h = 1200 m each way: each station reaches its
    # two sides to the far corners, together the whole ring; each own area is an L.
    cov = compute_coverage(ring, nets.stations([(0, 0), (1200, 1200)]),
                           params=CoverageParams(walk_time_min=18))
    sa = build_service_areas(cov, per_station=True, split_nearest=True, workers=1)
    assert sa.buffer_m == B
    assert sa.union_area_m2 == pytest.approx(sa.union.area)
    _check_ring_with_hole(sa.union)
    assert sa.per_station["reach_length_m"].tolist() == pytest.approx([2400.0, 2400.0])
    l_area = l_shape_area(1200.0)
    assert sa.per_station["area_m2"].tolist() == pytest.approx([l_area, l_area], rel=1e-6)
    # nearest split: by symmetry half each
    assert sa.nearest_split["area_m2"].tolist() == pytest.approx([sa.union.area / 2] * 2,
                                                                 rel=0.01)
    no_extra = build_service_areas(cov, per_station=False)
    assert no_extra.per_station is None and no_extra.nearest_split is None


def test_covered_area_within_equals_direct_overlay() -> None:
    # the local per-polygon construction gives the same areas as overlaying the union
    from geo.coverage.service_areas import covered_area_within
    from geo.coverage.towns import hex_grid
    from geo.pipeline.job import run_demo

    job = run_demo(per_station_areas=False, union_method="vector")
    cov = job.coverage
    towns = job.towns.towns.geometry.to_numpy()
    grid = hex_grid(job.network.bounds, job.network.crs, size_m=400.0,
                    keep=job.network.geometry).geometry.to_numpy()
    for polys in (towns, grid):
        direct = shapely.area(shapely.intersection(polys, job.areas.union))
        local = covered_area_within(cov, polys, workers=1)
        assert local == pytest.approx(direct, rel=1e-6, abs=1.0)
    assert covered_area_within(cov, towns, workers=1).sum() == pytest.approx(
        job.areas.union_area_m2, rel=1e-6)
    # the default (raster-measured) job: the same figures within the stated 1 %
    raster = run_demo(per_station_areas=False)
    assert raster.areas.method == "raster"
    assert raster.areas.union_area_m2 == pytest.approx(job.areas.union_area_m2, rel=0.01)
    by_id = raster.towns.towns.set_index("town_id")["covered_area_m2"]
    exact = job.towns.towns.set_index("town_id")["covered_area_m2"]
    assert by_id.loc[exact.index].to_numpy() == pytest.approx(exact.to_numpy(), rel=0.01)
