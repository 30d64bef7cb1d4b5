"""The `logstat` command: a thin shell over the library.

Parses options, calls the library, picks a view.  Errors become one line and an
exit code here and nowhere else.  polars is imported only by the commands that
need it, so `logstat --help` stays fast.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO, cast

import typer

from logstat.cli_options import (
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
    StateOption,
    StatusOption,
    TimeZoneOption,
    UntilOption,
    VendorOption,
)
from logstat.commands_cron import dashboard, ingest
from logstat.errors import ExitCode, LogstatError
from logstat.outputs.output_paths import refuse_overwriting_inputs

if TYPE_CHECKING:
    from rich.console import Console

    from logstat.pipeline import FileRun, Options, Progress
    from logstat.report.model import Summary
    from logstat.time_zones import DisplayZone

app = typer.Typer(
    name="logstat",
    help="Count and explain the HTTP status codes in web access logs.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # plain help and usage errors: rich's help formatter costs 0.2 s of imports a run
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

COMMANDS = {
    "summary",
    "report",
    "export",
    "lines",
    "codes",
    "formats",
    "schema",
    "ingest",
    "dashboard",
}


def _version(value: bool) -> None:
    if value:
        from logstat import __version__

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


def _options(
    format: str | None,
    log_format: str | None,
    vendors: list[str] | None,
    json_keys: str | None = None,
    endpoint_url: str | None = None,
) -> Options:
    from logstat.library import reading_options

    return reading_options(format, log_format, vendors or (), json_keys, endpoint_url)


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


def _warn_vanished(vanished: list[str]) -> bool:
    """Warn of each file gone (rotated, deleted) before it was read; True when there was one.

    Called after the outputs are written: the rest of the files were read and counted.
    """
    from logstat.report.text import safe

    for warning in vanished:
        sys.stderr.write(f"logstat: warning: {safe(warning)}\n")
    return bool(vanished)


def _stdout_console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


REPORT = "Report"
OUTPUTS = "Outputs"


@app.command()
def summary(
    context: typer.Context,
    logs: Logs,
    format: FormatOption = None,
    log_format: LogFormatOption = None,
    json_keys: JsonKeysOption = None,
    vendor: VendorOption = None,
    endpoint_url: EndpointOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    status: StatusOption = None,
    path: PathOption = None,
    host: HostOption = None,
    method: MethodOption = None,
    source: SourceOption = None,
    every: Annotated[
        str | None,
        typer.Option(
            "--every",
            help="Count per class and status in time buckets of this size (5m, 1h, 1d; "
            "aligned in UTC).",
            rich_help_panel=REPORT,
        ),
    ] = None,
    top: Annotated[
        int | None,
        typer.Option(
            "--top",
            min=0,
            help="Show the N most frequent paths, clients, hosts and user agents per group "
            "(report: 10 unless given; 0: none).",
            rich_help_panel=REPORT,
            show_default=False,
        ),
    ] = None,
    top_by: Annotated[
        str | None,
        typer.Option(
            "--top-by",
            help="Drill-down groups: class or status (default: the --status terms, else class).",
            rich_help_panel=REPORT,
        ),
    ] = None,
    top_fields: Annotated[
        list[str] | None,
        typer.Option(
            "--top-fields",
            help="Fields for --top (default path,client,host,agent; also referer, method, "
            "query, protocol).",
            rich_help_panel=REPORT,
        ),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            help="Split the tables by source, host or file (default: by source when several "
            "sources are read).",
            rich_help_panel=REPORT,
        ),
    ] = None,
    fail_if: Annotated[
        list[str] | None,
        typer.Option(
            "--fail-if",
            help="Exit 4 when a rule holds, e.g. '5xx > 2%', '499 > 100', 'upstream 5xx > 1%' "
            "(repeatable).",
            rich_help_panel=REPORT,
        ),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the summary as JSON.", rich_help_panel=OUTPUTS)
    ] = False,
    markdown: Annotated[
        bool,
        typer.Option("--markdown", help="Print the summary as Markdown.", rich_help_panel=OUTPUTS),
    ] = False,
    prometheus: Annotated[
        Path | None,
        typer.Option(
            "--prometheus",
            help="Also write counters to this file (node_exporter textfile format, atomically).",
            rich_help_panel=OUTPUTS,
        ),
    ] = None,
    rejects: Annotated[
        Path | None,
        typer.Option(
            "--rejects",
            help="Write every rejected line (file, line, reason, text) to this CSV.",
            rich_help_panel=OUTPUTS,
        ),
    ] = None,
    state: StateOption = None,
    tz: TimeZoneOption = None,
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    """Summarise status codes by class and by code, with each code's meaning for its source."""
    from logstat.alerts import describe
    from logstat.library import display_zone, report_settings, request_filters, summary_run

    if json_output and markdown:
        raise LogstatError("choose one of --json and --markdown", ExitCode.USAGE)
    read_options = _options(format, log_format, vendor, json_keys, endpoint_url)
    command = context.info_name
    zone = display_zone(tz)
    settings = report_settings(
        filters=request_filters(
            since, until, status or (), path, host or (), method or (), source or (), zone
        ),
        every=every,
        top=(10 if command == "report" else 0) if top is None else top,
        top_by=top_by,
        top_fields=top_fields or (),
        by=by,
        fail_if=fail_if or (),
        prometheus=prometheus is not None,
    )
    refuse_overwriting_inputs(
        logs, {"--rejects": rejects, "--prometheus": prometheus, "--state": state}
    )
    watch = functools.partial(_progress, quiet=quiet)
    with summary_run(
        logs, settings, read_options, state=state, rejects=rejects, progress=watch
    ) as run:
        result = run.summary
        if prometheus is not None:
            from logstat.report import prometheus as prometheus_view

            # with --state: counters that add up across runs, kept in the state file
            prometheus_view.write(result, prometheus, run.state_file)
        _print_summary(result, json_output, markdown, zone)
        if run.in_doubt:
            # the lines are read again next time, when the format may have been fixed
            rules = "; --fail-if rules not judged" if result.alerts else ""
            raise LogstatError(run.in_doubt + rules, ExitCode.UNPARSED)
    tripped = [alert for alert in result.alerts or [] if alert.tripped]
    if tripped:
        from logstat.report.text import safe

        for alert in tripped:
            sys.stderr.write(f"logstat: fail-if: {safe(describe(alert))}\n")
    partial = _warn_vanished(run.vanished)
    if tripped:
        raise typer.Exit(ExitCode.ALERT)  # takes precedence over a partial run
    if partial:
        raise typer.Exit(ExitCode.PARTIAL)


REPORT_HELP = """Summary plus drill-down: the same options as summary, with --top 10 by default.

The N most frequent paths, clients, hosts and user agents for each status class,
or for each --status term (`logstat report access.log --status 5xx,499 --top 20`).
"""
app.command("report", help=REPORT_HELP)(summary)


def _print_summary(result: Summary, json_output: bool, markdown: bool, zone: DisplayZone) -> None:
    if json_output:
        sys.stdout.write(result.to_json_text() + "\n")
    elif markdown:
        from logstat.report.markdown import render_markdown

        sys.stdout.write(render_markdown(result, zone))
    elif sys.stdout.isatty():
        from logstat.report.text import render_rich

        render_rich(result, _stdout_console(), zone)
    else:
        from logstat.report.text import pipe_width, render_plain

        sys.stdout.write(render_plain(result, zone, pipe_width()))
    sys.stdout.flush()  # a failed write must stop the run before --state is committed


@app.command()
def schema() -> None:
    """Print the JSON Schema of `summary --json` (the file shipped with logstat)."""
    from importlib import resources

    from logstat.report.model import SCHEMA_RESOURCE

    sys.stdout.write(resources.files("logstat").joinpath(SCHEMA_RESOURCE).read_text("utf-8"))


@app.command()
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
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    """Write one row per request (canonical schema plus status meanings) to CSV or Parquet."""
    from logstat.library import export as export_requests
    from logstat.outputs.export import STDOUT, kind_for

    if to is not None and to not in ("csv", "parquet"):
        raise LogstatError(f"--to must be csv or parquet, not {to!r}", ExitCode.USAGE)
    if str(output) == STDOUT and kind_for(output, to) == "parquet" and sys.stdout.isatty():
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
        progress=functools.partial(_progress, quiet=quiet),
    )
    _note(written.notes)
    if not quiet:
        where = "stdout" if str(output) == STDOUT else str(output)
        message = f"wrote {written.rows:,} rows to {where}"
        if written.rejected:
            message += (
                f" ({written.rejected:,} lines rejected; see `logstat summary --rejects FILE`)"
            )
        typer.echo(message, err=True)
    if written.in_doubt:  # the rows are written: they show what was read
        raise LogstatError(written.in_doubt, ExitCode.UNPARSED)
    if _warn_vanished(written.vanished):
        raise typer.Exit(ExitCode.PARTIAL)


def _note(notes: list[str]) -> None:
    from logstat.report.text import safe

    for note in notes:
        sys.stderr.write(f"logstat: {safe(note)}\n")


@app.command()
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

    columns = None if json_output else ["line"]
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
        columns=columns,
    )
    write_lines(frames, sys.stdout, json_output, limit)


@app.command()
def codes(
    code: Annotated[
        list[str],
        typer.Argument(
            help="Status codes (499 502 000), IIS status.substatus (500.19) or classes (5xx)."
        ),
    ],
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            help="Read the codes as a summary of this log source does (alb, nginx ...): as "
            "its own status and as one passed on from the server behind it.",
        ),
    ] = None,
    vendors: VendorOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Show what a status code means for each vendor that defines it, with sources."""
    from dataclasses import asdict

    from logstat.library import meaning
    from logstat.report.fit import DATA, PROSE, Layout
    from logstat.report.text import MEANING, Section, print_section
    from logstat.status.explain import describe_by, status_text

    readings = [
        reading for term in code for reading in meaning(term, source=source, vendors=vendors or ())
    ]
    name = source.lower() if source is not None else None
    if json_output:
        found = [
            {"query": reading.term, **asdict(reading.meaning), "produced_by": reading.produced_by}
            for reading in readings
        ]
        sys.stdout.write(json.dumps(found, indent=2) + "\n")
        return
    headers = ["code", *(["by"] if name else []), "vendor", "name", "meaning", "source"]
    rows = [
        [
            status_text(reading.meaning.code)
            + (f".{reading.meaning.substatus}" if reading.meaning.substatus is not None else ""),
            *([describe_by(reading, name)] if name else []),
            reading.meaning.vendor,
            reading.meaning.name,
            reading.meaning.meaning,
            reading.meaning.source_url or "-",
        ]
        for reading in readings
    ]
    if not sys.stdout.isatty():
        for row in rows:
            sys.stdout.write("\t".join(row) + "\n")
        return
    layout = Layout(
        {"by": PROSE, "name": PROSE, "meaning": PROSE, "source": DATA}, ("source",), MEANING
    )
    section = Section("", headers, rows, layout=layout)
    print_section(_stdout_console(), section, "--json shows every column")


@app.command()
def formats() -> None:
    """List the log formats logstat reads, with their named layouts."""
    from logstat import format_catalog  # not logstat.formats: listing them needs no polars

    for format in format_catalog.read():
        typer.echo(f"{format['name']}: {format['title']}")
        typer.echo(f"  status tables: {', '.join(format['vendors'])}, iana")
        for name, template in format["layouts"].items():
            typer.echo(f"  {name}: {template}")


app.command()(ingest)
app.command()(dashboard)


def _with_default_command(args: list[str]) -> list[str]:
    """`logstat access.log` means `logstat summary access.log`."""
    if not args or args[0] in COMMANDS or args[0] in ("-h", "--help", "--version"):
        return args
    return ["summary", *args]


def _click_exceptions() -> tuple[tuple[type[BaseException], ...], ...]:
    """click's exception types, when click is installed.

    typer >= 0.29 bundles its own copy of click and raises typer's exceptions
    (click is then not installed at all); older releases raise click's.
    """
    try:
        import click
    except ImportError:
        return (), (), ()
    return (click.ClickException,), (click.exceptions.Exit,), (click.Abort,)


_CLICK_USAGE, _CLICK_EXIT, _CLICK_ABORT = _click_exceptions()
USAGE_ERRORS: tuple[type[BaseException], ...] = (
    *_CLICK_USAGE,
    *((typer.TyperException,) if hasattr(typer, "TyperException") else ()),
)
EXITS: tuple[type[BaseException], ...] = (typer.Exit, *_CLICK_EXIT)
ABORTS: tuple[type[BaseException], ...] = (typer.Abort, KeyboardInterrupt, *_CLICK_ABORT)


class _Terminated:
    """Which stopping signal arrived: SIGTERM is raised as KeyboardInterrupt, so every
    `finally` and context manager (temporary files, staging, locks) runs as for Ctrl-C."""

    signal: int | None = None


def _on_signal(number: int, frame: object) -> None:
    if _Terminated.signal is not None:
        return  # already stopping: let the cleanup finish
    _Terminated.signal = number
    raise KeyboardInterrupt


class _GuardedOutput:
    """sys.stdout for a run: a write that fails (a full disk, /dev/full, EIO) becomes a
    one-line error instead of an internal error; a reader that left (EPIPE) stays a
    BrokenPipeError, which `main` turns into a quiet exit."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as error:
            raise _output_error(error) from error

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as error:
            raise _output_error(error) from error

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _OutputError(LogstatError):
    """Standard output failed: what is still buffered for it can never be written."""


def _output_error(error: OSError) -> LogstatError:
    return _OutputError(f"cannot write the output: {error.strerror or error}")


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    _Terminated.signal = None
    previous_handler = signal.signal(signal.SIGTERM, _on_signal)
    stdout = sys.stdout
    sys.stdout = cast(TextIO, _GuardedOutput(stdout))
    try:
        code = _run(args, debug)
    finally:
        sys.stdout = stdout
        signal.signal(signal.SIGTERM, previous_handler)
    sys.exit(int(code))


def _run(args: list[str], debug: bool) -> ExitCode:
    """The command's exit code; every error becomes one line on stderr here."""
    try:
        # without standalone mode, click returns the code of a `typer.Exit` instead of exiting
        returned = app(_with_default_command(args), prog_name="logstat", standalone_mode=False)
        sys.stdout.flush()  # a full disk shows here for short outputs, not at exit
        if returned == ExitCode.INTERRUPTED:  # typer turns Ctrl-C into Exit(130)
            return _interrupted()
        code = ExitCode(returned) if returned in set(ExitCode) else ExitCode.OK
        if isinstance(returned, int) and returned not in set(ExitCode):
            code = ExitCode.ERROR
        return code
    except LogstatError as error:
        if debug:
            raise
        _error(error.message)
        if isinstance(error, _OutputError):
            _quiet_stdout()  # the output failed: do not fail again when Python flushes it
        return error.exit_code
    except EXITS as done:
        exit_code = getattr(done, "exit_code", 1)
        if exit_code == ExitCode.INTERRUPTED:
            return _interrupted()
        return ExitCode(exit_code) if exit_code in set(ExitCode) else ExitCode.ERROR
    except USAGE_ERRORS as error:
        show = getattr(error, "show", None)
        if show is not None:
            show()
        else:
            _error(str(error))
        return ExitCode.USAGE
    except ABORTS as error:
        if isinstance(error, KeyboardInterrupt) or isinstance(error.__cause__, KeyboardInterrupt):
            return _interrupted()
        _error(f"aborted: {error.__cause__ or error}")  # click's Abort for an EOFError
        return ExitCode.ERROR
    except BrokenPipeError:
        # `logstat ... | head`: the reader left; say nothing and do not flush again
        _quiet_stdout()
        return ExitCode.OK
    except OSError as error:  # the system refused something no other place explains
        if debug:
            raise
        where = f"{error.filename}: " if error.filename else ""
        _error(f"{where}{error.strerror or error}")
        return ExitCode.ERROR
    except Exception as error:  # a bug: one line unless --debug
        if debug:
            raise
        first = str(error).splitlines()[0] if str(error) else ""
        _error(f"internal error: {type(error).__name__}: {first} (rerun with --debug for details)")
        return ExitCode.INTERNAL


def _interrupted() -> ExitCode:
    sys.stderr.write("logstat: interrupted\n")
    if _Terminated.signal == signal.SIGTERM:
        return ExitCode.TERMINATED
    return ExitCode.INTERRUPTED


def _quiet_stdout() -> None:
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _error(message: str) -> None:
    from logstat.report.text import safe

    sys.stderr.write(f"logstat: error: {safe(message)}\n")
