"""Zip archives from users: caps first, then one layer's files out of them.

:func:`check_zip` checks the member count, the declared sizes and the compression
ratios before any member is expanded; :func:`expand_layer_zip` takes the one layer (a
Shapefile's parts, or a single GeoJSON / GeoPackage) out of an uploaded zip.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Final

from geo.errors import InputFileError, UploadLimitError
from geo.io.limits import UploadLimits

#: Files that may make up a Shapefile.
SHAPEFILE_PARTS: Final = frozenset({".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn",
                                    ".sbx", ".qmd", ".xml", ".fix", ".shp.xml"})
LAYER_SUFFIXES: Final = (".geojson", ".json", ".gpkg")


@dataclass(frozen=True)
class LayerSource:
    """One layer's files as bytes, before GDAL: ``fmt`` is ``geojson``, ``gpkg`` or
    ``shapefile``; ``files`` maps a suffix (``.shp``, ``.dbf``…) to the content."""

    fmt: str
    files: dict[str, bytes]
    label: str
    members: tuple[str, ...] = field(default=())


def check_zip(data: bytes, name: str, limits: UploadLimits) -> zipfile.ZipFile:
    """Open a zip and check member count, sizes and ratios *before* expanding anything."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputFileError(f"{name} is not a readable zip archive: {exc}") from None
    if len(infos) > limits.max_zip_members:
        raise UploadLimitError(
            f"{name} has {len(infos)} members (limit {limits.max_zip_members}): zip only the "
            "station layer's files")
    _check_sizes(infos, len(data), name, limits)
    return zf


def _check_sizes(infos: list[zipfile.ZipInfo], size: int, name: str,
                 limits: UploadLimits) -> None:
    total = 0
    for info in infos:
        total += info.file_size
        if info.flag_bits & 0x1:
            raise InputFileError(f"{name}: encrypted zip members are not accepted")
        if info.file_size > 1 << 20 and info.file_size > limits.max_compression_ratio * max(
                info.compress_size, 1):
            ratio = info.file_size / max(info.compress_size, 1)
            raise UploadLimitError(
                f"{name}: member {info.filename!r} expands {ratio:,.0f}:1 "
                f"(limit {limits.max_compression_ratio:g}:1) — rejected as a possible zip bomb")
    if total > limits.max_uncompressed_bytes:
        raise UploadLimitError(
            f"{name} expands to {total / 1e6:,.1f} MB (limit "
            f"{limits.max_uncompressed_bytes / 1e6:,.0f} MB): split the list or remove other "
            "files")
    if total > 1 << 20 and total > limits.max_compression_ratio * max(size, 1):
        raise UploadLimitError(
            f"{name} expands {total / max(size, 1):,.0f}:1 (limit "
            f"{limits.max_compression_ratio:g}:1) — rejected as a possible zip bomb")


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """Read one member (zipfile stops at its declared size, checked by :func:`check_zip`)."""
    with zf.open(info) as fh:
        return fh.read()


def safe_member(filename: str) -> str | None:
    """A member's base name (directories dropped), ``None`` for folders, dot files and
    macOS resource forks."""
    p = PurePosixPath(filename.replace("\\", "/"))
    if filename.endswith("/") or p.name.startswith(".") or "__MACOSX" in p.parts:
        return None
    return p.name


def expand_layer_zip(data: bytes, name: str, limits: UploadLimits) -> LayerSource:
    """The one layer in a zip: a Shapefile's parts, or a single GeoJSON / GeoPackage."""
    zf = check_zip(data, name, limits)
    members: dict[str, zipfile.ZipInfo] = {}
    for info in zf.infolist():
        base = safe_member(info.filename)
        if base is not None:
            members.setdefault(base, info)
    shp = sorted(b for b in members if b.lower().endswith(".shp"))
    others = sorted(b for b in members if b.lower().endswith(LAYER_SUFFIXES))
    if len(shp) > 1:
        raise InputFileError(f"{name} holds {len(shp)} Shapefiles ({', '.join(shp)}): zip one")
    if not shp:
        if len(others) == 1:
            target = others[0]
            fmt = "gpkg" if target.lower().endswith(".gpkg") else "geojson"
            content = read_member(zf, members[target])
            return LayerSource(fmt, {"." + fmt: content}, label=target, members=(target,))
        raise InputFileError(
            f"{name} contains no .shp: zip the .shp together with its .shx, .dbf and .prj "
            "(and .cpg) files")
    stem = shp[0][:-4]
    parts = {b[len(stem):].lower(): i for b, i in members.items()
             if b[: len(stem)] == stem and b[len(stem):].lower() in SHAPEFILE_PARTS}
    for needed in (".shx", ".dbf"):
        if needed not in parts:
            raise InputFileError(f"{name}: {stem}{needed} is missing next to {shp[0]}")
    files = {ext: read_member(zf, info) for ext, info in parts.items()}
    return LayerSource("shapefile", files, label=shp[0], members=tuple(sorted(parts)))
