"""What the coverage engine minimises along streets: metres on foot / e-bike, seconds by car.

A :class:`StreetCost` is the one place the engine learns a travel mode's cost model:

* ``walk`` / ``ebike`` — cost is *metres* (one speed, so metres order trips exactly as
  minutes do), both ways along every edge; the budget is ``params.budget_m``. Segment
  tables carry no slope column (slope 1).
* ``drive`` — cost is *seconds*, per edge ``k = 1 / speed`` seconds per metre (the
  speed model of :mod:`geo.network.modes`: ``maxspeed`` where tagged, else the China
  class default), and a car may only drive an edge the ways it is open
  (:class:`~geo.network.travel.TravelGraph` ``forward`` / ``backward``). The budget is
  ``params.budget_s``. Coverage asks how long a car *starting at a street point* needs
  to reach a station (the direction of ``yizhan bases``: town → base), so the search
  runs from the stations on the *reversed* directed graph.

:attr:`StreetCost.graph` is the CSR the multi-source search walks from the stations:
an arc ``x → y`` of weight ``w`` means a trip ``y → x`` costs ``w`` (the walk graph is
symmetric; for drive it is :attr:`~geo.network.travel.TravelGraph.csr_reverse`).
:attr:`StreetCost.reach_m` bounds the street metres any trip within the budget can run
(the budget itself for metres; budget × the network's fastest speed for drive), which
is what straight-line (sub-graph) bounds need.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp

from geo.errors import InvalidParameterError
from geo.network.model import WalkNetwork
from geo.network.travel import TravelGraph, travel_graph
from geo.params import CoverageParams, kmh_to_m_per_s

CostUnit = Literal["m", "s"]


@dataclass(frozen=True, eq=False)
class StreetCost:
    """The cost model of one coverage run over ``network`` (see the module docstring).

    ``slope`` (cost per metre), ``forward`` (may travel u → v) and ``backward``
    (v → u) are per edge, ``None`` for walk / e-bike (slope 1, both ways).
    """

    mode: str
    unit: CostUnit
    budget: float
    reach_m: float
    graph: sp.csr_matrix
    slope: np.ndarray | None = None
    forward: np.ndarray | None = None
    backward: np.ndarray | None = None

    @property
    def directed(self) -> bool:
        """Whether some edge is open one way only."""
        return self.forward is not None and self.backward is not None and \
            bool(np.any(self.forward != self.backward))

    def source_costs(self, length_m: np.ndarray, src_edge: np.ndarray,
                     src_offset: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cost from the ``u`` and ``v`` ends of each source's edge to the source
        (network edge indices ``src_edge``): metres, or for drive ``k·a`` from ``u`` when
        the edge may be driven u → v and ``k·(L - a)`` from ``v`` when v → u (``inf``
        otherwise; a source exactly at an end is reached from that end whatever the
        direction)."""
        s = np.asarray(src_edge, dtype=np.int64)
        a = np.clip(np.asarray(src_offset, dtype=float), 0.0, length_m[s])
        b = length_m[s] - a
        if self.slope is None:
            return a, b
        k = self.slope[s]
        fwd = np.ones(s.size, dtype=bool) if self.forward is None else self.forward[s]
        bwd = np.ones(s.size, dtype=bool) if self.backward is None else self.backward[s]
        w_u = np.where(fwd | (a <= 0.0), k * a, np.inf)
        w_v = np.where(bwd | (b <= 0.0), k * b, np.inf)
        return w_u, w_v


def street_cost(network: WalkNetwork, params: CoverageParams, *,
                travel: TravelGraph | None = None) -> StreetCost:
    """The :class:`StreetCost` of ``params.mode`` over ``network`` (``travel``: the
    network's drive :class:`TravelGraph` when already built)."""
    if params.mode != "drive":
        budget = params.budget_m
        return StreetCost(mode=params.mode, unit="m", budget=budget, reach_m=budget,
                          graph=network.csr)
    if travel is None:
        travel = travel_graph(network, mode="drive")
    elif travel.network is not network or travel.mode != "drive":
        raise InvalidParameterError(
            "travel must be the drive TravelGraph of this network: build it with "
            "geo.network.travel.travel_graph(network, mode='drive')")
    speed_mps = kmh_to_m_per_s(1.0) * np.asarray(travel.speed_kmh, dtype=float)
    if speed_mps.size and not bool(np.all(np.isfinite(speed_mps) & (speed_mps > 0))):
        raise InvalidParameterError("the drive network has edges without a positive speed: "
                                    "prepare it again with mode='drive'")
    vmax = float(speed_mps.max()) if speed_mps.size else 1.0
    budget = params.budget_s
    return StreetCost(mode="drive", unit="s", budget=budget, reach_m=budget * vmax,
                      graph=travel.csr_reverse, slope=1.0 / speed_mps,
                      forward=np.asarray(travel.forward, dtype=bool),
                      backward=np.asarray(travel.backward, dtype=bool))


__all__ = ["CostUnit", "StreetCost", "street_cost"]
