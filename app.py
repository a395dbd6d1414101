"""驿站圈 Yizhan — the planning app (Streamlit).

Run: ``streamlit run app.py`` (the demo region needs no data and no internet).
"""

from __future__ import annotations

import os

os.environ.setdefault("GDAL_SKIP", "OGR_VRT")

import streamlit as st

from ui.offline import ensure_static_files
from ui.sidebar import render_sidebar

st.set_page_config(page_title="驿站圈 Yizhan", page_icon="🗺️", layout="wide")
ensure_static_files()
state = render_sidebar()

pages = [
    st.Page("pages/map.py", title="地图 Map", icon="🗺️", default=True),
    st.Page("pages/towns.py", title="薄弱镇街 Under-served towns", icon="📉"),
    st.Page("pages/stations.py", title="站点 Stations", icon="📍"),
    st.Page("pages/report.py", title="报告 Report", icon="📄"),
    st.Page("pages/method.py", title="方法 Method", icon="📘"),
]
st.navigation(pages).run()
