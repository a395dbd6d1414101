"""Site-suggestion benchmark: K = 50 new sites on a ≥ 500,000-node network.

The network is ``bench_coverage.tiled_network`` (the real Futian walk network tiled into
a grid, "synthetic-from-real"); the existing stations are ``random_stations``; the
candidates are the default ones (network nodes off motorway / trunk roads, > 300 m from
every station), capped at 16,000 by the deterministic sample. Prints the time of
``suggest_sites`` (lazy greedy, street-length demand) and its stages, and — for the
quality of the greedy answer —

* ``greedy / upper bound``: the greedy gain over a proven upper bound on the optimum
  (submodularity: ``f(S) + Σ top-K marginal gains w.r.t. S``); the greedy solution is
  at least this fraction of the optimum (the a-priori guarantee is 1 − 1/e ≈ 0.632);
* ``greedy / top-K standalone``: against the naive ranking that takes the K candidates
  with the largest standalone gains (ignoring their overlaps);
* ``greedy / random K``: against K random candidates.

    python bench/bench_suggest.py
    python bench/bench_suggest.py --nodes 500000 --stations 2000 --candidates 16000 --k 50
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from bench_coverage import FUTIAN, random_stations, tiled_network  # noqa: E402


def run(n_nodes: int, n_stations: int, n_candidates: int, k: int,
        baselines: bool) -> dict[str, object]:
    import shapely

    from geo.coverage.core import compute_coverage
    from geo.params import CoverageParams
    from geo.siting.suggest import (
        build_demand,
        build_problem,
        network_candidates,
        suggest_sites,
    )

    t = time.perf_counter()
    net = tiled_network(n_nodes)
    build_s = time.perf_counter() - t
    stations = random_stations(net, n_stations)
    params = CoverageParams()
    _ = net.csr, net.edge_tree  # build the network's caches outside the timing
    t = time.perf_counter()
    res = suggest_sites(net, stations, k=k, params=params, max_candidates=n_candidates,
                        method="greedy")
    suggest_s = time.perf_counter() - t
    out: dict[str, object] = {
        "nodes": net.n_nodes, "edges": net.n_edges, "stations": n_stations,
        "candidates": len(res.candidates), "eligible_candidates": res.candidates.eligible,
        "k": k, "k_suggested": len(res.sites), "build_network_s": round(build_s, 2),
        "suggest_s": round(suggest_s, 2),
        "stages_s": {key: round(v, 2) for key, v in res.timings_s.items()},
        "covered_share_before": round(res.covered_before / res.total_demand, 4),
        "covered_share_after": round(res.covered_after / res.total_demand, 4),
        "greedy_gain_km": round(res.total_gain / 1000, 2),
        "upper_bound_km": round((res.optimum_upper_bound or 0) / 1000, 2),
        "greedy_over_upper_bound": round(res.total_gain / res.optimum_upper_bound, 4)
        if res.optimum_upper_bound else None,
        "evaluations": res.stats["evaluations"], "incidences": res.stats["incidences"],
        "elements": res.stats["elements"],
    }
    out["peak_rss_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2)
    if baselines:
        # the same problem again (untimed) for the naive and random baselines
        base = compute_coverage(net, stations.to_crs(net.crs), params=params)
        used = base.used
        cands = network_candidates(net, shapely.get_coordinates(used.geometry.to_numpy()),
                                   max_candidates=n_candidates)
        problem = build_problem(net, cands, build_demand(net), base, budget_m=params.budget_m)
        gains = problem.gains()
        top = np.argsort(-gains, kind="stable")[:k]
        naive, _ = problem.value(top)
        rng = np.random.default_rng(0)
        rand = np.mean([problem.value(rng.choice(len(cands), size=k, replace=False))[0]
                        for _ in range(5)])
        out["top_k_standalone_km"] = round(naive / 1000, 2)
        out["random_k_km"] = round(float(rand) / 1000, 2)
        out["greedy_over_top_k_standalone"] = round(res.total_gain / naive, 3) if naive else None
        out["greedy_over_random_k"] = round(res.total_gain / rand, 3) if rand else None
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=500_000, help="network size (≥ nodes)")
    ap.add_argument("--stations", type=int, default=2_000, help="existing stations")
    ap.add_argument("--candidates", type=int, default=16_000, help="candidate sites (cap)")
    ap.add_argument("--k", type=int, default=50, help="sites to add")
    ap.add_argument("--no-baselines", action="store_true",
                    help="skip the naive / random baselines (they rebuild the problem)")
    args = ap.parse_args(argv)
    if not FUTIAN.is_file():
        print(f"SKIP: {FUTIAN} not found (the shared real data is needed to build the "
              "synthetic-from-real network)")
        return 0
    res = run(args.nodes, args.stations, args.candidates, args.k,
              baselines=not args.no_baselines)
    print(json.dumps(res, ensure_ascii=False))
    print()
    print("| nodes | stations | candidates | K | suggest s | greedy km | greedy / upper bound "
          "| greedy / top-K standalone | greedy / random K | peak RSS GB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {res['nodes']:,} | {res['stations']:,} | {res['candidates']:,} | {res['k']} | "
          f"{res['suggest_s']} | {res['greedy_gain_km']} | {res['greedy_over_upper_bound']} | "
          f"{res.get('greedy_over_top_k_standalone', '–')} | "
          f"{res.get('greedy_over_random_k', '–')} | {res['peak_rss_gb']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
