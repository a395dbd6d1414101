"""The HTML report: one standalone page (no external requests) with the cover, the
headline figures, the interactive map, the charts, the ranked towns with their maps,
the zones, the per-station table and the method notes.

The interactive map is *passed in* (``map_html``: a complete standalone folium page,
e.g. ``standalone_html(build_map(map_data(job)))`` from :mod:`geo.webmap`) and
shown in a sandboxed ``<iframe srcdoc>``. The folium code lives in the app's ``ui``
package, and the library never imports ``ui``: the callers that have it — the app's
报告 page and the ``yizhan report`` command (:mod:`geo.cli.report`, which imports
``ui`` lazily) — build the map and hand it over. Without ``map_html`` the page shows
the static overview map instead.

Every value that comes from input data (names, addresses, reasons…) is escaped with
:func:`geo.io.htmlsafe.esc`.
"""

from __future__ import annotations

import base64
import html as _html
import os
from pathlib import Path
from typing import Final

from geo.io.htmlsafe import esc
from geo.reports.data import (
    DisplayTable,
    ReportData,
    display_tables,
    fmt_cell,
    fmt_figure,
    method_notes,
)
from geo.reports.data import (
    disclaimer as report_disclaimer,
)
from geo.reports.figures import all_figures

CSS: Final = """
body{font-family:"Noto Sans CJK SC","Noto Sans SC","PingFang SC","Microsoft YaHei",
 "Source Han Sans SC",sans-serif;margin:0;color:#222;background:#f6f8fa;line-height:1.5}
main{max-width:1180px;margin:0 auto;padding:18px 24px 40px;background:#fff}
h1{font-size:26px;margin:10px 0 2px;color:#1f4e79}
h2{font-size:20px;margin:30px 0 10px;color:#1f4e79;border-bottom:2px solid #dde8f3}
h3{font-size:16px;margin:18px 0 8px;color:#1f4e79}
.sub{color:#555;margin:0 0 12px;font-size:16px}
.warn{background:#fff4d6;border:1px solid #e0a800;color:#7a4b00;padding:8px 12px;
 border-radius:4px;margin:12px 0}
nav a{margin-right:14px;color:#1f4e79}
table{border-collapse:collapse;font-size:13px;margin:6px 0 4px;width:100%}
th{background:#dde8f3;text-align:left;padding:4px 6px;border-bottom:2px solid #1f4e79;
 position:sticky;top:0}
td{padding:3px 6px;border-bottom:1px solid #ddd;vertical-align:top}
td.n{text-align:right;white-space:nowrap}
tr.hl td{background:#fde2e1}
table.kv td:first-child{font-weight:bold;width:30%}
.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{flex:1 1 260px;border:1px solid #dde8f3;border-radius:6px;padding:10px 12px;
 background:#f3f7fb}
.card .v{font-size:26px;font-weight:bold;color:#1f4e79}
.card .l{font-weight:bold}
.card .note{color:#555;font-size:12px}
.note{color:#555;font-size:12px;margin:2px 0 10px}
figure{margin:10px 0 18px;text-align:center}
figure img{max-width:100%;height:auto}
figcaption{color:#555;font-size:12px}
iframe.map{width:100%;height:660px;border:1px solid #ccc}
.scroll{max-height:640px;overflow:auto;border:1px solid #eee}
footer{color:#777;font-size:12px;margin-top:30px}
"""


def _img(png: bytes, alt: str) -> str:
    return (f'<img src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}" '
            f'alt="{esc(alt)}">')


def _kv(rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in rows)
    return f'<table class="kv">{body}</table>'


def _table(table: DisplayTable, lang: str, *, scroll: bool = False) -> str:
    head = "".join(f"<th>{esc(c.label)}</th>" for c in table.columns)
    numeric = [c.kind not in ("text", "flag", "bool") for c in table.columns]
    rows = []
    for hl, (_, r) in zip(table.highlight, table.frame.iterrows(), strict=True):
        cells = "".join(
            f'<td class="n">{esc(fmt_cell(r.get(c.key), c.kind, lang))}</td>' if num
            else f"<td>{esc(fmt_cell(r.get(c.key), c.kind, lang))}</td>"
            for c, num in zip(table.columns, numeric, strict=True))
        rows.append(f'<tr class="hl">{cells}</tr>' if hl else f"<tr>{cells}</tr>")
    html = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    if scroll:
        html = f'<div class="scroll">{html}</div>'
    if table.note:
        html += f'<p class="note">{esc(table.note)}</p>'
    return html


def html_report(data: ReportData, *, map_html: str | None = None,
                figures: dict[str, bytes] | None = None) -> str:
    """The report page as a string."""
    t = data.t
    lang = data.lang
    figs = figures if figures is not None else all_figures(data)
    tables = display_tables(data)
    sections: list[str] = []
    nav = [("cover", t("封面", "Cover")), ("headline", t("核心指标", "Headline figures")),
           ("map", t("地图", "Map")), ("charts", t("图表", "Charts")),
           ("towns", tables["towns"].title)]
    if "zones" in tables:
        nav.append(("zones", tables["zones"].title))
    nav += [("stations", tables["stations"].title), ("method", t("方法说明", "Method"))]

    parts = [f"<h1>{esc(data.title)}</h1>",
             f'<p class="sub">{esc(data.job.region_name)}</p>']
    disc = report_disclaimer(data)
    if disc:
        parts.append(f'<div class="warn"><b>{esc(t("示范区（合成数据）", "Synthetic demo data"))}'
                     f"</b> — {esc(disc)}</div>")
    parts.append("<nav>" + "".join(f'<a href="#{k}">{esc(v)}</a>' for k, v in nav) + "</nav>")
    sections.append("".join(parts))

    sections.append(
        f'<section id="cover"><h2>{esc(t("封面信息", "Report"))}</h2>{_kv(data.cover)}'
        f'<h3>{esc(t("数据版本", "Data versions"))}</h3>{_kv(data.versions)}'
        f'<h3>{esc(t("参数", "Parameters"))}</h3>{_kv(data.parameters)}</section>')

    cards = "".join(
        f'<div class="card"><div class="l">{esc(f.label)}</div>'
        f'<div class="v">{esc(fmt_figure(f, lang))}</div>'
        f'<div class="note">{esc(f.note)}</div></div>' for f in data.headline)
    by_type = "".join(f"<tr><td>{esc(r.label)}</td><td class=n>{r.total:,}</td>"
                      f"<td class=n>{r.used:,}</td></tr>" for r in data.by_type.itertuples())
    sections.append(
        f'<section id="headline"><h2>{esc(t("核心指标", "Headline figures"))}</h2>'
        f'<div class="cards">{cards}</div>'
        f'<h3>{esc(t("各类型站点", "Stations by type"))}</h3><table><thead><tr>'
        f'<th>{esc(t("类型", "Type"))}</th><th>{esc(t("站点数", "Stations"))}</th>'
        f'<th>{esc(t("接入路网", "On the network"))}</th></tr></thead>'
        f"<tbody>{by_type}</tbody></table></section>")

    map_note = t("交互地图：可缩放、切换图层、点击站点查看详情。",
                 "Interactive map: zoom, toggle layers, click a station for details.")
    if map_html:
        map_part = (f'<iframe class="map" sandbox="allow-scripts" title="'
                    f'{esc(t("交互地图", "Interactive map"))}" srcdoc="'
                    f'{_html.escape(map_html, quote=True)}"></iframe>'
                    f'<p class="note">{esc(map_note)}</p>')
    else:
        map_part = (f'<figure>{_img(figs["overview"], t("覆盖总览", "Coverage overview"))}'
                    f"<figcaption>{esc(t('覆盖总览（静态图）', 'Coverage overview (static)'))}"
                    "</figcaption></figure>")
    sections.append(f'<section id="map"><h2>{esc(t("地图", "Map"))}</h2>{map_part}</section>')

    walk_caption = t("按街道长度加权：每段街道到最近站点的步行时间。",
                     "Weighted by street length: walk time from each street point to the "
                     "nearest station.")
    sections.append(
        f'<section id="charts"><h2>{esc(t("图表", "Charts"))}</h2>'
        f'<figure>{_img(figs["town_share"], t("各镇街覆盖率", "Covered share by town"))}'
        f'</figure><figure>{_img(figs["walk_time"], t("步行时间分布", "Walk times"))}'
        f"<figcaption>{esc(walk_caption)}"
        "</figcaption></figure>"
        + (f'<figure>{_img(figs["overview"], t("覆盖总览", "Coverage overview"))}</figure>'
           if map_html else "") + "</section>")

    towns = tables["towns"]
    unit = t("分析网格", "analysis cells") if data.job.towns.is_grid else t("镇街", "towns")
    below = data.below
    worst_html = []
    for _, r in data.worst.iterrows():
        key = f"town:{r['town_id']}"
        if key in figs:
            cap = t(f"第{int(r['rank'])}名 {r['name']}：{r['reason_zh']}",
                    f"Rank {int(r['rank'])} {r['name']}: {r['reason_en']}")
            worst_html.append(f"<figure>{_img(figs[key], cap)}<figcaption>{esc(cap)}"
                              "</figcaption></figure>")
    thr = data.options.town_threshold
    below_txt = t(f"覆盖率低于{thr:.0%}的{unit}：{len(below)}个（共{len(data.towns)}个）。",
                  f"{unit.capitalize()} below {thr:.0%} covered: {len(below)} of "
                  f"{len(data.towns)}.")
    worst_title = t(f"最薄弱的{len(worst_html)}个{unit}",
                    f"The {len(worst_html)} most under-served {unit}")
    sections.append(
        f'<section id="towns"><h2>{esc(towns.title)}</h2>'
        + "".join(f"<p>{esc(n)}</p>" for n in data.notes)
        + f"<p>{esc(below_txt)}</p>"
        + _table(towns, lang, scroll=len(towns.frame) > 30)
        + (f"<h3>{esc(worst_title)}</h3>"
           + "".join(worst_html) if worst_html else "")
        + "</section>")

    if "zones" in tables:
        sections.append(f'<section id="zones"><h2>{esc(tables["zones"].title)}</h2>'
                        f"{_table(tables['zones'], lang)}</section>")
    st = tables["stations"]
    n_flag = int(data.stations["review_flag"].sum()) if "review_flag" in data.stations else 0
    flag_txt = t(f"建议复核的站点：{n_flag}个。", f"Stations flagged for review: {n_flag}.")
    sections.append(
        f'<section id="stations"><h2>{esc(st.title)}</h2>'
        f"<p>{esc(flag_txt)}</p>"
        f"{_table(st, lang, scroll=len(st.frame) > 30)}</section>")
    sections.append(
        f'<section id="method"><h2>{esc(t("方法说明", "Method"))}</h2><ul>'
        + "".join(f"<li>{esc(n)}</li>" for n in method_notes(data)) + "</ul></section>")
    sections.append(f"<footer>{esc(t('驿站圈 Yizhan', 'Yizhan'))} · "
                    f"{esc(data.generated_at.strftime('%Y-%m-%d %H:%M UTC'))}</footer>")
    lang_attr = "zh-CN" if lang == "zh" else "en"
    return (f'<!DOCTYPE html>\n<html lang="{lang_attr}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(data.title)} · {esc(data.job.region_name)}</title>"
            f"<style>{CSS}</style></head><body><main>{''.join(sections)}</main></body>"
            "</html>\n")


def write_html(data: ReportData, path: str | os.PathLike[str], *,
               map_html: str | None = None) -> Path:
    """Write the HTML report to ``path``."""
    out = Path(path)
    out.write_text(html_report(data, map_html=map_html), encoding="utf-8")
    return out
