"""Turn the user's arguments into readable byte streams.

Paths, globs, directories (walked recursively, symlink loops ignored) and `-`
for stdin.  Compression is recognised by magic bytes, not by the file name, so a
rotated `access.log.1` that is really gzip is still read.
"""

from __future__ import annotations

import bz2
import glob
import io
import lzma
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from logstat.errors import LogstatError

STDIN = "-"

# magic bytes -> compression name
MAGIC = {
    b"\x1f\x8b": "gzip",
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
}


@dataclass(frozen=True)
class Source:
    """One input: a file path, or stdin."""

    name: str  # as shown to the user
    path: Path | None  # None for stdin

    @property
    def size(self) -> int | None:
        """Size on disk (compressed size for compressed files), None for stdin."""
        if self.path is None:
            return None
        try:
            return self.path.stat().st_size
        except OSError:
            return None


def expand(arguments: list[str]) -> list[Source]:
    """Expand paths, globs and directories into an ordered, de-duplicated list."""
    sources: list[Source] = []
    seen: set[Path] = set()

    def add(path: Path) -> None:
        resolved = path.resolve()
        if resolved not in seen:
            seen.add(resolved)
            sources.append(Source(str(path), path))

    for argument in arguments:
        if argument == STDIN:
            sources.append(Source("<stdin>", None))
            continue
        path = Path(argument)
        if path.is_dir():
            for file in _walk(path):
                add(file)
        elif path.exists():
            add(path)
        elif glob.has_magic(argument):
            matches = sorted(glob.glob(argument, recursive=True))
            if not matches:
                raise LogstatError(f"no files match {argument!r}")
            for match in matches:
                match_path = Path(match)
                for file in _walk(match_path) if match_path.is_dir() else [match_path]:
                    add(file)
        else:
            raise LogstatError(f"{argument}: no such file or directory")
    return sources


def _walk(directory: Path) -> Iterator[Path]:
    """Regular files below `directory`, sorted, skipping hidden files and symlink loops."""
    visited: set[tuple[int, int]] = set()
    for root, directories, files in os.walk(directory, followlinks=True):
        stat = os.stat(root)
        identity = (stat.st_dev, stat.st_ino)
        if identity in visited:  # a symlink loop: stop descending
            directories[:] = []
            continue
        visited.add(identity)
        directories[:] = sorted(d for d in directories if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and os.path.isfile(os.path.join(root, name)):
                yield Path(root) / name


def detect_compression(head: bytes) -> str | None:
    for magic, name in MAGIC.items():
        if head.startswith(magic):
            return name
    return None


class CountingReader(io.RawIOBase):
    """Wraps a raw stream and counts the bytes taken from it (for progress)."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:  # lets --state skip the lines it already read
        return self.raw.seekable()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self.raw.seek(offset, whence)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        size = self.raw.readinto(buffer)  # type: ignore[attr-defined]
        self.consumed += size or 0
        return size or 0


@dataclass
class OpenedSource:
    stream: BinaryIO  # decompressed bytes
    counter: CountingReader  # raw bytes consumed so far
    compression: str | None

    def close(self) -> None:
        self.stream.close()
        self.counter.raw.close()


def _open_file(path: Path) -> BinaryIO:
    return open(path, "rb", buffering=0)  # closed by OpenedSource.close


def open_source(source: Source) -> OpenedSource:
    """Open a source for reading decompressed bytes; errors become LogstatError."""
    try:
        # unbuffered: the BufferedReader below is the only buffer
        raw: BinaryIO = sys.stdin.buffer if source.path is None else _open_file(source.path)
    except OSError as error:
        raise LogstatError(f"{source.name}: cannot open: {error.strerror or error}") from error
    counter = CountingReader(raw)
    buffered = io.BufferedReader(counter, buffer_size=1 << 20)
    try:
        head = buffered.peek(8)[:8]
    except OSError as error:
        raise LogstatError(f"{source.name}: cannot read: {error.strerror or error}") from error
    compression = detect_compression(head)
    stream: BinaryIO
    if compression == "gzip":
        # ISA-L inflates about twice as fast as zlib, with the same gzip semantics
        from isal import igzip

        stream = igzip.IGzipFile(fileobj=buffered, mode="rb")  # type: ignore[no-untyped-call,assignment]
    elif compression == "bzip2":
        stream = bz2.BZ2File(buffered)  # type: ignore[assignment]
    elif compression == "xz":
        stream = lzma.LZMAFile(buffered)  # type: ignore[assignment]  # noqa: SIM115
    elif compression == "zstd":
        import zstandard

        stream = zstandard.ZstdDecompressor().stream_reader(buffered, read_across_frames=True)
    else:
        stream = buffered
    return OpenedSource(stream, counter, compression)
