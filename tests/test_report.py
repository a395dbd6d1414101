"""Coverage reports (:mod:`geo.reports.data` and its writers, ``yizhan report``) on the demo
region: PDF sections, text, embedded CJK font and a rendered first page; the workbook
against the CSV outputs; the GeoPackage layers; the standalone HTML page; the CLI."""

from __future__ import annotations

import ast
import dataclasses
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

import geo.pipeline.job
from geo.coverage.overlap import station_overlap
from geo.errors import InvalidParameterError
from geo.pipeline.job import CoverageJob, run_demo, write_outputs
from geo.reports.data import (
    ReportData,
    ReportOptions,
    report_data,
    station_population,
    walk_time_distribution,
)
from geo.reports.display import flagged_text, method_notes
from geo.reports.html import REPORT_MAP_HEIGHT_PX, map_frame_height
from geo.reports.write import REPORT_FORMATS, check_format

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
HOSTILE = '<img src=x onerror="window.__pwned=1">${window.__pwned=2}`x`'
SECTIONS_ZH = ("数据版本", "参数", "核心指标", "图表", "镇街薄弱排名", "骑手友好场景", "站点明细",
               "方法说明")


def _cli_main():  # the wired `yizhan report` if geo.cli.commands has it, else the module's own main
    from geo.cli import commands as cli
    from geo.cli import report as cli_report

    sub = next(a for a in cli.build_parser()._actions if a.dest == "command")
    if "report" in sub.choices:
        return lambda argv: cli.main(["report", *argv]), [sys.executable, "-m", "geo.cli",
                                                          "report"]
    return cli_report.main, [sys.executable, "-m", "geo.cli.report"]


def _run(args: list[str], tmp: Path) -> subprocess.CompletedProcess[str]:
    _, cmd = _cli_main()
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp / "xdg-cache"),
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([*cmd, *args], capture_output=True, text=True, cwd=tmp, env=env,
                          timeout=300, check=False)


@pytest.fixture(scope="module")
def job() -> CoverageJob:
    return run_demo()


@pytest.fixture(scope="module")
def data(job: CoverageJob) -> ReportData:
    return report_data(job)


@pytest.fixture(scope="module")
def csv_dir(job: CoverageJob, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report_csv")
    write_outputs(job, out)
    return out


@pytest.fixture(scope="module")
def reports(job: CoverageJob, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``report --demo --format F`` for every format, through the CLI entry point
    in-process, on the demo job computed once (run_demo is patched to return it)."""
    out = tmp_path_factory.mktemp("reports")
    main, _ = _cli_main()
    paths = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(geo.pipeline.job, "run_demo", lambda *a, **k: job)
        for fmt in REPORT_FORMATS:
            p = out / f"demo_report.{fmt}"
            assert main(["--demo", "--format", fmt, "--out", str(p)]) == 0
            assert p.is_file() and p.stat().st_size > 1000
            paths[fmt] = p
    return paths


# ------------------------------------------------------------------------------- PDF


def _pdf_text(path: Path) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() or "" for page in PdfReader(str(path)).pages]


def test_pdf_has_sections_town_names_and_headline_figures(
        reports: dict[str, Path], data: ReportData) -> None:
    from pypdf import PdfReader

    pages = _pdf_text(reports["pdf"])
    text = "\n".join(pages)
    for title in SECTIONS_ZH:
        assert title in text, title
    outline = [o.title for o in PdfReader(str(reports["pdf"])).outline if not isinstance(o, list)]
    assert any("核心指标" in o for o in outline) and any("站点明细" in o for o in outline)
    for name in data.towns["name"]:
        assert name in text, name
    s = data.summary
    assert f"{s['covered_population_share']:.1%}" in text  # 69.0%
    assert f"{s['covered_length_share']:.1%}" in text
    assert f"{s['covered_area_m2'] / 1e6:,.2f} km²" in text
    assert "示范区（合成数据）" in text and "虚构" in text  # the synthetic-data disclaimer
    assert "新洲镇" in pages[1]  # the town below 80 % is named with the headline figures
    assert "骑手友好街区·新洲" in pages[1]  # the zone with no station in reach
    # station table: every station id, page numbers on every page
    for sid in data.stations["station_id"]:
        assert sid in text, sid
    for i, page in enumerate(pages, start=1):
        assert f"第 {i} 页 / 共 {len(pages)} 页" in page
    # headers that would wrap to three lines are abbreviated, with a legend
    flat = text.replace("\n", "")
    assert "表头缩写：" in flat and "被覆盖 = 被其他站点覆盖" in flat


def test_pdf_embeds_the_cjk_font(reports: dict[str, Path]) -> None:
    from pypdf import PdfReader

    reader = PdfReader(str(reports["pdf"]))
    fonts = {}
    for page in reader.pages:
        for f in page["/Resources"]["/Font"].values():
            f = f.get_object()
            desc = f.get("/FontDescriptor")
            fonts[str(f["/BaseFont"])] = desc is not None and "/FontFile2" in desc.get_object()
    assert any("NotoSansCJK" in name for name in fonts), fonts
    assert all(fonts.values()), f"not embedded: {fonts}"
    if shutil.which("pdffonts") is None:
        pytest.skip("pdffonts not installed (apt-get install poppler-utils)")
    out = subprocess.run(["pdffonts", str(reports["pdf"])], capture_output=True, text=True,
                         check=True).stdout.splitlines()[2:]
    assert out, "no fonts listed"
    cjk = [line for line in out if "CJK" in line]
    assert cjk, out
    for line in out:  # columns: name type encoding emb sub uni object ID
        assert re.search(r"\s(yes)\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+\s*$", line), line


def test_pdf_first_page_renders_to_png(reports: dict[str, Path]) -> None:
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm not installed (apt-get install poppler-utils)")
    ARTIFACTS.mkdir(exist_ok=True)
    stem = ARTIFACTS / "report_page1"
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile",
                    str(reports["pdf"]), str(stem)], check=True, timeout=120)
    png = stem.with_suffix(".png")
    assert png.is_file() and png.stat().st_size > 20_000
    from PIL import Image

    with Image.open(png) as im:
        w, h = im.size
        assert 600 < w < 700 and 900 < h < 960  # A4 at 80 dpi
        # not blank: the title and tables put dark pixels on the page
        dark = int((np.asarray(im.convert("L")) < 100).sum())
        assert dark > 2_000


def test_pdf_in_english(job: CoverageJob, tmp_path: Path) -> None:
    from geo.reports.write import write_report

    p = write_report(job, "pdf", tmp_path / "en.pdf", options=ReportOptions(lang="en",
                                                                            worst_towns=1))
    text = "\n".join(_pdf_text(p))
    for title in ("Headline figures", "Charts", "Under-served towns", "Stations", "Method",
                  "Synthetic demo data"):
        assert title in text, title
    assert "Population within 15 min walk" in text
    flat = " ".join(text.split())
    assert "Abbreviated headers:" in flat and "Top overlap = Most overlapping station" in flat


# ------------------------------------------------------------------------------- Excel


def test_workbook_sheets_rows_and_types_match_the_csv_outputs(
        reports: dict[str, Path], csv_dir: Path) -> None:
    from openpyxl import load_workbook

    from geo.reports.xlsx import sheet_name

    wb = load_workbook(reports["xlsx"])
    assert wb.sheetnames == [sheet_name(k, "zh") for k in
                             ("summary", "towns", "stations", "zones", "bases",
                              "bases_beyond", "fields")]
    # the fields sheet maps every header to its CSV column
    fields: dict[str, dict[str, str]] = {}
    for sheet, header, col in wb[sheet_name("fields", "zh")].iter_rows(min_row=2,
                                                                         values_only=True):
        fields.setdefault(sheet, {})[header] = col
    for key in ("towns", "stations", "zones"):
        csv = pd.read_csv(csv_dir / f"{key}.csv", dtype={"code": str, "town_id": str})
        ws = wb[sheet_name(key, "zh")]
        assert ws.max_row == len(csv) + 1, key  # header + the CSV's rows
        assert ws.freeze_panes == "A2"
        header = [c.value for c in ws[1]]
        cols = [fields[ws.title][h] for h in header]
        assert set(csv.columns) <= set(cols), set(csv.columns) - set(cols)
        for c in csv.columns:
            j = cols.index(c) + 1
            width = ws.column_dimensions[ws.cell(row=1, column=j).column_letter].width
            assert width and width >= 8
            cells = [ws.cell(row=i, column=j) for i in range(2, ws.max_row + 1)]
            if pd.api.types.is_bool_dtype(csv[c]):
                assert all(isinstance(x.value, bool) for x in cells), (key, c)
            elif pd.api.types.is_numeric_dtype(csv[c]) and c not in ("code", "town_id"):
                for x, v in zip(cells, csv[c], strict=True):
                    if isinstance(v, float) and math.isnan(v):
                        assert x.value is None, (key, c)
                    else:
                        assert x.data_type == "n" and isinstance(x.value, (int, float)), \
                            (key, c, x.value)
                        assert x.value == pytest.approx(float(v), rel=1e-9, abs=1e-6)
    towns = wb[sheet_name("towns", "zh")]
    header = [c.value for c in towns[1]]
    code = [towns.cell(row=i, column=header.index("区划代码") + 1).value
            for i in range(2, towns.max_row + 1)]
    assert all(isinstance(v, str) for v in code)  # codes stay text (leading zeros…)
    share = towns.cell(row=2, column=header.index("人口覆盖率") + 1)
    assert share.number_format == "0.0%"
    uncovered = towns.cell(row=2, column=header.index("未覆盖需求") + 1)
    assert uncovered.number_format == "#,##0"  # people (or street metres): whole numbers
    # summary: numbers are numbers
    summary = {r[1]: r[2] for r in wb[sheet_name("summary", "zh")].iter_rows(min_row=2,
                                                                             values_only=True)}
    assert summary["步行时间"] == 15 and isinstance(summary["15分钟步行可达人口占比"], float)
    assert summary["接入路网的站点"] == 30


def test_workbook_in_english(data: ReportData, job: CoverageJob, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from geo.reports.write import write_report

    p = write_report(job, "xlsx", tmp_path / "en.xlsx", options=ReportOptions(lang="en"))
    wb = load_workbook(p)
    assert wb.sheetnames == ["summary", "towns", "stations", "zones", "bases",
                             "bases beyond limits", "fields"]
    assert wb["stations"].cell(row=1, column=1).value == "Station ID"
    assert wb["stations"].max_row == len(data.stations) + 1


# -------------------------------------------------------------------------- GeoPackage


def test_geopackage_layers_counts_and_crs(reports: dict[str, Path], job: CoverageJob) -> None:
    import pyogrio

    layers = {name: gtype for name, gtype in pyogrio.list_layers(reports["gpkg"])}
    expected = {"stations": len(job.coverage.stations),
                "service_areas": len(job.areas.per_station),
                "coverage": 1, "towns": len(job.towns.towns), "zones": len(job.zones),
                "bases": len(job.bases)}
    assert set(expected) <= set(layers), layers
    for name, n in expected.items():
        info = pyogrio.read_info(reports["gpkg"], layer=name)
        assert info["features"] == n, name
        assert info["crs"] == "EPSG:4326", name
    assert layers["stations"] == "Point"
    assert layers["service_areas"] == "MultiPolygon"
    st = pyogrio.read_dataframe(reports["gpkg"], layer="stations")
    assert {"station_id", "status", "snap_dist_m", "overlap_share", "review_flag"} <= \
        set(st.columns)
    assert st["snap_dist_m"].dtype.kind == "f" and st["review_flag"].dtype == bool
    lon, lat = st.geometry.x.to_numpy(), st.geometry.y.to_numpy()
    assert (np.abs(lon - 113.3) < 0.2).all() and (np.abs(lat - 23.1) < 0.2).all()
    towns = pyogrio.read_dataframe(reports["gpkg"], layer="towns")
    assert towns["below_threshold"].sum() == 1
    assert towns.loc[towns["below_threshold"], "name"].tolist() == ["新洲镇"]


# -------------------------------------------------------------------------------- HTML


def test_html_report_is_standalone_with_the_interactive_map(
        reports: dict[str, Path], data: ReportData) -> None:
    html = reports["html"].read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert '<iframe class="map" sandbox="allow-scripts"' in html and "srcdoc=" in html
    assert "L.map(" in html or "L.map" in html  # the Leaflet map inside srcdoc
    # no external requests: assets are inlined
    assert not re.search(r'(?:src|href)="https?://', html)
    for marker in ("cdn.jsdelivr", "cdnjs.", "code.jquery.com", "unpkg.com"):
        assert marker not in html
    for name in data.towns["name"]:
        assert name in html
    for section in ("核心指标", "镇街薄弱排名", "站点明细", "方法说明"):
        assert section in html
    assert html.count("data:image/png;base64,") >= 3 + data.options.worst_towns
    # the frame is as tall as the map inside it (no clipped map)
    assert f'style="height:{REPORT_MAP_HEIGHT_PX}px"' in html
    assert f"height: {REPORT_MAP_HEIGHT_PX}.0px" in html


def test_map_frame_takes_the_height_the_map_declares() -> None:
    page = '<style>#map_0123abcd {\n position: relative;\n height: 800.0px;\n}</style>'
    assert map_frame_height(page) == 800
    assert map_frame_height(None) == REPORT_MAP_HEIGHT_PX
    assert map_frame_height("<html></html>") == REPORT_MAP_HEIGHT_PX


def test_html_escapes_untrusted_text(data: ReportData) -> None:
    from geo.reports.html import html_report

    stations = data.stations.copy()
    stations.loc[0, "name"] = HOSTILE
    towns = data.towns.copy()
    towns.loc[0, "reason_zh"] = HOSTILE
    hostile = dataclasses.replace(data, stations=stations, towns=towns)
    figs = {"overview": b"png", "town_share": b"png", "walk_time": b"png",
            **{f"town:{t}": b"png" for t in data.worst["town_id"]}}
    html = html_report(hostile, figures=figs)
    assert "<img src=x" not in html and "${window" not in html and "`x`" not in html
    assert "&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;" in html


# ---------------------------------------------------------------------------------- CLI


def test_cli_demo_subprocess_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "r.xlsx"
    proc = _run(["--demo", "--format", "xlsx", "--out", str(out)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert out.is_file() and out.stat().st_size > 5_000
    assert "synthetic" in proc.stdout and "Traceback" not in proc.stderr


@pytest.mark.parametrize("args", [["--format", "docx"], ["--format", "pdf", "--lang", "fr"],
                                  ["--town-threshold", "1.5", "--format", "pdf"]])
def test_cli_bad_option_one_line_error(tmp_path: Path, args: list[str]) -> None:
    out = tmp_path / "r.out"
    proc = _run(["--demo", *args, "--out", str(out)], tmp_path)
    assert proc.returncode == 4, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("yizhan: error: "), proc.stderr
    assert "Traceback" not in proc.stderr and not out.exists()


def test_cli_needs_an_input(tmp_path: Path) -> None:
    main, _ = _cli_main()
    assert main(["--format", "pdf", "--out", str(tmp_path / "r.pdf")]) == 4
    assert not (tmp_path / "r.pdf").exists()


# ----------------------------------------------------------------------- computations


def test_check_format_and_options() -> None:
    assert check_format(None, "Report.PDF") == "pdf"
    assert check_format("GPKG") == "gpkg"
    with pytest.raises(InvalidParameterError, match="xlsx, pdf, html or gpkg"):
        check_format("docx")
    with pytest.raises(InvalidParameterError):
        check_format(None, "report")
    for bad in ({"lang": "fr"}, {"town_threshold": 1.2}, {"worst_towns": -1},
                {"worst_towns": 2.5}, {"overlap_threshold": "x"}):
        with pytest.raises(InvalidParameterError):
            ReportOptions(**bad)


def test_station_overlap_matches_pairwise_union(job: CoverageJob, data: ReportData) -> None:
    per = job.areas.per_station
    geoms = per.geometry.to_numpy()
    ov = station_overlap(per)
    for i in (0, 7, len(geoms) - 1):
        others = shapely.union_all(np.delete(geoms, i))
        exact = shapely.area(shapely.intersection(geoms[i], others)) / shapely.area(geoms[i])
        assert ov["overlap_share"].iloc[i] == pytest.approx(exact, abs=2e-4)
    used = data.stations["status"] == "used"
    assert data.stations.loc[used, "overlap_share"].notna().all()
    assert data.stations.loc[~used, "overlap_share"].isna().all()


def test_review_flag_singles_out_a_few_demo_stations(data: ReportData) -> None:
    """Not every station of a dense area: 5 of the demo's 30 (the old area-only rule
    flagged 26), each meeting both conditions, the rule said in the report."""
    st = data.stations.loc[data.stations["status"] == "used"]
    flagged = st.loc[st["review_flag"]]
    assert len(flagged) == 5 and len(st) == 30
    assert (flagged["overlap_share"] >= 0.95).all() and (flagged["nearest_share"] < 0.05).all()
    rest = st.loc[~st["review_flag"]]
    assert ((rest["overlap_share"] < 0.95) | (rest["nearest_share"] >= 0.05)).all()
    assert int((st["overlap_share"] >= 0.95).sum()) == 26  # what the area alone flags
    assert flagged["overlap_top_neighbour"].notna().all()
    head = {f.key: f for f in data.headline}["stations_flagged"]
    assert head.value == 5 and "最近站点的街道不足其可达街道的5%" in head.note
    notes = " ".join(method_notes(data))
    assert "同时满足两条" in notes and "95%" in notes and "5%" in notes
    assert "DEMO-007" in flagged_text(data)  # the flagged stations are named
    en = report_data(data.job, ReportOptions(lang="en"))
    assert "nearest station for under 5% of the streets it reaches" in \
        " ".join(method_notes(en))


def test_station_population_sums_to_the_covered_population(job: CoverageJob) -> None:
    pop = station_population(job)
    assert pop is not None and len(pop) == job.coverage.n_sources and (pop >= 0).all()
    assert pop.sum() == pytest.approx(job.towns.towns["covered_population"].sum(), abs=10)


def test_walk_time_distribution_adds_up(job: CoverageJob) -> None:
    wt = walk_time_distribution(job)
    assert wt["length_m"].sum() == pytest.approx(job.network.total_length_m, rel=1e-9)
    within = wt.loc[np.isfinite(wt["upper_min"]), "length_m"].sum()
    assert within == pytest.approx(job.coverage.covered_length_m, rel=1e-6)
    assert len(wt) == 16 and (wt["length_m"] >= 0).all()


def test_report_data_figures(data: ReportData) -> None:
    head = {f.key: f for f in data.headline}
    assert head["stations_used"].value == 30
    assert head["towns_below_threshold"].value == 1 and "新洲镇" in \
        head["towns_below_threshold"].note
    assert head["zones_without_station"].value == 1
    assert list(data.worst["rank"]) == [1, 2, 3]
    assert len(data.towns) == len(data.job.towns.towns)
    assert len(data.stations) == data.job.station_input.rows_in


def _imports(path: Path) -> list[tuple[ast.stmt, str, bool]]:
    """(statement, module, at module level) for every import of a ``geo`` module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = set(map(id, tree.body))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module]
        else:
            continue
        out += [(node, n, id(node) in top) for n in names if n.split(".")[0] == "geo"]
    return out


REPORT_MODULES = sorted((ROOT / "geo" / "reports").glob("*.py"))


def test_library_report_modules_never_import_streamlit_or_ui() -> None:
    for p in [*REPORT_MODULES, ROOT / "geo" / "coverage" / "overlap.py",
              ROOT / "geo" / "cli" / "report.py"]:
        text = p.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(import|from)\s+(streamlit|ui)\b", text, re.M), p.name


def test_report_modules_import_geo_at_the_top_without_cycles() -> None:
    graph: dict[str, set[str]] = {}
    for p in REPORT_MODULES:
        name = f"geo.reports.{p.stem}" if p.stem != "__init__" else "geo.reports"
        deps = set()
        for node, module, top in _imports(p):
            assert top, f"{p.name}:{node.lineno}: function-local import of {module}"
            deps.add(module)
        graph[name] = {d for d in deps if d.startswith("geo.reports")}
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"import cycle: {' -> '.join((*path, name))}"
        if name not in done:
            for dep in graph.get(name, ()):
                visit(dep, (*path, name))
            done.add(name)

    for name in graph:
        visit(name, ())
