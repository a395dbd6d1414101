"""``yizhan bases``: convalescence bases (疗休养基地) by car: access, limits, isochrones, routes."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely

from geo.access.bases import DEFAULT_BASE_SNAP_M, BaseAccess, base_access, check_limits
from geo.access.routes import routes_frame, routes_to_bases
from geo.cli.common import add_cache_options, cache_dir_from_args, parse_bbox
from geo.coverage.towns import hex_grid, read_towns
from geo.errors import InvalidParameterError
from geo.io.layers import read_bases
from geo.io.sheetsafe import write_csv
from geo.network.loaders import load_network
from geo.network.travel import travel_graph
from geo.population.raster import read_population

_CELL_M = 2000.0


def add_bases_parser(sub: Any) -> None:
    """The ``bases`` sub-command."""
    p = sub.add_parser(
        "bases", help="convalescence bases by car: nearest base per town, people beyond "
                      "each limit, drive-time isochrones, routes",
        description="Loads the network with the car filter (one-way streets, maxspeed or "
                    "China class-default speeds) and writes access.csv (per town: lon, lat "
                    "of its population-weighted or representative point, nearest_base, "
                    "drive_time_min, drive_distance_m), beyond.csv, unreachable.csv, "
                    "isochrones.geojson, bases.csv, summary.json and — with --route-from — "
                    "routes.geojson / routes.csv into --out.")
    p.add_argument("--network", required=True,
                   help=".osm.pbf, .osm (XML: no one-way data), osmnx .graphml or a "
                        "network directory prepared for drive")
    p.add_argument("--bases", required=True, help="convalescence bases (points)")
    p.add_argument("--towns", help="town polygons (default: hexagonal analysis cells of "
                                   f"{_CELL_M:g} m over the streets)")
    p.add_argument("--population", metavar="FILE",
                   help="population GeoTIFF: each town's origin becomes its "
                        "population-weighted point")
    p.add_argument("--limits-min", default="30,60,120",
                   help="drive-time limits in minutes (default 30,60,120)")
    p.add_argument("--route-from", metavar="TOWN|LON,LAT",
                   help="recommend the fastest routes to the 3 nearest bases from this town "
                        "(town_id or name) or point")
    p.add_argument("--max-snap-m", type=float, default=DEFAULT_BASE_SNAP_M,
                   help=f"farthest a town point or base may be from a drivable street "
                        f"(default {DEFAULT_BASE_SNAP_M:g} m)")
    p.add_argument("--bbox", help="clip the network: min_lon,min_lat,max_lon,max_lat")
    p.add_argument("--out", required=True, help="output directory")
    add_cache_options(p)


def cmd_bases(args: argparse.Namespace) -> int:
    """Run ``yizhan bases``."""
    limits = check_limits([float(x) for x in str(args.limits_min).split(",") if x.strip()])
    net = load_network(args.network, bbox=parse_bbox(args.bbox),
                       cache_dir=cache_dir_from_args(args), mode="drive")
    graph = travel_graph(net)
    bases = read_bases(args.bases).accepted.to_crs(net.crs)
    if args.towns:
        towns = read_towns(args.towns).accepted.to_crs(net.crs)
    else:
        towns = hex_grid(net.bounds, net.crs, size_m=_CELL_M, keep=net.geometry)
    grid = None
    if args.population:
        grid = read_population(args.population, bounds=net.bounds, bounds_crs=net.crs)
    result = base_access(graph, towns, bases, limits_min=limits, population=grid,
                         max_snap_m=args.max_snap_m)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    _write(result, out, units="towns" if args.towns else "cells")
    if args.route_from:
        origin = _origin(args.route_from, result, net.crs)
        routes = routes_frame(routes_to_bases(graph, origin, bases,
                                              max_snap_m=args.max_snap_m), net.crs)
        routes.to_file(out / "routes.geojson", driver="GeoJSON")
        write_csv(routes.drop(columns="geometry"), out / "routes.csv")
        for r in routes.itertuples():
            print(f"route {r.rank}: {r.base_name} {r.drive_time_min:.1f} min "
                  f"{r.drive_distance_km:.1f} km via {r.streets}")
    reach = result.access["reachable"]
    print(f"{int(reach.sum())} of {len(reach)} towns reach a base by car; wrote {out}")
    return 0


def _write(result: BaseAccess, out: Path, *, units: str) -> None:
    write_csv(result.access, out / "access.csv")
    write_csv(result.beyond, out / "beyond.csv")
    write_csv(result.unreachable, out / "unreachable.csv")
    write_csv(result.bases, out / "bases.csv")
    result.isochrones.to_file(out / "isochrones.geojson", driver="GeoJSON")
    summary = {**result.meta, "units": units, "limits_min": list(result.limits_min),
               "towns": len(result.access),
               "unreachable": int((~result.access["reachable"]).sum()),
               "beyond": result.beyond.to_dict("records")}
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2,
                                                 default=str), encoding="utf-8")


def _origin(text: str, result: BaseAccess, crs: Any) -> shapely.Point:
    """A town id / name from access.csv, or ``lon,lat``."""
    a = result.access
    hit = a.loc[(a["town_id"].astype(str) == text) | (a["name"].astype(str) == text)]
    if len(hit):
        lon, lat = float(hit["lon"].iloc[0]), float(hit["lat"].iloc[0])
    else:
        try:
            lon, lat = (float(v) for v in text.split(","))
        except ValueError:
            raise InvalidParameterError(
                f"--route-from {text!r} is neither a town id / name nor lon,lat") from None
    pt = gpd.GeoSeries([shapely.Point(lon, lat)], crs=4326).to_crs(crs).iloc[0]
    return shapely.Point(pt.x, pt.y)
