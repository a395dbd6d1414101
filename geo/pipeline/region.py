"""A *region*: a prepared walk network plus its layers (stations, towns, zones, bases).

Sources: the built-in synthetic demo (:func:`demo_region`), a set of files
(:func:`region_from_files`) or a *region folder* (:func:`region_from_folder`) — a
directory holding one network (a prepared-network sub-directory ``network/``, an
``.osm.pbf``, an ``.osm`` or a ``.graphml``) and optional ``stations.csv`` /
``stations.geojson``, ``towns.*``, ``zones.*``, ``bases.*`` (GeoJSON, GPKG or zipped
Shapefile) and ``population.tif`` (a population GeoTIFF: people become the demand).
``yizhan demo --write-inputs DIR`` writes such a folder.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pandas as pd

from geo.coverage.towns import read_towns
from geo.errors import InputFileError
from geo.io.layers import (
    LayerTable,
    polygons_from_frame,
    read_bases,
    read_stations,
    read_zones,
    stations_from_frame,
)
from geo.network.loaders import file_sha256, load_network
from geo.network.model import WalkNetwork, is_prepared_network, prepare_network
from geo.network.modes import check_mode
from geo.pipeline.demo import build_demo_region
from geo.pipeline.demo_population import demo_population
from geo.pipeline.people import load_population
from geo.population.raster import PopulationGrid

LAYER_SUFFIXES: Final = (".geojson", ".json", ".gpkg", ".zip")
NETWORK_PATTERNS: Final = ("*.osm.pbf", "*.pbf", "*.osm", "*.graphml")


@dataclass(frozen=True, eq=False)
class Region:
    """A loaded region (read-only). ``key`` identifies its content."""

    key: str
    label: str
    network: WalkNetwork
    stations: LayerTable | None = None
    towns: LayerTable | None = None
    zones: LayerTable | None = None
    bases: LayerTable | None = None
    population: PopulationGrid | None = None  # the raster window over the region
    synthetic: bool = False
    disclaimer: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)
    load_s: float = 0.0


def _entry(path: str | os.PathLike[str] | None) -> dict[str, Any] | None:
    if path is None:
        return None
    p = Path(path)
    return {"path": str(p), "sha256": file_sha256(p) if p.is_file() else None}


def _key(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:24]


def region_from_files(
    network_path: str | os.PathLike[str],
    *,
    stations_path: str | os.PathLike[str] | None = None,
    towns_path: str | os.PathLike[str] | None = None,
    zones_path: str | os.PathLike[str] | None = None,
    bases_path: str | os.PathLike[str] | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    label: str | None = None,
    population_path: str | os.PathLike[str] | None = None,
    mode: str = "walk",
) -> Region:
    """Load a network and its optional layers from files.

    ``population_path``: a population GeoTIFF; only its window over the network and the
    towns is read (:func:`geo.pipeline.people.load_population`). ``mode``: the travel
    mode whose street filter the network is loaded with (:mod:`geo.network.modes`).
    """
    t0 = time.perf_counter()
    network = load_network(network_path, bbox=bbox, cache_dir=cache_dir, mode=mode)
    load_s = time.perf_counter() - t0
    inputs = {
        "network": {"path": str(network_path),
                    "sha256": network.source_sha256
                    or (_entry(network_path) or {}).get("sha256")},
        "stations": _entry(stations_path),
        "towns": _entry(towns_path),
        "zones": _entry(zones_path),
        "bases": _entry(bases_path),
    }
    if population_path is not None:
        inputs["population"] = _entry(population_path)
    towns = read_towns(towns_path) if towns_path else None
    population = None
    if population_path is not None:
        extra = (tuple(towns.accepted.to_crs(network.crs).total_bounds)
                 if towns is not None and len(towns.accepted) else None)
        population = load_population(population_path, network.bounds, network.crs,
                                     extra_bounds=extra)
    return Region(
        key=_key(inputs, bbox) if mode == "walk" else _key(inputs, bbox, mode),
        label=label or Path(network_path).name,
        network=network,
        stations=read_stations(stations_path) if stations_path else None,
        towns=towns,
        zones=read_zones(zones_path) if zones_path else None,
        bases=read_bases(bases_path) if bases_path else None,
        population=population,
        inputs=inputs,
        load_s=load_s,
    )


def _find_layer(folder: Path, stem: str, suffixes: tuple[str, ...]) -> Path | None:
    for s in suffixes:
        p = folder / f"{stem}{s}"
        if p.is_file():
            return p
    return None


def region_from_folder(folder: str | os.PathLike[str], *,
                       cache_dir: str | os.PathLike[str] | None = None,
                       mode: str = "walk") -> Region:
    """Load a region folder (see the module docstring).

    ``mode``: the travel mode whose street filter the network is loaded with. A
    prepared ``network/`` holds one mode's streets (``yizhan prepare`` prepares them for
    walking): when it was prepared for another mode, the folder's ``.osm.pbf`` /
    ``.osm`` / ``.graphml`` is read with the mode's filter instead (through the
    prepared-network cache); without such a file the loader's error says what to do.
    """
    d = Path(folder)
    if not d.is_dir():
        raise InputFileError(f"region folder not found: {d}")
    prepared = d / "network" if is_prepared_network(d / "network") else None
    source = _source_file(d)
    if prepared is None and source is None:
        raise InputFileError(
            f"region folder {d} holds no network: add network/ (yizhan prepare), an "
            ".osm.pbf, .osm or .graphml file"
        )
    layers: dict[str, Any] = {
        "stations_path": _find_layer(d, "stations", (".csv", *LAYER_SUFFIXES)),
        "towns_path": _find_layer(d, "towns", LAYER_SUFFIXES) or  # else yizhan prepare's
        _find_layer(d / "network", "towns", (".geojson",)),  # OSM administrative towns
        "zones_path": _find_layer(d, "zones", LAYER_SUFFIXES),
        "bases_path": _find_layer(d, "bases", LAYER_SUFFIXES),
        "cache_dir": cache_dir, "label": d.name,
        "population_path": _find_layer(d, "population", (".tif", ".tiff")),
    }
    if source is None or (prepared is not None and mode == "walk"):
        return region_from_files(prepared or source or d, **layers, mode=mode)
    if prepared is not None:
        try:
            return region_from_files(prepared, **layers, mode=mode)
        except InputFileError:  # prepared for another mode: read the source file
            pass
    return region_from_files(source, **layers, mode=mode)


def _source_file(folder: Path) -> Path | None:
    """The folder's first ``.osm.pbf`` / ``.pbf`` / ``.osm`` / ``.graphml`` file."""
    for pattern in NETWORK_PATTERNS:
        found = sorted(folder.glob(pattern))
        if found:
            return found[0]
    return None


def list_region_folders(root: str | os.PathLike[str]) -> list[Path]:
    """Sub-directories of ``root`` that look like region folders."""
    r = Path(root)
    if not r.is_dir():
        return []
    out = []
    for d in sorted(p for p in r.iterdir() if p.is_dir()):
        if is_prepared_network(d / "network") or any(any(d.glob(pat))
                                                     for pat in NETWORK_PATTERNS):
            out.append(d)
    return out


def demo_region(*, population: bool = True, mode: str = "walk") -> Region:
    """The built-in synthetic demo region (deterministic, no files, no internet).

    ``population`` (default): with its synthetic population raster (generated in code,
    :mod:`geo.pipeline.demo_population`), so people covered are the demand
    (``population_raster``); ``False`` gives the old demo, whose demand is each town's
    (invented) population spread over its streets (``population``). ``mode``: the
    travel mode whose street filter the demo's streets are prepared with (the raster
    is the same people in every mode: it is spread over the walkable streets).
    """
    t0 = time.perf_counter()
    demo = build_demo_region()
    walk = prepare_network(demo.streets, meta={"format": "demo"})
    network = walk if check_mode(mode) == "walk" else \
        prepare_network(demo.streets, meta={"format": "demo"}, mode=mode)
    st = demo.stations
    stations = stations_from_frame(pd.DataFrame(st.drop(columns=st.geometry.name)),
                                   st.geometry.to_numpy(), source="demo")
    towns = demo.towns.copy()
    if "town_id" not in towns.columns:
        towns["town_id"] = towns["code"] if "code" in towns.columns else towns["name"]
    empty = pd.DataFrame({"row": [], "id": [], "name": [], "reason": []})
    town_table = polygons_from_frame(towns, id_column="town_id", source="demo")
    grid = demo_population(walk, town_table.accepted.to_crs(walk.crs)) \
        if population else None
    key = "demo-population" if population else "demo"
    return Region(
        key=key if mode == "walk" else f"{key}|{mode}",
        label=demo.name_zh,
        network=network,
        stations=stations,
        towns=town_table,
        population=grid,
        zones=polygons_from_frame(demo.zones, id_column="zone_id", source="demo"),
        bases=LayerTable(accepted=demo.bases, rejected=empty, rows_in=len(demo.bases),
                         source="demo"),
        synthetic=True,
        disclaimer=f"{demo.disclaimer_zh} {demo.disclaimer_en}",
        inputs={"network": {"path": "built-in synthetic demo region", "sha256": None}},
        load_s=time.perf_counter() - t0,
    )
