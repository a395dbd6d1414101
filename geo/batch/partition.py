"""Cutting a whole walk network into partitions (cities) with a halo.

Ownership (every street counted once):

* an **edge** belongs to the partition whose polygon contains its midpoint (the first
  one in file order when polygons overlap), an edge outside every polygon to the
  nearest polygon — so the partitions' street lengths add up to the network's;
* a **union tile** (the H3 cells the service-area union is built on, the same tiles a
  whole-network run uses) belongs to the partition containing its centroid, else the
  nearest one — so the partitions' union parts are the whole run's parts;
* a **station** belongs to the partition containing it, else the nearest one.

The *core* of a partition is its polygon, its edges and its tiles. Its sub-network
holds every edge within ``B + max(S, buffer)`` of the core (``B`` the walk budget,
``S`` the maximum snap distance), scaled for streets whose geometry is longer than
their walking length: any walk of at most ``B`` that ends on an owned street, or
within the buffer of an owned tile, lies inside it. Its stations are every station
within a further ``S``, each with its nearest street of the whole network added to the
sub-network, so every station snaps exactly as in a whole-network run. Distances on
the owned streets are therefore those of the whole network.
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
    scale: float  # max(geometry length / walking length) over the streets, ≥ 1


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
    base = params.budget_m + max(params.max_snap_m, params.buffer_m)
    net_m = base * scale + HALO_MARGIN_M
    return Halo(network_m=net_m, stations_m=net_m + params.max_snap_m + HALO_MARGIN_M,
                scale=scale)


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
    """What the cut of every partition shares, computed once on the whole network."""

    network: WalkNetwork
    edge_owner: np.ndarray
    tiles: gpd.GeoDataFrame
    tile_owner: np.ndarray
    stations: gpd.GeoDataFrame
    station_owner: np.ndarray
    station_edge: np.ndarray
    towns: gpd.GeoDataFrame | None
    halo: Halo


def prepare_whole(network: WalkNetwork, polygons: gpd.GeoDataFrame,
                  stations: gpd.GeoDataFrame, tiles: gpd.GeoDataFrame, *,
                  towns: gpd.GeoDataFrame | None, params: CoverageParams) -> _Whole:
    """Owners of edges, tiles and stations and the stations' nearest streets."""
    require_crs(polygons, network.crs, what="partition polygons")
    require_crs(stations, network.crs, what="stations")
    polys = polygons.geometry.to_numpy()
    st_pts = stations.geometry.to_numpy()
    snapped = snap_points(network, st_pts) if len(stations) else {"edge": np.zeros(0, int)}
    return _Whole(
        network=network, edge_owner=edge_owner(network, polys), tiles=tiles,
        tile_owner=tile_owner(tiles.geometry.to_numpy(), polys), stations=stations,
        station_owner=_owner(np.asarray(st_pts, dtype=object), polys),
        station_edge=np.asarray(snapped["edge"], dtype=np.int64), towns=towns,
        halo=halo_for(network, params))


def cut_partition(whole: _Whole, polygons: gpd.GeoDataFrame, index: int) -> PartitionCut:
    """Partition ``index`` of ``polygons``: its core, halo sub-network and stations."""
    net = whole.network
    poly = polygons.geometry.iloc[index]
    owned = np.flatnonzero(whole.edge_owner == index)
    if owned.size == 0:
        raise InvalidParameterError(
            f"partition {polygons['name'].iloc[index]!r} holds no street of the network: "
            "check that its polygon overlaps the network (same region, WGS-84)")
    tiles = whole.tiles.loc[whole.tile_owner == index].reset_index(drop=True)
    outside = owned[~shapely.within(net.geometry[owned], poly)]
    core = np.concatenate([[poly], net.geometry[outside], tiles.geometry.to_numpy()])
    near = net.edge_tree.query(core, predicate="dwithin", distance=whole.halo.network_m)[1]
    st_tree = shapely.STRtree(whole.stations.geometry.to_numpy())
    st_near = st_tree.query(core, predicate="dwithin", distance=whole.halo.stations_m)[1]
    st_idx = np.union1d(st_near, np.flatnonzero(whole.station_owner == index))
    st_edges = whole.station_edge[st_idx]
    edges = np.unique(np.concatenate([near, owned, st_edges[st_edges >= 0]]))
    name = str(polygons["name"].iloc[index])
    sub = subnetwork(net, edges, label=name)
    owned_mask = np.isin(edges, owned)
    st = whole.stations.iloc[st_idx].copy()
    st["_row"] = st_idx
    st["_owned"] = whole.station_owner[st_idx] == index
    return PartitionCut(
        index=index, name=name, folder=str(polygons["folder"].iloc[index]), polygon=poly,
        network=sub, owned_edges=owned_mask, stations=st.reset_index(drop=True),
        tiles=tiles, towns=_towns_near(whole.towns, core),
        owned_length_m=float(net.length_m[owned].sum()))


def _towns_near(towns: gpd.GeoDataFrame | None, core: np.ndarray) -> gpd.GeoDataFrame | None:
    if towns is None:
        return None
    hit = np.unique(shapely.STRtree(towns.geometry.to_numpy())
                    .query(core, predicate="intersects")[1])
    out = towns.iloc[hit].copy()
    out["_town"] = hit
    return out.reset_index(drop=True)


def content_key(cut: PartitionCut, *, params: CoverageParams, h3_resolution: int,
                version: str) -> str:
    """sha256 (hex, 32) of everything the partition's result depends on."""
    h = hashlib.sha256()
    net = cut.network
    for arr in (net.node_x, net.node_y, net.edge_u, net.edge_v, net.length_m,
                shapely.get_coordinates(net.geometry), cut.owned_edges):
        h.update(np.ascontiguousarray(arr).tobytes())
    h.update(net.crs.to_wkt().encode())
    st = cut.stations
    h.update(pd.util.hash_pandas_object(pd.DataFrame(st.drop(columns=st.geometry.name)),
                                        index=False).to_numpy().tobytes())
    h.update(b"".join(shapely.to_wkb(st.geometry.to_numpy())))
    h.update("|".join(cut.tiles["town_id"].astype(str)).encode())
    if cut.towns is not None:
        t = cut.towns
        h.update(pd.util.hash_pandas_object(pd.DataFrame(t.drop(columns=t.geometry.name)),
                                            index=False).to_numpy().tobytes())
        h.update(b"".join(shapely.to_wkb(t.geometry.to_numpy())))
    h.update(shapely.to_wkb(cut.polygon))
    h.update(repr((sorted(params.to_dict().items()), h3_resolution, version,
                   cut.name)).encode())
    return h.hexdigest()[:32]
