"""疗休养基地 Convalescence bases — drive time from every town to its nearest base, people
beyond each limit, and a town's routes to its 3 nearest bases."""

from __future__ import annotations

import streamlit as st
from streamlit_folium import st_folium

from geo.access.bases import DEFAULT_LIMITS_MIN
from geo.vocab import label
from geo.webmap.bases import bases_map
from geo.webmap.offline import localize
from ui.bases import bases_access_for, routes_for
from ui.boot import require_entrypoint
from ui.data import current_region, error_text
from ui.page import md_text
from ui.sidebar import render_sidebar
from ui.state import tr
from ui.tables import display_table

LIMIT_CHOICES_MIN = (10.0, 15.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0)

require_entrypoint()
state = render_sidebar()
st.title(tr("职工疗休养基地", "Convalescence bases"))
st.caption(tr("基地以驾车到达：按驾车路网计算（单行道、限速或按道路等级的默认车速，不计拥堵），"
              "时间为从镇街到基地。",
              "Bases are reached by car: drive network (one-way streets, maxspeed or China "
              "class-default speeds, free flow), time from the town to the base."))
try:
    region = current_region(state)
except Exception as exc:  # named errors carry advice; never a traceback
    st.error(error_text(exc))
    st.stop()
if region is None:
    st.info(tr("请在左侧选择或上传区域。", "Choose or upload a region in the sidebar."))
    st.stop()
if region.bases is None or not len(region.bases.accepted):
    st.info(tr("该区域没有疗休养基地图层（bases）。",
               "This region has no convalescence-base layer (bases)."))
    st.stop()

limits = st.multiselect(tr("驾车时间限值（分钟）", "Drive-time limits (min)"),
                        LIMIT_CHOICES_MIN, default=list(DEFAULT_LIMITS_MIN),
                        format_func=lambda v: f"{v:g}", key="bases_limits")
if not limits:
    st.info(tr("请至少选择一个限值。", "Choose at least one limit."))
    st.stop()
limits_t = tuple(sorted(float(v) for v in limits))
try:
    with st.spinner(tr("正在计算驾车时间…", "Computing drive times…")):
        rb = bases_access_for(region, limits_t)
except Exception as exc:
    st.error(error_text(exc))
    st.stop()

access = rb.access.access
c1, c2, c3 = st.columns(3)
c1.metric(tr("基地数", "Bases"), f"{int(rb.access.bases['on_network'].sum())} / {len(rb.bases)}")
c2.metric(tr("可驾车到达基地的镇街", "Towns reaching a base"),
          f"{int(access['reachable'].sum())} / {len(access)}")
c3.metric(tr("最长驾车时间", "Longest drive"),
          f"{access['drive_time_min'].max():.1f} min" if access["reachable"].any() else "—")

st.subheader(tr("超出限值的镇街与人口", "Towns and people beyond each limit"))
st.dataframe(display_table(rb.access.beyond.rename(columns={"towns": "towns_total"}),
                           state.lang), hide_index=True)

towns = rb.towns
names = dict(zip(towns["town_id"], towns["name"].fillna(towns["town_id"]), strict=True))
town_id = st.selectbox(tr("查看镇街的推荐路线（最近3个基地）",
                          "Routes from a town (3 nearest bases)"),
                       [None, *names], format_func=lambda t: "—" if t is None else str(names[t]),
                       key="bases_town")
routes = None
if town_id is not None:
    try:
        routes = routes_for(region, limits_t, str(town_id))
    except Exception as exc:
        st.error(error_text(exc))
fmap = localize(bases_map(rb, routes=routes, lang=state.lang, tiles=state.tiles))
st_folium(fmap, height=560, use_container_width=True, returned_objects=[], key="bases_map")

if routes is not None:
    st.subheader(tr(f"从{md_text(names[town_id])}出发的推荐路线",
                    f"Routes from {md_text(names[town_id])}"))
    if len(routes):
        shown = routes.drop(columns="geometry").rename(columns={"rank": "route_rank"})
        st.dataframe(display_table(shown, state.lang), hide_index=True)
    else:
        st.info(tr("该镇街无法驾车到达任何基地。", "No base is reachable by car from this town."))

st.subheader(tr("各镇街到最近基地的驾车时间", "Drive time from each town to its nearest base"))
cols = ["town_id", "name", "nearest_base_name", "drive_time_min", "drive_distance_m",
        "population", "point_basis", "reason"]
st.dataframe(display_table(access.loc[:, cols].sort_values("drive_time_min",
                                                          ascending=False, na_position="first"),
                           state.lang), hide_index=True)
if rb.units == "cells":
    st.caption(tr("该区域没有镇街图层：按约 2 公里的六边形分析单元计算。",
                  "No towns in this region: hexagonal analysis cells of about 2 km."))
st.caption(label("bases", state.lang)
           + tr("不计入步行覆盖。", " are not part of walking coverage."))
