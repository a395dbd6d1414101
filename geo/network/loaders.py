"""Load a walk network from a file, a prepared cache or OpenStreetMap online.

Sources
-------
* ``.osm.pbf`` — streamed with pyosmium (:mod:`geo.network.pbf`), clipped to a bbox/polygon.
* ``.osm`` / ``.xml`` — osmnx :func:`osmnx.graph_from_xml`.
* ``.graphml`` — written by osmnx 1.x or 2.x, streamed by :mod:`geo.network.graphml`
  (only the attributes the network needs, each capped in size; same result as
  :func:`osmnx.load_graphml`).
* a directory written by :func:`geo.network.model.save_network` (a *prepared network*).
* online — :func:`download_network` through osmnx (place name, bbox or polygon).

Every file source is cached as a prepared network keyed by the file's sha256, the
filter version and the clip, so the second load skips parsing and filtering.

Every source is validated on load — ids, coordinates, geometries, lengths; what is refused
with :class:`~geo.errors.NetworkDataError` and what is repaired and reported is listed in
:mod:`geo.network.validate`. A cache entry that fails validation is rebuilt. For untrusted
files run the loader in a worker process with memory and time limits
(:func:`geo.pipeline.isolate.load_network_isolated`).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

import networkx as nx
import numpy as np
import pandas as pd
import shapely

from geo.crs import validate_bbox
from geo.errors import (
    DownloadError,
    EmptyNetworkError,
    InputFileError,
    UnknownFormatError,
)
from geo.network.fromgraph import raw_from_graph
from geo.network.graphml import read_graphml
from geo.network.model import (
    WalkNetwork,
    is_prepared_network,
    load_prepared_network,
    prepare_network,
    save_network,
)
from geo.network.modes import FILTER_VERSIONS, check_mode
from geo.network.pbf import read_osm_file
from geo.network.raw import OSMNX_WAY_TAGS, RawStreets
from geo.network.walkfilter import FILTER_VERSION

CACHE_LAYOUT: Final = "prepared-v1"
_OSMNX_LOCK = threading.Lock()

BBox = tuple[float, float, float, float]


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/yizhan`` (``~/.cache/yizhan``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "yizhan"


def file_sha256(path: str | os.PathLike[str], *, chunk: int = 1 << 20) -> str:
    """sha256 hex digest of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def network_format(path: str | os.PathLike[str]) -> str:
    """``"pbf"``, ``"osm_xml"``, ``"graphml"`` or ``"prepared"``; else raise."""
    p = Path(path)
    if is_prepared_network(p):
        return "prepared"
    name = p.name.lower()
    if name.endswith(".osm.pbf") or name.endswith(".pbf"):
        return "pbf"
    if name.endswith(".osm") or name.endswith(".osm.xml") or name.endswith(".xml"):
        return "osm_xml"
    if name.endswith(".graphml"):
        return "graphml"
    raise UnknownFormatError(
        f"unknown network format for {p.name!r}: use .osm.pbf, .osm (XML), .graphml "
        "or a prepared network directory"
    )


def load_network(
    path: str | os.PathLike[str],
    *,
    bbox: BBox | None = None,
    polygon: shapely.Polygon | shapely.MultiPolygon | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    mode: str = "walk",
) -> WalkNetwork:
    """Load and prepare a walk network from ``path``.

    ``bbox`` = (min_lon, min_lat, max_lon, max_lat) and ``polygon`` (WGS-84) clip the
    network; ``cache_dir`` enables the prepared-network cache (``None``: no cache).
    ``mode``: ``"walk"``, ``"ebike"`` or ``"drive"`` — the street filter applied
    (:mod:`geo.network.modes`); a prepared directory must have been prepared for it.
    """
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"network file not found: {p}. Check the path.")
    fmt = network_format(p)
    version = FILTER_VERSIONS[check_mode(mode)]
    if fmt == "prepared":
        return _check_prepared_mode(load_prepared_network(p), mode, p)
    if not p.is_file():
        raise InputFileError(f"network path is not a file: {p}")
    sha = file_sha256(p)
    clip = _clip_key(bbox, polygon)
    cache_path = None
    if cache_dir is not None:
        key = hashlib.sha256(
            json.dumps([CACHE_LAYOUT, sha, version, clip]).encode()
        ).hexdigest()[:32]
        cache_path = Path(cache_dir) / "networks" / key
        if is_prepared_network(cache_path):
            with contextlib.suppress(InputFileError):
                net = load_prepared_network(cache_path)
                return _with_meta(net, cache="hit", cache_path=str(cache_path))
    if fmt == "pbf":
        raw = read_osm_file(p, bbox=bbox, polygon=polygon)
    elif fmt == "osm_xml":
        raw = _clip_raw(raw_from_graph(_graph_from_xml(p), source=f"OSM XML {p.name}"),
                        bbox, polygon)
    else:
        raw = _clip_raw(read_graphml(p, source=f"GraphML {p.name}"), bbox, polygon)
    net = prepare_network(raw, source_sha256=sha, meta={"format": fmt, "clip": clip},
                          mode=mode)
    if cache_path is not None:
        with contextlib.suppress(OSError):
            save_network(net, cache_path)
        net = _with_meta(net, cache="miss", cache_path=str(cache_path))
    return net


def _check_prepared_mode(net: WalkNetwork, mode: str, path: Path) -> WalkNetwork:
    if net.filter_report.version != FILTER_VERSIONS[mode]:
        raise InputFileError(
            f"{path} was prepared with the {net.filter_report.version} filter, not for "
            f"mode {mode!r}: prepare it for {mode!r} or give the OSM source file")
    return net


def _with_meta(net: WalkNetwork, **extra: Any) -> WalkNetwork:
    return replace(net, meta={**net.meta, **extra})


def _clip_key(bbox: BBox | None, polygon: Any) -> Any:
    return {
        "bbox": [round(float(c), 7) for c in bbox] if bbox is not None else None,
        "polygon": hashlib.sha256(shapely.to_wkb(polygon)).hexdigest()
        if polygon is not None else None,
    }


# ----------------------------------------------------------------------- graph sources


@contextlib.contextmanager
def _osmnx_settings(**overrides: Any) -> Iterator[Any]:
    """Temporarily set osmnx's (process-global) settings, under a lock."""
    import osmnx as ox

    with _OSMNX_LOCK:
        saved = {k: getattr(ox.settings, k) for k in overrides}
        try:
            for k, v in overrides.items():
                setattr(ox.settings, k, v)
            yield ox
        finally:
            for k, v in saved.items():
                setattr(ox.settings, k, v)


#: Edge tags the walk filter reads: a merged edge never mixes different values of them.
_FILTER_TAGS: Final = ("highway", "foot", "access", "service", "motorroad", "area")


def _simplify_streets(graph: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """Keep only ``highway`` edges and merge degree-2 chains with equal filter tags.

    osmnx's default simplification (a) keeps the non-highway ways ``graph_from_xml``
    reads (buildings, landuse…), which then merge into streets, and (b) merges ways
    with different tags into one edge that the filter drops whole if any part is
    dropped (a residential street continuing as a cycleway). Both lose or distort
    street length compared with the ``.osm.pbf`` reader, which splits at way ends.
    Isolated rings (roundabouts, closed footways) are kept.
    """
    import osmnx as ox

    no_hw = [(u, v, k) for u, v, k, h in graph.edges(keys=True, data="highway") if h is None]
    if no_hw:
        graph = graph.copy()
        graph.remove_edges_from(no_hw)
        graph.remove_nodes_from([n for n, d in graph.degree() if d == 0])
    if graph.number_of_edges() == 0:
        return graph
    return ox.simplify_graph(graph, remove_rings=False, edge_attrs_differ=list(_FILTER_TAGS))


def _graph_from_xml(path: Path) -> nx.MultiDiGraph:
    try:
        with _osmnx_settings(useful_tags_way=list(OSMNX_WAY_TAGS)) as ox:
            # simplify ourselves (see _simplify_streets)
            graph = ox.graph_from_xml(path, simplify=False, retain_all=True,
                                      bidirectional=True)
            return _simplify_streets(graph)
    except (ValueError, KeyError, OSError) as exc:
        raise InputFileError(f"cannot read OSM XML {path.name}: {exc}") from None
    except Exception as exc:  # osmnx raises its own types for empty graphs
        if type(exc).__name__ in {"GraphSimplificationError", "InsufficientResponseError"}:
            raise EmptyNetworkError(f"{path.name} contains no streets: {exc}") from None
        if "ParseError" in type(exc).__name__:
            raise InputFileError(f"cannot parse OSM XML {path.name}: {exc}") from None
        raise


def _clip_raw(raw: RawStreets, bbox: BBox | None, polygon: Any) -> RawStreets:
    """Keep edges whose two end nodes lie inside the bbox and the polygon."""
    if bbox is None and polygon is None:
        return raw
    inside = np.ones(len(raw.node_id), dtype=bool)
    if bbox is not None:
        x0, y0, x1, y1 = validate_bbox(bbox)
        inside &= ((raw.node_lon >= x0) & (raw.node_lon <= x1)
                   & (raw.node_lat >= y0) & (raw.node_lat <= y1))
    if polygon is not None:
        inside &= shapely.contains_xy(polygon, raw.node_lon, raw.node_lat) | shapely.intersects_xy(
            polygon, raw.node_lon, raw.node_lat)
    ok_ids = pd.Index(raw.node_id[inside])
    e = raw.edges
    keep = ok_ids.get_indexer(e["u"]) >= 0
    keep &= ok_ids.get_indexer(e["v"]) >= 0
    if not keep.any():
        raise EmptyNetworkError(
            f"no street of {raw.source} lies inside the clip area: check the bbox/polygon "
            "(lon/lat order, WGS-84) against the file's extent "
            f"({raw.node_lon.min():.4f},{raw.node_lat.min():.4f} – "
            f"{raw.node_lon.max():.4f},{raw.node_lat.max():.4f})"
        )
    return RawStreets(node_id=raw.node_id, node_lon=raw.node_lon, node_lat=raw.node_lat,
                      edges=e.loc[keep].reset_index(drop=True), source=raw.source,
                      meta={**raw.meta, "clipped": True})


# ----------------------------------------------------------------------------- online

Downloader = Callable[..., nx.MultiDiGraph]


def download_network(
    *,
    place: str | None = None,
    bbox: BBox | None = None,
    polygon: shapely.Polygon | shapely.MultiPolygon | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    downloader: Downloader | None = None,
    timeout_s: float = 180.0,
    mode: str = "walk",
) -> WalkNetwork:
    """Download every ``highway=*`` way from OpenStreetMap via osmnx and prepare it.

    Exactly one of ``place`` (a Nominatim query such as ``"福田区, 深圳市, 广东省"``),
    ``bbox`` (min_lon, min_lat, max_lon, max_lat) or ``polygon`` (WGS-84). The raw
    graph is cached as GraphML under ``cache_dir/osm/`` (and the prepared network as
    for files), so a repeated query works offline. Needs internet the first time;
    without it raises :class:`DownloadError`. ``downloader`` replaces the osmnx call
    (tests; alternative mirrors); ``mode`` as for :func:`load_network`. It is called as
    ``downloader(kind, query, timeout_s=timeout_s)``. osmnx's own HTTP cache goes to
    ``cache_dir/overpass/`` (none without ``cache_dir``), never the working directory.
    """
    given = [x is not None for x in (place, bbox, polygon)]
    if sum(given) != 1:
        raise InputFileError("download_network needs exactly one of place=, bbox= or polygon=")
    query: Any
    qkey: Any
    if place is not None:
        kind, query, qkey = "place", place, place.strip()
    elif bbox is not None:
        kind, query = "bbox", validate_bbox(bbox)
        qkey = [round(c, 7) for c in query]
    else:
        kind, query, qkey = "polygon", polygon, shapely.to_wkt(polygon, rounding_precision=7)
    digest = hashlib.sha256(json.dumps([kind, qkey, FILTER_VERSION]).encode()).hexdigest()[:32]
    graphml = Path(cache_dir) / "osm" / f"{digest}.graphml" if cache_dir is not None else None
    if graphml is not None and graphml.is_file():
        return load_network(graphml, cache_dir=cache_dir, mode=mode)
    fetch = downloader or functools.partial(
        _osmnx_download,
        cache_folder=Path(cache_dir) / "overpass" if cache_dir is not None else None)
    try:
        graph = fetch(kind, query, timeout_s=timeout_s)
    except DownloadError:
        raise
    except Exception as exc:
        raise DownloadError(
            f"could not download the street network from OpenStreetMap ({type(exc).__name__}: "
            f"{exc}). This needs internet access to Nominatim/Overpass; offline, load a local "
            ".osm.pbf / .osm / .graphml file instead"
        ) from None
    if graphml is None:
        return prepare_network(raw_from_graph(graph, source=f"OpenStreetMap {kind} {qkey}"),
                               meta={"format": "online", "query": qkey}, mode=mode)
    import osmnx as ox

    graphml.parent.mkdir(parents=True, exist_ok=True)
    tmp = graphml.with_suffix(".tmp")
    ox.save_graphml(graph, tmp)
    os.replace(tmp, graphml)
    return load_network(graphml, cache_dir=cache_dir, mode=mode)


def _osmnx_download(kind: str, query: Any, *, timeout_s: float,
                    cache_folder: Path | None = None) -> nx.MultiDiGraph:
    """The default downloader: osmnx with every highway way and the filter's tags.

    ``cache_folder``: osmnx's HTTP response cache (``None``: no HTTP cache; osmnx's
    default would be ``./cache`` in the working directory).
    """
    overrides: dict[str, Any] = {"useful_tags_way": list(OSMNX_WAY_TAGS),
                                 "requests_timeout": timeout_s,
                                 "use_cache": cache_folder is not None,
                                 # no Overpass status probe: offline it would wait for
                                 # its own timeout before the real request fails
                                 "overpass_rate_limit": False}
    if cache_folder is not None:
        overrides["cache_folder"] = str(cache_folder)
    with _osmnx_settings(**overrides) as ox:
        # simplify ourselves (see _simplify_streets): osmnx's default merges ways
        # with different tags, and the filter would drop the merged edge whole
        opts = {"network_type": "all", "simplify": False, "retain_all": True}
        if kind == "place":
            graph = ox.graph_from_place(query, **opts)
        elif kind == "bbox":
            graph = ox.graph_from_bbox(tuple(query), **opts)
        else:
            graph = ox.graph_from_polygon(query, **opts)
        return _simplify_streets(graph)
