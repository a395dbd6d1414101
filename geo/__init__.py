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

import os

# GDAL must never open OGR VRT files (they can read arbitrary local files); this has
# to be set before pyogrio / GDAL is first imported.
os.environ.setdefault("GDAL_SKIP", "OGR_VRT")

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
from geo.pipeline.job import CoverageJob, run_coverage, run_coverage_files, run_demo, write_outputs
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
