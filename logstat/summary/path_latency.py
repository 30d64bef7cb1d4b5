"""Latency and bytes per path, for the most requested paths: bounded state that merges.

A "path" here is a (source, path) pair: the same path logged by an ALB and by the nginx
behind it is two measurements (latency_rows.py shows them apart when several sources
log durations).  With one source, the pairs are the paths.

A path's figures are made as latency.py makes them by status (the same log buckets,
within the same relative error; exact count, largest, smallest, sum, bytes), for at
most PATHS paths and ROWS bucket rows however many distinct paths the logs hold.
Which paths keep their figures is decided as topk.py decides for --top: each path has
a Misra-Gries counter (`weight`).  When the paths held pass twice a budget, the
`keep` heaviest that fit both budgets stay, every weight is lowered by the next
heaviest weight `cut`, the paths at or below it are dropped with their figures, and
`error` grows by `cut`; a path dropped and seen again starts anew.  Hence for every
path, counted <= true <= counted + error (`counted`: the requests its figures
describe; a path not held has true <= error), and error <= requests / (keep + 1).

Each path also knows how many of its requests may be missing from its figures:
missed <= the error of the state it was (re)counted in, or of each merged state that
did not hold it, and 0 for a path held from the start everywhere (the busy paths).
It is kept as `slack` = error - missed, which adds up over merges (a state that does
not hold the path adds its whole error to `missed`) and grows by each cut the path
survives, so the state stays tables of sums.
Memory: between reductions at most 2 x PATHS paths (each with a row of extremes per
measure) and 2 x ROWS bucket rows, or one path's buckets when they alone pass ROWS
(at most ~1,300 per measure, for durations from 1 us to a day), plus the last chunk's.

Two states merge by adding their tables and errors, then reducing the same way
(Agarwal et al., "Mergeable summaries", PODS 2012).  While no reduction happened
(error 0) every figure is exact or within the sketch's error, whatever the split and
the order; past that, a path's figures describe its `counted` requests, never more.
"""

from __future__ import annotations

import polars as pl

from logstat.summary.latency import (
    BUCKET,
    COUNT,
    DURATION,
    EXTREMES,
    MEASURE,
    Table,
    bucket_figures,
    measured_durations,
)

PATHS = 1_000  # paths whose figures are held
ROWS = 200_000  # and their bucket rows (a path has ~100-1,300 per measure it logs)
PATH = "path"
SOURCE = "source"
KEYS = [SOURCE, PATH]  # what a row of the state is about
WEIGHT = "weight"  # the Misra-Gries counter: lowered by each reduction
REQUESTS = "requests"  # requests the path's figures describe
SLACK = "slack"  # error - missed: see above
COUNTS = [pl.col(name).sum() for name in (WEIGHT, REQUESTS, "with_bytes", "bytes", SLACK)]


class PathLatency:
    """Per path: requests, bytes, and the duration buckets and extremes of each measure."""

    def __init__(self, paths: int | None = None, rows: int | None = None) -> None:
        # read late: tests lower them
        self.paths_budget = paths if paths is not None else PATHS
        self.rows_budget = rows if rows is not None else ROWS
        self.counts = Table(KEYS, COUNTS)
        self.buckets = Table([*KEYS, MEASURE, BUCKET], [pl.col(COUNT).sum()])
        self.extremes = Table([*KEYS, MEASURE], EXTREMES)
        self.error = 0  # sum of the cuts: how much any path's count may be low
        # every source counted, whether or not a reduction dropped its paths since: the
        # views split by source when there are several (a few format names: no bound)
        self.sources: set[str] = set()

    def add(self, records: pl.DataFrame) -> None:
        """Count in selected records; nothing happens unless their format logs a duration."""
        if DURATION not in records.columns or PATH not in records.columns:
            return
        present = records.filter(pl.col(PATH).is_not_null())
        if present.height == 0:
            return
        if SOURCE not in present.columns:  # records made by hand (tests): one source
            present = present.with_columns(pl.lit("", pl.String()).alias(SOURCE))
        self.sources.update(present.get_column(SOURCE).drop_nulls().unique().to_list())
        logged = "bytes_sent" in present.columns
        sent = pl.col("bytes_sent").cast(pl.Int64)
        self.counts.add(
            present.group_by(KEYS).agg(
                pl.len().cast(pl.Int64).alias(WEIGHT),
                pl.len().cast(pl.Int64).alias(REQUESTS),
                (sent.count().cast(pl.Int64) if logged else pl.lit(0, pl.Int64)).alias(
                    "with_bytes"
                ),
                (sent.sum() if logged else pl.lit(0, pl.Int64)).alias("bytes"),
                pl.lit(0, pl.Int64).alias(SLACK),  # a chunk's counts miss nothing
            )
        )
        buckets, extremes = bucket_figures(measured_durations(present, KEYS), KEYS)
        self.buckets.add(buckets)
        self.extremes.add(extremes)
        self._fit()

    def merge(self, other: PathLatency) -> None:
        """Add another state (of other records); `other` is left as it was."""
        self.counts.merge(other.counts)
        self.buckets.merge(other.buckets)
        self.extremes.merge(other.extremes)
        self.error += other.error
        self.sources |= other.sources
        self._fit()

    @property
    def held_rows(self) -> int:
        """Rows held: bounded as the module says, whatever the number of paths."""
        tables = (self.counts, self.buckets, self.extremes)
        return sum(table.held_rows for table in tables)

    def top(
        self, limit: int
    ) -> tuple[pl.DataFrame, pl.DataFrame | None, pl.DataFrame | None] | None:
        """(counts, buckets, extremes) of the `limit` paths of each source with the most
        requests counted (by source, then most requests, ties by path; counts with
        `missed`), or None when no path was counted."""
        counts = self.counts.table()
        if counts is None:
            return None
        ranked = counts.sort([SOURCE, REQUESTS, PATH], descending=[False, True, False])
        chosen = ranked.filter(pl.int_range(pl.len()).over(SOURCE) < limit)
        chosen = chosen.with_columns((self.error - pl.col(SLACK)).alias("missed"))
        paths = chosen.select(KEYS)
        return (
            chosen,
            _only(self.buckets.table(), paths),
            _only(self.extremes.table(), paths),
        )

    def _fit(self) -> None:
        if (
            self.counts.held_rows > 2 * self.paths_budget
            or self.buckets.held_rows > 2 * self.rows_budget
        ):
            self._reduce()

    def _reduce(self) -> None:
        """Combine the parts; past either budget, keep the heaviest paths that fit both."""
        counts, buckets = self.counts.table(), self.buckets.table()
        extremes = self.extremes.table()
        if counts is None:
            return
        rows = (
            buckets.group_by(KEYS).agg(pl.len().alias("rows"))
            if buckets is not None
            else pl.DataFrame(schema={**dict.fromkeys(KEYS, pl.String()), "rows": pl.UInt32()})
        )
        ranked = (
            counts.join(rows, on=KEYS, how="left", nulls_equal=True)
            .with_columns(pl.col("rows").fill_null(0))
            .sort([WEIGHT, SOURCE, PATH], descending=[True, False, False])
        )
        fits = (pl.col("rows").cum_sum() <= self.rows_budget) & (
            pl.int_range(pl.len()) < self.paths_budget
        )
        keep = max(1, int(ranked.select(fits.sum()).item()))
        if keep < ranked.height:
            cut = int(ranked[WEIGHT][keep])
            counts = ranked.filter(pl.col(WEIGHT) > cut).select(
                *KEYS,
                (pl.col(WEIGHT) - cut).alias(WEIGHT),
                REQUESTS,
                "with_bytes",
                "bytes",
                (pl.col(SLACK) + cut).alias(SLACK),  # its missed count stays as it was
            )
            self.error += cut
            kept = counts.select(KEYS)
            buckets = _only(buckets, kept)
            extremes = _only(extremes, kept)
        self.counts.parts = [counts]
        self.buckets.parts = [buckets] if buckets is not None and buckets.height else []
        self.extremes.parts = [extremes] if extremes is not None and extremes.height else []


def _only(table: pl.DataFrame | None, paths: pl.DataFrame) -> pl.DataFrame | None:
    """The rows of `table` whose (source, path) is one of `paths`."""
    if table is None:
        return None
    return table.join(paths, on=KEYS, how="semi", nulls_equal=True)
