"""Map building (:mod:`geo.webmap.maps`, :mod:`geo.webmap.offline`): escaping, offline, size."""

from __future__ import annotations

import re

import numpy as np
import pytest

from geo.io.htmlsafe import esc
from geo.pipeline.job import run_demo
from geo.webmap.maps import LAYER_KEYS, MapData, build_map, map_data
from geo.webmap.offline import MissingAssetError, local_url, localize, standalone_html

HOSTILE = '<img src=x onerror="window.__pwned=1">${window.__pwned=2}`x`'


@pytest.fixture(scope="module")
def demo_data() -> MapData:
    return map_data(run_demo(), lang="zh")


def test_esc_neutralises_html_and_template_literals() -> None:
    out = esc(HOSTILE)
    assert "<" not in out and ">" not in out and "${" not in out and "`" not in out
    assert esc(None) == "" and esc(float("nan")) == ""


def test_static_map_has_no_cdn_links(demo_data: MapData) -> None:
    m = localize(build_map(demo_data, layers=frozenset(LAYER_KEYS)), mode="static")
    html = m.get_root().render()
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls, "the map should reference its assets"
    assert all(u.startswith("/app/static/folium/") for u in urls), urls
    assert "cdn.jsdelivr" not in html and "cdnjs" not in html and "code.jquery" not in html


def test_standalone_html_inlines_everything(demo_data: MapData) -> None:
    html = standalone_html(build_map(demo_data))
    assert "data:text/javascript;base64," in html
    assert not re.findall(r'<script[^>]+src="https?://', html)


def test_unknown_cdn_asset_raises() -> None:
    with pytest.raises(MissingAssetError):
        local_url("https://cdn.example.org/evil.js", "static")


def _hostile_data(n: int) -> MapData:
    rng = np.random.default_rng(0)
    name = "深圳市福田区工会驿站" + HOSTILE
    addr = "广东省深圳市福田区某某街道某某路123号"
    rows = [[round(22.5 + rng.random() * 0.05, 6), round(114.0 + rng.random() * 0.05, 6),
             int(rng.integers(0, 6)), esc(f"{name}{i}"), esc(addr), "12", "4,321"]
            for i in range(n)]
    return MapData(bounds=(114.0, 22.5, 114.05, 22.55), station_rows=rows, off_rows=[],
                   bases=[], zones=None, towns=None, union=None, areas=None, network=None)


def test_hostile_names_do_not_reach_html_raw() -> None:
    html = localize(build_map(_hostile_data(5))).get_root().render()
    assert "<img src=x" not in html and "${window" not in html and "`x`" not in html
    assert "onerror" in html  # present, but only as escaped text


def test_16000_stations_stay_under_3_mb() -> None:
    html = localize(build_map(_hostile_data(16_000), layers=frozenset({"stations"}))) \
        .get_root().render()
    size_mb = len(html.encode("utf-8")) / 1e6
    assert size_mb <= 3.0, f"{size_mb:.2f} MB"


def test_demo_map_data_layers(demo_data: MapData) -> None:
    assert len(demo_data.station_rows) == 30 and len(demo_data.off_rows) == 2
    assert demo_data.towns is not None and len(demo_data.towns["features"]) == 6
    assert demo_data.zones is not None and len(demo_data.zones["features"]) == 2
    assert demo_data.union is not None and demo_data.network is not None
    assert len(demo_data.bases) == 2


def test_uncovered_population_layer_by_raster_cell(demo_data: MapData) -> None:
    """The demo (with its synthetic raster) gets the uncovered-people layer: one square per
    raster cell with people outside the union, summing to the uncovered people, five
    classes in the legend; off when the layer is not chosen, absent without a raster."""
    from geo.webmap.uncovered import uncovered_layer

    job = run_demo()
    layer = demo_data.uncovered
    assert layer is not None and layer.geojson["features"] and not layer.capped
    assert "uncovered" in LAYER_KEYS
    people = job.people
    assert layer.total == pytest.approx(
        people.total_population - people.covered_units_population, rel=1e-3)
    classes = {f["properties"]["c"] for f in layer.geojson["features"]}
    assert classes <= set(range(5)) and len(classes) > 1
    html = build_map(demo_data, lang="en",
                     layers=frozenset({"towns", "uncovered"})).get_root().render()
    assert "Uncovered people (by raster cell)" in html and "people per cell" in html
    off = build_map(demo_data, lang="en", layers=frozenset({"towns"})).get_root().render()
    assert "Uncovered people (by raster cell)" not in off
    assert uncovered_layer(run_demo(population=False)) is None
    cell = layer.geojson["features"][0]["geometry"]["coordinates"][0]
    lons = [c[0] for c in cell]
    assert 0.0008 < max(lons) - min(lons) < 0.0012  # a 100 m square at 22.5° N


def test_chosen_station_areas_replace_the_areas_layer() -> None:
    from geo.coverage.service_areas import service_area_of
    from geo.webmap.maps import with_station_areas

    job = run_demo(per_station_areas=False)
    data = map_data(job)
    assert data.areas is None  # none built with the job
    ids = job.coverage.used["station_id"].tolist()[:2]
    areas = service_area_of(job.coverage, ids)
    shown = with_station_areas(data, areas)
    feats = shown.areas["features"]
    assert [f["properties"]["name"] for f in feats] == [esc(n) for n in areas["name"]]
    assert [f["properties"]["area_km2"] for f in feats] == \
        [f"{a / 1e6:,.2f}" for a in areas["area_m2"]]
    html = build_map(shown, layers=frozenset({"areas"})).get_root().render()
    assert html.count('"area_km2"') >= len(areas)  # the chosen areas are drawn
    assert with_station_areas(data, areas.iloc[:0]).areas is None
