"""Network coverage: distance from every street point to its nearest station.

One multi-source Dijkstra (scipy ``csgraph``, ``min_only=True``, cut off at the walk
budget) gives every node its distance to the nearest station and which station it is.
Stations sit *inside* edges: each becomes a virtual source node with two outgoing
edges to the ends of its edge (lengths ``offset`` and ``L - offset``); base nodes get
no edge back, so the virtual nodes never serve as shortcuts and the base CSR is reused
as it is (only rows are appended).

Partial edges count: an edge reached with remaining budgets ``r_u``, ``r_v`` is
covered for ``min(L, r_u + r_v)`` — the union of ``min(L, r_u)`` from ``u`` and
``min(L, r_v)`` from ``v`` — and an edge carrying a station is split at the station
(see :mod:`geo.coverage.segments`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse import csgraph

from geo.coverage.segments import covered_length, covered_pieces, segment_arrays
from geo.coverage.snap import STATUS_USED, snap_stations
from geo.errors import InvalidParameterError, NoStationsOnNetworkError
from geo.network.model import WalkNetwork
from geo.network.modes import check_network_mode
from geo.params import CoverageParams, distance_to_walk_time_min


def append_sources(csr: sp.csr_matrix, edge_u: np.ndarray, edge_v: np.ndarray,
                   length_m: np.ndarray, src_edge: np.ndarray,
                   src_offset: np.ndarray) -> sp.csr_matrix:
    """``csr`` with one extra row per source: edges to both ends of its host edge.

    The result is square ``(n + S)``; source ``k`` is node ``n + k``. Columns of the
    new rows only point into the base graph (directed), so shortest paths from the
    sources are exact and the base rows are untouched.
    """
    n = csr.shape[0]
    s = np.asarray(src_edge, dtype=np.int64)
    a = np.clip(np.asarray(src_offset, dtype=float), 0.0, length_m[s])
    b = length_m[s] - a
    u = edge_u[s].astype(np.int64)
    v = edge_v[s].astype(np.int64)
    loop = u == v
    # per source: [u, v] (or just [u] with min(a, b) on a self-loop)
    cols = np.stack([u, v], axis=1)
    wts = np.stack([np.where(loop, np.minimum(a, b), a), b], axis=1)
    mask = np.stack([np.ones_like(loop), ~loop], axis=1)
    counts = mask.sum(axis=1)
    new_indices = cols[mask]
    new_data = wts[mask]
    m = n + s.size
    idx_dtype = np.int32 if max(m, csr.indices.size + new_indices.size) < 2**31 - 1 \
        else np.int64
    # one copy of the base arrays, already in the final index type
    indptr = np.concatenate([csr.indptr.astype(idx_dtype, copy=False),
                             (csr.indptr[-1] + np.cumsum(counts)).astype(idx_dtype)])
    indices = np.concatenate([csr.indices.astype(idx_dtype, copy=False),
                              new_indices.astype(idx_dtype)])
    data = np.concatenate([csr.data, new_data])
    return sp.csr_matrix((data, indices, indptr), shape=(m, m))


def search_limit(budget_m: float) -> float:
    """Dijkstra cutoff for ``budget_m``: a hair (1e-9 relative) above it, so that a node
    exactly at the budget is not lost to sub-micrometre rounding of coordinates and
    lengths (its remaining budget is 0 either way)."""
    return float(budget_m) * (1.0 + 1e-9)


def multi_source_distances(network: WalkNetwork, src_edge: np.ndarray, src_offset: np.ndarray,
                           *, budget_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Distance (m) from every node to the nearest source within ``budget_m``.

    Returns ``(dist, source)`` for the ``n`` base nodes: ``inf`` / ``-1`` beyond the
    budget; ``source`` indexes ``src_edge``.
    """
    n = network.n_nodes
    if len(src_edge) == 0:
        return np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
    graph = append_sources(network.csr, network.edge_u, network.edge_v, network.length_m,
                           src_edge, src_offset)
    dist, _pred, sources = csgraph.dijkstra(
        graph, directed=True, indices=np.arange(n, n + len(src_edge)), min_only=True,
        limit=search_limit(budget_m), return_predecessors=True,
    )
    dist = dist[:n]
    src = sources[:n].astype(np.int64)
    src = np.where(src >= 0, src - n, -1)
    return dist, src


@dataclass(frozen=True, eq=False)
class Coverage:
    """The result of :func:`compute_coverage` (read-only).

    ``stations`` is every input station, snapped, in the network CRS, with
    ``status`` and — for used stations — ``source`` (0…S-1, the index used in the
    node/segment tables). ``segments`` is the :mod:`geo.coverage.segments` table with the
    nearest source at both ends.
    """

    params: CoverageParams
    network: WalkNetwork
    stations: gpd.GeoDataFrame
    node_dist_m: np.ndarray
    node_source: np.ndarray
    segment_arrays: dict[str, np.ndarray]
    timings_s: dict[str, float] = field(default_factory=dict)

    @cached_property
    def segments(self) -> pd.DataFrame:
        """The segment table as a DataFrame (built on first use)."""
        return pd.DataFrame(self.segment_arrays)

    @cached_property
    def used(self) -> gpd.GeoDataFrame:
        """Used (on-network) stations, ordered by ``source``."""
        st = self.stations
        return st.loc[st["status"] == STATUS_USED].sort_values("source")

    @property
    def n_sources(self) -> int:
        return int((self.stations["status"] == STATUS_USED).sum())

    @cached_property
    def segment_covered_m(self) -> np.ndarray:
        return covered_length(self.segment_arrays, self.params.budget_m)

    @cached_property
    def edge_covered_m(self) -> np.ndarray:
        """Covered metres per edge."""
        return np.bincount(self.segment_arrays["edge"], weights=self.segment_covered_m,
                           minlength=self.network.n_edges)

    @property
    def covered_length_m(self) -> float:
        return float(self.segment_covered_m.sum())

    @property
    def total_length_m(self) -> float:
        return self.network.total_length_m

    @cached_property
    def pieces(self) -> pd.DataFrame:
        """Covered stretches ``edge, x0, x1, source`` labelled by nearest station."""
        return covered_pieces(self.segment_arrays, self.params.budget_m)

    @cached_property
    def merged_pieces(self) -> pd.DataFrame:
        """Covered stretches for polygon building: a segment covered end to end is one
        piece whatever its sources (labels are not meaningful here)."""
        return covered_pieces(self.segment_arrays, self.params.budget_m, merge="any")

    def node_walk_time_min(self) -> np.ndarray:
        """Walk time (minutes) from each node to its nearest station; ``inf`` beyond."""
        return distance_to_walk_time_min(self.node_dist_m, self.params.walk_speed_kmh)

    def station_table(self) -> pd.DataFrame:
        """Per station: snapping, status and the street length it is nearest to."""
        st = self.stations
        nearest_m = np.zeros(len(st))
        src = st["source"].to_numpy()
        used = src >= 0
        if used.any():
            p = self.pieces
            by_src = np.bincount(p["source"].to_numpy(),
                                 weights=(p["x1"] - p["x0"]).to_numpy(),
                                 minlength=self.n_sources)
            nearest_m[used] = by_src[src[used]]
        cols = [c for c in ("station_id", "name", "type", "address", "city", "district")
                if c in st.columns]
        out = pd.DataFrame(st[cols]).copy()
        out["status"] = st["status"].to_numpy()
        out["status_reason"] = st["status_reason"].to_numpy()
        out["snap_dist_m"] = st["snap_dist_m"].round(1).to_numpy()
        out["nearest_covered_length_m"] = np.round(nearest_m, 1)
        return out


def compute_coverage(network: WalkNetwork, stations: gpd.GeoDataFrame, *,
                     params: CoverageParams | None = None) -> Coverage:
    """Compute network coverage of ``stations`` (a GeoDataFrame in ``network.crs``).

    Stations are snapped to the nearest edge point; those farther than
    ``params.max_snap_m`` are off-network and excluded. Raises
    :class:`NoStationsOnNetworkError` when none is on the network.
    """
    params = params or CoverageParams()
    _check_mode(network, params)
    t_prep = time.perf_counter()
    _ = network.csr  # built once per network (cached on it): not part of the pass
    t0 = time.perf_counter()
    snapped = snap_stations(network, stations, max_snap_m=params.max_snap_m)
    used = (snapped["status"] == STATUS_USED).to_numpy()
    if not used.any():
        raise NoStationsOnNetworkError(
            f"none of the {len(snapped)} stations is within max_snap_m={params.max_snap_m:g} m "
            "of a walkable street: check the coordinate system (WGS-84 expected) and that the "
            "network covers the stations' area",
            zh=f"{len(snapped)} 个站点均不在步行路网 {params.max_snap_m:g} 米范围内："
               "请确认已加载这些站点所在城市的路网，并核对坐标系。",
        )
    source = np.full(len(snapped), -1, dtype=np.int64)
    source[used] = np.arange(int(used.sum()))
    snapped["source"] = source
    t1 = time.perf_counter()
    src_edge = snapped.loc[used, "snap_edge"].to_numpy(dtype=np.int64)
    src_off = snapped.loc[used, "snap_offset_m"].to_numpy(dtype=float)
    dist, src = multi_source_distances(network, src_edge, src_off, budget_m=params.budget_m)
    segments = segment_arrays(network.edge_u, network.edge_v, network.length_m, dist, src,
                              src_edge, src_off)
    t2 = time.perf_counter()
    return Coverage(params=params, network=network, stations=snapped, node_dist_m=dist,
                    node_source=src, segment_arrays=segments,
                    timings_s={"network_graph": t0 - t_prep, "snap": t1 - t0,
                               "coverage": t2 - t1})


def _check_mode(network: WalkNetwork, params: CoverageParams) -> None:
    """Walk and e-bike run here (one speed, undirected); a car has per-edge speeds and
    one-way streets, which this engine does not model."""
    if params.mode == "drive":
        raise InvalidParameterError(
            "coverage by car is not computed by the street-coverage engine (one-way "
            "streets, per-edge speeds): use geo.access.bases / `yizhan bases` for drive "
            "times, or mode 'walk' / 'ebike' here")
    check_network_mode(network.filter_report.version, params.mode)


def coverage_summary(cov: Coverage) -> dict[str, Any]:
    """Headline figures of a coverage run."""
    total = cov.total_length_m
    return {
        "covered_length_m": round(cov.covered_length_m, 1),
        "total_length_m": round(total, 1),
        "covered_length_share": round(cov.covered_length_m / total, 6) if total else None,
    }
