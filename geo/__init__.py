"""Yizhan (驿站圈): 15-minute walking coverage of worker service stations.

The library behind the ``yizhan`` command and the planning app. It never imports
Streamlit. Typical use::

    from geo import CoverageParams, load_network, read_stations, run_coverage
    net = load_network("futian.osm.pbf", cache_dir="~/.cache/yizhan")
    job = run_coverage(net, read_stations("stations.csv"), params=CoverageParams())
    job.summary()["covered_length_m"]

Station lists from city unions (any encoding / format, GCJ-02 or BD-09)::

    from geo import StationStore, read_upload_file, validate_stations
    v = validate_stations(read_upload_file("深圳.xlsx"), crs="gcj02", city="深圳市")
    v.write("check/")                     # accepted.csv, rejected.csv, report.json …
    StationStore("stations.db").create_version(v.to_new_version(city="深圳市"),
                                               user="sz_editor")
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

# GDAL must never open OGR VRT files (they can read arbitrary local files); this has
# to be set before pyogrio / GDAL is first imported.
os.environ.setdefault("GDAL_SKIP", "OGR_VRT")

if TYPE_CHECKING:  # the names below are imported on first use (a CLI run needs few)
    from geo.coverage.core import Coverage, compute_coverage
    from geo.coverage.service_areas import ServiceAreas, build_service_areas
    from geo.coverage.towns import TownReport, hex_grid, read_towns, town_report, zone_report
    from geo.errors import (
        CRSError,
        DownloadError,
        EmptyNetworkError,
        InputFileError,
        InvalidParameterError,
        NoStationsOnNetworkError,
        StationDataError,
        UnknownFormatError,
        YizhanError,
    )
    from geo.io.layers import LayerTable, read_bases, read_stations, read_zones
    from geo.io.upload import RawUpload, UploadLimits, read_upload, read_upload_file
    from geo.network.loaders import download_network, load_network
    from geo.network.model import WalkNetwork, load_prepared_network, prepare_network, save_network
    from geo.params import (
        LIFE_CIRCLE_PRESETS,
        WALK_SPEED_PRESETS_KMH,
        CoverageParams,
    )
    from geo.pipeline.job import (
        CoverageJob,
        run_coverage,
        run_coverage_files,
        run_demo,
        write_outputs,
    )
    from geo.stations.columns import ColumnMapping, guess_mapping
    from geo.stations.coords import from_wgs84, to_wgs84
    from geo.stations.store import NewVersion, StationStore, VersionInfo
    from geo.stations.validation import (
        GUANGDONG,
        RegionBounds,
        StationDiff,
        StationValidation,
        diff_stations,
        validate_stations,
    )

#: public name → the module defining it; imported on first access (PEP 562), so that
#: ``import geo`` (and every ``yizhan`` command) does not load the whole library
_EXPORTS: dict[str, str] = {
    "CRSError": "geo.errors",
    "ColumnMapping": "geo.stations.columns",
    "Coverage": "geo.coverage.core",
    "CoverageJob": "geo.pipeline.job",
    "CoverageParams": "geo.params",
    "DownloadError": "geo.errors",
    "EmptyNetworkError": "geo.errors",
    "GUANGDONG": "geo.stations.validation",
    "InputFileError": "geo.errors",
    "InvalidParameterError": "geo.errors",
    "LIFE_CIRCLE_PRESETS": "geo.params",
    "LayerTable": "geo.io.layers",
    "NewVersion": "geo.stations.store",
    "NoStationsOnNetworkError": "geo.errors",
    "RawUpload": "geo.io.upload",
    "RegionBounds": "geo.stations.validation",
    "ServiceAreas": "geo.coverage.service_areas",
    "StationDataError": "geo.errors",
    "StationDiff": "geo.stations.validation",
    "StationStore": "geo.stations.store",
    "StationValidation": "geo.stations.validation",
    "TownReport": "geo.coverage.towns",
    "UnknownFormatError": "geo.errors",
    "UploadLimits": "geo.io.upload",
    "VersionInfo": "geo.stations.store",
    "WALK_SPEED_PRESETS_KMH": "geo.params",
    "WalkNetwork": "geo.network.model",
    "YizhanError": "geo.errors",
    "build_service_areas": "geo.coverage.service_areas",
    "compute_coverage": "geo.coverage.core",
    "diff_stations": "geo.stations.validation",
    "download_network": "geo.network.loaders",
    "from_wgs84": "geo.stations.coords",
    "guess_mapping": "geo.stations.columns",
    "hex_grid": "geo.coverage.towns",
    "load_network": "geo.network.loaders",
    "load_prepared_network": "geo.network.model",
    "prepare_network": "geo.network.model",
    "read_bases": "geo.io.layers",
    "read_stations": "geo.io.layers",
    "read_towns": "geo.coverage.towns",
    "read_upload": "geo.io.upload",
    "read_upload_file": "geo.io.upload",
    "read_zones": "geo.io.layers",
    "run_coverage": "geo.pipeline.job",
    "run_coverage_files": "geo.pipeline.job",
    "run_demo": "geo.pipeline.job",
    "save_network": "geo.network.model",
    "to_wgs84": "geo.stations.coords",
    "town_report": "geo.coverage.towns",
    "validate_stations": "geo.stations.validation",
    "write_outputs": "geo.pipeline.job",
    "zone_report": "geo.coverage.towns",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'geo' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


__version__ = "0.1.0"

__all__ = [
    "GUANGDONG",
    "LIFE_CIRCLE_PRESETS",
    "WALK_SPEED_PRESETS_KMH",
    "CRSError",
    "ColumnMapping",
    "Coverage",
    "CoverageJob",
    "CoverageParams",
    "DownloadError",
    "EmptyNetworkError",
    "InputFileError",
    "InvalidParameterError",
    "LayerTable",
    "NewVersion",
    "NoStationsOnNetworkError",
    "RawUpload",
    "RegionBounds",
    "ServiceAreas",
    "StationDataError",
    "StationDiff",
    "StationStore",
    "StationValidation",
    "TownReport",
    "UnknownFormatError",
    "UploadLimits",
    "VersionInfo",
    "WalkNetwork",
    "YizhanError",
    "build_service_areas",
    "compute_coverage",
    "diff_stations",
    "download_network",
    "from_wgs84",
    "guess_mapping",
    "hex_grid",
    "load_network",
    "load_prepared_network",
    "prepare_network",
    "read_bases",
    "read_stations",
    "read_towns",
    "read_upload",
    "read_upload_file",
    "read_zones",
    "run_coverage",
    "run_coverage_files",
    "run_demo",
    "save_network",
    "to_wgs84",
    "town_report",
    "validate_stations",
    "write_outputs",
    "zone_report",
]
