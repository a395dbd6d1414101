"""Benchmark of ``yizhan batch`` on Dask distributed: a 21-city synthetic-from-real
province (the real Futian walk network tiled, cut into a 7 × 3 grid of "cities"),
1 vs 2 workers on this machine, the per-city cost, and a projection of the national
case (~350 cities, 180,000 stations) on N workers from the measured per-city cost.

    python bench/bench_batch.py [--tiles 25] [--stations-per-city 100]

Baseline measured in the same run: one whole-network coverage job in this process
(``run_coverage_files``, per-station areas off), the figures the batch must equal.
Each batch run prints its driver phases (``BatchResult.timings_s``: loading, planning,
cluster start, tasks, merge, writing).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

CITIES_X, CITIES_Y = 7, 3
NATIONAL_CITIES, NATIONAL_STATIONS = 350, 180_000


def build_inputs(work: Path, tiles: int, per_city: int) -> dict[str, Path]:
    import geopandas as gpd
    import pandas as pd
    import shapely
    from bench_coverage import random_stations, tiled_network

    from geo.network.loaders import load_network
    from geo.network.model import save_network

    n0 = load_network(ROOT.parent / "shared" / "data" / "osm" /
                      "shenzhen_futian_2023.graphml").n_nodes
    net = tiled_network(tiles * n0)
    net_dir = save_network(net, work / "province")
    st = random_stations(net, per_city * CITIES_X * CITIES_Y).to_crs(4326)
    table = pd.DataFrame(st.drop(columns="geometry"))
    table["lon"], table["lat"] = st.geometry.x, st.geometry.y
    table.to_csv(work / "stations.csv", index=False)
    x0, y0, x1, y1 = net.bounds
    xs = np.linspace(x0 - 100, x1 + 100, CITIES_X + 1)
    ys = np.linspace(y0 - 100, y1 + 100, CITIES_Y + 1)
    boxes = [shapely.box(xs[i], ys[j], xs[i + 1], ys[j + 1])
             for j in range(CITIES_Y) for i in range(CITIES_X)]
    names = [f"城市{k + 1:02d}" for k in range(len(boxes))]
    gpd.GeoDataFrame({"city": names}, geometry=boxes, crs=net.crs).to_crs(4326).to_file(
        work / "cities.geojson", driver="GeoJSON", engine="pyogrio")
    print(f"province: {net.n_nodes:,} nodes, {net.n_edges:,} edges, "
          f"{net.total_length_m / 1000:,.0f} km of street, {len(st):,} stations, "
          f"{len(boxes)} cities")
    return {"network": net_dir, "stations": work / "stations.csv",
            "partitions": work / "cities.geojson"}


def run(inp: dict[str, Path], out: Path, workers: int) -> tuple[float, dict]:
    """Wall time and summary of one batch run; its driver phases are printed."""
    from geo.batch.run import run_batch

    t0 = time.perf_counter()
    res = run_batch(network=inp["network"], stations=inp["stations"],
                    partitions=inp["partitions"], partition_field="city", out_dir=out,
                    workers=workers, cache_dir=None)
    wall = time.perf_counter() - t0
    assert res.complete, res.failed
    phases = {k: round(v, 2) for k, v in res.timings_s.items()}
    print(f"{workers} worker(s): {wall:.1f} s; driver phases (s): {phases}")
    return wall, {**res.summary, "phases_s": phases}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tiles", type=int, default=25, help="Futian copies (default 25)")
    ap.add_argument("--stations-per-city", type=int, default=100)
    args = ap.parse_args(argv)
    from geo.params import CoverageParams
    from geo.pipeline.job import run_coverage_files

    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        work = Path(tmp)
        inp = build_inputs(work, args.tiles, args.stations_per_city)
        t0 = time.perf_counter()
        job = run_coverage_files(inp["network"], inp["stations"], params=CoverageParams())
        whole_s = time.perf_counter() - t0
        print(f"baseline: whole-network coverage job in-process {whole_s:.1f} s, covered "
              f"{job.coverage.covered_length_m:,.1f} m")
        t1, s1 = run(inp, work / "w1", 1)
        t2, s2 = run(inp, work / "w2", 2)
        per_city = np.array([p["wall_s"] for p in s1["partitions"]])
        report = _report(whole_s, t1, t2, s1, s2, per_city, job.coverage.covered_length_m,
                         args.stations_per_city)
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


def _report(whole_s: float, t1: float, t2: float, s1: dict, s2: dict, per_city: np.ndarray,
            whole_covered_m: float, per_city_stations: int) -> dict:
    eff = t1 / (2.0 * t2)
    cost = float(np.median(per_city))
    scale = (NATIONAL_STATIONS / NATIONAL_CITIES) / per_city_stations
    national_city_s = cost * scale  # cost per city grows ~ linearly with its stations
    proj = {n: round(NATIONAL_CITIES * national_city_s / (n * min(1.0, eff)) / 60.0, 1)
            for n in (2, 16, 64, 256)}
    print(f"1 worker {t1:.1f} s, 2 workers {t2:.1f} s: speed-up {t1 / t2:.2f}×, "
          f"scaling efficiency {eff:.0%}; batch(2) / whole-run baseline {t2 / whole_s:.2f}×")
    print(f"per city (1 worker): median {cost:.2f} s, max {per_city.max():.2f} s; national "
          f"projection ({NATIONAL_CITIES} cities, {NATIONAL_STATIONS:,} stations, "
          f"~{national_city_s:.1f} s per city): " +
          ", ".join(f"{n} workers ≈ {m} min" for n, m in proj.items()))
    return {"whole_run_s": round(whole_s, 2), "batch_1_worker_s": round(t1, 2),
            "batch_2_workers_s": round(t2, 2), "speedup": round(t1 / t2, 3),
            "scaling_efficiency": round(eff, 3),
            "batch2_over_whole": round(t2 / whole_s, 3),
            "merged_covered_m_1w": s1["covered_length_m"],
            "merged_covered_m_2w": s2["covered_length_m"],
            "whole_covered_m": round(whole_covered_m, 1),
            "per_city_median_s": round(cost, 3), "per_city_max_s": round(float(per_city.max()), 3),
            "per_city_median_2w_s": round(float(np.median(
                [p["wall_s"] for p in s2["partitions"]])), 3),
            "phases_1w_s": s1["phases_s"], "phases_2w_s": s2["phases_s"],
            "national_minutes_by_workers": proj}


if __name__ == "__main__":
    raise SystemExit(main())
