"""App speed and map size: reruns with cached results, and a 16,000-station map.

Prints, measured in the same run:

* ``demo``: the first run of the app on the demo region (computes everything), then the
  median of reruns once results are cached (target ≤ 2 s), via Streamlit's AppTest;
* ``province``: a 16,000-station map on a ≥ 500k-node synthetic-from-real network
  (see ``bench_coverage.py``): time to prepare the display layers, to build and render
  the folium map, and the HTML size (target ≤ 3 MB).

    python bench/bench_app.py            # both
    python bench/bench_app.py --demo     # only the demo reruns
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def bench_demo(reruns: int = 5) -> dict[str, float]:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    t = time.perf_counter()
    at.run()
    first = time.perf_counter() - t
    assert not at.exception, at.exception
    times = []
    for _ in range(reruns):
        t = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - t)
    at.switch_page("pages/towns.py")
    at.run()
    t_towns = []
    for _ in range(reruns):
        t = time.perf_counter()
        at.run()
        t_towns.append(time.perf_counter() - t)
    return {"first_run_s": round(first, 2), "map_rerun_s": round(float(np.median(times)), 3),
            "towns_rerun_s": round(float(np.median(t_towns)), 3)}


def bench_province(n_nodes: int = 500_000, n_stations: int = 16_000) -> dict[str, float]:
    from bench_coverage import random_stations, tiled_network

    from geo.io.layers import stations_from_frame
    from geo.pipeline.job import run_coverage
    from geo.webmap.maps import build_map, map_data
    from geo.webmap.offline import localize

    net = tiled_network(n_nodes)
    st = random_stations(net, n_stations).to_crs(4326)
    import pandas as pd

    table = stations_from_frame(pd.DataFrame(st.drop(columns="geometry")),
                                st.geometry.to_numpy(), source="bench")
    t = time.perf_counter()
    job = run_coverage(net, table, per_station_areas=False)
    job_s = time.perf_counter() - t
    t = time.perf_counter()
    data = map_data(job)
    data_s = time.perf_counter() - t
    t = time.perf_counter()
    html = localize(build_map(data)).get_root().render()
    render_s = time.perf_counter() - t
    return {"nodes": net.n_nodes, "stations": n_stations, "job_s": round(job_s, 1),
            "map_data_s": round(data_s, 2), "build_render_s": round(render_s, 2),
            "html_mb": round(len(html.encode("utf-8")) / 1e6, 2)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--demo", action="store_true", help="only the demo reruns")
    args = ap.parse_args()
    res = {"demo": bench_demo()}
    print(json.dumps(res["demo"]), flush=True)
    if not args.demo:
        futian = ROOT.parent / "shared" / "data" / "osm" / "shenzhen_futian_2023.graphml"
        if futian.is_file():
            res["province"] = bench_province()
            print(json.dumps(res["province"]), flush=True)
        else:
            print(f"SKIP province: {futian} not found")
    d = res["demo"]
    print()
    print("| measure | value | target |")
    print("|---|---|---|")
    print(f"| demo: first run (computes) | {d['first_run_s']} s | – |")
    print(f"| demo: map page rerun, results cached | {d['map_rerun_s']} s | ≤ 2 s |")
    print(f"| demo: towns page rerun, results cached | {d['towns_rerun_s']} s | ≤ 2 s |")
    if "province" in res:
        p = res["province"]
        print(f"| {p['stations']:,} stations, {p['nodes']:,} nodes: map HTML | {p['html_mb']} MB "
              "| ≤ 3 MB |")
        print(f"| … display layers (once, cached) | {p['map_data_s']} s | – |")
        print(f"| … build + render the map | {p['build_render_s']} s | – |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
