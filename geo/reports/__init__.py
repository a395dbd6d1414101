"""Coverage reports.

Report data, figures, fonts and the PDF, Excel, GeoPackage and HTML writers.
"""
