"""Zip archives from users: caps first, then one layer's files out of them.

Every zip Yizhan reads — a zipped Shapefile / GeoJSON / GeoPackage upload, a towns /
zones / bases layer, an XLSX workbook — goes through :func:`check_zip`: the member
count and the central directory's size are read from the end record *before*
:class:`zipfile.ZipFile` parses the directory, then the declared sizes and ratios are
checked before any member is expanded. Members are read with their declared size as
the bound (zipfile stops there and checks the CRC).
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Final

from geo.errors import InputFileError, UploadLimitError
from geo.io.limits import UploadLimits

#: Files that may make up a Shapefile; only :data:`SHAPEFILE_READ_PARTS` are given to GDAL.
SHAPEFILE_PARTS: Final = frozenset({".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn",
                                    ".sbx", ".qmd", ".xml", ".fix", ".shp.xml"})
SHAPEFILE_READ_PARTS: Final = (".shp", ".shx", ".dbf", ".prj", ".cpg")
LAYER_SUFFIXES: Final = (".geojson", ".json", ".gpkg")

_EOCD: Final = b"PK\x05\x06"
_EOCD64_LOCATOR: Final = b"PK\x06\x07"
_EOCD64: Final = b"PK\x06\x06"
_ZIP_ERRORS: Final = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError,
                      NotImplementedError, RuntimeError)


@dataclass(frozen=True)
class LayerSource:
    """One layer's files as bytes, before GDAL: ``fmt`` is ``geojson``, ``gpkg`` or
    ``shapefile``; ``files`` maps a suffix (``.shp``, ``.dbf``…) to the content;
    ``member`` names the (main) file inside a zip (``""`` for a file given as such)."""

    fmt: str
    files: dict[str, bytes]
    member: str = ""


def _end_record(data: bytes, name: str) -> tuple[int, int]:
    """(entries, central-directory bytes) from the end record, found the way
    :mod:`zipfile` finds it (zip64 included)."""
    pos = len(data) - 22
    if not (pos >= 0 and data[pos:pos + 4] == _EOCD and data[-2:] == b"\0\0"):
        pos = data.rfind(_EOCD, max(len(data) - 65535 - 22, 0))
    if pos < 0 or len(data) - pos < 22:
        raise InputFileError(f"{name} is not a readable zip archive (no end record)")
    rec = data[pos:pos + 22]
    entries = int.from_bytes(rec[10:12], "little")
    cd_size = int.from_bytes(rec[12:16], "little")
    loc = pos - 20
    if loc >= 0 and data[loc:loc + 4] == _EOCD64_LOCATOR:
        start = loc - 56
        rec64 = data[start:start + 56] if start >= 0 else b""
        if rec64[:4] == _EOCD64:
            entries = int.from_bytes(rec64[32:40], "little")
            cd_size = int.from_bytes(rec64[40:48], "little")
    return entries, cd_size


def check_zip(data: bytes, name: str, limits: UploadLimits) -> zipfile.ZipFile:
    """Open a zip and check member count, sizes and ratios *before* expanding anything."""
    entries, cd_size = _end_record(data, name)
    if entries > limits.max_zip_members:
        raise UploadLimitError(
            f"{name} has {entries} members (limit {limits.max_zip_members}): zip only the "
            "station layer's files")
    # zipfile parses every entry in the directory, whatever the end record counts
    if cd_size > limits.max_zip_members * 4096 + 65536:
        raise UploadLimitError(
            f"{name} has a zip directory of {cd_size:,} bytes for {entries} members — "
            "rejected as a crafted archive")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except _ZIP_ERRORS as exc:
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


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> bytes:
    """One member's bytes (at most its declared size, checked by :func:`check_zip`)."""
    try:
        with zf.open(info) as fh:
            return fh.read(info.file_size + 1)[: info.file_size]
    except _ZIP_ERRORS as exc:
        raise InputFileError(f"{name}: member {info.filename!r} cannot be read: {exc}") from None


def member_chunks(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str,
                  chunk: int = 1 << 20) -> Iterator[bytes]:
    """A member's bytes in chunks (for scanning without holding it whole)."""
    try:
        with zf.open(info) as fh:
            left = info.file_size
            while left > 0:
                block = fh.read(min(chunk, left))
                if not block:
                    return
                left -= len(block)
                yield block
    except _ZIP_ERRORS as exc:
        raise InputFileError(f"{name}: member {info.filename!r} cannot be read: {exc}") from None


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
            content = read_member(zf, members[target], name)
            return LayerSource(fmt, {"." + fmt: content}, member=target)
        raise InputFileError(
            f"{name} contains no .shp: zip the .shp together with its .shx, .dbf and .prj "
            "(and .cpg) files")
    stem = shp[0][:-4]
    parts = {b[len(stem):].lower(): i for b, i in members.items()
             if b[: len(stem)] == stem and b[len(stem):].lower() in SHAPEFILE_PARTS}
    for needed in (".shx", ".dbf"):
        if needed not in parts:
            raise InputFileError(f"{name}: {stem}{needed} is missing next to {shp[0]}")
    files: dict[str, bytes] = {ext: read_member(zf, parts[ext], name)
                               for ext in SHAPEFILE_READ_PARTS if ext in parts}
    return LayerSource("shapefile", files, member=shp[0])


def shapefile_from_disk(shp: Path, name: str, limits: UploadLimits) -> LayerSource:
    """A Shapefile given as its ``.shp`` path: its parts read from next to it, with the
    caps of a zipped one (total size)."""
    files: dict[str, bytes] = {}
    sizes: dict[str, Path] = {}
    for ext in SHAPEFILE_READ_PARTS:
        for cand in (shp.with_suffix(ext), shp.with_suffix(ext.upper())):
            if cand.is_file():
                sizes[ext] = cand
                break
    for needed in (".shx", ".dbf"):
        if needed not in sizes:
            raise InputFileError(f"{name}: {shp.stem}{needed} is missing next to {shp.name}")
    total = sum(p.stat().st_size for p in sizes.values())
    if total > limits.max_uncompressed_bytes:
        raise UploadLimitError(
            f"{name} and its parts are {total / 1e6:,.1f} MB (limit "
            f"{limits.max_uncompressed_bytes / 1e6:,.0f} MB)")
    for ext, p in sizes.items():
        files[ext] = p.read_bytes()
    return LayerSource("shapefile", files)
