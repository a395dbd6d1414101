"""Reading and writing untrusted files.

Uploads, layers, the one GDAL guard, spreadsheet and HTML escaping.
"""
