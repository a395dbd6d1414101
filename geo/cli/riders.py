"""``yizhan riders``: rider-friendly zones (骑手友好场景) by e-bike — the share of each zone's
streets a short ride from a 工会驿站 / 司机之家, the nearest one, zones without one first."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from geo.access.riders import DEFAULT_RIDE_TIME_MIN, RIDER_STATION_TYPES, RiderZones, rider_zones
from geo.cli.common import (
    add_cache_options,
    cache_dir_from_args,
    parse_bbox,
    ride_speed_from_args,
)
from geo.io.layers import read_stations, read_zones
from geo.io.sheetsafe import write_csv
from geo.network.loaders import load_network
from geo.network.modes import EBIKE_SPEED_PRESETS_KMH
from geo.params import DEFAULT_EBIKE_SPEED_KMH, DEFAULT_MAX_SNAP_M


def add_riders_parser(sub: Any) -> None:
    """The ``riders`` sub-command."""
    p = sub.add_parser(
        "riders", help="rider-friendly zones by e-bike: share of each zone's streets within "
                       "N minutes of a 工会驿站 / 司机之家, nearest station, zones without "
                       "one first",
        description="Loads the network with the e-bike filter (roads open to non-motor "
                    "vehicles; footways only with bicycle access) and writes riders.csv "
                    "(rank, zone_id, name, street_length_m, covered_length_m, "
                    "covered_length_share, nearest_station_id, nearest_station_name, "
                    "nearest_ride_time_min, station_within_threshold; zones without a "
                    f"station first) and summary.json into --out. Stations: "
                    f"{' and '.join(RIDER_STATION_TYPES)} only.")
    p.add_argument("--network", required=True,
                   help=".osm.pbf, .osm, osmnx .graphml or a network directory prepared "
                        "for ebike")
    p.add_argument("--stations", required=True,
                   help="station list (CSV station_id,name,type,lon,lat or point layer)")
    p.add_argument("--zones", required=True, help="rider-friendly zone polygons (zone_id, name)")
    p.add_argument("--ride-time-min", type=float, default=DEFAULT_RIDE_TIME_MIN,
                   help=f"ride time in minutes (default {DEFAULT_RIDE_TIME_MIN:g})")
    p.add_argument("--ride-speed-kmh", type=float, default=None,
                   help=f"e-bike speed in km/h (default {DEFAULT_EBIKE_SPEED_KMH:g}, 5–25)")
    p.add_argument("--ride-preset", choices=list(EBIKE_SPEED_PRESETS_KMH),
                   help="e-bike speed preset instead of --ride-speed-kmh (slow 12, standard "
                        "15, fast 20 km/h)")
    p.add_argument("--max-snap-m", type=float, default=DEFAULT_MAX_SNAP_M,
                   help="stations farther than this from a rideable street are off-network "
                        f"(default {DEFAULT_MAX_SNAP_M:g})")
    p.add_argument("--bbox", help="clip the network: min_lon,min_lat,max_lon,max_lat")
    p.add_argument("--out", required=True, help="output directory")
    add_cache_options(p)


def cmd_riders(args: argparse.Namespace) -> int:
    """Run ``yizhan riders``."""
    speed = ride_speed_from_args(args)
    net = load_network(args.network, bbox=parse_bbox(args.bbox),
                       cache_dir=cache_dir_from_args(args), mode="ebike")
    stations = read_stations(args.stations)
    zones = read_zones(args.zones)
    result = rider_zones(net, stations.accepted, zones.accepted,
                         ride_time_min=args.ride_time_min, speed_kmh=speed,
                         max_snap_m=args.max_snap_m)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    _write(result, out, inputs={"network": str(args.network), "stations": str(args.stations),
                                "zones": str(args.zones)},
           rejected_zones=len(zones.rejected))
    lacking = result.without_station()
    print(f"{len(lacking)} of {len(result.zones)} zones have no "
          f"{'/'.join(RIDER_STATION_TYPES)} within {result.params.walk_time_min:g} min by "
          f"e-bike ({result.params.speed_kmh:g} km/h); wrote {out}")
    return 0


def _write(result: RiderZones, out: Path, *, inputs: dict[str, str],
           rejected_zones: int) -> None:
    write_csv(result.zones, out / "riders.csv")
    summary = {**result.meta, "params": result.params.to_dict(), "inputs": inputs,
               "zones": len(result.zones), "zones_rejected": rejected_zones,
               "stations_used": result.stations_used,
               "without_station_within_threshold":
                   result.without_station()["zone_id"].astype(str).tolist()}
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2,
                                                 default=str), encoding="utf-8")
