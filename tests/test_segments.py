"""The segment table (:mod:`geo.coverage.segments`) on hand-made tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from geo.coverage.segments import (
    SEGMENT_COLUMNS,
    build_segments,
    clip_segments,
    covered_length,
    covered_pieces,
    crossing_point,
    distance_pieces,
    weighted_quantile,
)

INF = math.inf


def seg_table(rows):
    """rows of (edge, x0, x1, d0, d1, s0, s1)."""
    return pd.DataFrame(rows, columns=list(SEGMENT_COLUMNS)).astype(
        {"edge": np.int64, "s0": np.int64, "s1": np.int64})


def sorted_rows(df: pd.DataFrame, cols=SEGMENT_COLUMNS) -> list[tuple]:
    return sorted(tuple(float(v) for v in r) for r in df[list(cols)].to_numpy())


# ------------------------------------------------------------------- build_segments

def test_build_segments_splits_host_edges_at_sources():
    # path 0 –e0(100)– 1 –e1(200)– 2 –e2(300)– 3; two sources on e1, given out of order:
    # source 0 at 150, source 1 at 50 (labels 7 and 9). Node distances by hand:
    # node 1: 50 (src 9), node 2: 50 (src 7), node 0: 150 (src 9), node 3: 350 (src 7).
    eu = np.array([0, 1, 2])
    ev = np.array([1, 2, 3])
    L = np.array([100.0, 200.0, 300.0])
    dist = np.array([150.0, 50.0, 50.0, 350.0])
    src = np.array([9, 9, 7, 7])
    seg = build_segments(eu, ev, L, dist, src, np.array([1, 1]), np.array([150.0, 50.0]),
                         src_ids=np.array([7, 9]))
    assert list(seg.columns) == list(SEGMENT_COLUMNS)
    want = [
        (0, 0, 100, 150, 50, 9, 9),
        (2, 0, 300, 50, 350, 7, 7),
        (1, 0, 50, 50, 0, 9, 9),      # node 1 → source 9
        (1, 50, 150, 0, 0, 9, 7),     # between the two stations
        (1, 150, 200, 0, 50, 7, 7),   # source 7 → node 2
    ]
    assert sorted_rows(seg) == sorted(tuple(float(v) for v in r) for r in want)


def test_build_segments_sources_at_edge_ends_and_out_of_range():
    # one edge 0→1 of 100 m; sources at offset 0, at 100 and at -5 / 130 (clamped)
    eu, ev, L = np.array([0]), np.array([1]), np.array([100.0])
    dist = np.array([0.0, 0.0])
    src = np.array([0, 1])
    seg = build_segments(eu, ev, L, dist, src, np.array([0, 0]), np.array([0.0, 100.0]))
    # u end, source 0 at 0, source 1 at 100, v end → [0,0], [0,100], [100,100]
    assert sorted_rows(seg) == sorted([
        (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
        (0.0, 0.0, 100.0, 0.0, 0.0, 0.0, 1.0),
        (0.0, 100.0, 100.0, 0.0, 0.0, 1.0, 1.0),
    ])
    clamped = build_segments(eu, ev, L, dist, src, np.array([0, 0]), np.array([-5.0, 130.0]))
    assert sorted_rows(clamped) == sorted_rows(seg)
    assert covered_length(seg, 10.0).sum() == pytest.approx(20.0)


def test_build_segments_without_sources_and_unreached_nodes():
    eu, ev, L = np.array([0, 1]), np.array([1, 2]), np.array([10.0, 20.0])
    dist = np.array([INF, 5.0, INF])
    src = np.array([-1, 3, -1])
    seg = build_segments(eu, ev, L, dist, src, np.zeros(0, np.int64), np.zeros(0))
    assert sorted_rows(seg) == sorted([(0, 0, 10, INF, 5, -1, 3), (1, 0, 20, 5, INF, 3, -1)])
    # budget 8: 3 m on each side of node 1
    assert covered_length(seg, 8.0).tolist() == pytest.approx([3.0, 3.0])


def test_build_segments_self_loop_host():
    # a 300 m self-loop at node 0 hosting a source at 100: [0,100] and [100,300]
    seg = build_segments(np.array([0]), np.array([0]), np.array([300.0]),
                         np.array([100.0]), np.array([0]), np.array([0]), np.array([100.0]))
    assert sorted_rows(seg) == sorted([(0, 0, 100, 100, 0, 0, 0), (0, 100, 300, 0, 100, 0, 0)])
    assert covered_length(seg, 250.0).sum() == pytest.approx(300.0)
    # budget 120: [0,100] fully (r 20 + 120 ≥ 100), [100,300]: 120 + 20 = 140 of 200
    assert covered_length(seg, 120.0).tolist() == pytest.approx([100.0, 140.0])


# ----------------------------------------------------------- covered length / pieces

COV_ROWS = [
    # edge, x0, x1, d0, d1, s0, s1           budget 100
    (0, 0, 100, 0, INF, 5, -1),    # 100 (r0 = 100)
    (1, 0, 100, INF, INF, -1, -1),  # 0
    (2, 0, 100, 20, 30, 1, 2),     # min(100, 80 + 70) = 100
    (3, 0, 100, 70, 90, 3, 4),     # min(100, 30 + 10) = 40
    (4, 0, 100, 150, 50, 3, 4),    # d0 beyond budget: r0 = 0, r1 = 50 → 50
    (5, 0, 0, 0, 0, 1, 1),         # zero length → 0
    (6, 200, 300, 80, 80, 1, 2),   # host-edge segment: 20 + 20 = 40
    (7, 0, 100, INF, 10, -1, 6),   # 90
]


def test_covered_length_by_hand():
    seg = seg_table(COV_ROWS)
    assert covered_length(seg, 100.0).tolist() == pytest.approx(
        [100, 0, 100, 40, 50, 0, 40, 90])
    # budget 0: nothing, even at distance 0
    assert covered_length(seg, 0.0).sum() == 0.0


def test_crossing_point_by_hand():
    seg = seg_table(COV_ROWS)
    # t = (d1 − d0 + L) / 2 clipped to [0, L]; d1 = inf → L (row 0, and row 1 with both
    # inf); row 2 (30 − 20 + 100)/2 = 55; row 3 (90 − 70 + 100)/2 = 60;
    # row 4 (50 − 150 + 100)/2 = 0; row 5 L = 0; row 6 (80 − 80 + 100)/2 = 50; row 7 d0 = inf → 0
    assert crossing_point(seg).tolist() == pytest.approx([100, 100, 55, 60, 0, 0, 50, 0])


def test_covered_pieces_by_hand():
    seg = seg_table(COV_ROWS)
    p = covered_pieces(seg, 100.0)
    got = sorted_rows(p, ("edge", "x0", "x1", "source"))
    want = sorted([
        (0, 0, 100, 5),
        (2, 0, 55, 1), (2, 55, 100, 2),
        (3, 0, 30, 3), (3, 90, 100, 4),
        (4, 50, 100, 4),
        (6, 200, 220, 1), (6, 280, 300, 2),
        (7, 10, 100, 6),
    ])
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g == pytest.approx(w)
    assert (p["x1"] - p["x0"]).sum() == pytest.approx(covered_length(seg, 100.0).sum())


def _tent(seg: pd.DataFrame, x: np.ndarray, i: int) -> np.ndarray:
    r = seg.iloc[i]
    return np.minimum(r["d0"] + (x - r["x0"]), r["d1"] + (r["x1"] - x))


def test_covered_length_and_pieces_match_sampling():
    # random tents (including inf ends and ends beyond the budget), checked on a grid
    rng = np.random.default_rng(11)
    n = 300
    L = rng.uniform(0, 400, n)
    L[:10] = 0.0
    d0 = rng.uniform(0, 700, n)
    d1 = np.clip(d0 + rng.uniform(-1, 1, n) * L, 0, None)  # |d1 − d0| ≤ L (consistent)
    d0[rng.random(n) < 0.2] = INF
    d1[rng.random(n) < 0.2] = INF
    x0 = rng.uniform(0, 50, n)
    seg = pd.DataFrame({"edge": np.arange(n), "x0": x0, "x1": x0 + L, "d0": d0, "d1": d1,
                        "s0": np.where(np.isfinite(d0), 1, -1),
                        "s1": np.where(np.isfinite(d1), 2, -1)})
    budget = 500.0
    cov = covered_length(seg, budget)
    pieces = covered_pieces(seg, budget)
    m = 4000
    for i in range(n):
        if L[i] == 0:
            assert cov[i] == 0
            continue
        x = x0[i] + (np.arange(m) + 0.5) / m * L[i]
        f = _tent(seg, x, i)
        inside = f <= budget
        assert cov[i] == pytest.approx(inside.mean() * L[i], abs=L[i] / m * 2 + 1e-9)
        # pieces: a point is in the piece of source 1 iff covered and the x0 arm is the
        # smaller one (ties go either way)
        pe = pieces.loc[pieces["edge"] == i]
        lab = np.full(m, 0)
        for _, r in pe.iterrows():
            lab[(x >= r["x0"]) & (x <= r["x1"])] = r["source"]
        arm0 = (seg["d0"].iloc[i] + (x - x0[i])) <= (seg["d1"].iloc[i] + (x0[i] + L[i] - x))
        want = np.where(inside, np.where(arm0, 1, 2), 0)
        assert (lab != want).sum() <= 3, i


# ------------------------------------------------------------------- clip_segments

def test_clip_segments_by_hand():
    seg = seg_table([
        (4, 0, 100, 10, 30, 1, 2),
        (5, 0, 50, 40, 0, 0, 9),
        (5, 50, 120, 0, INF, 9, -1),
        (6, 0, 10, 0, 0, 3, 3),
    ])
    parts = pd.DataFrame({"part": [7, 8, 9, 10], "edge": [4, 5, 6, 99],
                          "p": [20.0, 30.0, 10.0, 0.0], "q": [90.0, 80.0, 10.0, 5.0]})
    out = clip_segments(seg, parts)
    # edge 4 on [20, 90]: f(20) = min(10 + 20, 30 + 80) = 30 (s 1); f(90) = min(100, 40) = 40 (s 2)
    # edge 5 on [30, 50]: f(30) = min(70, 0 + 20) = 20 (s 9); f(50) = 0 (s 9)
    #        on [50, 80]: f(50) = 0 (s 9); f(80) = min(30, inf) = 30 (s 9)
    # part 9 is empty (p = q), part 10 is on an edge without segments
    got = sorted(tuple(float(v) for v in r) for r in
                 out[["part", "edge", "x0", "x1", "d0", "d1", "s0", "s1"]].to_numpy())
    assert got == sorted([
        (7, 4, 20, 90, 30, 40, 1, 2),
        (8, 5, 30, 50, 20, 0, 9, 9),
        (8, 5, 50, 80, 0, 30, 9, 9),
    ])
    # the clipped covered length equals the covered length of [20, 90] of the original:
    # budget 50 → original covered [0, 40] ∪ [80, 100]; within [20, 90]: 20 + 10 = 30
    e4 = out.loc[out["edge"] == 4]
    assert covered_length(e4, 50.0).sum() == pytest.approx(30.0)


def test_clip_segments_preserves_the_distance_function():
    rng = np.random.default_rng(3)
    n = 80
    L = rng.uniform(10, 300, n)
    d0 = rng.uniform(0, 400, n)
    d1 = np.clip(d0 + rng.uniform(-1, 1, n) * L, 0, None)
    d1[::7] = INF
    seg = pd.DataFrame({"edge": np.arange(n), "x0": 0.0, "x1": L, "d0": d0, "d1": d1,
                        "s0": 1, "s1": np.where(np.isfinite(d1), 2, -1)})
    p = rng.uniform(0, 1, n) * L
    q = p + rng.uniform(0, 1, n) * (L - p)
    parts = pd.DataFrame({"part": np.arange(n), "edge": np.arange(n), "p": p, "q": q})
    out = clip_segments(seg, parts)
    for _, r in out.iterrows():
        i = int(r["edge"])
        x = np.linspace(r["x0"], r["x1"], 50)
        orig = _tent(seg, x, i)
        new = np.minimum(r["d0"] + (x - r["x0"]), r["d1"] + (r["x1"] - x))
        np.testing.assert_allclose(new, orig, rtol=1e-12, atol=1e-9)
        assert r["x0"] == pytest.approx(p[i]) and r["x1"] == pytest.approx(q[i])


# ------------------------------------------------------ distance pieces and quantiles

def test_distance_pieces_by_hand():
    seg = seg_table([
        (0, 0, 100, 10, 30, 0, 0),    # t = 60: [10, 70] over 60 m and [30, 70] over 40 m
        (1, 0, 100, INF, INF, -1, -1),  # one censored piece of 100 m
        (2, 0, 100, 0, INF, 0, -1),   # t = L: [0, 100] over 100 m
        (3, 0, 100, INF, 20, -1, 0),  # t = 0: [20, 120] over 100 m
    ])
    lo, span = distance_pieces(seg)
    assert lo.tolist() == [10, INF, 0, INF, 30, INF, INF, 20]
    assert span.tolist() == pytest.approx([60, 100, 100, 0, 40, 0, 0, 100])
    assert span.sum() == pytest.approx(400.0)


def test_weighted_quantile_by_hand():
    # one uniform piece on [0, 100]
    assert weighted_quantile(np.array([0.0]), np.array([100.0]), 0.5, cap=1000) == \
        pytest.approx(50.0)
    assert weighted_quantile(np.array([0.0]), np.array([100.0]), 0.0, cap=1000) == \
        pytest.approx(0.0)
    assert weighted_quantile(np.array([0.0]), np.array([100.0]), 1.0, cap=1000) == \
        pytest.approx(100.0)
    # overlapping pieces [0, 100] and [50, 150]: density 1, 2, 1; total 200; the median
    # solves 50 + 2 (t − 50) = 100 → t = 75
    assert weighted_quantile(np.array([0.0, 50.0]), np.array([100.0, 100.0]), 0.5,
                             cap=1000) == pytest.approx(75.0)
    # 25 %: t = 50 (cdf(50) = 50 = 0.25 × 200)
    assert weighted_quantile(np.array([0.0, 50.0]), np.array([100.0, 100.0]), 0.25,
                             cap=1000) == pytest.approx(50.0)
    # add 100 m that is unreached (inf): total 200 with [0,100] known
    lo = np.array([0.0, INF])
    span = np.array([100.0, 100.0])
    assert weighted_quantile(lo, span, 0.25, cap=1000) == pytest.approx(50.0)
    assert weighted_quantile(lo, span, 0.5, cap=1000) == pytest.approx(100.0)
    assert math.isnan(weighted_quantile(lo, span, 0.75, cap=1000))
    # a cap inside the piece: distances above 60 are only known to exceed 60
    assert weighted_quantile(np.array([0.0]), np.array([100.0]), 0.5, cap=60) == \
        pytest.approx(50.0)
    assert math.isnan(weighted_quantile(np.array([0.0]), np.array([100.0]), 0.7, cap=60))
    # no street at all
    assert math.isnan(weighted_quantile(np.zeros(0), np.zeros(0), 0.5, cap=60))


def test_weighted_quantile_matches_sampling():
    rng = np.random.default_rng(8)
    lo = rng.uniform(0, 800, 200)
    span = rng.uniform(0, 300, 200)
    lo[::9] = INF
    samples = np.concatenate([np.linspace(a, a + s, max(int(s * 20), 1), endpoint=False)
                              for a, s in zip(lo, span, strict=True) if np.isfinite(a) and s > 0])
    weights = np.concatenate([np.full(max(int(s * 20), 1), s / max(int(s * 20), 1))
                              for a, s in zip(lo, span, strict=True) if np.isfinite(a) and s > 0])
    total = span.sum()
    order = np.argsort(samples)
    cdf = np.cumsum(weights[order])
    for q in (0.1, 0.3, 0.5, 0.8):
        j = np.searchsorted(cdf, q * total)
        want = samples[order][j]
        got = weighted_quantile(lo, span, q, cap=1e9)
        assert got == pytest.approx(want, abs=0.2), q


def test_covered_pieces_merge_modes() -> None:
    # budget 1000, d = 950 at x0 and 960 at x1 → remaining 50 + 40 m:
    #   edge 0 (100 m): 50 + 40 < 100 → two separate stretches, never merged;
    #   edge 1 (60 m), sources 0 | 0: covered end to end by one source → merged by both;
    #   edge 2 (60 m), sources 0 | 1: covered end to end by two sources → merged by "any"
    from geo.coverage.segments import covered_pieces

    seg = {"edge": np.array([0, 1, 2]), "x0": np.zeros(3), "x1": np.array([100.0, 60, 60]),
           "d0": np.array([950.0, 950, 950]), "d1": np.array([960.0, 960, 960]),
           "s0": np.array([0, 0, 0]), "s1": np.array([0, 0, 1])}
    none = covered_pieces(seg, 1000.0)
    assert len(none) == 6  # two stretches per segment
    same = covered_pieces(seg, 1000.0, merge="same_source")
    assert len(same) == 5  # edge 1 merged into [0, 60]
    merged = same.loc[same["edge"] == 1]
    assert merged[["x0", "x1"]].values.tolist() == [[0.0, 60.0]]
    anyp = covered_pieces(seg, 1000.0, merge="any")
    assert len(anyp) == 4  # edges 1 and 2 merged
    # covered length is the same whatever the merge
    for p in (none, same, anyp):
        assert (p["x1"] - p["x0"]).sum() == pytest.approx(50 + 40 + 60 + 60)
    with pytest.raises(ValueError):
        covered_pieces(seg, 1000.0, merge="bogus")
