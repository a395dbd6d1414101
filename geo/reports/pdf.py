"""The PDF report (reportlab): cover, headline figures, maps and charts, ranked towns,
zones, per-station table, convalescence bases (drive times), method notes; tables
paginate (header row repeated), every page has a footer with the page number, and the
sections are PDF bookmarks.

The report is first laid out as typed blocks (:class:`Title`, :class:`Heading`,
:class:`Paragraph`, :class:`Callout`, :class:`KeyValues`, :class:`Figures`,
:class:`Table`, :class:`Image`, :class:`PageBreak`) by :func:`layout`, so that every
character is known before the CJK font subset is made (:mod:`geo.reports.fonts`); then
each block is rendered to reportlab flowables by a small function.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal
from xml.sax.saxutils import escape as xml_escape

from reportlab import platypus as rl
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas as rl_canvas

from geo.reports.data import ReportData, ReportError
from geo.reports.display import (
    DisplayTable,
    bases_text,
    below_text,
    disclaimer,
    disclaimer_title,
    display_tables,
    flagged_text,
    fmt_figure,
    method_notes,
    walk_time_caption,
    worst_caption,
    worst_title,
)
from geo.reports.figures import all_figures
from geo.reports.fonts import register_fonts
from geo.vocab import label

MAX_PDF_ROWS: Final = 500  # rows per table in the PDF (the Excel report has all)
MAX_HEADER_LINES: Final = 3  # a header wrapping to this many lines is abbreviated
LEGEND_GLUE: Final = (" = ", "；", "; ")  # joins the legend's entries (in the font subset)
PAGE_W, PAGE_H = A4
MARGIN: Final = 15 * mm
FRAME_W: Final = PAGE_W - 2 * MARGIN
GRID: Final = colors.HexColor("#c8c8c8")
BLUE: Final = colors.HexColor("#1f4e79")

# ---------------------------------------------------------------------------- blocks


class _Block:
    """A piece of the layout; it knows the strings it sets, and which of them in bold
    (for the font subsets)."""

    def strings(self) -> list[str]:
        return []

    def bold_strings(self) -> list[str]:
        return []


@dataclass(frozen=True)
class Title(_Block):
    """The report title and the region under it."""

    title: str
    subtitle: str

    def strings(self) -> list[str]:
        return [self.title, self.subtitle]

    def bold_strings(self) -> list[str]:
        return [self.title]


@dataclass(frozen=True)
class Heading(_Block):
    """A section (level 1) or subsection (level 2) heading; a PDF bookmark."""

    text: str
    level: Literal[1, 2] = 1

    def strings(self) -> list[str]:
        return [self.text]

    def bold_strings(self) -> list[str]:
        return [self.text]


@dataclass(frozen=True)
class Paragraph(_Block):
    text: str
    bullet: bool = False

    def strings(self) -> list[str]:
        return [self.text]


@dataclass(frozen=True)
class Callout(_Block):
    """A warning box (the synthetic-data disclaimer)."""

    text: str

    def strings(self) -> list[str]:
        return [self.text]


@dataclass(frozen=True)
class KeyValues(_Block):
    """Two columns: a bold key and its value."""

    rows: tuple[tuple[str, str], ...]

    def strings(self) -> list[str]:
        return [s for row in self.rows for s in row]

    def bold_strings(self) -> list[str]:
        return [k for k, _ in self.rows]


@dataclass(frozen=True)
class Figures(_Block):
    """The headline figures: label, value (large) and note."""

    rows: tuple[tuple[str, str, str], ...]

    def strings(self) -> list[str]:
        return [s for row in self.rows for s in row]

    def bold_strings(self) -> list[str]:
        return [s for lbl, val, _ in self.rows for s in (lbl, val)]


@dataclass(frozen=True)
class Table(_Block):
    """A data table: header row (repeated on every page), cells, relative column widths,
    which columns are numeric (right-aligned), which rows are shaded, a note under it.

    ``short``: per column an abbreviation ("" for none), set instead of a header that
    would wrap to :data:`MAX_HEADER_LINES` lines or more, and explained in a legend
    under the table (``legend``: its lead-in, e.g. "表头缩写：")."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    widths: tuple[float, ...]
    numeric: tuple[bool, ...]
    highlight: tuple[bool, ...]
    note: str = ""
    short: tuple[str, ...] = ()
    legend: str = ""

    def strings(self) -> list[str]:
        return [*self.header, *(s for row in self.rows for s in row), self.note,
                *self.short, self.legend, *LEGEND_GLUE]

    def bold_strings(self) -> list[str]:
        return [*self.header, *self.short]


@dataclass(frozen=True)
class Image(_Block):
    """A PNG at ``width`` (share of the frame), at most ``max_height_mm`` high."""

    png: bytes
    width: float
    caption: str = ""
    max_height_mm: float = 150

    def strings(self) -> list[str]:
        return [self.caption]


@dataclass(frozen=True)
class PageBreak(_Block):
    pass


Block = Title | Heading | Paragraph | Callout | KeyValues | Figures | Table | Image | PageBreak

# ---------------------------------------------------------------------------- layout


def layout(data: ReportData, figures: dict[str, bytes]) -> list[Block]:
    """The report as blocks: cover, headline figures, charts, towns, zones, stations,
    convalescence bases, method."""
    tables = display_tables(data, max_rows=MAX_PDF_ROWS)
    sections = [_cover(data), _headline(data, figures), _charts(data, figures),
                _towns(data, figures, tables["towns"])]
    zones = tables.get("zones")
    if zones is not None:
        sections.append([Heading(_numbered(data, 4, zones.title)), _table(zones, data)])
    stations = tables["stations"]
    n = 4 if zones is None else 5
    sections.append([Heading(_numbered(data, n, stations.title)),
                     Paragraph(flagged_text(data)), _table(stations, data)])
    bases = tables.get("bases")
    if bases is not None:
        sections.append(_bases(data, n + 1, bases, tables.get("bases_beyond")))
    sections.append([Heading(data.t("方法说明", "Method")),
                     *(Paragraph(n, bullet=True) for n in method_notes(data))])
    return [b for section in sections for b in section]


_NUMERALS: Final = "一二三四五六七八九十"


def _numbered(data: ReportData, n: int, title: str) -> str:
    return data.t(f"{_NUMERALS[n - 1]}、", f"{n}. ") + title


def _cover(data: ReportData) -> list[Block]:
    t = data.t
    blocks: list[Block] = [Title(data.title, data.job.region_name or ""),
                           KeyValues(tuple(data.cover))]
    disc = disclaimer(data)
    if disc:
        blocks.append(Callout(disclaimer_title(data) + " — " + disc))
    return [*blocks,
            Heading(t("数据版本", "Data versions"), 2), KeyValues(tuple(data.versions)),
            Heading(t("参数", "Parameters"), 2), KeyValues(tuple(data.parameters)),
            PageBreak()]


def _headline(data: ReportData, figures: dict[str, bytes]) -> list[Block]:
    t = data.t
    lang = data.lang
    by_type = data.by_type
    return [
        Heading(_numbered(data, 1, t("核心指标", "Headline figures"))),
        Figures(tuple((f.label, fmt_figure(f, lang), f.note) for f in data.headline)),
        Image(figures["overview"], 1.0,
              t("覆盖总览：镇街按覆盖率着色，蓝色为服务圈合并范围。",
                "Coverage overview: towns coloured by covered share; blue is the service "
                "area union."), 150),
        Heading(t("各类型站点", "Stations by type"), 2),
        Table((label("type", lang), label("stations_total", lang),
               t("接入路网", "On the network")),
              tuple((r.label, f"{r.total:,}", f"{r.used:,}") for r in by_type.itertuples()),
              (3.0, 1.0, 1.0), (False, True, True), (False,) * len(by_type)),
        PageBreak(),
    ]


def _charts(data: ReportData, figures: dict[str, bytes]) -> list[Block]:
    return [Heading(_numbered(data, 2, data.t("图表", "Charts"))),
            Image(figures["town_share"], 0.92, "", 120),
            Image(figures["walk_time"], 0.92, walk_time_caption(data), 110),
            PageBreak()]


def _towns(data: ReportData, figures: dict[str, bytes], towns: DisplayTable) -> list[Block]:
    blocks: list[Block] = [Heading(_numbered(data, 3, towns.title)),
                           *(Paragraph(n) for n in data.notes),
                           Paragraph(below_text(data)), _table(towns, data)]
    worst = data.worst
    if len(worst):
        blocks.append(Heading(worst_title(data, len(worst)), 2))
        blocks += [Image(figures[f"town:{r['town_id']}"], 0.8, worst_caption(data, r), 105)
                   for _, r in worst.iterrows()]
    return blocks


def _bases(data: ReportData, n: int, towns: DisplayTable,
           beyond: DisplayTable | None) -> list[Block]:
    """The convalescence-base section: drive time from each town to its nearest base
    and, when computed, the towns and people beyond each limit (else why not)."""
    blocks: list[Block] = [PageBreak(), Heading(_numbered(data, n, towns.title)),
                           Paragraph(bases_text(data))]
    if beyond is None:  # not computed: the note says why
        return blocks
    return [*blocks, Heading(beyond.title, 2), _table(beyond, data),
            Heading(data.t("各镇街到最近基地的驾车时间", "Drive time from each town to its "
                                                     "nearest base"), 2),
            _table(towns, data)]


def _table(table: DisplayTable, data: ReportData) -> Table:
    note = table.note
    if table.total_rows > len(table.frame):
        note += data.t(f"（PDF中列出{len(table.frame)}行，共{table.total_rows}行；"
                       "完整表格见Excel报告。）",
                       f" (The PDF lists {len(table.frame)} of {table.total_rows} rows; the "
                       "Excel report has them all.)")
    return Table(tuple(c.label for c in table.columns),
                 tuple(tuple(r) for r in table.cells(data.lang)),
                 tuple(c.width for c in table.columns),
                 tuple(c.numeric for c in table.columns),
                 tuple(bool(h) for h in table.highlight), note,
                 short=tuple(c.short for c in table.columns),
                 legend=data.t("表头缩写：", "Abbreviated headers: "))


# ---------------------------------------------------------------------------- render


class _Bookmarked(rl.Paragraph):
    """A heading paragraph that becomes a PDF outline entry."""

    def __init__(self, heading: Heading, style: ParagraphStyle) -> None:
        super().__init__(_markup(heading.text), style)
        self.bookmark = (heading.level, heading.text)


@dataclass(frozen=True)
class _Styles:
    """The fonts (reportlab names) and paragraph styles of a report."""

    font: str
    bold: str
    by_name: dict[str, ParagraphStyle]
    wrap: str | None = None  # "CJK" for Chinese

    def para(self, text: str, style: str) -> rl.Paragraph:
        return rl.Paragraph(_markup(text), self.by_name[style])


def _markup(text: str) -> str:
    return xml_escape(text).replace("\n", "<br/>")


def _styles(font: str, bold: str, wrap: str | None) -> _Styles:
    def style(name: str, size: float, *, f: str = font, lead: float = 1.45,
              **kw: Any) -> ParagraphStyle:
        return ParagraphStyle(name, fontName=f, fontSize=size, leading=size * lead,
                              wordWrap=wrap, bulletFontName=font, **kw)

    grey = colors.HexColor
    styles = [
        style("title", 21, f=bold, lead=1.3, alignment=TA_CENTER, spaceBefore=40,
              spaceAfter=10),
        style("subtitle", 13, alignment=TA_CENTER, spaceAfter=18, textColor=grey("#444444")),
        style("h1", 15, f=bold, lead=1.3, spaceBefore=4, spaceAfter=8, textColor=BLUE),
        style("h2", 11.5, f=bold, lead=1.3, spaceBefore=10, spaceAfter=5, textColor=BLUE),
        style("p", 9.5, spaceAfter=5),
        style("bullet", 9, spaceAfter=4, leftIndent=10, bulletIndent=0),
        style("caption", 8, alignment=TA_CENTER, spaceAfter=8, textColor=grey("#555555")),
        style("cell", 7.3, lead=1.3),
        style("cell_r", 7.3, lead=1.3, alignment=TA_RIGHT),
        style("head", 7.3, f=bold, lead=1.3),
        style("kv", 8.8, lead=1.35),
        style("kv_b", 8.8, f=bold, lead=1.35),
        style("fig_v", 13, f=bold, lead=1.25, alignment=TA_RIGHT, textColor=BLUE),
        style("warn", 9, textColor=grey("#7a4b00")),
    ]
    return _Styles(font, bold, {s.name: s for s in styles}, wrap)


def _flowables(block: Block, st: _Styles) -> list[Any]:
    """The reportlab flowables of one block."""
    match block:
        case Title():
            return [st.para(block.title, "title"), st.para(block.subtitle, "subtitle")]
        case Heading():
            return [_Bookmarked(block, st.by_name[f"h{block.level}"])]
        case Paragraph(bullet=True):
            return [rl.Paragraph(xml_escape(block.text), st.by_name["bullet"],
                                 bulletText="•")]
        case Paragraph():
            return [st.para(block.text, "p")]
        case Callout():
            return [_callout(block, st), rl.Spacer(1, 6)]
        case KeyValues():
            return [_key_values(block, st), rl.Spacer(1, 4)]
        case Figures():
            return [_figures(block, st), rl.Spacer(1, 4)]
        case Table():
            return _data_table(block, st)
        case Image():
            return [_image(block, st)]
        case PageBreak():
            return [rl.PageBreak()]
    raise TypeError(f"not a PDF block: {block!r}")


def _padding(vertical: float, sides: float | None = None) -> list[tuple[Any, ...]]:
    """Cell padding commands: top and bottom, and left and right when given."""
    cmds: list[tuple[Any, ...]] = [("TOPPADDING", (0, 0), (-1, -1), vertical),
                                   ("BOTTOMPADDING", (0, 0), (-1, -1), vertical)]
    if sides is not None:
        cmds += [("LEFTPADDING", (0, 0), (-1, -1), sides),
                 ("RIGHTPADDING", (0, 0), (-1, -1), sides)]
    return cmds


def _styled(rows: list[list[Any]], widths: Sequence[float], cmds: list[tuple[Any, ...]],
            **kw: Any) -> rl.Table:
    tb = rl.Table(rows, colWidths=list(widths), **kw)
    tb.setStyle(rl.TableStyle(cmds))
    return tb


def _callout(block: Callout, st: _Styles) -> rl.Table:
    return _styled([[st.para(block.text, "warn")]], [FRAME_W], [
        ("FONTNAME", (0, 0), (-1, -1), st.font),
        ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#fff4d6")),
        ("BOX", (0, 0), (-1, -1), 0.8, colors.HexColor("#e0a800")),
        *_padding(6, 8)])


def _key_values(block: KeyValues, st: _Styles) -> rl.Table:
    rows = [[st.para(k, "kv_b"), st.para(v, "kv")] for k, v in block.rows]
    return _styled(rows, [FRAME_W * 0.32, FRAME_W * 0.68], [
        ("FONTNAME", (0, 0), (-1, -1), st.font),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.3, GRID),
        *_padding(2.5)])


def _figures(block: Figures, st: _Styles) -> rl.Table:
    rows = [[st.para(lbl, "kv_b"), st.para(val, "fig_v"), st.para(note, "kv")]
            for lbl, val, note in block.rows]
    return _styled(rows, [FRAME_W * 0.38, FRAME_W * 0.2, FRAME_W * 0.42], [
        ("FONTNAME", (0, 0), (-1, -1), st.font),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ROWBACKGROUNDS", (0, 0), (-1, -1), [colors.HexColor("#f3f7fb"), colors.white]),
        ("LINEBELOW", (0, 0), (-1, -1), 0.3, GRID),
        *_padding(4)])


def _header_lines(text: str, width: float, st: _Styles) -> int:
    """How many lines ``text`` takes as a header cell ``width`` points wide."""
    para = st.para(text, "head")
    _, height = para.wrap(width, 10_000)
    return round(height / st.by_name["head"].leading)


def _headers(block: Table, col_w: Sequence[float], st: _Styles) -> tuple[list[str], str]:
    """The header row, with an abbreviation for every header that would wrap to
    :data:`MAX_HEADER_LINES` lines or more, and the legend of those (or "")."""
    shorts = block.short or ("",) * len(block.header)
    out, legend = [], []
    for head, short, w in zip(block.header, shorts, col_w, strict=True):
        if short and _header_lines(head, w - 6, st) >= MAX_HEADER_LINES:  # 3 pt padding
            out.append(short)
            legend.append(f"{short}{LEGEND_GLUE[0]}{head}")
        else:
            out.append(head)
    sep = LEGEND_GLUE[1] if st.wrap == "CJK" else LEGEND_GLUE[2]
    return out, (block.legend + sep.join(legend)) if legend else ""


def _data_table(block: Table, st: _Styles) -> list[Any]:
    total_w = float(sum(block.widths))
    col_w = [FRAME_W * w / total_w for w in block.widths]
    header, legend = _headers(block, col_w, st)
    body = [[st.para(h, "head") for h in header]]
    body += [[st.para(v, "cell_r" if block.numeric[j] else "cell") for j, v in enumerate(r)]
             for r in block.rows]
    cmds: list[tuple[Any, ...]] = [
        ("FONTNAME", (0, 0), (-1, -1), st.font),  # reportlab sets it per cell
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dde8f3")),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, BLUE),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, GRID),
        *_padding(2, 3),
    ]
    cmds += [("BACKGROUND", (0, i + 1), (-1, i + 1), colors.HexColor("#fde2e1"))
             for i, h in enumerate(block.highlight) if h]
    out: list[Any] = [_styled(body, col_w, cmds, repeatRows=1)]
    if legend:
        out.append(st.para(legend, "caption"))
    if block.note:
        out.append(st.para(block.note, "caption"))
    return [*out, rl.Spacer(1, 6)]


def _image(block: Image, st: _Styles) -> rl.KeepTogether:
    iw, ih = ImageReader(io.BytesIO(block.png)).getSize()
    w = FRAME_W * block.width
    h = w * ih / iw
    max_h = min(PAGE_H - 2 * MARGIN - 40 * mm, block.max_height_mm * mm)
    if h > max_h:
        w, h = w * max_h / h, max_h
    img = rl.Image(io.BytesIO(block.png), width=w, height=h)
    under = st.para(block.caption, "caption") if block.caption else rl.Spacer(1, 6)
    return rl.KeepTogether([img, under])


@dataclass(frozen=True)
class _Footer:
    font: str
    text: str  # left: app and region
    page_fmt: str  # right: "page {n} of {total}"


class _NumberedCanvas(rl_canvas.Canvas):
    """Defers page output to write the footer, "page n of total", on every page."""

    def __init__(self, *args: Any, footer: _Footer, **kwargs: Any) -> None:
        # the doc template passes initialFontName=None: never fall back to Helvetica
        kwargs["initialFontName"] = footer.font
        kwargs["initialFontSize"] = kwargs.get("initialFontSize") or 9
        super().__init__(*args, **kwargs)
        self._footer = footer
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:  # reportlab API
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        f = self._footer
        for state in self._pages:
            self.__dict__.update(state)
            self.setFont(f.font, 7.5)
            self.setFillColor(colors.HexColor("#666666"))
            self.drawString(MARGIN, 9 * mm, f.text)
            self.drawRightString(PAGE_W - MARGIN, 9 * mm,
                                 f.page_fmt.format(n=self._pageNumber, total=total))
            self.setStrokeColor(colors.HexColor("#bbbbbb"))
            self.setLineWidth(0.4)
            self.line(MARGIN, 12 * mm, PAGE_W - MARGIN, 12 * mm)
            super().showPage()
        super().save()


class _Doc(rl.SimpleDocTemplate):
    """Adds a PDF outline entry for every heading."""

    _has_top = False

    def afterFlowable(self, flowable: Any) -> None:  # reportlab API
        if isinstance(flowable, _Bookmarked):
            level, text = flowable.bookmark
            key = hashlib.sha1(f"{text}{self.page}".encode()).hexdigest()[:10]
            self.canv.bookmarkPage(key)
            top = level == 1 or not self._has_top
            self._has_top = self._has_top or level == 1
            self.canv.addOutlineEntry(text, key, level=0 if top else 1)


def write_pdf(data: ReportData, path: str | os.PathLike[str]) -> Path:
    """Write the PDF report to ``path``."""
    blocks = layout(data, all_figures(data))
    footer_text = f"{data.t('驿站圈', 'Yizhan')} · {data.job.region_name}"
    page_fmt = data.t("第 {n} 页 / 共 {total} 页", "Page {n} of {total}")
    text = "".join(s for b in blocks for s in b.strings())
    bold_text = "".join(s for b in blocks for s in b.bold_strings())
    font, bold = register_fonts(text + footer_text + page_fmt, bold_text)
    st = _styles(font, bold, "CJK" if data.lang == "zh" else None)
    story = [f for b in blocks for f in _flowables(b, st)]
    out = Path(path)
    doc = _Doc(str(out), pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN,
               topMargin=MARGIN, bottomMargin=18 * mm, title=data.title,
               author="yizhan", subject=data.job.region_name, creator="yizhan",
               lang="zh-CN" if data.lang == "zh" else "en")
    canvasmaker = functools.partial(_NumberedCanvas, footer=_Footer(font, footer_text, page_fmt))
    try:
        doc.build(story, canvasmaker=canvasmaker)
    except ReportError:
        raise
    except Exception as exc:
        raise ReportError(f"cannot build the PDF report: {type(exc).__name__}: {exc}") from exc
    return out
