"""驿站圈 Yizhan — the planning app (Streamlit).

Run: ``streamlit run app.py`` (the demo region needs no data and no internet). Each page
draws the shared sidebar itself (``ui.sidebar.render_sidebar``); the values live in the
typed session state, so they carry over from page to page.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("GDAL_SKIP", "OGR_VRT")

import streamlit as st

from geo.webmap.offline import ensure_static_files

st.set_page_config(page_title="驿站圈 Yizhan", layout="wide")
ensure_static_files(Path(__file__).resolve().parent / "static")

pages = [
    st.Page("pages/map.py", title="地图 Map", default=True),
    st.Page("pages/towns.py", title="薄弱镇街 Under-served towns"),
    st.Page("pages/stations.py", title="站点 Stations"),
    st.Page("pages/progress.py", title="进度 Progress"),
    st.Page("pages/suggest.py", title="选址建议 Site suggestions"),
    st.Page("pages/bases.py", title="疗休养基地 Convalescence bases"),
    st.Page("pages/report.py", title="报告 Report"),
    st.Page("pages/province.py", title="省级 Province"),
    st.Page("pages/method.py", title="方法 Method"),
]
st.navigation(pages).run()
