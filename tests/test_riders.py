"""Rider-friendly zones by e-bike (:mod:`geo.access.riders`, ``yizhan riders``)."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geo.access.riders import RIDER_COLUMNS, rider_zones
from geo.cli import commands as cli
from geo.coverage.core import compute_coverage
from geo.coverage.towns import zone_report
from geo.errors import CRSError, StationDataError
from geo.network.model import WalkNetwork, prepare_network
from geo.params import CoverageParams
from geo.pipeline.demo import write_demo_inputs
from tests import nets

# 0 —500 m road— 1 —500 m footway— 2 —500 m road— 3; the station at node 0
LINE = {0: (0.0, 0.0), 1: (500.0, 0.0), 2: (1000.0, 0.0), 3: (1500.0, 0.0)}


def _net(mode: str, footway: dict[str, str] | None = None) -> WalkNetwork:
    edges: list[nets.EdgeSpec] = [(0, 1), (1, 2, footway or {"highway": "footway"}), (2, 3)]
    return prepare_network(nets.raw_streets(LINE, edges), crs=nets.CRS, mode=mode)


def _zones() -> gpd.GeoDataFrame:
    boxes = {"A": (-10.0, 490.0), "B": (1010.0, 1510.0)}
    geoms = [shapely.box(*nets.absolute(x0, -20.0), *nets.absolute(x1, 20.0))
             for x0, x1 in boxes.values()]
    return gpd.GeoDataFrame({"zone_id": list(boxes), "name": ["甲区", "乙区"]},
                            geometry=geoms, crs=nets.CRS)


def _stations(types: list[str]) -> gpd.GeoDataFrame:
    st = nets.stations([(0.0, 0.0), (1500.0, 0.0)][:len(types)])
    st["type"] = types
    return st


def test_footway_only_link_makes_the_ebike_answer_differ_from_walking() -> None:
    ride = rider_zones(_net("ebike"), _stations(["工会驿站"]), _zones(), ride_time_min=10)
    by = ride.zones.set_index("zone_id")
    # by e-bike (2,500 m in 10 min) zone B lies behind a footway riders may not use
    assert by.loc["A", "covered_length_share"] == pytest.approx(1.0)
    assert not by.loc["B", "station_within_threshold"]
    assert by.loc["B", "covered_length_share"] == 0
    assert ride.zones["zone_id"].tolist() == ["B", "A"]  # without a station first
    assert by.loc["A", "nearest_station_id"] == "S0"
    assert by.loc["A", "nearest_ride_time_min"] == 0
    # a walker takes the footway: in 30 minutes (2,000 m) zone B is reached
    walk = compute_coverage(_net("walk"), _stations(["工会驿站"]),
                            params=CoverageParams(walk_time_min=30))
    walked = zone_report(walk, _zones()).set_index("zone_id")
    assert walked.loc["B", "station_within_threshold"]
    assert walked.loc["B", "nearest_walk_time_min"] == pytest.approx(1010 / (4000 / 60), abs=0.02)
    # with bicycle access the footway is ridden: B is 1,010 m = 4.04 min away at 15 km/h
    open_ = rider_zones(_net("ebike", {"highway": "footway", "bicycle": "yes"}),
                        _stations(["工会驿站"]), _zones())
    b = open_.zones.set_index("zone_id").loc["B"]
    assert b["station_within_threshold"]
    assert b["nearest_ride_time_min"] == pytest.approx(1010 / 250, abs=0.01)
    assert ride.meta["travel_mode"] == "ebike"
    assert ride.meta["network_filter"]["filter"] == "ebike-v1"


def test_only_rider_station_types_count_and_order() -> None:
    # a 爱心妈妈小屋 at node 3 does not serve riders; a 司机之家 there does
    mum = rider_zones(_net("ebike"), _stations(["工会驿站", "爱心妈妈小屋"]), _zones())
    assert mum.zones["zone_id"].tolist() == ["B", "A"] and mum.stations_used == 1
    drivers = rider_zones(_net("ebike"), _stations(["工会驿站", "司机之家"]), _zones())
    assert drivers.zones["station_within_threshold"].all()
    assert drivers.zones.set_index("zone_id").loc["B", "nearest_station_id"] == "S1"
    assert tuple(drivers.zones.columns) == RIDER_COLUMNS
    assert drivers.zones["rank"].tolist() == [1, 2]
    with pytest.raises(StationDataError, match="司机之家"):
        rider_zones(_net("ebike"), _stations(["爱心妈妈小屋"]), _zones())
    with pytest.raises(CRSError):
        rider_zones(_net("ebike"), _stations(["工会驿站"]), _zones().set_crs(None,
                                                                          allow_override=True))


def test_cli_riders_writes_csv_and_summary(tmp_path: Path) -> None:
    inp = write_demo_inputs(tmp_path / "in")
    out = tmp_path / "out"
    rc = cli.main(["riders", "--network", str(inp["streets"]), "--stations",
                   str(inp["stations"]), "--zones", str(inp["zones"]), "--out", str(out),
                   "--no-cache", "--ride-preset", "slow"])
    assert rc == 0
    table = pd.read_csv(out / "riders.csv")
    assert list(table.columns) == list(RIDER_COLUMNS) and len(table)
    lacking = table["station_within_threshold"].astype(str).str.lower() == "false"
    assert not lacking.iloc[lacking.sum():].any()  # zones without a station come first
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert s["travel_mode"] == "ebike" and s["speed_model"]["speed_kmh"] == 12.0
    assert s["params"]["walk_time_min"] == 10.0 and s["zones"] == len(table)
