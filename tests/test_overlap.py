"""Station overlap (:mod:`geo.coverage.overlap`): exact shares on squares, and the
tiled face counting against the pairwise union on random service-area-like polygons."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo.coverage.overlap import station_overlap


def test_station_overlap_on_squares() -> None:
    polys = [shapely.box(0, 0, 10, 10), shapely.box(5, 0, 15, 10),
             shapely.box(100, 0, 110, 10), shapely.box(1, 1, 9, 9), shapely.Polygon()]
    per = gpd.GeoDataFrame({"station_id": list("ABCDE")}, geometry=polys, crs="EPSG:32649")
    for tile in (4_000.0, 3.0):  # one tile, and many tiles cutting the squares
        ov = station_overlap(per, threshold=0.95, tile_m=tile)
        # A: B covers x 5–10 (50), D adds x 1–5 y 1–9 (32) → 82 of 100
        assert ov["overlap_share"].tolist()[:4] == pytest.approx([0.82, 0.5, 0.0, 1.0])
        assert math.isnan(ov["overlap_share"].iloc[4])
        assert ov["overlap_neighbours"].tolist() == [2, 2, 0, 2, 0]
        assert ov["review_flag"].tolist() == [False, False, False, True, False]
        assert ov["overlap_top_neighbour"].tolist()[:4] == ["D", "A", None, "A"]


def test_review_flag_needs_both_conditions() -> None:
    """Flagged: ≥ 95 % of the area covered by others AND nearest for < 5 % of its reach."""
    polys = [shapely.box(0, 0, 10, 10), shapely.box(1, 1, 9, 9), shapely.box(2, 2, 8, 8),
             shapely.box(100, 0, 110, 10)]
    per = gpd.GeoDataFrame({"station_id": list("ABCD"),
                            "reach_length_m": [1000.0, 800.0, 600.0, 500.0]},
                           geometry=polys, crs="EPSG:32649")
    # B and C lie inside A; B is nearest for 4 % of its reach, C for 50 %, D alone
    near = np.array([700.0, 32.0, 300.0, 500.0])
    ov = station_overlap(per, nearest_length_m=near)
    assert ov["overlap_share"].tolist()[:3] == pytest.approx([0.64, 1.0, 1.0])
    assert ov["nearest_share"].tolist() == pytest.approx([0.7, 0.04, 0.5, 1.0])
    assert ov["review_flag"].tolist() == [False, True, False, False]
    # the thresholds are parameters
    loose = station_overlap(per, nearest_length_m=near, nearest_share=0.6)
    assert loose["review_flag"].tolist() == [False, True, True, False]
    # without the nearest lengths only the area condition is applied
    assert station_overlap(per)["review_flag"].tolist() == [False, True, True, False]
    assert station_overlap(per)["nearest_share"].isna().all()
    with pytest.raises(ValueError, match="one per row"):
        station_overlap(per, nearest_length_m=near[:2])


def test_station_overlap_empty() -> None:
    for per in (None, gpd.GeoDataFrame({"station_id": []}, geometry=[], crs="EPSG:32649")):
        ov = station_overlap(per)
        assert list(ov.columns) == ["overlap_share", "overlap_neighbours",
                                    "overlap_top_neighbour", "nearest_share", "review_flag"]
        assert len(ov) == 0


def test_station_overlap_matches_pairwise_union_with_holes() -> None:
    rng = np.random.default_rng(7)
    pts = shapely.points(rng.uniform(0, 3_000, size=(12, 2)))
    rings = shapely.buffer(pts, rng.uniform(300, 700, 12))
    holes = shapely.buffer(pts, 80)  # service areas have holes
    geoms = shapely.difference(rings, holes)
    per = gpd.GeoDataFrame({"station_id": [f"S{i}" for i in range(12)]}, geometry=geoms,
                           crs="EPSG:32649")
    ov = station_overlap(per, tile_m=1_000.0)  # tiles cut the polygons
    for i in range(len(geoms)):
        others = shapely.union_all(np.delete(geoms, i))
        exact = shapely.area(shapely.intersection(geoms[i], others)) / shapely.area(geoms[i])
        assert ov["overlap_share"].iloc[i] == pytest.approx(exact, abs=2e-4)
