"""The towns table of the 薄弱镇街 page and its downloads (:mod:`geo.reports.town_table`):
pinyin order, filter and sort, the shown values, and CSV / Excel files that hold the
shown rows in the shown order under the UI language's headers, formatted like the
report's towns sheet."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from geo.pipeline.job import CoverageJob, run_demo
from geo.reports.town_table import (
    district_choices,
    download_frame,
    filter_sort,
    headers,
    pinyin_key,
    pinyin_sorted,
    screen_columns,
    screen_frame,
    towns_csv,
    towns_xlsx,
)


@pytest.fixture(scope="module")
def job() -> CoverageJob:
    """The demo with its towns' populations spread over their streets (the values below
    are pinned on that basis; the default demo measures people from its raster)."""
    return run_demo(population=False)


@pytest.fixture(scope="module")
def towns(job: CoverageJob) -> pd.DataFrame:
    return pd.DataFrame(job.towns.towns.drop(columns="geometry"))


def test_pinyin_order_not_code_point() -> None:
    names = ["新洲镇", "北岸街道", "临江街道", "榕荫街道", "金沙街道", "花溪街道"]
    assert pinyin_sorted(names) == ["北岸街道", "花溪街道", "金沙街道", "临江街道", "榕荫街道",
                                    "新洲镇"]
    assert sorted(names) != pinyin_sorted(names)  # code point order differs
    # tones order a syllable (mā < má < mǎ < mà), a prefix comes first, blanks last
    assert pinyin_sorted(["骂", "马", "麻", "妈"]) == ["妈", "麻", "马", "骂"]
    assert pinyin_key("北") < pinyin_key("北岸") < pinyin_key(None)
    assert pinyin_sorted(["B区", "a区", " ", None]) == ["a区", "B区"]


def test_filter_and_sort(towns: pd.DataFrame) -> None:
    assert district_choices(towns) == ["明珠区", "云溪区"]  # míng < yún
    assert filter_sort(towns)["rank"].tolist() == [1, 2, 3, 4, 5, 6]
    by_name = filter_sort(towns, sort_by="name")["name"].tolist()
    assert by_name == ["北岸街道", "花溪街道", "金沙街道", "临江街道", "榕荫街道", "新洲镇"]
    share = filter_sort(towns, sort_by="covered_length_share")["covered_length_share"]
    assert share.is_monotonic_increasing
    demand = filter_sort(towns, sort_by="uncovered_demand")["uncovered_demand"]
    assert demand.is_monotonic_decreasing
    yun = filter_sort(towns, districts=["云溪区"], sort_by="name")
    assert yun["name"].tolist() == ["花溪街道", "金沙街道", "榕荫街道"]
    assert (yun["district"] == "云溪区").all()


def test_screen_values(towns: pd.DataFrame, job: CoverageJob) -> None:
    view = screen_frame(towns, walk_time_min=job.params.walk_time_min, lang="zh")
    assert list(view.columns[:4]) == ["rank", "name", "district", "reason_zh"]
    first = view.iloc[0]
    assert first["covered_population_share"] == pytest.approx(7.7)  # per cent
    assert first["population"] == 112_000 and str(view["population"].dtype) == "Int64"
    assert view["uncovered_demand"].iloc[0] == 103_391  # whole people
    assert first["walk_time_p90_min"] == "> 15 分钟"  # not None
    assert view["walk_time_p90_min"].iloc[2] == "14.3"
    en = screen_frame(towns, walk_time_min=15.0, lang="en")
    assert en["walk_time_p90_min"].iloc[0] == "> 15 min" and "reason_en" in en
    # street-length basis: no population columns to show
    no_pop = towns.assign(population=np.nan)
    assert "population" not in screen_columns(no_pop, "zh")


def test_downloads_follow_the_screen(towns: pd.DataFrame, job: CoverageJob) -> None:
    from openpyxl import load_workbook

    shown = filter_sort(towns, districts=["云溪区"], sort_by="name")
    frame = download_frame(shown, walk_time_min=15.0, lang="zh")
    names = headers(frame, job.towns.demand_basis, "zh")
    cols = screen_columns(shown, "zh")
    assert list(frame.columns[:len(cols)]) == cols  # the shown columns first
    assert {"town_id", "code", "total_length_m", "reason_en"} <= set(frame.columns)
    csv = pd.read_csv(io.BytesIO(towns_csv(frame, names)), encoding="utf-8-sig",
                      dtype={"区划代码": str})
    assert csv["镇街"].tolist() == ["花溪街道", "金沙街道", "榕荫街道"]
    assert list(csv.columns[:4]) == ["薄弱排名", "镇街", "区县", "原因"]
    assert "未覆盖人口" in csv.columns
    wb = load_workbook(io.BytesIO(towns_xlsx(frame, names, "zh")))
    ws = wb["镇街"]
    header = [c.value for c in ws[1]]
    assert header == [names[c] for c in frame.columns]
    assert [ws.cell(row=i, column=2).value for i in (2, 3, 4)] == ["花溪街道", "金沙街道",
                                                                    "榕荫街道"]
    share = ws.cell(row=2, column=header.index("人口覆盖率") + 1)
    assert share.number_format == "0.0%" and share.value == pytest.approx(1.0)
    assert ws.cell(row=2, column=header.index("人口") + 1).number_format == "#,##0"
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref
    code = ws.cell(row=2, column=header.index("区划代码") + 1)
    assert isinstance(code.value, str)
    assert all(ws.column_dimensions[ws.cell(row=1, column=j).column_letter].width >= 8
               for j in range(1, len(header) + 1))
    en = download_frame(shown, walk_time_min=15.0, lang="en")
    en_names = headers(en, job.towns.demand_basis, "en")
    en_csv = pd.read_csv(io.BytesIO(towns_csv(en, en_names)), encoding="utf-8-sig")
    assert list(en_csv.columns[:4]) == ["Under-served rank", "Town", "District", "Reason"]
    assert set(en_csv["Demand basis"]) == {"population"}


def test_downloads_keep_formulas_as_text(towns: pd.DataFrame, job: CoverageJob) -> None:
    from openpyxl import load_workbook

    hostile = towns.copy()
    hostile.loc[0, "name"] = '=HYPERLINK("http://evil","点我")'
    frame = download_frame(hostile, walk_time_min=15.0, lang="zh")
    names = headers(frame, job.towns.demand_basis, "zh")
    text = towns_csv(frame, names).decode("utf-8-sig")
    assert "'=HYPERLINK" in text
    ws = load_workbook(io.BytesIO(towns_xlsx(frame, names, "zh"))).active
    cell = ws.cell(row=2, column=2)
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")


def test_default_demo_shows_people_from_its_raster() -> None:
    """The default demo ships its synthetic raster: the page shows the measured people
    and names the basis as the raster's."""
    job = run_demo()
    assert job.towns.demand_basis == "population_raster"
    towns = pd.DataFrame(job.towns.towns.drop(columns="geometry"))
    view = screen_frame(towns, walk_time_min=15.0, lang="en")
    assert "population" in view.columns and view["population"].notna().all()
    assert headers(towns, job.towns.demand_basis, "en")["uncovered_demand"] == \
        "Uncovered people"
    frame = download_frame(towns, walk_time_min=15.0, lang="en")
    assert set(frame["demand_basis"]) == {"people (population raster, exact area-weighted)"}
