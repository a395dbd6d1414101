"""报告 Report — first the reports reviewers file (``yizhan report``: PDF, Excel, then
GeoPackage and HTML), then the raw files ``yizhan coverage`` writes and a standalone
map."""

from __future__ import annotations

import functools

import streamlit as st

from geo.pipeline.job import CoverageJob
from geo.reports.data import DEFAULT_TOWN_THRESHOLD, DEFAULT_WORST_TOWNS, ReportOptions
from geo.reports.html import REPORT_MAP_HEIGHT_PX
from geo.reports.write import REPORT_MIME, report_bytes, report_file_name
from geo.webmap.maps import build_map
from geo.webmap.offline import standalone_html
from ui.boot import require_entrypoint
from ui.data import map_data_for, outputs_for, outputs_zip
from ui.page import require_job
from ui.sidebar import render_sidebar
from ui.state import tr

require_entrypoint()
state = render_sidebar()
st.title(tr("报告", "Report"))
handle = require_job()
files = outputs_for(handle)
STANDALONE_MAP_HEIGHT_PX = 800  # the downloadable map page; the report's map is shorter


@st.cache_data(show_spinner=False, max_entries=8)
def _html(job_key: str, lang: str, tiles: str, height: int) -> bytes:
    fmap = build_map(map_data_for(handle, lang), lang=lang, tiles=tiles, height=height)
    return standalone_html(fmap).encode("utf-8")


# ---- reports reviewers can hand in (the same as `yizhan report --format …`)
st.subheader(tr("报告文件（PDF / Excel / GeoPackage / HTML）",
                "Reports (PDF / Excel / GeoPackage / HTML)"))
st.caption(tr("与命令行 yizhan report 生成的报告相同：封面（数据版本、参数）、核心指标、"
              "地图与图表、薄弱镇街排名、站点明细（含重叠复核标记）、骑手友好场景。"
              "点击按钮时生成。",
              "The same reports as `yizhan report`: cover (data versions, parameters), "
              "headline figures, maps and charts, ranked towns, per-station table (with "
              "overlap review flags), rider zones. Built when you click."))
c1, c2 = st.columns(2)
threshold_pct = c1.slider(tr("镇街覆盖率阈值", "Town threshold"), 0, 100,
                          int(DEFAULT_TOWN_THRESHOLD * 100), step=5, format="%d%%",
                          key="rep_threshold")
worst_n = c2.number_input(tr("单独成图的最薄弱镇街数", "Maps of the most under-served towns"),
                          min_value=0, max_value=10, value=DEFAULT_WORST_TOWNS, step=1,
                          key="rep_worst")
report_options = ReportOptions(lang=state.lang, town_threshold=threshold_pct / 100.0,
                               worst_towns=int(worst_n))
report_map_html = _html(handle.key, state.lang, state.tiles,
                        REPORT_MAP_HEIGHT_PX).decode("utf-8")


def _report(fmt: str, job: CoverageJob, options: ReportOptions, map_html: str | None) -> bytes:
    # runs when the button is clicked (a deferred download, outside the script run):
    # plain library code only, no st.* calls
    return report_bytes(job, fmt, options=options, map_html=map_html)


report_labels = {  # what reviewers file first: the PDF and the Excel workbook
    "pdf": tr("PDF 报告（含地图与图表）", "PDF report (maps and charts)"),
    "xlsx": tr("Excel 报告（.xlsx）", "Excel report (.xlsx)"),
    "gpkg": tr("GeoPackage（.gpkg，WGS-84）", "GeoPackage (.gpkg, WGS-84)"),
    "html": tr("HTML 报告（含交互地图）", "HTML report (interactive map)"),
}
for col, fmt in zip(st.columns(len(report_labels)), report_labels, strict=True):
    col.download_button(
        report_labels[fmt],
        functools.partial(_report, fmt, handle.job, report_options,
                          report_map_html if fmt == "html" else None),
        report_file_name(handle.job, fmt), REPORT_MIME[fmt], key=f"dl_report_{fmt}",
        on_click="ignore", type="primary" if fmt in ("pdf", "xlsx") else "secondary")

# ---- the raw files of `yizhan coverage` (for GIS work and re-use), after the reports
st.subheader(tr("原始数据文件", "Raw output files"))
st.caption(tr("与命令行 yizhan coverage 写出的文件相同。",
              "The same files as `yizhan coverage` writes."))
descriptions = {
    "summary.json": tr("汇总：参数、输入（含 sha256）、路网、站点、覆盖指标、排名规则、耗时",
                       "Summary: parameters, inputs (with sha256), network, stations, "
                       "coverage figures, ranking rule, timings"),
    "stations.csv": tr("每一输入行：接入 / 未接入路网 / 被拒绝，吸附距离与原因",
                       "Every input row: used / off-network / rejected, snap distance, reason"),
    "service_areas.geojson": tr("各站点服务圈（WGS-84）", "Per-station service areas (WGS-84)"),
    "coverage.geojson": tr("服务圈合并范围（WGS-84）", "Union of the service areas (WGS-84)"),
    "towns.csv": tr("镇街指标与薄弱排名", "Town figures and the under-served ranking"),
    "towns.geojson": tr("镇街指标（面，WGS-84）", "Town figures (polygons, WGS-84)"),
    "zones.csv": tr("骑手友好场景指标", "Rider-friendly zone figures"),
}
mimes = {".json": "application/json", ".csv": "text/csv", ".geojson": "application/geo+json"}
for name, data in files.items():
    col1, col2 = st.columns([1, 3])
    col1.download_button(name, data, name,
                         mimes.get(name[name.rfind("."):], "application/octet-stream"),
                         key=f"dl_{name}")
    col2.caption(descriptions.get(name, ""))

st.download_button(tr("全部下载（ZIP）", "Download all (ZIP)"), outputs_zip(files),
                   "yizhan_coverage.zip", "application/zip", key="dl_zip")
st.download_button(tr("独立 HTML 地图（离线可用）", "Standalone HTML map (works offline)"),
                   _html(handle.key, state.lang, state.tiles, STANDALONE_MAP_HEIGHT_PX),
                   "yizhan_map.html", "text/html", key="dl_html")

