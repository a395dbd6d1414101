"""Getting data out of the station store: a version as a coverage layer or a file, and
a consistent backup of the whole database.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geo.errors import InputFileError, StoreError
from geo.io.layers import LayerTable
from geo.io.sheetsafe import excel_bytes, write_csv
from geo.stations.access import OPERATOR, Reader
from geo.stations.db import Database
from geo.stations.records import VersionInfo
from geo.stations.versions import VersionStore

EXPORT_SUFFIXES: tuple[str, ...] = (".csv", ".geojson", ".json", ".gpkg", ".xlsx")


def layer_table(store: VersionStore, city: str, *, version: int | None = None,
                user: Reader = OPERATOR) -> tuple[LayerTable, VersionInfo]:
    """A stored version (default: the current one) as the station
    :class:`~geo.io.layers.LayerTable` coverage runs on, with its :class:`VersionInfo`.

    Rejected rows were never stored (they are in the version's report), so the table
    has ``rows_in == accepted`` and its source names the database, city and version.
    ``user``: who reads (read rules of :meth:`StationStore.stations`).
    """
    gdf, info = store.stations_with_info(city, version=version, user=user)
    cols = ["station_id", "name", "type", "address", "city", "district", "geometry"]
    accepted = gpd.GeoDataFrame(gdf[cols].copy(), geometry="geometry", crs="EPSG:4326")
    empty = pd.DataFrame({"row": pd.Series([], dtype=int), "id": [], "name": [],
                          "reason": []})
    table = LayerTable(accepted=accepted, rejected=empty, rows_in=len(accepted),
                       source=f"{store.path}#{info.city}@v{info.version}")
    return table, info


def export_version(store: VersionStore, city: str, *, version: int | None,
                   out: str | os.PathLike[str], user: Reader = OPERATOR) -> Path:
    """Write a stored version (default: the current one) to ``out``: ``.csv`` (UTF-8 with
    BOM, formula-looking text quoted), ``.geojson``, ``.gpkg`` or ``.xlsx`` (text kept as
    text); ``extra`` (the original columns) becomes a JSON text column. ``user``: who
    reads (read rules of :meth:`StationStore.stations`)."""
    p = Path(out)
    suffix = p.suffix.lower()
    if suffix not in EXPORT_SUFFIXES:
        raise InputFileError(f"--out {p.name}: use .csv, .geojson, .gpkg or .xlsx")
    gdf = store.stations(city, version=version, user=user)
    flat = gdf.assign(extra=[json.dumps(x or {}, ensure_ascii=False) for x in gdf["extra"]])
    table = pd.DataFrame(flat.drop(columns="geometry"))
    p.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        write_csv(table, p, encoding="utf-8-sig")
    elif suffix == ".xlsx":
        p.write_bytes(excel_bytes({"stations": table}))
    else:
        flat.to_file(p, driver="GPKG" if suffix == ".gpkg" else "GeoJSON",
                     layer="stations" if suffix == ".gpkg" else None, engine="pyogrio")
    return p


# --------------------------------------------------------------------------- backup


def _backup_target(db: Database, dest: str | os.PathLike[str], *, overwrite: bool) -> Path:
    target = Path(dest).expanduser()
    if target.exists() and target.resolve() == db.path.resolve():
        raise StoreError("backup destination is the database itself: choose another file")
    if target.is_dir():
        raise StoreError(f"backup destination {target} is a folder: give a file name")
    if target.exists() and not overwrite:
        raise StoreError(
            f"backup destination {target} exists: choose a new name or pass overwrite=True"
        )
    if not target.parent.is_dir():
        raise StoreError(f"backup folder {target.parent} does not exist: create it first")
    return target


def _copy_checked(db: Database, tmp: Path) -> None:
    """Copy the database into the file ``tmp`` (backup API), one file, checked, synced."""
    with db._connect() as conn:
        dst = sqlite3.connect(tmp, isolation_level=None)
        try:
            conn.backup(dst)
            dst.execute("PRAGMA journal_mode = DELETE")  # a single self-contained file
            check = dst.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            dst.close()
    if check != "ok":
        raise StoreError(f"the backup copy failed its check ({check}): try again")
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())


def backup_database(db: Database, dest: str | os.PathLike[str], *,
                    overwrite: bool = False) -> Path:
    """Write a consistent copy of ``db`` to ``dest`` and return its path
    (:meth:`StationStore.backup <geo.stations.store.StationStore.backup>`)."""
    target = _backup_target(db, dest, overwrite=overwrite)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                    dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        _copy_checked(db, tmp)
        os.replace(tmp, target)
    except sqlite3.Error as exc:
        raise db._store_error(exc) from exc
    finally:
        tmp.unlink(missing_ok=True)
    return target


def integrity_report(db: Database) -> str:
    """``PRAGMA integrity_check`` plus foreign-key check: ``"ok"`` when healthy."""
    with db._connect() as conn:
        results = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
        fk = conn.execute("PRAGMA foreign_key_check").fetchall()
    if results == ["ok"] and not fk:
        return "ok"
    lines = [r for r in results if r != "ok"]
    lines += [f"foreign key violation in {table} row {rowid} → {parent}"
              for table, rowid, parent, _ in fk]
    return "\n".join(lines)


__all__ = ["backup_database", "export_version", "integrity_report", "layer_table"]
