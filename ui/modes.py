"""The current region in the sidebar's travel mode (cached per region key + mode).

A region is loaded for walking; for the e-bike and car modes its streets are loaded
again with that mode's filter (:func:`geo.pipeline.bases.region_network`: the demo
rebuilt in code, a region folder's source file through the prepared-network cache; by
car the directed network with one-way streets and per-edge speeds). Uploaded and
downloaded regions are not re-read outside their worker process: they are refused with
what to do.
"""

from __future__ import annotations

import dataclasses

import streamlit as st

from geo.network.loaders import default_cache_dir
from geo.pipeline.bases import region_network
from geo.pipeline.region import Region


@st.cache_resource(show_spinner=False, max_entries=4)
def _in_mode(region_key: str, mode: str, _region: Region) -> Region:
    net = region_network(_region, mode, cache_dir=default_cache_dir())
    return dataclasses.replace(_region, network=net, key=f"{region_key}|{mode}")


def region_in_mode(region: Region, mode: str) -> Region:
    """``region`` with its network filtered for ``mode`` (itself for walking)."""
    if mode == "walk":
        return region
    return _in_mode(region.key, mode, region)
