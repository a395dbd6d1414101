"""Reading a ``yizhan batch`` output folder back: the merged summary, one row per
partition with its figures, and the partition polygons (for the province view)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geo.errors import InputFileError
from geo.pipeline.region import list_region_folders

PARTITION_COLUMNS = ("name", "status", "covered_length_share", "covered_length_m",
                     "total_length_m", "covered_area_m2", "stations_used", "stations_input",
                     "wall_s", "worker", "reason")


@dataclass(frozen=True, eq=False)
class BatchView:
    """A batch output folder (read-only)."""

    folder: Path
    summary: dict[str, object]
    partitions: pd.DataFrame  # PARTITION_COLUMNS + folder, output, region_folder
    polygons: gpd.GeoDataFrame | None  # partitions.geojson (WGS-84) when written

    def output_of(self, name: str) -> Path:
        """The partition's own output folder."""
        row = self.partitions.loc[self.partitions["name"] == name].iloc[0]
        return self.folder / str(row["folder"])


def is_batch_folder(path: str | os.PathLike[str]) -> bool:
    p = Path(path)
    if not (p / "summary.json").is_file():
        return False
    try:
        return "partitions" in json.loads((p / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False


def list_batch_folders(root: str | os.PathLike[str]) -> list[Path]:
    """Batch output folders directly under ``root`` (and ``root`` itself if it is one)."""
    r = Path(root)
    if not r.is_dir():
        return []
    found = [r] if is_batch_folder(r) else []
    return found + [d for d in sorted(r.iterdir()) if d.is_dir() and is_batch_folder(d)]


def read_batch(folder: str | os.PathLike[str]) -> BatchView:
    """Read a batch output folder (``summary.json`` and ``partitions.geojson``)."""
    d = Path(folder)
    if not is_batch_folder(d):
        raise InputFileError(f"{d} is not a yizhan batch output folder (no summary.json with "
                             "partitions): run yizhan batch --out there first")
    summary = json.loads((d / "summary.json").read_text(encoding="utf-8"))
    rows = []
    for p in summary["partitions"]:
        st = p.get("stations") or {}
        rows.append({**{k: p.get(k) for k in PARTITION_COLUMNS if k in p},
                     "stations_used": st.get("used"), "stations_input": st.get("input"),
                     "folder": p.get("folder"), "region_folder": p.get("region_folder")})
    table = pd.DataFrame(rows, columns=[*PARTITION_COLUMNS, "folder", "region_folder"])
    poly_path = d / "partitions.geojson"
    polygons = gpd.read_file(poly_path, engine="pyogrio") if poly_path.is_file() else None
    return BatchView(folder=d, summary=summary, partitions=table, polygons=polygons)


def region_folder_of(view: BatchView, name: str, regions_root: Path) -> Path | None:
    """The partition's region folder if it is one of the region folders under
    ``regions_root`` (the ones the app may open), else ``None``."""
    row = view.partitions.loc[view.partitions["name"] == name]
    if row.empty or not row["region_folder"].iloc[0]:
        return None
    rel = Path(str(row["region_folder"].iloc[0]))
    cand = (rel if rel.is_absolute() else view.folder / rel).resolve()
    allowed = {p.resolve(): p for p in list_region_folders(regions_root)}
    return allowed.get(cand)
