"""The report's convalescence-base section (:mod:`geo.reports.bases`): drive time per
town to the nearest base, towns and people beyond each limit, in Excel and HTML."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from geo.pipeline.job import CoverageJob, run_demo
from geo.reports.bases import BASE_TOWN_COLUMNS, report_bases
from geo.reports.data import report_data
from geo.reports.html import html_report
from geo.reports.write import write_report


@pytest.fixture(scope="module")
def job() -> CoverageJob:
    return run_demo()


def test_demo_report_has_a_bases_section(job: CoverageJob, tmp_path: Path) -> None:
    rb = report_bases(job, limits_min=(5.0, 10.0))
    assert rb is not None and not rb.note
    assert tuple(rb.towns.columns) == BASE_TOWN_COLUMNS and len(rb.towns) == 6
    times = rb.towns["drive_time_min"].tolist()
    assert times == sorted(times, reverse=True) and times[0] > 0
    assert rb.beyond["limit_min"].tolist() == [5.0, 10.0]
    assert (rb.beyond["towns_total"] == 6).all()
    assert rb.beyond["towns_beyond"].is_monotonic_decreasing
    page = html_report(report_data(job))
    assert 'id="bases"' in page and "职工疗休养基地" in page
    from openpyxl import load_workbook

    wb = load_workbook(write_report(job, "xlsx", tmp_path / "r.xlsx"))
    assert wb["疗休养基地"].max_row == len(report_bases(job).towns) + 1  # type: ignore[union-attr]


def test_no_bases_no_section_and_an_unloadable_source_is_said(job: CoverageJob) -> None:
    assert report_bases(dataclasses.replace(job, bases=None)) is None
    net = dataclasses.replace(job.network, meta={})
    odd = dataclasses.replace(job, network=net, inputs={"network": {"path": "/nonexistent"}})
    rb = report_bases(odd)
    assert rb is not None and "not available" in rb.note and rb.towns.empty
    assert 'id="bases"' in html_report(report_data(odd))


def test_cli_report_by_ebike(tmp_path: Path) -> None:
    from geo.cli import commands as cli
    from geo.pipeline.demo import write_demo_inputs

    inp = write_demo_inputs(tmp_path / "in")
    out = tmp_path / "r.html"
    rc = cli.main(["report", "--network", str(inp["streets"]), "--stations",
                   str(inp["stations"]), "--bases", str(inp["bases"]), "--format", "html",
                   "--out", str(out), "--mode", "ebike", "--no-cache", "--quiet"])
    assert rc == 0 and 'id="bases"' in out.read_text(encoding="utf-8")
