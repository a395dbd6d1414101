"""Where to add stations: coverage-maximising site suggestions (maximal covering location).

The existing stations stay fixed. From a set of candidate sites, :func:`suggest_sites`
picks up to ``k`` sites that together *newly* cover the most demand within the walk
budget (the maximal covering location problem, MCLP). This module is the public entry;
the work is done in

* :mod:`geo.siting.demand` — what a covered street metre is worth: ``street_length``
  (every metre counts 1), ``population`` (each town's population spread over its
  streets), ``population_raster`` (each H3 cell's people from a population raster
  spread over its streets) or ``auto`` (the raster when given, else population when
  every town has one);
* :mod:`geo.siting.candidates` — default candidates (network nodes off motorways and
  trunk roads, farther than ``min_distance_m`` from every existing station, sampled
  above ``max_candidates``) or a user list of points, snapped like stations;
* :mod:`geo.siting.problem` — the exact coverage structure: every edge cut into
  elements, each wholly covered or not by each candidate and by the existing stations,
  so marginal gains are exact and equal the difference of two
  :func:`~geo.coverage.core.compute_coverage` runs (see :func:`covered_demand`);
* :mod:`geo.siting.solvers` — ``greedy`` (lazy greedy CELF, at least ``1 − 1/e`` ≈
  63 % of the optimum, with a data-dependent ``optimum_upper_bound``) and ``ilp`` (the exact
  integer programme with CBC or HiGHS, for small instances: :data:`ILP_MAX_CANDIDATES`,
  :data:`ILP_MAX_ROWS`);
* :mod:`geo.siting.outputs` — :class:`SuggestResult` and the files written from it
  (``suggestions.csv``, ``suggestions.geojson``, ``new_service_areas.geojson``,
  ``summary.json``, and ``zones.csv`` for rider zones);
* :mod:`geo.siting.zones` — the ``rider-zones`` target: demand restricted to the streets
  inside rider-friendly zones not yet within the budget of a 工会驿站 / 司机之家 (by
  e-bike by default, 10 minutes at 15 km/h), candidates near the zones, the zone each
  site serves and a table per zone.

The travel mode is the one of ``params`` (``walk`` — the default of the ``region``
target — or ``ebike``, the default of ``rider-zones``); the network must have been
prepared for it (``load_network(…, mode=…)``).

Every public name of those modules that callers use is importable from here.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

import geopandas as gpd
import numpy as np
import shapely

from geo.access.riders import rider_stations
from geo.coverage.core import Coverage, compute_coverage
from geo.coverage.snap import STATUS_USED
from geo.errors import InvalidParameterError, StationDataError
from geo.network.model import WalkNetwork
from geo.network.modes import check_network_mode
from geo.params import CoverageParams
from geo.population.raster import PopulationGrid
from geo.siting.candidates import (
    DEFAULT_MAX_CANDIDATES,
    DEFAULT_MIN_DISTANCE_M,
    EXCLUDED_HIGHWAY,
    SOURCE_INPUT,
    SOURCE_NODES,
    Candidates,
    network_candidates,
    point_candidates,
    read_candidates,
)
from geo.siting.demand import DEMAND_BASES, Demand, build_demand, covered_demand
from geo.siting.outputs import (
    SuggestResult,
    areas_geojson,
    gain_curve,
    method_text,
    nearest_street,
    site_service_areas,
    site_table,
    site_zone_columns,
    sites_geojson,
    sites_output,
    street_name,
    suggested_stations,
    summary_dict,
    write_suggestions,
    zones_output,
)
from geo.siting.problem import CoverProblem, build_problem, candidate_intervals
from geo.siting.solvers import (
    DEFAULT_ILP_TIME_LIMIT_S,
    GUARANTEE,
    ILP_MAX_CANDIDATES,
    ILP_MAX_ROWS,
    SOLVERS,
    Selection,
    default_solver,
    lazy_greedy,
    optimum_upper_bound,
    solve_ilp,
)
from geo.siting.zones import (
    DEFAULT_RIDE_TIME_MIN,
    RIDER_STATION_TYPES,
    ZONE_COLUMNS,
    rider_zone_layer,
    zone_demand,
    zone_gains,
    zone_table,
)
from geo.vocab import DemandChoice, SiteTarget, SitingMethod

METHODS: Final[tuple[SitingMethod, ...]] = ("greedy", "ilp")
TARGETS: Final[tuple[SiteTarget, ...]] = ("region", "rider-zones")
DEFAULT_K: Final = 10
MAX_K: Final = 1000


@dataclass(frozen=True, eq=False)
class _Solution:
    """A solved problem: the ranked selection, the bound on the optimum (``None``: not
    known), the ILP solver's info (greedy: ``None``) and notes on the run."""

    selection: Selection
    bound: float | None
    solver: dict[str, Any] | None
    notes: tuple[str, ...] = ()


def suggest_sites(
    network: WalkNetwork,
    stations: gpd.GeoDataFrame | None = None,
    *,
    k: int = DEFAULT_K,
    candidates: gpd.GeoDataFrame | Candidates | None = None,
    towns: gpd.GeoDataFrame | None = None,
    params: CoverageParams | None = None,
    coverage: Coverage | None = None,
    method: SitingMethod = "greedy",
    solver: str | None = None,
    demand_basis: DemandChoice = "auto",
    min_distance_m: float = DEFAULT_MIN_DISTANCE_M,
    max_candidates: int = DEFAULT_MAX_CANDIDATES,
    seed: int = 0,
    time_limit_s: float = DEFAULT_ILP_TIME_LIMIT_S,
    population: PopulationGrid | None = None,
    target: SiteTarget = "region",
    zones: gpd.GeoDataFrame | None = None,
) -> SuggestResult:
    """Suggest up to ``k`` new station sites that newly cover the most demand.

    ``stations``: the existing (fixed) stations, any CRS (``None``/empty: none yet);
    or pass ``coverage``, an existing :class:`~geo.coverage.core.Coverage` of them (its
    parameters are then used). ``candidates``: ``None`` for network nodes (see the
    module docstring), a point GeoDataFrame (any CRS; ``candidate_id``/``name``
    optional) or prepared :class:`Candidates`. ``towns``: polygons with ``town_id``,
    ``name``, ``population`` (any CRS) for the population basis and site labels.
    ``method``: ``"greedy"`` (CELF) or ``"ilp"`` (exact; ``solver`` ``"highs"`` or
    ``"cbc"``). ``population`` (a raster window over the network): the sites maximise
    the people newly covered (:func:`geo.siting.demand.raster_demand`).

    ``target="rider-zones"`` with ``zones`` (rider-friendly zone polygons, ``zone_id``,
    ``name``, any CRS): the demand is the streets (or people) inside the zones not yet
    within the budget of a 工会驿站 / 司机之家 among ``stations`` (other types do not
    count; ``coverage`` is refused), ``params`` default to the e-bike's
    (:data:`DEFAULT_RIDE_TIME_MIN` minutes at 15 km/h, on a network prepared for
    ``ebike``), default candidates are the nodes within the budget of a zone, and each
    site names the zone it serves (:mod:`geo.siting.zones`).
    """
    t_start = time.perf_counter()
    timings: dict[str, float] = {}
    kk = _check_request(k, method, solver, target)
    zone_layer, stations, params, notes = _target_inputs(network, target, zones, stations,
                                                         coverage, params)
    params, base = _existing_coverage(network, stations, coverage, params, timings)
    used = base.stations.loc[base.stations["status"] == STATUS_USED] if base is not None \
        else None
    with _timed(timings, "demand"):
        demand = build_demand(network, towns, basis=demand_basis, population=population)
        if zone_layer is not None:
            demand = zone_demand(network, demand, zone_layer)
    near = _zone_union(zone_layer) if candidates is None else None
    with _timed(timings, "candidates"):
        cands = _candidates(network, candidates, used, params, min_distance_m=min_distance_m,
                            max_candidates=max_candidates, seed=seed, near=near)
    covered_before = covered_demand(base, demand) if base is not None else 0.0
    with _timed(timings, "build"):
        problem = build_problem(network, cands, demand, base, budget_m=params.budget_m)
    solution = _solve(problem, kk, method, solver=solver, time_limit_s=time_limit_s,
                      timings=timings)
    solution = dataclasses.replace(solution, notes=(*notes, *solution.notes))
    result = _result(network, params, cands, demand, problem, solution, method=method, k=kk,
                     covered_before=covered_before,
                     existing_used=len(used) if used is not None else 0,
                     timings=timings, t_start=t_start)
    if zone_layer is None:
        return result
    return _with_zones(result, problem, demand, base, order=solution.selection.order,
                       rider_stations=len(stations) if stations is not None else 0)


def _target_inputs(network: WalkNetwork, target: SiteTarget, zones: gpd.GeoDataFrame | None,
                   stations: gpd.GeoDataFrame | None, coverage: Coverage | None,
                   params: CoverageParams | None,
                   ) -> tuple[gpd.GeoDataFrame | None, gpd.GeoDataFrame | None,
                              CoverageParams | None, tuple[str, ...]]:
    """``(zones, stations, params, notes)`` for ``target``: for ``rider-zones`` the zone
    layer in the network CRS, the rider stations only and the e-bike parameters by
    default; for ``region`` the inputs as given (zones refused)."""
    if target == "region":
        if zones is not None:
            raise InvalidParameterError(
                "rider zones are used with target 'rider-zones' (yizhan suggest --target "
                "rider-zones --rider-zones PATH); leave them out for the whole region")
        return None, stations, params, ()
    if coverage is not None:
        raise InvalidParameterError(
            "target 'rider-zones' measures the existing coverage from the 工会驿站 / 司机之家 "
            "stations itself: pass the stations, not a coverage")
    layer = rider_zone_layer(zones, network)
    params = params or CoverageParams.for_mode("ebike", minutes=DEFAULT_RIDE_TIME_MIN)
    if stations is None or not len(stations):
        return layer, None, params, ()
    riders = rider_stations(stations)
    if len(riders):
        return layer, riders, params, ()
    return layer, None, params, (
        f"none of the {len(stations)} stations is a {' or '.join(RIDER_STATION_TYPES)}: "
        "every zone street counts as not yet covered",)


def _zone_union(zones: gpd.GeoDataFrame | None) -> shapely.Geometry | None:
    """The zones as one prepared geometry (``None`` without zones)."""
    if zones is None:
        return None
    union = shapely.union_all(zones.geometry.to_numpy())
    shapely.prepare(union)
    return union


def _with_zones(result: SuggestResult, problem: CoverProblem, demand: Demand,
                base: Coverage | None, *, order: np.ndarray,
                rider_stations: int) -> SuggestResult:
    """``result`` of the ``rider-zones`` target (``order``: the chosen candidates, in
    rank order): each site's zone and zone street metres, the zone table and what the
    summary states about the target."""
    assert demand.zones is not None
    gains = zone_gains(problem, order, len(demand.zones))
    ranks = result.sites["rank"].to_numpy()
    sites = site_zone_columns(result.sites, demand.zones, gains)
    info = {"zones": len(demand.zones), "station_types": list(RIDER_STATION_TYPES),
            "rider_stations": rider_stations, "rider_stations_used": result.existing_used,
            "zone_street_m": round(float(demand.zones["street_length_m"].sum()), 1)}
    return dataclasses.replace(result, sites=sites, target="rider-zones",
                               zones=zone_table(demand, base, gains, ranks),
                               target_info=info)


@contextmanager
def _timed(timings: dict[str, float], key: str) -> Iterator[None]:
    """Record the seconds the ``with`` body takes as ``timings[key]`` (when it succeeds)."""
    t0 = time.perf_counter()
    yield
    timings[key] = time.perf_counter() - t0


def _check_k(k: Any) -> int:
    try:
        kk = int(k)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"k must be a whole number, got {k!r}") from None
    if kk != k or not 1 <= kk <= MAX_K:
        raise InvalidParameterError(f"k={k!r} is outside [1, {MAX_K}]: the number of sites "
                                    "to add, e.g. 10")
    return kk


def _check_request(k: Any, method: str, solver: str | None, target: str) -> int:
    """The number of sites asked for, after checking ``k``, ``method``, ``solver`` and
    ``target``."""
    kk = _check_k(k)
    if target not in TARGETS:
        raise InvalidParameterError(f"target must be one of {TARGETS}, got {target!r}")
    if method not in METHODS:
        raise InvalidParameterError(f"method must be one of {METHODS}, got {method!r}")
    if solver is not None and solver not in SOLVERS:
        raise InvalidParameterError(f"solver must be one of {SOLVERS}, got {solver!r}")
    return kk


def _existing_coverage(network: WalkNetwork, stations: gpd.GeoDataFrame | None,
                       coverage: Coverage | None, params: CoverageParams | None,
                       timings: dict[str, float]) -> tuple[CoverageParams, Coverage | None]:
    """The walk parameters and the coverage of the existing stations (``None``: none):
    ``coverage`` as given (its parameters win), else computed from ``stations``."""
    if coverage is not None:
        if params is not None and params != coverage.params:
            raise InvalidParameterError("params differ from the parameters of the given "
                                        "coverage: pass one of them")
        if coverage.network is not network:
            raise InvalidParameterError("the coverage was computed on another network")
        return coverage.params, coverage
    params = params or CoverageParams()
    check_network_mode(network.filter_report.version, params.mode)
    if stations is None or not len(stations):
        return params, None
    if stations.crs is None:
        raise InvalidParameterError("the station layer has no CRS: declare it (WGS-84)")
    with _timed(timings, "base_coverage"):
        base = compute_coverage(network, stations.to_crs(network.crs), params=params)
    return params, base


def _candidates(network: WalkNetwork, candidates: gpd.GeoDataFrame | Candidates | None,
                used: gpd.GeoDataFrame | None, params: CoverageParams, *,
                min_distance_m: float, max_candidates: int, seed: int,
                near: shapely.Geometry | None = None) -> Candidates:
    """The candidate sites: network nodes away from the ``used`` existing stations
    (and, with ``near``, within the budget of it), a user point layer snapped to the
    network, or prepared :class:`Candidates`; raises :class:`StationDataError` when
    none is left."""
    if candidates is None:
        existing_xy = shapely.get_coordinates(used.geometry.to_numpy()) \
            if used is not None else None
        cands = network_candidates(network, existing_xy, min_distance_m=min_distance_m,
                                   max_candidates=max_candidates, seed=seed, near=near,
                                   near_m=params.budget_m)
    elif isinstance(candidates, Candidates):
        cands = candidates
    else:
        cands = point_candidates(network, candidates, max_snap_m=params.max_snap_m)
    if len(cands) == 0:
        hint = (f"lower the minimum distance ({min_distance_m:g} m) to existing stations"
                + (" (or check that the rider zones lie on the network)" if near is not None
                   else "")
                if cands.source == SOURCE_NODES else
                "check the candidate file (points in WGS-84, near walkable streets)")
        raise StationDataError(f"no candidate site is left ({len(cands.rejected)} rejected): "
                               f"{hint}")
    return cands


def _solve(problem: CoverProblem, k: int, method: SitingMethod, *, solver: str | None,
           time_limit_s: float, timings: dict[str, float]) -> _Solution:
    """Choose up to ``k`` candidates by ``method``; the ILP's sites are ranked by their
    marginal gains (greedy order within the optimal set)."""
    if method == "greedy":
        with _timed(timings, "greedy"):
            sel = lazy_greedy(problem, k)
        with _timed(timings, "bound"):
            bound = optimum_upper_bound(problem, sel.order, k)
        return _Solution(selection=sel, bound=bound, solver=None)
    with _timed(timings, "ilp"):
        chosen, info = solve_ilp(problem, k, solver=solver, time_limit_s=time_limit_s)
    sel = lazy_greedy(problem, max(len(chosen), 1), allowed=chosen) if len(chosen) \
        else lazy_greedy(problem, 0)
    if not info["optimal"]:
        return _Solution(selection=sel, bound=None, solver=info, notes=(
            f"the ILP solver stopped with status {info['status']}: the sites are the best "
            "found, not proven optimal",))
    return _Solution(selection=sel, bound=float(sel.gain.sum()), solver=info)


def _result(network: WalkNetwork, params: CoverageParams, cands: Candidates, demand: Demand,
            problem: CoverProblem, solution: _Solution, *, method: SitingMethod, k: int,
            covered_before: float, existing_used: int, timings: dict[str, float],
            t_start: float) -> SuggestResult:
    """The :class:`SuggestResult` of a solved run, with its notes, stats and timings."""
    sel = solution.selection
    notes = list(solution.notes)
    if len(sel.order) < k:
        notes.append(f"only {len(sel.order)} of the {k} requested sites add demand: the "
                     "other candidates cover nothing new")
    if demand.note:
        notes.append(demand.note)
    sites = site_table(network, cands, sel, demand, covered_before)
    curve = gain_curve(sel, demand, covered_before)
    timings["total"] = time.perf_counter() - t_start
    stats = {"candidates": len(cands), "elements": int(problem.weight.size),
             "incidences": problem.n_incidences, "evaluations": sel.evaluations}
    return SuggestResult(
        sites=sites, curve=curve, method=method, demand_basis=demand.basis,
        demand_unit=demand.unit, total_gain=float(sel.gain.sum()),
        total_street_m=float(sel.street_m.sum()), k_requested=k,
        covered_before=covered_before, total_demand=demand.total, network=network,
        params=params, candidates=cands, existing_used=existing_used,
        optimum_upper_bound=solution.bound, solver=solution.solver, notes=tuple(notes),
        stats=stats, timings_s=timings,
    )


__all__ = [
    "DEFAULT_ILP_TIME_LIMIT_S",
    "DEFAULT_K",
    "DEFAULT_MAX_CANDIDATES",
    "DEFAULT_MIN_DISTANCE_M",
    "DEMAND_BASES",
    "EXCLUDED_HIGHWAY",
    "GUARANTEE",
    "ILP_MAX_CANDIDATES",
    "ILP_MAX_ROWS",
    "MAX_K",
    "METHODS",
    "SOLVERS",
    "SOURCE_INPUT",
    "SOURCE_NODES",
    "TARGETS",
    "ZONE_COLUMNS",
    "Candidates",
    "CoverProblem",
    "Demand",
    "Selection",
    "SuggestResult",
    "areas_geojson",
    "build_demand",
    "build_problem",
    "candidate_intervals",
    "covered_demand",
    "default_solver",
    "lazy_greedy",
    "method_text",
    "nearest_street",
    "network_candidates",
    "optimum_upper_bound",
    "point_candidates",
    "read_candidates",
    "site_service_areas",
    "sites_geojson",
    "sites_output",
    "solve_ilp",
    "street_name",
    "suggest_sites",
    "suggested_stations",
    "summary_dict",
    "write_suggestions",
    "zones_output",
]
