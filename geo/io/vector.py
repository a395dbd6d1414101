"""GeoJSON, GeoPackage and (zipped) Shapefile files from users, read through GDAL.

One path for uploads (:func:`read_vector_upload`, bytes → :class:`RawUpload`) and for
layers given as files (:func:`read_layer_file`, path → GeoDataFrame): the bytes are
size-capped, a zip is checked and its one layer taken out (:mod:`geo.io.archive`), the
layer's files are written to a private temporary directory and read by
:func:`geo.io.gdal.read_vector` — content checks, the expected driver only, no network.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyproj

from geo.errors import InputFileError, UploadLimitError
from geo.io.archive import LayerSource, expand_layer_zip, shapefile_from_disk
from geo.io.gdal import VectorRead, read_vector
from geo.io.limits import UploadLimits
from geo.io.shapefile import cpg_name, dbf_encoding
from geo.io.table import RawUpload, cell_text, string_frame, unique_headers

_MAIN_PART = {"geojson": ".geojson", "gpkg": ".gpkg", "shapefile": ".shp"}


def _encoding(source: LayerSource, name: str) -> tuple[str | None, list[str]]:
    """Attribute encoding of a Shapefile (``None`` for GeoJSON / GeoPackage: UTF-8) and
    the notes saying how it was chosen."""
    if source.fmt != "shapefile":
        return None, []
    cpg = cpg_name(source.files[".cpg"], name) if ".cpg" in source.files else None
    codec, how = dbf_encoding(source.files.get(".dbf", b""), cpg)
    notes = [f"Shapefile attribute encoding {codec} ({how})"]
    if ".prj" not in source.files:
        notes.append("no .prj: coordinates are taken as longitude/latitude in the "
                     "declared coordinate system")
    return codec, notes


def load_layer(source: LayerSource, name: str,
               limits: UploadLimits) -> tuple[VectorRead, str | None]:
    """Write ``source`` into a private temporary directory and read it through GDAL;
    returns what was read (notes included) and the attribute encoding used."""
    if source.member:
        name = f"{name} ({source.member})"
    codec, notes = _encoding(source, name)
    with tempfile.TemporaryDirectory(prefix="yizhan-layer-") as tmpdir:
        d = Path(tmpdir) / "layer"
        d.mkdir()
        for ext, content in source.files.items():
            (d / f"layer{ext}").write_bytes(content)
        got = read_vector(d / f"layer{_MAIN_PART[source.fmt]}", source.fmt, name=name,
                          limits=limits, encoding=codec)
    got.notes[:0] = notes
    return got, codec


def _points(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
    lon = np.full(len(geoms), np.nan)
    lat = np.full(len(geoms), np.nan)
    issues: list[str | None] = []
    for i, g in enumerate(geoms):
        issue = None
        if g is None or g.is_empty:
            issue = "missing geometry"
        elif g.geom_type == "Point":
            lon[i], lat[i] = g.x, g.y
        elif g.geom_type == "MultiPoint" and len(g.geoms) == 1:
            lon[i], lat[i] = g.geoms[0].x, g.geoms[0].y
        else:
            issue = f"geometry is a {g.geom_type}, expected a point"
        issues.append(issue)
    return lon, lat, issues


def _text(value: Any) -> str:
    if (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return ""
    return cell_text(value)


def read_vector_upload(name: str, data: bytes, fmt: str, limits: UploadLimits) -> RawUpload:
    """An uploaded GeoJSON / GeoPackage / zip (``fmt`` ``geojson`` / ``gpkg`` /
    ``shapefile``) as strings plus each feature's point."""
    import geopandas as gpd

    if fmt == "shapefile":
        source = expand_layer_zip(data, name, limits)
    else:
        source = LayerSource(fmt, {_MAIN_PART[fmt]: data})
    got, codec = load_layer(source, name, limits)
    gdf = got.frame
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InputFileError(f"{name} has no geometry column (a table without points): "
                             "upload a point layer, or a CSV/XLSX with 经度/纬度 columns")
    if len(gdf) > limits.max_features:
        raise UploadLimitError(f"{name} has {len(gdf):,} features (limit "
                               f"{limits.max_features:,})")
    crs = pyproj.CRS.from_user_input(gdf.crs) if gdf.crs is not None else None
    attrs = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    table = [[_text(v) for v in row] for row in attrs.itertuples(index=False, name=None)]
    frame = string_frame(table, unique_headers(list(attrs.columns)))
    lon, lat, issues = _points(gdf.geometry.to_numpy())
    notes = list(got.notes)
    if crs is not None:
        notes.append(f"layer CRS {crs.to_string()}")
    return RawUpload(name=name, format=source.fmt, sha256=hashlib.sha256(data).hexdigest(),
                     size_bytes=len(data), frame=frame,
                     source_lines=np.arange(1, len(frame) + 1), row_issues=tuple(issues),
                     encoding=codec, geom_lon=lon, geom_lat=lat, geom_crs=crs,
                     notes=tuple(notes))


def read_layer_file(path: Path, *, name: str, limits: UploadLimits) -> Any:
    """A layer file (``.geojson``/``.json``, ``.gpkg``, ``.zip``, ``.shp`` with its parts)
    as pyogrio reads it (a GeoDataFrame; a DataFrame when it has no geometry), with the
    caps and checks of an upload."""
    size = path.stat().st_size
    if size > limits.max_upload_bytes:
        raise UploadLimitError(f"{name} is {size / 1e6:,.1f} MB (limit "
                               f"{limits.max_upload_bytes / 1e6:,.0f} MB)")
    suffix = path.suffix.lower()
    if suffix == ".shp":
        source = shapefile_from_disk(path, name, limits)
    elif suffix == ".zip":
        source = expand_layer_zip(path.read_bytes(), name, limits)
    elif suffix == ".gpkg":
        source = LayerSource("gpkg", {".gpkg": path.read_bytes()})
    else:
        source = LayerSource("geojson", {".geojson": path.read_bytes()})
    got, _codec = load_layer(source, name, limits)
    return got.frame
