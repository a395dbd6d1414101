"""The HTML report: one standalone page (no external requests) with the cover, the
headline figures, the interactive map, the charts, the ranked towns with their maps,
the zones, the per-station table and the method notes.

The page is the Jinja2 template ``templates/report.html.j2``, rendered with autoescape
from a plain view of the report (:func:`html_report`). Every value goes through
:func:`geo.io.htmlsafe.esc` on the way out (the environment's ``finalize``): besides
``<>&"'`` it makes `` ` ``, ``$``, ``\\`` and braces inert, so names, addresses and
reasons from uploaded data stay text. Only two values are marked safe: the figures'
``data:`` URIs are built here, and the interactive map is escaped here for the
``srcdoc`` attribute.

The interactive map is *passed in* (``map_html``: a complete standalone folium page,
e.g. ``standalone_html(build_map(map_data(job), height=REPORT_MAP_HEIGHT_PX))`` from
:mod:`geo.webmap`) and shown in a sandboxed ``<iframe srcdoc>`` exactly as tall as the
map (:func:`map_frame_height`); the callers build it (the app's 报告 page, ``yizhan
report``). Without ``map_html`` the page shows the static overview map instead.
"""

from __future__ import annotations

import base64
import html as _html
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import jinja2
from markupsafe import Markup

from geo.io.htmlsafe import esc
from geo.reports.data import ReportData
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
from geo.vocab import label, mode_term

TEMPLATE: Final = "report.html.j2"
SCROLL_ROWS: Final = 30  # longer tables scroll in a box
#: the height callers build the report's map at (``build_map(..., height=…)``); the
#: frame takes the height the map page declares, so a taller map is never clipped
REPORT_MAP_HEIGHT_PX: Final = 640
_MAP_HEIGHT: Final = re.compile(r"#map_[0-9a-f]+\s*\{[^}]*?\bheight:\s*([0-9.]+)px")


def _finalize(value: Any) -> Any:
    """Every ``{{ value }}``: escaped with :func:`esc` unless marked safe here."""
    return value if isinstance(value, Markup) else Markup(esc(value))


_ENV: Final = jinja2.Environment(
    loader=jinja2.PackageLoader("geo.reports", "templates"), autoescape=True,
    finalize=_finalize, undefined=jinja2.StrictUndefined, trim_blocks=True,
    lstrip_blocks=True, keep_trailing_newline=True)


@dataclass(frozen=True)
class _Image:
    src: Markup  # a data: URI
    alt: str
    caption: str = ""


@dataclass(frozen=True)
class _Table:
    header: list[str]
    rows: list[tuple[bool, list[tuple[str, bool]]]]  # (shaded, [(text, numeric)])
    note: str
    scroll: bool


def _image(png: bytes, alt: str, caption: str = "") -> _Image:
    b64 = base64.b64encode(png).decode("ascii")
    return _Image(Markup(f"data:image/png;base64,{b64}"), alt, caption)


def _table(table: DisplayTable, data: ReportData, *, scroll: bool = False) -> _Table:
    numeric = [c.numeric for c in table.columns]
    rows = [(bool(hl), list(zip(cells, numeric, strict=True)))
            for hl, cells in zip(table.highlight, table.cells(data.lang), strict=True)]
    return _Table([c.label for c in table.columns], rows, table.note, scroll)


def html_report(data: ReportData, *, map_html: str | None = None,
                figures: dict[str, bytes] | None = None) -> str:
    """The report page as a string."""
    figs = figures if figures is not None else all_figures(data)
    return _ENV.get_template(TEMPLATE).render(
        **_page(data, figs, map_html), **_tables(data, figs))


def map_frame_height(map_html: str | None) -> int:
    """The height (px) of the frame for ``map_html``: the height its folium map declares
    (``#map_… {height: …px}``), else :data:`REPORT_MAP_HEIGHT_PX`."""
    m = _MAP_HEIGHT.search(map_html or "")
    return math.ceil(float(m.group(1))) if m else REPORT_MAP_HEIGHT_PX


def _page(data: ReportData, figs: dict[str, bytes], map_html: str | None) -> dict[str, Any]:
    """The cover, headline figures, map, charts, method notes and footer."""
    t = data.t
    lang = data.lang
    return {
        "t": t,
        "lang_attr": "zh-CN" if lang == "zh" else "en",
        "data": data,
        "disclaimer_title": disclaimer_title(data),
        "disclaimer": disclaimer(data),
        "cards": [(f.label, fmt_figure(f, lang), f.note) for f in data.headline],
        "by_type_header": [label("type", lang), label("stations_total", lang),
                           t("接入路网", "On the network")],
        "by_type": [(r.label, f"{r.total:,}", f"{r.used:,}") for r in data.by_type.itertuples()],
        # the map page, escaped once for the attribute (the browser unescapes it)
        "srcdoc": Markup(_html.escape(map_html, quote=True)) if map_html else None,
        "map_height": map_frame_height(map_html),
        "overview": _image(figs["overview"], t("覆盖总览", "Coverage overview")),
        "town_share": _image(figs["town_share"], t("各镇街覆盖率", "Covered share by town")),
        "walk_time": _image(figs["walk_time"],
                            t(f"{mode_term(data.mode, 'time', 'zh')}分布",
                              f"{mode_term(data.mode, 'time', 'en')}s"),
                            walk_time_caption(data)),
        "method_notes": method_notes(data),
        "generated": data.generated_at.strftime("%Y-%m-%d %H:%M UTC"),
    }


def _tables(data: ReportData, figs: dict[str, bytes]) -> dict[str, Any]:
    """The towns (with the maps of the worst), zones and stations sections."""
    tables = display_tables(data)
    towns, stations = tables["towns"], tables["stations"]
    worst = []
    for _, r in data.worst.iterrows():
        key = f"town:{r['town_id']}"
        if key in figs:
            cap = worst_caption(data, r)
            worst.append(_image(figs[key], cap, cap))
    zones, bases = tables.get("zones"), tables.get("bases")
    beyond = tables.get("bases_beyond")
    nav = [("cover", data.t("封面", "Cover")), ("headline", data.t("核心指标", "Headline figures")),
           ("map", data.t("地图", "Map")), ("charts", data.t("图表", "Charts")),
           ("towns", towns.title), *([("zones", zones.title)] if zones is not None else []),
           ("stations", stations.title),
           *([("bases", bases.title)] if bases is not None else []),
           ("method", data.t("方法说明", "Method"))]
    return {
        "nav": nav,
        "towns_title": towns.title,
        "below_text": below_text(data),
        "towns": _table(towns, data, scroll=len(towns.frame) > SCROLL_ROWS),
        "worst_title": worst_title(data, len(worst)),
        "worst": worst,
        "zones_title": zones.title if zones is not None else "",
        "zones": _table(zones, data) if zones is not None else None,
        "stations_title": stations.title,
        "flagged_text": flagged_text(data),
        "stations": _table(stations, data, scroll=len(stations.frame) > SCROLL_ROWS),
        "bases_title": bases.title if bases is not None else "",
        "bases_text": bases_text(data),
        "bases": _table(bases, data) if bases is not None else None,
        "bases_beyond_title": beyond.title if beyond is not None else "",
        "bases_beyond": _table(beyond, data) if beyond is not None else None,
    }


def write_html(data: ReportData, path: str | os.PathLike[str], *,
               map_html: str | None = None) -> Path:
    """Write the HTML report to ``path``."""
    out = Path(path)
    out.write_text(html_report(data, map_html=map_html), encoding="utf-8")
    return out
