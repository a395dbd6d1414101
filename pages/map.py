"""地图 Map — coverage, stations, bases, zones and towns on one map."""

from __future__ import annotations

import streamlit as st
from streamlit_folium import st_folium

from geo.vocab import label
from geo.webmap.maps import LAYER_KEYS, build_map, with_station_areas
from geo.webmap.offline import localize
from geo.webmap.pick import town_at
from ui.boot import require_entrypoint
from ui.data import map_data_for, station_areas_for
from ui.page import fmt_pct, md_text, require_job
from ui.sidebar import render_sidebar
from ui.state import tr

MAX_PICKED_AREAS = 20

require_entrypoint()
state = render_sidebar()
st.title(tr("地图", "Map"))
handle = require_job()
job = handle.job
summary = job.summary()

c1, c2, c3, c4 = st.columns(4)
c1.metric({"ebike": tr("骑行覆盖街道", "Streets within reach by e-bike"),
           "drive": tr("驾车覆盖街道", "Streets within drive time")}.get(
              job.params.mode, tr("步行覆盖街道", "Streets within reach")),
          fmt_pct(summary["covered_length_share"]),
          help=tr(f"{summary['covered_length_m'] / 1000:,.1f} / "
                  f"{summary['total_length_m'] / 1000:,.1f} 公里",
                  f"{summary['covered_length_m'] / 1000:,.1f} of "
                  f"{summary['total_length_m'] / 1000:,.1f} km"))
c2.metric(tr("覆盖人口", "Population covered"), fmt_pct(summary["covered_population_share"]),
          help=(tr("人口栅格：服务圈内的人口（按面积精确加权）",
                   "population raster: people inside the service area (exact area weights)")
                if summary["demand_basis"] == "population_raster"
                else tr("人口按街道长度分布到镇街内",
                        "population spread over each town's streets")))
c3.metric(tr("服务圈面积", "Service-area extent"),
          f"{summary['covered_area_m2'] / 1e6:,.2f} km²")
c4.metric(tr("接入路网的站点", "Stations on the network"),
          f"{summary['stations']['used']} / {summary['stations']['input']}",
          help=tr(f"未接入路网 {summary['stations']['off_network']}，"
                  f"被拒绝 {summary['stations']['rejected']}",
                  f"{summary['stations']['off_network']} off-network, "
                  f"{summary['stations']['rejected']} rejected"))

default_layers = [k for k in LAYER_KEYS if k not in ("network", "areas")]
chosen = st.multiselect(tr("图层", "Layers"), list(LAYER_KEYS), default=default_layers,
                        format_func=lambda k: label(k, state.lang), key="map_layers",
                        placeholder=tr("选择图层", "Choose layers"), select_all=False)
data = map_data_for(handle, state.lang)
if job.areas.per_station is None or "areas_too_many" in data.notes:
    # large lists: the areas of the stations chosen here, computed on demand
    used = job.coverage.used
    names = dict(zip(used["station_id"].astype(str), used["name"].astype(str), strict=True))
    picked = st.multiselect(
        tr("查看所选站点的服务圈", "Service areas of chosen stations"), list(names),
        format_func=lambda k: f"{names[k]} ({k})", max_selections=MAX_PICKED_AREAS,
        key="map_area_stations", placeholder=tr("选择站点（按需计算）",
                                                "Choose stations (computed on demand)"),
        help=tr(f"每个站点的服务圈按需精确计算，最多 {MAX_PICKED_AREAS} 个",
                f"each station's exact area is computed when chosen, up to "
                f"{MAX_PICKED_AREAS}"))
    if picked:
        data = with_station_areas(data, station_areas_for(handle, picked))
        if "areas" not in chosen:
            chosen = [*chosen, "areas"]
fmap = localize(build_map(data, lang=state.lang, layers=frozenset(chosen),
                          tiles=state.tiles))
map_col, panel = st.columns([3, 1])
with map_col:
    out = st_folium(fmap, height=620, use_container_width=True,
                    returned_objects=["last_clicked"], key="main_map")

clicked = (out or {}).get("last_clicked") or {}
towns = job.towns.towns
r = (town_at(towns, lon=clicked["lng"], lat=clicked["lat"])
     if "lat" in clicked and "lng" in clicked else None)
with panel:
    if r is not None:
        st.subheader(md_text(r["name"]))
        if isinstance(r.get("district"), str) and r["district"]:
            st.caption(md_text(r["district"]))
        st.metric(label("covered_length_share", state.lang), fmt_pct(r["covered_length_share"]))
        st.metric(tr("覆盖人口", "Population covered"),
                  "—" if r["population"] != r["population"]
                  else f"{r['covered_population']:,.0f} / {r['population']:,.0f}")
        st.metric(label("rank", state.lang), f"{int(r['rank'])} / {len(towns)}")
        st.metric({"walk": tr("90%街道步行时间", "Walk time, 90th pct."),
                   "ebike": tr("90%街道骑行时间", "Ride time, 90th pct."),
                   "drive": tr("90%街道驾车时间", "Drive time, 90th pct.")}[job.params.mode],
                  f"{r['walk_time_p90_min']:.1f} min" if r["walk_time_p90_min"] == r[
                      "walk_time_p90_min"] else str(r["walk_time_p90_note"]))
        st.markdown(md_text(r["reason_zh"] if state.lang == "zh" else r["reason_en"]))
    elif clicked:
        st.caption(tr("所点位置不在任何镇街内。", "The clicked point is in no town."))
    else:
        st.caption(tr("点击地图上的镇街可查看其指标。",
                      "Click a town on the map to see its figures."))
if job.towns.is_grid:
    st.info(job.towns.note_zh if state.lang == "zh" else job.towns.note_en)
if job.bases is not None and len(job.bases):
    st.caption(tr("职工疗休养基地以驾车或公共交通到达，不计入站点覆盖，见“疗休养基地”页。",
                  "Convalescence bases are reached by car or transit; they are not part of "
                  "the stations' coverage (see the convalescence bases page)."))
