"""``yizhan batch``: the partitions of a network (cities) or a folder of region folders
on Dask distributed, merged into the figures of one whole-network run."""

from __future__ import annotations

import argparse
from typing import Any

from geo.batch.run import BatchResult, run_batch, run_batch_regions
from geo.cli.common import (
    EPILOG,
    add_cache_options,
    add_params,
    cache_dir_from_args,
    params_from_args,
)
from geo.coverage.cells import DEFAULT_H3_RESOLUTION
from geo.errors import BatchIncompleteError, InvalidParameterError

DESCRIPTION = """\
Run coverage per partition on a Dask distributed cluster and merge. Either one network
cut by partition polygons (--network --stations --partition --partition-field: each
partition is cut with a halo of the street distance a trip within the budget can run —
the walk or ride budget, by car the budget × the network's fastest edge speed — plus the
maximum snap distance, every street counted once in the partition that holds its
midpoint; the merged figures equal one `yizhan coverage` run of the whole network), or
--regions DIR: a folder of region folders run one per task. --workers N starts a local
cluster of N worker processes (default: one per core); --scheduler tcp://host:port uses
an existing cluster (the output folder must be reachable by its workers under the same
path). Writes into --out: summary.json (the keys of yizhan coverage plus partitions and
engine), stations.csv, towns.csv, towns.geojson, coverage.geojson, and each partition's
own outputs in OUT/<partition>/. A re-run with the same inputs reuses finished
partitions. --mode ebike / --mode drive: coverage by e-bike or by car (each partition's
network has that mode's street filter; by car one-way streets and per-edge speeds are
respected, the halo is the fastest car's reach, and the merge still equals one
whole-network drive run); every summary.json records travel_mode, speed_model and
network_filter (by car budget_m is null: the budget is a time). Exit code 11 when a
partition failed (its reason is in summary.json).
"""


def add_batch_parser(sub: Any) -> None:
    """Register ``yizhan batch``."""
    b = sub.add_parser("batch", help="run partitions (cities) on Dask distributed and merge",
                       description=DESCRIPTION, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("--network", help=".osm.pbf, .osm, .graphml or a prepared network directory")
    b.add_argument("--stations", help="station CSV / GeoJSON (as for yizhan coverage)")
    b.add_argument("--partition", metavar="POLYGONS",
                   help="partition polygons (GeoJSON / GPKG / zipped Shapefile), e.g. cities")
    b.add_argument("--partition-field", metavar="NAME",
                   help="the field naming each partition (unique; names the output folders)")
    b.add_argument("--towns", help="town polygons with name [, code, population]; without "
                                   "it: H3 analysis cells (--h3-resolution)")
    b.add_argument("--population", metavar="FILE",
                   help="population GeoTIFF (people per cell, any CRS): each partition "
                        "reads its own window, people become the demand (demand_basis "
                        "population_raster); the path must be readable by the workers. "
                        "With --regions each region folder's population.tif is used")
    b.add_argument("--regions", metavar="DIR",
                   help="instead of --network …: a folder of region folders, one per city")
    b.add_argument("--h3-resolution", type=int, default=DEFAULT_H3_RESOLUTION,
                   help=f"H3 resolution of the analysis cells (default {DEFAULT_H3_RESOLUTION})")
    eng = b.add_mutually_exclusive_group()
    eng.add_argument("--workers", type=int, help="start a local Dask cluster of N worker "
                                                "processes (default: one per core)")
    eng.add_argument("--scheduler", metavar="ADDRESS",
                     help="use an existing Dask cluster, e.g. tcp://10.0.0.5:8786")
    b.add_argument("--retries", type=int, default=2,
                   help="Dask retries of a task whose worker died or that crashed (default 2)")
    b.add_argument("--out", required=True, help="output directory")
    add_params(b, split_nearest=False, modes=True)
    add_cache_options(b)


def _print(result: BatchResult) -> None:
    s = result.summary
    share = float(s["covered_length_share"] or 0.0)
    print(f"travel mode: {s['params'].get('travel_mode', 'walk')} (network filter "
          f"{(s['params'].get('network_filter') or {}).get('filter', '—')})")
    print(f"covered street length: {s['covered_length_m']:,.0f} m of "
          f"{s['total_length_m']:,.0f} m ({share:.1%}); engine {s['engine']['scheduler']} "
          f"with {s['engine']['workers']} worker(s)")
    for p in s["partitions"]:
        extra = f" — {p['reason']}" if p["reason"] else ""
        print(f"  {p['name']}: {p['status']} in {p['wall_s']:.1f} s on {p['worker']}{extra}")
    for name, path in result.paths.items():
        print(f"wrote {path}  ({name})")


def cmd_batch(args: argparse.Namespace) -> int:
    """``yizhan batch`` (see :data:`DESCRIPTION`)."""
    params = params_from_args(args, allow_drive=True)
    common = {"out_dir": args.out, "params": params, "h3_resolution": args.h3_resolution,
              "workers": args.workers, "scheduler": args.scheduler,
              "cache_dir": cache_dir_from_args(args), "retries": args.retries}
    cut = (args.network, args.stations, args.partition, args.partition_field)
    if args.regions:
        if any(cut) or args.population:
            raise InvalidParameterError("give either --regions DIR or --network/--stations/"
                                        "--partition/--partition-field (and --population), "
                                        "not both: a region folder holds its own "
                                        "population.tif")
        result = run_batch_regions(regions_dir=args.regions, **common)
    else:
        if not all(cut):
            raise InvalidParameterError("give --network, --stations, --partition and "
                                        "--partition-field (or --regions DIR)")
        result = run_batch(network=args.network, stations=args.stations,
                           partitions=args.partition, partition_field=args.partition_field,
                           towns=args.towns, population=args.population, **common)
    _print(result)
    if result.failed:
        raise BatchIncompleteError(
            f"{len(result.failed)} partition(s) failed: {', '.join(result.failed)}; the "
            "reasons are in summary.json (partitions); fix their inputs and run again — "
            "finished partitions are reused")
    return 0
