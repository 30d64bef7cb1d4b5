"""Where a parser that keeps state (a header in effect) is in the file it reads.

Such a parser sees one file chunk by chunk, in order.  A chunk that starts at or
before a line already read means the file is read again from its start (a rotated
file, a second pass); a first chunk past line 1 is a file read on from the middle
(`--state`), below the header the detection sample showed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl


def numbered(lines: pl.LazyFrame) -> pl.DataFrame:
    """The chunk's lines, with 1-based line numbers when the caller gave none."""
    if "line_no" not in lines.collect_schema():
        lines = lines.with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.UInt64).alias("line_no"))
    return lines.collect()


@dataclass
class Position:
    last_line_no: int = 0

    def enter(
        self, frame: pl.DataFrame, restart: Callable[[], None], resume: Callable[[], None]
    ) -> None:
        """Move into the chunk `frame`: `restart` when the file is read again from its
        start, `resume` when reading starts below its first line."""
        first = int(frame["line_no"][0]) if frame.height else 0
        if first and first <= self.last_line_no:
            restart()
        elif self.last_line_no == 0 and first > 1:
            resume()
        if frame.height:
            self.last_line_no = int(frame["line_no"][-1])
