"""The 站点 page's sections: upload → parse → declare CRS → map columns → validate →
diff → compare coverage → store as a version; and the version history.

Everything decided about the data happens in :mod:`geo` (``geo.io.upload``,
``geo.stations.columns``, ``geo.stations.validation``, ``geo.stations.store``); these
functions only lay out widgets and show results. Parsed uploads and validations are
kept in the session (:class:`ui.state.AppState`), never in a shared cache.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from geo.errors import NoChangeError, YizhanError
from geo.io.sheetsafe import csv_bytes
from geo.io.upload import RawUpload, excel_sheet_names, read_upload
from geo.pipeline.isolate import run_isolated
from geo.pipeline.region import Region
from geo.schema import STATION_TYPES
from geo.stations.accounts import Account
from geo.stations.columns import FIELDS, ColumnMapping, check_mapping, guess_mapping
from geo.stations.coords import COORD_SYSTEM_LABELS, COORD_SYSTEMS, guess_from_columns
from geo.stations.store import StationStore, export_version
from geo.stations.validation import StationValidation, diff_stations, validate_stations
from ui.config import PARSE_MEMORY_MB, PARSE_TIMEOUT_S
from ui.data import error_text, stored_stations
from ui.page import md_text
from ui.state import AppState, app_state, tr
from ui.tables import display_table
from ui.text import safe_message

UPLOAD_TYPES = ["csv", "txt", "tsv", "xlsx", "xlsm", "geojson", "json", "gpkg", "zip"]
_KEEP = 3  # parsed uploads / validations kept per session


def _remember(cache: dict[str, object], key: str, value: object) -> None:
    cache[key] = value
    while len(cache) > _KEEP:
        cache.pop(next(iter(cache)))


def parse_upload(state: AppState, name: str, data: bytes) -> tuple[str, RawUpload] | None:
    """Sheet choice + parsing (errors shown); returns (upload key, parsed upload)."""
    sheet = None
    if name.lower().endswith((".xlsx", ".xlsm")):
        sheets = excel_sheet_names(data)
        if len(sheets) > 1:
            sheet = st.selectbox(tr("工作表", "Sheet"), sheets, key="station_sheet")
    key = hashlib.sha256(data).hexdigest()[:20] + "|" + (sheet or "")
    raw = state.parsed.get(key)
    if raw is None:
        try:
            raw = run_isolated(read_upload, name, data, sheet=sheet,
                               timeout_s=PARSE_TIMEOUT_S, memory_mb=PARSE_MEMORY_MB)
        except Exception as exc:
            st.error(error_text(exc))
            return None
        _remember(state.parsed, key, raw)
    assert isinstance(raw, RawUpload)
    return key, raw


def choose_crs(raw: RawUpload, ukey: str) -> str | None:
    """The declared coordinate system (no default: the uploader must say)."""
    guessed = guess_from_columns(raw.columns)
    lang = 0 if tr("zh", "en") == "zh" else 1
    crs = st.radio(tr("上传坐标的坐标系（必选）", "Coordinate system of the coordinates "
                      "(required)"), list(COORD_SYSTEMS), index=None, horizontal=True,
                   format_func=lambda k: COORD_SYSTEM_LABELS[k][lang], key=f"crs_{ukey}")
    if guessed is not None:
        st.caption(tr(f"列名提示可能是 {COORD_SYSTEM_LABELS[guessed][0]}。",
                      f"The column headers suggest {COORD_SYSTEM_LABELS[guessed][1]}."))
    if crs is None:
        st.info(tr("高德、腾讯导出的坐标通常是 GCJ-02，百度是 BD-09，GPS/OpenStreetMap 是 WGS-84。"
                   "请选择后再核对。", "Amap/Tencent exports are usually GCJ-02, Baidu BD-09, "
                   "GPS/OpenStreetMap WGS-84. Choose one to validate."))
    return crs


def choose_mapping(raw: RawUpload, ukey: str) -> tuple[ColumnMapping, str | None] | None:
    """Editable column mapping (pre-filled by :func:`guess_mapping`) and default type."""
    guess = guess_mapping(raw.columns, has_geometry=raw.has_geometry)
    lang = 0 if tr("zh", "en") == "zh" else 1
    options = ["", *raw.columns]
    none_label = tr("（无）", "(none)")
    chosen: dict[str, str | None] = {}
    with st.expander(tr("列对应关系（请确认）", "Column mapping (please confirm)"),
                     expanded=True):
        fields = [f for f in FIELDS
                  if not (raw.has_geometry and f in ("lon", "lat", "coords"))]
        if raw.has_geometry:
            st.caption(tr("坐标取自点几何。", "Coordinates come from the point geometry."))
        cols = st.columns(3)
        for i, f in enumerate(fields):
            cur = guess.as_dict()[f] or ""
            pick = cols[i % 3].selectbox(
                FIELDS[f][lang], options, index=options.index(cur),
                format_func=lambda c: none_label if c == "" else c,
                key=f"map_{f}_{ukey}")
            chosen[f] = pick or None
        default_type = None
        if not chosen.get("type"):
            types = list(STATION_TYPES)
            default_type = st.selectbox(tr("没有类型列：全部按此类型", "No type column: every "
                                           "row is"), types, key=f"map_default_type_{ukey}")
    mapping = ColumnMapping(**chosen)
    problems = check_mapping(mapping, raw.columns, has_geometry=raw.has_geometry,
                             default_type=default_type)
    if problems:
        st.error(tr("列对应不完整：", "The mapping is incomplete: ") + "; ".join(problems))
        return None
    return mapping, default_type


def validate(state: AppState, raw: RawUpload, ukey: str, *, mapping: ColumnMapping,
             crs: str, city: str | None, default_type: str | None,
             region: Region | None) -> tuple[str, StationValidation] | None:
    """(validation key, result): the key names everything the result depends on."""
    key = "|".join([ukey, crs, json.dumps(mapping.as_dict(), ensure_ascii=False),
                    default_type or "", city or "", region.key if region else ""])
    v = state.validated.get(key)
    if v is None:
        try:
            v = validate_stations(raw, mapping=mapping, crs=crs, city=city,
                                  default_type=default_type,
                                  network=region.network if region is not None else None)
        except Exception as exc:
            st.error(error_text(exc))
            return None
        _remember(state.validated, key, v)
    assert isinstance(v, StationValidation)
    return hashlib.sha256(key.encode()).hexdigest()[:20], v


def _csv(df: pd.DataFrame) -> bytes:
    return csv_bytes(df)


_DELIMITERS = {",": ("逗号", "comma"), ";": ("分号", "semicolon"), "\t": ("制表符", "tab"),
               "|": ("竖线", "pipe")}


def _file_facts(raw: RawUpload) -> list[str]:
    """Format, encoding, delimiter and sheet in the UI language, then the reader's other
    notes (its encoding/delimiter notes are replaced by these)."""
    facts = [raw.format.upper()]
    if raw.encoding:
        facts.append(tr(f"编码 {raw.encoding}", f"encoding {raw.encoding}"))
    if raw.delimiter:
        zh, en = _DELIMITERS.get(raw.delimiter, (repr(raw.delimiter), repr(raw.delimiter)))
        facts.append(tr(f"分隔符：{zh}", f"delimiter: {en}"))
    if raw.sheet:
        facts.append(tr(f"工作表 {raw.sheet}", f"sheet {raw.sheet}"))
    facts += [n for n in raw.notes if not n.startswith(("encoding ", "delimiter "))]
    return facts


def show_validation(v: StationValidation, state: AppState) -> None:
    a, b, c, d = st.columns(4)
    a.metric(tr("读入行数", "Rows in"), v.rows_in)
    b.metric(tr("接受", "Accepted"), len(v.accepted))
    c.metric(tr("拒绝", "Rejected"), len(v.rejected))
    d.metric(tr("疑似重复", "Flagged"), v.n_flagged)
    raw = v.raw
    st.caption(" · ".join(md_text(x) for x in (*_file_facts(raw), *v.notes) if x))
    for h in v.hints:
        st.warning(tr("坐标系提示：", "Coordinate system hint: ")
                   + (h.message_zh if state.lang == "zh" else h.message_en))
    if len(v.rejected):
        st.warning(tr("以下行被拒绝（原因见右列）：", "These rows were rejected (reason on the "
                      "right):"))
        reason = "reason_zh" if state.lang == "zh" else "reason"
        show = v.rejected[["row", "source_line", "station_id", "name", reason]].rename(
            columns={reason: "reason"})
        st.dataframe(display_table(show, state.lang), hide_index=True, width="stretch")
    if len(v.flagged):
        st.info(tr("疑似重复（已接受，请核对）：", "Possible duplicates (accepted; please "
                   "review):"))
        reason = "reason_zh" if state.lang == "zh" else "reason"
        cols = ["row_a", "row_b", "name_a", "name_b", "distance_m", reason]
        st.dataframe(display_table(v.flagged[cols].rename(columns={reason: "reason"}),
                                   state.lang), hide_index=True, width="stretch")
    c1, c2, c3, c4 = st.columns(4)
    c1.download_button(tr("下载被拒绝的行", "Rejected rows (CSV)"),
                       _csv(v.rejected_table()), "rejected.csv", "text/csv",
                       key="dl_rejected")
    c2.download_button(tr("下载接受的行", "Accepted rows (CSV)"), _csv(v.accepted_table()),
                       "accepted.csv", "text/csv", key="dl_accepted")
    c3.download_button(tr("下载疑似重复", "Flagged pairs (CSV)"), _csv(v.flagged),
                       "flagged.csv", "text/csv", key="dl_flagged")
    c4.download_button(tr("下载核对报告", "Validation report (JSON)"),
                       json.dumps(v.report_dict(), ensure_ascii=False, indent=2)
                       .encode("utf-8"), "report.json", "application/json",
                       key="dl_report")


def show_diff(v: StationValidation, current: Any, label: str) -> None:
    """Added / removed / moved / renamed against ``current`` (a GeoDataFrame or None)."""
    d = diff_stations(current, v.accepted, match="name" if v.ids_generated else "station_id")
    st.subheader(tr(f"与{label}比较", f"Compared with {label}"))
    c = d.counts()
    m = st.columns(5)
    m[0].metric(tr("新增", "Added"), c["added"])
    m[1].metric(tr("删除", "Removed"), c["removed"])
    m[2].metric(tr("移动", "Moved"), c["moved"])
    m[3].metric(tr("改名", "Renamed"), c["renamed"])
    m[4].metric(tr("未变", "Unchanged"), c["unchanged"])
    for title, df in ((tr("新增", "Added"), d.added), (tr("删除", "Removed"), d.removed),
                      (tr("移动（米）", "Moved (m)"), d.moved),
                      (tr("改名", "Renamed"), d.renamed)):
        if len(df):
            with st.expander(f"{title}: {len(df)}"):
                st.dataframe(display_table(df, app_state().lang), hide_index=True, width="stretch")


def target_city(store: StationStore, account: Account | None, state: AppState) -> str | None:
    """The city whose list an upload is for (all cities are listed; writing is checked
    by the store)."""
    cities = set(store.cities(user=account.name if account is not None else None))
    if account is not None and not account.is_province:
        cities.add(account.city)
    options = sorted(cities)
    new = None
    if account is not None and account.role == "admin":
        new = st.text_input(tr("或输入新的城市", "Or a new city"), key="target_city_new",
                            placeholder="深圳市").strip() or None
    if new:
        return new
    if not options:
        st.info(tr("数据库里还没有城市：省级管理员可输入城市名创建第一版。",
                   "The database has no city yet: a province admin can type a city to create "
                   "its first version."))
        return None
    preferred = (account.city if account is not None and account.city in options
                 else state.db_city if state.db_city in options else options[0])
    return st.selectbox(tr("名单所属城市", "City of this list"), options,
                        index=options.index(preferred), key="target_city")


def save_version(store: StationStore, account: Account | None, v: StationValidation,
                 city: str) -> None:
    if account is None:
        return
    allowed = account.can_write(city)
    note = st.text_input(tr("版本说明（可选）", "Version note (optional)"), key="version_note")
    if not allowed:
        # shown, not hidden: the store decides and refuses with its reason
        st.warning(tr(f"你的账户不能修改{city}的名单（编辑只能修改本市，审阅为只读），保存会被拒绝。",
                      f"Your account may not change {city}'s list (editors change their own "
                      "city only; reviewers are read-only): storing will be refused."))
    clicked = st.button(tr(f"保存为{city}的新版本", f"Store as a new version of {city}"),
                        type="primary" if allowed else "secondary",
                        disabled=len(v.accepted) == 0, key="store_version")
    if clicked:
        try:
            info = store.create_version(v.to_new_version(city=city, note=note),
                                        user=account.name, only_if_changed=True)
        except NoChangeError as same:
            st.info(tr(f"未变化：与{same.city}第 {same.version} 版完全相同，未创建新版本。",
                       f"Unchanged: identical to {same.city} v{same.version}, no new "
                       "version stored."))
            return
        except YizhanError as exc:
            st.error(safe_message(exc))
            return
        st.success(tr(f"已保存：{info.city} 第 {info.version} 版（{info.accepted} 个站点）。"
                      "在左侧「站点名单」选择该城市，即按此版本计算覆盖。",
                      f"Stored: {info.city} v{info.version} ({info.accepted} stations). "
                      "Choose the city under 'Station list' in the sidebar to compute "
                      "coverage from it."))


def _export_bytes(store: StationStore, city: str, version: int, suffix: str,
                  user: str | None) -> bytes:
    with tempfile.TemporaryDirectory(prefix="yizhan-export-") as tmp:
        p = export_version(store, city, version=version, out=Path(tmp) / f"stations{suffix}",
                           user=user)
        return p.read_bytes()


def _exporter(store: StationStore, city: str, version: int, suffix: str,
              user: str | None) -> Callable[[], bytes]:
    return lambda: _export_bytes(store, city, version, suffix, user)


def _raw_bytes(store: StationStore, city: str, version: int,
               user: str) -> Callable[[], bytes]:
    return lambda: store.raw(city, version=version, user=user)[1]


def _history_table(hist: list[Any]) -> None:
    table = pd.DataFrame([{
        tr("版本", "Version"): h.version, tr("时间（UTC）", "When (UTC)"): h.created_at,
        tr("操作者", "By"): h.created_by,
        tr("操作", "Action"): (h.action if h.parent_version is None
                             else f"{h.action} → v{h.parent_version}"),
        tr("文件", "File"): h.source_name, "sha256": h.sha256[:16] + "…",
        tr("读入", "Rows in"): h.rows_in, tr("接受", "Accepted"): h.accepted,
        tr("拒绝", "Rejected"): h.rejected, tr("疑似重复", "Flagged"): h.flagged,
        tr("说明", "Note"): h.note,
    } for h in reversed(hist)])
    st.dataframe(table, hide_index=True, width="stretch")


def _downloads(store: StationStore, city: str, ver: int, info: Any,
               user: str | None) -> None:
    """Exports of version ``ver``; the original upload only for a signed-in reader."""
    c = st.columns(5)
    for col, (label, suffix, mime) in zip(c, (
            ("CSV", ".csv", "text/csv"), ("GeoJSON", ".geojson", "application/geo+json"),
            ("GeoPackage", ".gpkg", "application/geopackage+sqlite3"),
            ("Excel", ".xlsx", "application/vnd.openxmlformats-officedocument."
                               "spreadsheetml.sheet")), strict=False):
        col.download_button(
            tr(f"导出 {label}", f"Export {label}"),
            _exporter(store, city, ver, suffix, user),
            f"{city}_v{ver}{suffix}", mime, key=f"export_{suffix}")
    if user is not None:
        c[4].download_button(tr("原始上传文件", "Original upload"),
                             _raw_bytes(store, city, ver, user),
                             info.source_name, "application/octet-stream", key="export_raw")


def history(store: StationStore, account: Account | None, state: AppState) -> None:
    """Versions of a city's list. Without signing in: the current version only, no user
    names, no original uploads (the store enforces it; the page says so)."""
    user = account.name if account is not None else None
    cities = store.cities(user=user)
    if not cities:
        st.info(tr("数据库里还没有站点名单版本。", "No station list version stored yet."))
        return
    default = state.db_city if state.db_city in cities else (
        account.city if account is not None and account.city in cities else cities[0])
    city = st.selectbox(tr("城市", "City"), cities, index=cities.index(default),
                        key="hist_city")
    hist = store.history(city, user=user)
    _history_table(hist)
    if user is None:
        st.info(tr("未登录：只能查看和导出各城市的当前版本；历史版本、操作者和原始上传文件需登录后查看。",
                   "Not signed in: only each city's current version can be viewed and "
                   "exported; older versions, who made them and the original uploads need a "
                   "sign-in."))
        current = store.current(city, user=None)
        versions = [current.version] if current is not None else []
    else:
        versions = [h.version for h in reversed(hist)]
    if not versions:
        return
    ver = st.selectbox(tr("查看版本", "Version"), versions, key="hist_version")
    info = next(h for h in hist if h.version == ver)
    with st.expander(tr(f"第 {ver} 版的站点", f"Stations of v{ver}")):
        gdf = stored_stations(store, info, user=user)
        st.dataframe(display_table(gdf.drop(columns=["extra"], errors="ignore"), state.lang),
                     hide_index=True, width="stretch")
    _downloads(store, city, ver, info, user)
    if account is None:
        return
    allowed = account.can_write(city)
    current = hist[-1].version
    if not allowed:
        st.caption(tr(f"你的账户不能修改{city}的名单，回滚会被拒绝。",
                      f"Your account may not change {city}'s list: a rollback will be "
                      "refused."))
    clicked = st.button(tr(f"回滚：以第 {ver} 版内容创建新版本", f"Roll back: make v{ver} "
                           "current (as a new version)"),
                        disabled=ver == current, key="rollback")
    if clicked:
        try:
            new = store.rollback(city, to_version=ver, user=account.name)
        except YizhanError as exc:
            st.error(safe_message(exc))
            return
        st.success(tr(f"已创建第 {new.version} 版（= 第 {ver} 版）",
                      f"Stored v{new.version} (= v{ver})"))


__all__ = ["UPLOAD_TYPES", "choose_crs", "choose_mapping", "history",
           "parse_upload", "save_version", "show_diff", "show_validation", "target_city",
           "validate"]
