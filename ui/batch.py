"""Cached access to ``yizhan batch`` output folders for the province view (keyed by the
folder path and the stamp of its ``summary.json``)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from geo.batch.view import BatchView, list_batch_folders, read_batch
from ui.config import settings


def batch_dir() -> Path:
    """Where batch output folders are listed from (``$YIZHAN_BATCH_DIR``)."""
    return settings().batch_dir


def available_batch_folders() -> list[Path]:
    return list_batch_folders(batch_dir())


@st.cache_resource(show_spinner=False, max_entries=4)
def _read(path: str, _stamp: tuple[int, int]) -> BatchView:
    return read_batch(path)


def batch_view(folder: Path) -> BatchView:
    """The batch folder, re-read when its ``summary.json`` changes."""
    s = (folder / "summary.json").stat()
    return _read(str(folder), (s.st_mtime_ns, s.st_size))
