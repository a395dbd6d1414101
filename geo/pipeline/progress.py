"""Coverage progress over time (进度): every stored version of every city's station list
run with the same parameters on the same network, one row per (city, version).

:func:`coverage_progress` reads the versions from a
:class:`~geo.stations.store.StationStore` as ``user`` may see them and returns a frozen
:class:`ProgressTable`: per version its date, who stored it, the stations by type, how
many are on the network and the covered share — of the people when the region's towns
all have a population, else of the street length (``demand_basis`` says which).

Read rules (enforced by the store through ``user=``): the operator and signed-in users
get every version; an anonymous reader (``user=None``) may read only each city's
current list, so the table then holds one row per city (``ProgressTable.anonymous``,
with a note saying so) and ``created_by`` is ``"—"``.

Caching: with ``cache_dir`` each version's figures are kept as one small JSON file named
by the sha256 of everything they depend on — city, version, the upload's sha256, the
stations used (ids, types, coordinates), the parameters, the network and towns content
and the Yizhan version — so a re-run computes only versions it has not seen. Without
``cache_dir`` nothing is read or written (no hidden state).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypedDict, cast

import numpy as np
import pandas as pd
import shapely

from geo.errors import InvalidParameterError, NoStationsOnNetworkError, UnknownVersionError
from geo.io.layers import LayerTable
from geo.network.model import WalkNetwork
from geo.network.modes import FILTER_VERSIONS, check_mode, mode_summary
from geo.params import CoverageParams
from geo.pipeline.bases import region_network
from geo.pipeline.job import __version__, run_coverage, summary_dict
from geo.pipeline.region import Region
from geo.population.raster import PopulationGrid
from geo.schema import STATION_TYPES
from geo.stations.access import OPERATOR, Reader
from geo.stations.exports import layer_table
from geo.stations.records import VersionInfo
from geo.stations.versions import VersionStore
from geo.vocab import DemandBasis, is_people

PROGRESS_FORMAT: Final = "yizhan-progress/1"
#: ``progress(done, total)`` after each version.
ProgressCallback = Callable[[int, int], None]

ANONYMOUS_NOTE_ZH: Final = "未登录：只显示各城市的当前版本；历史版本的进度需登录后查看。"
ANONYMOUS_NOTE_EN: Final = ("Not signed in: only each city's current version is shown; the "
                            "progress over older versions needs a sign-in.")


class Figures(TypedDict):
    """What one version's coverage run gives (the cached part of a row)."""

    stations_used: int
    stations_off_network: int
    demand_basis: DemandBasis
    covered_length_share: float | None
    covered_population_share: float | None
    covered_length_m: float
    total_length_m: float
    note: str


@dataclass(frozen=True)
class ProgressRow:
    """One version of one city's list and its coverage with the table's parameters."""

    city: str
    version: int
    created_at: str
    created_by: str
    action: str
    parent_version: int | None
    sha256: str
    stations_total: int
    stations_by_type: tuple[tuple[str, int], ...]
    stations_used: int
    stations_off_network: int
    demand_basis: DemandBasis
    covered_share: float | None
    covered_length_share: float | None
    covered_population_share: float | None
    covered_length_m: float
    total_length_m: float
    note: str = ""
    from_cache: bool = False

    def by_type(self) -> dict[str, int]:
        """Station counts by type (every type of :data:`~geo.schema.STATION_TYPES`)."""
        return dict(self.stations_by_type)


#: Columns of :meth:`ProgressTable.frame`, in order (``stations_<type>`` per type).
FRAME_COLUMNS: Final[tuple[str, ...]] = (
    "city", "version", "created_at", "created_by", "action", "parent_version",
    "stations_total", *(f"stations_{t}" for t in STATION_TYPES), "stations_used",
    "stations_off_network", "covered_share", "demand_basis", "covered_length_share",
    "covered_population_share", "covered_length_m", "total_length_m", "sha256", "note",
)


@dataclass(frozen=True)
class ProgressTable:
    """Coverage per (city, version), oldest version first within each city (read-only)."""

    rows: tuple[ProgressRow, ...]
    params: CoverageParams
    network_key: str
    region_label: str
    cities: tuple[str, ...]
    anonymous: bool
    computed: int
    cached: int

    @property
    def demand_basis(self) -> DemandBasis | None:
        """The rows' demand basis (one region: the same for all), None without rows."""
        return self.rows[0].demand_basis if self.rows else None

    def note(self, lang: str = "zh") -> str:
        """What the reader should know about the rows ("" when nothing)."""
        if not self.anonymous:
            return ""
        return ANONYMOUS_NOTE_EN if lang == "en" else ANONYMOUS_NOTE_ZH

    def frame(self) -> pd.DataFrame:
        """The rows as a DataFrame with :data:`FRAME_COLUMNS` (CSV column names)."""
        records = [_record(r) for r in self.rows]
        frame = pd.DataFrame(records, columns=list(FRAME_COLUMNS))
        for c in ("version", "stations_total", "stations_used", "stations_off_network",
                  *(f"stations_{t}" for t in STATION_TYPES)):
            frame[c] = frame[c].astype("int64")
        frame["parent_version"] = frame["parent_version"].astype("Int64")
        for c in ("covered_share", "covered_length_share", "covered_population_share",
                  "covered_length_m", "total_length_m"):
            frame[c] = pd.to_numeric(frame[c], errors="coerce").astype("float64")
        return frame

    def meta(self) -> dict[str, Any]:
        """What ``progress.json`` holds besides the rows: parameters, network, basis."""
        return {
            "format": PROGRESS_FORMAT, "yizhan_version": __version__,
            "params": {**self.params.to_dict(),
                       **mode_summary(self.params.mode, speed_kmh=self.params.walk_speed_kmh)},
            "network": {"region": self.region_label, "key": self.network_key},
            "demand_basis": self.demand_basis, "cities": list(self.cities),
            "versions": len(self.rows), "anonymous": self.anonymous,
            "note": self.note("en") or None, "note_zh": self.note("zh") or None,
            "computed": self.computed, "from_cache": self.cached,
        }


def _record(r: ProgressRow) -> dict[str, Any]:
    out: dict[str, Any] = {
        "city": r.city, "version": r.version, "created_at": r.created_at,
        "created_by": r.created_by, "action": r.action, "parent_version": r.parent_version,
        "stations_total": r.stations_total,
        "stations_used": r.stations_used, "stations_off_network": r.stations_off_network,
        "covered_share": r.covered_share, "demand_basis": r.demand_basis,
        "covered_length_share": r.covered_length_share,
        "covered_population_share": r.covered_population_share,
        "covered_length_m": r.covered_length_m, "total_length_m": r.total_length_m,
        "sha256": r.sha256, "note": r.note,
    }
    out.update({f"stations_{t}": n for t, n in r.stations_by_type})
    return out


# ------------------------------------------------------------------------------ the job


def coverage_progress(store: VersionStore, network_or_region: WalkNetwork | Region, *,
                      cities: list[str] | tuple[str, ...] | None = None,
                      params: CoverageParams, user: Reader = OPERATOR,
                      cache_dir: str | os.PathLike[str] | None = None,
                      progress: ProgressCallback | None = None) -> ProgressTable:
    """Coverage of every version of every city's list (or of ``cities``), one row each.

    ``network_or_region``: a network (analysis cells, street-length basis) or a
    :class:`~geo.pipeline.region.Region` (its towns give the population basis when each
    has a population), prepared for ``params.mode``; a region loaded for another mode
    (the app's regions are loaded for walking) has its streets loaded again with the
    mode's filter (:func:`geo.pipeline.bases.region_network`; refused with what to do
    when its source cannot be read again). ``user``: who reads the store (see the
    module docstring; an anonymous reader gets each city's current version only).
    ``cache_dir``: where the per-version figures are cached (None: no cache).
    ``progress(done, total)`` after each version. A city without a stored version raises
    :class:`~geo.errors.UnknownVersionError`.
    """
    if not isinstance(params, CoverageParams):
        raise InvalidParameterError(
            f"params must be CoverageParams, got {type(params).__name__}")
    network, towns, label = _unpack(_in_mode(network_or_region, params.mode))
    population = (network_or_region.population if isinstance(network_or_region, Region)
                  else None)
    key = _network_key(network, towns, population)
    chosen = _cities(store, cities, user)
    infos = _versions(store, chosen, user)
    rows: list[ProgressRow] = []
    for i, info in enumerate(infos):
        rows.append(_row(store, info, user=user, network=network, towns=towns,
                         population=population, params=params, network_key=key,
                         cache_dir=cache_dir))
        if progress is not None:
            progress(i + 1, len(infos))
    cached = sum(r.from_cache for r in rows)
    return ProgressTable(rows=tuple(rows), params=params, network_key=key,
                         region_label=label, cities=tuple(chosen), anonymous=user is None,
                         computed=len(rows) - cached, cached=cached)


def _in_mode(source: WalkNetwork | Region, mode: str) -> WalkNetwork | Region:
    """A region with its network in ``mode`` (reloaded when needed); anything else as is
    (a network of another mode is refused by the coverage engine, with what to do)."""
    if not isinstance(source, Region) or \
            source.network.filter_report.version == FILTER_VERSIONS[check_mode(mode)]:
        return source
    return dataclasses.replace(source, network=region_network(source, mode),
                               key=f"{source.key}|{mode}")


def _unpack(source: WalkNetwork | Region) -> tuple[WalkNetwork, LayerTable | None, str]:
    if isinstance(source, Region):
        return source.network, source.towns, source.label
    if isinstance(source, WalkNetwork):
        return source, None, source.source or "network"
    raise InvalidParameterError(
        f"network_or_region must be a WalkNetwork or a Region, got {type(source).__name__}")


def _cities(store: VersionStore, cities: list[str] | tuple[str, ...] | None,
            user: Reader) -> list[str]:
    """The cities asked for (default: every city with a version), each checked."""
    stored = store.cities(user=user)
    if cities is None:
        return stored
    if isinstance(cities, str):
        raise InvalidParameterError("cities must be a list of city names, not one text")
    out = list(dict.fromkeys(str(c).strip() for c in cities if str(c).strip()))
    missing = [c for c in out if c not in stored]
    if missing:
        have = ", ".join(stored) or "none"
        raise UnknownVersionError(
            f"no station list stored for {', '.join(missing)} (cities in the database: "
            f"{have}): see `yizhan stations history`",
            zh=f"数据库中没有{'、'.join(missing)}的站点名单（已有：{have}）")
    return out


def _versions(store: VersionStore, cities: list[str], user: Reader) -> list[VersionInfo]:
    """Every version (full readers) or each city's current one (anonymous)."""
    infos: list[VersionInfo] = []
    for city in cities:
        if user is None:
            current = store.current(city, user=None)
            infos.extend([current] if current is not None else [])
        else:
            infos.extend(store.history(city, user=user))
    return infos


def _row(store: VersionStore, info: VersionInfo, *, user: Reader, network: WalkNetwork,
         towns: LayerTable | None, population: PopulationGrid | None,
         params: CoverageParams, network_key: str,
         cache_dir: str | os.PathLike[str] | None) -> ProgressRow:
    """One version's row: its stations (read as ``user``), figures cached or computed."""
    # anonymous: read "the current version" in one snapshot, so a version stored since
    # the history was read cannot turn this into a refused read of an older one
    table, info = layer_table(store, info.city, user=user,
                              version=None if user is None else info.version)
    key = cache_key(info, table, params=params, network_key=network_key)
    figures = _cache_read(cache_dir, key)
    from_cache = figures is not None
    if figures is None:
        figures = version_figures(network, table, towns=towns, params=params,
                                  population=population)
        _cache_write(cache_dir, key, figures)
    return _make_row(info, table, figures, from_cache=from_cache)


def _make_row(info: VersionInfo, table: LayerTable, f: Figures, *,
              from_cache: bool) -> ProgressRow:
    share = (f["covered_population_share"] if is_people(f["demand_basis"])
             else f["covered_length_share"])
    return ProgressRow(
        city=info.city, version=info.version, created_at=info.created_at,
        created_by=info.created_by, action=info.action, parent_version=info.parent_version,
        sha256=info.sha256, stations_total=len(table.accepted),
        stations_by_type=_by_type(table), stations_used=f["stations_used"],
        stations_off_network=f["stations_off_network"], demand_basis=f["demand_basis"],
        covered_share=share, covered_length_share=f["covered_length_share"],
        covered_population_share=f["covered_population_share"],
        covered_length_m=f["covered_length_m"], total_length_m=f["total_length_m"],
        note=f["note"], from_cache=from_cache,
    )


def _by_type(table: LayerTable) -> tuple[tuple[str, int], ...]:
    """Counts per station type; a type outside the known ones counts as ``other``."""
    types = table.accepted["type"].astype(str)
    known = types.where(types.isin(list(STATION_TYPES)), "other")
    counts = known.value_counts()
    return tuple((t, int(counts.get(t, 0))) for t in STATION_TYPES)


def version_figures(network: WalkNetwork, stations: LayerTable, *,
                    towns: LayerTable | None, params: CoverageParams,
                    population: PopulationGrid | None = None) -> Figures:
    """The coverage figures of one station list: the same numbers as
    :func:`~geo.pipeline.job.run_coverage` + ``summary_dict`` (per-station areas off).
    A list with no station on the network covers nothing (shares 0, said in ``note``)."""
    try:
        job = run_coverage(network, stations, params=params, towns=towns,
                           per_station_areas=False, population=population)
    except NoStationsOnNetworkError:
        return _nothing_covered(network, stations, towns, population)
    s = summary_dict(job)
    return {
        "stations_used": int(s["stations"]["used"]),
        "stations_off_network": int(s["stations"]["off_network"]),
        "demand_basis": s["demand_basis"],
        "covered_length_share": _float(s["covered_length_share"]),
        "covered_population_share": _float(s["covered_population_share"]),
        "covered_length_m": float(s["covered_length_m"]),
        "total_length_m": float(s["total_length_m"]), "note": "",
    }


def _nothing_covered(network: WalkNetwork, stations: LayerTable,
                     towns: LayerTable | None, population: PopulationGrid | None) -> Figures:
    pop = (pd.to_numeric(towns.accepted["population"], errors="coerce").to_numpy(float)
           if towns is not None and len(towns.accepted)
           and "population" in towns.accepted.columns else np.array([]))
    basis: DemandBasis = ("population_raster" if population is not None
                          else "population" if pop.size and np.isfinite(pop).all()
                          and pop.sum() > 0 else "street_length")
    total = round(network.total_length_m, 1)
    return {
        "stations_used": 0, "stations_off_network": len(stations.accepted),
        "demand_basis": basis, "covered_length_share": 0.0 if total else None,
        "covered_population_share": 0.0 if is_people(basis) else None,
        "covered_length_m": 0.0, "total_length_m": total,
        "note": "no station on the network",
    }


def _float(x: Any) -> float | None:
    return None if x is None else float(x)


# ------------------------------------------------------------------------------ keys


def _sha(*chunks: bytes) -> str:
    h = hashlib.sha256()
    for c in chunks:
        h.update(hashlib.sha256(c).digest())
    return h.hexdigest()


def _network_key(network: WalkNetwork, towns: LayerTable | None,
                 population: PopulationGrid | None = None) -> str:
    """sha256 of the network's content (CRS, nodes, edges, lengths, geometry), of the
    towns (ids, population, geometry) and of the population raster window (values,
    transform, CRS) the shares depend on."""
    coords = shapely.get_coordinates(network.geometry)
    parts = [network.crs.to_wkt().encode(), np.ascontiguousarray(network.node_x).tobytes(),
             np.ascontiguousarray(network.node_y).tobytes(),
             np.ascontiguousarray(network.edge_u).tobytes(),
             np.ascontiguousarray(network.edge_v).tobytes(),
             np.ascontiguousarray(network.length_m).tobytes(),
             np.ascontiguousarray(coords).tobytes()]
    if towns is not None:
        acc = towns.accepted
        pop = (acc["population"].astype(str).tolist() if "population" in acc.columns else [])
        ids = acc["town_id"].astype(str).tolist() if "town_id" in acc.columns else []
        parts += [str(acc.crs).encode(), json.dumps([ids, pop], ensure_ascii=False).encode(),
                  b"".join(shapely.to_wkb(acc.geometry.to_numpy(), hex=False))]
    if population is not None:
        parts += [b"population", population.crs.to_wkt().encode(),
                  repr(tuple(population.transform)).encode(),
                  np.ascontiguousarray(population.values).tobytes()]
    return _sha(*parts)


def cache_key(info: VersionInfo, table: LayerTable, *, params: CoverageParams,
              network_key: str) -> str:
    """The content key of one version's figures (see the module docstring)."""
    acc = table.accepted
    ll = acc.geometry.to_crs("EPSG:4326")
    stations = json.dumps([acc["station_id"].astype(str).tolist(),
                           acc["type"].astype(str).tolist(),
                           np.round(ll.x.to_numpy(), 9).tolist(),
                           np.round(ll.y.to_numpy(), 9).tolist()], ensure_ascii=False)
    fields = {"format": PROGRESS_FORMAT, "yizhan": __version__, "city": info.city,
              "version": info.version, "sha256": info.sha256,
              "stations": hashlib.sha256(stations.encode()).hexdigest(),
              "params": params.to_dict(), "network": network_key}
    return hashlib.sha256(json.dumps(fields, sort_keys=True, ensure_ascii=False)
                          .encode()).hexdigest()


def _cache_path(cache_dir: str | os.PathLike[str], key: str) -> Path:
    return Path(cache_dir) / f"progress-{key}.json"


_FIGURE_KEYS: Final = frozenset(Figures.__annotations__)


def _cache_read(cache_dir: str | os.PathLike[str] | None, key: str) -> Figures | None:
    """The cached figures of ``key``; None when absent, unreadable or not ours."""
    if cache_dir is None:
        return None
    try:
        data = json.loads(_cache_path(cache_dir, key).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    figures = data.get("figures") if isinstance(data, dict) else None
    if (not isinstance(data, dict) or data.get("key") != key
            or not isinstance(figures, dict) or set(figures) != _FIGURE_KEYS
            or figures["demand_basis"] not in ("population", "population_raster",
                                               "street_length")):
        return None
    return cast(Figures, {k: figures[k] for k in _FIGURE_KEYS})


def _cache_write(cache_dir: str | os.PathLike[str] | None, key: str,
                 figures: Figures) -> None:
    """Write the figures atomically (temporary file + rename); a failure only skips it."""
    if cache_dir is None:
        return
    folder = Path(cache_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".progress-", suffix=".tmp", dir=folder)
    except OSError:
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"format": PROGRESS_FORMAT, "key": key, "figures": figures}, fh,
                      ensure_ascii=False)
        os.replace(tmp, _cache_path(folder, key))
    except OSError:
        Path(tmp).unlink(missing_ok=True)


__all__ = [
    "ANONYMOUS_NOTE_EN",
    "ANONYMOUS_NOTE_ZH",
    "FRAME_COLUMNS",
    "PROGRESS_FORMAT",
    "Figures",
    "ProgressRow",
    "ProgressTable",
    "cache_key",
    "coverage_progress",
    "version_figures",
]
