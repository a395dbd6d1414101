"""Finding the clicked town (:mod:`geo.webmap.pick`)."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from geo.errors import CRSError, InvalidParameterError
from geo.webmap.pick import town_at

UTM50 = "EPSG:32650"


def _towns() -> gpd.GeoDataFrame:
    # two 1 km squares side by side near (114.05, 22.55), in UTM 50N
    p = gpd.GeoSeries.from_xy([114.05], [22.55], crs=4326).to_crs(UTM50).iloc[0]
    a = shapely.box(p.x, p.y, p.x + 1000, p.y + 1000)
    b = shapely.box(p.x + 1000, p.y, p.x + 2000, p.y + 1000)
    return gpd.GeoDataFrame({"name": ["甲街道", "乙街道"]}, geometry=[a, b], crs=UTM50)


def _lonlat(towns: gpd.GeoDataFrame, x_off: float, y_off: float) -> tuple[float, float]:
    x0, y0 = towns.total_bounds[:2]
    q = gpd.GeoSeries([shapely.Point(x0 + x_off, y0 + y_off)], crs=UTM50).to_crs(4326).iloc[0]
    return q.x, q.y


def test_a_point_inside_each_town_finds_it() -> None:
    towns = _towns()
    for (dx, dy), name in [((500, 500), "甲街道"), ((1500, 200), "乙街道")]:
        lon, lat = _lonlat(towns, dx, dy)
        row = town_at(towns, lon=lon, lat=lat)
        assert row is not None and row["name"] == name


def test_outside_every_town_is_none() -> None:
    towns = _towns()
    lon, lat = _lonlat(towns, -300, 500)
    assert town_at(towns, lon=lon, lat=lat) is None


def test_bad_point_and_missing_crs_are_named_errors() -> None:
    with pytest.raises(InvalidParameterError):
        town_at(_towns(), lon=200.0, lat=10.0)
    with pytest.raises(CRSError):
        town_at(_towns().set_crs(None, allow_override=True), lon=114.0, lat=22.5)
