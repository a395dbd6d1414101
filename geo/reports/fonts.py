"""The CJK font of the reports: found on the system, subset and registered.

Chinese text needs a CJK font. Debian's ``fonts-noto-cjk`` ships Noto Sans CJK as
OpenType collections with CFF (PostScript) outlines, which reportlab cannot embed; so
for the PDF (:func:`register_fonts`) the characters the report uses are subset from the
collection's Simplified-Chinese face with fontTools and converted to TrueType outlines
(quadratic curves, ``cu2qu``) in memory — a few hundred glyphs, well under a second —
and reportlab embeds that subset. A TrueType font (``.ttf``/``.ttc`` with ``glyf``
outlines) is used as it is. Set ``YIZHAN_CJK_FONT`` (and ``YIZHAN_CJK_FONT_BOLD``) to
use another font file.

The figures (matplotlib) use the installed collection directly
(:func:`add_matplotlib_cjk_font`, :data:`CJK_FAMILIES`).
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import threading
from pathlib import Path
from typing import Any, Final

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from geo.reports.data import ReportError

FONT_ENV: Final = "YIZHAN_CJK_FONT"
FONT_BOLD_ENV: Final = "YIZHAN_CJK_FONT_BOLD"
FONT_CANDIDATES: Final = {
    False: ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
            "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
            "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
            "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
            "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
            "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
    True: ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
           "/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc",
           "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Bold.ttc",
           "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Bold.otf"),
}
#: characters always in the subset (figures, punctuation of both languages)
BASE_CHARS: Final = ("".join(chr(c) for c in range(32, 127))
                     + "，。：；、！？（）《》“”‘’—–…·•%‰×÷≥≤±→←°²³µ第页共　")

#: matplotlib's font families, first found first used
CJK_FAMILIES: Final = ["Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC",
                       "WenQuanYi Zen Hei", "Droid Sans Fallback", "DejaVu Sans"]

_REGISTER_LOCK = threading.Lock()
_MPL_LOCK = threading.Lock()
_MPL_ADDED = False


def find_cjk_font(*, bold: bool = False, required: bool = True) -> Path | None:
    """A CJK font file: ``$YIZHAN_CJK_FONT[_BOLD]``, else a known system location
    (bold falls back to the regular font)."""
    env = os.environ.get(FONT_BOLD_ENV if bold else FONT_ENV)
    if env and Path(env).is_file():
        return Path(env)
    for c in FONT_CANDIDATES[bold]:
        if Path(c).is_file():
            return Path(c)
    root = Path("/usr/share/fonts")
    if root.is_dir():
        pattern = "NotoSansCJK*-Bold.tt[cf]" if bold else "NotoSansCJK*-Regular.tt[cf]"
        found = sorted(root.rglob(pattern))
        if found:
            return found[0]
    if bold:
        return find_cjk_font(bold=False, required=required)
    if required:
        raise ReportError(
            "no CJK font found for the PDF report: install Debian's fonts-noto-cjk "
            f"(apt-get install fonts-noto-cjk) or set {FONT_ENV} to a .ttf/.otf/.ttc file"
        )
    return None


@functools.cache
def _face_index(path: str) -> int:
    """The Simplified-Chinese face of a collection (0 for a single font)."""
    if not path.lower().endswith((".ttc", ".otc")):
        return 0
    from fontTools.ttLib import TTCollection

    with TTCollection(path, lazy=True) as coll:  # closes the file
        names = [str(f["name"].getDebugName(4) or "") for f in coll.fonts]
    for want in (" SC", "SC ", "GB", "Hans"):
        for i, n in enumerate(names):
            if want in n and "Mono" not in n:
                return i
    return 0


@functools.lru_cache(maxsize=16)
def subset_font(path: str, text: str) -> bytes:
    """A TrueType subset of ``path`` holding the characters of ``text``."""
    from fontTools import subset
    from fontTools.ttLib import TTFont as FTFont

    opts = subset.Options()
    opts.layout_features = []
    opts.name_IDs = ["*"]
    opts.notdef_outline = True
    opts.hinting = False
    buf = io.BytesIO()
    with FTFont(path, fontNumber=_face_index(path), lazy=True) as font:  # closes the file
        sub = subset.Subsetter(opts)
        sub.populate(text=text)
        sub.subset(font)
        if "glyf" not in font:
            _cff_to_glyf(font)
        _unique_postscript_name(font, text)
        font.save(buf)
    return buf.getvalue()


def _unique_postscript_name(font: Any, text: str) -> None:
    """Give the subset a PostScript name of its own (the face's + a hash of ``text``):
    reportlab keeps the first subset it embedded under a face name, so a second report
    in the same process with a subset of the same name lost the glyphs the first lacked."""
    tag = hashlib.sha1(text.encode()).hexdigest()[:10]
    for rec in font["name"].names:
        if rec.nameID == 6:
            rec.string = f"{rec.toUnicode()[:50]}-{tag}"


def _cff_to_glyf(font: Any) -> None:
    """Convert CFF (cubic) outlines to TrueType ``glyf`` (quadratic), in place."""
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import newTable

    order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
        glyf.glyphs[name] = pen.glyph()
    font["loca"] = newTable("loca")
    font["glyf"] = glyf
    for tag in ("CFF ", "CFF2", "VORG"):
        if tag in font:
            del font[tag]
    maxp = newTable("maxp")
    maxp.tableVersion = 0x00010000
    maxp.numGlyphs = len(order)
    for attr in ("maxPoints", "maxContours", "maxCompositePoints", "maxCompositeContours",
                 "maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                 "maxStackElements", "maxSizeOfInstructions", "maxComponentElements",
                 "maxComponentDepth"):
        setattr(maxp, attr, 0)
    maxp.maxZones = 1
    font["maxp"] = maxp
    font["head"].glyphDataFormat = 0
    post = font["post"]
    post.formatType = 3.0
    font.sfntVersion = "\x00\x01\x00\x00"


def register_fonts(text: str, bold_text: str | None = None) -> tuple[str, str]:
    """Register (regular, bold) subset fonts with reportlab: the regular one covering
    ``text``, the bold one ``bold_text`` (default: ``text``)."""
    names = []
    for bold, body in ((False, text), (True, text if bold_text is None else bold_text)):
        chars = "".join(sorted(set(body + BASE_CHARS) - {"\n", "\r", "\t"}))
        path = str(find_cjk_font(bold=bold))
        key = hashlib.sha1(f"{path}|{chars}".encode()).hexdigest()[:12]
        name = f"YizhanCJK{'B' if bold else ''}-{key}"
        with _REGISTER_LOCK:
            if name not in pdfmetrics.getRegisteredFontNames():
                try:
                    data = subset_font(path, chars)
                    pdfmetrics.registerFont(TTFont(name, io.BytesIO(data)))
                except Exception as exc:  # a broken / unsupported font file
                    raise ReportError(f"cannot use the font {path} for the PDF: {exc}; set "
                                      f"{FONT_ENV} to another CJK font") from None
        names.append(name)
    return names[0], names[1]


def add_matplotlib_cjk_font() -> None:
    """Make sure matplotlib knows the installed Noto CJK collection (once)."""
    global _MPL_ADDED
    with _MPL_LOCK:
        if _MPL_ADDED:
            return
        from matplotlib import font_manager

        known = {f.name for f in font_manager.fontManager.ttflist}
        if "Noto Sans CJK SC" not in known:
            path = find_cjk_font(bold=False, required=False)
            if path is not None:
                font_manager.fontManager.addfont(str(path))
        _MPL_ADDED = True
