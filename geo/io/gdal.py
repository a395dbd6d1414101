"""THE one guard between files from users and GDAL.

GDAL chooses a driver by content, not by name: an OGR VRT (an XML pointer to other
files) named ``stations.geojson`` reads ``/etc/passwd``. Every user file reaches GDAL
through this module: :func:`reject_vrt` refuses VRT content whatever the name, and
:func:`read_allowed_info` / :func:`read_vector` refuse any driver outside
:data:`ALLOWED_DRIVERS` before a feature is read. ``GDAL_SKIP=OGR_VRT`` is also set in
the environment before GDAL loads (it only takes effect before the first
``import pyogrio``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

os.environ.setdefault("GDAL_SKIP", "OGR_VRT")

from geo.errors import InputFileError, UploadLimitError
from geo.io.limits import UploadLimits

ALLOWED_DRIVERS: Final = frozenset({"GeoJSON", "GPKG", "ESRI Shapefile"})
SQLITE_MAGIC: Final = b"SQLite format 3\x00"

# GDAL's VRT drivers identify a file by these opening tags (case-insensitive here)
_VRT_MARKERS: Final = (b"<ogrvrtdatasource", b"<ogrvrtlayer", b"<ogrvrtunionlayer",
                       b"<ogrvrtwarpedlayer", b"<vrtdataset")


def reject_vrt(data: bytes, name: str) -> None:
    """Raise :class:`InputFileError` when ``data`` (a file's head) is an OGR VRT."""
    head = data[: 1 << 16].lower()
    if any(m in head for m in _VRT_MARKERS):
        raise InputFileError(
            f"{name} is an OGR VRT (an XML pointer to other files), which is not accepted: "
            "upload the station data itself (CSV, XLSX, GeoJSON, GeoPackage or zipped Shapefile)"
        )


def read_allowed_info(source: str | os.PathLike[str], *, name: str,
                      encoding: str | None = None) -> dict[str, Any]:
    """``pyogrio.read_info`` of ``source``, refused unless GDAL reads it with one of
    :data:`ALLOWED_DRIVERS` (checked before any feature is read)."""
    import pyogrio

    try:
        info = pyogrio.read_info(source, encoding=encoding)
    except Exception as exc:
        raise InputFileError(f"cannot read {name}: {exc}") from None
    driver = info.get("driver")
    if driver not in ALLOWED_DRIVERS:
        raise InputFileError(
            f"{name} is read by GDAL driver {driver!r}, which is not allowed; use GeoJSON, "
            "GeoPackage or a zipped Shapefile"
        )
    return dict(info)


@dataclass
class VectorRead:
    """What :func:`read_vector` read: ``frame`` is a GeoDataFrame (a DataFrame when the
    layer has no geometry column)."""

    frame: Any
    info: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def read_vector(path: Path, fmt: str, *, name: str, limits: UploadLimits,
                encoding: str | None = None) -> VectorRead:
    """Read the layer at ``path`` (our own copy, format ``geojson`` / ``gpkg`` /
    ``shapefile``): VRT content refused, the driver allow-listed, caps checked before
    the features are read."""
    import pyogrio

    if fmt == "gpkg":
        with open(path, "rb") as fh:
            if not fh.read(16).startswith(SQLITE_MAGIC):
                raise InputFileError(f"{name} is not a GeoPackage (no SQLite header)")
    elif fmt == "geojson":
        with open(path, "rb") as fh:
            reject_vrt(fh.read(1 << 16), name)
    info = read_allowed_info(path, name=name, encoding=encoding)
    n_features = int(info.get("features") or 0)
    if n_features > limits.max_features:
        raise UploadLimitError(
            f"{name} has {n_features:,} features (limit {limits.max_features:,})")
    if len(info.get("fields", ())) > limits.max_columns:
        raise UploadLimitError(f"{name} has {len(info['fields'])} fields (limit "
                               f"{limits.max_columns})")
    try:
        frame = pyogrio.read_dataframe(path, encoding=encoding)
    except Exception as exc:
        raise InputFileError(f"cannot read {name}: {exc}") from None
    return VectorRead(frame=frame, info=info)
