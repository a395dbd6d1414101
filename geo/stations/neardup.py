"""Near-duplicate stations, for review: the same name within 50 m, or any two within 5 m
(:func:`near_duplicates`)."""

from __future__ import annotations

from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from geo.crs import utm_crs_for
from geo.stations.cells import norm_name

NEAR_SAME_NAME_M: Final = 50.0
NEAR_ANY_M: Final = 5.0
PAIR_COLUMNS: Final[tuple[str, ...]] = (
    "row_a", "row_b", "station_id_a", "station_id_b", "name_a", "name_b", "distance_m",
    "reason", "reason_zh",
)


def near_duplicates(stations: gpd.GeoDataFrame, *, same_name_m: float = NEAR_SAME_NAME_M,
                    any_m: float = NEAR_ANY_M) -> pd.DataFrame:
    """Pairs of stations to review: same name within ``same_name_m`` or any two within
    ``any_m`` (metres, measured in the local UTM zone). Needs ``row``, ``station_id``,
    ``name`` and EPSG:4326 points."""
    cols = list(PAIR_COLUMNS)
    if len(stations) < 2:
        return pd.DataFrame(columns=cols)
    g = stations.geometry
    cx, cy = float(np.nanmedian(g.x)), float(np.nanmedian(g.y))
    metric = g.to_crs(utm_crs_for(cx, cy))
    xy = np.column_stack([metric.x.to_numpy(), metric.y.to_numpy()])
    tree = cKDTree(xy)
    pairs = tree.query_pairs(r=max(same_name_m, any_m), output_type="ndarray")
    names = [norm_name(str(v)) for v in stations["name"]]
    out = []
    rows = stations["row"].to_numpy()
    sid = stations["station_id"].to_numpy()
    nm = stations["name"].to_numpy()
    for a, b in pairs:
        d = float(np.hypot(*(xy[a] - xy[b])))
        if d <= any_m:
            why, why_zh = f"two stations within {any_m:g} m", f"两站相距不足 {any_m:g} 米"
        elif names[a] == names[b] and d <= same_name_m:
            why, why_zh = (f"same name within {same_name_m:g} m",
                           f"同名站点相距不足 {same_name_m:g} 米")
        else:
            continue
        a, b = (a, b) if rows[a] < rows[b] else (b, a)
        out.append((int(rows[a]), int(rows[b]), sid[a], sid[b], nm[a], nm[b], round(d, 2),
                    why, why_zh))
    df = pd.DataFrame(out, columns=cols)
    return df.sort_values(["row_a", "row_b"]).reset_index(drop=True)


__all__ = ["NEAR_ANY_M", "NEAR_SAME_NAME_M", "PAIR_COLUMNS", "near_duplicates"]
