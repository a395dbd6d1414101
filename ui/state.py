"""Typed per-session state (lives in ``st.session_state``; never shared)."""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from geo.layers import LayerTable
from geo.params import CoverageParams

_KEY = "yizhan_state"


@dataclass
class StationList:
    """A station list uploaded in this session."""

    key: str  # sha256 of the bytes + mode
    file_name: str
    table: LayerTable
    mode: str  # "replace" | "add"


@dataclass
class AppState:
    lang: str = "zh"
    region_kind: str = "demo"  # demo | folder | upload | online
    region_folder: str | None = None
    uploads: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # role → (name, bytes)
    online_place: str | None = None
    params: CoverageParams = field(default_factory=CoverageParams)
    tiles: str = "none"
    stations_in_use: StationList | None = None
    candidate: StationList | None = None
    computed: set[tuple[str, ...]] = field(default_factory=set)


def app_state() -> AppState:
    """This session's state (created on first use)."""
    if _KEY not in st.session_state:
        st.session_state[_KEY] = AppState()
    state: AppState = st.session_state[_KEY]
    return state


def tr(zh: str, en: str) -> str:
    """Pick the text of the session's language (Chinese first)."""
    return zh if app_state().lang == "zh" else en
