"""Every file's lines, split into frames: big files chunk by chunk, small ones batched.

Small files read alike are split together, so that ten thousand of them cost about
what one big file does; a file whose parser keeps state between chunks is never
batched (formats.parser.Parser.keeps_state).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import polars as pl

from logstat import schema
from logstat.reading.detection import same_reading
from logstat.reading.lines import (
    UTF8_BOM,
    Chunk,
    ReadProblems,
    line_ends,
    read_blocks,
    split_lines,
)
from logstat.reading.runs import FileRun
from logstat.reading.sources import Vanished, open_source, read_small_plain_file


@dataclass
class Piece:
    """Split lines ready to parse: a chunk of one file, or several whole small files."""

    runs: list[FileRun]
    lines: pl.DataFrame
    consumed: int  # raw bytes read for it
    whole_files: bool


def pieces(runs: list[FileRun], chunk_bytes: int) -> Iterator[Piece]:
    """Every file's lines, split: big files chunk by chunk, small ones batched."""
    batch = Batch(chunk_bytes)
    for run in runs:
        chunks = chunks_of(run, chunk_bytes)
        first = next(chunks, None)
        second = next(chunks, None) if first is not None else None
        if first is None and run.tentative:  # an empty file: nothing to confirm
            run.tentative, run.blank = False, not run.vanished
        shareable = run.choice is not None and not run.choice.detection.parser.keeps_state
        if first is not None and second is None and shareable:
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
            yield Piece([run], lines, consumed, whole_files=False)
    yield from batch.flush()


def chunks_of(run: FileRun, chunk_bytes: int) -> Iterator[tuple[Chunk, int]]:
    """The file's lines, a chunk at a time, with the raw bytes read for each chunk."""
    if run.resume is None and run.kept_stream is None and run.source.path and run.source.regular:
        data = read_small_plain_file(run.source.path, chunk_bytes)
        if data is not None:
            if data:
                yield Chunk(data.removeprefix(UTF8_BOM), 1), len(data)
            return
    if run.vanished:
        return
    kept: Iterator[bytes] | None = None
    if run.kept_stream is not None:
        opened, head, rest = run.kept_stream
        kept = itertools.chain([head] if head else [], rest)
        run.kept_stream = None
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
            # numbered by `pieces` from each chunk's split: no count of line ends here
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


class Batch:
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
        return same_reading(first, choice)

    def add(self, run: FileRun, chunk: Chunk, consumed: int) -> None:
        self.runs.append(run)
        self.chunks.append(chunk)
        self.size += len(chunk.data)
        self.consumed += consumed

    def full(self) -> bool:
        return self.size >= self.limit

    def flush(self) -> Iterator[Piece]:
        if not self.runs:
            return
        lines = _split_files(self.runs, self.chunks)
        piece = Piece(self.runs, lines, self.consumed, whole_files=True)
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
