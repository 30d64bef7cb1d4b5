"""How the lines of a file were read: the one definition of the line counters.

Every line read is exactly one of a record, a rejected line, a comment (or header)
line or a blank line; `invalid_utf8` counts, besides, the lines that were not UTF-8.
The pipeline counts them per file as chunks go by, the summary adds the files up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from logstat import schema

# the counter of each line kind
KINDS = {
    "records": schema.RECORD,
    "rejected": schema.REJECTED,
    "comments": schema.COMMENT,
    "blank": schema.BLANK,
}


@dataclass
class LineCounts:
    lines: int = 0
    records: int = 0
    rejected: int = 0
    comments: int = 0
    blank: int = 0  # empty or white-space-only lines: neither records nor rejects
    invalid_utf8: int = 0

    def add(self, other: LineCounts) -> None:
        # spelled out (a summary adds one a file, 100,000s of them, and a loop over the
        # fields costs 13 µs an add); tests/test_line_counts.py checks every field adds
        self.lines += other.lines
        self.records += other.records
        self.rejected += other.rejected
        self.comments += other.comments
        self.blank += other.blank
        self.invalid_utf8 += other.invalid_utf8

    @classmethod
    def total(cls, many: Iterable[LineCounts]) -> LineCounts:
        result = cls()
        for counts in many:
            result.add(counts)
        return result


def _aggregations() -> list[pl.Expr]:
    kind = pl.col(schema.LINE_KIND)
    return [
        pl.len().alias("lines"),
        *((kind == value).sum().alias(name) for name, value in KINDS.items()),
        pl.col("invalid_utf8").sum().alias("invalid_utf8"),
    ]


def count_lines(frame: pl.DataFrame) -> LineCounts:
    """The counts of a parsed frame's lines (`line_kind`, `invalid_utf8`)."""
    row = frame.select(_aggregations()).row(0, named=True)
    return LineCounts(**{name: int(value or 0) for name, value in row.items()})


def count_lines_by_file(frame: pl.DataFrame) -> dict[int, LineCounts]:
    """count_lines per `file_id`, for a frame that holds the lines of several files."""
    grouped = frame.group_by(schema.FILE_ID).agg(_aggregations())
    result = {}
    for row in grouped.iter_rows(named=True):
        file_id = int(row.pop(schema.FILE_ID))
        result[file_id] = LineCounts(**{name: int(value or 0) for name, value in row.items()})
    return result
