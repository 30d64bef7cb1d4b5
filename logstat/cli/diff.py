"""`logstat diff BEFORE AFTER`: what changed between two summaries (library.diff).

Each side is logs (a file, a quoted glob, a directory, a dataset) or a file written
by `logstat summary --json`, told apart by its content: reading the JSON is cheapest.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from logstat.cli.options import (
    DebugOption,
    FormatOption,
    JsonKeysOption,
    LogFormatOption,
    TimeZoneOption,
    VendorOption,
)

if TYPE_CHECKING:
    from logstat.report.model import Summary

SIDE_HELP = (
    "Logs (a file, a quoted glob, a directory, a dataset written by `logstat ingest`) or "
    "a file written by `logstat summary --json`."
)


def diff(
    before: Annotated[str, typer.Argument(metavar="BEFORE", help="The earlier side. " + SIDE_HELP)],
    after: Annotated[str, typer.Argument(metavar="AFTER", help="The later side. " + SIDE_HELP)],
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            help="Also compare hosts, sources or files (logs only; a summary file "
            "brings the split it was made with).",
        ),
    ] = None,
    threshold: Annotated[
        float,
        typer.Option("--threshold", help="Flag a change when its |z| is at least this."),
    ] = 3.0,
    min_count: Annotated[
        int,
        typer.Option("--min-count", help="... and one side counts at least this many requests."),
    ] = 10,
    json_output: Annotated[
        bool,
        typer.Option("--json", help="Print the difference as versioned JSON (docs/reports.md)."),
    ] = False,
    format: FormatOption = None,
    log_format: LogFormatOption = None,
    json_keys: JsonKeysOption = None,
    vendor: VendorOption = None,
    tz: TimeZoneOption = None,
    debug: DebugOption = False,
) -> None:
    """Show which statuses, classes, producers (and hosts with --by host) rose or fell
    between two logs or summaries, by share of requests, and which changes are more
    than noise (a two-proportion z-test, |z| >= 3 by default)."""
    from logstat.library import diff as difference_of
    from logstat.library import display_zone

    zone = display_zone(tz)

    def side(given: str) -> Summary:
        from logstat.library import read_summary, summarize
        from logstat.report.summary_file import is_summary_file

        if is_summary_file(given):
            return read_summary(given)
        return summarize(
            given,
            format=format,
            log_format=log_format,
            json_keys=json_keys,
            vendors=vendor or (),
            by=by,
            tz=tz,
        )

    result = difference_of(
        side(before), side(after), threshold=threshold, min_count=min_count, labels=(before, after)
    )
    if json_output:
        import json

        sys.stdout.write(json.dumps(result.to_json(), indent=2) + "\n")
    elif sys.stdout.isatty():
        from logstat.cli.messages import stdout_console
        from logstat.report.diff_text import render_rich

        render_rich(result, stdout_console(), zone)
    else:
        from logstat.report.diff_text import render_plain
        from logstat.report.text import pipe_width

        sys.stdout.write(render_plain(result, zone, pipe_width()))
