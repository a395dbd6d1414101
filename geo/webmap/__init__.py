"""Folium web maps served offline (no CDN), with every uploaded text escaped."""
