"""``yizhan`` — the headless command line.

Exit codes come from :data:`geo.errors.EXIT_CODES` (shown in ``yizhan --help``).
Errors print one line (``yizhan: error: …``), never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("GDAL_SKIP", "OGR_VRT")

import shapely

from geo.cli.bases import add_bases_parser, cmd_bases
from geo.cli.batch import add_batch_parser, cmd_batch
from geo.cli.common import (
    EPILOG,
    add_cache_options,
    add_db_source,
    add_params,
    add_population_option,
    cache_dir_from_args,
    params_from_args,
    parse_bbox,
    progress_from_args,
    run_command,
    run_job_from_args,
    station_areas_from_args,
)
from geo.cli.progress import add_progress_parser, cmd_progress
from geo.cli.report import add_report_parser, cmd_report
from geo.cli.riders import add_riders_parser, cmd_riders
from geo.cli.stations import add_stations_parser, cmd_stations, cmd_users
from geo.cli.suggest import add_suggest_parser, cmd_suggest
from geo.coverage.cells import check_h3_resolution
from geo.io.layers import read_vector
from geo.network.admin import read_admin_boundaries, write_towns_geojson
from geo.network.loaders import download_network, load_network
from geo.network.model import save_network
from geo.pipeline.demo import write_demo_inputs
from geo.pipeline.job import Summary, run_demo, summary_dict, write_outputs
from geo.pipeline.region import demo_region
from geo.population.raster import write_population_tif


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="yizhan",
        description="驿站圈 Yizhan — 15-minute walking coverage of trade-union worker service "
                    "stations on OpenStreetMap walk networks, and under-served towns.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    c = sub.add_parser(
        "coverage", help="compute coverage and write summary, stations, areas, towns, zones",
        description="Compute 15-minute walking coverage and write into --out: summary.json, "
                    "stations.csv, service_areas.geojson (per-station areas, see "
                    "--station-areas), coverage.geojson, towns.csv, towns.geojson (towns, or "
                    "H3 cells without --towns) and zones.csv (with --zones).",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    c.add_argument("--network", required=True,
                   help=".osm.pbf, .osm (XML), osmnx .graphml or a prepared network directory")
    c.add_argument("--stations",
                   help="CSV station_id,name,type,lon,lat[,address,city,district] (UTF-8, "
                        "WGS-84) or point GeoJSON/GPKG/zipped Shapefile")
    c.add_argument("--towns", help="town (乡镇/街道) polygons with name [, code, population], "
                                   "or 'osm': the network file's administrative boundaries "
                                   "(--admin-level); without it: H3 hexagonal analysis cells "
                                   "(--h3-resolution)")
    c.add_argument("--zones", help="rider-friendly zone polygons with zone_id, name")
    c.add_argument("--bases", help="convalescence bases (points; a layer, not walked)")
    c.add_argument("--bbox", help="clip the network: min_lon,min_lat,max_lon,max_lat")
    c.add_argument("--out", required=True, help="output directory")
    add_population_option(c)
    add_db_source(c)
    add_params(c, modes=True)
    add_cache_options(c)

    d = sub.add_parser("demo", help="run the coverage job on the built-in synthetic demo region",
                       description="Run `yizhan coverage` on the built-in synthetic demo "
                                   "region (示范区（合成数据）) — no files or internet needed.")
    d.add_argument("--out", required=True, help="output directory")
    d.add_argument("--write-inputs", metavar="DIR",
                   help="also write the demo inputs (GraphML, stations.csv, towns/zones/bases "
                        "GeoJSON) into DIR")
    d.add_argument("--synthetic-population", action=argparse.BooleanOptionalAction,
                   default=True,
                   help="use the demo's synthetic population raster (generated in code; "
                        "the default): people covered are the demand (population_raster); "
                        "with --write-inputs it is also written as population.tif. "
                        "--no-synthetic-population: the towns' invented populations spread "
                        "over their streets (demand_basis population)")
    add_params(d)

    pr = sub.add_parser("prepare", help="prepare a network once (filter, project, cache) into "
                                        "a directory the app and --network can load fast")
    pr.add_argument("network", help=".osm.pbf, .osm or .graphml")
    pr.add_argument("--out", required=True, help="directory to write the prepared network to")
    pr.add_argument("--bbox", help="clip: min_lon,min_lat,max_lon,max_lat (WGS-84)")
    pr.add_argument("--polygon", help="clip to the union of a polygon file (GeoJSON/GPKG)")
    pr.add_argument("--admin-level", type=int, default=8,
                    help="administrative boundaries written as towns.geojson (8 乡镇/街道, "
                         "6 区县; .osm.pbf / .osm only)")

    dl = sub.add_parser("download", help="download a walk network from OpenStreetMap (needs "
                                         "internet) and write it as a prepared network")
    g = dl.add_mutually_exclusive_group(required=True)
    g.add_argument("--place", help="place name, e.g. '福田区, 深圳市, 广东省'")
    g.add_argument("--bbox", help="min_lon,min_lat,max_lon,max_lat")
    dl.add_argument("--out", required=True, help="directory to write the prepared network to")
    add_cache_options(dl)
    add_suggest_parser(sub)
    add_stations_parser(sub)

    add_report_parser(sub)
    add_batch_parser(sub)
    add_progress_parser(sub)
    add_bases_parser(sub)
    add_riders_parser(sub)
    return parser


def _print_result(paths: dict[str, Path], summary: Summary) -> None:
    """The app's headline figures (streets, population, area, stations), then the files."""
    st = summary["stations"]
    pop = summary["covered_population_share"]
    print(f"covered street length: {summary['covered_length_m']:,.0f} m of "
          f"{summary['total_length_m']:,.0f} m "
          f"({float(summary['covered_length_share'] or 0):.1%})")
    people = summary["covered_population"]
    how = ("population raster, exact area-weighted" if people is not None
           else "population spread over each town's streets")
    print("covered population: " + (f"{float(pop):.1%} ({how})" if pop is not None
                                     else "— (no population for every town)"))
    if people is not None:
        print(f"people covered (inside the service-area union): {float(people):,.0f} of "
              f"{float(summary['total_population'] or 0):,.0f}")
    print(f"covered area (service-area union): {float(summary['covered_area_m2']) / 1e6:.2f} km²")
    print(f"stations on the network: {st['used']} of {st['input']} ({st['off_network']} off "
          f"the network, {st['rejected']} rejected)")
    for name, p in paths.items():
        print(f"wrote {p}  ({name})")


def _cmd_coverage(args: argparse.Namespace) -> int:
    params = params_from_args(args, allow_drive=True)
    job = run_job_from_args(args, params)
    paths = write_outputs(job, args.out)
    _print_result(paths, summary_dict(job))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    params = params_from_args(args)
    if args.write_inputs:

        for name, p in write_demo_inputs(args.write_inputs).items():
            print(f"wrote demo input {p}  ({name})")
        grid = demo_region().population if args.synthetic_population else None
        if grid is not None:
            p = write_population_tif(grid, Path(args.write_inputs) / "population.tif")
            print(f"wrote demo input {p}  (population, synthetic)")
    job = run_demo(params, split_nearest=args.split_nearest,
                   population=args.synthetic_population,
                   per_station_areas=station_areas_from_args(args),
                   h3_resolution=check_h3_resolution(args.h3_resolution),
                   progress=progress_from_args(args))
    paths = write_outputs(job, args.out)
    print("示范区（合成数据） — synthetic demo region; no real place, stations or population.")
    _print_result(paths, summary_dict(job))
    return 0


def _cmd_prepare(args: argparse.Namespace) -> int:

    polygon = None
    if args.polygon:

        polygon = shapely.union_all(read_vector(args.polygon, what="clip polygon")
                                    .geometry.to_numpy())
    net = load_network(args.network, bbox=parse_bbox(args.bbox), polygon=polygon)
    out = save_network(net, args.out)
    print(json.dumps(net.summary(), ensure_ascii=False))
    print(f"wrote prepared network {out}")
    if str(args.network).lower().endswith((".pbf", ".osm")):
        _prepare_towns(args.network, out, args.admin_level)
    return 0


def _prepare_towns(source: str, out: Path, admin_level: int) -> None:
    """Write the source's administrative boundaries as ``towns.geojson`` in ``out``;
    broken relations are listed (and none at the level is said, not an error)."""
    b = read_admin_boundaries(source, admin_level=admin_level)
    for r in b.broken.itertuples():
        print(f"broken boundary {r.osm_id} {r.name or ''}: {r.reason}", file=sys.stderr)
    if len(b.towns):
        p = write_towns_geojson(b, Path(out) / "towns.geojson")
        print(f"wrote {len(b.towns)} towns (admin_level={admin_level}) {p}")
    else:
        print(f"no usable admin_level={admin_level} boundary in {source}: towns.geojson not "
              f"written ({len(b.broken)} broken)")


def _cmd_download(args: argparse.Namespace) -> int:

    net = download_network(place=args.place, bbox=parse_bbox(args.bbox),
                           cache_dir=cache_dir_from_args(args))
    out = save_network(net, args.out)
    print(json.dumps(net.summary(), ensure_ascii=False))
    print(f"wrote prepared network {out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handlers = {"coverage": _cmd_coverage, "demo": _cmd_demo, "prepare": _cmd_prepare,
                "download": _cmd_download, "suggest": cmd_suggest, "report": cmd_report,
                "stations": cmd_stations, "users": cmd_users, "batch": cmd_batch,
                "progress": cmd_progress, "bases": cmd_bases,
                "riders": cmd_riders}
    return run_command(handlers[args.command], args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
