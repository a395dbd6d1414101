"""Shapefile attribute encodings: the ``.cpg`` when it names one, else detected.

:func:`dbf_encoding` picks the attribute encoding: the ``.cpg`` when it names a known
encoding, else detected from the ``.dbf`` bytes (UTF-8, else GBK, else GB18030) so GBK
text without a ``.cpg`` is not garbled.
"""

from __future__ import annotations

import codecs
from typing import Final

CPG_CODECS: Final = {
    "utf-8": "utf-8", "utf8": "utf-8", "65001": "utf-8",
    "gbk": "gbk", "cp936": "gbk", "936": "gbk", "ansi 936": "gbk", "gb2312": "gbk",
    "gb18030": "gb18030", "54936": "gb18030",
    "big5": "big5", "950": "big5", "cp950": "big5",
    "iso-8859-1": "latin-1", "latin1": "latin-1", "1252": "cp1252", "cp1252": "cp1252",
}


def cpg_codec(cpg: str) -> str | None:
    """The Python codec for a ``.cpg`` name, ``None`` when it is no known encoding."""
    key = cpg.strip().lower()
    codec = CPG_CODECS.get(key)
    if codec is not None:
        return codec
    try:
        return codecs.lookup(key).name
    except LookupError:
        return None


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
