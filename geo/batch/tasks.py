"""The per-partition task a Dask worker runs, and the files it leaves behind.

The whole prepared network reaches each worker once: :func:`load_whole_network` is one
Dask task (keyed by the network's fingerprint) reading a prepared-network directory —
never GraphML — and every partition task takes its result as an argument, so Dask
keeps one copy per worker (moved between workers, recomputed if its worker dies). A
task cuts its partition + halo from it (:func:`geo.batch.partition.cut_plan`), writes
the region folder ``<out>/<partition>/region/`` (its halo network prepared, stations,
towns — a region folder the app can open), computes coverage there, keeps the figures
of the streets, stations and union tiles the partition *owns*
(:mod:`geo.batch.partition`), and writes

* the partition's own outputs into ``<out>/<partition>/`` (``summary.json``,
  ``stations.csv``, ``towns.csv``/``.geojson``, ``coverage.geojson``), and
* what the merge needs into ``<out>/<partition>/batch/`` (Parquet: per-station partial
  figures, per-town sums, distance pieces of towns shared with other partitions, union
  parts per tile), then ``done.json`` holding the
  content key — last, atomically, so a killed task leaves no marker and a re-run with
  the same key skips the partition.

A bad input (a named :class:`~geo.errors.YizhanError`) makes a *failed* outcome with
its reason instead of an exception, so Dask does not retry it; anything else (a killed
worker, a bug) is left to Dask's retries.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.batch.outputs import (
    finalize_towns,
    people_block,
    station_block,
    station_counts,
    summary_base,
    towns_block,
    write_files,
    write_json,
)
from geo.batch.partition import PartitionCut, PartitionPlan, cut_plan, network_fingerprint
from geo.batch.people import PartitionPeople, partition_people
from geo.coverage.cells import convex_cell_parts, h3_cells
from geo.coverage.core import Coverage, compute_coverage
from geo.coverage.cost import street_cost
from geo.coverage.segments import (
    clip_segments,
    cost_pieces,
    covered_length,
    segment_arrays,
    weighted_quantile,
)
from geo.coverage.service_areas import area_within, merge_parts, union_parts
from geo.coverage.snap import STATUS_USED, snap_stations
from geo.coverage.towns import edge_parts
from geo.crs import WGS84
from geo.errors import InputFileError, YizhanError
from geo.network.model import WalkNetwork, load_prepared_network, save_network
from geo.params import CoverageParams

BATCH_FORMAT: Final = "yizhan-batch/1"
MARKER: Final = "done.json"
Status = Literal["done", "reused", "failed"]


@dataclass(frozen=True, eq=False)
class PartitionSpec:
    """Everything a worker needs for one partition besides the whole network (pickled
    to the worker; small: the plan holds indices, the core, stations, tiles, towns)."""

    name: str
    folder: str
    out_dir: str  # <out>/<folder>
    key: str
    plan: PartitionPlan
    params: CoverageParams
    h3_resolution: int
    population_path: str | None = None  # a population GeoTIFF: the task reads its window

    @property
    def network_dir(self) -> Path:
        return Path(self.out_dir) / "region" / "network"


@dataclass(frozen=True)
class PartitionOutcome:
    """What a partition task reports back: status, figures, wall time and worker."""

    name: str
    folder: str
    key: str
    status: Status
    reason: str | None = None
    figures: dict[str, Any] = dataclasses.field(default_factory=dict)
    wall_s: float = 0.0
    worker: str | None = None


def worker_name() -> str:
    """The Dask worker address running this code (host:pid outside a worker)."""
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"{socket.gethostname()}:{os.getpid()}"


def read_marker(out_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The ``done.json`` of a finished partition, or ``None``."""
    p = Path(out_dir) / "batch" / MARKER
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == BATCH_FORMAT else None


def load_whole_network(path: str, fingerprint: str) -> WalkNetwork:
    """The whole prepared network from ``path`` (a Dask task, run once per batch; its
    result stays on the workers), checked against the driver's ``fingerprint``."""
    net = load_prepared_network(path)
    if network_fingerprint(net) != fingerprint:
        raise InputFileError(f"the prepared network {path} changed while the batch ran "
                             "(its arrays differ from the driver's): run the batch again")
    return net


def run_partition(spec: PartitionSpec, network: WalkNetwork) -> PartitionOutcome:
    """Run one partition on the whole ``network`` (see the module docstring); a named
    input error is a failed outcome with its reason."""
    t0 = time.perf_counter()
    try:
        figures = _compute_and_write(spec, network)
    except YizhanError as exc:
        return PartitionOutcome(name=spec.name, folder=spec.folder, key=spec.key,
                                status="failed", reason=" ".join(str(exc).split()),
                                wall_s=time.perf_counter() - t0, worker=worker_name())
    wall = time.perf_counter() - t0
    outcome = PartitionOutcome(name=spec.name, folder=spec.folder, key=spec.key,
                               status="done", figures=figures, wall_s=wall,
                               worker=worker_name())
    write_json(Path(spec.out_dir) / "batch" / MARKER,
               {"format": BATCH_FORMAT, **dataclasses.asdict(outcome)})
    return outcome


def _coverage(net: WalkNetwork, stations: gpd.GeoDataFrame,
              params: CoverageParams) -> Coverage:
    """Coverage of ``stations``; with none on the network, every street uncovered."""
    snapped = snap_stations(net, stations, max_snap_m=params.max_snap_m)
    if (snapped["status"] == STATUS_USED).any():
        return compute_coverage(net, stations, params=params)
    snapped["source"] = np.full(len(snapped), -1, dtype=np.int64)
    dist = np.full(net.n_nodes, np.inf)
    src = np.full(net.n_nodes, -1, dtype=np.int64)
    cost = street_cost(net, params)  # by car: the slope column and one-way ends
    seg = segment_arrays(net.edge_u, net.edge_v, net.length_m, dist, src,
                         np.zeros(0, np.int64), np.zeros(0), slope=cost.slope,
                         forward=cost.forward, backward=cost.backward)
    return Coverage(params=params, network=net, stations=snapped, node_dist_m=dist,
                    node_source=src, segment_arrays=seg, cost=cost)


def _owned_only(cov: Coverage, owned: np.ndarray) -> Coverage:
    """``cov`` with the segments of owned edges only (covered length, pieces, towns)."""
    seg = cov.segment_arrays
    keep = owned[np.asarray(seg["edge"], dtype=np.int64)]
    return dataclasses.replace(cov, segment_arrays={k: v[keep] for k, v in seg.items()})


def _station_rows(cov_own: Coverage) -> pd.DataFrame:
    """Every station of the partition's run with its partial nearest covered length."""
    table = cov_own.station_table()
    st = cov_own.stations
    src = st["source"].to_numpy()
    raw = np.zeros(len(st))
    used = src >= 0
    if used.any():
        p = cov_own.pieces
        by_src = np.bincount(p["source"].to_numpy(), weights=(p["x1"] - p["x0"]).to_numpy(),
                             minlength=cov_own.n_sources)
        raw[used] = by_src[src[used]]
    ll = st.geometry.to_crs(WGS84)
    table.insert(6, "lon", np.round(ll.x.to_numpy(), 7))
    table.insert(7, "lat", np.round(ll.y.to_numpy(), 7))
    table["_row"] = st["_row"].to_numpy()
    table["_owned"] = st["_owned"].to_numpy()
    table["_nearest_m"] = raw
    return table


def _units(cut: PartitionCut, h3_resolution: int, net: WalkNetwork
           ) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """(towns or H3 cells meeting the sub-network, street parts of *all* its edges)."""
    if cut.towns is not None:
        units = cut.towns.reset_index(drop=True)
        return units, edge_parts(net, units.geometry.to_numpy())
    cells = h3_cells(net, resolution=h3_resolution)
    return cells, convex_cell_parts(net, cells.geometry.to_numpy())


def _p90(lo: np.ndarray, span: np.ndarray, total_m: float, budget: float,
         slope: np.ndarray | None = None) -> float:
    """The 90th percentile over ``total_m`` metres of street of the cost described by
    the pieces ``lo, span`` (and ``slope``: cost per metre, by car; :func:`cost_pieces`),
    the street no piece describes unreached; ``budget`` in the same cost unit."""
    extra = max(total_m - float(span.sum()), 0.0)
    return weighted_quantile(np.concatenate([lo, [np.inf]]), np.concatenate([span, [extra]]),
                             0.9, cap=budget,
                             slope=None if slope is None else np.concatenate([slope, [1.0]]))


def town_sums(cut: PartitionCut, spec: PartitionSpec, cov_own: Coverage,
              parts_union: np.ndarray) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Per-town sums over the owned streets (+ ``local``, ``p90_m``: the p90 in the
    run's cost unit, metres or seconds by car) and the distance pieces (``unit, lo,
    span``, by car also ``k``) of the towns that other partitions may share."""
    net = cov_own.network
    units, parts_all = _units(cut, spec.h3_resolution, net)
    n = len(units)
    owned = cut.owned_edges[parts_all["edge"].to_numpy(dtype=np.int64)]
    parts = parts_all.loc[owned]
    pidx = parts["part"].to_numpy(dtype=np.int64)
    total = np.bincount(pidx, weights=(parts["q"] - parts["p"]).to_numpy(), minlength=n)
    clipped = clip_segments(cov_own.segments, parts)
    cidx = clipped["part"].to_numpy(dtype=np.int64)
    budget = spec.params.budget_cost  # metres on foot / e-bike, seconds by car
    cov_len = np.bincount(cidx, weights=covered_length(clipped, budget), minlength=n)
    geoms = units.geometry.to_numpy()
    if cut.towns is None:  # cells: the part of the owned tile with the cell's id
        area_of = pd.Series(shapely.area(parts_union),
                            index=cut.tiles["town_id"].to_numpy())
        cov_area = area_of.reindex(units["town_id"].to_numpy()).fillna(0.0).to_numpy()
    else:
        cov_area = area_within(parts_union, geoms)
    foreign = np.bincount(parts_all.loc[~owned, "part"].to_numpy(dtype=np.int64),
                          minlength=n) > 0
    local = shapely.within(geoms, cut.polygon) & ~foreign
    lo, span, slope = cost_pieces(clipped)
    unit_of = np.concatenate([cidx, cidx])
    order = np.argsort(unit_of, kind="stable")
    bnd = np.searchsorted(unit_of[order], np.arange(n + 1))
    groups = [order[bnd[i]:bnd[i + 1]] for i in range(n)]
    p90 = np.array([_p90(lo[m], span[m], total[i], budget,
                         None if slope is None else slope[m])
                    for i, m in enumerate(groups)])
    sums = units[["town_id", "name", "code", "district", "population"]].copy()
    sums["_town"] = units["_town"].to_numpy() if "_town" in units.columns else -1
    sums["total_m"], sums["covered_m"], sums["covered_area_m2"] = total, cov_len, cov_area
    sums["local"], sums["p90_m"] = local, p90
    share = ~local[unit_of]
    pieces = pd.DataFrame({"unit": unit_of[share], "lo": lo[share], "span": span[share]})
    if slope is not None:  # by car: the cost per metre of each piece
        pieces["k"] = slope[share]
    pieces["town_id"] = units["town_id"].to_numpy()[pieces["unit"].to_numpy()]
    pieces["_town"] = sums["_town"].to_numpy()[pieces["unit"].to_numpy()]
    return gpd.GeoDataFrame(sums, geometry=list(geoms), crs=net.crs), pieces


def _compute_and_write(spec: PartitionSpec, network: WalkNetwork) -> dict[str, Any]:
    _clear_batch_files(Path(spec.out_dir))
    cut = cut_plan(network, spec.plan)
    write_region_folder(cut, Path(spec.out_dir))
    params = spec.params
    cov = _coverage(cut.network, cut.stations, params)
    cov_own = _owned_only(cov, cut.owned_edges)
    parts_union = union_parts(cov, cut.tiles.geometry.to_numpy(), workers=1)
    stations = _station_rows(cov_own)
    sums, pieces = town_sums(cut, spec, cov_own, parts_union)
    union = merge_parts(parts_union)
    people = _people(spec, cut, sums, parts_union, union)
    _write_batch_files(Path(spec.out_dir), cut, stations, sums, pieces, parts_union, people)
    return _write_own_outputs(spec, cut, cov_own, stations, sums, union, people)


def _people(spec: PartitionSpec, cut: PartitionCut, sums: gpd.GeoDataFrame,
            parts_union: np.ndarray, union: shapely.Geometry) -> PartitionPeople | None:
    """The partition's people from its window of the population raster (if any)."""
    if spec.population_path is None:
        return None
    owned = None
    if cut.towns is not None:
        owned = spec.plan.population_towns if spec.plan.population_towns is not None \
            else np.zeros(0, dtype=np.int64)
    return partition_people(spec.population_path, units=sums, tiles=cut.tiles,
                            parts_union=parts_union, union=union,
                            network_bounds=cut.network.bounds, population_towns=owned)


def _clear_batch_files(out_dir: Path) -> None:
    """Remove ``<out>/<partition>/batch/`` (its marker first): a task killed from here
    on leaves no marker, so its half-written folder is never reused."""
    d = out_dir / "batch"
    (d / MARKER).unlink(missing_ok=True)
    if d.exists():
        shutil.rmtree(d)


def write_region_folder(cut: PartitionCut, folder: Path) -> None:
    """``<partition>/region``: its halo network (prepared), stations and towns — a
    region folder the app can open."""
    region = folder / "region"
    save_network(cut.network, region / "network")
    st = cut.stations.to_crs(WGS84)
    cols = [c for c in ("station_id", "name", "type", "address", "city", "district")
            if c in st.columns]
    table = pd.DataFrame(st[cols])
    table.insert(3, "lon", st.geometry.x.round(8).to_numpy())
    table.insert(4, "lat", st.geometry.y.round(8).to_numpy())
    table.to_csv(region / "stations.csv", index=False, encoding="utf-8")
    towns_path = region / "towns.geojson"
    towns_path.unlink(missing_ok=True)
    if cut.towns is not None and len(cut.towns):
        towns = cut.towns.drop(columns=["_town"]).to_crs(WGS84)
        towns.to_file(towns_path, driver="GeoJSON", engine="pyogrio")


def _write_batch_files(out_dir: Path, cut: PartitionCut, stations: pd.DataFrame,
                       sums: gpd.GeoDataFrame, pieces: pd.DataFrame,
                       parts_union: np.ndarray, people: PartitionPeople | None) -> None:
    """The merge inputs in ``<out>/<partition>/batch/``."""
    d = out_dir / "batch"
    d.mkdir(parents=True, exist_ok=True)
    if people is not None:
        people.merge.to_parquet(d / "people.parquet", index=False)
    pd.DataFrame(stations).to_parquet(d / "stations.parquet", index=False)
    towns = pd.DataFrame(sums.drop(columns="geometry"))
    towns["wkb"] = shapely.to_wkb(sums.geometry.to_numpy())
    towns.astype({"code": object, "district": object}).to_parquet(d / "towns.parquet",
                                                                  index=False)
    pieces.to_parquet(d / "pieces.parquet", index=False)
    pd.DataFrame({"tile": cut.tiles["town_id"].astype(str).to_numpy(),
                  "wkb": shapely.to_wkb(parts_union)}).to_parquet(d / "union.parquet",
                                                                   index=False)


def _write_own_outputs(spec: PartitionSpec, cut: PartitionCut, cov_own: Coverage,
                       stations: pd.DataFrame, sums: gpd.GeoDataFrame,
                       union: shapely.Geometry,
                       people: PartitionPeople | None = None) -> dict[str, Any]:
    """The partition's own outputs (its owned streets, stations and tiles; with
    ``people``, the people inside its towns and inside its owned union parts)."""
    params = spec.params
    own_st = stations.loc[stations["_owned"].to_numpy(dtype=bool)]
    own_st = own_st.drop(columns=["_row", "_owned", "_nearest_m"]).reset_index(drop=True)
    has_streets = sums["total_m"].to_numpy() > 0
    with_streets = sums.loc[has_streets].reset_index(drop=True)
    st_geo = cov_own.stations.loc[cov_own.stations["_owned"].to_numpy(dtype=bool)]
    counts = station_counts(with_streets.geometry.to_numpy(), st_geo)
    is_grid = cut.towns is None
    towns, basis = finalize_towns(
        with_streets, counts, with_streets["p90_m"].to_numpy(), params=params,
        is_grid=is_grid, people=None if people is None else
        (people.unit_population[has_streets], people.unit_covered[has_streets]))
    covered = cov_own.covered_length_m
    total = float(cov_own.network.length_m[cut.owned_edges].sum())
    st_block = station_block(own_st, rows_in=len(own_st), rejected=0)
    h3 = spec.h3_resolution if is_grid else None
    summary = summary_base(
        region=spec.name, params=params,
        inputs={"network": {"path": str(spec.network_dir), "sha256": None}},
        network={**cov_own.network.summary(), "owned_edges": int(cut.owned_edges.sum()),
                 "owned_length_m": round(total, 1)},
        stations=st_block, covered_m=covered, total_m=total,
        covered_area_m2=float(shapely.area(union)), towns=towns, basis=basis,
        towns_summary=towns_block(towns, basis=basis, is_grid=is_grid, params=params,
                                  h3_resolution=h3,
                                  outside_length_m=total - float(sums["total_m"].sum())),
        h3_resolution=h3, timings_s={},
        people=None if people is None else {
            **people_block(people.describe, covered_population=people.covered_population,
                           towns=towns), **people.describe})
    summary["batch_partition"] = {
        "note": "figures of the streets, stations and union tiles this partition owns; the "
                "walks were computed on its network with a halo (region/network)",
        "key": spec.key, "stations_in_halo": len(stations)}
    write_files(Path(spec.out_dir), summary=summary, stations=own_st, towns=towns,
                union=union, crs=cov_own.network.crs, params=params)
    return {"covered_length_m": round(covered, 1), "total_length_m": round(total, 1),
            "covered_length_raw_m": covered, "total_length_raw_m": total,
            "covered_area_m2": round(float(shapely.area(union)), 1),
            "stations": st_block,
            "covered_population_raw": None if people is None else people.covered_population,
            "population": None if people is None else people.describe}
