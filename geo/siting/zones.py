"""Site suggestions that target rider-friendly zones (骑手友好场景).

With ``target="rider-zones"`` (:func:`geo.siting.suggest.suggest_sites`) the demand is
the street length — or the people, on a people basis — **inside the rider zones** that
is not yet within the budget of a station riders use (:data:`RIDER_STATION_TYPES`,
工会驿站 and 司机之家), by default on the e-bike network (10 minutes at 15 km/h, as
``yizhan riders``).

* :func:`zone_demand` restricts a :class:`~geo.siting.demand.Demand` to the zones: the
  zones' pieces of edges are cut exactly at the zone boundaries
  (:func:`geo.coverage.towns.edge_parts`) and made disjoint (a street inside two
  overlapping zones counts once, for the first zone in the layer); on a people basis
  each piece keeps the density of the town or cell it lies in.
* :func:`zone_gains` replays the chosen sites in order: per site the zone street metres
  and the demand it newly covers in each zone, and the zone it **serves** (the one
  where it newly covers the most demand).
* :func:`zone_table` sums that per zone: its street length and demand, the demand
  covered before (exactly, from the existing stations' segment table) and after the
  suggested sites, and which sites serve it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.access.riders import DEFAULT_RIDE_TIME_MIN, RIDER_STATION_TYPES
from geo.coverage.core import Coverage
from geo.coverage.segments import clip_segments, covered_length
from geo.coverage.towns import edge_parts
from geo.errors import CRSError, InvalidParameterError
from geo.network.model import WalkNetwork
from geo.siting.demand import Demand
from geo.siting.problem import CoverProblem, disjoint_pieces

#: Columns of the zone table (:func:`zone_table`), in order.
ZONE_COLUMNS: Final[tuple[str, ...]] = (
    "zone_id", "name", "street_length_m", "demand", "covered_before", "covered_after",
    "covered_share_before", "covered_share_after", "new_street_m", "sites",
)

__all__ = ["DEFAULT_RIDE_TIME_MIN", "RIDER_STATION_TYPES", "ZONE_COLUMNS", "ZoneGains",
           "rider_zone_layer", "zone_demand", "zone_gains", "zone_table"]


def rider_zone_layer(zones: gpd.GeoDataFrame | None, network: WalkNetwork) -> gpd.GeoDataFrame:
    """The rider-zone polygons in the network CRS, with ``zone_id`` and ``name``
    (raises :class:`InvalidParameterError` without zones, :class:`CRSError` without a
    CRS)."""
    if zones is None or not len(zones):
        raise InvalidParameterError(
            "target rider-zones needs rider-friendly zone polygons: give --rider-zones "
            "PATH (zone_id, name — the file yizhan riders takes)",
            zh="选址目标为骑手友好场景时需要场景面图层：请提供 --rider-zones 文件"
               "（zone_id、name）。")
    if zones.crs is None:
        raise CRSError("the rider-zone layer has no coordinate system: declare it (WGS-84 "
                       "for lon/lat)")
    z = zones.to_crs(network.crs).reset_index(drop=True)
    if "zone_id" not in z.columns:
        z["zone_id"] = [f"Z{i + 1}" for i in range(len(z))]
    if "name" not in z.columns:
        z["name"] = z["zone_id"]
    return z


def zone_demand(network: WalkNetwork, demand: Demand, zones: gpd.GeoDataFrame) -> Demand:
    """``demand`` restricted to the streets inside ``zones`` (network CRS, from
    :func:`rider_zone_layer`): parts ``part, edge, p, q, density, zone`` (see the module
    docstring); ``total`` is the demand inside the zones."""
    raw = edge_parts(network, zones.geometry.to_numpy())
    pieces = disjoint_pieces(network.length_m, raw["edge"].to_numpy(np.int64),
                             raw["p"].to_numpy(), raw["q"].to_numpy(),
                             raw["part"].to_numpy(np.int64))
    pieces = pieces.rename(columns={"key": "zone"})
    parts = (pieces.assign(density=1.0) if demand.parts is None
             else _within(pieces, demand.parts))
    parts.insert(0, "part", np.arange(len(parts), dtype=np.int64))
    total = float(np.sum((parts["q"] - parts["p"]).to_numpy() * parts["density"].to_numpy()))
    street = np.bincount(pieces["zone"].to_numpy(np.int64),
                         weights=(pieces["q"] - pieces["p"]).to_numpy(), minlength=len(zones))
    note = (f"demand: the {'people' if demand.unit == 'people' else 'street metres'} "
            f"inside {len(zones)} rider zone(s) ({street.sum():,.0f} m of street)")
    if demand.note:
        note = f"{demand.note}; {note}"
    return dataclasses.replace(demand, total=total, parts=parts.reset_index(drop=True),
                               zones=zones.assign(street_length_m=street), note=note)


def _within(pieces: pd.DataFrame, parts: pd.DataFrame) -> pd.DataFrame:
    """The pieces of the demand's ``parts`` (towns, cells: ``edge, p, q, density``) that
    lie inside the disjoint zone ``pieces`` (``edge, p, q, zone``)."""
    m = pieces.merge(parts[["edge", "p", "q", "density"]], on="edge", suffixes=("", "_d"))
    lo = np.maximum(m["p"].to_numpy(), m["p_d"].to_numpy())
    hi = np.minimum(m["q"].to_numpy(), m["q_d"].to_numpy())
    keep = hi > lo + 1e-9
    return pd.DataFrame({"edge": m["edge"].to_numpy()[keep], "p": lo[keep], "q": hi[keep],
                         "density": m["density"].to_numpy()[keep],
                         "zone": m["zone"].to_numpy()[keep]})


@dataclass(frozen=True, eq=False)
class ZoneGains:
    """What each chosen site newly covers per zone, in the order chosen.

    ``gain`` / ``street_m``: sites × zones, the demand and the street metres newly
    covered in each zone; ``served``: per site the zone index where it newly covers
    the most demand (``-1``: none).
    """

    gain: np.ndarray
    street_m: np.ndarray
    served: np.ndarray


def zone_gains(problem: CoverProblem, order: np.ndarray, n_zones: int) -> ZoneGains:
    """Replay the chosen candidates ``order`` on the element structure of a zone
    demand: what each newly covers in every zone."""
    if problem.zone is None:
        raise InvalidParameterError("the coverage problem was not built on a zone demand")
    n = len(order)
    gain = np.zeros((n, n_zones))
    street = np.zeros((n, n_zones))
    covered = np.zeros(problem.weight.size, dtype=bool)
    for i, c in enumerate(np.asarray(order, dtype=np.int64)):
        el = problem.elem[problem.ptr[c]:problem.ptr[c + 1]]
        new = el[~covered[el]]
        covered[new] = True
        z = problem.zone[new]
        inside = z >= 0
        gain[i] = np.bincount(z[inside], weights=problem.weight[new][inside], minlength=n_zones)
        street[i] = np.bincount(z[inside], weights=problem.length[new][inside],
                                minlength=n_zones)
    best = np.argmax(gain, axis=1) if n_zones else np.zeros(n, dtype=np.int64)
    has = gain[np.arange(n), best] > 0 if n_zones else np.zeros(n, dtype=bool)
    return ZoneGains(gain=gain, street_m=street, served=np.where(has, best, -1))


def _covered_by_zone(base: Coverage | None, demand: Demand,
                     n_zones: int) -> tuple[np.ndarray, np.ndarray]:
    """Per zone the demand and the street metres the existing stations cover (exact:
    their segment table clipped to the zone pieces)."""
    if base is None or demand.parts is None or not len(demand.parts):
        return np.zeros(n_zones), np.zeros(n_zones)
    parts = demand.parts
    clipped = clip_segments(base.segments, parts[["part", "edge", "p", "q"]])
    if clipped.empty:
        return np.zeros(n_zones), np.zeros(n_zones)
    part = clipped["part"].to_numpy(np.int64)
    metres = covered_length(clipped, base.params.budget_m)
    zone = parts["zone"].to_numpy(np.int64)[part]
    dens = parts["density"].to_numpy()[part]
    return (np.bincount(zone, weights=metres * dens, minlength=n_zones),
            np.bincount(zone, weights=metres, minlength=n_zones))


def zone_table(demand: Demand, base: Coverage | None, gains: ZoneGains,
               ranks: np.ndarray) -> pd.DataFrame:
    """One row per zone (columns :data:`ZONE_COLUMNS`), the least covered after the
    suggestions first: street length, demand, covered before / after, the zone street
    metres the sites newly cover and the ranks of the sites serving it (``"1,3"``)."""
    zones = demand.zones
    assert zones is not None and demand.parts is not None
    n = len(zones)
    parts = demand.parts
    zone = parts["zone"].to_numpy(np.int64)
    span = (parts["q"] - parts["p"]).to_numpy()
    total = np.bincount(zone, weights=span * parts["density"].to_numpy(), minlength=n)
    street = zones["street_length_m"].to_numpy(dtype=float)
    before, _ = _covered_by_zone(base, demand, n)
    after = before + gains.gain.sum(axis=0)
    share = {k: np.divide(v, total, out=np.full(n, np.nan), where=total > 0)
             for k, v in (("before", before), ("after", after))}
    sites: list[Any] = [",".join(str(int(r)) for r in ranks[gains.served == z]) or None
                        for z in range(n)]
    out = pd.DataFrame({
        "zone_id": zones["zone_id"].to_numpy(), "name": zones["name"].to_numpy(),
        "street_length_m": street, "demand": total, "covered_before": before,
        "covered_after": after, "covered_share_before": share["before"],
        "covered_share_after": share["after"], "new_street_m": gains.street_m.sum(axis=0),
        "sites": pd.array(sites, dtype=object),
    })
    # rounded: equal shares (1.0 after the sites) keep the layer's order
    order = np.lexsort((np.arange(n), np.round(np.nan_to_num(share["after"], nan=np.inf), 9)))
    return out.iloc[order].reset_index(drop=True).loc[:, list(ZONE_COLUMNS)]
