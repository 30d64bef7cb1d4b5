"""From inputs to parsed frames: plan (detect each file's format), then read in chunks.

Every arrow is a small step over polars frames.  Files are read chunk by chunk so
memory stays flat as they grow; each chunk is parsed lazily and collected once.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from queue import Full, Queue
from typing import TYPE_CHECKING, TypeVar

import polars as pl

from logstat import formats, schema
from logstat.errors import ExitCode, LogstatError
from logstat.formats import Choice
from logstat.line_counts import LineCounts, count_lines, count_lines_by_file
from logstat.lines import (
    CHUNK_BYTES,
    MAX_LINE_BYTES,
    RAW_BYTES,
    UTF8_BOM,
    Chunk,
    Readable,
    ReadProblems,
    line_bytes,
    line_ends,
    read_blocks,
    split_lines,
)
from logstat.objects import Window
from logstat.sources import (
    OpenedSource,
    Source,
    Vanished,
    expand,
    open_source,
    read_small_plain_file,
)

if TYPE_CHECKING:
    from logstat.state import Resume

HEAD_BYTES = 64 << 10  # what detection reads of each file
# the most read of a file to find HEAD_BYTES of whole lines: past a first line longer than
# MAX_LINE_BYTES, but not through gigabytes without a line end
HEAD_READ_LIMIT = 256 << 20
UNRECOGNISED = "format not recognised"
OVER_LONG = f"line longer than {MAX_LINE_BYTES >> 20} MiB (only its start was read)"

Progress = Callable[[int], None]  # called with raw bytes consumed since the last call


@dataclass(frozen=True)
class Options:
    format: str | None = None  # --format
    log_format: str | None = None  # --log-format
    json_keys: str | None = None  # --json-keys: ROLE=KEY,... for JSON access logs
    vendors: tuple[str, ...] = ()  # --vendor, most specific first
    chunk_bytes: int = CHUNK_BYTES
    endpoint_url: str | None = None  # --endpoint-url: an S3-compatible store (R2, MinIO)
    window: Window | None = None  # --since/--until: prunes object listings by their dates

    def expand(self, arguments: list[str]) -> list[Source]:
        """The inputs the arguments name (files, globs, directories, objects, stdin)."""
        return expand(arguments, self.endpoint_url, self.window)


@dataclass
class FileRun:
    """One input file: what was detected, and what reading it found."""

    file_id: int
    source: Source
    choice: Choice | None
    compression: str | None = None
    counts: LineCounts = field(default_factory=LineCounts)  # what reading it found so far
    problems: list[str] = field(default_factory=list)
    # records with fields after their layout's last one: how many fields -> lines
    trailing: dict[int, int] = field(default_factory=dict)
    blank: bool = False  # no non-empty line to detect a format from (an empty file)
    vanished: bool = False  # listed, then gone (rotated or deleted) before it was read
    resume: Resume | None = None  # --state: read on from where the last run stopped
    # the format was taken from an earlier file like this one without reading this
    # one; its first chunk confirms it (or this file is detected on its own)
    tentative: bool = False
    # stdin or a pipe cannot be read twice: the open stream, detection's head (its first
    # block of lines) and the blocks that follow it are kept
    _kept: tuple[OpenedSource, bytes, Iterator[bytes]] | None = None

    @property
    def format_name(self) -> str | None:
        return self.choice.format.name if self.choice else None

    def notes(self) -> list[str]:
        """What reading this file ran into, as the summary says it under the file."""
        return reading_notes(self.problems, self.trailing, trailing_hint(self.choice))


def reading_notes(problems: list[str], trailing: dict[int, int], hint: str | None) -> list[str]:
    """Problems, and records with fields the layout does not explain (`trailing`: how many
    fields -> lines; read, but some fields may be lost), with `hint` on how to read them."""
    if not trailing:
        return list(problems)
    lines = sum(trailing.values())
    fewest, most = min(trailing), max(trailing)
    fields = str(most) if fewest == most else f"{fewest} to {most}"
    return [
        *problems,
        f"{lines:,} line{'s have' if lines != 1 else ' has'} {fields} "
        f"field{'s' if most != 1 else ''} after the layout: "
        + (hint or "pass --log-format with the server's format string to read them"),
    ]


def trailing_hint(choice: Choice | None) -> str | None:
    """The parser's advice on reading fields after its layout, if it has any."""
    return getattr(choice.detection.parser, "trailing_hint", None) if choice else None


def plan(sources: list[Source], options: Options) -> list[FileRun]:
    """Open each source once and choose its format from its first lines.

    A file named like one already detected in the same directory (rotated logs,
    S3 objects written by one load balancer) takes that file's format without
    being opened here: thousands of small files cost no detection each.  `read`
    checks the guess on the file's first chunk and detects it after all when
    any line does not parse.
    """
    runs = []
    detected: dict[tuple[str, str], Choice] = {}
    for file_id, source in enumerate(sources):
        kin = kinship(source)
        known = detected.get(kin) if kin is not None else None
        if known is not None:
            runs.append(FileRun(file_id, source, known, tentative=True))
            continue
        try:
            opened = open_source(source)
        except Vanished:
            runs.append(FileRun(file_id, source, None, problems=[Vanished.REASON], vanished=True))
            continue
        problems = ReadProblems()
        blocks = _head_blocks(opened.stream, problems, options.chunk_bytes, source.once)
        head = next(blocks, b"")
        split = split_lines(Chunk(head, 1))
        # a line the reader cut is rejected anyway: no format is tried on its 16 MiB
        lines = split.get_column("line").filter(line_bytes(split) <= MAX_LINE_BYTES)
        sample = formats.sample_lines(lines)
        choice = _choose(sample, source.name, options)
        run = FileRun(
            file_id,
            source,
            choice,
            opened.compression,
            problems=problems.messages,
            blank=len(sample) == 0,
        )
        if kin is not None and choice is not None and _stateless(choice):
            detected[kin] = dataclasses.replace(choice, like=os.path.basename(source.name))
        if source.once:  # stdin or a pipe: read on from the head, never opened again
            run._kept = (opened, head, blocks)
        else:
            opened.close()
        runs.append(run)
    return runs


def _choose(sample: pl.Series, name: str, options: Options) -> Choice | None:
    if options.json_keys:
        return formats.by_json_keys(options.format, options.log_format, options.json_keys, sample)
    if options.format or options.log_format:
        return formats.explicit(options.format, options.log_format, sample)
    return formats.detect(sample, name)


def kinship(source: Source) -> tuple[str, str] | None:
    """Files with the same key are taken to share a format: same directory, and the
    same name once words with digits in them (dates, sequence numbers, addresses,
    random ids) are set aside."""
    if source.once:
        return None
    directory, name = os.path.split(source.name)
    return directory, _DIGIT_WORDS.sub("#", name)


_DIGIT_WORDS = re.compile(r"[A-Za-z0-9]*[0-9][A-Za-z0-9]*")


def _stateless(choice: Choice) -> bool:
    """Parsers that keep no state between chunks (frozen dataclasses) can be shared
    by several files, and their lines parsed together."""
    params = getattr(choice.detection.parser, "__dataclass_params__", None)
    return params is not None and bool(params.frozen)


def _head_blocks(
    stream: Readable, problems: ReadProblems, chunk_bytes: int, once: bool
) -> Iterator[bytes]:
    """The file's blocks of lines, the first (detection's head) of at least HEAD_BYTES of
    whole lines unless the file is shorter.  A line longer than MAX_LINE_BYTES is cut
    (read_blocks), so a long first line costs its length once, not squared.

    A file that is opened again to be read has at most HEAD_READ_LIMIT read for its head:
    a file of one endless line (3 GB of zeros in a 14 MB .gz) is not read to its end
    twice.  stdin and pipes are read on from here, so they are read whole anyway."""
    capped = stream if once else _Capped(stream, HEAD_READ_LIMIT)
    return read_blocks(capped, problems, chunk_bytes, first_bytes=HEAD_BYTES)


class _Capped:
    """A stream that ends after `limit` bytes."""

    def __init__(self, stream: Readable, limit: int) -> None:
        self.stream = stream
        self.left = limit

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        data = self.stream.read(self.left if size < 0 else min(size, self.left))
        self.left -= len(data)
        return data


def vanished(runs: list[FileRun]) -> list[FileRun]:
    """The files that were gone before they could be read: the run's counts are partial."""
    return [run for run in runs if run.vanished]


def require_recognised(runs: list[FileRun]) -> None:
    """Stop when no input file could be recognised at all (empty files are no failure)."""
    readable = [run for run in runs if not run.blank and not run.vanished]
    if readable and all(run.choice is None for run in readable):
        tried = ", ".join(formats.BY_NAME)
        names = ", ".join(run.source.name for run in readable[:3])
        names += " ..." if len(readable) > 3 else ""
        raise LogstatError(
            f"{names}: no known log format matched (tried {tried}); "
            "pass --format NAME, --log-format with the server's format string, "
            "or --json-keys status=KEY for JSON lines",
            ExitCode.NO_FORMAT,
        )


def columns_for(needed: set[str] | None) -> set[str] | None:
    """Columns to parse: what the report needs plus what produced_by reads."""
    if needed is None:
        return None
    reads = {column for format in formats.FORMATS for column in format.produced_by_reads}
    return needed | {"status", "upstream_status", "upstream_status_list"} | reads


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

    Files are read, decompressed and split into lines on a second thread while
    this one parses: polars and the decompressors release the GIL, so both
    cores work.
    """
    wanted = columns_for(needed)
    for piece in _in_background(_pieces(runs, options.chunk_bytes)):
        yield from _parse_piece(piece, options, wanted)
        if progress is not None:
            progress(piece.consumed)


@dataclass
class _Piece:
    """Split lines ready to parse: a chunk of one file, or several whole small files."""

    runs: list[FileRun]
    lines: pl.DataFrame
    consumed: int  # raw bytes read for it
    whole_files: bool


def _pieces(runs: list[FileRun], chunk_bytes: int) -> Iterator[_Piece]:
    """Every file's lines, split: big files chunk by chunk, small ones batched."""
    batch = _Batch(chunk_bytes)
    for run in runs:
        chunks = _chunks_of(run, chunk_bytes)
        first = next(chunks, None)
        second = next(chunks, None) if first is not None else None
        if first is None and run.tentative:  # an empty file: nothing to confirm
            run.tentative, run.blank = False, not run.vanished
        if first is not None and second is None and run.choice and _stateless(run.choice):
            if not batch.matches(run):
                yield from batch.flush()
            batch.add(run, *first)
            if batch.full():
                yield from batch.flush()
            continue
        yield from batch.flush()
        held = [piece for piece in (first, second) if piece is not None]
        line_no: int | None = None
        for chunk, consumed in itertools.chain(held, chunks):  # lazily: memory stays flat
            if line_no is not None:  # numbered from the split: no second scan for \n
                chunk = Chunk(chunk.data, line_no)
            lines = split_lines(chunk)
            line_no = chunk.first_line_no + line_ends(chunk.data, lines)
            yield _Piece([run], lines, consumed, whole_files=False)
    yield from batch.flush()


def _parse_piece(
    piece: _Piece, options: Options, needed: set[str] | None
) -> Iterator[tuple[FileRun, pl.DataFrame]]:
    runs, lines = piece.runs, piece.lines
    if not piece.whole_files:
        [run] = runs
        frame = _parse(run, lines, needed)
        if run.tentative:
            frame = _confirm(run, lines, frame, options, needed)
        _count([run], frame)
        yield run, frame
        return
    frame = _parse(runs[-1], lines, needed)
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


_Item = TypeVar("_Item")


def _in_background(items: Iterator[_Item], depth: int = 1) -> Iterator[_Item]:
    """`items`, produced on another thread up to `depth` ahead (memory stays bounded)."""
    queue: Queue[tuple[bool, _Item | BaseException | None]] = Queue(maxsize=depth)
    stop = threading.Event()

    def offer(entry: tuple[bool, _Item | BaseException | None]) -> bool:
        while not stop.is_set():
            try:
                queue.put(entry, timeout=0.1)
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer((False, item)):
                    return
            offer((True, None))
        except BaseException as error:  # handed to the reading thread, raised there
            offer((True, error))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()  # the files' finally blocks run on this thread

    thread = threading.Thread(target=produce, name="logstat-reader", daemon=True)
    thread.start()
    try:
        while True:
            done, item = queue.get()
            if done:
                if isinstance(item, BaseException):
                    raise item
                return
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()


def _chunks_of(run: FileRun, chunk_bytes: int) -> Iterator[tuple[Chunk, int]]:
    """The file's lines, a chunk at a time, with the raw bytes read for each chunk."""
    if run.resume is None and run._kept is None and run.source.path and run.source.regular:
        data = read_small_plain_file(run.source.path, chunk_bytes)
        if data is not None:
            if data:
                yield Chunk(data.removeprefix(UTF8_BOM), 1), len(data)
            return
    if run.vanished:
        return
    kept: Iterator[bytes] | None = None
    if run._kept is not None:
        opened, head, rest = run._kept
        kept = itertools.chain([head] if head else [], rest)
        run._kept = None
    else:
        try:
            opened = open_source(run.source)
        except Vanished:  # rotated or deleted since it was listed: the run goes on
            run.vanished = True
            ReadProblems(run.problems).add(Vanished.REASON)
            return
        if run.tentative:
            run.compression = opened.compression
    problems = ReadProblems(run.problems)
    last_consumed = 0
    try:
        chunks = (
            run.resume.read_chunks(opened, problems, chunk_bytes)
            if run.resume is not None
            # numbered by `_pieces` from each chunk's split: no count of line ends here
            else (
                Chunk(data, 1)
                for data in (
                    kept if kept is not None else read_blocks(opened.stream, problems, chunk_bytes)
                )
            )
        )
        for chunk in chunks:
            consumed = opened.counter.consumed - last_consumed
            last_consumed = opened.counter.consumed
            yield chunk, consumed
    finally:
        opened.close()


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
    run.choice = _choose(sample, run.source.name, options)
    run.blank = len(sample) == 0
    if run.choice is not None and guess is not None and _same_reading(run.choice, guess):
        run.choice = guess  # detection agrees: the lines that failed are bad lines
        return frame
    return _parse(run, lines, needed)


def _same_reading(one: Choice, other: Choice) -> bool:
    return one.format is other.format and one.detection.parser == other.detection.parser


class _Batch:
    """Whole small files waiting to be split and parsed together."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.runs: list[FileRun] = []
        self.chunks: list[Chunk] = []
        self.size = 0
        self.consumed = 0

    def matches(self, run: FileRun) -> bool:
        """Whether `run` is read as the files already waiting are."""
        if not self.runs:
            return True
        first, choice = self.runs[0].choice, run.choice
        assert first is not None and choice is not None
        return _same_reading(first, choice)

    def add(self, run: FileRun, chunk: Chunk, consumed: int) -> None:
        self.runs.append(run)
        self.chunks.append(chunk)
        self.size += len(chunk.data)
        self.consumed += consumed

    def full(self) -> bool:
        return self.size >= self.limit

    def flush(self) -> Iterator[_Piece]:
        if not self.runs:
            return
        lines = _split_files(self.runs, self.chunks)
        piece = _Piece(self.runs, lines, self.consumed, whole_files=True)
        self.runs, self.chunks, self.size, self.consumed = [], [], 0, 0
        yield piece


def _split_files(runs: list[FileRun], chunks: list[Chunk]) -> pl.DataFrame:
    """The lines of several whole files, split in one go, numbered per file."""
    if len(runs) == 1:  # numbered by split_lines already
        return split_lines(chunks[0]).with_columns(
            pl.lit(runs[0].file_id, dtype=pl.UInt32).alias(schema.FILE_ID),
            pl.lit(runs[0].source.name, dtype=pl.String).alias("file"),
        )
    import numpy  # imported here: a one-file run starts faster without it

    parts = [
        chunk.data + b"\n" if chunk.data and not chunk.data.endswith(b"\n") else chunk.data
        for chunk in chunks
    ]
    data = b"".join(parts)
    lines = split_lines(Chunk(data, 1))
    # each file's line count: the line ends before the end of each file's data
    ends = numpy.flatnonzero(numpy.frombuffer(data, dtype=numpy.uint8) == ord("\n"))
    bounds = numpy.cumsum([len(part) for part in parts])
    heights = numpy.diff(numpy.searchsorted(ends, bounds), prepend=0)
    firsts = numpy.array([chunk.first_line_no for chunk in chunks], dtype=numpy.int64)
    offsets = numpy.repeat(firsts - (numpy.cumsum(heights) - heights), heights)
    files = numpy.repeat(numpy.arange(len(runs)), heights)
    return lines.with_columns(
        pl.Series("line_no", numpy.arange(lines.height) + offsets, dtype=pl.UInt64),
        pl.Series(schema.FILE_ID, [run.file_id for run in runs], dtype=pl.UInt32).gather(files),
        pl.Series("file", [run.source.name for run in runs], dtype=pl.String).gather(files),
    )


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
    parsed = _blank_lines(
        parser.parse(lines, needed).with_columns(
            *identity, pl.lit(run.choice.format.name).alias("source")
        )
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


def _blank_lines(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Empty and white-space-only lines are blank, whatever the parser made of them:
    no request, but nothing wrong either (no reject, no file needing attention)."""
    blank = pl.col(schema.RAW_LINE).str.strip_chars() == ""
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
