"""Local log files read as they grow, each line once, across rotation: `logstat follow`.

Every tick re-plans the files with a --state kept in memory (state.py): what was read
is remembered by device, inode and fingerprint, so a file that grew is read from where
the last tick stopped, a rotated file (`access.log` -> `access.log.1`, or compressed)
has its unread tail read once under its new name, a new `access.log` is read from its
start, and a truncated one (copytruncate) again from its start.  These are the rules a
cron run with `--state` follows; only the memory is shorter.  A file's format, once
detected, is lent to the next tick as to a file named like it (detection.py): the new
lines confirm it, and one that does not parse has the file detected again.

    follower = Follower(["access.log"], options)   # refuses stdin, pipes and objects
    for run, frame in follower.read(needed): ...   # what was added since the last read
    follower.runs, follower.waiting                # the files read; inputs not there now
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from logstat.errors import ExitCode, LogstatError
from logstat.formats import Choice
from logstat.reading import detection, pipeline
from logstat.reading.inputs import plan_files
from logstat.reading.object_state import ObjectLedger
from logstat.reading.objects import scheme_of
from logstat.reading.runs import FileRun, Options
from logstat.reading.sources import STDIN, Source
from logstat.reading.state import Entry, StateFile

LOCAL_ONLY = "reads local files only"


class _InMemory(StateFile):
    """A --state that is never written: what was read is remembered between ticks."""

    def __init__(self) -> None:
        super().__init__(Path("(in memory)"), [], None)

    def save(self, entries: list[Entry], objects: ObjectLedger | None = None) -> None:
        self.entries = entries


class Follower:
    """The new lines of local log files, tick after tick (see the module's docstring)."""

    def __init__(self, logs: list[str], options: Options, command: str = "follow") -> None:
        for log in logs:
            if log == STDIN or scheme_of(log) is not None:
                what = "stdin" if log == STDIN else log
                raise LogstatError(f"{command} {LOCAL_ONLY}, not {what}", ExitCode.USAGE)
        self.logs = list(logs)
        self.options = options
        self.command = command
        self.runs: list[FileRun] = []  # the files the last read read
        self.waiting: list[str] = []  # inputs missing at the last read (rotated, not yet back)
        self._state = _InMemory()
        self._started = False
        self._detected: dict[tuple[str, str], Choice] = {}  # lent to the next tick

    def sources(self) -> list[Source]:
        """The inputs' files now.  Before the first read a missing input is an error; after,
        it is waited for (a log renamed away and not yet created again)."""
        found: list[Source] = []
        seen: set[tuple[int, int] | str] = set()  # a file named twice is read once
        self.waiting = []
        for log in self.logs:
            try:
                listed = self.options.expand([log])
            except LogstatError:
                if not self._started:
                    raise
                self.waiting.append(log)
                continue
            for source in listed:
                if source.once:
                    raise LogstatError(
                        f"{self.command} {LOCAL_ONLY}, not {source.name} (not a regular file)",
                        ExitCode.USAGE,
                    )
                identity = _identity(source)
                if identity not in seen:
                    seen.add(identity)
                    found.append(source)
        return found

    def read(self, needed: set[str] | None = None) -> Iterator[tuple[FileRun, pl.DataFrame]]:
        """The frames of what the files gained since the last read; read it to its end,
        or what it yielded is read again next time."""
        runs = plan_files(self.sources(), self.options, self._state, self._detected)
        self._started = True
        yield from pipeline.read(runs, self.options, needed)
        self._state.commit(runs)
        self.runs = runs
        for run in runs:
            lends = detection.lent(run)
            if lends is not None:
                self._detected[lends[0]] = lends[1]


def _identity(source: Source) -> tuple[int, int] | str:
    """The file's device and inode; its name when it is gone (state.py says so)."""
    try:
        status = os.stat(source.path) if source.path is not None else None
    except OSError:
        status = None
    return (status.st_dev, status.st_ino) if status is not None else source.name
