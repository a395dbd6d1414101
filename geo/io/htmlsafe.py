"""Escaping untrusted text (station names, addresses…) for HTML and JavaScript.

folium puts popup / tooltip text into HTML and JS templates *raw*; a name such as
``<img src=x onerror=alert(1)>`` or ``${alert(1)}`` would run. :func:`esc` makes any
value inert in HTML text, HTML attributes and JS template literals.
"""

from __future__ import annotations

import html
import math
from typing import Any

_EXTRA = str.maketrans({"`": "&#96;", "$": "&#36;", "\\": "&#92;", "{": "&#123;",
                        "}": "&#125;", "\x00": ""})


def esc(value: Any) -> str:
    """HTML-escape ``value`` (``None``/NaN → empty) including `` ` ``, ``$``, ``\\``, braces."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return html.escape(str(value), quote=True).translate(_EXTRA)
