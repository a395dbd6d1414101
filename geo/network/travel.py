"""Travel-time graphs over a prepared network: seconds per edge and direction, per mode.

A :class:`TravelGraph` pairs a :class:`~geo.network.model.WalkNetwork` prepared for a
mode (:func:`~geo.network.model.prepare_network` with ``mode=``) with that mode's cost:
``time_s`` per edge and whether each edge may be travelled u → v (``forward``) and
v → u (``backward``). Walk and e-bike are undirected at one speed; drive is directed
with per-edge speeds (:mod:`geo.network.modes`). The CSR is directed, row = from node.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph

from geo.errors import InvalidParameterError
from geo.network.model import WalkNetwork
from geo.network.modes import (
    DEFAULT_EBIKE_SPEED_KMH,
    Mode,
    arcs_csr,
    check_mode,
    directed_arcs,
    drive_directions,
    drive_speed_kmh,
    mode_of_filter,
)
from geo.params import DEFAULT_WALK_SPEED_KMH, kmh_to_m_per_s


@dataclass(frozen=True, eq=False)
class TravelGraph:
    """Per-edge travel times of one mode over ``network`` (read-only arrays)."""

    network: WalkNetwork
    mode: Mode
    speed_kmh: np.ndarray
    speed_from_maxspeed: np.ndarray
    forward: np.ndarray
    backward: np.ndarray

    @cached_property
    def time_s(self) -> np.ndarray:
        """Seconds to travel each edge end to end."""
        return self.network.length_m / (self.speed_kmh * 1000.0 / 3600.0)

    @cached_property
    def arcs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(from, to, time_s, edge)`` of the fastest arc between each node pair."""
        net = self.network
        return directed_arcs(net.edge_u, net.edge_v, self.time_s, self.forward,
                             self.backward)

    @cached_property
    def csr(self) -> sp.csr_matrix:
        """Directed CSR of seconds (row = from node), minimum over parallel edges."""
        rows, cols, ws, _ = self.arcs
        return arcs_csr(self.network.n_nodes, rows, cols, ws)

    @cached_property
    def csr_reverse(self) -> sp.csr_matrix:
        """The transposed graph: a search from a facility gives times *to* it."""
        return self.csr.T.tocsr()

    @cached_property
    def arc_edge(self) -> sp.csr_matrix:
        """Same structure as :attr:`csr`, data = the edge index of each arc."""
        rows, cols, _, es = self.arcs
        return arcs_csr(self.network.n_nodes, rows, cols, es)

    @cached_property
    def main_component(self) -> np.ndarray:
        """Nodes of the largest strongly connected component (every node of it reaches
        every other): where origins and facilities are snapped, so that none lands on an
        island or a one-way trap."""
        n = self.network.n_nodes
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        _, labels = csgraph.connected_components(self.csr, directed=True, connection="strong")
        return np.flatnonzero(labels == np.bincount(labels).argmax())

    def edges_of_path(self, nodes: np.ndarray) -> np.ndarray:
        """Edge indices of a node path ``nodes[0] → nodes[-1]`` (fastest parallel edge)."""
        nodes = np.asarray(nodes, dtype=np.int64)
        if nodes.size < 2:
            return np.zeros(0, dtype=np.int64)
        a, b = nodes[:-1], nodes[1:]
        m = self.arc_edge
        out = np.empty(a.size, dtype=np.int64)
        for i, (x, y) in enumerate(zip(a.tolist(), b.tolist(), strict=True)):
            lo, hi = m.indptr[x], m.indptr[x + 1]
            j = lo + int(np.searchsorted(m.indices[lo:hi], y))
            if j >= hi or m.indices[j] != y:
                raise InvalidParameterError(f"no arc {x} → {y} in the {self.mode} graph")
            out[i] = int(m.data[j])
        return out

    def summary(self) -> dict[str, object]:
        """Counts for ``summary.json``: edges one-way, speeds from ``maxspeed``."""
        one_way = self.forward != self.backward
        return {"mode": self.mode, "edges": self.network.n_edges,
                "one_way_edges": int(one_way.sum()),
                "speed_from_maxspeed_edges": int(self.speed_from_maxspeed.sum()),
                "median_speed_kmh": round(float(np.median(self.speed_kmh)), 1)
                if self.speed_kmh.size else None}


def travel_graph(network: WalkNetwork, *, mode: str | None = None,
                 speed_kmh: float | None = None) -> TravelGraph:
    """The :class:`TravelGraph` of ``network`` for ``mode`` (default: the mode the
    network was filtered for). ``speed_kmh``: the constant speed of walk / e-bike
    (defaults 4.0 / 15 km/h); drive takes its speeds from the edges.

    Raises :class:`InvalidParameterError` when the network was filtered for another mode.
    """
    filtered = mode_of_filter(network.filter_report.version)
    mode = check_mode(mode or filtered)
    if mode != filtered:
        raise InvalidParameterError(
            f"the network was prepared for {filtered!r}, not {mode!r}: load it with "
            f"mode={mode!r} (its own street filter)")
    n = network.n_edges
    if mode == "drive":
        return _drive_graph(network)
    if speed_kmh is None:
        speed_kmh = DEFAULT_WALK_SPEED_KMH if mode == "walk" else DEFAULT_EBIKE_SPEED_KMH
    if not (np.isfinite(speed_kmh) and kmh_to_m_per_s(speed_kmh) > 0):
        raise InvalidParameterError(f"speed_kmh must be a positive number, got {speed_kmh!r}")
    both = np.ones(n, dtype=bool)
    return TravelGraph(network=network, mode=mode, speed_kmh=np.full(n, float(speed_kmh)),
                       speed_from_maxspeed=np.zeros(n, dtype=bool), forward=both,
                       backward=both.copy())


def _drive_graph(network: WalkNetwork) -> TravelGraph:
    attrs = network.edge_attrs
    missing = {"oneway", "junction", "maxspeed"} - set(attrs.columns)
    if missing:
        raise InvalidParameterError(
            f"the drive network lacks {sorted(missing)}: prepare it again with mode='drive'")
    speed, from_tag = drive_speed_kmh(attrs["highway"], attrs["maxspeed"])
    forward, backward = drive_directions(attrs["oneway"], attrs["junction"], attrs["highway"])
    return TravelGraph(network=network, mode="drive", speed_kmh=speed,
                       speed_from_maxspeed=from_tag, forward=forward, backward=backward)
