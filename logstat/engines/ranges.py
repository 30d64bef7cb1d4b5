"""Byte ranges of a large plain file: several tasks read one file, each its own lines.

A range [start, end) owns the lines that start inside it: it skips the end of a line
begun before `start` and reads on past `end` to finish its last line.  The ranges of
a file cut it into its lines exactly once, whatever the lines' lengths, so their
partial summaries merge into the file's counts.  Lines are numbered from 1 in each
range; the client numbers them in the file once it knows how many lines each range
holds (`first_lines`).

Under --state, the new part of a file, from where the last run stopped (a line start)
to its size when the run was planned, is cut the same way; its ranges hold back a
last line without its newline as reading it in one piece does (state.Resume), and
report where their lines ended, so that the client writes the file's entry once
(`resumed_end`).

Only plain files are cut: a compressed stream has no place to start but its start.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from logstat.reading.lines import Chunk, ReadProblems, read_chunks
from logstat.reading.sources import MAGIC, OpenedSource, Source

if TYPE_CHECKING:
    from logstat.reading.state import Resume

SCAN_BYTES = 1 << 16  # read at a time looking for a line end


@dataclass
class ByteRange:
    """The lines of a file that start in [start, end): how a task reads its part of the
    file (the pipeline's runs.Resumed, as --state's resume is).

    `resume`: the file's state.Resume under --state (its new part starts at
    resume.offset, after resume.lines lines).  Once read (on the worker), `stop` is
    where the range's lines ended (None: the file was replaced, nothing read) and
    `whole` whether it read every line it owns (no line held back, no read problem)."""

    start: int
    end: int
    resume: Resume | None = None
    stop: int | None = None
    whole: bool = False

    @property
    def has_lines(self) -> bool:
        return True

    @property
    def first(self) -> int:
        """Where the file's reading starts: a line start, not looked for."""
        return self.resume.offset if self.resume is not None else 0

    @property
    def lines_before(self) -> int:
        """The lines before the range's first one that its numbers count: those read
        before under --state for the range that starts the file's reading (numbered in
        the file, as state.Resume does); none for the others (numbered from 1, and in
        the file once the ranges before them are counted: `first_lines`)."""
        if self.start == self.first and self.resume is not None:
            return self.resume.lines
        return 0

    def read_chunks(
        self, opened: OpenedSource, problems: ReadProblems, chunk_bytes: int
    ) -> Iterator[Chunk]:
        with contextlib.ExitStack() as closing:
            stream = self._planned_stream(opened, problems, closing)
            if stream is not None:
                yield from self._read(stream, problems, chunk_bytes)

    def _planned_stream(
        self, opened: OpenedSource, problems: ReadProblems, closing: contextlib.ExitStack
    ) -> BinaryIO | None:
        """The file planned: `opened`, or under --state the file logrotate renamed since the
        run was planned (each range opens the file by its name, and the ranges opened before
        the rename read it: those after must too, or the state, stopping at the first range
        not read, would have the next run read theirs again); None when it is gone."""
        if self.resume is None or self.resume.is_planned(os.fstat(opened.counter.raw.fileno())):
            return opened.stream
        renamed = self.resume.renamed()
        if renamed is None:
            self.resume.same_file(opened, problems)  # says why nothing was read
            return None
        return closing.enter_context(open(renamed, "rb", buffering=1 << 20))

    def _read(self, stream: BinaryIO, problems: ReadProblems, chunk_bytes: int) -> Iterator[Chunk]:
        errors = len(problems.messages)
        try:
            begin = self.start if self.start == self.first else _line_start(stream, self.start)
            stop = _line_start(stream, self.end) if begin < self.end else begin
            stream.seek(begin)
        except OSError as error:
            problems.add(f"cannot read bytes {self.start:,} to {self.end:,}: {error}")
            return
        held = b""
        lines = 0
        limited = _Limited(stream, stop - begin, first_read=1 if begin != self.first else None)
        if stop > begin:
            # a first read of one byte past the file's start: the reader drops a byte
            # order mark at the start of what it reads, not at the start of a line within
            for chunk in read_chunks(limited, problems, chunk_bytes):
                data = chunk.data
                if self.resume is not None and not data.endswith(b"\n"):
                    # at the end of the file: a partial last line waits (state.Resume)
                    cut = data.rfind(b"\n") + 1
                    data, held = data[:cut], data[cut:]
                if data:
                    lines += data.count(b"\n")
                    yield Chunk(data, chunk.first_line_no + self.lines_before)
        finished = len(problems.messages) == errors
        if held and finished and self.resume is not None and self.resume.finish:
            yield Chunk(held, self.lines_before + lines + 1)  # an abandoned file's last line
            held = b""
        self.stop = stop - limited.left - len(held)
        self.whole = finished and not held


def resumed_end(ranges: Sequence[tuple[ByteRange, int]]) -> tuple[int | None, int]:
    """Where the file's reading ended, and its lines so far (state.Resume's end_offset and
    end_lines), from its ranges as read and the lines each held, in order: up to the
    first range that did not read all its lines (a partial last line, a read problem, a
    file replaced), as reading it in one piece stops there."""
    first = ranges[0][0]
    assert first.resume is not None
    end: int | None = None
    lines = first.resume.lines
    for byte_range, count in ranges:
        if byte_range.stop is None:
            break
        end, lines = byte_range.stop, lines + count
        if not byte_range.whole:
            break
    return end, lines


def _line_start(stream: BinaryIO, position: int) -> int:
    """Where the first line that starts at or after `position` starts (the end of the
    data when none does)."""
    if position == 0:
        return 0
    stream.seek(position - 1)
    at = position - 1
    while True:
        block = stream.read(SCAN_BYTES)
        if not block:
            return at
        found = block.find(b"\n")
        if found >= 0:
            return at + found + 1
        at += len(block)


class _Limited:
    """A stream that ends after `left` bytes."""

    def __init__(self, stream: BinaryIO, left: int, first_read: int | None = None) -> None:
        self.stream = stream
        self.left = left
        self.first_read = first_read

    def read(self, size: int = -1, /) -> bytes:
        if self.left <= 0:
            return b""
        wanted = self.left if size < 0 else min(size, self.left)
        if self.first_read is not None:
            wanted, self.first_read = min(wanted, self.first_read), None
        data = self.stream.read(wanted)
        self.left -= len(data)
        return data


def cut(source: Source, limit: int, size: int | None = None) -> list[ByteRange] | None:
    """The ranges of a plain file larger than `limit` bytes, each `limit` long; None for
    any other input (it is read whole by one task).  `size`: source.size when the caller
    has it (a stat a file, for 100,000s of files)."""
    size = source.size if size is None else size
    if source.once or size is None or size <= limit or not _plain(source):
        return None
    return [ByteRange(start, min(start + limit, size)) for start in range(0, size, limit)]


def cut_resumed(resume: Resume, limit: int) -> list[ByteRange] | None:
    """The ranges of a plain file's new part under --state, [resume.offset, size when
    planned), when it is larger than `limit` bytes; None: one task reads it on."""
    source = resume.candidate.source
    start, size = resume.offset, resume.candidate.status.st_size
    if resume.candidate.gone or size - start <= limit or not _plain(source):
        return None
    return [ByteRange(at, min(at + limit, size), resume) for at in range(start, size, limit)]


def _plain(source: Source) -> bool:
    """Whether the input starts as no compressed data does (a few bytes read)."""
    try:
        if source.remote is not None and source.store is not None:
            head = source.store.head(source.remote, 8)
        elif source.path is not None:
            with open(source.path, "rb") as file:
                head = file.read(8)
        else:
            return False
    except Exception:  # unreadable here: the task that reads it whole says why
        return False
    return not any(head.startswith(magic) for magic in MAGIC)


def first_lines(
    lines: dict[tuple[int, int], int], bases: dict[int, int] | None = None
) -> dict[tuple[int, int], int]:
    """The number in its file of each range's first line, from the lines each range of
    each file (file_id, start) held, after the `bases` lines of a file read before
    (under --state)."""
    numbers = {}
    running: dict[int, int] = dict(bases or {})
    for file_id, start in sorted(lines):
        numbers[file_id, start] = running.get(file_id, 0) + 1
        running[file_id] = running.get(file_id, 0) + lines[file_id, start]
    return numbers
