"""报告 Report — download what ``yizhan coverage`` writes, and a standalone map."""

from __future__ import annotations

import streamlit as st

from ui.data import map_data_for, outputs_for, outputs_zip
from ui.maps import build_map
from ui.offline import standalone_html
from ui.page import require_job
from ui.sidebar import render_sidebar
from ui.state import tr

state = render_sidebar()
st.title(tr("报告", "Report"))
handle = require_job()
files = outputs_for(handle)

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
                   "yizhan_coverage.zip", "application/zip", key="dl_zip", type="primary")


@st.cache_data(show_spinner=False, max_entries=8)
def _html(job_key: str, lang: str, tiles: str) -> bytes:
    fmap = build_map(map_data_for(handle, lang), lang=lang, tiles=tiles, height=800)
    return standalone_html(fmap).encode("utf-8")


st.download_button(tr("独立 HTML 地图（离线可用）", "Standalone HTML map (works offline)"),
                   _html(handle.key, state.lang, state.tiles), "yizhan_map.html",
                   "text/html", key="dl_html")
