"""Near-duplicate benchmark: station lists whose rows all sit at one point.

Before the bounded search (``geo.stations.neardup``), 3,000 rows at one coordinate took
28 s and 3.2 GB and 6,000 exhausted 10 GB: every pair of rows was built in Python.
This measures, for each size (default 3,000 and 16,000 rows, all at one point in
Shenzhen, distinct names and ids):

* ``baseline`` — a bare ``scipy.spatial.cKDTree`` on the same points (UTM metres):
  build it and query each point's nearest other point, the least any neighbour search
  does;
* ``neardup`` — ``find_near_duplicates`` on the accepted stations (flags, the first
  10,000 pairs, the pair count);
* ``validate`` — the whole ``validate_stations`` of the CSV (parsing excluded), which
  includes the near-duplicate search.

Each case runs in its own subprocess, so its peak RSS (``ru_maxrss``, including the
Python / geopandas imports, shown separately as ``import_rss``) is its own. A
``jitter`` case (rows scattered over 1 m, so no two share a point) shows the bound
also holds without identical points.

    python bench/bench_neardup.py [--rows 3000 16000] [--jitter]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SZ = (114.05, 22.54)
CASES = ("baseline", "neardup", "validate")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rows(n: int, jitter: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    spread = 1e-5 if jitter else 0.0  # ~1 m
    return SZ[0] + rng.uniform(0, spread, n), SZ[1] + rng.uniform(0, spread, n)


def _child(case: str, n: int, jitter: bool) -> dict[str, object]:
    import geopandas as gpd
    from scipy.spatial import cKDTree

    from geo.crs import utm_crs_for
    from geo.io.upload import read_upload
    from geo.stations.neardup import find_near_duplicates
    from geo.stations.validation import validate_stations

    lon, lat = _rows(n, jitter)
    out: dict[str, object] = {"case": case, "rows": n, "import_rss_mb": round(_rss_mb())}
    if case == "validate":
        lines = (f"{i:05d},驿站{i},工会驿站,{x!r},{y!r}\n"
                 for i, (x, y) in enumerate(zip(lon.tolist(), lat.tolist(), strict=True)))
        text = "编号,名称,类型,经度,纬度\n" + "".join(lines)
        raw = read_upload("one_point.csv", text.encode("utf-8"))
        out["import_rss_mb"] = round(_rss_mb())
        t = time.perf_counter()
        v = validate_stations(raw, crs="wgs84")
        out["time_s"] = round(time.perf_counter() - t, 3)
        out.update(accepted=len(v.accepted), rejected=len(v.rejected),
                   flagged_rows=v.n_flagged, pairs=v.near.count_text() if v.near else "",
                   listed=len(v.flagged))
    else:
        stations = gpd.GeoDataFrame(
            {"row": np.arange(1, n + 1), "station_id": [f"{i:05d}" for i in range(n)],
             "name": [f"驿站{i}" for i in range(n)]},
            geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
        t = time.perf_counter()
        if case == "baseline":
            metric = stations.geometry.to_crs(utm_crs_for(*SZ))
            xy = np.column_stack([metric.x.to_numpy(), metric.y.to_numpy()])
            tree = cKDTree(xy)
            tree.query(xy, k=2)
        else:
            r = find_near_duplicates(stations)
            out.update(flagged_rows=r.flagged_rows, pairs=r.count_text(), listed=len(r.pairs))
        out["time_s"] = round(time.perf_counter() - t, 3)
    out["peak_rss_mb"] = round(_rss_mb())
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, nargs="+", default=[3000, 16000])
    ap.add_argument("--jitter", action="store_true",
                    help="scatter the rows over ~1 m instead of one point")
    ap.add_argument("--child", nargs=2, metavar=("CASE", "ROWS"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child[0], int(args.child[1]), args.jitter)))
        return 0
    where = "scattered over ~1 m" if args.jitter else "at one point"
    print(f"near-duplicates, rows {where}\n")
    print("| rows | case | time (s) | peak RSS (MB) | import RSS (MB) | flagged rows | pairs "
          "| listed |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for n in args.rows:
        for case in CASES:
            cmd = [sys.executable, __file__, "--child", case, str(n)]
            if args.jitter:
                cmd.append("--jitter")
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                print(f"| {n} | {case} | failed: {proc.stderr.strip().splitlines()[-1]} |")
                continue
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            print(f"| {n:,} | {case} | {r['time_s']} | {r['peak_rss_mb']} | "
                  f"{r['import_rss_mb']} | {r.get('flagged_rows', '–')} | "
                  f"{r.get('pairs', '–')} | {r.get('listed', '–')} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
