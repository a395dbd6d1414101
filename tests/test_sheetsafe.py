"""Untrusted text in spreadsheets (:mod:`geo.io.sheetsafe`): no formula ever runs."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd

from geo.io.sheetsafe import csv_cell, csv_safe, excel_bytes, keep_text

HOSTILE = ['=HYPERLINK("http://evil.example","点我")', "+1+cmd|' /C calc'!A0",
           "@SUM(1+1)", "-2+3+cmd|' /C calc'!A0", "\t=1+1"]
HARMLESS = ["南山驿站", "-12.5", "-0.5", ".5", "a=b", "", "12"]


def test_csv_cells_that_start_a_formula_get_a_quote() -> None:
    for v in HOSTILE:
        assert csv_cell(v) == "'" + v
    for v in HARMLESS:
        assert csv_cell(v) == v
    assert csv_cell(-3.0) == -3.0


def test_csv_safe_copies_and_leaves_numbers() -> None:
    df = pd.DataFrame({"name": HOSTILE[:2], "lon": [113.9, -1.0]})
    out = csv_safe(df)
    assert list(out["name"]) == ["'" + v for v in HOSTILE[:2]]
    assert list(out["lon"]) == [113.9, -1.0]
    assert list(df["name"]) == HOSTILE[:2]  # input not mutated


def test_xlsx_formula_text_is_stored_as_text() -> None:
    df = pd.DataFrame({"name": HOSTILE})
    # what pandas/openpyxl do by default: the first name becomes a formula
    buf = io.BytesIO()
    df.to_excel(buf, index=False)
    ws = openpyxl.load_workbook(io.BytesIO(buf.getvalue())).active
    assert ws["A2"].data_type == "f"
    wb = openpyxl.load_workbook(io.BytesIO(excel_bytes({"s": df})))
    cells = [c for (c,) in wb["s"].iter_rows(min_row=2)]
    assert all(c.data_type == "s" for c in cells)
    assert [c.value for c in cells] == HOSTILE  # the text itself is kept exactly
    assert keep_text(wb) == 0
