"""THE one guard between files from users and GDAL.

GDAL chooses a driver by content, not by name, and several drivers reach further than
the file: an OGR VRT reads other local files, a ``<OGRWFSDataSource>`` or a GeoJSON
``"crs": {"type": "link"}`` makes GDAL send HTTP requests, a GDALG pipeline runs other
reads, a GeoPackage is an SQLite database whose views run arbitrary queries. Every
user file (station uploads and towns / zones / bases layers alike) reaches GDAL only
through :func:`read_vector`, which

1. **checks the content first, without GDAL** (:func:`check_content`): no VRT anywhere
   (:func:`reject_vrt`); a GeoJSON must be a plain FeatureCollection with only named
   CRSs (:mod:`geo.io.geojson`); a GeoPackage is inspected with :mod:`sqlite3` (no
   views, real tables, bounded counts, a deadline: :mod:`geo.io.gpkg`); Shapefile
   parts must have their magic numbers and consistent headers (:mod:`geo.io.shapefile`);
2. **opens it with the expected driver only**: ``GeoJSON:`` / ``GPKG:`` prefixed paths
   make GDAL hand the file to that driver and no other (a Shapefile, which has no
   prefix, is a lone ``layer.shp`` with a verified header in our own directory), and
   refuses the result unless :func:`pyogrio.read_info` reports that driver;
3. **keeps GDAL off the network** while it reads (:func:`untrusted_gdal`): a
   thread-local HTTP callback answers every ``CPLHTTPFetch`` with an error (and the
   attempt makes the file rejected), and thread-local config options forbid
   ``/vsicurl/`` and directory listings (:data:`UNTRUSTED_CONFIG`);
4. checks feature, field and cell counts against :class:`UploadLimits` before the
   features are read.

``GDAL_SKIP=OGR_VRT`` is also set in the environment before GDAL loads (it only takes
effect when set before the first ``import pyogrio``).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

os.environ.setdefault("GDAL_SKIP", "OGR_VRT")

from geo.errors import InputFileError, UploadLimitError
from geo.io.geojson import check_geojson
from geo.io.gpkg import check_gpkg
from geo.io.limits import UploadLimits
from geo.io.shapefile import check_shapefile_parts

ALLOWED_DRIVERS: Final = frozenset({"GeoJSON", "GPKG", "ESRI Shapefile"})
#: format → (GDAL driver, path prefix that selects it, dataset open options)
FORMAT_DRIVERS: Final[dict[str, tuple[str, str, dict[str, str]]]] = {
    "geojson": ("GeoJSON", "GeoJSON:", {}),
    "gpkg": ("GPKG", "GPKG:", {"LIST_ALL_TABLES": "NO"}),
    "shapefile": ("ESRI Shapefile", "", {}),
}
#: GDAL config options set (thread-locally) for every read of a user file.
UNTRUSTED_CONFIG: Final = {
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".yizhan-network-disabled",
    "CPL_VSIL_CURL_ALLOWED_FILENAME": "/yizhan-network-disabled",
    "CPL_CURL_ENABLE_VSIMEM": "NO",
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "GDAL_HTTP_MAX_RETRY": "0",
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_CONNECTTIMEOUT": "1",
    "OGR_GEOJSON_MAX_OBJ_SIZE": "64",
}
_BINARY: Final = "OFTBinary"

# GDAL's VRT drivers identify a file by these opening tags (case-insensitive here)
_VRT_MARKERS: Final = (b"<ogrvrtdatasource", b"<ogrvrtlayer", b"<ogrvrtunionlayer",
                       b"<ogrvrtwarpedlayer", b"<vrtdataset")


def reject_vrt(data: bytes, name: str) -> None:
    """Raise :class:`InputFileError` when ``data`` (a file's head) is an OGR VRT."""
    head = data[: 1 << 16].lower()
    if any(m in head for m in _VRT_MARKERS):
        raise InputFileError(
            f"{name} is an OGR VRT (an XML pointer to other files), which is not accepted: "
            "upload the station data itself (CSV, XLSX, GeoJSON, GeoPackage or zipped Shapefile)"
        )


# ------------------------------------------------------------------ GDAL without network


class _HTTPResult(ctypes.Structure):
    """GDAL's ``CPLHTTPResult`` (cpl_http.h)."""

    _fields_ = [("nStatus", ctypes.c_int), ("pszContentType", ctypes.c_void_p),
                ("pszErrBuf", ctypes.c_void_p), ("nDataLen", ctypes.c_int),
                ("nDataAlloc", ctypes.c_int), ("pabyData", ctypes.c_void_p),
                ("papszHeaders", ctypes.c_void_p), ("nMimePartCount", ctypes.c_int),
                ("pasMimePart", ctypes.c_void_p)]


_FETCH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p,
                                   ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                   ctypes.c_void_p, ctypes.c_void_p)
_tls = threading.local()
_REFUSAL: Final = b"network access is disabled while Yizhan reads a user file"


class _GdalLib:
    """The libgdal pyogrio runs on, through ctypes (thread-local config, HTTP callback)."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        self.lib = lib
        lib.CPLSetThreadLocalConfigOption.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        lib.CPLSetThreadLocalConfigOption.restype = None
        lib.CPLGetThreadLocalConfigOption.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        lib.CPLGetThreadLocalConfigOption.restype = ctypes.c_char_p
        lib.CPLHTTPPushFetchCallback.argtypes = [_FETCH_CALLBACK, ctypes.c_void_p]
        lib.CPLHTTPPushFetchCallback.restype = ctypes.c_int
        lib.CPLHTTPPopFetchCallback.argtypes = []
        lib.CPLHTTPPopFetchCallback.restype = ctypes.c_int
        lib.CPLCalloc.argtypes = [ctypes.c_size_t, ctypes.c_size_t]
        lib.CPLCalloc.restype = ctypes.c_void_p
        lib.CPLStrdup.argtypes = [ctypes.c_char_p]
        lib.CPLStrdup.restype = ctypes.c_void_p
        self.callback = _FETCH_CALLBACK(self._refuse)  # referenced: must outlive GDAL's use

    def _refuse(self, url: bytes | None, *_args: object) -> int | None:
        attempts = getattr(_tls, "attempts", None)
        if attempts is not None:
            attempts.append((url or b"").decode("utf-8", "replace")[:200])
        ptr = self.lib.CPLCalloc(1, ctypes.sizeof(_HTTPResult))
        res = _HTTPResult.from_address(ptr)
        res.nStatus = 1
        res.pszErrBuf = self.lib.CPLStrdup(_REFUSAL)
        return int(ptr)

    def get(self, key: str) -> bytes | None:
        value: bytes | None = self.lib.CPLGetThreadLocalConfigOption(key.encode(), None)
        return value

    def set(self, key: str, value: bytes | None) -> None:
        self.lib.CPLSetThreadLocalConfigOption(key.encode(), value)


_lib_lock = threading.Lock()
_lib_state: dict[str, _GdalLib | None] = {}


def _loaded_libgdal() -> list[str]:
    """Paths of the libgdal mapped into this process (Linux), else pyogrio's wheel copy."""
    import pyogrio

    paths: list[str] = []
    with contextlib.suppress(OSError), open("/proc/self/maps", encoding="utf-8",
                                            errors="replace") as fh:
        for line in fh:
            part = line.rsplit(None, 1)[-1]
            if "libgdal" in os.path.basename(part) and part not in paths:
                paths.append(part)
    libs = Path(pyogrio.__file__).resolve().parent.parent / "pyogrio.libs"
    paths += [str(p) for p in sorted(libs.glob("libgdal*"))] if libs.is_dir() else []
    return paths


def _bind() -> _GdalLib | None:
    import pyogrio

    probe = "YIZHAN_GDAL_PROBE"
    for path in _loaded_libgdal():
        try:
            mode = getattr(os, "RTLD_NOLOAD", 0) | getattr(os, "RTLD_NOW", 0)
            glib = _GdalLib(ctypes.CDLL(path, mode=mode))
        except (OSError, AttributeError):
            continue
        glib.set(probe, b"1")  # the same GDAL as pyogrio's? (a thread-local option shows)
        same = pyogrio.get_gdal_config_option(probe) in ("1", 1, True)
        glib.set(probe, None)
        if same:
            return glib
    return None


def _gdal_lib() -> _GdalLib | None:
    with _lib_lock:
        if "lib" not in _lib_state:
            _lib_state["lib"] = _bind()
            if _lib_state["lib"] is None:  # pragma: no cover - pyogrio wheels bundle libgdal
                import pyogrio

                pyogrio.set_gdal_config_options(dict(UNTRUSTED_CONFIG))
        return _lib_state["lib"]


def network_guard_active() -> bool:
    """Whether GDAL's HTTP requests are intercepted (the libgdal could be bound)."""
    return _gdal_lib() is not None


@contextlib.contextmanager
def untrusted_gdal() -> Iterator[list[str]]:
    """GDAL without network for the current thread; yields the URLs GDAL tried."""
    attempts: list[str] = []
    glib = _gdal_lib()
    if glib is None:  # pragma: no cover - see _gdal_lib
        yield attempts
        return
    outer = getattr(_tls, "attempts", None)
    saved = {key: glib.get(key) for key in UNTRUSTED_CONFIG}
    for key, value in UNTRUSTED_CONFIG.items():
        glib.set(key, value.encode())
    _tls.attempts = attempts
    glib.lib.CPLHTTPPushFetchCallback(glib.callback, None)
    try:
        yield attempts
    finally:
        glib.lib.CPLHTTPPopFetchCallback()
        _tls.attempts = outer
        for key, old in saved.items():
            glib.set(key, old)


def _refuse_network(attempts: list[str], name: str) -> None:
    if attempts:
        raise InputFileError(
            f"{name} made GDAL try to reach the network ({attempts[0]}), which is not "
            "allowed: upload a file that holds its data itself")


# ------------------------------------------------------------------ content, then GDAL


def check_content(path: Path, fmt: str, name: str, limits: UploadLimits) -> None:
    """Everything checked about a file *before* GDAL may open it (no GDAL call here)."""
    if fmt == "geojson":
        data = path.read_bytes()
        reject_vrt(data, name)
        check_geojson(data, name, limits)
    elif fmt == "gpkg":
        check_gpkg(path, name, limits)
    elif fmt == "shapefile":
        files = {ext: p.read_bytes() for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg")
                 if (p := path.with_suffix(ext)).is_file()}
        for ext in (".shp", ".prj", ".cpg"):
            if ext in files:
                reject_vrt(files[ext][:4096], f"{name} ({ext})")
        check_shapefile_parts(files, name, limits)
        extra = sorted(p.name for p in path.parent.iterdir() if p.suffix.lower() not in files)
        if extra:
            raise InputFileError(f"{name}: unexpected files next to the Shapefile: {extra}")
    else:
        raise InputFileError(f"{name}: format {fmt!r} is not read through GDAL")


def _check_driver(info: dict[str, Any], name: str, expected: str | None = None) -> None:
    driver = info.get("driver")
    if driver not in ALLOWED_DRIVERS or (expected is not None and driver != expected):
        raise InputFileError(
            f"{name} is read by GDAL driver {driver!r}, which is not allowed; use GeoJSON, "
            "GeoPackage or a zipped Shapefile")


def read_allowed_info(source: str | os.PathLike[str], *, name: str,
                      encoding: str | None = None, **open_options: str) -> dict[str, Any]:
    """``pyogrio.read_info`` of ``source`` without network access, refused unless GDAL
    reads it with one of :data:`ALLOWED_DRIVERS` (checked before any feature is read).

    Prefer :func:`read_vector`, which also checks the content before GDAL opens it."""
    import pyogrio

    with untrusted_gdal() as attempts:
        try:
            info = dict(pyogrio.read_info(source, encoding=encoding, **open_options))
        except Exception as exc:
            _refuse_network(attempts, name)
            raise InputFileError(f"cannot read {name}: {exc}") from None
    _refuse_network(attempts, name)
    _check_driver(info, name)
    return info


@dataclass
class VectorRead:
    """What :func:`read_vector` read: ``frame`` is a GeoDataFrame (a DataFrame when the
    layer has no geometry column)."""

    frame: Any
    info: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def _columns(info: dict[str, Any], name: str, limits: UploadLimits) -> tuple[list[str], list[str]]:
    """Fields to read (binary ones skipped) and notes; caps on counts."""
    fields = [str(f) for f in info.get("fields", ())]
    types = [str(t) for t in info.get("ogr_types", ())] or [""] * len(fields)
    n = int(info.get("features") or 0)
    if n > limits.max_features:
        raise UploadLimitError(f"{name} has {n:,} features (limit {limits.max_features:,})")
    if len(fields) > limits.max_columns:
        raise UploadLimitError(f"{name} has {len(fields)} fields (limit {limits.max_columns})")
    if n * max(len(fields), 1) > limits.max_cells:
        raise UploadLimitError(f"{name} has {n:,} features × {len(fields)} fields (limit "
                               f"{limits.max_cells:,} cells)")
    binary = [f for f, t in zip(fields, types, strict=False) if t == _BINARY]
    notes = [f"binary field(s) {', '.join(binary)} not read"] if binary else []
    return [f for f in fields if f not in binary], notes


def read_vector(path: Path, fmt: str, *, name: str, limits: UploadLimits,
                encoding: str | None = None) -> VectorRead:
    """Read the layer at ``path`` (our own copy, format ``geojson`` / ``gpkg`` /
    ``shapefile``) the only way a user file is given to GDAL (see the module docstring)."""
    import pyogrio

    check_content(path, fmt, name, limits)
    driver, prefix, options = FORMAT_DRIVERS[fmt]
    uri = prefix + str(path)
    with untrusted_gdal() as attempts:
        try:
            info = dict(pyogrio.read_info(uri, encoding=encoding, **options))
            _check_driver(info, name, driver)
            columns, notes = _columns(info, name, limits)
            frame = pyogrio.read_dataframe(uri, encoding=encoding, columns=columns, **options)
        except (InputFileError, UploadLimitError):
            _refuse_network(attempts, name)
            raise
        except Exception as exc:
            _refuse_network(attempts, name)
            raise InputFileError(f"cannot read {name}: {exc}") from None
    _refuse_network(attempts, name)
    return VectorRead(frame=frame, info=info, notes=notes)
