"""Travel modes: the network filter, direction and speed model of walk, e-bike and car.

Every mode is built from the same raw street table (:class:`~geo.network.raw.RawStreets`);
only the filter and the cost differ. Times are always *in minutes* for people.

``walk`` (filter ``walk-v1``)
    The pedestrian filter of :mod:`geo.network.walkfilter`, undirected, one speed for the
    whole network: the walking-speed presets of :data:`geo.params.WALK_SPEED_PRESETS_KMH`
    (adult 4.0, elderly 3.0, with children 3.0, brisk 5.0 km/h). Unchanged by modes.

``ebike`` (filter ``ebike-v1``) — a delivery rider's electric bicycle (电动自行车)
    Roads where non-motor vehicles may ride, per segment (a merged edge is dropped if any
    of its ``highway`` values is):

    1. ``highway`` not in :data:`EBIKE_HIGHWAY` → dropped (motorways and their links,
       construction…, unknown values);
    2. ``highway`` in :data:`FOOT_ONLY_HIGHWAY` (footway, pedestrian, path, corridor,
       bridleway, crossing) → kept only with ``bicycle`` in ``yes`` / ``designated`` /
       ``permissive``; ``steps`` and ``elevator`` are never ridden;
    3. ``bicycle`` in ``no`` / ``private`` / ``dismount`` → dropped;
    4. ``access`` or ``vehicle`` in ``no`` / ``private`` without a ``bicycle`` permission
       → dropped;
    5. ``motorroad=yes`` (expressway-standard roads, closed to non-motor vehicles),
       ``service=private`` and ``area=yes`` → dropped.

    Trunk roads are ridden (their non-motor lanes), as they are walked. The network is
    undirected: riders are modelled both ways on one-way streets (most have a non-motor
    lane each way), and one speed applies everywhere: :data:`EBIKE_SPEED_PRESETS_KMH`
    (12 / 15 / 20 km/h, default :data:`DEFAULT_EBIKE_SPEED_KMH` = 15; the national
    standard GB 17761-2018 caps e-bikes at 25 km/h).

``drive`` (filter ``drive-v1``) — a car or coach
    1. ``highway`` not in :data:`DRIVE_HIGHWAY` → dropped (footways, paths, steps,
       cycleways, tracks, construction…);
    2. ``motor_vehicle`` / ``motorcar`` / ``vehicle`` / ``access`` in ``no`` /
       ``private`` (``access`` only without a ``motor_vehicle`` / ``motorcar``
       permission) → dropped;
    3. ``service`` in ``private``, ``parking_aisle``, ``parking``, ``driveway``,
       ``emergency_access`` and ``area=yes`` → dropped (as osmnx's drive filter).

    **Directed**: ``oneway`` in ``yes`` / ``true`` / ``1`` → only along the stored
    segment (u → v); ``-1`` / ``reverse`` → only against it; ``no`` / ``false`` / ``0``
    / ``reversible`` / ``alternating`` → both ways; untagged → one-way along the segment
    for ``junction=roundabout`` / ``circular`` and ``highway=motorway`` /
    ``motorway_link`` (implied by OSM), else both ways. osmnx graphs store ``oneway`` as a
    boolean on edges already oriented in the allowed direction, which this reads the same
    way. (``.osm`` XML read through osmnx is made bidirectional there, so it carries no
    one-way information: use ``.osm.pbf`` or GraphML for car analyses.)

    **Speed** per edge (free flow, no congestion): the ``maxspeed`` tag where it parses
    (:func:`parse_maxspeed_kmh`: ``"50"``, ``"50 km/h"``, ``"30 mph"``, ``"10 knots"``,
    lists ``"60;80"`` → their mean), else the per-class default for China
    :data:`DRIVE_DEFAULT_SPEED_KMH`, from the design speeds of CJJ 37-2012 (urban roads:
    快速路 60–100, 主干路 40–60, 次干路 30–50, 支路 20–40 km/h) and JTG B01-2014
    (高速公路 100–120 km/h): motorway 100, trunk 70, primary 50, secondary 40,
    tertiary / unclassified / residential / road 30, links 40–30, living_street and
    service 15 km/h. ``maxspeed=none`` / ``signals`` / ``walk`` / unparsable fall back to
    the class default; speeds are clipped to [5, 130] km/h. A merged edge with several
    classes takes the slowest class default. Travel time per edge is
    ``length_m / speed`` (the osmnx ``add_edge_speeds`` / ``add_edge_travel_times``
    recipe, vectorised).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, Final, Literal, get_args

import numpy as np
import pandas as pd
import scipy.sparse as sp

from geo.errors import InvalidParameterError
from geo.network.walkfilter import FILTER_VERSION as WALK_FILTER_VERSION
from geo.network.walkfilter import FilterReport, classify_edge
from geo.params import DEFAULT_EBIKE_SPEED_KMH as DEFAULT_EBIKE_SPEED_KMH  # re-export

Mode = Literal["walk", "ebike", "drive"]
MODES: Final[tuple[str, ...]] = get_args(Mode)

FILTER_VERSIONS: Final[dict[str, str]] = {
    "walk": WALK_FILTER_VERSION, "ebike": "ebike-v1", "drive": "drive-v1",
}

#: E-bike speed presets (km/h); the default is :data:`geo.params.DEFAULT_EBIKE_SPEED_KMH`.
EBIKE_SPEED_PRESETS_KMH: Final[dict[str, float]] = {"slow": 12.0, "standard": 15.0,
                                                     "fast": 20.0}

EBIKE_HIGHWAY: Final = frozenset({
    "cycleway", "living_street", "residential", "service", "unclassified", "tertiary",
    "tertiary_link", "secondary", "secondary_link", "primary", "primary_link", "trunk",
    "trunk_link", "track", "road",
    "footway", "pedestrian", "path", "corridor", "bridleway", "crossing",
})
FOOT_ONLY_HIGHWAY: Final = frozenset({"footway", "pedestrian", "path", "corridor",
                                      "bridleway", "crossing"})

DRIVE_HIGHWAY: Final = frozenset({
    "motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link",
    "secondary", "secondary_link", "tertiary", "tertiary_link", "unclassified",
    "residential", "living_street", "service", "road",
})

#: Free-flow car speed (km/h) per ``highway`` class where ``maxspeed`` is not tagged.
DRIVE_DEFAULT_SPEED_KMH: Final[dict[str, float]] = {
    "motorway": 100.0, "motorway_link": 40.0, "trunk": 70.0, "trunk_link": 40.0,
    "primary": 50.0, "primary_link": 40.0, "secondary": 40.0, "secondary_link": 30.0,
    "tertiary": 30.0, "tertiary_link": 30.0, "unclassified": 30.0, "residential": 30.0,
    "road": 30.0, "living_street": 15.0, "service": 15.0,
}
_FALLBACK_SPEED_KMH: Final = 30.0
_SPEED_RANGE_KMH: Final = (5.0, 130.0)

#: Tags the e-bike and car filters read (beyond the walk filter's).
_EBIKE_COLS: Final = ("highway", "bicycle", "access", "vehicle", "service", "motorroad",
                      "area")
_DRIVE_COLS: Final = ("highway", "motor_vehicle", "motorcar", "vehicle", "access",
                      "service", "area")
_WALK_COLS: Final = ("highway", "foot", "access", "service", "motorroad", "area")

#: Edge attributes a prepared network keeps for the mode (beyond highway, name, osmid).
MODE_ATTR_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "walk": (), "ebike": (), "drive": ("oneway", "junction", "maxspeed"),
}

_OK: Final = frozenset({"yes", "designated", "permissive"})
_NO: Final = frozenset({"no", "private"})
_DRIVE_SERVICE_NO: Final = frozenset({"private", "parking_aisle", "parking", "driveway",
                                      "emergency_access"})
_FORWARD: Final = frozenset({"yes", "true", "1"})
_BACKWARD: Final = frozenset({"-1", "reverse"})
_TWO_WAY: Final = frozenset({"no", "false", "0", "reversible", "alternating"})
_IMPLIED_ONEWAY_HIGHWAY: Final = frozenset({"motorway", "motorway_link"})
_ROUNDABOUT: Final = frozenset({"roundabout", "circular"})


def check_mode(mode: object) -> Mode:
    """``mode`` if it is one of :data:`MODES`, else :class:`InvalidParameterError`."""
    if mode not in MODES:
        raise InvalidParameterError(f"unknown travel mode {mode!r}; use one of "
                                    f"{', '.join(MODES)}")
    return mode  # type: ignore[return-value]


def _split(value: object) -> list[str]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    return [p.strip().lower() for p in str(value).split(";") if p.strip()]


def classify_ebike_edge(tags: dict[str, object]) -> str | None:
    """The e-bike filter's drop reason of one street segment, or ``None`` if ridden."""
    highways = _split(tags.get("highway"))
    bicycle = set(_split(tags.get("bicycle")))
    if not highways:
        return "no highway tag"
    for hw in highways:
        if hw not in EBIKE_HIGHWAY:
            return f"highway={hw}"
    if bicycle & (_NO | {"dismount"}):
        return "bicycle=" + sorted(bicycle & (_NO | {"dismount"}))[0]
    foot_only = [hw for hw in highways if hw in FOOT_ONLY_HIGHWAY]
    if foot_only and not bicycle & _OK:
        return f"highway={foot_only[0]} without bicycle access"
    for key in ("access", "vehicle"):
        values = set(_split(tags.get(key)))
        if values & _NO and not bicycle & _OK:
            return f"{key}=" + sorted(values & _NO)[0]
    return _common_drop(tags, motorroad=True)


def classify_drive_edge(tags: dict[str, object]) -> str | None:
    """The car filter's drop reason of one street segment, or ``None`` if driven."""
    highways = _split(tags.get("highway"))
    if not highways:
        return "no highway tag"
    for hw in highways:
        if hw not in DRIVE_HIGHWAY:
            return f"highway={hw}"
    allowed = set(_split(tags.get("motor_vehicle"))) | set(_split(tags.get("motorcar")))
    for key in ("motor_vehicle", "motorcar", "vehicle"):
        values = set(_split(tags.get(key)))
        if values & _NO and not (key == "vehicle" and allowed & _OK):
            return f"{key}=" + sorted(values & _NO)[0]
    access = set(_split(tags.get("access")))
    if access & _NO and not allowed & _OK:
        return "access=" + sorted(access & _NO)[0]
    service = set(_split(tags.get("service"))) & _DRIVE_SERVICE_NO
    if service:
        return "service=" + sorted(service)[0]
    return _common_drop(tags, motorroad=False)


def _common_drop(tags: dict[str, object], *, motorroad: bool) -> str | None:
    if motorroad and "yes" in _split(tags.get("motorroad")):
        return "motorroad=yes"
    if "private" in _split(tags.get("service")):
        return "service=private"
    if "yes" in _split(tags.get("area")):
        return "area=yes"
    return None


_CLASSIFIERS: Final[dict[str, tuple[tuple[str, ...], Callable[[dict[str, object]],
                                                               str | None]]]] = {
    "walk": (_WALK_COLS, classify_edge),
    "ebike": (_EBIKE_COLS, classify_ebike_edge),
    "drive": (_DRIVE_COLS, classify_drive_edge),
}


def apply_mode_filter(edges: pd.DataFrame, mode: str) -> tuple[np.ndarray, FilterReport]:
    """The keep mask and :class:`FilterReport` of ``mode``'s filter over a raw edge table
    (each distinct tag combination classified once)."""
    cols, classify = _CLASSIFIERS[check_mode(mode)]
    reasons = _classify_distinct(edges, cols, classify)
    keep = np.array([r is None for r in reasons], dtype=bool)
    return keep, _report(FILTER_VERSIONS[mode], reasons, keep,
                         edges["length_m"].to_numpy(dtype=float))


def _classify_distinct(edges: pd.DataFrame, cols: tuple[str, ...],
                       classify: Callable[[dict[str, object]], str | None]) -> np.ndarray:
    n = len(edges)
    if n == 0:
        return np.zeros(0, dtype=object)
    frame = pd.DataFrame({c: (edges[c].astype(object) if c in edges.columns
                              else pd.Series([None] * n, dtype=object)) for c in cols})
    codes = np.column_stack([pd.factorize(frame[c], use_na_sentinel=True)[0] for c in cols])
    _, first, inverse = np.unique(codes, axis=0, return_index=True, return_inverse=True)
    sub = frame.iloc[first]
    found = [classify({c: (None if pd.isna(v) else v) for c, v in zip(cols, row, strict=True)})
             for row in sub.itertuples(index=False, name=None)]
    return np.array([*found, None], dtype=object)[:-1][inverse.reshape(-1)]


def _report(version: str, reasons: np.ndarray, keep: np.ndarray,
            lengths: np.ndarray) -> FilterReport:
    by: dict[str, list[float]] = {}
    for r, length in zip(reasons[~keep], lengths[~keep], strict=True):
        acc = by.setdefault(str(r), [0, 0.0])
        acc[0] += 1
        acc[1] += float(length) if np.isfinite(length) else 0.0
    return FilterReport(
        version=version, kept_edges=int(keep.sum()), dropped_edges=int((~keep).sum()),
        dropped_length_m=float(np.nansum(lengths[~keep])),
        by_reason=tuple(sorted(((k, int(v[0]), float(v[1])) for k, v in by.items()),
                               key=lambda t: -t[2])),
    )


# ----------------------------------------------------------------------- speed model

_NUMBER_UNIT = re.compile(r"^\s*([0-9]+(?:[.,][0-9]+)?)\s*(km/h|kmh|kph|mph|knots)?\s*$")
_UNIT_FACTOR: Final = {None: 1.0, "km/h": 1.0, "kmh": 1.0, "kph": 1.0, "mph": 1.609344,
                       "knots": 1.852}


def parse_maxspeed_kmh(value: object) -> float:
    """km/h of an OSM ``maxspeed`` value, ``nan`` when it gives no number.

    ``"50"`` → 50, ``"30 mph"`` → 48.3, ``"10 knots"`` → 18.5, ``"60;80"`` → 70 (mean
    of the parts that parse), ``"none"`` / ``"signals"`` / ``"CN:urban"`` → ``nan``.
    """
    speeds = []
    for part in _split(value):
        m = _NUMBER_UNIT.match(part)
        if m:
            speeds.append(float(m.group(1).replace(",", ".")) * _UNIT_FACTOR[m.group(2)])
    speeds = [s for s in speeds if math.isfinite(s) and s > 0]
    return float(np.mean(speeds)) if speeds else math.nan


def class_default_speed_kmh(highway: object) -> float:
    """The China per-class default car speed; the slowest class of a merged edge."""
    speeds = [DRIVE_DEFAULT_SPEED_KMH.get(h, _FALLBACK_SPEED_KMH) for h in _split(highway)]
    return min(speeds) if speeds else _FALLBACK_SPEED_KMH


def drive_speed_kmh(highway: pd.Series, maxspeed: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Per-edge car speed (km/h) and whether it came from ``maxspeed`` (else class)."""
    tagged = _map_distinct(maxspeed, parse_maxspeed_kmh)
    default = _map_distinct(highway, class_default_speed_kmh)
    from_tag = np.isfinite(tagged)
    speed = np.where(from_tag, tagged, default)
    return np.clip(speed, *_SPEED_RANGE_KMH), from_tag


def _map_distinct(values: pd.Series, fn: Callable[[object], float]) -> np.ndarray:
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
    mapped = np.array([fn(u) for u in uniques] + [fn(None)], dtype=float)
    return mapped[np.where(codes < 0, len(uniques), codes)]


def drive_directions(oneway: pd.Series, junction: pd.Series,
                     highway: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``(forward, backward)``: may a car drive each edge u → v, and v → u."""
    frame = pd.DataFrame({"o": oneway.astype(object), "j": junction.astype(object),
                          "h": highway.astype(object)})
    reasons = _classify_distinct(frame.rename(columns={"o": "oneway", "j": "junction",
                                                       "h": "highway"}),
                                 ("oneway", "junction", "highway"), _direction)
    codes = np.array(reasons, dtype=object)
    return codes != "backward", codes != "forward"


def _direction(tags: dict[str, object]) -> str | None:
    """``"forward"``, ``"backward"`` or ``None`` (two-way) for one edge's tags."""
    oneway = set(_split(tags.get("oneway")))
    if oneway & _FORWARD:
        return "forward"
    if oneway & _BACKWARD:
        return "backward"
    if oneway & _TWO_WAY:
        return None
    if set(_split(tags.get("junction"))) & _ROUNDABOUT:
        return "forward"
    if set(_split(tags.get("highway"))) & _IMPLIED_ONEWAY_HIGHWAY:
        return "forward"
    return None


def directed_arcs(u: np.ndarray, v: np.ndarray, w: np.ndarray, forward: np.ndarray,
                  backward: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(from, to, weight, edge)`` of every allowed direction of every edge, sorted by
    (from, to), keeping the *minimum* weight of parallel arcs; self-loops left out."""
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    w = np.asarray(w, dtype=np.float64)
    eid = np.arange(u.size, dtype=np.int64)
    rows = np.concatenate([u[forward], v[backward]])
    cols = np.concatenate([v[forward], u[backward]])
    ws = np.concatenate([w[forward], w[backward]])
    es = np.concatenate([eid[forward], eid[backward]])
    keep = rows != cols
    rows, cols, ws, es = rows[keep], cols[keep], ws[keep], es[keep]
    order = np.lexsort((es, ws, cols, rows))
    rows, cols, ws, es = rows[order], cols[order], ws[order], es[order]
    if rows.size:
        first = np.ones(rows.size, dtype=bool)
        first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
        rows, cols, ws, es = rows[first], cols[first], ws[first], es[first]
    return rows, cols, ws, es


def arcs_csr(n_nodes: int, rows: np.ndarray, cols: np.ndarray,
             data: np.ndarray) -> sp.csr_matrix:
    """CSR (row = from) of arcs already sorted and unique by (from, to); zeros stored."""
    indptr = np.zeros(n_nodes + 1, dtype=np.int64)
    np.add.at(indptr, rows + 1, 1)
    indptr = np.cumsum(indptr)
    idx = np.int32 if n_nodes < 2**31 - 1 else np.int64
    return sp.csr_matrix((data, cols.astype(idx), indptr.astype(idx)),
                         shape=(n_nodes, n_nodes))


def directed_csr(n_nodes: int, u: np.ndarray, v: np.ndarray, w: np.ndarray,
                 forward: np.ndarray, backward: np.ndarray) -> sp.csr_matrix:
    """Directed CSR (row = from node, column = to node) of the minimum parallel weight."""
    rows, cols, ws, _ = directed_arcs(u, v, w, forward, backward)
    return arcs_csr(n_nodes, rows, cols, ws)


def speed_model(mode: str, *, speed_kmh: float | None = None) -> dict[str, Any]:
    """The ``speed_model`` block of ``summary.json`` for ``mode``."""
    mode = check_mode(mode)
    if mode == "drive":
        return {"kind": "per_edge", "source": "maxspeed where tagged, else the China "
                "per-class default", "class_default_kmh": dict(DRIVE_DEFAULT_SPEED_KMH),
                "range_kmh": list(_SPEED_RANGE_KMH), "directed": True}
    presets = (EBIKE_SPEED_PRESETS_KMH if mode == "ebike" else None)
    out: dict[str, Any] = {"kind": "constant", "speed_kmh": speed_kmh, "directed": False}
    if presets is not None:
        out["presets_kmh"] = dict(presets)
    return out


def network_filter(mode: str) -> dict[str, str]:
    """The ``network_filter`` block of ``summary.json``: version and where it is defined."""
    mode = check_mode(mode)
    where = ("geo.network.walkfilter" if mode == "walk"
             else f"geo.network.modes ({mode} filter)")
    return {"mode": mode, "filter": FILTER_VERSIONS[mode], "defined_in": where}


def mode_of_filter(version: str) -> Mode:
    """The mode a prepared network was filtered for, from its filter version."""
    for mode, v in FILTER_VERSIONS.items():
        if v == version:
            return mode  # type: ignore[return-value]
    raise InvalidParameterError(f"unknown network filter version {version!r}")


def check_network_mode(version: str, mode: str) -> None:
    """Refuse a network filtered for another known mode than ``mode`` (a network with a
    filter version of no mode — hand-made — is accepted)."""
    filtered = next((m for m, v in FILTER_VERSIONS.items() if v == version), None)
    if filtered is not None and filtered != check_mode(mode):
        raise InvalidParameterError(
            f"the network was prepared for {filtered!r} ({version}), not for mode {mode!r}: "
            f"load it with mode={mode!r} so its own street filter applies")


def mode_summary(mode: str, *, speed_kmh: float | None = None) -> dict[str, Any]:
    """``travel_mode``, ``speed_model`` and ``network_filter`` of ``summary.json``'s
    ``params`` (``speed_kmh``: the constant speed of walk / e-bike)."""
    return {"travel_mode": check_mode(mode),
            "speed_model": speed_model(mode, speed_kmh=None if mode == "drive" else speed_kmh),
            "network_filter": network_filter(mode)}
