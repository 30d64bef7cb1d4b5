"""Files that appear only once completely written: every output logstat writes (exports,
reports, state, rejects, Prometheus counters) goes through here.

A temporary file beside the target, locked while written, renamed into place at the end:
a crash or a full disk never leaves a half-written file, and the previous file stays until
the new one is complete.  This module imports nothing else of logstat's but its errors, so
every floor may use it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from logstat.errors import LogstatError

# the names tempfile.mkstemp gives atomic_output's temporary files: .NAME.<8 characters>
_TEMPORARY = re.compile(r"[a-z0-9_]{8}")


def _temporary_file(path: Path, directory: Path) -> tuple[int, str]:
    """A new temporary file beside `path`, locked for as long as this process writes it:
    a file of that name that is not locked was left by a run that died (SIGKILL, power
    loss), and the next write of `path` removes it."""
    while True:
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            same = os.stat(temporary).st_ino == os.fstat(descriptor).st_ino
        except FileNotFoundError:
            same = False  # another run took it for a dead one's before it was locked
        except BaseException:  # SIGTERM, Ctrl-C: leave nothing behind
            os.close(descriptor)
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        if same:
            return descriptor, temporary
        os.close(descriptor)


def remove_dead_temporary_files(path: Path, directory: Path) -> None:
    """Remove the temporary files of `path` that no live process holds locked."""
    prefix = f".{path.name}."
    with contextlib.suppress(OSError):
        names = [name for name in os.listdir(directory) if name.startswith(prefix)]
        for name in names:
            if not _TEMPORARY.fullmatch(name[len(prefix) :]):
                continue
            leftover = directory / name
            try:
                descriptor = os.open(leftover, os.O_RDONLY | os.O_NOFOLLOW)
            except OSError:
                continue
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                os.unlink(leftover)  # locked by nobody: its writer is dead
            except OSError:
                pass  # a live writer holds it (or it is gone already)
            finally:
                os.close(descriptor)


@contextlib.contextmanager
def atomic_output(path: Path, mode: str = "wb") -> Iterator[IO[bytes]]:
    """A file that appears at `path` only once it is completely written."""
    directory = path.parent if str(path.parent) else Path(".")
    remove_dead_temporary_files(path, directory)
    try:
        descriptor, temporary = _temporary_file(path, directory)
    except OSError as error:
        raise LogstatError(f"{path}: cannot write: {error.strerror or error}") from error
    try:
        with os.fdopen(descriptor, mode) as handle:
            # mkstemp makes the file 0600; give it the mode open() would, so that other
            # readers (node_exporter's textfile collector, a web server) can read it
            umask = os.umask(0)
            os.umask(umask)
            os.fchmod(handle.fileno(), 0o666 & ~umask)
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
            os.replace(temporary, path)  # before close: the lock lasts until the rename
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise LogstatError(f"{path}: cannot write: {error.strerror or error}") from error
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
