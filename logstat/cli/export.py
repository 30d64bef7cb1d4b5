"""`logstat export`: one row per request to CSV or Parquet (library.export)."""

from __future__ import annotations

import sys
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
    Logs,
    MethodOption,
    PathOption,
    QuietOption,
    SinceOption,
    SourceOption,
    StatusOption,
    UntilOption,
    VendorOption,
)
from logstat.errors import ExitCode, LogstatError


def export(
    logs: Logs,
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="Output file: .csv or .parquet; - for stdout (CSV, or Parquet with --to "
            "parquet when stdout is not a terminal).",
        ),
    ],
    to: Annotated[
        str | None, typer.Option("--to", help="csv or parquet, when the suffix does not say.")
    ] = None,
    raw_csv: Annotated[
        bool,
        typer.Option("--raw-csv", help="Keep cells starting with = + - @ as they are in CSV."),
    ] = False,
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
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    """Write one row per request (canonical schema plus status meanings) to CSV or Parquet."""
    from logstat.cli.messages import notes, warn_vanished, wrote
    from logstat.cli.progress import watch
    from logstat.library import export as export_requests
    from logstat.outputs.export import STDOUT, kind_for

    to_stdout = str(output) == STDOUT
    if to_stdout and kind_for(output, to) == "parquet" and sys.stdout.isatty():
        raise LogstatError(
            "Parquet is binary: redirect stdout to a file or a pipe, or use -o FILE.parquet",
            ExitCode.USAGE,
        )
    written = export_requests(
        logs,
        output,
        to=to,
        raw_csv=raw_csv,
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
        progress=watch(quiet),
        cluster=cluster,
    )
    notes(written.notes)
    if not quiet:
        where = "stdout" if to_stdout else output
        wrote(f"wrote {written.rows:,} rows to {where}", written.rejected)
    if written.in_doubt:  # the rows are written: they show what was read
        raise LogstatError(written.in_doubt, ExitCode.UNPARSED)
    if warn_vanished(written.vanished):
        raise typer.Exit(ExitCode.PARTIAL)
