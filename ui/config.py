"""The app's settings, from the environment, in one place.

=========================  ==============================================================
``YIZHAN_DB``              station database (SQLite, made with ``yizhan users add``);
                           unset: uploads are used in the session only, nothing stored
``YIZHAN_REGIONS_DIR``     where region folders are listed from (default ``data/regions``)
``YIZHAN_DEFAULT_REGION``  the region a new session opens: ``demo`` (default) or a folder
                           name under the regions directory
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

DB_ENV: Final = "YIZHAN_DB"
REGIONS_DIR_ENV: Final = "YIZHAN_REGIONS_DIR"
DEFAULT_REGION_ENV: Final = "YIZHAN_DEFAULT_REGION"
DEFAULT_REGIONS_DIR: Final = Path(__file__).resolve().parents[1] / "data" / "regions"


@dataclass(frozen=True)
class AppSettings:
    """What the environment configures (see the module docstring)."""

    db_path: Path | None
    regions_dir: Path
    default_region: str  # "demo" or a region folder name

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
    )
