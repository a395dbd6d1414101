"""薄弱镇街 Under-served towns — the ranking, why, and the map of one town."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from geo.reports.town_table import (
    SHARE_COLUMNS,
    TOWN_SORTS,
    district_choices,
    download_frame,
    filter_sort,
    headers,
    reason_width_px,
    screen_frame,
    sort_label,
    towns_csv,
    towns_xlsx,
)
from geo.schema import STATION_TYPES
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
lang = state.lang  # a closure's language: format_func may run outside the script run

st.caption(md_text(report.ranking_rule_zh if state.lang == "zh" else report.ranking_rule_en))
if report.note_en:
    st.info(report.note_zh if state.lang == "zh" else report.note_en)

districts = district_choices(towns)
picked = st.multiselect(tr("按区县筛选", "Filter by district"), districts, key="town_districts",
                        placeholder=tr("全部区县", "All districts"), select_all=False)
sort_by = st.selectbox(tr("排序", "Sort by"), list(TOWN_SORTS),
                       format_func=lambda k: sort_label(k, lang), key="town_sort")
towns = filter_sort(towns, districts=picked, sort_by=sort_by)

minutes = job.params.walk_time_min
h = headers(towns, report.demand_basis, lang)  # also each column's tooltip
view = screen_frame(towns, walk_time_min=minutes, lang=lang)
pct = "%.1f%%"
# the reason comes fourth, wide enough for one line (the grid's text wrapping is not
# reliable), so it is on screen without scrolling sideways; compact figures follow
config = {c: st.column_config.NumberColumn(format=pct, width=64, help=h[c])
          for c in SHARE_COLUMNS if c in view}
config["covered_length_share"] = st.column_config.ProgressColumn(
    min_value=0.0, max_value=100.0, format=pct, width=90, help=h["covered_length_share"])
config |= {c: st.column_config.NumberColumn(format="localized", width=w, help=h[c])
           for c, w in (("rank", 44), ("population", 72), ("uncovered_demand", 76),
                        ("stations_used", 52)) if c in view}
config |= {c: st.column_config.TextColumn(width=w, help=h[c])
           for c, w in (("name", 80), ("district", 60), ("walk_time_p90_min", 70)) if c in view}
reason = "reason_zh" if lang == "zh" else "reason_en"
config[reason] = st.column_config.TextColumn(width=reason_width_px(view[reason], lang),
                                             help=h[reason])
st.dataframe(view.rename(columns=h), hide_index=True, width="stretch",
             height=min(38 + 35 * len(view), 38 + 35 * 15),
             column_config={h[c]: cfg for c, cfg in config.items()})

# the chart in the table's order (rank or the chosen sort), axes and tooltips labelled
town_col, demand_col = h["name"], h["uncovered_demand"]
chart = pd.DataFrame({town_col: view["name"].to_numpy(),
                      demand_col: view["uncovered_demand"].astype(float).to_numpy()})
st.bar_chart(chart, x=town_col, y=demand_col, horizontal=True, sort=False,
             height=max(160, 34 * len(view) + 60))

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

# the downloads hold the rows shown, in the order shown, under the same headers
shown = download_frame(towns, walk_time_min=minutes, lang=lang)
shown_names = headers(shown, report.demand_basis, lang)
d1, d2 = st.columns(2)
d1.download_button(tr("下载 CSV", "Download CSV"), towns_csv(shown, shown_names), "towns.csv",
                   "text/csv", key="dl_towns_csv")
d2.download_button(tr("下载 Excel", "Download Excel"), towns_xlsx(shown, shown_names, lang),
                   "towns.xlsx",
                   "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                   key="dl_towns_xlsx")
