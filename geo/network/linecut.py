"""Vectorised sub-lines: cut many LineStrings between two fractions of their length.

``shapely.ops.substring`` is a Python function called once per piece; here all pieces
are cut at once with numpy over the flat coordinate array of the parent lines.
"""

from __future__ import annotations

import numpy as np
import shapely


class LineCutter:
    """Pre-computed flat coordinates and cumulative lengths of a line array."""

    def __init__(self, lines: np.ndarray) -> None:
        coords, index = shapely.get_coordinates(lines, return_index=True)
        self.coords = coords
        counts = np.bincount(index, minlength=len(lines))
        self.start = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        self.count = counts.astype(np.int64)
        seg = np.hypot(np.diff(coords[:, 0]), np.diff(coords[:, 1]))
        # cumulative length along each line; reset at each line start
        cum = np.concatenate([[0.0], np.cumsum(seg)])
        self.cum = cum - np.repeat(cum[self.start], counts)
        self.length = np.where(counts > 0, self.cum[self.start + counts - 1], 0.0)
        # a global, monotone search key: line id * big + distance along the line
        self._big = float(self.length.max()) * 2.0 + 1.0 if len(lines) else 1.0
        self._key = np.repeat(np.arange(len(lines)), counts) * self._big + self.cum

    def cut(self, line: np.ndarray, f0: np.ndarray, f1: np.ndarray) -> np.ndarray:
        """Sub-lines of ``lines[line]`` from fraction ``f0`` to ``f1`` (0 ≤ f0 ≤ f1 ≤ 1).

        Returns a shapely array of LineStrings (degenerate pieces become two equal
        points; callers drop zero-length pieces beforehand if they want).
        """
        if np.asarray(line).size == 0:
            return np.empty(0, dtype=object)
        out, offsets = self.cut_coords(line, f0, f1)
        idx = np.repeat(np.arange(offsets.size - 1), np.diff(offsets))
        return shapely.linestrings(out, indices=idx)

    def cut_coords(self, line: np.ndarray, f0: np.ndarray, f1: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`cut` as flat coordinates: piece ``i`` is
        ``coords[offsets[i]:offsets[i + 1]]`` (at least two points), no geometries built."""
        line = np.asarray(line, dtype=np.int64)
        n = line.size
        if n == 0:
            return np.zeros((0, 2)), np.zeros(1, dtype=np.int64)
        f0 = np.clip(np.asarray(f0, dtype=float), 0.0, 1.0)
        f1 = np.clip(np.asarray(f1, dtype=float), 0.0, 1.0)
        total = self.length[line]
        s0 = f0 * total
        s1 = np.maximum(f1 * total, s0)
        st = self.start[line]
        cnt = self.count[line]
        # index (within the line) of the last vertex at or before s0 / s1
        i0 = self._locate(line, st, cnt, s0)
        i1 = self._locate(line, st, cnt, s1)
        p0 = self._interp(st, cnt, i0, s0)
        p1 = self._interp(st, cnt, i1, s1)
        # interior vertices strictly after i0 up to i1 (those with cum < s1)
        n_inner = np.maximum(i1 - i0, 0)
        inner_cum = np.concatenate([[0], np.cumsum(n_inner)])
        total_pts = n_inner + 2
        offsets = np.concatenate([[0], np.cumsum(total_pts)])
        out = np.empty((int(offsets[-1]), 2), dtype=float)
        out[offsets[:-1]] = p0
        out[offsets[1:] - 1] = p1
        if inner_cum[-1] > 0:
            piece = np.repeat(np.arange(n), n_inner)
            k = np.arange(int(inner_cum[-1])) - inner_cum[piece]
            src = st[piece] + i0[piece] + 1 + k
            out[offsets[piece] + 1 + k] = self.coords[src]
        return out, offsets

    def _locate(self, line: np.ndarray, st: np.ndarray, cnt: np.ndarray,
                s: np.ndarray) -> np.ndarray:
        """Index (within its line) of the last vertex at or before distance ``s``."""
        pos = np.searchsorted(self._key, line * self._big + s, side="right") - 1
        return np.clip(pos - st, 0, np.maximum(cnt - 2, 0))

    def _interp(self, st: np.ndarray, cnt: np.ndarray, i: np.ndarray,
                s: np.ndarray) -> np.ndarray:
        a = st + i
        b = np.minimum(a + 1, st + cnt - 1)
        ca, cb = self.cum[a], self.cum[b]
        span = cb - ca
        t = np.where(span > 0, (s - ca) / np.where(span > 0, span, 1.0), 0.0)
        t = np.clip(t, 0.0, 1.0)[:, None]
        return self.coords[a] * (1.0 - t) + self.coords[b] * t
