"""Site suggestions targeting rider-friendly zones (:mod:`geo.siting.zones`, ``yizhan suggest
--target rider-zones``, the 选址建议 page's target), and ``yizhan suggest --mode``.

The hand-built line (all straight, lengths = geometry):

    nodes 0 … 16 at x = 0, 500, …, 8000 m on y = 0 (residential); node 100 at
    (4500, 700): a 700 m footway from node 9 (x = 4500) — walkable, not rideable.
    One 工会驿站 at x = 100 (mid-edge). Zones: A = x 600…2700, B = x 3800…5300 (a box
    holding the footway too). E-bike 4 min at 15 km/h = 1,000 m.

By e-bike the station covers x 0…1100: 500 m of A (600…1100); A has 1,600 m and B all
its 1,500 m uncovered. A site at node 4 (x = 2000) covers 1000…3000: the rest of A,
1,600 m (node 3: 1,400, node 5: 1,200); at node 9 (x = 4500) 3500…5500: all of B,
1,500 m (node 8: 1,200, node 10: 1,300). So K = 2 → node 4 (zone A, 1,600 m, 1,900 m
of street in all) then node 9 (zone B, 1,500 m, 2,000 m in all). On foot (15 min,
1,000 m) over the whole region the best single site is node 9: 2,000 m of street plus
the 700 m footway (node 8: 2,000 + 500).
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.access.riders import rider_stations
from geo.cli import suggest as cli_suggest
from geo.coverage.core import compute_coverage
from geo.coverage.towns import zone_report
from geo.errors import InputFileError, InvalidParameterError
from geo.network.model import WalkNetwork, prepare_network, save_network
from geo.params import CoverageParams
from geo.siting.problem import disjoint_pieces
from geo.siting.suggest import sites_output, suggest_sites, suggested_stations, zones_output
from geo.siting.zones import ZONE_COLUMNS
from tests import nets

ROOT = Path(__file__).resolve().parents[1]
NODES: dict[int, tuple[float, float]] = {i: (500.0 * i, 0.0) for i in range(17)}
NODES[100] = (4500.0, 700.0)
EDGES: list[nets.EdgeSpec] = [(i, i + 1) for i in range(16)]
EDGES.append((9, 100, {"highway": "footway"}))
RIDE_4 = CoverageParams.for_mode("ebike", minutes=4.0)  # 1,000 m at 15 km/h
ZONE_BOXES = {"A": (600.0, 2700.0, 20.0), "B": (3800.0, 5300.0, 800.0)}


def _net(mode: str) -> WalkNetwork:
    return prepare_network(nets.raw_streets(NODES, EDGES), crs=nets.CRS, mode=mode)


@pytest.fixture(scope="module")
def ebike() -> WalkNetwork:
    return _net("ebike")


def _zones(boxes: dict[str, tuple[float, float, float]] | None = None) -> gpd.GeoDataFrame:
    boxes = boxes or ZONE_BOXES
    geoms = [shapely.box(*nets.absolute(x0, -20.0), *nets.absolute(x1, y1))
             for x0, x1, y1 in boxes.values()]
    return gpd.GeoDataFrame({"zone_id": list(boxes), "name": [f"{z}区" for z in boxes]},
                            geometry=geoms, crs=nets.CRS)


def _station(kind: str = "工会驿站") -> gpd.GeoDataFrame:
    st = nets.stations([(100.0, 0.0)])
    st["type"] = kind
    return st


def _zone_covered(net: WalkNetwork, stations: gpd.GeoDataFrame,
                  params: CoverageParams) -> float:
    """Street metres inside the zones within reach of the rider stations (zone_report)."""
    cov = compute_coverage(net, rider_stations(stations), params=params)
    return float(zone_report(cov, _zones())["covered_length_m"].sum())


def test_rider_zones_hand_computed(ebike: WalkNetwork) -> None:
    res = suggest_sites(ebike, _station(), k=2, params=RIDE_4, target="rider-zones",
                        zones=_zones())
    s = res.sites
    assert res.target == "rider-zones" and res.demand_basis == "street_length"
    assert s["node_id"].tolist() == [4, 9]
    assert s["zone_id"].tolist() == ["A", "B"] and s["zone"].tolist() == ["A区", "B区"]
    assert s["marginal_gain"].tolist() == pytest.approx([1600.0, 1500.0], abs=1e-6)
    assert s["zone_street_m"].tolist() == pytest.approx([1600.0, 1500.0], abs=1e-6)
    assert s["new_street_m"].tolist() == pytest.approx([1900.0, 2000.0], abs=1e-6)
    assert res.total_demand == pytest.approx(3600.0, abs=1e-6)  # 2,100 + 1,500
    assert res.covered_before == pytest.approx(500.0, abs=1e-6)
    assert s["covered_share_after"].iloc[-1] == pytest.approx(1.0)
    # each site lies inside the zone it serves
    for geom, zone in zip(s.geometry, s["zone_id"], strict=True):
        assert _zones().set_index("zone_id").geometry[zone].contains(geom)
    # exact: the zone metres covered with the sites added, minus before (zone_report)
    both = pd.concat([_station(), suggested_stations(res)], ignore_index=True)
    assert res.total_gain == pytest.approx(
        _zone_covered(ebike, both, RIDE_4) - _zone_covered(ebike, _station(), RIDE_4),
        abs=1e-6)
    # default candidates: nodes within the budget (1,000 m) of a zone, none at the station
    assert sorted(res.candidates.sites["node_id"]) == list(range(1, 13))
    assert res.candidates.settings["near_zones_m"] == pytest.approx(1000.0)


def test_zone_table_and_summary(ebike: WalkNetwork) -> None:
    res = suggest_sites(ebike, _station(), k=2, params=RIDE_4, target="rider-zones",
                        zones=_zones())
    z = res.zones.set_index("zone_id")
    assert tuple(res.zones.columns) == ZONE_COLUMNS
    assert z["street_length_m"].tolist() == pytest.approx([2100.0, 1500.0])
    assert z["covered_before"].tolist() == pytest.approx([500.0, 0.0], abs=1e-6)
    assert z["covered_after"].tolist() == pytest.approx([2100.0, 1500.0], abs=1e-6)
    assert z["new_street_m"].tolist() == pytest.approx([1600.0, 1500.0], abs=1e-6)
    assert z["sites"].tolist() == ["1", "2"]
    assert zones_output(res)["demand_unit"].eq("m").all()
    summary = res.summary()
    assert summary["target"] == "rider-zones" and "工会驿站" in summary["target_note"]
    p = summary["params"]
    assert p["travel_mode"] == "ebike" and p["speed_model"]["speed_kmh"] == 15.0
    assert p["network_filter"]["filter"] == "ebike-v1" and p["budget_m"] == pytest.approx(1000)
    assert summary["rider_zones"]["zones"] == 2
    assert summary["rider_zones"]["rider_stations_used"] == 1
    assert summary["rider_zones"]["zone_street_m"] == pytest.approx(3600.0)
    out = sites_output(res)
    assert {"zone_id", "zone", "zone_street_m"} <= set(out.columns)


def test_an_uncovered_zone_gets_the_site_inside_it(ebike: WalkNetwork) -> None:
    only_b = _zones({"B": ZONE_BOXES["B"]})
    res = suggest_sites(ebike, _station(), k=1, params=RIDE_4, target="rider-zones",
                        zones=only_b)
    assert res.covered_before == 0.0 and res.total_demand == pytest.approx(1500.0)
    assert res.sites["node_id"].tolist() == [9]
    assert only_b.geometry.iloc[0].contains(res.sites.geometry.iloc[0])
    assert res.sites["marginal_gain"].iloc[0] == pytest.approx(1500.0, abs=1e-6)


def test_people_inside_the_zones(ebike: WalkNetwork) -> None:
    # west town x < 3000: 6,000 people on 3,000 m (2 per m); east: 5,000 on 5,000 m
    towns = gpd.GeoDataFrame(
        {"town_id": ["W", "E"], "name": ["西镇", "东镇"], "population": [6000.0, 5000.0]},
        geometry=[shapely.box(*nets.absolute(-100, -1000), *nets.absolute(3000, 1000)),
                  shapely.box(*nets.absolute(3000, -1000), *nets.absolute(8100, 1000))],
        crs=nets.CRS)
    res = suggest_sites(ebike, _station(), k=2, params=RIDE_4, target="rider-zones",
                        zones=_zones(), towns=towns)
    assert res.demand_basis == "population" and res.demand_unit == "people"
    assert res.sites["node_id"].tolist() == [4, 9]
    assert res.sites["marginal_gain"].tolist() == pytest.approx([3200.0, 1500.0], abs=1e-6)
    assert res.sites["zone_street_m"].tolist() == pytest.approx([1600.0, 1500.0], abs=1e-6)
    assert res.total_demand == pytest.approx(2100 * 2 + 1500 * 1)
    assert res.covered_before == pytest.approx(500 * 2)
    assert res.sites["town"].tolist() == ["西镇", "东镇"]
    assert res.zones.set_index("zone_id").loc[["A", "B"], "demand"].tolist() == \
        pytest.approx([4200, 1500])


def test_raster_people_inside_the_zones_are_exact(ebike: WalkNetwork) -> None:
    """People from a raster (everyone west of x = 3000): the gain is the zone demand the
    sites newly cover, the same as covered_demand with the sites added minus before."""
    from affine import Affine

    from geo.population.raster import population_grid
    from geo.siting.demand import build_demand, covered_demand
    from geo.siting.zones import rider_zone_layer, zone_demand

    x0, y1 = nets.absolute(-1_000.0, 1_000.0)
    cx = x0 + (np.arange(100) + 0.5) * 100.0
    values = np.tile(np.where(cx < nets.absolute(3000.0, 0.0)[0], 40.0, 0.0), (20, 1))
    grid = population_grid(values, transform=Affine(100.0, 0, x0, 0, -100.0, y1),
                           crs=nets.CRS, source="test raster")
    res = suggest_sites(ebike, _station(), k=2, params=RIDE_4, target="rider-zones",
                        zones=_zones(), population=grid)
    assert res.demand_basis == "population_raster" and res.demand_unit == "people"
    assert res.sites["zone_id"].iloc[0] == "A"  # the people live in zone A's town
    demand = zone_demand(ebike, build_demand(ebike, population=grid),
                         rider_zone_layer(_zones(), ebike))
    assert demand.total == pytest.approx(res.total_demand)
    riders = rider_stations(_station())
    both = pd.concat([riders, suggested_stations(res)], ignore_index=True)
    gain = covered_demand(compute_coverage(ebike, both, params=RIDE_4), demand) - \
        covered_demand(compute_coverage(ebike, riders, params=RIDE_4), demand)
    assert res.total_gain > 0 and res.total_gain == pytest.approx(gain, rel=1e-9)
    assert res.covered_before == pytest.approx(float(res.zones["covered_before"].sum()))


def test_only_rider_station_types_count(ebike: WalkNetwork) -> None:
    # a 爱心妈妈小屋 does not serve riders: all of zone A is uncovered; node 3 (x = 1500)
    # covers 500…2500, 1,900 m of A, more than any site in B (1,500 m)
    res = suggest_sites(ebike, _station("爱心妈妈小屋"), k=2, params=RIDE_4,
                        target="rider-zones", zones=_zones())
    assert res.covered_before == 0.0 and res.existing_used == 0
    assert any("none of the 1 stations" in n for n in res.notes)
    assert res.sites["node_id"].tolist() == [3, 9]
    assert res.sites["marginal_gain"].tolist() == pytest.approx([1900.0, 1500.0], abs=1e-6)


def test_default_target_is_unchanged() -> None:
    walk = _net("walk")
    res = suggest_sites(walk, _station(), k=1, params=CoverageParams())
    assert res.target == "region" and res.zones is None
    assert res.sites["node_id"].tolist() == [9]
    assert res.sites["marginal_gain"].iloc[0] == pytest.approx(2700.0, abs=1e-6)
    assert not {"zone_id", "zone", "zone_street_m"} & set(res.sites.columns)
    summary = res.summary()
    assert summary["target"] == "region" and "rider_zones" not in summary
    assert summary["params"]["travel_mode"] == "walk"
    assert summary["params"]["network_filter"]["filter"] == "walk-v1"
    with pytest.raises(InvalidParameterError, match="rider-zones"):
        suggest_sites(walk, _station(), k=1, zones=_zones())
    # rider zones default to the e-bike: a walk network is refused with what to do
    with pytest.raises(InvalidParameterError, match="mode='ebike'"):
        suggest_sites(walk, _station(), k=1, target="rider-zones", zones=_zones())
    with pytest.raises(InvalidParameterError, match="--rider-zones"):
        suggest_sites(walk, _station(), k=1, target="rider-zones")
    with pytest.raises(InvalidParameterError, match="target"):
        suggest_sites(walk, _station(), k=1, target="towns")  # type: ignore[arg-type]


def test_overlapping_zones_count_once(ebike: WalkNetwork) -> None:
    got = disjoint_pieces(np.array([20.0, 30.0]), np.array([0, 0, 1]),
                          np.array([0.0, 5.0, 3.0]), np.array([10.0, 20.0, 4.0]),
                          np.array([1, 0, 2]))
    assert got.to_dict("list") == {"edge": [0, 0, 1], "p": [0.0, 5.0, 3.0],
                                   "q": [5.0, 20.0, 4.0], "key": [1, 0, 2]}
    # zone C (x 2000…3200) overlaps A: the street 2000…2700 counts once, for A
    boxes = {**ZONE_BOXES, "C": (2000.0, 3200.0, 20.0)}
    res = suggest_sites(ebike, _station(), k=1, params=RIDE_4, target="rider-zones",
                        zones=_zones(boxes))
    z = res.zones.set_index("zone_id")
    assert z.loc["A", "street_length_m"] == pytest.approx(2100.0)
    assert z.loc["C", "street_length_m"] == pytest.approx(500.0)  # 2700…3200
    assert res.total_demand == pytest.approx(2100 + 1500 + 500)


# ----------------------------------------------------------------------------- the CLI


@pytest.fixture(scope="module")
def cli_files(tmp_path_factory: pytest.TempPathFactory, ebike: WalkNetwork) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("suggest_riders_cli")
    save_network(ebike, d / "network")
    lonlat = nets.to_lonlat(np.array([[100.0, 0.0]]))[0]
    (d / "stations.csv").write_text(
        "station_id,name,type,lon,lat\n"
        f"S0,驿站,工会驿站,{lonlat[0]:.9f},{lonlat[1]:.9f}\n", encoding="utf-8")
    _zones().to_crs("EPSG:4326").to_file(d / "zones.geojson", driver="GeoJSON")
    return {"network": d / "network", "stations": d / "stations.csv",
            "zones": d / "zones.geojson"}


def _cli(files: dict[str, Path], out: Path, *extra: str) -> int:
    return cli_suggest.main(["suggest", "--network", str(files["network"]), "--stations",
                             str(files["stations"]), "--out", str(out), "--no-cache",
                             "--no-areas", *extra])


def test_cli_target_rider_zones(cli_files: dict[str, Path], tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    rc = _cli(cli_files, out, "--target", "rider-zones", "--rider-zones",
              str(cli_files["zones"]), "--ride-time-min", "4", "--k", "2")
    assert rc == 0, capsys.readouterr().err
    text = capsys.readouterr().out
    assert "by ebike at 15 km/h" in text and "zone A区" in text
    df = pd.read_csv(out / "suggestions.csv")
    assert df["zone_id"].tolist() == ["A", "B"] and df["node_id"].tolist() == [4, 9]
    assert df["marginal_gain"].tolist() == pytest.approx([1600.0, 1500.0], abs=1e-3)
    assert df["zone_street_m"].tolist() == pytest.approx([1600.0, 1500.0], abs=0.1)
    zones = pd.read_csv(out / "zones.csv")
    assert zones["covered_before"].tolist() == pytest.approx([500.0, 0.0], abs=1e-3)
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert s["target"] == "rider-zones" and s["rider_zones"]["zones_rejected"] == 0
    assert s["params"]["travel_mode"] == "ebike" and s["params"]["walk_time_min"] == 4.0
    assert s["params"]["speed_model"]["speed_kmh"] == 15.0
    assert s["params"]["network_filter"]["filter"] == "ebike-v1"
    # the default ride time is 10 minutes (2,500 m): the station covers all of zone A
    # (x ≤ 2600) and 4500 reaches all of B
    assert _cli(cli_files, tmp_path / "ten", "--target", "rider-zones", "--rider-zones",
                str(cli_files["zones"]), "--k", "1", "--ride-preset", "standard") == 0
    ten = json.loads((tmp_path / "ten" / "summary.json").read_text(encoding="utf-8"))
    assert ten["params"]["walk_time_min"] == 10.0
    assert ten["covered_before"] == pytest.approx(2000.0, abs=1e-3)  # 600…2600


def test_cli_mode_for_the_region(cli_files: dict[str, Path], tmp_path: Path) -> None:
    # --mode ebike on the whole region: 4 min = 1,000 m, best site anywhere with 2,000 m
    out = tmp_path / "region"
    assert _cli(cli_files, out, "--mode", "ebike", "--ride-preset", "standard",
                "--walk-time-min", "4", "--k", "1") == 0
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert s["target"] == "region" and s["params"]["travel_mode"] == "ebike"
    assert s["total_gain"] == pytest.approx(2000.0, abs=1e-3)
    assert "zone_id" not in pd.read_csv(out / "suggestions.csv").columns


@pytest.mark.parametrize(("extra", "needle", "code"), [
    (["--target", "rider-zones"], "--rider-zones", InvalidParameterError.exit_code),
    (["--rider-zones", "zones.geojson"], "--target rider-zones",
     InvalidParameterError.exit_code),
    (["--mode", "drive"], "yizhan bases", InvalidParameterError.exit_code),
    (["--target", "rider-zones", "--rider-zones", "z.geojson", "--ride-time-min", "5",
      "--walk-time-min", "5"], "not several", InvalidParameterError.exit_code),
    # the e-bike-prepared directory is refused for walking (the region's default), with
    # what to do
    ([], "prepare it for 'walk'", InputFileError.exit_code),
])
def test_cli_refusals(cli_files: dict[str, Path], tmp_path: Path,
                      capsys: pytest.CaptureFixture[str], extra: list[str],
                      needle: str, code: int) -> None:
    assert _cli(cli_files, tmp_path / "o", "--k", "1", *extra) == code
    err = capsys.readouterr().err.strip()
    assert err.startswith("yizhan: error:") and needle in err and "\n" not in err


# ------------------------------------------------------------------------- the app page


def test_app_page_rider_zone_target() -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "pages" / "suggest.py"), default_timeout=240)
    at.run()
    assert not at.exception, at.exception
    target = at.radio(key="sg_target")  # the demo region has rider zones
    assert target.options == ["全区域", "骑手友好场景（电动自行车）"]
    target.set_value("rider-zones").run()
    assert not at.exception, at.exception
    # 5 minutes at 15 km/h (1,250 m): one demo zone still lacks a 工会驿站 / 司机之家
    at.selectbox(key="sg_ride_min").set_value(5.0)
    at.slider(key="sg_k").set_value(2)
    at.button(key="sg_run").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    sites = at.dataframe[0].value
    assert len(sites) >= 1 and sites["骑手友好场景"].notna().all()
    assert "新覆盖场景街道（米）" in sites.columns
    zones = at.dataframe[1].value
    assert len(zones) == 2 and "服务该场景的建议站点" in zones.columns
    assert any("各场景" in b.label for b in at.download_button)
    assert any("骑行" in c.value for c in at.caption)
