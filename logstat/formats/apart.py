"""Lines one pass reads, converted apart from the few it does not.

A parser's first regex reads nearly every line of a healthy log.  Had the whole
chunk gone through the later passes (exact regexes, other layouts, tolerant
retries, reject reasons) because one line needed them, polars would have merged
and converted every row of it again.  So the first pass runs alone; the lines it
reads are converted from its groups, the others go through every pass, and their
rows take their places among the first.  Each line's result depends on that line
alone, so this is what every pass over every line gives (the parsers' tests check
it with hypothesis).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

import polars as pl

ROW = "__apart_row"  # each line's place, to merge the two parts back in order

Parse = Callable[[pl.LazyFrame], pl.LazyFrame]


def parse_apart(
    lines: pl.LazyFrame,
    first_pass: Parse,
    read: pl.Expr,
    convert: Parse,
    every_pass: Parse,
    same_passes: Hashable = None,
) -> pl.LazyFrame:
    """`lines` parsed: `first_pass` adds its columns to every line; the lines where `read`
    holds are finished by `convert` (from those columns), the others by `every_pass`
    (from the lines alone, as if the first pass had not run).  `convert` runs over every
    line (what it makes of the others is replaced), so it must not fail on them.

    `same_passes`, when not None, stands for `every_pass`: equal values make columns of
    the same names and types from lines of the same columns, so the columns are worked
    out once, not for every chunk (building and planning the passes costs a chunk of
    nginx lines a tenth of its parse)."""
    original = lines.collect_schema()
    # the streaming engine parts the rows among the threads; in memory, one runs the regex
    frame = first_pass(lines.with_row_index(ROW)).collect(engine="streaming")
    taken = frame.select(read.fill_null(False)).to_series()
    parsed = None
    if not taken.all():
        rest = frame.select(ROW, *original.names()).filter(~taken)
        # the few lines every pass reads run on the in-memory engine: the streaming one
        # panicked once in polars 2.1 (binview `i < self.len()` in a string function under
        # the reject reasons' nested when/then, on a handful of junk lines; not reproduced
        # in 3,000 runs of the same test), and a few lines gain nothing from parting them
        parsed = every_pass(rest.lazy()).collect(engine="in-memory")
    # the columns every pass makes, in its order: without running it when no line needs it
    result = parsed.schema if parsed is not None else _columns(original, every_pass, same_passes)
    # every line converted, the few others too (their values are overwritten below): a
    # filter and a merge of every column cost more than converting what is not needed
    converted = convert(frame.lazy()).collect(engine="streaming")

    def column(name: str, dtype: pl.DataType) -> pl.Expr:
        if name in converted.columns:
            return pl.col(name).cast(dtype)
        return pl.lit(None, dtype=dtype).alias(name)

    common_part = converted.select(column(name, dtype) for name, dtype in result.items())
    if parsed is None:
        return common_part.drop(ROW).lazy()
    # each line's place is its row number: the others' rows are put in their places
    places = parsed.get_column(ROW)
    return pl.DataFrame(
        [
            common_part.get_column(name).scatter(places, parsed.get_column(name))
            for name in result.names()
            if name != ROW
        ]
    ).lazy()


_COLUMNS: dict[Hashable, pl.Schema] = {}


def _columns(original: pl.Schema, every_pass: Parse, same_passes: Hashable) -> pl.Schema:
    """The columns `every_pass` makes of lines of the `original` columns (plus ROW)."""
    key = None if same_passes is None else (same_passes, tuple(original.items()))
    known = _COLUMNS.get(key) if key is not None else None
    if known is not None:
        return known
    empty = pl.LazyFrame(schema=original).with_row_index(ROW)
    columns = every_pass(empty).collect_schema()
    if key is not None:
        if len(_COLUMNS) >= 256:  # a long-lived process reading many layouts: stay small
            _COLUMNS.clear()
        _COLUMNS[key] = columns
    return columns
