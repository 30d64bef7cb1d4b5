"""Byte ranges of a large plain file: several tasks read one file, each its own lines.

A range [start, end) owns the lines that start inside it: it skips the end of a line
begun before `start` and reads on past `end` to finish its last line.  The ranges of
a file cut it into its lines exactly once, whatever the lines' lengths, so their
partial summaries merge into the file's counts.  Lines are numbered from 1 in each
range; the client numbers them in the file once it knows how many lines each range
holds (`first_lines`).

Only plain files are cut: a compressed stream has no place to start but its start.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from logstat.reading.lines import Chunk, ReadProblems, read_chunks
from logstat.reading.sources import MAGIC, OpenedSource, Source

SCAN_BYTES = 1 << 16  # read at a time looking for a line end


@dataclass(frozen=True)
class ByteRange:
    """The lines of a file that start in [start, end): how a task reads its part of the
    file (the pipeline's runs.Resumed, as --state's resume is)."""

    start: int
    end: int

    @property
    def has_lines(self) -> bool:
        return True

    def read_chunks(
        self, opened: OpenedSource, problems: ReadProblems, chunk_bytes: int
    ) -> Iterator[Chunk]:
        stream = opened.stream
        try:
            begin = _line_start(stream, self.start)
            stop = _line_start(stream, self.end) if begin < self.end else begin
            stream.seek(begin)
        except OSError as error:
            problems.add(f"cannot read bytes {self.start:,} to {self.end:,}: {error}")
            return
        if stop > begin:
            # a first read of one byte past the file's start: the reader drops a byte
            # order mark at the start of what it reads, not at the start of a line within
            limited = _Limited(stream, stop - begin, first_read=1 if begin else None)
            yield from read_chunks(limited, problems, chunk_bytes)


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


def cut(source: Source, limit: int) -> list[ByteRange] | None:
    """The ranges of a plain file larger than `limit` bytes, each `limit` long; None for
    any other input (it is read whole by one task)."""
    size = source.size
    if source.once or size is None or size <= limit or not _plain(source):
        return None
    return [ByteRange(start, min(start + limit, size)) for start in range(0, size, limit)]


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


def first_lines(lines: dict[tuple[int, int], int]) -> dict[tuple[int, int], int]:
    """The number in its file of each range's first line, from the lines each range of
    each file (file_id, start) held."""
    numbers = {}
    running: dict[int, int] = {}
    for file_id, start in sorted(lines):
        numbers[file_id, start] = running.get(file_id, 0) + 1
        running[file_id] = running.get(file_id, 0) + lines[file_id, start]
    return numbers
