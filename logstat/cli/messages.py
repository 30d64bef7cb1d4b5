"""What the commands write on stderr besides errors: warnings, notes, what was written.

Every line from a log passes through `safe`, so a file name cannot drive the terminal.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from logstat.report.model import AlertResult


def warn_vanished(vanished: list[str]) -> bool:
    """Warn of each file gone (rotated, deleted) before it was read; True when there was one.

    Called after the outputs are written: the rest of the files were read and counted.
    """
    for warning in vanished:
        say(f"warning: {warning}")
    return bool(vanished)


def notes(lines: list[str]) -> None:
    """What reading the files ran into, one line each (with --quiet too: cron mails it)."""
    for line in lines:
        say(line)


def wrote(message: str, rejected: int) -> None:
    """`wrote 600 rows to out.csv`, with how many lines did not parse and where to see them."""
    if rejected:
        message += f" ({rejected:,} lines rejected; see `logstat summary --rejects FILE`)"
    sys.stderr.write(message + "\n")


def say(message: str) -> None:
    from logstat.report.escape import safe

    sys.stderr.write(f"logstat: {safe(message)}\n")


def error(message: str) -> None:
    say(f"error: {message}")


def stdout_console() -> Console:
    """The console the rich views draw on when stdout is a terminal."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def judge_alerts(alerts: list[AlertResult] | None, vanished: list[str]) -> None:
    """Say which --fail-if rules held and exit as they and the files read say."""
    import typer

    from logstat.alerts import describe
    from logstat.errors import ExitCode

    tripped = [alert for alert in alerts or [] if alert.tripped]
    for alert in tripped:
        say(f"fail-if: {describe(alert)}")
    partial = warn_vanished(vanished)
    if tripped:
        raise typer.Exit(ExitCode.ALERT)  # takes precedence over a partial run
    if partial:
        raise typer.Exit(ExitCode.PARTIAL)
