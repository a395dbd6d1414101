"""One colour palette for every map and chart (the app's folium maps and the reports)."""

from __future__ import annotations

from typing import Final

STATION_COLOURS: Final[dict[str, str]] = {
    "工会驿站": "#d62728",
    "职工服务中心": "#1f77b4",
    "爱心妈妈小屋": "#e377c2",
    "司机之家": "#ff7f0e",
    "户外劳动者服务站": "#2ca02c",
    "other": "#7f7f7f",
}
OFF_NETWORK_COLOUR: Final = "#444444"
BASE_COLOUR: Final = "#8c564b"
ZONE_COLOUR: Final = "#ff7f0e"
UNION_COLOUR: Final = "#2b8cbe"
#: uncovered people per raster cell, light → dark (classes from the map's quantiles)
PEOPLE_COLOURS: Final = ("#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f")
#: covered-share classes (upper bounds) and their colours, red = poorly served
SHARE_BINS: Final = (0.2, 0.4, 0.6, 0.8)
SHARE_COLOURS: Final = ("#d7191c", "#fdae61", "#ffffbf", "#a6d96a", "#1a9641")
#: streets: not / partly / fully covered
STREET_COLOURS: Final = ("#bbbbbb", "#f4a742", "#2b8cbe")


def share_colour(share: float | None) -> str:
    """The choropleth colour of a covered share (grey when unknown)."""
    if share is None or share != share:
        return "#cccccc"
    for bound, colour in zip(SHARE_BINS, SHARE_COLOURS, strict=False):
        if share < bound:
            return colour
    return SHARE_COLOURS[-1]

#: drive time to the nearest base: within the 1st / 2nd / 3rd limit, beyond them all;
#: grey when no base is reachable
DRIVE_TIME_COLOURS: Final = ("#1a9641", "#a6d96a", "#fdae61", "#d7191c")
UNREACHABLE_COLOUR: Final = "#999999"
ROUTE_COLOURS: Final = ("#08519c", "#6a51a3", "#d94801")


def drive_time_colour(minutes: float | None, limits_min: tuple[float, ...]) -> str:
    """The colour of a drive time against up to three limits (grey when unreachable)."""
    if minutes is None or minutes != minutes:
        return UNREACHABLE_COLOUR
    for bound, colour in zip(limits_min[:3], DRIVE_TIME_COLOURS, strict=False):
        if minutes <= bound:
            return colour
    return DRIVE_TIME_COLOURS[-1]
