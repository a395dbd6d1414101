"""Tests of :mod:`geo.network.model`: preparation, the CSR and the prepared-network storage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from scipy.sparse import csgraph

from geo.errors import EmptyNetworkError, InputFileError
from geo.network.model import (
    build_csr,
    is_prepared_network,
    load_prepared_network,
    prepare_network,
    save_network,
)
from geo.network.raw import RAW_TAG_COLUMNS, RawStreets

GEOD = pyproj.Geod(ellps="WGS84")
LON0, LAT0 = 113.30, 23.10  # Guangzhou → UTM zone 49N (EPSG:32649)


def raw_streets(nodes: dict[int, tuple[float, float]],
                edges: list[dict[str, object]]) -> RawStreets:
    """RawStreets from {id: (lon, lat)} and edge dicts (u, v, optional geometry/length/tags)."""
    ids = np.array(list(nodes), dtype=np.int64)
    lon = np.array([nodes[i][0] for i in ids])
    lat = np.array([nodes[i][1] for i in ids])
    rows = []
    for e in edges:
        u, v = int(e["u"]), int(e["v"])
        geom = e.get("geometry") or shapely.LineString([nodes[u], nodes[v]])
        row = {"u": u, "v": v, "geometry": geom, "length_m": e.get("length_m", np.nan)}
        for c in RAW_TAG_COLUMNS:
            row[c] = e.get(c)
        rows.append(row)
    df = pd.DataFrame(rows)
    df = df.astype({c: object for c in RAW_TAG_COLUMNS})
    df[list(RAW_TAG_COLUMNS)] = df[list(RAW_TAG_COLUMNS)].where(
        df[list(RAW_TAG_COLUMNS)].notna(), None)
    return RawStreets(node_id=ids, node_lon=lon, node_lat=lat, edges=df, source="test")


def geodesic(geom: shapely.LineString) -> float:
    return float(GEOD.geometry_length(geom))


# ---------------------------------------------------------------------------- prepare


@pytest.fixture
def two_streets() -> RawStreets:
    """Node 1 —(straight, both directions)— node 2, plus a curved parallel street 1→2,
    a footway 2–3 and a motorway 3–4 (dropped)."""
    nodes = {1: (LON0, LAT0), 2: (LON0 + 0.002, LAT0), 3: (LON0 + 0.002, LAT0 + 0.001),
             4: (LON0 + 0.004, LAT0 + 0.001), 99: (LON0 + 0.01, LAT0 + 0.01)}
    straight = shapely.LineString([nodes[1], nodes[2]])
    curved = shapely.LineString([nodes[1], (LON0 + 0.001, LAT0 + 0.0008), nodes[2]])
    edges = [
        {"u": 1, "v": 2, "geometry": straight, "highway": "residential", "name": "东风路",
         "osmid": "10"},
        {"u": 2, "v": 1, "geometry": shapely.reverse(straight), "highway": "residential",
         "name": "东风路", "osmid": "10"},
        {"u": 1, "v": 2, "geometry": curved, "highway": "residential", "osmid": "11"},
        {"u": 2, "v": 3, "highway": "footway", "osmid": "12"},
        {"u": 3, "v": 2, "highway": "footway", "osmid": "12"},
        {"u": 3, "v": 4, "highway": "motorway", "osmid": "13"},
    ]
    return raw_streets(nodes, edges)


def test_prepare_dedups_directions_keeps_parallel_street(two_streets: RawStreets) -> None:
    net = prepare_network(two_streets)
    assert net.crs.to_epsg() == 32649
    # straight (once), curved parallel, footway (once); motorway dropped
    assert net.n_edges == 3
    assert sorted(net.edge_attrs["osmid"]) == ["10", "11", "12"]
    # node 4 (only on the motorway) and 99 (on no edge) are not in the network
    assert sorted(net.node_id.tolist()) == [1, 2, 3]
    assert net.n_nodes == 3
    # the filter report counts streets, not directions: 3 kept, 1 dropped
    assert net.filter_report.kept_edges == 3
    assert net.filter_report.dropped_edges == 1
    assert net.filter_report.by_reason[0][:2] == ("highway=motorway", 1)
    # edge ends index the node arrays and geometry starts at u
    for i in range(net.n_edges):
        start = shapely.get_coordinates(net.geometry[i])[0]
        end = shapely.get_coordinates(net.geometry[i])[-1]
        u, v = net.edge_u[i], net.edge_v[i]
        assert start == pytest.approx([net.node_x[u], net.node_y[u]], abs=1e-6)
        assert end == pytest.approx([net.node_x[v], net.node_y[v]], abs=1e-6)
    # curved street is longer than the straight one: both kept as separate streets
    by_id = dict(zip(net.edge_attrs["osmid"], net.length_m, strict=True))
    assert by_id["11"] > by_id["10"] * 1.1
    assert net.total_length_m == pytest.approx(sum(by_id.values()))
    # the attribute table carries highway/name/osmid; missing name is None (not NaN)
    row = net.edge_attrs.loc[net.edge_attrs["osmid"] == "11"].iloc[0]
    assert row["highway"] == "residential" and row["name"] is None


def test_length_from_geometry_matches_geodesic(two_streets: RawStreets) -> None:
    net = prepare_network(two_streets)
    raw = two_streets.edges
    for osmid, geom in zip(raw["osmid"], raw["geometry"], strict=True):
        if osmid == "13":
            continue
        length = float(net.length_m[net.edge_attrs["osmid"].to_numpy() == osmid][0])
        # UTM scale error near the zone's centre is ~0.04 %: well inside 0.5 %
        assert length == pytest.approx(geodesic(geom), rel=0.005), osmid
    # ~0.002° of longitude at 23.1° N ≈ 204.8 m
    straight = float(net.length_m[net.edge_attrs["osmid"].to_numpy() == "10"][0])
    assert straight == pytest.approx(204.8, abs=1.0)


def test_given_length_is_used_and_nan_falls_back() -> None:
    nodes = {1: (LON0, LAT0), 2: (LON0 + 0.001, LAT0), 3: (LON0 + 0.002, LAT0)}
    raw = raw_streets(nodes, [
        {"u": 1, "v": 2, "highway": "footway", "length_m": 123.4},
        {"u": 2, "v": 3, "highway": "footway", "length_m": float("nan")},
    ])
    net = prepare_network(raw)
    lengths = dict(zip(net.node_id[net.edge_u], net.length_m, strict=True))
    assert lengths[1] == 123.4
    assert lengths[2] == pytest.approx(geodesic(raw.edges["geometry"][1]), rel=0.005)


def test_missing_geometry_becomes_straight_line() -> None:
    nodes = {1: (LON0, LAT0), 2: (LON0, LAT0 + 0.001)}
    raw = raw_streets(nodes, [{"u": 1, "v": 2, "highway": "path"}])
    raw.edges.at[0, "geometry"] = None
    net = prepare_network(raw)
    assert net.n_edges == 1
    assert shapely.get_num_points(net.geometry[0]) == 2
    # 0.001° of latitude ≈ 110.8 m
    assert net.length_m[0] == pytest.approx(110.8, abs=0.5)


def test_non_linestring_geometry_refused_and_empty_repaired() -> None:
    from geo.errors import NetworkDataError
    from geo.network.validate import REPAIR_GEOMETRY

    nodes = {1: (LON0, LAT0), 2: (LON0, LAT0 + 0.001)}
    raw = raw_streets(nodes, [{"u": 1, "v": 2, "highway": "path"}])
    raw.edges.at[0, "geometry"] = shapely.Point(LON0, LAT0)
    with pytest.raises(NetworkDataError, match=r"test: edge 1→2: geometry is Point"):
        prepare_network(raw)
    raw.edges.at[0, "geometry"] = shapely.LineString()
    net = prepare_network(raw)
    assert net.length_m[0] == pytest.approx(110.8, abs=0.5)
    assert net.summary()["repairs"][REPAIR_GEOMETRY]["count"] == 1


def test_network_pickles_without_caches(two_streets: RawStreets) -> None:
    import pickle

    net = prepare_network(two_streets)
    _ = net.csr, net.edge_tree, net.cutter  # caches are not pickled, but rebuilt
    back = pickle.loads(pickle.dumps(net))
    assert not {"csr", "edge_tree", "cutter"} & set(back.__dict__)
    for name in ("node_id", "node_x", "node_y", "edge_u", "edge_v", "length_m"):
        np.testing.assert_array_equal(getattr(back, name), getattr(net, name), err_msg=name)
    assert all(shapely.equals_exact(back.geometry, net.geometry, tolerance=0.0))
    assert back.crs == net.crs and back.edge_attrs.equals(net.edge_attrs)
    assert back.filter_report == net.filter_report and back.meta == net.meta
    assert (back.csr != net.csr).nnz == 0


def test_empty_network_errors() -> None:
    nodes = {1: (LON0, LAT0), 2: (LON0 + 0.01, LAT0), 3: (LON0 + 0.02, LAT0)}
    raw = raw_streets(nodes, [
        {"u": 1, "v": 2, "highway": "motorway"},
        {"u": 2, "v": 3, "highway": "motorway_link"},
        {"u": 3, "v": 2, "highway": "residential", "foot": "no"},
    ])
    with pytest.raises(EmptyNetworkError, match="pedestrian filter"):
        prepare_network(raw)
    assert EmptyNetworkError.exit_code == 5
    empty = RawStreets(node_id=np.zeros(0, dtype=np.int64), node_lon=np.zeros(0),
                       node_lat=np.zeros(0), edges=raw.edges.iloc[:0])
    with pytest.raises(EmptyNetworkError):
        prepare_network(empty)


def test_unknown_node_and_geographic_crs_rejected() -> None:
    nodes = {1: (LON0, LAT0), 2: (LON0 + 0.001, LAT0)}
    raw = raw_streets(nodes, [{"u": 1, "v": 2, "highway": "path"}])
    bad = RawStreets(node_id=raw.node_id[:1], node_lon=raw.node_lon[:1],
                     node_lat=raw.node_lat[:1], edges=raw.edges, source="bad")
    with pytest.raises(InputFileError, match="unknown nodes"):
        prepare_network(bad)
    with pytest.raises(InputFileError, match="metric"):
        prepare_network(raw, crs="EPSG:4326")
    net = prepare_network(raw, crs="EPSG:3857")
    assert net.crs.to_epsg() == 3857


# ------------------------------------------------------------------------------- CSR


def test_build_csr_keeps_min_of_parallel_edges() -> None:
    # 0–1 three times (5, 3, 4 — one given as 1→0), 1–2 once (2), self-loop on 2
    u = np.array([0, 0, 1, 1, 2])
    v = np.array([1, 1, 0, 2, 2])
    w = np.array([5.0, 3.0, 4.0, 2.0, 0.5])
    m = build_csr(3, u, v, w)
    assert m.shape == (3, 3)
    dense = m.toarray()
    # min, not the sum (12) that coo→csr would give
    assert dense[0, 1] == 3.0 and dense[1, 0] == 3.0
    assert dense[1, 2] == 2.0 and dense[2, 1] == 2.0
    # self-loop left out; exactly one stored entry per direction
    assert dense[2, 2] == 0.0
    assert m.nnz == 4
    assert (m != m.T).nnz == 0
    d = csgraph.dijkstra(m, directed=True, indices=0)
    assert d.tolist() == [0.0, 3.0, 5.0]


def test_build_csr_keeps_explicit_zero_weights() -> None:
    # 0 —(0 m)— 1 —(7 m)— 2 ; 0 —(0 m)— 1 twice, also a 9 m parallel
    u = np.array([0, 1, 1, 0])
    v = np.array([1, 2, 0, 1])
    w = np.array([0.0, 7.0, 0.0, 9.0])
    m = build_csr(3, u, v, w)
    # 0–1 and 1–2 in both directions are stored, the zero explicitly
    assert m.nnz == 4
    rows, _ = m.nonzero()  # nonzero() skips explicit zeros …
    assert len(rows) == 2
    coo = m.tocoo()  # … but the structure holds them
    stored = {(int(r), int(c)): float(x) for r, c, x in zip(coo.row, coo.col, coo.data,
                                                             strict=True)}
    assert stored == {(0, 1): 0.0, (1, 0): 0.0, (1, 2): 7.0, (2, 1): 7.0}
    d = csgraph.dijkstra(m, directed=True, indices=0)
    # the zero-length edge is walkable: 0 → 1 costs 0, 0 → 2 costs 7
    assert d.tolist() == [0.0, 0.0, 7.0]


def test_build_csr_isolated_nodes_and_empty() -> None:
    m = build_csr(4, np.array([1]), np.array([2]), np.array([1.5]))
    assert m.shape == (4, 4)
    assert m.indptr.tolist() == [0, 0, 1, 2, 2]
    empty = build_csr(2, np.zeros(0, int), np.zeros(0, int), np.zeros(0))
    assert empty.nnz == 0 and empty.shape == (2, 2)


def test_network_csr_matches_build_csr(two_streets: RawStreets) -> None:
    net = prepare_network(two_streets)
    m = net.csr
    # nodes 1 and 2 are joined by the straight (~205 m) and the curved street: min kept
    i1 = int(np.flatnonzero(net.node_id == 1)[0])
    i2 = int(np.flatnonzero(net.node_id == 2)[0])
    straight = float(net.length_m[net.edge_attrs["osmid"].to_numpy() == "10"][0])
    assert m[i1, i2] == pytest.approx(straight)
    assert m[i2, i1] == pytest.approx(straight)


# --------------------------------------------------------------------------- storage


def test_save_and_load_round_trip(two_streets: RawStreets, tmp_path: Path) -> None:
    net = prepare_network(two_streets, source_sha256="ab" * 32, meta={"format": "test"})
    target = tmp_path / "prepared" / "net"
    out = save_network(net, target)
    assert out == target and is_prepared_network(target)
    assert not is_prepared_network(tmp_path)
    back = load_prepared_network(target)
    for name in ("node_id", "node_x", "node_y", "edge_u", "edge_v", "length_m"):
        np.testing.assert_array_equal(getattr(back, name), getattr(net, name), err_msg=name)
    assert back.crs == net.crs
    assert back.crs.to_epsg() == 32649
    assert all(shapely.equals_exact(back.geometry, net.geometry, tolerance=0.0))
    pd.testing.assert_frame_equal(back.edge_attrs.reset_index(drop=True),
                                  net.edge_attrs.reset_index(drop=True))
    assert back.edge_attrs["name"].tolist().count(None) == 2
    assert back.filter_report.to_dict() == net.filter_report.to_dict()
    assert back.source == "test" and back.source_sha256 == "ab" * 32
    assert back.meta["format"] == "test"
    assert back.total_length_m == pytest.approx(net.total_length_m, rel=1e-12)
    # overwriting an existing prepared network works and leaves no temp directory
    save_network(net, target)
    assert sorted(p.name for p in target.parent.iterdir()) == ["net"]


def test_load_prepared_network_rejects_foreign_directory(tmp_path: Path) -> None:
    d = tmp_path / "x"
    d.mkdir()
    (d / "meta.json").write_text('{"format": "something-else"}', encoding="utf-8")
    (d / "arrays.npz").write_bytes(b"")
    with pytest.raises(InputFileError, match="prepared network"):
        load_prepared_network(d)
