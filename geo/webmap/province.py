"""The province map: a choropleth of the batch partitions (cities) by covered street
share, every name escaped (:func:`geo.io.htmlsafe.esc`), no tiles unless asked for."""

from __future__ import annotations

import folium
import geopandas as gpd

from geo.crs import WGS84
from geo.io.htmlsafe import esc
from geo.palette import share_colour
from geo.vocab import label


def province_map(polygons: gpd.GeoDataFrame, *, lang: str, selected: str | None = None,
                 height: int = 520) -> folium.Map:
    """Partitions coloured by ``covered_length_share`` with a tooltip (name, share)."""
    gdf = polygons.to_crs(WGS84)
    x0, y0, x1, y1 = (float(v) for v in gdf.total_bounds)
    m = folium.Map(location=[(y0 + y1) / 2, (x0 + x1) / 2], tiles=None, zoom_start=8,
                   control_scale=True, prefer_canvas=True, height=height)
    share_name = label("share", lang)
    for _, row in gdf.iterrows():
        share = row.get("covered_length_share")
        share_f = float(share) if share is not None and share == share else None
        colour = share_colour(share_f)
        text = f"{esc(row['name'])} — {share_name} " + \
            (f"{share_f:.1%}" if share_f is not None else esc(row.get("status")))
        weight = 3 if row["name"] == selected else 1
        folium.GeoJson(
            row.geometry.__geo_interface__, name=esc(row["name"]),
            style_function=lambda _f, c=colour, w=weight: {
                "fillColor": c, "color": "#333333", "weight": w, "fillOpacity": 0.7},
            tooltip=folium.Tooltip(text),
        ).add_to(m)
    m.fit_bounds([[y0, x0], [y1, x1]])
    return m
