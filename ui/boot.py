"""Make sure every page runs through ``app.py`` (its ``st.navigation``).

Streamlit treats a ``pages/`` folder next to the entry script as a v1 multipage app
until the entry script's ``st.navigation`` has run once in the process. If the first
request to a fresh server is a sub-page URL (a bookmark such as ``/towns``), Streamlit
runs that page file directly, ``st.navigation`` never runs, and the whole server stays
in v1 mode (file names in the menu, ``app.py`` listed as a page). Each page calls
:func:`require_entrypoint` first: in that situation it switches the process to
``st.navigation`` mode and reruns, so the entry script runs and routes to the page.
"""

from __future__ import annotations

import streamlit as st


def require_entrypoint() -> None:
    from streamlit import config
    from streamlit.runtime.pages_manager import PagesManager

    # AppTest resets the flag before every run and routes pages itself: a rerun there
    # would only swallow the interaction (a button click) of that run
    if config.get_option("global.appTest"):
        return
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
