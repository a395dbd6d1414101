"""AppTest helpers shared by the Streamlit page tests."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")


def run_app(*, user: dict[str, object] | None = None, page: str | None = None) -> AppTest:
    """The app after its first run (optionally signed in as ``user``, on ``page``),
    asserting that no exception reached the page."""
    at = AppTest.from_file(APP, default_timeout=180)
    if user is not None:
        at.user = user
    at.run()
    assert not at.exception, at.exception
    if page is not None:
        at.switch_page(page)
        at.run()
        assert not at.exception, at.exception
    return at


def metric(at: AppTest, label: str) -> str:
    """The value of the metric labelled ``label`` (fails listing the labels there are)."""
    for m in at.metric:
        if m.label == label:
            return str(m.value)
    raise AssertionError(f"no metric {label!r}: {[m.label for m in at.metric]}")


def declare_crs(at: AppTest, system: str) -> None:
    """Choose the upload's coordinate system (the radio has no default)."""
    radio = next(r for r in at.radio if str(r.key).startswith("crs_"))
    assert radio.value is None
    radio.set_value(system).run()
    assert not at.exception, at.exception
