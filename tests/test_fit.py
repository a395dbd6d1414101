"""Does a station list belong to the loaded region (:mod:`geo.pipeline.fit`)."""

from __future__ import annotations

import geopandas as gpd
import pytest

from geo.errors import CRSError
from geo.pipeline.fit import region_fit
from geo.pipeline.region import demo_region


def test_demo_stations_fit_and_a_far_city_does_not() -> None:
    region = demo_region()
    assert region.stations is not None
    own = region.stations.accepted
    fit = region_fit(region.network, own, max_snap_m=200)
    # the demo places two stations off the network on purpose ("30 / 32" in the app)
    assert fit.fits and fit.n_outside == 2 and fit.n_stations == len(own)
    far = gpd.GeoDataFrame(geometry=gpd.points_from_xy([112.47, 112.48], [23.05, 23.06]),
                           crs=4326)  # Zhaoqing, far from the synthetic demo streets
    fit = region_fit(region.network, far, max_snap_m=200)
    assert not fit.fits and fit.n_outside == 2


def test_mixed_list_counts_each_side() -> None:
    region = demo_region()
    assert region.stations is not None
    own = region.stations.accepted.iloc[:3]
    far = gpd.GeoDataFrame(geometry=gpd.points_from_xy([112.47], [23.05]), crs=4326)
    both = gpd.GeoDataFrame(geometry=list(own.geometry) + list(far.geometry), crs=4326)
    fit = region_fit(region.network, both, max_snap_m=200)
    assert (fit.n_stations, fit.n_on_network, fit.n_outside) == (4, 3, 1)


def test_no_crs_is_refused() -> None:
    region = demo_region()
    with pytest.raises(CRSError):
        region_fit(region.network, gpd.GeoDataFrame(geometry=gpd.points_from_xy([0], [0])),
                   max_snap_m=200)
