"""One vocabulary: every bilingual (zh, en) label and the closed sets of values.

Chinese first, English available. Everything a person reads — CSV/Excel headers in
reports, map layer names and tooltips, page metrics, presets — takes its words from
here, so the app, the map and the report say the same thing (``label(key, lang)``).
Closed sets of values (demand basis, station status, siting method, region kind)
are ``Literal`` aliases that the type checker holds callers to.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

from geo.schema import STATION_TYPES

#: The interface languages: Chinese first, English available.
Lang = Literal["zh", "en"]
LANGS: Final[tuple[Lang, ...]] = get_args(Lang)

#: What a town's or the region's demand is measured in.
DemandBasis = Literal["population", "population_raster", "street_length"]
#: The bases whose demand is people (town populations spread over the streets, or a
#: population raster measured exactly): see :func:`is_people`.
PEOPLE_BASES: Final[frozenset[str]] = frozenset({"population", "population_raster"})
#: What a caller may ask for (``auto``: the population raster when there is one, else
#: population when every town has one, else street length).
DemandChoice = Literal["auto", "population", "population_raster", "street_length"]
#: A station after snapping: on the network, too far from it, or rejected on input.
StationStatus = Literal["used", "off_network", "rejected"]
#: How site suggestions are chosen: lazy greedy (CELF) or the exact ILP.
SitingMethod = Literal["greedy", "ilp"]
#: What site suggestions cover: the whole region's demand, or the streets inside the
#: rider-friendly zones not yet a short ride from a 工会驿站 / 司机之家.
SiteTarget = Literal["region", "rider-zones"]
#: Where the app's region came from.
RegionKind = Literal["demo", "folder", "upload", "online"]


def is_people(basis: str | None) -> bool:
    """Whether demand of ``basis`` counts people (``population`` — town populations over
    their streets — or ``population_raster``), not street length."""
    return basis in PEOPLE_BASES


def pick(zh: str, en: str, lang: Lang | str) -> str:
    """The Chinese or the English text, by ``lang`` (anything but ``"en"`` is Chinese)."""
    return en if lang == "en" else zh


#: Column name (as in the CSV outputs) → (Chinese, English) header.
_COLUMNS: Final[dict[str, tuple[str, str]]] = {
    "station_id": ("站点编号", "Station ID"),
    "name": ("名称", "Name"),
    "type": ("类型", "Type"),
    "address": ("地址", "Address"),
    "city": ("城市", "City"),
    "district": ("区县", "District"),
    "lon": ("经度", "Longitude"),
    "lat": ("纬度", "Latitude"),
    "status": ("状态", "Status"),
    "status_reason": ("状态原因", "Status reason"),
    "snap_dist_m": ("吸附距离（米）", "Snap distance (m)"),
    "nearest_covered_length_m": ("最近覆盖街道（米）", "Nearest-covered streets (m)"),
    "input_row": ("输入行号", "Input row"),
    "reach_length_m": ("可达街道（米）", "Reachable streets (m)"),
    "service_area_m2": ("服务圈面积（平方米）", "Service area (m²)"),
    "nearest_covered_population": ("最近覆盖人口", "Nearest-covered population"),
    "overlap_share": ("与其他站点重叠比例", "Share overlapped by others"),
    "overlap_neighbours": ("重叠站点数", "Overlapping stations"),
    "overlap_top_neighbour": ("重叠最多的站点", "Most overlapping station"),
    "review_flag": ("建议复核", "Review"),
    "town_id": ("镇街编号", "Town ID"),
    "code": ("区划代码", "Code"),
    "population": ("人口", "Population"),
    "total_length_m": ("街道总长（米）", "Street length (m)"),
    "covered_length_m": ("覆盖街道（米）", "Covered streets (m)"),
    "covered_length_share": ("街道覆盖率", "Covered street share"),
    "covered_population": ("覆盖人口", "Covered population"),
    "covered_population_share": ("人口覆盖率", "Covered population share"),
    "area_m2": ("面积（平方米）", "Area (m²)"),
    "covered_area_m2": ("覆盖面积（平方米）", "Covered area (m²)"),
    "covered_area_share": ("面积覆盖率", "Covered area share"),
    "stations_total": ("站点数", "Stations"),
    "stations_used": ("接入路网站点数", "Stations on the network"),
    "walk_time_p90_min": ("P90步行时间（分钟）", "P90 walk time (min)"),
    "walk_time_p90_note": ("P90说明", "P90 note"),
    "demand_basis": ("需求口径", "Demand basis"),
    "uncovered_demand": ("未覆盖需求", "Uncovered demand"),
    "rank": ("薄弱排名", "Under-served rank"),
    "reason_en": ("排名原因（英文）", "Why (English)"),
    "reason_zh": ("排名原因（中文）", "Why (Chinese)"),
    "below_threshold": ("低于阈值", "Below threshold"),
    "zone_id": ("场景编号", "Zone ID"),
    "street_length_m": ("街道长度（米）", "Street length (m)"),
    "nearest_station_id": ("最近站点编号", "Nearest station ID"),
    "nearest_station_name": ("最近站点", "Nearest station"),
    "nearest_walk_time_min": ("最近站点步行时间（分钟）", "Walk to nearest station (min)"),
    "station_within_threshold": ("步行范围内有站点", "Station within reach"),
    # travel modes: rider zones by e-bike, bases by car
    "nearest_ride_time_min": ("最近站点骑行时间（分钟）", "E-bike ride to nearest station (min)"),
    "nearest_base": ("最近基地", "Nearest base"),
    "drive_time_min": ("驾车时间（分钟）", "Drive time (min)"),
    "drive_distance_m": ("驾车距离（米）", "Drive distance (m)"),
    "drive_distance_km": ("驾车距离（公里）", "Drive distance (km)"),
    "streets": ("途经道路", "Streets"),
    "nearest_base_name": ("最近基地名称", "Nearest base name"),
    "base_id": ("基地编号", "Base ID"),
    "base_name": ("基地", "Base"),
    "route_rank": ("路线序号", "Route"),
    "point_basis": ("起点口径", "Origin point"),
    "limit_min": ("驾车时间限值（分钟）", "Drive-time limit (min)"),
    "towns_beyond": ("超出限值的镇街数", "Towns beyond the limit"),
    "towns_total": ("镇街数", "Towns"),
    "population_beyond": ("超出限值的人口", "People beyond the limit"),
    "population_total": ("总人口", "People in all"),
    **{f"stations_{t}": (f"站点数·{t}", f"Stations: {en}") for t, en in STATION_TYPES.items()},
}

#: Table columns shown on the pages (uploads, diffs, comparisons).
_TABLES: Final[dict[str, tuple[str, str]]] = {
    "row": ("行号", "Row"),
    "source_line": ("文件行号", "Line in file"),
    "reason": ("原因", "Reason"),
    "row_a": ("行号 A", "Row A"),
    "row_b": ("行号 B", "Row B"),
    "name_a": ("名称 A", "Name A"),
    "name_b": ("名称 B", "Name B"),
    "distance_m": ("距离（米）", "Distance (m)"),
    "moved_m": ("移动距离（米）", "Moved (m)"),
    "old_name": ("原名称", "Old name"),
    "new_name": ("新名称", "New name"),
    "change": ("变化", "Change"),
    "covered_length_share_before": ("街道覆盖率（原）", "Covered street share (before)"),
    "covered_length_share_after": ("街道覆盖率（新）", "Covered street share (after)"),
    "code_reason": ("拒绝代码", "Rejection code"),
    # report: the review rule's second figure
    "nearest_share": ("作为最近站点的街道占比", "Share of its reach it is nearest to"),
    # the towns page: uncovered demand by basis, the sort options
    "uncovered_people": ("未覆盖人口", "Uncovered people"),
    "uncovered_street_m": ("未覆盖街道（米）", "Uncovered streets (m)"),
    "sort_covered_length_share": ("街道覆盖率（低→高）", "Covered street share (low → high)"),
    "sort_uncovered_demand": ("未覆盖需求（高→低）", "Uncovered demand (high → low)"),
    "sort_name": ("名称（按拼音）", "Name (by pinyin)"),
    # site suggestions: where a suggested site is
    "street": ("最近街道", "Nearest street"),
    "zone": ("骑手友好场景", "Rider zone"),
    "zone_street_m": ("新覆盖场景街道（米）", "Zone streets newly covered (m)"),
    # the province page: one row per batch partition
    "partition_status": ("状态", "Status"),
    "stations_input": ("站点数", "Stations"),
    "wall_s": ("耗时（秒）", "Wall time (s)"),
    "worker": ("计算节点", "Worker"),
    # coverage progress (进度): one row per (city, version)
    "version": ("版本", "Version"),
    "created_at": ("时间（UTC）", "When (UTC)"),
    "created_by": ("操作者", "By"),
    "action": ("操作", "Action"),
    "parent_version": ("回滚到的版本", "Rolled back to"),
    "covered_share": ("覆盖率", "Covered share"),
    "stations_off_network": ("未接入路网站点数", "Stations off the network"),
    "sha256": ("文件 SHA-256", "File SHA-256"),
    "note": ("说明", "Note"),
    "action_import": ("导入", "import"),
    "action_rollback": ("回滚", "rollback"),
    "basis_population": ("人口", "population"),
    "basis_street_length": ("街道长度", "street length"),
}

#: Map layers and tooltip fields.
_MAP: Final[dict[str, tuple[str, str]]] = {
    "town": ("镇街", "Town"),
    "focus_town": ("所选镇街", "Selected town"),
    "stations": ("站点", "Stations"),
    "offnetwork": ("未接入路网的站点", "Off-network stations"),
    "bases": ("职工疗休养基地", "Convalescence bases"),
    "zones": ("骑手友好场景", "Rider-friendly zones"),
    "towns": ("镇街覆盖率", "Town coverage share"),
    "uncovered": ("未覆盖人口（按栅格单元）", "Uncovered people (by raster cell)"),
    "people_per_cell": ("每单元人数", "people per cell"),
    "union": ("服务圈（合并）", "Service area (union)"),
    "areas": ("各站点服务圈", "Per-station service areas"),
    "network": ("步行路网", "Walk network"),
    "snap": ("吸附距离", "Snap distance"),
    "covered": ("最近覆盖街道", "Nearest-covered streets"),
    "share": ("街道覆盖率", "Covered street share"),
    "partitions": ("城市", "Cities"),
}


#: Every label by key: output columns, then map layers.
LABELS: Final[dict[str, tuple[str, str]]] = {**_COLUMNS, **_TABLES, **_MAP}

#: Station status → (Chinese, English).
STATUS_LABELS: Final[dict[StationStatus, tuple[str, str]]] = {
    "used": ("接入路网", "on the network"),
    "off_network": ("未接入路网", "off the network"),
    "rejected": ("被拒绝", "rejected"),
}



#: Targets of site suggestions (:data:`SiteTarget`).
SITE_TARGET_LABELS: Final[dict[str, tuple[str, str]]] = {
    "region": ("全区域", "Whole region"),
    "rider-zones": ("骑手友好场景（电动自行车）", "Rider-friendly zones (e-bike)"),
}


#: Walking-speed presets (keys of :data:`geo.params.WALK_SPEED_PRESETS_KMH`).
WALK_SPEED_LABELS: Final[dict[str, tuple[str, str]]] = {
    "adult": ("成人（4.0 km/h）", "Adult (4.0 km/h)"),
    "elderly": ("老年人（3.0 km/h）", "Elderly (3.0 km/h)"),
    "with_children": ("带小孩（3.0 km/h）", "With children (3.0 km/h)"),
    "brisk": ("快走（5.0 km/h）", "Brisk (5.0 km/h)"),
}

#: Travel modes (keys of :data:`geo.network.modes.MODES`): how a trip is made.
MODE_LABELS: Final[dict[str, tuple[str, str]]] = {
    "walk": ("步行", "Walk"),
    "ebike": ("电动自行车", "E-bike"),
    "drive": ("驾车", "Car"),
}

#: E-bike speed presets (keys of :data:`geo.network.modes.EBIKE_SPEED_PRESETS_KMH`).
EBIKE_SPEED_LABELS: Final[dict[str, tuple[str, str]]] = {
    "slow": ("慢速（12 km/h）", "Slow (12 km/h)"),
    "standard": ("标准（15 km/h）", "Standard (15 km/h)"),
    "fast": ("快速（20 km/h）", "Fast (20 km/h)"),
}

_TRIP: Final[dict[str, tuple[str, str]]] = {
    "walk": ("{m:g}分钟步行", "{m:g}-minute walk"),
    "ebike": ("{m:g}分钟骑行（电动自行车）", "{m:g}-minute e-bike ride"),
    "drive": ("{m:g}分钟车程", "{m:g}-minute drive"),
}


def trip_label(mode: str, minutes: float, lang: Lang | str) -> str:
    """A budget in minutes for ``mode``: 15分钟步行 / 15-minute walk, 10分钟骑行（电动自行车）
    / 10-minute e-bike ride, 30分钟车程 / 30-minute drive."""
    zh, en = _TRIP.get(mode, ("{m:g}分钟", "{m:g} minutes"))
    return pick(zh, en, lang).format(m=minutes)


#: How each travel mode's trip is worded in headers and method text (zh, en), by term:
#: ``trip`` (15分钟步行 / 15 min walk), ``adjective`` (步行覆盖 / walking coverage),
#: ``time`` / ``speed`` / ``budget`` (parameter names), ``network`` (the mode's street
#: network), ``passable`` (可步行 / walkable), ``distance`` (步行距离 / walking distance).
MODE_TERMS: Final[dict[str, dict[str, tuple[str, str]]]] = {
    "walk": {
        "trip": ("步行", "walk"), "adjective": ("步行", "walking"),
        "time": ("步行时间", "Walk time"), "speed": ("步行速度", "Walk speed"),
        "budget": ("步行距离预算", "Walk budget"), "network": ("步行路网", "walk network"),
        "passable": ("可步行", "walkable"), "distance": ("步行距离", "walking distance"),
    },
    "ebike": {
        "trip": ("骑行（电动自行车）", "e-bike ride"),
        "adjective": ("骑行（电动自行车）", "e-bike"),
        "time": ("骑行时间", "Ride time"), "speed": ("骑行速度", "E-bike speed"),
        "budget": ("骑行距离预算", "Ride budget"),
        "network": ("电动自行车路网", "e-bike network"),
        "passable": ("可骑行", "rideable"), "distance": ("骑行距离", "riding distance"),
    },
    "drive": {
        "trip": ("车程", "drive"), "adjective": ("驾车", "drive-time"),
        "time": ("驾车时间", "Drive time"), "speed": ("车速", "Car speed"),
        "budget": ("驾车时间预算", "Drive budget"), "network": ("驾车路网", "car network"),
        "passable": ("可驾车", "drivable"), "distance": ("驾车距离", "driving distance"),
    },
}

#: Output columns whose header names the walk, as headed in the other modes.
MODE_COLUMNS: Final[dict[str, dict[str, tuple[str, str]]]] = {
    "ebike": {
        "walk_time_p90_min": ("P90骑行时间（分钟）", "P90 e-bike ride time (min)"),
        "nearest_walk_time_min": ("最近站点骑行时间（分钟）",
                                  "E-bike ride to nearest station (min)"),
        "station_within_threshold": ("骑行范围内有站点", "Station within e-bike reach"),
    },
    "drive": {
        "walk_time_p90_min": ("P90驾车时间（分钟）", "P90 drive time (min)"),
        "nearest_walk_time_min": ("最近站点车程（分钟）", "Drive to nearest station (min)"),
        "station_within_threshold": ("车程范围内有站点", "Station within drive time"),
    },
}

#: Other labels of the travel modes: the parameter rows and report sentences.
MODE_TEXT: Final[dict[str, tuple[str, str]]] = {
    "travel_mode": ("出行方式", "Travel mode"),
    "network_filter": ("路网筛选", "Network filter"),
    "speed_model": ("速度模型", "Speed model"),
    "speed_constant": ("全路网统一速度", "one speed on every street"),
    "ebike_network": (
        "电动自行车路网：非机动车可通行的道路（不含高速公路及其连接线、机动车专用路和"
        " bicycle=no 的道路；人行道、行人专用街等仅在允许自行车通行时计入；台阶不计），"
        "按双向通行计，全路网统一骑行速度"
        "（预设 12 / 15 / 20 km/h，GB 17761-2018 限速 25 km/h）。",
        "E-bike network: roads open to non-motor vehicles (no motorways or their links, no "
        "motor roads, no bicycle=no; footways and pedestrian streets only where bicycles "
        "are allowed; no steps), ridden both ways, one riding speed everywhere (presets "
        "12 / 15 / 20 km/h; GB 17761-2018 caps e-bikes at 25 km/h)."),
    "speed_per_edge": (
        "逐路段车速（自由流，不计拥堵）：有 maxspeed 标签按标签，否则按中国道路等级默认车速",
        "per-edge speeds (free flow, no congestion): maxspeed where tagged, else the China "
        "class default"),
    "drive_direction": ("通行方向", "Direction"),
    "drive_direction_value": (
        "单行道按允许方向通行；时间为从街道点驶往站点",
        "one-way streets respected; time from the street point to the station"),
    "drive_network": (
        "驾车路网：机动车可通行的道路（不含人行道、小路、台阶、自行车道、施工道路，"
        "不含禁止机动车或私有的道路与停车场通道）；单行道按允许方向通行（oneway 标签，"
        "环岛与高速公路默认单向）。每条路段的车速取其 maxspeed 标签，无标签时按中国道路等级"
        "默认车速（依据 CJJ 37-2012 与 JTG B01-2014：高速公路 100、快速路/干线 70、主干路 50、"
        "次干路 40、支路及居住区道路 30、生活街道与服务道路 15 km/h），为自由流车速，"
        "不计拥堵与信号灯。车程为从每个街道点驶往最近站点的时间。",
        "Car network: roads open to motor vehicles (no footways, paths, steps, cycleways or "
        "roads under construction; no motor_vehicle=no, private roads or parking aisles); "
        "one-way streets only in their allowed direction (the oneway tag; roundabouts and "
        "motorways one-way by default). Each street's speed is its maxspeed tag, else the "
        "China class default (after CJJ 37-2012 and JTG B01-2014: motorway 100, trunk 70, "
        "primary 50, secondary 40, tertiary and residential 30, living street and service "
        "15 km/h): free-flow speeds, no congestion or signals. The drive time is the time "
        "from each street point TO its nearest station."),
}

#: The engine's walk wording (town ranking rule, ranking reasons) said for another
#: mode: (walk phrase, phrase of the mode) pairs, applied in order.
MODE_REWORDING: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "ebike": (("步行", "骑行"), (" min walk", " min e-bike ride"),
              ("walkable", "rideable"), ("walking", "riding")),
    "drive": (("步行", "驾车"), (" min walk", " min drive"),
              ("walkable", "drivable"), ("walking", "driving")),
}


def mode_term(mode: str, term: str, lang: Lang | str) -> str:
    """A travel mode's wording of ``term`` (:data:`MODE_TERMS`; walk for unknown modes)."""
    zh, en = MODE_TERMS.get(mode, MODE_TERMS["walk"])[term]
    return pick(zh, en, lang)


def mode_name(mode: str, lang: Lang | str) -> str:
    """The travel mode's name: 步行 / Walk, 电动自行车 / E-bike, 驾车 / Car."""
    zh, en = MODE_LABELS.get(mode, (mode, mode))
    return pick(zh, en, lang)


def mode_label(key: str, mode: str, lang: Lang | str) -> str:
    """The label of ``key`` (:func:`label`) as headed in ``mode`` (:data:`MODE_COLUMNS`,
    then :data:`MODE_TEXT`)."""
    pair = MODE_COLUMNS.get(mode, {}).get(key) or MODE_TEXT.get(key)
    return pick(*pair, lang) if pair else label(key, lang)


def reword_for_mode(text: str, mode: str) -> str:
    """``text`` of the engine (written for walking) with :data:`MODE_REWORDING` of
    ``mode`` applied (walk: unchanged)."""
    for walk, other in MODE_REWORDING.get(mode, ()):
        text = text.replace(walk, other)
    return text


#: Coordinate systems of uploads (keys of :data:`geo.stations.coords.COORD_SYSTEMS`).
COORD_SYSTEM_LABELS: Final[dict[str, tuple[str, str]]] = {
    "wgs84": ("WGS-84（GPS / OpenStreetMap）", "WGS-84 (GPS / OpenStreetMap)"),
    "gcj02": ("GCJ-02（高德 / 腾讯）", "GCJ-02 (Amap / Tencent)"),
    "bd09": ("BD-09（百度）", "BD-09 (Baidu)"),
}

#: Demand bases → (Chinese, English), as reports and tables name them.
DEMAND_BASIS_LABELS: Final[dict[str, tuple[str, str]]] = {
    "population": ("人口", "population"),
    "population_raster": ("人口（人口栅格，按面积精确加权）",
                          "people (population raster, exact area-weighted)"),
    "street_length": ("街道长度", "street length"),
}


def basis_label(basis: str | None, lang: Lang | str) -> str:
    """The name of a demand basis in ``lang`` (``population_raster`` → 人口（人口栅格…）)."""
    zh, en = DEMAND_BASIS_LABELS.get(str(basis), DEMAND_BASIS_LABELS["street_length"])
    return pick(zh, en, lang)


def label(key: str, lang: Lang | str) -> str:
    """The label of ``key`` in ``lang``; an unknown key is its own label."""
    zh, en = LABELS.get(key, (key, key))
    return pick(zh, en, lang)


def status_label(status: str, lang: Lang | str) -> str:
    """The label of a station status (``used`` → 接入路网 / on the network)."""
    zh, en = STATUS_LABELS.get(status, (status, status))  # type: ignore[call-overload]
    return pick(zh, en, lang)


def type_label(station_type: str, lang: Lang | str) -> str:
    """A station type as stored (Chinese) or its English label."""
    if lang == "en":
        return STATION_TYPES.get(station_type, station_type)
    return "其他" if station_type == "other" else station_type
