"""Named errors raised by the Yizhan library.

Every error is a :class:`YizhanError`; the message says what went wrong *and what to
do*. The CLI prints the message on one line and exits with :attr:`YizhanError.exit_code`.
"""

from __future__ import annotations


class YizhanError(Exception):
    """Base class of every error Yizhan raises on purpose."""

    exit_code: int = 1


class InputFileError(YizhanError):
    """An input file is missing, unreadable or of an unknown format."""

    exit_code = 2


class UnknownFormatError(InputFileError):
    """The file extension / content is not a format Yizhan reads."""


class UploadLimitError(InputFileError):
    """An upload exceeds a size / member / ratio / feature cap (checked before parsing)."""


class CRSError(YizhanError):
    """A layer has no CRS, or its CRS does not match the one required."""

    exit_code = 3


class InvalidParameterError(YizhanError, ValueError):
    """A parameter is outside its valid range or of the wrong kind."""

    exit_code = 4


class EmptyNetworkError(YizhanError):
    """No walkable street is left (after filtering, clipping or loading)."""

    exit_code = 5


class StationDataError(YizhanError):
    """The station (or base / zone / town) table cannot be used as given."""

    exit_code = 6


class NoStationsOnNetworkError(YizhanError):
    """No station lies within ``max_snap_m`` of the walk network."""

    exit_code = 7


class DownloadError(YizhanError):
    """Downloading from OpenStreetMap (Overpass / Nominatim) failed."""

    exit_code = 8


class StoreError(YizhanError):
    """The station store (SQLite database) cannot be opened, read or written as asked."""

    exit_code = 9


class UnknownVersionError(StoreError):
    """The asked-for city has no station list version with that number."""


class UserExistsError(StoreError):
    """An account with that user name already exists."""


class PermissionDeniedError(YizhanError):
    """The user may not make this change (role / city do not allow it)."""

    exit_code = 10


class UnknownUserError(PermissionDeniedError):
    """No account with that user name exists."""


class AuthenticationError(YizhanError):
    """User name or password is wrong (one generic message: no user enumeration)."""

    exit_code = 10


class WeakPasswordError(InvalidParameterError):
    """A new password is too short, too common or too close to the user name."""
