"""``yizhan demo`` prints the figures the app's map page shows: covered streets,
covered population, the service-area extent and the stations on the network."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from geo.cli import commands as cli


def test_demo_prints_population_area_and_stations(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    assert cli.main(["demo", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert f"({s['covered_length_share']:.1%})" in text
    assert f"covered population: {s['covered_population_share']:.1%}" in text
    assert f"covered area (service-area union): {s['covered_area_m2'] / 1e6:.2f} km²" in text
    st = s["stations"]
    assert f"stations on the network: {st['used']} of {st['input']}" in text
