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


def _pdf_text(path: Path) -> str:
    """The PDF's text: ``pdftotext`` (poppler-utils) when installed, else pypdf."""
    import shutil
    import subprocess

    if shutil.which("pdftotext"):
        return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                              text=True, check=True).stdout
    from pypdf import PdfReader

    return "\n".join(p.extract_text() or "" for p in PdfReader(str(path)).pages)


def test_pdf_has_the_bases_section_with_its_figures(job: CoverageJob, tmp_path: Path) -> None:
    from pypdf import PdfReader

    from geo.reports.display import display_tables, fmt_cell

    data = report_data(job)
    assert data.bases is not None and not data.bases.note
    pdf = write_report(data, "pdf", tmp_path / "r.pdf")
    text = _pdf_text(pdf)
    flat = "".join(text.split())
    assert "六、职工疗休养基地" in flat  # numbered after the zones (四) and stations (五)
    assert "超出驾车时间限值的镇街与人口" in flat and "各镇街到最近基地的驾车时间" in flat
    assert f"共{len(job.bases)}个基地" in flat  # type: ignore[arg-type]
    towns = data.bases.towns
    for r in towns.itertuples():  # every town with its base, minutes and metres
        assert str(r.name) in flat and str(r.nearest_base_name) in flat
        assert fmt_cell(r.drive_time_min, "min", "zh") in flat
        assert fmt_cell(r.drive_distance_m, "m", "zh") in flat
    beyond = display_tables(data)["bases_beyond"]
    for row in beyond.cells("zh"):  # limits, towns beyond, towns, people
        assert all(cell in flat for cell in row), row
    assert "到最近基地。30分钟以外：0个镇街" in flat  # the table's note
    outline = [o.title for o in PdfReader(str(pdf)).outline if not isinstance(o, list)]
    assert any("职工疗休养基地" in o for o in outline)


def test_pdf_says_why_there_are_no_drive_times(job: CoverageJob, tmp_path: Path) -> None:
    net = dataclasses.replace(job.network, meta={})
    odd = dataclasses.replace(job, network=net, inputs={"network": {"path": "/nonexistent"}})
    flat = "".join(_pdf_text(write_report(odd, "pdf", tmp_path / "odd.pdf")).split())
    assert "职工疗休养基地" in flat and "无法计算驾车时间" in flat and "notavailable" in flat
    assert "超出驾车时间限值" not in flat
    from pypdf import PdfReader

    no_bases = write_report(dataclasses.replace(job, bases=None), "pdf", tmp_path / "none.pdf")
    flat = "".join(_pdf_text(no_bases).split())
    assert "无法计算驾车时间" not in flat and "驾车时间（分钟）" not in flat
    assert not [o.title for o in PdfReader(str(no_bases)).outline
                if not isinstance(o, list) and "疗休养基地" in o.title]
