"""``yizhan stations …`` and ``yizhan users …`` — station lists from city unions.

* ``stations validate FILE --crs S --out DIR`` — parse + validate, write accepted.csv,
  rejected.csv, flagged.csv and report.json (nothing stored);
* ``stations import FILE --city C --crs S --db DB --user U`` — validate and store as a
  new version of city C's list (password from stdin when it is not a terminal, else
  prompted; the permission check happens in :mod:`geo.stations.store`);
* ``stations history|rollback|export`` and ``users add|list|passwd``.

``--crs`` (wgs84, gcj02 or bd09) is required by both, as the app requires the choice:
nothing is assumed. Passwords are never taken from the command line (they would show
in ``ps`` and the shell history).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any

from geo.errors import CRSError, InvalidParameterError, NoChangeError, StationDataError
from geo.io.upload import read_upload_file
from geo.network.loaders import load_network
from geo.stations.columns import FIELDS, guess_mapping
from geo.stations.store import OPERATOR, StationStore, export_version
from geo.stations.validation import GUANGDONG, RegionBounds, diff_stations, validate_stations

CRS_CHOICES = ("wgs84", "gcj02", "bd09")
CRS_HELP = ("required: the coordinate system of the file's coordinates — wgs84 (GPS/OSM), "
            "gcj02 (Amap/Tencent 高德/腾讯) or bd09 (Baidu 百度); nothing is assumed, as in "
            "the app")


def _add_parse_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="CSV (UTF-8/GBK/GB18030), XLSX, GeoJSON, GeoPackage or a "
                                "zipped Shapefile")
    # checked in require_crs (not argparse's required=True): the error names the choices
    p.add_argument("--crs", choices=CRS_CHOICES, default=None, help=CRS_HELP)
    p.add_argument("--sheet", help="XLSX sheet name (default: the first sheet)")
    p.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                   help="column mapping override, e.g. --map name=站点名称 --map lon=X坐标 "
                        "(fields: station_id, name, lon, lat, coords, type, address, city, "
                        "district; FIELD= to unmap); repeatable")
    p.add_argument("--default-type", default=None,
                   help="station type of every row when the file has no type column "
                        "(e.g. 工会驿站)")
    p.add_argument("--bounds", help="region bounds min_lon,min_lat,max_lon,max_lat (default "
                                    "Guangdong 109.6,20.1,117.4,25.6)")
    p.add_argument("--network", help="walk network (.osm.pbf/.osm/.graphml/prepared dir): "
                                     "check whether the declared coordinate system puts the "
                                     "stations on the streets (a hint, never a change)")
    p.add_argument("--strict", action="store_true",
                   help="exit with code 6 (and store nothing) when any row is rejected")


def add_stations_parser(sub: Any) -> None:
    st = sub.add_parser("stations", help="validate, import, version and export city station "
                                         "lists",
                        description="Station lists from city unions: validation, versioned "
                                    "storage (SQLite), history, rollback and export.")
    ss = st.add_subparsers(dest="stations_command", metavar="ACTION")
    ss.required = True
    v = ss.add_parser("validate", help="check a station file and write accepted/rejected rows",
                      description="Parse and validate a station file; write accepted.csv "
                                  "(WGS-84 lon,lat plus the original columns), rejected.csv "
                                  "(row, reason), flagged.csv (near-duplicates) and report.json "
                                  "into --out. Nothing is stored.")
    _add_parse_options(v)
    v.add_argument("--city", help="the city union the list is for (rows naming another city "
                                  "are rejected)")
    v.add_argument("--db", help="also diff against this city's current version in the store")
    v.add_argument("--out", required=True, help="output directory")

    im = ss.add_parser("import", help="validate a file and store it as a new version",
                       description="Validate a station file and store its accepted rows as a "
                                   "new immutable version of the city's list (who, when, file, "
                                   "sha256, raw bytes, counts). Password: stdin when it is not "
                                   "a terminal, else prompted.")
    _add_parse_options(im)
    im.add_argument("--city", required=True, help="city whose list this replaces, e.g. 深圳市")
    im.add_argument("--db", required=True, help="station database (SQLite; created if missing)")
    im.add_argument("--user", required=True, help="your user name (see yizhan users add)")
    im.add_argument("--note", default="", help="a note stored with the version")
    im.add_argument("--out", help="also write the validation files into this directory")

    h = ss.add_parser("history", help="one line per version of a city's list")
    h.add_argument("--city", help="city (default: every city in the database)")
    h.add_argument("--db", required=True)

    r = ss.add_parser("rollback", help="make an earlier version current again (as a new "
                                       "version)")
    r.add_argument("--city", required=True)
    r.add_argument("--to", type=int, required=True, metavar="VERSION",
                   help="version number to restore")
    r.add_argument("--db", required=True)
    r.add_argument("--user", required=True)
    r.add_argument("--note", default="")

    e = ss.add_parser("export", help="write a version as CSV/GeoJSON/GPKG/XLSX, or its raw "
                                     "uploaded file")
    e.add_argument("--city", required=True)
    e.add_argument("--db", required=True)
    e.add_argument("--version", type=int, help="version number (default: the current one)")
    e.add_argument("--out", required=True, help="output file: .csv, .geojson, .gpkg or .xlsx "
                                               "(with --raw: a file or directory)")
    e.add_argument("--raw", action="store_true",
                   help="write the uploaded file exactly as received (checked against its "
                        "sha256)")

    u = sub.add_parser("users", help="manage local accounts of the station database")
    us = u.add_subparsers(dest="users_command", metavar="ACTION")
    us.required = True
    a = us.add_parser("add", help="add an account (password from stdin or prompted)")
    a.add_argument("name", help="user name (an e-mail address for OIDC sign-in)")
    a.add_argument("--city", default="province",
                   help="the user's city union, or 'province' (广东省) for province staff")
    a.add_argument("--role", required=True, choices=("editor", "reviewer", "admin"),
                   help="editor: changes its city's list; reviewer: read-only; admin: "
                        "province, everything")
    a.add_argument("--db", required=True)
    ls = us.add_parser("list", help="list accounts")
    ls.add_argument("--db", required=True)
    pw = us.add_parser(
        "passwd", help="set a new password (stdin or prompted); an operator's command",
        description="Set a new password for NAME. It does not ask for the old one: this "
                    "is the administrator's reset, run on the server by whoever can "
                    "write the database file (users change theirs through an admin).")
    pw.add_argument("name")
    pw.add_argument("--db", required=True)
    ul = us.add_parser(
        "unlock", help="lift a sign-in lockout (after repeated wrong passwords)",
        description="Sign-in is throttled: after 5 wrong passwords an account (or a client "
                    "address after 20) is locked for 30 s, doubling with each further "
                    "failure up to 15 min; a right password resets it. This lifts the lock "
                    "now (an operator's command, run on the server).")
    ul.add_argument("name", nargs="?", help="the account to unlock")
    ul.add_argument("--client", help="unlock a client address instead, e.g. ip:10.0.0.5")
    ul.add_argument("--db", required=True)


# ------------------------------------------------------------------------------ helpers


def read_password(*, confirm: bool, prompt: str = "password: ") -> str:
    """A password from stdin (not a terminal: first line) or prompted without echo."""
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        pw = line.rstrip("\r\n")
        if not pw:
            raise InvalidParameterError("no password on stdin: pipe it in, e.g. "
                                        "`printf '%s\\n' \"$PW\" | yizhan …`")
        return pw
    pw = getpass.getpass(prompt)
    if confirm and getpass.getpass("again: ") != pw:
        raise InvalidParameterError("the two passwords differ: try again")
    return pw


def _mapping(raw: Any, overrides: list[str]) -> Any:
    mp = guess_mapping(raw.columns, has_geometry=raw.has_geometry)
    changes: dict[str, str | None] = {}
    for item in overrides:
        if "=" not in item:
            raise InvalidParameterError(f"--map needs FIELD=COLUMN, got {item!r}")
        fld, col = (s.strip() for s in item.split("=", 1))
        if fld not in FIELDS:
            raise InvalidParameterError(f"--map: unknown field {fld!r}; fields: "
                                        f"{', '.join(FIELDS)}")
        changes[fld] = col or None
        if fld in ("lon", "lat") and col:
            changes.setdefault("coords", None)
        if fld == "coords" and col:
            changes.setdefault("lon", None)
            changes.setdefault("lat", None)
    return mp.with_changes(**changes)


def require_crs(args: argparse.Namespace) -> str:
    """The declared ``--crs``, or a :class:`CRSError` naming the choices (the app makes
    the same choice compulsory: a GCJ-02 list read as WGS-84 is 300–600 m off)."""
    if args.crs is None:
        raise CRSError(
            "--crs is required: say which coordinate system the file's coordinates are in — "
            "--crs wgs84 (GPS / OpenStreetMap), --crs gcj02 (Amap / Tencent 高德/腾讯) or "
            "--crs bd09 (Baidu 百度); nothing is assumed")
    return str(args.crs)


def _validate(args: argparse.Namespace, *, city: str | None) -> Any:
    crs = require_crs(args)
    raw = read_upload_file(args.file, sheet=args.sheet)
    network = None
    if args.network:
        network = load_network(args.network)
    bounds = RegionBounds.parse(args.bounds, label="--bounds") if args.bounds else GUANGDONG
    return validate_stations(raw, mapping=_mapping(raw, args.map), crs=crs, bounds=bounds,
                             city=city, default_type=args.default_type, network=network)


def _print_validation(v: Any) -> None:
    raw = v.raw
    how = ", ".join(x for x in (raw.format, raw.encoding, raw.sheet and f"sheet {raw.sheet}")
                    if x)
    print(f"{raw.name} ({how}): rows in {v.rows_in} = accepted {len(v.accepted)} + "
          f"rejected {len(v.rejected)}; flagged {v.n_flagged} (near-duplicates)")
    print("mapping: " + ", ".join(f"{k}={c}" for k, c in v.mapping.as_dict().items() if c))
    for code, n in v.reason_counts().items():
        print(f"  rejected {n} × {code}")
    for h in v.hints:
        print(f"hint: {h.message_en}")


def _print_diff(store: Any, v: Any, city: str) -> None:
    cur = store.current(city)
    if cur is None:
        print(f"{city}: no version stored yet")
        return
    d = diff_stations(store.stations(city), v.accepted,
                      match="name" if v.ids_generated else "station_id")
    c = d.counts()
    print(f"vs {city} v{cur.version}: +{c['added']} added, -{c['removed']} removed, "
          f"{c['moved']} moved, {c['renamed']} renamed, {c['unchanged']} unchanged")


# ------------------------------------------------------------------------------ commands


def cmd_stations(args: argparse.Namespace) -> int:
    handler = {"validate": _validate_cmd, "import": _import_cmd, "history": _history_cmd,
               "rollback": _rollback_cmd, "export": _export_cmd}[args.stations_command]
    return handler(args)


def _validate_cmd(args: argparse.Namespace) -> int:
    v = _validate(args, city=args.city)
    paths = v.write(args.out)
    _print_validation(v)
    if args.db and args.city:
        _print_diff(StationStore(args.db, create=False), v, args.city)
    for name, p in paths.items():
        print(f"wrote {p}  ({name})")
    if args.strict and len(v.rejected):
        print(f"yizhan: error: {len(v.rejected)} row(s) rejected (--strict)", file=sys.stderr)
        return StationDataError.exit_code
    return 0


def _import_cmd(args: argparse.Namespace) -> int:
    require_crs(args)  # before the password prompt
    store = StationStore(args.db)
    password = read_password(confirm=False, prompt=f"password for {args.user}: ")
    store.authenticate(args.user, password)
    v = _validate(args, city=args.city)
    _print_validation(v)
    if args.out:
        v.write(args.out)
    if len(v.accepted) == 0:
        raise StationDataError(f"no row of {v.raw.name} was accepted ({v.rows_in} rows in): "
                               "nothing stored; see the reasons with yizhan stations validate")
    if args.strict and len(v.rejected):
        raise StationDataError(f"{len(v.rejected)} row(s) rejected and --strict given: nothing "
                               "stored")
    _print_diff(store, v, args.city)
    try:
        info = store.create_version(v.to_new_version(city=args.city, note=args.note),
                                    user=args.user, only_if_changed=True)
    except NoChangeError as same:
        print(f"unchanged: identical to v{same.version}, no new version ({same.city})")
        return 0
    print(f"stored {info.city} v{info.version}: {info.accepted} stations "
          f"(sha256 {info.sha256[:12]}…)")
    return 0


def _history_cmd(args: argparse.Namespace) -> int:
    store = StationStore(args.db, create=False)
    cities = [args.city] if args.city else store.cities()
    if args.city and not store.history(args.city):
        print(f"{args.city}: no version stored yet", file=sys.stderr)
    for city in cities:
        hist = store.history(city)
        if not args.city:
            print(f"# {city}")
        for info in hist:
            print(info.line())
    return 0


def _rollback_cmd(args: argparse.Namespace) -> int:
    store = StationStore(args.db, create=False)
    password = read_password(confirm=False, prompt=f"password for {args.user}: ")
    store.authenticate(args.user, password)
    info = store.rollback(args.city, to_version=args.to, user=args.user, note=args.note)
    print(f"stored {info.city} v{info.version} = copy of v{args.to} ({info.accepted} stations)")
    return 0


def _export_cmd(args: argparse.Namespace) -> int:
    import hashlib

    store = StationStore(args.db, create=False)
    version = args.version
    if version is None:
        cur = store.current(args.city)
        if cur is None:
            raise StationDataError(f"{args.city} has no stored version yet")
        version = cur.version
    if args.raw:
        name, data = store.raw(args.city, version=version)
        info = next(i for i in store.history(args.city) if i.version == version)
        if hashlib.sha256(data).hexdigest() != info.sha256:
            raise StationDataError(f"stored bytes of v{version} do not match their sha256")
        out = Path(args.out)
        if out.is_dir():
            out = out / Path(name).name
        out.write_bytes(data)
        print(f"wrote {out}  (v{version} as uploaded, sha256 {info.sha256[:12]}…)")
        return 0
    p = export_version(store, args.city, version=version, out=args.out)
    print(f"wrote {p}  ({args.city} v{version})")
    return 0


def _unlock(store: StationStore, args: argparse.Namespace) -> None:
    if bool(args.name) == bool(args.client):
        raise InvalidParameterError("give an account NAME or --client ADDRESS (one of them)")
    if args.client:
        lifted = store.unlock_client(args.client, by_admin=OPERATOR)
        what = f"client {args.client}"
    else:
        lifted = store.unlock_user(args.name, by_admin=OPERATOR)
        what = args.name
    print(f"{what}: lockout lifted" if lifted else f"{what}: was not locked")


def cmd_users(args: argparse.Namespace) -> int:
    if args.users_command == "add":
        store = StationStore(args.db)
        pw = read_password(confirm=True, prompt=f"new password for {args.name}: ")
        acc = store.add_user(args.name, password=pw, city=args.city, role=args.role)
        print(f"added {acc.name} ({acc.role}, {acc.city})")
    elif args.users_command == "list":
        for acc in StationStore(args.db, create=False).users():
            print(f"{acc.name}\t{acc.role}\t{acc.city}\t{acc.created_at}")
    elif args.users_command == "unlock":
        _unlock(StationStore(args.db, create=False), args)
    else:
        store = StationStore(args.db, create=False)
        store.get_user(args.name)
        pw = read_password(confirm=True, prompt=f"new password for {args.name}: ")
        store.set_password(args.name, password=pw)
        print(f"password of {args.name} changed")
    return 0
