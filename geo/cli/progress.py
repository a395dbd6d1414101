"""``yizhan progress`` — coverage of every stored version of every city's station list.

Runs each version (``--db``, ``--city``) with the same parameters — travel mode
(``--mode walk|ebike|drive``), minutes, speed — on the same network (``--network``
[``--towns``] or a region folder ``--region``, loaded with the mode's street filter)
and writes
``progress.csv``, ``progress.xlsx`` and ``progress.json`` into ``--out``. Each version's
figures are cached under ``--cache-dir``/progress, keyed by content, so a re-run computes
only new versions (``--no-cache``: compute everything, write no cache).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, cast

from geo.cli.common import (
    EPILOG,
    add_params,
    cache_dir_from_args,
    mode_line,
    params_from_args,
)
from geo.errors import InvalidParameterError
from geo.pipeline.progress import ProgressTable, coverage_progress
from geo.pipeline.region import Region, region_from_files, region_from_folder
from geo.reports.progress import write_progress
from geo.stations.store import StationStore
from geo.vocab import Lang, is_people


def add_progress_parser(sub: Any) -> None:
    """The ``progress`` sub-command."""
    p = sub.add_parser(
        "progress", help="coverage per city and stored version: how the 15-minute circle "
                         "is being built",
        description="For every stored version of each city's station list (or of --city), "
                    "the stations by type and the covered share (population when every "
                    "town has one, else street length) with the same parameters on the "
                    "same network, by walking, with --mode ebike by e-bike or with --mode "
                    "drive by car (one-way streets, per-edge speeds; the network loaded "
                    "with that mode's street filter). Writes progress.csv, "
                    "progress.xlsx and progress.json (with travel_mode, speed_model and "
                    "network_filter) into --out.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", required=True, help="station database (see yizhan stations import)")
    p.add_argument("--city", action="append", default=[], metavar="CITY",
                   help="a city, e.g. 深圳市; repeatable or comma-separated (default: every "
                        "city in the database)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--network",
                     help=".osm.pbf, .osm (XML), osmnx .graphml or a prepared network directory")
    src.add_argument("--region", metavar="DIR",
                     help="a region folder (network + towns…; its own stations.csv is not "
                          "used: the stations come from --db)")
    p.add_argument("--towns", help="with --network: town polygons with a population, for the "
                                   "population basis (without: street length)")
    p.add_argument("--lang", choices=("zh", "en"), default="zh",
                   help="language of progress.xlsx headers (default zh)")
    p.add_argument("--out", required=True, help="output directory")
    add_params(p, split_nearest=False, modes=True)
    p.add_argument("--cache-dir", help="prepared networks, and each version's figures in "
                                       "DIR/progress (default ~/.cache/yizhan)")
    p.add_argument("--no-cache", action="store_true",
                   help="compute every version again; read and write no cache")


def _cities(values: list[str]) -> list[str] | None:
    """``--city`` values (repeated and/or comma-separated); None means every city."""
    out = [c.strip() for v in values for c in v.replace("，", ",").split(",") if c.strip()]
    return out or None


def _region(args: argparse.Namespace, cache: Path | None, mode: str) -> Region:
    """The ``--region`` folder or ``--network`` (+ ``--towns``), loaded for ``mode``."""
    if args.region:
        if args.towns:
            raise InvalidParameterError("--towns goes with --network; a --region folder "
                                        "has its own towns file")
        return region_from_folder(args.region, cache_dir=cache, mode=mode)
    return region_from_files(args.network, towns_path=args.towns, cache_dir=cache,
                             mode=mode)


def _print_table(table: ProgressTable) -> None:
    """One line per version: city, version, date, stations and the covered share."""
    basis = "population" if is_people(table.demand_basis) else "street length"
    for r in table.rows:
        share = "—" if r.covered_share is None else f"{r.covered_share:.1%}"
        print(f"{r.city}  v{r.version}  {r.created_at}  {r.created_by}  {r.action}  "
              f"stations {r.stations_total} ({r.stations_used} on the network)  "
              f"covered {basis} {share}")
    print(f"{len(table.rows)} version(s): {table.computed} computed, {table.cached} from "
          "the cache")


def cmd_progress(args: argparse.Namespace) -> int:
    """Run ``yizhan progress``: read the store, compute or reuse, write the three files."""
    params = params_from_args(args, allow_drive=True)
    cache = cache_dir_from_args(args)
    store = StationStore(args.db, create=False)
    region = _region(args, cache, params.mode)
    quiet = getattr(args, "quiet", False) or not sys.stderr.isatty()

    def step(done: int, total: int) -> None:
        if not quiet:
            print(f"\rversions {done}/{total}", end="\n" if done == total else "",
                  file=sys.stderr, flush=True)

    table = coverage_progress(store, region, cities=_cities(args.city), params=params,
                              cache_dir=None if cache is None else cache / "progress",
                              progress=step)
    paths = write_progress(table, args.out, lang=cast(Lang, args.lang))
    print(mode_line(params))
    _print_table(table)
    for name, p in paths.items():
        print(f"wrote {p}  ({name})")
    return 0


__all__ = ["add_progress_parser", "cmd_progress"]
