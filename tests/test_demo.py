"""Tests of the synthetic demo region (:mod:`geo.pipeline.demo`)."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point

from geo.network.raw import RAW_TAG_COLUMNS, RawStreets
from geo.pipeline import demo
from geo.pipeline.demo import (
    DEFAULT_SEED,
    ISLAND_STATION_ID,
    OFF_NETWORK_STATION_IDS,
    ON_EDGE_STATION_ID,
    ON_NODE_STATION_ID,
    STATION_CSV_COLUMNS,
    UNDERSERVED_TOWN_NAMES,
    UNDERSERVED_ZONE_ID,
    WELL_SERVED_ZONE_ID,
    DemoRegion,
    build_demo_region,
    demo_graph,
    write_demo_inputs,
)
from geo.schema import CONVALESCENCE_BASE, STATION_TYPES

METRIC_CRS = "EPSG:32649"  # UTM 49N covers lon 108–114 °E
DROP_HIGHWAYS = {"motorway", "motorway_link", "construction"}
REQUIRED_HIGHWAYS = {
    "trunk", "primary", "secondary", "tertiary", "residential", "service", "living_street",
    "footway", "path", "steps", "pedestrian", *DROP_HIGHWAYS,
}
OTHER_SEEDS = (1, 7, 2024)


@pytest.fixture(scope="module")
def region() -> DemoRegion:
    return build_demo_region()


@pytest.fixture(scope="module", params=(DEFAULT_SEED, *OTHER_SEEDS))
def any_region(request: pytest.FixtureRequest) -> DemoRegion:
    """The default region and a few other seeds: the invariants hold for every seed."""
    return build_demo_region(seed=request.param)


def _edges_gdf(r: DemoRegion) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(r.streets.edges, geometry="geometry", crs="EPSG:4326")


def _walkable(edges: pd.DataFrame) -> pd.Series:
    return (~edges["highway"].isin(DROP_HIGHWAYS)
            & (edges["foot"].fillna("") != "no")
            & (edges["access"].fillna("") != "private"))


def _street_graph(r: DemoRegion) -> nx.MultiGraph:
    g = nx.MultiGraph()
    g.add_nodes_from(r.streets.node_id.tolist())
    g.add_edges_from(zip(r.streets.edges["u"].tolist(), r.streets.edges["v"].tolist(),
                         strict=True))
    return g


def _digest(r: DemoRegion) -> str:
    """Hash of every layer, geometry included (WKB)."""
    h = hashlib.sha256()
    s = r.streets
    for arr in (s.node_id, s.node_lon, s.node_lat):
        h.update(np.ascontiguousarray(arr).tobytes())
    e = s.edges
    h.update(e["u"].to_numpy().tobytes())
    h.update(e["v"].to_numpy().tobytes())
    for col in RAW_TAG_COLUMNS:
        h.update(repr(e[col].tolist()).encode())
    for g in e["geometry"]:
        h.update(shapely.to_wkb(g))
    for frame in (r.stations, r.towns, r.zones, r.bases):
        h.update(repr(frame.drop(columns="geometry").to_dict("list")).encode())
        for g in frame.geometry:
            h.update(shapely.to_wkb(g))
    return h.hexdigest()


# --------------------------------------------------------------------------- determinism


def test_build_twice_is_identical() -> None:
    a, b = build_demo_region(), build_demo_region()
    assert np.array_equal(a.streets.node_id, b.streets.node_id)
    assert np.array_equal(a.streets.node_lon, b.streets.node_lon)
    assert np.array_equal(a.streets.node_lat, b.streets.node_lat)
    ea, eb = a.streets.edges, b.streets.edges
    assert ea[["u", "v", *RAW_TAG_COLUMNS]].equals(eb[["u", "v", *RAW_TAG_COLUMNS]])
    assert [g.wkb for g in ea["geometry"]] == [g.wkb for g in eb["geometry"]]
    for name in ("stations", "towns", "zones", "bases"):
        fa, fb = getattr(a, name), getattr(b, name)
        pd.testing.assert_frame_equal(fa.drop(columns="geometry"), fb.drop(columns="geometry"))
        assert [g.wkb for g in fa.geometry] == [g.wkb for g in fb.geometry]
    assert _digest(a) == _digest(b)


def test_same_output_in_another_process_with_other_hash_seed(region: DemoRegion) -> None:
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[2]);"
        "import test_demo; from geo.pipeline.demo import build_demo_region;"
        "print(test_demo._digest(build_demo_region()))"
    )
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code, str(root), str(Path(__file__).parent)],
        capture_output=True, text=True, env=env, check=True, timeout=120,
    )
    assert out.stdout.strip() == _digest(region)


def test_other_seed_changes_the_layout(region: DemoRegion) -> None:
    other = build_demo_region(seed=7)
    assert _digest(other) != _digest(region)
    assert other.stations["station_id"].tolist() == region.stations["station_id"].tolist()


def test_build_is_fast() -> None:
    build_demo_region()  # warm caches
    t0 = time.perf_counter()
    build_demo_region()
    assert time.perf_counter() - t0 < 1.0


def test_module_has_no_streamlit_import() -> None:
    assert "streamlit" not in Path(demo.__file__).read_text(encoding="utf-8")


# --------------------------------------------------------------------------- RawStreets contract


def test_region_names_and_disclaimers(region: DemoRegion) -> None:
    assert region.name_zh == demo.DEMO_REGION_NAME_ZH == "示范区（合成数据）"
    assert region.name_en == demo.DEMO_REGION_NAME_EN == "Demo region (synthetic data)"
    assert "合成" in region.disclaimer_zh and "虚构" in region.disclaimer_zh
    assert "真实" in region.disclaimer_zh
    assert "synthetic" in region.disclaimer_en
    assert "do not describe any real" in region.disclaimer_en
    assert region.streets.meta["synthetic"] is True
    assert "synthetic" in region.streets.source


def test_raw_streets_contract(any_region: DemoRegion) -> None:
    s = any_region.streets
    assert isinstance(s, RawStreets)
    e = s.edges
    assert list(e.columns) == ["u", "v", "geometry", "length_m", *RAW_TAG_COLUMNS]
    assert s.node_id.dtype == np.int64 and e["u"].dtype == np.int64 and e["v"].dtype == np.int64
    assert len(np.unique(s.node_id)) == len(s.node_id)
    assert np.all(np.diff(s.node_id) > 0)
    assert e["length_m"].isna().all()
    assert set(e["u"]) | set(e["v"]) == set(s.node_id.tolist())  # no isolated nodes
    assert (e["u"] != e["v"]).all()
    pairs = {frozenset(p) for p in zip(e["u"], e["v"], strict=True)}
    assert len(pairs) == len(e)  # each undirected street once, no parallel edges
    for col in RAW_TAG_COLUMNS:
        assert e[col].dtype == object
        assert all(v is None or (isinstance(v, str) and v) for v in e[col])
    assert e["highway"].notna().all()
    assert e["osmid"].str.fullmatch(r"\d+").all() and e["osmid"].is_unique
    pos = dict(zip(s.node_id.tolist(), zip(s.node_lon.tolist(), s.node_lat.tolist(),
                                           strict=True), strict=True))
    for u, v, g in zip(e["u"], e["v"], e["geometry"], strict=True):
        assert g.geom_type == "LineString" and g.is_valid and len(g.coords) >= 2
        assert g.coords[0] == pos[u] and g.coords[-1] == pos[v]


def test_coordinates_are_in_the_advertised_box(region: DemoRegion) -> None:
    s = region.streets
    assert s.node_lon.min() >= 113.295 and s.node_lon.max() <= 113.345
    assert s.node_lat.min() >= 23.095 and s.node_lat.max() <= 23.135
    for frame in (region.stations, region.towns, region.zones, region.bases):
        assert frame.crs is not None and frame.crs.to_epsg() == 4326


def test_edge_count_and_length(any_region: DemoRegion) -> None:
    e = _edges_gdf(any_region)
    assert 1500 <= len(e) <= 4000
    lengths = e.to_crs(METRIC_CRS).length
    assert lengths.min() > 5.0
    assert 120_000 < lengths.sum() < 300_000
    minx, miny, maxx, maxy = e.to_crs(METRIC_CRS).total_bounds
    assert 3_000 <= maxx - minx <= 4_500 and 2_500 <= maxy - miny <= 3_600


def test_highway_mix_and_drop_worthy_edges(any_region: DemoRegion) -> None:
    e = any_region.streets.edges
    counts = e["highway"].value_counts()
    assert set(counts.index) >= REQUIRED_HIGHWAYS
    assert counts["trunk"] >= 5 and counts["residential"] > counts["primary"]
    assert counts["motorway"] >= 1 and counts["motorway_link"] == 1
    assert counts["construction"] == 1
    assert (e["foot"] == "no").sum() == 1
    assert (e["access"] == "private").sum() == 1
    pedestrian_only = {"footway", "path", "steps", "pedestrian"}
    assert e["highway"].isin(pedestrian_only).sum() >= 15
    named = e["name"].dropna()
    assert len(named) > 0.7 * len(e)
    assert named.str.contains(r"[\u4e00-\u9fff]").all()
    assert {"花城大道", "广云大道", "金穗大道"} <= set(named)


def test_network_is_irregular(any_region: DemoRegion) -> None:
    e = _edges_gdf(any_region).to_crs(METRIC_CRS)
    g = _street_graph(any_region)
    degrees = np.bincount([d for _, d in g.degree()])
    assert degrees[1] >= 20  # dead ends
    assert (degrees > 0).sum() >= 5  # degrees 1, 2, 3, 4 and 5+ all occur
    assert degrees[5:].sum() >= 10  # diagonal avenues make 5- and 6-way junctions
    lengths = e.length.to_numpy()
    assert lengths.std() / lengths.mean() > 0.3
    _, repeats = np.unique(np.round(lengths, 1), return_counts=True)
    assert repeats.max() < 0.02 * len(lengths)  # no dominant block length
    start = np.array([gg.coords[0] for gg in e.geometry])
    end = np.array([gg.coords[-1] for gg in e.geometry])
    bearing = np.degrees(np.arctan2(*(end - start).T[::-1])) % 90.0
    off_axis = np.minimum(bearing, 90.0 - bearing)
    assert (off_axis > 2.0).mean() > 0.5
    assert (off_axis > 30.0).sum() >= 20  # diagonal avenues
    shape_points = np.array([len(gg.coords) for gg in e.geometry])
    assert (shape_points >= 4).mean() > 0.1  # curved streets


def test_network_is_planar_except_at_nodes(any_region: DemoRegion) -> None:
    e = any_region.streets.edges
    geoms = e["geometry"].to_numpy()
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    u, v = e["u"].to_numpy(), e["v"].to_numpy()
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i >= j:
            continue
        shared = {u[i], v[i]} & {u[j], v[j]}
        assert len(shared) == 1, (e.iloc[i]["name"], e.iloc[j]["name"])
        inter = geoms[i].intersection(geoms[j])
        assert inter.geom_type == "Point"


def test_components_island_and_river_gap(any_region: DemoRegion) -> None:
    r = any_region
    e = r.streets.edges
    g = _street_graph(r)
    comps = sorted(nx.connected_components(g), key=len, reverse=True)
    main = comps[0]
    assert len(main) > 0.9 * g.number_of_nodes()
    island = set(r.streets.meta["island_node_ids"])  # type: ignore[arg-type]
    assert len(island) >= 6
    assert island in [set(c) for c in comps[1:]]  # a separate component of its own
    river = r.streets.meta["river"]
    crossing = e[[river.intersects(gg) for gg in e["geometry"]]]
    assert len(crossing) == 2  # only two bridges cross the river
    assert set(crossing["osmid"]) == set(r.streets.meta["bridge_osmids"])  # type: ignore[arg-type]
    assert crossing["name"].str.endswith("桥").all()
    # the two banks are connected only through the bridges
    g2 = g.copy()
    g2.remove_edges_from(zip(crossing["u"], crossing["v"], strict=True))
    assert nx.number_connected_components(g2) > nx.number_connected_components(g)


def test_park_is_pedestrian_only_and_lake_is_empty(region: DemoRegion) -> None:
    e = region.streets.edges
    park = region.streets.meta["park"]
    lake = region.streets.meta["lake"]
    inside = e[[park.contains(gg.interpolate(0.5, normalized=True)) for gg in e["geometry"]]]
    assert len(inside) >= 20
    assert set(inside["highway"]) <= {"footway", "path", "steps", "pedestrian"}
    assert not any(lake.intersects(gg) for gg in e["geometry"])


# --------------------------------------------------------------------------- stations


def test_stations_table(any_region: DemoRegion) -> None:
    st = any_region.stations
    assert list(st.columns) == [*STATION_CSV_COLUMNS, "geometry"]
    assert 25 <= len(st) <= 40
    assert st["station_id"].is_unique and st["name"].is_unique
    assert st["station_id"].str.fullmatch(r"DEMO-\d{3}").all()
    assert st["station_id"].iloc[0] == "DEMO-001"
    assert set(st["type"]) == set(STATION_TYPES)
    assert (st["city"] == demo.DEMO_CITY).all()
    assert st["district"].str.endswith("区").all()
    assert st["address"].str.startswith(demo.DEMO_CITY).all()
    assert st["name"].str.contains(r"[\u4e00-\u9fff]").all()
    assert np.allclose(st.geometry.x, st["lon"], rtol=0, atol=0)
    assert np.allclose(st.geometry.y, st["lat"], rtol=0, atol=0)


def test_station_types_counts(region: DemoRegion) -> None:
    counts = region.stations["type"].value_counts().to_dict()
    assert counts == {"工会驿站": 12, "户外劳动者服务站": 6, "爱心妈妈小屋": 5,
                      "职工服务中心": 4, "司机之家": 3, "other": 2}


def test_special_stations(any_region: DemoRegion) -> None:
    r = any_region
    st = r.stations.set_index("station_id")
    s = r.streets
    # exactly on a junction node (the crossing of two diagonal avenues)
    node = st.loc[ON_NODE_STATION_ID]
    at = np.flatnonzero((s.node_lon == node["lon"]) & (s.node_lat == node["lat"]))
    assert len(at) == 1
    degree = int(((s.edges["u"] == s.node_id[at[0]]) | (s.edges["v"] == s.node_id[at[0]])).sum())
    assert degree >= 5
    # in the interior of an edge: on its line, far from both of its end nodes
    pt = st.loc[ON_EDGE_STATION_ID].geometry
    dist = shapely.distance(s.edges["geometry"].to_numpy(), pt)
    k = int(np.argmin(dist))
    assert dist[k] < 1e-12
    edge = s.edges.iloc[k]
    assert Point(edge["geometry"].coords[0]).distance(pt) > 2.5e-4
    assert Point(edge["geometry"].coords[-1]).distance(pt) > 2.5e-4
    assert np.count_nonzero(dist < 1e-9) == 1
    # on the disconnected island
    island = set(s.meta["island_node_ids"])  # type: ignore[arg-type]
    ie = s.edges[s.edges["u"].isin(island)]
    assert shapely.distance(ie["geometry"].to_numpy(), st.loc[ISLAND_STATION_ID].geometry).min() \
        < 3e-4


def test_off_network_stations_are_far_from_every_edge(any_region: DemoRegion) -> None:
    edges = _edges_gdf(any_region).to_crs(METRIC_CRS)
    st = any_region.stations.to_crs(METRIC_CRS).set_index("station_id")
    union = edges.geometry.union_all()
    for sid in OFF_NETWORK_STATION_IDS:
        assert union.distance(st.loc[sid].geometry) > 200.0
    others = st.drop(index=list(OFF_NETWORK_STATION_IDS))
    walk = edges[_walkable(any_region.streets.edges).to_numpy()].geometry.union_all()
    assert max(walk.distance(p) for p in others.geometry) < 50.0


def test_one_off_network_station_lies_outside_the_region(region: DemoRegion) -> None:
    union = region.towns.union_all()
    st = region.stations.set_index("station_id")
    inside = [union.covers(st.loc[sid].geometry) for sid in OFF_NETWORK_STATION_IDS]
    assert sorted(inside) == [False, True]
    lake = region.streets.meta["lake"]
    assert any(lake.contains(st.loc[sid].geometry) for sid in OFF_NETWORK_STATION_IDS)


# --------------------------------------------------------------------------- towns


def test_towns_table(any_region: DemoRegion) -> None:
    t = any_region.towns
    assert list(t.columns) == ["name", "code", "population", "district", "geometry"]
    assert 5 <= len(t) <= 6 and t["name"].is_unique and t["code"].is_unique
    assert t["name"].str.contains(r"(?:街道|镇)$").all()
    assert all(isinstance(c, str) and re.fullmatch(r"\d{9}", c) for c in t["code"])
    assert t["population"].dtype == np.int64
    assert t["population"].between(20_000, 120_000).all()
    assert t["population"].max() > 3 * t["population"].min()
    assert t["district"].str.endswith("区").all()
    assert t.geometry.is_valid.all() and (t.geom_type == "Polygon").all()


def test_towns_partition_and_cover_every_street(any_region: DemoRegion) -> None:
    t = any_region.towns.to_crs(METRIC_CRS)
    union = t.geometry.union_all()
    assert abs(union.area - t.area.sum()) < 1.0  # m²: no overlaps
    outline = gpd.GeoSeries([any_region.streets.meta["outline"]], crs=4326).to_crs(METRIC_CRS)
    assert abs(union.area - outline.area.iloc[0]) < 1e-6 * union.area  # towns fill the outline
    assert union.geom_type == "Polygon" and len(union.interiors) == 0
    edges = _edges_gdf(any_region)
    mids = shapely.line_interpolate_point(edges.geometry.to_numpy(), 0.5, normalized=True)
    towns = any_region.towns
    hits = gpd.sjoin(gpd.GeoDataFrame(geometry=mids, crs=4326), towns, predicate="within")
    assert hits.index.nunique() == len(edges)
    assert towns.union_all().covers(edges.geometry.union_all())


def test_some_towns_are_underserved(any_region: DemoRegion) -> None:
    t = any_region.towns
    st = any_region.stations
    counts = gpd.sjoin(st, t, predicate="within").groupby("index_right").size()
    t = t.assign(stations=[int(counts.get(i, 0)) for i in t.index])
    per_100k = t["stations"] / t["population"] * 100_000
    under = t[(t["population"] >= 80_000) & (t["stations"] <= 2)]
    assert set(under["name"]) == set(UNDERSERVED_TOWN_NAMES)
    assert t.set_index("name").loc["新洲镇", "stations"] == 0
    assert per_100k.max() > 10 * per_100k[per_100k > 0].min() or per_100k.min() == 0


# --------------------------------------------------------------------------- zones and bases


def test_zones(any_region: DemoRegion) -> None:
    z = any_region.zones
    assert list(z.columns) == ["zone_id", "name", "geometry"]
    assert z["zone_id"].tolist() == [WELL_SERVED_ZONE_ID, UNDERSERVED_ZONE_ID]
    assert z["name"].str.startswith("骑手友好").all()
    assert z.geometry.is_valid.all() and (z.geom_type == "Polygon").all()
    zm = z.to_crs(METRIC_CRS).set_index("zone_id")
    for g in zm.geometry:
        minx, miny, maxx, maxy = g.bounds
        assert 150.0 < maxx - minx < 800.0 and 150.0 < maxy - miny < 800.0
    st = any_region.stations.to_crs(METRIC_CRS)
    assert st.within(zm.loc[WELL_SERVED_ZONE_ID].geometry).sum() >= 2
    assert st.distance(zm.loc[UNDERSERVED_ZONE_ID].geometry).min() > 1000.0
    # the under-served zone has streets in it (coverage there is a real gap)
    edges = _edges_gdf(any_region).to_crs(METRIC_CRS)
    assert edges.intersects(zm.loc[UNDERSERVED_ZONE_ID].geometry).sum() >= 10


def test_bases(region: DemoRegion) -> None:
    b = region.bases
    assert list(b.columns) == ["base_id", "name", "address", "type", "geometry"]
    assert 1 <= len(b) <= 2 and b["base_id"].is_unique
    assert (b["type"] == CONVALESCENCE_BASE).all()
    towns = region.towns.to_crs(METRIC_CRS).geometry.union_all()
    for p in b.to_crs(METRIC_CRS).geometry:
        assert towns.covers(p)
        assert towns.exterior.distance(p) < 400.0  # at the region's edge


# --------------------------------------------------------------------------- files


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_demo_inputs(tmp_path_factory.mktemp("demo"))


def test_write_demo_inputs_paths(written: dict[str, Path]) -> None:
    assert set(written) == {"stations", "towns", "zones", "bases", "streets"}
    names = {k: p.name for k, p in written.items()}
    assert names == {"stations": "stations.csv", "towns": "towns.geojson",
                     "zones": "zones.geojson", "bases": "bases.geojson",
                     "streets": "streets.graphml"}
    assert all(p.is_file() and p.stat().st_size > 0 for p in written.values())


def test_stations_csv_round_trip(written: dict[str, Path], region: DemoRegion) -> None:
    text = written["stations"].read_text(encoding="utf-8")
    assert text.splitlines()[0] == ",".join(STATION_CSV_COLUMNS)
    back = pd.read_csv(written["stations"], dtype={c: str for c in STATION_CSV_COLUMNS
                                                   if c not in ("lon", "lat")})
    assert list(back.columns) == list(STATION_CSV_COLUMNS)
    exp = pd.DataFrame(region.stations.drop(columns="geometry"))
    assert back["station_id"].tolist() == exp["station_id"].tolist()
    assert back["station_id"].iloc[0] == "DEMO-001"
    for col in ("name", "type", "address", "city", "district"):
        assert back[col].tolist() == exp[col].tolist()
    assert back["lon"].tolist() == exp["lon"].tolist()  # exact float round trip
    assert back["lat"].tolist() == exp["lat"].tolist()
    all_str = pd.read_csv(written["stations"], dtype=str)
    assert all_str["station_id"].tolist() == exp["station_id"].tolist()


@pytest.mark.parametrize("layer", ["towns", "zones", "bases"])
def test_geojson_round_trip(written: dict[str, Path], region: DemoRegion, layer: str) -> None:
    back = gpd.read_file(written[layer])
    exp: gpd.GeoDataFrame = getattr(region, layer)
    assert back.crs is not None and back.crs.to_epsg() == 4326
    assert list(back.columns) == list(exp.columns)
    for col in exp.columns.drop("geometry"):
        assert back[col].astype(str).tolist() == exp[col].astype(str).tolist()
    assert all(a.equals_exact(b, 1e-9) for a, b in zip(back.geometry, exp.geometry, strict=True))
    if layer == "towns":
        assert all(isinstance(c, str) for c in back["code"])
        assert back["code"].tolist() == exp["code"].tolist()


def test_write_twice_overwrites(tmp_path: Path) -> None:
    first = write_demo_inputs(tmp_path)
    before = {k: p.read_bytes() for k, p in first.items()}
    second = write_demo_inputs(tmp_path)
    assert {k: p.read_bytes() for k, p in second.items()} == before


def test_graphml_round_trip(written: dict[str, Path], region: DemoRegion) -> None:
    ox = pytest.importorskip("osmnx")
    g = ox.load_graphml(written["streets"])
    assert isinstance(g, nx.MultiDiGraph)
    assert str(g.graph["crs"]).lower() == "epsg:4326"
    s = region.streets
    assert sorted(g.nodes) == s.node_id.tolist()
    lon = dict(zip(s.node_id.tolist(), s.node_lon.tolist(), strict=True))
    for n, d in g.nodes(data=True):
        assert d["x"] == lon[n] and isinstance(d["street_count"], int)
    oneway = set(s.meta["oneway_osmids"])  # type: ignore[arg-type]
    assert g.number_of_edges() == 2 * len(s.edges) - len(oneway)
    forward = {(u, v): d for u, v, d in g.edges(data=True) if not d["reversed"]}
    assert len(forward) == len(s.edges)
    for row in s.edges.itertuples(index=False):
        d = forward[(row.u, row.v)]
        assert d["osmid"] == int(row.osmid)
        assert d["highway"] == row.highway
        assert d.get("name") == row.name
        assert d.get("foot") == row.foot and d.get("access") == row.access
        assert d["geometry"].equals(row.geometry)
        assert d["length"] > 0
    lengths = np.array([forward[(u, v)]["length"] for u, v in zip(s.edges["u"], s.edges["v"],
                                                                   strict=True)])
    metric = _edges_gdf(region).to_crs(METRIC_CRS).length.to_numpy()
    assert np.allclose(lengths, metric, rtol=2e-3)
    bridges = [d for d in forward.values() if d.get("bridge") == "yes"]
    assert len(bridges) == 2
    back = [d for u, v, d in g.edges(data=True) if d["reversed"]]
    assert all(not d["oneway"] for d in back)
    _nodes, edges = ox.graph_to_gdfs(g)
    assert len(edges) == g.number_of_edges() and edges.crs.to_epsg() == 4326


def test_demo_graph_in_memory(region: DemoRegion) -> None:
    g = demo_graph(region)
    assert g.graph["crs"] == "epsg:4326"
    moto = [d for _, _, d in g.edges(data=True) if d["highway"] == "motorway"]
    assert moto and all(d["oneway"] for d in moto)
