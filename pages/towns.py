"""薄弱镇街 Under-served towns — the ranking, why, and the map of one town."""

from __future__ import annotations

import io

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from geo.io.sheetsafe import csv_safe, keep_text
from geo.schema import STATION_TYPES
from geo.vocab import label
from geo.webmap.maps import build_map
from geo.webmap.offline import localize
from ui.boot import require_entrypoint
from ui.data import map_data_for
from ui.page import md_text, require_job
from ui.sidebar import render_sidebar
from ui.state import tr

require_entrypoint()
state = render_sidebar()
st.title(tr("薄弱镇街", "Under-served towns"))
handle = require_job()
job = handle.job
report = job.towns
towns = pd.DataFrame(report.towns.drop(columns="geometry"))

st.caption(md_text(report.ranking_rule_zh if state.lang == "zh" else report.ranking_rule_en))
if report.note_en:
    st.info(report.note_zh if state.lang == "zh" else report.note_en)

districts = sorted(d for d in towns["district"].dropna().unique() if str(d).strip())
picked = st.multiselect(tr("按区县筛选", "Filter by district"), districts, key="town_districts",
                        placeholder=tr("全部区县", "All districts"), select_all=False)
if picked:
    towns = towns.loc[towns["district"].isin(picked)]

sort_options = {
    "rank": label("rank", state.lang),
    "covered_length_share": label("covered_length_share", state.lang) + tr("（低→高）",
                                                                        " (low → high)"),
    "uncovered_demand": tr("未覆盖需求（高→低）", "Uncovered demand (high → low)"),
    "name": tr("名称", "Name"),
}
sort_by = st.selectbox(tr("排序", "Sort by"), list(sort_options),
                       format_func=lambda k: sort_options[k], key="town_sort")
towns = towns.sort_values(sort_by, ascending=sort_by != "uncovered_demand", kind="stable")

basis_zh = "人口" if report.demand_basis == "population" else "街道长度（米）"
basis_en = "people" if report.demand_basis == "population" else "street metres"
cols = {
    "rank": label("rank", state.lang), "name": tr("镇街", "Town"),
    "district": label("district", state.lang),
    **{k: label(k, state.lang) for k in ("population", "covered_length_share",
                                         "covered_population_share", "covered_area_share")},
    "uncovered_demand": tr(f"未覆盖需求（{basis_zh}）", f"Uncovered demand ({basis_en})"),
    "stations_used": tr("站点数", "Stations"),
    "walk_time_p90_min": label("walk_time_p90_min", state.lang),
    "reason_zh" if state.lang == "zh" else "reason_en": tr("原因", "Why"),
}
view = towns[list(cols)].rename(columns=cols)
st.dataframe(view, hide_index=True, width="stretch",
             column_config={cols["covered_length_share"]: st.column_config.ProgressColumn(
                 min_value=0.0, max_value=1.0, format="percent")})

chart = towns.set_index("name")[["uncovered_demand"]].rename(
    columns={"uncovered_demand": cols["uncovered_demand"]})
st.bar_chart(chart, horizontal=True)

names = towns["name"].tolist()
if names:
    sel = st.selectbox(tr("查看镇街", "Show town"), names, key="town_pick")
    row = towns.loc[towns["name"] == sel].iloc[0]
    st.markdown(f"**{md_text(sel)}** — "
                + md_text(row["reason_zh"] if state.lang == "zh" else row["reason_en"]))
    counts = {t: int(row.get(f"stations_{t}", 0)) for t in STATION_TYPES}
    st.caption(" · ".join(f"{md_text(t if state.lang == 'zh' else STATION_TYPES[t])} {n}"
                          for t, n in counts.items() if n))
    fmap = localize(build_map(map_data_for(handle, state.lang), lang=state.lang,
                              layers=frozenset({"towns", "union", "stations", "zones"}),
                              tiles=state.tiles, focus_town=str(row["town_id"]), height=460))
    st_folium(fmap, height=460, use_container_width=True, returned_objects=[],
              key="town_map")

full = pd.DataFrame(report.towns.drop(columns="geometry"))
st.download_button(tr("下载 CSV", "Download CSV"),
                   csv_safe(full).to_csv(index=False).encode("utf-8-sig"), "towns.csv", "text/csv",
                   key="dl_towns_csv")
buf = io.BytesIO()
with pd.ExcelWriter(buf, engine="openpyxl") as xw:
    full.to_excel(xw, index=False, sheet_name="towns")
    xw.sheets["towns"].freeze_panes = "A2"
    keep_text(xw.book)
st.download_button(tr("下载 Excel", "Download Excel"), buf.getvalue(), "towns.xlsx",
                   "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                   key="dl_towns_xlsx")
