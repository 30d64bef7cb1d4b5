"""From inputs to parsed frames: plan (detect each file's format), then read in chunks.

Every arrow is a small step over polars frames.  Files are read chunk by chunk so
memory stays flat as they grow; each chunk is parsed lazily and collected once.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import polars as pl

from logstat import formats, schema
from logstat.errors import ExitCode, LogstatError
from logstat.formats import Choice
from logstat.lines import (
    CHUNK_BYTES,
    Chunk,
    Readable,
    ReadProblems,
    line_ends,
    read_blocks,
    read_chunks,
    split_lines,
)
from logstat.sources import OpenedSource, Source, open_source

if TYPE_CHECKING:
    from logstat.state import Resume

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
    blank: bool = False  # no non-empty line to detect a format from (an empty file)
    resume: Resume | None = None  # --state: read on from where the last run stopped
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
        head, consumed = _read_head(opened, problems)
        sample = formats.sample_lines(split_lines(Chunk(head, 1))["line"])
        if options.format or options.log_format:
            choice: Choice | None = formats.explicit(options.format, options.log_format, sample)
        else:
            choice = formats.detect(sample, source.name)
        run = FileRun(
            file_id,
            source,
            choice,
            opened.compression,
            problems=problems.messages,
            blank=len(sample) == 0,
        )
        if source.path is None:
            run._kept = (opened, consumed)
        else:
            opened.close()
        runs.append(run)
    return runs


def _read_head(opened: OpenedSource, problems: ReadProblems) -> tuple[bytes, bytes]:
    """The first whole lines of a file (at least HEAD_BYTES unless the file is shorter),
    and every byte taken from the stream to find them (stdin is read on from there)."""
    recorder = _Recorder(opened.stream)
    first = next(read_chunks(recorder, problems, HEAD_BYTES), None)
    return (first.data if first else b""), recorder.taken


class _Recorder:
    """A stream that remembers what was read from it."""

    def __init__(self, stream: Readable) -> None:
        self.stream = stream
        self.taken = b""

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.taken += data
        return data


def require_recognised(runs: list[FileRun]) -> None:
    """Stop when no input file could be recognised at all (empty files are no failure)."""
    readable = [run for run in runs if not run.blank]
    if readable and all(run.choice is None for run in readable):
        tried = ", ".join(formats.BY_NAME)
        names = ", ".join(run.source.name for run in readable[:3])
        names += " ..." if len(readable) > 3 else ""
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

    Small files read with the same parser are parsed together, so that ten
    thousand of them cost about what one big file does: such a frame holds the
    lines of several files, in order (`file_id` and `file` tell them apart),
    and comes with the last of them.
    """
    wanted = columns_for(needed)
    batch = _Batch(options.chunk_bytes)
    for run in runs:
        pieces = _lines_of(run, options.chunk_bytes)
        first = next(pieces, None)
        second = next(pieces, None) if first is not None else None
        if first is not None and second is None and batch.can_take(run):
            if not batch.matches(run):
                yield from batch.flush(wanted, progress)
            batch.add(run, *first)
            if batch.full():
                yield from batch.flush(wanted, progress)
            continue
        yield from batch.flush(wanted, progress)
        held = [piece for piece in (first, second) if piece is not None]
        for lines, consumed in itertools.chain(held, pieces):  # lazily: memory stays flat
            frame = _parse(run, lines, wanted)
            _count(run, frame)
            if progress is not None:
                progress(consumed)
            yield run, frame
    yield from batch.flush(wanted, progress)


def _lines_of(run: FileRun, chunk_bytes: int) -> Iterator[tuple[pl.DataFrame, int]]:
    """The file's lines, a chunk at a time, with the raw bytes read for each chunk."""
    if run._kept is not None:
        opened, head = run._kept
        run._kept = None
    else:
        opened, head = open_source(run.source), b""
    problems = ReadProblems(run.problems)
    last_consumed = 0
    try:
        frames = (
            (split_lines(chunk) for chunk in run.resume.read_chunks(opened, problems, chunk_bytes))
            if run.resume is not None
            else _numbered(read_blocks(_prefixed(head, opened), problems, chunk_bytes))
        )
        for lines in frames:
            consumed = opened.counter.consumed - last_consumed
            last_consumed = opened.counter.consumed
            yield lines, consumed
    finally:
        opened.close()


def _numbered(blocks: Iterator[bytes]) -> Iterator[pl.DataFrame]:
    """Split blocks of whole lines, numbering the lines from the frames (no second scan)."""
    line_no = 1
    for data in blocks:
        lines = split_lines(Chunk(data, line_no))
        line_no += line_ends(data, lines)
        yield lines


class _Batch:
    """Lines of whole small files waiting to be parsed together."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.runs: list[FileRun] = []
        self.lines: list[pl.DataFrame] = []
        self.size = 0
        self.consumed = 0

    @staticmethod
    def can_take(run: FileRun) -> bool:
        """Only parsers that keep no state between chunks (frozen dataclasses) share."""
        if run.choice is None:
            return False
        params = getattr(run.choice.detection.parser, "__dataclass_params__", None)
        return params is not None and bool(params.frozen)

    def matches(self, run: FileRun) -> bool:
        """Whether `run` is read as the files already waiting are."""
        if not self.runs:
            return True
        first, choice = self.runs[0].choice, run.choice
        assert first is not None and choice is not None
        return first.format is choice.format and first.detection.parser == choice.detection.parser

    def add(self, run: FileRun, lines: pl.DataFrame, consumed: int) -> None:
        self.runs.append(run)
        self.lines.append(lines)
        self.size += int(lines.get_column(schema.RAW_LINE).str.len_bytes().sum() or 0)
        self.consumed += consumed

    def full(self) -> bool:
        return self.size >= self.limit

    def flush(
        self, needed: set[str] | None, progress: Progress | None
    ) -> Iterator[tuple[FileRun, pl.DataFrame]]:
        if not self.runs:
            return
        runs, parts = self.runs, self.lines
        if len(runs) == 1:
            frame = _parse(runs[0], parts[0], needed)
        else:
            heights = [part.height for part in parts]
            identity = pl.DataFrame(
                {
                    schema.FILE_ID: [run.file_id for run in runs],
                    "file": [run.source.name for run in runs],
                    "rows": heights,
                },
                schema={schema.FILE_ID: pl.UInt32, "file": pl.String, "rows": pl.UInt32},
            ).select(pl.col(schema.FILE_ID, "file").repeat_by("rows").explode())
            lines = pl.concat([pl.concat(parts), identity], how="horizontal")
            frame = _parse(runs[-1], lines, needed)
        _count_files(runs, frame)
        if progress is not None:
            progress(self.consumed)
        self.runs, self.lines, self.size, self.consumed = [], [], 0, 0
        yield runs[-1], frame


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

    def read1(self, size: int = -1) -> bytes:
        """What lines._read prefers: a damaged stream then loses nothing already inflated."""
        if self.head:
            data, self.head = self.head, b""
            return data
        read = getattr(self.stream, "read1", self.stream.read)
        return bytes(read(size))


def parse_chunk(run: FileRun, chunk: Chunk, needed: set[str] | None) -> pl.DataFrame:
    return _parse(run, split_lines(chunk), needed)


def _parse(run: FileRun, split: pl.DataFrame, needed: set[str] | None) -> pl.DataFrame:
    """Parse lines of `run` (or of a batch of files whose `file_id`/`file` are columns)."""
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


def _count_files(runs: list[FileRun], frame: pl.DataFrame) -> None:
    """_count for a frame holding several files."""
    if len(runs) == 1:
        _count(runs[0], frame)
        return
    by_id = {run.file_id: run for run in runs}
    kinds = pl.col(schema.LINE_KIND)
    counts = frame.group_by(schema.FILE_ID).agg(
        pl.len().alias("lines"),
        (kinds == schema.RECORD).sum().alias("records"),
        (kinds == schema.REJECTED).sum().alias("rejected"),
        (kinds == schema.COMMENT).sum().alias("comments"),
        pl.col("invalid_utf8").sum().alias("invalid_utf8"),
    )
    for row in counts.iter_rows(named=True):
        run = by_id[row[schema.FILE_ID]]
        run.lines += row["lines"]
        run.records += row["records"]
        run.rejected += row["rejected"]
        run.comments += row["comments"]
        run.invalid_utf8 += row["invalid_utf8"]


def _count(run: FileRun, frame: pl.DataFrame) -> None:
    kinds = frame.get_column(schema.LINE_KIND)
    run.lines += frame.height
    run.records += int((kinds == schema.RECORD).sum())
    run.rejected += int((kinds == schema.REJECTED).sum())
    run.comments += int((kinds == schema.COMMENT).sum())
    run.invalid_utf8 += int(frame.get_column("invalid_utf8").sum())
