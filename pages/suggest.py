"""选址建议 Site suggestions — where to add K stations to cover the most new demand.

The current job's stations stay fixed (sidebar region, parameters and station list);
candidates are network nodes (away from existing stations and from motorway / trunk
roads) or an uploaded list of points. When the region has rider-friendly zones the
target can be those zones: the zone streets not yet a short e-bike ride from a 工会驿站 /
司机之家 (:mod:`geo.siting.zones`). Results are cached per job, target, K, candidates and
method (:mod:`ui.suggest`; :mod:`geo.siting.suggest` does the work).
"""

from __future__ import annotations

import hashlib
import json

import folium
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from geo.crs import WGS84
from geo.io.htmlsafe import esc
from geo.io.sheetsafe import csv_bytes
from geo.siting.suggest import (
    DEFAULT_MIN_DISTANCE_M,
    TARGETS,
    areas_geojson,
    sites_geojson,
    sites_output,
    summary_dict,
    zones_output,
)
from geo.siting.zones import DEFAULT_RIDE_TIME_MIN
from geo.vocab import SITE_TARGET_LABELS, SitingMethod, label, trip_label
from geo.webmap.maps import build_map
from geo.webmap.offline import localize
from ui.boot import require_entrypoint
from ui.config import TABLE_UPLOAD_MB
from ui.data import current_region, error_text, map_data_for
from ui.page import fmt_pct, md_text, require_job
from ui.sidebar import render_sidebar
from ui.state import tr
from ui.suggest import (
    RIDE_TIME_CHOICES_MIN,
    has_rider_zones,
    region_suggestions,
    rider_params,
    rider_suggestions,
)

MAX_K = 50
SITE_COLOUR = "#6a3d9a"
LEGEND_SITES = 10  # sites named in the map legend (all are in the table)

require_entrypoint()
state = render_sidebar()
st.title(tr("选址建议", "Site suggestions"))
st.caption(tr(
    "在保留现有站点的前提下，挑选 K 个新增站点位置，使步行可达范围内新覆盖的需求"
    "（人口或街道长度）最大（最大覆盖选址）。贪心法（CELF）保证不低于最优解的 63%；"
    "整数规划（ILP）求精确最优，适合小区域。",
    "Keeping the existing stations, pick K new sites that newly cover the most demand "
    "(population or street length) within the walk budget (maximal covering location). "
    "Greedy (CELF) reaches at least 63% of the optimum; the integer programme (ILP) is "
    "exact, "
    "for small areas."))
if state.params.mode == "drive":
    # site suggestions cover streets on foot or by e-bike; by car there is no one
    # street budget to cover (per-edge speeds, one-way streets)
    st.info(tr("选址建议按步行或电动自行车计算：请在侧栏把出行方式改为步行或电动自行车。"
               "驾车可达性请看地图页的驾车覆盖，或“疗休养基地”页。",
               "Site suggestions are computed on foot or by e-bike: switch the sidebar's "
               "travel mode to walk or e-bike. For access by car see the map's drive "
               "coverage or the convalescence bases page."))
    st.stop()
handle = require_job()
job = handle.job
region = current_region(state)
# option labels follow the language through a closure (format_func may run outside the
# script run, where the session state is not at hand)
lang = state.lang

target = "region"
ride = None
if has_rider_zones(region):
    t1, t2 = st.columns([2, 1])
    target = t1.radio(tr("选址目标", "Target"), list(TARGETS), horizontal=True,
                      format_func=lambda t: SITE_TARGET_LABELS[t][0 if lang == "zh" else 1],
                      key="sg_target")
    if target == "rider-zones":
        default_min = (state.params.walk_time_min if state.params.mode == "ebike"
                       and state.params.walk_time_min in RIDE_TIME_CHOICES_MIN
                       else DEFAULT_RIDE_TIME_MIN)
        minutes = t2.selectbox(tr("骑行时间（分钟）", "Ride time (min)"),
                               list(RIDE_TIME_CHOICES_MIN),
                               index=list(RIDE_TIME_CHOICES_MIN).index(default_min),
                               format_func=lambda v: f"{v:g}", key="sg_ride_min")
        ride = rider_params(state.params, minutes=float(minutes))
        st.caption(tr(
            f"目标为骑手友好场景内、尚未在{trip_label('ebike', ride.walk_time_min, 'zh')}"
            f"（{ride.walk_speed_kmh:g} km/h ≈ {ride.budget_m:,.0f} 米）内到达工会驿站或司机之家"
            "的街道；只计这两类现有站点，按电动自行车路网计算。",
            f"Target: the streets inside the rider-friendly zones not yet within a "
            f"{trip_label('ebike', ride.walk_time_min, 'en')} ({ride.walk_speed_kmh:g} km/h ≈ "
            f"{ride.budget_m:,.0f} m) of a 工会驿站 or 司机之家; only those existing stations "
            "count, on the e-bike network."))

c1, c2, c3 = st.columns(3)
k = c1.slider(tr("新增站点数 K", "Sites to add (K)"), 1, MAX_K, 5, key="sg_k")
SOURCE_LABELS = {"nodes": ("路网节点", "Network nodes"),
                 "upload": ("上传 CSV / GeoJSON", "Upload CSV / GeoJSON")}
METHOD_LABELS = {"greedy": ("贪心（CELF）", "Greedy (CELF)"),
                 "ilp": ("整数规划（精确）", "ILP (exact)")}
source = c2.radio(tr("候选位置", "Candidate sites"), list(SOURCE_LABELS), horizontal=True,
                  format_func=lambda s: SOURCE_LABELS[s][0 if lang == "zh" else 1],
                  key="sg_source")
method = c3.radio(tr("方法", "Method"), list(METHOD_LABELS), horizontal=True,
                  format_func=lambda m: METHOD_LABELS[m][0 if lang == "zh" else 1],
                  key="sg_method")
upload: tuple[str, bytes] | None = None
min_d = DEFAULT_MIN_DISTANCE_M
if source == "nodes":
    min_d = float(c2.slider(tr("与现有站点的最小直线距离（米）",
                               "Minimum straight-line distance to existing stations (m)"),
                            0, 2000, int(DEFAULT_MIN_DISTANCE_M), step=50, key="sg_min_d"))
    cand_key = f"nodes|{min_d:g}"
else:
    f = c2.file_uploader(tr("候选点：CSV（candidate_id,name,lon,lat，WGS-84）或点 GeoJSON",
                            "Candidates: CSV (candidate_id,name,lon,lat, WGS-84) or point "
                            "GeoJSON"), type=["csv", "geojson", "json"], key="sg_upload",
                         max_upload_size=TABLE_UPLOAD_MB)
    if f is None:
        st.info(tr("请上传候选点文件。", "Upload a candidate file."))
        st.stop()
    upload = (f.name, f.getvalue())
    cand_key = "upload|" + hashlib.sha256(upload[1]).hexdigest()[:16] + "|" + f.name
solver = None
if method == "ilp":
    solver = c3.selectbox(tr("求解器", "Solver"), ["cbc", "highs"], key="sg_solver",
                          format_func=lambda s: "CBC" if s == "cbc" else "HiGHS")

run_key = (handle.key, target, None if ride is None else ride.walk_time_min, k, cand_key,
           method, solver, min_d)
if st.button(tr("计算选址建议", "Suggest sites"), type="primary", key="sg_run"):
    st.session_state["sg_last"] = run_key
if st.session_state.get("sg_last") != run_key:
    st.info(tr("设置好后点击「计算选址建议」。", "Set the options, then press “Suggest sites”."))
    st.stop()

how: SitingMethod = "ilp" if method == "ilp" else "greedy"
try:
    with st.spinner(tr("正在计算选址建议…", "Computing site suggestions…")):
        if ride is not None and region is not None:
            res = rider_suggestions(handle, region, ride, k=k, cand_key=cand_key,
                                    method=how, solver=solver, min_distance_m=min_d,
                                    upload=upload)
        else:
            res = region_suggestions(handle, k=k, cand_key=cand_key, method=how,
                                     solver=solver, min_distance_m=min_d, upload=upload)
except Exception as exc:  # named errors carry their advice; never a traceback
    st.error(error_text(exc))
    st.stop()

people = res.demand_unit == "people"
riders = res.target == "rider-zones"
unit = tr("人", "people") if people else (tr("公里场景街道", "zone street-km") if riders
                                          else tr("公里街道", "street-km"))
scale = 1.0 if people else 1 / 1000.0
if riders and not len(res.sites):
    st.info(tr("骑手友好场景内的街道均已在骑行范围内，无需新增站点（可缩短骑行时间再试）。",
               "Every zone street is already within the ride: no site adds anything (try a "
               "shorter ride time)."))
m1, m2, m3, m4 = st.columns(4)
m1.metric(tr("新增站点", "Sites suggested"), f"{len(res.sites)} / {res.k_requested}")
m2.metric(tr("新覆盖", "Newly covered"), f"{res.total_gain * scale:,.{0 if people else 2}f} {unit}")
before = res.covered_before / res.total_demand if res.total_demand else None
after = res.covered_after / res.total_demand if res.total_demand else None
m3.metric(tr("覆盖率", "Covered share"), fmt_pct(after),
          delta=None if before is None or after is None else f"{(after - before) * 100:+.1f} pp",
          help=tr(("骑手友好场景内：" if riders else "")
                  + ("人口按街道长度分布到镇街内" if people else "按街道长度计"),
                  ("inside the rider zones: " if riders else "")
                  + ("population spread over each town's streets" if people
                     else "share of street length")))
if res.method == "greedy":
    method_label = METHOD_LABELS["greedy"][0 if lang == "zh" else 1]
    ub = res.optimum_upper_bound
    m4.metric(tr("方法", "Method"), method_label,
              help=tr(f"最优解不超过 {ub * scale:,.1f} {unit}（达到上界的 "
                      f"{res.total_gain / ub:.1%}）" if ub else "",
                      f"the optimum is at most {ub * scale:,.1f} {unit} ("
                      f"{res.total_gain / ub:.1%} of that bound)" if ub else ""))
else:
    info = res.solver or {}
    m4.metric(tr("方法", "Method"), f"ILP · {str(info.get('solver', '')).upper()}",
              help=str(info.get("status", "")))
for note in res.notes:
    st.caption(md_text(note))

# ---- the map: existing coverage and stations, the new sites and their service areas
extra_layers: list[folium.MacroElement] = []
areas = res.service_areas
if len(areas):
    shown = areas[["rank", "geometry"]].copy()
    shown["gain"] = [f"{g * scale:,.{0 if people else 2}f} {unit}"
                     for g in areas["marginal_gain"]]
    shown["geometry"] = shown.geometry.simplify(5.0)
    extra_layers.append(folium.GeoJson(
        json.loads(shown.to_crs(WGS84).to_json(drop_id=True)),
        name=esc(tr("新增站点服务圈", "Service areas of the new sites")),
        style_function=lambda _f: {"fillColor": SITE_COLOUR, "color": SITE_COLOUR,
                                   "weight": 1.5, "fillOpacity": 0.18},
        tooltip=folium.GeoJsonTooltip(fields=["rank", "gain"],
                                      aliases=["#", esc(tr("新覆盖", "New"))]),
    ))
fg = folium.FeatureGroup(name=esc(tr("建议站点", "Suggested sites")))
sites_ll = res.sites.to_crs(WGS84)
for r, g in zip(res.sites.itertuples(index=False), sites_ll.geometry, strict=True):
    town = esc(r.town) if isinstance(r.town, str) else "—"
    named = f" {esc(r.name)}" if isinstance(r.name, str) and r.name else ""
    street = esc(r.street) if isinstance(r.street, str) else "—"
    district = f"（{esc(r.district)}）" if isinstance(r.district, str) else ""
    zone_line = (f"{esc(label('zone', lang))}: {esc(r.zone)} · "
                 f"{esc(label('zone_street_m', lang))}: {r.zone_street_m:,.0f}<br>"
                 if riders and isinstance(r.zone, str) else "")
    popup = (f"<b>#{int(r.rank)} {street}</b>{named}<br>"
             f"{esc(label('street', lang))}: {street} · {esc(tr('候选点', 'Candidate'))} "
             f"{esc(r.candidate_id)}<br>"
             f"{esc(tr('镇街', 'Town'))}: {town}{district}<br>{zone_line}"
             f"{esc(tr('新覆盖', 'Newly covered'))}: {r.marginal_gain * scale:,.1f} "
             f"{esc(unit)}<br>{esc(tr('新覆盖街道', 'New street'))}: "
             f"{r.new_street_m / 1000:,.2f} km")
    folium.Marker(
        [g.y, g.x],
        icon=folium.DivIcon(
            html=f'<div style="background:{SITE_COLOUR};color:#fff;border:2px solid #fff;'
                 'border-radius:50%;width:22px;height:22px;line-height:18px;'
                 f'text-align:center;font:bold 12px sans-serif">{int(r.rank)}</div>',
            icon_size=(22, 22), icon_anchor=(11, 11), class_name="yizhan-suggest"),
        popup=folium.Popup(popup, max_width=300), tooltip=f"#{int(r.rank)}").add_to(fg)
extra_layers.append(fg)
# the legend names the suggested sites (street, district, what each adds) and their areas
legend = [("", "", tr("建议站点", "Suggested sites"))]
for r in res.sites.head(LEGEND_SITES).itertuples(index=False):
    where = " · ".join(x for x in (r.zone if riders else None, r.street, r.district or r.town)
                       if isinstance(x, str))
    legend.append((SITE_COLOUR, f"{int(r.rank)}",
                   f"{where or r.candidate_id}  +{r.marginal_gain * scale:,.{0 if people else 2}f}"
                   f" {unit}"))
if len(res.sites) > LEGEND_SITES:
    legend.append((SITE_COLOUR, "…", tr(f"另有 {len(res.sites) - LEGEND_SITES} 个，见下表",
                                       f"{len(res.sites) - LEGEND_SITES} more in the table")))
if len(areas):
    legend.append((SITE_COLOUR, "■", tr("新增站点服务圈", "Service areas of the new sites")))
# rider zones: the zones and the stations (the union drawn is the sidebar mode's, not
# the e-bike reach of the 工会驿站 / 司机之家, so it is left out)
fmap = build_map(map_data_for(handle, state.lang), lang=state.lang,
                 layers=frozenset({"zones", "stations"} if riders else {"union", "stations"}),
                 tiles=state.tiles, extra_layers=extra_layers, legend_extra=legend)
st_folium(localize(fmap), height=560, use_container_width=True, returned_objects=[],
          key="sg_map")

# ---- the gain-vs-K curve
st.subheader(tr("新增站点数与新覆盖需求", "Gain vs. number of sites"))
curve = res.curve.assign(gain=res.curve["cumulative_gain"] * scale)
st.line_chart(curve, x="k", y="gain", x_label="K",
              y_label=tr(f"累计新覆盖（{unit}）", f"cumulative newly covered ({unit})"))
if res.method == "ilp":
    st.caption(tr("整数规划：K 个站点的组合为最优；曲线按各站点的边际增益排序。",
                  "ILP: the set of K sites is optimal; the curve orders them by marginal "
                  "gain."))

# ---- the table and downloads
table = sites_output(res)
view = pd.DataFrame({
    tr("排名", "Rank"): table["rank"],
    label("street", lang): table["street"],
    label("district", lang): table["district"],
    tr("镇街", "Town"): table["town"],
    tr("候选点", "Candidate"): table["candidate_id"],
    tr("经度", "Lon"): table["lon"],
    tr("纬度", "Lat"): table["lat"],
    tr(f"新覆盖（{unit}）", f"Newly covered ({unit})"): (table["marginal_gain"] * scale).round(
        0 if people else 3),
    tr(f"累计（{unit}）", f"Cumulative ({unit})"): (table["cumulative_gain"] * scale).round(
        0 if people else 3),
    tr("新覆盖街道（公里）", "New street (km)"): (table["new_street_m"] / 1000).round(2),
})
if riders:
    view.insert(1, label("zone", lang), table["zone"])
    view[label("zone_street_m", lang)] = table["zone_street_m"].round(0)
st.dataframe(view, hide_index=True)
zones_table = zones_output(res)
if zones_table is not None:
    st.subheader(tr("各骑手友好场景", "Rider-friendly zones"))
    d_unit = tr("人", "people") if people else tr("米", "m")
    st.dataframe(pd.DataFrame({
        label("zone_id", lang): zones_table["zone_id"],
        label("name", lang): zones_table["name"],
        label("street_length_m", lang): zones_table["street_length_m"].round(0),
        tr(f"需求（{d_unit}）", f"Demand ({d_unit})"): zones_table["demand"].round(0),
        tr("覆盖率（原）", "Covered (before)"): zones_table["covered_share_before"].map(fmt_pct),
        tr("覆盖率（新增后）", "Covered (after)"): zones_table["covered_share_after"].map(fmt_pct),
        label("zone_street_m", lang): zones_table["new_street_m"].round(0),
        tr("服务该场景的建议站点", "Sites serving it"): zones_table["sites"],
    }), hide_index=True)
d1, d2, d3, d4 = st.columns(4)
d1.download_button(tr("下载 CSV", "Download CSV"),
                   csv_bytes(table),
                   "suggestions.csv", "text/csv", key="sg_dl_csv")
d2.download_button(tr("下载 GeoJSON（站点）", "Download GeoJSON (sites)"),
                   sites_geojson(res).encode("utf-8"), "suggestions.geojson",
                   "application/geo+json", key="sg_dl_geojson")
d3.download_button(tr("下载 GeoJSON（服务圈）", "Download GeoJSON (service areas)"),
                   areas_geojson(res).encode("utf-8"), "new_service_areas.geojson",
                   "application/geo+json", key="sg_dl_areas")
d4.download_button("summary.json",
                   json.dumps(summary_dict(res), ensure_ascii=False, indent=2).encode("utf-8"),
                   "summary.json", "application/json", key="sg_dl_summary")
if zones_table is not None:
    st.download_button(tr("下载 CSV（各场景）", "Download CSV (zones)"), csv_bytes(zones_table),
                       "zones.csv", "text/csv", key="sg_dl_zones")
p = res.params
st.caption(tr(
    f"候选点 {len(res.candidates):,} 个（被拒绝 {len(res.candidates.rejected)} 个）；"
    f"需求口径：{'人口' if people else '街道长度'}{'（骑手友好场景内）' if riders else ''}；"
    f"{trip_label(p.mode, p.walk_time_min, 'zh')}（{p.walk_speed_kmh:g} km/h）≈ "
    f"{p.budget_m:,.0f} 米。",
    f"{len(res.candidates):,} candidates ({len(res.candidates.rejected)} rejected); demand: "
    f"{'population' if people else 'street length'}{' inside the rider zones' if riders else ''}"
    f"; {trip_label(p.mode, p.walk_time_min, 'en')} ({p.walk_speed_kmh:g} km/h) ≈ "
    f"{p.budget_m:,.0f} m."))
if len(res.candidates.rejected):
    with st.expander(tr("被拒绝的候选点", "Rejected candidates")):
        st.dataframe(res.candidates.rejected, hide_index=True)
