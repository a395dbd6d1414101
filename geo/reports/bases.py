"""The report's convalescence-base section (疗休养基地): each town's drive time to its
nearest base and the towns and people beyond each limit, when the job has bases.

The job's streets are loaded again with the car filter
(:func:`geo.pipeline.bases.region_network`); when that is not possible (a directory
prepared for walking, a downloaded region) the section says why instead of failing the
report.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Final

import pandas as pd

from geo.access.bases import DEFAULT_LIMITS_MIN, base_access
from geo.errors import InvalidParameterError, NetworkDataError
from geo.network.travel import travel_graph
from geo.pipeline.bases import region_network
from geo.pipeline.job import CoverageJob
from geo.pipeline.region import Region

#: Columns of :attr:`ReportBases.towns`, in order.
BASE_TOWN_COLUMNS: Final[tuple[str, ...]] = (
    "town_id", "name", "nearest_base_name", "drive_time_min", "drive_distance_m",
    "population",
)


@dataclass(frozen=True, eq=False)
class ReportBases:
    """Drive-time access of the job's towns to its bases (read-only frames).

    ``towns``: :data:`BASE_TOWN_COLUMNS`, longest drive first (unreachable first of all);
    ``beyond``: ``limit_min``, ``towns_beyond``, ``towns_total``, ``population_beyond``,
    ``population_total``; ``note``: why the section is empty (empty when computed).
    """

    towns: pd.DataFrame
    beyond: pd.DataFrame
    limits_min: tuple[float, ...]
    note: str = ""


def report_bases(job: CoverageJob, *, limits_min: tuple[float, ...] = DEFAULT_LIMITS_MIN,
                 cache_dir: str | os.PathLike[str] | None = None) -> ReportBases | None:
    """The base section of ``job`` (``None`` when the job has no bases)."""
    if job.bases is None or not len(job.bases):
        return None
    region = Region(key="report", label=job.region_name, network=job.network,
                    inputs=job.inputs)
    try:
        graph = travel_graph(region_network(region, "drive", cache_dir=cache_dir))
    except (InvalidParameterError, NetworkDataError) as exc:
        return ReportBases(towns=pd.DataFrame(columns=list(BASE_TOWN_COLUMNS)),
                           beyond=pd.DataFrame(), limits_min=tuple(limits_min),
                           note=str(exc))
    net = graph.network
    towns = job.towns.towns.to_crs(net.crs)
    result = base_access(graph, towns, job.bases.to_crs(net.crs), limits_min=limits_min)
    table = result.access.sort_values("drive_time_min", ascending=False, na_position="first")
    return ReportBases(towns=table.loc[:, list(BASE_TOWN_COLUMNS)].reset_index(drop=True),
                       beyond=result.beyond.rename(columns={"towns": "towns_total"}),
                       limits_min=result.limits_min)
