"""The coverage engine.

Snapping, the multi-source pass, segments, reach, service areas, towns and zones.
"""
