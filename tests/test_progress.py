"""Tests of geo.pipeline.progress: coverage per (city, version) of the station store."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import geo.pipeline.progress as progress_mod
from geo.errors import InvalidParameterError, UnknownVersionError
from geo.params import CoverageParams
from geo.pipeline.job import run_coverage, summary_dict
from geo.pipeline.progress import FRAME_COLUMNS, ProgressTable, coverage_progress
from geo.pipeline.region import Region, demo_region
from geo.schema import STATION_TYPES
from geo.stations.store import ANONYMOUS_TEXT, NewVersion, StationStore, layer_table
from tests.apphelp import run_app

PASSWORD = "Lychee-harbour-42"
CITY = "示范市"
PARAMS = CoverageParams(walk_time_min=10.0, walk_speed_kmh=4.0, buffer_m=40.0)


def version_of(stations: gpd.GeoDataFrame, *, city: str = CITY, tag: str = "") -> NewVersion:
    """A NewVersion holding ``stations`` (demo rows, WGS-84)."""
    ll = stations.geometry.to_crs("EPSG:4326")
    frame = pd.DataFrame({
        "station_id": stations["station_id"].astype(str).to_numpy(),
        "name": stations["name"].astype(str).to_numpy(),
        "type": stations["type"].astype(str).to_numpy(),
        "address": stations["address"].to_numpy(),
        "city": [city] * len(stations), "district": stations["district"].to_numpy(),
        "lon": ll.x.to_numpy(), "lat": ll.y.to_numpy(),
    })
    raw = (tag + ",".join(frame["station_id"])).encode()
    return NewVersion(city=city, source_name="stations.csv", raw=raw, declared_crs="wgs84",
                      stations=frame, rows_in=len(frame), rejected=0)


@pytest.fixture(scope="module")
def region() -> Region:
    return demo_region()


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory, region: Region) -> Path:
    """示范市 with three versions (10, 20, all 32 demo stations) and 乙市 with one."""
    assert region.stations is not None
    acc = region.stations.accepted
    path = tmp_path_factory.mktemp("progress") / "stations.sqlite"
    store = StationStore(path)
    store.add_user("admin", password=PASSWORD, city="广东省", role="admin")
    for n in (10, 20, len(acc)):
        store.create_version(version_of(acc.iloc[:n]), user="admin")
    store.create_version(version_of(acc.iloc[5:9], city="乙市"), user="admin")
    return path


def test_one_row_per_version_with_counts_by_type(store_path: Path, region: Region) -> None:
    store = StationStore(store_path, create=False)
    table = coverage_progress(store, region, cities=[CITY], params=PARAMS)
    assert isinstance(table, ProgressTable)
    assert [(r.city, r.version) for r in table.rows] == [(CITY, 1), (CITY, 2), (CITY, 3)]
    assert [r.stations_total for r in table.rows] == [10, 20, 32]
    assert table.rows[0].created_by == "admin" and table.rows[0].action == "import"
    assert region.stations is not None
    acc = region.stations.accepted
    for row, n in zip(table.rows, (10, 20, 32), strict=True):
        want = acc.iloc[:n]["type"].value_counts()
        assert row.by_type() == {t: int(want.get(t, 0)) for t in STATION_TYPES}
        assert sum(row.by_type().values()) == row.stations_total
    shares = [r.covered_share for r in table.rows]
    assert all(s is not None for s in shares)
    assert shares == sorted(shares)  # more stations cover at least as much
    # the demo ships a synthetic population raster: people are the demand
    assert table.demand_basis == "population_raster"
    assert not table.anonymous and table.note() == ""
    with pytest.raises(dataclasses.FrozenInstanceError):
        table.rows[0].version = 9  # type: ignore[misc]


def test_shares_equal_a_direct_run_coverage(store_path: Path, region: Region) -> None:
    store = StationStore(store_path, create=False)
    table = coverage_progress(store, region, cities=[CITY], params=PARAMS)
    for row in table.rows:
        stations, _info = layer_table(store, CITY, version=row.version)
        s = summary_dict(run_coverage(region.network, stations, params=PARAMS,
                                      towns=region.towns, population=region.population))
        assert row.covered_population_share == s["covered_population_share"]
        assert row.covered_share == s["covered_population_share"]
        assert row.covered_length_share == s["covered_length_share"]
        assert row.covered_length_m == s["covered_length_m"]
        assert row.stations_used == s["stations"]["used"]
        assert row.stations_off_network == s["stations"]["off_network"]
        assert row.total_length_m == s["total_length_m"]


def test_network_only_uses_street_length(store_path: Path, region: Region) -> None:
    store = StationStore(store_path, create=False)
    table = coverage_progress(store, region.network, cities=["乙市"], params=PARAMS)
    (row,) = table.rows
    assert row.demand_basis == "street_length"
    assert row.covered_population_share is None
    assert row.covered_share == row.covered_length_share
    stations, _ = layer_table(store, "乙市")
    s = summary_dict(run_coverage(region.network, stations, params=PARAMS))
    assert row.covered_length_share == s["covered_length_share"]


def test_every_city_by_default_and_the_frame(store_path: Path, region: Region) -> None:
    store = StationStore(store_path, create=False)
    table = coverage_progress(store, region, params=PARAMS)
    assert table.cities == ("乙市", CITY)
    frame = table.frame()
    assert tuple(frame.columns) == FRAME_COLUMNS
    assert len(frame) == 4
    assert frame["stations_工会驿站"].dtype == "int64"
    meta = table.meta()
    assert meta["params"]["walk_time_min"] == 10.0
    assert meta["demand_basis"] == "population_raster"
    json.dumps(meta)


def test_cache_hit_skips_recomputation(store_path: Path, region: Region, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    store = StationStore(store_path, create=False)
    calls: list[int] = []
    real = progress_mod.run_coverage

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(progress_mod, "run_coverage", counting)
    first = coverage_progress(store, region, cities=[CITY], params=PARAMS,
                              cache_dir=tmp_path)
    assert len(calls) == 3 and first.computed == 3 and first.cached == 0
    assert len(list(tmp_path.glob("progress-*.json"))) == 3
    again = coverage_progress(store, region, cities=[CITY], params=PARAMS,
                              cache_dir=tmp_path)
    assert len(calls) == 3 and again.cached == 3
    assert [r.covered_share for r in again.rows] == [r.covered_share for r in first.rows]
    assert all(r.from_cache for r in again.rows)
    # other parameters are other content: computed again
    other = CoverageParams(walk_time_min=5.0)
    coverage_progress(store, region, cities=[CITY], params=other, cache_dir=tmp_path)
    assert len(calls) == 6
    # a corrupt cache file is ignored and rewritten
    victim = sorted(tmp_path.glob("progress-*.json"))[0]
    victim.write_text("{not json", encoding="utf-8")
    coverage_progress(store, region, cities=[CITY], params=PARAMS, cache_dir=tmp_path)
    coverage_progress(store, region, cities=[CITY], params=other, cache_dir=tmp_path)
    assert len(calls) == 7
    # without cache_dir nothing is read
    coverage_progress(store, region, cities=["乙市"], params=PARAMS)
    assert len(calls) == 8


def test_a_new_version_is_the_only_one_computed(tmp_path: Path, region: Region,
                                                monkeypatch: pytest.MonkeyPatch,
                                                store_path: Path) -> None:
    db = tmp_path / "copy.sqlite"
    StationStore(store_path, create=False).backup(db)
    store = StationStore(db, create=False)
    cache = tmp_path / "cache"
    coverage_progress(store, region, cities=[CITY], params=PARAMS, cache_dir=cache)
    assert region.stations is not None
    store.create_version(version_of(region.stations.accepted.iloc[:3], tag="v4"), user="admin")
    calls: list[int] = []
    real = progress_mod.run_coverage
    monkeypatch.setattr(progress_mod, "run_coverage",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    table = coverage_progress(store, region, cities=[CITY], params=PARAMS, cache_dir=cache)
    assert [r.version for r in table.rows] == [1, 2, 3, 4]
    assert len(calls) == 1 and table.computed == 1 and table.cached == 3


def test_anonymous_reader_gets_current_versions_only(store_path: Path, region: Region,
                                                     tmp_path: Path) -> None:
    store = StationStore(store_path, create=False)
    cache = tmp_path / "cache"
    full = coverage_progress(store, region, params=PARAMS, cache_dir=cache)
    table = coverage_progress(store, region, params=PARAMS, user=None, cache_dir=cache)
    assert table.anonymous
    assert [(r.city, r.version) for r in table.rows] == [("乙市", 1), (CITY, 3)]
    assert all(r.created_by == ANONYMOUS_TEXT for r in table.rows)
    assert "登录" in table.note("zh") and "sign-in" in table.note("en")
    by_key = {(r.city, r.version): r.covered_share for r in full.rows}
    assert [r.covered_share for r in table.rows] == [by_key[("乙市", 1)], by_key[(CITY, 3)]]
    assert table.cached == 2  # the cache holds figures only, no names
    for f in cache.glob("progress-*.json"):
        assert "admin" not in f.read_text(encoding="utf-8")


def test_signed_in_user_reads_everything(store_path: Path, region: Region) -> None:
    store = StationStore(store_path, create=False)
    table = coverage_progress(store, region, cities=["乙市"], params=PARAMS, user="admin")
    assert [r.created_by for r in table.rows] == ["admin"]


def test_unknown_city_and_bad_arguments(store_path: Path, region: Region) -> None:
    store = StationStore(store_path, create=False)
    with pytest.raises(UnknownVersionError, match="深圳市"):
        coverage_progress(store, region, cities=["深圳市"], params=PARAMS)
    with pytest.raises(InvalidParameterError):
        coverage_progress(store, region, cities=CITY, params=PARAMS)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError):
        coverage_progress(store, "net", params=PARAMS)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError):
        coverage_progress(store, region, params={"walk_time_min": 5})  # type: ignore[arg-type]


def test_a_list_off_the_network_covers_nothing(tmp_path: Path, region: Region) -> None:
    store = StationStore(tmp_path / "s.sqlite")
    store.add_user("admin", password=PASSWORD, city="广东省", role="admin")
    assert region.stations is not None
    far = region.stations.accepted.iloc[:2].copy()
    far["geometry"] = gpd.points_from_xy([116.5, 116.6], [24.5, 24.6], crs="EPSG:4326")
    far = gpd.GeoDataFrame(far, geometry="geometry", crs="EPSG:4326")
    store.create_version(version_of(far), user="admin")
    (row,) = coverage_progress(store, region, params=PARAMS).rows
    assert row.stations_used == 0 and row.stations_off_network == 2
    assert row.covered_share == 0.0 and row.note == "no station on the network"
    assert row.demand_basis == "population_raster"


def test_progress_callback(store_path: Path, region: Region) -> None:
    seen: list[tuple[int, int]] = []
    coverage_progress(StationStore(store_path, create=False), region, cities=[CITY],
                      params=PARAMS, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(1, 3), (2, 3), (3, 3)]


# ------------------------------------------------------------------------------ the page


def _page(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db: Path | None,
          user: dict[str, object] | None = None) -> AppTest:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if db is None:
        monkeypatch.delenv("YIZHAN_DB", raising=False)
    else:
        monkeypatch.setenv("YIZHAN_DB", str(db))
    return run_app(user=user, page="pages/progress.py")


def test_page_without_a_database_says_how_to_configure(monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    at = _page(monkeypatch, tmp_path, None)
    assert any("YIZHAN_DB" in i.value for i in at.info)
    assert not at.dataframe


def test_page_anonymous_shows_current_versions(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path, store_path: Path) -> None:
    at = _page(monkeypatch, tmp_path, store_path)
    assert at.title[0].value == "进度"
    assert any("未登录" in i.value for i in at.info)
    (df,) = at.dataframe
    assert len(df.value) == 2 and set(df.value["版本"]) == {1, 3}
    assert set(df.value["操作者"]) == {ANONYMOUS_TEXT}
    assert {b.label for b in at.download_button} == {"下载 CSV", "下载 Excel"}
    # choose one city: one chart's rows
    at.multiselect(key="progress_cities").set_value([CITY]).run()
    assert not at.exception, at.exception
    assert list(at.dataframe[0].value["城市"]) == [CITY]


def test_page_signed_in_shows_every_version_in_english(monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path,
                                                       store_path: Path) -> None:
    at = _page(monkeypatch, tmp_path, store_path,
               user={"is_logged_in": True, "email": "admin"})
    at.radio(key="lang_radio").set_value("English").run()
    assert not at.exception, at.exception
    df = at.dataframe[0].value
    assert list(zip(df["City"], df["Version"], strict=True)) == [
        ("乙市", 1), (CITY, 1), (CITY, 2), (CITY, 3)]
    assert set(df["By"]) == {"admin"} and set(df["Action"]) == {"import"}
    assert not any("Not signed in" in i.value for i in at.info)
    shares = df.loc[df["City"] == CITY, "Covered share"].tolist()
    assert shares == sorted(shares) and 0 < shares[-1] <= 100


def test_a_walk_region_runs_ebike_params_on_its_ebike_streets(store_path: Path,
                                                              region: Region) -> None:
    """The app's regions are loaded for walking: with e-bike parameters the region's
    streets are loaded again with the e-bike filter (the demo rebuilt in code)."""
    store = StationStore(store_path, create=False)
    ebike = CoverageParams.for_mode("ebike", minutes=10.0)
    assert region.network.filter_report.version == "walk-v1"
    table = coverage_progress(store, region, cities=[CITY], params=ebike)
    direct = coverage_progress(store, demo_region(mode="ebike"), cities=[CITY], params=ebike)
    assert [r.covered_share for r in table.rows] == [r.covered_share for r in direct.rows]
    assert table.network_key == direct.network_key
    walk = coverage_progress(store, region, cities=[CITY], params=PARAMS)
    assert all(e.covered_length_share > w.covered_length_share  # type: ignore[operator]
               for e, w in zip(table.rows, walk.rows, strict=True))
    meta = table.meta()
    assert meta["params"]["travel_mode"] == "ebike"
    assert meta["params"]["network_filter"]["filter"] == "ebike-v1"
    # a bare network of another mode is refused by the engine, with what to do
    with pytest.raises(InvalidParameterError, match="mode='ebike'"):
        coverage_progress(store, region.network, cities=[CITY], params=ebike)
