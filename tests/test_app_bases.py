"""The 疗休养基地 page (``pages/bases.py``) on the demo region, with AppTest; the base map
(:mod:`geo.webmap.bases`) escapes names."""

from __future__ import annotations

import dataclasses

import folium

from geo.pipeline.bases import drive_graph, region_base_access, town_routes
from geo.pipeline.region import demo_region
from geo.webmap.bases import bases_map
from tests.apphelp import metric, run_app


def test_bases_page_shows_access_beyond_and_routes() -> None:
    at = run_app(page="pages/bases.py")
    assert not at.error, [e.value for e in at.error]
    assert at.title[0].value == "职工疗休养基地"
    assert metric(at, "可驾车到达基地的镇街") == "6 / 6"
    assert metric(at, "基地数") == "2 / 2"
    beyond = at.dataframe[0].value
    assert len(beyond) == 3  # one row per default limit (30, 60, 120 min)
    town = at.selectbox(key="bases_town")
    town.set_value(town.options[1]).run()
    assert not at.exception and not at.error
    routes = at.dataframe[1].value
    assert 1 <= len(routes) <= 3
    assert routes.iloc[:, 0].tolist() == list(range(1, len(routes) + 1))
    assert any("路" in str(v) for v in routes.iloc[:, -1])  # street names along the way


def test_base_map_escapes_names_and_draws_routes() -> None:
    region = demo_region()
    bases = region.bases
    assert bases is not None
    hostile = bases.accepted.copy()
    hostile.loc[0, "name"] = "<script>alert(1)</script>"
    region = dataclasses.replace(region, bases=dataclasses.replace(bases, accepted=hostile))
    graph = drive_graph(region)
    rb = region_base_access(region, graph, limits_min=(5.0, 10.0, 30.0))
    routes = town_routes(rb, graph, rb.towns["town_id"].iloc[0])
    assert (routes["drive_time_min"].diff().dropna() >= 0).all()
    html = bases_map(rb, routes=routes).get_root().render()
    assert isinstance(bases_map(rb), folium.Map)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html or "&amp;lt;script" in html


def test_sidebar_ebike_mode_reloads_the_streets_and_covers_more() -> None:
    at = run_app()
    walk = metric(at, "步行覆盖街道")
    at.radio(key="mode").set_value("ebike").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.selectbox(key="ebike_speed").value == "standard"
    ebike = metric(at, "骑行覆盖街道")
    assert float(ebike.rstrip("%")) > float(walk.rstrip("%"))
    assert any("电动自行车" in c.value and "km/h" in c.value for c in at.sidebar.caption)
