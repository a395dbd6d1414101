"""Every page of the app on the demo region, with ``streamlit.testing.v1.AppTest``."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.apphelp import declare_crs, metric, run_app

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
PAGES = ["pages/map.py", "pages/towns.py", "pages/stations.py", "pages/suggest.py",
         "pages/report.py", "pages/method.py"]


@pytest.fixture(scope="module")
def app() -> AppTest:
    return run_app()


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders(app: AppTest, page: str) -> None:
    app.switch_page(page)
    app.run()
    assert not app.exception, app.exception
    assert not app.error, [e.value for e in app.error]
    assert app.title[0].value  # each page has a title


def test_map_page_figures_change_with_walk_time() -> None:
    at = run_app()
    before = metric(at, "步行覆盖街道")
    at.radio(key="walk_preset").set_value("5min").run()
    assert not at.exception
    after = metric(at, "步行覆盖街道")
    assert before != after
    assert float(after.rstrip("%")) < float(before.rstrip("%"))
    # elderly speed shrinks coverage further
    at.selectbox(key="walk_speed").set_value("elderly").run()
    assert float(metric(at, "步行覆盖街道").rstrip("%")) < float(after.rstrip("%"))


def test_language_switch_to_english() -> None:
    at = run_app()
    at.radio(key="lang_radio").set_value("English").run()
    assert not at.exception
    assert at.title[0].value == "Map"
    assert metric(at, "Streets within reach").endswith("%")


def test_towns_ranking_table_present_and_sorted(app: AppTest) -> None:
    app.switch_page("pages/towns.py")
    app.run()
    assert not app.exception
    df = app.dataframe[0].value
    assert "薄弱排名" in df.columns
    ranks = df["薄弱排名"].tolist()
    assert ranks == sorted(ranks) and ranks[0] == 1
    # the demo's most under-served town comes first
    assert df.iloc[0]["镇街"] == "新洲镇"
    # two downloads: CSV and Excel
    labels = [b.label for b in app.download_button]
    assert "下载 CSV" in labels and "下载 Excel" in labels


def _media_id(data: bytes, mime: str, name: str) -> str | None:
    """The id Streamlit's media storage gives a download (its file URL), or None."""
    try:
        from streamlit.runtime.memory_media_file_storage import _calculate_file_id
    except ImportError:
        return None
    return _calculate_file_id(data, mime, name)


def test_towns_page_formats_sorts_and_downloads_what_it_shows() -> None:
    import json

    from geo.reports.town_table import download_frame, filter_sort, headers, towns_csv

    at = run_app(page="pages/towns.py")
    table = at.dataframe[0]
    df = table.value
    assert list(df.columns[:4]) == ["薄弱排名", "镇街", "区县", "原因"]  # reason visible
    # the demo's people are measured on its synthetic raster (112,000 invented people
    # in 新洲镇, 111,893 of them in cells inside its boundary)
    assert df["人口覆盖率"].iloc[0] == pytest.approx(7.8)  # per cent, shown "7.8%"
    # (uncovered people measured with the app's area grid)
    assert df["人口"].iloc[0] == 111_893 and df["未覆盖人口"].iloc[0] == 103_159
    assert df["P90步行时间（分钟）"].iloc[0] == "> 15 分钟"  # not None
    config = json.loads(table.proto.columns)
    assert config["人口覆盖率"]["type_config"]["format"] == "%.1f%%"
    assert config["街道覆盖率"]["type_config"]["type"] == "progress"
    assert config["原因"]["width"] >= 300  # the reason on one line, fourth
    chart = json.loads(at.get("vega_lite_chart")[0].proto.spec)["encoding"]
    assert chart["y"]["sort"] is None and chart["y"]["title"] == "镇街"  # table order
    assert chart["x"]["title"] == "未覆盖人口"
    # sort by name: pinyin order (běi, huā, jīn, lín, róng, xīn)
    at.selectbox(key="town_sort").set_value("name").run()
    order = ["北岸街道", "花溪街道", "金沙街道", "临江街道", "榕荫街道", "新洲镇"]
    assert at.dataframe[0].value["镇街"].tolist() == order
    # filter a district: the table and the downloads hold the same rows, same order
    at.multiselect(key="town_districts").set_value(["云溪区"]).run()
    assert at.dataframe[0].value["镇街"].tolist() == ["花溪街道", "金沙街道", "榕荫街道"]
    from geo.pipeline.job import APP_AREA_PIXEL_M, run_demo

    towns = pd.DataFrame(run_demo(area_pixel_m=APP_AREA_PIXEL_M).towns.towns
                         .drop(columns="geometry"))
    shown = download_frame(filter_sort(towns, districts=["云溪区"], sort_by="name"),
                           walk_time_min=15.0, lang="zh")
    expected = towns_csv(shown, headers(shown, "population_raster", "zh"))
    csv_button = next(b for b in at.download_button if b.key == "dl_towns_csv")
    media_id = _media_id(expected, "text/csv", "towns.csv")
    if media_id is not None:
        assert media_id in csv_button.proto.url


def test_towns_page_in_english() -> None:
    at = run_app()
    at.radio(key="lang_radio").set_value("English").run()
    at.switch_page("pages/towns.py")
    at.run()
    assert not at.exception, at.exception
    df = at.dataframe[0].value
    assert list(df.columns[:4]) == ["Under-served rank", "Town", "District", "Reason"]
    assert df["P90 walk time (min)"].iloc[0] == "> 15 min"
    assert "Uncovered people" in df.columns


def test_report_page_puts_the_reports_first(app: AppTest) -> None:
    app.switch_page("pages/report.py")
    app.run()
    keys = [b.key for b in app.download_button]
    assert keys[:2] == ["dl_report_pdf", "dl_report_xlsx"]  # what reviewers file
    last_report = max(i for i, k in enumerate(keys) if str(k).startswith("dl_report_"))
    assert keys.index("dl_summary.json") > last_report  # raw files after the reports
    assert keys.index("dl_zip") > last_report and keys.index("dl_html") > last_report


def test_method_page_numbers_read_as_written(app: AppTest) -> None:
    app.switch_page("pages/method.py")
    app.run()
    table = app.table[0].value
    assert table["步行时间（分钟）"].tolist() == ["5", "10", "15"]
    assert table["4.0 km/h 下距离（米）"].tolist() == ["333", "667", "1,000"]


def _demo_stations_csv() -> bytes:
    from geo.pipeline.demo import build_demo_region

    st = build_demo_region().stations
    df = pd.DataFrame({"station_id": st["station_id"], "name": st["name"], "type": st["type"],
                       "lon": st.geometry.x, "lat": st.geometry.y})
    # keep only the first 8 stations, add one in the under-served north-east and a bad row
    df = df.head(8)
    bad = pd.DataFrame({"station_id": ["X-BAD"], "name": ["坏行"], "type": ["工会驿站"],
                        "lon": ["abc"], "lat": [23.1]})
    buf = io.StringIO()
    pd.concat([df, bad]).to_csv(buf, index=False)
    return buf.getvalue().encode("utf-8")


def test_uploading_a_station_list_changes_the_figures() -> None:
    at = run_app()
    at.switch_page("pages/stations.py")
    at.run()
    at.file_uploader(key="station_upload").set_value(
        ("stations.csv", _demo_stations_csv(), "text/csv")).run()
    assert not at.exception, at.exception
    # nothing is validated before the coordinate system is declared
    assert not any(m.label == "读入行数" for m in at.metric)
    declare_crs(at, "wgs84")
    assert metric(at, "读入行数") == "9"
    assert metric(at, "接受") == "8"
    assert metric(at, "拒绝") == "1"
    # the comparison shows a lower coverage with only 8 stations (replace mode)
    cov = next(m for m in at.metric if m.label == "覆盖街道")
    assert str(cov.delta).startswith("-")
    at.button(key="st_use").click().run()
    assert not at.exception
    at.switch_page("pages/map.py")
    at.run()
    assert metric(at, "接入路网的站点") == "8 / 9"


def test_report_page_offers_every_output(app: AppTest) -> None:
    app.switch_page("pages/report.py")
    app.run()
    labels = {b.label for b in app.download_button}
    for name in ("summary.json", "stations.csv", "service_areas.geojson", "coverage.geojson",
                 "towns.csv", "towns.geojson", "zones.csv"):
        assert name in labels
    assert any("HTML" in lb for lb in labels)


def test_online_download_fails_with_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    import geo.network.loaders

    def offline(*_a: object, **_k: object) -> None:
        raise OSError("Network is unreachable")

    monkeypatch.setattr(geo.network.loaders, "_osmnx_download", offline)
    at = run_app()
    at.selectbox(key="region_kind").set_value("online").run()
    at.text_input(key="online_place").set_value("福田区, 深圳市, 广东省").run()
    at.button(key="online_go").click().run()
    assert not at.exception
    msgs = " ".join(e.value for e in at.error)
    assert "internet" in msgs.lower() or "联网" in msgs


def test_sessions_do_not_share_uploads() -> None:
    a = run_app()
    a.switch_page("pages/stations.py")
    a.run()
    a.file_uploader(key="station_upload").set_value(
        ("stations.csv", _demo_stations_csv(), "text/csv")).run()
    declare_crs(a, "wgs84")
    a.button(key="st_use").click().run()
    b = run_app()  # a second session
    assert metric(b, "接入路网的站点") == "30 / 32"


def test_map_page_draws_chosen_stations_areas_on_demand(monkeypatch) -> None:
    # a list too long for every station's area to be built with the job: the map page
    # offers the stations, and draws the chosen ones' exact areas computed on demand
    import streamlit as st

    import geo.pipeline.job as job_module
    import ui.data
    from geo.coverage.service_areas import service_area_of

    monkeypatch.setattr(job_module, "AUTO_STATION_AREAS_MAX", 0)
    asked: list[list[str]] = []

    def recording(cov, ids):  # the real computation, recorded
        asked.append(sorted(ids))
        out = service_area_of(cov, ids)
        assert len(out) == len(ids) and (out["area_m2"] > 0).all()
        return out

    monkeypatch.setattr(ui.data, "service_area_of", recording)
    st.cache_resource.clear()
    try:
        at = run_app()
        assert not at.exception
        pick = at.multiselect(key="map_area_stations")
        ids = [o.rsplit("(", 1)[-1].rstrip(")") for o in list(pick.options)[:2]]
        assert len(pick.options) >= 20
        assert asked == []  # nothing computed before a station is chosen
        pick.set_value(ids).run()
        assert not at.exception
        assert asked == [sorted(ids)]  # only the chosen stations
    finally:
        st.cache_resource.clear()
