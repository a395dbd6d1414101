"""``yizhan suggest`` — where to add stations (coverage-maximising site suggestions).

Wired into :mod:`geo.cli.commands` with::

    from geo.cli.suggest import add_suggest_parser, cmd_suggest
    add_suggest_parser(sub)              # in build_parser(), after the other sub-parsers
    handlers["suggest"] = cmd_suggest    # in main()

It also runs on its own: ``python -m geo.cli.suggest suggest --network … --k 10 --out DIR``
(same options, one-line errors and exit codes as ``yizhan``).

Writes into ``--out``: ``suggestions.csv`` (rank, location, town, marginal and
cumulative gain), ``suggestions.geojson`` (the sites as points), ``new_service_areas.geojson``
(each site's service area; skip with ``--no-areas``), ``summary.json`` (``total_gain``,
``demand_basis``, ``method``, ``target``, the gain-vs-K ``curve``, the travel mode, speed
model and network filter…), ``candidates_rejected.csv`` when candidate rows were
rejected and, with ``--target rider-zones``, ``zones.csv`` (one row per rider zone).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

os.environ.setdefault("GDAL_SKIP", "OGR_VRT")

from geo.cli.common import (
    add_cache_options,
    add_db_source,
    add_params,
    add_population_option,
    cache_dir_from_args,
    db_stations,
    osm_towns_path,
    params_from_args,
    parse_bbox,
    run_command,
    with_db_stations,
)
from geo.cli.towns import town_inputs
from geo.errors import InvalidParameterError, StationDataError, exit_code_help
from geo.network.loaders import file_sha256
from geo.pipeline.region import region_from_files
from geo.siting.suggest import (
    DEFAULT_ILP_TIME_LIMIT_S,
    DEFAULT_MAX_CANDIDATES,
    DEFAULT_MIN_DISTANCE_M,
    DEMAND_BASES,
    METHODS,
    SOLVERS,
    TARGETS,
    SuggestResult,
    read_candidates,
    suggest_sites,
    write_suggestions,
)
from geo.siting.zones import DEFAULT_RIDE_TIME_MIN, RIDER_STATION_TYPES

SUGGEST_EPILOG = """\
Objective (maximal covering location): add the K sites that newly cover the most
demand within the walk budget, the existing stations fixed. Demand: with --population,
the people of a population raster (each H3 cell's people, summed exactly, spread over
the cell's streets); else population spread over each town's streets (when --towns
gives every town a population); else street length. Gains are exact (covered street
intervals, partial streets count).
Methods: greedy = lazy greedy (CELF), at least (1 - 1/e) ≈ 63% of the optimum, for
province scale; ilp = exact integer programme (CBC, or HiGHS with --solver highs) for
small instances. Default candidates: network nodes not on motorway/trunk roads and
farther than --min-distance-m (straight line) from every existing station; or
--candidates FILE (CSV candidate_id,name,lon,lat in WGS-84, or point GeoJSON/GPKG).
Travel mode: --mode walk (default) or ebike (roads open to non-motor vehicles,
--ride-speed-kmh / --ride-preset); drive is refused (see yizhan bases).
Target: --target region (default: the whole region's demand) or rider-zones with
--rider-zones PATH (the zone file yizhan riders takes): the demand is the street length
(people, with --population or town populations) inside the rider-friendly zones not yet
within the budget of a 工会驿站 / 司机之家 (other station types do not count), by e-bike
unless --mode walk, 10 minutes by e-bike unless --ride-time-min / --walk-time-min;
default candidates are the network nodes within the budget of a zone; every site names
the zone it serves (zone_id, zone, zone_street_m) and zones.csv sums it per zone.
"""
SUGGEST_EPILOG += "\n" + exit_code_help() + "\n"


def add_suggest_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``suggest`` sub-command to ``sub`` (an ``add_subparsers()`` object)."""
    p = sub.add_parser(
        "suggest", help="suggest where to add K stations to cover the most new demand",
        description="Suggest K new station sites that newly cover the most demand within "
                    "the walk budget, the existing stations fixed. Writes into --out: "
                    "suggestions.csv, suggestions.geojson, new_service_areas.geojson and "
                    "summary.json.",
        epilog=SUGGEST_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--network", required=True,
                   help=".osm.pbf, .osm (XML), osmnx .graphml or a prepared network directory")
    p.add_argument("--stations",
                   help="existing stations, kept fixed: CSV station_id,name,type,lon,lat "
                        "(UTF-8, WGS-84) or point GeoJSON/GPKG; without it: no station yet")
    p.add_argument("--towns", help="town (乡镇/街道) polygons with name [, code, population]: "
                                   "population demand and the town of each site; 'osm': "
                                   "the network file's administrative boundaries")
    p.add_argument("--k", type=int, required=True, help="number of sites to add (1–1000)")
    p.add_argument("--candidates",
                   help="candidate sites: CSV candidate_id,name,lon,lat (WGS-84) or point "
                        "GeoJSON/GPKG; default: network nodes (see --min-distance-m)")
    p.add_argument("--method", choices=METHODS, default="greedy",
                   help="greedy (lazy greedy, CELF; default) or ilp (exact, small instances)")
    p.add_argument("--solver", choices=SOLVERS, default=None,
                   help="ILP solver: cbc (default, bundled with PuLP) or highs")
    p.add_argument("--time-limit-s", type=float, default=DEFAULT_ILP_TIME_LIMIT_S,
                   help=f"ILP time limit in seconds (default {DEFAULT_ILP_TIME_LIMIT_S:g})")
    p.add_argument("--min-distance-m", type=float, default=DEFAULT_MIN_DISTANCE_M,
                   help="default candidates: only nodes farther than this (straight line) "
                        f"from every existing station (default {DEFAULT_MIN_DISTANCE_M:g})")
    p.add_argument("--max-candidates", type=int, default=DEFAULT_MAX_CANDIDATES,
                   help="default candidates: at most this many (a deterministic random "
                        f"sample above; default {DEFAULT_MAX_CANDIDATES:,})")
    p.add_argument("--seed", type=int, default=0, help="seed of that sample (default 0)")
    p.add_argument("--demand", choices=DEMAND_BASES, default="auto",
                   help="demand basis: auto (the --population raster when given, else "
                        "population when every town has one, else street length), "
                        "population, population_raster or street_length")
    p.add_argument("--target", choices=TARGETS, default="region",
                   help="what the sites cover: region (default; the whole region's demand) "
                        "or rider-zones (streets inside --rider-zones not yet within reach "
                        "of a 工会驿站 / 司机之家; e-bike by default)")
    p.add_argument("--rider-zones", metavar="PATH",
                   help="with --target rider-zones: rider-friendly zone polygons (zone_id, "
                        "name; GeoJSON / GPKG / zipped Shapefile, as for yizhan riders)")
    p.add_argument("--ride-time-min", type=float, default=None,
                   help="ride time in minutes (same as --walk-time-min; default "
                        f"{DEFAULT_RIDE_TIME_MIN:g} with --target rider-zones, as yizhan riders)")
    p.add_argument("--no-areas", action="store_true",
                   help="do not build new_service_areas.geojson")
    p.add_argument("--bbox", help="clip the network: min_lon,min_lat,max_lon,max_lat")
    p.add_argument("--out", required=True, help="output directory")
    add_population_option(p)
    add_db_source(p)
    add_params(p, split_nearest=False, title="travel parameters (as in yizhan coverage)",
               modes=True)
    # no --mode given: walk for the region, ebike for rider zones (_target_params)
    p.set_defaults(mode=None)
    add_cache_options(p)
    return p


def _target_params(args: argparse.Namespace) -> None:
    """Resolve ``--target`` / ``--rider-zones`` and the mode and minutes they imply, in
    ``args`` (then read by :func:`geo.cli.common.params_from_args`)."""
    rider = args.target == "rider-zones"
    if rider and not args.rider_zones:
        raise InvalidParameterError(
            "--target rider-zones needs --rider-zones PATH (zone polygons with zone_id and "
            "name, the file yizhan riders takes)")
    if args.rider_zones and not rider:
        raise InvalidParameterError("--rider-zones is used with --target rider-zones: add "
                                    "--target rider-zones, or leave --rider-zones out")
    if args.ride_time_min is not None:
        if args.walk_time_min is not None or args.preset:
            raise InvalidParameterError(
                "give one of --ride-time-min, --walk-time-min or --preset, not several")
        args.walk_time_min = args.ride_time_min
    if args.mode is None:
        args.mode = "ebike" if rider else "walk"
    if rider and args.mode == "ebike" and args.walk_time_min is None and not args.preset:
        args.walk_time_min = DEFAULT_RIDE_TIME_MIN


def cmd_suggest(args: argparse.Namespace) -> int:
    """Run ``yizhan suggest``: load the inputs, suggest, write the outputs."""
    _target_params(args)
    params = params_from_args(args)
    from_db = db_stations(args)
    towns_path, town_entries = town_inputs(args, osm_towns_path(args))
    region = region_from_files(args.network,
                               stations_path=None if from_db else args.stations,
                               towns_path=towns_path, zones_path=args.rider_zones,
                               bbox=parse_bbox(args.bbox),
                               cache_dir=cache_dir_from_args(args),
                               population_path=args.population, mode=params.mode)
    region = with_db_stations(region, from_db)
    net = region.network
    stations = None
    if region.stations is not None:
        if len(region.stations.accepted) == 0:
            raise StationDataError(
                f"no valid station in {args.stations} ({region.stations.rows_in} rows, all "
                "rejected): fix the station list or leave --stations out")
        stations = region.stations.accepted
    candidates = None
    inputs = {**region.inputs, **town_entries}
    if args.candidates:
        candidates = read_candidates(net, args.candidates, max_snap_m=params.max_snap_m)
        inputs["candidates"] = {"path": str(args.candidates),
                                "sha256": file_sha256(args.candidates)}
    result = suggest_sites(
        net, stations, k=args.k, candidates=candidates,
        towns=region.towns.accepted if region.towns is not None else None, params=params,
        method=args.method, solver=args.solver, demand_basis=args.demand,
        min_distance_m=args.min_distance_m, max_candidates=args.max_candidates,
        seed=args.seed, time_limit_s=args.time_limit_s, population=region.population,
        target=args.target, zones=region.zones.accepted if region.zones is not None else None,
    )
    extra: dict[str, Any] = {"region": region.label, "inputs": inputs}
    if region.zones is not None:
        extra["rider_zones"] = {**result.target_info,
                                "zones_rejected": len(region.zones.rejected)}
    paths = write_suggestions(result, args.out, areas=not args.no_areas, extra_summary=extra)
    _print_result(result, paths)
    return 0


def _print_result(result: SuggestResult, paths: dict[str, Any]) -> None:
    unit = "people" if result.demand_unit == "people" else "m of street"
    p = result.params
    what = ("inside the rider zones, from the " + " / ".join(RIDER_STATION_TYPES)
            if result.target == "rider-zones" else "in the region")
    print(f"target: demand {what}; {p.walk_time_min:g} min by {p.mode} at "
          f"{p.walk_speed_kmh:g} km/h ({p.budget_m:,.0f} m)")
    how = result.method if result.solver is None else \
        f"{result.method} ({result.solver['solver']}, {result.solver['status']})"
    share = ""
    if result.total_demand > 0:
        share = (f"; covered {result.covered_before / result.total_demand:.1%} → "
                 f"{result.covered_after / result.total_demand:.1%}")
    print(f"suggested {len(result.sites)} of {result.k_requested} sites by {how} from "
          f"{len(result.candidates):,} candidates: +{result.total_gain:,.0f} {unit}{share}")
    for r in result.sites.itertuples(index=False):
        town = f" {r.town}" if isinstance(r.town, str) else ""
        zone = (f" zone {r.zone} ({r.zone_street_m:,.0f} m of zone street)"
                if result.target == "rider-zones" and isinstance(r.zone, str) else "")
        print(f"  #{r.rank} {r.candidate_id}{town} ({r.lat:.5f}, {r.lon:.5f}): "
              f"+{r.marginal_gain:,.0f} {unit} ({r.new_street_m / 1000:,.2f} street-km)"
              f"{zone}")
    for note in result.notes:
        print(f"note: {note}")
    for name, p in paths.items():
        print(f"wrote {p}  ({name})")


def build_parser() -> argparse.ArgumentParser:
    """A parser with only the ``suggest`` sub-command (for running this module alone)."""
    parser = argparse.ArgumentParser(prog="yizhan", description="驿站圈 Yizhan — site suggestions")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    add_suggest_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``yizhan suggest`` on its own, with the error handling of ``yizhan``."""
    args = build_parser().parse_args(argv)
    return run_command(cmd_suggest, args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
