"""Analysis units (geo.pipeline.units): the H3 cells and their streets cached on disk per
network and resolution, read back equal, rebuilt when damaged, never used for towns."""

from __future__ import annotations

from pathlib import Path

import nets
import pandas as pd
import pytest

import geo.pipeline.units as units_module
from geo.pipeline.units import analysis_units, cached_analysis_units, network_key


def _grid(step: float = 200.0, n: int = 12):
    nodes = {r * n + c: (c * step, r * step) for r in range(n) for c in range(n)}
    edges = [(r * n + c, r * n + c + 1) for r in range(n) for c in range(n - 1)]
    edges += [(r * n + c, (r + 1) * n + c) for r in range(n - 1) for c in range(n)]
    return nets.build_network(nodes, edges)


def test_cells_are_cached_per_network_and_resolution(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    net = _grid()
    first = cached_analysis_units(net, None, cache_dir=tmp_path, h3_resolution=9,
                                  buffer_m=50.0)
    entry = tmp_path / "units" / f"{network_key(net)}-r9"
    assert (entry / "cells.parquet").is_file() and (entry / "parts.parquet").is_file()

    def no_build(*args, **kwargs):  # the second call must read, not build
        raise AssertionError("built again")

    monkeypatch.setattr(units_module, "analysis_units", no_build)
    again = cached_analysis_units(net, None, cache_dir=tmp_path, h3_resolution=9,
                                  buffer_m=30.0)
    assert again.is_grid and again.buffer_m == 30.0 and again.h3_resolution == 9
    pd.testing.assert_frame_equal(pd.DataFrame(again.units.drop(columns="geometry")),
                                  pd.DataFrame(first.units.drop(columns="geometry")))
    assert again.units.geometry.geom_equals_exact(first.units.geometry, 0).all()
    assert again.units.crs == first.units.crs
    pd.testing.assert_frame_equal(again.parts, first.parts)
    # another resolution is another entry
    monkeypatch.undo()
    cached_analysis_units(net, None, cache_dir=tmp_path, h3_resolution=8, buffer_m=50.0)
    assert (tmp_path / "units" / f"{network_key(net)}-r8").is_dir()


def test_a_damaged_entry_is_rebuilt(tmp_path: Path) -> None:
    net = _grid()
    cached_analysis_units(net, None, cache_dir=tmp_path, h3_resolution=9, buffer_m=50.0)
    entry = tmp_path / "units" / f"{network_key(net)}-r9"
    (entry / "parts.parquet").write_bytes(b"not parquet")
    got = cached_analysis_units(net, None, cache_dir=tmp_path, h3_resolution=9,
                                buffer_m=50.0)
    want = analysis_units(net, None, h3_resolution=9, buffer_m=50.0)
    assert got.parts is not None and want.parts is not None
    pd.testing.assert_frame_equal(got.parts, want.parts)


def test_the_key_follows_the_streets_not_a_name() -> None:
    a, b = _grid(), _grid()
    assert network_key(a) == network_key(b)
    assert network_key(_grid(step=210.0)) != network_key(a)


def test_no_cache_dir_or_towns_builds_as_usual(tmp_path: Path) -> None:
    net = _grid()
    plain = cached_analysis_units(net, None, cache_dir=None, h3_resolution=9, buffer_m=50.0)
    assert plain.is_grid and not (tmp_path / "units").exists()
