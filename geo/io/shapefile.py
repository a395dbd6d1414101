"""Shapefile parts checked by their bytes before GDAL opens them.

:func:`check_shapefile_parts` verifies the magic numbers and the headers of ``.shp``,
``.shx`` and ``.dbf`` (record counts within the caps, the index pointing inside the
``.shp``), that a ``.prj`` is WKT and a ``.cpg`` an encoding name.
:func:`dbf_encoding` picks the attribute encoding: the ``.cpg`` when it names a known
text encoding, else detected from the ``.dbf`` bytes (UTF-8, else GBK, else GB18030) so
GBK text without a ``.cpg`` is not garbled.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from typing import Final

import numpy as np

from geo.errors import InputFileError, UploadLimitError
from geo.io.limits import UploadLimits

CPG_CODECS: Final = {
    "utf-8": "utf-8", "utf8": "utf-8", "65001": "utf-8",
    "gbk": "gbk", "cp936": "gbk", "936": "gbk", "ansi 936": "gbk", "gb2312": "gbk",
    "gb18030": "gb18030", "54936": "gb18030",
    "big5": "big5", "950": "big5", "cp950": "big5",
    "iso-8859-1": "latin-1", "latin1": "latin-1", "1252": "cp1252", "cp1252": "cp1252",
}
_SHP_MAGIC: Final = (9994).to_bytes(4, "big")
_SHAPE_TYPES: Final = frozenset({0, 1, 3, 5, 8, 11, 13, 15, 18, 21, 23, 25, 28, 31})
_DBF_VERSIONS: Final = frozenset({0x02, 0x03, 0x04, 0x05, 0x30, 0x31, 0x32, 0x43, 0x63,
                                  0x83, 0x8B, 0xCB, 0xE5, 0xF5, 0xFB})
_CPG_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._:-]{0,40}$")
_WKT_RE: Final = re.compile(r"^[A-Z][A-Z0-9_]*\s*\[")


def cpg_name(content: bytes, name: str) -> str:
    """The encoding name a ``.cpg`` holds (stripped); a named error when it is not one
    (binary, NUL bytes, a long text)."""
    text = content.decode("ascii", "replace").strip().lstrip("\ufeff")
    if len(content) > 64 or "\0" in text or not _CPG_RE.match(text):
        raise InputFileError(
            f"{name}: the .cpg file does not hold an encoding name (it should say e.g. "
            "UTF-8 or GBK): fix or delete it and zip the Shapefile again")
    return text


def cpg_codec(cpg: str) -> str | None:
    """The Python codec for a ``.cpg`` name, ``None`` when it is no known text encoding."""
    key = cpg.strip().lower()
    codec = CPG_CODECS.get(key)
    if codec is not None:
        return codec
    try:
        info = codecs.lookup(key)
    except (LookupError, ValueError):
        return None
    # bytes-to-bytes codecs (zlib, base64, rot13…) are not attribute encodings
    return info.name if getattr(info, "_is_text_encoding", True) else None


def dbf_text(dbf: bytes) -> bytes:
    """The text-bearing bytes of a .dbf: field names and records, without the binary
    header and field descriptors (whose width/offset bytes are not text: a field 150
    wide has the byte 0x96, which is not valid UTF-8)."""
    if len(dbf) < 32:
        return b""
    header_len = int.from_bytes(dbf[8:10], "little")
    names = []
    off = 32
    while off + 32 <= min(header_len, len(dbf)) and dbf[off] != 0x0D:
        names.append(dbf[off:off + 11].split(b"\0", 1)[0])
        off += 32
    return b" ".join(names) + b" " + dbf[max(header_len, 32):]


def dbf_encoding(dbf: bytes, cpg: str | None) -> tuple[str, str]:
    """(codec for pyogrio, how it was chosen) for a Shapefile's attribute table."""
    if cpg:
        codec = cpg_codec(cpg)
        if codec:
            return codec, f".cpg says {cpg.strip()}"
    body = dbf_text(dbf)
    try:
        body.decode("utf-8")
        return "utf-8", "no .cpg; attribute bytes are valid UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        body.decode("gbk")
        return "gbk", "no .cpg; attribute bytes decoded as GBK"
    except UnicodeDecodeError:
        return "gb18030", "no .cpg; attribute bytes decoded as GB18030"


def _check_shp(shp: bytes, name: str) -> None:
    if len(shp) < 100 or shp[:4] != _SHP_MAGIC:
        raise InputFileError(f"{name}: the .shp is not a Shapefile (no Shapefile header)")
    shape_type = int.from_bytes(shp[32:36], "little")
    if int.from_bytes(shp[28:32], "little") != 1000 or shape_type not in _SHAPE_TYPES:
        raise InputFileError(f"{name}: the .shp header is not valid (version / shape type)")


def _check_shx(shx: bytes, shp_size: int, name: str, limits: UploadLimits) -> int:
    if len(shx) < 100 or shx[:4] != _SHP_MAGIC or (len(shx) - 100) % 8:
        raise InputFileError(f"{name}: the .shx is not a Shapefile index")
    n = (len(shx) - 100) // 8
    if n > limits.max_features:
        raise UploadLimitError(f"{name} has {n:,} features (limit {limits.max_features:,})")
    index = np.frombuffer(shx, dtype=">i4", offset=100).reshape(-1, 2).astype(np.int64) * 2
    if n and (index.min() < 0 or index[:, 0].min() < 100
              or (index[:, 0] + 8 + index[:, 1]).max() > shp_size):
        raise InputFileError(f"{name}: the .shx index points outside the .shp (damaged file)")
    return n


def _check_dbf(dbf: bytes, name: str, limits: UploadLimits) -> None:
    if len(dbf) < 33 or dbf[0] not in _DBF_VERSIONS:
        raise InputFileError(f"{name}: the .dbf is not a dBASE attribute table")
    records = int.from_bytes(dbf[4:8], "little")
    header_len = int.from_bytes(dbf[8:10], "little")
    record_len = int.from_bytes(dbf[10:12], "little")
    fields = max((header_len - 33) // 32, 0)
    if records > limits.max_features:
        raise UploadLimitError(
            f"{name} has {records:,} attribute records (limit {limits.max_features:,})")
    if fields > limits.max_columns:
        raise UploadLimitError(f"{name} has {fields} fields (limit {limits.max_columns})")
    if records * max(fields, 1) > limits.max_cells:
        raise UploadLimitError(
            f"{name} has {records:,} records × {fields} fields (limit "
            f"{limits.max_cells:,} cells)")
    if header_len < 33 or record_len < 1 or header_len + records * record_len > len(dbf) + 1:
        raise InputFileError(f"{name}: the .dbf header does not match its size (damaged file)")


def _check_prj(prj: bytes, name: str) -> None:
    text = prj.decode("utf-8", "replace").lstrip("\ufeff").strip()
    if len(prj) > 65536 or not _WKT_RE.match(text) or "://" in text:
        raise InputFileError(
            f"{name}: the .prj does not hold a WKT coordinate system (it should start like "
            "GEOGCS[ or PROJCS[)")


def check_shapefile_parts(files: Mapping[str, bytes], name: str,
                          limits: UploadLimits) -> None:
    """Refuse a Shapefile whose parts are not what their suffix says, or exceed a cap."""
    for needed in (".shp", ".shx", ".dbf"):
        if needed not in files:
            raise InputFileError(f"{name}: the {needed} part is missing")
    _check_shp(files[".shp"], name)
    _check_shx(files[".shx"], len(files[".shp"]), name, limits)
    _check_dbf(files[".dbf"], name, limits)
    if ".prj" in files:
        _check_prj(files[".prj"], name)
    if ".cpg" in files:
        cpg_name(files[".cpg"], name)
