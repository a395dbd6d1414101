"""Typed per-session state (lives in ``st.session_state``; never shared)."""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from geo.io.layers import LayerTable
from geo.params import CoverageParams
from geo.vocab import Lang, RegionKind, pick
from ui.config import settings

_KEY = "yizhan_state"


def _default_folder() -> str | None:
    folder = settings().default_region_folder
    return str(folder) if folder else None


@dataclass
class StationList:
    """A station list uploaded in this session."""

    key: str  # names the validated content (file, mapping, CRS, city…) + mode
    file_name: str
    table: LayerTable
    mode: str  # "replace" | "add"


@dataclass
class AppState:
    lang: Lang = "zh"
    region_folder: str | None = field(default_factory=_default_folder)
    region_kind: RegionKind | None = None
    uploads: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # role → (name, bytes)
    online_place: str | None = None
    params: CoverageParams = field(default_factory=CoverageParams)
    tiles: str = "none"
    stations_in_use: StationList | None = None
    computed: set[tuple[str, ...]] = field(default_factory=set)
    login_name: str | None = None  # local account signed in (re-read from the db each run)
    db_city: str | None = None  # use this city's current stored version as the station list
    parsed: dict[str, object] = field(default_factory=dict)  # upload key → RawUpload
    validated: dict[str, object] = field(default_factory=dict)  # validation key → result

    def __post_init__(self) -> None:
        if not self.region_kind:
            self.region_kind = "folder" if self.region_folder else "demo"


def app_state() -> AppState:
    """This session's state (created on first use)."""
    if _KEY not in st.session_state:
        st.session_state[_KEY] = AppState()
    state: AppState = st.session_state[_KEY]
    return state


def tr(zh: str, en: str) -> str:
    """Pick the text of the session's language (Chinese first)."""
    return pick(zh, en, app_state().lang)
