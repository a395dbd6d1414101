"""The analysis units of a job — towns, or H3 cells and their streets — and a disk
cache of the cells per network and resolution.

Building the cells of a city network and cutting its streets exactly at the cell edges
takes one to two seconds; they depend on the network alone, so ``yizhan coverage`` runs
on a prepared network reuse them like the prepared network itself. The key is the
sha256 of the network's node coordinates, edge ends and lengths (not of a file name) and
the resolution; the files are GeoParquet / Parquet (no pickles), written to a temporary
folder and renamed into place, so concurrent runs never read a half-written entry.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.coverage.cells import DEFAULT_H3_RESOLUTION, convex_cell_parts, h3_cells, h3_tiles
from geo.coverage.service_areas import UnionMethod
from geo.io.layers import LayerTable
from geo.network.model import WalkNetwork

UNITS_CACHE_FORMAT: Final = "yizhan-units/1"


@dataclass(frozen=True, eq=False)
class AnalysisUnits:
    """The units figures are given for — towns, or H3 cells — and what is built from the
    network alone (:func:`analysis_units`): compute once per network, town layer and
    resolution, and pass to :func:`run_coverage` for every parameter change."""

    units: gpd.GeoDataFrame
    is_grid: bool
    tiles: np.ndarray | None  # the vector union's tiles (None: not built)
    parts: pd.DataFrame | None  # the cells' streets, cut exactly (None with towns)
    h3_resolution: int
    buffer_m: float


def analysis_units(network: WalkNetwork, towns: LayerTable | None = None, *,
                   h3_resolution: int = DEFAULT_H3_RESOLUTION, buffer_m: float = 50.0,
                   union_method: UnionMethod = "raster") -> AnalysisUnits:
    """Towns (when given) or the H3 cells at ``h3_resolution``, with the cells' exact
    street parts and, for the vector union, its tiles (``buffer_m`` around the cells)."""
    units, is_grid, tiles, parts = _analysis_units(network, towns, h3_resolution, buffer_m,
                                                  need_tiles=union_method == "vector")
    return AnalysisUnits(units=units, is_grid=is_grid, tiles=tiles, parts=parts,
                         h3_resolution=h3_resolution, buffer_m=buffer_m)


def _analysis_units(network: WalkNetwork, towns: LayerTable | None, h3_resolution: int,
                    buffer_m: float, *, need_tiles: bool
                    ) -> tuple[gpd.GeoDataFrame, bool, np.ndarray | None, pd.DataFrame | None]:
    """(towns or H3 cells, is_grid, union tiles or None, street parts of the cells or None).

    The tiles (for the vector union only) are the H3 cells holding streets first (same
    order), then the cells within ``buffer_m`` of them."""
    if towns is not None and len(towns.accepted):
        units = towns.accepted.to_crs(network.crs)
        cells = h3_cells(network, resolution=h3_resolution) if need_tiles else None
    else:
        units = cells = h3_cells(network, resolution=h3_resolution)
    tiles = None if cells is None or not need_tiles else \
        h3_tiles(network, cells, margin_m=buffer_m).geometry.to_numpy()
    if towns is not None and len(towns.accepted):
        return units, False, tiles, None
    return units, True, tiles, convex_cell_parts(network, units.geometry.to_numpy())




def network_key(network: WalkNetwork) -> str:
    """sha256 (hex, 24 characters) of what the cells and their streets depend on."""
    h = hashlib.sha256(UNITS_CACHE_FORMAT.encode())
    for arr in (network.node_x, network.node_y, network.edge_u, network.edge_v,
                network.length_m):
        h.update(np.ascontiguousarray(arr).tobytes())
    h.update(network.crs.to_wkt().encode())
    return h.hexdigest()[:24]


def cached_analysis_units(network: WalkNetwork, towns: LayerTable | None, *,
                          cache_dir: str | os.PathLike[str] | None, h3_resolution: int,
                          buffer_m: float) -> AnalysisUnits:
    """:func:`~geo.pipeline.job.analysis_units` for the raster union, the H3 cells read
    from ``cache_dir`` when this network and resolution were seen before (towns, or no
    ``cache_dir``: built as usual)."""
    if cache_dir is None or (towns is not None and len(towns.accepted)):
        return analysis_units(network, towns, h3_resolution=h3_resolution, buffer_m=buffer_m)
    folder = Path(cache_dir) / "units" / f"{network_key(network)}-r{h3_resolution}"
    cached = _read(folder, h3_resolution=h3_resolution, buffer_m=buffer_m)
    if cached is not None:
        return cached
    built = analysis_units(network, None, h3_resolution=h3_resolution, buffer_m=buffer_m)
    _write(folder, built)
    return built


def _read(folder: Path, *, h3_resolution: int, buffer_m: float) -> AnalysisUnits | None:
    cells, parts = folder / "cells.parquet", folder / "parts.parquet"
    if not (cells.is_file() and parts.is_file()):
        return None
    try:
        units = gpd.read_parquet(cells)
        street_parts = pd.read_parquet(parts)
    except (OSError, ValueError):  # a damaged entry: build again
        return None
    return AnalysisUnits(units=units, is_grid=True, tiles=None, parts=street_parts,
                         h3_resolution=h3_resolution, buffer_m=buffer_m)


def _write(folder: Path, units: AnalysisUnits) -> None:
    """Write ``units`` to ``folder`` atomically; a cache that cannot be written is
    skipped (the run does not depend on it)."""
    if units.parts is None:
        return
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=folder.parent))
        units.units.to_parquet(tmp / "cells.parquet")
        units.parts.to_parquet(tmp / "parts.parquet")
        try:
            os.replace(tmp, folder)
        except OSError:  # another run wrote it first
            shutil.rmtree(tmp, ignore_errors=True)
    except OSError:
        return


__all__ = ["UNITS_CACHE_FORMAT", "AnalysisUnits", "analysis_units", "cached_analysis_units",
           "network_key"]
