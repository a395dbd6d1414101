"""Hostile street networks on every loader: a named error naming the element, or a reported
repair (the rules of :mod:`geo.network.validate`), and the GraphML attribute cap."""

from __future__ import annotations

import json
import shutil
import time
import tracemalloc
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import osmium
import osmium.osm.mutable
import pytest
import shapely

from geo.errors import (
    CRSError,
    EmptyNetworkError,
    InputFileError,
    NetworkDataError,
    NetworkLimitError,
)
from geo.network.fromgraph import raw_from_graph
from geo.network.graphml import MAX_ATTRIBUTE_CHARS, literal_value, read_graphml
from geo.network.loaders import download_network, load_network
from geo.network.model import load_prepared_network, prepare_network, save_network
from geo.network.raw import RAW_TAG_COLUMNS, RawStreets
from geo.network.validate import MAX_EDGE_LENGTH_M, REPAIR_GEOMETRY, REPAIR_LENGTH
from tests.osm_fixtures import GRAPHML_NODES, edges_with, write_graphml

LON0, LAT0 = 113.30, 23.10
NAN_LINE = "LINESTRING (nan nan, 1 1)"


def nodes_with(node: str, x: str | None, y: str | None = "23.1",
               ) -> dict[str, tuple[str | None, str | None]]:
    return {**GRAPHML_NODES, node: (x, y)}


# ------------------------------------------------------------------------------ GraphML

# (case, writer kwargs, error class, message pattern)
GRAPHML_ERRORS: list[tuple[str, dict[str, Any], type[Exception], str]] = [
    ("nan geometry", {"edges": edges_with({2: {"geometry": NAN_LINE}})},
     NetworkDataError, r"edge 3→4: geometry has non-finite coordinates .*fix or remove it"),
    ("inf geometry", {"edges": edges_with({2: {"geometry": "LINESTRING (inf 23.1, 1 1)"}})},
     NetworkDataError, r"edge 3→4: geometry has non-finite"),
    ("geometry out of range",
     {"edges": edges_with({2: {"geometry": "LINESTRING (113.3 23.101, 913.3 23.1)"}})},
     NetworkDataError, r"edge 3→4: geometry has vertices outside lon"),
    ("unreadable WKT", {"edges": edges_with({2: {"geometry": "LINESTRING (1 2"}})},
     NetworkDataError, r"edge 3→4: geometry 'LINESTRING \(1 2' is not readable WKT"),
    ("point geometry", {"edges": edges_with({2: {"geometry": "POINT (113.3 23.1)"}})},
     NetworkDataError, r"edge 3→4: geometry is Point, not a LineString"),
    ("node id 1e30", {"nodes": {**GRAPHML_NODES, "1" + "0" * 30: ("113.3", "23.2")}},
     NetworkDataError, r"node '10{30}': the id is not an integer within the 64-bit range"),
    ("edge end id 1e30", {"edges": [*edges_with({}), ("1" + "0" * 30, "1", {})]},
     NetworkDataError, r"source node '10{30}': the id is not an integer"),
    ("node id not an integer", {"nodes": {**GRAPHML_NODES, "n5": ("113.3", "23.2")}},
     NetworkDataError, r"node 'n5': the id is not an integer"),
    ("nan x", {"nodes": nodes_with("2", "nan")},
     NetworkDataError, r"node 2: coordinates \(nan, 23.1\) are not finite numbers"),
    ("inf y", {"nodes": nodes_with("2", "113.301", "-inf")},
     NetworkDataError, r"node 2: coordinates \(113.301, -inf\) are not finite"),
    ("x not a number", {"nodes": nodes_with("2", "east")},
     NetworkDataError, r"node 2: x coordinate 'east' is not a number"),
    ("x missing", {"nodes": nodes_with("2", None)},
     NetworkDataError, r"node 2: has no x coordinate"),
    ("lon out of range", {"nodes": nodes_with("2", "213.301")},
     NetworkDataError, r"node 2: coordinates \(213.301, 23.1\) lie outside lon"),
    ("undeclared end node", {"edges": [*edges_with({}), ("4", "99", {"highway": "path"})]},
     NetworkDataError, r"edge 4→99: end node 99 is not declared as a <node>"),
    ("osmid not an integer", {"edges": edges_with({0: {"osmid": "abc"}})},
     NetworkDataError, r"edge 1→2: osmid 'abc' is not an integer"),
    ("osmid out of range", {"edges": edges_with({0: {"osmid": "[1, 99999999999999999999]"}})},
     NetworkDataError, r"edge 1→2: osmid .* is outside the 64-bit range"),
    ("no crs", {"crs": ""}, CRSError, "CRS"),
    ("projected coordinates outside the CRS",
     {"crs": "epsg:32649", "nodes": nodes_with("2", "1e30", "1e30")},
     NetworkDataError, r"node 2: coordinates \(1e\+30, 1e\+30\) cannot be converted"),
]


@pytest.mark.parametrize(("case", "kwargs", "error", "pattern"), GRAPHML_ERRORS,
                         ids=[c[0] for c in GRAPHML_ERRORS])
def test_graphml_refused(tmp_path: Path, case: str, kwargs: dict[str, Any],
                         error: type[Exception], pattern: str) -> None:
    p = write_graphml(tmp_path / "bad.graphml", **kwargs)
    with pytest.raises(error, match=pattern) as info:
        load_network(p)
    assert "GraphML bad.graphml" in str(info.value) or error is CRSError
    if error is NetworkDataError:
        assert info.value.message("zh").startswith("路网数据有误：GraphML bad.graphml")


def test_no_crs_graphml_without_crs_data(tmp_path: Path) -> None:
    p = write_graphml(tmp_path / "nocrs.graphml")
    p.write_text(p.read_text(encoding="utf-8").replace('<data key="g0">epsg:4326</data>', ""),
                 encoding="utf-8")
    with pytest.raises(CRSError, match="declares no CRS"):
        load_network(p)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-5", "abc", "[1.0, 2.0]", "",
                                   f"{MAX_EDGE_LENGTH_M * 10:g}"])
def test_graphml_bad_length_is_recomputed_and_reported(tmp_path: Path, value: str) -> None:
    good = load_network(write_graphml(tmp_path / "ok.graphml"))
    # edge 1→2 and its reverse 2→1 both carry the bad length (one street)
    p = write_graphml(tmp_path / "bad.graphml",
                      edges=edges_with({0: {"length": value}, 1: {"length": value}}))
    net = load_network(p)
    repairs = net.summary()["repairs"]
    assert repairs[REPAIR_LENGTH]["count"] == 2
    assert repairs[REPAIR_LENGTH]["examples"][0].startswith("edge 1→2: length")
    assert np.isfinite(net.length_m).all() and (net.length_m >= 0).all()
    # recomputed from the geometry: ~0.001° of longitude at 23.1° N ≈ 102.4 m
    i = int(np.flatnonzero(net.edge_attrs["osmid"].to_numpy() == "10")[0])
    assert net.length_m[i] == pytest.approx(102.4, abs=0.5)
    assert net.total_length_m == pytest.approx(good.total_length_m, abs=0.5)
    assert "repairs" not in good.meta and good.summary()["repairs"] == {}


@pytest.mark.parametrize("geometry", ["LINESTRING EMPTY",
                                      "LINESTRING (113.3 23.101, 113.3 23.101)"])
def test_graphml_degenerate_geometry_becomes_straight_line(tmp_path: Path,
                                                           geometry: str) -> None:
    p = write_graphml(tmp_path / "bad.graphml",
                      edges=edges_with({2: {"geometry": geometry}, 3: {"geometry": geometry}}))
    net = load_network(p)
    entry = net.summary()["repairs"][REPAIR_GEOMETRY]
    assert entry["count"] == 2 and entry["examples"][0].startswith("edge 3→4: LINESTRING")
    i = int(np.flatnonzero(net.edge_attrs["osmid"].to_numpy() == "11")[0])
    assert shapely.get_num_points(net.geometry[i]) == 2
    # the repairs survive the prepared-network cache
    cache = tmp_path / "cache"
    load_network(p, cache_dir=cache)
    hit = load_network(p, cache_dir=cache)
    assert hit.meta["cache"] == "hit" and hit.summary()["repairs"] == net.summary()["repairs"]


def test_graphml_attribute_cap(tmp_path: Path) -> None:
    bomb = "[" + ", ".join(["1"] * (MAX_ATTRIBUTE_CHARS // 3 + 10)) + "]"
    p = write_graphml(tmp_path / "osmid.graphml", edges=edges_with({0: {"osmid": bomb}}))
    with pytest.raises(NetworkLimitError, match=r"edge 1→2: attribute 'osmid' is longer than "
                                                r"1,000,000 characters"):
        load_network(p)
    # a huge attribute the network does not need (``ref``) is skipped, never stored
    big_ref = "[" + ", ".join(["1"] * 5_000_000) + "]"  # 15 MB of one list
    p = write_graphml(tmp_path / "ref.graphml", edges=edges_with({0: {"ref": big_ref}}))
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        net = load_network(p)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert net.n_edges == 4
    assert peak < 60 * 2**20, f"peak {peak / 2**20:.0f} MB"
    assert time.perf_counter() - t0 < 30


def test_graphml_xml_entities_refused(tmp_path: Path) -> None:
    p = write_graphml(tmp_path / "entity.graphml",
                      prolog='<?xml version="1.0"?><!DOCTYPE graphml [<!ENTITY a "aaaa">]>',
                      edges=edges_with({0: {"name": "&a;"}}))
    text = p.read_text(encoding="utf-8").replace("&amp;a;", "&a;")
    p.write_text(text, encoding="utf-8")
    with pytest.raises(InputFileError, match="entities"):
        load_network(p)


def test_literal_values_as_osmnx_decodes_them() -> None:
    assert literal_value("['a, b', \"O'Brien\", 'x\\\\y']") == ["a, b", "O'Brien", "x\\y"]
    assert literal_value("[1, -2, 3.5, True, None]") == [1, -2, 3.5, True, None]
    assert literal_value("[]") == []
    assert literal_value("{'a': 1}") == {"a": 1}
    assert literal_value("[01]") == "[01]"  # not a Python literal: stays text
    assert literal_value("plain") == "plain"
    long_nested = "[" + ", ".join(["[1]"] * 5000) + "]"  # not flat, > 10,000 characters
    assert literal_value(long_nested) == long_nested


# ----------------------------------------------------------------- raw tables (PBF path)


def raw(nodes: dict[int, tuple[float, float]], edges: list[dict[str, Any]]) -> RawStreets:
    import pandas as pd

    rows = []
    for e in edges:
        u, v = e["u"], e["v"]
        row = {"u": u, "v": v, "length_m": e.get("length_m", np.nan),
               "geometry": e.get("geometry", shapely.LineString([nodes[u], nodes[v]]))}
        row.update({c: e.get(c, "residential" if c == "highway" else None)
                    for c in RAW_TAG_COLUMNS})
        rows.append(row)
    return RawStreets(node_id=np.array(list(nodes), dtype=np.int64),
                      node_lon=np.array([p[0] for p in nodes.values()]),
                      node_lat=np.array([p[1] for p in nodes.values()]),
                      edges=pd.DataFrame(rows), source="test streets")


NODES = {1: (LON0, LAT0), 2: (LON0 + 0.001, LAT0), 3: (LON0 + 0.002, LAT0)}


def test_raw_table_refusals() -> None:
    bad_nodes = {**NODES, 2: (float("nan"), LAT0)}
    with pytest.raises(NetworkDataError, match=r"test streets: node 2: coordinates \(nan"):
        prepare_network(raw(bad_nodes, [{"u": 1, "v": 2}]))
    nan_geom = shapely.LineString([(float("nan"), float("nan")), (1, 1)])
    with pytest.raises(NetworkDataError, match=r"edge 1→2: geometry has non-finite"):
        prepare_network(raw(NODES, [{"u": 1, "v": 2, "geometry": nan_geom},
                                    {"u": 2, "v": 3}]))
    poly = shapely.Point(LON0, LAT0).buffer(0.001)
    with pytest.raises(NetworkDataError, match=r"edge 2→3: geometry is Polygon"):
        prepare_network(raw(NODES, [{"u": 1, "v": 2}, {"u": 2, "v": 3, "geometry": poly}]))
    dup = raw(NODES, [{"u": 1, "v": 2}])
    dup = RawStreets(node_id=np.array([1, 2, 2]), node_lon=dup.node_lon,
                     node_lat=dup.node_lat, edges=dup.edges, source="dup")
    with pytest.raises(NetworkDataError, match="node 2: this node id is listed more than once"):
        prepare_network(dup)
    obj = raw(NODES, [{"u": 1, "v": 2}])
    obj = RawStreets(node_id=np.array([1, 2, 10**30], dtype=object), node_lon=obj.node_lon,
                     node_lat=obj.node_lat, edges=obj.edges, source="obj")
    with pytest.raises(NetworkDataError, match=r"node 10{30}: the id is not an integer"):
        prepare_network(obj)


def test_raw_table_lengths_repaired() -> None:
    net = prepare_network(raw(NODES, [{"u": 1, "v": 2, "length_m": -3.0},
                                      {"u": 2, "v": 3, "length_m": float("inf")}]))
    entry = net.summary()["repairs"][REPAIR_LENGTH]
    assert entry["count"] == 2
    assert entry["examples"] == ["edge 1→2: length -3.0", "edge 2→3: length inf"]
    assert net.length_m == pytest.approx([102.4, 102.4], abs=0.5)
    # NaN means "no length": computed, not a repair
    assert prepare_network(raw(NODES, [{"u": 1, "v": 2}])).summary()["repairs"] == {}


def test_pbf_coordinate_outside_range(tmp_path: Path) -> None:
    p = tmp_path / "far.osm.pbf"
    with osmium.SimpleWriter(str(p)) as w:
        for nid, lon in ((1, LON0), (2, LON0 + 100.0), (3, LON0 + 0.001), (4, LON0 + 0.002)):
            w.add_node(osmium.osm.mutable.Node(id=nid, location=(lon, LAT0)))
        w.add_way(osmium.osm.mutable.Way(id=10, nodes=[1, 2, 3], tags={"highway": "path"}))
        w.add_way(osmium.osm.mutable.Way(id=11, nodes=[3, 4], tags={"highway": "path"}))
    with pytest.raises(NetworkDataError, match=r"OSM file far.osm.pbf: edge 1→3: geometry "
                                               r"has vertices outside lon"):
        load_network(p)


def test_osm_xml_hostile_nodes(tmp_path: Path) -> None:
    base = ('<?xml version="1.0"?><osm version="0.6">'
            '<node id="1" lat="23.1" lon="113.3"/><node id="{big}" lat="23.1" lon="{lon}"/>'
            '<way id="10"><nd ref="1"/><nd ref="{big}"/><tag k="highway" v="path"/></way>'
            "</osm>")
    p = tmp_path / "big.osm"
    p.write_text(base.format(big="1" + "0" * 30, lon="113.301"), encoding="utf-8")
    with pytest.raises(NetworkDataError, match=r"node 10{30}: the id is not an integer"):
        load_network(p)
    p = tmp_path / "far.osm"
    p.write_text(base.format(big="2", lon="213.301"), encoding="utf-8")
    with pytest.raises(NetworkDataError, match=r"node 2: coordinates \(213.301, 23.1\) lie"):
        load_network(p)


# ------------------------------------------------------------------- online (downloader)


def graph(**node2: Any) -> nx.MultiDiGraph:
    g = nx.MultiDiGraph(crs="epsg:4326")
    g.add_node(1, x=LON0, y=LAT0)
    g.add_node(node2.pop("id", 2), **{"x": LON0 + 0.001, "y": LAT0, **node2})
    u, v = list(g.nodes)
    g.add_edge(u, v, osmid=5, highway="residential", length=node2.get("length", 102.4))
    return g


@pytest.mark.parametrize(("g", "pattern"), [
    (graph(x=float("nan")), r"node 2: coordinates \(nan"),
    (graph(id=10**30), "node 10{30}: the id is not an integer"),
    (graph(id="a"), "node 'a': the id is not an integer"),
    (graph(y=None), "node 2: has no y coordinate"),
])
def test_downloaded_graph_refused(g: nx.MultiDiGraph, pattern: str) -> None:
    with pytest.raises(NetworkDataError, match=pattern):
        download_network(place="x", downloader=lambda *a, **k: g)


def test_downloaded_graph_length_repaired_and_graphml_cache(tmp_path: Path) -> None:
    g = graph()
    for _, _, d in g.edges(data=True):
        d["length"] = float("nan")
    net = download_network(place="x", downloader=lambda *a, **k: g)
    assert net.summary()["repairs"][REPAIR_LENGTH]["count"] == 1
    # the cached GraphML (written by osmnx) goes through the streaming reader
    cached = download_network(place="x", downloader=lambda *a, **k: g, cache_dir=tmp_path)
    assert cached.summary()["repairs"][REPAIR_LENGTH]["count"] == 1
    np.testing.assert_allclose(cached.length_m, net.length_m)
    assert raw_from_graph(g).meta["repairs"][REPAIR_LENGTH]["count"] == 1


def test_graph_without_edges() -> None:
    g = nx.MultiDiGraph(crs="epsg:4326")
    g.add_node(1, x=LON0, y=LAT0)
    with pytest.raises(EmptyNetworkError):
        raw_from_graph(g)


# ----------------------------------------------------------------- prepared and cached


@pytest.fixture
def prepared(tmp_path: Path) -> Path:
    net = load_network(write_graphml(tmp_path / "ok.graphml"))
    return save_network(net, tmp_path / "prepared")


def _rewrite_arrays(d: Path, **changes: np.ndarray) -> None:
    with np.load(d / "arrays.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays.update(changes)
    np.savez(d / "arrays.npz", **arrays)


@pytest.mark.parametrize(("change", "pattern"), [
    ("nan_x", r"node \d+: coordinates \(nan"),
    ("edge_out_of_range", r"edge #0: refers to node index 99"),
    ("negative_length", r"length -1.0 is not a finite number"),
    ("short_array", r"edge_v: 3 entries for 4 edges"),
    ("float_ids", r"node_id: is not an integer array"),
])
def test_prepared_network_refused(prepared: Path, change: str, pattern: str) -> None:
    with np.load(prepared / "arrays.npz") as npz:
        a = {k: npz[k].copy() for k in npz.files}
    if change == "nan_x":
        a["node_x"][1] = np.nan
    elif change == "edge_out_of_range":
        a["edge_u"][0] = 99
    elif change == "negative_length":
        a["length_m"][2] = -1.0
    elif change == "short_array":
        a["edge_v"] = a["edge_v"][:3]
    else:
        a["node_id"] = a["node_id"].astype(float)
    _rewrite_arrays(prepared, **a)
    with pytest.raises(NetworkDataError, match=pattern) as info:
        load_prepared_network(prepared)
    assert "prepare it again" in str(info.value)


def test_prepared_network_nan_geometry_and_bad_meta(prepared: Path) -> None:
    import pandas as pd

    edges = pd.read_parquet(prepared / "edges.parquet")
    edges.loc[1, "wkb"] = shapely.to_wkb(shapely.from_wkt(NAN_LINE))
    edges.to_parquet(prepared / "edges.parquet", index=False)
    with pytest.raises(NetworkDataError, match="geometry has non-finite coordinates"):
        load_prepared_network(prepared)
    meta = json.loads((prepared / "meta.json").read_text(encoding="utf-8"))
    meta["crs"] = "not a crs"
    (prepared / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(InputFileError, match="cannot read prepared network"):
        load_prepared_network(prepared)


def test_bad_cache_entry_is_rebuilt(tmp_path: Path) -> None:
    p = write_graphml(tmp_path / "ok.graphml")
    cache = tmp_path / "cache"
    first = load_network(p, cache_dir=cache)
    entry = Path(first.meta["cache_path"])
    _rewrite_arrays(entry, node_x=np.full(first.n_nodes, np.nan))
    again = load_network(p, cache_dir=cache)
    assert again.meta["cache"] == "miss"
    np.testing.assert_array_equal(again.node_x, first.node_x)
    shutil.rmtree(entry)


def test_streamed_reader_names_the_source(tmp_path: Path) -> None:
    p = write_graphml(tmp_path / "x.graphml", nodes=nodes_with("2", "nan"))
    with pytest.raises(NetworkDataError, match=r"^upload: node 2"):
        read_graphml(p, source="upload")
