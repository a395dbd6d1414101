"""Inputs for the batch tests (not a test module): a hand-built network cut by two
partitions, written as the files ``yizhan batch`` reads, and task wrappers the Dask
workers import (they must live in an importable module)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from geo.batch.tasks import PartitionOutcome, run_partition
from geo.network.model import WalkNetwork, save_network
from tests.nets import CRS, absolute, build_network

SPACING_M = 100.0
NX, NY = 30, 10
BORDER_X = 1450.0


def grid_network(*, mode: str = "walk") -> WalkNetwork:
    """A 30 × 10 street grid (100 m blocks) with a long diagonal street across the border,
    prepared for ``mode``."""
    nodes = {i + NX * j: (i * SPACING_M, j * SPACING_M) for j in range(NY) for i in range(NX)}
    edges: list[Any] = []
    for j in range(NY):
        for i in range(NX):
            a = i + NX * j
            if i < NX - 1:
                edges.append((a, a + 1))
            if j < NY - 1:
                edges.append((a, a + NX))
    edges.append((12 + NX * 2, 17 + NX * 7, {"via": [(1500.0, 450.0)]}))
    edges.append((3, 3 + NX, {"via": [(260.0, 50.0)], "length": 180.0}))  # parallel detour
    return build_network(nodes, edges, mode=mode)


STATIONS = [  # local metres; B is off the network, the last row is rejected (bad type)
    ("S1", 120, 310), ("S2", 1420, 505), ("S3", 1480, 220), ("S4", 1455, 800),
    ("S5", 2610, 410), ("S6", 2890, 120), ("S7", 700, 700), ("S8", 2050, 850),
    ("FAR", 1500, 3000),
]


def stations_csv(path: Path) -> Path:
    rows = []
    for sid, x, y in STATIONS:
        pt = gpd.GeoSeries([shapely.Point(absolute(x, y))], crs=CRS).to_crs(4326).iloc[0]
        lon, lat = pt.x, pt.y
        rows.append({"station_id": sid, "name": f"驿站{sid}", "type": "工会驿站",
                     "lon": f"{lon:.9f}", "lat": f"{lat:.9f}"})
    rows.append({"station_id": "BAD", "name": "错类型", "type": "便利店", "lon": "113.9",
                 "lat": "22.5"})
    pd.DataFrame(rows).to_csv(path, index=False, encoding="utf-8")
    return path


def _box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return shapely.box(*absolute(x0, y0), *absolute(x1, y1))


def polygons_file(path: Path, boxes: dict[str, tuple[float, float, float, float]],
                  field: str, extra: dict[str, list[Any]] | None = None) -> Path:
    gdf = gpd.GeoDataFrame({field: list(boxes), **(extra or {})},
                           geometry=[_box(*b) for b in boxes.values()], crs=CRS)
    gdf.to_crs(4326).to_file(path, driver="GeoJSON", engine="pyogrio")
    return path


def write_inputs(tmp: Path, *, towns: bool = True) -> dict[str, Path]:
    """The network (prepared), stations, partitions (west / east, the east one stopping
    short of the last streets) and towns (one straddling the border) in ``tmp``."""
    net_dir = save_network(grid_network(), tmp / "net")
    out = {"network": net_dir, "stations": stations_csv(tmp / "stations.csv"),
           "partitions": polygons_file(tmp / "cities.geojson", {
               "西城": (-100, -100, BORDER_X, 1000), "东城": (BORDER_X, -100, 2800, 1000)},
               "city")}
    if towns:
        out["towns"] = polygons_file(tmp / "towns.geojson", {
            "甲街道": (-100, -100, 1000, 1000), "乙街道": (1000, -100, 1900, 1000),
            "丙街道": (1900, -100, 3000, 1000), "空街道": (5000, 5000, 5100, 5100)},
            "name", {"population": [1000, 2500, 1800, 10]})
    return out


def killable_task(spec: Any, *args: Any) -> PartitionOutcome:
    """``run_partition``, except that the first attempt of the partition named in
    ``$YIZHAN_TEST_SLOW`` writes its pid into ``$YIZHAN_TEST_MARK`` and sleeps (to be
    killed)."""
    mark = Path(os.environ.get("YIZHAN_TEST_MARK", "/nonexistent/mark"))
    if spec.name == os.environ.get("YIZHAN_TEST_SLOW") and not mark.exists():
        mark.write_text(str(os.getpid()))
        time.sleep(120)
    return run_partition(spec, *args)


def counting_task(spec: Any, *args: Any) -> PartitionOutcome:
    """``run_partition`` leaving one file per run in ``$YIZHAN_TEST_RUNS``."""
    runs = Path(os.environ["YIZHAN_TEST_RUNS"])
    runs.mkdir(parents=True, exist_ok=True)
    (runs / f"{spec.folder}-{time.time_ns()}").write_text(spec.key)
    return run_partition(spec, *args)


def setenv(name: str, value: str) -> None:
    """Set an environment variable (run on every worker with ``client.run``)."""
    os.environ[name] = value


def assert_same_as_whole(job: Any, out: Path) -> dict[str, float]:
    """The merged outputs in ``out`` equal the whole-network ``job``; returns the
    largest differences seen (for the report)."""
    import json

    import numpy as np

    from geo.pipeline.job import stations_output, summary_dict

    whole = summary_dict(job)
    merged = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert set(whole) <= set(merged)
    d_len = abs(merged["covered_length_m"] - job.coverage.covered_length_m)
    assert d_len <= max(0.051, 1e-6 * job.coverage.covered_length_m)
    assert merged["total_length_m"] == whole["total_length_m"]
    d_area = abs(merged["covered_area_m2"] - job.areas.union_area_m2)
    assert d_area <= 1e-6 * job.areas.union_area_m2 + 0.051
    assert merged["stations"] == whole["stations"]
    assert merged["covered_population_share"] == whole["covered_population_share"]
    assert merged["demand_basis"] == whole["demand_basis"]
    for k in ("count", "is_grid", "street_length_outside_towns_m", "ranking_rule"):
        assert merged["towns"][k] == whole["towns"][k], k
    a = stations_output(job).reset_index(drop=True)
    b = pd.read_csv(out / "stations.csv", dtype={"station_id": str})
    assert list(a.columns) == list(b.columns)
    assert a["station_id"].tolist() == b["station_id"].tolist()
    assert a["status"].tolist() == b["status"].tolist()
    np.testing.assert_allclose(b["snap_dist_m"], a["snap_dist_m"].astype(float), atol=1e-9)
    d_near = float(np.nanmax(np.abs(b["nearest_covered_length_m"].to_numpy(dtype=float)
                                    - a["nearest_covered_length_m"].to_numpy(dtype=float))))
    assert d_near <= 0.11
    ta = pd.DataFrame(job.towns.towns.drop(columns="geometry")).set_index("town_id")
    tb = pd.read_csv(out / "towns.csv", dtype={"town_id": str, "code": str}).set_index("town_id")
    assert sorted(ta.index) == sorted(tb.index)
    tb = tb.loc[ta.index]
    num = [c for c in ta.columns if pd.api.types.is_numeric_dtype(ta[c]) and c != "rank"]
    worst = 0.0
    for c in num:
        x, y = ta[c].to_numpy(dtype=float), tb[c].to_numpy(dtype=float)
        assert np.array_equal(np.isnan(x), np.isnan(y)), c
        ok = ~np.isnan(x)
        tol = {"covered_area_m2": 1.01, "area_m2": 1.01}.get(c, 0.11)
        diff = np.abs(x[ok] - y[ok])
        assert (diff <= np.maximum(tol, 1e-6 * np.abs(x[ok]))).all(), (c, diff.max())
        if c.endswith("length_m"):
            worst = max(worst, float((diff / np.maximum(np.abs(x[ok]), 1.0)).max(initial=0)))
    if not whole["towns"]["is_grid"]:
        assert ta["rank"].tolist() == tb["rank"].tolist()
    note_a = ["" if pd.isna(v) else str(v) for v in ta["walk_time_p90_note"]]
    note_b = ["" if pd.isna(v) else str(v) for v in tb["walk_time_p90_note"]]
    assert note_a == note_b, [(x, y) for x, y in zip(note_a, note_b, strict=True) if x != y]
    return {"covered_length_abs_m": d_len, "covered_area_abs_m2": d_area,
            "station_nearest_abs_m": d_near, "town_length_rel": worst}


def drive_grid_network() -> WalkNetwork:
    """The grid of :func:`grid_network` prepared for driving, with one-way streets and
    several speeds: the row y = 200 one-way eastward and the row y = 600 one-way
    westward (``oneway=-1``), both across the border at x = 1450; the column x = 1500
    one-way northward; the row y = 400 a primary road (50 km/h), the row y = 800
    tagged ``maxspeed=60``; the diagonal across the border one-way; the rest
    residential (30 km/h), two-way."""
    nodes = {i + NX * j: (i * SPACING_M, j * SPACING_M) for j in range(NY) for i in range(NX)}
    edges: list[Any] = []
    for j in range(NY):
        for i in range(NX):
            a = i + NX * j
            if i < NX - 1:
                tags: dict[str, Any] = {}
                if j == 2:
                    tags = {"oneway": "yes", "highway": "tertiary"}
                elif j == 6:
                    tags = {"oneway": "-1"}
                elif j == 4:
                    tags = {"highway": "primary"}
                elif j == 8:
                    tags = {"maxspeed": "60"}
                edges.append((a, a + 1, tags))
            if j < NY - 1:
                edges.append((a, a + NX, {"oneway": "yes"} if i == 15 else {}))
    edges.append((12 + NX * 2, 17 + NX * 7, {"via": [(1500.0, 450.0)], "oneway": "yes"}))
    edges.append((3, 3 + NX, {"via": [(260.0, 50.0)], "length": 180.0}))  # parallel detour
    return build_network(nodes, edges, mode="drive")


#: The stations by car (local metres; FAR is off the network): D1 on the 60 km/h row
#: 850 m west of the border (its minute reaches 150 m into the east: only a halo of the
#: car's reach holds it), D2 just east of the border on the eastward one-way row
#: (reached from upstream, west of the border), S8 on the westward one-way row; few
#: enough to leave streets uncovered.
DRIVE_STATIONS = [("S1", 120, 310), ("D1", 600, 800), ("D2", 1470, 200),
                  ("S8", 2050, 600), ("S5", 2610, 410), ("FAR", 1500, 3000)]


def station_rows(points: list[tuple[str, float, float]]) -> pd.DataFrame:
    """Station CSV rows (WGS-84) at local metres, as :func:`stations_csv` writes them."""
    rows = []
    for sid, x, y in points:
        pt = gpd.GeoSeries([shapely.Point(absolute(x, y))], crs=CRS).to_crs(4326).iloc[0]
        rows.append({"station_id": sid, "name": f"驿站{sid}", "type": "工会驿站",
                     "lon": f"{pt.x:.9f}", "lat": f"{pt.y:.9f}"})
    return pd.DataFrame(rows)


def write_drive_inputs(tmp: Path) -> dict[str, Path]:
    """:func:`write_inputs` with the network of :func:`drive_grid_network` (prepared for
    driving) and the stations :data:`DRIVE_STATIONS` (+ a rejected row)."""
    out = write_inputs(tmp)
    out["network"] = save_network(drive_grid_network(), tmp / "drive-net")
    bad = pd.DataFrame([{"station_id": "BAD", "name": "错类型", "type": "便利店",
                         "lon": "113.9", "lat": "22.5"}])
    out["stations"] = tmp / "drive-stations.csv"
    pd.concat([station_rows(DRIVE_STATIONS), bad], ignore_index=True).to_csv(
        out["stations"], index=False, encoding="utf-8")
    return out
