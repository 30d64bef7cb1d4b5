"""From planned files to parsed frames: read in chunks, parse, confirm guessed formats.

Every arrow is a small step over polars frames.  Files are read chunk by chunk so
memory stays flat as they grow (batching.py, on a second thread: background.py);
each chunk is parsed lazily and collected once.

    runs = pipeline.plan(options.expand(paths), options)   # detection.plan
    for run, frame in pipeline.read(runs, options): ...
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import polars as pl

from logstat import formats, schema
from logstat.line_counts import count_lines, count_lines_by_file
from logstat.reading.background import in_background
from logstat.reading.batching import Piece, pieces
from logstat.reading.detection import choose, plan, same_reading
from logstat.reading.lines import MAX_LINE_BYTES, RAW_BYTES, line_bytes
from logstat.reading.runs import FileRun, Options, Progress, require_recognised, vanished

# the reading stage in one place: plan the files, then read them
__all__ = [
    "FileRun",
    "Options",
    "Progress",
    "columns_for",
    "plan",
    "read",
    "require_recognised",
    "vanished",
]

UNRECOGNISED = "format not recognised"
OVER_LONG = f"line longer than {MAX_LINE_BYTES >> 20} MiB (only its start was read)"


def columns_for(needed: set[str] | None) -> set[str] | None:
    """Columns to parse: what the report needs plus what produced_by reads."""
    if needed is None:
        return None
    reads = {column for format in formats.FORMATS for column in format.produced_by_reads}
    return needed | {"status", "upstream_status"} | reads


def read(
    runs: list[FileRun],
    options: Options,
    needed: set[str] | None = None,
    progress: Progress | None = None,
) -> Iterator[tuple[FileRun, pl.DataFrame]]:
    """Parsed chunks of every file, in order.

    Each frame has the canonical columns the parser filled (all when `needed`
    is None), `status_class`, `produced_by`, `line_kind`, `reject_reason` and
    the raw `line`.  Counters on each FileRun are updated as chunks go by.

    Small files read with the same parser are parsed together, so that ten
    thousand of them cost about what one big file does: such a frame holds the
    lines of several files (`file_id` and `file` tell them apart) and comes with
    the last of them.  A file whose guessed format (`FileRun.tentative`) turns
    out wrong is detected on its own and comes in a frame of its own, after.

    Files are read, decompressed and split into lines on a second thread, and
    parsed on a third while this one counts the frame before: polars and the
    decompressors release the GIL, so both cores work.
    """
    wanted = columns_for(needed)
    with ThreadPoolExecutor(1, thread_name_prefix="logstat-parser") as parser:
        queued: deque[tuple[Piece, Future[pl.DataFrame] | None]] = deque()
        try:
            for piece in in_background(pieces(runs, options.chunk_bytes)):
                ahead = None
                if _parses_ahead(piece):
                    ahead = parser.submit(_parse, piece.runs[-1], piece.lines, wanted)
                queued.append((piece, ahead))
                if len(queued) > 1:
                    yield from _finish_piece(*queued.popleft(), options, wanted, progress)
            while queued:
                yield from _finish_piece(*queued.popleft(), options, wanted, progress)
        finally:
            for _, ahead in queued:  # the reader gave up (or failed): nothing more to parse
                if ahead is not None:
                    ahead.cancel()


def _parses_ahead(piece: Piece) -> bool:
    """Whether the piece can be parsed before the pieces ahead of it are counted: not
    when its parser keeps state from chunk to chunk (they are parsed in order, here),
    nor when it is a later chunk of a file whose format was guessed (its first chunk
    may change the guess).  A batch of whole files may: only its own frame settles
    the guesses of its files."""
    run = piece.runs[-1]
    if run.choice is None or run.choice.detection.parser.keeps_state:
        return False
    return piece.whole_files or not run.tentative


def _finish_piece(
    piece: Piece,
    ahead: Future[pl.DataFrame] | None,
    options: Options,
    needed: set[str] | None,
    progress: Progress | None,
) -> Iterator[tuple[FileRun, pl.DataFrame]]:
    parsed = ahead.result() if ahead is not None else None
    yield from _parse_piece(piece, options, needed, parsed)
    if progress is not None:
        progress(piece.consumed)


def _parse_piece(
    piece: Piece, options: Options, needed: set[str] | None, parsed: pl.DataFrame | None = None
) -> Iterator[tuple[FileRun, pl.DataFrame]]:
    """The frames of a piece, parsed here unless `parsed` is its parse already."""
    runs, lines = piece.runs, piece.lines
    if not piece.whole_files:
        [run] = runs
        frame = parsed if parsed is not None else _parse(run, lines, needed)
        if run.tentative:
            frame = _confirm(run, lines, frame, options, needed)
        _count([run], frame)
        yield run, frame
        return
    frame = parsed if parsed is not None else _parse(runs[-1], lines, needed)
    doubtful = _doubtful(runs, frame)
    settled = []
    if doubtful:
        ids = pl.col(schema.FILE_ID)
        # their rows taken out in one go: a filter of the whole batch per file
        # would cost time and, with polars' string views, a lot of memory
        own_lines = _by_file(lines.filter(ids.is_in(list(doubtful))))
        own_frames = _by_file(frame.filter(ids.is_in(list(doubtful))))
        frame = frame.filter(~ids.is_in(list(doubtful)))
        for file_id, run in doubtful.items():
            own = own_lines[file_id]
            settled.append((run, _confirm(run, own, own_frames[file_id], options, needed)))
    for run in runs:
        run.tentative = False
    _count(runs, frame)
    for run, own_frame in settled:
        _count([run], own_frame)
    yield runs[-1], frame
    yield from settled


def _confirm(
    run: FileRun,
    lines: pl.DataFrame,
    frame: pl.DataFrame,
    options: Options,
    needed: set[str] | None,
) -> pl.DataFrame:
    """The first chunk of a file whose format was guessed from a sibling's: keep the
    parse when every line parsed, else detect the format from these lines."""
    run.tentative = False
    if not (frame.get_column(schema.LINE_KIND) == schema.REJECTED).any():
        return frame
    guess = run.choice
    sample = formats.sample_lines(lines.get_column(schema.RAW_LINE))
    run.choice = choose(sample, run.source.name, options)
    run.blank = len(sample) == 0
    if run.choice is not None and guess is not None and same_reading(run.choice, guess):
        run.choice = guess  # detection agrees: the lines that failed are bad lines
        return frame
    return _parse(run, lines, needed)


def _by_file(frame: pl.DataFrame) -> dict[int, pl.DataFrame]:
    parts = frame.partition_by(schema.FILE_ID, as_dict=True, maintain_order=True)
    return {int(key[0]): part for key, part in parts.items()}


def _doubtful(runs: list[FileRun], frame: pl.DataFrame) -> dict[int, FileRun]:
    """Files of a batch whose format was guessed, and which have lines that did not parse."""
    guessed = [run.file_id for run in runs if run.tentative]
    if not guessed:
        return {}
    rejected = frame.filter(
        (pl.col(schema.LINE_KIND) == schema.REJECTED) & pl.col(schema.FILE_ID).is_in(guessed)
    ).get_column(schema.FILE_ID)
    by_id = {run.file_id: run for run in runs}
    return {file_id: by_id[file_id] for file_id in rejected.unique(maintain_order=True).to_list()}


def parse_lines(run: FileRun, split: pl.DataFrame, needed: set[str] | None) -> pl.DataFrame:
    """Split lines of `run` (`line_no`, `line`, `invalid_utf8`) parsed as `read` parses
    them, `needed` being `columns_for` the report's columns."""
    return _parse(run, split, needed)


def count_lines_of(run: FileRun, frame: pl.DataFrame) -> None:
    """Add the lines of a frame of `run`'s (from parse_lines) to its counters."""
    _count([run], frame)


def _parse(run: FileRun, split: pl.DataFrame, needed: set[str] | None) -> pl.DataFrame:
    """Parse lines of `run` (or of a batch of files whose `file_id`/`file` are columns).

    Lines the reader cut (longer than MAX_LINE_BYTES) are rejected, saying why, and no
    parser spends time on their 16 MiB: they are parsed as empty lines, then restored."""
    if split.height == 0:
        return _parse_lines(run, split, needed)
    text = split.get_column(schema.RAW_LINE)
    lengths = line_bytes(split)
    split = split.drop(RAW_BYTES, strict=False)
    longest = lengths.max()
    if not isinstance(longest, int) or longest <= MAX_LINE_BYTES:
        return _parse_lines(run, split, needed)
    cut = lengths > MAX_LINE_BYTES
    emptied = split.with_columns(pl.when(cut).then(pl.lit("")).otherwise(text).alias(text.name))
    frame = _parse_lines(run, emptied, needed)

    def unless_cut(column: str, value: object) -> pl.Expr:
        return pl.when(cut).then(pl.lit(value)).otherwise(pl.col(column)).alias(column)

    return frame.with_columns(
        text,
        unless_cut(schema.LINE_KIND, schema.REJECTED),
        unless_cut(schema.REJECT_REASON, OVER_LONG),
        unless_cut("status_class", None),
        unless_cut("produced_by", None),
    )


def _parse_lines(run: FileRun, split: pl.DataFrame, needed: set[str] | None) -> pl.DataFrame:
    lines = split.lazy()
    identity = []
    if schema.FILE_ID not in split.columns:
        identity = [
            pl.lit(run.file_id, dtype=pl.UInt32).alias(schema.FILE_ID),
            pl.lit(run.source.name, dtype=pl.String).alias("file"),
        ]
    if run.choice is None:
        frame = lines.with_columns(
            *identity,
            pl.lit(None, dtype=pl.String).alias("source"),
            pl.lit(schema.REJECTED).alias(schema.LINE_KIND),
            pl.lit(UNRECOGNISED).alias(schema.REJECT_REASON),
        )
        columns = ["source", "file", "line_no", "status", "status_class"]
        unparsed = schema.conform(_blank_lines(frame), columns)
        return unparsed.with_columns(pl.lit(None, dtype=pl.String).alias("produced_by")).collect()
    parser = run.choice.detection.parser
    # the latency report's columns (the slowest requests' paths later, where they can be)
    needed = schema.with_duration(needed, parser.columns(), run.choice.format.reads_again)
    parsed = _blank_lines(
        parser.parse(lines, needed).with_columns(
            *identity, pl.lit(run.choice.format.name).alias("source")
        )
    )
    return finish(run, parsed, needed).collect()


def finish(run: FileRun, parsed: pl.LazyFrame, needed: set[str] | None) -> pl.LazyFrame:
    """Parsed lines of `run` (its format's columns, `line_kind`, `source` ...) in the
    canonical columns `needed`, with `status_class` and `produced_by` of the records."""
    assert run.choice is not None
    parser = run.choice.detection.parser
    present = parsed.collect_schema()
    keep = [name for name in schema.COLUMNS if name in present]
    if needed is not None:
        keep = [name for name in keep if name in needed | {"source", "file", "line_no"}]
    wanted = list(dict.fromkeys(["source", "file", "line_no", *keep, "status", "status_class"]))
    conformed = schema.conform(parsed, wanted)
    produced_by = run.choice.format.produced_by(parser.columns())
    record = pl.col(schema.LINE_KIND) == schema.RECORD
    return conformed.with_columns(
        pl.when(record)
        .then(schema.status_class_expression(pl.col("status")))
        .alias("status_class"),
        pl.when(record).then(produced_by).alias("produced_by"),
    )


def _blank_lines(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Empty and white-space-only lines are blank, whatever the parser made of them:
    no request, but nothing wrong either (no reject, no file needing attention).
    Only lines that are empty or start with white space are stripped: stripping every
    line cost an ALB line 0.2 µs, an anchored search costs about nothing."""
    line = pl.col(schema.RAW_LINE)
    blank = pl.when(line.str.contains(r"^(?:\s|$)")).then(line).str.strip_chars() == ""
    return frame.with_columns(
        pl.when(blank)
        .then(pl.lit(schema.BLANK))
        .otherwise(pl.col(schema.LINE_KIND))
        .alias(schema.LINE_KIND),
        pl.when(blank)
        .then(None)
        .otherwise(pl.col(schema.REJECT_REASON))
        .alias(schema.REJECT_REASON),
    )


def _count(runs: list[FileRun], frame: pl.DataFrame) -> None:
    """Add the lines of `frame` (of one file, or of several with their `file_id`) to
    the counters of their files."""
    by_id = {run.file_id: run for run in runs}
    if len(runs) == 1:
        runs[0].counts.add(count_lines(frame))
    else:
        for file_id, counts in count_lines_by_file(frame).items():
            by_id[file_id].counts.add(counts)
    if schema.TRAILING_FIELDS in frame.columns:
        trailing = pl.col(schema.TRAILING_FIELDS)
        if frame.get_column(schema.TRAILING_FIELDS).null_count() < frame.height:
            found = frame.filter(trailing.is_not_null()).group_by(schema.FILE_ID, trailing).len()
            for file_id, fields, lines in found.iter_rows():
                run = by_id[file_id]
                run.trailing[fields] = run.trailing.get(fields, 0) + lines


def confirm_guess(
    run: FileRun, lines: pl.DataFrame, options: Options, needed: set[str] | None
) -> None:
    """Settle the format of a file guessed from a sibling's (`run.tentative`) on `lines`,
    its first chunk, as `read` does: for a reader of a later part of the file only."""
    wanted = columns_for(needed)
    _confirm(run, lines, _parse(run, lines, wanted), options, wanted)
