"""The summary's reading of a plain file: one streaming polars query, lines folded by text.

A status summary needs a few fields of each line (the status and the time, for most
logs), and their values repeat.  So for a plain file (uncompressed, read from its
start, valid UTF-8) polars reads the lines itself (`scan_lines`), the first layout's
fast regex captures only those fields, and the lines are grouped by the captured
text: only the distinct keys are converted (a time once per second, not once per
line).  The lines that regex does not cover whole (a reject, another layout, text
after the last field, a stray `\\r`) are grouped by their own text and go through the
parser's whole chain, as the chunked reader would send them: each line's result
depends on that line alone (formats/apart.py).  The frames made here hold one row
per distinct key with the number of lines it stands for (`schema.WEIGHT`), which
`PartialSummary` adds up.

Everything else is read by `pipeline.read`, chunk by chunk: stdin and pipes,
compressed files, `--state`, a file that is not UTF-8 (polars refuses it, and the
file is read again the usual way), small files (batched there), files of more than
FOLD_MAX_BYTES (memory), parsers that keep state, formats that log a duration (the
latency report counts each one), and reports that need a field whose values hardly
repeat (--top paths, a path filter).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import polars as pl

from logstat import formats, schema
from logstat.formats.template import Layout, LayoutChain
from logstat.line_counts import LineCounts
from logstat.reading import pipeline
from logstat.reading.detection import choose, same_reading
from logstat.reading.lines import MAX_LINE_BYTES, POLARS_DECOMPRESSES, UTF8_BOM, Chunk, split_lines
from logstat.reading.runs import FileRun, Options, Progress
from logstat.reading.sources import detect_compression

# Smaller files are read in one chunk (and small ones batched): one query per file
# would cost them more than it saves.
FOLD_MIN_BYTES = 16 << 20
# Larger files are read chunk by chunk too: the folded keys grow with the seconds a
# file spans (times x statuses, about 140,000 for a million lines over five hours),
# and memory must stay flat whatever the file size.
FOLD_MAX_BYTES = 2 << 30
HEAD_BYTES = 1 << 16  # the start of a file, to see whether folding suits it
WINDOWS, WINDOW_BYTES = 32, 1 << 14  # and windows through the rest of it (512 KiB in all)
# The share of the head's lines the fast regex must cover whole: a file of another
# layout (or with fields after the layout's) would have all its lines grouped by text.
MOST_LINES = 0.99
# Fields whose values repeat enough to group lines by; paths, addresses or durations
# would make nearly every line a group of its own.
GROUPABLE = frozenset(
    {
        "status",
        "substatus",
        "upstream_status",
        "upstream_status_list",
        "timestamp",
        "host",
        "method",
        "protocol",
    }
)
_GROUPS = "__fold_groups"
_COVERED = "__fold_covered"
_ODD = "__fold_odd_line"  # the text of a line the fast regex does not cover, else null


def read(
    runs: list[FileRun],
    options: Options,
    needed: set[str] | None,
    progress: Progress | None = None,
) -> Iterator[tuple[FileRun, pl.DataFrame]]:
    """`pipeline.read` for a summary: the frames of the files that fold are folded
    (rows with `schema.WEIGHT`), the other files are read as `pipeline.read` reads them."""
    rest = []
    for run in runs:
        frames = fold(run, needed, options)
        if frames is None:
            rest.append(run)
            continue
        yield from ((run, frame) for frame in frames)
        if progress is not None and run.source.size is not None:
            progress(run.source.size)
    yield from pipeline.read(rest, options, needed, progress)


def fold(run: FileRun, needed: set[str] | None, options: Options) -> list[pl.DataFrame] | None:
    """The frames of a whole file, folded, with its counters filled; None when the file
    is not one to fold (it is then read as usual, and nothing was counted)."""
    chain = _foldable(run, needed)
    if chain is None:
        return None
    wanted = pipeline.columns_for(needed)  # as pipeline.read parses (no duration here)
    first = chain.layouts[0]
    capture = first.capture(_fold_columns(run, needed))
    fields = _FastFields(first, capture)
    path = run.source.path
    assert path is not None
    head = _head(run, fields)
    if head is None or (run.tentative and not _guess_holds(run, head, options)):
        return None
    try:
        grouped = _grouped(str(path), fields)
    except (pl.exceptions.PolarsError, OSError):
        return None  # not UTF-8, or gone: the usual reader says what it finds
    if run.tentative:
        run.tentative, run.compression = False, None  # confirmed; a plain file
    records = _covered(run, first, capture, grouped.filter(pl.col(_ODD).is_null()), wanted)
    lines = int(records.get_column(schema.WEIGHT).sum())
    run.counts.add(LineCounts(lines=lines, records=lines))
    odd_rows = grouped.filter(pl.col(_ODD).is_not_null())
    if odd_rows.height == 0:
        return [records]  # planning the chain's parse of no lines costs 20 ms
    odd = pipeline.parse_lines(run, _odd_lines(run, odd_rows), wanted)
    pipeline.count_lines_of(run, odd)
    return [records, odd]


def _foldable(run: FileRun, needed: set[str] | None) -> LayoutChain | None:
    """The run's layout chain when the file is one to fold, else None."""
    source = run.source
    if run.choice is None or run.resume is not None or run.kept_stream is not None:
        return None
    if source.path is None or not source.regular or source.remote is not None or run.vanished:
        return None
    chain = run.choice.detection.parser
    if isinstance(chain, Layout):  # a --log-format: parsed as a chain of one (Layout.parse)
        chain = LayoutChain((chain,))
    if not isinstance(chain, LayoutChain) or schema.DURATION in chain.columns():
        return None
    if needed is None:
        return None
    produced = _fold_columns(run, needed) & chain.layouts[0].columns()
    if not produced <= GROUPABLE:
        return None
    size = source.size
    if size is None or not FOLD_MIN_BYTES <= size <= FOLD_MAX_BYTES:
        return None
    return chain


def _fold_columns(run: FileRun, needed: set[str] | None) -> set[str]:
    """What the report reads, and what the format's produced_by reads."""
    assert run.choice is not None and needed is not None
    reads = run.choice.format.produced_by_reads
    return needed | {"status", "upstream_status"} | reads


def _head(run: FileRun, fields: _FastFields) -> pl.Series | None:
    """The whole lines of the file's start, when it starts as polars' reader reads it as
    the usual reader does (no byte-order mark, nothing it would take for compressed
    data) and nearly all of the lines of its head and of windows spread through it, up
    to its end, are covered by the fast regex; else None.  The windows keep a file whose
    layout changes part-way (a new log_format) from being folded: its odd lines would
    all be held as text at once."""
    assert run.source.path is not None
    try:
        with open(run.source.path, "rb") as file:
            head = file.read(HEAD_BYTES)
            size = os.fstat(file.fileno()).st_size
            windows = [_window(file, offset) for offset in _window_offsets(size)]
    except OSError:
        return None
    if head.startswith((UTF8_BOM, *POLARS_DECOMPRESSES)) or detect_compression(head[:8]):
        return None
    lines = _lines(head, size)
    spread = _lines(b"".join(windows), None) if any(windows) else lines
    if lines is None or spread is None or lines.len() == 0:
        return None
    checked = pl.concat([lines, spread]) if spread is not lines else lines
    covered = checked.to_frame().select(fields.covered(fields.groups()).sum()).item()
    return lines if covered >= MOST_LINES * checked.len() else None


def _guess_holds(run: FileRun, head: pl.Series, options: Options) -> bool:
    """For a file whose format was guessed from a sibling's: whether detection on its first
    lines agrees.  Then the chunked reader keeps the guess whatever its first chunk
    holds; otherwise it is left to decide (pipeline._confirm)."""
    assert run.choice is not None and run.source.path is not None
    lines: pl.Series | None = head
    if formats.sample_lines(head).len() < formats.SAMPLE_LINES:
        chunk = _start(run.source.path, options.chunk_bytes)  # the sample the reader takes
        lines = _lines(chunk, run.source.size) if chunk is not None else None
    if lines is None:
        return False
    found = choose(formats.sample_lines(lines), run.source.name, options)
    return found is not None and same_reading(found, run.choice)


def _start(path: Path, size: int) -> bytes | None:
    try:
        with open(path, "rb") as file:
            return file.read(size)
    except OSError:
        return None


def _lines(data: bytes, size: int | None) -> pl.Series | None:
    """The lines of `data` (the start of a file of `size` bytes), split as the usual
    reader splits them: a last line without its line end only at the end of the file."""
    whole = data if len(data) == size else data[: data.rfind(b"\n") + 1]
    try:
        return split_lines(Chunk(whole, 1)).get_column(schema.RAW_LINE)
    except pl.exceptions.PolarsError:
        return None


def _window_offsets(size: int) -> list[int]:
    """Where the windows start: spread evenly after the head, the last one ending the file."""
    room = size - HEAD_BYTES - WINDOW_BYTES
    if room <= 0:
        return []
    return [HEAD_BYTES + room * (index + 1) // WINDOWS for index in range(WINDOWS)]


def _window(file: BinaryIO, offset: int) -> bytes:
    """The whole lines of WINDOW_BYTES read at `offset` (the cut first and last left out)."""
    file.seek(offset)
    data = file.read(WINDOW_BYTES)
    start, end = data.find(b"\n") + 1, data.rfind(b"\n") + 1
    return data[start:end] if 0 < start < end else b""


class _FastFields:
    """The first layout's fast regex over each line: the fields captured, and whether it
    covers the line whole.  Where the layout allows (`Layout.split_regex`), the regex is
    cut after the last field captured: the captures stop there, and the rest of the line
    is checked by a search that runs back from its end without captures, which costs
    less than capturing across it (about 15% of the folded query, on combined lines)."""

    def __init__(self, layout: Layout, capture: list[int]) -> None:
        self.capture = capture
        self.split = layout.split_regex(capture)
        self.regex = self.split[0] if self.split else layout.regex(capture, fast=True)

    def groups(self) -> pl.Expr:
        return pl.col(schema.RAW_LINE).str.extract_groups(self.regex)

    def covered(self, groups: pl.Expr) -> pl.Expr:
        """Lines the fast regex covers whole, as the usual reader would give them to it: a
        `\\r` it would drop, or a line it would cut as too long, goes the usual way."""
        line = pl.col(schema.RAW_LINE)
        if self.split is None:
            tail = groups.struct.field("tail")
            whole = groups.struct.field("matched").is_not_null() & (
                tail.is_null() | (tail.str.strip_chars() == "")
            )
        else:  # the start ends where the rest begins (null: the start does not match)
            start = groups.struct.field("start").str.len_bytes()
            whole = (start == line.str.find(self.split[1])).fill_null(False)
        return whole & ~line.str.ends_with("\r") & (line.str.len_bytes() <= MAX_LINE_BYTES)


def _grouped(path: str, fields: _FastFields) -> pl.DataFrame:
    """One row per distinct key text (covered lines) or distinct odd line, with its lines."""
    line = pl.col(schema.RAW_LINE)
    groups = pl.col(_GROUPS)
    covered = pl.col(_COVERED)  # a column: each key would evaluate the expression again
    capture = fields.capture
    keys = [pl.when(covered).then(groups.struct.field(f"f{index}")) for index in capture]
    return (
        pl.scan_lines(path, name=schema.RAW_LINE)
        .with_columns(fields.groups().alias(_GROUPS))
        .with_columns(fields.covered(groups).alias(_COVERED))
        .group_by(
            *(key.alias(f"f{index}") for key, index in zip(keys, capture, strict=True)),
            pl.when(covered).then(None).otherwise(line).alias(_ODD),
        )
        .agg(pl.len().alias(schema.WEIGHT))
        .collect(engine="streaming")
    )


def _odd_lines(run: FileRun, odd_rows: pl.DataFrame) -> pl.DataFrame:
    """The odd lines, one row per line again, as the usual reader splits them."""
    text = odd_rows.select(
        pl.col(_ODD).repeat_by(schema.WEIGHT).explode().str.strip_chars_end("\r")
    ).to_series()
    return pl.DataFrame(
        {
            "line_no": pl.int_range(1, text.len() + 1, dtype=pl.UInt64, eager=True),
            schema.RAW_LINE: text.alias(schema.RAW_LINE),
            "invalid_utf8": pl.repeat(False, text.len(), dtype=pl.Boolean, eager=True),
        }
    )


def _covered(
    run: FileRun,
    first: Layout,
    capture: list[int],
    rows: pl.DataFrame,
    wanted: set[str] | None,
) -> pl.DataFrame:
    """The covered lines' distinct keys converted, as records of `schema.WEIGHT` lines."""
    assert run.choice is not None
    groups = pl.struct(pl.col(f"f{index}") for index in capture).alias(_GROUPS)
    produced = first.convert(pl.col(_GROUPS), capture)
    if wanted is not None:
        produced = {name: value for name, value in produced.items() if name in wanted}
    parsed = (
        rows.lazy()
        .with_columns(groups)
        .with_columns(
            *(value.alias(name) for name, value in produced.items()),
            pl.lit(schema.RECORD).alias(schema.LINE_KIND),
            pl.lit(None, dtype=pl.String).alias(schema.REJECT_REASON),
            pl.lit(run.file_id, dtype=pl.UInt32).alias(schema.FILE_ID),
            pl.lit(run.source.name, dtype=pl.String).alias("file"),
            pl.lit(run.choice.format.name).alias("source"),
        )
        .drop(_GROUPS, _ODD, *(f"f{index}" for index in capture))
    )
    return pipeline.finish(run, parsed, wanted).collect()
