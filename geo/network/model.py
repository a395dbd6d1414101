"""The prepared walk network: undirected street segments as arrays, in a metric CRS.

A :class:`WalkNetwork` is built once from a :class:`~geo.network.raw.RawStreets` by
:func:`prepare_network` (pedestrian filter, undirected de-duplication, projection,
``length_m``) and then only read. It holds flat numpy arrays (node coordinates, edge
end indices, lengths) plus one shapely ``LineString`` per edge; the scipy CSR matrix
used by every shortest-path call is derived lazily. No networkx graph is kept.

Every input is validated on the way in (:mod:`geo.network.validate`: what is refused with a
:class:`~geo.errors.NetworkDataError`, what is repaired and reported under
``meta["repairs"]`` / ``summary()["repairs"]``): :func:`prepare_network` checks the raw
table, :func:`load_prepared_network` the stored arrays. A network pickles compactly (its
geometries as one coordinate array), so a worker process can hand it back.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field, fields
from functools import cached_property
from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp
import shapely
from pyproj.exceptions import CRSError as ProjCRSError
from shapely.errors import GEOSException

from geo.crs import WGS84, transform_geometries, transform_xy, utm_crs_for
from geo.errors import EmptyNetworkError, InputFileError
from geo.network.linecut import LineCutter
from geo.network.modes import MODE_ATTR_COLUMNS, apply_mode_filter, check_mode
from geo.network.raw import RawStreets
from geo.network.validate import RepairLog, check_prepared, check_projected, check_raw
from geo.network.walkfilter import FILTER_VERSION, FilterReport, apply_walk_filter
from geo.params import kmh_to_m_per_s

PREPARED_FORMAT: Final = "yizhan-network/1"
_ATTR_COLUMNS: Final = ("highway", "name", "osmid")


@dataclass(frozen=True)
class NodeGrid:
    """Nodes bucketed into square cells: the nodes of cell ``c`` (``row * width +
    column`` from ``(x0, y0)``) are ``order[starts[c]:starts[c + 1]]``."""

    x0: float
    y0: float
    cell_m: float
    width: int
    height: int
    order: np.ndarray
    starts: np.ndarray

    def nodes_near(self, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
        """The nodes of every cell meeting the box ``[x0, x1] × [y0, y1]`` (a superset
        of the nodes inside it; each node once)."""
        c0 = int(np.clip((x0 - self.x0) // self.cell_m, 0, self.width - 1)) \
            if np.isfinite(x0) else 0
        c1 = int(np.clip((x1 - self.x0) // self.cell_m, 0, self.width - 1)) \
            if np.isfinite(x1) else self.width - 1
        r0 = int(np.clip((y0 - self.y0) // self.cell_m, 0, self.height - 1)) \
            if np.isfinite(y0) else 0
        r1 = int(np.clip((y1 - self.y0) // self.cell_m, 0, self.height - 1)) \
            if np.isfinite(y1) else self.height - 1
        # the cells of one row of the box are consecutive in ``order``
        parts = [self.order[self.starts[r * self.width + c0]:
                            self.starts[r * self.width + c1 + 1]] for r in range(r0, r1 + 1)]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


#: Cell side of :attr:`WalkNetwork.node_grid` (grown on very large extents).
NODE_GRID_CELL_M: Final = 500.0
_MAX_GRID_CELLS: Final = 4_000_000


@dataclass(frozen=True, eq=False)
class WalkNetwork:
    """An undirected walk network in a local metric CRS.

    Edge ``i`` joins nodes ``edge_u[i]`` and ``edge_v[i]`` (indices into the node
    arrays); ``geometry[i]`` runs from ``edge_u[i]`` to ``edge_v[i]`` and
    ``length_m[i]`` is its walking length. Parallel edges and self-loops are kept as
    streets (they count towards street length); shortest paths use the shortest of
    parallel edges.
    """

    crs: pyproj.CRS
    node_id: np.ndarray
    node_x: np.ndarray
    node_y: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    length_m: np.ndarray
    geometry: np.ndarray
    edge_attrs: pd.DataFrame
    filter_report: FilterReport
    source: str = ""
    source_sha256: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the fields only (derived caches are rebuilt), geometries as flat arrays
        (vectorised: a worker process sends a large network back quickly)."""
        state = {f.name: getattr(self, f.name) for f in fields(self)}
        geoms = self.geometry
        if (geoms.size and bool((shapely.get_type_id(geoms) == 1).all())
                and not bool(shapely.is_empty(geoms).any())
                and not bool(shapely.has_z(geoms).any())):
            coords, index = shapely.get_coordinates(geoms, return_index=True)
            state["geometry"] = ("lines", coords, index.astype(np.int64), int(geoms.size))
        else:
            state["geometry"] = ("wkb", shapely.to_wkb(geoms))
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        packed = state["geometry"]
        if packed[0] == "lines":
            _, coords, index, n = packed
            geoms = np.asarray(shapely.linestrings(coords, indices=index), dtype=object)
            if geoms.size != n:
                raise ValueError("pickled WalkNetwork geometry is incomplete")
        else:
            geoms = np.asarray(shapely.from_wkb(packed[1]), dtype=object)
        state["geometry"] = geoms
        self.__dict__.update(state)

    @property
    def n_nodes(self) -> int:
        return int(self.node_x.shape[0])

    @property
    def n_edges(self) -> int:
        return int(self.edge_u.shape[0])

    @cached_property
    def total_length_m(self) -> float:
        return float(self.length_m.sum())

    def walk_time_s(self, walk_speed_kmh: float) -> np.ndarray:
        """Walking time of every edge at ``walk_speed_kmh``."""
        return self.length_m / kmh_to_m_per_s(walk_speed_kmh)

    @cached_property
    def csr(self) -> sp.csr_matrix:
        """Symmetric CSR adjacency (``length_m`` weights, min over parallel edges)."""
        return build_csr(self.n_nodes, self.edge_u, self.edge_v, self.length_m)

    @cached_property
    def min_length_ratio(self) -> float:
        """The smallest ratio of an edge's length to the straight line between its ends
        (1 at most; edges whose ends coincide do not count): a path of length ``d``
        ends within ``d / min_length_ratio`` of where it starts."""
        chord = np.hypot(self.node_x[self.edge_u] - self.node_x[self.edge_v],
                         self.node_y[self.edge_u] - self.node_y[self.edge_v])
        ok = chord > 1e-6
        if not ok.any():
            return 1.0
        ratio = float(np.min(self.length_m[ok] / chord[ok]))
        return min(1.0, ratio) if np.isfinite(ratio) else 0.0

    @cached_property
    def node_grid(self) -> NodeGrid:
        """The nodes bucketed into square cells (for sub-graph searches)."""
        x0, y0, x1, y1 = self.bounds if self.n_nodes else (0.0, 0.0, 0.0, 0.0)
        cell = max(NODE_GRID_CELL_M,
                   float(np.sqrt(max(x1 - x0, 1.0) * max(y1 - y0, 1.0) / _MAX_GRID_CELLS)))
        width = int((x1 - x0) // cell) + 1
        height = int((y1 - y0) // cell) + 1
        cx = np.minimum(((self.node_x - x0) // cell).astype(np.int64), width - 1)
        cy = np.minimum(((self.node_y - y0) // cell).astype(np.int64), height - 1)
        key = cy * width + cx
        order = np.argsort(key, kind="stable")
        starts = np.zeros(width * height + 1, dtype=np.int64)
        np.cumsum(np.bincount(key, minlength=width * height), out=starts[1:])
        return NodeGrid(x0=x0, y0=y0, cell_m=cell, width=width, height=height,
                        order=order, starts=starts)

    @cached_property
    def node_edges(self) -> tuple[np.ndarray, np.ndarray]:
        """Incidence ``(indptr, edges)``: the edges touching node ``i`` are
        ``edges[indptr[i]:indptr[i + 1]]`` (a self-loop is listed twice)."""
        ends = np.concatenate([self.edge_u, self.edge_v]).astype(np.int64, copy=False)
        order = np.argsort(ends, kind="stable")
        edges = (order % max(self.n_edges, 1)).astype(np.int64)
        indptr = np.zeros(self.n_nodes + 1, dtype=np.int64)
        np.cumsum(np.bincount(ends, minlength=self.n_nodes), out=indptr[1:])
        return indptr, edges

    def edges_at(self, nodes: np.ndarray) -> np.ndarray:
        """The distinct edges touching any of ``nodes``, sorted."""
        indptr, edges = self.node_edges
        nodes = np.asarray(nodes, dtype=np.int64)
        start = indptr[nodes]
        count = indptr[nodes + 1] - start
        total = int(count.sum())
        if total == 0:
            return np.zeros(0, dtype=np.int64)
        # positions start[k] .. start[k] + count[k] - 1 for every node, without a loop
        offs = np.repeat(start - np.concatenate([[0], np.cumsum(count)[:-1]]), count)
        mark = np.zeros(self.n_edges, dtype=bool)
        mark[edges[offs + np.arange(total)]] = True
        return np.flatnonzero(mark)

    @cached_property
    def geometry_length(self) -> np.ndarray:
        """Planar length of each edge geometry in CRS units (for cutting geometry)."""
        return shapely.length(self.geometry)

    @cached_property
    def cutter(self) -> LineCutter:
        """Vectorised sub-line cutter over the edge geometries."""
        return LineCutter(self.geometry)

    def cut(self, edge: np.ndarray, x0_m: np.ndarray, x1_m: np.ndarray) -> np.ndarray:
        """Sub-lines of edges between positions ``x0_m`` and ``x1_m`` (metres from ``u``)."""
        return self.cutter.cut(*self._fractions(edge, x0_m, x1_m))

    def cut_coords(self, edge: np.ndarray, x0_m: np.ndarray, x1_m: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`cut` as flat coordinates and per-piece offsets (no geometries built)."""
        return self.cutter.cut_coords(*self._fractions(edge, x0_m, x1_m))

    def _fractions(self, edge: np.ndarray, x0_m: np.ndarray, x1_m: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(edge, f0, f1)``: positions in metres as fractions of each edge's length."""
        edge = np.asarray(edge, dtype=np.int64)
        length = self.length_m[edge]
        safe = np.where(length > 0, length, 1.0)
        return edge, np.asarray(x0_m) / safe, np.asarray(x1_m) / safe

    @cached_property
    def edge_tree(self) -> shapely.STRtree:
        """Spatial index over edge geometries."""
        return shapely.STRtree(self.geometry)

    @cached_property
    def bounds(self) -> tuple[float, float, float, float]:
        return (float(self.node_x.min()), float(self.node_y.min()),
                float(self.node_x.max()), float(self.node_y.max()))

    def edges_gdf(self) -> gpd.GeoDataFrame:
        """Edges as a GeoDataFrame in the network CRS (a new frame each call)."""
        df = self.edge_attrs.copy()
        df.insert(0, "u", self.node_id[self.edge_u])
        df.insert(1, "v", self.node_id[self.edge_v])
        df["length_m"] = self.length_m
        return gpd.GeoDataFrame(df, geometry=self.geometry.copy(), crs=self.crs)

    def nodes_gdf(self) -> gpd.GeoDataFrame:
        """Nodes as a GeoDataFrame in the network CRS."""
        return gpd.GeoDataFrame(
            {"node_id": self.node_id},
            geometry=shapely.points(self.node_x, self.node_y),
            crs=self.crs,
        )

    def summary(self) -> dict[str, Any]:
        """The ``network`` block of ``summary.json``."""
        return {
            "source": self.source,
            "crs": self.crs.to_string(),
            "nodes": self.n_nodes,
            "edges": self.n_edges,
            "total_length_m": round(self.total_length_m, 1),
            "dropped_edges": self.filter_report.dropped_edges,
            "dropped_length_m": round(self.filter_report.dropped_length_m, 1),
            "filter": self.filter_report.to_dict(),
            "repairs": self.meta.get("repairs") or {},
        }


def build_csr(n_nodes: int, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> sp.csr_matrix:
    """Symmetric CSR of an undirected multigraph keeping the *minimum* parallel weight.

    (``coo → csr`` would sum parallel edges.) Self-loops are left out: they never
    shorten a path. Zero weights are stored explicitly and count as edges.
    """
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    w = np.asarray(w, dtype=np.float64)
    loop = u == v
    rows = np.concatenate([u[~loop], v[~loop]])
    cols = np.concatenate([v[~loop], u[~loop]])
    ws = np.concatenate([w[~loop], w[~loop]])
    order = np.lexsort((ws, cols, rows))
    rows, cols, ws = rows[order], cols[order], ws[order]
    if rows.size:
        first = np.ones(rows.size, dtype=bool)
        first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
        rows, cols, ws = rows[first], cols[first], ws[first]
    indptr = np.zeros(n_nodes + 1, dtype=np.int64)
    np.add.at(indptr, rows + 1, 1)
    indptr = np.cumsum(indptr)
    idx_dtype = np.int32 if n_nodes < 2**31 - 1 else np.int64
    return sp.csr_matrix(
        (ws, cols.astype(idx_dtype), indptr.astype(idx_dtype)), shape=(n_nodes, n_nodes)
    )


def prepare_network(raw: RawStreets, *, crs: Any = None, source_sha256: str | None = None,
                    meta: dict[str, Any] | None = None, mode: str = "walk") -> WalkNetwork:
    """Filter, de-duplicate and project a raw street table into a :class:`WalkNetwork`.

    ``crs``: metric CRS to use; by default the UTM zone of the network's centre.
    ``mode``: ``"walk"`` (the pedestrian filter), ``"ebike"`` or ``"drive"`` — the
    filter of :mod:`geo.network.modes`; a drive network also keeps ``oneway``,
    ``junction`` and ``maxspeed`` in ``edge_attrs``.
    Raises :class:`EmptyNetworkError` when no street of the mode is left.
    """
    if len(raw.edges) == 0 or len(raw.node_id) == 0:
        raise EmptyNetworkError(f"{raw.source or 'the network'} contains no streets")
    checked = check_raw(raw)  # refuses bad ids / coordinates / geometries, repairs lengths
    if crs is None:
        crs = utm_crs_for(float(np.median(checked.lon)), float(np.median(checked.lat)))
    crs = pyproj.CRS.from_user_input(crs)
    if not crs.is_projected:
        raise InputFileError(f"the analysis CRS must be metric (projected), got {crs.to_string()}")

    edges = raw.edges
    u_idx, v_idx = checked.u_idx, checked.v_idx
    node_ids = checked.node_id
    x, y = transform_xy(checked.lon, checked.lat, WGS84, crs)
    geoms_m = transform_geometries(checked.geometry, WGS84, crs)
    check_projected(node_ids, x, y, geoms_m, source=raw.source, crs_name=crs.to_string(),
                    label=lambda i: f"edge {node_ids[u_idx[i]]}→{node_ids[v_idx[i]]}")
    geom_len = shapely.length(geoms_m)
    # a missing (or repaired) length is the length of the geometry in the metric CRS
    length_m = np.where(np.isnan(checked.length_m), geom_len, checked.length_m)

    # Undirected de-duplication first (so the filter report counts streets, not
    # directions): the two directions of one street share their end nodes and
    # length; parallel but different streets (another length) are kept.
    a = np.minimum(u_idx, v_idx)
    b = np.maximum(u_idx, v_idx)
    dup = pd.DataFrame({"a": a, "b": b, "l": np.round(length_m, 1)}).duplicated().to_numpy()
    keep = np.zeros(len(edges), dtype=bool)
    unique = edges.loc[~dup].assign(length_m=length_m[~dup])
    keep_unique, report = (apply_walk_filter(unique) if check_mode(mode) == "walk"
                           else apply_mode_filter(unique, mode))
    keep[np.flatnonzero(~dup)] = keep_unique
    sel = keep
    if not sel.any():
        what = {"walk": ("walkable", "pedestrian"), "ebike": ("rideable", "e-bike"),
                "drive": ("drivable", "car")}[mode]
        raise EmptyNetworkError(
            f"no {what[0]} street left in {raw.source or 'the network'} after the {what[1]} "
            f"filter ({report.dropped_edges} of {len(edges)} segments dropped): "
            "check that the file covers a built-up area and holds highway=* ways"
        )
    used = np.unique(np.concatenate([u_idx[sel], v_idx[sel]]))
    remap = np.full(len(node_ids), -1, dtype=np.int64)
    remap[used] = np.arange(used.size)
    attr_cols = [*_ATTR_COLUMNS, *MODE_ATTR_COLUMNS[mode]]
    attrs = edges.loc[sel, attr_cols].reset_index(drop=True).astype(object)
    attrs = attrs.where(attrs.notna(), None)
    return WalkNetwork(
        crs=crs,
        node_id=node_ids[used],
        node_x=x[used],
        node_y=y[used],
        edge_u=remap[u_idx[sel]].astype(np.int32 if used.size < 2**31 else np.int64),
        edge_v=remap[v_idx[sel]].astype(np.int32 if used.size < 2**31 else np.int64),
        length_m=length_m[sel].astype(np.float64),
        geometry=geoms_m[sel],
        edge_attrs=attrs,
        filter_report=report,
        source=raw.source,
        source_sha256=source_sha256,
        meta=_with_repairs({**raw.meta, **(meta or {}),
                            **({} if mode == "walk" else {"mode": mode})}, checked.repairs),
    )


def _with_repairs(meta: dict[str, Any], repairs: RepairLog) -> dict[str, Any]:
    out = {k: v for k, v in meta.items() if k != "repairs"}
    if repairs:
        out["repairs"] = repairs.to_dict()
    return out


# --------------------------------------------------------------------------- storage


def save_network(network: WalkNetwork, directory: str | os.PathLike[str]) -> Path:
    """Write a prepared network (NPZ arrays + Parquet edges + JSON meta), atomically."""
    target = Path(directory)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
    try:
        np.savez(
            tmp / "arrays.npz",
            node_id=network.node_id, node_x=network.node_x, node_y=network.node_y,
            edge_u=network.edge_u, edge_v=network.edge_v, length_m=network.length_m,
        )
        edges = network.edge_attrs.astype(object).where(network.edge_attrs.notna(), None)
        edges = edges.astype("string")
        edges["wkb"] = shapely.to_wkb(network.geometry)
        edges.to_parquet(tmp / "edges.parquet", index=False)
        meta = {
            "format": PREPARED_FORMAT,
            "crs": network.crs.to_wkt(),
            "source": network.source,
            "source_sha256": network.source_sha256,
            "filter_report": network.filter_report.to_dict(),
            "filter_report_raw": [list(r) for r in network.filter_report.by_reason],
            "meta": _jsonable(network.meta),
        }
        (tmp / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def is_prepared_network(path: str | os.PathLike[str]) -> bool:
    p = Path(path)
    return p.is_dir() and (p / "meta.json").is_file() and (p / "arrays.npz").is_file()


def load_prepared_network(directory: str | os.PathLike[str]) -> WalkNetwork:
    """Read a network written by :func:`save_network`; its arrays are validated
    (:func:`geo.network.validate.check_prepared`)."""
    d = Path(directory)
    try:
        meta = json.loads((d / "meta.json").read_text(encoding="utf-8"))
        if not isinstance(meta, dict) or meta.get("format") != PREPARED_FORMAT:
            raise InputFileError(
                f"{d} is not a Yizhan prepared network of format {PREPARED_FORMAT}; "
                "prepare it again from the OSM source"
            )
        with np.load(d / "arrays.npz", allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in ("node_id", "node_x", "node_y", "edge_u", "edge_v",
                                          "length_m")}
        edges = pd.read_parquet(d / "edges.parquet")
        with warnings.catch_warnings():  # a broken geometry is named by check_prepared
            warnings.simplefilter("ignore", RuntimeWarning)
            geometry = np.asarray(shapely.from_wkb(edges.pop("wkb").to_numpy()), dtype=object)
        fr = meta["filter_report"]
        report = FilterReport(
            version=fr["filter"], kept_edges=fr["kept_edges"],
            dropped_edges=fr["dropped_edges"], dropped_length_m=float(fr["dropped_length_m"]),
            by_reason=tuple((str(r), int(n), float(length))
                            for r, n, length in meta.get("filter_report_raw", [])),
        )
        crs = pyproj.CRS.from_wkt(meta["crs"])
    except InputFileError:
        raise
    except (OSError, ValueError, KeyError, TypeError, GEOSException, ProjCRSError) as exc:
        raise InputFileError(f"cannot read prepared network {d}: {exc}; prepare it again "
                             "from the OSM source") from None
    check_prepared(**arrays, geometry=geometry, n_attr_rows=len(edges),
                   source=f"prepared network {d}")
    attrs = edges.astype(object).where(edges.notna(), None)
    return WalkNetwork(
        crs=crs,
        node_id=arrays["node_id"].astype(np.int64, copy=False),
        node_x=arrays["node_x"].astype(np.float64, copy=False),
        node_y=arrays["node_y"].astype(np.float64, copy=False),
        edge_u=arrays["edge_u"], edge_v=arrays["edge_v"],
        length_m=arrays["length_m"].astype(np.float64, copy=False),
        geometry=geometry, edge_attrs=attrs, filter_report=report,
        source=meta.get("source", ""), source_sha256=meta.get("source_sha256"),
        meta=meta.get("meta", {}),
    )


def _jsonable(obj: Any) -> Any:
    try:
        json.dumps(obj)
        return obj
    except TypeError:
        if isinstance(obj, dict):
            return {str(k): _jsonable(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [_jsonable(v) for v in obj]
        return str(obj)


__all__ = [
    "FILTER_VERSION",
    "WalkNetwork",
    "build_csr",
    "is_prepared_network",
    "load_prepared_network",
    "prepare_network",
    "save_network",
]
