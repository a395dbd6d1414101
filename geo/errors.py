"""Named errors raised by the Yizhan library.

Every error is a :class:`YizhanError`; the message says what went wrong *and what to
do*. The CLI prints the message on one line and exits with :attr:`YizhanError.exit_code`
(the table :data:`EXIT_CODES` is the one source of the CLI's exit-code help). Each error
also subclasses the matching built-in (``ValueError``, ``OSError``, ``PermissionError``,
…) so ordinary ``except ValueError`` callers keep working.
"""

from __future__ import annotations

import textwrap
from typing import Final


class YizhanError(Exception):
    """Base class of every error Yizhan raises on purpose.

    ``YizhanError(message, zh=…)``: the message in English (what the CLI prints) and,
    where the error reaches the app's users, in Chinese too; :meth:`message` picks the
    language (English when no Chinese text was given).
    """

    exit_code: int = 1

    def __init__(self, *args: object, zh: str | None = None) -> None:
        super().__init__(*args)
        self.message_zh = zh

    def message(self, lang: str = "en") -> str:
        """The message in ``lang`` ("zh" or "en")."""
        if lang == "zh" and self.message_zh:
            return self.message_zh
        return str(self)


class InputFileError(YizhanError, OSError):
    """An input file is missing, unreadable or of an unknown format."""

    exit_code = 2


class UnknownFormatError(InputFileError):
    """The file extension / content is not a format Yizhan reads."""


class UploadLimitError(InputFileError):
    """An upload exceeds a size / member / ratio / feature cap (checked before parsing)."""


class CRSError(YizhanError, ValueError):
    """A layer has no CRS, or its CRS does not match the one required."""

    exit_code = 3


class InvalidParameterError(YizhanError, ValueError):
    """A parameter is outside its valid range or of the wrong kind."""

    exit_code = 4


class EmptyNetworkError(YizhanError, ValueError):
    """No walkable street is left (after filtering, clipping or loading)."""

    exit_code = 5


class StationDataError(YizhanError, ValueError):
    """The station (or base / zone / town) table cannot be used as given."""

    exit_code = 6


class NoStationsOnNetworkError(YizhanError, ValueError):
    """No station lies within ``max_snap_m`` of the walk network."""

    exit_code = 7


class DownloadError(YizhanError, ConnectionError):
    """Downloading from OpenStreetMap (Overpass / Nominatim) failed."""

    exit_code = 8


class StoreError(YizhanError, RuntimeError):
    """The station store (SQLite database) cannot be opened, read or written as asked."""

    exit_code = 9


class UnknownVersionError(StoreError, LookupError):
    """The asked-for city has no station list version with that number."""


class UserExistsError(StoreError):
    """An account with that user name already exists."""


class NoChangeError(StoreError):
    """The upload is identical to the city's current version, so no version was made.

    ``city`` and ``version`` name that current version. Callers that import report it
    as an outcome ("unchanged: identical to v3, no new version"), not as a failure.
    """

    def __init__(self, message: str, *, city: str, version: int,
                 zh: str | None = None) -> None:
        super().__init__(message, zh=zh)
        self.city: str = city
        self.version: int = int(version)


class PermissionDeniedError(YizhanError, PermissionError):
    """The user may not make this change (role / city do not allow it)."""

    exit_code = 10


class UnknownUserError(PermissionDeniedError):
    """No account with that user name exists."""


class AuthenticationError(YizhanError, PermissionError):
    """User name or password is wrong (one generic message: no user enumeration)."""

    exit_code = 10


class WeakPasswordError(InvalidParameterError):
    """A new password is too short, too common or too close to the user name."""


class ReadPermissionError(PermissionDeniedError):
    """The reader may not see this (e.g. raw uploads or user names without signing in)."""


class SignInLockedError(AuthenticationError):
    """Too many failed sign-ins for this account or client: refused until ``retry_at``.

    ``retry_at`` is a Unix time (seconds), ``retry_after_s`` the seconds left when the
    error was raised; the message says when to try again.
    """

    def __init__(self, message: str, *, retry_at: float, retry_after_s: float,
                 zh: str | None = None) -> None:
        super().__init__(message, zh=zh)
        self.retry_at: float = float(retry_at)
        self.retry_after_s: float = float(retry_after_s)


class BatchIncompleteError(YizhanError, RuntimeError):
    """A batch run finished but some partitions failed (their reasons are in
    ``summary.json`` ``partitions``); the others' outputs and the merge were written."""

    exit_code = 11


#: Exit code → what it means, for the CLI's help (the codes are the classes' ``exit_code``).
EXIT_CODES: Final[dict[int, str]] = {
    0: "ok",
    1: "other named error",
    2: "input file / usage",
    CRSError.exit_code: "CRS",
    InvalidParameterError.exit_code: "parameter",
    EmptyNetworkError.exit_code: "empty network",
    StationDataError.exit_code: "table",
    NoStationsOnNetworkError.exit_code: "no station on the network",
    DownloadError.exit_code: "download",
    StoreError.exit_code: "station database",
    PermissionDeniedError.exit_code: "permission / password",
    BatchIncompleteError.exit_code: "batch: a partition failed",
}


def exit_code_help() -> str:
    """``Exit codes: 0 ok, 2 input file / usage, …`` — one line per ~88 characters."""
    items = ", ".join(f"{code} {what}" for code, what in sorted(EXIT_CODES.items()))
    return textwrap.fill(f"Exit codes: {items}.", width=88)


# ------------------------------------------------------------------ network data, workers


class NetworkDataError(InputFileError):
    """A street network holds data that cannot be used (non-finite coordinates, a broken
    geometry, an id outside the 64-bit range…); the message names the node or edge."""


class NetworkLimitError(NetworkDataError):
    """A network file exceeds a parsing cap (e.g. one attribute value over the size limit)."""


class WorkerError(YizhanError, RuntimeError):
    """A job run in a separate worker process (:mod:`geo.pipeline.isolate`) gave no result."""

    exit_code = 11


class WorkerCrashedError(WorkerError):
    """The worker process died without a result (a signal such as SIGSEGV, or an exit).

    ``signal`` is the signal number that killed it (``None`` if it exited), ``returncode``
    the process return code.
    """

    def __init__(self, message: str, *, signal: int | None = None,
                 returncode: int | None = None, zh: str | None = None) -> None:
        super().__init__(message, zh=zh)
        self.signal: int | None = signal
        self.returncode: int | None = returncode


class WorkerTimeoutError(WorkerError, TimeoutError):
    """The worker process did not finish within its time limit and was stopped."""


class WorkerMemoryError(WorkerError, MemoryError):
    """The worker process ran out of the memory it was allowed and was stopped."""


EXIT_CODES[WorkerError.exit_code] = "worker process (crash, time or memory limit)"


# ------------------------------------------------------------------ population, boundaries


class PopulationRasterError(InputFileError):
    """A population raster cannot be used: not a GeoTIFF, no CRS, rotated, outside the
    region, or the needed window is over the cell cap (the message says which)."""


class BoundaryDataError(InputFileError):
    """Administrative boundaries cannot be read from an OpenStreetMap file (none at the
    chosen level, or the file is unreadable); broken relations are reported, not raised."""


class TownTableError(StationDataError):
    """A town population table cannot be joined: no name/code/population column."""
