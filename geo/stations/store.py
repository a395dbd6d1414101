"""Versioned station lists and local accounts in one SQLite file: :class:`StationStore`.

Each city's station list is a sequence of immutable versions 1, 2, 3, … Every upload
(``import``) or rollback (a copy of an older version) adds a version; nothing is ever
updated or deleted (triggers refuse it). A version keeps the uploaded bytes verbatim,
their SHA-256, the validation report and the accepted station rows.

Concurrency and crash safety (measured on this machine, see
``shared/notes/security.md``): WAL journal, ``synchronous=FULL`` and every write inside
``BEGIN IMMEDIATE … COMMIT``; a whole version is one transaction, so readers never see a
partial version and a writer killed mid-save leaves the previous state intact.

A :class:`StationStore` holds only its path and options; every method opens its own
connection, so one object may be shared by threads and Streamlit sessions.

The store is put together from parts, one job each:

* :mod:`geo.stations.db` — the file: opening, schema, upgrades (``user_version``);
* :mod:`geo.stations.versions` — writing and reading versions;
* :mod:`geo.stations.users` — accounts, throttled sign-in, unlocking;
* :mod:`geo.stations.access` — who may read and write what;
* :mod:`geo.stations.records` — the values (:class:`NewVersion`, :class:`VersionInfo`);
* :mod:`geo.stations.exports` — :func:`layer_table`, :func:`export_version`, backups.

Permissions are enforced here, inside the transaction, from the ``users`` table: callers
pass the user *name*, never an :class:`~geo.stations.accounts.Account` object.

* Writing (``create_version``, ``rollback``: ``user=`` required): editors their own
  city, admins every city, reviewers never.
* Reading (``cities``, ``history``, ``current``, ``version_info``, ``stations``,
  ``stations_with_info``, ``raw``, ``report``, ``users``, ``get_user``, and
  :func:`layer_table` / :func:`export_version`) takes ``user=``:

  - :data:`OPERATOR` — the default, meaning the server operator (library and CLI on the
    machine that holds the file): everything;
  - a user name — a signed-in user of any role: everything;
  - ``None`` — not signed in (what the app must pass then): the current station list of
    each city (``extra``, the original columns, left empty) and version numbers, dates
    and counts (``created_by`` and ``source_name`` shown as ``"—"``, ``note`` empty).
    Older versions' rows, raw uploads, reports and accounts raise
    :class:`~geo.errors.ReadPermissionError`.

* Sign-in (:meth:`StationStore.authenticate`) is throttled per account name and per
  client id (:class:`ThrottleConfig`; lockouts in the database, so they hold across
  processes); :meth:`StationStore.unlock_user` lets an admin lift a lockout.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from geo.errors import InvalidParameterError
from geo.stations.access import ANONYMOUS_TEXT, OPERATOR, Operator, Reader
from geo.stations.db import APPLICATION_ID, SCHEMA_VERSION
from geo.stations.exports import (
    backup_database,
    export_version,
    integrity_report,
    layer_table,
)
from geo.stations.records import (
    DECLARED_CRS_VALUES,
    MAX_SOURCE_NAME_LENGTH,
    OPTIONAL_STATION_COLUMNS,
    REQUIRED_STATION_COLUMNS,
    STATION_COLUMNS,
    NewVersion,
    VersionInfo,
    utc_now_iso,
)
from geo.stations.throttle import ThrottleConfig
from geo.stations.users import UserStore
from geo.stations.versions import VersionStore

__all__ = [
    "ANONYMOUS_TEXT",
    "APPLICATION_ID",
    "DECLARED_CRS_VALUES",
    "MAX_SOURCE_NAME_LENGTH",
    "OPERATOR",
    "OPTIONAL_STATION_COLUMNS",
    "REQUIRED_STATION_COLUMNS",
    "SCHEMA_VERSION",
    "STATION_COLUMNS",
    "NewVersion",
    "Operator",
    "Reader",
    "StationStore",
    "ThrottleConfig",
    "VersionInfo",
    "export_version",
    "layer_table",
    "utc_now_iso",
]


class StationStore(VersionStore, UserStore):
    """Versioned station lists and local accounts in the SQLite file ``path``.

    ``create=True`` creates the file (and the schema) when missing; ``create=False``
    raises :class:`StoreError` instead. ``timeout_s`` is how long a write waits for
    another writer's transaction before giving up. A file that is not a Yizhan database
    raises :class:`StoreError`; one of an older schema is upgraded.

    ``throttle``: the sign-in throttling rule (default :class:`ThrottleConfig()`);
    ``clock``: the time in Unix seconds (default :func:`time.time`; tests pass a fake).
    Read permissions: see the module docstring (``user=`` of the reading methods,
    default :data:`OPERATOR`).
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout_s: float = 30.0,
                 create: bool = True, throttle: ThrottleConfig | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        if throttle is not None and not isinstance(throttle, ThrottleConfig):
            raise InvalidParameterError(
                f"throttle must be a ThrottleConfig, got {type(throttle).__name__}"
            )
        if not callable(clock):
            raise InvalidParameterError("clock must be a function returning Unix seconds")
        self.throttle = throttle if throttle is not None else ThrottleConfig()
        self.clock = clock
        super().__init__(path, timeout_s=timeout_s, create=create)

    # ---------------------------------------------------------------- maintenance

    def backup(self, dest: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write a consistent copy of the database to ``dest`` and return its path.

        Uses the SQLite backup API (copying only the ``.db`` file would lose data still
        in the ``-wal`` file). The copy is written to a temporary file next to ``dest``,
        checked and then renamed, so ``dest`` is never half-written. An existing
        ``dest`` is replaced only with ``overwrite=True``. (Operator only: the copy holds
        everything, so never offer it to app users.)
        """
        return backup_database(self, dest, overwrite=overwrite)

    def integrity_check(self) -> str:
        """``PRAGMA integrity_check`` plus foreign-key check: ``"ok"`` when healthy."""
        return integrity_report(self)
