"""Turn the user's arguments into readable byte streams.

Paths, globs, directories (walked recursively, symlink loops ignored) and `-`
for stdin.  Compression is recognised by magic bytes, not by the file name, so a
rotated `access.log.1` that is really gzip is still read.
"""

from __future__ import annotations

import glob
import io
import operator
import os
import re
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, cast

from logstat.errors import LogstatError
from logstat.reading import decompress, objects
from logstat.reading.lines import ReadNotice

STDIN = "-"

# magic bytes -> compression name
MAGIC = {
    b"\x1f\x8b": "gzip",
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
}
MAGIC_OF = {name: magic for magic, name in MAGIC.items()}
# what open_source tries to decompress of a file that starts with magic bytes: real
# compressed data gives its first byte well within it (a bzip2 block is < 1 MiB)
START_BYTES = 1 << 20
TEXT_SAMPLE_BYTES = 64 << 10  # what looks_like_text looks at
# what text has next to none of: bytes that are not UTF-8, control characters but tab and line ends
_NOT_TEXT = re.compile(r"[\ufffd\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Source:
    """One input: a file path, an object in object storage, or stdin."""

    name: str  # as shown to the user
    path: Path | None  # None for stdin and objects
    # False for a pipe, FIFO or device named as a path (`<(cmd)`, /dev/stdin): like
    # stdin it can be read only once, so detection's head is kept, not read again
    regular: bool = True
    remote: objects.RemoteObject | None = None  # an object in s3://, gs://, az://, https://
    store: objects.Store | None = field(default=None, compare=False, repr=False)

    def __reduce__(self) -> tuple[Any, ...]:
        # a file pickles as its name (a cluster's plan holds one for each of 100,000s of
        # files: a Path pickles as its parts, each parsed again when unpickled)
        if self.remote is None and self.path is not None and str(self.path) == self.name:
            return (_named_file, (self.name, self.regular))
        return (Source, (self.name, self.path, self.regular, self.remote, self.store))

    @property
    def once(self) -> bool:
        """Whether the data can be read only once (stdin, a pipe, a FIFO, a device)."""
        if self.remote is not None:
            return False
        return self.path is None or not self.regular

    @property
    def size(self) -> int | None:
        """Size on disk (compressed size for compressed files), None for stdin."""
        if self.remote is not None:
            return self.remote.size
        if self.path is None:
            return None
        try:
            return self.path.stat().st_size
        except OSError:
            return None


def _named_file(name: str, regular: bool) -> Source:
    return Source(name, Path(name), regular)


def expand(
    arguments: list[str],
    endpoint_url: str | None = None,
    window: objects.Window | None = None,
) -> list[Source]:
    """Expand paths, globs, directories and object URLs into an ordered, de-duplicated list.

    Object URLs (s3://bucket/prefix/, globs in them too) are listed through their
    store, skipping date folders outside `window` (--since/--until); `endpoint_url`
    is the S3 endpoint of an S3-compatible store (else $AWS_ENDPOINT_URL).

    A file named twice (or reached twice through links) is read once: files are
    told apart by device and inode, which the directory walk gets without a
    system call per file.

    An argument that names no file at all (a glob matching nothing, an empty
    directory) is an error, as a missing file is: a cron job pointed at the wrong
    place must not look like a quiet night.  A file listed that is gone before it
    is looked at (rotated or deleted) is kept: opening it reports it as vanished.
    """
    sources: list[Source] = []
    seen: set[tuple[int, int]] = set()
    seen_objects: set[str] = set()
    stores: dict[str, objects.Store] = {}
    found = 0

    def add(path: Path, identity: tuple[int, int] | None = None) -> None:
        nonlocal found
        found += 1
        regular = True  # what the directory walk yields
        if identity is None:
            try:
                status = path.stat()
            except FileNotFoundError:  # gone since it was listed
                sources.append(Source(str(path), path))
                return
            identity, regular = _identity(status), stat.S_ISREG(status.st_mode)
        if identity not in seen:
            seen.add(identity)
            sources.append(Source(str(path), path, regular))

    for argument in arguments:
        if argument == STDIN:
            sources.append(Source("<stdin>", None))
            continue
        scheme = objects.scheme_of(argument)
        if scheme is not None:
            store = stores.get(scheme)
            if store is None:
                endpoint = endpoint_url or os.environ.get(objects.ENDPOINT_ENVIRONMENT)
                store = stores[scheme] = objects.Store(scheme, endpoint)
            listed = [
                item
                for item in store.listing(argument, window or objects.Window())
                if item.url not in seen_objects
            ]
            seen_objects.update(item.url for item in listed)
            store.add(listed)
            sources.extend(Source(item.url, None, True, item, store) for item in listed)
            continue
        path = Path(argument)
        found = 0
        if path.is_dir():
            for file, identity in _walk(path):
                add(file, identity)
            if not found:
                raise LogstatError(f"{argument}: no files in this directory (hidden files skipped)")
        elif path.exists():
            add(path)
        elif glob.has_magic(argument):
            for match in sorted(glob.glob(argument, recursive=True)):
                match_path = Path(match)
                if match_path.is_dir():
                    for file, identity in _walk(match_path):
                        add(file, identity)
                else:
                    add(match_path)
            if not found:
                raise LogstatError(f"no files match {argument!r}")
        else:
            raise LogstatError(f"{argument}: no such file or directory")
    return sources


def _walk(directory: Path) -> Iterator[tuple[Path, tuple[int, int]]]:
    """Regular files below `directory` with their (device, inode), sorted, skipping
    hidden files and symlink loops."""
    visited: set[tuple[int, int]] = set()
    pending = [str(directory)]
    while pending:
        root = pending.pop()
        try:
            status = os.stat(root)
            with os.scandir(root) as scan:
                entries = sorted(scan, key=_name)
        except OSError:
            continue  # unreadable or vanished: as os.walk, skip it
        if (status.st_dev, status.st_ino) in visited:  # a symlink loop: stop descending
            continue
        visited.add((status.st_dev, status.st_ino))
        directories = []
        parent = Path(root)
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir():
                    directories.append(entry.path)
                elif entry.is_file():
                    # a link's own inode is not its target's: ask the target
                    identity = (
                        _identity(os.stat(entry.path))
                        if entry.is_symlink()
                        else (status.st_dev, entry.inode())
                    )
                    yield _child(parent, entry.name), identity
            except OSError:
                continue  # a dangling link, or gone since the listing
        pending.extend(reversed(directories))  # depth first, in name order


_name = operator.attrgetter("name")
# pathlib's own join of a name listed in `directory` (Path.iterdir's): Python 3.11's
# `Path(path)` and `directory / name` parse the text again, 5 us a file of the
# 100,000s a walk may list (a third of the walk); `/` where pathlib has no such method
_LISTED_CHILD = getattr(Path, "_make_child_relpath", None)


def _child(directory: Path, name: str) -> Path:
    """`directory / name`, for a `name` (no separator in it) listed in `directory`."""
    if _LISTED_CHILD is not None:
        child: Path = _LISTED_CHILD(directory, name)
        return child
    return directory / name


def _identity(status: os.stat_result) -> tuple[int, int]:
    return status.st_dev, status.st_ino


def detect_compression(head: bytes) -> str | None:
    for magic, name in MAGIC.items():
        if head.startswith(magic):
            return name
    return None


class CountingReader(io.RawIOBase):
    """Wraps a raw stream and counts the bytes taken from it (for progress).

    `look_ahead` reads the first bytes for open_source to sniff; they are read
    again (and counted) as if they had not been read.
    """

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.consumed = 0
        self._ahead = memoryview(b"")  # read by look_ahead, not yet taken

    def look_ahead(self, size: int) -> bytes:
        """The first `size` bytes (fewer at the end of the data), read again afterwards."""
        data = bytes(self._ahead)
        while len(data) < size:
            block = self.raw.read(size - len(data))
            if not block:
                break
            data += block
        self._ahead = memoryview(data)
        return data

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:  # lets --state skip the lines it already read
        return self.raw.seekable()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR:
            offset -= len(self._ahead)
        self._ahead = memoryview(b"")
        return self.raw.seek(offset, whence)

    def tell(self) -> int:
        return self.raw.tell() - len(self._ahead)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._ahead:
            size = min(len(buffer), len(self._ahead))
            buffer[:size] = self._ahead[:size]
            self._ahead = self._ahead[size:]
        else:
            size = self.raw.readinto(buffer) or 0  # type: ignore[attr-defined]
        self.consumed += size
        return size


@dataclass
class OpenedSource:
    stream: BinaryIO  # decompressed bytes
    counter: CountingReader  # raw bytes consumed so far
    compression: str | None

    def close(self) -> None:
        self.stream.close()
        self.counter.raw.close()


class Vanished(LogstatError):
    """A file listed for this run was gone when it was opened: rotated or deleted."""

    REASON = "gone before it could be read (rotated or deleted)"

    def __init__(self, name: str) -> None:
        super().__init__(f"{name}: {self.REASON}")


def _open_file(path: Path) -> BinaryIO:
    return open(path, "rb", buffering=0)  # closed by OpenedSource.close


def open_source(source: Source) -> OpenedSource:
    """Open a source for reading decompressed bytes; errors become LogstatError.

    A file that starts with compression magic bytes but fails to decompress
    before its first byte, and reads as text, is read as plain text: a log line
    may begin with those bytes.  The stream then reports that at its end.
    """
    try:
        # unbuffered: the BufferedReader below is the only buffer
        raw: BinaryIO
        if source.remote is not None and source.store is not None:
            raw = source.store.open(source.remote)
        else:
            raw = sys.stdin.buffer if source.path is None else _open_file(source.path)
    except FileNotFoundError as error:
        raise Vanished(source.name) from error
    except OSError as error:
        raise LogstatError(f"{source.name}: cannot open: {error.strerror or error}") from error
    counter = CountingReader(raw)
    try:
        compression = detect_compression(counter.look_ahead(8))
        start = counter.look_ahead(START_BYTES) if compression else b""
    except OSError as error:
        raise LogstatError(f"{source.name}: cannot read: {error.strerror or error}") from error
    buffered = io.BufferedReader(counter, buffer_size=1 << 20)
    if compression is None:
        return OpenedSource(buffered, counter, None)
    codec = decompress.codec(compression)
    failure = decompress.failure_at_start(start, codec)
    if failure is not None and looks_like_text(start[len(MAGIC_OF[compression]) :]):
        note = f"read as plain text: starts like {compression} but does not decompress ({failure})"
        return OpenedSource(cast(BinaryIO, _NotedAtEnd(buffered, note)), counter, None)
    stream = decompress.DecompressedStream(buffered, codec)
    return OpenedSource(cast(BinaryIO, stream), counter, compression)


def read_small_plain_file(path: Path, limit: int) -> bytes | None:
    """The whole content of an uncompressed file of at most `limit` bytes, read in
    one call; None for anything else (compressed, bigger, unreadable), which
    open_source then reads as usual.  Directories of many small logs skip the
    stream layers that way."""
    try:
        with _open_file(path) as file:
            status = os.fstat(file.fileno())
            if status.st_size > limit or not stat.S_ISREG(status.st_mode):
                return None  # a pipe's size says nothing: it is streamed
            data = file.read()
    except OSError:
        return None  # open_source reports it
    if data is None or detect_compression(data[:8]) is not None:
        return None
    return data


def looks_like_text(data: bytes) -> bool:
    """Whether `data` (a file's first bytes) is text rather than binary data.

    Compressed data is close to random: about half its bytes are not UTF-8 and
    one in eight is a control character.  A text log has few of either, even
    one in Latin-1 with an accent in every line.
    """
    sample = data[:TEXT_SAMPLE_BYTES].decode("utf-8", "replace")
    odd = len(_NOT_TEXT.findall(sample))
    return odd <= len(sample) // 10


class _NotedAtEnd(io.BufferedIOBase):
    """A plain stream that raises `ReadNotice(note)` once, when read at its end."""

    def __init__(self, stream: io.BufferedReader[CountingReader], note: str) -> None:
        super().__init__()
        self._stream = stream
        self._note: str | None = note

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._stream.seekable()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._stream.seek(offset, whence)

    def tell(self) -> int:
        return self._stream.tell()

    def read(self, size: int | None = -1) -> bytes:
        return self._stream.read(size) or self._end(size)

    def read1(self, size: int = -1) -> bytes:
        return self._stream.read1(size) or self._end(size)

    def _end(self, size: int | None) -> bytes:
        if size == 0 or self._note is None:
            return b""
        note, self._note = self._note, None
        raise ReadNotice(note)
