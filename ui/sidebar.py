"""The sidebar shared by every page: language, region, parameters, basemap."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from geo.errors import InvalidParameterError, YizhanError
from geo.network.modes import EBIKE_SPEED_PRESETS_KMH
from geo.params import (
    LIFE_CIRCLE_PRESETS,
    WALK_SPEED_LABELS,
    WALK_SPEED_PRESETS_KMH,
    CoverageParams,
    walk_budget_m,
)
from geo.vocab import EBIKE_SPEED_LABELS, MODE_LABELS
from geo.webmap.maps import TILE_SOURCES
from ui.auth import open_store, reader
from ui.config import NETWORK_UPLOAD_MB, TABLE_UPLOAD_MB
from ui.data import available_region_folders, regions_dir
from ui.state import AppState, app_state, tr
from ui.text import safe_message

UPLOAD_ROLES = {
    "network": (("路网（.osm.pbf / .osm / .graphml）", "Network (.osm.pbf / .osm / .graphml)"),
                ["pbf", "osm", "graphml", "xml"]),
    "stations": (("站点名单（CSV / GeoJSON）", "Station list (CSV / GeoJSON)"),
                 ["csv", "geojson", "json"]),
    "towns": (("镇街边界（GeoJSON / GPKG / ZIP）", "Towns (GeoJSON / GPKG / ZIP)"),
              ["geojson", "json", "gpkg", "zip"]),
    "zones": (("骑手友好场景（面）", "Rider-friendly zones (polygons)"),
              ["geojson", "json", "gpkg", "zip"]),
    "bases": (("职工疗休养基地（点）", "Convalescence bases (points)"),
              ["geojson", "json", "gpkg", "zip", "csv"]),
    "population": (("人口栅格（GeoTIFF，可选：按人口计覆盖）",
                    "Population raster (GeoTIFF, optional: people covered)"),
                   ["tif", "tiff"]),
}
#: uploads as large as a network (a population GeoTIFF of a city is tens of MB)
_LARGE_ROLES = ("network", "population")


def language_switch(state: AppState) -> None:
    choice = st.sidebar.radio("语言 / Language", ["中文", "English"], horizontal=True,
                              index=0 if state.lang == "zh" else 1, key="lang_radio")
    state.lang = "zh" if choice == "中文" else "en"


def region_picker(state: AppState) -> None:
    st.sidebar.subheader(tr("区域", "Region"))
    kinds = ["demo", "folder", "upload", "online"]
    labels = {
        "demo": tr("示范区（合成数据）", "Demo region (synthetic data)"),
        "folder": tr("已准备的区域（服务器）", "Prepared region (server)"),
        "upload": tr("上传 OSM 文件", "Upload OSM file"),
        "online": tr("从 OpenStreetMap 下载", "Download from OpenStreetMap"),
    }
    kind = st.sidebar.selectbox(tr("数据来源", "Source"), kinds,
                                index=kinds.index(state.region_kind),
                                format_func=lambda k: labels[k], key="region_kind")
    if kind != state.region_kind:
        state.region_kind = kind
        state.stations_in_use = None
    if kind == "folder":
        folders = available_region_folders()
        if not folders:
            st.sidebar.info(tr(f"{regions_dir()} 下没有区域文件夹（可用 yizhan prepare / "
                               "yizhan demo --write-inputs 生成）。",
                               f"No region folder under {regions_dir()} (make one with "
                               "yizhan prepare or yizhan demo --write-inputs)."))
            state.region_folder = None
        else:
            names = [f.name for f in folders]
            cur = Path(state.region_folder).name if state.region_folder else names[0]
            pick = st.sidebar.selectbox(tr("区域文件夹", "Region folder"), names,
                                        index=names.index(cur) if cur in names else 0,
                                        key="region_folder")
            state.region_folder = str(folders[names.index(pick)])
    elif kind == "upload":
        for role, ((zh, en), types) in UPLOAD_ROLES.items():
            f = st.sidebar.file_uploader(
                tr(zh, en), type=types, key=f"up_{role}",
                max_upload_size=NETWORK_UPLOAD_MB if role in _LARGE_ROLES else TABLE_UPLOAD_MB)
            if f is not None:
                state.uploads[role] = (f.name, f.getvalue())
            else:
                state.uploads.pop(role, None)
    elif kind == "online":
        st.sidebar.caption(tr("需要联网访问 Nominatim / Overpass；离线时会给出提示。",
                              "Needs internet access to Nominatim / Overpass; offline you "
                              "get a clear message."))
        place = st.sidebar.text_input(tr("地名", "Place name"),
                                      value=state.online_place or "",
                                      placeholder="福田区, 深圳市, 广东省", key="online_place")
        if st.sidebar.button(tr("下载路网", "Download network"), key="online_go"):
            state.online_place = place.strip() or None


def station_source(state: AppState) -> None:
    """With ``$YIZHAN_DB``: use the region's own list or a city's current stored version."""
    try:
        store = open_store()
        user = reader(state, store)
        cities = store.cities(user=user) if store is not None else []
    except YizhanError as exc:
        st.sidebar.error(safe_message(exc))
        return
    if store is None:
        state.db_city = None
        return
    options = ["", *cities]
    if state.db_city not in options:
        state.db_city = None
    current = {c: store.current(c, user=user) for c in cities}

    labels = {"": tr("区域自带名单", "The region's own list")}
    for c in cities:
        info = current[c]
        labels[c] = (tr(f"数据库：{c}（第 {info.version} 版）", f"Database: {c} (v{info.version})")
                     if info is not None else c)

    pick = st.sidebar.selectbox(tr("站点名单", "Station list"), options,
                                index=options.index(state.db_city or ""),
                                format_func=labels.__getitem__, key="db_city")
    if (pick or None) != state.db_city:
        state.db_city = pick or None


def parameters(state: AppState) -> None:
    st.sidebar.subheader(tr("参数", "Parameters"))
    options = [*LIFE_CIRCLE_PRESETS, "custom"]
    cur = next((k for k, v in LIFE_CIRCLE_PRESETS.items()
                if v.walk_time_min == state.params.walk_time_min), "custom")
    preset = st.sidebar.radio(
        tr("出行时间", "Trip time"), options, index=options.index(cur), horizontal=True,
        format_func=lambda k: ("自定义" if state.lang == "zh" else "custom") if k == "custom"
        else (LIFE_CIRCLE_PRESETS[k].label_zh if state.lang == "zh"
              else LIFE_CIRCLE_PRESETS[k].label_en),
        key="walk_preset")
    if preset == "custom":
        minutes = st.sidebar.number_input(tr("分钟", "Minutes"), min_value=1.0,
                                          max_value=60.0, value=state.params.walk_time_min,
                                          step=1.0, format="%g", key="walk_minutes")
    else:
        minutes = LIFE_CIRCLE_PRESETS[preset].walk_time_min
    modes = ["walk", "ebike", "drive"]
    mode = st.sidebar.radio(
        tr("出行方式", "Travel mode"), modes, horizontal=True,
        index=modes.index(state.params.mode) if state.params.mode in modes else 0,
        format_func=lambda k: MODE_LABELS[k][0 if state.lang == "zh" else 1], key="mode")
    # by car the speeds are per street (maxspeed, else the China class default): no choice
    speed = None if mode == "drive" else _speed_choice(state, mode)
    buffer_m = st.sidebar.slider(tr("街道缓冲宽度（米）", "Street buffer (m)"), 10, 150,
                                 int(state.params.buffer_m), step=5, key="buffer_m")
    try:
        state.params = (
            CoverageParams(mode="drive", walk_time_min=float(minutes), buffer_m=float(buffer_m),
                           max_snap_m=state.params.max_snap_m) if speed is None else
            CoverageParams.for_mode(mode, minutes=float(minutes), speed_kmh=speed,
                                    buffer_m=float(buffer_m),
                                    max_snap_m=state.params.max_snap_m))
    except InvalidParameterError as exc:
        st.sidebar.error(safe_message(exc))
    st.sidebar.caption(_budget_caption(state.params))
    keys = list(TILE_SOURCES)
    state.tiles = st.sidebar.selectbox(
        tr("底图", "Basemap"), keys, index=keys.index(state.tiles),
        format_func=lambda k: TILE_SOURCES[k].label_zh if state.lang == "zh"
        else TILE_SOURCES[k].label_en, key="tiles")
    if TILE_SOURCES[state.tiles].gcj02:
        st.sidebar.warning(tr("高德底图为 GCJ-02 坐标，与 WGS-84 数据偏移约 300–600 米。",
                              "Amap tiles are GCJ-02: they sit ~300–600 m off the WGS-84 "
                              "data."))


def _budget_caption(p: CoverageParams) -> str:
    """The budget in the sidebar: minutes × speed ≈ metres; by car the minutes and the
    speed model (per-edge speeds, one-way streets)."""
    if p.mode == "drive":
        return tr(f"{MODE_LABELS['drive'][0]} {p.walk_time_min:g} 分钟（逐路段车速，单行道按"
                  "允许方向；时间为驶往站点）",
                  f"{MODE_LABELS['drive'][1]}: {p.walk_time_min:g} min (per-edge speeds, "
                  "one-way streets; time to the station)")
    budget = walk_budget_m(p.walk_time_min, p.walk_speed_kmh)
    return tr(f"{MODE_LABELS[p.mode][0]} {p.walk_time_min:g} 分钟 × {p.walk_speed_kmh:g} km/h ≈ "
              f"{budget:,.0f} 米（沿路网）",
              f"{MODE_LABELS[p.mode][1]}: {p.walk_time_min:g} min × {p.walk_speed_kmh:g} km/h ≈ "
              f"{budget:,.0f} m along the network")


def _speed_choice(state: AppState, mode: str) -> float:
    """The walking-speed or e-bike-speed preset of ``mode`` (km/h)."""
    presets, labels, default, name = (
        (EBIKE_SPEED_PRESETS_KMH, EBIKE_SPEED_LABELS, "standard", ("骑行速度", "E-bike speed"))
        if mode == "ebike" else
        (WALK_SPEED_PRESETS_KMH, WALK_SPEED_LABELS, "adult", ("步行速度", "Walk speed")))
    keys = list(presets)
    cur = next((k for k, v in presets.items() if v == state.params.walk_speed_kmh), default)
    key = st.sidebar.selectbox(
        tr(*name), keys, index=keys.index(cur),
        format_func=lambda k: labels[k][0 if state.lang == "zh" else 1],
        key=f"{mode}_speed" if mode == "ebike" else "walk_speed")
    return presets[key]


def render_sidebar() -> AppState:
    state = app_state()
    language_switch(state)
    region_picker(state)
    station_source(state)
    parameters(state)
    return state
