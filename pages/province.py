"""省级 Province — a ``yizhan batch`` output folder: the cities with their figures, a
choropleth of the cities, and one city's outputs (or its region, opened in the app)."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from geo.batch.view import region_folder_of
from geo.vocab import label, mode_name
from geo.webmap.offline import localize
from geo.webmap.province import province_map
from ui.batch import available_batch_folders, batch_dir, batch_view
from ui.boot import require_entrypoint
from ui.data import regions_dir
from ui.page import fmt_pct, md_text
from ui.sidebar import render_sidebar
from ui.state import tr

require_entrypoint()
state = render_sidebar()
st.title(tr("省级汇总", "Province"))
folders = available_batch_folders()
if not folders:
    st.info(md_text(tr(f"{batch_dir()} 下没有批量计算结果（用 yizhan batch --out 生成，"
                       "或设置 YIZHAN_BATCH_DIR）。",
                       f"No yizhan batch output under {batch_dir()} (make one with "
                       "yizhan batch --out, or set YIZHAN_BATCH_DIR).")))
    st.stop()
names = [f.name for f in folders]
picked = st.selectbox(tr("批量结果", "Batch output"), names, key="batch_folder")
view = batch_view(folders[names.index(picked)])
s = view.summary
cols = st.columns(4)
cols[0].metric(tr("街道覆盖率", "Covered street share"), fmt_pct(s.get("covered_length_share")))
cols[1].metric(tr("城市数", "Cities"), str(len(view.partitions)))
cols[2].metric(tr("失败", "Failed"), str(len(s.get("failed_partitions") or [])))
engine = s.get("engine") or {}
cols[3].metric(tr("计算节点", "Workers"), str(engine.get("workers", "")))
params = s.get("params")
params = params if isinstance(params, dict) else {}
travel = str(params.get("travel_mode", "walk"))
speed_zh = "逐路段车速、单行道按允许方向" if travel == "drive" else \
    f"{params.get('walk_speed_kmh', '—')} km/h"
speed_en = "per-edge speeds, one-way streets respected" if travel == "drive" else \
    f"{params.get('walk_speed_kmh', '—')} km/h"
st.caption(tr(f"出行方式：{mode_name(travel, 'zh')} {params.get('walk_time_min', '—')} 分钟 × "
              f"{speed_zh}",
              f"Travel mode: {mode_name(travel, 'en')}, {params.get('walk_time_min', '—')} "
              f"min × {speed_en}"))
if not s.get("complete", True):
    st.warning(tr("部分城市计算失败，原因见下表。", "Some cities failed: see the reasons below."))

lang = state.lang
table = view.partitions.copy()
table["covered_length_share"] = table["covered_length_share"] * 100.0
shown = ["name", "status", "covered_length_share", "covered_length_m", "total_length_m",
         "stations_used", "stations_input", "wall_s", "worker", "reason"]
headers = {c: label("partition_status" if c == "status" else c, lang) for c in shown}
st.dataframe(pd.DataFrame(table[shown]).rename(columns=headers), hide_index=True,
             column_config={headers["covered_length_share"]:
                            st.column_config.ProgressColumn(min_value=0.0, max_value=100.0,
                                                            format="%.1f%%")})

ok = [n for n, st_ in zip(table["name"], table["status"], strict=True) if st_ != "failed"]
city = st.selectbox(tr("查看城市", "City"), ok, key="batch_city") if ok else None
if view.polygons is not None and len(view.polygons):
    fmap = localize(province_map(view.polygons, lang=lang, selected=city))
    st_folium(fmap, height=520, use_container_width=True, returned_objects=[],
              key="province_map")
if city:
    out = view.output_of(city)
    towns_csv = out / "towns.csv"
    if towns_csv.is_file():
        st.subheader(md_text(city))
        st.dataframe(pd.read_csv(towns_csv, dtype=str).head(50), hide_index=True)
    region = region_folder_of(view, city, regions_dir())
    if region is not None and st.button(tr("在地图中打开此城市", "Open this city in the map"),
                                        key="open_city"):
        state.region_kind = "folder"
        state.region_folder = str(region)
        state.stations_in_use = None
        st.switch_page("pages/map.py")
    elif region is None:
        st.caption(md_text(tr(f"该城市的区域文件夹不在 {regions_dir()} 下，仅显示其结果。",
                              f"This city's region folder is not under {regions_dir()}: its "
                              "outputs are shown here.")))
