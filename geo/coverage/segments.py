"""The segment table: the array core shared by coverage, service areas, towns and zones.

A *segment* is a stretch ``[x0, x1]`` of one edge (positions in metres along the edge
from its ``u`` end) that no walk enters except through its two ends. Each end carries
the network distance to the nearest source (``d0``, ``d1``; ``inf`` when beyond the
cutoff) and that source (``s0``, ``s1``; ``-1``). An edge without a station on it is one
segment; an edge with stations is split at them (a station end has distance 0).

Inside a segment the distance is ``f(x) = min(d0 + (x - x0), d1 + (x1 - x))``, a tent
of slope ±1, so everything — covered length, covered pieces, distance percentiles —
follows in closed form, vectorised over millions of segments.

**Cost per metre.** A table may carry a slope column ``k`` (cost units per metre, one
value per segment; :data:`SLOPE_COLUMN`). Distances are then *costs* — seconds by car
(:mod:`geo.coverage.cost`): ``f(x) = min(d0 + k (x - x0), d1 + k (x1 - x))``, positions
stay in metres. Without the column ``k`` is 1 (walk / e-bike: cost = metres) and every
function computes exactly what it did before costs. **One-way edges**: the end a point
may not travel to has cost ``inf`` in that segment (a u → v edge has ``d0 = inf``, a
v → u edge ``d1 = inf``; :func:`orient_segments`), so a station inside a one-way edge
is reached from the stretch upstream of it only. The quantile functions work over
street *length*: a piece of ``span`` metres spreads its cost over ``k · span``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

SEGMENT_COLUMNS = ("edge", "x0", "x1", "d0", "d1", "s0", "s1")
#: The optional cost-per-metre column (absent: 1).
SLOPE_COLUMN = "k"


Segments = Mapping[str, Any]  # a DataFrame or a dict of equal-length numpy arrays


def _a(seg: Segments, col: str) -> np.ndarray:
    v = seg[col]
    return v.to_numpy() if hasattr(v, "to_numpy") else np.asarray(v)


def slope_of(seg: Segments) -> np.ndarray | None:
    """The ``k`` column of a table, or ``None`` (slope 1: cost = metres)."""
    return _a(seg, SLOPE_COLUMN) if SLOPE_COLUMN in seg else None


def orient_segments(seg: dict[str, np.ndarray], *, slope: np.ndarray | None = None,
                    forward: np.ndarray | None = None,
                    backward: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """``seg`` with per-edge costs applied (in place and returned): the ``k`` column
    from ``slope`` (per edge), and ``d0`` = ``inf`` / ``s0`` = -1 where the edge may not
    be travelled v → u (``backward``), ``d1`` / ``s1`` likewise without ``forward``
    (``s0`` / ``s1`` when present)."""
    edge = np.asarray(seg["edge"], dtype=np.int64)
    if slope is not None:
        seg[SLOPE_COLUMN] = np.asarray(slope, dtype=float)[edge]
    for flags, d, s in ((backward, "d0", "s0"), (forward, "d1", "s1")):
        if flags is None:
            continue
        closed = ~np.asarray(flags, dtype=bool)[edge]
        if closed.any():
            seg[d] = np.where(closed, np.inf, seg[d])
            if s in seg:
                seg[s] = np.where(closed, -1, seg[s])
    return seg


def build_segments(*args: Any, **kwargs: Any) -> pd.DataFrame:
    """:func:`segment_arrays` as a DataFrame."""
    return pd.DataFrame(segment_arrays(*args, **kwargs))


def segment_arrays(
    edge_u: np.ndarray,
    edge_v: np.ndarray,
    length_m: np.ndarray,
    node_dist: np.ndarray,
    node_source: np.ndarray,
    src_edge: np.ndarray,
    src_offset: np.ndarray,
    src_ids: np.ndarray | None = None,
    *,
    edges: np.ndarray | None = None,
    slope: np.ndarray | None = None,
    forward: np.ndarray | None = None,
    backward: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Segments of every edge given node distances and the sources' edge positions.

    ``src_ids`` labels the sources (default ``0..S-1``); it is stored in ``s0``/``s1``.
    ``edges`` (sorted edge indices) restricts the table to those edges plus every edge
    carrying a source: give the edges with a reached end and the table holds every
    segment with a finite distance, in the same order as the whole table's.
    ``slope`` / ``forward`` / ``backward`` (per edge) make a cost table
    (:func:`orient_segments`); without them the table is the metric one.
    """
    seg = _segment_arrays(edge_u, edge_v, length_m, node_dist, node_source, src_edge,
                          src_offset, src_ids, edges=edges)
    if slope is None and forward is None and backward is None:
        return seg
    return orient_segments(seg, slope=slope, forward=forward, backward=backward)


def _segment_arrays(edge_u: np.ndarray, edge_v: np.ndarray, length_m: np.ndarray,
                    node_dist: np.ndarray, node_source: np.ndarray, src_edge: np.ndarray,
                    src_offset: np.ndarray, src_ids: np.ndarray | None, *,
                    edges: np.ndarray | None) -> dict[str, np.ndarray]:
    n_edges = edge_u.shape[0]
    src_edge = np.asarray(src_edge, dtype=np.int64)
    src_offset = np.asarray(src_offset, dtype=float)
    if src_ids is None:
        src_ids = np.arange(src_edge.size, dtype=np.int64)
    hosts = np.zeros(n_edges, dtype=bool)
    hosts[src_edge] = True
    if edges is None:
        plain = np.flatnonzero(~hosts)
    else:
        edges = np.asarray(edges, dtype=np.int64)
        plain = edges[~hosts[edges]]
    pu, pv = edge_u[plain], edge_v[plain]
    base = {
        "edge": plain,
        "x0": np.zeros(plain.size),
        "x1": length_m[plain].astype(float),
        "d0": node_dist[pu], "d1": node_dist[pv],
        "s0": node_source[pu], "s1": node_source[pv],
    }
    if src_edge.size == 0:
        return base
    he = np.flatnonzero(hosts)
    hu, hv = edge_u[he], edge_v[he]
    # breakpoints: both ends of every host edge plus every source on it
    pe = np.concatenate([he, he, src_edge])
    on_edge = np.clip(src_offset, 0, length_m[src_edge])
    px = np.concatenate([np.zeros(he.size), length_m[he], on_edge])
    pd_ = np.concatenate([node_dist[hu], node_dist[hv], np.zeros(src_edge.size)])
    ps = np.concatenate([node_source[hu], node_source[hv], src_ids])
    # order: by edge, then position; the u end first and the v end last at ties
    tie = np.concatenate([np.zeros(he.size), np.full(he.size, 2), np.ones(src_edge.size)])
    order = np.lexsort((tie, px, pe))
    pe, px, pd_, ps = pe[order], px[order], pd_[order], ps[order]
    same = pe[1:] == pe[:-1]
    i = np.flatnonzero(same)
    split = {
        "edge": pe[i], "x0": px[i], "x1": px[i + 1],
        "d0": pd_[i], "d1": pd_[i + 1], "s0": ps[i], "s1": ps[i + 1],
    }
    return {k: np.concatenate([base[k], split[k]]) for k in SEGMENT_COLUMNS}


def covered_length(seg: Segments, budget_m: float) -> np.ndarray:
    """Covered metres of each segment within ``budget_m`` of its nearest source
    (``budget_m`` in the table's cost units: ``min(len, (r0 + r1) / k)``)."""
    length = _a(seg, "x1") - _a(seg, "x0")
    r0 = np.clip(budget_m - _a(seg, "d0"), 0.0, None)
    r1 = np.clip(budget_m - _a(seg, "d1"), 0.0, None)
    k = slope_of(seg)
    return np.minimum(length, r0 + r1 if k is None else (r0 + r1) / k)


def crossing_point(seg: Segments) -> np.ndarray:
    """Offset from ``x0`` where the nearest source switches from the ``s0`` to the ``s1`` end."""
    length = _a(seg, "x1") - _a(seg, "x0")
    d0 = _a(seg, "d0")
    d1 = _a(seg, "d1")
    k = slope_of(seg)
    with np.errstate(invalid="ignore"):
        t = (d1 - d0 + length) / 2.0 if k is None else ((d1 - d0) / k + length) / 2.0
    t = np.where(np.isinf(d0) & np.isfinite(d1), 0.0, t)
    t = np.where(np.isinf(d1), length, t)
    return np.clip(np.nan_to_num(t, nan=0.0), 0.0, length)


def covered_pieces(seg: Segments, budget_m: float, *, merge: str = "none") -> pd.DataFrame:
    """The covered stretches as ``edge, x0, x1, source`` (no overlaps).

    Each stretch is labelled with the source nearest to it along the network, so the
    pieces of one source form its share of a non-overlapping split. ``merge``:
    ``"same_source"`` returns the two stretches of a segment that meet and carry the
    same source (a street covered end to end by one station) as one piece; ``"any"``
    merges them whatever the source (the label is then the ``x0`` end's). Fewer,
    longer pieces make polygon building cheaper.
    """
    x0 = _a(seg, "x0")
    x1 = _a(seg, "x1")
    length = x1 - x0
    r0 = np.clip(budget_m - _a(seg, "d0"), 0.0, None)
    r1 = np.clip(budget_m - _a(seg, "d1"), 0.0, None)
    k = slope_of(seg)
    if k is not None:  # remaining cost → remaining metres
        r0, r1 = r0 / k, r1 / k
    t = crossing_point(seg)
    a_len = np.minimum(r0, t)
    b_len = np.minimum(r1, length - t)
    edge = _a(seg, "edge")
    s0 = _a(seg, "s0")
    s1 = _a(seg, "s1")
    ka = a_len > 1e-9
    kb = b_len > 1e-9
    a_end = x0 + a_len
    if merge not in ("none", "same_source", "any"):
        raise ValueError(f"merge must be 'none', 'same_source' or 'any', got {merge!r}")
    if merge != "none":
        whole = ka & kb & (a_len + b_len >= length - 1e-9)
        if merge == "same_source":
            whole &= s0 == s1
        a_end = np.where(whole, x1, a_end)
        kb = kb & ~whole
    return pd.DataFrame({
        "edge": np.concatenate([edge[ka], edge[kb]]),
        "x0": np.concatenate([x0[ka], (x1 - b_len)[kb]]),
        "x1": np.concatenate([a_end[ka], x1[kb]]),
        "source": np.concatenate([s0[ka], s1[kb]]),
    })


def clip_segments(seg: pd.DataFrame, parts: pd.DataFrame) -> pd.DataFrame:
    """Restrict segments to parts ``(part, edge, p, q)`` of edges; returns clipped
    segments with a ``part`` column (distances re-evaluated at the new ends)."""
    m = parts.merge(seg, on="edge", how="inner")
    lo = np.maximum(m["x0"].to_numpy(), m["p"].to_numpy())
    hi = np.minimum(m["x1"].to_numpy(), m["q"].to_numpy())
    keep = hi > lo + 1e-12
    m = m.loc[keep]
    lo, hi = lo[keep], hi[keep]
    x0 = m["x0"].to_numpy()
    x1 = m["x1"].to_numpy()
    d0 = m["d0"].to_numpy()
    d1 = m["d1"].to_numpy()
    s0 = m["s0"].to_numpy()
    s1 = m["s1"].to_numpy()
    k = slope_of(m)
    if k is None:
        fa0, fa1 = d0 + (lo - x0), d1 + (x1 - lo)
        fb0, fb1 = d0 + (hi - x0), d1 + (x1 - hi)
    else:  # the tent is k-Lipschitz: its values at lo / hi describe it exactly there
        fa0, fa1 = d0 + k * (lo - x0), d1 + k * (x1 - lo)
        fb0, fb1 = d0 + k * (hi - x0), d1 + k * (x1 - hi)
    out = pd.DataFrame({
        "part": m["part"].to_numpy(), "edge": m["edge"].to_numpy(),
        "x0": lo, "x1": hi,
        "d0": np.minimum(fa0, fa1), "d1": np.minimum(fb0, fb1),
        "s0": np.where(fa0 <= fa1, s0, s1), "s1": np.where(fb0 <= fb1, s0, s1),
    })
    if k is not None:
        out[SLOPE_COLUMN] = k
    return out


def distance_pieces(seg: Segments) -> tuple[np.ndarray, np.ndarray]:
    """Each segment as two linear pieces of the distance, ``(lo, span)``.

    Piece ``i`` (the first ``len(seg)`` come from the ``x0`` ends, the rest from the
    ``x1`` ends) covers ``span[i]`` metres of street along which the distance rises
    from ``lo[i]`` with slope 1: a uniform distribution of distances on
    ``[lo, lo + span]``. ``lo`` is ``inf`` where the distance is beyond the cutoff.
    On a cost table (a ``k`` column) the cost rises with slope ``k``: use
    :func:`cost_pieces`, which also returns the slope of each piece.
    """
    length = _a(seg, "x1") - _a(seg, "x0")
    d0 = _a(seg, "d0")
    d1 = _a(seg, "d1")
    t = crossing_point(seg)
    both_inf = np.isinf(d0) & np.isinf(d1)
    # a segment unreached at both ends is one censored piece of its whole length
    span = np.concatenate([np.where(both_inf, length, t), np.where(both_inf, 0.0, length - t)])
    return np.concatenate([d0, d1]), span


def cost_pieces(seg: Segments) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """:func:`distance_pieces` with the slope of each piece: ``(lo, span, slope)``;
    along piece ``i`` the cost rises from ``lo[i]`` with slope ``slope[i]`` over
    ``span[i]`` metres (``slope`` is ``None`` on a metric table: slope 1)."""
    lo, span = distance_pieces(seg)
    k = slope_of(seg)
    return lo, span, None if k is None else np.concatenate([k, k])


def weighted_quantile(lo: np.ndarray, span: np.ndarray, q: float, *, cap: float,
                      slope: np.ndarray | None = None) -> float:
    """The ``q``-quantile (0–1) over street length of the distances described by
    :func:`distance_pieces`, where distances above ``cap`` are only known to exceed it.
    ``slope`` (from :func:`cost_pieces`): piece ``i`` spreads its ``span[i]`` metres
    over the costs ``[lo, lo + slope · span]``.

    Returns ``nan`` when the quantile lies above ``cap`` or there is no street.
    """
    lo = np.asarray(lo, dtype=float)
    span = np.asarray(span, dtype=float)
    total = float(span.sum())
    if total <= 0:
        return float("nan")
    fin = np.isfinite(lo) & (span > 0)
    a = lo[fin]
    if slope is None:
        b = np.minimum(a + span[fin], cap)
        w = None
    else:
        k = np.asarray(slope, dtype=float)[fin]
        b = np.minimum(a + k * span[fin], cap)
        w = 1.0 / k  # metres of street per unit of cost
    keep = b > a
    a, b = a[keep], b[keep]
    if w is not None:
        w = w[keep]
    target = q * total
    covered = float(np.sum(b - a)) if w is None else float(np.sum((b - a) * w))
    if a.size == 0 or covered < target - 1e-9 * total:
        return float("nan")
    bp = np.unique(np.concatenate([a, b]))
    cdf = _cdf(a, b, bp) if w is None else _weighted_cdf(a, b, w, bp)
    j = int(np.searchsorted(cdf, target, side="left"))
    if j == 0:
        return float(bp[0])
    j = min(j, bp.size - 1)
    t0, t1 = bp[j - 1], bp[j]
    c0, c1 = cdf[j - 1], cdf[j]
    return float(t0 + (t1 - t0) * (target - c0) / (c1 - c0)) if c1 > c0 else float(t1)


def _cdf(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Σ clip(t - a, 0, b - a) for many ``t`` at once, O((n + m) log n)."""
    sa = np.sort(a)
    sb = np.sort(b)
    ca = np.concatenate([[0.0], np.cumsum(sa)])
    cb = np.concatenate([[0.0], np.cumsum(sb)])
    na = np.searchsorted(sa, t, side="right")
    nb = np.searchsorted(sb, t, side="right")
    # started pieces give t - a, finished ones b - a: Σ_{a≤t}(t - a) − Σ_{b≤t}(t - b)
    return (na * t - ca[na]) - (nb * t - cb[nb])


def _weighted_cdf(a: np.ndarray, b: np.ndarray, w: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Σ w · clip(t - a, 0, b - a) for many ``t`` at once (:func:`_cdf` with weights)."""
    oa = np.argsort(a, kind="stable")
    ob = np.argsort(b, kind="stable")
    sa, wa = a[oa], w[oa]
    sb, wb = b[ob], w[ob]
    wa_c = np.concatenate([[0.0], np.cumsum(wa)])
    awa_c = np.concatenate([[0.0], np.cumsum(sa * wa)])
    wb_c = np.concatenate([[0.0], np.cumsum(wb)])
    bwb_c = np.concatenate([[0.0], np.cumsum(sb * wb)])
    na = np.searchsorted(sa, t, side="right")
    nb = np.searchsorted(sb, t, side="right")
    return (wa_c[na] * t - awa_c[na]) - (wb_c[nb] * t - bwb_c[nb])
