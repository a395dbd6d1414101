"""方法 Method — how coverage is computed, parameters, data sources and licences."""

from __future__ import annotations

import streamlit as st

from geo.network.walkfilter import DROP_HIGHWAY, FILTER_VERSION, WALKABLE_HIGHWAY
from geo.params import LIFE_CIRCLE_PRESETS, WALK_SPEED_LABELS, walk_budget_m
from geo.vocab import MODE_TEXT
from ui.boot import require_entrypoint
from ui.sidebar import render_sidebar
from ui.state import tr

require_entrypoint()
state = render_sidebar()
p = state.params
st.title(tr("方法", "Method"))

st.header(tr("如何计算覆盖", "How coverage is computed"))
st.markdown(tr(
    f"""
1. **步行路网**：读取所有 `highway=*` 道路，再按公开的步行过滤规则（`{FILTER_VERSION}`）剔除高速公路及匝道、
   在建/规划道路、`foot=no`、`access=private/no`（除非 `foot=yes`）、`service=private`、`motorroad=yes` 等；
   保留人行道、小路、台阶、步行街、居住区道路、服务道路以及其他道路等级。**干线道路（trunk）予以保留**：
   广东城市中许多带人行道的主干道（如深南大道）标为 trunk，人行道往往未单独绘制；快速路通常带
   `motorroad=yes` 或 `foot=no`，会被剔除。过滤掉的道路按原因统计并报告。路网按无向图处理。
2. **站点吸附**：每个站点吸附到最近的**道路上的点**（不只是路口），步行从该点出发；吸附距离只报告、不计入步行。
   距最近道路超过 {p.max_snap_m:g} 米的站点视为未接入路网，单独列出原因。
3. **覆盖**：一次多源最短路（scipy csgraph）得到每个路口到最近站点的步行距离及其站点；
   道路部分覆盖也计入：两端剩余步行距离为 r_u、r_v 的道路覆盖 min(L, r_u + r_v)。
4. **服务圈**：把可达的道路段按剩余距离精确截断，向两侧各缓冲 {p.buffer_m:g} 米后合并——不使用凸包或凹包；
   路网到不了的街区保留为空洞。
5. **镇街与需求**：道路长度在镇街边界处精确切分。各镇街都有人口时，人口按街道长度分布，
   覆盖人口 = 人口 × 覆盖街道长度 / 街道长度；否则以街道长度为需求。按未覆盖需求从大到小排名。
   无镇街边界时，改用 500 米六边形分析网格并在结果中注明。
6. **职工疗休养基地**以驾车或公共交通到达，只作为图层展示，不计入步行覆盖。
""",
    f"""
1. **Walk network**: every `highway=*` way is read, then the documented pedestrian filter
   (`{FILTER_VERSION}`) drops motorways and their links, roads under construction / proposed,
   `foot=no`, `access=private/no` (unless `foot=yes`), `service=private`, `motorroad=yes` …;
   footways, paths, steps, pedestrian streets, living streets, residential and service roads
   and other road classes are kept. **Trunk roads are kept**: many Guangdong arterials with
   footpaths (e.g. 深南大道) are tagged trunk and their footways are often not mapped;
   expressways carry `motorroad=yes` or `foot=no` and are dropped. What the filter drops is
   reported by reason. The network is treated as undirected.
2. **Snapping**: each station is snapped to the nearest point **on a street** (not only a
   junction) and the walk starts there; the snap distance is reported, not charged. Stations
   farther than {p.max_snap_m:g} m from any street are off-network and listed with the reason.
3. **Coverage**: one multi-source shortest-path pass (scipy csgraph) gives every junction its
   walking distance to the nearest station; partial streets count: a street whose ends have
   remaining budgets r_u, r_v is covered for min(L, r_u + r_v).
4. **Service areas**: reached stretches of streets, cut at the exact remaining distance,
   buffered by {p.buffer_m:g} m on each side and unioned — no convex or concave hulls; blocks
   the network does not reach stay holes.
5. **Towns and demand**: street length is cut exactly at town boundaries. With a population
   for every town, population is spread over its streets by length (covered population =
   population × covered street length / street length); otherwise demand is street length.
   Towns are ranked by uncovered demand. Without town boundaries, 500 m hexagonal analysis
   cells are used and every output says so.
6. **Convalescence bases** are reached by car or transit: shown as a layer, not walked.
"""))

st.header(tr("参数", "Parameters"))
# numbers as people write them: "5" minutes, "1,000" m (a float column would show 5.0000)
rows = [{
    tr("生活圈", "Life circle"): c.label_zh if state.lang == "zh" else c.label_en,
    tr("步行时间（分钟）", "Walk time (min)"): f"{c.walk_time_min:g}",
    tr("标准步行距离", "Standard distance"): c.reference_distance_m,
    tr("4.0 km/h 下距离（米）", "Distance at 4.0 km/h (m)"):
        f"{walk_budget_m(c.walk_time_min, 4.0):,.0f}",
} for c in LIFE_CIRCLE_PRESETS.values()]
st.table(rows)
st.caption(tr("依据 GB 50180-2018《城市居住区规划设计标准》与 TD/T 1062-2021《社区生活圈规划技术指南》。",
              "After GB 50180-2018 (urban residential area planning) and TD/T 1062-2021 "
              "(community life circle planning)."))
st.write(tr("步行速度预设：", "Walking-speed presets: ")
         + "; ".join(v[0 if state.lang == "zh" else 1] for v in WALK_SPEED_LABELS.values()))
if p.mode == "drive":  # per-edge speeds: the budget is a time, not a length
    st.write(tr(f"当前：驾车 {p.walk_time_min:g} 分钟（{p.budget_s:,.0f} 秒，逐路段车速）；"
                f"缓冲 {p.buffer_m:g} 米。",
                f"Current: {p.walk_time_min:g} min by car ({p.budget_s:,.0f} s, per-edge "
                f"speeds); buffer {p.buffer_m:g} m."))
    st.info(tr(*MODE_TEXT["drive_network"]))
else:
    st.write(tr(f"当前：{p.walk_time_min:g} 分钟 × {p.walk_speed_kmh:g} km/h = "
                f"{p.budget_m:,.0f} 米；缓冲 {p.buffer_m:g} 米。",
                f"Current: {p.walk_time_min:g} min × {p.walk_speed_kmh:g} km/h = "
                f"{p.budget_m:,.0f} m; buffer {p.buffer_m:g} m."))
with st.expander(tr("步行过滤规则明细", "Walk filter details")):
    st.write(tr("剔除的 highway 值：", "Dropped highway values: ") + ", ".join(sorted(DROP_HIGHWAY)))
    st.write(tr("保留的 highway 值：", "Kept highway values: ") + ", ".join(sorted(WALKABLE_HIGHWAY)))

st.header(tr("站点名单与坐标系", "Station lists and coordinate systems"))
st.markdown(tr(
    """
- 每份上传名单须声明坐标系：WGS-84（GPS / OpenStreetMap）、GCJ-02（高德 / 腾讯）或 BD-09（百度）；GCJ-02 / BD-09 按公开的 PRCoords 算法换算为 WGS-84（反算迭代，广东范围内往返误差小于 1 毫米），原始坐标保留。
- 若站点系统性地远离街道（中位数 ≥ 60 米）而换一种坐标系后贴近街道（≤ 40 米），或列名提示了另一种坐标系，页面给出提示，但从不自动更改。
- 每一行要么被接受，要么带原因被拒绝：读入行数 = 接受 + 拒绝。同名且相距 50 米内、或任意两站相距 5 米内的站点标记为疑似重复，供核对。
- 保存的名单是不可修改的版本（谁、何时、文件、sha256、原始文件、计数）；回滚会生成新版本。编辑只能修改本市名单，审阅为只读，省级管理员可修改全部；权限在数据层检查。
""",
    """
- Every uploaded list declares its coordinate system: WGS-84 (GPS / OpenStreetMap), GCJ-02
  (Amap / Tencent) or BD-09 (Baidu); GCJ-02 / BD-09 are converted to WGS-84 with the public
  PRCoords formulas (iterated inverse; round trips within Guangdong below 1 mm), and the
  original coordinates are kept.
- When the stations sit systematically off the streets (median ≥ 60 m) and another system puts
  them on (≤ 40 m), or the headers name another system, the page gives a hint — it never
  changes anything by itself.
- Every row is accepted or rejected with a reason: rows in = accepted + rejected. Stations with
  the same name within 50 m, or any two within 5 m, are flagged for review.
- Stored lists are immutable versions (who, when, file, sha256, the original file, counts); a
  rollback makes a new version. Editors change their own city's list, reviewers read, province
  admins change everything; the check runs in the data layer.
"""))

st.header(tr("数据来源与许可", "Data sources and licences"))
st.markdown(tr(
    """
- 道路数据 © OpenStreetMap 贡献者，采用 [ODbL 1.0](https://opendatacommons.org/licenses/odbl/) 许可。
- 示范区（合成数据）由程序生成：其街道、镇街、人口、站点、基地与骑手友好场景均为虚构，不代表任何真实地点。
- 地图由 Leaflet（BSD-2）与 folium（MIT）绘制；前端资源随软件包本地提供，离线可用。
- 高德等国内底图采用 GCJ-02 坐标，与 WGS-84 数据偏移约 300–600 米。
""",
    """
- Street data © OpenStreetMap contributors, licensed under
  [ODbL 1.0](https://opendatacommons.org/licenses/odbl/).
- The demo region (synthetic data) is generated by a program: its streets, towns,
  population, stations, bases and rider zones are fictional and describe no real place.
- Maps are drawn with Leaflet (BSD-2) and folium (MIT); their assets are served locally from
  an installed package and work offline.
- Chinese basemaps such as Amap use GCJ-02 coordinates, ~300–600 m off the WGS-84 data.
"""))
