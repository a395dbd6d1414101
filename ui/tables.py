"""Tables shown on the pages: headers and closed values in the UI language.

Output files keep their column names (``station_id``, ``status`` = ``used`` …); what a
person reads on the page goes through :func:`display_table`, which takes every header
from :mod:`geo.vocab` and shows statuses and station types by their labels.
"""

from __future__ import annotations

import pandas as pd

from geo.vocab import Lang, label, status_label, type_label


def display_table(df: pd.DataFrame, lang: Lang | str) -> pd.DataFrame:
    """A copy of ``df`` for ``st.dataframe``: headers, statuses and types labelled."""
    out = pd.DataFrame(df.drop(columns="geometry", errors="ignore")).copy()
    if "status" in out.columns:
        out["status"] = out["status"].map(lambda s: status_label(str(s), lang)
                                          if isinstance(s, str) else s)
    if "type" in out.columns:
        out["type"] = out["type"].map(lambda t: type_label(str(t), lang)
                                      if isinstance(t, str) else t)
    return out.rename(columns={c: label(str(c), lang) for c in out.columns})
