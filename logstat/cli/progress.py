"""The progress bar: bytes read of the total, on stderr, for a person watching."""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from logstat.library import Progress, Watch
    from logstat.reading.runs import FileRun


def watch(quiet: bool) -> Watch:
    """What the library calls with the files about to be read (see library.Watch)."""
    return functools.partial(_bar, quiet=quiet)


@contextlib.contextmanager
def _bar(runs: list[FileRun], quiet: bool) -> Iterator[Progress | None]:
    """No bar with --quiet, or when stderr is no terminal (cron, a pipe)."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    total = sum(run.source.size or 0 for run in runs) or None
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("reading", total=total)
        yield lambda consumed: bar.advance(task, consumed)
