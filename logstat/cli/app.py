"""The typer app: the commands, each from its own module, under one `logstat`.

The command modules know nothing of the app or of each other; this is where they are
named.  `logstat access.log` is short for `logstat summary access.log`.
"""

from __future__ import annotations

import copy
import os
from typing import Annotated

import typer
from typer.models import CommandInfo

from logstat.cli import (
    codes,
    dashboard,
    diff,
    export,
    follow,
    formats,
    ingest,
    lines,
    schema,
    summary,
)

app = typer.Typer(
    name="logstat",
    help="Count and explain the HTTP status codes in web access logs.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # plain help and usage errors: rich's help formatter costs 0.2 s of imports a run
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from logstat.version import version

        typer.echo(f"logstat {version()}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Count and explain the HTTP status codes in web access logs.

    `logstat access.log` is short for `logstat summary access.log`.
    """


app.command("summary", help=summary.SUMMARY_HELP)(summary.summary)
app.command("report", help=summary.REPORT_HELP)(summary.report)
app.command()(schema.schema)
app.command()(export.export)
app.command()(lines.lines)
app.command()(codes.codes)
app.command()(formats.formats)
app.command()(ingest.ingest)
app.command()(dashboard.dashboard)
app.command()(diff.diff)
app.command("follow", help=follow.FOLLOW_HELP)(follow.follow)


def _name(info: CommandInfo) -> str:
    assert info.callback is not None
    return info.name or info.callback.__name__


COMMANDS = {_name(info) for info in app.registered_commands if info.callback}


def app_for(args: list[str]) -> typer.Typer:
    """The app that runs `args` (with_default_command's): when they name a command, an
    app of that command alone, which parses them as the whole app does (typer builds a
    click command of every command registered, 15-20 ms of start-up); else every one."""
    if not args or args[0] not in COMMANDS:
        return app
    alone = copy.copy(app)
    alone.registered_commands = [
        info for info in app.registered_commands if info.callback and _name(info) == args[0]
    ]
    return alone


FOLLOW_FLAGS = ("--follow", "-f")  # `logstat -f access.log`: the live view, as `tail -f`


def with_default_command(args: list[str]) -> list[str]:
    """`logstat access.log` means `logstat summary access.log`; `logstat --follow (-f)
    access.log` and `logstat summary --follow access.log` mean `logstat follow access.log`
    (in a command, -f stays --format)."""
    if args and args[0] in FOLLOW_FLAGS and not _format_short_option(args):
        return ["follow", *args[1:]]
    if args and args[0] in ("summary", "report") and "--follow" in args:
        return ["follow", *(arg for arg in args[1:] if arg != "--follow")]
    if not args or args[0] in COMMANDS or args[0] in ("-h", "--help", "--version"):
        return args
    return ["summary", *args]


def _format_short_option(args: list[str]) -> bool:
    """`logstat -f nginx access.log` meant --format before -f followed logs, and cron
    lines still say it: -f before a format's name (that is no file here) is --format."""
    if args[0] != "-f" or len(args) < 3:
        return False
    from logstat import format_catalog

    names = {entry["name"] for entry in format_catalog.read()}
    return args[1] in names and not os.path.exists(args[1])
