"""What a click on the map lands on: the town under a WGS-84 point.

The map sends back where the user clicked (``lat``/``lng``), whatever layer is on top;
the town is then found here with a spatial-index query, so clicking anywhere inside a
town works even under the service-area layer.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import WGS84, as_crs, transform_geometries
from geo.errors import CRSError, InvalidParameterError


def town_at(towns: gpd.GeoDataFrame, *, lon: float, lat: float) -> pd.Series | None:
    """The row of ``towns`` whose polygon contains the point (``lon``, ``lat``, WGS-84),
    or ``None`` when the point is in no town. Where towns overlap (analysis cells never
    do), the first row in ``towns`` order wins."""
    point = _metric_point(towns, lon=lon, lat=lat)
    hits = towns.sindex.query(point, predicate="intersects")
    if len(hits) == 0:
        return None
    return towns.iloc[int(min(hits))]


def _metric_point(towns: gpd.GeoDataFrame, *, lon: float, lat: float) -> shapely.Point:
    if not (-180.0 <= float(lon) <= 180.0 and -90.0 <= float(lat) <= 90.0):
        raise InvalidParameterError(f"({lon}, {lat}) is not a WGS-84 lon/lat point")
    if towns.crs is None:
        raise CRSError("towns have no CRS: set it before looking up a clicked point")
    crs = as_crs(towns.crs)
    point = np.array([shapely.Point(float(lon), float(lat))], dtype=object)
    out: shapely.Point = transform_geometries(point, WGS84, crs)[0]
    return out
