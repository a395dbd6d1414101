"""``yizhan report`` — coverage reports (xlsx, pdf, html, gpkg) from files or the demo.

Wired into :mod:`geo.cli.commands` with :func:`add_report_parser` and :func:`cmd_report`; it
also runs on its own (``python -m geo.cli.report --demo --format pdf --out r.pdf``)
with the same arguments. Errors follow :mod:`geo.cli.commands`: one line
(``yizhan: error: …``) and the documented exit code (an unknown ``--format`` or
``--lang`` is a parameter error, exit 4).
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from collections.abc import Sequence
from typing import Any

os.environ.setdefault("GDAL_SKIP", "OGR_VRT")

from geo.cli.common import (
    EPILOG,
    add_cache_options,
    add_db_source,
    add_params,
    add_population_option,
    mode_line,
    params_from_args,
    run_command,
    run_job_from_args,
)
from geo.errors import InvalidParameterError
from geo.pipeline.job import CoverageJob, run_demo
from geo.reports.data import ReportOptions, report_data
from geo.reports.html import REPORT_MAP_HEIGHT_PX
from geo.reports.write import check_format, write_report
from geo.webmap.maps import build_map, map_data
from geo.webmap.offline import standalone_html

DESCRIPTION = (
    "Write a coverage report reviewers can hand in: Excel (one sheet per table), PDF "
    "(cover, headline figures, maps, charts, ranked towns, per-station table with "
    "overlap review flags; Chinese with an embedded Noto Sans CJK font), GeoPackage "
    "(layers stations, service_areas, coverage, towns, zones; EPSG:4326) or a standalone "
    "HTML page with the interactive map. Input: --network + --stations (+ --towns, "
    "--zones, --bases) or --demo. --mode walk (default) or ebike: the coverage by walking "
    "or by e-bike (the network loaded with that mode's street filter; the report's "
    "headers, parameters and method text name the mode); with --bases the report adds "
    "the drive time from each town to its nearest convalescence base."
)
_DESCRIPTION_WRAPPED = textwrap.fill(DESCRIPTION, 86)
TILES = ("none", "osm", "amap")


def configure_parser(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the ``report`` arguments to ``p``."""
    src = p.add_argument_group("input (--demo, or --network with --stations or --db/--city)")
    src.add_argument("--demo", action="store_true",
                     help="use the built-in synthetic demo region (示范区（合成数据）)")
    src.add_argument("--network",
                     help=".osm.pbf, .osm (XML), osmnx .graphml or a prepared network directory")
    src.add_argument("--stations", help="station CSV (station_id,name,type,lon,lat) or "
                                        "point GeoJSON/GPKG/zipped Shapefile")
    src.add_argument("--towns", help="town (乡镇/街道) polygons with name [, code, population]")
    src.add_argument("--zones", help="rider-friendly zone polygons with zone_id, name")
    src.add_argument("--bases", help="convalescence bases (points; a layer, not walked)")
    src.add_argument("--bbox", help="clip the network: min_lon,min_lat,max_lon,max_lat")
    add_population_option(p)
    add_db_source(p)
    r = p.add_argument_group("report")
    r.add_argument("--format", dest="report_format", metavar="FORMAT",
                   help="xlsx, pdf, html or gpkg (default: the suffix of --out)")
    r.add_argument("--out", required=True, help="report file to write")
    r.add_argument("--lang", default="zh", help="report language: zh (default) or en")
    r.add_argument("--town-threshold", type=float, default=0.8,
                   help="list towns whose covered share is below this (default 0.8)")
    r.add_argument("--worst-towns", type=int, default=3,
                   help="maps of this many most under-served towns (default 3)")
    r.add_argument("--overlap-threshold", type=float, default=0.95,
                   help="review flag: a station is flagged when at least this share of its "
                        "service area is covered by the other stations' areas (default "
                        "0.95) AND it is the nearest station for under 5%% of the streets "
                        "it reaches")
    r.add_argument("--tiles", default="none",
                   help="HTML map basemap: none (default, offline), osm or amap")
    add_params(p, modes=True)
    add_cache_options(p)
    return p


def add_report_parser(sub: Any) -> argparse.ArgumentParser:
    """Register the ``report`` sub-command on ``sub`` (argparse sub-parsers)."""
    p = sub.add_parser("report", help="write a coverage report: xlsx, pdf, html or gpkg",
                       description=_DESCRIPTION_WRAPPED, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    return configure_parser(p)


def interactive_map_html(job: CoverageJob, *, lang: str, tiles: str = "none") -> str:
    """The standalone interactive folium map of ``job`` (for the HTML report), served
    offline (:mod:`geo.webmap.offline`)."""
    return standalone_html(build_map(map_data(job, lang=lang), lang=lang, tiles=tiles,
                                     height=REPORT_MAP_HEIGHT_PX))


def cmd_report(args: argparse.Namespace) -> int:
    """Run ``yizhan report``."""
    fmt = check_format(args.report_format, args.out)
    lang = (args.lang or "").strip().lower()
    options = ReportOptions(lang=lang, town_threshold=args.town_threshold,
                            worst_towns=args.worst_towns,
                            overlap_threshold=args.overlap_threshold)
    if args.tiles not in TILES:
        raise InvalidParameterError(f"unknown --tiles {args.tiles!r}: use none, osm or amap")
    params = params_from_args(args, allow_drive=True)
    if args.demo:
        if args.network or args.stations or args.db or args.city or args.population:
            raise InvalidParameterError(
                "give either --demo or --network with --stations/--db (and --population), "
                "not both")
        job = run_demo(params, split_nearest=args.split_nearest)
    else:
        if not args.network:
            raise InvalidParameterError(
                "give --network and --stations or --db/--city (or --demo for the built-in "
                "demo region)")
        job = run_job_from_args(args, params)
    data = report_data(job, options)
    map_html = interactive_map_html(job, lang=lang, tiles=args.tiles) if fmt == "html" else None
    out = write_report(data, fmt, args.out, map_html=map_html)
    if job.synthetic:
        print("示范区（合成数据） — synthetic demo region; no real place, stations or population.")
    print(mode_line(job.params))
    print(f"wrote {out}  ({fmt}, {out.stat().st_size:,} bytes)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """A parser for running this module on its own (the ``report`` arguments)."""
    p = argparse.ArgumentParser(prog="yizhan report", description=_DESCRIPTION_WRAPPED,
                                epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    return configure_parser(p)


def main(argv: Sequence[str] | None = None) -> int:
    """``yizhan report`` on its own (same error handling as :func:`geo.cli.commands.main`)."""
    args = build_parser().parse_args(argv)
    return run_command(cmd_report, args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

