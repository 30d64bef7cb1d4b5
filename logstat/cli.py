"""The `logstat` command: a thin shell over the library.

Parses options, calls the library, picks a view.  Errors become one line and an
exit code here and nowhere else.  polars is imported only by the commands that
need it, so `logstat --help` stays fast.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import click
import typer

from logstat import __version__
from logstat.errors import ExitCode, LogstatError

if TYPE_CHECKING:
    from rich.console import Console

    from logstat.pipeline import FileRun, Options, Progress

app = typer.Typer(
    name="logstat",
    help="Count and explain the HTTP status codes in web access logs.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

COMMANDS = {"summary", "export", "codes", "formats"}

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


def _version(value: bool) -> None:
    if value:
        typer.echo(f"logstat {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Count and explain the HTTP status codes in web access logs.

    `logstat access.log` is short for `logstat summary access.log`.
    """


def _options(format: str | None, log_format: str | None, vendors: list[str] | None) -> Options:
    from logstat.pipeline import Options
    from logstat.status import load_registry

    known = set(load_registry().vendors())
    chosen = tuple(vendor.lower() for vendor in vendors or [])
    for vendor in chosen:
        if vendor not in known:
            raise LogstatError(
                f"unknown vendor {vendor!r}; known: {', '.join(sorted(known))}", ExitCode.USAGE
            )
    return Options(format=format, log_format=log_format, vendors=chosen)


def _plan(logs: list[str], options: Options) -> list[FileRun]:
    from logstat import pipeline
    from logstat.sources import expand

    runs = pipeline.plan(expand(logs), options)
    pipeline.require_recognised(runs)
    return runs


@contextlib.contextmanager
def _progress(runs: list[FileRun], quiet: bool) -> Iterator[Progress | None]:
    """Bytes read of the total, on stderr, only for a person watching a terminal."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    total = sum(run.source.size or 0 for run in runs) or None
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("reading", total=total)
        yield lambda consumed: bar.advance(task, consumed)


def _stdout_console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


@app.command()
def summary(
    logs: Logs,
    format: FormatOption = None,
    log_format: LogFormatOption = None,
    vendor: VendorOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    rejects: Annotated[
        Path | None,
        typer.Option(
            "--rejects", help="Write every rejected line (file, line, reason, text) to this CSV."
        ),
    ] = None,
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    """Summarise status codes by class and by code, with each code's meaning for its source."""
    from logstat import pipeline
    from logstat.rejects import RejectsWriter
    from logstat.report.text import render_plain, render_rich
    from logstat.summary import NEEDED, SummaryBuilder

    options = _options(format, log_format, vendor)
    runs = _plan(logs, options)
    builder = SummaryBuilder()
    with contextlib.ExitStack() as stack:
        writer = stack.enter_context(RejectsWriter(rejects)) if rejects else None
        progress = stack.enter_context(_progress(runs, quiet))
        for _, frame in pipeline.read(runs, options, NEEDED, progress):
            builder.add(frame)
            if writer:
                writer.write(frame)
    result = builder.build(runs, options.vendors)
    if json_output:
        sys.stdout.write(json.dumps(result.to_json(), indent=2, default=str) + "\n")
    elif sys.stdout.isatty():
        render_rich(result, _stdout_console())
    else:
        sys.stdout.write(render_plain(result))


@app.command()
def export(
    logs: Logs,
    output: Annotated[Path, typer.Option("--output", "-o", help="Output file: .csv or .parquet.")],
    to: Annotated[
        str | None, typer.Option("--to", help="csv or parquet, when the suffix does not say.")
    ] = None,
    raw_csv: Annotated[
        bool,
        typer.Option("--raw-csv", help="Keep cells starting with = + - @ as they are in CSV."),
    ] = False,
    format: FormatOption = None,
    log_format: LogFormatOption = None,
    vendor: VendorOption = None,
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    """Write one row per request (canonical schema plus status meanings) to CSV or Parquet."""
    from logstat import pipeline
    from logstat.export import Writer, annotate, export_columns, kind_for

    if to is not None and to not in ("csv", "parquet"):
        raise LogstatError(f"--to must be csv or parquet, not {to!r}", ExitCode.USAGE)
    kind = kind_for(output, to)
    options = _options(format, log_format, vendor)
    runs = _plan(logs, options)
    extras = {
        column
        for run in runs
        if run.choice is not None
        for column in run.choice.detection.parser.columns()
    }
    columns = export_columns(extras)
    chains = {
        run.choice.format.name: (*options.vendors, *run.choice.format.vendors)
        for run in runs
        if run.choice is not None
    }
    with _progress(runs, quiet) as progress, Writer(output, kind, columns, raw_csv) as writer:
        for _, frame in pipeline.read(runs, options, None, progress):
            writer.write(annotate(frame, chains, columns))
    rejected = sum(run.rejected for run in runs)
    if not quiet:
        message = f"wrote {writer.rows:,} rows to {output}"
        if rejected:
            message += f" ({rejected:,} lines rejected; see `logstat summary --rejects FILE`)"
        typer.echo(message, err=True)


@app.command()
def codes(
    code: Annotated[list[int], typer.Argument(help="Status codes to explain, e.g. 499 502.")],
    json_output: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Show what a status code means for each vendor that defines it, with sources."""
    from dataclasses import asdict

    from rich.table import Table
    from rich.text import Text

    from logstat.status import class_fallback, load_registry

    registry = load_registry()
    found: list[dict[str, Any]] = []
    for number in code:
        meanings = registry.by_code(number) or [class_fallback(number)]
        found.extend(asdict(meaning) for meaning in meanings)
    if json_output:
        sys.stdout.write(json.dumps(found, indent=2) + "\n")
        return
    headers = ["code", "vendor", "name", "meaning", "source"]
    rows = [
        [
            f"{row['code']}" + (f".{row['substatus']}" if row["substatus"] is not None else ""),
            row["vendor"],
            row["name"],
            row["meaning"],
            row["source_url"] or "-",
        ]
        for row in found
    ]
    if not sys.stdout.isatty():
        for row in rows:
            sys.stdout.write("\t".join(row) + "\n")
        return
    table = Table(*headers)
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    _stdout_console().print(table)


@app.command()
def formats() -> None:
    """List the log formats logstat reads, with their named layouts."""
    from logstat.formats import FORMATS

    for format in FORMATS:
        typer.echo(f"{format.name}: {format.title}")
        typer.echo(f"  status tables: {', '.join(format.vendors)}, iana")
        for name, template in format.layouts.items():
            typer.echo(f"  {name}: {template}")


def _with_default_command(args: list[str]) -> list[str]:
    """`logstat access.log` means `logstat summary access.log`."""
    if not args or args[0] in COMMANDS or args[0] in ("-h", "--help", "--version"):
        return args
    return ["summary", *args]


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        app(_with_default_command(args), prog_name="logstat", standalone_mode=False)
        code = ExitCode.OK
    except LogstatError as error:
        if debug:
            raise
        _error(error.message)
        code = error.exit_code
    except click.exceptions.Exit as done:
        code = ExitCode(done.exit_code) if done.exit_code in set(ExitCode) else ExitCode.ERROR
    except click.ClickException as error:
        error.show()
        code = ExitCode.USAGE
    except (click.Abort, KeyboardInterrupt):
        code = ExitCode.ERROR
    except BrokenPipeError:
        # `logstat ... | head`: the reader left; say nothing and do not flush again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = ExitCode.OK
    except Exception as error:  # a bug: one line unless --debug
        if debug:
            raise
        first = str(error).splitlines()[0] if str(error) else ""
        _error(f"internal error: {type(error).__name__}: {first} (rerun with --debug for details)")
        code = ExitCode.INTERNAL
    sys.exit(int(code))


def _error(message: str) -> None:
    from logstat.report.text import safe

    sys.stderr.write(f"logstat: error: {safe(message)}\n")
