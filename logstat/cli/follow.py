"""`logstat follow` (also `logstat --follow` / `-f`, `logstat summary --follow`): a live view.

Every second the files' new lines are read (reading/follow.py, which follows rotation
as --state does), counted by the second they were logged in (summary/window.py),
and the last --window of them drawn on the terminal's alternate screen
(report/live.py).  `q` or Ctrl-C ends it.
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from logstat.cli.options import (
    DebugOption,
    FormatOption,
    HostOption,
    JsonKeysOption,
    LogFormatOption,
    MethodOption,
    PathOption,
    SourceOption,
    StatusOption,
    TimeZoneOption,
    VendorOption,
)
from logstat.errors import ExitCode, LogstatError

if TYPE_CHECKING:
    from logstat.reading.follow import Follower
    from logstat.summary.window import BucketWindow
    from logstat.time_zones import DisplayZone

LONGEST_WINDOW_S = 86400  # a day: buckets of 288 s (summary/window.py)
QUIT_KEYS = (b"q", b"Q")

FOLLOW_HELP = """A live view of growing local log files, redrawn every second.

The last --window of requests by class (with a sparkline and who produced them),
by status with its meaning, and the top paths of the 4xx and 5xx. Follows rotation
as --state does. `logstat --follow FILE` and `logstat -f FILE` are the same; q quits.
"""

LocalLogs = Annotated[
    list[str],
    typer.Argument(help="Local log files, globs or directories (no stdin, no objects)."),
]


def follow(
    logs: LocalLogs,
    window: Annotated[
        str,
        typer.Option(
            "--window",
            help="Show the requests of this last stretch of time (30s, 5m, 1h; at most 1d).",
        ),
    ] = "5m",
    top: Annotated[
        int,
        typer.Option("--top", min=1, help="Paths counted for each of 4xx and 5xx."),
    ] = 10,
    status: StatusOption = None,
    path: PathOption = None,
    host: HostOption = None,
    method: MethodOption = None,
    source: SourceOption = None,
    format: FormatOption = None,
    log_format: LogFormatOption = None,
    json_keys: JsonKeysOption = None,
    vendor: VendorOption = None,
    tz: TimeZoneOption = None,
    debug: DebugOption = False,
) -> None:
    from logstat.filters import parse_duration
    from logstat.library import display_zone, reading_options, request_filters
    from logstat.reading.follow import Follower
    from logstat.summary import ReportSettings
    from logstat.summary.window import BucketWindow

    length = parse_duration(window, "--window")
    if length.seconds > LONGEST_WINDOW_S:
        raise LogstatError(f"--window {window!r}: at most 1d", ExitCode.USAGE)
    zone = display_zone(tz)
    filters = request_filters(
        None, None, status or (), path, host or (), method or (), source or (), zone
    )
    settings = ReportSettings(
        filters=filters, top=top, top_fields=("path",), top_by="class", path_latency=0
    )  # the live view shows no latency: none per path either
    options = reading_options(format, log_format, vendor or (), json_keys)
    follower = Follower(list(logs), options)
    if not sys.stdout.isatty():
        raise LogstatError(
            "follow draws a live view on a terminal, and stdout is not one "
            "(for a report use `logstat summary`)",
            ExitCode.USAGE,
        )
    counted = BucketWindow(length.seconds, settings)
    # the first reading before the screen changes: an error in it shows as one line
    problems = _read(follower, counted, settings.needed())
    _show(follower, counted, length.text, zone, problems)


def _read(follower: Follower, window: BucketWindow, needed: set[str]) -> list[str]:
    """Count what the files gained into the window; what reading them ran into."""
    now = time.time()
    for _, frame in follower.read(needed):
        window.add(frame, now)
    window.add_files(follower.runs)
    window.drop_old(now)
    return [f"{run.source.name}: {note}" for run in follower.runs for note in run.notes()]


def _show(
    follower: Follower, window: BucketWindow, length: str, zone: DisplayZone, problems: list[str]
) -> None:
    """Redraw every second until `q` (or Ctrl-C); read the files between two drawings."""
    from rich.live import Live

    from logstat.cli.messages import stdout_console
    from logstat.report.live import LiveView, render

    console = stdout_console()
    needed = window.settings.needed()
    vendors = follower.options.vendors
    with _keys() as pressed, Live(console=console, screen=True, auto_refresh=False) as live:
        while True:
            now = time.time()
            view = LiveView(
                summary=window.summary(now, vendors),
                per_bucket=window.per_bucket(now),
                bucket_seconds=window.bucket_seconds,
                window=length,
                seconds=window.seconds,
                now=datetime.fromtimestamp(now, UTC),
                logs=follower.logs,
                waiting=follower.waiting,
                problems=problems,
                older=window.older,
            )
            live.update(render(view, console.width, console.height, zone), refresh=True)
            # the next reading just after the next whole second, so each second is drawn
            # with the lines logged in it
            if pressed(1.0 - now % 1.0 + 0.05):
                return
            try:
                problems = _read(follower, window, needed)
            except (
                LogstatError
            ) as error:  # e.g. a new file in no known format: said, and tried again
                problems = [error.message]


@contextlib.contextmanager
def _keys() -> Iterator[Callable[[float], bool]]:
    """A function that waits up to a time for `q`, True when it came.  Keys are read one
    by one without echo while the view is up (Ctrl-C still interrupts); with no terminal
    on stdin only Ctrl-C ends the view."""
    stdin = sys.stdin
    if stdin is None or not stdin.isatty():
        yield _sleep
        return
    import termios
    import tty

    descriptor = stdin.fileno()
    saved = termios.tcgetattr(descriptor)

    def pressed(timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([descriptor], [], [], left)
            if ready and any(key in os.read(descriptor, 64) for key in QUIT_KEYS):
                return True
        return False

    try:
        tty.setcbreak(descriptor)
        yield pressed
    finally:
        termios.tcsetattr(descriptor, termios.TCSADRAIN, saved)


def _sleep(timeout: float) -> bool:
    """No keys to read: wait, and never quit (Ctrl-C still does)."""
    time.sleep(timeout)
    return False
