"""Yizhan (驿站圈): 15-minute walking coverage of worker service stations.

The library behind the ``yizhan`` command and the planning app. It never imports
Streamlit. Typical use::

    from geo import CoverageParams, load_network, read_stations, run_coverage
    net = load_network("futian.osm.pbf", cache_dir="~/.cache/yizhan")
    job = run_coverage(net, read_stations("stations.csv"), params=CoverageParams())
    job.summary()["covered_length_m"]
"""

from __future__ import annotations

import os

# GDAL must never open OGR VRT files (they can read arbitrary local files); this has
# to be set before pyogrio / GDAL is first imported.
os.environ.setdefault("GDAL_SKIP", "OGR_VRT")

from .coverage import Coverage, compute_coverage
from .errors import (
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
from .job import CoverageJob, run_coverage, run_coverage_files, run_demo, write_outputs
from .layers import LayerTable, read_bases, read_stations, read_zones
from .loaders import download_network, load_network
from .network import WalkNetwork, load_prepared_network, prepare_network, save_network
from .params import (
    LIFE_CIRCLE_PRESETS,
    WALK_SPEED_PRESETS_KMH,
    CoverageParams,
)
from .service_areas import ServiceAreas, build_service_areas
from .towns import TownReport, hex_grid, read_towns, town_report, zone_report

__version__ = "0.1.0"

__all__ = [
    "LIFE_CIRCLE_PRESETS",
    "WALK_SPEED_PRESETS_KMH",
    "CRSError",
    "Coverage",
    "CoverageJob",
    "CoverageParams",
    "DownloadError",
    "EmptyNetworkError",
    "InputFileError",
    "InvalidParameterError",
    "LayerTable",
    "NoStationsOnNetworkError",
    "ServiceAreas",
    "StationDataError",
    "TownReport",
    "UnknownFormatError",
    "WalkNetwork",
    "YizhanError",
    "build_service_areas",
    "compute_coverage",
    "download_network",
    "hex_grid",
    "load_network",
    "load_prepared_network",
    "prepare_network",
    "read_bases",
    "read_stations",
    "read_towns",
    "read_zones",
    "run_coverage",
    "run_coverage_files",
    "run_demo",
    "save_network",
    "town_report",
    "write_outputs",
    "zone_report",
]
