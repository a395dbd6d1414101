"""The documented pedestrian filter applied to every street source.

Rules, evaluated per street segment (a merged osmnx edge may carry several
``highway`` values joined by ``;``; it is dropped if **any** of them is dropped,
because such an edge cannot be walked end to end):

1. ``highway`` in :data:`DROP_HIGHWAY` → dropped (motorways and their links, roads
   under construction / proposed / abandoned, raceways, bus guideways, platforms…).
2. ``highway`` not in :data:`WALKABLE_HIGHWAY` and not dropped by rule 1 →
   dropped as *unknown highway value* (reported, so a new tag is noticed).
3. ``foot`` in ``no`` / ``private`` → dropped.
4. ``access`` in ``no`` / ``private`` and ``foot`` not in ``yes`` / ``designated`` /
   ``permissive`` → dropped.
5. ``service=private`` → dropped (as osmnx's walk filter).
6. ``motorroad=yes`` → dropped (expressway-standard roads, e.g. urban 快速路).
7. ``area=yes`` → dropped (the outline of a square is not a walk route).
8. ``highway=cycleway`` is kept only with ``foot`` in ``yes`` / ``designated`` /
   ``permissive``.

**Trunk roads** (``trunk``, ``trunk_link``) are *kept* unless rule 3 or 6 drops
them. In Guangdong's cities many arterials with footpaths on both sides (e.g.
Shenzhen's 深南大道) are tagged ``trunk`` and the footway is usually not mapped
separately; dropping them would cut city blocks apart and under-state coverage.
Trunks built as expressways carry ``motorroad=yes`` or ``foot=no`` and are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

FILTER_VERSION: Final = "walk-v1"

DROP_HIGHWAY: Final = frozenset({
    "motorway", "motorway_link", "construction", "proposed", "planned", "abandoned",
    "razed", "disused", "raceway", "bus_guideway", "busway", "platform", "escape",
    "no", "emergency_bay", "rest_area", "services",
})

WALKABLE_HIGHWAY: Final = frozenset({
    "footway", "path", "steps", "pedestrian", "living_street", "residential", "service",
    "unclassified", "tertiary", "tertiary_link", "secondary", "secondary_link",
    "primary", "primary_link", "trunk", "trunk_link", "track", "road", "corridor",
    "bridleway", "elevator", "crossing", "cycleway",
})

_FOOT_OK: Final = frozenset({"yes", "designated", "permissive"})
_NO: Final = frozenset({"no", "private"})


def _split(value: object) -> list[str]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    return [p.strip().lower() for p in str(value).split(";") if p.strip()]


def classify_edge(tags: dict[str, object]) -> str | None:
    """Return the drop reason of one street segment, or ``None`` if it is kept."""
    highways = _split(tags.get("highway"))
    foot = set(_split(tags.get("foot")))
    if not highways:
        return "no highway tag"
    for hw in highways:
        if hw in DROP_HIGHWAY:
            return f"highway={hw}"
    for hw in highways:
        if hw not in WALKABLE_HIGHWAY:
            return f"unknown highway={hw}"
    if foot & _NO:
        return "foot=" + sorted(foot & _NO)[0]
    access = set(_split(tags.get("access")))
    if access & _NO and not foot & _FOOT_OK:
        return "access=" + sorted(access & _NO)[0]
    if "private" in _split(tags.get("service")):
        return "service=private"
    if "yes" in _split(tags.get("motorroad")):
        return "motorroad=yes"
    if "yes" in _split(tags.get("area")):
        return "area=yes"
    if "cycleway" in highways and not foot & _FOOT_OK:
        return "highway=cycleway without foot access"
    return None


@dataclass(frozen=True)
class FilterReport:
    """What the pedestrian filter dropped: counts and lengths per reason."""

    version: str
    kept_edges: int
    dropped_edges: int
    dropped_length_m: float
    by_reason: tuple[tuple[str, int, float], ...]  # (reason, edges, length_m)

    def to_dict(self) -> dict[str, object]:
        return {
            "filter": self.version,
            "kept_edges": self.kept_edges,
            "dropped_edges": self.dropped_edges,
            "dropped_length_m": round(self.dropped_length_m, 1),
            "by_reason": [
                {"reason": r, "edges": n, "length_m": round(length, 1)}
                for r, n, length in self.by_reason
            ],
        }


def apply_walk_filter(edges: pd.DataFrame) -> tuple[np.ndarray, FilterReport]:
    """Classify every row of a raw edge table.

    Returns a boolean *keep* mask and the :class:`FilterReport`. ``edges`` must have
    the tag columns of :data:`geo.network.raw.RAW_TAG_COLUMNS` and ``length_m``.
    """
    cols = ["highway", "foot", "access", "service", "motorroad", "area"]
    n = len(edges)
    # Classify each distinct tag combination once (there are few, edges are many).
    codes = np.zeros((n, len(cols)), dtype=np.int64)
    for j, c in enumerate(cols):
        codes[:, j] = pd.factorize(edges[c].astype(object), use_na_sentinel=True)[0]
    if n:
        _, first, inverse = np.unique(codes, axis=0, return_index=True, return_inverse=True)
        inverse = inverse.reshape(-1)
    else:
        first, inverse = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    sub = edges[cols].iloc[first]
    reasons_u = [
        classify_edge({c: (None if pd.isna(v) else v) for c, v in zip(cols, row, strict=True)})
        for row in sub.itertuples(index=False, name=None)
    ]
    reasons = np.array([*reasons_u, None], dtype=object)[:-1][inverse]
    keep = np.array([r is None for r in reasons], dtype=bool)
    lengths = edges["length_m"].to_numpy(dtype=float)
    by: dict[str, list[float]] = {}
    for r, length in zip(reasons[~keep], lengths[~keep], strict=True):
        acc = by.setdefault(str(r), [0, 0.0])
        acc[0] += 1
        acc[1] += float(length) if np.isfinite(length) else 0.0
    report = FilterReport(
        version=FILTER_VERSION,
        kept_edges=int(keep.sum()),
        dropped_edges=int((~keep).sum()),
        dropped_length_m=float(np.nansum(lengths[~keep])),
        by_reason=tuple(sorted(((k, int(v[0]), float(v[1])) for k, v in by.items()),
                               key=lambda t: -t[2])),
    )
    return keep, report
