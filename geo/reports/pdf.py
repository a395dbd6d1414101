"""The PDF report (reportlab): cover, headline figures, maps and charts, ranked towns,
zones, per-station table, method notes; tables paginate (header row repeated), every
page has a footer with the page number, and the sections are PDF bookmarks.

Chinese text needs a CJK font embedded in the file. Debian's ``fonts-noto-cjk`` ships
Noto Sans CJK as OpenType collections with CFF (PostScript) outlines, which reportlab
cannot embed; so the characters the report uses are subset from the collection's
Simplified-Chinese face with fontTools and converted to TrueType outlines
(quadratic curves, ``cu2qu``) in memory — a few hundred glyphs, well under a second —
and reportlab embeds that subset. A TrueType font (``.ttf``/``.ttc`` with ``glyf``
outlines) is used as it is. Set ``YIZHAN_CJK_FONT`` (and ``YIZHAN_CJK_FONT_BOLD``) to
use another font file.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from xml.sax.saxutils import escape as xml_escape

from geo.reports.data import (
    ReportData,
    ReportError,
    display_tables,
    fmt_cell,
    fmt_figure,
    method_notes,
)
from geo.reports.data import (
    disclaimer as report_disclaimer,
)

if TYPE_CHECKING:
    from geo.reports.data import DisplayTable

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
MAX_PDF_ROWS: Final = 500  # rows per table in the PDF (the Excel report has all)

_REGISTER_LOCK = threading.Lock()


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

    coll = TTCollection(path, lazy=True)
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

    font = FTFont(path, fontNumber=_face_index(path), lazy=True)
    opts = subset.Options()
    opts.layout_features = []
    opts.name_IDs = ["*"]
    opts.notdef_outline = True
    opts.hinting = False
    sub = subset.Subsetter(opts)
    sub.populate(text=text)
    sub.subset(font)
    if "glyf" not in font:
        _cff_to_glyf(font)
    buf = io.BytesIO()
    font.save(buf)
    return buf.getvalue()


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
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

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


# --------------------------------------------------------------------------- blocks
# The report is first laid out as plain blocks, so that every character is known
# before the font subset is made.

Block = tuple[Any, ...]


def _blocks(data: ReportData, figures: dict[str, bytes]) -> list[Block]:
    t = data.t
    lang = data.lang
    b: list[Block] = [("title", data.title)]
    b.append(("subtitle", data.job.region_name or ""))
    b.append(("kv", data.cover))
    disc = report_disclaimer(data)
    if disc:
        b.append(("warning", t("示范区（合成数据）", "Synthetic demo data") + " — " + disc))
    b.append(("h2", t("数据版本", "Data versions")))
    b.append(("kv", data.versions))
    b.append(("h2", t("参数", "Parameters")))
    b.append(("kv", data.parameters))
    b.append(("break",))

    b.append(("h1", t("一、核心指标", "1. Headline figures")))
    b.append(("figures", [(f.label, fmt_figure(f, lang), f.note) for f in data.headline]))
    b.append(("image", figures["overview"], 1.0,
              t("覆盖总览：镇街按覆盖率着色，蓝色为服务圈合并范围。",
                "Coverage overview: towns coloured by covered share; blue is the service "
                "area union."), 150))
    b.append(("h2", t("各类型站点", "Stations by type")))
    bt = data.by_type
    b.append(("table", [t("类型", "Type"), t("站点数", "Stations"),
                        t("接入路网", "On the network")],
              [[r.label, f"{r.total:,}", f"{r.used:,}"] for r in bt.itertuples()],
              [3.0, 1.0, 1.0], ["text", "int", "int"], [False] * len(bt), ""))
    b.append(("break",))

    b.append(("h1", t("二、图表", "2. Charts")))
    b.append(("image", figures["town_share"], 0.92, "", 120))
    b.append(("image", figures["walk_time"], 0.92,
              t("按街道长度加权：每段街道到最近站点的步行时间。",
                "Weighted by street length: walk time from each street point to the "
                "nearest station."), 110))
    b.append(("break",))

    tables = display_tables(data, max_rows=MAX_PDF_ROWS)
    towns = tables["towns"]
    b.append(("h1", t("三、", "3. ") + towns.title))
    for n in data.notes:
        b.append(("p", n))
    below = data.below
    unit = t("分析网格", "analysis cells") if data.job.towns.is_grid else t("镇街", "towns")
    b.append(("p", t(f"覆盖率低于{data.options.town_threshold:.0%}的{unit}：{len(below)}个"
                     f"（共{len(data.towns)}个）。",
                     f"{unit.capitalize()} below {data.options.town_threshold:.0%} covered: "
                     f"{len(below)} of {len(data.towns)}.")))
    b.append(_table_block(towns, data))
    worst = data.worst
    if len(worst):
        b.append(("h2", t(f"最薄弱的{len(worst)}个{unit}", f"The {len(worst)} most under-served "
                                                           f"{unit}")))
        for _, r in worst.iterrows():
            b.append(("image", figures[f"town:{r['town_id']}"], 0.8,
                      t(f"第{int(r['rank'])}名 {r['name']}：{r['reason_zh']}",
                        f"Rank {int(r['rank'])} {r['name']}: {r['reason_en']}"), 105))

    if "zones" in tables:
        b.append(("h1", t("四、", "4. ") + tables["zones"].title))
        b.append(_table_block(tables["zones"], data))

    stations = tables["stations"]
    b.append(("h1", t("五、", "5. ") + stations.title if "zones" in tables
              else t("四、", "4. ") + stations.title))
    n_flag = int(data.stations["review_flag"].sum()) if "review_flag" in data.stations else 0
    b.append(("p", t(f"建议复核的站点：{n_flag}个。", f"Stations flagged for review: {n_flag}.")))
    b.append(_table_block(stations, data))

    b.append(("h1", t("方法说明", "Method")))
    for n in method_notes(data):
        b.append(("bullet", n))
    return b


def _table_block(table: DisplayTable, data: ReportData) -> Block:
    lang = data.lang
    rows = [[fmt_cell(r.get(c.key), c.kind, lang) for c in table.columns]
            for _, r in table.frame.iterrows()]
    note = table.note
    if table.total_rows > len(table.frame):
        note += data.t(f"（PDF中列出{len(table.frame)}行，共{table.total_rows}行；"
                       "完整表格见Excel报告。）",
                       f" (The PDF lists {len(table.frame)} of {table.total_rows} rows; the "
                       "Excel report has them all.)")
    return ("table", [c.label for c in table.columns], rows, [c.width for c in table.columns],
            [c.kind for c in table.columns], list(table.highlight), note)


def _block_text(blocks: list[Block]) -> tuple[str, str]:
    """All text of the blocks, and the part set in bold (titles, headers, keys)."""
    parts: list[str] = []
    bold: list[str] = []

    def walk(x: Any, out: list[str]) -> None:
        if isinstance(x, str):
            out.append(x)
        elif isinstance(x, (list, tuple)):
            for y in x:
                walk(y, out)

    for blk in blocks:
        kind = blk[0]
        walk(blk[1:] if kind != "image" else blk[3], parts)
        if kind in ("title", "h1", "h2"):
            walk(blk[1], bold)
        elif kind == "kv":
            walk([k for k, _ in blk[1]], bold)
        elif kind == "figures":
            walk([(lbl, val) for lbl, val, _ in blk[1]], bold)
        elif kind == "table":
            walk(blk[1], bold)
    return "".join(parts), "".join(bold)


# ---------------------------------------------------------------------------- render


def write_pdf(data: ReportData, path: str | os.PathLike[str]) -> Path:
    """Write the PDF report to ``path``."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER, TA_RIGHT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas as rl_canvas
    from reportlab.platypus import (
        Image,
        KeepTogether,
        PageBreak,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    from geo.reports.figures import all_figures

    lang = data.lang
    figures = all_figures(data)
    blocks = _blocks(data, figures)
    footer = f"{data.t('驿站圈', 'Yizhan')} · {data.job.region_name}"
    page_fmt = data.t("第 {n} 页 / 共 {total} 页", "Page {n} of {total}")
    text, bold_text = _block_text(blocks)
    font, bold = register_fonts(text + footer + page_fmt, bold_text)
    wrap = "CJK" if lang == "zh" else None

    def style(name: str, size: float, *, f: str = font, lead: float = 1.45, **kw: Any) -> Any:
        return ParagraphStyle(name, fontName=f, fontSize=size, leading=size * lead,
                              wordWrap=wrap, bulletFontName=font, **kw)

    st_title = style("title", 21, f=bold, lead=1.3, alignment=TA_CENTER, spaceBefore=40,
                     spaceAfter=10)
    st_sub = style("subtitle", 13, alignment=TA_CENTER, spaceAfter=18,
                   textColor=colors.HexColor("#444444"))
    st_h1 = style("h1", 15, f=bold, lead=1.3, spaceBefore=4, spaceAfter=8,
                  textColor=colors.HexColor("#1f4e79"))
    st_h2 = style("h2", 11.5, f=bold, lead=1.3, spaceBefore=10, spaceAfter=5,
                  textColor=colors.HexColor("#1f4e79"))
    st_p = style("p", 9.5, spaceAfter=5)
    st_bullet = style("bullet", 9, spaceAfter=4, leftIndent=10, bulletIndent=0)
    st_caption = style("caption", 8, alignment=TA_CENTER, spaceAfter=8,
                       textColor=colors.HexColor("#555555"))
    st_cell = style("cell", 7.3, lead=1.3)
    st_cell_r = style("cell_r", 7.3, lead=1.3, alignment=TA_RIGHT)
    st_head = style("head", 7.3, f=bold, lead=1.3)
    st_kv = style("kv", 8.8, lead=1.35)
    st_kv_b = style("kv_b", 8.8, f=bold, lead=1.35)
    st_fig_v = style("fig_v", 13, f=bold, lead=1.25, alignment=TA_RIGHT,
                     textColor=colors.HexColor("#1f4e79"))
    st_warn = style("warn", 9, textColor=colors.HexColor("#7a4b00"))

    page_w, page_h = A4
    margin = 15 * mm
    frame_w = page_w - 2 * margin

    def para(text: str, s: Any) -> Any:
        return Paragraph(xml_escape(text).replace("\n", "<br/>"), s)

    grid = colors.HexColor("#c8c8c8")
    story: list[Any] = []
    for blk in blocks:
        kind = blk[0]
        if kind == "title":
            story.append(para(blk[1], st_title))
        elif kind == "subtitle":
            story.append(para(blk[1], st_sub))
        elif kind in ("h1", "h2"):
            p = para(blk[1], st_h1 if kind == "h1" else st_h2)
            p._bookmark = (kind, blk[1])  # type: ignore[attr-defined]
            story.append(p)
        elif kind == "p":
            story.append(para(blk[1], st_p))
        elif kind == "bullet":
            story.append(Paragraph(xml_escape(blk[1]), st_bullet, bulletText="•"))
        elif kind == "warning":
            tb = Table([[para(blk[1], st_warn)]], colWidths=[frame_w])
            tb.setStyle(TableStyle([
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#fff4d6")),
                ("BOX", (0, 0), (-1, -1), 0.8, colors.HexColor("#e0a800")),
                ("LEFTPADDING", (0, 0), (-1, -1), 8), ("RIGHTPADDING", (0, 0), (-1, -1), 8),
                ("TOPPADDING", (0, 0), (-1, -1), 6), ("BOTTOMPADDING", (0, 0), (-1, -1), 6)]))
            story += [tb, Spacer(1, 6)]
        elif kind == "kv":
            rows = [[para(k, st_kv_b), para(v, st_kv)] for k, v in blk[1]]
            tb = Table(rows, colWidths=[frame_w * 0.32, frame_w * 0.68])
            tb.setStyle(TableStyle([
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.3, grid),
                ("TOPPADDING", (0, 0), (-1, -1), 2.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5)]))
            story += [tb, Spacer(1, 4)]
        elif kind == "figures":
            rows = [[para(lbl, st_kv_b), para(val, st_fig_v), para(note, st_kv)]
                    for lbl, val, note in blk[1]]
            tb = Table(rows, colWidths=[frame_w * 0.38, frame_w * 0.2, frame_w * 0.42])
            tb.setStyle(TableStyle([
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("ROWBACKGROUNDS", (0, 0), (-1, -1),
                 [colors.HexColor("#f3f7fb"), colors.white]),
                ("LINEBELOW", (0, 0), (-1, -1), 0.3, grid),
                ("TOPPADDING", (0, 0), (-1, -1), 4), ("BOTTOMPADDING", (0, 0), (-1, -1), 4)]))
            story += [tb, Spacer(1, 4)]
        elif kind == "table":
            _, header, rows, widths, kinds, highlight, note = blk
            total_w = float(sum(widths))
            col_w = [frame_w * w / total_w for w in widths]
            right = [k not in ("text", "flag", "bool") for k in kinds]
            body = [[para(h, st_head) for h in header]]
            for r in rows:
                body.append([para(v, st_cell_r if right[j] else st_cell)
                             for j, v in enumerate(r)])
            tb = Table(body, colWidths=col_w, repeatRows=1)
            cmds: list[Any] = [
                ("FONTNAME", (0, 0), (-1, -1), font),  # reportlab sets it per cell
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dde8f3")),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.HexColor("#1f4e79")),
                ("LINEBELOW", (0, 1), (-1, -1), 0.25, grid),
                ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            ]
            for i, h in enumerate(highlight):
                if h:
                    cmds.append(("BACKGROUND", (0, i + 1), (-1, i + 1),
                                 colors.HexColor("#fde2e1")))
            tb.setStyle(TableStyle(cmds))
            story.append(tb)
            if note:
                story.append(para(note, st_caption))
            story.append(Spacer(1, 6))
        elif kind == "image":
            _, png, frac, caption, max_h_mm = blk
            reader = ImageReader(io.BytesIO(png))
            iw, ih = reader.getSize()
            w = frame_w * frac
            h = w * ih / iw
            max_h = min(page_h - 2 * margin - 40 * mm, max_h_mm * mm)
            if h > max_h:
                w, h = w * max_h / h, max_h
            img = Image(io.BytesIO(png), width=w, height=h)
            parts = [img] + ([para(caption, st_caption)] if caption else [Spacer(1, 6)])
            story.append(KeepTogether(parts))
        elif kind == "break":
            story.append(PageBreak())

    class _Canvas(rl_canvas.Canvas):
        """Defers page output to write "page n of total" on every page."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            # the doc template passes initialFontName=None: never fall back to Helvetica
            kwargs["initialFontName"] = font
            kwargs["initialFontSize"] = kwargs.get("initialFontSize") or 9
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # reportlab API
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self.setFont(font, 7.5)
                self.setFillColor(colors.HexColor("#666666"))
                self.drawString(margin, 9 * mm, footer)
                self.drawRightString(page_w - margin, 9 * mm,
                                     page_fmt.format(n=self._pageNumber, total=total))
                self.setStrokeColor(colors.HexColor("#bbbbbb"))
                self.setLineWidth(0.4)
                self.line(margin, 12 * mm, page_w - margin, 12 * mm)
                super().showPage()
            super().save()

    class _Doc(SimpleDocTemplate):
        _has_top = False

        def afterFlowable(self, flowable: Any) -> None:  # reportlab API
            mark = getattr(flowable, "_bookmark", None)
            if mark:
                level, text = mark
                key = hashlib.sha1(f"{text}{self.page}".encode()).hexdigest()[:10]
                self.canv.bookmarkPage(key)
                top = level == "h1" or not self._has_top
                self._has_top = self._has_top or level == "h1"
                self.canv.addOutlineEntry(text, key, level=0 if top else 1)

    out = Path(path)
    doc = _Doc(str(out), pagesize=A4, leftMargin=margin, rightMargin=margin,
               topMargin=margin, bottomMargin=18 * mm, title=data.title,
               author="yizhan", subject=data.job.region_name, creator="yizhan",
               lang="zh-CN" if lang == "zh" else "en")
    try:
        doc.build(story, canvasmaker=_Canvas)
    except ReportError:
        raise
    except Exception as exc:
        raise ReportError(f"cannot build the PDF report: {type(exc).__name__}: {exc}") from exc
    return out
