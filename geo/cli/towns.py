"""The town options shared by ``yizhan coverage``, ``report`` and ``suggest``:
``--towns-crs`` (town polygons drawn in GCJ-02 / BD-09), ``--town-codes`` (official
codes by name within the district) and ``--town-population`` (a population table
joined by code or name). Each step writes what it produced into the output folder and
the next reads it, so ``summary.json`` records every file with its sha256."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from geo.coverage.towns import read_towns
from geo.errors import InvalidParameterError
from geo.io.upload import read_upload_file
from geo.network.loaders import file_sha256
from geo.pipeline.town_tables import (
    convert_towns_crs,
    join_town_population,
    match_codes_file,
    write_code_report,
    write_join_report,
    write_towns,
)
from geo.stations.coords import COORD_SYSTEMS


def add_town_options(p: argparse.ArgumentParser) -> None:
    """``--towns-crs``, ``--town-codes``, ``--town-population`` (with ``--towns``)."""
    g = p.add_argument_group("town tables (with --towns)")
    g.add_argument("--towns-crs", choices=COORD_SYSTEMS, default="wgs84",
                   help="the coordinate system of the --towns polygons: wgs84 (default), "
                        "gcj02 (Amap / Tencent) or bd09 (Baidu); converted to WGS-84 like "
                        "station lists")
    g.add_argument("--town-codes", metavar="FILE",
                   help="official town codes (CSV code,name,areaCode — the statistics "
                        "bureau's list): each town gets the code of its name, within its "
                        "district when the name repeats; unmatched towns are listed in "
                        "town_codes_report.csv")
    g.add_argument("--town-population", metavar="FILE",
                   help="town populations: CSV (any Chinese encoding) or XLSX with a "
                        "population column and a code or name (+ district) column; every "
                        "row is matched, unmatched or ambiguous, with the reason, in "
                        "town_population_report.csv")
    g.add_argument("--town-population-sheet", metavar="NAME",
                   help="the XLSX sheet of --town-population (default: the first)")


def town_inputs(args: argparse.Namespace, towns_path: str | None
                ) -> tuple[str | None, dict[str, Any]]:
    """(the towns file to load, entries for ``summary.json["inputs"]``) after the town
    options; steps write ``towns_wgs84.geojson`` / ``towns_coded.geojson`` /
    ``towns_population.geojson`` and the reports into the output folder."""
    crs = getattr(args, "towns_crs", "wgs84") or "wgs84"
    codes = getattr(args, "town_codes", None)
    table = getattr(args, "town_population", None)
    if towns_path is None:
        if crs != "wgs84" or codes or table:
            raise InvalidParameterError("--towns-crs, --town-codes and --town-population "
                                        "need --towns FILE (or --towns osm)")
        return None, {}
    out = _out_dir(args)
    inputs: dict[str, Any] = {}
    path = towns_path
    if crs != "wgs84":
        path = str(convert_towns_crs(path, crs, out / "towns_wgs84.geojson"))
        inputs["towns_crs"] = {"declared": crs, "converted": path}
    if codes:
        path, inputs["town_codes"] = _codes(path, codes, out)
    if table:
        path, inputs["town_population"] = _population(path, table, out,
                                                      getattr(args, "town_population_sheet",
                                                              None))
    return path, inputs


def _out_dir(args: argparse.Namespace) -> Path:
    """``--out``, or for ``yizhan report`` (whose ``--out`` is the report) its folder."""
    out = Path(args.out).parent if hasattr(args, "report_format") else Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def _codes(path: str, codes: str, out: Path) -> tuple[str, dict[str, Any]]:
    towns = read_towns(path)
    match = match_codes_file(towns, codes, path)
    report = write_code_report(match, out)
    coded = write_towns(match.towns, out / "towns_coded.geojson")
    for r in match.unmatched.itertuples(index=False):
        print(f"town without a code: {r.name} ({r.district or '—'}): {r.reason}",
              file=sys.stderr)
    return str(coded), {"path": codes, "sha256": file_sha256(codes),
                        "matched": match.matched, "unmatched": len(match.unmatched),
                        "report": report.name}


def _population(path: str, table: str, out: Path, sheet: str | None
                ) -> tuple[str, dict[str, Any]]:
    raw = read_upload_file(table, sheet=sheet)
    join = join_town_population(read_towns(path), raw)
    write_join_report(join, out)
    joined = write_towns(join.towns, out / "towns_population.geojson")
    s = join.summary()
    print(f"town population table: {s['rows_in']} rows = {s['matched']} matched + "
          f"{s['unmatched']} unmatched + {s['ambiguous']} ambiguous (reasons in "
          f"{out / s['report']})", file=sys.stderr)
    return str(joined), {"path": table, "sha256": raw.sha256, **s}
