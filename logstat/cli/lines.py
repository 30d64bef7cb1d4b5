"""`logstat lines`: the log lines behind a count (library.read, filtered as a summary is)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from logstat.cli.options import (
    DebugOption,
    EndpointOption,
    FormatOption,
    HostOption,
    JsonKeysOption,
    LogFormatOption,
    Logs,
    MethodOption,
    PathOption,
    SinceOption,
    SourceOption,
    StatusOption,
    TimeZoneOption,
    UntilOption,
    VendorOption,
)


def lines(
    logs: Logs,
    json_output: Annotated[
        bool,
        typer.Option("--json", help="One JSON object per line: the parsed fields, file, line."),
    ] = False,
    limit: Annotated[
        int,
        typer.Option("--limit", min=0, help="Stop after this many lines (0: all)."),
    ] = 0,
    since: SinceOption = None,
    until: UntilOption = None,
    status: StatusOption = None,
    path: PathOption = None,
    host: HostOption = None,
    method: MethodOption = None,
    source: SourceOption = None,
    format: FormatOption = None,
    log_format: LogFormatOption = None,
    json_keys: JsonKeysOption = None,
    vendor: VendorOption = None,
    endpoint_url: EndpointOption = None,
    tz: TimeZoneOption = None,
    debug: DebugOption = False,
) -> None:
    """Print the log lines behind a count: those a summary with the same filters counts.

    `logstat lines access.log --status 502 --since 14:05 --until 14:10` shows the
    requests behind "502: 42" as they were logged; --json gives their parsed fields.
    """
    from logstat.library import read
    from logstat.report.lines import write_lines

    frames = read(
        logs,
        format=format,
        log_format=log_format,
        json_keys=json_keys,
        vendors=vendor or (),
        endpoint_url=endpoint_url,
        since=since,
        until=until,
        status=status or (),
        path=path,
        host=host or (),
        method=method or (),
        source=source or (),
        tz=tz,
        columns=None if json_output else ["line"],
    )
    write_lines(frames, sys.stdout, json_output, limit)
