"""Static maps and charts of a report, rendered with matplotlib to PNG bytes.

No tiles and no internet: maps draw the towns (coloured by covered share), the
service-area union, the street network (covered / partly / not covered), stations by
type, off-network stations, rider zones and convalescence bases, in the analysis CRS
(metres, equal aspect) with a scale bar, in the app's palette (:mod:`geo.palette`).
Text uses Noto Sans CJK (``fonts-noto-cjk``, found by :mod:`geo.reports.fonts`).

matplotlib is used through its object API (``Figure`` + Agg canvas, no ``pyplot``),
and the font settings are applied under a lock, so reports can be built from several
threads (the app's sessions) at once.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import shapely

from geo.palette import (
    BASE_COLOUR,
    OFF_NETWORK_COLOUR,
    SHARE_BINS,
    SHARE_COLOURS,
    STATION_COLOURS,
    STREET_COLOURS,
    UNION_COLOUR,
    ZONE_COLOUR,
    share_colour,
)
from geo.reports.data import ReportData
from geo.reports.fonts import CJK_FAMILIES, add_matplotlib_cjk_font
from geo.vocab import label, mode_term, type_label

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure as MplFigure

MAX_MAP_EDGES: Final = 400_000  # above: the overview map leaves the streets out
MAX_TOWN_BARS: Final = 25
MAX_TOWN_LABELS: Final = 30
DPI: Final = 150

_LOCK = threading.Lock()


@contextmanager
def _mpl() -> Iterator[None]:
    """matplotlib's settings for the report (CJK fonts), one figure at a time."""
    import matplotlib

    with _LOCK:
        add_matplotlib_cjk_font()
        with matplotlib.rc_context({"font.family": "sans-serif",
                                    "font.sans-serif": CJK_FAMILIES,
                                    "axes.unicode_minus": False,
                                    "font.size": 9}):
            yield


def _new_figure(w_in: float, h_in: float) -> MplFigure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=(w_in, h_in), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _png(fig: MplFigure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", pad_inches=0.08,
                facecolor="white")
    return buf.getvalue()


# ----------------------------------------------------------------------- geometry → mpl


def _polygon_path(geom: Any) -> Any:
    """A compound matplotlib Path of a (multi)polygon, holes included."""
    from matplotlib.path import Path as MplPath

    verts: list[np.ndarray] = []
    codes: list[np.ndarray] = []
    for poly in shapely.get_parts(np.array([geom], dtype=object)):
        if shapely.get_type_id(poly) != 3 or shapely.is_empty(poly):
            continue
        for ring in [poly.exterior, *poly.interiors]:
            xy = np.asarray(ring.coords)[:, :2]
            if len(xy) < 3:
                continue
            c = np.full(len(xy), MplPath.LINETO, dtype=np.uint8)
            c[0] = MplPath.MOVETO
            c[-1] = MplPath.CLOSEPOLY
            verts.append(xy)
            codes.append(c)
    if not verts:
        return None
    return MplPath(np.concatenate(verts), np.concatenate(codes))


def _add_polygons(ax: Axes, geoms: Any, *, facecolors: Any, edgecolor: str, lw: float,
                  alpha: float | None = None, ls: str = "-", zorder: float = 1,
                  fill: bool = True) -> None:
    from matplotlib.patches import PathPatch

    geoms = list(geoms)
    fcs = facecolors if isinstance(facecolors, list) else [facecolors] * len(geoms)
    patches = []
    for g, fc in zip(geoms, fcs, strict=True):
        if g is None or shapely.is_empty(g):
            continue
        path = _polygon_path(g)
        if path is None:
            continue
        patches.append(PathPatch(path, facecolor=fc if fill else "none", edgecolor=edgecolor,
                                 lw=lw, alpha=alpha, ls=ls, zorder=zorder))
    for p in patches:
        ax.add_patch(p)


def _lines(geoms: np.ndarray) -> list[np.ndarray]:
    coords, idx = shapely.get_coordinates(geoms, return_index=True)
    if len(coords) == 0:
        return []
    cuts = np.flatnonzero(np.diff(idx)) + 1
    return np.split(coords, cuts)


def _add_streets(ax: Axes, data: ReportData, edges: np.ndarray | None = None,
                 lw: float = 0.5) -> None:
    from matplotlib.collections import LineCollection

    net = data.job.network
    cov = data.job.coverage
    idx = np.arange(net.n_edges) if edges is None else np.asarray(edges)
    if idx.size == 0:
        return
    length = net.length_m[idx]
    share = np.divide(cov.edge_covered_m[idx], length, out=np.ones(idx.size),
                      where=length > 0)
    cls = np.where(share > 0.999, 2, np.where(share > 0.001, 1, 0))
    for c in (0, 1, 2):
        sel = idx[cls == c]
        if sel.size == 0:
            continue
        ax.add_collection(LineCollection(_lines(net.geometry[sel]), colors=STREET_COLOURS[c],
                                         linewidths=lw, zorder=2 + c * 0.1))


def _add_stations(ax: Axes, data: ReportData, *, size: float = 18) -> list[Any]:
    """Station markers; returns legend handles."""
    from matplotlib.lines import Line2D

    st = data.job.coverage.stations
    handles = []
    xy = shapely.get_coordinates(st.geometry.to_numpy())
    types = st["type"].to_numpy()
    used = (st["status"] == "used").to_numpy()
    for t, colour in STATION_COLOURS.items():
        sel = used & (types == t)
        if not sel.any():
            continue
        ax.scatter(xy[sel, 0], xy[sel, 1], s=size, c=colour, edgecolors="white",
                   linewidths=0.6, zorder=6)
        handles.append(Line2D([], [], marker="o", ls="", color=colour, markeredgecolor="white",
                              label=type_label(t, data.lang)))
    if (~used).any():
        ax.scatter(xy[~used, 0], xy[~used, 1], s=size * 1.2, c=OFF_NETWORK_COLOUR, marker="x",
                   linewidths=1.0, zorder=6)
        handles.append(Line2D([], [], marker="x", ls="", color=OFF_NETWORK_COLOUR,
                              label=data.t("未接入路网的站点", "Off-network station")))
    return handles


def _scale_bar(ax: Axes, bounds: tuple[float, float, float, float]) -> None:
    x0, y0, x1, y1 = bounds
    width = x1 - x0
    target = width / 5.0
    if target <= 0:
        return
    mag = 10 ** np.floor(np.log10(target))
    nice = max(m * mag for m in (1, 2, 5) if m * mag <= target) if target >= mag else mag
    bx, by = x0 + width * 0.04, y0 + (y1 - y0) * 0.04
    ax.plot([bx, bx + nice], [by, by], color="black", lw=2.5, solid_capstyle="butt",
            zorder=9)
    text = f"{nice / 1000:g} km" if nice >= 1000 else f"{nice:g} m"
    ax.text(bx + nice / 2, by + (y1 - y0) * 0.015, text, ha="center", va="bottom",
            fontsize=7, zorder=9,
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.7, "pad": 1})


def _finish_map(ax: Axes, bounds: tuple[float, float, float, float]) -> None:
    x0, y0, x1, y1 = bounds
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_color("#888888")
    _scale_bar(ax, bounds)


def _pad(bounds: tuple[float, float, float, float], frac: float = 0.04,
         min_m: float = 200.0) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = bounds
    p = max((x1 - x0) * frac, (y1 - y0) * frac, min_m)
    return (x0 - p, y0 - p, x1 + p, y1 + p)


def _share_legend(data: ReportData) -> list[Any]:
    from matplotlib.patches import Patch

    edges = (0.0, *SHARE_BINS, 1.0)
    return [Patch(facecolor=c, edgecolor="#666666", alpha=0.6,
                  label=f"{edges[i]:.0%}–{edges[i + 1]:.0%}")
            for i, c in enumerate(SHARE_COLOURS)]


def _layers(ax: Axes, data: ReportData, *, streets: bool | np.ndarray,
            town_lw: float = 0.8, labels: bool = True) -> list[Any]:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    job = data.job
    towns = job.towns.towns
    share = towns[data.town_share_column].to_numpy(dtype=float)
    _add_polygons(ax, towns.geometry.to_numpy(), facecolors=[share_colour(s) for s in share],
                  edgecolor="#666666", lw=town_lw, alpha=0.45, zorder=1)
    if not shapely.is_empty(job.areas.union):
        _add_polygons(ax, [job.areas.union], facecolors=UNION_COLOUR, edgecolor=UNION_COLOUR,
                      lw=0.4, alpha=0.22, zorder=3)
    draw_streets = not (isinstance(streets, bool) and not streets)
    if draw_streets:
        subset = None if isinstance(streets, bool) else streets
        _add_streets(ax, data, subset, lw=0.45 if subset is None else 0.8)
    handles: list[Any] = []
    if job.zones_layer is not None and len(job.zones_layer):
        _add_polygons(ax, job.zones_layer.geometry.to_numpy(), facecolors=ZONE_COLOUR,
                      edgecolor=ZONE_COLOUR, lw=1.4, ls="--", zorder=4, fill=False)
        handles.append(Line2D([], [], color=ZONE_COLOUR, ls="--",
                              label=data.t("骑手友好场景", "Rider-friendly zone")))
    if job.bases is not None and len(job.bases):
        b = job.bases.to_crs(job.network.crs)
        bxy = shapely.get_coordinates(b.geometry.to_numpy())
        ax.scatter(bxy[:, 0], bxy[:, 1], marker="*", s=90, c=BASE_COLOUR,
                   edgecolors="white", linewidths=0.5, zorder=7)
        handles.append(Line2D([], [], marker="*", ls="", color=BASE_COLOUR, markersize=9,
                              label=data.t("职工疗休养基地（驾车到达）",
                                           "Convalescence base (reached by car)")))
    handles = _add_stations(ax, data) + handles
    handles.append(Patch(facecolor=UNION_COLOUR, alpha=0.3, edgecolor=UNION_COLOUR,
                         label=label("union", data.lang)))
    if draw_streets:
        handles.append(Line2D([], [], color=STREET_COLOURS[2],
                              label=data.t("覆盖的街道", "Covered street")))
        handles.append(Line2D([], [], color=STREET_COLOURS[0],
                              label=data.t("未覆盖的街道", "Uncovered street")))
    if labels and len(towns) <= MAX_TOWN_LABELS:
        pts = shapely.point_on_surface(towns.geometry.to_numpy())
        for p, name in zip(pts, towns["name"], strict=True):
            if p is None or shapely.is_empty(p):
                continue
            ax.text(p.x, p.y, str(name), fontsize=7.5, ha="center", va="center", zorder=8,
                    bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.65,
                          "pad": 1.2})
    return handles


def _legend_axes(fig: MplFigure, rect: tuple[float, float, float, float]) -> Axes:
    lax = fig.add_axes(rect)
    lax.set_axis_off()
    return lax


def overview_map(data: ReportData) -> bytes:
    """The whole region: towns by covered share, coverage, streets and stations."""
    job = data.job
    bounds = _pad(job.network.bounds)
    aspect = (bounds[3] - bounds[1]) / max(bounds[2] - bounds[0], 1.0)
    map_w = 5.3
    with _mpl():
        fig = _new_figure(map_w + 1.9, max(3.6, min(map_w * aspect, 7.5)) + 0.4)
        ax = fig.add_axes((0.0, 0.0, map_w / (map_w + 1.9), 0.93))
        draw_streets = job.network.n_edges <= MAX_MAP_EDGES
        handles = _layers(ax, data, streets=draw_streets)
        _finish_map(ax, bounds)
        ax.set_title(data.t("覆盖总览", "Coverage overview"), fontsize=11)
        lax = _legend_axes(fig, (map_w / (map_w + 1.9) + 0.01, 0.0,
                                 1.9 / (map_w + 1.9) - 0.01, 0.93))
        leg = lax.legend(handles=handles, loc="upper left", fontsize=7, frameon=False,
                         borderaxespad=0)
        lax.add_artist(leg)
        lax.legend(handles=_share_legend(data), loc="lower left", fontsize=7, frameon=False,
                   borderaxespad=0, title=data.t("镇街覆盖率", "Town covered share"),
                   title_fontsize=7.5, alignment="left")
        return _png(fig)


def town_map(data: ReportData, town_id: Any) -> bytes:
    """One town (zoomed), its streets by coverage and the stations around it."""
    job = data.job
    towns = job.towns.towns
    row = towns.loc[towns["town_id"] == town_id].iloc[0]
    geom = row.geometry
    bounds = _pad(tuple(shapely.bounds(geom)), frac=0.12)
    box = shapely.box(*bounds)
    edges = job.network.edge_tree.query(box, predicate="intersects")
    with _mpl():
        fig = _new_figure(6.6, 5.2)
        ax = fig.add_subplot(1, 1, 1)
        handles = _layers(ax, data, streets=np.asarray(edges), town_lw=0.6, labels=False)
        _add_polygons(ax, [geom], facecolors="none", edgecolor="black", lw=2.0, zorder=5,
                      fill=False)
        _finish_map(ax, bounds)
        share = row[data.town_share_column]
        ax.set_title(data.t(f"第{int(row['rank'])}名 · {row['name']}（覆盖率{share:.0%}）",
                            f"Rank {int(row['rank'])} · {row['name']} ({share:.0%} covered)")
                     if np.isfinite(share) else str(row["name"]), fontsize=10.5)
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7,
                  frameon=False, borderaxespad=0)
        return _png(fig)


def town_share_chart(data: ReportData) -> bytes:
    """Covered share by town (the lowest ``MAX_TOWN_BARS``), with the threshold."""
    df = data.towns.loc[data.towns["total_length_m"] > 0].copy()
    share = df[data.town_share_column].astype(float)
    df = df.assign(_s=share).sort_values(["_s", "rank"]).head(MAX_TOWN_BARS)
    df = df.iloc[::-1]  # lowest at the top of a horizontal bar chart
    thr = data.options.town_threshold
    with _mpl():
        fig = _new_figure(6.8, max(2.2, 0.32 * len(df) + 1.2))
        ax = fig.add_subplot(1, 1, 1)
        y = np.arange(len(df))
        vals = df["_s"].to_numpy()
        ax.barh(y, vals, color=[share_colour(v) for v in vals], edgecolor="#555555", lw=0.5)
        ax.set_yticks(y, [str(n) for n in df["name"]])
        for yi, v in zip(y, vals, strict=True):
            ax.text(min(v, 1.0) + 0.01, float(yi), f"{v:.0%}", va="center", fontsize=7.5)
        ax.axvline(thr, color="black", ls="--", lw=1)
        ax.text(thr, len(df) - 0.4, data.t(f" 阈值 {thr:.0%}", f" threshold {thr:.0%}"),
                fontsize=7.5, va="bottom")
        ax.set_xlim(0, 1.1)
        ax.xaxis.set_major_formatter(_percent())
        basis = data.t("人口", "population") if data.town_share_column.startswith(
            "covered_population") else data.t("街道长度", "street length")
        ax.set_xlabel(data.t(f"{data.trip()}覆盖率（按{basis}）",
                             f"Share within {data.trip()} (by {basis})"))
        title = data.t("各镇街覆盖率", "Covered share by town")
        if len(data.towns) > MAX_TOWN_BARS:
            title += data.t(f"（最低{MAX_TOWN_BARS}个）", f" (lowest {MAX_TOWN_BARS})")
        ax.set_title(title, fontsize=11)
        ax.spines[["top", "right"]].set_visible(False)
        return _png(fig)


def _percent() -> Any:
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0, decimals=0)


def walk_time_chart(data: ReportData) -> bytes:
    """Street length by walk time to the nearest station (and beyond the walk time)."""
    wt = data.walk_times
    minutes = data.job.params.walk_time_min
    total = float(wt["length_m"].sum()) or 1.0
    within = wt.loc[np.isfinite(wt["upper_min"])]
    beyond = float(wt.loc[~np.isfinite(wt["upper_min"]), "length_m"].sum())
    with _mpl():
        fig = _new_figure(6.8, 3.4)
        ax = fig.add_subplot(1, 1, 1)
        lo = within["lower_min"].to_numpy()
        hi = within["upper_min"].to_numpy()
        km = within["length_m"].to_numpy() / 1000.0
        ax.bar(lo, km, width=hi - lo, align="edge", color=UNION_COLOUR, edgecolor="white")
        gap = max((hi - lo).mean() if len(hi) else 1.0, 0.5)
        ax.bar([minutes + gap * 0.5], [beyond / 1000.0], width=gap, align="edge",
               color="#b0b0b0", edgecolor="white")
        ticks = list(np.unique(np.concatenate([lo, hi]))) if len(lo) <= 20 else \
            list(np.linspace(0, minutes, 6))
        ax.set_xticks([*ticks, minutes + gap], [f"{t:g}" for t in ticks] + [
            data.t(f">{minutes:g}", f">{minutes:g}")], fontsize=7.5)
        time_zh = mode_term(data.mode, "time", "zh")
        time_en = mode_term(data.mode, "time", "en")
        ax.set_xlabel(data.t(f"到最近站点的{time_zh}（分钟）",
                             f"{time_en} to the nearest station (min)"))
        ax.set_ylabel(data.t("街道长度（公里）", "Street length (km)"))
        ax.set_title(data.t(f"街道长度按{time_zh}分布（{beyond / total:.0%}的街道超过"
                            f"{minutes:g}分钟）",
                            f"Street length by {time_en.lower()} ({beyond / total:.0%} beyond "
                            f"{minutes:g} min)"), fontsize=10.5)
        ax.spines[["top", "right"]].set_visible(False)
        return _png(fig)


def all_figures(data: ReportData) -> dict[str, bytes]:
    """Every figure of a report: ``overview``, ``town_share``, ``walk_time`` and
    ``town:<town_id>`` for the worst towns."""
    out = {"overview": overview_map(data), "town_share": town_share_chart(data),
           "walk_time": walk_time_chart(data)}
    for tid in data.worst["town_id"]:
        out[f"town:{tid}"] = town_map(data, tid)
    return out
