"""``run_batch``: the partitions of a network (or a folder of region folders) run as
Dask distributed tasks, then merged.

The engine is Dask distributed: ``workers=N`` starts a ``distributed.LocalCluster`` of
``N`` single-threaded worker processes on 127.0.0.1 (default: one per core);
``scheduler="tcp://host:port"`` uses an existing cluster; ``client=`` an existing
``distributed.Client``. Tasks are submitted with ``client.submit`` under their content
key (the same content submitted twice is one task) with ``retries`` (a killed worker's
task is rescheduled by the scheduler; Dask also retries it), collected with
``as_completed``. The output folder must be reachable by the workers under the same
path (one machine, or a shared file system on a cluster).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geo.batch.merge import merge_partitions, merge_union
from geo.batch.outputs import (
    people_block,
    station_block,
    summary_base,
    towns_block,
    write_files,
)
from geo.batch.partition import (
    PartitionPlan,
    content_key,
    network_fingerprint,
    plan_partition,
    prepare_whole,
    read_partitions,
)
from geo.batch.people import town_owners
from geo.batch.regions import merge_regions, region_hulls, region_specs, run_region_task
from geo.batch.tasks import (
    BATCH_FORMAT,
    PartitionOutcome,
    PartitionSpec,
    load_whole_network,
    read_marker,
    run_partition,
)
from geo.coverage.cells import DEFAULT_H3_RESOLUTION, check_h3_resolution, h3_cells, h3_tiles
from geo.coverage.towns import read_towns
from geo.crs import WGS84
from geo.errors import InputFileError, InvalidParameterError, YizhanError
from geo.io.layers import LayerTable, read_stations
from geo.network.loaders import file_sha256, load_network, network_format
from geo.network.model import WalkNetwork, is_prepared_network, save_network
from geo.params import CoverageParams

TaskFn = Callable[..., PartitionOutcome]
DEFAULT_RETRIES = 2


@dataclass(frozen=True)
class BatchResult:
    """A finished batch run: the merged ``summary.json`` content and the files written."""

    out_dir: Path
    summary: dict[str, Any]
    paths: dict[str, Path]
    failed: tuple[str, ...]
    #: wall time of the driver's phases (the summary's ``timings_s`` plus the writing)
    timings_s: dict[str, float] = dataclasses.field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not self.failed


def default_workers() -> int:
    """One worker per core available to this process."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


@contextlib.contextmanager
def dask_client(*, workers: int | None = None, scheduler: str | None = None,
                client: Any = None) -> Iterator[tuple[Any, dict[str, Any]]]:
    """(a ``distributed.Client``, the ``engine`` block) — closed on exit if opened here."""
    from distributed import Client, LocalCluster

    if client is not None:
        yield client, _engine(client, "client")
        return
    if scheduler is not None and workers is not None:
        raise InvalidParameterError("give either --workers N or --scheduler ADDRESS, not both")
    if scheduler is not None:
        with Client(scheduler, timeout="30s") as c:
            yield c, _engine(c, "existing cluster")
        return
    n = default_workers() if workers is None else int(workers)
    if n < 1:
        raise InvalidParameterError(f"--workers must be ≥ 1, got {n}")
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as c:
        yield c, _engine(c, "LocalCluster")


def _engine(client: Any, kind: str) -> dict[str, Any]:
    import distributed

    info = client.scheduler_info()
    workers = info.get("workers", {})
    return {"kind": kind, "scheduler": client.scheduler.address, "workers": len(workers),
            "worker_addresses": sorted(workers), "threads": sum(
                int(w.get("nthreads", 1)) for w in workers.values()),
            "distributed_version": distributed.__version__}


def collect(client: Any, submitted: dict[Any, tuple[str, str, str]]
            ) -> list[PartitionOutcome]:
    """Outcomes of submitted futures (``future → (name, folder, key)``) as they finish;
    a task that raised (after Dask's retries) is a failed outcome with the error."""
    from distributed import as_completed

    out = []
    for fut in as_completed(list(submitted)):
        name, folder, key = submitted[fut]
        if fut.status == "finished":
            out.append(fut.result())
        else:
            exc = fut.exception()
            out.append(PartitionOutcome(name=name, folder=folder, key=key, status="failed",
                                        reason=f"{type(exc).__name__}: {exc}"))
        fut.release()
    return out


def submit(client: Any, task: TaskFn, spec: Any, *args: Any, retries: int) -> Any:
    """``client.submit(task, spec, *args)`` under the spec's content key (pure: same
    content, same task); ``args`` may be futures (Dask passes their results)."""
    return client.submit(task, spec, *args, key=f"yizhan-partition-{spec.key}", pure=True,
                         retries=retries)


def reused(name: str, folder: str, key: str, out_dir: Path) -> PartitionOutcome | None:
    """The outcome recorded by a finished partition with this content key, or ``None``."""
    marker = read_marker(out_dir)
    if marker is None or marker.get("key") != key or marker.get("status") != "done":
        return None
    return PartitionOutcome(name=name, folder=folder, key=key, status="reused",
                            figures=marker.get("figures") or {},
                            wall_s=float(marker.get("wall_s") or 0.0),
                            worker=marker.get("worker"))


def partition_entry(o: PartitionOutcome, *, region_folder: str | None) -> dict[str, Any]:
    """One ``summary["partitions"]`` entry."""
    f = o.figures
    total = f.get("total_length_m")
    covered = f.get("covered_length_m")
    return {"name": o.name, "folder": o.folder, "status": o.status, "reason": o.reason,
            "covered_length_m": covered, "total_length_m": total,
            "covered_length_share": round(covered / total, 6) if total and covered is not None
            else None,
            "covered_area_m2": f.get("covered_area_m2"), "stations": f.get("stations"),
            "wall_s": round(o.wall_s, 3), "worker": o.worker, "key": o.key,
            "region_folder": region_folder}


# ------------------------------------------------------------------- one network, cut


@dataclass(frozen=True, eq=False)
class _Inputs:
    network: WalkNetwork
    stations: LayerTable
    towns: LayerTable | None
    polygons: gpd.GeoDataFrame
    inputs: dict[str, Any]
    load_s: float
    population: str | None = None  # a population GeoTIFF (each task reads its window)


def _entry(path: str | os.PathLike[str] | None) -> dict[str, Any] | None:
    if path is None:
        return None
    p = Path(path)
    return {"path": str(p), "sha256": file_sha256(p) if p.is_file() else None}


def _load_inputs(network: str | os.PathLike[str], stations: str | os.PathLike[str],
                 partitions: str | os.PathLike[str], partition_field: str,
                 towns: str | os.PathLike[str] | None,
                 cache_dir: str | os.PathLike[str] | None,
                 population: str | os.PathLike[str] | None = None,
                 mode: str = "walk") -> _Inputs:
    t0 = time.perf_counter()
    net = load_network(network, cache_dir=cache_dir, mode=mode)
    load_s = time.perf_counter() - t0
    inputs = {"network": {"path": str(network), "sha256": net.source_sha256
                          or (_entry(network) or {}).get("sha256")},
              "stations": _entry(stations), "towns": _entry(towns), "zones": None,
              "bases": None, "partitions": {**(_entry(partitions) or {}),
                                            "field": partition_field}}
    if population is not None:
        if not Path(population).is_file():
            raise InputFileError(f"population raster not found: {population}")
        inputs["population"] = _entry(population)
    return _Inputs(network=net, stations=read_stations(stations),
                   towns=read_towns(towns) if towns else None,
                   polygons=read_partitions(partitions, partition_field).to_crs(net.crs),
                   inputs=inputs, load_s=load_s,
                   population=None if population is None else str(Path(population).resolve()))


def _specs(data: _Inputs, out: Path, params: CoverageParams, h3_resolution: int,
           network_sha: str) -> list[PartitionSpec | PartitionOutcome]:
    """Each partition as a spec to run, or as an outcome (reused, or failed on planning).

    With a population raster every town is counted by one partition
    (:func:`geo.batch.people.town_owners`) and the raster's sha256 is in each key."""
    items = _plans(data, params, h3_resolution)
    pop_sha = None
    if data.population is not None:
        pop_sha = file_sha256(data.population)
        plans = [i for i in items if isinstance(i, PartitionPlan)]
        if data.towns is not None:
            owned = iter(town_owners(plans, data.polygons,
                                     data.towns.accepted.to_crs(data.network.crs)))
            items = [next(owned) if isinstance(i, PartitionPlan) else i for i in items]
    out_items: list[PartitionSpec | PartitionOutcome] = []
    for plan in items:
        if isinstance(plan, PartitionOutcome):
            out_items.append(plan)
            continue
        key = content_key(plan, network_sha=network_sha, params=params,
                          h3_resolution=h3_resolution, version=BATCH_FORMAT,
                          population_sha=pop_sha)
        done = reused(plan.name, plan.folder, key, out / plan.folder)
        out_items.append(done if done is not None else PartitionSpec(
            name=plan.name, folder=plan.folder, out_dir=str(out / plan.folder), key=key,
            plan=plan, params=params, h3_resolution=h3_resolution,
            population_path=data.population))
    return out_items


def _plans(data: _Inputs, params: CoverageParams, h3_resolution: int
           ) -> list[PartitionPlan | PartitionOutcome]:
    """Each partition's plan, or a failed outcome with the reason."""
    net = data.network
    tiles = h3_tiles(net, h3_cells(net, resolution=h3_resolution), margin_m=params.buffer_m)
    towns = data.towns.accepted.to_crs(net.crs) if data.towns is not None else None
    whole = prepare_whole(net, data.polygons, data.stations.accepted.to_crs(net.crs), tiles,
                          towns=towns, params=params)
    items: list[PartitionPlan | PartitionOutcome] = []
    for i in range(len(data.polygons)):
        try:
            items.append(plan_partition(whole, data.polygons, i))
        except YizhanError as exc:
            items.append(PartitionOutcome(
                name=str(data.polygons["name"].iloc[i]),
                folder=str(data.polygons["folder"].iloc[i]), key="", status="failed",
                reason=" ".join(str(exc).split())))
    return items


def _worker_network_dir(network: str | os.PathLike[str], net: WalkNetwork, out: Path) -> Path:
    """A prepared-network directory holding ``net`` for the workers to read: the input
    itself when it is one, else the prepared-network cache entry it was loaded from,
    else ``OUT/_network`` (written once here)."""
    if network_format(network) == "prepared":
        return Path(network)
    cached = net.meta.get("cache_path")
    if cached and is_prepared_network(cached):
        return Path(cached)
    return save_network(net, out / "_network")


def run_batch(*, network: str | os.PathLike[str], stations: str | os.PathLike[str],
              partitions: str | os.PathLike[str], partition_field: str,
              out_dir: str | os.PathLike[str], towns: str | os.PathLike[str] | None = None,
              params: CoverageParams | None = None,
              h3_resolution: int = DEFAULT_H3_RESOLUTION, workers: int | None = None,
              scheduler: str | None = None, client: Any = None,
              cache_dir: str | os.PathLike[str] | None = None,
              retries: int = DEFAULT_RETRIES, task: TaskFn | None = None,
              population: str | os.PathLike[str] | None = None) -> BatchResult:
    """Cut ``network`` by the ``partitions`` polygons (named by ``partition_field``), run
    each on the Dask cluster and merge: the merged figures equal one whole-network run.

    The network is loaded with the street filter of ``params.mode`` (walk, or ebike: a
    prepared-network directory must have been prepared for that mode), every partition
    cuts its sub-network from it and runs with ``params``, and every ``summary.json``
    (the partitions' and the merged one) records ``travel_mode``, ``speed_model`` and
    ``network_filter``.

    ``population`` (a population GeoTIFF on a path the workers can read): each task
    reads its own window and people become the demand; the partitions' people add up
    to the whole run's (:mod:`geo.batch.people`).

    The driver computes the owners and each partition's plan (cheap); the whole
    prepared network is read once by a Dask task and reaches each worker once; each
    partition task cuts its sub-network, runs and writes its outputs. Finished
    partitions with the same content are reused. A partition that fails is listed with
    its reason (``BatchResult.failed``); the others complete.
    """
    params = params or CoverageParams()
    res = check_h3_resolution(h3_resolution)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    clock = _Clock()
    data, network_sha, items, laps = _load_and_plan(network, stations, partitions,
                                                    partition_field, towns, cache_dir, out,
                                                    params, res, population)
    clock.add(laps)
    outcomes = [o for o in items if isinstance(o, PartitionOutcome)]
    specs = [s for s in items if isinstance(s, PartitionSpec)]
    with dask_client(workers=workers, scheduler=scheduler, client=client) as (c, engine):
        clock.lap("cluster_start")
        if specs:
            outcomes += _run_specs(c, specs, _worker_network_dir(network, data.network, out),
                                   network_sha, task or run_partition, retries)
        clock.lap("tasks")
        done = [out / o.folder for o in _ordered(outcomes, data.polygons)
                if o.status != "failed"]
        union = c.submit(merge_union, done, key=f"yizhan-union-{uuid.uuid4().hex}",
                         retries=retries)
        try:
            return _finish_cut(data, out, outcomes, engine, params, res, clock,
                               union=union.result)
        finally:
            union.release()


def _load_and_plan(network: str | os.PathLike[str], stations: str | os.PathLike[str],
                   partitions: str | os.PathLike[str], partition_field: str,
                   towns: str | os.PathLike[str] | None,
                   cache_dir: str | os.PathLike[str] | None, out: Path,
                   params: CoverageParams, res: int,
                   population: str | os.PathLike[str] | None = None
                   ) -> tuple[_Inputs, str, list[PartitionSpec | PartitionOutcome],
                              dict[str, float]]:
    """(inputs, network fingerprint, specs or outcomes, timings) — the driver's part."""
    t0 = time.perf_counter()
    data = _load_inputs(network, stations, partitions, partition_field, towns, cache_dir,
                        population, mode=params.mode)
    t1 = time.perf_counter()
    network_sha = network_fingerprint(data.network)
    items = _specs(data, out, params, res, network_sha)
    return data, network_sha, items, {"load_inputs": t1 - t0,
                                      "plan": time.perf_counter() - t1}


def _run_specs(client: Any, specs: list[PartitionSpec], net_dir: Path, network_sha: str,
               task: TaskFn, retries: int) -> list[PartitionOutcome]:
    """Submit the whole network's load (one task, its result kept on the workers) and
    every partition task taking it; collect the outcomes."""
    net_fut = client.submit(load_whole_network, str(net_dir), network_sha,
                            key=f"yizhan-network-{network_sha}", pure=True, retries=retries)
    submitted = {submit(client, task, s, net_fut, retries=retries): (s.name, s.folder, s.key)
                 for s in specs}
    try:
        return collect(client, submitted)
    finally:
        net_fut.release()


class _Clock:
    """Wall time of the driver's phases (``summary["timings_s"]``)."""

    def __init__(self) -> None:
        self.t0 = self.last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = self.laps.get(name, 0.0) + now - self.last
        self.last = now

    def add(self, laps: dict[str, float]) -> None:
        """Record phases timed elsewhere that end now."""
        self.laps.update(laps)
        self.last = time.perf_counter()

    def timings(self) -> dict[str, float]:
        return {**self.laps, "total": time.perf_counter() - self.t0}


def _ordered(outcomes: list[PartitionOutcome], polygons: gpd.GeoDataFrame
             ) -> list[PartitionOutcome]:
    order = {n: i for i, n in enumerate(polygons["name"])}
    return sorted(outcomes, key=lambda o: order[o.name])


def _finish_cut(data: _Inputs, out: Path, outcomes: list[PartitionOutcome],
                engine: dict[str, Any], params: CoverageParams, res: int,
                clock: _Clock, union: Callable[[], Any] | None = None) -> BatchResult:
    """Merge the finished partitions and write the merged outputs (``union``: the
    merged union, computed on a worker meanwhile)."""
    outcomes = _ordered(outcomes, data.polygons)
    ok = [o for o in outcomes if o.status != "failed"]
    net = data.network
    towns = data.towns.accepted.to_crs(net.crs) if data.towns is not None else None
    merged = merge_partitions([out / o.folder for o in ok],
                              accepted=data.stations.accepted.to_crs(net.crs),
                              rejected=data.stations.rejected, towns=towns, params=params,
                              union=union)
    clock.lap("merge")
    covered = sum(float(o.figures.get("covered_length_raw_m", 0.0)) for o in ok)
    total = sum(float(o.figures.get("total_length_raw_m", 0.0)) for o in ok)
    is_grid = towns is None
    h3 = res if is_grid else None
    summary = summary_base(
        region=f"batch of {len(outcomes)} partitions", params=params, inputs=data.inputs,
        network=net.summary(),
        stations=station_block(merged.stations, rows_in=data.stations.rows_in,
                               rejected=len(data.stations.rejected)),
        covered_m=covered, total_m=total, covered_area_m2=float(merged.union.area),
        towns=merged.towns, basis=merged.demand_basis,
        towns_summary=towns_block(merged.towns, basis=merged.demand_basis, is_grid=is_grid,
                                  params=params, h3_resolution=h3,
                                  outside_length_m=total - merged.town_length_m),
        h3_resolution=h3, timings_s=clock.timings(),
        people=_people_summary(ok, merged.towns) if data.population is not None else None)
    result = _write_batch(out, summary, outcomes, engine, merged, net.crs, params,
                          region_of=lambda o: f"{o.folder}/region", polygons=data.polygons)
    clock.lap("write_outputs")
    return dataclasses.replace(result, timings_s=clock.timings())


def _people_summary(ok: list[PartitionOutcome], towns: pd.DataFrame) -> dict[str, Any]:
    """``summary["population"]`` of the merged run from the partitions' figures."""
    covered = sum(float(o.figures.get("covered_population_raw") or 0.0) for o in ok)
    describe: dict[str, Any] = next(
        (o.figures["population"] for o in ok if o.figures.get("population")), {})
    return people_block(describe, covered_population=covered, towns=towns)


def _write_batch(out: Path, summary: dict[str, Any], outcomes: list[PartitionOutcome],
                 engine: dict[str, Any], merged: Any, crs: Any, params: CoverageParams,
                 region_of: Callable[[PartitionOutcome], str | None],
                 polygons: gpd.GeoDataFrame) -> BatchResult:
    failed = tuple(o.name for o in outcomes if o.status == "failed")
    summary["partitions"] = [partition_entry(o, region_folder=region_of(o)
                                             if o.status != "failed" else None)
                             for o in outcomes]
    _write_polygons(out, summary["partitions"], polygons)
    summary["engine"] = engine
    summary["complete"] = not failed
    summary["failed_partitions"] = list(failed)
    paths = write_files(out, summary=summary, stations=merged.stations, towns=merged.towns,
                        union=merged.union, crs=crs, params=params)
    return BatchResult(out_dir=out, summary=summary, paths=paths, failed=failed)


def _write_polygons(out: Path, entries: list[dict[str, Any]],
                    polygons: gpd.GeoDataFrame) -> None:
    """``partitions.geojson``: each partition's polygon with its figures (WGS-84)."""
    geom = dict(zip(polygons["name"], polygons.geometry, strict=True))
    keep = [e for e in entries if e["name"] in geom]
    gdf = gpd.GeoDataFrame(
        {k: [e[k] for e in keep] for k in ("name", "folder", "status", "covered_length_m",
                                            "total_length_m", "covered_length_share")},
        geometry=[geom[e["name"]] for e in keep], crs=polygons.crs)
    gdf.to_crs(WGS84).to_file(out / "partitions.geojson", driver="GeoJSON", engine="pyogrio")


# ------------------------------------------------------------- a folder of regions


def run_batch_regions(*, regions_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str],
                      params: CoverageParams | None = None,
                      h3_resolution: int = DEFAULT_H3_RESOLUTION, workers: int | None = None,
                      scheduler: str | None = None, client: Any = None,
                      cache_dir: str | os.PathLike[str] | None = None,
                      retries: int = DEFAULT_RETRIES, task: TaskFn | None = None
                      ) -> BatchResult:
    """Run every region folder under ``regions_dir`` as one Dask task and merge
    (:mod:`geo.batch.regions`); finished regions with the same files are reused. Each
    region's network is loaded for ``params.mode``
    (:func:`geo.pipeline.region.region_from_folder`)."""
    params = params or CoverageParams()
    res = check_h3_resolution(h3_resolution)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    specs = region_specs(regions_dir, out, params=params, h3_resolution=res,
                         cache_dir=cache_dir)
    with dask_client(workers=workers, scheduler=scheduler, client=client) as (c, engine):
        outcomes, submitted = [], {}
        for spec in specs:
            done = reused(spec.name, spec.folder, spec.key, Path(spec.out_dir))
            if done is not None:
                outcomes.append(done)
                continue
            submitted[submit(c, task or run_region_task, spec, retries=retries)] = (
                spec.name, spec.folder, spec.key)
        outcomes += collect(c, submitted)
    order = {s.name: i for i, s in enumerate(specs)}
    outcomes.sort(key=lambda o: order[o.name])
    ok = [o for o in outcomes if o.status != "failed"]
    stations, towns, union, basis = merge_regions(ok, out, WGS84)
    covered = sum(float(o.figures.get("covered_length_raw_m", 0.0)) for o in ok)
    total = sum(float(o.figures.get("total_length_raw_m", 0.0)) for o in ok)
    is_grid = bool(ok) and all(o.figures.get("is_grid") for o in ok)
    h3 = res if is_grid else None
    src = {s.name: s.source_dir for s in specs}
    st_counts = [o.figures.get("stations") or {} for o in ok]
    summary = summary_base(
        region=f"batch of {len(outcomes)} regions", params=params,
        inputs={"regions": str(regions_dir)},
        network={k: sum(int((o.figures.get("network") or {}).get(k, 0)) for o in ok)
                 for k in ("nodes", "edges")},
        stations=station_block(stations, rows_in=sum(int(c.get("input", 0)) for c in st_counts),
                               rejected=sum(int(c.get("rejected", 0)) for c in st_counts)),
        covered_m=covered, total_m=total,
        covered_area_m2=sum(float(o.figures.get("covered_area_m2") or 0.0) for o in ok),
        towns=towns, basis=basis,
        towns_summary=towns_block(towns, basis=basis, is_grid=is_grid, params=params,
                                  h3_resolution=h3, outside_length_m=0.0),
        h3_resolution=h3, timings_s={"total": time.perf_counter() - t0},
        people=_people_summary(ok, towns) if basis == "population_raster" else None)
    merged = _RegionsMerged(stations=stations, towns=towns, union=union)
    return _write_batch(out, summary, outcomes, engine, merged, WGS84, params,
                        region_of=lambda o: src.get(o.name), polygons=region_hulls(ok, out))


@dataclass(frozen=True, eq=False)
class _RegionsMerged:
    stations: pd.DataFrame
    towns: gpd.GeoDataFrame
    union: Any


__all__ = ["BatchResult", "dask_client", "run_batch", "run_batch_regions"]
