"""Helpers shared by the pages: get the current job or explain why there is none."""

from __future__ import annotations

import streamlit as st

from ui.data import JobHandle, current_job, current_region, error_text
from ui.state import app_state, tr
from ui.text import md_text

__all__ = ["fmt_pct", "job_or_message", "md_text", "require_job"]

def require_job() -> JobHandle:
    """The current job; shows a message and stops the page when there is none."""
    handle = job_or_message()
    if handle is None:
        st.stop()
    return handle


def job_or_message() -> JobHandle | None:
    """The current job, or ``None`` after showing why there is none (page goes on)."""
    state = app_state()
    try:
        region = current_region(state)
        handle = current_job(state) if region is not None else None
    except Exception as exc:  # named errors carry advice; never show a traceback
        st.error(error_text(exc))
        return None
    if region is None:
        st.info(tr("请在左侧选择或上传区域。", "Choose or upload a region in the sidebar."))
        return None
    if region.synthetic:
        st.caption(tr("示范区（合成数据）：街道、镇街、人口和站点均为虚构。",
                      "Demo region (synthetic data): streets, towns, population and "
                      "stations are fictional."))
    if handle is None:
        st.info(tr("该区域没有站点名单：请在「站点」页上传。",
                   "This region has no station list: upload one on the Stations page."))
        return None
    return handle


def fmt_pct(x: float | None) -> str:
    return "—" if x is None or x != x else f"{x:.1%}"
