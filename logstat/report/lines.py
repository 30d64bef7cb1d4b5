"""`logstat lines`: the records behind a count, as logged or as JSON lines."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TextIO

import polars as pl

from logstat import schema

# bookkeeping a reader of the rows has no use for
LEFT_OUT = {schema.LINE_KIND, schema.REJECT_REASON, schema.FILE_ID, schema.TRAILING_FIELDS}


def write_lines(frames: Iterable[pl.DataFrame], output: TextIO, as_json: bool, limit: int) -> int:
    """Write each record's line (or its fields as one JSON object a line); the count."""
    written = 0
    for frame in frames:
        if limit:
            frame = frame.head(limit - written)
        if as_json:
            output.write(_json_lines(frame))
        else:
            output.write("".join(f"{line}\n" for line in frame[schema.RAW_LINE]))
        output.flush()  # a reader sees each chunk at once, and `| head` stops the run early
        written += frame.height
        if limit and written >= limit:
            break
    return written


def _json_lines(frame: pl.DataFrame) -> str:
    canonical = [name for name in schema.COLUMNS if name in frame.columns]
    others = [name for name in frame.columns if name not in schema.COLUMNS and name not in LEFT_OUT]
    rows = frame.select(
        [
            pl.col(name).dt.to_string("%Y-%m-%dT%H:%M:%S%.6fZ")
            if frame.schema[name] == schema.TIMESTAMP
            else pl.col(name)
            for name in [*canonical, *others]
        ]
    )
    return rows.write_ndjson()
