"""Vocabulary: station types, their labels and which travel mode reaches them."""

from __future__ import annotations

from typing import Final

#: Canonical station types (the value stored in ``type``) → English label.
STATION_TYPES: Final[dict[str, str]] = {
    "工会驿站": "Union worker service station",
    "职工服务中心": "Worker service centre",
    "爱心妈妈小屋": "Caring-mother room",
    "司机之家": "Drivers' home",
    "户外劳动者服务站": "Outdoor worker service station",
    "other": "Other",
}

#: Accepted aliases (lower-cased) → canonical type.
STATION_TYPE_ALIASES: Final[dict[str, str]] = {
    "工会驿站": "工会驿站",
    "驿站": "工会驿站",
    "union_station": "工会驿站",
    "union station": "工会驿站",
    "职工服务中心": "职工服务中心",
    "服务中心": "职工服务中心",
    "service_centre": "职工服务中心",
    "service_center": "职工服务中心",
    "worker service centre": "职工服务中心",
    "爱心妈妈小屋": "爱心妈妈小屋",
    "妈妈小屋": "爱心妈妈小屋",
    "mother_room": "爱心妈妈小屋",
    "caring-mother room": "爱心妈妈小屋",
    "司机之家": "司机之家",
    "drivers_home": "司机之家",
    "drivers' home": "司机之家",
    "户外劳动者服务站": "户外劳动者服务站",
    "outdoor_worker_station": "户外劳动者服务站",
    "outdoor worker service station": "户外劳动者服务站",
    "other": "other",
    "其他": "other",
    "其它": "other",
}

#: Types that are not walk-in stations and belong on their own layer.
CONVALESCENCE_BASE: Final = "职工疗休养基地"
CONVALESCENCE_ALIASES: Final = frozenset({"职工疗休养基地", "疗休养基地", "convalescence_base"})

#: Travel mode by layer: stations are reached on foot; bases by car / transit.
TRAVEL_MODE: Final[dict[str, str]] = {
    **{t: "walk" for t in STATION_TYPES},
    CONVALESCENCE_BASE: "car_or_transit",
}


def canonical_station_type(value: object) -> str | None:
    """Map a raw type value to a canonical type, or ``None`` when unknown/blank."""
    if value is None:
        return None
    s = str(value).strip()
    if not s or s.lower() == "nan":
        return None
    return STATION_TYPE_ALIASES.get(s.lower(), STATION_TYPE_ALIASES.get(s))
