"""Town tables joined to the town polygons: populations (``--town-population``), town
polygons drawn in GCJ-02 / BD-09 (``--towns-crs``) and official codes (``--town-codes``).

**Populations** (:func:`join_town_population`): a table (CSV in any Chinese encoding or
XLSX, read by :func:`geo.io.upload.read_upload`) with a population column and a code
and/or a name column (optionally the district). Each row is matched to one town: by
code first (the town's ``code``), else by name (NFKC-normalised), within the row's
district when the name alone is ambiguous. Every row is accounted for — **rows in =
matched + unmatched + ambiguous**, checked by :class:`TownPopulationJoin` itself — and
every row not matched carries its reason (no town of this code or name, a name shared
by several towns the district does not resolve, a population that is not a number,
conflicting rows for one town); nothing is dropped silently. Matched towns take the
table's population; the other towns keep theirs (listed as ``towns_without_row``).

**Coordinates** (:func:`convert_towns_crs`): every vertex of the town polygons is
converted to WGS-84 with :func:`geo.stations.coords.to_wgs84` — the stations'
conversion, inverse iterated to 1e-12°.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import WGS84
from geo.errors import TownTableError
from geo.io.layers import LayerTable, read_vector
from geo.io.sheetsafe import write_csv
from geo.io.table import RawUpload
from geo.io.upload import read_upload_file
from geo.network.admin import CodeMatch, match_town_codes
from geo.stations.coords import normalize_coord_system, to_wgs84

RowStatus = Literal["matched", "unmatched", "ambiguous"]
REPORT_NAME: Final = "town_population_report.csv"
_CODE: Final = ("code", "town_code", "adcode", "代码", "编码", "区划代码", "统计用区划代码",
                "镇街代码", "乡镇代码")
_NAME: Final = ("name", "town", "town_name", "名称", "乡镇", "街道", "镇街", "乡镇街道",
                "镇街名称", "乡镇名称", "街道名称")
_DISTRICT: Final = ("district", "county", "区县", "区", "县区", "所属区县", "区县名称")
_POP: Final = ("population", "pop", "人口", "常住人口", "人口数", "户籍人口", "常住人口（人）",
               "人口（人）")
_NUMBER: Final = re.compile(r"^[+]?(\d+(\.\d*)?|\.\d+)$")


@dataclass(frozen=True, eq=False)
class TownPopulationJoin:
    """A population table joined to the towns (read-only).

    ``towns``: the towns with the matched populations; ``report``: one row per table
    row (``row``, ``line``, ``code``, ``name``, ``district``, ``population``,
    ``status``, ``town_id``, ``reason``).
    """

    towns: LayerTable
    report: pd.DataFrame
    rows_in: int
    towns_without_row: tuple[str, ...]

    def __post_init__(self) -> None:
        counts = self.report["status"].value_counts()
        if len(self.report) != self.rows_in or int(counts.sum()) != self.rows_in:
            raise AssertionError("town population join lost rows")

    def count(self, status: RowStatus) -> int:
        return int((self.report["status"] == status).sum())

    def summary(self) -> dict[str, Any]:
        """``summary.json["inputs"]["town_population"]`` (besides the file's path/sha)."""
        return {"rows_in": self.rows_in, "matched": self.count("matched"),
                "unmatched": self.count("unmatched"), "ambiguous": self.count("ambiguous"),
                "towns_without_row": list(self.towns_without_row), "report": REPORT_NAME}


def join_town_population(towns: LayerTable, table: RawUpload) -> TownPopulationJoin:
    """Join the population ``table`` to ``towns`` (see the module docstring)."""
    cols = _columns(table)
    rows = _rows(table, cols)
    acc = towns.accepted.reset_index(drop=True)
    status, town_i, reasons = _match_rows(rows, acc)
    status, town_i, reasons = _resolve_duplicates(rows, status, town_i, reasons)
    report = rows.assign(status=status, reason=reasons,
                         town_id=[None if i < 0 else str(acc["town_id"].iloc[i])
                                  for i in town_i])
    pop = acc["population"].to_numpy(dtype=float).copy()
    hit = [(i, p) for s, i, p in zip(status, town_i, rows["value"], strict=True)
           if s == "matched"]
    for i, p in hit:
        pop[i] = p
    done = {i for i, _ in hit}
    missing = tuple(str(acc["name"].iloc[i]) for i in range(len(acc)) if i not in done)
    joined = LayerTable(accepted=acc.assign(population=pop), rejected=towns.rejected,
                        rows_in=towns.rows_in, source=towns.source)
    return TownPopulationJoin(towns=joined, report=report.drop(columns="value"),
                              rows_in=len(rows), towns_without_row=missing)


def _key(text: Any) -> str:
    return unicodedata.normalize("NFKC", str(text or "")).strip().lower()


def _columns(table: RawUpload) -> dict[str, str | None]:
    """The table's code / name / district / population columns (by header)."""
    by_key = {_key(c): c for c in table.frame.columns}

    def find(names: tuple[str, ...]) -> str | None:
        return next((by_key[_key(n)] for n in names if _key(n) in by_key), None)

    cols = {"code": find(_CODE), "name": find(_NAME), "district": find(_DISTRICT),
            "population": find(_POP)}
    if cols["population"] is None or (cols["code"] is None and cols["name"] is None):
        raise TownTableError(
            f"{table.name}: a town population table needs a population column (人口 / "
            "常住人口 / population) and a code (区划代码 / code) or name (镇街 / name) "
            f"column; its columns are {list(table.frame.columns)}")
    return cols


def _rows(table: RawUpload, cols: dict[str, str | None]) -> pd.DataFrame:
    """Every data row as text (code, name, district, population) and the parsed number."""
    f = table.frame

    def col(key: str) -> list[str]:
        c = cols[key]
        return [""] * len(f) if c is None else [str(v).strip() for v in f[c]]

    pop_text = col("population")
    return pd.DataFrame({
        "row": np.arange(1, len(f) + 1), "line": np.asarray(table.source_lines),
        "code": col("code"), "name": col("name"), "district": col("district"),
        "population": pop_text, "value": [_number(t) for t in pop_text]})


def _number(text: str) -> float:
    """``12,345`` / ``１２３４５`` / ``12.3万`` → people; NaN when not a number ≥ 0."""
    t = unicodedata.normalize("NFKC", text).replace(",", "").replace(" ", "")
    scale = 1.0
    if t.endswith("万"):
        t, scale = t[:-1], 1e4
    return float(t) * scale if _NUMBER.match(t) else float("nan")


def _match_rows(rows: pd.DataFrame, towns: pd.DataFrame
                ) -> tuple[list[RowStatus], list[int], list[str]]:
    """Each row's status, town index (-1) and reason ("" when matched)."""
    by_code: dict[str, list[int]] = {}
    by_name: dict[str, list[int]] = {}
    for i, (code, name) in enumerate(zip(towns["code"], towns["name"], strict=True)):
        if code is not None and not (isinstance(code, float) and np.isnan(code)):
            by_code.setdefault(_key(code), []).append(i)
        by_name.setdefault(_key(name), []).append(i)
    districts = [_key(d) if isinstance(d, str) else "" for d in towns["district"]]
    out: list[tuple[RowStatus, int, str]] = []
    for r in rows.itertuples(index=False):
        if not np.isfinite(r.value):
            out.append(("unmatched", -1, f"population {r.population!r} is not a number ≥ 0"))
            continue
        out.append(_match_one(r.code, r.name, r.district, by_code, by_name, districts))
    return [o[0] for o in out], [o[1] for o in out], [o[2] for o in out]


def _match_one(code: str, name: str, district: str, by_code: dict[str, list[int]],
               by_name: dict[str, list[int]], districts: list[str]
               ) -> tuple[RowStatus, int, str]:
    hit = by_code.get(_key(code), []) if code else []
    if len(hit) == 1:
        return "matched", hit[0], ""
    if not name:
        return "unmatched", -1, f"no town has code {code!r}" if code else "no code or name"
    cands = by_name.get(_key(name), [])
    if not cands:
        why = f"no town has code {code!r} or name {name!r}" if code else \
            f"no town named {name!r}"
        return "unmatched", -1, why
    if district:
        inside = [i for i in cands if districts[i] == _key(district)]
        if len(inside) == 1:
            return "matched", inside[0], ""
        if not inside:
            return "unmatched", -1, f"no town named {name!r} in district {district!r}"
        return "ambiguous", -1, f"{len(inside)} towns named {name!r} in district {district!r}"
    if len(cands) == 1:
        return "matched", cands[0], ""
    return "ambiguous", -1, (f"{len(cands)} towns are named {name!r}: add the district "
                             "(区县) or the code to the row")


def _resolve_duplicates(rows: pd.DataFrame, status: list[RowStatus], town_i: list[int],
                        reasons: list[str]) -> tuple[list[RowStatus], list[int], list[str]]:
    """Several rows for one town: the same population — the first row counts, the
    others are unmatched duplicates; different populations — none counts."""
    status, town_i, reasons = list(status), list(town_i), list(reasons)
    groups: dict[int, list[int]] = {}
    for k, (s, i) in enumerate(zip(status, town_i, strict=True)):
        if s == "matched":
            groups.setdefault(i, []).append(k)
    pops = rows["value"].to_numpy(dtype=float)
    row_no = rows["row"].to_numpy()
    for ks in (g for g in groups.values() if len(g) > 1):
        same = bool(np.all(pops[ks] == pops[ks[0]]))
        for k in ks[1:] if same else ks:
            others = ", ".join(str(row_no[j]) for j in ks if j != k)
            status[k] = "unmatched"
            reasons[k] = (f"duplicate of row {row_no[ks[0]]} (same town, same population)"
                          if same else f"rows {others} give the same town another "
                          "population: fix the table (none of them is used)")
    return status, town_i, reasons


def write_join_report(join: TownPopulationJoin, out_dir: str | os.PathLike[str]) -> Path:
    """``town_population_report.csv`` in ``out_dir``: every table row with its status and
    reason (spreadsheet-safe)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / REPORT_NAME
    write_csv(join.report, path)
    return path


def convert_towns_crs(path: str | os.PathLike[str], system: str,
                      out_path: str | os.PathLike[str]) -> Path:
    """The town polygons at ``path`` (lon/lat in ``system``: ``gcj02`` or ``bd09``)
    written to ``out_path`` (GeoJSON) in WGS-84, every vertex converted exactly."""
    sys_key = normalize_coord_system(system)
    raw = read_vector(path, what="towns")
    if raw.crs is not None and not raw.crs.is_geographic:
        raise TownTableError(f"--towns-crs {system}: {Path(path).name} is projected "
                             f"({raw.crs.to_string()}); GCJ-02 / BD-09 are lon/lat")
    geoms = raw.geometry.to_numpy()
    if sys_key != "wgs84":
        geoms = shapely.transform(geoms, lambda xy: np.column_stack(
            to_wgs84(xy[:, 0], xy[:, 1], sys_key)))
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    gpd.GeoDataFrame(pd.DataFrame(raw.drop(columns=raw.geometry.name)), geometry=list(geoms),
                     crs=WGS84).to_file(out, driver="GeoJSON", engine="pyogrio",
                                        layer_options={"COORDINATE_PRECISION": 12})
    return out


# ------------------------------------------------------------------ official codes

CODE_REPORT_NAME: Final = "town_codes_report.csv"
_LIST_CODE: Final = ("code", "代码", "区划代码", "统计用区划代码")
_LIST_NAME: Final = ("name", "名称", "镇街", "乡镇街道")
_LIST_AREA: Final = ("areacode", "area_code", "区县代码", "县级代码")


def read_code_list(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A statistics-bureau style code list (``code, name, areaCode``; CSV in any Chinese
    encoding or XLSX), codes kept as text."""
    raw = read_upload_file(path)
    by_key = {_key(c): c for c in raw.frame.columns}

    def find(names: tuple[str, ...]) -> str | None:
        return next((by_key[_key(n)] for n in names if _key(n) in by_key), None)

    code, name, area = find(_LIST_CODE), find(_LIST_NAME), find(_LIST_AREA)
    if code is None or name is None:
        raise TownTableError(f"{Path(path).name}: a town code list needs columns code and "
                             f"name (and areaCode); its columns are {list(raw.frame.columns)}")
    f = raw.frame
    return pd.DataFrame({"code": f[code].astype(str).str.strip(),
                         "name": f[name].astype(str).str.strip(),
                         "areaCode": f[area].astype(str).str.strip() if area else None})


def match_codes_file(towns: LayerTable, codes_path: str | os.PathLike[str],
                     towns_path: str | os.PathLike[str]) -> CodeMatch:
    """:func:`geo.network.admin.match_town_codes` of ``towns`` (as read from
    ``towns_path``, whose ``district_ref`` — the district's code, as ``yizhan prepare``
    writes it — resolves repeated names) against the list at ``codes_path``."""
    acc = towns.accepted.reset_index(drop=True)
    return match_town_codes(acc.assign(district_ref=_district_refs(acc, towns_path)),
                            read_code_list(codes_path))


def _district_refs(towns: gpd.GeoDataFrame, path: str | os.PathLike[str]) -> list[Any]:
    """Each town's ``district_ref`` from the file (by town id), else ``None``."""
    raw = read_vector(path, what="towns")
    if "district_ref" not in raw.columns:
        return [None] * len(towns)
    code = raw["code"] if "code" in raw.columns else pd.Series([None] * len(raw))
    ids = [str(c).strip() if c is not None and str(c).strip() not in ("", "nan", "None")
           else str(n).strip() for c, n in zip(code, raw["name"], strict=True)]
    refs: dict[str, Any] = {}
    for i, r in zip(ids, raw["district_ref"], strict=True):
        refs.setdefault(i, None if r is None or str(r) in ("", "nan", "None") else str(r))
    return [refs.get(str(t)) for t in towns["town_id"]]


def write_code_report(match: CodeMatch, out_dir: str | os.PathLike[str]) -> Path:
    """``town_codes_report.csv``: the towns without a code, with the reason."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / CODE_REPORT_NAME
    write_csv(match.unmatched, path)
    return path


def write_towns(towns: LayerTable | gpd.GeoDataFrame, path: str | os.PathLike[str]) -> Path:
    """Towns (``town_id, name, code, population, district``) as WGS-84 GeoJSON that
    ``--towns`` reads back."""
    acc = towns.accepted if isinstance(towns, LayerTable) else towns
    cols = [c for c in ("town_id", "name", "code", "population", "district", "district_ref")
            if c in acc.columns]
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    frame = gpd.GeoDataFrame(pd.DataFrame(acc[cols]).astype(
        {c: object for c in cols if c != "population"}), geometry=acc.geometry.to_numpy(),
        crs=acc.crs).to_crs(WGS84)
    frame.to_file(out, driver="GeoJSON", engine="pyogrio",
                  layer_options={"COORDINATE_PRECISION": 12})
    return out
