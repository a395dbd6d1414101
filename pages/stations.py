"""站点 Stations — upload a city's station list, check it, compare, store it as a version."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from geo.pipeline.fit import region_fit
from geo.pipeline.job import summary_dict
from geo.stations.validation import StationValidation
from geo.webmap.maps import compare_map
from geo.webmap.offline import localize
from ui.auth import login_panel, open_store
from ui.boot import require_entrypoint
from ui.config import TABLE_UPLOAD_MB
from ui.data import (
    base_stations,
    combine,
    current_region,
    error_text,
    job_for,
    stored_stations,
)
from ui.page import fmt_pct, job_or_message, md_text
from ui.sidebar import render_sidebar
from ui.state import StationList, tr
from ui.stations import (
    UPLOAD_TYPES,
    choose_crs,
    choose_mapping,
    history,
    parse_upload,
    save_version,
    show_diff,
    show_validation,
    target_city,
    validate,
)
from ui.tables import display_table

require_entrypoint()
state = render_sidebar()
st.title(tr("站点", "Stations"))
st.caption(tr("上传城市工会的站点名单（CSV：UTF-8/GBK/GB18030；XLSX；GeoJSON；GeoPackage；"
              "Shapefile 压缩包），声明坐标系（WGS-84 / GCJ-02 / BD-09），确认列对应关系，"
              "核对被拒绝和疑似重复的行，与当前名单比较，并保存为新版本。",
              "Upload a city union's station list (CSV in UTF-8/GBK/GB18030, XLSX, GeoJSON, "
              "GeoPackage or a zipped Shapefile), declare its coordinate system (WGS-84 / "
              "GCJ-02 / BD-09), confirm the column mapping, review rejected and flagged rows, "
              "compare with the current list and store it as a new version."))

region = current_region(state)
try:
    store = open_store()
except Exception as exc:
    st.error(error_text(exc))
    store = None
account = None
if store is not None:
    with st.container(border=True):
        account = login_panel(state, store)
else:
    st.caption(tr("未配置站点数据库：上传的名单只在本会话中使用。设置环境变量 YIZHAN_DB=文件路径，"
                  "并用 `yizhan users add` 建立账户，即可保存版本。",
                  "No station database configured: uploaded lists are used in this session "
                  "only. Set YIZHAN_DB=path and create accounts with `yizhan users add` to "
                  "store versions."))

tab_names = [tr("上传与核对", "Upload and check")]
if store is not None:
    tab_names.append(tr("版本历史", "Version history"))
tabs = st.tabs(tab_names)


def upload_tab() -> None:
    upload = st.file_uploader(tr("站点名单", "Station list"), type=UPLOAD_TYPES,
                              key="station_upload", max_upload_size=TABLE_UPLOAD_MB)
    if upload is None:
        if state.stations_in_use is not None:
            used_name = md_text(state.stations_in_use.file_name)
            st.success(tr(f"本会话正在使用上传的名单：{used_name}",
                          f"This session uses the uploaded list {used_name}"))
            if st.button(tr("恢复原有名单", "Back to the stored / region list"),
                         key="st_reset"):
                state.stations_in_use = None
                st.rerun()
        if region is None:
            st.info(tr("请先在左侧选择区域。", "Choose a region in the sidebar first."))
            return
        handle = job_or_message()
        if handle is None:
            return
        st.subheader(tr("当前名单", "Current list"))
        st.dataframe(display_table(handle.job.coverage.station_table(), state.lang),
                     hide_index=True, width="stretch")
        return
    name, data = upload.name, upload.getvalue()
    parsed = parse_upload(state, name, data)
    if parsed is None:
        return
    ukey, raw = parsed
    city = target_city(store, account, state) if store is not None else None
    crs = choose_crs(raw, ukey)
    chosen = choose_mapping(raw, ukey)
    if crs is None or chosen is None:
        return
    mapping, default_type = chosen
    validated = validate(state, raw, ukey, mapping=mapping, crs=crs, city=city,
                         default_type=default_type, region=region)
    if validated is None:
        return
    vkey, v = validated
    show_validation(v, state)
    if len(v.accepted) == 0:
        st.error(tr("没有可用的站点。", "No usable station in this file."))
        return
    fit = (region_fit(region.network, v.accepted, max_snap_m=state.params.max_snap_m)
           if region is not None else None)
    if store is not None and city is not None:
        user = account.name if account is not None else None
        info = store.current(city, user=user)
        current = stored_stations(store, info, user=user) if info is not None else None
        show_diff(v, current, tr(f"{city}第 {info.version} 版", f"{city} v{info.version}")
                  if info is not None else tr(f"{city}（尚无版本）", f"{city} (no version yet)"))
        save_version(store, account, v, city)
    elif region is not None and region.stations is not None and fit is not None and fit.fits:
        show_diff(v, region.stations.accepted, tr("区域自带名单", "the region's own list"))
    if region is None or fit is None:
        return
    if not fit.fits:
        st.warning(tr(
            f"这 {fit.n_stations} 个站点都不在当前区域（{md_text(region.label)}）的路网范围内，"
            "无法在此比较覆盖，也不与本区域的名单比较。请在左侧加载该城市已准备的区域，"
            "或上传 / 下载该城市的路网后再比较。",
            f"None of the {fit.n_stations} stations lies on the loaded region's network "
            f"({md_text(region.label)}), so coverage is not compared here and the list is "
            "not diffed against this region's list. Load the city's prepared region in the "
            "sidebar, or upload / download its network, then compare."))
        return
    if fit.n_outside:
        st.info(tr(f"{fit.n_outside} / {fit.n_stations} 个站点在当前区域路网之外，比较时不计入。",
                   f"{fit.n_outside} of {fit.n_stations} stations lie outside the loaded "
                   "region's network and do not count in the comparison."))
    compare(v, vkey)


def compare(v: StationValidation, vkey: str) -> None:
    modes = {"replace": tr("替换当前名单", "Replace the current list"),
             "add": tr("追加到当前名单", "Add to the current list")}
    mode = st.radio(tr("本会话中的用法", "Use in this session"), list(modes), horizontal=True,
                    format_func=modes.__getitem__, key="station_mode")
    cand = StationList(key=f"{vkey}|{mode}",
                       file_name=v.raw.name, table=v.to_layer_table(), mode=mode)
    before = job_or_message()
    if before is None:
        return
    try:
        base_key, base = base_stations(region, state)
        after = job_for(region, state.params, f"cand:{base_key}+{cand.key}",
                        combine(base, cand), state)
    except Exception as exc:
        st.info(tr("无法在当前区域上比较覆盖：", "Coverage cannot be compared on this region: ")
                + error_text(exc))
        return
    sb, sa = summary_dict(before.job), summary_dict(after.job)
    st.subheader(tr("覆盖比较", "Coverage: before → after"))
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(tr("覆盖街道", "Streets within reach"), fmt_pct(sa["covered_length_share"]),
              delta=f"{(sa['covered_length_share'] - sb['covered_length_share']) * 100:+.1f} pp")
    if (sa["covered_population_share"] is not None
            and sb["covered_population_share"] is not None):
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
    tb = pd.DataFrame(before.job.towns.towns.drop(columns="geometry"))[
        ["town_id", "name", "covered_length_share"]]
    ta = pd.DataFrame(after.job.towns.towns.drop(columns="geometry"))[
        ["town_id", "covered_length_share"]]
    diff = tb.merge(ta, on="town_id", suffixes=("_before", "_after"))
    diff["change"] = diff["covered_length_share_after"] - diff["covered_length_share_before"]
    st.dataframe(display_table(diff.drop(columns="town_id")
                               .sort_values("change", ascending=False), state.lang),
                 hide_index=True, width="stretch")
    if st.button(tr("在本会话中采用此名单", "Use this list in this session"), key="st_use"):
        state.stations_in_use = cand
        st.success(md_text(tr(f"已采用 {cand.file_name}", f"Now using {cand.file_name}")))


with tabs[0]:
    upload_tab()
if store is not None:
    with tabs[1]:
        try:
            history(store, account, state)
        except Exception as exc:
            st.error(error_text(exc))
