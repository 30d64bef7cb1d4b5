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
    LogFormatOption,
    Logs,
    LogsOrDataset,
    QuietOption,
    StateOption,
    VendorOption,
)
from logstat.errors import ExitCode, LogstatError
from logstat.output_paths import refuse_overwriting_inputs


def ingest(
    logs: Logs,
    to: Annotated[
        Path,
        typer.Option("--to", help="The dataset directory (created when missing)."),
    ],
    state: StateOption = None,
    format: FormatOption = None,
    log_format: LogFormatOption = None,
    vendor: VendorOption = None,
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    """Append the parsed requests to a Parquet dataset partitioned by date and source."""
    from logstat import formats, schema
    from logstat.cli import _options, _progress
    from logstat.dataset import DatasetWriter
    from logstat.export import annotate, export_columns
    from logstat.inputs import Inputs

    refuse_overwriting_inputs(logs, {"--state": state})
    options = _options(format, log_format, vendor)
    with Inputs(state) as inputs:
        runs = inputs.plan(logs, options)
        if inputs.is_dataset:
            raise LogstatError("ingest reads log files, not a dataset", ExitCode.USAGE)
        columns = export_columns(())
        # every format: a file's format may change when it is read (pipeline._confirm)
        chains = formats.vendor_chains(options.vendors)
        with _progress(runs, quiet) as progress, DatasetWriter(to) as writer:
            for _, frame in inputs.read(runs, options, None, progress):
                # every canonical column, also those this format never fills
                complete = schema.conform(frame.lazy()).collect()
                writer.write(annotate(complete, chains, columns))
        inputs.commit(runs)
    if not quiet:
        rejected = sum(run.rejected for run in runs)
        files = f"{len(writer.parts)} new file" + ("" if len(writer.parts) == 1 else "s")
        message = f"added {writer.rows:,} rows to {to} ({files})"
        if rejected:
            message += f" ({rejected:,} lines rejected; see `logstat summary --rejects FILE`)"
        typer.echo(message, err=True)


def dashboard(
    logs: LogsOrDataset,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The HTML file to write (self-contained).")
    ],
    top: Annotated[
        int, typer.Option("--top", min=1, help="How many error paths and status codes to show.")
    ] = 20,
    format: FormatOption = None,
    log_format: LogFormatOption = None,
    vendor: VendorOption = None,
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    """Write an HTML dashboard (one file, works offline) of the logs or of a dataset."""
    from logstat.cli import _options, _progress
    from logstat.dashboard import DashboardBuilder, render_page
    from logstat.export import atomic_output
    from logstat.inputs import Inputs

    refuse_overwriting_inputs(logs, {"--output": output})
    options = _options(format, log_format, vendor)
    builder = DashboardBuilder(top)
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
