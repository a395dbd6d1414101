"""Serve folium's JavaScript/CSS from an installed package instead of public CDNs.

folium references Leaflet, its plugins, jQuery, Bootstrap and Font Awesome on CDNs;
with them unreachable the map is blank. The ``folium-offline`` wheel ships the exact
files folium 0.20 references (keyed by their CDN URL, with marker images and fonts
embedded). :func:`localize` rewrites the asset links of every element of one map
(*instance* attributes only — no global patching) to either

* ``static`` URLs served by Streamlit's static file serving (``/app/static/…``), for
  the app, or
* inline ``data:`` URIs, for a standalone HTML file that works anywhere offline.

Any asset without a local copy raises :class:`MissingAssetError` instead of silently
falling back to a CDN.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Final, Literal

import folium
from branca.element import Element
from folium.elements import JSCSSMixin

STATIC_URL: Final = "app/static/folium"


class MissingAssetError(RuntimeError):
    """A map element references an asset with no local copy."""


@cache
def _resources() -> dict[str, str]:
    from offlinefolium.elements import _res  # {cdn_url: file text}

    return dict(_res)


def _mime(url: str) -> str:
    return "text/css" if url.split("?")[0].endswith(".css") else "text/javascript"


def _file_name(url: str) -> str:
    # must not end in "leaflet.css": Leaflet 1.9 derives its icon path from a link whose
    # href ends so, which would break the embedded marker icons
    stem = os.path.basename(url.split("?")[0]).rsplit(".", 1)[0] or "asset"
    ext = ".css" if _mime(url) == "text/css" else ".js"
    return f"{stem}-{hashlib.sha1(url.encode()).hexdigest()[:10]}{ext}"


def ensure_static_files(static_dir: Path) -> Path:
    """Write every packaged asset under ``static_dir/folium`` (idempotent, atomic).

    ``static_dir`` is the ``static/`` folder beside the Streamlit entry script (what
    Streamlit's static file serving publishes as :data:`STATIC_URL`)."""
    target = static_dir / "folium"
    target.mkdir(parents=True, exist_ok=True)
    for url, text in _resources().items():
        p = target / _file_name(url)
        if not p.exists():
            tmp = p.with_suffix(p.suffix + f".{os.getpid()}.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, p)
    return target


def local_url(url: str, mode: Literal["static", "inline"],
              base_path: str = "") -> str:
    """The local replacement of one CDN asset URL."""
    res = _resources()
    if url not in res:
        if url.startswith(("http:", "https:", "//")):
            raise MissingAssetError(f"no local copy of {url}")
        return url
    if mode == "inline":
        data = base64.b64encode(res[url].encode("utf-8")).decode("ascii")
        return f"data:{_mime(url)};base64,{data}"
    prefix = "/" + "/".join(p.strip("/") for p in (base_path, STATIC_URL) if p.strip("/"))
    return f"{prefix}/{_file_name(url)}"


def _walk(element: Element) -> Iterator[Element]:
    yield element
    for child in list(element._children.values()):
        yield from _walk(child)


def localize(m: folium.Map, *, mode: Literal["static", "inline"] = "static",
             base_path: str = "") -> folium.Map:
    """Point every asset of ``m`` (and its children) at local copies; returns ``m``."""
    for el in _walk(m):
        if isinstance(el, JSCSSMixin):
            for attr in ("default_js", "default_css"):
                links = getattr(el, attr, None) or []
                setattr(el, attr, [(name, local_url(url, mode, base_path))
                                   for name, url in links])
    return m


def standalone_html(m: folium.Map) -> str:
    """The full HTML of ``m`` with every asset inlined (works offline anywhere)."""
    localize(m, mode="inline")
    html = m.get_root().render()
    for marker in ("https://cdn.", "cdnjs.", "code.jquery.com", "netdna.", "unpkg.com"):
        if marker in html:
            raise MissingAssetError(f"standalone map still references {marker}")
    return html
