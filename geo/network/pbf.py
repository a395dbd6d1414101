"""Read OpenStreetMap ``.osm.pbf`` files (also ``.osm`` / ``.osm.bz2``) with pyosmium.

:func:`read_osm_file` streams the file once and turns every way that carries a
``highway`` tag into junction-to-junction street segments (a :class:`~geo.network.raw.RawStreets`).
Nothing is filtered for walkability here: motorways, construction, ``area=yes``
squares… are all kept so the pedestrian filter can decide and report.

How the file is processed
-------------------------
* pyosmium's :class:`osmium.FileProcessor` reads nodes and ways only (relations are
  skipped at the reader). Node locations go into a ``flex_mem`` location index (sparse
  in-memory array, about 16 bytes per node of the *whole* file, switching to a dense
  layout for planet-sized inputs). C++ filters (:class:`osmium.filter.EntityFilter`,
  :class:`osmium.filter.KeyFilter`) drop nodes and non-``highway`` ways before any
  Python code sees them, so Python only iterates the highway ways.
* Per way, only the node ids and fixed-point coordinates (``int64``/``int32`` arrays)
  and the few tags of :data:`~geo.network.raw.RAW_TAG_COLUMNS` are kept. Every
  :data:`_CHUNK_WAYS` ways the chunk is clipped with numpy and only the surviving runs
  are retained, so a small bbox on a province extract keeps little memory.
* Clipping: a node survives when its location is known *and* it lies inside the bbox
  (boundary inclusive) and inside the polygon (``shapely.intersects_xy``, boundary
  inclusive, so a box polygon equals the same bbox). Each way is cut into maximal runs
  of consecutive surviving nodes; runs of fewer than two nodes are dropped. Nodes whose
  location is missing from the file (ways cut by the extract) are treated like nodes
  outside the clip area. Consecutive repeats of the same node id are collapsed.
* Topology: a node is a junction when it occurs more than once among all kept runs
  (shared by two runs, or repeated within one) or is a run end. Runs are split into
  edges at junctions. An edge whose two ends are the same node (a closed way with no
  other junction, e.g. an isolated roundabout, or the loop of a "lollipop" way) is split
  once more at its middle shape point, so every edge has ``u != v``; that middle node
  becomes a junction too. This always succeeds because such a loop has at least one
  interior node.

Validation: ids are 64-bit by the PBF format and coordinates fixed-point numbers, so they
are always finite; an id outside the 64-bit range or a coordinate that is not a number in
``.osm`` XML makes pyosmium fail (:class:`~geo.errors.InputFileError`). Coordinates outside
lon/lat range are refused when the network is prepared (:mod:`geo.network.validate`).

Measured cost (synthetic 9 M-node / 600 k-way / 18 M-node-ref PBF, 2 cores): ~2 µs
per way-node reference of Python work (reading itself ~4 s); clipped to a small bbox
42 s and 1.1 GB peak RSS; unclipped worst case (every node a junction, 18 M edges)
72 s and 12 GB, i.e. roughly 0.7 kB per output edge (shapely objects + tag columns).
"""

from __future__ import annotations

import math
import os
from array import array
from pathlib import Path
from typing import Any

import numpy as np
import osmium
import osmium.filter
import pandas as pd
import shapely

from geo.crs import validate_bbox as _validate_bbox
from geo.errors import EmptyNetworkError, InputFileError, InvalidParameterError
from geo.network.raw import RAW_TAG_COLUMNS, RawStreets

__all__ = ["read_osm_file"]

#: pyosmium node-location index. ``flex_mem`` is sparse for extracts (~16 B per node
#: of the file, e.g. ~0.8 GB for 50 M nodes) and turns dense for very large inputs.
LOCATION_INDEX: str = "flex_mem"

#: Ways gathered in Python before a chunk is clipped with numpy.
_CHUNK_WAYS: int = 200_000

#: libosmium's fixed-point scale and "undefined" coordinate value.
_COORD_SCALE: float = 1e7
_UNDEFINED_COORD: int = 2**31 - 1

#: Tag keys read from the way (``osmid`` is the way id itself).
_TAG_KEYS: tuple[str, ...] = tuple(k for k in RAW_TAG_COLUMNS if k != "osmid")

BBox = tuple[float, float, float, float]


class _Clip:
    """Vectorised "is this location kept" test for a bbox and/or polygon."""

    def __init__(self, bbox: BBox | None, polygon: shapely.Geometry | None) -> None:
        self.bbox = bbox
        self.polygon = polygon
        self.poly_bounds: tuple[float, float, float, float] | None = None
        if polygon is not None:
            shapely.prepare(polygon)
            self.poly_bounds = tuple(float(b) for b in polygon.bounds)  # type: ignore[assignment]

    @property
    def active(self) -> bool:
        return self.bbox is not None or self.polygon is not None

    def mask(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Boolean mask of the points inside the clip area (boundary inclusive)."""
        keep = np.ones(lon.shape, dtype=bool)
        for box in (self.bbox, self.poly_bounds):
            if box is not None:
                keep &= (lon >= box[0]) & (lon <= box[2]) & (lat >= box[1]) & (lat <= box[3])
        if self.polygon is not None:
            cand = np.flatnonzero(keep)
            if cand.size:
                keep[cand] = shapely.intersects_xy(self.polygon, lon[cand], lat[cand])
        return keep

    def describe(self) -> dict[str, object] | None:
        if not self.active:
            return None
        out: dict[str, object] = {}
        if self.bbox is not None:
            out["bbox"] = self.bbox
        if self.polygon is not None:
            out["polygon_bounds"] = self.poly_bounds
        return out


class _Accumulator:
    """Collects clipped way runs chunk by chunk."""

    def __init__(self, clip: _Clip) -> None:
        self.clip = clip
        # Current (unclipped) chunk.
        self.refs: array[int] = array("q")
        self.xs: array[int] = array("i")
        self.ys: array[int] = array("i")
        self.way_len: list[int] = []
        self.way_tags: list[tuple[str | None, ...]] = []
        # Clipped results, one entry per processed chunk.
        self.out_refs: list[np.ndarray] = []
        self.out_x: list[np.ndarray] = []
        self.out_y: list[np.ndarray] = []
        self.out_run_len: list[np.ndarray] = []
        self.out_run_way: list[np.ndarray] = []
        self.tags: list[tuple[str | None, ...]] = []
        # Statistics.
        self.ways_read = 0
        self.refs_read = 0
        self.refs_unlocated = 0
        self.extent = [math.inf, math.inf, -math.inf, -math.inf]

    def add_way(self, way: Any) -> None:
        refs, xs, ys = self.refs, self.xs, self.ys
        n = 0
        for node in way.nodes:
            loc = node.location
            refs.append(node.ref)
            xs.append(loc.x)
            ys.append(loc.y)
            n += 1
        tags = way.tags
        self.way_len.append(n)
        self.way_tags.append((*(tags.get(k) for k in _TAG_KEYS), str(way.id)))
        self.ways_read += 1
        if len(self.way_len) >= _CHUNK_WAYS:
            self.flush()

    def flush(self) -> None:
        """Clip the pending chunk and keep its runs of >= 2 nodes."""
        if not self.way_len:
            return
        ref = np.frombuffer(self.refs, dtype=np.int64).copy()
        x = np.frombuffer(self.xs, dtype=np.int32).copy()
        y = np.frombuffer(self.ys, dtype=np.int32).copy()
        way_len = np.asarray(self.way_len, dtype=np.int64)
        chunk_tags = self.way_tags
        self.refs, self.xs, self.ys = array("q"), array("i"), array("i")
        self.way_len, self.way_tags = [], []

        way = np.repeat(np.arange(way_len.size, dtype=np.int64), way_len)
        self.refs_read += int(ref.size)

        # Collapse consecutive repeats of a node within a way.
        if ref.size > 1:
            dup = np.zeros(ref.size, dtype=bool)
            dup[1:] = (ref[1:] == ref[:-1]) & (way[1:] == way[:-1])
            if dup.any():
                keep = ~dup
                ref, x, y, way = ref[keep], x[keep], y[keep], way[keep]

        located = (x != _UNDEFINED_COORD) & (y != _UNDEFINED_COORD)
        self.refs_unlocated += int(ref.size - located.sum())
        lon = x / _COORD_SCALE
        lat = y / _COORD_SCALE
        if located.any():
            lo, la = lon[located], lat[located]
            e = self.extent
            e[0], e[1] = min(e[0], float(lo.min())), min(e[1], float(la.min()))
            e[2], e[3] = max(e[2], float(lo.max())), max(e[3], float(la.max()))
        inside = located
        if self.clip.active:
            cand = np.flatnonzero(located)
            inside = np.zeros(ref.size, dtype=bool)
            inside[cand] = self.clip.mask(lon[cand], lat[cand])

        # Maximal runs of consecutive inside nodes of the same way.
        start = inside.copy()
        start[1:] &= ~(inside[:-1] & (way[1:] == way[:-1]))
        run_id = np.cumsum(start) - 1
        n_runs = int(start.sum())
        if n_runs == 0:
            return
        run_len = np.bincount(run_id[inside], minlength=n_runs)
        keep_node = inside.copy()
        keep_node[inside] = run_len[run_id[inside]] >= 2
        good_runs = np.flatnonzero(run_len >= 2)
        if good_runs.size == 0:
            return
        run_way = way[np.flatnonzero(start)][good_runs]

        used_ways, run_way_local = np.unique(run_way, return_inverse=True)
        offset = len(self.tags)
        self.tags.extend(chunk_tags[i] for i in used_ways.tolist())
        self.out_refs.append(ref[keep_node])
        self.out_x.append(x[keep_node])
        self.out_y.append(y[keep_node])
        self.out_run_len.append(run_len[good_runs])
        self.out_run_way.append(run_way_local.astype(np.int64) + offset)


def _validate_polygon(polygon: object) -> shapely.Geometry:
    if not isinstance(polygon, (shapely.Polygon, shapely.MultiPolygon)):
        raise InvalidParameterError(
            f"polygon must be a shapely Polygon or MultiPolygon in WGS-84 lon/lat, "
            f"got {type(polygon).__name__}."
        )
    if polygon.is_empty:
        raise InvalidParameterError("polygon is empty; pass a non-empty WGS-84 (lon/lat) polygon.")
    if not polygon.is_valid:
        raise InvalidParameterError(
            f"polygon is not valid ({shapely.is_valid_reason(polygon)}); "
            "repair it first, e.g. with shapely.make_valid()."
        )
    x0, y0, x1, y1 = polygon.bounds
    if not (x0 >= -180 and x1 <= 180 and y0 >= -90 and y1 <= 90):
        raise InvalidParameterError(
            f"polygon bounds {polygon.bounds} are outside lon [-180, 180] / lat [-90, 90]; "
            "it must be in WGS-84 (EPSG:4326) lon/lat — reproject it (e.g. to_crs(4326))."
        )
    return polygon


def _file_format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".pbf":
        return "pbf"
    if suffixes and suffixes[-1] in (".bz2", ".gz"):
        return "xml" + suffixes[-1]
    return "xml"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _split_edges(junction: np.ndarray, is_end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start / end positions of the edges between consecutive junctions of each run."""
    jpos = np.flatnonzero(junction)
    from_j = ~is_end[jpos[:-1]]
    return jpos[:-1][from_j], jpos[1:][from_j]


def _build(acc: _Accumulator, source: str, meta: dict[str, object]) -> RawStreets:
    ref = np.concatenate(acc.out_refs)
    lon = np.concatenate(acc.out_x) / _COORD_SCALE
    lat = np.concatenate(acc.out_y) / _COORD_SCALE
    run_len = np.concatenate(acc.out_run_len)
    run_way = np.concatenate(acc.out_run_way)
    run_start = np.cumsum(run_len) - run_len
    run_end = run_start + run_len - 1

    _, inverse, counts = np.unique(ref, return_inverse=True, return_counts=True)
    junction = counts[inverse] > 1
    junction[run_start] = True
    junction[run_end] = True
    is_end = np.zeros(ref.size, dtype=bool)
    is_end[run_end] = True

    e_start, e_end = _split_edges(junction, is_end)
    loops = np.flatnonzero(ref[e_start] == ref[e_end])
    if loops.size:
        # Interior nodes are non-junctions (they occur once), so the middle one differs
        # from the loop's end node; consecutive repeats were collapsed, so it exists.
        mid = e_start[loops] + (e_end[loops] - e_start[loops]) // 2
        junction[mid] = True
        e_start, e_end = _split_edges(junction, is_end)
    meta["loops_split"] = int(loops.size)

    n_edges = int(e_start.size)
    n_pts = e_end - e_start + 1
    offsets = np.cumsum(n_pts) - n_pts
    total = int(n_pts.sum())
    idx = np.arange(total, dtype=np.int64) - np.repeat(offsets, n_pts) + np.repeat(e_start, n_pts)
    geoms = shapely.linestrings(
        lon[idx], lat[idx], indices=np.repeat(np.arange(n_edges, dtype=np.int64), n_pts)
    )

    run_of_pos = np.repeat(np.arange(run_len.size, dtype=np.int64), run_len)
    edge_way = run_way[run_of_pos[e_start]]
    tag_table = np.empty((len(acc.tags), len(RAW_TAG_COLUMNS)), dtype=object)
    tag_table[:] = acc.tags  # rows are (tags of _TAG_KEYS..., osmid)
    columns = (*_TAG_KEYS, "osmid")

    data: dict[str, object] = {
        "u": ref[e_start].astype(np.int64),
        "v": ref[e_end].astype(np.int64),
        "geometry": pd.Series(geoms, dtype=object),
        "length_m": np.full(n_edges, np.nan),
    }
    for col in RAW_TAG_COLUMNS:
        data[col] = pd.Series(tag_table[edge_way, columns.index(col)], dtype=object)
    edges = pd.DataFrame(data)

    end_pos = np.concatenate([e_start, e_end])
    node_id, first = np.unique(ref[end_pos], return_index=True)
    meta["edges"] = n_edges
    return RawStreets(
        node_id=node_id.astype(np.int64),
        node_lon=lon[end_pos[first]],
        node_lat=lat[end_pos[first]],
        edges=edges,
        source=source,
        meta=meta,
    )


def read_osm_file(
    path: str | os.PathLike[str],
    *,
    bbox: tuple[float, float, float, float] | None = None,
    polygon: shapely.Polygon | shapely.MultiPolygon | None = None,
) -> RawStreets:
    """Read every ``highway`` way of an OSM file into junction-to-junction segments.

    Parameters
    ----------
    path:
        ``.osm.pbf`` (main target), or any file pyosmium reads (``.osm``, ``.osm.bz2``…).
    bbox:
        Optional ``(min_lon, min_lat, max_lon, max_lat)`` in WGS-84 degrees; only nodes
        inside (boundary inclusive) are kept.
    polygon:
        Optional WGS-84 ``Polygon`` / ``MultiPolygon``; only nodes inside or on its
        boundary are kept. With both ``bbox`` and ``polygon`` their intersection is used.

    Returns
    -------
    RawStreets
        One edge per segment between junctions, in way direction, ``length_m`` NaN,
        tags of :data:`~geo.network.raw.RAW_TAG_COLUMNS` (``osmid`` = way id as ``str``).

    Raises
    ------
    InputFileError
        The file does not exist or cannot be parsed.
    InvalidParameterError
        ``bbox`` / ``polygon`` is malformed.
    EmptyNetworkError
        No ``highway`` way (with >= 2 located nodes) is left after clipping.
    """
    p = Path(os.fspath(path))
    if not p.exists():
        raise InputFileError(
            f"OSM file not found: {p}. Check the path (a .osm.pbf extract, e.g. from "
            "download.geofabrik.de)."
        )
    if not p.is_file():
        raise InputFileError(f"OSM path is not a file: {p}. Pass the .osm.pbf file itself.")
    clip = _Clip(
        _validate_bbox(bbox) if bbox is not None else None,
        _validate_polygon(polygon) if polygon is not None else None,
    )

    acc = _Accumulator(clip)
    try:
        processor = (
            osmium.FileProcessor(str(p), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations(LOCATION_INDEX)
            .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
            .with_filter(osmium.filter.KeyFilter("highway"))
        )
        for way in processor:
            acc.add_way(way)
    except (RuntimeError, OSError, ValueError, osmium.InvalidLocationError) as exc:
        # ValueError: an id outside the 64-bit range ("illegal id"); InvalidLocationError:
        # a coordinate that is not a number (XML input)
        raise InputFileError(f"Cannot read OSM file {p}: {_one_line(exc)}; fix or remove the "
                             "element, or export the extract again") from exc
    acc.flush()

    fmt = _file_format(p)
    meta: dict[str, object] = {
        "format": fmt,
        "ways_read": acc.ways_read,
        "ways_kept": len(acc.tags),
        "node_refs_read": acc.refs_read,
        "node_refs_unlocated": acc.refs_unlocated,
        "clip": clip.describe(),
        "location_index": LOCATION_INDEX,
    }
    if not acc.out_refs:
        if acc.ways_read == 0:
            raise EmptyNetworkError(
                f"OSM file {p} contains no way with a highway tag; pass a street extract."
            )
        e = acc.extent
        if clip.active and math.isfinite(e[0]):
            span = f"lon {e[0]:.5f}..{e[2]:.5f}, lat {e[1]:.5f}..{e[3]:.5f}"
            raise EmptyNetworkError(
                f"No street of {p.name} lies inside the clip area {clip.describe()}; the "
                f"file's streets span {span}. The bbox/polygon may not overlap the file — "
                "check it is WGS-84 (min_lon, min_lat, max_lon, max_lat)."
            )
        raise EmptyNetworkError(
            f"OSM file {p} has {acc.ways_read} highway ways but none with two nodes whose "
            "locations are in the file; the extract is missing its nodes."
        )
    return _build(acc, f"OSM file {p.name}", meta)
