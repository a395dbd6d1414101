"""A GeoJSON's structure checked by the standard-library parser before GDAL sees it.

:func:`check_geojson` accepts strict JSON in UTF-8 whose top level is a
``FeatureCollection`` or a ``Feature``, with at most ``max_features`` features and
``max_json_values`` arrays, objects and strings. Every ``crs`` member anywhere (GDAL reads them
on the collection and on geometries, keys compared case-insensitively) must be a
legacy named CRS (``urn:ogc:def:crs:…``, ``EPSG:…``) or an ``EPSG`` code: a ``link``
CRS makes GDAL fetch its URL, a URL or a path as a name may be fetched or read.
Anything else GDAL would detect (a WFS / VRT / GDALG pointer, ESRI JSON, TopoJSON,
GeoJSON sequences) is not a FeatureCollection and is refused here.

The parse keeps almost nothing: numbers become one shared ``0``, and every object is
reduced to a tiny shared summary, so 50 MB of objects costs pointers, not dicts.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final, NamedTuple

from geo.errors import InputFileError, UploadLimitError
from geo.io.limits import UploadLimits

_TOP_TYPES: Final = frozenset({"featurecollection", "feature"})
_KEPT_TYPES: Final = _TOP_TYPES | {"name", "epsg", "link"}
_CRS_NAME_RE: Final = re.compile(
    r"^(?:urn:ogc:def:crs:[A-Za-z0-9]+:[A-Za-z0-9.]*:[A-Za-z0-9.\-]{1,40}"
    r"|EPSG:{1,2}\d{1,6}|(?:OGC:)?CRS84)$", re.IGNORECASE)
_INTERN_MAX: Final = 4096


class _Obj(NamedTuple):
    """What the check needs of a JSON object (everything else is dropped)."""

    type: str | None  # lower-case, only the values that matter; "?" for others
    features: int | None  # len of a "features" array (-1: not an array)
    name_ok: bool | None  # "name" is a CRS identifier
    code_ok: bool | None  # "code" is an EPSG code
    props: _Obj | None  # the "properties" object's summary


class _Refused(Exception):
    """A ``crs`` member that must not reach GDAL (carries the reason)."""


def _crs_reason(value: Any) -> str | None:
    """Why a ``crs`` member is refused (``None``: accepted)."""
    if value is None:
        return None  # "crs": null is no CRS
    if not isinstance(value, _Obj):
        return "a 'crs' member that is not an object"
    props = value.props
    if value.type == "name" and props is not None and props.name_ok:
        return None
    if value.type == "epsg" and props is not None and props.code_ok:
        return None
    if value.type == "link":
        return ("a 'crs' of type 'link', which makes GDAL fetch a URL: remove the 'crs' "
                "member or use {\"type\": \"name\", \"properties\": {\"name\": "
                "\"urn:ogc:def:crs:EPSG::4326\"}}")
    return ("a 'crs' member that is not a named CRS such as urn:ogc:def:crs:EPSG::4326 "
            "(URLs and file names are not accepted)")


class _Summariser:
    """``object_pairs_hook`` for :func:`json.loads`: checks ``crs`` members as they are
    parsed and returns an interned :class:`_Obj`."""

    def __init__(self) -> None:
        self.cache: dict[_Obj, _Obj] = {}

    def __call__(self, pairs: list[tuple[str, Any]]) -> _Obj:
        typ: str | None = None
        features = name_ok = code_ok = props = None
        for key, value in pairs:
            k = key.lower()
            if k == "type":
                t = value.lower() if isinstance(value, str) else None
                typ = t if t in _KEPT_TYPES else "?"
            elif k == "crs":
                reason = _crs_reason(value)
                if reason:
                    raise _Refused(reason)
            elif k == "features":
                features = len(value) if isinstance(value, list) else -1
            elif k == "name":
                name_ok = isinstance(value, str) and bool(_CRS_NAME_RE.match(value))
            elif k == "code":
                code_ok = type(value) is int
            elif k == "properties":
                props = value if isinstance(value, _Obj) else None
        obj = _Obj(typ, features, name_ok, code_ok, props)
        if len(self.cache) < _INTERN_MAX:
            return self.cache.setdefault(obj, obj)
        return self.cache.get(obj, obj)


def _zero(_text: str) -> int:
    return 0


def check_geojson(data: bytes, name: str, limits: UploadLimits) -> int:
    """Refuse ``data`` unless it is a plain GeoJSON FeatureCollection / Feature (see the
    module docstring); returns its feature count."""
    values = data.count(b"[") + data.count(b"{") + data.count(b'"') // 2
    if values > limits.max_json_values:
        raise UploadLimitError(
            f"{name} has {values:,} JSON arrays, objects and strings (limit "
            f"{limits.max_json_values:,}): simplify the geometries or split the file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{name} is not UTF-8 text (byte {exc.start}): save the "
                             "GeoJSON as UTF-8") from None
    try:
        top = json.loads(text, object_pairs_hook=_Summariser(), parse_float=_zero,
                         parse_int=_zero, parse_constant=_zero)
    except _Refused as exc:
        raise InputFileError(f"{name} has {exc}") from None
    except RecursionError:
        raise InputFileError(f"{name} is nested too deeply to be GeoJSON") from None
    except ValueError as exc:
        raise InputFileError(
            f"{name} is not a GeoJSON file (not valid JSON: {exc}); upload a GeoJSON "
            "FeatureCollection") from None
    if not isinstance(top, _Obj) or top.type not in _TOP_TYPES:
        raise InputFileError(
            f"{name} is not a GeoJSON FeatureCollection or Feature (GDAL would read it "
            "with another driver): upload a GeoJSON FeatureCollection")
    if top.type == "feature":
        return 1
    if top.features is None or top.features < 0:
        raise InputFileError(f"{name} is a FeatureCollection without a 'features' array")
    if top.features > limits.max_features:
        raise UploadLimitError(
            f"{name} has {top.features:,} features (limit {limits.max_features:,})")
    return top.features
