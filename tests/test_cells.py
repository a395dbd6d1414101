"""H3 analysis cells (:mod:`geo.coverage.cells`), the union by cells, per-station areas on
demand and the job's progress stages, on hand-built and real networks."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pytest
import shapely

from geo.coverage.cells import (
    check_h3_resolution,
    convex_cell_parts,
    h3_cells,
    h3_tiles,
)
from geo.coverage.core import compute_coverage
from geo.coverage.service_areas import (
    area_within,
    merge_parts,
    per_station_polygons,
    service_area_of,
    union_parts,
)
from geo.errors import InvalidParameterError
from geo.io.layers import stations_from_frame
from geo.params import CoverageParams
from geo.pipeline.job import STAGES, run_coverage
from tests import nets


@pytest.fixture(scope="module")
def grid():
    """A 6 × 6 grid of streets 300 m apart (1,500 m square), each street once."""
    nodes = {i * 6 + j: (300.0 * j, 300.0 * i) for i in range(6) for j in range(6)}
    edges = [(i * 6 + j, i * 6 + j + 1) for i in range(6) for j in range(5)]
    edges += [(i * 6 + j, (i + 1) * 6 + j) for i in range(5) for j in range(6)]
    return nets.build_network(nodes, edges)


def _exact_cell_lengths(net, polys: np.ndarray) -> np.ndarray:
    ci, ei = net.edge_tree.query(polys, predicate="intersects")
    inter = shapely.length(shapely.intersection(net.geometry[ei], polys[ci]))
    scale = net.length_m[ei] / net.geometry_length[ei]
    return np.bincount(ci, weights=inter * scale, minlength=polys.size)


@pytest.mark.parametrize("res", [8, 9])
def test_h3_cells_are_valid_indexes_and_attribution_sums_to_total(grid, res: int) -> None:
    cells = h3_cells(grid, resolution=res)
    ids = cells["town_id"].tolist()
    assert ids and all(h3.is_valid_cell(c) and h3.get_resolution(c) == res for c in ids)
    assert len(set(ids)) == len(ids)
    polys = cells.geometry.to_numpy()
    # the cells do not overlap
    assert shapely.area(shapely.union_all(polys)) == pytest.approx(shapely.area(polys).sum(),
                                                                   rel=1e-9)
    parts = convex_cell_parts(grid, polys)
    per_cell = np.bincount(parts["part"], weights=parts["q"] - parts["p"],
                           minlength=len(cells))
    assert per_cell.sum() == pytest.approx(grid.total_length_m, rel=1e-12)
    np.testing.assert_allclose(per_cell, _exact_cell_lengths(grid, polys), atol=1e-6)
    # every cell holds street
    assert (per_cell > 0).all()


def test_h3_resolution_is_checked() -> None:
    assert check_h3_resolution(8) == 8
    for bad in (4, 11, 8.5, True):
        with pytest.raises(InvalidParameterError, match="h3_resolution"):
            check_h3_resolution(bad)


def test_union_by_cells_equals_the_plain_union(grid) -> None:
    st = nets.stations([(150.0, 0.0), (1200.0, 900.0)])
    cov = compute_coverage(grid, st, params=CoverageParams(walk_time_min=6))
    cells = h3_cells(grid, resolution=9)
    tiles = h3_tiles(grid, cells, margin_m=cov.params.buffer_m).geometry.to_numpy()
    parts = union_parts(cov, tiles, workers=1)
    p = cov.merged_pieces
    lines = grid.cut(p["edge"].to_numpy(), p["x0"].to_numpy(), p["x1"].to_numpy())
    plain = shapely.union_all(shapely.buffer(lines, cov.params.buffer_m, quad_segs=4))
    assert shapely.area(parts).sum() == pytest.approx(plain.area, rel=1e-9)
    merged = merge_parts(parts)
    assert merged.area == pytest.approx(plain.area, rel=1e-9)
    assert shapely.symmetric_difference(merged, plain).area < 1e-6 * plain.area
    # covered area per cell = the cell ∩ the union
    cell_polys = cells.geometry.to_numpy()
    expected = shapely.area(shapely.intersection(cell_polys, plain))
    np.testing.assert_allclose(shapely.area(parts[:len(cells)]), expected, rtol=1e-9,
                               atol=1e-3)
    np.testing.assert_allclose(area_within(parts, cell_polys), expected, rtol=1e-9, atol=1e-3)


def test_union_does_not_depend_on_process_count(grid) -> None:
    st = nets.stations([(150.0, 0.0), (1200.0, 900.0), (600.0, 600.0)])
    cov = compute_coverage(grid, st, params=CoverageParams(walk_time_min=6))
    tiles = h3_tiles(grid, h3_cells(grid, resolution=10), margin_m=50.0).geometry.to_numpy()
    one = union_parts(cov, tiles, workers=1)
    two = union_parts(cov, tiles, workers=2)
    assert all(shapely.equals_exact(a, b, tolerance=0.0) for a, b in zip(one, two, strict=True))


def test_service_area_of_one_station_equals_the_full_computation(grid) -> None:
    st = nets.stations([(150.0, 0.0), (1200.0, 900.0), (600.0, 600.0)])
    cov = compute_coverage(grid, st, params=CoverageParams(walk_time_min=6))
    full = per_station_polygons(cov, workers=1).set_index("station_id")
    for sid in ("S0", "S2"):
        one = service_area_of(cov, [sid])
        assert one["station_id"].tolist() == [sid]
        assert one["reach_length_m"].iloc[0] == full.loc[sid, "reach_length_m"]
        assert one.geometry.iloc[0].area == pytest.approx(full.loc[sid].geometry.area,
                                                          rel=1e-9)
        assert shapely.symmetric_difference(one.geometry.iloc[0],
                                            full.loc[sid].geometry).area < 1e-3
    assert len(service_area_of(cov, ["nope"])) == 0


def _table(st: gpd.GeoDataFrame):
    ll = st.to_crs("EPSG:4326")
    import pandas as pd

    return stations_from_frame(pd.DataFrame(ll.drop(columns="geometry")),
                               ll.geometry.to_numpy(), source="test")


def test_job_progress_stages_cells_and_station_areas(grid) -> None:
    calls: list[tuple[str, float]] = []
    st = _table(nets.stations([(150.0, 0.0), (1200.0, 900.0)]))
    job = run_coverage(grid, st, params=CoverageParams(walk_time_min=6),
                       progress=lambda s, f: calls.append((s, f)), per_station_areas=False)
    stages = list(dict.fromkeys(s for s, _ in calls))
    assert stages == ["coverage", "cells", "union", "towns"]
    assert set(stages) <= set(STAGES)
    for s in stages:
        fr = [f for n, f in calls if n == s]
        assert fr[0] == 0.0 and fr[-1] == 1.0 and fr == sorted(fr)
    assert job.areas.per_station is None
    summary = job.summary()
    assert summary["station_areas"]["written"] is False
    cells = summary["analysis_cells"]
    assert cells is not None and cells["system"] == "H3" and cells["resolution"] == 8
    assert "H3" in summary["towns"]["note"]
    towns = job.towns.towns
    assert all(h3.is_valid_cell(c) for c in towns["town_id"])
    assert towns["total_length_m"].sum() == pytest.approx(grid.total_length_m, abs=0.1 * len(towns))
    # covered area per cell sums to the union area
    assert towns["covered_area_m2"].sum() == pytest.approx(job.areas.union_area_m2,
                                                           abs=1.0 * len(towns))
    auto = run_coverage(grid, st, params=CoverageParams(walk_time_min=6), h3_resolution=9)
    assert auto.areas.per_station is not None and len(auto.areas.per_station) == 2
    assert auto.summary()["analysis_cells"]["resolution"] == 9


def test_real_union_within_one_percent_of_exact_buffered_union(futian_graphml: Path) -> None:
    """The union by cells (quad_segs 4, as shipped) against one overlay of every piece's
    buffer with quad_segs 16 (a near-exact circle): within 1 %; the cells' street length
    sums to the network's."""
    from geo.network.loaders import load_network

    net = load_network(futian_graphml)
    rng = np.random.default_rng(3)
    e = rng.choice(net.n_edges, 25, replace=False)
    pts = shapely.line_interpolate_point(net.geometry[e], 0.5, normalized=True)
    st = gpd.GeoDataFrame({"station_id": [f"F{i}" for i in range(25)], "name": "f",
                           "type": nets.STATION_TYPE}, geometry=pts, crs=net.crs)
    cov = compute_coverage(net, st)
    cells = h3_cells(net)
    parts = convex_cell_parts(net, cells.geometry.to_numpy())
    assert (parts["q"] - parts["p"]).sum() == pytest.approx(net.total_length_m, rel=1e-9)
    tiles = h3_tiles(net, cells, margin_m=50.0).geometry.to_numpy()
    ours = shapely.area(union_parts(cov, tiles, workers=2)).sum()
    p = cov.merged_pieces
    p = p.loc[(p["x1"] - p["x0"]) > 0.01]
    lines = net.cut(p["edge"].to_numpy(), p["x0"].to_numpy(), p["x1"].to_numpy())
    exact = shapely.union_all(shapely.buffer(lines, 50.0, quad_segs=16)).area
    assert ours == pytest.approx(exact, rel=0.01)
    assert ours <= exact  # chords inside the circle: never more
