"""`logstat diff BEFORE AFTER`: what changed between two summaries (library.diff).

Each side is logs (a file, a quoted glob, a directory, a dataset) or a file written
by `logstat summary --json`, told apart by its content: reading the JSON is cheapest.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Sequence
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
from logstat.errors import ExitCode, LogstatError

if TYPE_CHECKING:
    from logstat.alerts import Rule
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
    fail_if: Annotated[
        list[str] | None,
        typer.Option(
            "--fail-if",
            help="Exit 4 when a change holds and is more than noise, e.g. '5xx rate up 3x', "
            "'502 up 2x', 'requests down 2x' (repeatable).",
        ),
    ] = None,
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

    rules = change_rules(fail_if or ())
    earlier, later = side(before), side(after)
    result = difference_of(
        earlier, later, threshold=threshold, min_count=min_count, labels=(before, after)
    )
    if rules:
        from logstat.change_alerts import evaluate_changes

        alerts = evaluate_changes(rules, earlier, later, threshold=threshold, min_count=min_count)
        result = dataclasses.replace(result, alerts=alerts)
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
    sys.stdout.flush()
    if rules:
        from logstat.cli.messages import judge_alerts

        judge_alerts(result.alerts, [])


def change_rules(texts: Sequence[str]) -> tuple[Rule, ...]:
    """--fail-if of diff: rules on a change only (a usage error names any other)."""
    from logstat.alerts import parse_rules
    from logstat.formats import BY_NAME

    rules = parse_rules(texts, BY_NAME)
    for rule in rules:
        if rule.direction is None:
            raise LogstatError(
                f"--fail-if {rule.text!r}: diff judges rules on a change, e.g. '5xx rate up 3x' "
                "(a rule on one period goes to logstat summary)",
                ExitCode.USAGE,
            )
    return rules
