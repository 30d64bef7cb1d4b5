"""`logstat ingest`: add the parsed requests to a Parquet dataset (library.ingest)."""

from __future__ import annotations

from typing import Annotated

import typer

from logstat.cli.options import (
    ClusterOption,
    DebugOption,
    EndpointOption,
    FormatOption,
    JsonKeysOption,
    LogFormatOption,
    Logs,
    QuietOption,
    StateOption,
    VendorOption,
)
from logstat.errors import ExitCode


def ingest(
    logs: Logs,
    to: Annotated[
        str,
        typer.Option(
            "--to",
            help="The dataset: a directory, or a prefix in an object store "
            "(s3://bucket/dataset/); created when missing.",
        ),
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
    cluster: ClusterOption = None,
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    """Add the parsed requests to a Parquet dataset partitioned by date and source.

    Each line of a log file is added once: the dataset records what every file
    contributed, and a run adds only what it does not hold yet.
    """
    from logstat.cli.messages import notes, warn_vanished, wrote
    from logstat.cli.progress import watch
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
        progress=watch(quiet),
        cluster=cluster,
    )
    if not quiet:
        files = f"{len(written.files)} new file" + ("" if len(written.files) == 1 else "s")
        wrote(f"added {written.rows:,} rows to {to} ({files})", written.rejected)
    notes(written.notes)  # with --quiet too: cron mails what is on stderr
    if warn_vanished(written.vanished):
        raise typer.Exit(ExitCode.PARTIAL)
