"""``yizhan report --mode walk|ebike|drive`` (:mod:`geo.cli.report`, :mod:`geo.reports`):
the demo's streets prepared for the mode, the mode, network filter and speed model in the
report's parameters, and e-bike / drive wording wherever the report means the trip."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from openpyxl import load_workbook

from geo.cli import commands as cli
from geo.errors import InvalidParameterError
from geo.params import CoverageParams
from geo.pipeline.demo import write_demo_inputs
from geo.pipeline.job import CoverageJob, run_demo, summary_dict
from geo.reports.data import ReportData, ReportOptions, report_data
from geo.reports.display import method_notes
from geo.reports.html import html_report
from geo.reports.write import write_report

_DATA_URI = re.compile(r"data:image/png;base64,[A-Za-z0-9+/=]+")
_PLACE_NAMES = ("步行街",)  # demo station names (兰盛步行街工会驿站): data, not the trip


def _walk_words_zh(text: str) -> list[str]:
    """Each "步行" in ``text`` (whitespace removed) that is not part of a place name."""
    flat = re.sub(r"\s+", "", text)
    for name in _PLACE_NAMES:
        flat = flat.replace(name, "")
    return [flat[max(0, m.start() - 20):m.end() + 20] for m in re.finditer("步行", flat)]


def _walk_words_en(text: str) -> list[str]:
    plain = _DATA_URI.sub("", text)
    return [plain[max(0, m.start() - 40):m.end() + 40]
            for m in re.finditer(r"walk", plain, flags=re.IGNORECASE)]


@pytest.fixture(scope="module")
def ebike_job() -> CoverageJob:
    return run_demo(CoverageParams.for_mode("ebike", speed_kmh=12.0))


@pytest.fixture(scope="module")
def ebike_data(ebike_job: CoverageJob) -> ReportData:
    return report_data(ebike_job)


def test_the_ebike_demo_runs_on_the_ebike_streets(ebike_job: CoverageJob) -> None:
    walk = run_demo(CoverageParams(walk_time_min=15.0))
    assert ebike_job.network.filter_report.version == "ebike-v1"
    assert walk.network.filter_report.version == "walk-v1"
    # footways without bicycle access are walked, not ridden
    assert ebike_job.network.total_length_m < walk.network.total_length_m
    s = summary_dict(ebike_job)
    assert s["params"]["travel_mode"] == "ebike"
    assert s["params"]["network_filter"]["filter"] == "ebike-v1"
    assert s["params"]["speed_model"]["speed_kmh"] == 12.0
    assert s["covered_length_share"] > summary_dict(walk)["covered_length_share"]  # type: ignore[operator]
    # the same synthetic people in both modes
    assert s["total_population"] == pytest.approx(summary_dict(walk)["total_population"])
    assert s["bases"] is not None and "步行" not in s["bases"]["note_zh"]


def test_ebike_report_names_the_mode_in_its_parameters(ebike_data: ReportData) -> None:
    params = dict(ebike_data.parameters)
    assert params["出行方式"] == "电动自行车"
    assert params["路网筛选"].startswith("ebike-v1")
    assert params["速度模型"].endswith("12 km/h")
    assert params["骑行时间"] == "15分钟" and params["骑行距离预算"] == "3,000 m"
    assert ebike_data.title == "驿站圈 · 职工服务站点15分钟骑行（电动自行车）覆盖报告"
    labels = [f.label for f in ebike_data.headline]
    assert "15分钟骑行（电动自行车）覆盖街道占比" in labels
    assert "15分钟骑行（电动自行车）可达人口占比" in labels


def test_ebike_html_says_ride_not_walk(ebike_data: ReportData, ebike_job: CoverageJob) -> None:
    page = html_report(ebike_data)
    assert "骑行（电动自行车）" in page and "电动自行车路网" in page
    assert _walk_words_zh(page) == []
    en = html_report(report_data(ebike_job, ReportOptions(lang="en")))
    assert "e-bike" in en and "E-bike network" in en
    assert _walk_words_en(en) == []
    notes = " ".join(method_notes(ebike_data))
    assert "骑行15分钟内无站点" in notes  # the engine's ranking rule, in the mode's words


def _pdf_and_sheet_text(data: ReportData, tmp_path: Path) -> tuple[str, list[str], Any]:
    """The PDF report's text, the Excel report's cells (the field legend left out) and
    its workbook."""
    from pypdf import PdfReader

    pdf = write_report(data, "pdf", tmp_path / "r.pdf")
    text = "\n".join(p.extract_text() or "" for p in PdfReader(str(pdf)).pages)
    wb = load_workbook(write_report(data, "xlsx", tmp_path / "r.xlsx"))
    cells = [str(v) for ws in wb if ws.title != "字段说明"
             for row in ws.iter_rows(values_only=True) for v in row if v is not None]
    return text, cells, wb


def test_ebike_pdf_and_excel_say_ride_not_walk(ebike_data: ReportData, tmp_path: Path) -> None:

    text, cells, wb = _pdf_and_sheet_text(ebike_data, tmp_path)
    flat = re.sub(r"\s+", "", text)
    assert "骑行（电动自行车）覆盖街道占比" in flat and "骑行时间" in flat
    assert _walk_words_zh(text) == []
    assert _walk_words_zh("\n".join(cells)) == []
    assert not [c for c in cells if "walkable" in c]  # status reasons said for riding
    heads = [c.value for c in wb["镇街"][1]]
    assert "P90骑行时间（分钟）" in heads and "P90步行时间（分钟）" not in heads
    zones = [c.value for c in wb["骑手友好场景"][1]]
    assert "最近站点骑行时间（分钟）" in zones


def test_cli_report_demo_by_ebike(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.xlsx"
    rc = cli.main(["report", "--demo", "--mode", "ebike", "--ride-preset", "fast",
                   "--walk-time-min", "10", "--out", str(out), "--quiet"])
    assert rc == 0
    stdout = capsys.readouterr().out
    assert "travel mode: ebike (network filter ebike-v1), 10 min at 20 km/h" in stdout
    rows = {r[1]: r[2] for r in load_workbook(out)["汇总"].iter_rows(values_only=True)}
    assert rows["出行方式"] == "电动自行车" and rows["骑行速度"] == 20
    assert str(rows["路网筛选"]).startswith("ebike-v1")
    assert rows["骑行距离预算"] == pytest.approx(10 / 60 * 20_000)
    assert rows["标题"] == "驿站圈 · 职工服务站点10分钟骑行（电动自行车）覆盖报告"


# ------------------------------------------------------------------------------ by car


@pytest.fixture(scope="module")
def drive_job() -> CoverageJob:
    return run_demo(CoverageParams(mode="drive", walk_time_min=3.0))


@pytest.fixture(scope="module")
def drive_data(drive_job: CoverageJob) -> ReportData:
    return report_data(drive_job)


def test_drive_report_names_the_mode_and_its_speed_model(drive_data: ReportData) -> None:
    assert drive_data.job.network.filter_report.version == "drive-v1"
    params = dict(drive_data.parameters)
    assert params["出行方式"] == "驾车" and params["路网筛选"].startswith("drive-v1")
    assert "maxspeed" in params["速度模型"] and "中国道路等级默认车速" in params["速度模型"]
    assert params["驾车时间"] == "3分钟" and params["驾车时间预算"] == "180秒"
    assert "单行道" in params["通行方向"] and "驶往站点" in params["通行方向"]
    assert drive_data.title == "驿站圈 · 职工服务站点3分钟驾车覆盖报告"
    labels = [f.label for f in drive_data.headline]
    assert "3分钟车程覆盖街道占比" in labels
    zones = drive_data.zones
    assert zones is not None and drive_data.mode_label("nearest_walk_time_min") == \
        "最近站点车程（分钟）"


def test_drive_time_distribution_adds_up_to_the_covered_length(drive_job: CoverageJob,
                                                               drive_data: ReportData) -> None:
    wt = drive_data.walk_times
    within = wt.loc[np.isfinite(wt["upper_min"]), "length_m"].sum()
    assert within == pytest.approx(drive_job.coverage.covered_length_m, rel=1e-9)
    assert wt["length_m"].sum() == pytest.approx(drive_job.network.total_length_m)
    assert (wt["length_m"] >= 0).all()


def test_drive_html_says_drive_not_walk(drive_data: ReportData, drive_job: CoverageJob) -> None:
    page = html_report(drive_data)
    assert "驾车路网" in page and "单行道" in page and "驶往最近站点" in page
    assert _walk_words_zh(page) == []
    en = html_report(report_data(drive_job, ReportOptions(lang="en")))
    assert "Car network" in en and "TO the nearest station" in en and "maxspeed" in en
    assert _walk_words_en(en) == []
    notes = " ".join(method_notes(drive_data))
    assert "驾车3分钟内无站点" in notes or "驾车" in notes


def test_drive_pdf_excel_and_geopackage_say_drive(drive_data: ReportData,
                                                   tmp_path: Path) -> None:
    import geopandas as gpd

    text, cells, wb = _pdf_and_sheet_text(drive_data, tmp_path)
    flat = re.sub(r"\s+", "", text)
    assert "车程覆盖街道占比" in flat and "驾车时间" in flat
    assert _walk_words_zh(text) == []
    assert _walk_words_zh("\n".join(cells)) == []
    assert not [c for c in cells if "walkable" in c]
    heads = [c.value for c in wb["镇街"][1]]
    assert "P90驾车时间（分钟）" in heads and "P90步行时间（分钟）" not in heads
    zones = [c.value for c in wb["骑手友好场景"][1]]
    assert "最近站点车程（分钟）" in zones and "车程范围内有站点" in zones
    rows = {r[1]: (r[2], r[3]) for r in wb["汇总"].iter_rows(values_only=True)}
    assert rows["驾车时间预算"] == (180, "s") and "骑行速度" not in rows
    layer = gpd.read_file(write_report(drive_data, "gpkg", tmp_path / "r.gpkg"),
                          layer="coverage")
    assert layer["travel_mode"].tolist() == ["drive"]
    assert layer["budget_m"].isna().all() and layer["walk_speed_kmh"].isna().all()


def test_cli_report_by_car(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.xlsx"
    assert cli.main(["report", "--demo", "--mode", "drive", "--walk-time-min", "4",
                     "--out", str(out), "--quiet"]) == 0
    stdout = capsys.readouterr().out
    assert ("travel mode: drive (network filter drive-v1), 4 min by car (per-edge speeds: "
            "maxspeed or China class defaults; one-way streets respected)") in stdout
    rows = {r[1]: r[2] for r in load_workbook(out)["汇总"].iter_rows(values_only=True)}
    assert rows["出行方式"] == "驾车" and str(rows["路网筛选"]).startswith("drive-v1")
    assert rows["标题"] == "驿站圈 · 职工服务站点4分钟驾车覆盖报告"
    # the demo's streets as files: --network is loaded for the car
    inputs = write_demo_inputs(tmp_path / "in")
    gpkg = tmp_path / "n.gpkg"
    assert cli.main(["report", "--network", str(inputs["streets"]), "--stations",
                     str(inputs["stations"]), "--mode", "drive", "--walk-time-min", "4",
                     "--out", str(gpkg), "--quiet", "--no-cache"]) == 0
    assert "4 min by car" in capsys.readouterr().out
    import geopandas as gpd
    assert gpd.read_file(gpkg, layer="coverage")["network_filter"].tolist() == ["drive-v1"]
    # no speed by car
    rc = cli.main(["report", "--demo", "--mode", "drive", "--ride-preset", "fast",
                   "--out", str(tmp_path / "x.pdf")])
    assert rc == InvalidParameterError.exit_code and not (tmp_path / "x.pdf").exists()


def test_walk_report_keeps_its_walk_wording() -> None:
    data = report_data(run_demo(population=False))
    assert data.title == "驿站圈 · 职工服务站点15分钟步行覆盖报告"
    params = dict(data.parameters)
    assert params["出行方式"] == "步行" and params["步行时间"] == "15分钟"
    assert params["路网筛选"].startswith("walk-v1")
