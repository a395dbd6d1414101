"""Vectorised sub-lines (:mod:`geo.network.linecut`) against ``shapely.ops.substring``."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.ops import substring

from geo.network.linecut import LineCutter


def random_lines(rng, n: int) -> np.ndarray:
    lines = []
    for _ in range(n):
        k = int(rng.integers(2, 9))
        steps = rng.normal(0, 100, (k - 1, 2))
        if k >= 3 and rng.random() < 0.2:
            steps[rng.integers(0, k - 1)] = 0.0  # a repeated vertex
        xy = np.vstack([[0.0, 0.0], np.cumsum(steps, axis=0)]) + rng.uniform(-1e4, 1e4, 2)
        xy += np.array([200_000.0, 2_500_000.0])
        lines.append(shapely.LineString(xy))
    return np.array(lines, dtype=object)


def assert_same_line(got, want, tol=1e-6):
    if want.geom_type == "Point" or want.length == 0:
        assert got.length == pytest.approx(0.0, abs=tol)
        assert shapely.distance(shapely.get_point(got, 0), want.centroid
                                if want.geom_type != "Point" else want) < tol
        return
    assert got.length == pytest.approx(want.length, abs=tol)
    assert shapely.hausdorff_distance(got, want) < tol
    # same direction: start and end points agree
    a, b = shapely.get_coordinates(got)[[0, -1]]
    c, d = shapely.get_coordinates(want)[[0, -1]]
    np.testing.assert_allclose([a, b], [c, d], atol=tol)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cut_matches_substring_on_random_lines(seed):
    rng = np.random.default_rng(seed)
    lines = random_lines(rng, 60)
    cutter = LineCutter(lines)
    np.testing.assert_allclose(cutter.length, shapely.length(lines), rtol=1e-12)
    m = 400
    idx = rng.integers(0, lines.size, m)
    f = np.sort(rng.uniform(0, 1, (m, 2)), axis=1)
    # special fractions: whole line, empty at both ends, exactly at a vertex
    f[0] = (0.0, 1.0)
    f[1] = (0.0, 0.0)
    f[2] = (1.0, 1.0)
    f[3] = (0.3, 0.3)
    for j in range(4, 24):
        line = lines[idx[j]]
        cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(
            shapely.get_coordinates(line), axis=0).T))])
        k = int(rng.integers(0, cum.size))
        f[j, rng.integers(0, 2)] = cum[k] / cum[-1]
        f[j] = np.sort(f[j])
    got = cutter.cut(idx, f[:, 0], f[:, 1])
    assert got.shape == (m,)
    assert (shapely.get_type_id(got) == 1).all()
    for j in range(m):
        want = substring(lines[idx[j]], f[j, 0], f[j, 1], normalized=True)
        assert_same_line(got[j], want)
        # length is exactly the fraction of the parent length
        assert got[j].length == pytest.approx((f[j, 1] - f[j, 0]) * lines[idx[j]].length,
                                              abs=1e-6)


def test_cut_by_hand():
    # an L: (0,0) → (300,0) → (300,400), length 700
    line = shapely.LineString([(0, 0), (300, 0), (300, 400)])
    other = shapely.LineString([(0, 0), (0, 10)])
    cutter = LineCutter(np.array([other, line], dtype=object))
    # [100, 500] m: (100,0) → (300,0) → (300,200)
    got = cutter.cut(np.array([1, 1, 0]), np.array([100 / 700, 0.0, 0.5]),
                     np.array([500 / 700, 300 / 700, 1.0]))
    np.testing.assert_allclose(shapely.get_coordinates(got[0]),
                               [[100, 0], [300, 0], [300, 200]], atol=1e-9)
    g1 = shapely.get_coordinates(got[1])
    assert g1[0] == pytest.approx([0, 0]) and g1[-1] == pytest.approx([300, 0])
    assert got[1].length == pytest.approx(300.0)
    np.testing.assert_allclose(shapely.get_coordinates(got[2]), [[0, 5], [0, 10]], atol=1e-9)
    # out-of-range fractions are clamped; empty input gives an empty array
    clamped = cutter.cut(np.array([1]), np.array([-0.5]), np.array([2.0]))
    assert clamped[0].length == pytest.approx(700.0)
    assert cutter.cut(np.zeros(0, np.int64), np.zeros(0), np.zeros(0)).shape == (0,)
    # a zero-length parent gives a degenerate piece at its point
    dot = LineCutter(np.array([shapely.LineString([(5, 5), (5, 5)]), line], dtype=object))
    piece = dot.cut(np.array([0, 1]), np.array([0.2, 0.0]), np.array([0.8, 1.0]))
    assert piece[0].length == 0.0 and shapely.get_coordinates(piece[0])[0] == pytest.approx([5, 5])
    assert piece[1].length == pytest.approx(700.0)


def test_cut_many_lines_far_from_origin():
    # many parent lines: the search key (line id × big + distance) must stay exact enough
    rng = np.random.default_rng(5)
    lines = random_lines(rng, 3000)
    cutter = LineCutter(lines)
    idx = np.arange(lines.size)
    f0 = rng.uniform(0, 0.5, idx.size)
    f1 = f0 + rng.uniform(0, 0.5, idx.size)
    got = cutter.cut(idx, f0, f1)
    np.testing.assert_allclose(shapely.length(got), (f1 - f0) * shapely.length(lines),
                               atol=1e-6)
    for j in rng.choice(idx.size, 50, replace=False):
        assert_same_line(got[j], substring(lines[j], f0[j], f1[j], normalized=True))
