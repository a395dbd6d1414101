"""Validation of walk-network data on load: what is refused, what is repaired.

Every source goes through these checks — GraphML (osmnx 1.x / 2.x), ``.osm`` XML and online
graphs (:mod:`geo.network.fromgraph`), ``.osm.pbf`` and every other :class:`RawStreets`
(:func:`geo.network.model.prepare_network`), prepared-network directories and cache entries
(:func:`geo.network.model.load_prepared_network`) — so no NaN, infinite or out-of-range
number reaches the shortest-path, cutting and buffering code (one NaN vertex crashed GEOS
inside ``shapely.buffer`` with SIGSEGV).

Refused
    :class:`~geo.errors.NetworkDataError` naming the first bad element — ``node 56`` or
    ``edge 12→34`` (by its end-node ids) — and how many more share the problem:

    * a node id (or GraphML ``osmid``) that is not an integer, or lies outside the 64-bit
      range −2⁶³ … 2⁶³−1; a node id listed twice in a raw street table;
    * a node coordinate that is missing, not a number, NaN or ±inf, that cannot be
      converted from the file's CRS, or that lies outside lon −180…180 / lat −90…90;
    * an edge whose end node is unknown;
    * an edge geometry that is not a LineString (a Point, a Polygon…, unreadable WKT);
    * an edge geometry with a NaN / ±inf coordinate or a vertex outside lon/lat range;
    * a prepared network (directory or cache entry) whose arrays disagree in size, whose
      edge indices are out of range, or that holds a non-finite coordinate or length or a
      geometry that is not a finite LineString (a bad *cache entry* is rebuilt from the
      source file instead).

Repaired
    Counted per kind with up to :data:`MAX_EXAMPLES` examples in ``RawStreets.meta`` /
    ``WalkNetwork.meta`` under ``"repairs"`` and in :meth:`WalkNetwork.summary`:

    * :data:`REPAIR_LENGTH` — a length that is *given* but is not a number in
      0 … :data:`MAX_EDGE_LENGTH_M` (NaN, ±inf, negative, text, a list) is recomputed from
      the geometry. A *missing* length (every ``.osm.pbf``, GraphML without ``length``)
      is computed from the geometry as always and is not a repair;
    * :data:`REPAIR_GEOMETRY` — a geometry that is *given* but empty or has fewer than two
      distinct points is replaced by the straight line between the edge's end nodes. A
      *missing* geometry is that straight line as always and is not a repair.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, NoReturn

import numpy as np
import pandas as pd
import shapely

from geo.errors import NetworkDataError
from geo.network.raw import RawStreets

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1

#: Longest plausible length of one street segment; a given length above it is recomputed.
MAX_EDGE_LENGTH_M: Final = 1_000_000.0

#: Examples kept per repair kind.
MAX_EXAMPLES: Final = 5

REPAIR_LENGTH: Final = "length recomputed from the geometry"
REPAIR_GEOMETRY: Final = "geometry replaced by the straight line between its end nodes"

_FIX: Final = "fix or remove it"

Labeller = Callable[[int], str]


class RepairLog:
    """Repairs made while loading, per kind: a count and a few examples."""

    def __init__(self, initial: Mapping[str, Any] | None = None) -> None:
        self._entries: dict[str, dict[str, Any]] = {}
        for kind, entry in (initial or {}).items():
            if isinstance(entry, Mapping):
                self.add(str(kind), [str(x) for x in entry.get("examples", [])],
                         count=int(entry.get("count", 0)))

    def add(self, kind: str, examples: Sequence[str], *, count: int) -> None:
        if count <= 0:
            return
        entry = self._entries.setdefault(kind, {"count": 0, "examples": []})
        entry["count"] += int(count)
        room = MAX_EXAMPLES - len(entry["examples"])
        entry["examples"].extend(list(examples)[:max(room, 0)])

    def add_mask(self, kind: str, mask: np.ndarray, describe: Labeller) -> None:
        """Record the rows of ``mask``; ``describe(i)`` words the example of row ``i``."""
        rows = np.flatnonzero(mask)
        self.add(kind, [describe(int(i)) for i in rows[:MAX_EXAMPLES]], count=int(rows.size))

    def __bool__(self) -> bool:
        return bool(self._entries)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {k: {"count": v["count"], "examples": list(v["examples"])}
                for k, v in self._entries.items()}


def fail(source: str, what: str, problem: str, *, more: int = 0, advice: str = _FIX,
         noun: str = "elements") -> NoReturn:
    """Raise the :class:`NetworkDataError` for the first bad element ``what``."""
    others = f" ({more} more {noun} have the same problem)" if more > 0 else ""
    others_zh = f"（另有 {more} 处同样的问题）" if more > 0 else ""
    raise NetworkDataError(
        f"{source or 'the network'}: {what}: {problem}{others}; {advice}",
        zh=f"路网数据有误：{source or '路网'}：{what}：{problem}{others_zh}。"
           "请修正或删除该要素后重试。")


def short(value: object, limit: int = 80) -> str:
    """``repr``-like text of a value for a message, cut to ``limit`` characters."""
    if isinstance(value, shapely.Geometry):
        text = shapely.to_wkt(value, rounding_precision=7)
    elif isinstance(value, str):
        text = repr(value)
    else:
        text = str(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


# ---------------------------------------------------------------------------------- ids


def int64_id(value: object) -> int | None:
    """``value`` as an ``int`` in the 64-bit range (ints or decimal text), else ``None``."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        v = int(value)
    elif isinstance(value, str):
        if len(value) > 40:
            return None
        try:
            v = int(value)
        except ValueError:
            return None
    else:
        return None
    return v if INT64_MIN <= v <= INT64_MAX else None


def id_array(values: Sequence[object] | np.ndarray, *, source: str, what: str) -> np.ndarray:
    """``int64`` array of ids; :class:`NetworkDataError` naming the first bad one.

    ``what`` names the element in the message (``"node"``, ``"edge end"``).
    """
    arr = np.asarray(values) if isinstance(values, np.ndarray) else None
    if arr is not None and arr.dtype.kind == "i":
        return arr.astype(np.int64, copy=False)
    if arr is not None and arr.dtype.kind == "u" and (arr.size == 0 or arr.max() <= INT64_MAX):
        return arr.astype(np.int64)
    items = list(values)
    out = np.empty(len(items), dtype=np.int64)
    bad: list[int] = []
    for i, v in enumerate(items):
        iv = int64_id(v)
        if iv is None:
            bad.append(i)
        else:
            out[i] = iv
    if bad:
        fail(source, f"{what} {short(items[bad[0]], 40)}",
             "the id is not an integer within the 64-bit range (−2⁶³ … 2⁶³−1)",
             more=len(bad) - 1, noun=f"{what}s")
    return out


def check_unique_ids(node_id: np.ndarray, *, source: str) -> None:
    idx = pd.Index(node_id)
    if not idx.is_unique:
        dup = idx[idx.duplicated()]
        fail(source, f"node {int(dup[0])}", "this node id is listed more than once",
             more=len(pd.unique(dup)) - 1, noun="node ids",
             advice="give every node its own id")


# -------------------------------------------------------------------------- coordinates


def check_node_coords(node_id: np.ndarray, x: np.ndarray, y: np.ndarray, *, source: str,
                      lonlat: bool, crs_note: str = "", advice: str = _FIX,
                      shown: tuple[np.ndarray, np.ndarray] | None = None) -> None:
    """Refuse non-finite node coordinates (and, for lon/lat, coordinates out of range).

    ``shown``: the coordinates to quote in the message (the file's, before a conversion).
    """
    bad = ~(np.isfinite(x) & np.isfinite(y))
    problem = "are not finite numbers"
    if crs_note:
        problem = f"cannot be converted {crs_note}"
    if not bad.any() and lonlat:
        bad = (np.abs(x) > 180.0) | (np.abs(y) > 90.0)
        problem = ("lie outside lon −180…180 / lat −90…90 (a network must be in WGS-84 "
                   "lon/lat or declare its CRS)")
    if bad.any():
        rows = np.flatnonzero(bad)
        i = int(rows[0])
        sx, sy = shown if shown is not None else (x, y)
        fail(source, f"node {int(node_id[i])}",
             f"coordinates ({float(sx[i])}, {float(sy[i])}) {problem}",
             more=rows.size - 1, noun="nodes", advice=advice)


@dataclass(frozen=True)
class GeometryCheck:
    """Which geometries are missing (``None``) and which are given but degenerate."""

    missing: np.ndarray
    degenerate: np.ndarray

    @property
    def straight(self) -> np.ndarray:
        """Rows to replace by the straight line between the end nodes."""
        return self.missing | self.degenerate


def check_geometries(geoms: np.ndarray, *, source: str, label: Labeller, lonlat: bool,
                     allow_missing: bool = True, advice: str = _FIX) -> GeometryCheck:
    """Validate an object array of edge geometries (see the module docstring).

    Raises :class:`NetworkDataError` for a value that is not a LineString, and for
    non-finite (or, with ``lonlat``, out-of-range) coordinates. Returns the missing and
    the degenerate (empty, fewer than two distinct points) rows.
    """
    geoms = np.asarray(geoms, dtype=object)
    n = geoms.shape[0]
    missing = np.asarray(pd.isna(geoms), dtype=bool).reshape(n)
    is_geom = np.asarray(shapely.is_geometry(geoms), dtype=bool)
    type_id = np.full(n, -1, dtype=np.int64)
    type_id[is_geom] = shapely.get_type_id(geoms[is_geom])
    wrong = ~missing & (type_id != 1)
    if not allow_missing:
        wrong |= missing
    if wrong.any():
        i = int(np.flatnonzero(wrong)[0])
        g = geoms[i]
        kind = (shapely.get_type_id(g) if isinstance(g, shapely.Geometry) else None)
        what = (g.geom_type if kind is not None else
                "missing" if g is None else f"a {type(g).__name__} value")
        fail(source, label(i), f"geometry is {what}, not a LineString ({short(g)})",
             more=int(wrong.sum()) - 1, noun="edges", advice=advice)
    lines = geoms.copy()
    lines[missing] = None
    empty = ~missing & np.asarray(shapely.is_empty(lines), dtype=bool)
    coords, index = shapely.get_coordinates(lines, return_index=True)
    bad_pt = ~np.isfinite(coords).all(axis=1)
    problem = "geometry has non-finite coordinates"
    if not bad_pt.any() and lonlat:
        bad_pt = (np.abs(coords[:, 0]) > 180.0) | (np.abs(coords[:, 1]) > 90.0)
        problem = "geometry has vertices outside lon −180…180 / lat −90…90"
    if bad_pt.any():
        rows = np.unique(index[bad_pt])
        i = int(rows[0])
        fail(source, label(i), f"{problem} ({short(geoms[i])})", more=rows.size - 1,
             noun="edges", advice=advice)
    moves = (index[1:] == index[:-1]) & (coords[1:] != coords[:-1]).any(axis=1)
    has_segment = np.zeros(n, dtype=bool)
    has_segment[index[1:][moves]] = True
    degenerate = ~missing & ~has_segment
    return GeometryCheck(missing=missing, degenerate=degenerate | empty)


def straight_lines(x: np.ndarray, y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """LineStrings from node ``u`` to node ``v`` (positions into ``x`` / ``y``)."""
    if u.size == 0:
        return np.empty(0, dtype=object)
    pts = np.stack([np.column_stack([x[u], y[u]]), np.column_stack([x[v], y[v]])], axis=1)
    return np.asarray(shapely.linestrings(pts), dtype=object)


# ------------------------------------------------------------------------------ lengths


def bad_lengths(length: np.ndarray) -> np.ndarray:
    """Given lengths (not NaN) that are ±inf, negative or over :data:`MAX_EDGE_LENGTH_M`."""
    with np.errstate(invalid="ignore"):
        return ~np.isnan(length) & ~((length >= 0) & (length <= MAX_EDGE_LENGTH_M))


def parse_lengths(values: Sequence[object], *, label: Labeller,
                  repairs: RepairLog) -> np.ndarray:
    """Lengths from source values (``None`` = missing → NaN); bad given values → NaN,
    recorded as :data:`REPAIR_LENGTH`."""
    out = np.full(len(values), np.nan)
    bad: list[int] = []
    for i, v in enumerate(values):
        if v is None:
            continue
        try:
            f = float(v)  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            bad.append(i)
            continue
        if f >= 0.0 and f <= MAX_EDGE_LENGTH_M:
            out[i] = f
        else:
            bad.append(i)
    mask = np.zeros(len(values), dtype=bool)
    mask[bad] = True
    repairs.add_mask(REPAIR_LENGTH, mask,
                     lambda i: f"{label(i)}: length {short(values[i], 40)}")
    return out


# ------------------------------------------------------------------ raw streets, prepared


@dataclass(frozen=True)
class CheckedStreets:
    """A validated raw street table, in arrays (WGS-84; ``length_m`` NaN = compute it)."""

    node_id: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    u_idx: np.ndarray
    v_idx: np.ndarray
    geometry: np.ndarray
    length_m: np.ndarray
    repairs: RepairLog


def check_raw(raw: RawStreets) -> CheckedStreets:
    """Validate a :class:`RawStreets` (any source) and apply the documented repairs."""
    source = raw.source or "the network"
    node_id = id_array(raw.node_id, source=source, what="node")
    check_unique_ids(node_id, source=source)
    try:
        lon = np.asarray(raw.node_lon, dtype=float)
        lat = np.asarray(raw.node_lat, dtype=float)
    except (TypeError, ValueError):
        fail(source, "nodes", "coordinates are not numbers")
    check_node_coords(node_id, lon, lat, source=source, lonlat=True)
    edges = raw.edges
    u = id_array(edges["u"].to_numpy(), source=source, what="edge end node")
    v = id_array(edges["v"].to_numpy(), source=source, what="edge end node")
    pos = pd.Index(node_id)
    u_idx = pos.get_indexer(u)
    v_idx = pos.get_indexer(v)
    unknown = (u_idx < 0) | (v_idx < 0)
    if unknown.any():
        i = int(np.flatnonzero(unknown)[0])
        fail(source, f"edge {u[i]}→{v[i]}",
             f"{int(unknown.sum())} edges refer to unknown nodes (this one to node "
             f"{u[i] if u_idx[i] < 0 else v[i]})", advice="list every end node")

    def label(i: int) -> str:
        return f"edge {u[i]}→{v[i]}"

    prior = raw.meta.get("repairs") if isinstance(raw.meta, dict) else None
    repairs = RepairLog(prior if isinstance(prior, Mapping) else None)
    geoms = np.asarray(edges["geometry"].to_numpy(), dtype=object).copy()
    gc = check_geometries(geoms, source=source, label=label, lonlat=True)
    repairs.add_mask(REPAIR_GEOMETRY, gc.degenerate,
                     lambda i: f"{label(i)}: {short(geoms[i], 60)}")
    if gc.straight.any():
        rows = np.flatnonzero(gc.straight)
        geoms[rows] = straight_lines(lon, lat, u_idx[rows], v_idx[rows])
    given = edges["length_m"]
    length = pd.to_numeric(given, errors="coerce").to_numpy(dtype=float, copy=True)
    # NaN / None: no length (computed later); text that is not a number: a bad length
    bad = bad_lengths(length) | (np.isnan(length) & given.notna().to_numpy())
    repairs.add_mask(REPAIR_LENGTH, bad,
                     lambda i: f"{label(i)}: length {short(given.iloc[i], 40)}")
    length[bad] = np.nan
    return CheckedStreets(node_id=node_id, lon=lon, lat=lat, u_idx=u_idx, v_idx=v_idx,
                          geometry=geoms, length_m=length, repairs=repairs)


def check_projected(node_id: np.ndarray, x: np.ndarray, y: np.ndarray, geoms: np.ndarray,
                    *, label: Labeller, source: str, crs_name: str) -> None:
    """After projecting to the analysis CRS: every coordinate must still be finite."""
    check_node_coords(node_id, x, y, source=source, lonlat=False,
                      crs_note=f"to the analysis CRS {crs_name}")
    check_geometries(geoms, source=source, label=label, lonlat=False, allow_missing=False)


def check_prepared(*, node_id: np.ndarray, node_x: np.ndarray, node_y: np.ndarray,
                   edge_u: np.ndarray, edge_v: np.ndarray, length_m: np.ndarray,
                   geometry: np.ndarray, n_attr_rows: int, source: str) -> None:
    """Validate the arrays of a prepared network (directory or cache entry)."""
    advice = "prepare it again from the OSM source (yizhan prepare)"
    n, m = node_id.shape[0], edge_u.shape[0]
    sizes = {"node_x": node_x.shape[0], "node_y": node_y.shape[0]}
    esizes = {"edge_v": edge_v.shape[0], "length_m": length_m.shape[0],
              "geometry": geometry.shape[0], "edge attributes": n_attr_rows}
    for name, size in sizes.items():
        if size != n:
            fail(source, name, f"{size} entries for {n} nodes", advice=advice)
    for name, size in esizes.items():
        if size != m:
            fail(source, name, f"{size} entries for {m} edges", advice=advice)
    for name, arr in (("node_id", node_id), ("edge_u", edge_u), ("edge_v", edge_v)):
        if arr.ndim != 1 or arr.dtype.kind not in "iu":
            fail(source, name, f"is not an integer array ({arr.dtype})", advice=advice)
    for name, arr in (("node_x", node_x), ("node_y", node_y), ("length_m", length_m)):
        if arr.ndim != 1 or arr.dtype.kind not in "fiu":
            fail(source, name, f"is not a numeric array ({arr.dtype})", advice=advice)
    out = (edge_u < 0) | (edge_u >= n) | (edge_v < 0) | (edge_v >= n)
    if out.any():
        i = int(np.flatnonzero(out)[0])
        fail(source, f"edge #{i}", f"refers to node index {int(edge_u[i])}/{int(edge_v[i])} "
             f"outside 0…{n - 1}", more=int(out.sum()) - 1, noun="edges", advice=advice)
    check_node_coords(node_id, node_x.astype(float), node_y.astype(float), source=source,
                      lonlat=False, advice=advice)

    def label(i: int) -> str:
        return f"edge {int(node_id[edge_u[i]])}→{int(node_id[edge_v[i]])}"

    with np.errstate(invalid="ignore"):
        bad_len = ~(np.isfinite(length_m) & (length_m >= 0))
    if bad_len.any():
        i = int(np.flatnonzero(bad_len)[0])
        fail(source, label(i), f"length {float(length_m[i])} is not a finite number ≥ 0",
             more=int(bad_len.sum()) - 1, noun="edges", advice=advice)
    gc = check_geometries(geometry, source=source, label=label, lonlat=False,
                          allow_missing=False, advice=advice)
    empty = gc.degenerate & np.asarray(shapely.is_empty(geometry), dtype=bool)
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        fail(source, label(i), "geometry is empty", more=int(empty.sum()) - 1, noun="edges",
             advice=advice)


__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "MAX_EDGE_LENGTH_M",
    "MAX_EXAMPLES",
    "REPAIR_GEOMETRY",
    "REPAIR_LENGTH",
    "CheckedStreets",
    "GeometryCheck",
    "RepairLog",
    "bad_lengths",
    "check_geometries",
    "check_node_coords",
    "check_prepared",
    "check_projected",
    "check_raw",
    "check_unique_ids",
    "fail",
    "id_array",
    "int64_id",
    "parse_lengths",
    "straight_lines",
]
