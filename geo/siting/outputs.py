"""The result of a site suggestion run and everything derived from it.

:class:`SuggestResult` holds the suggested sites (ranked, with their marginal and
cumulative gains), the gain-vs-K curve and the run's settings. From it:
:func:`suggested_stations` (the sites as a station layer), :func:`site_service_areas`
(their service areas), :func:`summary_dict` (``summary.json``), :func:`sites_output`
(``suggestions.csv``), :func:`zones_output` (``zones.csv``, rider-zone target),
:func:`sites_geojson`, :func:`areas_geojson` and :func:`write_suggestions`, which writes
them all into an output directory.
"""

from __future__ import annotations

import ast
import datetime as _dt
import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Final, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.coverage.core import compute_coverage
from geo.coverage.service_areas import per_station_polygons
from geo.crs import WGS84
from geo.io.sheetsafe import write_csv
from geo.network.model import WalkNetwork
from geo.network.modes import mode_summary
from geo.params import CoverageParams
from geo.pipeline.job import __version__
from geo.siting.candidates import Candidates
from geo.siting.demand import Demand
from geo.siting.solvers import GUARANTEE, Selection
from geo.siting.zones import ZoneGains
from geo.vocab import DemandBasis, SiteTarget, SitingMethod

#: how far (m) an unnamed site edge looks for a named street
NEAREST_STREET_RADIUS_M: Final = 150.0


@dataclass(frozen=True, eq=False)
class SuggestResult:
    """Suggested sites and their gains (read-only; geometries in the network CRS).

    ``sites``: ``rank``, ``candidate_id``, ``name``, ``source``, ``node_id``, ``lon``,
    ``lat``, ``town_id``, ``town``, ``district`` (of the town, when the towns have
    one), ``street`` (the OSM name of the street the site sits on, or of the nearest
    named street within 150 m: :func:`nearest_street`), ``marginal_gain`` /
    ``cumulative_gain`` (demand newly covered: people or street metres),
    ``new_street_m`` / ``cumulative_street_m`` (street metres newly covered),
    ``covered_share_after``, ``snap_dist_m``, point
    geometry. ``curve``: ``k`` (0…), ``marginal_gain``, ``cumulative_gain``,
    ``covered_demand``, ``covered_share``.

    ``target`` ``"rider-zones"``: the gains are the demand inside the rider zones; the
    sites also carry ``zone_id`` / ``zone`` (the zone each serves: where it newly
    covers the most demand) and ``zone_street_m`` (zone street metres it newly covers,
    all zones); ``zones`` is the table per zone (:func:`geo.siting.zones.zone_table`)
    and ``target_info`` what the summary states about the target.
    """

    sites: gpd.GeoDataFrame
    curve: pd.DataFrame
    method: SitingMethod
    demand_basis: DemandBasis
    demand_unit: str
    total_gain: float
    total_street_m: float
    k_requested: int
    covered_before: float
    total_demand: float
    network: WalkNetwork
    params: CoverageParams
    candidates: Candidates
    existing_used: int
    optimum_upper_bound: float | None = None
    solver: dict[str, Any] | None = None
    notes: tuple[str, ...] = ()
    stats: dict[str, Any] = field(default_factory=dict)
    timings_s: dict[str, float] = field(default_factory=dict)
    target: SiteTarget = "region"
    zones: pd.DataFrame | None = None
    target_info: dict[str, Any] = field(default_factory=dict)

    @property
    def covered_after(self) -> float:
        return self.covered_before + self.total_gain

    @cached_property
    def service_areas(self) -> gpd.GeoDataFrame:
        """The service area of every suggested site (its own 15-minute reach, buffered;
        network CRS): ``rank``, ``candidate_id``, ``marginal_gain``, ``reach_length_m``,
        ``area_m2``."""
        return site_service_areas(self)

    def summary(self) -> dict[str, Any]:
        """The ``summary.json`` of ``yizhan suggest``."""
        return summary_dict(self)


class _Where(NamedTuple):
    """Where sites lie: per site the town id, town name and district (``None``: none)."""

    town_id: list[Any]
    town: list[Any]
    district: list[Any]


def _town_of(points: np.ndarray, towns: gpd.GeoDataFrame | None) -> _Where:
    """The id, name and district of the town each point lies in (the first by town
    order; ``None`` outside every town or without a district column)."""
    n = len(points)
    if towns is None or not len(towns) or not n:
        return _Where([None] * n, [None] * n, [None] * n)
    pi, ti = shapely.STRtree(towns.geometry.to_numpy()).query(points, predicate="intersects")
    first = np.full(n, -1, dtype=np.int64)
    o = np.lexsort((ti, pi))
    pi, ti = pi[o], ti[o]
    u, at = np.unique(pi, return_index=True)
    first[u] = ti[at]
    ids = towns["town_id"].to_numpy() if "town_id" in towns.columns else towns.index.to_numpy()
    names = towns["name"].to_numpy() if "name" in towns.columns else ids
    districts = towns["district"].to_numpy(dtype=object) if "district" in towns.columns \
        else np.full(len(towns), None, dtype=object)
    return _Where([None if f < 0 else ids[f] for f in first],
                  [None if f < 0 else names[f] for f in first],
                  [None if f < 0 else _text_or_none(districts[f]) for f in first])


def _text_or_none(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return None
    text = str(value).strip()
    return text or None


def street_name(value: Any) -> str | None:
    """The street name of an edge's OSM ``name``: the first of several (a list, a
    ``"['A', 'B']"`` list from GraphML, or ``"A;B"``); ``None`` when unnamed."""
    if isinstance(value, (list, tuple)):
        items = [str(v) for v in value]
    else:
        text = _text_or_none(value)
        if text is None:
            return None
        items = [text]
        if text.startswith("[") and text.endswith("]"):
            try:
                parsed = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                parsed = None
            if isinstance(parsed, (list, tuple)):
                items = [str(v) for v in parsed]
        items = [p for item in items for p in item.split(";")]
    names = [i.strip() for i in items if i.strip()]
    return names[0] if names else None


def nearest_street(network: WalkNetwork, edges: np.ndarray, points: np.ndarray, *,
                   radius_m: float = NEAREST_STREET_RADIUS_M) -> list[str | None]:
    """Per point, the name of the street it sits on (the OSM ``name`` of its snapped
    edge ``edges[i]``); for an unnamed edge (a footway…), the nearest named edge within
    ``radius_m``; ``None`` when there is none."""
    if "name" not in network.edge_attrs.columns:
        return [None] * len(points)
    names = network.edge_attrs["name"].to_numpy(dtype=object)
    out: list[str | None] = []
    for edge, pt in zip(np.asarray(edges, dtype=np.int64), points, strict=True):
        name = street_name(names[edge]) if edge >= 0 else None
        if name is None and pt is not None:
            near = network.edge_tree.query(pt, predicate="dwithin", distance=radius_m)
            found = [(float(shapely.distance(network.geometry[e], pt)), int(e), nm)
                     for e in near if (nm := street_name(names[e])) is not None]
            name = min(found)[2] if found else None
        out.append(name)
    return out


def site_table(network: WalkNetwork, cands: Candidates, sel: Selection, demand: Demand,
               covered_before: float) -> gpd.GeoDataFrame:
    """The ``sites`` of a :class:`SuggestResult`: the selected candidates in order with
    their town, district and street, gains and the covered share after each (network
    CRS)."""
    s = cands.sites.iloc[sel.order].reset_index(drop=True)
    geoms = s.geometry.to_numpy()
    where = _town_of(geoms, demand.towns)
    ll = s.geometry.to_crs(WGS84)
    cum = np.cumsum(sel.gain)
    total = demand.total
    out = pd.DataFrame({
        "rank": np.arange(1, len(s) + 1),
        "candidate_id": s["candidate_id"].to_numpy(),
        "name": s["name"].to_numpy(),
        "source": s["source"].to_numpy(),
        "node_id": s["node_id"].to_numpy(),
        "lon": np.round(ll.x.to_numpy(), 7) if len(s) else np.zeros(0),
        "lat": np.round(ll.y.to_numpy(), 7) if len(s) else np.zeros(0),
        "town_id": pd.array(where.town_id, dtype=object),
        "town": pd.array(where.town, dtype=object),
        "district": pd.array(where.district, dtype=object),
        "street": pd.array(nearest_street(network, s["snap_edge"].to_numpy(), geoms),
                           dtype=object),
        "marginal_gain": sel.gain,
        "cumulative_gain": cum,
        "new_street_m": sel.street_m,
        "cumulative_street_m": np.cumsum(sel.street_m),
        "covered_share_after": (covered_before + cum) / total if total > 0
        else np.full(len(s), np.nan),
        "snap_dist_m": s["snap_dist_m"].to_numpy(),
    })
    return gpd.GeoDataFrame(out, geometry=list(geoms), crs=network.crs)


def site_zone_columns(sites: gpd.GeoDataFrame, zones: gpd.GeoDataFrame,
                      gains: ZoneGains) -> gpd.GeoDataFrame:
    """``sites`` with the rider-zone columns: ``zone_id`` / ``zone`` (the zone served,
    after ``street``) and ``zone_street_m`` (after ``cumulative_street_m``)."""
    served = gains.served
    ids = zones["zone_id"].to_numpy(dtype=object)
    names = zones["name"].to_numpy(dtype=object)
    out = sites.copy()
    at = out.columns.get_loc("street") + 1
    out.insert(at, "zone_id", pd.array([ids[z] if z >= 0 else None for z in served],
                                       dtype=object))
    out.insert(at + 1, "zone", pd.array([names[z] if z >= 0 else None for z in served],
                                        dtype=object))
    out.insert(out.columns.get_loc("cumulative_street_m") + 1, "zone_street_m",
               gains.street_m.sum(axis=1))
    return out


def gain_curve(sel: Selection, demand: Demand, covered_before: float) -> pd.DataFrame:
    """The ``curve`` of a :class:`SuggestResult`: gains and covered share for K = 0, 1, …"""
    gain = np.concatenate([[0.0], sel.gain])
    cum = np.cumsum(gain)
    total = demand.total
    return pd.DataFrame({
        "k": np.arange(gain.size),
        "marginal_gain": gain,
        "cumulative_gain": cum,
        "covered_demand": covered_before + cum,
        "covered_share": (covered_before + cum) / total if total > 0
        else np.full(gain.size, np.nan),
    })


def suggested_stations(result: SuggestResult) -> gpd.GeoDataFrame:
    """The suggested sites as a station layer (``station_id``, ``name``, ``type``; network
    CRS), e.g. to add to the station list and run the coverage again."""
    s = result.sites
    names = [n if isinstance(n, str) and n else f"建议站点 {r}" for n, r in
             zip(s["name"], s["rank"], strict=True)]
    return gpd.GeoDataFrame({
        "station_id": [f"SUGGEST-{r:03d}-{c}" for r, c in zip(s["rank"], s["candidate_id"],
                                                               strict=True)],
        "name": names, "type": "工会驿站",
    }, geometry=s.geometry.to_numpy(), crs=s.crs)


def site_service_areas(result: SuggestResult, *, workers: int | None = 1) -> gpd.GeoDataFrame:
    """The service area polygon of every suggested site (network CRS)."""
    s = result.sites
    cols: dict[str, list[Any]] = {"rank": [], "candidate_id": [], "marginal_gain": [],
                                  "reach_length_m": [], "area_m2": []}
    if not len(s):
        return gpd.GeoDataFrame(cols, geometry=[], crs=result.network.crs)
    st = suggested_stations(result)
    cov = compute_coverage(result.network, st, params=result.params)
    per = per_station_polygons(cov, workers=workers)
    return gpd.GeoDataFrame({
        "rank": s["rank"].to_numpy(), "candidate_id": s["candidate_id"].to_numpy(),
        "marginal_gain": s["marginal_gain"].to_numpy(),
        "reach_length_m": per["reach_length_m"].to_numpy(),
        "area_m2": per["area_m2"].to_numpy(),
    }, geometry=per.geometry.to_numpy(), crs=result.network.crs)


def _r(x: float | None, nd: int = 3) -> float | None:
    if x is None or not np.isfinite(x):
        return None
    return round(float(x), nd)


def method_text(result: SuggestResult) -> str:
    """One sentence saying which method produced the sites."""
    if result.method == "greedy":
        return ("lazy greedy (CELF) maximal covering: at least (1 - 1/e) ≈ 63% of the "
                "optimum by submodularity; the optimum is at most optimum_upper_bound")
    info = result.solver or {}
    return (f"exact integer programme (maximal covering location) solved with "
            f"{info.get('solver', '?')}: status {info.get('status', '?')}")


def summary_dict(result: SuggestResult) -> dict[str, Any]:
    """Headline figures, the gain-vs-K curve and the settings of a suggestion run."""
    c = result.candidates
    total = result.total_demand
    ub = result.optimum_upper_bound
    return {
        "yizhan_version": __version__,
        "generated_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "method": result.method,
        "method_note": method_text(result),
        "solver": result.solver,
        "k_requested": result.k_requested,
        "k_suggested": len(result.sites),
        "demand_basis": result.demand_basis,
        "demand_unit": result.demand_unit,
        "total_gain": _r(result.total_gain),
        "total_new_street_m": _r(result.total_street_m, 1),
        "covered_before": _r(result.covered_before),
        "covered_after": _r(result.covered_after),
        "total_demand": _r(total),
        "covered_share_before": _r(result.covered_before / total, 6) if total else None,
        "covered_share_after": _r(result.covered_after / total, 6) if total else None,
        "optimum_upper_bound": _r(ub),
        "gain_over_upper_bound": _r(result.total_gain / ub, 6) if ub else None,
        "approximation_guarantee": round(GUARANTEE, 6) if result.method == "greedy" else 1.0,
        "curve": [{"k": int(r.k), "marginal_gain": _r(r.marginal_gain),
                   "cumulative_gain": _r(r.cumulative_gain),
                   "covered_share": _r(r.covered_share, 6)}
                  for r in result.curve.itertuples(index=False)],
        "candidates": {"source": c.source, "count": len(c), "eligible": c.eligible,
                       "rejected": len(c.rejected), **c.settings},
        "existing_stations_used": result.existing_used,
        "target": result.target,
        "target_note": _target_note(result),
        **({"rider_zones": result.target_info} if result.target == "rider-zones" else {}),
        "params": {**result.params.to_dict(),
                   **mode_summary(result.params.mode, speed_kmh=result.params.walk_speed_kmh)},
        "notes": list(result.notes),
        "stats": result.stats,
        "timings_s": {k: round(v, 4) for k, v in result.timings_s.items()},
    }


def _target_note(result: SuggestResult) -> str:
    """One sentence saying what the sites cover, by which mode and speed."""
    p = result.params
    trip = (f"{p.walk_time_min:g} min by {p.mode} at {p.walk_speed_kmh:g} km/h "
            f"({p.budget_m:,.0f} m)")
    if result.target == "rider-zones":
        return (f"rider-friendly zones: the streets inside the zones not yet within {trip} "
                "of a 工会驿站 / 司机之家")
    return f"the whole region: demand not yet within {trip} of an existing station"


def sites_output(result: SuggestResult) -> pd.DataFrame:
    """The rows of ``suggestions.csv`` (gains rounded to 0.001, lengths to 0.1 m)."""
    df = pd.DataFrame(result.sites.drop(columns="geometry"))
    for col in ("marginal_gain", "cumulative_gain"):
        df[col] = df[col].round(3)
    for col in ("new_street_m", "cumulative_street_m", "zone_street_m", "snap_dist_m"):
        if col in df.columns:
            df[col] = df[col].round(1)
    df["covered_share_after"] = df["covered_share_after"].round(6)
    df["node_id"] = df["node_id"].where(df["node_id"] >= 0, None)
    df.insert(df.columns.get_loc("marginal_gain"), "gain_unit", result.demand_unit)
    return df


def zones_output(result: SuggestResult) -> pd.DataFrame | None:
    """The rows of ``zones.csv`` (rider-zone target; ``None`` otherwise): demand and
    covered figures rounded to 0.001, lengths to 0.1 m, shares to 1e-6."""
    if result.zones is None:
        return None
    df = result.zones.copy()
    for col in ("demand", "covered_before", "covered_after"):
        df[col] = df[col].round(3)
    for col in ("street_length_m", "new_street_m"):
        df[col] = df[col].round(1)
    for col in ("covered_share_before", "covered_share_after"):
        df[col] = df[col].round(6)
    df.insert(df.columns.get_loc("demand") + 1, "demand_unit", result.demand_unit)
    return df


def sites_geojson(result: SuggestResult) -> str:
    """``suggestions.geojson``: the sites as WGS-84 points with the CSV's properties."""
    df = sites_output(result)
    gdf = gpd.GeoDataFrame(df, geometry=result.sites.geometry.to_numpy(),
                           crs=result.network.crs).to_crs(WGS84)
    return gdf.to_json(na="null", drop_id=True, ensure_ascii=False)


def areas_geojson(result: SuggestResult) -> str:
    """``new_service_areas.geojson``: each suggested site's service area (WGS-84)."""
    areas = result.service_areas.copy()
    areas["marginal_gain"] = areas["marginal_gain"].round(3)
    return areas.to_crs(WGS84).to_json(na="null", drop_id=True, ensure_ascii=False)


def write_suggestions(result: SuggestResult, out_dir: str | os.PathLike[str], *,
                      areas: bool = True,
                      extra_summary: dict[str, Any] | None = None) -> dict[str, Path]:
    """Write ``suggestions.csv``, ``suggestions.geojson``, ``summary.json``,
    ``new_service_areas.geojson`` (``areas``), ``candidates_rejected.csv`` (when
    some candidates were rejected) and ``zones.csv`` (rider-zone target) into
    ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    p = out / "suggestions.csv"
    write_csv(sites_output(result), p)
    paths["suggestions.csv"] = p
    p = out / "suggestions.geojson"
    p.write_text(sites_geojson(result), encoding="utf-8")
    paths["suggestions.geojson"] = p
    if areas:
        p = out / "new_service_areas.geojson"
        p.write_text(areas_geojson(result), encoding="utf-8")
        paths["new_service_areas.geojson"] = p
    if len(result.candidates.rejected):
        p = out / "candidates_rejected.csv"
        write_csv(result.candidates.rejected, p)
        paths["candidates_rejected.csv"] = p
    zones = zones_output(result)
    if zones is not None:
        p = out / "zones.csv"
        write_csv(zones, p)
        paths["zones.csv"] = p
    summary = {**summary_dict(result), **(extra_summary or {})}
    p = out / "summary.json"
    p.write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    paths["summary.json"] = p
    return paths


__all__ = [
    "SuggestResult",
    "areas_geojson",
    "gain_curve",
    "method_text",
    "nearest_street",
    "site_service_areas",
    "site_table",
    "site_zone_columns",
    "sites_geojson",
    "sites_output",
    "street_name",
    "suggested_stations",
    "summary_dict",
    "write_suggestions",
    "zones_output",
]
