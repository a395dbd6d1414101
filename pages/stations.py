"""站点 Stations — upload a station list, check it, compare its coverage."""

from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from geo.job import summary_dict
from ui.boot import require_entrypoint
from ui.data import (
    combine,
    current_region,
    error_text,
    excel_sheets,
    job_for,
    parse_station_upload,
)
from ui.maps import compare_map
from ui.offline import localize
from ui.page import fmt_pct, md_text, require_job
from ui.sidebar import render_sidebar
from ui.state import StationList, tr

require_entrypoint()
state = render_sidebar()
st.title(tr("站点", "Stations"))
st.caption(tr("上传本区域的站点名单（CSV / XLSX / GeoJSON，WGS-84 经纬度），预览、核对被拒绝的行，"
              "并与当前名单比较覆盖。", "Upload a station list for this region (CSV / XLSX / "
              "GeoJSON, WGS-84 lon/lat), preview it, check the rejected rows and compare its "
              "coverage with the current list."))

region = current_region(state)
if region is None:
    st.info(tr("请先在左侧选择区域。", "Choose a region in the sidebar first."))
    st.stop()

upload = st.file_uploader(tr("站点名单", "Station list"),
                          type=["csv", "xlsx", "geojson", "json"], key="station_upload")
mode = st.radio(tr("方式", "Mode"), ["replace", "add"], horizontal=True,
                format_func=lambda k: tr("替换当前名单", "Replace the current list")
                if k == "replace" else tr("追加到当前名单", "Add to the current list"),
                key="station_mode")
if upload is not None:
    data = upload.getvalue()
    sheet = None
    if upload.name.lower().endswith(".xlsx"):
        sheets = excel_sheets(data)
        if len(sheets) > 1:
            sheet = st.selectbox(tr("工作表", "Sheet"), sheets, key="station_sheet")
    key = hashlib.sha256(data).hexdigest()[:16] + f"|{mode}|{sheet or ''}"
    if state.candidate is None or state.candidate.key != key:
        try:
            table = parse_station_upload(upload.name, data, sheet=sheet)
        except Exception as exc:
            st.error(error_text(exc))
            st.stop()
        state.candidate = StationList(key=key, file_name=upload.name, table=table, mode=mode)
else:
    state.candidate = None

cand = state.candidate
if cand is None:
    if state.stations_in_use is not None:
        used_name = md_text(state.stations_in_use.file_name)
        st.success(tr(f"本会话正在使用上传的名单：{used_name}",
                      f"This session uses the uploaded list {used_name}"))
        if st.button(tr("恢复区域原有名单", "Back to the region's own list"), key="st_reset"):
            state.stations_in_use = None
            st.rerun()
    handle = require_job()
    st.subheader(tr("当前名单", "Current list"))
    st.dataframe(handle.job.coverage.station_table(), hide_index=True,
                 width="stretch")
    st.stop()

t = cand.table
a, b, c = st.columns(3)
a.metric(tr("读入行数", "Rows in"), t.rows_in)
b.metric(tr("接受", "Accepted"), len(t.accepted))
c.metric(tr("拒绝", "Rejected"), len(t.rejected))
if len(t.rejected):
    st.warning(tr("以下行被拒绝（原因见右列）：",
                  "These rows were rejected (reason on the right):"))
    st.dataframe(t.rejected, hide_index=True, width="stretch")
    st.download_button(tr("下载被拒绝的行", "Download rejected rows"),
                       t.rejected.to_csv(index=False).encode("utf-8-sig"), "rejected.csv",
                       "text/csv", key="dl_rejected")
if len(t.accepted) == 0:
    st.error(tr("没有可用的站点。", "No usable station in this file."))
    st.stop()

try:
    before = require_job()
    new_stations = combine(region.stations, cand)
    after = job_for(region, state.params, "cand:" + cand.key, new_stations, state)
except Exception as exc:
    st.error(error_text(exc))
    st.stop()

sb, sa = summary_dict(before.job), summary_dict(after.job)
st.subheader(tr("覆盖比较", "Coverage: before → after"))
m1, m2, m3, m4 = st.columns(4)
m1.metric(tr("覆盖街道", "Streets within reach"), fmt_pct(sa["covered_length_share"]),
          delta=f"{(sa['covered_length_share'] - sb['covered_length_share']) * 100:+.1f} pp")
if sa["covered_population_share"] is not None and sb["covered_population_share"] is not None:
    dpop = (sa["covered_population_share"] - sb["covered_population_share"]) * 100
    m2.metric(tr("覆盖人口", "Population covered"), fmt_pct(sa["covered_population_share"]),
              delta=f"{dpop:+.1f} pp")
m3.metric(tr("服务圈面积", "Service-area extent"), f"{sa['covered_area_m2'] / 1e6:,.2f} km²",
          delta=f"{(sa['covered_area_m2'] - sb['covered_area_m2']) / 1e6:+.2f} km²")
m4.metric(tr("接入路网的站点", "Stations on the network"), sa["stations"]["used"],
          delta=sa["stations"]["used"] - sb["stations"]["used"])
fmap = localize(compare_map(before.job, after.job, lang=state.lang, tiles=state.tiles))
st_folium(fmap, height=520, use_container_width=True, returned_objects=[], key="cmp_map")
st.caption(tr("蓝色：新名单的服务圈；绿色：新增覆盖；红色：失去覆盖；点：新名单中的站点。",
              "Blue: service area of the new list; green: gained; red: lost; dots: its "
              "stations."))
tb = pd.DataFrame(before.job.towns.towns.drop(columns="geometry"))[["town_id", "name",
                                                                    "covered_length_share"]]
ta = pd.DataFrame(after.job.towns.towns.drop(columns="geometry"))[["town_id",
                                                                   "covered_length_share"]]
diff = tb.merge(ta, on="town_id", suffixes=("_before", "_after"))
diff["change"] = diff["covered_length_share_after"] - diff["covered_length_share_before"]
st.dataframe(diff.drop(columns="town_id").sort_values("change", ascending=False),
             hide_index=True, width="stretch")
if st.button(tr("在本会话中采用此名单", "Use this list in this session"), type="primary",
             key="st_use"):
    state.stations_in_use = cand
    st.success(md_text(tr(f"已采用 {cand.file_name}", f"Now using {cand.file_name}")))
