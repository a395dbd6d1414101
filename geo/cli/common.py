"""Options shared by the ``yizhan`` sub-commands (walk parameters, cache, bbox)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from geo.errors import InvalidParameterError, YizhanError
from geo.params import (
    DEFAULT_BUFFER_M,
    DEFAULT_MAX_SNAP_M,
    DEFAULT_WALK_SPEED_KMH,
    DEFAULT_WALK_TIME_MIN,
    LIFE_CIRCLE_PRESETS,
    WALK_SPEED_PRESETS_KMH,
    CoverageParams,
)


def add_params(p: argparse.ArgumentParser, *, split_nearest: bool = True,
               title: str = "parameters") -> None:
    """The walk parameters (and optionally ``--split-nearest``) of ``yizhan coverage``."""
    g = p.add_argument_group(title)
    g.add_argument("--walk-time-min", type=float, default=None,
                   help=f"walk time budget in minutes (default {DEFAULT_WALK_TIME_MIN:g})")
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


def params_from_args(args: argparse.Namespace) -> CoverageParams:
    """Validated :class:`CoverageParams` from the options of :func:`add_params`."""
    if args.preset and args.walk_time_min is not None:
        raise InvalidParameterError("give either --preset or --walk-time-min, not both")
    if args.speed_preset and args.walk_speed_kmh is not None:
        raise InvalidParameterError("give either --speed-preset or --walk-speed-kmh, not both")
    minutes = (LIFE_CIRCLE_PRESETS[args.preset].walk_time_min if args.preset
               else args.walk_time_min if args.walk_time_min is not None
               else DEFAULT_WALK_TIME_MIN)
    speed = (WALK_SPEED_PRESETS_KMH[args.speed_preset] if args.speed_preset
             else args.walk_speed_kmh if args.walk_speed_kmh is not None
             else DEFAULT_WALK_SPEED_KMH)
    return CoverageParams(walk_time_min=minutes, walk_speed_kmh=speed,
                          buffer_m=args.buffer_m, max_snap_m=args.max_snap_m)


def cache_dir_from_args(args: argparse.Namespace) -> Path | None:
    """``--cache-dir`` / ``--no-cache`` → the cache directory (default ~/.cache/yizhan)."""
    if getattr(args, "no_cache", False):
        return None
    if getattr(args, "cache_dir", None):
        return Path(args.cache_dir)
    from geo.network.loaders import default_cache_dir

    return default_cache_dir()


def add_cache_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cache-dir", help="prepared-network cache (default ~/.cache/yizhan)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the cache")


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """``min_lon,min_lat,max_lon,max_lat`` text → a validated bbox (``None`` stays)."""
    if text is None:
        return None
    from geo.crs import validate_bbox

    return validate_bbox(text.split(","))


def run_command(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a sub-command: named errors and OS errors become one line and an exit code."""
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
