"""Station-upload benchmark: a province-size list (16,000 rows, ~1 % bad rows).

Builds the same synthetic list as a GBK CSV and as an XLSX (names with CJK text, GCJ-02
coordinates spread over Guangdong, a few missing / swapped / duplicate / out-of-region
rows) and times, in one run:

* the naive baseline ``pandas.read_csv(dtype=str)`` of the same rows saved as UTF-8
  (what the upload would cost if it trusted the file);
* ``read_upload`` (encoding detection, CSV parsing) and ``validate_stations`` (mapping,
  coordinate parsing, GCJ-02 → WGS-84, region / swap / duplicate checks, near-duplicate
  search), reported as a ratio against that baseline;
* the same for the XLSX (openpyxl read-only, defusedxml);
* ``StationStore.create_version`` (one transaction: version row + 16,000 station rows,
  WAL, ``synchronous=FULL``) and reading the version back;
* GCJ-02 / BD-09: the largest round-trip error (system → WGS-84 → system, geodesic
  metres) over a 60 × 60 grid of Guangdong, and ``to_wgs84`` of 16,000 points.

    python bench/bench_upload.py [--rows 16000]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pyproj

from geo.io.upload import read_upload
from geo.stations.coords import from_wgs84, to_wgs84
from geo.stations.store import StationStore
from geo.stations.validation import validate_stations

DISTRICTS = ("南山", "福田", "天河", "龍華")


def station_frame(n: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    lon = rng.uniform(110.0, 117.0, n)
    lat = rng.uniform(20.5, 25.3, n)
    glon, glat = from_wgs84(lon, lat, "gcj02")
    df = pd.DataFrame({
        "编号": [f"{i:06d}" for i in range(n)],
        "站点名称": [f"第{i}号工会驿站（{DISTRICTS[i % 4]}）" for i in range(n)],
        "类型": [["工会驿站", "爱心妈妈小屋", "司机之家", "职工服务中心"][i % 4] for i in range(n)],
        "经度": [f"{x:.6f}" for x in glon], "纬度": [f"{y:.6f}" for y in glat],
        "地址": [f"广东省某市某区某路{i}号" for i in range(n)],
    })
    bad = rng.choice(n, size=max(n // 100, 4), replace=False)
    for k, i in enumerate(bad):
        if k % 4 == 0:
            df.loc[i, "经度"] = ""
        elif k % 4 == 1:
            df.loc[i, ["经度", "纬度"]] = df.loc[i, ["纬度", "经度"]].to_numpy()
        elif k % 4 == 2:
            df.loc[i, "编号"] = df.loc[(i + 1) % n, "编号"]
        else:
            df.loc[i, "经度"] = "121.5"
    return df


def timed(fn):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=16_000)
    args = ap.parse_args(argv)
    df = station_frame(args.rows)
    gbk = df.to_csv(index=False).encode("gbk")
    utf8 = df.to_csv(index=False).encode("utf-8")
    xbuf = io.BytesIO()
    df.to_excel(xbuf, index=False)
    xlsx = xbuf.getvalue()

    _base, t_base = timed(lambda: pd.read_csv(io.BytesIO(utf8), dtype=str,
                                              keep_default_na=False))
    raw, t_read = timed(lambda: read_upload("stations.csv", gbk))
    v, t_val = timed(lambda: validate_stations(raw, crs="gcj02"))
    xraw, t_xread = timed(lambda: read_upload("stations.xlsx", xlsx))
    xv, t_xval = timed(lambda: validate_stations(xraw, crs="gcj02"))
    assert v.rows_in == len(v.accepted) + len(v.rejected) == args.rows
    assert xv.rows_in == args.rows and len(xv.accepted) == len(v.accepted)
    with tempfile.TemporaryDirectory() as tmp:
        store = StationStore(Path(tmp) / "bench.db")
        store.add_user("bench_admin", password="Bench-Password-42", city="province",
                       role="admin")
        new = v.to_new_version(city="深圳市")
        info, t_store = timed(lambda: store.create_version(new, user="bench_admin"))
        back, t_back = timed(lambda: store.stations("深圳市"))
        assert len(back) == info.accepted
    result = {
        "rows": args.rows, "accepted": len(v.accepted), "rejected": len(v.rejected),
        "flagged": v.n_flagged, "encoding": raw.encoding,
        "baseline_pandas_read_csv_s": round(t_base, 3),
        "csv_read_upload_s": round(t_read, 3), "csv_validate_s": round(t_val, 3),
        "csv_total_over_baseline": round((t_read + t_val) / t_base, 1),
        "xlsx_read_upload_s": round(t_xread, 3), "xlsx_validate_s": round(t_xval, 3),
        "store_create_version_s": round(t_store, 3), "store_read_version_s": round(t_back, 3),
    }
    geod = pyproj.Geod(ellps="WGS84")
    glon, glat = np.meshgrid(np.linspace(109.6, 117.4, 60), np.linspace(20.1, 25.6, 60))
    glon, glat = glon.ravel(), glat.ravel()
    rng = np.random.default_rng(3)
    x, y = rng.uniform(110, 117, args.rows), rng.uniform(20.5, 25.3, args.rows)
    for system in ("gcj02", "bd09"):
        back = from_wgs84(*to_wgs84(glon, glat, system), system)
        err = geod.inv(glon, glat, back[0], back[1])[2]
        result[f"{system}_round_trip_max_m"] = float(f"{float(np.max(err)):.3g}")
        _w, t_conv = timed(lambda s=system: to_wgs84(x, y, s))
        result[f"{system}_to_wgs84_{args.rows}_points_s"] = round(t_conv, 3)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
