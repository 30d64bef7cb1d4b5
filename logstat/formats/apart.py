"""Lines one pass reads, converted apart from the few it does not.

A parser's first regex reads nearly every line of a healthy log.  Had the whole
chunk gone through the later passes (exact regexes, other layouts, tolerant
retries, reject reasons) because one line needed them, polars would have merged
and converted every row of it again.  So the first pass runs alone; the lines it
reads are converted from its groups, the others go through every pass, and the
two parts are merged back in line order.  Each line's result depends on that line
alone, so this is what every pass over every line gives (the parsers' tests check
it with hypothesis).
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

ROW = "__apart_row"  # each line's place, to merge the two parts back in order

Parse = Callable[[pl.LazyFrame], pl.LazyFrame]


def parse_apart(
    lines: pl.LazyFrame,
    first_pass: Parse,
    read: pl.Expr,
    convert: Parse,
    every_pass: Parse,
) -> pl.LazyFrame:
    """`lines` parsed: `first_pass` adds its columns to every line; the lines where `read`
    holds are finished by `convert` (from those columns), the others by `every_pass`
    (from the lines alone, as if the first pass had not run)."""
    original = lines.collect_schema().names()
    # the streaming engine parts the rows among the threads; in memory, one runs the regex
    frame = first_pass(lines.with_row_index(ROW)).collect(engine="streaming")
    common, rest = frame.filter(read), frame.filter(~read).select(ROW, *original)
    others = every_pass(rest.lazy())
    # the columns every pass makes, in its order: without running it when no line needs it
    parsed = others.collect() if rest.height else None
    result = others.collect_schema() if parsed is None else parsed.schema
    converted = convert(common.lazy()).collect(engine="streaming")

    def column(name: str, dtype: pl.DataType) -> pl.Expr:
        if name in converted.columns:
            return pl.col(name).cast(dtype)
        return pl.lit(None, dtype=dtype).alias(name)

    common_part = converted.select(column(name, dtype) for name, dtype in result.items())
    if parsed is None:
        return common_part.drop(ROW).lazy()
    # both parts are in line order: merged, they are in line order again
    return common_part.merge_sorted(parsed, ROW).drop(ROW).lazy()
