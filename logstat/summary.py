"""Fold parsed chunks into the summary: counts by class and status, with meanings.

Chunks are reduced to small grouped counts as they arrive, so memory grows with
the number of distinct statuses, not with the number of lines.  Meanings are
joined once, on the final counts.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from logstat import schema
from logstat.pipeline import FileRun
from logstat.report.model import (
    ClassRow,
    FileSummary,
    StatusRow,
    Summary,
    Totals,
    UpstreamRow,
)
from logstat.status import tag

# The columns the summary reads; the pipeline parses nothing else.
NEEDED = {"status", "substatus", "upstream_status", "upstream_status_list", "timestamp"}
STATUS_KEYS = ["source", "status", "substatus", "status_class", "upstream_status", "produced_by"]
COMPACT_EVERY = 64  # merge partial counts after this many chunks
CLASS_ORDER = ["1xx", "2xx", "3xx", "4xx", "5xx", "other", "none"]
PRODUCERS = ("proxy", "upstream", "unknown")


class SummaryBuilder:
    """Accumulates counts chunk by chunk."""

    def __init__(self) -> None:
        self._status_parts: list[pl.DataFrame] = []
        self._reject_parts: list[pl.DataFrame] = []
        self._time_parts: list[pl.DataFrame] = []

    def add(self, frame: pl.DataFrame) -> None:
        records = frame.filter(pl.col(schema.LINE_KIND) == schema.RECORD)
        for column in STATUS_KEYS:  # a format may not have every layer
            if column not in records.columns:
                dtype = schema.COLUMNS.get(column, pl.String())
                records = records.with_columns(pl.lit(None, dtype=dtype).alias(column))
        self._status_parts.append(records.group_by(STATUS_KEYS).agg(pl.len().alias("count")))
        rejected = frame.filter(pl.col(schema.LINE_KIND) == schema.REJECTED)
        self._reject_parts.append(
            rejected.group_by(schema.REJECT_REASON).agg(pl.len().alias("count"))
        )
        if "timestamp" in records.columns:
            self._time_parts.append(
                records.select(
                    pl.col("timestamp").min().alias("first"),
                    pl.col("timestamp").max().alias("last"),
                )
            )
        if len(self._status_parts) >= COMPACT_EVERY:
            self._compact()

    def _compact(self) -> None:
        self._status_parts = [self.status_counts()]
        self._reject_parts = [self.reject_counts()]
        self._time_parts = [self.time_range()]

    def status_counts(self) -> pl.DataFrame:
        if not self._status_parts:
            return pl.DataFrame(
                schema={
                    **{key: schema.COLUMNS.get(key, pl.String()) for key in STATUS_KEYS},
                    "count": pl.UInt32(),
                }
            )
        return (
            pl.concat(self._status_parts, how="vertical_relaxed")
            .group_by(STATUS_KEYS)
            .agg(pl.col("count").sum())
        )

    def reject_counts(self) -> pl.DataFrame:
        if not self._reject_parts:
            return pl.DataFrame(schema={schema.REJECT_REASON: pl.String(), "count": pl.UInt32()})
        return (
            pl.concat(self._reject_parts).group_by(schema.REJECT_REASON).agg(pl.col("count").sum())
        )

    def time_range(self) -> pl.DataFrame:
        if not self._time_parts:
            return pl.DataFrame(schema={"first": schema.TIMESTAMP, "last": schema.TIMESTAMP})
        both = pl.concat(self._time_parts)
        return both.select(pl.col("first").min(), pl.col("last").max())

    def build(self, runs: list[FileRun], vendors: Iterable[str] = ()) -> Summary:
        user_vendors = tuple(vendors)
        chains = {
            run.choice.format.name: (*user_vendors, *run.choice.format.vendors)
            for run in runs
            if run.choice is not None
        }
        counts = self.status_counts()
        total = int(counts["count"].sum()) if counts.height else 0
        times = self.time_range()
        first = times["first"][0] if times.height else None
        last = times["last"][0] if times.height else None
        return Summary(
            totals=Totals(
                files=len(runs),
                lines=sum(run.lines for run in runs),
                records=sum(run.records for run in runs),
                rejected=sum(run.rejected for run in runs),
                comments=sum(run.comments for run in runs),
            ),
            files=[_file_summary(run) for run in runs],
            rejects={
                str(row[schema.REJECT_REASON]): int(row["count"])
                for row in self.reject_counts().sort("count", descending=True).iter_rows(named=True)
            },
            first=first,
            last=last,
            classes=_class_rows(counts, total),
            statuses=_status_rows(counts, total, chains),
            upstream_statuses=_upstream_rows(counts, chains),
            vendors=list(user_vendors),
        )


def _file_summary(run: FileRun) -> FileSummary:
    choice = run.choice
    return FileSummary(
        name=run.source.name,
        source=choice.format.name if choice else None,
        layout=choice.detection.parser.description if choice else None,
        detection=choice.summary if choice else None,
        compression=run.compression,
        lines=run.lines,
        records=run.records,
        rejected=run.rejected,
        comments=run.comments,
        invalid_utf8=run.invalid_utf8,
        problems=list(run.problems),
    )


def _producer_columns() -> list[pl.Expr]:
    return [
        pl.col("count").filter(pl.col("produced_by") == producer).sum().alias(producer)
        for producer in PRODUCERS
    ]


def _share(count: int, total: int) -> float:
    return round(count / total, 6) if total else 0.0


def _class_rows(counts: pl.DataFrame, total: int) -> list[ClassRow]:
    grouped = counts.group_by("status_class").agg(pl.col("count").sum(), *_producer_columns())
    by_class = {row["status_class"]: row for row in grouped.iter_rows(named=True)}
    rows = []
    for status_class in CLASS_ORDER:
        row = by_class.get(status_class)
        if row is None and status_class in ("other", "none"):
            continue  # shown only when present
        count = int(row["count"]) if row else 0
        rows.append(
            ClassRow(
                status_class=status_class,
                count=count,
                share=_share(count, total),
                proxy=int(row["proxy"]) if row else 0,
                upstream=int(row["upstream"]) if row else 0,
                unknown=int(row["unknown"]) if row else 0,
            )
        )
    return rows


def _status_rows(
    counts: pl.DataFrame, total: int, chains: dict[str, tuple[str, ...]]
) -> list[StatusRow]:
    keys = ["source", "status", "substatus", "status_class"]
    grouped = counts.group_by(keys).agg(pl.col("count").sum(), *_producer_columns())
    tagged = tag(grouped.lazy(), chains).collect()
    ordered = tagged.sort(
        ["count", "source", "status", "substatus"],
        descending=[True, False, False, False],
        nulls_last=True,
    )
    return [
        StatusRow(
            source=row["source"],
            status=row["status"],
            substatus=row["substatus"],
            status_class=row["status_class"],
            count=int(row["count"]),
            share=_share(int(row["count"]), total),
            name=row["status_name"],
            meaning=row["status_meaning"],
            vendor=row["status_vendor"],
            registered=bool(row["status_registered"]),
            proxy=int(row["proxy"]),
            upstream=int(row["upstream"]),
            unknown=int(row["unknown"]),
        )
        for row in ordered.iter_rows(named=True)
    ]


def _upstream_rows(counts: pl.DataFrame, chains: dict[str, tuple[str, ...]]) -> list[UpstreamRow]:
    present = counts.filter(pl.col("upstream_status").is_not_null())
    if present.height == 0:
        return []
    grouped = present.group_by(["source", "upstream_status"]).agg(pl.col("count").sum())
    total = int(grouped["count"].sum())
    tagged = tag(
        grouped.lazy(), chains, status="upstream_status", substatus=None, prefix="upstream"
    ).collect()
    ordered = tagged.sort(["count", "source", "upstream_status"], descending=[True, False, False])
    return [
        UpstreamRow(
            source=row["source"],
            upstream_status=int(row["upstream_status"]),
            count=int(row["count"]),
            share=_share(int(row["count"]), total),
            name=row["upstream_name"],
            meaning=row["upstream_meaning"],
            vendor=row["upstream_vendor"],
        )
        for row in ordered.iter_rows(named=True)
    ]
