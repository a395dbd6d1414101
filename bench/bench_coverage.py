"""Coverage benchmark on large synthetic-from-real walk networks.

The real Futian (Shenzhen) walk network from ``../shared/data`` is tiled into a large
grid of copies joined by connector streets ("synthetic-from-real"), stations are
placed at random edge points, and — measured in the same run — this prints:

* ``bare``: one bare scipy csgraph multi-source Dijkstra from the stations' nearest
  nodes (``min_only=True``, ``limit`` = budget) — the floor;
* ``coverage``: Yizhan's coverage (virtual sources inside edges, nearest station,
  segment table, covered length with partial edges), and its ratio to ``bare``;
* ``recipe``: the typical osmnx recipe — ``nx.ego_graph(G, node, radius, distance=
  "length")`` per station, extrapolated from a sample — and its ratio to Yizhan;
* ``service_areas``: all per-station service-area polygons; ``union``: their union;
* ``peak_rss``: peak resident memory of the scenario's process.

Each scenario runs in its own subprocess so its peak memory is its own.

    python bench/bench_coverage.py                       # default scenarios
    python bench/bench_coverage.py --nodes 500000 --stations 2000
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

ROOT = Path(__file__).resolve().parents[1]
FUTIAN = ROOT.parent / "shared" / "data" / "osm" / "shenzhen_futian_2023.graphml"
DEFAULT_SCENARIOS = [(500_000, 2_000), (500_000, 16_000), (1_500_000, 16_000)]


def tiled_network(target_nodes: int, *, profile: str = "walk"):  # -> WalkNetwork
    """Tile the Futian walk network into ≥ ``target_nodes`` nodes, with connectors.

    ``profile="drive"``: tile Futian's *car* streets instead (a drive-road extract:
    longer edges, fewer per km², so each station reaches few of them), walked as they
    are — the sparse case of the coverage pass."""
    import pandas as pd
    import shapely

    from geo.network.loaders import load_network
    from geo.network.model import WalkNetwork
    from geo.network.walkfilter import FilterReport

    base = load_network(FUTIAN, mode=profile)
    n0 = base.n_nodes
    tiles = int(np.ceil(target_nodes / n0))
    cols = int(np.ceil(np.sqrt(tiles)))
    rows = int(np.ceil(tiles / cols))
    x0, y0, x1, y1 = base.bounds
    w, h = (x1 - x0) + 60.0, (y1 - y0) + 60.0
    # connector candidates: nodes near the east / north borders, in 12 bands
    bands = 12

    def extreme(along: np.ndarray, across: np.ndarray, lo: float, hi: float,
                pick: str) -> list[int]:
        out = []
        for b in range(bands):
            step = (hi - lo) / bands
            band = (along >= lo + step * b) & (along < lo + step * (b + 1))
            if pick == "max":
                out.append(int(np.argmax(np.where(band, across, -np.inf))))
            else:
                out.append(int(np.argmin(np.where(band, across, np.inf))))
        return out

    east = extreme(base.node_y, base.node_x, y0, y1, "max")
    west = extreme(base.node_y, base.node_x, y0, y1, "min")
    north = extreme(base.node_x, base.node_y, x0, x1, "max")
    south = extreme(base.node_x, base.node_y, x0, x1, "min")
    nx_, ny_, eu, ev, ln, geoms = [], [], [], [], [], []
    for t in range(rows * cols):
        r, c = divmod(t, cols)
        dx, dy = c * w, r * h
        off = t * n0
        nx_.append(base.node_x + dx)
        ny_.append(base.node_y + dy)
        eu.append(base.edge_u.astype(np.int64) + off)
        ev.append(base.edge_v.astype(np.int64) + off)
        ln.append(base.length_m)
        geoms.append(shapely.transform(base.geometry, lambda xy, dx=dx, dy=dy: xy + [dx, dy]))
    node_x = np.concatenate(nx_)
    node_y = np.concatenate(ny_)
    cu, cv = [], []
    for t in range(rows * cols):
        r, c = divmod(t, cols)
        if c + 1 < cols:
            cu += [t * n0 + e for e in east]
            cv += [(t + 1) * n0 + wst for wst in west]
        if r + 1 < rows:
            cu += [t * n0 + nn for nn in north]
            cv += [(t + cols) * n0 + s for s in south]
    cu_a, cv_a = np.asarray(cu), np.asarray(cv)
    cgeom = shapely.linestrings(np.stack([np.column_stack([node_x[cu_a], node_y[cu_a]]),
                                          np.column_stack([node_x[cv_a], node_y[cv_a]])], axis=1))
    geometry = np.concatenate(geoms + [cgeom])
    length = np.concatenate(ln + [shapely.length(cgeom)])
    n_edges = length.size
    return WalkNetwork(
        crs=base.crs, node_id=np.arange(node_x.size, dtype=np.int64), node_x=node_x,
        node_y=node_y, edge_u=np.concatenate(eu + [cu_a]).astype(np.int32),
        edge_v=np.concatenate(ev + [cv_a]).astype(np.int32), length_m=length,
        geometry=geometry,
        edge_attrs=pd.DataFrame({"highway": ["residential"] * n_edges, "name": None,
                                 "osmid": None}),
        filter_report=FilterReport("walk-v1", n_edges, 0, 0.0, ()),
        source=f"synthetic-from-real: {rows}x{cols} tiles of {FUTIAN.name} ({profile} streets)",
    )


def random_stations(net, n: int, seed: int = 7):
    import geopandas as gpd
    import shapely

    rng = np.random.default_rng(seed)
    edges = rng.choice(net.n_edges, size=n, replace=False)
    pts = shapely.line_interpolate_point(net.geometry[edges], rng.random(n), normalized=True)
    pts = shapely.transform(pts, lambda xy: xy + rng.normal(0, 8, xy.shape))
    return gpd.GeoDataFrame({"station_id": [f"B{i:05d}" for i in range(n)],
                             "name": "bench", "type": "工会驿站"}, geometry=pts, crs=net.crs)


def _median_time(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), out


def run_scenario(n_nodes: int, n_stations: int, *, recipe_sample: int, areas: bool,
                 union: bool, repeat: int) -> dict[str, object]:
    import networkx as nx
    import shapely
    from scipy.sparse import csgraph

    from geo.coverage.core import compute_coverage
    from geo.coverage.service_areas import per_station_polygons, union_polygon
    from geo.params import CoverageParams

    t = time.perf_counter()
    net = tiled_network(n_nodes)
    build_s = time.perf_counter() - t
    stations = random_stations(net, n_stations)
    params = CoverageParams()
    budget = params.budget_m
    csr = net.csr
    # nearest node per station, for the bare pass and the recipe
    tree = shapely.STRtree(shapely.points(net.node_x, net.node_y))
    src_nodes = np.unique(tree.query_nearest(stations.geometry.to_numpy())[1])

    def bare():
        return csgraph.dijkstra(csr, directed=True, indices=src_nodes, min_only=True,
                                limit=budget)

    bare()  # warm-up
    bare_s, _ = _median_time(bare, repeat)
    compute_coverage(net, stations, params=params)  # warm-up (STRtree, CSR caches)
    cov_times, snap_times, cov = [], [], None
    for _ in range(repeat):
        cov = compute_coverage(net, stations, params=params)
        cov_times.append(cov.timings_s["coverage"] + 0.0)
        t = time.perf_counter()
        _ = cov.covered_length_m
        cov_times[-1] += time.perf_counter() - t
        snap_times.append(cov.timings_s["snap"])
    cov_s = float(np.median(cov_times))
    out: dict[str, object] = {
        "nodes": net.n_nodes, "edges": net.n_edges, "stations": n_stations,
        "network_km": round(net.total_length_m / 1000, 1), "build_network_s": round(build_s, 2),
        "bare_s": round(bare_s, 4), "coverage_s": round(cov_s, 4),
        "snap_s": round(float(np.median(snap_times)), 4),
        "coverage_over_bare": round(cov_s / bare_s, 2),
        "covered_share": round(cov.covered_length_m / net.total_length_m, 4),
    }
    if areas:
        t = time.perf_counter()
        per_station_polygons(cov)
        out["service_areas_s"] = round(time.perf_counter() - t, 2)
    if union:
        t = time.perf_counter()
        u = union_polygon(cov)
        out["union_s"] = round(time.perf_counter() - t, 2)
        out["union_area_km2"] = round(shapely.area(u) / 1e6, 2)
    # peak memory of Yizhan's own work, before the recipe's networkx graph exists
    out["peak_rss_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2)
    if recipe_sample:
        # what a user of the recipe holds: an osmnx-style MultiDiGraph (both
        # directions, OSM attributes and geometry), projected
        graph = nx.MultiDiGraph(crs=net.crs.to_string())
        graph.add_nodes_from(
            (i, {"x": x, "y": y}) for i, (x, y) in enumerate(zip(net.node_x.tolist(),
                                                                  net.node_y.tolist(),
                                                                  strict=True)))
        for u, v, length, g in zip(net.edge_u.tolist(), net.edge_v.tolist(),
                                   net.length_m.tolist(), net.geometry, strict=True):
            attrs = {"osmid": 0, "highway": "residential", "length": length, "geometry": g}
            graph.add_edge(u, v, **attrs)
            graph.add_edge(v, u, **attrs)
        rng = np.random.default_rng(1)
        sample = rng.choice(src_nodes, size=min(recipe_sample, src_nodes.size), replace=False)
        t = time.perf_counter()
        for s in sample:
            ego = nx.ego_graph(graph, int(s), radius=budget, distance="length")
            _ = sum(d["length"] for _u, _v, d in ego.edges(data=True)) / 2
        per = (time.perf_counter() - t) / sample.size
        del graph
        out["recipe_sample"] = int(sample.size)
        out["recipe_s_extrapolated"] = round(per * n_stations, 2)
        out["recipe_over_coverage"] = round(per * n_stations / cov_s, 1)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, help="network size (one scenario)")
    ap.add_argument("--stations", type=int, help="station count (one scenario)")
    ap.add_argument("--recipe-sample", type=int, default=40,
                    help="stations timed for the ego_graph recipe (0: skip)")
    ap.add_argument("--no-areas", action="store_true", help="skip per-station polygons")
    ap.add_argument("--no-union", action="store_true", help="skip the union polygon")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if not FUTIAN.is_file():
        print(f"SKIP: {FUTIAN} not found (the shared real data is needed to build the "
              "synthetic-from-real network)")
        return 0
    if args.child:
        res = run_scenario(args.nodes, args.stations, recipe_sample=args.recipe_sample,
                           areas=not args.no_areas, union=not args.no_union,
                           repeat=args.repeat)
        print(json.dumps(res))
        return 0
    scenarios = [(args.nodes, args.stations)] if args.nodes and args.stations \
        else DEFAULT_SCENARIOS
    results = []
    for n, s in scenarios:
        cmd = [sys.executable, __file__, "--child", "--nodes", str(n), "--stations", str(s),
               "--recipe-sample", str(args.recipe_sample), "--repeat", str(args.repeat)]
        if args.no_areas:
            cmd.append("--no-areas")
        if args.no_union:
            cmd.append("--no-union")
        print(f"# scenario: ≥{n:,} nodes, {s:,} stations ...", flush=True)
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            print(proc.stderr[-3000:])
            return proc.returncode
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        results.append(res)
        print(json.dumps(res, ensure_ascii=False), flush=True)
    print()
    print("| nodes | stations | bare pass s | coverage s | coverage/bare | ego_graph recipe s "
          "(extrap.) | recipe/coverage | service areas s | union s | peak RSS GB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['nodes']:,} | {r['stations']:,} | {r['bare_s']} | {r['coverage_s']} | "
              f"{r['coverage_over_bare']}× | {r.get('recipe_s_extrapolated', '–')} | "
              f"{r.get('recipe_over_coverage', '–')}× | {r.get('service_areas_s', '–')} | "
              f"{r.get('union_s', '–')} | {r['peak_rss_gb']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
