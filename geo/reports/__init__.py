"""Coverage reports reviewers can hand in: Excel, PDF (maps, charts), GeoPackage, HTML.

* :mod:`geo.reports.data` — :func:`~geo.reports.data.report_data`: everything a report
  shows, computed once (:class:`~geo.reports.data.ReportData`);
* :mod:`geo.reports.display` — formatted values, display tables and prose shared by
  the PDF and HTML reports;
* :mod:`geo.reports.figures` — maps and charts (matplotlib); :mod:`geo.reports.fonts`
  — the CJK font;
* the writers :mod:`geo.reports.xlsx`, :mod:`geo.reports.pdf`, :mod:`geo.reports.gpkg`,
  :mod:`geo.reports.html` (template ``templates/report.html.j2``);
* :mod:`geo.reports.write` — :func:`~geo.reports.write.write_report` (one format to a
  file, atomically) and :func:`~geo.reports.write.report_bytes`.
"""
