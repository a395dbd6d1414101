"""Time+RSS, clipped ~300MB Guangdong PBF reads: python bench/bench_pbf.py [--size-mb 300] [--full]

Requirement shown: a ~300 MB Guangdong ``.osm.pbf`` extract is readable in 24 GB when
clipped to a boundary polygon or a bbox.

No real province extract is available offline, so a synthetic one is generated first
(deterministic for a given ``--seed`` and ``--size-mb``) and cached in ``--workdir``:

* a jittered street lattice over Guangdong's bbox (109.6–117.4°E, 20.1–25.6°N), denser
  around the Pearl River Delta (at 300 MB: blocks of ~110 m there, ~1 km in the
  countryside) so a Shenzhen-size bbox holds ~8 % of the streets;
* street lines cut into ways of 3–8 blocks, ``highway`` = primary / secondary / tertiary
  on every 24th / 8th / 4th line (trunk and motorway lines too), otherwise residential,
  service, footway, unclassified, living_street or pedestrian, mostly named;
* 3 untagged shape nodes per block side and 2 square ``building=yes`` ways (4 untagged
  nodes each) per block, so most nodes — as in a real extract — are not street nodes;
* version / changeset / timestamp metadata like a Geofabrik download (in edit batches).
  Without relations and with few tags the file still packs ~6 bytes per node, likely
  more nodes per MB than a real extract — so the benchmark errs on the heavy side;
* node ids spread out like real ones (see :data:`NODE_ID_SPREAD`), which matters for
  the memory of the node-location index.

Nodes are formatted as fixed-width OPL lines in numpy, ways as OPL strings; libosmium
parses the text chunk by chunk and ``osmium.SimpleWriter`` streams the PBF out (several
times faster than adding ``osmium.osm.mutable`` objects one by one).

Each read then runs in its own subprocess, so its peak RSS
(``getrusage(RUSAGE_SELF).ru_maxrss``) is its own:

* ``bbox``: clipped to a Shenzhen-size bbox (113.75–114.65°E, 22.45–22.85°N);
* ``polygon``: clipped to a hexagon of similar size centred on that bbox;
* ``full`` (``--full`` only): the whole file, unclipped.

    python bench/bench_pbf.py                      # ~300 MB file, bbox + polygon
    python bench/bench_pbf.py --full               # ... and the unclipped read
    python bench/bench_pbf.py --size-mb 20         # quick run
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

#: Bumped whenever the generated data changes (invalidates cached files).
GENERATOR_VERSION = 1

#: Guangdong's bbox and the lattice's density centre (Pearl River Delta).
GD_BBOX: tuple[float, float, float, float] = (109.6, 20.1, 117.4, 25.6)
PRD_CENTRE: tuple[float, float] = (113.9, 22.75)
PRD_SIGMA: tuple[float, float] = (0.6, 0.45)
PRD_WEIGHT = 0.6  # share of lattice lines drawn from the Gaussian around the PRD

#: Shenzhen-size clip bbox; the hexagon is centred on it with similar extent.
CITY_BBOX: tuple[float, float, float, float] = (113.75, 22.45, 114.65, 22.85)

SHAPE_NODES = 3  # untagged shape nodes per block side
BUILDINGS = 2  # building ways (4 nodes each) per block
#: Node ids are the lattice layout ids times this, so they are sparse like a real
#: extract's (ids up to ~1.2e10): libosmium's ``flex_mem`` index then stays sparse
#: (16 B/node) instead of switching to its dense array (8 B per id up to the max id).
NODE_ID_SPREAD = 128
#: Calibrated file bytes per lattice block (with the settings above).
BYTES_PER_BLOCK = 88.0

#: OPL text is handed to libosmium in chunks of about this many characters.
_CHUNK_CHARS = 8_000_000

_FOOT_MIX: tuple[tuple[str, float], ...] = (
    ("residential", 0.55),
    ("service", 0.12),
    ("footway", 0.15),
    ("unclassified", 0.08),
    ("living_street", 0.05),
    ("pedestrian", 0.05),
)


# --------------------------------------------------------------------------- generate


@dataclass(frozen=True)
class GenParams:
    size_mb: float
    seed: int
    version: int = GENERATOR_VERSION
    shape_nodes: int = SHAPE_NODES
    buildings: int = BUILDINGS
    node_id_spread: int = NODE_ID_SPREAD

    @property
    def stem(self) -> str:
        return f"guangdong_synth_{self.size_mb:g}mb_seed{self.seed}_v{self.version}"


def _warped_axis(n: int, lo: float, hi: float, centre: float, sigma: float) -> np.ndarray:
    """``n`` line positions in ``[lo, hi]`` whose density is uniform + a Gaussian bump."""
    from scipy.special import ndtr

    fine = np.linspace(lo, hi, 20_001)
    g = ndtr((fine - centre) / sigma)
    g = (g - g[0]) / (g[-1] - g[0])
    cdf = (1.0 - PRD_WEIGHT) * (fine - lo) / (hi - lo) + PRD_WEIGHT * g
    q = (np.arange(n) + 0.5) / n
    return np.interp(q, cdf, fine)


def _timestamp_pool(rng: np.random.Generator, n: int = 4096) -> list[str]:
    secs = np.sort(rng.integers(1_262_304_000, 1_719_792_000, n))  # 2010 .. mid-2024
    return [time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(s))) for s in secs]


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """ASCII digits of non-negative integers, zero-padded to ``width`` (``(n, width)``)."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (values.astype(np.int64)[:, None] // powers % 10 + 48).astype(np.uint8)


class _Opl:
    """Buffers OPL lines and streams them through libosmium into a PBF writer."""

    def __init__(self, path: Path, rng: np.random.Generator) -> None:
        import osmium
        import osmium.io

        self._osmium = osmium
        header = osmium.io.Header()
        header.set("generator", f"yizhan bench_pbf v{GENERATOR_VERSION}")
        header.add_box(osmium.osm.Box(*GD_BBOX))
        self.writer = osmium.SimpleWriter(str(path), header=header, overwrite=True)
        self.rng = rng
        self.pool = _timestamp_pool(rng)
        self.pool_bytes = np.frombuffer("".join(self.pool).encode(), dtype=np.uint8).reshape(
            len(self.pool), -1
        )
        self.parts: list[bytes] = []
        self.chars = 0
        self.nodes = 0
        self.ways = 0

    def meta(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Version, changeset and timestamp (index into the pool) for ``n`` objects.

        As in real data, consecutive objects come in edit batches (geometric run
        lengths, mean 10) sharing one changeset and timestamp; versions are mostly low.
        """
        rng = self.rng
        runs = rng.geometric(1 / 10, n // 5 + 8)
        while int(runs.sum()) < n:
            runs = np.concatenate([runs, rng.geometric(1 / 10, n // 5 + 8)])
        k = runs.size
        cs = np.repeat(rng.integers(1_000_000, 150_000_000, k), runs)[:n]
        tk = np.repeat(rng.integers(0, len(self.pool), k), runs)[:n]
        ver = np.minimum(rng.geometric(0.6, n), 30)
        return ver, cs, tk

    def nodes_chunk(self, ids: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> None:
        """Nodes as fixed-width OPL lines (zero-padded numbers), built in numpy."""
        n = int(ids.size)
        if n == 0:
            return
        if int(ids.max()) >= 10**11 or float(min(lon.min(), lat.min())) < 0:
            raise ValueError("node ids must stay below 1e11 and coordinates non-negative")
        ver, cs, tk = self.meta(n)
        fields = [
            ("n", ids, 11),
            (" v", ver, 2),
            (" c", cs, 9),
            (" t", None, 20),
            (" x", np.rint(lon * 1e7).astype(np.int64), 10),
            (" y", np.rint(lat * 1e7).astype(np.int64), 10),
        ]
        width = sum(len(p) + w for p, _, w in fields) + 2 + 1  # two "." and "\n"
        buf = np.empty((n, width), dtype=np.uint8)
        pos = 0
        for prefix, values, w in fields:
            buf[:, pos : pos + len(prefix)] = np.frombuffer(prefix.encode(), dtype=np.uint8)
            pos += len(prefix)
            if values is None:
                buf[:, pos : pos + w] = self.pool_bytes[tk]
            elif prefix in (" x", " y"):  # degrees: ddd.ddddddd
                digits = _digits(values, w)
                buf[:, pos : pos + 3] = digits[:, :3]
                buf[:, pos + 3] = ord(".")
                buf[:, pos + 4 : pos + w + 1] = digits[:, 3:]
                pos += 1
            else:
                buf[:, pos : pos + w] = _digits(values, w)
            pos += w
        buf[:, pos] = ord("\n")
        self.add(buf.tobytes())
        self.nodes += n

    def ways_chunk(self, tags: list[str], refs: list[str]) -> None:
        """Ways with OPL tag strings (``k=v,k=v``) and ref lists (``n1,n2,...``)."""
        n = len(tags)
        if n == 0:
            return
        ver, cs, tk = self.meta(n)
        v, c, pool = ver.tolist(), cs.tolist(), self.pool
        ts = [pool[t] for t in tk.tolist()]
        first = self.ways + 1
        self.add(
            "".join(
                [f"w{first + k} v{v[k]} c{c[k]} t{ts[k]} T{tags[k]} N{refs[k]}\n" for k in range(n)]
            )
        )
        self.ways += n

    def add(self, text: str | bytes) -> None:
        data = text.encode() if isinstance(text, str) else text
        self.parts.append(data)
        self.chars += len(data)
        if self.chars >= _CHUNK_CHARS:
            self.flush()

    def flush(self) -> None:
        if not self.parts:
            return
        osmium = self._osmium
        data = b"".join(self.parts)
        self.parts, self.chars = [], 0
        reader = osmium.io.Reader(osmium.io.FileBuffer(data, "opl"))
        try:
            osmium.apply(reader, self.writer)
        finally:
            reader.close()

    def close(self) -> None:
        self.flush()
        self.writer.close()


def _line_class(line: int) -> str | None:
    """Fixed highway class of a lattice line, or ``None`` for a mixed local street."""
    if line % 96 == 48:
        return "motorway"
    if line % 48 == 0:
        return "trunk"
    if line % 24 == 0:
        return "primary"
    if line % 8 == 0:
        return "secondary"
    if line % 4 == 0:
        return "tertiary"
    return None


def _way_tags(rng: np.random.Generator, n: int, line: int, name: str) -> list[str]:
    cls = _line_class(line)
    if cls == "motorway":
        return [f"highway=motorway,name={name}高速,oneway=yes,foot=no"] * n
    if cls is not None:
        extra = ",sidewalk=both" if cls in ("trunk", "primary") else ""
        return [f"highway={cls},name={name}{extra}"] * n
    kinds = [k for k, _ in _FOOT_MIX]
    probs = np.array([p for _, p in _FOOT_MIX])
    pick = rng.choice(len(kinds), size=n, p=probs / probs.sum()).tolist()
    named = (rng.random(n) < 0.6).tolist()
    out = []
    for k, nm in zip(pick, named, strict=True):
        hw = kinds[k]
        tag = f"highway={hw}"
        if hw == "service" and nm:
            tag += ",service=driveway"
        elif hw == "footway" and nm:
            tag += ",footway=sidewalk"
        elif nm:
            tag += f",name={name}"
        out.append(tag)
    return out


def _spans(rng: np.random.Generator, n_segments: int) -> Iterator[tuple[int, int]]:
    """Cut ``n_segments`` consecutive lattice segments into ways of 3–8 segments."""
    lens = rng.integers(3, 9, n_segments // 3 + 2)
    cuts = np.concatenate([[0], np.cumsum(lens)])
    cuts = cuts[cuts < n_segments]
    yield from zip(cuts.tolist(), [*cuts[1:].tolist(), n_segments], strict=True)


def _line_refs(line_ids: np.ndarray, m: int, spans: Iterator[tuple[int, int]]) -> list[str]:
    """OPL ref lists of the ways along one lattice line (junction k at ``k * (m + 1)``)."""
    strs = [f"n{v}" for v in line_ids.tolist()]
    return [",".join(strs[a * (m + 1) : b * (m + 1) + 1]) for a, b in spans]


def generate(params: GenParams, path: Path) -> dict[str, object]:
    """Write the synthetic Guangdong PBF to ``path``; returns its statistics."""
    t0 = time.perf_counter()
    m, nb, spread = params.shape_nodes, params.buildings, params.node_id_spread
    blocks = params.size_mb * 1e6 / BYTES_PER_BLOCK
    aspect = (GD_BBOX[2] - GD_BBOX[0]) * math.cos(math.radians(22.85)) / (GD_BBOX[3] - GD_BBOX[1])
    rows = max(4, round(math.sqrt(blocks / aspect)))
    cols = max(4, round(blocks / rows))
    lon = _warped_axis(cols, GD_BBOX[0], GD_BBOX[2], PRD_CENTRE[0], PRD_SIGMA[0])
    lat = _warped_axis(rows, GD_BBOX[1], GD_BBOX[3], PRD_CENTRE[1], PRD_SIGMA[1])
    dlon = np.diff(lon)
    dlat = np.diff(lat)
    dlat = np.append(dlat, dlat[-1])

    # Node-id layout per lattice row i (base = 1 + i * stride):
    #   junctions J[j] | horizontal shape nodes H[j, t] | vertical shape nodes V[j, t]
    #   (towards row i + 1) | building corners B[j, k, c]
    off_h = cols
    off_v = off_h + (cols - 1) * m
    off_b = off_v + cols * m
    stride = off_b + (cols - 1) * nb * 4

    def base(i: int) -> int:
        return 1 + i * stride

    def junctions(i: int) -> tuple[np.ndarray, np.ndarray]:
        r = np.random.default_rng([params.seed, 1, i])
        sx = np.append(dlon, dlon[-1])
        jx = lon + r.uniform(-0.2, 0.2, cols) * sx
        jy = lat[i] + r.uniform(-0.2, 0.2, cols) * dlat[i]
        return jx, jy

    rng = np.random.default_rng([params.seed, 0])
    out = _Opl(path, rng)
    f = (np.arange(1, m + 1) / (m + 1))[None, :]
    cur = junctions(0)
    for i in range(rows):
        r = np.random.default_rng([params.seed, 2, i])
        ids = [base(i) + np.arange(cols)]
        xs, ys = [cur[0]], [cur[1]]
        # horizontal shape nodes
        hx = cur[0][:-1, None] * (1 - f) + cur[0][1:, None] * f
        hy = cur[1][:-1, None] * (1 - f) + cur[1][1:, None] * f
        hx += r.uniform(-0.06, 0.06, hx.shape) * dlon[:, None]
        hy += r.uniform(-0.06, 0.06, hy.shape) * dlat[i]
        ids.append(base(i) + off_h + np.arange((cols - 1) * m))
        xs.append(hx.ravel())
        ys.append(hy.ravel())
        if i < rows - 1:
            nxt = junctions(i + 1)
            vx = cur[0][:, None] * (1 - f) + nxt[0][:, None] * f
            vy = cur[1][:, None] * (1 - f) + nxt[1][:, None] * f
            sx = np.append(dlon, dlon[-1])[:, None]
            vx += r.uniform(-0.06, 0.06, vx.shape) * sx
            vy += r.uniform(-0.06, 0.06, vy.shape) * dlat[i]
            ids.append(base(i) + off_v + np.arange(cols * m))
            xs.append(vx.ravel())
            ys.append(vy.ravel())
            # buildings: squares inside the block, corners in ring order
            cx = lon[:-1, None] + r.uniform(0.25, 0.75, (cols - 1, nb)) * dlon[:, None]
            cy = lat[i] + r.uniform(0.25, 0.75, (cols - 1, nb)) * dlat[i]
            h = np.minimum(0.1 * np.minimum(dlon, dlat[i]), 1.2e-4)[:, None]
            bx = np.stack([cx - h, cx + h, cx + h, cx - h], axis=-1)
            by = np.stack([cy - h, cy - h, cy + h, cy + h], axis=-1)
            ids.append(base(i) + off_b + np.arange((cols - 1) * nb * 4))
            xs.append(bx.ravel())
            ys.append(by.ravel())
            cur = nxt
        out.nodes_chunk(np.concatenate(ids) * spread, np.concatenate(xs), np.concatenate(ys))
    out.flush()
    highway_ways = 0

    # horizontal streets, row by row
    for i in range(rows):
        r = np.random.default_rng([params.seed, 3, i])
        line = np.empty(cols + (cols - 1) * m, dtype=np.int64)
        line[0 :: m + 1] = base(i) + np.arange(cols)
        for t in range(m):
            line[t + 1 :: m + 1] = base(i) + off_h + np.arange(cols - 1) * m + t
        refs = _line_refs(line * spread, m, _spans(r, cols - 1))
        out.ways_chunk(_way_tags(r, len(refs), i, f"横{i}路"), refs)
        highway_ways += len(refs)
    # vertical streets, column by column
    row_base = 1 + np.arange(rows, dtype=np.int64) * stride
    for j in range(cols):
        r = np.random.default_rng([params.seed, 4, j])
        line = np.empty(rows + (rows - 1) * m, dtype=np.int64)
        line[0 :: m + 1] = row_base + j
        for t in range(m):
            line[t + 1 :: m + 1] = row_base[:-1] + off_v + j * m + t
        refs = _line_refs(line * spread, m, _spans(r, rows - 1))
        out.ways_chunk(_way_tags(r, len(refs), j, f"纵{j}路"), refs)
        highway_ways += len(refs)
    # buildings, row by row
    nbw = (cols - 1) * nb
    for i in range(rows - 1):
        first = base(i) + off_b + np.arange(nbw, dtype=np.int64) * 4
        ring = np.stack([first, first + 1, first + 2, first + 3, first], axis=-1) * spread
        refs = (("n%d,n%d,n%d,n%d,n%d\n" * nbw) % tuple(ring.ravel().tolist())).split("\n")
        out.ways_chunk(["building=yes"] * nbw, refs[:-1])
    out.close()
    return {
        "params": asdict(params),
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "rows": rows,
        "cols": cols,
        "nodes": out.nodes,
        "ways": out.ways,
        "highway_ways": highway_ways,
        "generate_s": round(time.perf_counter() - t0, 1),
    }


def ensure_pbf(params: GenParams, workdir: Path, regenerate: bool = False) -> tuple[Path, dict]:
    """The cached synthetic PBF for ``params`` (generated when missing)."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"{params.stem}.osm.pbf"
    side = workdir / f"{params.stem}.json"
    if not regenerate and path.is_file() and side.is_file():
        info = json.loads(side.read_text())
        if info.get("params") == asdict(params):
            info["cached"] = True
            return path, info
    tmp = workdir / f"{params.stem}.tmp.osm.pbf"
    print(f"# generating {path} (~{params.size_mb:g} MB) ...", flush=True)
    info = generate(params, tmp)
    os.replace(tmp, path)
    side.write_text(json.dumps(info, indent=1))
    info["cached"] = False
    return path, info


# --------------------------------------------------------------------------- read


def city_hexagon():  # -> shapely.Polygon
    """A hexagon spanning the city bbox's width and height (area ~0.75 of the bbox)."""
    import shapely

    x0, y0, x1, y1 = CITY_BBOX
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    rx, ry = (x1 - x0) / 2, (y1 - y0) / 2 / math.sin(math.pi / 3)
    angles = [k * math.pi / 3 for k in range(6)]
    return shapely.Polygon([(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in angles])


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB on Linux


def run_case(path: Path, case: str) -> dict[str, object]:
    """One read in this process (the child)."""
    sys.path.insert(0, str(ROOT))
    from geo.network.pbf import read_osm_file

    base_gb = _rss_gb()
    t0 = time.perf_counter()
    if case == "bbox":
        raw = read_osm_file(path, bbox=CITY_BBOX)
    elif case == "polygon":
        raw = read_osm_file(path, polygon=city_hexagon())
    elif case == "full":
        raw = read_osm_file(path)
    else:
        raise ValueError(case)
    secs = time.perf_counter() - t0
    meta = raw.meta
    return {
        "case": case,
        "seconds": round(secs, 1),
        "edges": len(raw.edges),
        "nodes": len(raw.node_id),
        "ways_read": meta.get("ways_read"),
        "ways_kept": meta.get("ways_kept"),
        "node_refs_read": meta.get("node_refs_read"),
        "baseline_rss_gb": round(base_gb, 3),
        "peak_rss_gb": round(_rss_gb(), 3),
    }


CLIPS = {
    "bbox": "bbox {:g}–{:g}°E, {:g}–{:g}°N".format(*CITY_BBOX[0::2], *CITY_BBOX[1::2]),
    "polygon": "hexagon in that bbox",
    "full": "none (whole file)",
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--size-mb", type=float, default=300.0, help="synthetic file size")
    ap.add_argument("--full", action="store_true", help="also read the whole file unclipped")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--workdir", type=Path, default=Path("/tmp/yizhan_bench_pbf"), help="file cache"
    )
    ap.add_argument("--regenerate", action="store_true", help="ignore a cached file")
    ap.add_argument("--child", choices=sorted(CLIPS), help=argparse.SUPPRESS)
    ap.add_argument("--pbf", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(run_case(args.pbf, args.child)))
        return 0
    if args.size_mb <= 0:
        ap.error("--size-mb must be positive")

    path, info = ensure_pbf(GenParams(args.size_mb, args.seed), args.workdir, args.regenerate)
    size_mb = path.stat().st_size / 1e6
    how = "cached" if info["cached"] else f"generated in {info['generate_s']} s"
    print(
        f"# file {path}: {size_mb:.1f} MB ({how}), {info['nodes']:,} nodes, "
        f"{info['ways']:,} ways ({info['highway_ways']:,} highway), "
        f"lattice {info['rows']}×{info['cols']}",
        flush=True,
    )
    cases = ["bbox", "polygon", *(["full"] if args.full else [])]
    results = []
    for case in cases:
        print(f"# read_osm_file, clip: {CLIPS[case]} ...", flush=True)
        cmd = [sys.executable, __file__, "--child", case, "--pbf", str(path)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            print(proc.stderr[-3000:])
            return proc.returncode
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        extra_gb = float(res["peak_rss_gb"]) - float(res["baseline_rss_gb"])
        res["bytes_per_file_node"] = round(extra_gb * 1024**3 / int(info["nodes"]), 1)
        results.append(res)
        print(json.dumps(res, ensure_ascii=False), flush=True)
    print()
    print(
        "| clip | file MB | nodes in file | ways in file | highway ways read | edges returned "
        "| seconds | peak RSS GB | RSS over baseline per file node (B) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {CLIPS[str(r['case'])]} | {size_mb:.1f} | {info['nodes']:,} | {info['ways']:,} "
            f"| {r['ways_read']:,} | {r['edges']:,} | {r['seconds']} | {r['peak_rss_gb']:.2f} "
            f"| {r['bytes_per_file_node']} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
