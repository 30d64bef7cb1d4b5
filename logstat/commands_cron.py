"""The commands for scheduled runs: `logstat ingest` and `logstat dashboard`.

Registered on the app in cli.py; the option types come from cli_options.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from logstat.cli_options import (
    DebugOption,
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
    UntilOption,
    VendorOption,
    parse_filter_options,
)
from logstat.errors import ExitCode
from logstat.output_paths import refuse_dataset_among_inputs, refuse_overwriting_inputs


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
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    """Add the parsed requests to a Parquet dataset partitioned by date and source.

    Each line of a log file is added once: the dataset records what every file
    contributed, and a run adds only what it does not hold yet.
    """
    from logstat.cli import _options, _partial, _progress
    from logstat.ingest import Ingest

    refuse_overwriting_inputs(logs, {"--state": state})
    refuse_dataset_among_inputs(logs, to)
    options = _options(format, log_format, vendor, json_keys)
    with Ingest(to, state, append) as run:
        runs = run.plan(logs, options)
        with _progress(runs, quiet) as progress:
            run.write(runs, options, progress)
    if not quiet:
        rejected = sum(item.rejected for item in runs)
        files = f"{len(run.parts)} new file" + ("" if len(run.parts) == 1 else "s")
        message = f"added {run.rows:,} rows to {to} ({files})"
        if rejected:
            message += f" ({rejected:,} lines rejected; see `logstat summary --rejects FILE`)"
        typer.echo(message, err=True)
        if run.appended_unrecognisable:
            typer.echo(
                "logstat: stdin and pipes cannot be recognised again: their lines are added "
                "on every run",
                err=True,
            )
    if _partial(runs):
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
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    """Write an HTML dashboard (one file, works offline) of the logs or of a dataset."""
    from logstat.cli import _options, _partial, _progress
    from logstat.dashboard import DashboardBuilder, render_page
    from logstat.export import atomic_output
    from logstat.inputs import Inputs

    refuse_overwriting_inputs(logs, {"--output": output})
    filters = parse_filter_options(since, until, status, path, host, method, source)
    options = _options(format, log_format, vendor, json_keys)
    builder = DashboardBuilder(top, filters)
    with Inputs() as inputs:
        runs = inputs.plan(logs, options)
        with _progress(runs, quiet) as progress:
            for _, frame in inputs.read(runs, options, builder.needed(), progress):
                builder.add(frame)
    page = render_page(builder.build(runs, options.vendors))
    with atomic_output(output) as handle:
        handle.write(page.encode("utf-8"))
    if not quiet:
        typer.echo(f"wrote {output}", err=True)
    if _partial(runs):
        raise typer.Exit(ExitCode.PARTIAL)
