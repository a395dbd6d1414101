"""Tests of :mod:`geo.stations.coords`: GCJ-02 / BD-09 transforms, aliases and the CRS hint."""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Iterator

import numpy as np
import prcoords
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import ArrayLike

from geo.errors import InvalidParameterError, YizhanError
from geo.stations import coords
from geo.stations.coords import (
    COORD_SYSTEM_LABELS,
    COORD_SYSTEMS,
    HINT_MIN_DECLARED_M,
    CrsHint,
    crs_hint,
    from_wgs84,
    guess_from_columns,
    normalize_coord_system,
    offset_m,
    to_wgs84,
)

GEOD = pyproj.Geod(ellps="WGS84")

# Guangdong's bounding box (degrees).
GD_LON = (109.6, 117.4)
GD_LAT = (20.1, 25.6)

#: The inverse is iterated to convergence: forward ∘ inverse is the identity to far
#: below a millimetre. prcoords' rough inverse (forward delta subtracted once) is off by
#: up to ~2.6 m in the province, so this tolerance tells the two apart.
ROUND_TRIP_TOL_M = 1e-3

SHENZHEN = (114.05, 22.54)


def _dist_m(lon1: ArrayLike, lat1: ArrayLike, lon2: ArrayLike, lat2: ArrayLike) -> np.ndarray:
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


@pytest.fixture(params=["numpy", "loop"])
def kernels(request: pytest.FixtureRequest,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run a test with the vectorised kernels and with the per-point prcoords loop."""
    coords._kernels.cache_clear()
    if request.param == "loop":
        monkeypatch.setattr(coords, "_numpy_kernels", _broken_kernels)
    yield request.param
    coords._kernels.cache_clear()


def _broken_kernels() -> dict[str, object]:
    raise RuntimeError("simulated incompatible prcoords")


def _grid(n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = np.meshgrid(np.linspace(*GD_LON, n), np.linspace(*GD_LAT, n))
    return lon.ravel(), lat.ravel()


# ----------------------------------------------------------------- reference values


# (wgs_lat, wgs_lon, gcj_lat, gcj_lon): the test vectors of eviltransform
# (github.com/googollee/eviltransform, python/test.py), an independent implementation.
EVILTRANSFORM_VECTORS = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
]


@pytest.mark.parametrize(("wlat", "wlon", "glat", "glon"), EVILTRANSFORM_VECTORS)
def test_wgs_to_gcj_matches_published_vectors(kernels: str, wlat: float, wlon: float,
                                              glat: float, glon: float) -> None:
    lon, lat = from_wgs84(wlon, wlat, "gcj02")
    assert float(lon) == pytest.approx(glon, abs=1e-9)
    assert float(lat) == pytest.approx(glat, abs=1e-9)
    # and back
    lon, lat = to_wgs84(glon, glat, "gcj02")
    assert _dist_m(lon, lat, wlon, wlat) < ROUND_TRIP_TOL_M


def test_forward_equals_prcoords_pointwise(kernels: str) -> None:
    lon, lat = _grid(25)
    for system, fwd in (("gcj02", prcoords.wgs_gcj), ("bd09", prcoords.wgs_bd)):
        ox, oy = from_wgs84(lon, lat, system)
        ref = [fwd(prcoords.Coords(a, o)) for o, a in zip(lon, lat, strict=True)]
        np.testing.assert_allclose(oy, [c.lat for c in ref], rtol=0, atol=1e-11)
        np.testing.assert_allclose(ox, [c.lon for c in ref], rtol=0, atol=1e-11)


def test_inverse_at_least_as_precise_as_prcoords_bored() -> None:
    lon, lat = _grid(20)
    for system, bored, fwd in (("gcj02", prcoords.gcj_wgs_bored, prcoords.wgs_gcj),
                               ("bd09", prcoords.bd_wgs_bored, prcoords.wgs_bd)):
        wx, wy = to_wgs84(lon, lat, system)
        ref = [bored(prcoords.Coords(a, o)) for o, a in zip(lon, lat, strict=True)]
        # the same place as prcoords' precise inverse (which is ~1 cm)
        assert _dist_m(wx, wy, [c.lon for c in ref], [c.lat for c in ref]).max() < 0.05
        back = [fwd(prcoords.Coords(a, o)) for o, a in zip(wx, wy, strict=True)]
        err = _dist_m(lon, lat, [c.lon for c in back], [c.lat for c in back])
        assert err.max() < ROUND_TRIP_TOL_M


def test_bd09_is_gcj02_plus_baidu_shift() -> None:
    lon, lat = _grid(15)
    gx, gy = from_wgs84(lon, lat, "gcj02")
    bx, by = from_wgs84(lon, lat, "bd09")
    # BD-09 = GCJ-02 + (0.0065°, 0.0060°) ± a small rotation / scaling wobble
    assert np.abs(bx - gx - 0.0065).max() < 5e-4
    assert np.abs(by - gy - 0.0060).max() < 5e-4
    # and BD-09 → WGS-84 equals BD-09 → GCJ-02 (prcoords) → WGS-84
    ref = [prcoords.bd_gcj_bored(prcoords.Coords(a, o)) for o, a in zip(bx, by, strict=True)]
    wx, wy = to_wgs84([c.lon for c in ref], [c.lat for c in ref], "gcj02")
    assert _dist_m(wx, wy, lon, lat).max() < 0.01


def test_offset_magnitude_in_shenzhen() -> None:
    gcj = float(offset_m(*SHENZHEN, "gcj02"))
    bd = float(offset_m(*SHENZHEN, "bd09"))
    assert 250.0 < gcj < 700.0
    assert bd > gcj
    assert 700.0 < bd < 2000.0
    assert float(offset_m(*SHENZHEN, "wgs84")) == 0.0
    # over the province GCJ-02 moves points by a few hundred metres
    off = offset_m(*_grid(20), "gcj")
    assert off.shape == (400,)
    assert off.min() > 200.0 and off.max() < 800.0


# ------------------------------------------------------------------------ round trips


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_round_trip_dense_grid(kernels: str, system: str) -> None:
    lon, lat = _grid(60)
    wx, wy = to_wgs84(lon, lat, system)
    # the inverse really moves points (by hundreds of metres)
    assert _dist_m(wx, wy, lon, lat).min() > 100.0
    bx, by = from_wgs84(wx, wy, system)
    assert _dist_m(bx, by, lon, lat).max() < ROUND_TRIP_TOL_M
    # and the other way round: WGS-84 → system → WGS-84
    sx, sy = from_wgs84(lon, lat, system)
    rx, ry = to_wgs84(sx, sy, system)
    assert _dist_m(rx, ry, lon, lat).max() < ROUND_TRIP_TOL_M


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_naive_inverse_would_fail_the_tolerance(system: str) -> None:
    """Guard on the test itself: a one-step inverse is metres off somewhere."""
    rough = prcoords.gcj_wgs if system == "gcj02" else prcoords.bd_wgs
    fwd = prcoords.wgs_gcj if system == "gcj02" else prcoords.wgs_bd
    lon, lat = _grid(60)
    back = [fwd(rough(prcoords.Coords(a, o))) for o, a in zip(lon, lat, strict=True)]
    err = _dist_m(lon, lat, [c.lon for c in back], [c.lat for c in back])
    assert err.max() > 1.0 > 100 * ROUND_TRIP_TOL_M


@settings(max_examples=200, deadline=None)
@given(
    lon=st.floats(*GD_LON, allow_nan=False),
    lat=st.floats(*GD_LAT, allow_nan=False),
    system=st.sampled_from(["gcj02", "bd09"]),
)
def test_round_trip_random_points(lon: float, lat: float, system: str) -> None:
    wx, wy = to_wgs84(lon, lat, system)
    bx, by = from_wgs84(wx, wy, system)
    assert _dist_m(bx, by, lon, lat) < ROUND_TRIP_TOL_M
    sx, sy = from_wgs84(lon, lat, system)
    rx, ry = to_wgs84(sx, sy, system)
    assert _dist_m(rx, ry, lon, lat) < ROUND_TRIP_TOL_M


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.floats(*GD_LON), st.floats(*GD_LAT)), min_size=1, max_size=30))
def test_arrays_equal_pointwise(points: list[tuple[float, float]]) -> None:
    lon = np.array([p[0] for p in points])
    lat = np.array([p[1] for p in points])
    wx, wy = to_wgs84(lon, lat, "gcj02")
    for i, (o, a) in enumerate(points):
        px, py = to_wgs84(o, a, "gcj02")
        assert float(px) == pytest.approx(wx[i], abs=1e-10)
        assert float(py) == pytest.approx(wy[i], abs=1e-10)


# ------------------------------------------------------------------- input handling


def test_nan_and_scalars(kernels: str) -> None:
    lon = np.array([114.05, np.nan, 113.3, np.inf, 113.0])
    lat = np.array([22.54, 22.5, np.nan, 23.0, 23.0])
    for system in COORD_SYSTEMS:
        for func in (to_wgs84, from_wgs84):
            x, y = func(lon, lat, system)
            assert x.shape == y.shape == (5,)
            assert x.dtype == np.float64
            assert np.isnan(x[1:4]).all() and np.isnan(y[1:4]).all()
            assert np.isfinite(x[[0, 4]]).all() and np.isfinite(y[[0, 4]]).all()
        off = offset_m(lon, lat, system)
        assert np.isnan(off[1:4]).all() and np.isfinite(off[[0, 4]]).all()
    # inputs are not modified
    assert lon[0] == 114.05 and np.isnan(lat[2])
    x, y = to_wgs84(*SHENZHEN, "gcj02")
    assert x.shape == () and y.shape == ()
    assert isinstance(float(x), float)
    assert _dist_m(x, y, *SHENZHEN) > 250.0
    x, y = to_wgs84(math.nan, math.nan, "bd09")
    assert math.isnan(float(x)) and math.isnan(float(y))
    x, y = to_wgs84([], [], "gcj02")
    assert x.shape == (0,)


def test_shapes_lists_and_broadcasting() -> None:
    lon = np.full((3, 4), 113.3)
    x, y = from_wgs84(lon, 23.1, "gcj02")
    assert x.shape == y.shape == (3, 4)
    assert np.all(x == x[0, 0]) and np.all(y == y[0, 0])
    x, y = to_wgs84([113.3, 114.05], [23.1, 22.54], "bd09")
    assert x.shape == (2,)
    x, y = to_wgs84([113.3, 114.05], [23.1, 22.54], "wgs84")
    np.testing.assert_array_equal(x, [113.3, 114.05])
    np.testing.assert_array_equal(y, [23.1, 22.54])
    with pytest.raises(InvalidParameterError, match="shapes"):
        to_wgs84([1.0, 2.0, 3.0], [1.0, 2.0], "gcj02")
    with pytest.raises(InvalidParameterError, match="numbers"):
        to_wgs84(["a"], [1.0], "gcj02")


def test_outside_china_unchanged() -> None:
    lon = np.array([2.35, -74.0, 151.2])
    lat = np.array([48.85, 40.7, -33.9])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for system in ("gcj02", "bd09"):
            for func in (to_wgs84, from_wgs84):
                x, y = func(lon, lat, system)
                np.testing.assert_array_equal(x, lon)
                np.testing.assert_array_equal(y, lat)
            assert np.all(offset_m(lon, lat, system) == 0.0)


def test_china_box_matches_prcoords() -> None:
    (lat0, lat1), (lon0, lon1) = coords._CHINA_LAT, coords._CHINA_LON
    eps = 1e-9
    for lat, lon in [(lat0, lon0), (lat1, lon1), (30.0, 100.0)]:
        assert prcoords.sanity_in_china_p(prcoords.Coords(lat, lon))
    for lat, lon in [(lat0 - eps, 100.0), (lat1 + eps, 100.0), (30.0, lon0 - eps),
                     (30.0, lon1 + eps)]:
        assert not prcoords.sanity_in_china_p(prcoords.Coords(lat, lon))
        x, y = from_wgs84(lon, lat, "gcj02")
        assert (float(x), float(y)) == (lon, lat)


def test_vectorised_kernels_are_used_and_agree_with_loops() -> None:
    coords._kernels.cache_clear()
    try:
        assert coords._kernels_agree(coords._numpy_kernels(), coords._scalar_kernels())
        assert "_numpy_kernel" in coords._kernels()["wgs_gcj"].__qualname__
    finally:
        coords._kernels.cache_clear()


@pytest.mark.parametrize(
    ("alias", "expected"),
    [
        ("wgs84", "wgs84"), ("WGS-84", "wgs84"), ("WGS84", "wgs84"), ("EPSG:4326", "wgs84"),
        ("epsg:4326", "wgs84"), ("gps", "wgs84"), ("GPS", "wgs84"), (" wgs 84 ", "wgs84"),
        ("gcj02", "gcj02"), ("GCJ-02", "gcj02"), ("gcj", "gcj02"), ("GCJ_02", "gcj02"),
        ("amap", "gcj02"), ("AMap", "gcj02"), ("高德", "gcj02"), ("tencent", "gcj02"),
        ("腾讯", "gcj02"), ("火星", "gcj02"), ("火星坐标系", "gcj02"),
        ("bd09", "bd09"), ("BD-09", "bd09"), ("bd09ll", "bd09"), ("BD09LL", "bd09"),
        ("baidu", "bd09"), ("Baidu", "bd09"), ("百度", "bd09"),
        ("GCJ-02（高德 / 腾讯）", "gcj02"), ("BD-09 (Baidu)", "bd09"),
        ("WGS-84（GPS / OpenStreetMap）", "wgs84"),
    ],
)
def test_aliases(alias: str, expected: str) -> None:
    assert normalize_coord_system(alias) == expected


@pytest.mark.parametrize("bad", ["", "utm", "epsg:3857", "cgcs2000", "baidu mercator",
                                 "bd09mc", "gcj03"])
def test_unknown_system_raises(bad: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        normalize_coord_system(bad)
    assert isinstance(info.value, YizhanError)
    assert info.value.exit_code == 4
    if "mc" not in bad and "mercator" not in bad:
        for accepted in ("wgs84", "gcj02", "bd09"):
            assert accepted in str(info.value)
    with pytest.raises(InvalidParameterError):
        to_wgs84(114.0, 22.5, bad)
    with pytest.raises(InvalidParameterError):
        offset_m(114.0, 22.5, bad)


def test_non_string_system_raises() -> None:
    with pytest.raises(InvalidParameterError, match="string"):
        normalize_coord_system(None)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError):
        to_wgs84(114.0, 22.5, 4326)  # type: ignore[arg-type]


def test_labels() -> None:
    assert COORD_SYSTEMS == ("wgs84", "gcj02", "bd09")
    assert set(COORD_SYSTEM_LABELS) == set(COORD_SYSTEMS)
    for system, (zh, en) in COORD_SYSTEM_LABELS.items():
        assert zh and en and zh != en
        assert normalize_coord_system(zh) == system == normalize_coord_system(en)
    assert "高德" in COORD_SYSTEM_LABELS["gcj02"][0]
    assert "Baidu" in COORD_SYSTEM_LABELS["bd09"][1]


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (["name", "经度(GCJ02)", "纬度(GCJ02)"], "gcj02"),
        (["name", "经度（GCJ-02）"], "gcj02"),
        (["id", "lng_gcj", "lat_gcj"], "gcj02"),
        (["bd09_lon", "bd09_lat"], "bd09"),
        (["站点", "百度经度", "百度纬度"], "bd09"),
        (["lng_bd", "lat_bd"], "bd09"),
        (["高德坐标"], "gcj02"),
        (["腾讯经纬度"], "gcj02"),
        (["wgs84_lat", "wgs84_lon"], "wgs84"),
        (["GPS经度", "GPS纬度"], "wgs84"),
        (["lon", "lat"], None),
        (["name", "经度", "纬度", "地址"], None),
        (["百度网盘链接", "lon", "lat"], None),  # a vendor name alone is not a coordinate
        (["lng_wgs84", "lat_wgs84", "lng_gcj02", "lat_gcj02"], None),  # ambiguous
        ([], None),
    ],
)
def test_guess_from_columns(columns: list[str], expected: str | None) -> None:
    assert guess_from_columns(columns) == expected
    assert guess_from_columns(iter(columns)) == expected


# ------------------------------------------------------------------------- crs_hint

UTM50N = pyproj.CRS.from_epsg(32650)
TO_UTM = pyproj.Transformer.from_crs(4326, UTM50N, always_xy=True)
TO_WGS = pyproj.Transformer.from_crs(UTM50N, 4326, always_xy=True)
SPACING_M = 1000.0
N_LINES = 6


def _street_grid() -> tuple[shapely.Geometry, float, float]:
    """A WGS-84-aligned grid of streets in Shenzhen, as one UTM 50N multi-line."""
    x0, y0 = TO_UTM.transform(*SHENZHEN)
    extent = SPACING_M * (N_LINES - 1)
    lines = [shapely.LineString([(x0 + k * SPACING_M, y0), (x0 + k * SPACING_M, y0 + extent)])
             for k in range(N_LINES)]
    lines += [shapely.LineString([(x0, y0 + k * SPACING_M), (x0 + extent, y0 + k * SPACING_M)])
              for k in range(N_LINES)]
    return shapely.MultiLineString(lines), x0, y0


STREETS, X0, Y0 = _street_grid()


def distance_to_streets(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """The caller's callback: WGS-84 degrees in, metres to the nearest street out."""
    x, y = TO_UTM.transform(np.asarray(lon, float), np.asarray(lat, float))
    return np.asarray(shapely.distance(shapely.points(x, y), STREETS), dtype=float)


def _stations_near_streets(n: int = 40, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """WGS-84 stations 5–20 m beside a street of the grid, away from the edges."""
    rng = np.random.default_rng(seed)
    extent = SPACING_M * (N_LINES - 1)
    k = rng.integers(1, N_LINES - 1, n)
    along = rng.uniform(0.1 * extent, 0.9 * extent, n)
    side = rng.uniform(5.0, 20.0, n) * rng.choice([-1.0, 1.0], n)
    vertical = rng.random(n) < 0.5
    x = np.where(vertical, X0 + k * SPACING_M + side, X0 + along)
    y = np.where(vertical, Y0 + along, Y0 + k * SPACING_M + side)
    lon, lat = TO_WGS.transform(x, y)
    d = distance_to_streets(lon, lat)
    assert d.min() > 4.9 and d.max() < 20.1
    return np.asarray(lon), np.asarray(lat)


@pytest.mark.parametrize("actual", ["gcj02", "bd09"])
@pytest.mark.parametrize("declared", ["wgs84", "WGS-84", "gcj02", "bd09"])
def test_crs_hint_detects_wrong_declaration(actual: str, declared: str) -> None:
    wlon, wlat = _stations_near_streets()
    lon, lat = from_wgs84(wlon, wlat, actual)
    before = (lon.copy(), lat.copy())
    hint = crs_hint(lon, lat, declared=declared, distance_to_streets_m=distance_to_streets)
    np.testing.assert_array_equal(lon, before[0])  # a hint never changes the data
    np.testing.assert_array_equal(lat, before[1])
    if normalize_coord_system(declared) == actual:
        assert hint is None
        return
    assert isinstance(hint, CrsHint)
    assert hint.declared == normalize_coord_system(declared)
    assert hint.suggested == actual
    assert hint.n_points == 40
    assert set(hint.median_dist_m) == set(COORD_SYSTEMS)
    assert hint.median_dist_m[actual] <= 20.1
    assert hint.median_dist_m[hint.declared] >= HINT_MIN_DECLARED_M
    name = {"gcj02": "GCJ-02", "bd09": "BD-09"}[actual]
    assert name in hint.message_zh and name in hint.message_en
    assert f"{hint.median_dist_m[actual]:.0f} m" in hint.message_zh
    assert f"{hint.median_dist_m[hint.declared]:.0f} m" in hint.message_en
    assert ("高德" if actual == "gcj02" else "百度") in hint.message_zh
    assert "请确认坐标系" in hint.message_zh
    assert "check the coordinate system" in hint.message_en
    with pytest.raises(dataclasses.FrozenInstanceError):
        hint.suggested = "wgs84"  # type: ignore[misc]


def test_crs_hint_correct_wgs84_declaration() -> None:
    lon, lat = _stations_near_streets()
    assert crs_hint(lon, lat, declared="wgs84", distance_to_streets_m=distance_to_streets) is None
    # ... but declared as GCJ-02 they would be read ~600 m off: WGS-84 is suggested
    hint = crs_hint(lon, lat, declared="gcj02", distance_to_streets_m=distance_to_streets)
    assert hint is not None and hint.suggested == "wgs84"
    assert "WGS-84" in hint.message_zh


def test_crs_hint_callback_gets_wgs84_of_each_reading() -> None:
    wlon, wlat = _stations_near_streets(10)
    lon, lat = from_wgs84(wlon, wlat, "gcj02")
    seen: list[tuple[np.ndarray, np.ndarray]] = []

    def spy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        seen.append((np.array(x), np.array(y)))
        return distance_to_streets(x, y)

    crs_hint(lon, lat, declared="wgs84", distance_to_streets_m=spy)
    assert len(seen) == 3
    readings = {s: to_wgs84(lon, lat, s) for s in COORD_SYSTEMS}
    for x, y in seen:
        assert any(np.allclose(x, rx) and np.allclose(y, ry) for rx, ry in readings.values())
    # the GCJ-02 reading is the original WGS-84 position
    assert any(_dist_m(x, y, wlon, wlat).max() < ROUND_TRIP_TOL_M for x, y in seen)


def test_crs_hint_too_few_points() -> None:
    wlon, wlat = _stations_near_streets()
    lon, lat = from_wgs84(wlon, wlat, "gcj02")

    def hint(x: ArrayLike, y: ArrayLike, min_points: int = 5) -> CrsHint | None:
        return crs_hint(x, y, declared="wgs84", distance_to_streets_m=distance_to_streets,
                        min_points=min_points)

    assert hint(lon[:4], lat[:4]) is None
    assert hint(lon[:5], lat[:5]) is not None
    assert hint(lon[:5], lat[:5], min_points=6) is None
    # NaN points do not count
    lon_n = np.concatenate([lon[:4], [np.nan] * 10])
    lat_n = np.concatenate([lat[:4], [22.6] * 10])
    assert hint(lon_n, lat_n) is None
    assert hint([], []) is None
    with pytest.raises(InvalidParameterError):
        hint(lon, lat, min_points=0)


def test_crs_hint_far_from_every_street_is_no_hint() -> None:
    # stations 3 km outside the grid: every reading is far, nothing to suggest
    x0, y0 = TO_UTM.transform(*SHENZHEN)
    rng = np.random.default_rng(3)
    lon, lat = TO_WGS.transform(x0 - 3000 + rng.uniform(-200, 200, 20),
                                y0 - 3000 + rng.uniform(-200, 200, 20))
    assert crs_hint(lon, lat, declared="wgs84", distance_to_streets_m=distance_to_streets) is None


def test_crs_hint_dense_grid_is_conservative() -> None:
    """With streets every 60 m a shifted point is still near a street: no false alarm."""
    x0, y0 = TO_UTM.transform(*SHENZHEN)
    ticks = np.arange(0.0, 3000.0, 60.0)
    dense = shapely.MultiLineString(
        [shapely.LineString([(x0 + t, y0), (x0 + t, y0 + 3000)]) for t in ticks]
        + [shapely.LineString([(x0, y0 + t), (x0 + 3000, y0 + t)]) for t in ticks]
    )

    def dist(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        return shapely.distance(shapely.points(*TO_UTM.transform(lon, lat)), dense)

    rng = np.random.default_rng(5)
    wlon, wlat = TO_WGS.transform(x0 + 60 * rng.integers(5, 40, 30) + rng.uniform(5, 15, 30),
                                  y0 + rng.uniform(500, 2500, 30))
    lon, lat = from_wgs84(wlon, wlat, "gcj02")
    assert crs_hint(lon, lat, declared="gcj02", distance_to_streets_m=dist) is None
    assert crs_hint(lon, lat, declared="wgs84", distance_to_streets_m=dist) is None


def test_crs_hint_bad_callback() -> None:
    lon, lat = _stations_near_streets(10)
    with pytest.raises(InvalidParameterError, match="shape"):
        crs_hint(lon, lat, declared="wgs84",
                 distance_to_streets_m=lambda x, y: np.zeros(3))
    with pytest.raises(InvalidParameterError):
        crs_hint(lon, lat, declared="mercator", distance_to_streets_m=distance_to_streets)
    # a callback with no answer (NaN everywhere) gives no hint
    assert crs_hint(lon, lat, declared="wgs84",
                    distance_to_streets_m=lambda x, y: np.full(len(x), np.nan)) is None


def test_crs_hint_infinite_distances() -> None:
    """A callback may answer inf for "no street within reach" (e.g. a capped search)."""
    wlon, wlat = _stations_near_streets()
    lon, lat = from_wgs84(wlon, wlat, "gcj02")

    def capped(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        d = distance_to_streets(x, y)
        return np.where(d > 100.0, np.inf, d)

    hint = crs_hint(lon, lat, declared="wgs84", distance_to_streets_m=capped)
    assert hint is not None and hint.suggested == "gcj02"
    assert math.isinf(hint.median_dist_m["wgs84"])
    assert "inf" not in hint.message_zh and "inf" not in hint.message_en
    assert "∞" in hint.message_en
    assert crs_hint(lon, lat, declared="gcj02", distance_to_streets_m=capped) is None
