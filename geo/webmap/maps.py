"""Folium map building for the app and the standalone HTML map (no Streamlit here).

:func:`map_data` turns a :class:`geo.pipeline.job.CoverageJob` into display layers once
(simplified WGS-84 GeoJSON, compact station rows — cache it); :func:`build_map`
assembles a folium map from them in milliseconds. All text that comes from uploaded
data is escaped with :func:`geo.io.htmlsafe.esc` before it reaches HTML or JavaScript.

Province scale: stations are drawn as canvas circle markers inside marker clusters,
fed from one compact JSON array (UTF-8, not ``\\uXXXX``) so 16,000 stations stay well
under 3 MB of HTML; per-station service areas and the street network are drawn only
below a size limit (the union always is).
"""

from __future__ import annotations

import base64
import dataclasses
import gzip
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import folium
import numpy as np
import shapely
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.plugins import MarkerCluster
from jinja2 import Template

from geo.crs import WGS84, transform_geometries
from geo.io.htmlsafe import esc
from geo.palette import (
    BASE_COLOUR,
    OFF_NETWORK_COLOUR,
    SHARE_BINS,
    SHARE_COLOURS,
    STATION_COLOURS,
    STREET_COLOURS,
    UNION_COLOUR,
    ZONE_COLOUR,
    share_colour,
)
from geo.pipeline.job import CoverageJob
from geo.schema import STATION_TYPES
from geo.vocab import is_people, label, type_label
from geo.webmap.uncovered import UncoveredLayer, add_uncovered, legend_parts, uncovered_layer

MAX_AREA_POLYGONS: Final = 600
GZIP_ABOVE_BYTES: Final = 150_000  # station arrays above this are embedded gzip-compressed
MAX_NETWORK_EDGES: Final = 25_000
DISPLAY_SIMPLIFY_M: Final = 5.0
MAX_LAYER_COORDS: Final = 40_000  # vertices per polygon layer on the map (~0.8 MB)
_TOPOLOGY_MAX_COORDS: Final = 20_000  # topology-preserving simplification up to this size

LAYER_KEYS: Final = ("stations", "offnetwork", "bases", "zones", "towns", "uncovered", "union",
                     "areas", "network")


@dataclass(frozen=True)
class TileSource:
    key: str
    url: str | None
    attribution: str
    gcj02: bool
    label_zh: str
    label_en: str


TILE_SOURCES: Final[dict[str, TileSource]] = {
    "none": TileSource("none", None, "", False, "无底图（离线）", "No basemap (offline)"),
    "osm": TileSource("osm", "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                      "© OpenStreetMap contributors", False,
                      "OpenStreetMap（需联网）", "OpenStreetMap (needs internet)"),
    "amap": TileSource(
        "amap",
        "https://webrd02.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
        "&x={x}&y={y}&z={z}",
        "© 高德地图 AutoNavi", True,
        "高德地图（需联网；GCJ-02，与数据偏移约300–600米）",
        "Amap (needs internet; GCJ-02: offset ~300–600 m from the WGS-84 data)"),
}

@dataclass(frozen=True)
class MapData:
    """Display layers of one job (WGS-84, simplified, escaped). Read-only."""

    bounds: tuple[float, float, float, float]  # lon/lat
    station_rows: list[list[Any]]
    off_rows: list[list[Any]]
    bases: list[list[Any]]
    zones: dict[str, Any] | None
    towns: dict[str, Any] | None
    union: dict[str, Any] | None
    areas: dict[str, Any] | None
    network: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)
    #: people outside the union by raster cell (with a population raster)
    uncovered: UncoveredLayer | None = None


def _to_ll(geoms: np.ndarray, crs: Any, simplify_m: float,
           max_coords: int | None = None) -> np.ndarray:
    """Simplify (metres, network CRS) and project to lon/lat rounded to 1e-6°.

    With ``max_coords`` the tolerance doubles until the layer has at most that many
    vertices, so a province-size union stays a few hundred kB on the map.
    """
    g = np.asarray(geoms, dtype=object)
    tol = simplify_m
    n0 = int(shapely.get_num_coordinates(g).sum())
    if max_coords is not None and n0 > 4 * max_coords:
        # far too detailed: start near the needed tolerance
        tol = max(simplify_m, simplify_m * (n0 / max_coords) ** 0.5)
    out = _simplify(g, tol, keep_topology=n0 <= _TOPOLOGY_MAX_COORDS) if tol > 0 else g
    while max_coords is not None and int(shapely.get_num_coordinates(out).sum()) > max_coords \
            and tol < 2_000:
        tol *= 2.0
        # from the last result: each round works on fewer vertices
        out = _simplify(out, tol, keep_topology=False)
    out = transform_geometries(out, crs, WGS84)
    # round to 1e-6° (≈ 0.1 m): a display layer needs no validity repair
    return np.asarray(shapely.transform(out, lambda c: np.round(c, 6)), dtype=object)


def _simplify(g: np.ndarray, tol: float, *, keep_topology: bool) -> np.ndarray:
    """Douglas–Peucker at ``tol`` m: topology-preserving for small layers; for large
    polygon layers ring by ring (GEOS repairs each simplified *polygon* with a buffer,
    which takes seconds on a union with thousands of holes; rings need no repair)."""
    if keep_topology:
        return np.asarray(shapely.simplify(g, tol, preserve_topology=True), dtype=object)
    kinds = shapely.get_type_id(g)
    if g.size == 0 or not bool(np.isin(kinds, (3, 6)).all()):
        return np.asarray(shapely.simplify(g, tol, preserve_topology=False), dtype=object)
    return _simplify_rings(g, tol)


def _simplify_rings(g: np.ndarray, tol: float) -> np.ndarray:
    """Polygons simplified ring by ring; a ring collapsing below a triangle is dropped
    (with its holes, when it was the outer one)."""
    parts, owner = shapely.get_parts(g, return_index=True)
    rings, part_of = shapely.get_rings(parts, return_index=True)
    simple = shapely.simplify(rings, tol, preserve_topology=False)
    ok = (shapely.get_type_id(simple) == 2) & (shapely.get_num_coordinates(simple) >= 4)
    first = np.r_[True, part_of[1:] != part_of[:-1]]  # the outer ring of each part
    outer_ok = np.zeros(parts.size, dtype=bool)
    outer_ok[part_of[first]] = ok[first]
    keep = ok & outer_ok[part_of]
    out = np.array([shapely.Polygon()] * g.size, dtype=object)
    if not keep.any():
        return out
    kept_parts, local = np.unique(part_of[keep], return_inverse=True)
    polys = shapely.polygons(simple[keep], indices=local)
    owners, pidx = np.unique(owner[kept_parts], return_inverse=True)
    out[owners] = shapely.multipolygons(polys, indices=pidx)
    return out


def _fc(geoms: np.ndarray, props: list[dict[str, Any]]) -> dict[str, Any]:
    g = np.asarray(geoms, dtype=object)
    keep = [i for i in range(g.size) if g[i] is not None and not shapely.is_empty(g[i])]
    texts = shapely.to_geojson(g[keep]) if keep else []
    feats = [{"type": "Feature", "properties": props[i], "geometry": json.loads(t)}
             for i, t in zip(keep, texts, strict=True)]
    return {"type": "FeatureCollection", "features": feats}


def _fmt(x: Any, nd: int = 0) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return ""
    if not np.isfinite(v):
        return ""
    return f"{v:,.{nd}f}"


def _station_rows(st: Any, ll: Any, table: Any) -> tuple[list[list[Any]], list[list[Any]]]:
    """Compact marker rows of the used and the off-network stations (text escaped)."""
    types = list(STATION_TYPES)
    xs = ll.x.to_numpy()
    ys = ll.y.to_numpy()
    n = len(st)
    addr = st["address"].to_numpy() if "address" in st else [None] * n
    rows: list[list[Any]] = []
    off: list[list[Any]] = []
    for x, y, t, name, ad, snap, near, status, reason in zip(
            xs, ys, st["type"].to_numpy(), st["name"].to_numpy(), addr,
            table["snap_dist_m"].to_numpy(), table["nearest_covered_length_m"].to_numpy(),
            st["status"].to_numpy(), st["status_reason"].to_numpy(), strict=True):
        if not (np.isfinite(x) and np.isfinite(y)):
            continue
        row = [round(float(y), 5), round(float(x), 5), types.index(t) if t in types else 5,
               esc(name), esc(ad) if "address" in st else "", _fmt(snap), _fmt(near)]
        if status == "used":
            rows.append(row)
        else:
            off.append(row + [esc(reason)])
    return rows, off


def _town_props(towns_df: Any, *, people: bool) -> list[dict[str, Any]]:
    """Popup properties of each town (or cell), text escaped."""
    share_col = "covered_population_share" if people else "covered_length_share"
    out = []
    for tid, name, share, rank, pop, p90, note in zip(
            towns_df["town_id"].to_numpy(), towns_df["name"].to_numpy(),
            towns_df[share_col].to_numpy(dtype=float), towns_df["rank"].to_numpy(),
            towns_df["population"].to_numpy(), towns_df["walk_time_p90_min"].to_numpy(),
            towns_df["walk_time_p90_note"].to_numpy(), strict=True):
        ok = bool(np.isfinite(share))
        out.append({
            "town_id": esc(tid), "name": esc(name),
            "share": float(share) if ok else None,
            "share_txt": _fmt(share * 100, 0) + "%" if ok else "—",
            "rank": int(rank), "population": _fmt(pop),
            "p90": _fmt(p90, 1) or esc(note),
        })
    return out


def station_areas_layer(areas: Any) -> dict[str, Any]:
    """The per-station service areas layer from :func:`~geo.coverage.service_areas.
    per_station_polygons` / ``service_area_of`` rows (network CRS; names escaped)."""
    return _fc(_to_ll(areas.geometry.to_numpy(), areas.crs, DISPLAY_SIMPLIFY_M),
               [{"name": esc(n), "area_km2": _fmt(a / 1e6, 2)}
                for n, a in zip(areas["name"], areas["area_m2"], strict=True)])


def with_station_areas(data: MapData, areas: Any) -> MapData:
    """``data`` whose service-areas layer shows ``areas`` (stations chosen on demand:
    :func:`~geo.coverage.service_areas.service_area_of`)."""
    notes = [n for n in data.notes if n != "areas_too_many"]
    return dataclasses.replace(data, areas=station_areas_layer(areas) if len(areas) else None,
                               notes=notes)


def map_data(job: CoverageJob, *, lang: str = "zh") -> MapData:
    """Precompute every display layer of ``job``."""
    crs = job.network.crs
    cov = job.coverage
    st = cov.stations
    ll = st.geometry.to_crs(WGS84)
    table = cov.station_table()
    rows, off = _station_rows(st, ll, table)
    bases = []
    if job.bases is not None and len(job.bases):
        b = job.bases.to_crs(WGS84)
        for i in range(len(b)):
            g = b.geometry.iloc[i]
            bases.append([round(g.y, 6), round(g.x, 6), esc(b["name"].iloc[i]),
                          esc(b["address"].iloc[i]) if "address" in b else ""])
    zones = None
    if job.zones_layer is not None and len(job.zones_layer):
        zl = job.zones_layer
        z = job.zones.set_index("zone_id") if job.zones is not None else None
        props = []
        for zid, name in zip(zl["zone_id"], zl["name"], strict=True):
            share = z.loc[zid, "covered_length_share"] if z is not None else np.nan
            near = z.loc[zid, "nearest_walk_time_min"] if z is not None else np.nan
            props.append({"name": esc(name), "share": _fmt(share * 100, 0) + "%",
                          "nearest_min": _fmt(near, 1) or "—"})
        zones = _fc(_to_ll(zl.geometry.to_numpy(), crs, DISPLAY_SIMPLIFY_M), props)
    towns_df = job.towns.towns
    tprops = _town_props(towns_df, people=is_people(job.towns.demand_basis))
    towns = _fc(_to_ll(towns_df.geometry.to_numpy(), crs, DISPLAY_SIMPLIFY_M,
                       max_coords=MAX_LAYER_COORDS), tprops)
    union = None
    if not shapely.is_empty(job.areas.union):
        union = _fc(_to_ll(np.array([job.areas.union]), crs, DISPLAY_SIMPLIFY_M,
                           max_coords=MAX_LAYER_COORDS),
                    [{"area_km2": _fmt(job.areas.union_area_m2 / 1e6, 2)}])
    notes: list[str] = []
    areas = None
    per = job.areas.per_station
    if per is not None and 0 < len(per) <= MAX_AREA_POLYGONS:
        areas = station_areas_layer(per)
    elif per is not None and len(per) > MAX_AREA_POLYGONS:
        notes.append("areas_too_many")
    network = None
    net = job.network
    if net.n_edges <= MAX_NETWORK_EDGES:
        share = np.divide(cov.edge_covered_m, net.length_m, out=np.ones(net.n_edges),
                          where=net.length_m > 0)
        network = _fc(_to_ll(net.geometry, crs, 1.0),
                      [{"c": 2 if s > 0.999 else (1 if s > 0.001 else 0)} for s in share])
    else:
        notes.append("network_too_big")
    x0, y0, x1, y1 = transform_geometries(
        np.array([shapely.box(*net.bounds)]), crs, WGS84)[0].bounds
    return MapData(bounds=(x0, y0, x1, y1), station_rows=rows, off_rows=off, bases=bases,
                   zones=zones, towns=towns, union=union, areas=areas, network=network,
                   notes=notes, uncovered=uncovered_layer(job))


def _js_json(obj: Any) -> str:
    """JSON safe inside a <script> element (UTF-8 kept; <, >, & and separators escaped)."""
    s = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


class StationLayer(JSCSSMixin, MacroElement):
    """Clustered canvas circle markers from compact rows
    ``[lat, lon, type_idx, name, address, snap_m, covered_m, (reason)]`` (text escaped)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.markerClusterGroup({disableClusteringAtZoom: 16,
            chunkedLoading: true, showCoverageOnHover: false, maxClusterRadius: 50});
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        (function(cluster){
            var labels = {{ this.labels_json }};
            var colours = {{ this.colours_json }};
            var typeNames = {{ this.types_json }};
            function build(rows) {
                var markers = [];
                for (var i = 0; i < rows.length; i++) {
                    var r = rows[i];
                    var m = L.circleMarker([r[0], r[1]], {radius: 6,
                        color: "#ffffff", weight: 1.5,
                        fillColor: {{ this.fixed_colour }} || colours[r[2]],
                        fillOpacity: 0.95});
                    var html = "<b>" + r[3] + "</b><br>" + labels.type + ": " + typeNames[r[2]]
                        + (r[4] ? "<br>" + labels.address + ": " + r[4] : "")
                        + "<br>" + labels.snap + ": " + r[5] + " m"
                        + (r[6] !== "" ? "<br>" + labels.covered + ": " + r[6] + " m" : "")
                        + (r.length > 7 ? "<br>" + labels.status + ": " + r[7] : "");
                    m.bindPopup(html, {maxWidth: 320});
                    m.bindTooltip(r[3]);
                    markers.push(m);
                }
                cluster.addLayers(markers);
            }
            {% if this.gzip_b64 %}
            // large lists travel gzip-compressed (base64) and are inflated in the browser
            var bin = atob("{{ this.gzip_b64 }}");
            var bytes = new Uint8Array(bin.length);
            for (var j = 0; j < bin.length; j++) bytes[j] = bin.charCodeAt(j);
            new Response(new Blob([bytes]).stream().pipeThrough(
                new DecompressionStream("gzip"))).text()
                .then(function (t) { build(JSON.parse(t)); });
            {% else %}
            build({{ this.rows_json }});
            {% endif %}
        })({{ this.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, rows: list[list[Any]], *, lang: str, fixed_colour: str | None = None):
        super().__init__()
        self.default_js = list(MarkerCluster.default_js)
        self.default_css = list(MarkerCluster.default_css)
        self._name = "StationLayer"
        text = _js_json(rows)
        if len(text) > GZIP_ABOVE_BYTES:
            self.rows_json, self.gzip_b64 = "[]", base64.b64encode(
                gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)).decode("ascii")
        else:
            self.rows_json, self.gzip_b64 = text, ""
        self.labels_json = _js_json({k: esc(label(k, lang)) for k in
                                     ("type", "address", "snap", "covered", "status")})
        self.colours_json = _js_json([STATION_COLOURS[t] for t in STATION_TYPES])
        self.types_json = _js_json([esc(type_label(t, lang)) for t in STATION_TYPES])
        self.fixed_colour = _js_json(fixed_colour)


class MapControls(MacroElement):
    """A metric-only scale bar, and wheel zoom only after the map is clicked (so the
    wheel scrolls the page until the user means the map, as map sites do)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function(map){
            L.control.scale({metric: true, imperial: false}).addTo(map);
            map.on("click", function () { map.scrollWheelZoom.enable(); });
            map.on("mouseout", function () { map.scrollWheelZoom.disable(); });
        })({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self) -> None:
        super().__init__()
        self._name = "MapControls"


class Legend(MacroElement):
    """A legend box as a Leaflet control (its text is built from constants, escaped)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function(){
            var legend = L.control({position: "bottomleft"});
            legend.onAdd = function () {
                var div = L.DomUtil.create("div", "yizhan-legend");
                div.style.cssText = "background:rgba(255,255,255,0.92);padding:6px 9px;"
                    + "border:1px solid #999;border-radius:4px;font:12px sans-serif;"
                    + "max-width:260px;line-height:1.45";
                div.innerHTML = {{ this.body_json }};
                return div;
            };
            legend.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
    """)

    def __init__(self, body: str):
        super().__init__()
        self._name = "Legend"
        self.body_json = _js_json(body)


def build_map(data: MapData, *, lang: str = "zh", layers: frozenset[str] | None = None,
              tiles: str = "none", focus_town: str | None = None,
              height: int = 620, extra_layers: Sequence[Any] = (),
              legend_extra: Sequence[LegendEntry] = ()) -> folium.Map:
    """Assemble the folium map (assets still CDN links: call ``geo.webmap.offline.localize``).

    ``extra_layers`` (folium layers built by the caller) are added before the layer
    control, which must come last: its script refers to every layer's variable.
    ``legend_extra``: the legend entries of those layers (:func:`legend_html`).
    """
    layers = frozenset(LAYER_KEYS) - {"network", "areas"} if layers is None else layers
    m = _base_map(data, lang=lang, tiles=tiles, height=height)
    _add_towns(m, data, lang=lang, layers=layers, focus_town=focus_town)
    if "uncovered" in layers and data.uncovered is not None and \
            data.uncovered.geojson["features"]:
        add_uncovered(m, data.uncovered, lang=lang)
    _add_areas(m, data, lang=lang, layers=layers)
    _add_points(m, data, lang=lang, layers=layers)
    for layer in extra_layers:
        layer.add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    if focus_town is None:
        x0, y0, x1, y1 = data.bounds
        m.fit_bounds([[y0, x0], [y1, x1]])
    Legend(legend_html(lang, layers, data, extra=legend_extra)).add_to(m)
    return m


def _base_map(data: MapData, *, lang: str, tiles: str, height: int) -> folium.Map:
    src = TILE_SOURCES.get(tiles, TILE_SOURCES["none"])
    x0, y0, x1, y1 = data.bounds
    m = folium.Map(location=[(y0 + y1) / 2, (x0 + x1) / 2], tiles=None, zoom_start=13,
                   control_scale=False, prefer_canvas=True, maxZoom=19, height=height,
                   scrollWheelZoom=False)
    MapControls().add_to(m)
    if src.url:
        folium.TileLayer(tiles=src.url, attr=esc(src.attribution),
                         name=esc(src.label_zh if lang == "zh" else src.label_en),
                         max_zoom=19).add_to(m)
    return m


def _add_towns(m: folium.Map, data: MapData, *, lang: str, layers: frozenset[str],
               focus_town: str | None) -> None:
    if "towns" not in layers or not data.towns or not data.towns["features"]:
        return
    tooltip = folium.GeoJsonTooltip(
        fields=["name", "share_txt", "rank", "p90"],
        aliases=[label("town", lang), label("share", lang), label("rank", lang),
                 "P90 (min)"], sticky=False)
    folium.GeoJson(
        data.towns, name=label("towns", lang),
        style_function=lambda f: {"fillColor": share_colour(f["properties"]["share"]),
                                  "color": "#555555", "weight": 1.2,
                                  "fillOpacity": 0.45},
        highlight_function=lambda f: {"weight": 3, "color": "#000000"},
        tooltip=tooltip,
    ).add_to(m)
    if focus_town is None:
        return
    for f in data.towns["features"]:
        if f["properties"]["town_id"] == esc(focus_town):
            b = shapely.geometry.shape(f["geometry"]).bounds
            m.fit_bounds([[b[1], b[0]], [b[3], b[2]]])
            folium.GeoJson(f, name=label("focus_town", lang), control=False,
                           interactive=False, style_function=lambda _f: {
                               "fill": False, "color": "#000000", "weight": 4}).add_to(m)


def _add_areas(m: folium.Map, data: MapData, *, lang: str, layers: frozenset[str]) -> None:
    """Street network, service-area union, per-station areas and rider zones."""
    if "network" in layers and data.network:
        cols = STREET_COLOURS
        folium.GeoJson(data.network, name=label("network", lang),
                       style_function=lambda f: {"color": cols[f["properties"]["c"]],
                                                 "weight": 1.5, "opacity": 0.8}).add_to(m)
    if "union" in layers and data.union:
        # not interactive: the towns underneath keep their tooltip and clicks
        folium.GeoJson(data.union, name=label("union", lang), interactive=False,
                       style_function=lambda _f: {"fillColor": UNION_COLOUR,
                                                  "color": UNION_COLOUR, "weight": 1,
                                                  "fillOpacity": 0.25}).add_to(m)
    if "areas" in layers and data.areas:
        folium.GeoJson(data.areas, name=label("areas", lang),
                       style_function=lambda _f: {"fill": False, "color": "#08519c",
                                                  "weight": 1, "dashArray": "3 3"},
                       tooltip=folium.GeoJsonTooltip(fields=["name", "area_km2"],
                                                     aliases=["", "km²"])).add_to(m)
    if "zones" in layers and data.zones and data.zones["features"]:
        folium.GeoJson(data.zones, name=label("zones", lang),
                       style_function=lambda _f: {"fillColor": ZONE_COLOUR,
                                                  "color": ZONE_COLOUR, "weight": 2,
                                                  "dashArray": "6 4", "fillOpacity": 0.2},
                       tooltip=folium.GeoJsonTooltip(
                           fields=["name", "share", "nearest_min"],
                           aliases=[label("zones", lang), label("share", lang),
                                    "min"])).add_to(m)


def _add_points(m: folium.Map, data: MapData, *, lang: str, layers: frozenset[str]) -> None:
    """Convalescence bases, stations and off-network stations."""
    if "bases" in layers and data.bases:
        fg = folium.FeatureGroup(name=label("bases", lang))
        for lat, lon, name, addr in data.bases:
            folium.Marker(
                [lat, lon],
                icon=folium.DivIcon(
                    html=f'<div style="font-size:22px;color:{BASE_COLOUR};'
                         'text-shadow:0 0 2px #fff">★</div>',
                    icon_size=(22, 22), icon_anchor=(11, 11), class_name="yizhan-base"),
                popup=folium.Popup(f"<b>{name}</b><br>{addr}", max_width=300),
                tooltip=name).add_to(fg)
        fg.add_to(m)
    if "stations" in layers and data.station_rows:
        fg = folium.FeatureGroup(name=label("stations", lang))
        StationLayer(data.station_rows, lang=lang).add_to(fg)
        fg.add_to(m)
    if "offnetwork" in layers and data.off_rows:
        fg = folium.FeatureGroup(name=label("offnetwork", lang))
        StationLayer(data.off_rows, lang=lang, fixed_colour=OFF_NETWORK_COLOUR).add_to(fg)
        fg.add_to(m)


#: A caller's legend entry: (colour, symbol, text); a symbol ``""`` makes a bold heading.
LegendEntry = tuple[str, str, str]


def legend_html(lang: str, layers: frozenset[str], data: MapData, *,
                extra: Sequence[LegendEntry] = ()) -> str:
    """The legend's HTML; ``extra`` entries (escaped here) come last."""
    parts = []
    if "stations" in layers:
        parts.append("<b>" + esc(label("stations", lang)) + "</b>")
        for t, c in STATION_COLOURS.items():
            parts.append(f'<span style="color:{c}">●</span> {esc(type_label(t, lang))}')
        if data.off_rows:
            parts.append(f'<span style="color:{OFF_NETWORK_COLOUR}">●</span> '
                         f'{esc(label("offnetwork", lang))}')
    if "bases" in layers and data.bases:
        parts.append(f'<span style="color:{BASE_COLOUR}">★</span> {esc(label("bases", lang))}')
    if "zones" in layers and data.zones:
        parts.append(f'<span style="color:{ZONE_COLOUR}">▨</span> {esc(label("zones", lang))}')
    if "union" in layers:
        parts.append(f'<span style="color:{UNION_COLOUR}">■</span> {esc(label("union", lang))}')
    if "towns" in layers:
        parts.append("<b>" + esc(label("share", lang)) + "</b>")
        edges = (0.0, *SHARE_BINS, 1.0)
        for i, c in enumerate(SHARE_COLOURS):
            parts.append(f'<span style="color:{c}">■</span> '
                         f"{edges[i]:.0%}–{edges[i + 1]:.0%}")
    if "uncovered" in layers and data.uncovered is not None and \
            data.uncovered.geojson["features"]:
        parts += legend_parts(data.uncovered, lang=lang)
    if "areas_too_many" in data.notes and "areas" in layers:
        parts.append(esc("站点过多，未绘制各站点服务圈" if lang == "zh"
                         else "Too many stations to draw each service area"))
    if "network_too_big" in data.notes and "network" in layers:
        parts.append(esc("路网过大，未绘制" if lang == "zh" else "Network too large to draw"))
    for colour, symbol, text in extra:
        parts.append(f'<span style="color:{esc(colour)}">{esc(symbol)}</span> {esc(text)}'
                     if symbol else "<b>" + esc(text) + "</b>")
    return "<br>".join(parts)


def compare_map(before: CoverageJob, after: CoverageJob, *, lang: str = "zh",
                tiles: str = "none", height: int = 520) -> folium.Map:
    """Areas gained (green) and lost (red) by a new station list, with its stations."""
    crs = before.network.crs
    gained = shapely.difference(after.areas.union, before.areas.union)
    lost = shapely.difference(before.areas.union, after.areas.union)
    data = map_data(after, lang=lang)
    extra = []
    for geom, colour, key in ((gained, "#1a9641", ("新增覆盖", "Gained")),
                              (lost, "#d7191c", ("失去覆盖", "Lost"))):
        if shapely.is_empty(geom):
            continue
        fc = _fc(_to_ll(np.array([geom]), crs, DISPLAY_SIMPLIFY_M, max_coords=MAX_LAYER_COORDS),
                 [{"area_km2": _fmt(shapely.area(geom) / 1e6, 2)}])
        extra.append(folium.GeoJson(
            fc, name=esc(key[0] if lang == "zh" else key[1]),
            style_function=lambda _f, c=colour: {"fillColor": c, "color": c, "weight": 1,
                                                 "fillOpacity": 0.45}))
    m = build_map(data, lang=lang, layers=frozenset({"stations", "offnetwork", "union"}),
                  tiles=tiles,
                  height=height, extra_layers=extra)
    return m
