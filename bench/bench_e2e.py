"""End to end: ``yizhan coverage`` on a prepared synthetic-from-real network, timed per stage.

Builds the tiled Futian network of ``bench_coverage.py`` (≥ ``--nodes`` nodes), saves it
as a prepared network, writes ``--stations`` random stations as CSV, then runs the real
command ``yizhan coverage --network DIR --stations CSV --out OUT --quiet`` (no towns: H3
cells) in a subprocess and reads its ``summary.json`` timings; measured in the same run:
a bare scipy multi-source pass from the stations' nearest nodes (the floor), the per-
station service area of one station on demand, and the command's peak RSS.

    python bench/bench_e2e.py                          # 294k nodes, 2,000 stations
    python bench/bench_e2e.py --nodes 294000 --stations 1000,2000,4000,8000,16000
    python bench/bench_e2e.py --stations 2000 --area-check   # + area vs exact union
    python bench/bench_e2e.py --profile drive --stations 20,2000  # a drive-road extract
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_coverage import FUTIAN, random_stations, tiled_network


def _paired_pass_s(net, stations, budget_m: float, rounds: int = 5) -> tuple[float, float]:
    """(bare pass s, coverage pass s): medians of back-to-back pairs in this process, so
    that load from other users hits both alike."""
    import shapely
    from scipy.sparse import csgraph

    from geo.coverage.core import compute_coverage

    tree = shapely.STRtree(shapely.points(net.node_x, net.node_y))
    src = np.unique(tree.query_nearest(stations.geometry.to_numpy())[1])
    csr = net.csr
    compute_coverage(net, stations)  # warm-up (edge tree, CSR)
    bare, ours = [], []
    for _ in range(rounds):
        t = time.perf_counter()
        csgraph.dijkstra(csr, directed=True, indices=src, min_only=True, limit=budget_m)
        bare.append(time.perf_counter() - t)
        ours.append(compute_coverage(net, stations).timings_s["coverage"])
    return float(np.median(bare)), float(np.median(ours))


def area_check(net, stations, *, windows: int = 3, size_m: float = 4000.0,
               seed: int = 11) -> list[dict[str, float]]:
    """The grid-measured area (as shipped) against an exact buffered union in square
    windows of the network: every covered piece within reach of the window buffered with
    ``quad_segs=32`` (128 chords per circle), unioned, clipped to the window."""
    import shapely

    from geo.coverage.core import compute_coverage
    from geo.coverage.raster import raster_union

    cov = compute_coverage(net, stations)
    p = cov.merged_pieces
    p = p.loc[(p["x1"] - p["x0"]) > 0.01]
    lines = net.cut(p["edge"].to_numpy(), p["x0"].to_numpy(), p["x1"].to_numpy())
    mid = shapely.get_coordinates(shapely.centroid(lines))
    rng = np.random.default_rng(seed)
    centres = mid[rng.choice(mid.shape[0], windows, replace=False)]
    boxes = shapely.box(centres[:, 0] - size_m / 2, centres[:, 1] - size_m / 2,
                        centres[:, 0] + size_m / 2, centres[:, 1] + size_m / 2)
    ours = raster_union(cov, polygons=boxes, geometry=False, workers=2).within_m2
    tree = shapely.STRtree(lines)
    out = []
    for box, a in zip(boxes, ours, strict=True):
        near = tree.query(shapely.buffer(box, cov.params.buffer_m + 1.0))
        exact = shapely.union_all(shapely.buffer(lines[near], cov.params.buffer_m,
                                                 quad_segs=32))
        e = float(shapely.area(shapely.intersection(exact, box)))
        out.append({"exact_km2": round(e / 1e6, 4), "grid_km2": round(a / 1e6, 4),
                    "rel_err": round(a / e - 1.0, 5), "pieces": int(near.size)})
    return out


def _on_demand_s(net, stations) -> tuple[float, float]:
    from geo.coverage.core import compute_coverage
    from geo.coverage.service_areas import service_area_of

    cov = compute_coverage(net, stations)
    ids = cov.used["station_id"].tolist()
    service_area_of(cov, [ids[0]])  # warm-up (incidence, cutter)
    times = []
    for sid in ids[1:11]:
        t = time.perf_counter()
        service_area_of(cov, [sid])
        times.append(time.perf_counter() - t)
    return float(np.median(times)), float(np.max(times))


def run_one(net_dir: Path, net, n_stations: int, work: Path) -> dict[str, object]:
    st = random_stations(net, n_stations)
    ll = st.to_crs("EPSG:4326")
    csv = work / f"stations_{n_stations}.csv"
    import pandas as pd

    pd.DataFrame({"station_id": st["station_id"], "name": st["name"], "type": st["type"],
                  "lon": ll.geometry.x, "lat": ll.geometry.y}).to_csv(csv, index=False)
    out = work / f"out_{n_stations}"
    cmd = [sys.executable, "-m", "geo.cli", "coverage", "--network", str(net_dir),
           "--stations", str(csv), "--out", str(out), "--quiet"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    bare, ours = _paired_pass_s(net, st, 1000.0)
    on_demand, on_demand_max = _on_demand_s(net, st)
    return {"nodes": net.n_nodes, "stations": n_stations, "e2e_s": round(wall, 2),
            "e2e_cpu_s": round(cpu, 2), "bare_s": round(bare, 4),
            "coverage_pass_s": round(ours, 4),
            "coverage_over_bare": round(ours / bare, 2),
            "timings_s": summary["timings_s"], "cells": summary["towns"]["count"],
            "covered_area_km2": round(summary["covered_area_m2"] / 1e6, 2),
            "station_areas_written": summary["station_areas"]["written"],
            "on_demand_area_s": round(on_demand, 3),
            "on_demand_area_max_s": round(on_demand_max, 3),
            "peak_rss_gb_max_child": round(rss, 2),
            "construction": summary["params"].get("service_area_construction"),
            "load_avg_1min": round(os.getloadavg()[0], 2)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=294_000)
    ap.add_argument("--stations", default="2000", help="comma-separated station counts")
    ap.add_argument("--profile", choices=("walk", "drive"), default="walk",
                    help="tile Futian's walk streets (default) or its car streets (a "
                         "drive-road extract, walked: the sparse case)")
    ap.add_argument("--area-check", action="store_true",
                    help="also compare the grid-measured area with an exact buffered union "
                         "in 4 km windows (first station count)")
    args = ap.parse_args(argv)
    if not FUTIAN.is_file():
        print(f"SKIP: {FUTIAN} not found (the shared real data is needed)")
        return 0
    from geo.network.model import save_network

    net = tiled_network(args.nodes, profile=args.profile)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        net_dir = save_network(net, work / "network")
        for n in (int(s) for s in args.stations.split(",")):
            r = run_one(Path(net_dir), net, n, work)
            print(json.dumps(r, ensure_ascii=False), flush=True)
            rows.append(r)
    print()
    print("| nodes | stations | e2e s | e2e CPU s | bare s | coverage s | coverage/bare | "
          "cells s | union s | towns s | area km² | on-demand area s (median / max of 10) | "
          "peak RSS GB | load |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        t = r["timings_s"]
        assert isinstance(t, dict)
        print(f"| {r['nodes']:,} | {r['stations']:,} | {r['e2e_s']} | {r['e2e_cpu_s']} | "
              f"{r['bare_s']} | {r['coverage_pass_s']} | {r['coverage_over_bare']}× | "
              f"{t.get('cells')} | {t.get('service_areas')} | {t.get('towns')} | "
              f"{r['covered_area_km2']} | {r['on_demand_area_s']} / {r['on_demand_area_max_s']} | "
              f"{r['peak_rss_gb_max_child']} | {r['load_avg_1min']} |")
    for a, b in itertools.pairwise(rows):
        print(f"doubling {a['stations']:,} → {b['stations']:,} stations: "
              f"×{float(b['e2e_s']) / float(a['e2e_s']):.2f} end to end, "
              f"×{float(b['e2e_cpu_s']) / float(a['e2e_cpu_s']):.2f} CPU")
    if args.area_check:
        st = random_stations(net, int(args.stations.split(",")[0]))
        for row in area_check(net, st):
            print("area check (4 km window):", json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
