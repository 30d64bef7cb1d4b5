"""Decompress gzip, bzip2, xz and zstd step by step, so damage costs nothing already read.

Each step asks the decompressor for at most `OUTPUT_STEP` bytes (zstd: feeds it
`ZSTD_STEP` bytes of input), so memory stays flat whatever the compression
ratio, and every byte decompressed before the damage has been returned by the
time the damage is reported: `EOFError` when the data is cut short,
`DamagedData` (an OSError) when it is corrupt or followed by something that is
not more of it.  Data cut short or followed by junk costs nothing; corrupt data
costs what the step that meets it had decompressed (less than `OUTPUT_STEP`;
for zstd, the block or blocks that one `ZSTD_STEP` of input completed).

A file may hold several members or frames one after another (`cat a.gz b.gz`,
logrotate, S3, pigz, pbzip2, pzstd): they are read as one stream, as gunzip and
`zstd -d` do.  NUL bytes after the end (block padding) are skipped, as gunzip
and xz accept them.
"""

from __future__ import annotations

import bz2
import io
import lzma
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    from logstat.reading.lines import Readable

OUTPUT_STEP = 256 << 10  # the most one step decompresses (zstd: more than a block)
INPUT_BYTES = 128 << 10  # compressed bytes read from the file at a time
# zstandard decompresses all it is given in one call, and zstd can expand about
# 32768 times (a 4-byte block of 128 KiB of one byte): 2 KiB in gives <= 64 MiB out
ZSTD_STEP = 2 << 10
# zstd skippable frames (metadata some tools write between frames) start with any of these
ZSTD_SKIPPABLE = tuple(bytes([low, 0x2A, 0x4D, 0x18]) for low in range(0x50, 0x60))


class DamagedData(OSError):
    """The compressed data is corrupt, or followed by data that is not more of it."""


class Decompressor(Protocol):
    """The incremental interface of bz2, lzma and isal decompressors."""

    @property
    def eof(self) -> bool: ...

    @property
    def needs_input(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    def decompress(self, data: bytes, max_length: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class Codec:
    name: str
    starts: tuple[bytes, ...]  # what a member or frame begins with
    new: Callable[[], Decompressor]
    errors: tuple[type[BaseException], ...]  # what its decompressor raises on bad data

    @property
    def longest_start(self) -> int:
        return max(len(start) for start in self.starts)


def codec(name: str) -> Codec:
    """The codec for a compression name of `sources.MAGIC`; imports its library on first use."""
    if name == "gzip":
        # ISA-L inflates about twice as fast as zlib; it checks the CRC and length too
        from isal import igzip_lib

        return Codec(
            "gzip",
            (b"\x1f\x8b",),
            lambda: igzip_lib.IgzipDecompressor(flag=igzip_lib.DECOMP_GZIP),
            (cast(type[Exception], igzip_lib.IsalError),),  # its stub calls it an instance
        )
    if name == "bzip2":
        return Codec("bzip2", (b"BZh",), bz2.BZ2Decompressor, (OSError, ValueError))
    if name == "xz":
        return Codec("xz", (b"\xfd7zXZ\x00",), lzma.LZMADecompressor, (lzma.LZMAError,))
    if name == "zstd":
        import zstandard

        return Codec("zstd", (b"\x28\xb5\x2f\xfd", *ZSTD_SKIPPABLE), _Zstd, (zstandard.ZstdError,))
    raise ValueError(f"unknown compression {name!r}")


class DecompressedStream(io.BufferedIOBase):
    """The decompressed bytes of `raw`, a compressed stream that starts with a member.

    `read1` returns the output of one step; `read` gathers steps and, when one
    fails, first returns what the others gave (the error comes with the next
    call).  After an error the stream is at its end.  `seek` goes forward only.
    """

    def __init__(self, raw: Readable, codec: Codec) -> None:
        super().__init__()
        self._raw = raw
        self._codec = codec
        self._decompressor = codec.new()
        self._input = b""  # compressed bytes read but not yet given to the decompressor
        self._surplus = memoryview(b"")  # output of a step beyond what was asked for
        self._error: BaseException | None = None  # met by `read` after some output
        self._finished = False
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Skip forward to `offset` (fewer bytes when the data ends before it)."""
        if whence == io.SEEK_CUR:
            offset += self._position
        elif whence != io.SEEK_SET:
            raise io.UnsupportedOperation("decompressed data has no known end to seek from")
        if offset < self._position:
            raise io.UnsupportedOperation("cannot seek backwards in decompressed data")
        while self._position < offset and self.read1(offset - self._position):
            pass
        return self._position

    def read(self, size: int | None = -1) -> bytes:
        wanted = -1 if size is None else size
        parts: list[bytes] = []
        count = 0
        while wanted < 0 or count < wanted:
            try:
                data = self.read1(wanted - count if wanted >= 0 else -1)
            except (OSError, EOFError) as error:
                if not parts:
                    raise
                self._error = error  # what was decompressed before it comes first
                break
            if not data:
                break
            parts.append(data)
            count += len(data)
        return b"".join(parts)

    def read1(self, size: int = -1) -> bytes:
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        if size == 0 or (self._finished and not self._surplus):
            return b""
        limit = OUTPUT_STEP if size < 0 else min(size, OUTPUT_STEP)
        if not self._surplus:
            try:
                output = self._step(limit)
            except BaseException:
                self._finished = True
                raise
            if len(output) <= limit:  # nearly always: no copy
                self._position += len(output)
                return output
            self._surplus = memoryview(output)
        data = bytes(self._surplus[:limit])
        self._surplus = self._surplus[limit:]
        self._position += len(data)
        return data

    def _step(self, limit: int) -> bytes:
        """The next output (b"" only at the end): one decompress call that gives some."""
        codec = self._codec
        while not self._finished:
            decompressor = self._decompressor
            if decompressor.eof:
                self._next_member()
                continue
            if decompressor.needs_input:
                data, self._input = self._input or self._raw.read(INPUT_BYTES), b""
                if not data:
                    raise EOFError(f"{codec.name} data is cut short")
            else:
                data = b""
            try:
                output = decompressor.decompress(data, limit)
            except codec.errors as error:
                detail = str(error).strip() or type(error).__name__
                raise DamagedData(f"corrupt {codec.name} data: {detail}") from error
            if output:
                return output
        return b""

    def _next_member(self) -> None:
        """Start the member or frame that follows, skipping NUL padding; or finish."""
        codec = self._codec
        pending = self._decompressor.unused_data + self._input
        self._input = b""
        while True:
            pending = pending.lstrip(b"\0")
            if len(pending) >= codec.longest_start:
                break
            more = self._raw.read(INPUT_BYTES)
            if not more:
                break
            pending += more
        if not pending:
            self._finished = True
        elif pending.startswith(codec.starts):
            self._decompressor = codec.new()
            self._input = pending
        else:
            raise DamagedData(f"data after the end of the {codec.name} data is not {codec.name}")


class _Zstd:
    """zstandard's decompressobj with the interface of the bz2, lzma and isal decompressors.

    zstandard decompresses all it is given in one call, so each call feeds it
    one `ZSTD_STEP` piece of the input (more while they give nothing): what one
    call returns stays bounded, though not by `max_length`.
    """

    def __init__(self) -> None:
        import zstandard

        self._object: Any = zstandard.ZstdDecompressor().decompressobj()
        self._input = memoryview(b"")
        self.eof = False
        self.unused_data = b""

    @property
    def needs_input(self) -> bool:
        return not self._input

    def decompress(self, data: bytes, max_length: int = -1, /) -> bytes:
        if data:
            self._input = memoryview(bytes(self._input) + data if self._input else data)
        output = b""
        while self._input and not output:
            piece, self._input = self._input[:ZSTD_STEP], self._input[ZSTD_STEP:]
            output = self._object.decompress(piece)
            if self._object.eof:
                self.eof = True
                self.unused_data = bytes(self._object.unused_data) + bytes(self._input)
                self._input = memoryview(b"")
        return output


def failure_at_start(head: bytes, codec: Codec) -> str | None:
    """Why `head`, a file's first bytes, gives no decompressed byte; None when it gives one.

    `head` is the whole file or enough of it for real compressed data to give
    its first byte (sources.START_BYTES), so data that ends first fails too.
    """
    stream = DecompressedStream(io.BytesIO(head), codec)
    try:
        stream.read1(1)
    except (DamagedData, EOFError) as error:
        return str(error)
    return None
