"""Command-line option types shared by every command (cli.py and commands_cron.py)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from logstat.filters import Filters
    from logstat.time_zones import DisplayZone

Logs = Annotated[
    list[str],
    typer.Argument(
        help="Log files, globs, directories, - for stdin (.gz .bz2 .xz .zst too), or "
        "objects: s3://bucket/prefix/, gs://, az://, https:// (globs too)."
    ),
]
EndpointOption = Annotated[
    str | None,
    typer.Option(
        "--endpoint-url",
        help="The endpoint of an S3-compatible store (Cloudflare R2, MinIO); default "
        "$AWS_ENDPOINT_URL, else AWS.",
        show_default=False,
    ),
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
JsonKeysOption = Annotated[
    str | None,
    typer.Option(
        "--json-keys",
        help="JSON access logs: which key holds what, e.g. status=code,time=ts "
        "(usual spellings are found without it).",
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
    typer.Argument(
        help="Log files, globs, directories, objects (s3://...), or a dataset written by "
        "`logstat ingest`."
    ),
]

# The record filters, declared once: summary and report, export and dashboard take them
FILTERS = "Filters (applied to records before counting)"
SinceOption = Annotated[
    str | None,
    typer.Option(
        "--since",
        help="Keep records at or after this time: ISO (2024-05-01, 2024-05-01T10:00, in "
        "the --tz zone unless an offset is given) or a duration before now (30m, 2h, 7d).",
        rich_help_panel=FILTERS,
    ),
]
UntilOption = Annotated[
    str | None,
    typer.Option(
        "--until",
        help="Keep records before this time (same forms as --since).",
        rich_help_panel=FILTERS,
    ),
]
StatusOption = Annotated[
    list[str] | None,
    typer.Option(
        "--status",
        help="Keep these statuses: codes, classes, ranges, e.g. 5xx,499,400-403.",
        rich_help_panel=FILTERS,
    ),
]
PathOption = Annotated[
    str | None,
    typer.Option(
        "--path",
        help="Keep paths matching this regular expression (searched anywhere).",
        rich_help_panel=FILTERS,
    ),
]
HostOption = Annotated[
    list[str] | None,
    typer.Option(
        "--host", help="Keep these virtual hosts (comma-separated).", rich_help_panel=FILTERS
    ),
]
MethodOption = Annotated[
    list[str] | None,
    typer.Option("--method", help="Keep these methods, e.g. POST,PUT.", rich_help_panel=FILTERS),
]
SourceOption = Annotated[
    list[str] | None,
    typer.Option(
        "--source",
        help="Keep records from these formats, e.g. nginx.",
        rich_help_panel=FILTERS,
    ),
]


def parse_filter_options(
    since: str | None,
    until: str | None,
    status: list[str] | None,
    path: str | None,
    host: list[str] | None,
    method: list[str] | None,
    source: list[str] | None,
    zone: DisplayZone | None = None,
) -> Filters:
    """The filter options above -> Filters (a usage error names a bad value).

    Times without an offset are read in `zone` (--tz); None: $LOGSTAT_TZ, else local."""
    from logstat.filters import parse_filters
    from logstat.formats import BY_NAME
    from logstat.time_zones import ENVIRONMENT, resolve

    zone = zone or resolve(os.environ.get(ENVIRONMENT))

    return parse_filters(
        since=since,
        until=until,
        statuses=status or (),
        path=path,
        hosts=host or (),
        methods=method or (),
        sources=source or (),
        known_sources=BY_NAME,
        zone=zone.zone,
    )


TimeZoneOption = Annotated[
    str | None,
    typer.Option(
        "--tz",
        envvar="LOGSTAT_TZ",
        show_default=False,
        help="Show times in this zone and read --since/--until without an offset in it: "
        "an IANA name (Europe/Paris), UTC, or local (the default: the machine's zone, "
        "as `date` shows). JSON stays in UTC. Also $LOGSTAT_TZ.",
    ),
]
