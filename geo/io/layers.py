"""Reading point / polygon layers: stations, convalescence bases, rider zones.

This module reads *clean* inputs (CSV ``station_id,name,type,lon,lat`` in WGS-84,
GeoJSON / GeoPackage / zipped Shapefile with a declared CRS). Every input row is
either accepted or rejected with a reason: ``rows_in == accepted + rejected``.

The files are untrusted all the same: vector layers go through the reader of station
uploads (:func:`geo.io.vector.read_layer_file`: zip caps, content checks, the expected
GDAL driver only, no network), and every file is held to :class:`UploadLimits`.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import WGS84
from geo.errors import (
    CRSError,
    InputFileError,
    StationDataError,
    UnknownFormatError,
    UploadLimitError,
)
from geo.io.limits import UploadLimits
from geo.io.vector import read_layer_file
from geo.schema import CONVALESCENCE_ALIASES, STATION_TYPES, canonical_station_type

STATION_COLUMNS: Final = ("station_id", "name", "type", "address", "city", "district")
VECTOR_SUFFIXES: Final = (".geojson", ".json", ".gpkg", ".zip", ".shp")


@dataclass(frozen=True)
class LayerTable:
    """Accepted rows (GeoDataFrame, EPSG:4326) and rejected rows with a reason."""

    accepted: gpd.GeoDataFrame
    rejected: pd.DataFrame  # columns: row (1-based input row), id, name, reason
    rows_in: int
    source: str = ""

    def __post_init__(self) -> None:
        if len(self.accepted) + len(self.rejected) != self.rows_in:
            raise AssertionError("rows_in must equal accepted + rejected")


def read_vector(path: str | os.PathLike[str], *, what: str,
                limits: UploadLimits | None = None) -> gpd.GeoDataFrame:
    """Read a GeoJSON / GeoPackage / (zipped) Shapefile with the checks and caps of a
    station upload (``limits``, default :class:`UploadLimits`).

    The result is in EPSG:4326; a layer without CRS raises :class:`CRSError`.
    """
    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"{what} file not found: {p}. Check the path.")
    if p.suffix.lower() not in VECTOR_SUFFIXES:
        raise UnknownFormatError(
            f"unknown {what} format {p.name!r}: use GeoJSON, GeoPackage (.gpkg) or a zipped "
            "Shapefile (.zip)"
        )
    gdf = read_layer_file(p, name=f"{what} file {p.name}", limits=limits or UploadLimits())
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InputFileError(f"{what} file {p.name} has no geometry column")
    if gdf.crs is None:
        raise CRSError(
            f"{what} file {p.name} has no CRS (a Shapefile needs its .prj): add it or "
            "save the layer as GeoJSON in WGS-84"
        )
    return gdf.to_crs(WGS84)


def _clean_str(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    s = str(value).strip()
    return s or None


def _read_csv_layer(path: Path, *, what: str, limits: UploadLimits) -> pd.DataFrame:
    """A UTF-8 CSV layer as strings, held to the upload caps (size, rows, columns, cells)."""
    size = path.stat().st_size
    if size > limits.max_upload_bytes:
        raise UploadLimitError(f"{what} file {path.name} is {size / 1e6:,.1f} MB (limit "
                               f"{limits.max_upload_bytes / 1e6:,.0f} MB)")
    data = path.read_bytes()
    first = data.split(b"\n", 1)[0]
    lines, width = data.count(b"\n"), first.count(b",") + 1
    if width > limits.max_columns:
        raise UploadLimitError(f"{what} file {path.name} has {width} columns (limit "
                               f"{limits.max_columns})")
    if lines > limits.max_features + 1 or lines * width > limits.max_cells:
        raise UploadLimitError(f"{what} file {path.name} has ~{lines:,} rows × {width} columns "
                               f"(limits {limits.max_features:,} rows, {limits.max_cells:,} "
                               "cells)")
    try:
        df = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False,
                         encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputFileError(
            f"{what} file {path.name} is not UTF-8; save it as UTF-8 CSV (GBK uploads "
            "are handled by the station upload workflow)"
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputFileError(f"cannot parse CSV {path.name}: {exc}") from None
    if len(df) > limits.max_features or len(df.columns) > limits.max_columns:
        raise UploadLimitError(f"{what} file {path.name} has {len(df):,} rows × "
                               f"{len(df.columns)} columns (limits {limits.max_features:,} "
                               f"rows, {limits.max_columns} columns)")
    df.columns = [str(c).strip() for c in df.columns]
    return df


def _read_table(path: Path, *, what: str,
                limits: UploadLimits | None = None) -> tuple[pd.DataFrame, np.ndarray | None]:
    """Rows as strings plus (for vector files) their geometries."""
    lim = limits or UploadLimits()
    if not path.is_file():
        raise InputFileError(f"{what} file not found: {path}. Check the path.")
    if path.suffix.lower() == ".csv":
        return _read_csv_layer(path, what=what, limits=lim), None
    gdf = read_vector(path, what=what, limits=lim)
    geoms = gdf.geometry.to_numpy()
    df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    df = df.astype(object).where(df.notna(), None)
    return df, geoms


def _points_from_rows(df: pd.DataFrame, geoms: np.ndarray | None,
                      reasons: list[str | None], *, what: str) -> np.ndarray:
    """Point geometries (lon/lat) per row, adding a rejection reason where invalid."""
    n = len(df)
    out = np.empty(n, dtype=object)
    if geoms is None:
        lower = {c.lower(): c for c in df.columns}
        lon_col = next((lower[c] for c in ("lon", "lng", "longitude", "x") if c in lower), None)
        lat_col = next((lower[c] for c in ("lat", "latitude", "y") if c in lower), None)
        if lon_col is None or lat_col is None:
            raise StationDataError(
                f"{what} CSV needs 'lon' and 'lat' columns (WGS-84 degrees); found "
                f"{list(df.columns)}"
            )
        lon = pd.to_numeric(df[lon_col].str.strip(), errors="coerce").to_numpy(dtype=float)
        lat = pd.to_numeric(df[lat_col].str.strip(), errors="coerce").to_numpy(dtype=float)
        for i in range(n):
            if reasons[i]:
                continue
            if not (np.isfinite(lon[i]) and np.isfinite(lat[i])):
                reasons[i] = "missing or non-numeric lon/lat"
            elif not (-180 <= lon[i] <= 180 and -90 <= lat[i] <= 90):
                reasons[i] = f"lon/lat out of range ({lon[i]}, {lat[i]})"
            else:
                out[i] = shapely.Point(lon[i], lat[i])
        return out
    for i, g in enumerate(geoms):
        if reasons[i]:
            continue
        if g is None or shapely.is_empty(g):
            reasons[i] = "missing geometry"
        elif g.geom_type != "Point":
            reasons[i] = f"geometry is a {g.geom_type}, expected a Point"
        else:
            out[i] = g
    return out


def read_stations(path: str | os.PathLike[str], *,
                  limits: UploadLimits | None = None) -> LayerTable:
    """Read a station list: CSV (``station_id,name,type,lon,lat[,address,city,district]``,
    UTF-8, WGS-84) or a point GeoJSON / GeoPackage / zipped Shapefile.

    Rejected (with reason): blank or duplicate ``station_id``, blank ``name``, unknown
    ``type`` (see :data:`geo.schema.STATION_TYPES`), convalescence bases (their own
    layer), missing / invalid coordinates or geometry. ``station_id`` stays a string.
    The file is held to ``limits`` (default :class:`UploadLimits`).
    """
    p = Path(path)
    df, geoms = _read_table(p, what="stations", limits=limits)
    return stations_from_frame(df, geoms, source=str(p))


def stations_from_frame(df: pd.DataFrame, geoms: np.ndarray | None = None, *,
                        source: str = "") -> LayerTable:
    """Validate a station table (strings) into accepted / rejected rows."""
    missing = {"station_id", "name", "type"} - set(df.columns)
    if missing:
        raise StationDataError(
            f"station table lacks column(s) {sorted(missing)}; needed: station_id, name, type, "
            "and lon/lat (CSV) or point geometry"
        )
    n = len(df)
    reasons: list[str | None] = [None] * n
    ids = [_clean_str(v) for v in df["station_id"]]
    names = [_clean_str(v) for v in df["name"]]
    types: list[str | None] = []
    seen: dict[str, int] = {}
    for i in range(n):
        raw_type = _clean_str(df["type"].iloc[i])
        t = canonical_station_type(raw_type)
        types.append(t)
        sid = ids[i]
        if sid is None:
            reasons[i] = "empty station_id"
        elif sid in seen:
            reasons[i] = f"duplicate station_id {sid!r} (first at row {seen[sid] + 1})"
        elif names[i] is None:
            reasons[i] = "empty name"
        elif raw_type is not None and raw_type in CONVALESCENCE_ALIASES:
            reasons[i] = "convalescence bases (疗休养基地) are a separate layer: pass them as bases"
        elif t is None:
            reasons[i] = (f"unknown type {raw_type!r}; use one of "
                          f"{', '.join(STATION_TYPES)}")
        if sid is not None and sid not in seen:
            seen[sid] = i
    pts = _points_from_rows(df, geoms, reasons, what="stations")
    ok = np.array([r is None for r in reasons], dtype=bool)
    extra = {c: [_clean_str(v) for v in df[c]] if c in df.columns else [None] * n
             for c in ("address", "city", "district")}
    table = pd.DataFrame({
        "station_id": pd.array(ids, dtype=object),
        "name": names, "type": types, **extra,
    })
    accepted = gpd.GeoDataFrame(
        table.loc[ok].reset_index(drop=True),
        geometry=gpd.GeoSeries(list(pts[ok]), crs=WGS84), crs=WGS84,
    )
    rejected = pd.DataFrame({
        "row": np.flatnonzero(~ok) + 1,
        "id": [ids[i] for i in np.flatnonzero(~ok)],
        "name": [names[i] for i in np.flatnonzero(~ok)],
        "reason": [reasons[i] for i in np.flatnonzero(~ok)],
    })
    return LayerTable(accepted=accepted, rejected=rejected, rows_in=n, source=source)


def read_points_layer(path: str | os.PathLike[str], *, id_column: str, what: str,
                      limits: UploadLimits | None = None) -> LayerTable:
    """Read a point layer (e.g. convalescence bases) with ``id_column`` and ``name``."""
    p = Path(path)
    df, geoms = _read_table(p, what=what, limits=limits)
    n = len(df)
    reasons: list[str | None] = [None] * n
    ids = ([_clean_str(v) for v in df[id_column]] if id_column in df.columns
           else [f"{i + 1}" for i in range(n)])
    names = ([_clean_str(v) for v in df["name"]] if "name" in df.columns else ids)
    pts = _points_from_rows(df, geoms, reasons, what=what)
    ok = np.array([r is None for r in reasons], dtype=bool)
    table = pd.DataFrame({id_column: ids, "name": names})
    for c in ("address", "type"):
        if c in df.columns:
            table[c] = [_clean_str(v) for v in df[c]]
    accepted = gpd.GeoDataFrame(table.loc[ok].reset_index(drop=True),
                                geometry=gpd.GeoSeries(list(pts[ok]), crs=WGS84), crs=WGS84)
    bad = np.flatnonzero(~ok)
    rejected = pd.DataFrame({"row": bad + 1, "id": [ids[i] for i in bad],
                             "name": [names[i] for i in bad],
                             "reason": [reasons[i] for i in bad]})
    return LayerTable(accepted=accepted, rejected=rejected, rows_in=n, source=str(p))


def read_polygon_layer(path: str | os.PathLike[str], *, id_column: str, what: str,
                       limits: UploadLimits | None = None) -> LayerTable:
    """Read a polygon layer (rider zones, towns) from a vector file.

    Invalid polygons are *rejected* with the GEOS reason rather than silently repaired
    (repairs change areas); empty or non-polygon geometries are rejected too.
    """
    return polygons_from_frame(read_vector(path, what=what, limits=limits),
                               id_column=id_column, source=str(path))


def polygons_from_frame(gdf: gpd.GeoDataFrame, *, id_column: str,
                        source: str = "") -> LayerTable:
    """Validate polygon rows of a GeoDataFrame (EPSG:4326) into accepted / rejected."""
    n = len(gdf)
    df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    ids = ([_clean_str(v) for v in df[id_column]] if id_column in df.columns
           else [f"{i + 1}" for i in range(n)])
    names = [_clean_str(v) for v in df["name"]] if "name" in df.columns else ids
    reasons: list[str | None] = [None] * n
    geoms = gdf.geometry.to_numpy()
    seen: set[str] = set()
    for i, g in enumerate(geoms):
        pid = ids[i]
        if pid is None:
            reasons[i] = f"empty {id_column}"
        elif pid in seen:
            reasons[i] = f"duplicate {id_column} {pid!r}"
        elif g is None or shapely.is_empty(g):
            reasons[i] = "missing geometry"
        elif g.geom_type not in ("Polygon", "MultiPolygon"):
            reasons[i] = f"geometry is a {g.geom_type}, expected a Polygon"
        elif not shapely.is_valid(g):
            reasons[i] = f"invalid polygon: {shapely.is_valid_reason(g)} — fix it in a GIS"
        if pid is not None:
            seen.add(pid)
    ok = np.array([r is None for r in reasons], dtype=bool)
    table = df.copy()
    table[id_column] = ids
    table["name"] = names
    accepted = gpd.GeoDataFrame(table.loc[ok].reset_index(drop=True),
                                geometry=list(geoms[ok]), crs=WGS84)
    bad = np.flatnonzero(~ok)
    rejected = pd.DataFrame({"row": bad + 1, "id": [ids[i] for i in bad],
                             "name": [names[i] for i in bad],
                             "reason": [reasons[i] for i in bad]})
    return LayerTable(accepted=accepted, rejected=rejected, rows_in=n, source=source)


def read_zones(path: str | os.PathLike[str], *,
               limits: UploadLimits | None = None) -> LayerTable:
    """Rider-friendly zones (骑手友好场景): polygons with ``zone_id`` and ``name``."""
    return read_polygon_layer(path, id_column="zone_id", what="zones", limits=limits)


def read_bases(path: str | os.PathLike[str], *,
               limits: UploadLimits | None = None) -> LayerTable:
    """Convalescence bases (职工疗休养基地): points with ``base_id`` and ``name``."""
    return read_points_layer(path, id_column="base_id", what="bases", limits=limits)
