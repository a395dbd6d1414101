"""End to end: ``yizhan coverage`` on a prepared synthetic-from-real network, timed per stage.

Builds the tiled Futian network of ``bench_coverage.py`` (≥ ``--nodes`` nodes), saves it
as a prepared network, writes ``--stations`` random stations as CSV, then runs the real
command ``yizhan coverage --network DIR --stations CSV --out OUT --quiet`` (no towns: H3
cells) in a subprocess and reads its ``summary.json`` timings; measured in the same run:
a bare scipy multi-source pass from the stations' nearest nodes (the floor), the per-
station service area of one station on demand, and the command's peak RSS.

    python bench/bench_e2e.py                          # 294k nodes, 2,000 stations
    python bench/bench_e2e.py --nodes 294000 --stations 1000,2000,4000,8000,16000
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


def _bare_pass_s(net, stations, budget_m: float) -> float:
    import shapely
    from scipy.sparse import csgraph

    tree = shapely.STRtree(shapely.points(net.node_x, net.node_y))
    src = np.unique(tree.query_nearest(stations.geometry.to_numpy())[1])
    csr = net.csr
    times = []
    for _ in range(3):
        t = time.perf_counter()
        csgraph.dijkstra(csr, directed=True, indices=src, min_only=True, limit=budget_m)
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def _on_demand_s(net, stations) -> float:
    from geo.coverage.core import compute_coverage
    from geo.coverage.service_areas import service_area_of

    cov = compute_coverage(net, stations)
    ids = cov.used["station_id"].tolist()
    service_area_of(cov, [ids[0]])  # warm-up (incidence, cutter)
    times = []
    for sid in ids[1:6]:
        t = time.perf_counter()
        service_area_of(cov, [sid])
        times.append(time.perf_counter() - t)
    return float(np.median(times))


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
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    bare = _bare_pass_s(net, st, 1000.0)
    return {"nodes": net.n_nodes, "stations": n_stations, "e2e_s": round(wall, 2),
            "bare_s": round(bare, 4),
            "coverage_over_bare": round(summary["timings_s"]["coverage"] / bare, 2),
            "timings_s": summary["timings_s"], "cells": summary["towns"]["count"],
            "covered_area_km2": round(summary["covered_area_m2"] / 1e6, 2),
            "station_areas_written": summary["station_areas"]["written"],
            "on_demand_area_s": round(_on_demand_s(net, st), 3),
            "peak_rss_gb_max_child": round(rss, 2),
            "construction": summary["params"].get("service_area_construction"),
            "load_avg_1min": round(os.getloadavg()[0], 2)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=294_000)
    ap.add_argument("--stations", default="2000", help="comma-separated station counts")
    args = ap.parse_args(argv)
    if not FUTIAN.is_file():
        print(f"SKIP: {FUTIAN} not found (the shared real data is needed)")
        return 0
    from geo.network.model import save_network

    net = tiled_network(args.nodes)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        net_dir = save_network(net, work / "network")
        for n in (int(s) for s in args.stations.split(",")):
            r = run_one(Path(net_dir), net, n, work)
            print(json.dumps(r, ensure_ascii=False), flush=True)
            rows.append(r)
    print()
    print("| nodes | stations | e2e s | bare s | coverage/bare | coverage s | cells s | "
          "union s | towns s | H3 cells | on-demand area s | load |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        t = r["timings_s"]
        assert isinstance(t, dict)
        print(f"| {r['nodes']:,} | {r['stations']:,} | {r['e2e_s']} | {r['bare_s']} | "
              f"{r['coverage_over_bare']}× | {t.get('coverage')} | {t.get('cells')} | "
              f"{t.get('service_areas')} | {t.get('towns')} | {r['cells']:,} | "
              f"{r['on_demand_area_s']} | {r['load_avg_1min']} |")
    for a, b in itertools.pairwise(rows):
        print(f"doubling {a['stations']:,} → {b['stations']:,} stations: "
              f"×{float(b['e2e_s']) / float(a['e2e_s']):.2f} end to end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
