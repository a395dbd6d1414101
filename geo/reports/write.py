"""Writing a report: one format to a file (atomically) or to bytes.

The writers, each ``write_<format>(data, path)`` on a :class:`~geo.reports.data.ReportData`:

* :mod:`geo.reports.xlsx` — one sheet per table, typed cells, frozen header row;
* :mod:`geo.reports.pdf` — reportlab, an embedded subset of Noto Sans CJK
  (:mod:`geo.reports.fonts`), maps and charts as images (:mod:`geo.reports.figures`,
  matplotlib), paginated tables, page numbers;
* :mod:`geo.reports.gpkg` — layers ``stations``, ``service_areas``, ``coverage``,
  ``towns``, ``zones`` (and ``bases``), all in EPSG:4326;
* :mod:`geo.reports.html` — one standalone page: the tables, the figures and, when the
  caller passes it, the interactive folium map (``map_html``; see that module for why
  the map is passed in rather than built here).
"""

from __future__ import annotations

import datetime as _dt
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Final

from geo.errors import InvalidParameterError
from geo.pipeline.job import CoverageJob
from geo.reports.data import ReportData, ReportOptions, report_data
from geo.reports.gpkg import write_gpkg
from geo.reports.html import write_html
from geo.reports.pdf import write_pdf
from geo.reports.xlsx import write_xlsx

REPORT_FORMATS: Final = ("xlsx", "pdf", "html", "gpkg")
REPORT_MIME: Final[dict[str, str]] = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "html": "text/html",
    "gpkg": "application/geopackage+sqlite3",
}
#: format → writer (the HTML writer also takes ``map_html``)
WRITERS: Final[dict[str, Callable[[ReportData, Path], Path]]] = {
    "xlsx": write_xlsx, "pdf": write_pdf, "gpkg": write_gpkg, "html": write_html,
}


def check_format(fmt: str | None, out: str | os.PathLike[str] | None = None) -> str:
    """The report format: ``fmt``, else the suffix of ``out``; one of :data:`REPORT_FORMATS`."""
    if not fmt and out is not None:
        fmt = Path(out).suffix.lstrip(".")
    value = (fmt or "").strip().lower()
    if value not in REPORT_FORMATS:
        shown = fmt if fmt else "(none)"
        raise InvalidParameterError(
            f"unknown report format {shown!r}: use --format xlsx, pdf, html or gpkg"
        )
    return value


def write_report(job: CoverageJob | ReportData, fmt: str, out: str | os.PathLike[str], *,
                 options: ReportOptions | None = None, map_html: str | None = None) -> Path:
    """Write the report in ``fmt`` (xlsx, pdf, html, gpkg) to ``out``, atomically.

    ``map_html`` (HTML only): a standalone interactive map page to embed (e.g.
    ``geo.webmap.offline.standalone_html(geo.webmap.maps.build_map(...))``); without it the
    page shows the static overview map.
    """
    fmt = check_format(fmt)
    data = job if isinstance(job, ReportData) else report_data(job, options)

    def write(tmp: Path) -> None:
        if fmt == "html":
            write_html(data, tmp, map_html=map_html)
        else:
            WRITERS[fmt](data, tmp)

    path = Path(out)
    _atomic_write(path, f".{fmt}", write)
    return path


def _atomic_write(path: Path, suffix: str, write: Callable[[Path], None]) -> None:
    """``write`` a temporary file beside ``path``, then move it into place."""
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix,
                                    dir=path.parent or ".")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        tmp.unlink()  # writers create the file (GeoPackage needs a fresh one)
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def report_bytes(job: CoverageJob | ReportData, fmt: str, *,
                 options: ReportOptions | None = None, map_html: str | None = None) -> bytes:
    """The report as bytes (for downloads)."""
    with tempfile.TemporaryDirectory(prefix="yizhan-report-") as tmp:
        p = write_report(job, fmt, Path(tmp) / f"report.{check_format(fmt)}",
                         options=options, map_html=map_html)
        return p.read_bytes()


def report_file_name(data_or_job: CoverageJob | ReportData, fmt: str) -> str:
    """A download file name such as ``yizhan_report_20250101.pdf``."""
    day = _dt.date.today().strftime("%Y%m%d")
    return f"yizhan_report_{day}.{check_format(fmt)}"
