"""A partial summary made into the report: the tables, with meanings joined once."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import polars as pl

from logstat import schema
from logstat.alerts import evaluate
from logstat.filters import Filters
from logstat.formats import vendor_chains
from logstat.line_counts import LineCounts
from logstat.report.model import FilterReport, Summary, Totals
from logstat.summary.drilldown import drilldown
from logstat.summary.file_rows import FileRow
from logstat.summary.latency import LatencyCounts
from logstat.summary.latency_rows import latency_report
from logstat.summary.path_latency import PathLatency
from logstat.summary.rows import (
    breakdown,
    class_rows,
    count_rows,
    layer_rows,
    status_rows,
    status_table,
    total,
    upstream_rows,
)
from logstat.summary.settings import LAYERS, ReportSettings
from logstat.summary.timeline import timeline
from logstat.summary.topk import TopCounts


class Counts(Protocol):
    """What a report is made from: a PartialSummary's counts (named here, not imported,
    since the partial summary makes its report with `build`)."""

    settings: ReportSettings
    files: dict[int, FileRow]
    top: dict[str, TopCounts]
    latency: LatencyCounts
    paths: PathLatency | None
    first: datetime | None
    last: datetime | None
    excluded: int

    def status_counts(self) -> pl.DataFrame: ...
    def reject_counts(self) -> pl.DataFrame: ...
    def bucket_counts(self) -> pl.DataFrame: ...
    def layer_counts(self, name: str) -> pl.DataFrame: ...


def build(partial: Counts, vendors: tuple[str, ...]) -> Summary:
    settings = partial.settings
    rows = [partial.files[file_id] for file_id in sorted(partial.files)]
    sources = {row.source for row in rows if row.source is not None}
    # per format read: the --vendor tables, then the format's own (status/chains.py)
    read_with = vendor_chains(vendors).only(sources)
    chains, own = read_with.chains, read_with.own
    counts = partial.status_counts()
    selected = total(counts)
    files = [row.report() for row in rows]
    lines = LineCounts.total(row.counts for row in rows)
    classes = class_rows(counts, selected)
    by = settings.by or ("source" if len(sources) > 1 else None)
    return Summary(
        totals=Totals(
            files=len(rows),
            lines=lines.lines,
            records=lines.records,
            rejected=lines.rejected,
            comments=lines.comments,
            blank=lines.blank,
            selected=selected,
        ),
        files=files,
        rejects={
            str(row[schema.REJECT_REASON]): int(row["count"])
            for row in partial.reject_counts()
            .sort(["count", schema.REJECT_REASON], descending=[True, False])
            .iter_rows(named=True)
        },
        first=partial.first,
        last=partial.last,
        classes=classes,
        statuses=status_rows(status_table(counts, chains, own), selected),
        upstream_statuses=upstream_rows(counts, read_with.upstream),
        layers=[
            row for name in LAYERS for row in layer_rows(partial.layer_counts(name), name, selected)
        ],
        vendors=list(vendors),
        filters=_filter_report(settings.filters, partial.excluded),
        timeline=(
            timeline(partial.bucket_counts(), settings.every, [row.status_class for row in classes])
            if settings.every is not None
            else None
        ),
        top=drilldown(settings, partial.top, counts) if settings.top else None,
        groups=breakdown(counts, chains, own, by, selected) if by else None,
        counts=count_rows(counts) if settings.counts else None,
        alerts=evaluate(settings.rules, counts, files) if settings.rules else None,
        latency=latency_report(partial.latency, partial.paths, settings.latency_paths()),
    )


def _filter_report(filters: Filters, excluded: int) -> FilterReport | None:
    if not filters.active:
        return None
    return FilterReport(
        since=filters.since,
        until=filters.until,
        status=[term.text for term in filters.statuses],
        path=filters.path,
        host=list(filters.hosts),
        method=list(filters.methods),
        source=list(filters.sources),
        excluded=excluded,
    )
