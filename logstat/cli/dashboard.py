"""`logstat dashboard`: one self-contained HTML page of the logs or a dataset
(library.dashboard)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from logstat.cli.options import (
    ClusterOption,
    DebugOption,
    EndpointOption,
    FormatOption,
    HostOption,
    JsonKeysOption,
    LogFormatOption,
    LogsOrDataset,
    MethodOption,
    PathOption,
    QuietOption,
    SinceOption,
    SourceOption,
    StatusOption,
    TimeZoneOption,
    UntilOption,
    VendorOption,
)
from logstat.errors import ExitCode, LogstatError


def dashboard(
    logs: LogsOrDataset,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The HTML file to write (self-contained).")
    ],
    top: Annotated[
        int, typer.Option("--top", min=1, help="How many error paths and status codes to show.")
    ] = 20,
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
    cluster: ClusterOption = None,
    tz: TimeZoneOption = None,
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    """Write an HTML dashboard (one file, works offline) of the logs or of a dataset."""
    from logstat.cli.messages import warn_vanished
    from logstat.cli.progress import watch
    from logstat.library import dashboard as write_dashboard

    written = write_dashboard(
        logs,
        output,
        top=top,
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
        progress=watch(quiet),
        cluster=cluster,
    )
    if not quiet:
        typer.echo(f"wrote {output}", err=True)
    if written.in_doubt:  # the page is written, and says so at its top
        raise LogstatError(written.in_doubt, ExitCode.UNPARSED)
    if warn_vanished(written.vanished):
        raise typer.Exit(ExitCode.PARTIAL)
