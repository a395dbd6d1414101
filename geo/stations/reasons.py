"""Why a station row is rejected: the codes and their Chinese / English messages.

A reason is ``(code, message_zh, message_en)``; :func:`reason` fills a message in.
The codes are listed in :mod:`geo.stations.validation`.
"""

from __future__ import annotations

from typing import Final, TypeAlias

#: ``(code, message_zh, message_en)``.
Reason: TypeAlias = tuple[str, str, str]

_REASONS: Final[dict[str, tuple[str, str]]] = {
    "malformed_row": ("行格式有误：{detail}", "malformed row: {detail}"),
    "blank_row": ("空行", "blank row"),
    "bad_geometry": ("几何有误：{detail}", "{detail}"),
    "bad_text": ("{field}含控制字符（{detail}）", "{field} contains a control character "
                 "({detail})"),
    "too_long": ("{field}过长（{detail} 字，上限 {limit}）",
                 "{field} is too long ({detail} characters, max {limit})"),
    "empty_id": ("编号为空", "empty station_id"),
    "empty_name": ("名称为空", "empty name"),
    "empty_type": ("类型为空", "empty type"),
    "unknown_type": ("未知类型“{detail}”，可用：{limit}", "unknown type {detail!r}; use one of "
                     "{limit}"),
    "convalescence_base": ("疗休养基地单独成层，不计入步行站点",
                           "convalescence bases are a separate layer (reached by car/transit), "
                           "not walk-in stations"),
    "missing_coordinates": ("缺少{field}", "missing {field}"),
    "invalid_coordinates": ("{field}“{detail}”不是有效的度数", "{field} {detail!r} is not a "
                            "valid number of degrees"),
    "projected_coordinates": ("坐标 {detail} 像是投影坐标（米），请导出经纬度",
                              "coordinates {detail} look like projected metres, not degrees: "
                              "export longitude/latitude"),
    "zero_coordinates": ("坐标为 0,0（缺失的占位值）", "coordinates are 0,0 (a placeholder for "
                         "missing values)"),
    "swapped_coordinates": ("经纬度疑似填反（经度 {detail}）：请交换经度、纬度两列",
                            "longitude and latitude look swapped (lon {detail}): swap the two "
                            "columns"),
    "outside_region": ("位置 {detail} 不在区域范围内（{limit}）",
                       "location {detail} is outside the region ({limit})"),
    "wrong_city": ("该行属于“{detail}”，不是“{limit}”", "row belongs to {detail!r}, not "
                   "{limit!r}"),
    "duplicate_id": ("编号“{detail}”重复（与第 {limit} 行相同）",
                     "duplicate station_id {detail!r} (same as row {limit})"),
}

_FIELD_ZH: Final = {"station_id": "编号", "name": "名称", "type": "类型", "address": "地址",
                    "city": "城市", "district": "区县", "longitude": "经度", "latitude": "纬度",
                    "coordinates": "经纬度"}

#: Every rejection code.
CODES: Final[tuple[str, ...]] = tuple(_REASONS)


def reason(code: str, *, field: str = "", detail: object = "", limit: object = "") -> Reason:
    """The reason ``code`` with its messages filled in."""
    zh, en = _REASONS[code]
    return (code, zh.format(field=_FIELD_ZH.get(field, field), detail=detail, limit=limit),
            en.format(field=field, detail=detail, limit=limit))


def is_blank(reasons: list[Reason]) -> bool:
    """True if the row was rejected as blank (no further checks apply)."""
    return any(c == "blank_row" for c, _z, _e in reasons)


__all__ = ["CODES", "Reason", "is_blank", "reason"]
