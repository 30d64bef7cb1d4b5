"""Fold parsed chunks into the report: counts by class and status, with meanings,
plus what the report options ask for (filters, time buckets, top-k drill-down,
per-group tables, alert rules).

Chunks are reduced to small grouped counts as they arrive and partial counts
are merged now and then, so memory grows with the number of distinct keys
(statuses, time buckets, paths ...), never with the number of lines.  Meanings
are joined once, on the final counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import polars as pl

from logstat import schema
from logstat.alerts import Rule, evaluate
from logstat.errors import ExitCode, LogstatError
from logstat.filters import Duration, Filters, StatusTerm
from logstat.pipeline import FileRun
from logstat.report.model import (
    Breakdown,
    Bucket,
    ClassRow,
    CountRow,
    Drilldown,
    FileSummary,
    FilterReport,
    Group,
    LayerRow,
    StatusRow,
    Summary,
    Timeline,
    TopEntry,
    TopField,
    TopGroup,
    Totals,
    UpstreamRow,
    status_text,
)
from logstat.status import Registry, load_registry, tag
from logstat.topk import ERROR, TopCounts, distinct_estimate

# The columns the default summary reads; the pipeline parses nothing else.
NEEDED = {"status", "substatus", "upstream_status", "upstream_status_list", "timestamp"}
STATUS_KEYS = ["source", "status", "substatus", "status_class", "upstream_status", "produced_by"]
COMPACT_EVERY = 64  # merge partial counts after this many chunks
TOP_KEYS = ["status", "status_class"]  # --top counts are kept (and bounded) per status
CLASS_ORDER = ["1xx", "2xx", "3xx", "4xx", "5xx", "other", "none"]
PRODUCERS = ("proxy", "upstream", "unknown")

# --top: the fields drilled into by default, and every field that may be named
TOP_FIELDS = ("path", "client_ip", "host", "user_agent")
DRILLABLE = ("path", "client_ip", "host", "user_agent", "referer", "method", "query", "protocol")
TOP_BY = ("class", "status")  # besides the default: the --status terms ("selection")
GROUP_BY = ("source", "host", "file")  # --by
MAX_BUCKETS = 100_000  # --every: a report nobody can read, and a lot of memory

BUCKET = "bucket"

# The status layers logged beside the HTTP status, explained in their own tables, with
# which rows say something: IIS sc-win32-status (0 is "no error"), ALB error_reason and
# desync classification_reason.  Counted apart from STATUS_KEYS and only in frames that
# have the column, so nginx and Apache (which have none) pay nothing.
LAYERS: dict[str, pl.Expr] = {
    "win32_status": pl.col("win32_status").is_not_null() & (pl.col("win32_status") != 0),
    "error_reason": pl.col("error_reason").is_not_null(),
    "classification_reason": pl.col("classification_reason").is_not_null(),
}
LAYER_KEYS = ["source", "status"]  # + the layer's column: which status each value came with


@dataclass(frozen=True)
class ReportSettings:
    """What the report options ask for; the default is the plain summary."""

    filters: Filters = field(default_factory=Filters)
    every: Duration | None = None  # --every
    top: int = 0  # --top N (0: no drill-down)
    top_fields: tuple[str, ...] = TOP_FIELDS
    top_by: str | None = None  # class | status; None: the --status terms if any, else class
    by: str | None = None  # --by source|host|file; None: per source when several are read
    counts: bool = False  # fine counts by source/host/status for counters (Prometheus)
    rules: tuple[Rule, ...] = ()  # --fail-if

    def needed(self) -> set[str]:
        """The parsed columns this report reads (drives the pipeline's projection)."""
        columns = set(NEEDED) | set(LAYERS) | self.filters.columns()
        if self.top:
            columns |= set(self.top_fields)
        columns |= set(self.detail_keys()) - {"file"}
        return columns

    def detail_keys(self) -> list[str]:
        """Keys counted beside STATUS_KEYS (source is already one of them)."""
        keys = []
        if self.by in ("host", "file"):
            keys.append(self.by)
        if self.counts and "host" not in keys:
            keys.append("host")
        return keys


FIELD_ALIASES = {"client": "client_ip", "agent": "user_agent", "ua": "user_agent"}


def parse_top_fields(values: Sequence[str]) -> tuple[str, ...]:
    """`--top-fields path,client` -> canonical column names (TOP_FIELDS when empty)."""
    names = [item.strip().lower() for value in values for item in value.split(",")]
    chosen = [FIELD_ALIASES.get(name, name) for name in names if name]
    for name in chosen:
        if name not in DRILLABLE:
            raise LogstatError(
                f"--top-fields: unknown field {name!r}; choose from "
                f"{', '.join(DRILLABLE)} (or client, agent)",
                ExitCode.USAGE,
            )
    return tuple(dict.fromkeys(chosen)) or TOP_FIELDS


def parse_choice(value: str | None, option: str, choices: Sequence[str]) -> str | None:
    if value is None:
        return None
    if value.lower() not in choices:
        raise LogstatError(
            f"{option} {value!r}: choose one of {', '.join(choices)}", ExitCode.USAGE
        )
    return value.lower()


def _ensure(frame: pl.DataFrame, columns: Iterable[str]) -> pl.DataFrame:
    """Add the columns a format does not have, as nulls of their canonical type."""
    missing = [column for column in dict.fromkeys(columns) if column not in frame.columns]
    return frame.with_columns(
        pl.lit(None, dtype=schema.COLUMNS.get(column, pl.String())).alias(column)
        for column in missing
    )


def _merge(parts: list[pl.DataFrame], keys: list[str]) -> pl.DataFrame:
    return pl.concat(parts, how="vertical_relaxed").group_by(keys).agg(pl.col("count").sum())


class SummaryBuilder:
    """Accumulates counts chunk by chunk; `build` turns them into a Summary."""

    def __init__(self, settings: ReportSettings | None = None) -> None:
        self.settings = settings or ReportSettings()
        self.keys = STATUS_KEYS + self.settings.detail_keys()
        self.excluded = 0  # records the filters left out
        self.without_status = 0  # records with no status (`-`), before filters
        self._predicate = self.settings.filters.expression()  # built once
        self._chunks = 0
        self._status_parts: list[pl.DataFrame] = []
        self._reject_parts: list[pl.DataFrame] = []
        self._time_parts: list[pl.DataFrame] = []
        self._bucket_parts: list[pl.DataFrame] = []
        self._top: dict[str, TopCounts] = {
            name: TopCounts(TOP_KEYS, name, {**schema.COLUMNS, "status_class": pl.String()})
            for name in (self.settings.top_fields if self.settings.top else ())
        }
        self._layer_parts: dict[str, list[pl.DataFrame]] = {name: [] for name in LAYERS}

    def add(self, frame: pl.DataFrame) -> None:
        rejected = frame.filter(pl.col(schema.LINE_KIND) == schema.REJECTED)
        self._reject_parts.append(
            rejected.group_by(schema.REJECT_REASON).agg(pl.len().alias("count"))
        )
        records = frame.filter(pl.col(schema.LINE_KIND) == schema.RECORD)
        wanted = [*self.keys, "timestamp", *self.settings.filters.columns(), *self._top]
        records = _ensure(records, wanted)  # a format may not have every layer
        self.without_status += records["status"].null_count()
        if self._predicate is not None:
            kept = records.filter(self._predicate)
            self.excluded += records.height - kept.height
            records = kept
        self._status_parts.append(records.group_by(self.keys).agg(pl.len().alias("count")))
        self._time_parts.append(
            records.select(
                pl.col("timestamp").min().alias("first"),
                pl.col("timestamp").max().alias("last"),
            )
        )
        if self.settings.every is not None:
            self._bucket_parts.append(self._buckets(records, self.settings.every))
        for name, counts in self._top.items():
            counts.add(records.group_by([*TOP_KEYS, name]).agg(pl.len().alias("count")))
        self._add_layers(records)
        self._chunks += 1
        if self._chunks % COMPACT_EVERY == 0:
            self._compact()

    def _add_layers(self, records: pl.DataFrame) -> None:
        for name, says_something in LAYERS.items():
            if name in records.columns:
                present = records.filter(says_something)
                self._layer_parts[name].append(
                    present.group_by([*LAYER_KEYS, name]).agg(pl.len().alias("count"))
                )

    @staticmethod
    def _buckets(records: pl.DataFrame, every: Duration) -> pl.DataFrame:
        # records without a timestamp get a null bucket: counted as untimed
        return records.group_by(
            pl.col("timestamp").dt.truncate(every.polars).alias(BUCKET),
            "status_class",
            "status",
        ).agg(pl.len().alias("count"))

    def _compact(self) -> None:
        self._status_parts = [self.status_counts()]
        self._reject_parts = [self.reject_counts()]
        self._time_parts = [self.time_range()]
        if self._bucket_parts:
            self._bucket_parts = [self.bucket_counts()]
        for counts in self._top.values():
            counts.compact()
        for name, parts in self._layer_parts.items():
            if parts:
                self._layer_parts[name] = [self.layer_counts(name)]

    @property
    def held_rows(self) -> int:
        """Rows held in partial counts: bounded by distinct keys x COMPACT_EVERY, not lines
        (the --top counts by topk.BUDGET, whatever the number of distinct values)."""
        top = sum(counts.held_rows for counts in self._top.values())
        return top + sum(
            part.height
            for part in [
                *self._status_parts,
                *self._reject_parts,
                *self._bucket_parts,
                *(part for parts in self._layer_parts.values() for part in parts),
            ]
        )

    def status_counts(self) -> pl.DataFrame:
        """Selected records by STATUS_KEYS (+ detail keys), with `count`."""
        if not self._status_parts:
            return pl.DataFrame(
                schema={
                    **{key: schema.COLUMNS.get(key, pl.String()) for key in self.keys},
                    "count": pl.UInt32(),
                }
            )
        return _merge(self._status_parts, self.keys)

    def reject_counts(self) -> pl.DataFrame:
        if not self._reject_parts:
            return pl.DataFrame(schema={schema.REJECT_REASON: pl.String(), "count": pl.UInt32()})
        return _merge(self._reject_parts, [schema.REJECT_REASON])

    def time_range(self) -> pl.DataFrame:
        if not self._time_parts:
            return pl.DataFrame(schema={"first": schema.TIMESTAMP, "last": schema.TIMESTAMP})
        both = pl.concat(self._time_parts)
        return both.select(pl.col("first").min(), pl.col("last").max())

    def bucket_counts(self) -> pl.DataFrame:
        """Selected records by (bucket, status_class, status); bucket null: no timestamp."""
        if not self._bucket_parts:
            return pl.DataFrame(
                schema={
                    BUCKET: schema.TIMESTAMP,
                    "status_class": pl.String(),
                    "status": pl.Int16(),
                    "count": pl.UInt32(),
                }
            )
        return _merge(self._bucket_parts, [BUCKET, "status_class", "status"])

    def top_counts(self, name: str) -> pl.DataFrame:
        """Selected records by (status, status_class, `name`): exact while the distinct
        values fit topk.BUDGET, else counts that may be low by `top_errors`."""
        return self._top[name].counts()

    def top_errors(self, name: str) -> pl.DataFrame:
        """(status, status_class, error) where the `name` counts are approximate."""
        return self._top[name].errors()

    def layer_counts(self, name: str) -> pl.DataFrame:
        """Selected records with something in layer `name`, by (source, status, `name`)."""
        parts = self._layer_parts[name]
        if not parts:
            return pl.DataFrame(
                schema={
                    **{key: schema.COLUMNS[key] for key in LAYER_KEYS},
                    name: schema.COLUMNS.get(name, pl.String()),
                    "count": pl.UInt32(),
                }
            )
        return _merge(parts, [*LAYER_KEYS, name])

    def build(self, runs: list[FileRun], vendors: Iterable[str] = ()) -> Summary:
        settings = self.settings
        user_vendors = tuple(vendors)
        chains = {
            run.choice.format.name: (*user_vendors, *run.choice.format.vendors)
            for run in runs
            if run.choice is not None
        }
        # the tables of the layer that wrote each log: its own statuses only (tag)
        own = {run.choice.format.name: run.choice.format.vendors for run in runs if run.choice}
        counts = self.status_counts()
        total = _total(counts)
        times = self.time_range()
        first = times["first"][0] if times.height else None
        last = times["last"][0] if times.height else None
        described: dict[int, tuple[str, str]] = {}  # shared by the runs of one Choice
        files = [_file_summary(run, described) for run in runs]
        classes = _class_rows(counts, total)
        sources = {run.format_name for run in runs if run.format_name is not None}
        by = settings.by or ("source" if len(sources) > 1 else None)
        return Summary(
            totals=Totals(
                files=len(runs),
                lines=sum(run.lines for run in runs),
                records=sum(run.records for run in runs),
                rejected=sum(run.rejected for run in runs),
                comments=sum(run.comments for run in runs),
                blank=sum(run.blanks for run in runs),
                selected=total,
            ),
            files=files,
            rejects={
                str(row[schema.REJECT_REASON]): int(row["count"])
                for row in self.reject_counts()
                .sort(["count", schema.REJECT_REASON], descending=[True, False])
                .iter_rows(named=True)
            },
            first=first,
            last=last,
            classes=classes,
            statuses=_status_rows(_status_table(counts, chains, own), total),
            # the server behind a proxy speaks plain HTTP (or the --vendor apps), not the
            # proxy's dialect: a target's 502 is not ALB's 502
            upstream_statuses=_upstream_rows(counts, {name: user_vendors for name in chains}),
            layers=[
                row
                for name in LAYERS
                for row in _layer_rows(self.layer_counts(name), name, load_registry(), total)
            ],
            vendors=list(user_vendors),
            filters=_filter_report(settings.filters, self.excluded),
            timeline=(
                _timeline(
                    self.bucket_counts(), settings.every, [row.status_class for row in classes]
                )
                if settings.every is not None
                else None
            ),
            top=self._drilldown(counts, total) if settings.top else None,
            groups=_breakdown(counts, chains, own, by, total) if by else None,
            counts=_count_rows(counts) if settings.counts else None,
            alerts=evaluate(settings.rules, counts, files) if settings.rules else None,
        )

    def _drilldown(self, counts: pl.DataFrame, total: int) -> Drilldown:
        settings = self.settings
        by = settings.top_by or ("selection" if settings.filters.statuses else "class")
        groups = []
        for label, kind, predicate in _top_groups(by, counts, settings.filters.statuses):
            size = _total(counts.filter(predicate))
            if size == 0 and by != "selection":
                continue
            fields = [
                _top_field(self._top[name], predicate, size, settings.top)
                for name in settings.top_fields
            ]
            groups.append(TopGroup(group=label, kind=kind, count=size, fields=fields))
        return Drilldown(limit=settings.top, by=by, groups=groups)


def _total(counts: pl.DataFrame) -> int:
    return int(counts["count"].sum()) if counts.height else 0


def _file_summary(run: FileRun, described: dict[int, tuple[str, str]]) -> FileSummary:
    """What the report says about one file.  `described` keeps each Choice's layout and
    detection text: files that took a format from a sibling share its Choice, and a
    parser's description is worked out afresh on every call (10,000s of files)."""
    choice = run.choice
    layout: str | None = None
    if choice is None:
        detection = _undetected(run)
    else:
        known = described.get(id(choice))
        if known is None:
            known = described[id(choice)] = (choice.detection.parser.description, choice.summary)
        layout, detection = known
    return FileSummary(
        name=run.source.name,
        source=choice.format.name if choice else None,
        layout=layout,
        detection=detection,
        compression=run.compression,
        lines=run.lines,
        records=run.records,
        rejected=run.rejected,
        comments=run.comments,
        blank=run.blanks,
        invalid_utf8=run.invalid_utf8,
        problems=run.notes(),
    )


def _undetected(run: FileRun) -> str | None:
    """Why a file has no format, when there was nothing to recognise (None: unrecognised)."""
    if not run.blank:
        return None
    if run.lines == 0:
        return "empty file"
    return "no format recognised: the first lines are all blank"


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


def _status_table(
    counts: pl.DataFrame,
    chains: dict[str, tuple[str, ...]],
    own: dict[str, tuple[str, ...]],
    extra: Sequence[str] = (),
) -> pl.DataFrame:
    """Counts by (extra keys, source, status, substatus, produced_by), tagged once, most
    frequent first.  The producer is a key because it decides the meaning: ALB's own 502
    and a target's 502 that ALB passed on are two rows with two meanings."""
    keys = [*extra, "source", "status", "substatus", "status_class", "produced_by"]
    grouped = counts.group_by(keys).agg(pl.col("count").sum(), *_producer_columns())
    tagged = tag(grouped.lazy(), chains, produced_by="produced_by", own_vendors=own).collect()
    return tagged.sort(
        ["count", "source", "status", "substatus", "produced_by"],
        descending=[True, False, False, False, False],
        nulls_last=True,
    )


def _status_rows(table: pl.DataFrame, total: int) -> list[StatusRow]:
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
            produced_by=row["produced_by"],
            proxy=int(row["proxy"]),
            upstream=int(row["upstream"]),
            unknown=int(row["unknown"]),
        )
        for row in table.iter_rows(named=True)
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


def _layer_rows(counts: pl.DataFrame, name: str, registry: Registry, total: int) -> list[LayerRow]:
    """One row per (source, value) of layer `name`, most requests first, with the
    statuses it came with and its meaning (looked up once per distinct value)."""
    grouped = (
        counts.sort(["count", "status"], descending=[True, False], nulls_last=True)
        .group_by(["source", name])
        .agg(pl.col("status"), pl.col("count").alias("counts"), pl.col("count").sum())
        .sort(["count", "source", name], descending=[True, False, False])
    )
    rows = []
    for row in grouped.iter_rows(named=True):
        label, meaning = _layer_meaning(registry, name, row[name])
        rows.append(
            LayerRow(
                layer=name,
                source=row["source"],
                value=str(row[name]),
                count=int(row["count"]),
                share=_share(int(row["count"]), total),
                name=label,
                meaning=meaning,
                statuses={
                    status_text(status): int(count)
                    for status, count in zip(row["status"], row["counts"], strict=True)
                },
            )
        )
    return rows


def _layer_meaning(
    registry: Registry, name: str, value: int | str
) -> tuple[str | None, str | None]:
    """(symbolic name, meaning) of one layer value; None where the tables do not know it."""
    if name == "win32_status":
        return registry.win32(int(value)) or (None, None)
    if name == "error_reason":
        return None, registry.alb_error_reason(str(value))
    return None, registry.alb_classification_reason(str(value))


def _breakdown(
    counts: pl.DataFrame,
    chains: dict[str, tuple[str, ...]],
    own: dict[str, tuple[str, ...]],
    by: str,
    total: int,
) -> Breakdown:
    """Class and status tables per value of `by`, busiest first."""
    sizes = (
        counts.group_by(by)
        .agg(pl.col("count").sum())
        .sort(["count", by], descending=[True, False], nulls_last=True)
    )
    extra = [] if by == "source" else [by]
    table = _status_table(counts, chains, own, extra)
    groups = []
    for key, size in sizes.iter_rows():
        member = pl.col(by).is_null() if key is None else pl.col(by) == key
        groups.append(
            Group(
                key=key,
                records=int(size),
                share=_share(int(size), total),
                classes=_class_rows(counts.filter(member), int(size)),
                statuses=_status_rows(table.filter(member), int(size)),
            )
        )
    return Breakdown(by=by, groups=groups)


def _count_rows(counts: pl.DataFrame) -> list[CountRow]:
    keys = ["source", "host", "status_class", "status"]
    grouped = (
        _ensure(counts, ["host"])
        .group_by(keys)
        .agg(pl.col("count").sum())
        .sort(keys, nulls_last=True)
    )
    return [
        CountRow(
            source=row["source"],
            host=row["host"],
            status_class=row["status_class"],
            status=row["status"],
            count=int(row["count"]),
        )
        for row in grouped.iter_rows(named=True)
    ]


def _timeline(buckets: pl.DataFrame, every: Duration, classes: list[str]) -> Timeline:
    untimed = _total(buckets.filter(pl.col(BUCKET).is_null()))
    timed = buckets.filter(pl.col(BUCKET).is_not_null())
    if timed.height == 0:
        return Timeline(every=every.text, seconds=every.seconds, buckets=[], untimed=untimed)
    first: datetime = timed[BUCKET].min()  # type: ignore[assignment]
    last: datetime = timed[BUCKET].max()  # type: ignore[assignment]
    span = int((last - first).total_seconds()) // every.seconds + 1
    if span > MAX_BUCKETS:
        raise LogstatError(
            f"--every {every.text} over {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC "
            f"would make {span:,} buckets (at most {MAX_BUCKETS:,}); choose a longer interval "
            "or narrow the time range with --since/--until",
            ExitCode.USAGE,
        )
    starts = pl.datetime_range(
        first, last, every.polars, eager=True, time_unit="us", time_zone="UTC"
    )
    result = {
        start: Bucket(start=start, count=0, classes=dict.fromkeys(classes, 0), statuses={})
        for start in starts
    }
    ordered = timed.sort([BUCKET, "status"], nulls_last=True)
    for start, status_class, status, count in ordered.iter_rows():
        bucket = result[start]
        bucket.count += count
        bucket.classes[status_class] = bucket.classes.get(status_class, 0) + count
        key = status_text(status)
        bucket.statuses[key] = bucket.statuses.get(key, 0) + count
    return Timeline(
        every=every.text, seconds=every.seconds, buckets=list(result.values()), untimed=untimed
    )


def _top_groups(
    by: str, counts: pl.DataFrame, terms: Sequence[StatusTerm]
) -> list[tuple[str, str, pl.Expr]]:
    """(label, kind, predicate over status/status_class) for each drill-down group."""
    status, status_class = pl.col("status"), pl.col("status_class")
    if by == "selection":
        return [(term.text, term.kind, term.expression(status, status_class)) for term in terms]
    if by == "class":
        return [(name, "class", status_class == name) for name in CLASS_ORDER]
    codes = (
        counts.group_by("status")
        .agg(pl.col("count").sum())
        .sort(["count", "status"], descending=[True, False], nulls_last=True)
    )
    return [
        (
            status_text(code),
            "status",
            status.is_null() if code is None else (status == code).fill_null(False),
        )
        for code in codes["status"]
    ]


def _top_field(top: TopCounts, predicate: pl.Expr, size: int, limit: int) -> TopField:
    name, counts, errors = top.value, top.counts().filter(predicate), top.errors().filter(predicate)
    by_value = counts.group_by(name).agg(pl.col("count").sum())
    present = by_value.filter(pl.col(name).is_not_null())
    ranked = present.sort(["count", name], descending=[True, False]).head(limit)
    entries = [
        TopEntry(value=str(value), count=int(count), share=_share(int(count), size))
        for value, count in ranked.iter_rows()
    ]
    # approximate counts: a value's count may be low by the sum of its statuses' errors
    # (what the counters lost is in `others`; `missing` stays exact); distinct: estimated
    error = int(errors[ERROR].sum()) if errors.height else 0
    missing = _total(by_value.filter(pl.col(name).is_null()))
    distinct = present.height
    if error:
        # no fewer than the values counted, no more than the requests with a value
        estimate = distinct_estimate(top.hashes().filter(predicate))
        distinct = min(max(estimate, present.height), size - missing)
    return TopField(
        field=name,
        distinct=distinct,
        missing=missing,
        others=size - missing - sum(entry.count for entry in entries),
        entries=entries,
        error=error or None,
    )
