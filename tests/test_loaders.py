"""Tests of :mod:`geo.network.loaders`: GraphML (osmnx 1.x real data, 2.x, projected), OSM XML,
the prepared-network cache, bbox clipping and the online download (never online)."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import networkx as nx
import numpy as np
import pyproj
import pytest
import requests
import shapely
from requests.structures import CaseInsensitiveDict

from geo.errors import (
    CRSError,
    DownloadError,
    EmptyNetworkError,
    InputFileError,
    UnknownFormatError,
)
from geo.network.fromgraph import raw_from_graph
from geo.network.graphml import read_graphml
from geo.network.loaders import download_network, load_network, network_format
from tests.osm_fixtures import edges_with, pyrosm_test_pbf, write_graphml, write_osm_xml

ox = pytest.importorskip("osmnx")

GEOD = pyproj.Geod(ellps="WGS84")
FUTIAN = Path(__file__).resolve().parents[2] / "shared/data/osm/shenzhen_futian_2023.graphml"
OVERPASS_FIXTURE = Path(__file__).resolve().parent / "data" / "overpass_small.json"
LON0, LAT0 = 113.30, 23.10


def geodesic(coords: list[tuple[float, float]]) -> float:
    xs, ys = zip(*coords, strict=True)
    return float(GEOD.line_length(xs, ys))


def small_graph(*, motorway: bool = True, crs: str | None = "epsg:4326") -> nx.MultiDiGraph:
    """A 3 × 3 grid of two-way residential streets (0.001° apart; nodes 1…9 row by
    row from the south-west), one curved footway with a geometry and one one-way
    motorway_link. Lengths are geodesic metres as osmnx writes them."""
    meta = {"created_with": f"OSMnx {ox.__version__}", "simplified": True}
    g = nx.MultiDiGraph(**meta, **({"crs": crs} if crs else {}))
    pos = {}
    for j in range(3):
        for i in range(3):
            nid = 1 + i + 3 * j
            pos[nid] = (LON0 + 0.001 * i, LAT0 + 0.001 * j)
            g.add_node(nid, x=pos[nid][0], y=pos[nid][1])
    osmid = 100

    def add(u: int, v: int, oneway: bool = False, geometry: Any = None, **tags: Any) -> None:
        nonlocal osmid
        osmid += 1
        coords = list(geometry.coords) if geometry is not None else [pos[u], pos[v]]
        attrs = {"osmid": osmid, "length": round(geodesic(coords), 3), "oneway": oneway,
                 **tags}
        if geometry is not None:
            attrs["geometry"] = geometry
        g.add_edge(u, v, reversed=False, **attrs)
        if not oneway:
            back = {**attrs, "reversed": True}
            if geometry is not None:
                back["geometry"] = shapely.reverse(geometry)
            g.add_edge(v, u, **back)

    for j in range(3):
        for i in range(2):
            a = 1 + i + 3 * j
            add(a, a + 1, highway="residential", name=f"横{j}路")
    for i in range(3):
        for j in range(2):
            a = 1 + i + 3 * j
            add(a, a + 3, highway="residential", name=f"纵{i}路")
    # curved footway 1 → 5 through a shape point (a parallel of no grid street)
    add(1, 5, highway="footway",
        geometry=shapely.LineString([pos[1], (LON0 + 0.0002, LAT0 + 0.0008), pos[5]]))
    if motorway:
        add(3, 9, oneway=True, highway="motorway_link",
            geometry=shapely.LineString([pos[3], (LON0 + 0.0025, LAT0 + 0.001), pos[9]]))
    return g


def undirected_length(g: nx.MultiDiGraph, *, drop: set[str] = frozenset()) -> float:
    """Total length of the distinct undirected streets of an osmnx-style graph."""
    seen: set[tuple[frozenset[int], int]] = set()
    total = 0.0
    for u, v, d in g.edges(data=True):
        key = (frozenset((u, v)), d["osmid"])
        if key in seen or d.get("highway") in drop:
            continue
        seen.add(key)
        total += float(d["length"])
    return total


@pytest.fixture
def small_graphml(tmp_path: Path) -> Path:
    p = tmp_path / "small.graphml"
    ox.save_graphml(small_graph(), p)
    return p


def edge_key_set(net: Any) -> set[tuple[int, int, float]]:
    u = net.node_id[net.edge_u]
    v = net.node_id[net.edge_v]
    return {(min(a, b), max(a, b), round(float(w), 1))
            for a, b, w in zip(u, v, net.length_m, strict=True)}


# --------------------------------------------------------------------------- formats


def test_network_format(tmp_path: Path) -> None:
    assert network_format("a.osm.pbf") == "pbf"
    assert network_format("a.OSM") == "osm_xml"
    assert network_format("a.xml") == "osm_xml"
    assert network_format("a.graphml") == "graphml"
    with pytest.raises(UnknownFormatError, match=r"\.osm\.pbf"):
        network_format("a.txt")
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(UnknownFormatError):
        load_network(tmp_path / "a.txt")
    with pytest.raises(InputFileError, match="not found"):
        load_network(tmp_path / "missing.graphml")


def test_corrupt_and_crs_less_graphml(tmp_path: Path) -> None:
    bad = tmp_path / "bad.graphml"
    bad.write_text("<graphml><node", encoding="utf-8")
    with pytest.raises(InputFileError, match="GraphML"):
        load_network(bad)
    nocrs = tmp_path / "nocrs.graphml"
    ox.save_graphml(small_graph(crs=None), nocrs)
    with pytest.raises(CRSError, match="CRS"):
        load_network(nocrs)


# ------------------------------------------------------------------- GraphML: real data


@pytest.mark.realdata
def test_futian_graphml_osmnx1_drops_motorway_link() -> None:
    if not FUTIAN.is_file():
        pytest.skip(f"real data not available: {FUTIAN}")
    net = load_network(FUTIAN)
    g = ox.load_graphml(FUTIAN)
    assert g.graph["created_with"].startswith("OSMnx 1.")
    # independent count of the distinct undirected motorway_link edges in the file
    links = {(frozenset((u, v)), round(float(d["length"]), 1))
             for u, v, d in g.edges(data=True) if "motorway_link" in str(d.get("highway"))}
    assert len(links) > 0
    assert not any("motorway" in str(h) for h in net.edge_attrs["highway"])
    by = {r: (n, length) for r, n, length in net.filter_report.by_reason}
    assert "highway=motorway_link" in by
    n_link, len_link = by["highway=motorway_link"]
    assert n_link == len(links)
    assert len_link > 1000.0
    assert net.summary()["dropped_edges"] >= n_link
    # every kept edge is a walkable class; the network is a sizeable district
    assert net.total_length_m > 100_000
    assert net.crs.to_epsg() == 32650  # Shenzhen (114.0° E) is in UTM zone 50N
    assert net.n_edges == net.filter_report.kept_edges
    # kept + dropped = distinct undirected edges of the file
    distinct = {(frozenset((u, v)), round(float(d["length"]), 1))
                for u, v, d in g.edges(data=True)}
    assert net.filter_report.kept_edges + net.filter_report.dropped_edges == len(distinct)


# ------------------------------------------------------------------ GraphML: osmnx 2.x


def test_osmnx2_graphml_loads(small_graphml: Path) -> None:
    g = ox.load_graphml(small_graphml)
    assert ox.__version__.startswith("2.")
    assert g.graph["created_with"].startswith("OSMnx 2.")
    net = load_network(small_graphml)
    # 12 grid streets + footway kept; the one-way motorway_link dropped
    assert net.n_edges == 13
    assert net.n_nodes == 9
    assert net.filter_report.dropped_edges == 1
    assert net.filter_report.by_reason[0][:2] == ("highway=motorway_link", 1)
    expected = undirected_length(small_graph(), drop={"motorway_link"})
    # horizontal streets ≈ 102.4 m (0.001° lon at 23.1° N), vertical ≈ 110.8 m
    assert expected == pytest.approx(6 * 102.4 + 6 * 110.8 + 166.0, abs=10.0)
    assert net.total_length_m == pytest.approx(expected, rel=1e-9)
    # the curved footway keeps its geometry (3 points) and runs from u to v
    foot = np.flatnonzero(net.edge_attrs["highway"].to_numpy() == "footway")[0]
    assert shapely.get_num_points(net.geometry[foot]) == 3
    u = net.edge_u[foot]
    assert shapely.get_coordinates(net.geometry[foot])[0] == pytest.approx(
        [net.node_x[u], net.node_y[u]], abs=1e-6)
    assert set(net.edge_attrs["name"].dropna()) >= {"横0路", "纵2路"}


def test_projected_graphml_same_length(tmp_path: Path, small_graphml: Path) -> None:
    g = small_graph()
    gp = ox.project_graph(g)
    assert not pyproj.CRS.from_user_input(gp.graph["crs"]).is_geographic
    proj = tmp_path / "projected.graphml"
    ox.save_graphml(gp, proj)
    a = load_network(small_graphml)
    b = load_network(proj)
    assert b.n_edges == a.n_edges and b.n_nodes == a.n_nodes
    assert b.total_length_m == pytest.approx(a.total_length_m, rel=0.005)
    # node positions survive the round trip through the projected CRS
    order_a = np.argsort(a.node_id)
    order_b = np.argsort(b.node_id)
    np.testing.assert_array_equal(a.node_id[order_a], b.node_id[order_b])
    np.testing.assert_allclose(a.node_x[order_a], b.node_x[order_b], atol=0.01)
    np.testing.assert_allclose(a.node_y[order_a], b.node_y[order_b], atol=0.01)
    # without the 'length' attribute the length comes from the (projected) geometry
    for _, _, d in gp.edges(data=True):
        d.pop("length", None)
    nolen = tmp_path / "projected_nolength.graphml"
    ox.save_graphml(gp, nolen)
    c = load_network(nolen)
    assert c.total_length_m == pytest.approx(a.total_length_m, rel=0.005)


# -------------------------------------------- GraphML: streamed reader == osmnx.load_graphml


def _same_raw(p: Path) -> None:
    """The streaming reader gives exactly what osmnx.load_graphml + raw_from_graph give."""
    a = raw_from_graph(ox.load_graphml(p), source="x")
    b = read_graphml(p, source="x")
    np.testing.assert_array_equal(a.node_id, b.node_id)
    np.testing.assert_array_equal(a.node_lon, b.node_lon)
    np.testing.assert_array_equal(a.node_lat, b.node_lat)
    assert list(a.edges.columns) == list(b.edges.columns)
    for c in a.edges.columns:
        x, y = a.edges[c].to_numpy(), b.edges[c].to_numpy()
        if c == "geometry":
            assert all(shapely.equals_exact(x, y, tolerance=0.0)), c
        elif c == "length_m":
            np.testing.assert_array_equal(x, y)
        else:
            assert list(x) == list(y), c


def _variant(tmp_path: Path, name: str) -> Path:
    base = write_graphml(tmp_path / "base.graphml")
    s = base.read_text(encoding="utf-8")
    i, j, k = s.index("    <node"), s.index("    <edge"), s.index("  </graph>")
    extra = {
        "edges_before_nodes": s[:i] + s[j:k] + s[i:j] + s[k:],
        "repeated_node": s.replace("    <edge", '    <node id="2"><data key="nx">113.302'
                                   "</data></node>\n    <edge", 1),
        "repeated_edge_id": s[:k] + '    <edge source="1" target="2" id="0"><data key="e3">'
                            "改名路</data></edge>\n" + s[k:],
        "no_edge_ids": s.replace(' id="0">', ">"),
        "undirected": s.replace('edgedefault="directed"', 'edgedefault="undirected"'),
        "parallel_edges": s[:k] + '    <edge source="2" target="1" id="1"><data key="e4">99'
                          '</data><data key="e1">footway</data></edge>\n' + s[k:],
    }
    if name in extra:
        out = tmp_path / f"{name}.graphml"
        out.write_text(extra[name], encoding="utf-8")
        return out
    return write_graphml(tmp_path / "values.graphml", edges=edges_with({
        0: {"name": " 东 路 ", "highway": "['residential', 'footway']"},
        1: {"name": "['a, b', \"O'Brien\", 'x\\\\y', 'tab\\t']"},
        2: {"osmid": "[12, 12]", "length": " 110.8 "}, 3: {"name": "{'a': 1}"},
        4: {"name": "[1, 2.5, True, None]"}, 5: {"name": "[01]"}, 6: {"name": ""}}))


@pytest.mark.parametrize("name", ["edges_before_nodes", "repeated_node", "repeated_edge_id",
                                  "no_edge_ids", "undirected", "parallel_edges", "values"])
def test_streamed_graphml_equals_osmnx(tmp_path: Path, name: str) -> None:
    _same_raw(_variant(tmp_path, name))


def test_streamed_graphml_equals_osmnx_on_osmnx_files(tmp_path: Path,
                                                      small_graphml: Path) -> None:
    _same_raw(small_graphml)
    proj = tmp_path / "projected.graphml"
    ox.save_graphml(ox.project_graph(small_graph()), proj)
    _same_raw(proj)
    # a simplified osmnx graph: merged edges carry list values (osmid, highway, name…)
    xml = write_osm_xml(pyrosm_test_pbf(), tmp_path / "test.osm")
    g = ox.graph_from_xml(xml, simplify=True, retain_all=True)
    simplified = tmp_path / "simplified.graphml"
    ox.save_graphml(g, simplified)
    assert "[" in simplified.read_text(encoding="utf-8")
    _same_raw(simplified)
    undirected = tmp_path / "undirected.graphml"
    ox.save_graphml(ox.convert.to_undirected(g), undirected)
    _same_raw(undirected)


@pytest.mark.realdata
def test_streamed_graphml_equals_osmnx_on_futian() -> None:
    if not FUTIAN.is_file():
        pytest.skip(f"real data not available: {FUTIAN}")
    _same_raw(FUTIAN)


# ---------------------------------------------------------------------------- OSM XML


def test_osm_xml_matches_pbf(tmp_path: Path) -> None:
    pbf = pyrosm_test_pbf()
    xml = write_osm_xml(pbf, tmp_path / "test.osm")
    a = load_network(pbf)
    b = load_network(xml)
    assert b.meta["format"] == "osm_xml" and a.meta["format"] == "pbf"
    # same streets read by pyosmium and by osmnx: total walkable length within 1 %
    assert b.total_length_m == pytest.approx(a.total_length_m, rel=0.01)
    # and the same drop decisions (lengths per reason within 1 %)
    ra = {r: length for r, _, length in a.filter_report.by_reason}
    rb = {r: length for r, _, length in b.filter_report.by_reason}
    assert set(ra) == set(rb)
    for reason, length in ra.items():
        assert rb[reason] == pytest.approx(length, rel=0.01), reason
    # non-highway ways (buildings…) are not streets and not reported as dropped
    assert "no highway tag" not in rb


TINY_OSM = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="hand-made test fixture">
  <node id="1" lat="23.1000" lon="113.3000" version="1"/>
  <node id="2" lat="23.1000" lon="113.3010" version="1"/>
  <node id="3" lat="23.1000" lon="113.3020" version="1"/>
  <node id="4" lat="23.1005" lon="113.3025" version="1"/>
  <node id="5" lat="23.1005" lon="113.3015" version="1"/>
  <node id="6" lat="23.1000" lon="113.3030" version="1"/>
  <node id="7" lat="23.1000" lon="113.3040" version="1"/>
  <way id="10" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/>
    <tag k="highway" v="residential"/><tag k="name" v="一路"/></way>
  <way id="11" version="1"><nd ref="3"/><nd ref="4"/><nd ref="5"/><nd ref="3"/>
    <tag k="building" v="yes"/></way>
  <way id="12" version="1"><nd ref="3"/><nd ref="6"/><tag k="highway" v="cycleway"/></way>
  <way id="13" version="1"><nd ref="6"/><nd ref="7"/>
    <tag k="highway" v="residential"/><tag k="name" v="二路"/></way>
</osm>
"""


def test_osm_xml_split_at_tag_changes_and_no_buildings(tmp_path: Path) -> None:
    """A building touching a street is not a street; a residential street continuing a
    cycleway (at a node of degree 2) is not merged into the dropped cycleway."""
    p = tmp_path / "tiny.osm"
    p.write_text(TINY_OSM, encoding="utf-8")
    net = load_network(p)
    pairs = {tuple(sorted(x)) for x in zip(net.node_id[net.edge_u].tolist(),
                                            net.node_id[net.edge_v].tolist(), strict=True)}
    # way 10 is one edge 1–3 (node 2 is a shape point); way 13 is 6–7
    assert pairs == {(1, 3), (6, 7)}
    assert sorted(net.edge_attrs["name"]) == ["一路", "二路"]
    by = {r: n for r, n, _ in net.filter_report.by_reason}
    assert by == {"highway=cycleway without foot access": 1}
    # 0.002° + 0.001° of longitude at 23.1° N ≈ 204.8 + 102.4 m
    assert net.total_length_m == pytest.approx(
        geodesic([(113.300, 23.1), (113.302, 23.1)]) + geodesic([(113.303, 23.1),
                                                                 (113.304, 23.1)]), rel=0.005)
    only_building = tmp_path / "building.osm"
    only_building.write_text(TINY_OSM.replace('k="highway"', 'k="landuse"'), encoding="utf-8")
    with pytest.raises(EmptyNetworkError):
        load_network(only_building)


# ------------------------------------------------------------------------------ cache


def test_cache_hit_and_miss(tmp_path: Path, small_graphml: Path) -> None:
    cache = tmp_path / "cache"
    first = load_network(small_graphml, cache_dir=cache)
    assert first.meta["cache"] == "miss"
    second = load_network(small_graphml, cache_dir=cache)
    assert second.meta["cache"] == "hit"
    assert second.meta["cache_path"] == first.meta["cache_path"]
    for name in ("node_id", "node_x", "node_y", "edge_u", "edge_v", "length_m"):
        np.testing.assert_array_equal(getattr(second, name), getattr(first, name))
    assert all(shapely.equals_exact(second.geometry, first.geometry, tolerance=0.0))
    assert second.crs == first.crs
    assert second.filter_report.to_dict() == first.filter_report.to_dict()
    assert second.source_sha256 == first.source_sha256
    # a changed file (other bytes) misses
    changed = tmp_path / "changed.graphml"
    shutil.copy(small_graphml, changed)
    with changed.open("a", encoding="utf-8") as fh:
        fh.write("\n<!-- edited -->\n")
    third = load_network(changed, cache_dir=cache)
    assert third.meta["cache"] == "miss"
    assert third.source_sha256 != first.source_sha256
    assert third.meta["cache_path"] != first.meta["cache_path"]
    # another clip of the same file is another cache entry
    clipped = load_network(small_graphml, cache_dir=cache,
                           bbox=(LON0 - 0.0001, LAT0 - 0.0001, LON0 + 0.0011, LAT0 + 0.0021))
    assert clipped.meta["cache"] == "miss"
    assert clipped.n_edges < first.n_edges
    # no cache_dir: no cache metadata
    assert "cache" not in load_network(small_graphml).meta


def test_corrupt_cache_entry_is_rebuilt(tmp_path: Path, small_graphml: Path) -> None:
    cache = tmp_path / "cache"
    first = load_network(small_graphml, cache_dir=cache)
    (Path(first.meta["cache_path"]) / "edges.parquet").write_bytes(b"garbage")
    again = load_network(small_graphml, cache_dir=cache)
    assert again.meta["cache"] == "miss"
    np.testing.assert_array_equal(again.length_m, first.length_m)


# ---------------------------------------------------------------------------- clipping


def test_bbox_clipping_graphml(small_graphml: Path) -> None:
    # the western two columns (lon 113.300 and 113.301) of the grid, all three rows
    bbox = (LON0 - 0.0001, LAT0 - 0.0001, LON0 + 0.0011, LAT0 + 0.0021)
    net = load_network(small_graphml, bbox=bbox)
    # kept: nodes 1,2,4,5,7,8 → 3 horizontal (1-2, 4-5, 7-8) + 4 vertical (1-4, 4-7,
    # 2-5, 5-8) + the footway 1-5 = 8 edges
    assert sorted(net.node_id.tolist()) == [1, 2, 4, 5, 7, 8]
    assert net.n_edges == 8
    assert net.meta["clipped"] is True
    lon = net.edges_gdf().to_crs("EPSG:4326").geometry.bounds
    assert (lon["minx"] >= bbox[0]).all() and (lon["maxx"] <= bbox[2]).all()
    # a bbox that holds no street
    with pytest.raises(EmptyNetworkError, match="clip area"):
        load_network(small_graphml, bbox=(114.0, 22.0, 114.1, 22.1))


def test_polygon_clipping_graphml(small_graphml: Path) -> None:
    # triangle containing nodes 1, 2, 4 only (with their two streets 1-2, 1-4)
    poly = shapely.Polygon([(LON0 - 0.0002, LAT0 - 0.0002), (LON0 + 0.0015, LAT0 - 0.0002),
                            (LON0 - 0.0002, LAT0 + 0.0015)])
    net = load_network(small_graphml, polygon=poly)
    assert sorted(net.node_id.tolist()) == [1, 2, 4]
    assert net.n_edges == 2


# ---------------------------------------------------------------------------- download


def test_download_with_patched_downloader_and_cache(tmp_path: Path,
                                                    small_graphml: Path) -> None:
    calls: list[tuple[str, Any, dict[str, Any]]] = []
    graph = ox.load_graphml(small_graphml)

    def downloader(kind: str, query: Any, **kwargs: Any) -> nx.MultiDiGraph:
        calls.append((kind, query, kwargs))
        return graph

    bbox = (LON0 - 0.001, LAT0 - 0.001, LON0 + 0.003, LAT0 + 0.003)
    cache = tmp_path / "cache"
    first = download_network(bbox=bbox, cache_dir=cache, downloader=downloader,
                             timeout_s=12.0)
    assert len(calls) == 1
    kind, query, kwargs = calls[0]
    assert kind == "bbox" and tuple(query) == bbox
    assert kwargs.get("timeout_s") == 12.0
    assert first.n_edges == 13
    graphmls = list((cache / "osm").glob("*.graphml"))
    assert len(graphmls) == 1
    # second call: served from the cached GraphML, the downloader is not called
    second = download_network(bbox=bbox, cache_dir=cache, downloader=downloader)
    assert len(calls) == 1
    assert second.meta["cache"] == "hit"
    np.testing.assert_array_equal(second.length_m, first.length_m)
    # a different query downloads again
    download_network(place="示范区, 示范市", cache_dir=cache, downloader=downloader)
    assert len(calls) == 2 and calls[1][:2] == ("place", "示范区, 示范市")
    # without cache_dir: every call downloads, the result is prepared in memory
    net = download_network(bbox=bbox, downloader=downloader)
    assert len(calls) == 3
    assert net.total_length_m == pytest.approx(first.total_length_m)


def test_download_needs_exactly_one_query() -> None:
    with pytest.raises(InputFileError, match="exactly one"):
        download_network(downloader=lambda *a, **k: None)
    with pytest.raises(InputFileError, match="exactly one"):
        download_network(place="x", bbox=(1, 2, 3, 4), downloader=lambda *a, **k: None)


def test_download_connection_error_is_download_error(tmp_path: Path) -> None:
    def offline(kind: str, query: Any, **kwargs: Any) -> nx.MultiDiGraph:
        raise requests.ConnectionError("Failed to establish a new connection")

    with pytest.raises(DownloadError) as info:
        download_network(bbox=(LON0, LAT0, LON0 + 0.01, LAT0 + 0.01), cache_dir=tmp_path,
                         downloader=offline)
    msg = str(info.value)
    assert "internet" in msg
    assert "ConnectionError" in msg
    assert info.value.exit_code == 8
    assert not list(tmp_path.rglob("*.graphml"))


# ---------------------------------------------------- recorded Overpass response (osmnx)


class _NoNetwork(AssertionError):
    pass


@pytest.fixture
def recorded_overpass(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str]]:
    """Replay ``tests/data/overpass_small.json`` at requests' transport adapter, the
    lowest layer under osmnx's ``_overpass_request`` (which still runs: URL building,
    cache lookup, rate-limit status check, POST, JSON parsing). Any real socket
    connection or name lookup fails the test."""
    body = OVERPASS_FIXTURE.read_bytes()
    seen: list[tuple[str, str, str]] = []
    attempts: list[str] = []

    def send(self: Any, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        raw_body = request.body or ""
        if isinstance(raw_body, bytes):
            raw_body = raw_body.decode()
        seen.append((request.method or "", request.url or "", raw_body))
        r = requests.Response()
        r.url = request.url or ""
        r.request = request
        r.reason = "OK"
        r.status_code = 200
        r.encoding = "utf-8"
        if request.method == "GET" and (request.url or "").endswith("/status"):
            r.headers = CaseInsensitiveDict({"Content-Type": "text/plain"})
            r._content = (b"Connected as: 1\nCurrent time: 2024-01-01T00:00:00Z\n"
                          b"Announced endpoint: none\nRate limit: 2\n"
                          b"2 slots available now.\nCurrently running queries:\n")
        elif request.method == "POST" and (request.url or "").endswith("/interpreter"):
            r.headers = CaseInsensitiveDict({"Content-Type": "application/json"})
            r._content = body
        else:
            attempts.append(f"unexpected HTTP {request.method} {request.url}")
            raise _NoNetwork(attempts[-1])
        return r

    def no_connect(self: socket.socket, *args: Any, **kwargs: Any) -> None:
        attempts.append(f"socket.connect{args}")
        raise _NoNetwork(f"real network access attempted: connect{args}")

    def no_getaddrinfo(*args: Any, **kwargs: Any) -> Any:
        attempts.append(f"getaddrinfo{args}")
        raise _NoNetwork(f"real name lookup attempted: getaddrinfo{args}")

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)
    monkeypatch.setattr(socket.socket, "connect", no_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", no_connect)
    monkeypatch.setattr(socket, "getaddrinfo", no_getaddrinfo)
    # osmnx pins the Overpass host's IP before a request: answer without DNS
    monkeypatch.setattr(socket, "gethostbyname", lambda host: "192.0.2.1")
    yield seen
    assert not attempts, attempts


def test_download_default_osmnx_path_with_recorded_overpass(
        recorded_overpass: list[tuple[str, str, str]], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    useful_before = list(ox.settings.useful_tags_way)
    bbox = (113.300, 23.100, 113.306, 23.105)
    cache = tmp_path / "cache"
    net = download_network(bbox=bbox, cache_dir=cache)

    posts = [s for s in recorded_overpass if s[0] == "POST"]
    assert len(posts) == 1
    query = parse_qs(posts[0][2])["data"][0]
    assert query.startswith("[out:json]")
    assert '["highway"]' in query and "poly:" in query
    # osmnx settings changed for the download are restored afterwards
    assert list(ox.settings.useful_tags_way) == useful_before

    # expected streets (hand-made fixture):
    #   way 101 residential 1-2-3 → edges 1-2, 2-3 (node 2 is a junction with way 104)
    #   way 102 residential 3-4   → edge 3-4 (a different way than its neighbour 103)
    #   way 104 footway 2-6-7     → edge 2-7 (node 6 is a shape point)
    #   way 107 steps 7-9         → edge 7-9
    # dropped: 103 cycleway (no foot), 105 motorway, 106 service access=private,
    #          108 trunk motorroad=yes
    pairs = {tuple(sorted(p)) for p in zip(net.node_id[net.edge_u].tolist(),
                                            net.node_id[net.edge_v].tolist(), strict=True)}
    assert pairs == {(1, 2), (2, 3), (3, 4), (2, 7), (7, 9)}
    by = {r: n for r, n, _ in net.filter_report.by_reason}
    assert by == {"highway=cycleway without foot access": 1, "highway=motorway": 1,
                  "access=private": 1, "motorroad=yes": 1}
    # lengths: 3 × 0.001° lon at 23.102° N (102.4 m) + 0.002° lat (221.5 m) +
    # 0.001° lon at 23.104° N (102.4 m) ≈ 631.1 m
    expected = (geodesic([(113.301, 23.102), (113.304, 23.102)])
                + geodesic([(113.302, 23.102), (113.302, 23.104)])
                + geodesic([(113.301, 23.104), (113.302, 23.104)]))
    assert expected == pytest.approx(631.1, abs=1.0)
    assert net.total_length_m == pytest.approx(expected, rel=0.005)
    names = set(net.edge_attrs["name"].dropna())
    assert names == {"东风路"}
    assert net.crs.to_epsg() == 32649

    # the raw graph is cached as GraphML: a second call is served offline
    n_requests = len(recorded_overpass)
    again = download_network(bbox=bbox, cache_dir=cache)
    assert len(recorded_overpass) == n_requests
    assert again.meta["cache"] == "hit"
    assert again.total_length_m == pytest.approx(net.total_length_m)
    # the download did not litter the working directory (osmnx's default ./cache);
    # osmnx's HTTP cache lives under cache_dir
    assert list(workdir.iterdir()) == []
    assert list((cache / "overpass").glob("*.json"))


def test_download_default_path_offline_is_download_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: Any, request: requests.PreparedRequest, **kwargs: Any) -> None:
        raise requests.ConnectionError(f"offline test: refused {request.url}")

    pauses: list[float] = []
    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", refuse)
    monkeypatch.setattr(socket, "gethostbyname", lambda host: "192.0.2.1")
    # osmnx replaces socket.getaddrinfo process-wide: restore it after the test
    monkeypatch.setattr(socket, "getaddrinfo", socket.getaddrinfo)
    # osmnx pauses 60 s when the Overpass status endpoint is unreachable: skip the wait
    monkeypatch.setattr(ox._overpass.time, "sleep", pauses.append)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DownloadError, match="internet"):
        download_network(bbox=(113.300, 23.100, 113.306, 23.105), cache_dir=tmp_path / "c")


def test_recorded_fixture_is_valid_overpass_json() -> None:
    data = json.loads(OVERPASS_FIXTURE.read_text(encoding="utf-8"))
    ways = [e for e in data["elements"] if e["type"] == "way"]
    nodes = {e["id"] for e in data["elements"] if e["type"] == "node"}
    assert len(ways) == 8
    assert all(set(w["nodes"]) <= nodes for w in ways)
