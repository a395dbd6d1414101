"""The sidebar's 驾车 / Car mode on the demo region (AppTest): minutes presets only (no
speed choice), the drive caption, the demo's streets loaded for the car, the map page's
drive headline, and the method page's drive budget."""

from __future__ import annotations

from tests.apphelp import metric, run_app


def test_sidebar_drive_mode_gives_the_map_a_drive_headline() -> None:
    at = run_app()
    at.radio(key="mode").set_value("drive").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.radio(key="mode").value == "drive"
    # speeds are per street by car: no speed selectbox
    assert not [s for s in at.sidebar.selectbox
                if s.key in ("walk_speed", "ebike_speed")]
    assert any("驾车" in c.value and "逐路段车速" in c.value and "单行道" in c.value
               for c in at.sidebar.caption)
    share = metric(at, "驾车覆盖街道")
    assert 0.0 < float(share.rstrip("%")) <= 100.0
    at.radio(key="walk_preset").set_value("5min").run()
    assert not at.exception and not at.error
    assert float(metric(at, "驾车覆盖街道").rstrip("%")) <= float(share.rstrip("%"))


def test_method_page_by_car_says_the_budget_is_a_time() -> None:
    at = run_app(page="pages/method.py")
    at.radio(key="mode").set_value("drive").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    text = " ".join(m.value for m in at.markdown)
    assert "驾车 15 分钟（900 秒，逐路段车速）" in text
    assert any("驾车路网" in i.value for i in at.info)


def test_suggest_page_by_car_says_to_switch_mode() -> None:
    # site suggestions cover streets on foot or by e-bike: by car the page says what to
    # do instead of computing (no engine error)
    at = run_app(page="pages/suggest.py")
    at.radio(key="mode").set_value("drive").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("步行或电动自行车" in i.value for i in at.info)
    assert not at.button  # nothing to compute
