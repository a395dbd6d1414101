"""Tests of :mod:`geo.stations.neardup`: the bounded near-duplicate search gives the same
pairs as the plain all-pairs search, caps the pair table, and reports the counts."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal
from scipy.spatial import cKDTree

from geo.crs import utm_crs_for
from geo.errors import InvalidParameterError
from geo.io.upload import read_upload
from geo.stations import neardup
from geo.stations.cells import norm_name
from geo.stations.neardup import PAIR_COLUMNS, find_near_duplicates, near_duplicates
from geo.stations.validation import validate_stations
from tests.upload_fixtures import csv_bytes

SZ = (114.05, 22.54)
H = ["编号", "名称", "类型", "经度", "纬度"]


def reference_pairs(stations: gpd.GeoDataFrame, same_name_m: float = 50.0,
                    any_m: float = 5.0) -> pd.DataFrame:
    """The all-pairs search the module replaced (quadratic; small inputs only)."""
    cols = list(PAIR_COLUMNS)
    if len(stations) < 2:
        return pd.DataFrame(columns=cols)
    g = stations.geometry
    cx, cy = float(np.nanmedian(g.x)), float(np.nanmedian(g.y))
    metric = g.to_crs(utm_crs_for(cx, cy))
    xy = np.column_stack([metric.x.to_numpy(), metric.y.to_numpy()])
    pairs = cKDTree(xy).query_pairs(r=max(same_name_m, any_m), output_type="ndarray")
    names = [norm_name(str(v)) for v in stations["name"]]
    rows, sid, nm = (stations[c].to_numpy() for c in ("row", "station_id", "name"))
    out = []
    for a, b in pairs:
        d = float(np.hypot(*(xy[a] - xy[b])))
        if d <= any_m:
            why, why_zh = f"two stations within {any_m:g} m", f"两站相距不足 {any_m:g} 米"
        elif names[a] == names[b] and d <= same_name_m:
            why, why_zh = (f"same name within {same_name_m:g} m",
                           f"同名站点相距不足 {same_name_m:g} 米")
        else:
            continue
        a, b = (a, b) if rows[a] < rows[b] else (b, a)
        out.append((int(rows[a]), int(rows[b]), sid[a], sid[b], nm[a], nm[b], round(d, 2),
                    why, why_zh))
    return pd.DataFrame(out, columns=cols).sort_values(["row_a", "row_b"]).reset_index(drop=True)


def stations_at(lon: np.ndarray, lat: np.ndarray, names: list[str],
                rows: np.ndarray | None = None) -> gpd.GeoDataFrame:
    n = len(lon)
    rows = np.arange(1, n + 1) if rows is None else rows
    return gpd.GeoDataFrame({"row": rows, "station_id": [f"s{r}" for r in rows],
                             "name": names},
                            geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")


@st.composite
def clustered(draw: st.DrawFn) -> gpd.GeoDataFrame:
    """A few clusters (metres apart), repeated positions, few names, shuffled rows."""
    n = draw(st.integers(2, 60))
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    spread_deg = draw(st.sampled_from([0.0, 2e-5, 1e-4, 6e-4]))
    centres = rng.uniform(0, 3e-3, (draw(st.integers(1, 4)), 2))
    base = centres[rng.integers(0, len(centres), n)] + rng.uniform(0, spread_deg, (n, 2))
    repeat = rng.random(n) < draw(st.sampled_from([0.0, 0.3, 0.8]))
    for i in np.flatnonzero(repeat)[1:]:
        base[i] = base[rng.integers(0, i)]  # the exact position of an earlier row
    names = [f"驿站{k}" for k in rng.integers(0, draw(st.integers(1, 5)), n)]
    rows = rng.permutation(n) + 1
    return stations_at(SZ[0] + base[:, 0], SZ[1] + base[:, 1], names, rows)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clustered())
def test_same_pairs_and_counts_as_the_all_pairs_search(stations: gpd.GeoDataFrame) -> None:
    expected = reference_pairs(stations)
    result = find_near_duplicates(stations)
    assert_frame_equal(result.pairs, expected)
    assert result.total_pairs == len(expected) and result.pairs_exact
    in_pairs = set(expected["row_a"]) | set(expected["row_b"])
    assert result.flagged_rows == len(in_pairs)

    cap = max(len(expected) // 2, 1)
    capped = find_near_duplicates(stations, max_pairs=cap)
    assert_frame_equal(capped.pairs, expected.head(cap))  # a prefix, by row
    assert capped.total_pairs == len(expected) and capped.pairs_exact
    assert capped.flagged_rows == len(in_pairs)
    assert capped.truncated == (len(expected) > cap)


def test_rows_at_one_point_are_capped_and_counted() -> None:
    n = 3_000
    stations = stations_at(np.full(n, SZ[0]), np.full(n, SZ[1]), [f"站{i}" for i in range(n)])
    result = find_near_duplicates(stations, max_pairs=500)
    assert len(result.pairs) == 500
    assert result.total_pairs == n * (n - 1) // 2 and result.pairs_exact
    assert result.flagged_rows == n and result.truncated
    assert result.pairs["row_a"].eq(1).all()
    assert result.pairs["row_b"].tolist() == list(range(2, 502))
    assert (result.pairs["distance_m"] == 0).all()
    assert result.note() == (f"near-duplicates: {n * (n - 1) // 2:,} pairs among {n:,} rows; "
                             "only the first 500 pairs (by row) are listed")


def test_a_spent_count_budget_gives_a_lower_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    n = 400  # distinct positions within ~1 m: every pair is within 5 m
    lon, lat = SZ[0] + rng.uniform(0, 1e-5, n), SZ[1] + rng.uniform(0, 1e-5, n)
    stations = stations_at(lon, lat, ["同名"] * n)
    monkeypatch.setattr(neardup, "COUNT_BUDGET", 5_000)
    result = find_near_duplicates(stations, max_pairs=100)
    assert not result.pairs_exact
    assert 100 <= result.total_pairs < n * (n - 1) // 2
    assert result.count_text().startswith("≥ ")
    assert result.flagged_rows == n
    monkeypatch.undo()
    assert find_near_duplicates(stations, max_pairs=100).total_pairs == n * (n - 1) // 2


def test_validation_reports_the_cap_and_keeps_every_row() -> None:
    n = 16_000  # a province-size list, every row at one point
    rows = [[f"{i:05d}", f"驿站{i}", "工会驿站", repr(SZ[0]), repr(SZ[1])] for i in range(n)]
    raw = read_upload("one_point.csv", csv_bytes(H, rows))
    v = validate_stations(raw, crs="wgs84")
    assert v.rows_in == n == len(v.accepted) + len(v.rejected)
    assert len(v.accepted) == n
    assert len(v.flagged) == neardup.MAX_FLAGGED_PAIRS
    assert v.n_flagged == n and v.n_flagged_pairs == n * (n - 1) // 2
    report = v.report_dict()
    assert report["flagged"] == n
    assert report["flagged_pairs"] == n * (n - 1) // 2
    assert report["flagged_pairs_listed"] == neardup.MAX_FLAGGED_PAIRS
    assert any("only the first 10,000 pairs" in note for note in report["notes"])
    new = v.to_new_version(city="深圳市")
    assert new.flagged == n and new.rows_in == n


def test_uncapped_report_is_unchanged() -> None:
    rows = [["1", "甲", "工会驿站", repr(SZ[0]), repr(SZ[1])],
            ["2", "乙", "工会驿站", repr(SZ[0]), repr(SZ[1])]]
    v = validate_stations(read_upload("two.csv", csv_bytes(H, rows)), crs="wgs84")
    report = v.report_dict()
    assert (report["flagged"], report["flagged_pairs"]) == (2, 1)
    assert "flagged_pairs_listed" not in report and not v.notes


def test_bad_limits() -> None:
    stations = stations_at(np.full(2, SZ[0]), np.full(2, SZ[1]), ["a", "b"])
    for kw in ({"any_m": -1.0}, {"same_name_m": float("nan")}, {"max_pairs": -1},
               {"max_pairs": 1.5}):
        with pytest.raises(InvalidParameterError):
            near_duplicates(stations, **kw)  # type: ignore[arg-type]
    assert near_duplicates(stations, max_pairs=0).empty
