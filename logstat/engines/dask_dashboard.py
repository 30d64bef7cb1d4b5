"""`dashboard --cluster`: each task folds its inputs into the page's counts
(dashboard/data.py's DashboardBuilder: the summary, minutes by class, error paths),
and the builders merge on the cluster in a tree, as partial summaries do."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from logstat.engines import dask

if TYPE_CHECKING:
    from logstat.dashboard.data import DashboardBuilder
    from logstat.filters import Filters
    from logstat.reading.runs import Options
    from logstat.reading.sources import Source
    from logstat.time_zones import DisplayZone


def count(
    task: dask.Task, top: int, filters: Filters, zone: DisplayZone, options: Options
) -> DashboardBuilder:
    """One task, on a worker: its inputs folded into a builder of their own."""
    from logstat.dashboard.data import DashboardBuilder
    from logstat.reading import pipeline

    builder = DashboardBuilder(top, filters, zone)
    with dask.planned(task, options, builder.needed()) as runs:
        for _, frame in pipeline.read(runs, options, builder.needed(), None):
            builder.add(frame)
        builder.summary.add_files(runs)
    return builder


def merge(one: DashboardBuilder, other: DashboardBuilder) -> DashboardBuilder:
    return one.merge(other)


def fold(
    address: str,
    sources: Sequence[Source],
    top: int,
    filters: Filters,
    zone: DisplayZone,
    options: Options,
) -> DashboardBuilder:
    """The page's counts of every input, counted on the cluster (the files counted in)."""
    from logstat.dashboard.data import DashboardBuilder

    parts = dask.parts_of(sources)
    if not parts:
        return DashboardBuilder(top, filters, zone)
    with dask.connect(address) as client:
        groups = dask.tasks(parts, dask.slots(client))
        pending: list[Any] = [
            client.submit(
                count, task, top, filters, zone, options, retries=dask.RETRIES, pure=False
            )
            for task in groups
        ]
        result: DashboardBuilder = dask.fold(client, pending, merge)
    return result
