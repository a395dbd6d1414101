"""What the ``yizhan`` sub-commands share: walk parameters, cache, bbox, ``--db/--city``,
the method/exit-code epilog and the one-line error handling."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tqdm import tqdm

from geo.cli.towns import add_town_options, town_inputs
from geo.coverage.cells import DEFAULT_H3_RESOLUTION, check_h3_resolution
from geo.crs import validate_bbox
from geo.errors import InvalidParameterError, YizhanError, exit_code_help
from geo.io.layers import LayerTable
from geo.network.admin import read_admin_boundaries, write_towns_geojson
from geo.network.loaders import default_cache_dir
from geo.network.modes import EBIKE_SPEED_PRESETS_KMH, MODES, network_filter
from geo.params import (
    DEFAULT_BUFFER_M,
    DEFAULT_EBIKE_SPEED_KMH,
    DEFAULT_MAX_SNAP_M,
    DEFAULT_WALK_SPEED_KMH,
    DEFAULT_WALK_TIME_MIN,
    LIFE_CIRCLE_PRESETS,
    WALK_SPEED_PRESETS_KMH,
    CoverageParams,
)
from geo.pipeline.job import (
    AUTO_STATION_AREAS_MAX,
    STAGES,
    CoverageJob,
    ProgressFn,
    StationAreasMode,
    run_region,
)
from geo.pipeline.region import Region, region_from_files
from geo.stations.store import StationStore, layer_table

EPILOG = """\
Method: stations are snapped to the nearest point on a walkable street (farther than
--max-snap-m: off-network, listed with the reason). One multi-source Dijkstra over the
undirected walk network gives each street point its walking distance to the nearest
station; partial streets count. Service areas are the reached street stretches
buffered by --buffer-m and unioned (holes stay holes). Walk budget = walk time × speed
(15 min at 4.0 km/h = 1,000 m). Life-circle presets (GB 50180-2018): 5min (≈300 m),
10min (≈500 m), 15min (800–1,000 m). Speed presets: adult 4.0, elderly 3.0,
with_children 3.0, brisk 5.0 km/h. --mode ebike: the same minutes by e-bike on roads
open to non-motor vehicles (slow 12, standard 15, fast 20 km/h). --mode drive (coverage,
report, batch, progress): each street point's drive time TO its nearest station on the car network,
one-way streets respected, free-flow speeds per edge (maxspeed, else the China class
default); no speed option. Convalescence bases: drive times with yizhan bases.
"""
EPILOG += "\n" + exit_code_help() + "\n"


def add_params(p: argparse.ArgumentParser, *, split_nearest: bool = True,
               title: str = "parameters", modes: bool = False) -> None:
    """The walk parameters (and optionally ``--split-nearest``; with ``modes``
    ``--mode`` and the e-bike speed) of ``yizhan coverage``."""
    g = p.add_argument_group(title)
    if modes:
        _add_mode_options(g)
    trip = "time budget in minutes, walking or riding (--mode)" if modes else \
        "walk time budget in minutes"
    g.add_argument("--walk-time-min", type=float, default=None,
                   help=f"{trip} (default {DEFAULT_WALK_TIME_MIN:g})")
    g.add_argument("--preset", choices=sorted(LIFE_CIRCLE_PRESETS),
                   help="life-circle preset instead of --walk-time-min (5min, 10min, 15min)")
    g.add_argument("--walk-speed-kmh", type=float, default=None,
                   help=f"walking speed in km/h (default {DEFAULT_WALK_SPEED_KMH:g})")
    g.add_argument("--speed-preset", choices=sorted(WALK_SPEED_PRESETS_KMH),
                   help="walking-speed preset instead of --walk-speed-kmh (elderly = 3.0)")
    g.add_argument("--buffer-m", type=float, default=DEFAULT_BUFFER_M,
                   help="street buffer half-width for service areas "
                        f"(default {DEFAULT_BUFFER_M:g})")
    g.add_argument("--max-snap-m", type=float, default=DEFAULT_MAX_SNAP_M,
                   help="stations farther than this from a street are off-network "
                        f"(default {DEFAULT_MAX_SNAP_M:g})")
    if split_nearest:
        g.add_argument("--split-nearest", action="store_true",
                       help="also write service_areas_nearest.geojson: the union split "
                            "into non-overlapping parts by nearest station")
        g.add_argument("--station-areas", choices=("auto", "all", "none"), default="auto",
                       help="per-station service areas (service_areas.geojson): all, none, "
                            f"or auto = all for at most {AUTO_STATION_AREAS_MAX} used stations "
                            "(default auto)")
        g.add_argument("--h3-resolution", type=int, default=DEFAULT_H3_RESOLUTION,
                       help="H3 resolution of the analysis cells used without --towns "
                            f"(default {DEFAULT_H3_RESOLUTION}, ≈0.74 km²; 7 ≈ 5.2 km², "
                            "9 ≈ 0.11 km²)")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bars on stderr (they are off anyway when stderr is "
                        "not a terminal)")


def params_from_args(args: argparse.Namespace, *,
                     allow_drive: bool = False) -> CoverageParams:
    """Validated :class:`CoverageParams` from the options of :func:`add_params`.

    ``allow_drive``: whether the command computes coverage by car (``yizhan coverage``,
    ``report``, ``batch``, ``progress``); the others refuse ``--mode drive`` with what
    to do instead (:data:`DRIVE_REFUSALS`)."""
    if args.preset and args.walk_time_min is not None:
        raise InvalidParameterError("give either --preset or --walk-time-min, not both")
    if args.speed_preset and args.walk_speed_kmh is not None:
        raise InvalidParameterError("give either --speed-preset or --walk-speed-kmh, not both")
    minutes = (LIFE_CIRCLE_PRESETS[args.preset].walk_time_min if args.preset
               else args.walk_time_min if args.walk_time_min is not None
               else DEFAULT_WALK_TIME_MIN)
    mode = _mode_from_args(args, allow_drive=allow_drive)
    if mode == "drive":  # per-edge speeds: no speed to give
        return CoverageParams(mode="drive", walk_time_min=minutes, buffer_m=args.buffer_m,
                              max_snap_m=args.max_snap_m)
    if mode == "ebike":
        return CoverageParams.for_mode("ebike", minutes=minutes,
                                       speed_kmh=ride_speed_from_args(args),
                                       buffer_m=args.buffer_m, max_snap_m=args.max_snap_m)
    speed = (WALK_SPEED_PRESETS_KMH[args.speed_preset] if args.speed_preset
             else args.walk_speed_kmh if args.walk_speed_kmh is not None
             else DEFAULT_WALK_SPEED_KMH)
    return CoverageParams(walk_time_min=minutes, walk_speed_kmh=speed,
                          buffer_m=args.buffer_m, max_snap_m=args.max_snap_m)


def _add_mode_options(g: argparse._ArgumentGroup) -> None:
    g.add_argument("--mode", choices=MODES, default="walk",
                   help="travel mode: walk (default; pedestrian filter), ebike (roads "
                        "open to non-motor vehicles, no footways without bicycle access; "
                        "--ride-speed-kmh) or drive (coverage, report, batch, progress: the car "
                        "network, one-way streets respected, per-edge speeds from "
                        "maxspeed or China class defaults; no speed option; time from "
                        "each street point to the station)")
    g.add_argument("--ride-speed-kmh", type=float, default=None,
                   help=f"with --mode ebike: riding speed in km/h (default "
                        f"{DEFAULT_EBIKE_SPEED_KMH:g}, range 5–25)")
    g.add_argument("--ride-preset", choices=list(EBIKE_SPEED_PRESETS_KMH),
                   help="with --mode ebike: e-bike speed preset instead of --ride-speed-kmh "
                        "(slow 12, standard 15, fast 20 km/h)")


#: What to do instead of ``--mode drive``, for the commands that do not compute by car.
DRIVE_REFUSALS: dict[str, str] = {
    "suggest": "site suggestions are computed on foot or by e-bike: use --mode walk or "
               "--mode ebike; for coverage by car run `yizhan coverage --mode drive`, for "
               "drive times to convalescence bases `yizhan bases`",
}
_DRIVE_REFUSAL = ("this command computes on foot or by e-bike: use --mode walk or --mode "
                  "ebike; `yizhan coverage --mode drive` computes coverage by car, "
                  "`yizhan bases` drive times to convalescence bases")


def _mode_from_args(args: argparse.Namespace, *, allow_drive: bool = False) -> str:
    """``--mode`` (walk without the option); drive (unless ``allow_drive``) and speed
    options of another mode refused."""
    mode = str(getattr(args, "mode", "walk"))
    ride = (getattr(args, "ride_speed_kmh", None) is not None
            or getattr(args, "ride_preset", None) is not None)
    walk = args.walk_speed_kmh is not None or bool(args.speed_preset)
    if mode == "drive":
        if not allow_drive:
            command = str(getattr(args, "command", "") or "")
            raise InvalidParameterError(
                f"--mode drive: {DRIVE_REFUSALS.get(command, _DRIVE_REFUSAL)}")
        if ride or walk:
            raise InvalidParameterError(
                "--mode drive: speeds are per street (maxspeed, else the China class "
                "default), so give no --walk-speed-kmh / --speed-preset / "
                "--ride-speed-kmh / --ride-preset; set the time with --walk-time-min or "
                "--preset")
        return mode
    if mode == "walk" and ride:
        raise InvalidParameterError("--ride-speed-kmh / --ride-preset need --mode ebike")
    if mode == "ebike" and walk:
        raise InvalidParameterError(
            "--mode ebike: give the riding speed with --ride-speed-kmh or --ride-preset, "
            "not --walk-speed-kmh / --speed-preset")
    return mode


def ride_speed_from_args(args: argparse.Namespace) -> float:
    """``--ride-preset`` / ``--ride-speed-kmh`` → the e-bike speed (default 15 km/h)."""
    if args.ride_preset and args.ride_speed_kmh is not None:
        raise InvalidParameterError("give either --ride-preset or --ride-speed-kmh, not both")
    if args.ride_preset:
        return EBIKE_SPEED_PRESETS_KMH[args.ride_preset]
    return float(args.ride_speed_kmh if args.ride_speed_kmh is not None
                 else DEFAULT_EBIKE_SPEED_KMH)


def mode_line(params: CoverageParams) -> str:
    """One line naming the travel mode, its network filter and budget, e.g. ``travel mode:
    ebike (network filter ebike-v1), 15 min at 15 km/h = 3,750 m``; by car ``travel mode:
    drive (network filter drive-v1), 15 min by car (per-edge speeds: …)``."""
    nf = network_filter(params.mode)
    head = f"travel mode: {params.mode} (network filter {nf['filter']}), "
    if params.mode == "drive":
        return (head + f"{params.walk_time_min:g} min by car (per-edge speeds: maxspeed or "
                "China class defaults; one-way streets respected)")
    return (head + f"{params.walk_time_min:g} min at {params.walk_speed_kmh:g} km/h = "
            f"{params.budget_m:,.0f} m")


def cache_dir_from_args(args: argparse.Namespace) -> Path | None:
    """``--cache-dir`` / ``--no-cache`` → the cache directory (default ~/.cache/yizhan)."""
    if getattr(args, "no_cache", False):
        return None
    if getattr(args, "cache_dir", None):
        return Path(args.cache_dir)
    return default_cache_dir()


def add_cache_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cache-dir", help="prepared-network cache (default ~/.cache/yizhan)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the cache")


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """``min_lon,min_lat,max_lon,max_lat`` text → a validated bbox (``None`` stays)."""
    if text is None:
        return None
    return validate_bbox(text.split(","))


def run_command(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a sub-command: named errors and OS errors become one line and an exit code.

    Library warnings (GDAL, shapely, pandas) are collected: on success each distinct one
    is printed as one ``yizhan: warning:`` line after the command's output; on an error
    only the error line is printed.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = _run(handler, args)
    if code == 0:
        for text in dict.fromkeys(" ".join(str(w.message).split()) for w in caught):
            print(f"yizhan: warning: {text}", file=sys.stderr)
    return code


def _run(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    try:
        return handler(args)
    except YizhanError as exc:
        print(f"yizhan: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        print(f"yizhan: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "),
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("yizhan: interrupted", file=sys.stderr)
        return 130


# ------------------------------------------------------------------------------ --db/--city


def add_db_source(p: argparse.ArgumentParser) -> None:
    """``--db PATH --city CITY``: use the city's current stored version as stations."""
    g = p.add_argument_group("stations from the station database (instead of --stations)")
    g.add_argument("--db", help="station database (see yizhan stations import)")
    g.add_argument("--city", help="city whose current version to use, e.g. 深圳市")
    g.add_argument("--version", type=int, dest="db_version",
                   help="a stored version instead of the current one")


def db_stations(args: argparse.Namespace) -> tuple[LayerTable, dict[str, Any]] | None:
    """(LayerTable, inputs entry) from ``--db/--city``, or ``None`` when not given."""
    db, city = getattr(args, "db", None), getattr(args, "city", None)
    if db is None and city is None:
        return None
    if not db or not city:
        raise InvalidParameterError("give both --db and --city")
    if getattr(args, "stations", None):
        raise InvalidParameterError("give either --stations or --db/--city, not both")
    store = StationStore(db, create=False)
    table, info = layer_table(store, city, version=getattr(args, "db_version", None))
    entry = {"path": f"{db}#{city}@v{info.version}", "sha256": info.sha256, "db": str(db),
             "city": city, "version": info.version, "source_name": info.source_name}
    return table, entry


def run_job_from_args(args: argparse.Namespace, params: CoverageParams) -> CoverageJob:
    """The coverage job of ``--network`` with ``--stations`` or ``--db/--city``."""
    from_db = db_stations(args)
    if from_db is None and not args.stations:
        raise InvalidParameterError(
            "give --stations FILE, or --db PATH --city CITY for a stored station list")
    # one path with or without --bbox, so summary.json always records the inputs
    # (paths, sha256) and the load_network timing
    towns_path, town_entries = town_inputs(args, osm_towns_path(args))
    region = region_from_files(
        args.network, stations_path=None if from_db else args.stations,
        towns_path=towns_path, zones_path=args.zones, bases_path=args.bases,
        bbox=parse_bbox(args.bbox), cache_dir=cache_dir_from_args(args),
        population_path=getattr(args, "population", None), mode=params.mode)
    region = dataclasses.replace(region, inputs={**region.inputs, **town_entries})
    return run_region(with_db_stations(region, from_db), params=params,
                      split_nearest=args.split_nearest,
                      per_station_areas=station_areas_from_args(args),
                      h3_resolution=check_h3_resolution(
                          getattr(args, "h3_resolution", DEFAULT_H3_RESOLUTION)),
                      progress=progress_from_args(args),
                      units_cache_dir=cache_dir_from_args(args))


def osm_towns_path(args: argparse.Namespace) -> str | None:
    """``--towns``; for ``--towns osm`` the towns of ``--network``'s administrative
    boundaries (``--admin-level``): a prepared network's ``towns.geojson``, else read from
    the ``.osm.pbf`` / ``.osm`` and written to ``--out``/towns_osm.geojson."""
    towns = getattr(args, "towns", None)
    if towns != "osm":
        return towns
    prepared = Path(args.network) / "towns.geojson"
    if Path(args.network).is_dir():
        if not prepared.is_file():
            raise InvalidParameterError(
                f"--towns osm: {prepared} not found; run yizhan prepare on the .osm.pbf")
        return str(prepared)
    b = read_admin_boundaries(args.network, admin_level=getattr(args, "admin_level", 8))
    # yizhan report's --out is the report file: the towns go beside it
    folder = Path(args.out).parent if hasattr(args, "report_format") else Path(args.out)
    folder.mkdir(parents=True, exist_ok=True)
    out = write_towns_geojson(b, folder / "towns_osm.geojson")
    for r in b.broken.itertuples():
        print(f"broken boundary {r.osm_id} {r.name or ''}: {r.reason}", file=sys.stderr)
    return str(out)


def add_population_option(p: argparse.ArgumentParser) -> None:
    """``--population FILE``: a population GeoTIFF (people become the demand); also
    ``--admin-level`` and the town-table options (:func:`geo.cli.towns.add_town_options`)."""
    p.add_argument("--admin-level", type=int, default=8,
                   help="with --towns osm: the boundary level (8 乡镇/街道, 6 区县)")
    p.add_argument("--population", metavar="FILE",
                   help="population GeoTIFF (people per cell, any CRS, nodata honoured; "
                        "WorldPop / GHS-POP style): only the region's window is read, "
                        "people become the demand (demand_basis population_raster)")
    add_town_options(p)


def station_areas_from_args(args: argparse.Namespace) -> StationAreasMode:
    """``--station-areas auto|all|none`` → the job's ``per_station_areas``."""
    choice = getattr(args, "station_areas", "auto")
    return "auto" if choice == "auto" else choice == "all"


class StageBars:
    """``progress(stage, fraction)`` drawing one tqdm bar per stage on stderr."""

    def __init__(self) -> None:
        self._bars: dict[str, Any] = {}

    def __call__(self, stage: str, fraction: float) -> None:
        bar = self._bars.get(stage)
        if bar is None:
            label = STAGES.get(stage, (stage, stage))[1]
            bar = tqdm(total=100, desc=f"{label:<26}", file=sys.stderr, leave=True,
                       bar_format="{desc} {percentage:3.0f}%|{bar}| {elapsed}")
            self._bars[stage] = bar
        bar.n = round(100 * min(max(fraction, 0.0), 1.0))
        bar.refresh()
        if fraction >= 1.0:
            bar.close()


def progress_from_args(args: argparse.Namespace) -> ProgressFn | None:
    """Progress bars on stderr unless ``--quiet`` or stderr is not a terminal."""
    if getattr(args, "quiet", False) or not sys.stderr.isatty():
        return None
    return StageBars()


def with_db_stations(region: Region,
                     from_db: tuple[LayerTable, dict[str, Any]] | None) -> Region:
    """``region`` with the stations (and their inputs entry) of :func:`db_stations`."""
    if from_db is None:
        return region
    table, entry = from_db
    return dataclasses.replace(region, stations=table,
                               inputs={**region.inputs, "stations": entry})
