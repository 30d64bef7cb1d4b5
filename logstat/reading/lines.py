"""Read a decompressed stream in chunks of whole lines and split them into a frame.

Chunks keep memory flat whatever the file size; each chunk becomes a polars
frame of (line_no, line) without a Python object per line.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import polars as pl

# Lines are read and parsed 16 MB at a time: 32 MB was no faster and held more memory
# (export of 1 M nginx lines: 900 MB peak at 32 MB, 560 MB at 16 MB).
CHUNK_BYTES = 16 << 20
READ_BYTES = 1 << 20  # one read from the stream
# A line longer than this is cut to this length plus one byte, and rejected as too long
# (pipeline.OVER_LONG): memory stays bounded whatever a file holds (3 GB of zeros with
# no line end compress to 14 MB).  A 10 MB request line is still read whole.
MAX_LINE_BYTES = 16 << 20
UTF8_BOM = b"\xef\xbb\xbf"
# split_lines adds this column (each line's length in the file, UInt64) when an escaped
# line is longer than MAX_LINE_BYTES: `\xHH` makes text up to four times the bytes it
# stands for, so only the file's bytes say whether the reader cut a line (line_bytes)
RAW_BYTES = "_line_bytes"
# pl.scan_lines takes bytes that start like gzip, zlib or zstd data for compressed input
# (a line starting with "x^" is zlib to it): such chunks are split without it
POLARS_DECOMPRESSES = (b"\x1f\x8b", b"x\x01", b"x^", b"x\x9c", b"x\xda", b"(\xb5/\xfd")


@dataclass
class Chunk:
    data: bytes  # whole lines; the last may lack its newline at end of file
    first_line_no: int  # 1-based number of the chunk's first line


@dataclass
class ReadProblems:
    """What went wrong while reading one file; the readable part is still used."""

    messages: list[str] = field(default_factory=list)

    def add(self, message: str) -> None:
        # a file is opened again after detection read its head: say each thing once
        if message not in self.messages:
            self.messages.append(message)


class ReadNotice(OSError):
    """Raised by a stream at its end to report something about it that cost no line.

    An OSError, so code that stops at read errors stops at it too: at the end.
    """


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def read_blocks(
    stream: Readable,
    problems: ReadProblems,
    chunk_bytes: int = CHUNK_BYTES,
    first_bytes: int | None = None,
) -> Iterator[bytes]:
    """Blocks of whole lines of about `chunk_bytes` (the first of about `first_bytes`,
    when given: detection's head); the last may lack its newline.

    The stream is read `READ_BYTES` at a time.  When it fails (damaged
    compressed data, a read error), what was read up to there is still yielded,
    the problem is added to `problems`, and the file ends early.
    """
    # the start of a line not ended yet, as read: joined once, when the line ends (joining
    # it at every read made a long line cost its length squared)
    pending: list[bytes] = []
    pending_size = 0
    cutting = False  # in a line longer than MAX_LINE_BYTES: the rest of it is dropped
    first = True
    wanted = chunk_bytes if first_bytes is None else first_bytes
    while True:
        parts: list[bytes] = []
        size = 0
        ended = False
        while size < wanted:
            block = _read(stream, problems, min(READ_BYTES, wanted - size))
            if first and block.startswith(UTF8_BOM):
                block = block[len(UTF8_BOM) :]
            first = False
            if not block:
                ended = True
                break
            if cutting:
                end = block.find(b"\n")
                if end < 0:
                    continue  # more of the over-long line: read on, keep nothing
                block, cutting = block[end:], False  # its line end ends the cut line
            parts.append(block)
            size += len(block)
        if ended:
            rest = b"".join([*pending, *parts])
            if rest:
                yield rest
            return
        # cut after the last line end: one copy of the whole lines
        for index in range(len(parts) - 1, -1, -1):
            cut = parts[index].rfind(b"\n") + 1
            if cut:
                last = memoryview(parts[index])
                yield b"".join([*pending, *parts[:index], last[:cut]])
                wanted = chunk_bytes
                pending = [bytes(last[cut:]), *parts[index + 1 :]]
                pending_size = sum(len(part) for part in pending)
                break
        else:  # no line end yet: a very long line, keep reading
            pending.extend(parts)
            pending_size += size
        if pending_size > MAX_LINE_BYTES:  # keep its start: enough to see what it was
            pending = [b"".join(pending)[: MAX_LINE_BYTES + 1]]
            pending_size = len(pending[0])
            cutting = True


def _read(stream: Readable, problems: ReadProblems, size: int) -> bytes:
    """One read; a read error or damaged compressed data ends the file (b"").

    read1 where the stream has it: one step of a decompressing stream, so the
    reads stay about `size`.  The decompressing streams of `logstat.reading.decompress`
    return everything decompressed before damage before they report it.
    """
    read = getattr(stream, "read1", stream.read)
    try:
        return bytes(read(size))
    except ReadNotice as notice:
        problems.add(str(notice))
    except (EOFError, OSError, zlib.error, ValueError) as error:
        # truncated or corrupt compressed data, or a read error: keep what was read
        problems.add(f"stopped reading early: {_describe(error)}")
    return b""


def read_chunks(
    stream: Readable, problems: ReadProblems, chunk_bytes: int = CHUNK_BYTES
) -> Iterator[Chunk]:
    """Blocks of whole lines with the number of each block's first line."""
    line_no = 1
    previous = b""
    for data in read_blocks(stream, problems, chunk_bytes):
        line_no += previous.count(b"\n")  # only when a block follows: small files skip it
        yield Chunk(data, line_no)
        previous = data


def _describe(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    if isinstance(error, EOFError):
        text = "compressed data is truncated"
    return text.splitlines()[0] if text else type(error).__name__


def split_lines(chunk: Chunk) -> pl.DataFrame:
    """Frame with `line_no` (UInt64), `line` (String, no line terminator), `invalid_utf8`.

    Lines end at `\\n`; any `\\r` before it (or at the end of the data) is dropped.
    Lines that are not valid UTF-8 are decoded with backslash escapes (`\\xff`),
    so nothing readable is lost; `invalid_utf8` marks them.
    """
    if chunk.data.startswith(POLARS_DECOMPRESSES):
        return _split_repairing(chunk)  # scan_lines would decompress it, or fail
    try:
        # native splitting and UTF-8 checking; it drops one \r before each \n
        text = pl.scan_lines(chunk.data).collect().to_series()
    except pl.exceptions.ComputeError:  # some line is not UTF-8
        return _split_repairing(chunk)
    # a line still ending in \r had \r\r\n (or ended the data with \r): `in` for one byte
    # is a fast memchr, and asking the lines is cheaper than searching 16 MB for three bytes;
    # only those lines are copied, not every line of the chunk
    if b"\r" in chunk.data:
        ending = text.str.ends_with("\r").arg_true()
        if ending.len():
            text = text.scatter(ending, text.gather(ending).str.strip_chars_end("\r"))
    count = text.len()
    return pl.DataFrame(
        {
            "line_no": _line_numbers(chunk.first_line_no, count),
            "line": text.alias("line"),
            "invalid_utf8": pl.repeat(False, count, dtype=pl.Boolean, eager=True),
        }
    )


def line_bytes(lines: pl.DataFrame) -> pl.Series:
    """How long each line of a `split_lines` frame was in the file (without its line end,
    or the `\\r` before it): what MAX_LINE_BYTES is about.  A line of bytes that are not
    UTF-8 is longer as text (each such byte is `\\xHH`), and is not over-long for that."""
    if RAW_BYTES in lines.columns:
        return lines.get_column(RAW_BYTES)
    return lines.get_column("line").str.len_bytes()


def line_ends(data: bytes, lines: pl.DataFrame) -> int:
    """How many `\\n` `data` holds, from the frame it was split into."""
    return lines.height - (1 if data and not data.endswith(b"\n") else 0)


def _line_numbers(first: int, count: int) -> pl.Series:
    return pl.int_range(first, first + count, dtype=pl.UInt64, eager=True)


def _split_repairing(chunk: Chunk) -> pl.DataFrame:
    """`split_lines` for data with some bytes that are not UTF-8."""
    import numpy
    import pyarrow

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
    # Only lines holding bytes >= 0x80 can be at fault, so decode just those in
    # Python and leave the rest to polars.
    suspects = numpy.unique(
        numpy.searchsorted(offsets, numpy.flatnonzero(buffer >= 0x80), "right") - 1
    )
    invalid = numpy.zeros(count, dtype=bool)
    values = raw.gather(suspects).to_list()
    repaired: list[str] = []
    for index, value in zip(suspects.tolist(), values, strict=True):
        try:
            repaired.append(value.decode("utf-8"))
        except UnicodeDecodeError:
            repaired.append(value.decode("utf-8", "backslashreplace"))
            invalid[index] = True
    clean = numpy.ones(count, dtype=bool)
    clean[suspects] = False
    text = pl.repeat(None, count, dtype=pl.String, eager=True)
    text = text.scatter(suspects, pl.Series(repaired, dtype=pl.String))
    text = text.scatter(numpy.flatnonzero(clean), raw.filter(pl.Series(clean)).cast(pl.String))
    frame = pl.DataFrame(
        {
            "line_no": _line_numbers(chunk.first_line_no, count),
            "line": text.str.strip_chars_end("\r\n"),
            "invalid_utf8": pl.Series(invalid, dtype=pl.Boolean),
        }
    )
    longest = frame.get_column("line").str.len_bytes().max()
    if isinstance(longest, int) and longest > MAX_LINE_BYTES:  # maybe only as escaped text
        ended = len(ends)  # line i < ended ends at ends[i]
        lengths = numpy.diff(offsets)
        lengths[:ended] -= 1  # the \n
        lengths[:ended][(ends > offsets[:ended]) & (buffer[ends - 1] == 13)] -= 1  # \r\n
        if count > ended and data.endswith(b"\r"):
            lengths[-1] -= 1
        frame = frame.with_columns(pl.Series(RAW_BYTES, lengths, dtype=pl.UInt64))
    return frame
