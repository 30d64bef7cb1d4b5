"""Counts of one field's values for `--top`, in bounded memory whatever the cardinality.

Exact while the distinct keys fit a budget (rows and bytes); past it, a mergeable
Misra-Gries summary (Agarwal et al., "Mergeable summaries", PODS 2012) per
partition (status and class: a rare 5xx keeps its own counters, however busy
200 is).  A reduction keeps each partition's `keep` largest counters and lowers
every counter of the partition by the next largest count `cut`; counters at or
below it drop out, and the partition's `error` grows by `cut`.  So for every
value, reported <= true <= reported + error, and a value not kept has a true
count <= error.  Each reduction removes at least (keep + 1) * cut requests from
the counters, hence error <= (requests - counted) / (keep + 1).  Requests
without a value (null) are never reduced: `missing` stays exact.

The distinct values are estimated from a sample of their hashes (see SAMPLE).
The state (counters, errors, hashes) is plain tables: two summaries combine by
adding both (`merge`), and the bound holds for the sum.  Everything is done with
polars group-bys over whole tables, never per line.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

BUDGET = 100_000  # counter rows kept per field (a row with a 60-byte path: ~100 bytes)
BUDGET_BYTES = 16 << 20  # and their size: fewer rows when values are long (2 KB queries)
COUNT = "count"
ERROR = "error"  # per partition: how much any count may be low
HASH = "hash"
# Distinct values, once the counters are approximate: the SAMPLE smallest hashes of the
# values per partition (a "k minimum values" sketch: relative standard error
# 1/sqrt(SAMPLE - 2), about 3%; exact below SAMPLE values).  A fixed seed: the hashes
# agree across processes running one polars version.
SAMPLE = 1024
SEED = 0x6C6F6773746174  # fixed: the same value hashes alike in every process


class TopCounts:
    """Counts by (partition keys, value); `add` takes grouped counts of a chunk."""

    def __init__(
        self,
        keys: Sequence[str],
        value: str,
        schema: dict[str, pl.DataType],
        budget: int | None = None,
        budget_bytes: int | None = None,
    ) -> None:
        self.keys = list(keys)
        self.value = value
        # read late: tests lower them
        self.budget = budget if budget is not None else BUDGET
        self.budget_bytes = budget_bytes if budget_bytes is not None else BUDGET_BYTES
        self._schema = schema  # every key column and the value column
        self._kept: pl.DataFrame | None = None  # merged counters (at most `budget` rows)
        self._pending: list[pl.DataFrame] = []
        self._pending_rows = 0
        self._pending_bytes = 0
        self._errors = self._empty_errors()
        key_schema = {name: self._schema[name] for name in self.keys}
        # hashes of the values a reduction may have dropped (taken just before each one)
        self._hashes = pl.DataFrame(schema={**key_schema, HASH: pl.UInt64()})

    @property
    def held_rows(self) -> int:
        """Rows held: at most 2 x budget plus the last chunk's rows (and a row per
        partition: the requests without a value, the errors; and once approximate, at
        most SAMPLE hashes per partition)."""
        kept = self._kept.height if self._kept is not None else 0
        return kept + self._pending_rows + self._errors.height + self._hashes.height

    @property
    def pending_parts(self) -> int:
        """Parts added since the counters were last merged."""
        return len(self._pending)

    @property
    def held_bytes(self) -> int:
        """Bytes held in counters: about 2 x budget_bytes plus the last chunk's (the
        row limit is set from the rows' mean size)."""
        kept = int(self._kept.estimated_size()) if self._kept is not None else 0
        return kept + self._pending_bytes

    def add(self, counts: pl.DataFrame) -> None:
        """Grouped counts (keys, value, count) of some records."""
        self._pending.append(counts)
        self._pending_rows += counts.height
        self._pending_bytes += int(counts.estimated_size())
        if self._pending_rows > self.budget or self._pending_bytes > self.budget_bytes:
            self.compact()

    def compact(self) -> None:
        """Merge what was added; reduce to the budget only when it does not fit."""
        if not self._pending:
            return
        parts = [self._kept] if self._kept is not None else []
        parts += self._pending
        # a single part is grouped already (what `add` takes): no second group-by
        merged = parts[0] if len(parts) == 1 else _sum(parts, [*self.keys, self.value])
        self._pending, self._pending_rows, self._pending_bytes = [], 0, 0
        limit = self._row_limit(merged)
        if merged.height > limit:
            # requests with no value are counted apart, exactly: `missing` stays exact
            absent = pl.col(self.value).is_null()
            self._hashes = self._sample(self._hashes, merged)
            reduced = self._reduce(merged.filter(~absent), limit)
            merged = pl.concat([reduced, merged.filter(absent)])
        self._kept = merged

    def _row_limit(self, merged: pl.DataFrame) -> int:
        """The rows that fit both budgets, at the size of these rows."""
        if merged.height == 0:
            return self.budget
        per_row = max(1, int(merged.estimated_size()) // merged.height)
        return max(1, min(self.budget, self.budget_bytes // per_row))

    def merge(self, other: TopCounts) -> None:
        """Add another summary of other records (same keys and value) to this one; `other`
        is left as it was.  The counters add up and so do the errors, so the bound holds
        for the sum; the budget is enforced as for `add`, when the pending rows exceed it."""
        for part in [*other._pending, *([other._kept] if other._kept is not None else [])]:
            self.add(part)
        if other._hashes.height:
            self._hashes = self._smallest(pl.concat([self._hashes, other._hashes]))
        if other._errors.height:
            self._add_errors(other._errors)

    def counts(self) -> pl.DataFrame:
        """The counters: (keys, value, count); exact where the partition's error is 0."""
        self.compact()
        if self._kept is None:
            return pl.DataFrame(schema={**self._column_schema(), COUNT: pl.UInt32()})
        return self._kept

    def errors(self) -> pl.DataFrame:
        """(keys, error) of the partitions that were ever reduced."""
        self.compact()
        return self._errors

    def hashes(self) -> pl.DataFrame:
        """(keys, hash): per partition, the SAMPLE smallest hashes of its values."""
        return self._sample(self._hashes, self.counts())

    def _sample(self, hashes: pl.DataFrame, counts: pl.DataFrame) -> pl.DataFrame:
        """`hashes` and those of the values in `counts`, the SAMPLE smallest per partition."""
        present = counts.filter(pl.col(self.value).is_not_null())
        added = present.select(*self.keys, pl.col(self.value).hash(SEED).alias(HASH))
        return self._smallest(pl.concat([hashes, added], how="vertical_relaxed"))

    def _smallest(self, hashes: pl.DataFrame) -> pl.DataFrame:
        unique = hashes.unique()
        return unique.filter(pl.col(HASH).rank("ordinal").over(self.keys) <= SAMPLE)

    def _add_errors(self, errors: pl.DataFrame) -> None:
        combined = pl.concat([self._errors, errors], how="vertical_relaxed")
        self._errors = combined.group_by(self.keys).agg(pl.col(ERROR).sum())

    def _reduce(self, merged: pl.DataFrame, limit: int) -> pl.DataFrame:
        sizes = merged.group_by(self.keys).agg(pl.len().alias("rows"))
        keep = water_level(sizes["rows"].to_list(), limit)
        ranked = merged.with_columns(
            pl.col(COUNT).rank("ordinal", descending=True).over(self.keys).alias("rank")
        )
        cuts = ranked.filter(pl.col("rank") == keep + 1).select(
            *self.keys, pl.col(COUNT).cast(pl.UInt64).alias(ERROR)
        )
        reduced = (
            ranked.join(cuts, on=self.keys, how="left", nulls_equal=True)
            .with_columns(pl.col(ERROR).fill_null(0))
            .filter(pl.col(COUNT) > pl.col(ERROR))
            .select(
                *self.keys,
                self.value,
                (pl.col(COUNT) - pl.col(ERROR)).cast(merged.schema[COUNT]).alias(COUNT),
            )
        )
        self._add_errors(cuts)
        return reduced

    def _column_schema(self) -> dict[str, pl.DataType]:
        return {name: self._schema[name] for name in [*self.keys, self.value]}

    def _empty_errors(self) -> pl.DataFrame:
        keys = {name: self._schema[name] for name in self.keys}
        return pl.DataFrame(schema={**keys, ERROR: pl.UInt64()})


def distinct_estimate(hashes: pl.DataFrame) -> int:
    """Distinct values behind `hashes` (one or more partitions' samples): exact below
    SAMPLE, else the k-minimum-values estimate (SAMPLE - 1) / (SAMPLE-th smallest / 2^64)."""
    smallest = hashes[HASH].unique().sort().head(SAMPLE)
    if smallest.len() < SAMPLE:
        return smallest.len()
    return round((SAMPLE - 1) * 2**64 / (int(smallest[-1]) + 1))


def water_level(sizes: Sequence[int], budget: int) -> int:
    """The largest `keep` (at least 1) with sum(min(size, keep)) <= budget: partitions
    with few values keep them all, the others share the rest equally."""
    remaining, left = budget, len(sizes)
    for size in sorted(sizes):
        if size * left > remaining:
            return max(1, remaining // left)
        remaining -= size
        left -= 1
    return max(1, max(sizes, default=1))


def _sum(parts: list[pl.DataFrame], keys: list[str]) -> pl.DataFrame:
    return pl.concat(parts, how="vertical_relaxed").group_by(keys).agg(pl.col(COUNT).sum())
