"""Command-line option types, declared once and shared by every command in logstat/cli/."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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
ClusterOption = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        help="Count on a Dask cluster: its scheduler (tcp://host:8786), or local:N worker "
        "processes here; default $LOGSTAT_CLUSTER.",
        show_default=False,
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
