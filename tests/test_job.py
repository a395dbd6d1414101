"""Tests of :mod:`geo.pipeline.job`: the headless job on a hand-built grid and on the demo."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.errors import NoStationsOnNetworkError
from geo.io.layers import LayerTable, polygons_from_frame, stations_from_frame
from geo.network.loaders import file_sha256
from geo.network.model import WalkNetwork, prepare_network
from geo.network.raw import RAW_TAG_COLUMNS, RawStreets
from geo.params import CoverageParams
from geo.pipeline.demo import UNDERSERVED_ZONE_ID
from geo.pipeline.job import (
    CoverageJob,
    run_coverage,
    run_coverage_files,
    run_demo,
    stations_output,
    summary_dict,
    write_outputs,
)

LON0, LAT0 = 113.30, 23.10
STEP = 0.001  # ≈ 102 m of longitude, ≈ 111 m of latitude at 23.1° N


def grid_raw(n: int = 5) -> RawStreets:
    """An n × n grid of residential streets, each undirected street once."""
    ids, lon, lat = [], [], []
    for j in range(n):
        for i in range(n):
            ids.append(1 + i + n * j)
            lon.append(LON0 + STEP * i)
            lat.append(LAT0 + STEP * j)
    rows = []
    for j in range(n):
        for i in range(n):
            a = 1 + i + n * j
            for b, ok in ((a + 1, i < n - 1), (a + n, j < n - 1)):
                if ok:
                    rows.append({"u": a, "v": b, "geometry": shapely.LineString(
                        [(lon[a - 1], lat[a - 1]), (lon[b - 1], lat[b - 1])]),
                        "length_m": np.nan, **dict.fromkeys(RAW_TAG_COLUMNS),
                        "highway": "residential", "osmid": str(a * 100 + b)})
    edges = pd.DataFrame(rows).astype({c: object for c in RAW_TAG_COLUMNS})
    return RawStreets(node_id=np.array(ids, dtype=np.int64), node_lon=np.array(lon),
                      node_lat=np.array(lat), edges=edges, source="grid")


@pytest.fixture(scope="module")
def grid_net() -> WalkNetwork:
    return prepare_network(grid_raw())


def station_table(rows: list[tuple[str, str, str, str, str]]) -> LayerTable:
    df = pd.DataFrame(rows, columns=["station_id", "name", "type", "lon", "lat"])
    return stations_from_frame(df.astype(str), source="test")


STATION_ROWS = [
    ("A", "中心站", "工会驿站", f"{LON0 + 2 * STEP}", f"{LAT0 + 2 * STEP}"),  # centre node
    ("B", "远站", "司机之家", "113.50", "23.30"),                             # off-network
    ("C", "无类型", "便利店", f"{LON0}", f"{LAT0}"),                          # rejected
    ("A", "重复", "工会驿站", f"{LON0}", f"{LAT0}"),                           # rejected
]


def test_run_coverage_on_grid(grid_net: WalkNetwork, tmp_path: Path) -> None:
    st = station_table(STATION_ROWS)
    assert st.rows_in == 4 and len(st.accepted) == 2
    job = run_coverage(grid_net, st, params=CoverageParams(walk_time_min=15))
    assert isinstance(job, CoverageJob)
    # 40 streets of ≈ 102 / 111 m = ≈ 4,262 m; every point is ≤ 4 blocks ≈ 430 m
    # from the centre, so the whole grid is within 1,000 m
    assert grid_net.n_edges == 40
    assert job.coverage.covered_length_m == pytest.approx(grid_net.total_length_m, rel=1e-9)
    s = summary_dict(job)
    assert s["stations"] == {"input": 4, "rejected": 2, "used": 1, "off_network": 1,
                             "by_type": {"工会驿站": 1, "职工服务中心": 0, "爱心妈妈小屋": 0,
                                         "司机之家": 1, "户外劳动者服务站": 0, "other": 0}}
    assert s["covered_length_share"] == pytest.approx(1.0)
    # no towns given: hexagonal analysis cells, street-length demand
    assert s["towns"]["is_grid"] is True
    assert s["demand_basis"] == "street_length"
    assert s["covered_population_share"] is None
    assert "hexagonal" in s["towns"]["note"]
    assert s["zones"] is None and s["bases"] is None
    assert set(s["timings_s"]) >= {"snap", "coverage", "service_areas", "towns"}
    json.dumps(s)  # plain JSON types only
    # stations output: one row per input row, rejected rows with reasons
    out = stations_output(job)
    assert len(out) == st.rows_in
    assert out["status"].tolist() == ["used", "off_network", "rejected", "rejected"]
    assert out.loc[0, "snap_dist_m"] == pytest.approx(0.0, abs=0.01)
    assert out.loc[1, "snap_dist_m"] > 20_000
    assert "max_snap_m" in out.loc[1, "status_reason"]
    assert out.loc[2, "status_reason"].startswith("unknown type")
    assert out.loc[3, "status_reason"].startswith("duplicate station_id")
    assert out["input_row"].tolist()[2:] == [3, 4]
    assert out.loc[0, "lon"] == pytest.approx(LON0 + 2 * STEP)
    assert out.loc[0, "nearest_covered_length_m"] == pytest.approx(grid_net.total_length_m,
                                                                   abs=0.1)
    paths = write_outputs(job, tmp_path / "out")
    assert set(paths) == {"summary.json", "stations.csv", "service_areas.geojson",
                          "coverage.geojson", "towns.csv", "towns.geojson"}
    csv = pd.read_csv(paths["stations.csv"], dtype=str, keep_default_na=False)
    assert csv["station_id"].tolist() == ["A", "B", "C", "A"]


def test_all_rejected_or_all_off_network(grid_net: WalkNetwork) -> None:
    st = station_table([("X", "", "工会驿站", "113.3", "23.1")])
    with pytest.raises(NoStationsOnNetworkError, match="rejected"):
        run_coverage(grid_net, st)
    far = station_table([("Y", "远", "工会驿站", "113.9", "23.9")])
    with pytest.raises(NoStationsOnNetworkError, match="max_snap_m") as info:
        run_coverage(grid_net, far)
    assert info.value.exit_code == 7


def test_zone_rejections_are_counted(grid_net: WalkNetwork) -> None:
    good = shapely.box(LON0 - 0.0005, LAT0 - 0.0005, LON0 + 0.0015, LAT0 + 0.0005)
    bowtie = shapely.Polygon([(LON0, LAT0), (LON0 + 0.001, LAT0 + 0.001),
                              (LON0 + 0.001, LAT0), (LON0, LAT0 + 0.001)])
    zones = polygons_from_frame(
        gpd.GeoDataFrame({"zone_id": ["Z1", "Z2"], "name": ["好", "坏"]},
                         geometry=[good, bowtie], crs="EPSG:4326"), id_column="zone_id")
    assert len(zones.rejected) == 1
    job = run_coverage(grid_net, station_table(STATION_ROWS[:1]), zones=zones)
    s = summary_dict(job)
    assert s["zones"]["count"] == 1
    assert s["zones"]["rejected"] == 1
    assert s["zones"]["without_station_within_threshold"] == []


def test_run_coverage_files_records_inputs(tmp_path: Path) -> None:
    from geo.pipeline.demo import write_demo_inputs

    paths = write_demo_inputs(tmp_path / "in")
    job = run_coverage_files(paths["streets"], paths["stations"], towns_path=paths["towns"],
                             cache_dir=tmp_path / "cache")
    inputs = job.inputs
    assert inputs["network"]["sha256"] == file_sha256(paths["streets"])
    assert inputs["stations"]["sha256"] == file_sha256(paths["stations"])
    assert inputs["towns"]["path"] == str(paths["towns"])
    assert inputs["zones"] is None and inputs["bases"] is None
    assert set(job.timings_s) >= {"load_network", "snap", "coverage", "service_areas",
                                  "towns"}
    assert job.towns.demand_basis == "population" and not job.towns.is_grid
    assert job.region_name == "streets.graphml"


@pytest.fixture(scope="module")
def demo_job() -> CoverageJob:
    return run_demo()


def test_demo_job_summary(demo_job: CoverageJob) -> None:
    s = summary_dict(demo_job)
    assert s["synthetic_data"] is True and "synthetic" in s["disclaimer"]
    assert s["stations"]["input"] == 32
    assert s["stations"]["used"] + s["stations"]["off_network"] + s["stations"]["rejected"] \
        == s["stations"]["input"]
    assert s["stations"]["off_network"] == 2
    assert 0 < s["covered_length_m"] < s["total_length_m"]
    assert s["total_length_m"] == s["network"]["total_length_m"]
    assert s["network"]["dropped_edges"] == 6
    towns = demo_job.towns.towns
    pop = towns["population"].sum()
    assert s["covered_population_share"] == pytest.approx(
        towns["covered_population"].sum() / pop, abs=1e-6)
    assert s["zones"]["without_station_within_threshold"] == [UNDERSERVED_ZONE_ID]
    assert s["bases"]["count"] == 2
    assert s["towns"]["count"] == 6
    assert s["towns"]["most_underserved"][0] == towns.sort_values("rank")["name"].iloc[0]
    # the covered area is the area of the union written to coverage.geojson
    assert s["covered_area_m2"] == pytest.approx(demo_job.areas.union_area_m2, abs=0.1)
    # the per-station areas are within the union
    per = demo_job.areas.per_station
    assert len(per) == s["stations"]["used"]
    assert shapely.union_all(per.geometry.to_numpy()).area == pytest.approx(
        demo_job.areas.union_area_m2, rel=1e-3)


def test_precomputed_units_and_methods_agree(demo_job: CoverageJob) -> None:
    """The app's path: analysis units built once and passed in give the same figures;
    the raster-measured area is within 1 % of the vector overlay; the written summary
    says how the union was built."""
    from geo.pipeline.job import analysis_units
    from geo.pipeline.region import demo_region

    region = demo_region()
    units = analysis_units(region.network, region.towns)
    again = run_demo(units=units)
    pd.testing.assert_frame_equal(pd.DataFrame(again.towns.towns.drop(columns="geometry")),
                                  pd.DataFrame(demo_job.towns.towns.drop(columns="geometry")))
    assert again.areas.union_area_m2 == demo_job.areas.union_area_m2
    vector = run_demo(union_method="vector", per_station_areas=False)
    assert demo_job.areas.method == "raster" and vector.areas.method == "vector"
    assert demo_job.areas.union_area_m2 == pytest.approx(vector.areas.union_area_m2, rel=0.01)
    # the drawn contour is close to the vector union too
    assert demo_job.areas.union.area == pytest.approx(vector.areas.union.area, rel=0.02)
    assert "grid" in summary_dict(demo_job)["params"]["service_area_construction"]
