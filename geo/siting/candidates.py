"""Candidate sites for site suggestions, snapped to the walk network.

Default candidates (:func:`network_candidates`) are network nodes none of whose streets
is a motorway or trunk road (:data:`EXCLUDED_HIGHWAY`), farther than ``min_distance_m``
(straight line, default 300 m) from every existing station on the network; above
``max_candidates`` a deterministic random sample (``seed``) is kept; with ``near`` (rider
zones) only nodes within ``near_m`` (straight line) of it are kept first. A user list of
points (:func:`point_candidates`, or a file through :func:`read_candidates`) is snapped
like stations: rows farther than ``max_snap_m`` from a street, without a point or with
a duplicate id are rejected with the reason.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.coverage.snap import snap_points
from geo.errors import InvalidParameterError
from geo.io.layers import read_points_layer
from geo.network.model import WalkNetwork

DEFAULT_MIN_DISTANCE_M: Final = 300.0
DEFAULT_MAX_CANDIDATES: Final = 20_000
#: Streets on which no site is suggested (a node touching one is not a default candidate).
EXCLUDED_HIGHWAY: Final = frozenset({"motorway", "motorway_link", "trunk", "trunk_link"})
#: ``Candidates.source`` of the default candidates and of a user list.
SOURCE_NODES: Final = "network_nodes"
SOURCE_INPUT: Final = "input"


@dataclass(frozen=True, eq=False)
class Candidates:
    """Candidate sites, snapped to the network (network CRS).

    ``sites`` columns: ``candidate_id``, ``name``, ``source`` (``network_nodes`` /
    ``input``), ``node_id`` (network nodes only), ``snap_edge``, ``snap_offset_m``,
    ``snap_dist_m`` and the point geometry. ``rejected``: ``candidate_id``, ``reason``.
    """

    sites: gpd.GeoDataFrame
    rejected: pd.DataFrame
    source: str
    eligible: int  # before the max_candidates cap
    settings: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.sites)


def _excluded_edges(network: WalkNetwork) -> np.ndarray:
    hw = network.edge_attrs["highway"] if "highway" in network.edge_attrs.columns else None
    if hw is None:
        return np.zeros(network.n_edges, dtype=bool)
    codes, uniques = pd.factorize(hw.astype(object), use_na_sentinel=True)
    bad = np.array([any(p.strip().lower() in EXCLUDED_HIGHWAY for p in str(u).split(";"))
                    for u in uniques] + [False], dtype=bool)
    return bad[codes]  # the sentinel -1 picks the trailing False


def _empty_rejected() -> pd.DataFrame:
    return pd.DataFrame({"candidate_id": pd.Series([], dtype=object),
                         "reason": pd.Series([], dtype=object)})


def network_candidates(network: WalkNetwork, existing_xy: np.ndarray | None = None, *,
                       min_distance_m: float = DEFAULT_MIN_DISTANCE_M,
                       max_candidates: int = DEFAULT_MAX_CANDIDATES,
                       seed: int = 0, near: shapely.Geometry | None = None,
                       near_m: float = 0.0) -> Candidates:
    """Default candidates: network nodes off motorways / trunk roads and farther than
    ``min_distance_m`` (straight line) from every point of ``existing_xy`` (n × 2,
    network CRS); with ``near`` (a geometry, network CRS) only nodes within ``near_m``
    of it; a deterministic random sample of ``max_candidates`` above that."""
    if not (np.isfinite(min_distance_m) and 0 <= min_distance_m <= 50_000):
        raise InvalidParameterError(
            f"min_distance_m={min_distance_m!r} is outside [0, 50000] m; e.g. 300")
    if int(max_candidates) < 1:
        raise InvalidParameterError(f"max_candidates must be ≥ 1, got {max_candidates!r}")
    excl = _excluded_edges(network)
    ok = np.ones(network.n_nodes, dtype=bool)
    ok[network.edge_u[excl]] = False
    ok[network.edge_v[excl]] = False
    idx = np.flatnonzero(ok)
    if existing_xy is not None and len(existing_xy) and min_distance_m > 0 and idx.size:
        from scipy.spatial import cKDTree  # third party, slow to import: only when needed

        tree = cKDTree(np.asarray(existing_xy, dtype=float).reshape(-1, 2))
        d, _ = tree.query(np.column_stack([network.node_x[idx], network.node_y[idx]]),
                          distance_upper_bound=min_distance_m)
        idx = idx[~np.isfinite(d)]  # nothing within min_distance_m
    if near is not None:
        idx = idx[shapely.dwithin(near, shapely.points(network.node_x[idx],
                                                       network.node_y[idx]), near_m)]
    eligible = int(idx.size)
    if idx.size > max_candidates:
        rng = np.random.default_rng(seed)
        idx = np.sort(rng.choice(idx, size=int(max_candidates), replace=False))
    pts = shapely.points(network.node_x[idx], network.node_y[idx])
    snap = snap_points(network, pts)
    ids = np.asarray(network.node_id[idx])
    sites = gpd.GeoDataFrame({
        "candidate_id": pd.array([f"N{i}" for i in ids], dtype=object),
        "name": pd.array([None] * idx.size, dtype=object),
        "source": SOURCE_NODES,
        "node_id": ids.astype(np.int64),
        "snap_edge": snap["edge"], "snap_offset_m": snap["offset_m"],
        "snap_dist_m": snap["snap_dist_m"],
    }, geometry=pts, crs=network.crs)
    settings: dict[str, Any] = {"min_distance_m": float(min_distance_m),
                                "max_candidates": int(max_candidates), "seed": int(seed),
                                "excluded_highway": sorted(EXCLUDED_HIGHWAY)}
    if near is not None:
        settings["near_zones_m"] = float(near_m)
    return Candidates(sites=sites, rejected=_empty_rejected(), source=SOURCE_NODES,
                      eligible=eligible, settings=settings)


def _point_ids(p: gpd.GeoDataFrame, id_column: str) -> list[str]:
    """The id of every row: ``id_column`` as text, ``C<row number>`` where it is missing."""
    if id_column not in p.columns:
        return [f"C{i + 1}" for i in range(len(p))]
    return [f"C{i + 1}" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
            for i, v in enumerate(p[id_column])]


def point_candidates(network: WalkNetwork, points: gpd.GeoDataFrame, *,
                     max_snap_m: float, id_column: str = "candidate_id") -> Candidates:
    """A user list of candidate points (any CRS) snapped to the network.

    Rows without a point geometry, with a duplicate id or farther than ``max_snap_m``
    from every walkable street are rejected with the reason. Without ``id_column`` the
    ids are ``C1, C2, …``.
    """
    if points.crs is None:
        raise InvalidParameterError("the candidate layer has no CRS: declare it (WGS-84)")
    p = points.to_crs(network.crs).reset_index(drop=True)
    n = len(p)
    ids = _point_ids(p, id_column)
    names = list(p["name"]) if "name" in p.columns else [None] * n
    geoms = p.geometry.to_numpy()
    reason: list[str | None] = [None] * n
    seen: set[str] = set()
    for i, g in enumerate(geoms):
        if ids[i] in seen:
            reason[i] = f"duplicate candidate id {ids[i]!r}"
        elif g is None or shapely.is_empty(g) or g.geom_type != "Point":
            reason[i] = "no point geometry"
        seen.add(ids[i])
    is_pt = np.array([r is None for r in reason], dtype=bool)
    snap = {"edge": np.full(n, -1, dtype=np.int64), "offset_m": np.full(n, np.nan),
            "snap_dist_m": np.full(n, np.inf)}
    if is_pt.any():
        s = snap_points(network, geoms[is_pt])
        for key in snap:
            snap[key][is_pt] = s[key]
    far = is_pt & ((snap["snap_dist_m"] > max_snap_m) | (snap["edge"] < 0))
    for j in np.flatnonzero(far):
        reason[j] = (f"nearest walkable street is {snap['snap_dist_m'][j]:.0f} m away "
                     f"(> max_snap_m {max_snap_m:g} m)")
    ok = np.array([r is None for r in reason], dtype=bool)
    sites = gpd.GeoDataFrame({
        "candidate_id": pd.array([ids[i] for i in np.flatnonzero(ok)], dtype=object),
        "name": pd.array([names[i] for i in np.flatnonzero(ok)], dtype=object),
        "source": SOURCE_INPUT,
        "node_id": np.full(int(ok.sum()), -1, dtype=np.int64),
        "snap_edge": snap["edge"][ok], "snap_offset_m": snap["offset_m"][ok],
        "snap_dist_m": snap["snap_dist_m"][ok],
    }, geometry=list(geoms[ok]), crs=network.crs)
    rejected = pd.DataFrame({"candidate_id": [ids[i] for i in np.flatnonzero(~ok)],
                             "reason": [reason[i] for i in np.flatnonzero(~ok)]})
    return Candidates(sites=sites, rejected=rejected, source=SOURCE_INPUT, eligible=int(ok.sum()),
                      settings={"max_snap_m": float(max_snap_m)})


def read_candidates(network: WalkNetwork, path: str | os.PathLike[str], *,
                    max_snap_m: float) -> Candidates:
    """Read a candidate file — CSV ``candidate_id,name,lon,lat`` (WGS-84; the id is
    optional) or a point GeoJSON / GeoPackage — and snap it (:func:`point_candidates`).

    Rows rejected on reading (bad coordinates…) and on snapping are both listed in
    ``rejected``.
    """
    table = read_points_layer(path, id_column="candidate_id", what="candidates")
    cands = point_candidates(network, table.accepted, max_snap_m=max_snap_m)
    read_rej = pd.DataFrame({"candidate_id": table.rejected["id"].to_numpy(),
                             "reason": table.rejected["reason"].to_numpy()})
    rejected = pd.concat([read_rej, cands.rejected], ignore_index=True) if len(read_rej) \
        else cands.rejected
    return dataclasses.replace(cands, rejected=rejected)


__all__ = [
    "DEFAULT_MAX_CANDIDATES",
    "DEFAULT_MIN_DISTANCE_M",
    "EXCLUDED_HIGHWAY",
    "SOURCE_INPUT",
    "SOURCE_NODES",
    "Candidates",
    "network_candidates",
    "point_candidates",
    "read_candidates",
]
