"""Snap stations to the nearest point on a street edge (not only the nearest node)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from geo.crs import require_crs
from geo.errors import InvalidParameterError
from geo.network.model import WalkNetwork

STATUS_USED = "used"
STATUS_OFF = "off_network"


def snap_points(network: WalkNetwork, points: np.ndarray) -> dict[str, np.ndarray]:
    """Nearest edge point of each point (network CRS).

    Returns arrays ``edge`` (index), ``offset_m`` (distance along the edge from its
    ``u`` end, in ``length_m`` units), ``snap_dist_m``, ``snap_x``, ``snap_y``.
    """
    pts = np.asarray(points, dtype=object)
    n = pts.size
    edge = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, np.inf)
    if n:
        (pi, ei), d = network.edge_tree.query_nearest(pts, return_distance=True,
                                                      all_matches=False)
        edge[pi] = ei
        dist[pi] = d
    ok = edge >= 0
    offset = np.full(n, np.nan)
    sx = np.full(n, np.nan)
    sy = np.full(n, np.nan)
    if ok.any():
        geoms = network.geometry[edge[ok]]
        along = shapely.line_locate_point(geoms, pts[ok])
        glen = network.geometry_length[edge[ok]]
        frac = np.where(glen > 0, along / np.where(glen > 0, glen, 1.0), 0.0)
        frac = np.clip(frac, 0.0, 1.0)
        offset[ok] = frac * network.length_m[edge[ok]]
        sp = shapely.line_interpolate_point(geoms, along)
        sx[ok] = shapely.get_x(sp)
        sy[ok] = shapely.get_y(sp)
    return {"edge": edge, "offset_m": offset, "snap_dist_m": dist, "snap_x": sx, "snap_y": sy}


def snap_stations(network: WalkNetwork, stations: gpd.GeoDataFrame, *,
                  max_snap_m: float = 200.0, street: str = "walkable") -> gpd.GeoDataFrame:
    """Return a copy of ``stations`` with snapping columns.

    Adds ``snap_edge``, ``snap_offset_m``, ``snap_dist_m``, ``snap_x``, ``snap_y``,
    ``status`` (``"used"`` or ``"off_network"``) and ``status_reason``. A station
    farther than ``max_snap_m`` from every street is off-network (excluded from
    coverage). ``stations`` must be in ``network.crs``. ``street`` names the network's
    streets in the reason (``"walkable"``, ``"rideable"``, ``"drivable"``).
    """
    require_crs(stations, network.crs, what="stations")
    if not (np.isfinite(max_snap_m) and max_snap_m >= 0):
        raise InvalidParameterError(f"max_snap_m must be ≥ 0, got {max_snap_m!r}")
    out = stations.copy()
    geoms = out.geometry.to_numpy()
    is_pt = np.array([g is not None and g.geom_type == "Point" and not g.is_empty
                      for g in geoms], dtype=bool)
    res = {k: np.full(len(out), np.nan) for k in ("offset_m", "snap_dist_m", "snap_x", "snap_y")}
    edge = np.full(len(out), -1, dtype=np.int64)
    if is_pt.any():
        r = snap_points(network, geoms[is_pt])
        edge[is_pt] = r["edge"]
        for k in res:
            res[k][is_pt] = r[k]
    far = res["snap_dist_m"] > max_snap_m
    status = np.where(is_pt & (edge >= 0) & ~far, STATUS_USED, STATUS_OFF)
    reason = np.full(len(out), "", dtype=object)
    reason[~is_pt] = "no point geometry"
    sel = is_pt & far
    reason[sel] = [
        f"nearest {street} street is {d:.0f} m away (> max_snap_m {max_snap_m:g} m)"
        for d in res["snap_dist_m"][sel]
    ]
    used = status == STATUS_USED
    edge[~used] = -1
    out["snap_edge"] = edge
    out["snap_offset_m"] = np.where(used, res["offset_m"], np.nan)
    out["snap_dist_m"] = res["snap_dist_m"]
    out["snap_x"] = np.where(used, res["snap_x"], np.nan)
    out["snap_y"] = np.where(used, res["snap_y"], np.nan)
    out["status"] = status
    out["status_reason"] = reason
    return out
