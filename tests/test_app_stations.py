"""The 站点 page with a station database (``$YIZHAN_DB``): sign-in (local accounts and
OIDC identities through ``at.user``), per-city permissions enforced by :mod:`geo.stations.store`,
validation, diff, versions, rollback and export — with ``streamlit.testing.v1.AppTest``."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from geo.io.upload import read_upload
from geo.stations.store import StationStore
from geo.stations.validation import validate_stations
from tests.apphelp import metric, run_app

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
PW = "Correct-Horse-42"

SZ_CSV = ("编号,站点名称,类型,经度,纬度,城市\n"
          "0012,南山区粤海街道工会驿站,工会驿站,113.93,22.53,深圳市\n"
          "12,福田区华强北驿站,驿站,114.08,22.54,深圳市\n"
          "13,<img src=x onerror=alert(1)>,工会驿站,114.10,22.55,深圳市\n"
          "14,填反了,工会驿站,22.54,114.06,深圳市\n").encode("gbk")
GZ_CSV = ("编号,名称,经度,纬度,类型\n"
          "G1,天河区工会驿站,113.33,23.14,工会驿站\n").encode("utf-8-sig")


@pytest.fixture()
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StationStore:
    store = StationStore(tmp_path / "stations.db")
    for name, city, role in (("gz@example.org", "广州市", "editor"),
                             ("sz@example.org", "深圳市", "editor"),
                             ("sz_editor", "深圳市", "editor"),
                             ("review@example.org", "province", "reviewer"),
                             ("admin@example.org", "province", "admin")):
        store.add_user(name, password=PW, city=city, role=role)
    v = validate_stations(read_upload("sz0.csv", SZ_CSV), crs="gcj02", city="深圳市")
    store.create_version(v.to_new_version(city="深圳市", note="seed"),
                         user="admin@example.org")
    monkeypatch.setenv("YIZHAN_DB", str(store.path))
    return store


def _stations_page(user: dict[str, object] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    if user is not None:
        at.user = user
    at.run()
    at.switch_page("pages/stations.py")
    at.run()
    assert not at.exception, at.exception
    return at


def _upload(at: AppTest, name: str, data: bytes, crs: str) -> None:
    at.file_uploader(key="station_upload").set_value((name, data, "text/csv")).run()
    assert not at.exception, at.exception
    next(r for r in at.radio if str(r.key).startswith("crs_")).set_value(crs).run()
    assert not at.exception, at.exception


def _oidc(email: str, **claims: object) -> dict[str, object]:
    return {"is_logged_in": True, "email": email, **claims}


def test_guangzhou_user_cannot_create_a_shenzhen_version(db: StationStore) -> None:
    at = _stations_page(_oidc("gz@example.org"))
    assert any("gz@example.org" in s.value for s in at.success)
    _upload(at, "深圳.csv", SZ_CSV, "gcj02")
    at.selectbox(key="target_city").set_value("深圳市").run()
    assert metric(at, "读入行数") == "4"
    assert any("保存会被拒绝" in w.value for w in at.warning)
    # the button is not hidden: the store decides, and refuses
    at.button(key="store_version").click().run()
    assert not at.exception, at.exception
    assert any("may not change" in e.value for e in at.error)
    assert [h.version for h in db.history("深圳市")] == [1]
    assert db.history("广州市") == []


def test_guangzhou_user_stores_a_guangzhou_version(db: StationStore) -> None:
    at = _stations_page(_oidc("gz@example.org"))
    _upload(at, "广州.csv", GZ_CSV, "gcj02")
    assert at.selectbox(key="target_city").value == "广州市"
    assert not any("保存会被拒绝" in w.value for w in at.warning)
    at.button(key="store_version").click().run()
    assert not at.exception, at.exception
    hist = db.history("广州市")
    assert [(h.version, h.created_by, h.source_name, h.accepted) for h in hist] == [
        (1, "gz@example.org", "广州.csv", 1)]
    assert db.raw("广州市", version=1) == ("广州.csv", GZ_CSV)


def test_reviewer_is_read_only(db: StationStore) -> None:
    at = _stations_page(_oidc("review@example.org"))
    _upload(at, "深圳.csv", SZ_CSV, "gcj02")
    at.button(key="store_version").click().run()
    assert any("may not change" in e.value for e in at.error)
    assert len(db.history("深圳市")) == 1
    # history is readable; a rollback is refused too
    assert at.selectbox(key="hist_city").value == "深圳市"
    assert at.button(key="rollback").disabled  # v1 is already current
    db.create_version(validate_stations(read_upload("gz.csv", GZ_CSV), crs="wgs84")
                      .to_new_version(city="深圳市"), user="admin@example.org")
    at.run()
    at.selectbox(key="hist_version").set_value(1).run()
    at.button(key="rollback").click().run()
    assert not at.exception, at.exception
    assert any("may not change" in e.value for e in at.error)
    assert len(db.history("深圳市")) == 2


def test_unknown_or_expired_identity_is_not_signed_in(db: StationStore) -> None:
    at = _stations_page(_oidc("stranger@example.org"))
    assert any("yizhan users add stranger@example.org" in e.value for e in at.error)
    _upload(at, "深圳.csv", SZ_CSV, "gcj02")
    assert not any(b.key == "store_version" for b in at.button)
    at = _stations_page(_oidc("sz@example.org", exp=int(time.time()) - 60))
    assert any("过期" in w.value for w in at.warning)
    assert not any("sz@example.org" in s.value for s in at.success)


def test_local_sign_in_store_diff_and_rollback(db: StationStore) -> None:
    at = _stations_page()
    at.text_input(key="auth_name").input("sz_editor")
    at.text_input(key="auth_password").input("wrong-password-1")
    next(b for b in at.button if b.label == "登录").click().run()
    assert any("wrong" in e.value.lower() or "错误" in e.value for e in at.error)
    at.text_input(key="auth_password").input(PW)
    next(b for b in at.button if b.label == "登录").click().run()
    assert not at.exception, at.exception
    assert any("sz_editor" in s.value for s in at.success)
    new = ("编号,站点名称,类型,经度,纬度\n"
           "0012,南山驿站（改名）,工会驿站,113.94,22.53\n"
           "12,福田区华强北驿站,驿站,114.08,22.54\n"
           "30,新站,爱心妈妈小屋,114.12,22.60\n").encode()
    _upload(at, "v2.csv", new, "gcj02")
    assert at.selectbox(key="target_city").value == "深圳市"
    # diff against v1: +1 (30), -1 (13), moved 1 (0012, ~1 km), renamed 1 (0012)
    assert (metric(at, "新增"), metric(at, "删除"), metric(at, "移动"),
            metric(at, "改名")) == ("1", "1", "1", "1")
    at.button(key="store_version").click().run()
    assert not at.exception, at.exception
    assert [h.version for h in db.history("深圳市")] == [1, 2]
    assert db.history("深圳市")[1].created_by == "sz_editor"
    # roll back to v1 from the history tab
    at.selectbox(key="hist_version").set_value(1).run()
    at.button(key="rollback").click().run()
    assert not at.exception, at.exception
    hist = db.history("深圳市")
    assert [(h.version, h.action, h.parent_version) for h in hist][-1] == (3, "rollback", 1)
    assert list(db.stations("深圳市")["station_id"]) == list(
        db.stations("深圳市", version=1)["station_id"])
    labels = {b.label for b in at.download_button}
    assert {"导出 CSV", "导出 GeoJSON", "导出 GeoPackage", "导出 Excel", "原始上传文件"} <= labels
    # sign out
    at.button(key="auth_logout").click().run()
    assert not any("sz_editor" in s.value for s in at.success)


def test_hostile_names_are_shown_as_text(db: StationStore) -> None:
    at = _stations_page(_oidc("sz@example.org"))
    _upload(at, "深圳.csv", SZ_CSV, "gcj02")
    # the name is data in a table, never Markdown/HTML
    for md in at.markdown:
        assert "<img" not in md.value


def test_coverage_uses_the_chosen_city_version(db: StationStore, tmp_path: Path) -> None:
    """Sidebar 站点名单 → a stored version: the map page computes coverage from it."""
    import io

    import pandas as pd

    from geo.pipeline.demo import build_demo_region

    st = build_demo_region().stations
    df = pd.DataFrame({"station_id": st["station_id"], "name": st["name"], "type": st["type"],
                       "lon": st.geometry.x, "lat": st.geometry.y}).head(5)
    buf = io.StringIO()
    df.to_csv(buf, index=False)
    v = validate_stations(read_upload("demo5.csv", buf.getvalue().encode()), crs="wgs84")
    db.create_version(v.to_new_version(city="示范市"), user="admin@example.org")
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    full = metric(at, "接入路网的站点")
    at.selectbox(key="db_city").set_value("示范市").run()
    assert not at.exception, at.exception
    assert metric(at, "接入路网的站点") == "5 / 5" != full


def test_admin_creates_a_new_city_in_english(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    store = StationStore(tmp_path / "new.db")
    store.add_user("admin@example.org", password=PW, city="province", role="admin")
    monkeypatch.setenv("YIZHAN_DB", str(store.path))
    at = AppTest.from_file(APP, default_timeout=180)
    at.user = _oidc("admin@example.org")
    at.run()
    at.radio(key="lang_radio").set_value("English").run()
    at.switch_page("pages/stations.py")
    at.run()
    assert not at.exception, at.exception
    _upload(at, "sz.csv", SZ_CSV, "gcj02")
    at.text_input(key="target_city_new").input("深圳市").run()
    assert (metric(at, "Rows in"), metric(at, "Accepted"), metric(at, "Rejected")) == (
        "4", "3", "1")
    assert metric(at, "Added") == "3"
    at.button(key="store_version").click().run()
    assert not at.exception, at.exception
    assert any("Stored: 深圳市 v1 (3 stations)" in s.value for s in at.success)
    info = store.current("深圳市")
    assert info is not None and info.created_by == "admin@example.org"
    assert info.declared_crs == "gcj02" and info.rows_in == 4 and info.rejected == 1


ZHAOQING_CSV = ("站点名称,经度,纬度,类型\n"
                "端州区工会驿站,112.4721,23.0512,工会驿站\n"
                "鼎湖区工会驿站,112.5653,23.1582,工会驿站\n"
                "高要区职工服务中心,112.4578,23.0258,职工服务中心\n"
                "四会市爱心妈妈小屋,112.7341,23.3270,爱心妈妈小屋\n").encode("gbk")


def test_a_list_of_another_city_is_not_compared_on_the_loaded_region() -> None:
    """A Zhaoqing list while the demo region is loaded: the page says so in Chinese with
    what to do, shows no diff against the demo's list and no coverage comparison."""
    at = run_app(page="pages/stations.py")
    _upload(at, "肇庆.csv", ZHAOQING_CSV, "gcj02")
    assert metric(at, "读入行数") == "4"
    warnings = " ".join(w.value for w in at.warning)
    assert "不在当前区域" in warnings and "路网" in warnings, warnings
    labels = {m.label for m in at.metric}
    assert "新增" not in labels and "删除" not in labels  # no diff with the demo's list
    assert "覆盖街道" not in labels  # no before/after comparison
    assert not at.error, [e.value for e in at.error]
    assert not any("max_snap_m" in (i.value or "") for i in at.info)
