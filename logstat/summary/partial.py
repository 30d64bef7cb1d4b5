"""A partial summary: counts of some of the lines, a value that merges exactly.

A chunk of parsed lines is reduced to small grouped counts (by status, reject
reason, time bucket, layer value, --top value ...) and those counts are merged,
so memory grows with the number of distinct keys, never with the number of
lines.  Chunks of one file, the files of one machine and the tasks of a cluster
all fold with the same `merge`; `summary()` turns the result into the report
(`logstat.report.model.Summary`), joining the meanings once, on the final counts.

Every table merges by adding counts (the time range by min and max), so the
result does not depend on how the input was cut or in what order the parts were
merged; the --top counters keep topk's bound when they overflow their budget.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import polars as pl

from logstat import schema
from logstat.reading.runs import FileRun
from logstat.report.model import Summary
from logstat.summary.file_rows import FileRow, file_rows
from logstat.summary.latency import LatencyCounts
from logstat.summary.path_latency import PathLatency
from logstat.summary.settings import (
    BUCKET,
    LAYER_KEYS,
    LAYERS,
    TOP_KEYS,
    ReportSettings,
    ensure_columns,
)
from logstat.summary.topk import TopCounts

COMPACT_EVERY = 64  # a table's parts are added up when this many are held


class Counted:
    """Grouped counts of records (`keys` and `count`), held as parts added up now and then."""

    def __init__(self, keys: Sequence[str]) -> None:
        self.keys = list(keys)
        self.parts: list[pl.DataFrame] = []

    def add(self, part: pl.DataFrame) -> None:
        """Grouped counts (one row per key) of some records."""
        self.parts.append(part)
        if len(self.parts) >= COMPACT_EVERY:
            self.parts = [_summed(self.parts, self.keys)]

    def merge(self, other: Counted) -> None:
        for part in other.parts:
            self.add(part)

    def table(self) -> pl.DataFrame | None:
        """One row per key with the summed `count`; None when nothing was counted."""
        return _summed(self.parts, self.keys) if self.parts else None

    @property
    def held_rows(self) -> int:
        return sum(part.height for part in self.parts)


class PartialSummary:
    """Counts of the lines added (`add`) and of the files read (`add_files`), merged with
    other partial summaries of the same settings (`merge`); `summary` makes the report."""

    def __init__(self, settings: ReportSettings | None = None) -> None:
        self.settings = settings or ReportSettings()
        self.statuses = Counted(self.settings.status_keys())  # selected records
        self.rejects = Counted([schema.REJECT_REASON])
        self.buckets = Counted([BUCKET, "status_class", "status"])  # --every
        self.layers = {name: Counted([*LAYER_KEYS, name]) for name in LAYERS}
        self.top = {
            name: TopCounts(TOP_KEYS, name, {**schema.COLUMNS, "status_class": pl.String()})
            for name in self.settings.drilled()
        }
        self.latency = LatencyCounts(self.settings.slowest())  # sources that log durations
        # and per path, for the top paths' latency (--top with paths; the dashboard)
        self.paths = PathLatency() if self.settings.latency_paths() else None
        self.first: datetime | None = None  # earliest selected request time
        self.last: datetime | None = None
        self.excluded = 0  # records the filters left out
        self.without_status = 0  # records with no status (`-`), before filters
        self.files: dict[int, FileRow] = {}  # by file_id
        self._predicate = self.settings.filters.expression()  # built once

    def add(self, frame: pl.DataFrame) -> None:
        """Count in a parsed frame: its own partial summary, merged into this one."""
        self.merge(self._counted(frame))

    def add_files(self, runs: Iterable[FileRun]) -> None:
        """Count in the files read, once their lines are read (their counters complete), and
        once: the counters of a file added twice add up twice."""
        self.take_files(file_rows(runs))

    def take_files(self, rows: Iterable[FileRow]) -> None:
        """Count in rows of files that nothing else holds (made for this, or sent by a
        worker): kept as they are, not copied (a cluster's run has 10,000s)."""
        for row in rows:
            held = self.files.get(row.file_id)
            if held is None:
                self.files[row.file_id] = row
            else:
                held.merge(row)

    def merge(self, other: PartialSummary) -> PartialSummary:
        """Add `other` (counts of other lines or files, same settings) to this one; `other`
        is left as it was.  Returns this summary, to fold with."""
        if other.settings != self.settings:
            raise ValueError("partial summaries of different report settings cannot merge")
        self.statuses.merge(other.statuses)
        self.rejects.merge(other.rejects)
        self.buckets.merge(other.buckets)
        for name, counted in self.layers.items():
            counted.merge(other.layers[name])
        for name, counts in self.top.items():
            counts.merge(other.top[name])
            if counts.pending_parts >= COMPACT_EVERY:
                counts.compact()  # as the tables: memory follows the distinct values
        self.latency.merge(other.latency)
        if self.paths is not None and other.paths is not None:
            self.paths.merge(other.paths)
        self.first = _earliest(self.first, other.first)
        self.last = _latest(self.last, other.last)
        self.excluded += other.excluded
        self.without_status += other.without_status
        for row in other.files.values():
            self._add_file(row)
        return self

    def summary(self, vendors: Iterable[str] = ()) -> Summary:
        """The report of everything counted, meanings read from the --vendor tables
        `vendors` first, then each format's own."""
        from logstat.summary.build import build  # the report side: views import it

        return build(self, tuple(vendors))

    @property
    def held_rows(self) -> int:
        """Rows held in partial counts: bounded by distinct keys x COMPACT_EVERY, not lines
        (the --top counts by topk.BUDGET, whatever the number of distinct values)."""
        tables = [self.statuses, self.rejects, self.buckets, *self.layers.values()]
        top = sum(counts.held_rows for counts in self.top.values())
        paths = self.paths.held_rows if self.paths is not None else 0
        latency = self.latency.held_rows + paths
        return top + latency + sum(counted.held_rows for counted in tables)

    def status_counts(self) -> pl.DataFrame:
        """Selected records by the status keys (+ detail keys), with `count`."""
        return _or_empty(self.statuses)

    def reject_counts(self) -> pl.DataFrame:
        return _or_empty(self.rejects)

    def bucket_counts(self) -> pl.DataFrame:
        """Selected records by (bucket, status_class, status); bucket null: no timestamp."""
        return _or_empty(self.buckets)

    def layer_counts(self, name: str) -> pl.DataFrame:
        """Selected records with something in layer `name`, by (source, status, `name`)."""
        return _or_empty(self.layers[name])

    def _add_file(self, row: FileRow) -> None:
        held = self.files.get(row.file_id)
        if held is None:
            # a copy: merging more parts of the file into it leaves `row` as it was
            self.files[row.file_id] = row.copy()
        else:
            held.merge(row)

    def _counted(self, frame: pl.DataFrame) -> PartialSummary:
        """The partial summary of one parsed frame."""
        part = PartialSummary(self.settings)  # filtered with this one's predicate, built once
        # a folded frame's rows stand for `WEIGHT` lines each: counts add those up
        weighted = schema.WEIGHT in frame.columns
        if weighted and schema.DURATION in frame.columns:
            raise ValueError("durations are counted line by line: fold no frame that has them")
        count = _count_expression(weighted)
        rejected = frame.filter(pl.col(schema.LINE_KIND) == schema.REJECTED)
        part.rejects.add(rejected.group_by(schema.REJECT_REASON).agg(count))
        records = frame.filter(pl.col(schema.LINE_KIND) == schema.RECORD)
        settings = self.settings
        wanted = [*part.statuses.keys, "timestamp", *settings.filters.columns(), *part.top]
        records = ensure_columns(records, wanted)  # a format may not have every layer
        part.without_status = _lines(records.filter(pl.col("status").is_null()), weighted)
        if self._predicate is not None:
            kept = records.filter(self._predicate)
            part.excluded = _lines(records, weighted) - _lines(kept, weighted)
            records = kept
        part.statuses.add(records.group_by(part.statuses.keys).agg(count))
        part.latency.add(records, self.latency.floor())  # merged into this one next
        if part.paths is not None:
            part.paths.add(records)
        timestamps = records.get_column("timestamp")
        part.first, part.last = timestamps.min(), timestamps.max()  # type: ignore[assignment]
        if settings.every is not None:
            # records without a timestamp get a null bucket: counted as untimed
            buckets = records.group_by(
                pl.col("timestamp").dt.truncate(settings.every.polars).alias(BUCKET),
                "status_class",
                "status",
            )
            part.buckets.add(buckets.agg(count))
        for name, counts in part.top.items():
            counts.add(records.group_by([*TOP_KEYS, name]).agg(count))
        for name, says_something in LAYERS.items():
            if name in records.columns:
                present = records.filter(says_something)
                grouped = present.group_by(part.layers[name].keys)
                part.layers[name].add(grouped.agg(count))
        return part


def _count_expression(weighted: bool) -> pl.Expr:
    """The lines of a group: its rows, or the lines they stand for (schema.WEIGHT)."""
    if not weighted:
        return pl.len().alias("count")
    return pl.col(schema.WEIGHT).sum().cast(pl.get_index_type()).alias("count")


def _lines(frame: pl.DataFrame, weighted: bool) -> int:
    """How many lines `frame` holds."""
    if not weighted:
        return frame.height
    return int(frame.get_column(schema.WEIGHT).sum())


def fold(partials: Iterable[PartialSummary]) -> PartialSummary:
    """The partial summaries merged into one (the first of them, which is changed)."""
    iterator = iter(partials)
    try:
        result = next(iterator)
    except StopIteration:
        raise ValueError("fold needs at least one partial summary") from None
    for partial in iterator:
        result.merge(partial)
    return result


def summarize_frames(
    frames: Iterable[pl.DataFrame],
    runs: Sequence[FileRun],
    settings: ReportSettings | None = None,
    vendors: Iterable[str] = (),
) -> Summary:
    """The summary of these parsed frames (`pipeline.read`) and of the files they came
    from (`runs`, whose counters are read once every frame has been counted)."""
    partial = PartialSummary(settings)
    for frame in frames:
        partial.add(frame)
    partial.add_files(runs)
    return partial.summary(vendors)


def _summed(parts: list[pl.DataFrame], keys: list[str]) -> pl.DataFrame:
    if len(parts) == 1:
        return parts[0]  # grouped already
    both = pl.concat(parts, how="vertical_relaxed")
    return both.group_by(keys).agg(pl.col("count").sum())


def _or_empty(counted: Counted) -> pl.DataFrame:
    table = counted.table()
    if table is not None:
        return table
    columns = {key: schema.COLUMNS.get(key, pl.String()) for key in counted.keys}
    if BUCKET in columns:
        columns[BUCKET] = schema.TIMESTAMP
    return pl.DataFrame(schema={**columns, "count": pl.UInt32()})


def _earliest(one: datetime | None, other: datetime | None) -> datetime | None:
    return other if one is None else one if other is None else min(one, other)


def _latest(one: datetime | None, other: datetime | None) -> datetime | None:
    return other if one is None else one if other is None else max(one, other)
