"""Caps on uploaded files (:class:`UploadLimits`), checked *before* the work they bound."""

from __future__ import annotations

from dataclasses import dataclass

from geo.errors import InvalidParameterError

_MIB = 1024 * 1024


@dataclass(frozen=True)
class UploadLimits:
    """Caps checked before a file is parsed (defaults suit a province-wide list).

    * ``max_upload_bytes`` — the file as uploaded / on disk.
    * ``max_uncompressed_bytes``, ``max_zip_members``, ``max_compression_ratio`` — zip
      archives (a zipped Shapefile, an XLSX workbook), checked before anything is
      expanded.
    * ``max_features`` — rows / features; ``max_columns`` — columns / fields.
    """

    max_upload_bytes: int = 50 * _MIB
    max_uncompressed_bytes: int = 200 * _MIB
    max_zip_members: int = 64
    max_compression_ratio: float = 100.0
    max_features: int = 200_000
    max_columns: int = 500

    def __post_init__(self) -> None:
        for name in ("max_upload_bytes", "max_uncompressed_bytes", "max_zip_members",
                     "max_features", "max_columns"):
            if int(getattr(self, name)) <= 0:
                raise InvalidParameterError(f"UploadLimits.{name} must be > 0")
        if not self.max_compression_ratio > 1:
            raise InvalidParameterError("UploadLimits.max_compression_ratio must be > 1")
