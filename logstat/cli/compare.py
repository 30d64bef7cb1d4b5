"""`logstat summary LOGS --compare 1h`: the last hour's summary, then what changed from
the hour before it (library.compare), in the views `logstat diff` uses."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from logstat.errors import ExitCode, LogstatError

if TYPE_CHECKING:
    from logstat.library import Comparison
    from logstat.report.model import Summary
    from logstat.time_zones import DisplayZone


def refuse_alongside(given: dict[str, object]) -> None:
    """Options that need one read of one window: a usage error with --compare."""
    for option, value in given.items():
        if value:
            raise LogstatError(f"--compare does not work with {option}", ExitCode.USAGE)


def show(
    logs: list[str], duration: str, json_output: bool, zone: DisplayZone, **options: Any
) -> Summary:
    """Count both windows, print them, and return the last window's summary."""
    from logstat.library import compare

    result = compare(logs, duration, **options)
    if json_output:
        _print_json(result)
    elif sys.stdout.isatty():
        from logstat.cli.messages import stdout_console
        from logstat.report import diff_text, text

        console = stdout_console()
        text.render_rich(result.summary, console, zone)
        console.print()
        console.print(_heading(result, zone))
        diff_text.render_rich(result.difference, console, zone)
    else:
        from logstat.report import diff_text, text

        width = text.pipe_width()
        sys.stdout.write(text.render_plain(result.summary, zone, width))
        sys.stdout.write("\n" + _heading(result, zone) + "\n")
        sys.stdout.write(diff_text.render_plain(result.difference, zone, width))
    sys.stdout.flush()
    return result.summary


def _heading(result: Comparison, zone: DisplayZone) -> str:
    start, end = result.since, result.until
    before, before_end = result.previous_window
    return (
        f"What changed: {zone.show(start)} to {zone.show(end)} against "
        f"{zone.show(before)} to {zone.show(before_end)}"
    )


def _print_json(result: Comparison) -> None:
    from logstat.report.json_text import dumps_indented
    from logstat.report.model import _iso

    start, end = result.since, result.until
    before, before_end = result.previous_window
    windows = {
        "last": {"since": _iso(start), "until": _iso(end)},
        "previous": {"since": _iso(before), "until": _iso(before_end)},
    }
    document = {
        "summary": result.summary.to_json(),
        "compare": result.difference.to_json(),
        "windows": windows,
    }
    sys.stdout.write(dumps_indented(document) + "\n")
