"""From inputs to parsed frames: plan (detect each file's format), then read in chunks.

Every arrow is a small step over polars frames.  Files are read chunk by chunk so
memory stays flat as they grow; each chunk is parsed lazily and collected once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import polars as pl

from logstat import formats, schema
from logstat.errors import ExitCode, LogstatError
from logstat.formats import Choice
from logstat.lines import CHUNK_BYTES, Chunk, ReadProblems, read_chunks, split_lines
from logstat.sources import OpenedSource, Source, open_source

HEAD_BYTES = 64 << 10  # what detection reads of each file
UNRECOGNISED = "format not recognised"

Progress = Callable[[int], None]  # called with raw bytes consumed since the last call


@dataclass(frozen=True)
class Options:
    format: str | None = None  # --format
    log_format: str | None = None  # --log-format
    vendors: tuple[str, ...] = ()  # --vendor, most specific first
    chunk_bytes: int = CHUNK_BYTES


@dataclass
class FileRun:
    """One input file: what was detected, and what reading it found."""

    file_id: int
    source: Source
    choice: Choice | None
    compression: str | None = None
    lines: int = 0
    records: int = 0
    rejected: int = 0
    comments: int = 0
    invalid_utf8: int = 0
    problems: list[str] = field(default_factory=list)
    # stdin cannot be opened twice: detection's head and the open stream are kept
    _kept: tuple[OpenedSource, bytes] | None = None

    @property
    def format_name(self) -> str | None:
        return self.choice.format.name if self.choice else None


def plan(sources: list[Source], options: Options) -> list[FileRun]:
    """Open each source once and choose its format from its first lines."""
    runs = []
    for file_id, source in enumerate(sources):
        opened = open_source(source)
        problems = ReadProblems()
        head = _read_head(opened, problems)
        sample = formats.sample_lines(split_lines(Chunk(head, 1))["line"])
        if options.format or options.log_format:
            choice: Choice | None = formats.explicit(options.format, options.log_format, sample)
        else:
            choice = formats.detect(sample, source.name)
        run = FileRun(file_id, source, choice, opened.compression, problems=problems.messages)
        if source.path is None:
            run._kept = (opened, head)
        else:
            opened.close()
        runs.append(run)
    return runs


def _read_head(opened: OpenedSource, problems: ReadProblems) -> bytes:
    """The first whole lines of a file (at least HEAD_BYTES unless the file is shorter)."""
    chunks = read_chunks(opened.stream, problems, HEAD_BYTES)
    first = next(chunks, None)
    return first.data if first else b""


def require_recognised(runs: list[FileRun]) -> None:
    """Stop when no input file could be recognised at all."""
    if runs and all(run.choice is None for run in runs):
        tried = ", ".join(formats.BY_NAME)
        names = ", ".join(run.source.name for run in runs[:3]) + (" ..." if len(runs) > 3 else "")
        raise LogstatError(
            f"{names}: no known log format matched (tried {tried}); "
            "pass --format NAME, or --log-format with the server's format string",
            ExitCode.NO_FORMAT,
        )


def columns_for(needed: set[str] | None) -> set[str] | None:
    """Columns to parse: what the report needs plus what produced_by reads."""
    if needed is None:
        return None
    return needed | {"status", "upstream_status", "upstream_status_list"}


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
    """
    wanted = columns_for(needed)
    for run in runs:
        if run._kept is not None:
            opened, head = run._kept
            run._kept = None
        else:
            opened, head = open_source(run.source), b""
        problems = ReadProblems(run.problems)
        try:
            blocks = read_chunks(_prefixed(head, opened), problems, options.chunk_bytes)
            last_consumed = 0
            for chunk in blocks:
                frame = parse_chunk(run, chunk, wanted)
                _count(run, frame)
                if progress is not None:
                    progress(opened.counter.consumed - last_consumed)
                    last_consumed = opened.counter.consumed
                yield run, frame
        finally:
            opened.close()


class _prefixed:
    """A stream that first returns `head`, then the rest of `opened`."""

    def __init__(self, head: bytes, opened: OpenedSource) -> None:
        self.head = head
        self.stream = opened.stream

    def read(self, size: int = -1) -> bytes:
        if self.head:
            data, self.head = self.head, b""
            return data
        return self.stream.read(size)


def parse_chunk(run: FileRun, chunk: Chunk, needed: set[str] | None) -> pl.DataFrame:
    lines = split_lines(chunk).lazy()
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
        unparsed = schema.conform(frame, columns)
        return unparsed.with_columns(pl.lit(None, dtype=pl.String).alias("produced_by")).collect()
    parser = run.choice.detection.parser
    parsed = parser.parse(lines, needed).with_columns(
        *identity, pl.lit(run.choice.format.name).alias("source")
    )
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
    ).collect()


def _count(run: FileRun, frame: pl.DataFrame) -> None:
    kinds = frame.get_column(schema.LINE_KIND)
    run.lines += frame.height
    run.records += int((kinds == schema.RECORD).sum())
    run.rejected += int((kinds == schema.REJECTED).sum())
    run.comments += int((kinds == schema.COMMENT).sum())
    run.invalid_utf8 += int(frame.get_column("invalid_utf8").sum())
