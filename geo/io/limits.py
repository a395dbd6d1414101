"""Caps on untrusted input files, checked *before* the expensive step they bound.

One :class:`UploadLimits` applies to every file Yizhan reads from a user: station
uploads (CSV, XLSX, GeoJSON, GeoPackage, zipped Shapefile) and the towns / zones /
bases / station layers passed to the library or the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass

from geo.errors import InvalidParameterError

_MIB = 1024 * 1024


@dataclass(frozen=True)
class UploadLimits:
    """Caps checked before a file is parsed (defaults suit a province-wide list).

    * ``max_upload_bytes`` — the file as uploaded / on disk.
    * ``max_uncompressed_bytes``, ``max_zip_members``, ``max_compression_ratio`` — zip
      archives (a zipped Shapefile, an XLSX workbook), read from the central directory
      before anything is expanded.
    * ``max_features`` — rows / features; ``max_columns`` — columns / fields;
      ``max_cells`` — rows × columns of the parsed table (a 500-column header over
      200,000 one-cell rows is 100M cells once padded).
    * ``max_shared_strings`` / ``max_shared_strings_bytes`` — an XLSX's shared-string
      table, counted in the raw XML before openpyxl loads it whole.
    * ``max_json_values`` — arrays, objects and strings in a GeoJSON, counted by their
      opening ``[`` ``{`` ``"`` bytes (each becomes a Python and a GDAL object: 50 MB of
      ``[],`` is 16M of them).
    * ``max_inspect_seconds`` — time allowed for inspecting a GeoPackage's SQLite
      schema and counting its rows.
    """

    max_upload_bytes: int = 50 * _MIB
    max_uncompressed_bytes: int = 200 * _MIB
    max_zip_members: int = 64
    max_compression_ratio: float = 100.0
    max_features: int = 200_000
    max_columns: int = 500
    max_cells: int = 5_000_000
    max_shared_strings: int = 1_000_000
    max_shared_strings_bytes: int = 64 * _MIB
    max_json_values: int = 8_000_000
    max_inspect_seconds: float = 20.0

    def __post_init__(self) -> None:
        for name in ("max_upload_bytes", "max_uncompressed_bytes", "max_zip_members",
                     "max_features", "max_columns", "max_cells", "max_shared_strings",
                     "max_shared_strings_bytes", "max_json_values"):
            if int(getattr(self, name)) <= 0:
                raise InvalidParameterError(f"UploadLimits.{name} must be > 0")
        if not self.max_compression_ratio > 1:
            raise InvalidParameterError("UploadLimits.max_compression_ratio must be > 1")
        if not self.max_inspect_seconds > 0:
            raise InvalidParameterError("UploadLimits.max_inspect_seconds must be > 0")
