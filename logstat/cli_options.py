"""Command-line option types shared by every command (cli.py and commands_cron.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

Logs = Annotated[
    list[str],
    typer.Argument(help="Log files, globs, directories, or - for stdin (.gz .bz2 .xz .zst too)."),
]
FormatOption = Annotated[
    str | None, typer.Option("--format", "-f", help="Skip detection: nginx, apache, ...")
]
LogFormatOption = Annotated[
    str | None,
    typer.Option(
        "--log-format",
        help="The server's format string (nginx $variables or Apache % directives), "
        "or a layout name such as combined.",
    ),
]
VendorOption = Annotated[
    list[str] | None,
    typer.Option(
        "--vendor",
        help="An application whose status codes take precedence (repeatable), e.g. esri.",
    ),
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")]

StateOption = Annotated[
    Path | None,
    typer.Option(
        "--state",
        help="Remember what was read in this file and read only new lines next time "
        "(follows rotation; see the README).",
    ),
]
LogsOrDataset = Annotated[
    list[str],
    typer.Argument(help="Log files, globs, directories, or a dataset written by `logstat ingest`."),
]
