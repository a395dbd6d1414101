"""The uncovered-population map layer: people outside the service-area union, by cell
of the population raster, as a colour layer (no Streamlit here).

:func:`uncovered_layer` builds it once from a job with people
(:func:`geo.pipeline.people.uncovered_cells`): each raster cell with uncovered people
inside the towns (or analysis cells) becomes its square, in WGS-84, coloured by one of
five classes whose bounds are the quantiles (20/40/60/80 %) of the uncovered people per
cell. Province scale: at most :data:`MAX_UNCOVERED_CELLS` cells — those with the most
uncovered people — are drawn, and the map says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import folium
import numpy as np
import shapely

from geo.crs import WGS84, transform_geometries
from geo.io.htmlsafe import esc
from geo.palette import PEOPLE_COLOURS
from geo.pipeline.job import CoverageJob
from geo.pipeline.people import uncovered_cells
from geo.vocab import label

MAX_UNCOVERED_CELLS: Final = 15_000
_QUANTILES: Final = (0.2, 0.4, 0.6, 0.8)


@dataclass(frozen=True)
class UncoveredLayer:
    """The layer's GeoJSON (``people``, ``c`` = colour class per cell), the class bounds
    (people per cell) and whether cells were left out (read-only)."""

    geojson: dict[str, Any]
    bounds: tuple[float, ...]
    capped: bool
    total: float


def uncovered_layer(job: CoverageJob) -> UncoveredLayer | None:
    """The uncovered people of ``job`` by raster cell (``None`` without a raster)."""
    if job.people is None:
        return None
    cells = uncovered_cells(job.people.grid, units=job.towns.towns.geometry.to_numpy(),
                            union=job.areas.union, crs=job.network.crs)
    people = cells["uncovered_population"].to_numpy(dtype=float)
    total = float(people.sum())
    keep = np.argsort(-people, kind="stable")[:MAX_UNCOVERED_CELLS]
    rows, cols = cells["row"].to_numpy()[keep], cells["col"].to_numpy()[keep]
    values = people[keep]
    bounds = tuple(float(b) for b in np.quantile(values, _QUANTILES)) if values.size else ()
    classes = np.searchsorted(np.asarray(bounds), values, side="left")
    squares = _squares(job, rows, cols)
    features = [{"type": "Feature", "geometry": shapely.geometry.mapping(g),
                 "properties": {"people": f"{v:,.0f}", "c": int(c)}}
                for g, v, c in zip(squares, values, classes, strict=True)]
    return UncoveredLayer(geojson={"type": "FeatureCollection", "features": features},
                          bounds=bounds, capped=len(cells) > MAX_UNCOVERED_CELLS,
                          total=total)


def _squares(job: CoverageJob, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The raster cells' squares in WGS-84 (coordinates rounded to 1e-6°)."""
    assert job.people is not None
    grid = job.people.grid
    t = grid.transform
    x0 = t.c + cols * t.a
    y0 = t.f + rows * t.e
    boxes = shapely.box(np.minimum(x0, x0 + t.a), np.minimum(y0, y0 + t.e),
                        np.maximum(x0, x0 + t.a), np.maximum(y0, y0 + t.e))
    ll = transform_geometries(shapely.segmentize(np.asarray(boxes, dtype=object),
                                                 abs(t.a) / 2), grid.crs, WGS84)
    return np.asarray(shapely.set_precision(ll, 1e-6), dtype=object)


def add_uncovered(m: folium.Map, layer: UncoveredLayer, *, lang: str) -> None:
    """Add the layer to ``m`` (cells filled by class, no outline; tooltip: the people)."""
    colours = PEOPLE_COLOURS
    folium.GeoJson(
        layer.geojson, name=label("uncovered", lang),
        style_function=lambda f: {"fillColor": colours[f["properties"]["c"]],
                                  "color": colours[f["properties"]["c"]], "weight": 0,
                                  "fillOpacity": 0.7},
        tooltip=folium.GeoJsonTooltip(fields=["people"],
                                      aliases=[label("uncovered_people", lang)]),
    ).add_to(m)


def legend_parts(layer: UncoveredLayer, *, lang: str) -> list[str]:
    """The legend lines (HTML, escaped): heading, then each class's people per cell."""
    parts = ["<b>" + esc(label("uncovered", lang)) + "</b>"]
    edges = (0.0, *layer.bounds, None)
    unit = label("people_per_cell", lang)
    for i, colour in enumerate(PEOPLE_COLOURS[:len(edges) - 1]):
        lo, hi = edges[i], edges[i + 1]
        text = f"> {lo:,.0f}" if hi is None else f"{lo:,.0f}–{hi:,.0f}"
        parts.append(f'<span style="color:{colour}">■</span> {esc(text)} {esc(unit)}')
    if layer.capped:
        parts.append(esc(f"仅绘制未覆盖人口最多的 {MAX_UNCOVERED_CELLS:,} 个单元" if lang == "zh"
                         else f"only the {MAX_UNCOVERED_CELLS:,} cells with the most "
                              "uncovered people are drawn"))
    return parts
