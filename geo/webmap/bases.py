"""The convalescence-base map (疗休养基地): towns coloured by drive time to their nearest
base, the bases, and a chosen town's routes to its nearest bases.

Every name (towns, bases, streets — uploaded text) is escaped with
:func:`geo.io.htmlsafe.esc` before it reaches a tooltip, popup or the legend; the page
serves the map's assets offline with :func:`geo.webmap.offline.localize`.
"""

from __future__ import annotations

from typing import Any

import folium
import geopandas as gpd
import numpy as np

from geo.crs import WGS84, require_crs
from geo.io.htmlsafe import esc
from geo.palette import (
    BASE_COLOUR,
    DRIVE_TIME_COLOURS,
    ROUTE_COLOURS,
    UNREACHABLE_COLOUR,
    drive_time_colour,
)
from geo.pipeline.bases import RegionBases
from geo.vocab import label, pick
from geo.webmap.maps import TILE_SOURCES, Legend, MapControls


def bases_map(rb: RegionBases, *, routes: gpd.GeoDataFrame | None = None,
              lang: str = "zh", tiles: str = "none", height: int = 560) -> folium.Map:
    """Towns by drive time (against the first three limits), bases as stars and —
    given ``routes`` (WGS-84, from :func:`geo.pipeline.bases.town_routes`) — the routes
    with their minutes, kilometres and streets."""
    require_crs(rb.towns, WGS84, what="towns")
    limits = rb.access.limits_min
    m = _frame(rb, tiles=tiles, lang=lang, height=height)
    _add_towns(m, rb, limits, lang)
    _add_bases(m, rb, lang)
    if routes is not None and len(routes):
        require_crs(routes, WGS84, what="routes")
        _add_routes(m, routes, lang)
    Legend(_legend(limits, lang, routes)).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    return m


def _frame(rb: RegionBases, *, tiles: str, lang: str, height: int) -> folium.Map:
    x0, y0, x1, y1 = rb.towns.total_bounds
    m = folium.Map(location=[(y0 + y1) / 2, (x0 + x1) / 2], tiles=None, zoom_start=12,
                   control_scale=False, prefer_canvas=True, maxZoom=19, height=height,
                   scrollWheelZoom=False)
    MapControls().add_to(m)
    src = TILE_SOURCES.get(tiles, TILE_SOURCES["none"])
    if src.url:
        folium.TileLayer(tiles=src.url, attr=esc(src.attribution),
                         name=esc(pick(src.label_zh, src.label_en, lang)),
                         max_zoom=19).add_to(m)
    m.fit_bounds([[y0, x0], [y1, x1]])
    return m


def _minutes_text(v: Any, lang: str) -> str:
    if v is None or v != v:
        return pick("不可达", "unreachable", lang)
    return f"{float(v):.1f} min"


def _add_towns(m: folium.Map, rb: RegionBases, limits: tuple[float, ...], lang: str) -> None:
    feats = []
    for r in rb.towns.itertuples():
        feats.append({"type": "Feature", "geometry": r.geometry.__geo_interface__,
                      "properties": {
                          "name": esc(r.name), "base": esc(r.nearest_base_name or "—"),
                          "time": esc(_minutes_text(r.drive_time_min, lang)),
                          "colour": drive_time_colour(r.drive_time_min, limits)}})
    folium.GeoJson(
        {"type": "FeatureCollection", "features": feats},
        name=esc(label("drive_time_min", lang)),
        style_function=lambda f: {"fillColor": f["properties"]["colour"], "color": "#555555",
                                  "weight": 1.0, "fillOpacity": 0.45},
        highlight_function=lambda f: {"weight": 3, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(
            fields=["name", "base", "time"],
            aliases=[esc(label("town", lang)), esc(label("nearest_base", lang)),
                     esc(label("drive_time_min", lang))], sticky=False),
    ).add_to(m)


def _add_bases(m: folium.Map, rb: RegionBases, lang: str) -> None:
    fg = folium.FeatureGroup(name=esc(label("bases", lang)))
    for r in rb.bases.itertuples():
        name = esc(getattr(r, "name", ""))
        folium.Marker(
            [r.geometry.y, r.geometry.x],
            icon=folium.DivIcon(
                html=f'<div style="font-size:22px;color:{BASE_COLOUR};'
                     'text-shadow:0 0 2px #fff">★</div>',
                icon_size=(22, 22), icon_anchor=(11, 11), class_name="yizhan-base"),
            popup=folium.Popup(f"<b>{name}</b>", max_width=300), tooltip=name).add_to(fg)
    fg.add_to(m)


def _add_routes(m: folium.Map, routes: gpd.GeoDataFrame, lang: str) -> None:
    fg = folium.FeatureGroup(name=esc(pick("推荐路线", "Recommended routes", lang)))
    for r in routes.sort_values("rank", ascending=False).itertuples():
        colour = ROUTE_COLOURS[(int(r.rank) - 1) % len(ROUTE_COLOURS)]
        coords = np.asarray(r.geometry.coords)[:, :2]
        text = (f"<b>{int(r.rank)}. {esc(r.base_name)}</b><br>"
                f"{r.drive_time_min:.1f} min · {r.drive_distance_km:.1f} km<br>"
                f"{esc(r.streets)}")
        folium.PolyLine([[y, x] for x, y in coords.tolist()], color=colour, weight=5,
                        opacity=0.85, tooltip=folium.Tooltip(text),
                        popup=folium.Popup(text, max_width=320)).add_to(fg)
    fg.add_to(m)


def _legend(limits: tuple[float, ...], lang: str, routes: gpd.GeoDataFrame | None) -> str:
    parts = ["<b>" + esc(label("drive_time_min", lang)) + "</b>"]
    lows = (0.0, *limits[:3])
    for i, hi in enumerate(limits[:3]):
        parts.append(f'<span style="color:{DRIVE_TIME_COLOURS[i]}">■</span> '
                     f"{lows[i]:g}–{hi:g} min")
    parts.append(f'<span style="color:{DRIVE_TIME_COLOURS[-1]}">■</span> '
                 f"&gt; {limits[min(len(limits), 3) - 1]:g} min")
    parts.append(f'<span style="color:{UNREACHABLE_COLOUR}">■</span> '
                 + esc(pick("不可达", "unreachable", lang)))
    parts.append(f'<span style="color:{BASE_COLOUR}">★</span> {esc(label("bases", lang))}')
    if routes is not None and len(routes):
        for rank in sorted(routes["rank"].astype(int).tolist()):
            parts.append(f'<span style="color:{ROUTE_COLOURS[(rank - 1) % 3]}">━</span> '
                         + esc(pick(f"路线 {rank}", f"Route {rank}", lang)))
    return "<br>".join(parts)
