"""Cutting a whole walk network into partitions (cities) with a halo.

Ownership (every street counted once):

* an **edge** belongs to the partition whose polygon contains its midpoint (the first
  one in file order when polygons overlap), an edge outside every polygon to the
  nearest polygon — so the partitions' street lengths add up to the network's;
* a **union tile** (the H3 cells the service-area union is built on, the same tiles a
  whole-network run uses) belongs to the partition containing its centroid, else the
  nearest one — so the partitions' union parts are the whole run's parts;
* a **station** belongs to the partition containing it, else the nearest one.

The *core* of a partition is its polygon, its edges and its tiles. Its sub-network holds
every edge within ``R + max(S, buffer)`` of the core (``R`` the street metres a trip
within the budget can run: the walk or ride budget ``budget_m``, or by car ``budget_s``
× the fastest edge speed of the whole drive network — the
:attr:`~geo.coverage.cost.StreetCost.reach_m` of the run; ``S`` the maximum snap
distance), scaled for streets whose geometry is longer than their length: any trip
within the budget that starts on an owned street, or within the buffer of an owned tile,
lies inside it (by car: whatever the one-way streets and speeds along it). Its stations
are every station within a further ``S``, each with its nearest street of the whole
network added to the sub-network, so every station snaps exactly as in a whole-network
run. Distances on the owned streets are therefore those of the whole network.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.coverage.cost import street_cost
from geo.coverage.snap import snap_points
from geo.crs import require_crs
from geo.errors import InvalidParameterError, StationDataError
from geo.io.layers import read_vector
from geo.network.model import WalkNetwork
from geo.params import CoverageParams

HALO_SCALE_MAX: Final = 1.2  # streets longer in geometry than this × length_m are not trusted
HALO_MARGIN_M: Final = 10.0
_SAFE_NAME = re.compile(r"[^\w\-.]+", re.UNICODE)


@dataclass(frozen=True)
class Halo:
    """Distances (m) a partition's core is grown by: network and stations."""

    network_m: float
    stations_m: float
    scale: float  # max(geometry length / street length) over the streets, ≥ 1
    reach_m: float = 0.0  # street metres a trip within the budget can run


@dataclass(frozen=True, eq=False)
class PartitionCut:
    """One partition cut from the whole network (read-only).

    ``network`` is the sub-network (core + halo); ``owned_edges`` flags its edges owned
    by this partition; ``stations`` (network CRS) are the stations within the halo with
    ``_row`` (index in the accepted stations) and ``_owned``; ``tiles`` the owned union
    tiles (``town_id`` = H3 index, geometry); ``towns`` the towns meeting the core.
    """

    index: int
    name: str
    folder: str
    polygon: shapely.Geometry
    network: WalkNetwork
    owned_edges: np.ndarray
    stations: gpd.GeoDataFrame
    tiles: gpd.GeoDataFrame
    towns: gpd.GeoDataFrame | None
    owned_length_m: float


def read_partitions(path: str | os.PathLike[str], field: str) -> gpd.GeoDataFrame:
    """Partition polygons with ``name`` (from ``field``) and ``folder`` (a safe,
    unique folder name), WGS-84. Refuses a missing field, empty or duplicate names."""
    raw = read_vector(path, what="partition polygons")
    if field not in raw.columns:
        raise StationDataError(
            f"partition file {Path(path).name} has no field {field!r}; its fields are "
            f"{[c for c in raw.columns if c != raw.geometry.name]}: pass one as "
            "--partition-field")
    names = [str(v).strip() if v is not None and str(v).strip() not in ("", "nan") else ""
             for v in raw[field]]
    if any(not n for n in names):
        raise StationDataError(f"partition field {field!r} is empty in some rows: name "
                               "every partition")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise StationDataError(f"partition names repeat ({', '.join(dup)}): names must be "
                               "unique (they name the output folders)")
    geoms = raw.geometry.to_numpy()
    if not bool(np.all(np.isin(shapely.get_type_id(geoms), (3, 6)))):
        raise StationDataError("partition geometries must be polygons")
    return gpd.GeoDataFrame({"name": names, "folder": [safe_folder(n) for n in names]},
                            geometry=list(shapely.make_valid(geoms)), crs=raw.crs)


def safe_folder(name: str) -> str:
    """A folder name for a partition: word characters kept (Chinese too), the rest
    replaced, never empty, never ``.``/``..``; a hash suffix when changed."""
    clean = _SAFE_NAME.sub("_", name).strip("._") or "partition"
    if clean != name:
        clean = f"{clean}-{hashlib.sha256(name.encode()).hexdigest()[:6]}"
    return clean


def halo_for(network: WalkNetwork, params: CoverageParams) -> Halo:
    """The halo distances for ``params`` on ``network`` (see the module docstring)."""
    length = network.length_m
    geom_len = network.geometry_length
    ok = length > 0.5
    ratio = float(np.max(geom_len[ok] / length[ok])) if ok.any() else 1.0
    scale = min(max(ratio, 1.0), HALO_SCALE_MAX) * 1.01
    reach = reach_m(network, params)
    base = reach + max(params.max_snap_m, params.buffer_m)
    net_m = base * scale + HALO_MARGIN_M
    return Halo(network_m=net_m, stations_m=net_m + params.max_snap_m + HALO_MARGIN_M,
                scale=scale, reach_m=reach)


def reach_m(network: WalkNetwork, params: CoverageParams) -> float:
    """Street metres a trip within the budget can run on the *whole* ``network``: the
    walk / ride budget, or by car the budget in seconds × the fastest edge speed
    (:attr:`geo.coverage.cost.StreetCost.reach_m`; a partition's sub-network is never
    faster than the whole)."""
    if params.mode != "drive":
        return params.budget_m
    return float(street_cost(network, params).reach_m)


def _owner(points: np.ndarray, polygons: np.ndarray) -> np.ndarray:
    """Index of the polygon containing each point (first in order), else the nearest."""
    n = len(points)
    owner = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return owner
    tree = shapely.STRtree(polygons)
    pi, gi = tree.query(points, predicate="intersects")
    if pi.size:
        order = np.lexsort((gi, pi))
        pi, gi = pi[order], gi[order]
        first = np.ones(pi.size, dtype=bool)
        first[1:] = pi[1:] != pi[:-1]
        owner[pi[first]] = gi[first]
    rest = np.flatnonzero(owner < 0)
    if rest.size:
        ri, gi2 = tree.query_nearest(points[rest], all_matches=False)
        owner[rest[ri]] = gi2
    return owner


def edge_owner(network: WalkNetwork, polygons: np.ndarray) -> np.ndarray:
    """Partition index of every edge (by its midpoint; see the module docstring)."""
    mid = shapely.line_interpolate_point(network.geometry, 0.5, normalized=True)
    return _owner(np.asarray(mid, dtype=object), np.asarray(polygons, dtype=object))


def tile_owner(tiles: np.ndarray, polygons: np.ndarray) -> np.ndarray:
    """Partition index of every union tile (by its centroid)."""
    return _owner(np.asarray(shapely.centroid(tiles), dtype=object),
                  np.asarray(polygons, dtype=object))


def subnetwork(network: WalkNetwork, edges: np.ndarray, *, label: str = "") -> WalkNetwork:
    """The network of the given edges (sorted, unique) and the nodes they use."""
    e = np.unique(np.asarray(edges, dtype=np.int64))
    used = np.unique(np.concatenate([network.edge_u[e], network.edge_v[e]]).astype(np.int64))
    remap = np.full(network.n_nodes, -1, dtype=np.int64)
    remap[used] = np.arange(used.size)
    idx_t = np.int32 if used.size < 2**31 - 1 else np.int64
    return WalkNetwork(
        crs=network.crs, node_id=network.node_id[used], node_x=network.node_x[used],
        node_y=network.node_y[used], edge_u=remap[network.edge_u[e]].astype(idx_t),
        edge_v=remap[network.edge_v[e]].astype(idx_t), length_m=network.length_m[e],
        geometry=network.geometry[e],
        edge_attrs=network.edge_attrs.iloc[e].reset_index(drop=True),
        filter_report=network.filter_report,
        source=f"{network.source} [{label}]" if label else network.source,
        source_sha256=network.source_sha256,
        meta={k: v for k, v in network.meta.items() if k != "repairs"},
    )


@dataclass(frozen=True, eq=False)
class _Whole:
    """What the cut of every partition shares, computed once on the whole network:
    the owners (grouped: ``*_order`` sorts the items by owner, ``*_start[k]`` is where
    partition ``k`` starts in it) and the stations' nearest streets."""

    network: WalkNetwork
    edge_owner: np.ndarray
    edge_order: np.ndarray
    edge_start: np.ndarray
    tiles: gpd.GeoDataFrame
    tile_order: np.ndarray
    tile_start: np.ndarray
    stations: gpd.GeoDataFrame
    station_tree: shapely.STRtree
    station_owner: np.ndarray
    station_order: np.ndarray
    station_start: np.ndarray
    station_edge: np.ndarray
    towns: gpd.GeoDataFrame | None
    town_tree: shapely.STRtree | None
    halo: Halo


def _grouped(owner: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(items sorted by owner, stable; start of each owner's run, ``n + 1`` entries)."""
    order = np.argsort(owner, kind="stable")
    return order, np.searchsorted(owner[order], np.arange(n + 1))


def prepare_whole(network: WalkNetwork, polygons: gpd.GeoDataFrame,
                  stations: gpd.GeoDataFrame, tiles: gpd.GeoDataFrame, *,
                  towns: gpd.GeoDataFrame | None, params: CoverageParams) -> _Whole:
    """Owners of edges, tiles and stations and the stations' nearest streets."""
    require_crs(polygons, network.crs, what="partition polygons")
    require_crs(stations, network.crs, what="stations")
    polys = polygons.geometry.to_numpy()
    n = len(polys)
    st_pts = stations.geometry.to_numpy()
    snapped = snap_points(network, st_pts) if len(stations) else {"edge": np.zeros(0, int)}
    e_own = edge_owner(network, polys)
    t_own = tile_owner(tiles.geometry.to_numpy(), polys)
    s_own = _owner(np.asarray(st_pts, dtype=object), polys)
    (e_ord, e_start), (t_ord, t_start), (s_ord, s_start) = (
        _grouped(e_own, n), _grouped(t_own, n), _grouped(s_own, n))
    return _Whole(
        network=network, edge_owner=e_own, edge_order=e_ord, edge_start=e_start,
        tiles=tiles, tile_order=t_ord, tile_start=t_start, stations=stations,
        station_tree=shapely.STRtree(st_pts), station_owner=s_own, station_order=s_ord,
        station_start=s_start, station_edge=np.asarray(snapped["edge"], dtype=np.int64),
        towns=towns, town_tree=None if towns is None else shapely.STRtree(
            towns.geometry.to_numpy()), halo=halo_for(network, params))


@dataclass(frozen=True, eq=False)
class PartitionPlan:
    """What a worker needs to cut one partition from the whole network (small; read-only).

    ``owned`` are the indices of the owned edges in the whole network (sorted);
    ``core`` the geometries the halo grows from — the polygon, the owned streets not
    inside it and the owned tiles not inside it (whatever lies inside the polygon adds
    nothing: its halo is inside the polygon's); ``station_edges`` the nearest street
    (whole-network index) of each of ``stations``.
    """

    index: int
    name: str
    folder: str
    polygon: shapely.Geometry
    owned: np.ndarray
    core: np.ndarray
    halo_m: float
    stations: gpd.GeoDataFrame
    station_edges: np.ndarray
    tiles: gpd.GeoDataFrame
    towns: gpd.GeoDataFrame | None
    owned_length_m: float
    #: with a population raster: the towns (``_town``) whose people this partition
    #: counts, each town in one partition (:func:`geo.batch.people.town_owners`)
    population_towns: np.ndarray | None = None


def _run(order: np.ndarray, start: np.ndarray, k: int) -> np.ndarray:
    return np.sort(order[start[k]:start[k + 1]])


def plan_partition(whole: _Whole, polygons: gpd.GeoDataFrame, index: int) -> PartitionPlan:
    """Partition ``index`` of ``polygons``: its owned streets, tiles and stations, its
    core and the stations within its halo (the cheap part of the cut, on the driver)."""
    net = whole.network
    poly = polygons.geometry.iloc[index]
    name = str(polygons["name"].iloc[index])
    owned = _run(whole.edge_order, whole.edge_start, index)
    if owned.size == 0:
        raise InvalidParameterError(
            f"partition {name!r} holds no street of the network: "
            "check that its polygon overlaps the network (same region, WGS-84)")
    tiles = whole.tiles.iloc[_run(whole.tile_order, whole.tile_start, index)]
    tiles = tiles.reset_index(drop=True)
    tile_geoms = tiles.geometry.to_numpy()
    shapely.prepare(poly)
    outside = owned[~shapely.within(net.geometry[owned], poly)]
    core = np.concatenate([[poly], net.geometry[outside],
                           tile_geoms[~shapely.within(tile_geoms, poly)]])
    st_near = whole.station_tree.query(core, predicate="dwithin",
                                       distance=whole.halo.stations_m)[1]
    st_idx = np.union1d(st_near, _run(whole.station_order, whole.station_start, index))
    st = whole.stations.iloc[st_idx].copy()
    st["_row"] = st_idx
    st["_owned"] = whole.station_owner[st_idx] == index
    return PartitionPlan(
        index=index, name=name, folder=str(polygons["folder"].iloc[index]), polygon=poly,
        owned=owned, core=core, halo_m=whole.halo.network_m,
        stations=st.reset_index(drop=True), station_edges=whole.station_edge[st_idx],
        tiles=tiles, towns=_towns_near(whole.towns, whole.town_tree, core),
        owned_length_m=float(net.length_m[owned].sum()))


def cut_plan(network: WalkNetwork, plan: PartitionPlan) -> PartitionCut:
    """The partition's halo sub-network cut from the whole ``network`` (on a worker):
    every street within ``plan.halo_m`` of the core, the owned streets and the
    stations' nearest streets. The core is queried as one geometry collection (its
    distance is the least over its members): one pass over the street index."""
    core = shapely.geometrycollections(plan.core)
    near = network.edge_tree.query(core, predicate="dwithin", distance=plan.halo_m)
    st_edges = plan.station_edges
    edges = np.unique(np.concatenate([near, plan.owned, st_edges[st_edges >= 0]]))
    return PartitionCut(
        index=plan.index, name=plan.name, folder=plan.folder, polygon=plan.polygon,
        network=subnetwork(network, edges, label=plan.name),
        owned_edges=np.isin(edges, plan.owned), stations=plan.stations, tiles=plan.tiles,
        towns=plan.towns, owned_length_m=plan.owned_length_m)


def cut_partition(whole: _Whole, polygons: gpd.GeoDataFrame, index: int) -> PartitionCut:
    """Partition ``index`` of ``polygons``: its core, halo sub-network and stations."""
    return cut_plan(whole.network, plan_partition(whole, polygons, index))


def _towns_near(towns: gpd.GeoDataFrame | None, tree: shapely.STRtree | None,
                core: np.ndarray) -> gpd.GeoDataFrame | None:
    if towns is None or tree is None:
        return None
    hit = np.unique(tree.query(core, predicate="intersects")[1])
    out = towns.iloc[hit].copy()
    out["_town"] = hit
    return out.reset_index(drop=True)


def network_fingerprint(network: WalkNetwork) -> str:
    """sha256 (hex, 32) of the network's arrays, geometry and CRS."""
    h = hashlib.sha256()
    for arr in (network.node_x, network.node_y, network.edge_u, network.edge_v,
                network.length_m, shapely.get_coordinates(network.geometry),
                shapely.get_num_coordinates(network.geometry)):
        h.update(np.ascontiguousarray(arr).tobytes())
    h.update(network.crs.to_wkt().encode())
    return h.hexdigest()[:32]


def content_key(plan: PartitionPlan, *, network_sha: str, params: CoverageParams,
                h3_resolution: int, version: str, population_sha: str | None = None) -> str:
    """sha256 (hex, 32) of everything the partition's result depends on: the whole
    network (``network_sha``, :func:`network_fingerprint`), the partition's owned
    streets, core and halo, its stations (with their nearest streets), tiles, towns,
    polygon, the parameters and the population raster (``population_sha``) with the
    towns whose people it counts."""
    h = hashlib.sha256(network_sha.encode())
    if population_sha is not None:
        h.update(f"population:{population_sha}".encode())
        if plan.population_towns is not None:
            h.update(np.ascontiguousarray(plan.population_towns, dtype=np.int64).tobytes())
    h.update(np.ascontiguousarray(plan.owned, dtype=np.int64).tobytes())
    h.update(np.ascontiguousarray(plan.station_edges, dtype=np.int64).tobytes())
    h.update(b"".join(shapely.to_wkb(plan.core)))
    st = plan.stations
    h.update(pd.util.hash_pandas_object(pd.DataFrame(st.drop(columns=st.geometry.name)),
                                        index=False).to_numpy().tobytes())
    h.update(b"".join(shapely.to_wkb(st.geometry.to_numpy())))
    h.update("|".join(plan.tiles["town_id"].astype(str)).encode())
    h.update(b"".join(shapely.to_wkb(plan.tiles.geometry.to_numpy())))
    if plan.towns is not None:
        t = plan.towns
        h.update(pd.util.hash_pandas_object(pd.DataFrame(t.drop(columns=t.geometry.name)),
                                            index=False).to_numpy().tobytes())
        h.update(b"".join(shapely.to_wkb(t.geometry.to_numpy())))
    h.update(shapely.to_wkb(plan.polygon))
    h.update(repr((sorted(params.to_dict().items()), h3_resolution, version, plan.name,
                   round(plan.halo_m, 9))).encode())
    return h.hexdigest()[:32]
