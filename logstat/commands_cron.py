"""The commands for scheduled runs: `logstat ingest` and `logstat dashboard`.

Registered on the app in cli.py; the option types come from cli_options.py.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Annotated

import typer

from logstat.cli_options import (
    DebugOption,
    EndpointOption,
    FormatOption,
    HostOption,
    JsonKeysOption,
    LogFormatOption,
    Logs,
    LogsOrDataset,
    MethodOption,
    PathOption,
    QuietOption,
    SinceOption,
    SourceOption,
    StateOption,
    StatusOption,
    TimeZoneOption,
    UntilOption,
    VendorOption,
    parse_filter_options,
)
from logstat.errors import ExitCode, LogstatError
from logstat.outputs.output_paths import refuse_overwriting_inputs


def ingest(
    logs: Logs,
    to: Annotated[
        Path,
        typer.Option("--to", help="The dataset directory (created when missing)."),
    ],
    state: StateOption = None,
    append: Annotated[
        bool,
        typer.Option(
            "--append",
            help="Add the lines even if the dataset already holds them (by default each "
            "line of a file is added once, however often the file is ingested).",
        ),
    ] = False,
    format: FormatOption = None,
    log_format: LogFormatOption = None,
    json_keys: JsonKeysOption = None,
    vendor: VendorOption = None,
    endpoint_url: EndpointOption = None,
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    """Add the parsed requests to a Parquet dataset partitioned by date and source.

    Each line of a log file is added once: the dataset records what every file
    contributed, and a run adds only what it does not hold yet.
    """
    from logstat.cli import _note, _progress, _warn_vanished
    from logstat.library import ingest as ingest_logs

    written = ingest_logs(
        logs,
        to,
        state=state,
        append=append,
        format=format,
        log_format=log_format,
        json_keys=json_keys,
        vendors=vendor or (),
        endpoint_url=endpoint_url,
        progress=functools.partial(_progress, quiet=quiet),
    )
    if not quiet:
        files = f"{len(written.files)} new file" + ("" if len(written.files) == 1 else "s")
        message = f"added {written.rows:,} rows to {to} ({files})"
        if written.rejected:
            message += (
                f" ({written.rejected:,} lines rejected; see `logstat summary --rejects FILE`)"
            )
        typer.echo(message, err=True)
    _note(written.notes)  # with --quiet too: cron mails what is on stderr
    if _warn_vanished(written.vanished):
        raise typer.Exit(ExitCode.PARTIAL)


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
    tz: TimeZoneOption = None,
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    """Write an HTML dashboard (one file, works offline) of the logs or of a dataset."""
    from logstat.cli import _options, _progress, _warn_vanished
    from logstat.dashboard import DashboardBuilder, render_page
    from logstat.inputs import Inputs
    from logstat.library import vanished_warnings
    from logstat.objects import Window
    from logstat.outputs.atomic import atomic_output
    from logstat.time_zones import resolve

    refuse_overwriting_inputs(logs, {"--output": output})
    zone = resolve(tz)  # times shown and bars aligned in it; naive --since read in it
    filters = parse_filter_options(since, until, status, path, host, method, source, zone=zone)
    options = dataclasses.replace(
        _options(format, log_format, vendor, json_keys, endpoint_url),
        window=Window(filters.since, filters.until),
    )
    builder = DashboardBuilder(top, filters, zone)
    with Inputs() as inputs:
        runs = inputs.plan(logs, options)
        with _progress(runs, quiet) as progress:
            for _, frame in inputs.read(runs, options, builder.needed(), progress):
                builder.add(frame)
    data = builder.build(runs, options.vendors)
    with atomic_output(output) as handle:
        handle.write(render_page(data).encode("utf-8"))
    if not quiet:
        typer.echo(f"wrote {output}", err=True)
    if data["in_doubt"]:  # the page is written, and says so at its top
        raise LogstatError(data["in_doubt"], ExitCode.UNPARSED)
    if _warn_vanished(vanished_warnings(runs)):
        raise typer.Exit(ExitCode.PARTIAL)
