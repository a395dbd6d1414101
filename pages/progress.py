"""进度 Coverage progress — every stored version of each city's list, with the same
parameters: how the 15-minute circle is being built."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from geo.reports.progress import display_frame, progress_csv, progress_xlsx
from geo.vocab import label, mode_name
from ui.auth import current_account, open_store
from ui.boot import require_entrypoint
from ui.data import current_region, error_text
from ui.page import md_text
from ui.progress import progress_table
from ui.sidebar import render_sidebar
from ui.state import tr
from ui.tables import display_table

require_entrypoint()
state = render_sidebar()
lang = state.lang
st.title(tr("进度", "Coverage progress"))
st.caption(tr("按城市和版本（时间、操作者）列出各类站点数和覆盖率（人口，或无人口数据时按街道长度），"
              "全部版本使用左侧相同的参数和路网计算，便于了解 15 分钟服务圈的建设进度。",
              "Per city and stored version (when, by whom): stations by type and the covered "
              "share (people, or street length without population), every version computed "
              "with the same parameters and network from the sidebar — how the 15-minute "
              "circle is being built."))

try:
    store = open_store()
except Exception as exc:
    st.error(error_text(exc))
    st.stop()
if store is None:
    st.info(tr("未配置站点数据库：进度来自数据库中保存的各版本名单。请设置环境变量 "
               "YIZHAN_DB=文件路径（如 `YIZHAN_DB=stations.db streamlit run app.py`），用 "
               "`yizhan users add` 建立账户，并用 `yizhan stations import` 或「站点」页保存名单。",
               "No station database configured: progress comes from the station list "
               "versions stored in it. Set YIZHAN_DB=path (e.g. `YIZHAN_DB=stations.db "
               "streamlit run app.py`), create accounts with `yizhan users add` and store "
               "lists with `yizhan stations import` or on the Stations page."))
    st.stop()

account = current_account(state, store)
user = account.name if account is not None else None
region = None
try:
    cities = store.cities(user=user)
    region = current_region(state)
except Exception as exc:
    st.error(error_text(exc))
    st.stop()
if not cities:
    st.info(tr("数据库里还没有站点名单版本。", "No station list version stored yet."))
    st.stop()
if region is None:
    st.info(tr("请在左侧选择或上传区域。", "Choose or upload a region in the sidebar."))
    st.stop()

picked = st.multiselect(tr("城市", "Cities"), cities, default=cities, key="progress_cities")
if not picked:
    st.info(tr("请至少选择一个城市。", "Choose at least one city."))
    st.stop()

try:
    with st.spinner(tr("正在计算各版本的覆盖…", "Computing the coverage of every version…")):
        table = progress_table(store, region, picked, params=state.params, user=user,
                               isolated=state.region_kind in ("upload", "online"))
except Exception as exc:  # named errors carry advice; never show a traceback
    st.error(error_text(exc))
    st.stop()

if table.anonymous:
    st.info(table.note(lang))
p = table.params
basis = table.demand_basis or "street_length"
speed_zh = "逐路段车速、单行道按允许方向" if p.mode == "drive" else f"{p.walk_speed_kmh:g} km/h"
speed_en = ("per-edge speeds, one-way streets respected" if p.mode == "drive"
            else f"{p.walk_speed_kmh:g} km/h")
st.caption(tr(
    f"覆盖率口径：{label(f'basis_{basis}', 'zh')}；{mode_name(p.mode, 'zh')} "
    f"{p.walk_time_min:g} 分钟 × {speed_zh}，街道缓冲 {p.buffer_m:g} 米；"
    f"区域：{md_text(table.region_label)}。",
    f"Covered share of {label(f'basis_{basis}', 'en')}; {mode_name(p.mode, 'en')}: "
    f"{p.walk_time_min:g} min × {speed_en}, street buffer {p.buffer_m:g} m; "
    f"region: {md_text(table.region_label)}."))

frame = display_frame(table, lang)
share_name = label("covered_share", lang)
for city in picked:
    rows = frame.loc[frame["city"] == city]
    if rows.empty:
        continue
    st.subheader(md_text(city))
    chart = pd.DataFrame({
        tr("日期", "Date"): pd.to_datetime(rows["created_at"], utc=True, errors="coerce"),
        share_name: rows["covered_share"].astype(float) * 100.0,
    })
    st.line_chart(chart, x=tr("日期", "Date"), y=share_name, y_label=f"{share_name} (%)",
                  height=240)

shown = frame.drop(columns=["sha256"])
for c in ("covered_share", "covered_length_share", "covered_population_share"):
    shown[c] = shown[c].astype(float) * 100.0
view = display_table(shown, lang)
pct = st.column_config.NumberColumn(format="%.1f%%")
st.dataframe(view, hide_index=True, width="stretch",
             column_config={label(c, lang): pct for c in ("covered_share",
                                                          "covered_length_share",
                                                          "covered_population_share")})

d1, d2 = st.columns(2)
d1.download_button(tr("下载 CSV", "Download CSV"), progress_csv(table, lang=lang),
                   "progress.csv", "text/csv", key="dl_progress_csv")
d2.download_button(tr("下载 Excel", "Download Excel"), progress_xlsx(table, lang),
                   "progress.xlsx",
                   "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                   key="dl_progress_xlsx")
