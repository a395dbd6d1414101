"""The GeoPackage report (pyogrio): every layer in WGS-84 (EPSG:4326), like the GeoJSON
outputs of ``yizhan coverage``, so that GIS tools and web maps overlay it directly.

Layers
    ``stations`` (points: every station with coordinates, used or off the network, with
    the per-station report columns), ``service_areas`` (one polygon per used station,
    with overlap figures), ``coverage`` (the union, one feature), ``towns`` (polygons
    with the town figures and ``below_threshold``), ``zones`` (rider zones with their
    figures, when given), ``bases`` (convalescence bases, when given) and
    ``service_areas_nearest`` (with ``--split-nearest``).
Rejected input rows have no usable coordinates: they are in ``stations.csv`` / the
Excel report, not here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.crs import WGS84
from geo.network.modes import network_filter
from geo.reports.data import ReportData

GPKG_CRS: Final = "EPSG:4326"
LAYERS: Final = ("stations", "service_areas", "coverage", "towns", "zones", "bases",
                 "service_areas_nearest")


def gpkg_layers(data: ReportData) -> dict[str, gpd.GeoDataFrame]:
    """The layers of the GeoPackage (WGS-84), by name."""
    job = data.job
    cov = job.coverage
    out: dict[str, gpd.GeoDataFrame] = {}
    n = len(cov.stations)
    st = pd.DataFrame(data.stations.iloc[:n]).drop(columns=["input_row"], errors="ignore")
    out["stations"] = gpd.GeoDataFrame(st.reset_index(drop=True),
                                       geometry=cov.stations.geometry.to_numpy(),
                                       crs=job.network.crs)
    per = job.areas.per_station
    if per is not None:
        sa = pd.DataFrame(per.drop(columns="geometry")).reset_index(drop=True)
        used = data.stations.iloc[:n]
        used = used.loc[cov.stations["status"].to_numpy() == "used"]
        order = np.argsort(cov.stations.loc[cov.stations["status"] == "used",
                                            "source"].to_numpy())
        used = used.iloc[order].reset_index(drop=True)
        for c in ("overlap_share", "overlap_neighbours", "overlap_top_neighbour",
                  "nearest_share", "review_flag", "nearest_covered_population"):
            if c in used:
                sa[c] = used[c].to_numpy()
        out["service_areas"] = gpd.GeoDataFrame(sa, geometry=per.geometry.to_numpy(),
                                                crs=job.network.crs)
    p = job.params
    # by car the speeds are per edge and the budget a time: no speed, no length (NULL)
    drive = p.mode == "drive"
    out["coverage"] = gpd.GeoDataFrame({
        "covered_area_m2": [round(job.areas.union_area_m2, 1)],
        "walk_time_min": [p.walk_time_min],
        "walk_speed_kmh": [np.nan if drive else p.walk_speed_kmh],
        "buffer_m": [p.buffer_m], "budget_m": [np.nan if drive else p.budget_m],
        "travel_mode": [p.mode],
        "network_filter": [network_filter(p.mode)["filter"]],
    }, geometry=[job.areas.union], crs=job.network.crs)
    towns = job.towns.towns.copy()
    below = data.towns.set_index("town_id")["below_threshold"]
    towns["below_threshold"] = towns["town_id"].map(below).fillna(False).astype(bool)
    out["towns"] = towns
    if job.zones_layer is not None:
        zl = job.zones_layer[["zone_id", "geometry"]].reset_index(drop=True)
        if job.zones is not None:
            zl = zl.merge(job.zones, on="zone_id", how="left")
        out["zones"] = gpd.GeoDataFrame(zl, geometry="geometry", crs=job.zones_layer.crs)
    if job.bases is not None and len(job.bases):
        out["bases"] = job.bases.copy()
    if job.areas.nearest_split is not None:
        out["service_areas_nearest"] = job.areas.nearest_split.copy()
    return {k: v.to_crs(WGS84) for k, v in out.items()}


def write_gpkg(data: ReportData, path: str | os.PathLike[str]) -> Path:
    """Write the GeoPackage to ``path`` (a new file)."""
    import pyogrio

    out = Path(path)
    if out.exists():
        out.unlink()
    for name, gdf in gpkg_layers(data).items():
        frame = gdf.copy()
        for c in frame.columns:
            if c == frame.geometry.name:
                continue
            s = frame[c]
            if s.dtype == object:  # mixed text / None columns as text fields
                frame[c] = s.map(lambda v: None if v is None or (isinstance(v, float)
                                                                 and v != v) else str(v))
        polygons = bool(frame.geom_type.isin(["Polygon", "MultiPolygon"]).any())
        pyogrio.write_dataframe(frame, out, layer=name, driver="GPKG",
                                promote_to_multi=polygons, append=out.exists())
    return out
