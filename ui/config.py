"""The app's settings, from the environment, in one place.

=========================  ==============================================================
``YIZHAN_DB``              station database (SQLite, made with ``yizhan users add``);
                           unset: uploads are used in the session only, nothing stored
``YIZHAN_REGIONS_DIR``     where region folders are listed from (default ``data/regions``)
``YIZHAN_DEFAULT_REGION``  the region a new session opens: ``demo`` (default) or a folder
                           name under the regions directory
``YIZHAN_BATCH_DIR``       where ``yizhan batch`` output folders are listed from for the
                           province view (default ``data/batch``)
=========================  ==============================================================

:func:`settings` reads them on every call (a frozen value, no module-level state), so
tests and a server restart see the current environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from geo.io.upload import UploadLimits

DB_ENV: Final = "YIZHAN_DB"
REGIONS_DIR_ENV: Final = "YIZHAN_REGIONS_DIR"
DEFAULT_REGION_ENV: Final = "YIZHAN_DEFAULT_REGION"
BATCH_DIR_ENV: Final = "YIZHAN_BATCH_DIR"
DEFAULT_BATCH_DIR: Final = Path(__file__).resolve().parents[1] / "data" / "batch"
DEFAULT_REGIONS_DIR: Final = Path(__file__).resolve().parents[1] / "data" / "regions"

#: Upload caps shown and enforced by the file uploaders, in MB. Station lists and
#: layers: the library's cap (:class:`geo.io.upload.UploadLimits`); an OSM network file
#: for one city (a province belongs in a prepared region folder on the server). The
#: server-wide ``maxUploadSize`` in ``.streamlit/config.toml`` equals the largest.
TABLE_UPLOAD_MB: Final = UploadLimits().max_upload_bytes // (1024 * 1024)
NETWORK_UPLOAD_MB: Final = 200

#: Untrusted work — parsing an uploaded station file, loading an uploaded or downloaded
#: network, a coverage job on such a network — runs in a worker process
#: (:mod:`geo.pipeline.isolate`) with these limits, so a crash, hang or memory blow-up
#: ends that job with a message and never the server that every user shares.
PARSE_TIMEOUT_S: Final = 120.0
PARSE_MEMORY_MB: Final = 2048
WORKER_TIMEOUT_S: Final = 900.0
WORKER_MEMORY_MB: Final = 6144


@dataclass(frozen=True)
class AppSettings:
    """What the environment configures (see the module docstring)."""

    db_path: Path | None
    regions_dir: Path
    default_region: str  # "demo" or a region folder name
    batch_dir: Path = DEFAULT_BATCH_DIR  # yizhan batch output folders (province view)

    @property
    def default_region_folder(self) -> Path | None:
        """The default region's folder, or ``None`` for the demo (or a missing folder)."""
        if self.default_region == "demo":
            return None
        path = self.regions_dir / self.default_region
        return path if path.is_dir() else None


def settings(environ: Mapping[str, str] | None = None) -> AppSettings:
    """The current :class:`AppSettings` (from ``environ``, default ``os.environ``)."""
    env = os.environ if environ is None else environ
    db = env.get(DB_ENV, "").strip()
    return AppSettings(
        db_path=Path(db).expanduser() if db else None,
        regions_dir=Path(env.get(REGIONS_DIR_ENV) or DEFAULT_REGIONS_DIR),
        default_region=env.get(DEFAULT_REGION_ENV, "demo").strip() or "demo",
        batch_dir=Path(env.get(BATCH_DIR_ENV) or DEFAULT_BATCH_DIR),
    )
