"""Text that reaches the page from data or from the library: made safe to show.

``st.error``/``st.markdown`` render Markdown, so an uploaded file named
``[点我](https://evil.example)`` would become a clickable link, and a message may name a
server-side temporary file. :func:`md_text` escapes Markdown; :func:`safe_message`
also replaces temporary paths by their file name.
"""

from __future__ import annotations

import os
import re
import tempfile

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$])")


def md_text(value: object) -> str:
    """Escape untrusted text for ``st.markdown`` (no links, images, HTML or math)."""
    return _MD_SPECIAL.sub(r"\\\1", "" if value is None else str(value))


def _temp_roots() -> list[str]:
    roots = {tempfile.gettempdir(), os.path.realpath(tempfile.gettempdir())}
    return sorted((r.rstrip(os.sep) for r in roots if r), key=len, reverse=True)


def hide_temp_paths(text: str) -> str:
    """Replace every path under the temporary directory by its last component."""
    for root in _temp_roots():
        text = re.sub(re.escape(root) + r"(?:[\\/][^\s'\"]*)", lambda m: os.path.basename(
            m.group(0).rstrip("/\\")), text)
    return text


def safe_message(text: object) -> str:
    """A message for ``st.error`` & co.: temporary paths hidden, Markdown escaped."""
    return md_text(hide_temp_paths("" if text is None else str(text)))
