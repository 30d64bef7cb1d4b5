"""`dashboard --cluster`: each task folds its inputs into the page's counts
(dashboard/data.py's DashboardBuilder: the summary, minutes by class, error paths),
and the builders merge on the cluster in a tree, as partial summaries do; the rows of
the files read (one a file) come to the client apart, once (dask.fold_apart)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from logstat.engines import dask

if TYPE_CHECKING:
    from logstat.dashboard.data import DashboardBuilder
    from logstat.filters import Filters
    from logstat.reading.runs import Options
    from logstat.summary.file_rows import FileRow
    from logstat.time_zones import DisplayZone


@dataclass
class Counted:
    """What tasks counted for the page, and the rows of the files they read whole, apart
    from the builder's summary (dask.rows_apart)."""

    builder: DashboardBuilder
    rows: list[FileRow] = field(default_factory=list)

    def merge(self, other: Counted) -> Counted:
        """Add `other`, the counts of the tasks right after this one's."""
        self.builder.merge(other.builder)
        self.rows += other.rows
        return self


def count(
    task: dask.Task, top: int, filters: Filters, zone: DisplayZone, options: Options
) -> Counted:
    """One task, on a worker: its inputs folded into a builder of their own."""
    from logstat.dashboard.data import DashboardBuilder
    from logstat.reading import pipeline

    builder = DashboardBuilder(top, filters, zone)
    with dask.planned(task, options, builder.needed()) as runs:
        for _, frame in pipeline.read(runs, options, builder.needed(), None):
            builder.add(frame)
        return Counted(builder, dask.rows_apart(runs, builder.summary))


def fold(
    address: str,
    logs: list[str],
    top: int,
    filters: Filters,
    zone: DisplayZone,
    options: Options,
) -> DashboardBuilder:
    """The page's counts of every input `logs` name, counted on the cluster (the files
    counted in); connected to while the inputs are listed and cut (dask.connecting), as
    the summary does."""
    from logstat.dashboard.data import DashboardBuilder

    with dask.connecting(address) as cluster:
        parts = dask.parts_of(options.expand(logs))
        if not parts:  # an object prefix that lists nothing
            return DashboardBuilder(top, filters, zone)
        client = cluster.client()
        counting = (
            client.submit(
                count, task, top, filters, zone, options, retries=dask.RETRIES, pure=False
            )
            for task in dask.tasks(parts, dask.slots(client))
        )
        counted, rows = dask.fold_apart(client, counting)
        cluster.release()
    builder: DashboardBuilder = counted.builder
    builder.summary.take_files(rows)
    return builder
