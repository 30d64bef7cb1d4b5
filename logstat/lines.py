"""Read a decompressed stream in chunks of whole lines and split them into a frame.

Chunks keep memory flat whatever the file size; each chunk becomes a polars
frame of (line_no, line) without a Python object per line.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy
import polars as pl
import pyarrow

CHUNK_BYTES = 32 << 20
UTF8_BOM = b"\xef\xbb\xbf"


@dataclass
class Chunk:
    data: bytes  # whole lines; the last may lack its newline at end of file
    first_line_no: int  # 1-based number of the chunk's first line


@dataclass
class ReadProblems:
    """What went wrong while reading one file; the readable part is still used."""

    messages: list[str] = field(default_factory=list)


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def read_chunks(
    stream: Readable, problems: ReadProblems, chunk_bytes: int = CHUNK_BYTES
) -> Iterator[Chunk]:
    """Yield chunks of whole lines; a damaged compressed stream ends the file early."""
    pending = b""
    line_no = 1
    first = True
    while True:
        try:
            block = stream.read(chunk_bytes)
        except (EOFError, OSError, zlib.error, ValueError) as error:
            # truncated or corrupt compressed data, or a read error: keep what was read
            problems.messages.append(f"stopped reading early: {_describe(error)}")
            block = b""
        except Exception as error:  # zstandard raises its own ZstdError
            if type(error).__name__ != "ZstdError":
                raise
            problems.messages.append(f"stopped reading early: {_describe(error)}")
            block = b""
        if first and block.startswith(UTF8_BOM):
            block = block[len(UTF8_BOM) :]
        first = False
        if not block:
            if pending:
                yield Chunk(pending, line_no)
            return
        data = pending + block
        cut = data.rfind(b"\n") + 1
        if cut == 0:  # no line end yet: a very long line, keep reading
            pending = data
            continue
        complete, pending = data[:cut], data[cut:]
        yield Chunk(complete, line_no)
        line_no += complete.count(b"\n")


def _describe(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    if isinstance(error, EOFError):
        text = "compressed data is truncated"
    return text.splitlines()[0] if text else type(error).__name__


def split_lines(chunk: Chunk) -> pl.DataFrame:
    """Frame with `line_no` (UInt64) and `line` (String, no line terminator).

    Lines that are not valid UTF-8 are decoded with backslash escapes (`\\xff`),
    so nothing readable is lost; `invalid_utf8` marks them.
    """
    data = chunk.data
    buffer = numpy.frombuffer(data, dtype=numpy.uint8)
    ends = numpy.flatnonzero(buffer == 10)
    count = len(ends) + (0 if data.endswith(b"\n") or not data else 1)
    offsets = numpy.empty(count + 1, dtype=numpy.int64)
    offsets[0] = 0
    offsets[1 : len(ends) + 1] = ends + 1
    offsets[count] = len(data)
    array = pyarrow.Array.from_buffers(
        pyarrow.large_binary(), count, [None, pyarrow.py_buffer(offsets), pyarrow.py_buffer(data)]
    )
    raw = pl.Series("raw", array)
    invalid = numpy.zeros(count, dtype=bool)
    try:
        text = raw.cast(pl.String)
    except pl.exceptions.ComputeError:
        # Some line is not UTF-8.  Only lines holding bytes >= 0x80 can be at fault,
        # so decode just those in Python and leave the rest to polars.
        suspects = numpy.unique(
            numpy.searchsorted(offsets, numpy.flatnonzero(buffer >= 0x80), "right") - 1
        )
        values = raw.to_list()
        repaired: list[str | None] = [None] * count
        for index in suspects.tolist():
            value = values[index]
            try:
                repaired[index] = value.decode("utf-8")
            except UnicodeDecodeError:
                repaired[index] = value.decode("utf-8", "backslashreplace")
                invalid[index] = True
        clean = numpy.ones(count, dtype=bool)
        clean[suspects] = False
        text = pl.Series("raw", repaired, dtype=pl.String)
        text = text.scatter(numpy.flatnonzero(clean), raw.filter(pl.Series(clean)).cast(pl.String))
    frame = pl.DataFrame(
        {
            "line_no": pl.int_range(
                chunk.first_line_no, chunk.first_line_no + count, dtype=pl.UInt64, eager=True
            ),
            "line": text.str.strip_chars_end("\r\n"),
            "invalid_utf8": pl.Series(invalid, dtype=pl.Boolean),
        }
    )
    return frame
