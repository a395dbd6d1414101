"""Towns (乡镇/街道) from the administrative boundaries of an OpenStreetMap file.

:func:`read_admin_boundaries` reads ``boundary=administrative`` relations (and closed
ways) of one ``admin_level`` from the same ``.osm.pbf`` / ``.osm`` a user loads for the
streets — ``8`` is 乡镇/街道 in China, ``6`` 区县 — and assembles their areas with
pyosmium (multipolygons with holes and several outer rings). Every relation of that
level that yields no valid area is *reported* (``broken``: the relation id, its name,
the reason — member ways missing from the extract, rings that do not close), never
dropped silently. Each town gets the district (level 6) its area lies in, when the file
has one.

:func:`match_town_codes` gives OSM towns their official codes from a code list in the
national statistics style (``code, name, areaCode``): by name, within the district where
the name alone is ambiguous; unmatched towns are listed.
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import WGS84
from geo.errors import BoundaryDataError

DEFAULT_ADMIN_LEVEL: Final = 8
DISTRICT_LEVEL: Final = 6
TOWN_COLUMNS: Final = ("town_id", "name", "name_zh", "code", "osm_ref", "district",
                       "district_ref", "admin_level", "osm_id")


@dataclass(frozen=True, eq=False)
class AdminBoundaries:
    """Towns of one admin level (WGS-84) and the relations that gave no area."""

    towns: gpd.GeoDataFrame  # TOWN_COLUMNS + geometry
    broken: pd.DataFrame  # osm_id, name, reason
    admin_level: int
    source: str


@dataclass(frozen=True, eq=False)
class CodeMatch:
    """Towns with official codes; ``unmatched``: town_id, name, district, reason."""

    towns: gpd.GeoDataFrame
    unmatched: pd.DataFrame
    matched: int


def read_admin_boundaries(path: str | os.PathLike[str], *,
                          admin_level: int = DEFAULT_ADMIN_LEVEL) -> AdminBoundaries:
    """Administrative areas of ``admin_level`` in an ``.osm.pbf`` / ``.osm`` file.

    Columns: ``town_id`` (``ref`` when present, else ``osm-r<id>``), ``name`` (``name:zh``
    when present, else ``name``), ``name_zh``, ``code`` and ``osm_ref`` (the ``ref`` tag),
    ``district`` / ``district_ref`` (the level-6 area holding it), ``admin_level``,
    ``osm_id`` (``r123`` / ``w45``). Relations that gave no area are in ``broken``.
    """
    p = Path(path)
    if not p.is_file():
        raise BoundaryDataError(f"OpenStreetMap file not found: {p}")
    levels = {admin_level, DISTRICT_LEVEL}
    relations, members = _boundary_relations(p, levels)
    areas = _assemble(p, levels)
    wanted = areas[areas["admin_level"] == admin_level].reset_index(drop=True)
    broken = _broken(relations, areas, members, p, admin_level)
    towns = _with_districts(wanted, areas[areas["admin_level"] == DISTRICT_LEVEL]) \
        if admin_level != DISTRICT_LEVEL else wanted.assign(district=None, district_ref=None)
    return AdminBoundaries(towns=_town_frame(towns, admin_level), broken=broken,
                           admin_level=admin_level, source=str(p))


def match_town_codes(towns: gpd.GeoDataFrame, codes: pd.DataFrame) -> CodeMatch:
    """Give each town the ``code`` of the row of ``codes`` (columns ``code``, ``name``,
    optional ``areaCode``) with the same name — within the town's district
    (``district_ref`` = ``areaCode``) when the name alone is ambiguous."""
    table = codes.assign(_key=codes["name"].map(_norm),
                         _county=codes.get("areaCode", pd.Series(None, index=codes.index))
                         .astype(object).map(lambda v: None if pd.isna(v) else str(v)))
    by_name = table.groupby("_key")
    out_codes: list[str | None] = []
    reasons: list[str | None] = []
    for name, county in zip(towns["name"], towns["district_ref"], strict=True):
        code, reason = _one_code(by_name, _norm(name), None if pd.isna(county) else
                                 str(county))
        out_codes.append(code)
        reasons.append(reason)
    t = towns.copy()
    t["code"] = pd.array([c or old for c, old in zip(out_codes, t["code"], strict=True)],
                         dtype=object)
    t["code_matched"] = [c is not None for c in out_codes]
    miss = [i for i, r in enumerate(reasons) if r is not None]
    unmatched = pd.DataFrame({
        "town_id": t["town_id"].to_numpy()[miss], "name": t["name"].to_numpy()[miss],
        "district": t["district"].to_numpy()[miss], "reason": [reasons[i] for i in miss]})
    return CodeMatch(towns=t, unmatched=unmatched, matched=len(t) - len(miss))


def write_towns_geojson(boundaries: AdminBoundaries, path: str | os.PathLike[str]) -> Path:
    """Write the towns as GeoJSON (readable by ``--towns``); refuses an empty set."""
    if len(boundaries.towns) == 0:
        raise BoundaryDataError(_none_message(boundaries))
    p = Path(path)
    p.unlink(missing_ok=True)
    boundaries.towns.to_file(p, driver="GeoJSON", engine="pyogrio")
    return p


def require_towns(boundaries: AdminBoundaries) -> AdminBoundaries:
    """``boundaries`` if it holds a town, else :class:`BoundaryDataError` (with the
    broken relations named)."""
    if len(boundaries.towns) == 0:
        raise BoundaryDataError(_none_message(boundaries))
    return boundaries


def _none_message(b: AdminBoundaries) -> str:
    broken = "; ".join(f"{r.osm_id} {r.name or ''}: {r.reason}"
                       for r in b.broken.head(5).itertuples())
    more = f" (and {len(b.broken) - 5} more)" if len(b.broken) > 5 else ""
    return (f"{Path(b.source).name} holds no usable admin_level={b.admin_level} boundary"
            + (f"; broken relations: {broken}{more}" if broken else "")
            + ": use an extract that contains whole boundaries, or give --towns FILE")


def _boundary_relations(path: Path, levels: set[int]) -> tuple[pd.DataFrame, dict[int, list[int]]]:
    """Boundary relations of ``levels`` (id, name, level) and their member way ids."""
    import osmium

    rows, members = [], {}
    rel: Any
    for rel in osmium.FileProcessor(str(path), osmium.osm.RELATION):
        level = _level(rel.tags)
        if level in levels:
            rows.append({"rel_id": rel.id, "name": _name(rel.tags), "admin_level": level})
            members[rel.id] = [m.ref for m in rel.members if m.type == "w"]
    return pd.DataFrame(rows, columns=["rel_id", "name", "admin_level"]), members


def _assemble(path: Path, levels: set[int]) -> gpd.GeoDataFrame:
    """The areas pyosmium assembles for boundaries of ``levels``; invalid ones dropped
    here and reported by :func:`_broken`."""
    import osmium

    wkb = osmium.geom.WKBFactory()
    rows = []
    fp = osmium.FileProcessor(str(path)).with_areas(
        osmium.filter.TagFilter(("boundary", "administrative")))
    obj: Any
    for obj in fp:
        if not obj.is_area() or _level(obj.tags) not in levels:
            continue
        try:
            geom = shapely.from_wkb(wkb.create_multipolygon(obj))
        except (RuntimeError, shapely.errors.GEOSException):
            continue
        tags = obj.tags
        rows.append({"osm_id": f"{'w' if obj.from_way() else 'r'}{obj.orig_id()}",
                     "rel_id": None if obj.from_way() else obj.orig_id(),
                     "name": tags.get("name"), "name_zh": tags.get("name:zh"),
                     "ref": tags.get("ref"), "admin_level": _level(tags),
                     "valid": bool(shapely.is_valid(geom)), "geometry": geom})
    cols = ["osm_id", "rel_id", "name", "name_zh", "ref", "admin_level", "valid", "geometry"]
    frame = pd.DataFrame(rows, columns=cols)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=WGS84)


def _broken(relations: pd.DataFrame, areas: gpd.GeoDataFrame, members: dict[int, list[int]],
            path: Path, level: int) -> pd.DataFrame:
    """Relations of ``level`` without a valid area, with the reason."""
    rel = relations[relations["admin_level"] == level]
    valid = areas["valid"].astype(bool)
    ok = set(areas.loc[valid, "rel_id"].dropna().astype(int))
    invalid = set(areas.loc[~valid, "rel_id"].dropna().astype(int))
    todo = rel[~rel["rel_id"].isin(ok)]
    present = _present_ways(path, {w for r in todo["rel_id"] for w in members[int(r)]})
    reasons = []
    for r in todo["rel_id"]:
        ways = members[int(r)]
        missing = [w for w in ways if w not in present]
        if int(r) in invalid:
            reasons.append("the assembled area is not a valid polygon (self-intersecting "
                           "rings)")
        elif not ways:
            reasons.append("the relation has no member ways")
        elif missing:
            reasons.append(f"{len(missing)} of {len(ways)} member ways missing from the file "
                           f"(e.g. way {missing[0]}): the extract cuts the boundary")
        else:
            reasons.append("the member ways do not form closed rings")
    return pd.DataFrame({"osm_id": [f"r{int(r)}" for r in todo["rel_id"]],
                         "name": todo["name"].to_numpy(), "reason": reasons})


def _present_ways(path: Path, wanted: set[int]) -> set[int]:
    import osmium

    if not wanted:
        return set()
    return {w.id for w in osmium.FileProcessor(str(path), osmium.osm.WAY) if w.id in wanted}


def _with_districts(towns: gpd.GeoDataFrame, districts: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Each town's district: the valid level-6 area holding its representative point."""
    t = towns.loc[towns["valid"].astype(bool)].reset_index(drop=True)
    d = districts.loc[districts["valid"].astype(bool)].reset_index(drop=True)
    name = np.full(len(t), None, dtype=object)
    ref = np.full(len(t), None, dtype=object)
    if len(t) and len(d):
        ti, di = shapely.STRtree(d.geometry.to_numpy()).query(
            shapely.point_on_surface(t.geometry.to_numpy()), predicate="within")
        _, first = np.unique(ti, return_index=True)
        ti, di = ti[first], di[first]
        name[ti] = [_text(d["name_zh"].iloc[i]) or _text(d["name"].iloc[i]) for i in di]
        ref[ti] = d["ref"].to_numpy()[di]
    return t.assign(district=name, district_ref=ref)


def _town_frame(t: gpd.GeoDataFrame, level: int) -> gpd.GeoDataFrame:
    t = t.loc[t["valid"].astype(bool)].reset_index(drop=True)
    names = [_text(zh) or _text(nm) for zh, nm in zip(t["name_zh"], t["name"], strict=True)]
    ids = [_text(ref) or oid for ref, oid in zip(t["ref"], t["osm_id"], strict=True)]
    return gpd.GeoDataFrame({
        "town_id": pd.array(ids, dtype=object), "name": pd.array(names, dtype=object),
        "name_zh": pd.array(t["name_zh"], dtype=object),
        "code": pd.array(t["ref"], dtype=object), "osm_ref": pd.array(t["ref"], dtype=object),
        "district": pd.array(t["district"], dtype=object),
        "district_ref": pd.array(t["district_ref"], dtype=object),
        "admin_level": np.full(len(t), level, dtype=np.int64),
        "osm_id": pd.array(t["osm_id"], dtype=object),
    }, geometry=t.geometry.to_numpy(), crs=WGS84)


def _one_code(by_name: Any, key: str, county: str | None) -> tuple[str | None, str | None]:
    if key not in by_name.groups:
        return None, "no town of this name in the code list"
    rows = by_name.get_group(key)
    if len(rows) == 1:
        return str(rows["code"].iloc[0]), None
    if county is None:
        return None, f"{len(rows)} towns of this name in the code list and no district code"
    inside = rows[rows["_county"] == county]
    if len(inside) == 1:
        return str(inside["code"].iloc[0]), None
    return None, (f"{len(inside)} towns of this name in district {county}" if len(inside)
                  else f"no town of this name in district {county}")


def _text(v: Any) -> str | None:
    """``v`` as text; ``None`` for a missing value (None, NaN, blank)."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    return str(v).strip() or None


def _level(tags: Any) -> int | None:
    if tags.get("boundary") != "administrative":
        return None
    try:
        return int(str(tags.get("admin_level", "")).strip())
    except ValueError:
        return None


def _name(tags: Any) -> str | None:
    return tags.get("name:zh") or tags.get("name")


def _norm(name: Any) -> str:
    return "" if name is None or (isinstance(name, float) and np.isnan(name)) else \
        unicodedata.normalize("NFKC", str(name)).strip()
