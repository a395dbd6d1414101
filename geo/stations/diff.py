"""Comparing a new station list with a city's current one: added, removed, moved (with
distance) and renamed stations (:func:`diff_stations`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj

from geo.crs import WGS84
from geo.errors import InvalidParameterError
from geo.stations.cells import norm_name

_GEOD: Final = pyproj.Geod(ellps="WGS84")
MOVED_THRESHOLD_M: Final = 5.0
_MATCHES: Final = ("station_id", "name")


@dataclass(frozen=True, eq=False)
class StationDiff:
    """A new list against the current one."""

    added: pd.DataFrame      # station_id, name, lon, lat
    removed: pd.DataFrame    # station_id, name, lon, lat
    moved: pd.DataFrame      # station_id, name, distance_m, old_lon, old_lat, lon, lat
    renamed: pd.DataFrame    # station_id, old_name, name
    unchanged: int
    matched_by: str          # "station_id" | "name"

    def counts(self) -> dict[str, int]:
        return {"added": len(self.added), "removed": len(self.removed),
                "moved": len(self.moved), "renamed": len(self.renamed),
                "unchanged": self.unchanged}


def _check_inputs(current: gpd.GeoDataFrame | None, new: gpd.GeoDataFrame,
                  match: str) -> gpd.GeoDataFrame:
    """The current list (an empty one for None), after checking both CRSs and ``match``."""
    if match not in _MATCHES:
        raise InvalidParameterError("match must be 'station_id' or 'name'")
    for what, g in (("current", current), ("new", new)):
        if g is not None and (g.crs is None or not pyproj.CRS(g.crs).equals(WGS84)):
            raise InvalidParameterError(f"{what} station list must be in EPSG:4326")
    if current is not None:
        return current
    return gpd.GeoDataFrame({"station_id": [], "name": []}, geometry=[], crs=WGS84)


def _keyed(g: gpd.GeoDataFrame, match: str) -> pd.DataFrame:
    """``station_id``, ``name``, ``lon``, ``lat`` and the matching ``key``; by name, a name
    used twice is keyed in order of appearance."""
    df = pd.DataFrame({"station_id": g["station_id"].astype(str).to_numpy(),
                       "name": g["name"].astype(str).to_numpy(),
                       "lon": g.geometry.x.to_numpy() if len(g) else [],
                       "lat": g.geometry.y.to_numpy() if len(g) else []})
    if match == "station_id":
        df["key"] = df["station_id"]
    else:
        base = df["name"].map(norm_name)
        df["key"] = base + "#" + base.groupby(base).cumcount().astype(str)
    return df


def _matched(both: pd.DataFrame) -> pd.DataFrame:
    """Pairs present in both lists, with the geodesic ``distance_m`` between them."""
    both = both.copy()
    if len(both):
        _f, _b, dist = _GEOD.inv(both["lon_old"].to_numpy(float), both["lat_old"].to_numpy(float),
                                 both["lon"].to_numpy(float), both["lat"].to_numpy(float))
        both["distance_m"] = np.round(np.asarray(dist, float), 2)
    else:
        both["distance_m"] = []
    return both


def diff_stations(current: gpd.GeoDataFrame | None, new: gpd.GeoDataFrame, *,
                  match: str = "station_id",
                  moved_threshold_m: float = MOVED_THRESHOLD_M) -> StationDiff:
    """Compare two station lists (EPSG:4326; ``station_id``, ``name`` columns).

    ``match="station_id"`` pairs stations by id; ``"name"`` by normalised name (for
    lists without ids; a name used twice is paired in order of appearance). A pair is
    *moved* when its positions differ by more than ``moved_threshold_m`` (geodesic
    metres) and *renamed* when its names differ (both can hold).
    """
    old = _check_inputs(current, new, match)
    m = _keyed(old, match).merge(_keyed(new, match), on="key", how="outer",
                                 suffixes=("_old", ""), indicator=True)
    added = m.loc[m["_merge"] == "right_only", ["station_id", "name", "lon", "lat"]]
    removed = m.loc[m["_merge"] == "left_only", ["station_id_old", "name_old", "lon_old",
                                                 "lat_old"]]
    removed = removed.set_axis(["station_id", "name", "lon", "lat"], axis=1)
    both = _matched(m.loc[m["_merge"] == "both"])
    mv = both["distance_m"] > moved_threshold_m
    rn = both["name_old"].map(norm_name) != both["name"].map(norm_name)
    moved = both.loc[mv, ["station_id", "name", "distance_m", "lon_old", "lat_old", "lon",
                          "lat"]].rename(columns={"lon_old": "old_lon", "lat_old": "old_lat"})
    renamed = both.loc[rn, ["station_id", "name_old", "name"]].rename(
        columns={"name_old": "old_name"})
    return StationDiff(added=added.reset_index(drop=True),
                       removed=removed.reset_index(drop=True),
                       moved=moved.sort_values("distance_m", ascending=False)
                       .reset_index(drop=True),
                       renamed=renamed.reset_index(drop=True),
                       unchanged=int((~mv & ~rn).sum()), matched_by=match)


__all__ = ["MOVED_THRESHOLD_M", "StationDiff", "diff_stations"]
