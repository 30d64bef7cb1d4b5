"""Latency and bytes by status, for sources that log a duration: state that merges exactly.

Quantiles come from a log-bucket sketch with DDSketch's mapping (Masson, Rim and
Lee, "DDSketch", VLDB 2019), made and read with polars group-bys, never per line:
a positive duration x falls in bucket i = ceil(ln x / ln gamma), gamma = (1 + a) /
(1 - a), and a bucket stands for 2 gamma^i / (gamma + 1), within a relative error
`a` (RELATIVE_ACCURACY) of every value in it.  The state is counts per (source,
status, measure, bucket), so merging adds counts: exact, whatever the split or the
order.  A zero duration has its own bucket (read back as 0); a negative one (a
clock step between two timestamps) is counted apart and is in no quantile.
Counts, the largest and smallest durations and their sum in microseconds are exact.

Bytes sent per status (requests with a byte count, their sum) and the slowest
requests (the N largest durations under one total order: the N largest of the N
largest of each part) merge exactly too.  Nothing here runs for a frame whose
format logs no duration (the frame has no DURATION column): the plain nginx
`combined` summary pays nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import polars as pl

from logstat import formats, schema
from logstat.report.latency_model import MEASURE_LABELS

RELATIVE_ACCURACY = 0.01
GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
LOG_GAMMA = math.log(GAMMA)
QUANTILES = (0.5, 0.9, 0.99)
DURATION = schema.DURATION
MEASURES = tuple(MEASURE_LABELS)  # the whole request first, then its parts
KEYS = ["source", "status_class", "status"]
MEASURE = "measure"
BUCKET = "bucket_index"
COUNT = "count"
# Bucket indexes of the values no logarithm maps: below every real bucket, zero first
NEGATIVE = -(2**31)
ZERO = NEGATIVE + 1
PATH = "path"
SLOW_COLUMNS = [DURATION, "source", "timestamp", "status", PATH]
SLOW_ORDER = [True, False, False, False, False]  # descending: the slowest first
COMPACT_EVERY = 64
EXTREMES = [pl.col("largest").max(), pl.col("smallest").min(), pl.col("microseconds").sum()]


class Table:
    """Rows grouped by `keys`, merged by `aggregations` (sums, max, min), held as parts
    that are combined now and then: memory follows the distinct keys, not the lines."""

    def __init__(self, keys: Sequence[str], aggregations: Sequence[pl.Expr]) -> None:
        self.keys = list(keys)
        self.aggregations = list(aggregations)
        self.parts: list[pl.DataFrame] = []

    def add(self, part: pl.DataFrame) -> None:
        if part.height:
            self.parts.append(part)
        if len(self.parts) >= COMPACT_EVERY:
            self.parts = [self._combined()]

    def merge(self, other: Table) -> None:
        for part in other.parts:
            self.add(part)

    def table(self) -> pl.DataFrame | None:
        return self._combined() if self.parts else None

    @property
    def held_rows(self) -> int:
        return sum(part.height for part in self.parts)

    def _combined(self) -> pl.DataFrame:
        if len(self.parts) == 1:
            return self.parts[0]
        both = pl.concat(self.parts, how="vertical_relaxed")
        return both.group_by(self.keys).agg(self.aggregations)


class LatencyCounts:
    """The durations, byte counts and slowest requests of the records added."""

    def __init__(self, slowest: int) -> None:
        self.slowest_kept = slowest
        self.buckets = Table([*KEYS, MEASURE, BUCKET], [pl.col(COUNT).sum()])
        self.extremes = Table([*KEYS, MEASURE], EXTREMES)
        self.bytes = Table(KEYS, [pl.col("with_bytes").sum(), pl.col("bytes").sum()])
        self.slowest: pl.DataFrame | None = None

    def add(self, records: pl.DataFrame, floor: float | None = None) -> None:
        """Count in selected records; nothing happens unless their format logs a duration.
        `floor`: no record quicker than it can be among the slowest (those of the counts
        these will be merged into: their `floor()`), none is kept."""
        if DURATION not in records.columns or records.height == 0:
            return
        buckets, extremes = bucket_figures(measured_durations(records, KEYS), KEYS)
        self.buckets.add(buckets)
        self.extremes.add(extremes)
        sent = records.get_column("bytes_sent") if "bytes_sent" in records.columns else None
        if sent is not None and sent.null_count() < records.height:
            # not filtered first (a copy of every column): a group with no byte count
            # gets a row with_bytes 0, which the report leaves out
            self.bytes.add(
                records.group_by(KEYS).agg(
                    pl.col("bytes_sent").count().cast(pl.Int64).alias("with_bytes"),
                    pl.col("bytes_sent").cast(pl.Int64).sum().alias("bytes"),
                )
            )
        self._keep_slowest(records, floor)

    def merge(self, other: LatencyCounts) -> None:
        self.buckets.merge(other.buckets)
        self.extremes.merge(other.extremes)
        self.bytes.merge(other.bytes)
        if other.slowest is not None:
            self._keep_slowest(other.slowest)

    def floor(self) -> float | None:
        """The duration of the quickest of the slowest requests kept, once N are kept: no
        quicker request can be among them."""
        if self.slowest is None or self.slowest.height < self.slowest_kept:
            return None
        return float(self.slowest.get_column(DURATION).min())  # type: ignore[arg-type]

    @property
    def held_rows(self) -> int:
        tables = (self.buckets, self.extremes, self.bytes)
        slowest = self.slowest.height if self.slowest is not None else 0
        return slowest + sum(table.held_rows for table in tables)

    def _keep_slowest(self, records: pl.DataFrame, floor: float | None = None) -> None:
        """The N slowest of these records and of those kept: ties broken by every column
        shown, so any split keeps the same rows.  Records parsed without their path (a
        format that reads a line again: schema.SLOWEST_ONLY) get it here, the few that
        can be among the slowest."""
        later = PATH not in records.columns and schema.RAW_LINE in records.columns
        shown = [name for name in SLOW_COLUMNS if not (later and name == PATH)]
        present = [name for name in shown if name in records.columns]
        # no quicker record than the floor can be kept (nor a negative duration): the
        # rows are filtered before their columns are taken, most often down to none
        floor = max(known for known in (floor, self.floor(), 0.0) if known is not None)
        timed = records.filter(pl.col(DURATION) >= floor)
        timed = timed.select(*present, *([schema.RAW_LINE] if later else []))
        missing = [name for name in shown if name not in present]
        timed = timed.with_columns(
            pl.lit(None, dtype=schema.COLUMNS[name]).alias(name) for name in missing
        )
        if timed.height > self.slowest_kept:
            cutoff = timed.get_column(DURATION).top_k(self.slowest_kept).min()
            timed = timed.filter(pl.col(DURATION) >= cutoff)
        if later:
            timed = _with_paths(timed, self.slowest_kept)
        timed = timed.select(SLOW_COLUMNS)
        both = timed if self.slowest is None else pl.concat([self.slowest, timed])
        self.slowest = both.sort(SLOW_COLUMNS, descending=SLOW_ORDER, nulls_last=True).head(
            self.slowest_kept
        )


def _with_paths(timed: pl.DataFrame, kept: int) -> pl.DataFrame:
    """The rows of `timed` (SLOW_COLUMNS but the path, and the raw line) that can be
    among its `kept` slowest, each with its path read again from its line: the first
    `kept` in SLOW_COLUMNS' order without the path, and those equal to the last of them
    in all but the path (which orders them)."""
    before_path = SLOW_COLUMNS[:-1]
    ranked = timed.sort(before_path, descending=SLOW_ORDER[:-1], nulls_last=True)
    if ranked.height > kept:
        last = ranked.row(kept - 1, named=True)
        tied = pl.all_horizontal(pl.col(name).eq_missing(last[name]) for name in before_path)
        ranked = pl.concat([ranked.head(kept), ranked.slice(kept).filter(tied)])
    parts = [
        part.with_columns(
            formats.read_again(source, part.get_column(schema.RAW_LINE), PATH).alias(PATH)
        )
        for (source,), part in ranked.group_by("source", maintain_order=True)
    ]
    if not parts:
        return ranked.with_columns(pl.lit(None, dtype=schema.COLUMNS[PATH]).alias(PATH))
    return pl.concat(parts)


def measured_durations(records: pl.DataFrame, keys: Sequence[str]) -> pl.DataFrame:
    """One row per (record, measure it logs): `keys`, MEASURE and `seconds`."""
    measures = [name for name in MEASURES if name in records.columns]
    return (
        records.select(*keys, *measures)
        .unpivot(index=list(keys), on=measures, variable_name=MEASURE, value_name="seconds")
        .filter(pl.col("seconds").is_finite())  # null, NaN and infinity say nothing
    )


def bucket_figures(
    durations: pl.DataFrame, keys: Sequence[str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Durations counted by (`keys`, MEASURE, bucket), and per (`keys`, MEASURE) the
    largest and smallest duration >= 0 and their sum in microseconds (exact, as
    integers).  One group-by over the durations: the extremes are those of the buckets
    (every bucket but NEGATIVE holds durations >= 0), found on their few rows."""
    seconds = pl.col("seconds")
    index = (
        pl.when(seconds > 0)
        .then((seconds.log() / LOG_GAMMA).ceil())
        .when(seconds == 0)
        .then(ZERO)
        .otherwise(NEGATIVE)
        .cast(pl.Int32)
        .alias(BUCKET)
    )
    grouped = durations.group_by(*keys, MEASURE, index).agg(
        pl.len().cast(pl.Int64).alias(COUNT),
        seconds.max().alias("largest"),
        seconds.min().alias("smallest"),
        (seconds * 1_000_000).round().cast(pl.Int64).sum().alias("microseconds"),
    )
    buckets = grouped.select(*keys, MEASURE, BUCKET, COUNT)
    measured = grouped.filter(pl.col(BUCKET) != NEGATIVE)
    return buckets, measured.group_by(*keys, MEASURE).agg(EXTREMES)


def bucket_value(index: pl.Expr) -> pl.Expr:
    """What a bucket stands for: 2 gamma^i / (gamma + 1), 0 for the zero bucket."""
    return (
        pl.when(index == ZERO)
        .then(0.0)
        .otherwise((index.cast(pl.Float64) * LOG_GAMMA).exp() * (2 / (GAMMA + 1)))
    )


def quantiles(buckets: pl.DataFrame, keys: Sequence[str]) -> pl.DataFrame:
    """Per group of `keys`: `requests` (with a duration >= 0), `negative`, and p50 ... p99,
    each the value of rank floor(q (n - 1)) in sorted order, within RELATIVE_ACCURACY."""
    keys = list(keys)
    summed = buckets.group_by([*keys, BUCKET]).agg(pl.col(COUNT).sum())
    negative = summed.filter(pl.col(BUCKET) == NEGATIVE)
    measured = summed.filter(pl.col(BUCKET) != NEGATIVE).sort([*keys, BUCKET], nulls_last=True)
    ranked = measured.with_columns(
        pl.col(COUNT).cum_sum().over(keys).alias("up_to"),
        pl.col(COUNT).sum().over(keys).alias("requests"),
    )
    picks = [
        pl.col(BUCKET)
        .filter(pl.col("up_to") > (quantile * (pl.col("requests") - 1)).floor())
        .min()
        .alias(quantile_name(quantile))
        for quantile in QUANTILES
    ]
    result = ranked.group_by(keys).agg(pl.col("requests").first(), *picks)
    result = result.with_columns(
        bucket_value(pl.col(quantile_name(quantile))).alias(quantile_name(quantile))
        for quantile in QUANTILES
    )
    negatives = negative.group_by(keys).agg(pl.col(COUNT).sum().alias("negative"))
    return result.join(
        negatives, on=keys, how="full", coalesce=True, nulls_equal=True
    ).with_columns(pl.col("requests").fill_null(0), pl.col("negative").fill_null(0))


def quantile_name(quantile: float) -> str:
    """p50, p90, p99, p999."""
    return "p" + f"{quantile * 100:g}".replace(".", "")
