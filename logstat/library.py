"""The Python API: what the `logstat` commands do, as functions.

    import logstat
    summary = logstat.summarize(["access.log"], status=["5xx"])
    for frame in logstat.read(["access.log"]):  # canonical rows, chunk by chunk
        ...
    logstat.export(["access.log"], "requests.parquet")
    logstat.ingest(["/var/log/nginx/access.log*"], "dataset", state="ingest.state")
    logstat.meaning(499, source="nginx")
    change = logstat.diff(logstat.summarize("before.log"), logstat.summarize("after.log"))
    recent = logstat.compare(["access.log"], "1h")  # the last hour against the one before

The commands in logstat/cli/ are these functions plus option parsing and views.
Errors are `LogstatError` with a one-line message and the exit code the command
would end with.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from logstat.errors import ExitCode, LogstatError

if TYPE_CHECKING:
    import polars as pl

    from logstat.alerts import Rule
    from logstat.filters import Filters
    from logstat.reading.runs import FileRun, Options
    from logstat.reading.state import StateFile
    from logstat.report.diff import Difference
    from logstat.report.model import Summary
    from logstat.status.details import DetailReading
    from logstat.status.explain import Reading
    from logstat.summary import PartialSummary, ReportSettings
    from logstat.time_zones import DisplayZone

PathLike = str | os.PathLike[str]
Progress = Callable[[int], None]  # called with the bytes read since the last call
# Given the files about to be read, a context whose value (a Progress, or None) is
# told the bytes read: how the command line shows a progress bar.
Watch = Callable[["list[FileRun]"], contextlib.AbstractContextManager[Progress | None]]


def _paths(paths: PathLike | Sequence[PathLike]) -> list[str]:
    """One path or many; paths, globs, directories, `-` for stdin, as on the command line."""
    if isinstance(paths, str | os.PathLike):
        return [os.fspath(paths)]
    return [os.fspath(path) for path in paths]


def reading_options(
    format: str | None = None,
    log_format: str | None = None,
    vendors: Sequence[str] = (),
    json_keys: str | None = None,
    endpoint_url: str | None = None,
) -> Options:
    """How to read the logs: --format, --log-format, --vendor, --json-keys, --endpoint-url."""
    from logstat.reading.runs import Options
    from logstat.status.chains import chosen_vendors

    return Options(
        format=format,
        log_format=log_format,
        vendors=chosen_vendors(vendors),
        json_keys=json_keys,
        endpoint_url=endpoint_url,
    )


def display_zone(tz: str | None = None) -> DisplayZone:
    """The time zone times are shown and naive times read in: tz, else $LOGSTAT_TZ, else local."""
    from logstat.time_zones import ENVIRONMENT, resolve

    return resolve(tz if tz is not None else os.environ.get(ENVIRONMENT))


def request_filters(
    since: str | None = None,
    until: str | None = None,
    status: Sequence[str] = (),
    path: str | None = None,
    host: Sequence[str] = (),
    method: Sequence[str] = (),
    source: Sequence[str] = (),
    tz: DisplayZone | None = None,
) -> Filters:
    """Which requests to count: the summary's filter options, parsed and checked."""
    from logstat.filters import parse_filters
    from logstat.formats import BY_NAME

    return parse_filters(
        since=since,
        until=until,
        statuses=status,
        path=path,
        hosts=host,
        methods=method,
        sources=source,
        known_sources=BY_NAME,
        zone=(tz or display_zone()).zone,
    )


@dataclass
class SummaryRun:
    """A summary being made: what was read, and whether its counts can be trusted."""

    summary: Summary
    runs: list[FileRun]
    state_file: StateFile | None  # with state: where Prometheus keeps its counters
    in_doubt: str | None  # why the counts say nothing (wrong format?), or None
    vanished: list[str] = field(default_factory=list)  # files gone before they were read


@contextlib.contextmanager
def summary_run(
    paths: PathLike | Sequence[PathLike],
    settings: ReportSettings | None = None,
    read_options: Options | None = None,
    *,
    state: PathLike | None = None,
    rejects: PathLike | None = None,
    progress: Watch | None = None,
    cluster: str | None = None,
) -> Iterator[SummaryRun]:
    """Read and count; the caller writes its outputs inside the `with`.

    `cluster` (else $LOGSTAT_CLUSTER): a Dask scheduler's address, or local:N, to count
    there (engines/dask.py); None: here.

    With `state`, the state file stays locked until the block ends, and what was read
    is remembered only when it ends without an error and the counts can be trusted:
    a failed output, or a log read with the wrong format, is read again next time.
    """
    from logstat.engines.dask import cluster_address
    from logstat.reading import folding
    from logstat.reading.inputs import Inputs
    from logstat.reading.objects import Window
    from logstat.summary import PartialSummary, ReportSettings

    chosen = settings or ReportSettings()
    window = Window(chosen.filters.since, chosen.filters.until)
    read_options = dataclasses.replace(read_options or reading_options(), window=window)
    address = cluster_address(cluster)
    if address is not None:
        with _cluster_run(address, _paths(paths), chosen, read_options, state, rejects) as run:
            yield run
        return
    state_path = Path(state) if state is not None else None
    with Inputs(state_path) as inputs:  # locks the state file until the run ends
        runs = inputs.plan(_paths(paths), read_options)
        counted = PartialSummary(chosen)
        with contextlib.ExitStack() as stack:
            writer = None
            if rejects:
                from logstat.outputs.rejects import RejectsWriter  # here: few runs write them

                writer = stack.enter_context(RejectsWriter(Path(rejects)))
            watch = stack.enter_context(_watching(progress, runs))
            if writer is None and state_path is None and not inputs.is_dataset:
                # plain files in one streaming query each (reading/folding.py)
                frames = folding.read(runs, read_options, chosen.needed(), watch)
            else:  # the rejected lines, or the offsets read, are needed one by one
                frames = inputs.read(runs, read_options, chosen.needed(), watch)
            for _, frame in frames:
                counted.add(frame)
                if writer:
                    writer.write(frame)
        counted.add_files(runs)
        run = _finished(counted, read_options.vendors, runs, inputs.state_file)
        yield run
        if not run.in_doubt:
            inputs.commit(runs)  # remember what was read, once the outputs are out


@contextlib.contextmanager
def _cluster_run(
    address: str,
    logs: list[str],
    settings: ReportSettings,
    read_options: Options,
    state: PathLike | None,
    rejects: PathLike | None,
) -> Iterator[SummaryRun]:
    """The summary counted on a Dask cluster: the same partial summaries, merged there.

    Here, the client plans what to read (with `state`: each file from where the last run
    stopped, the objects not read yet); the workers read and count; then, once every task
    is merged, the client writes the rejected lines they sent back and, after the
    caller's outputs, the state, once: a task run twice (its worker died) counts once."""
    from logstat.engines import dask
    from logstat.outputs.rejects import RejectsWriter
    from logstat.reading import dataset
    from logstat.reading.state import StateFile

    if any(dataset.is_dataset(log) for log in logs):
        raise LogstatError("--cluster reads logs, not a dataset", ExitCode.USAGE)
    with contextlib.ExitStack() as stack:
        state_file = stack.enter_context(StateFile.open(Path(state))) if state else None
        # the workers start while this plans, and stop while it makes the report
        with dask.connecting(address) as cluster:
            sources = read_options.expand(logs)
            gone: list[FileRun] = []
            if state_file is not None:
                reads = state_file.reads(sources, read_options)
                parts = dask.state_parts(reads)
                gone = reads.gone_runs(len(reads.files))
            else:
                parts = dask.parts_of(sources)
            client = cluster.client()
            outcome = dask.summarize(client, parts, settings, read_options, rejects is not None)
            cluster.release()
            counted = outcome.partial
            counted.add_files(gone)
            runs = [*outcome.runs(parts), *gone]
            if rejects is not None:
                with RejectsWriter(Path(rejects)) as writer:
                    rejected = outcome.rejected_lines()
                    if rejected is not None:
                        writer.write(rejected)
            run = _finished(counted, read_options.vendors, runs, state_file)
        yield run
        if state_file is not None and not run.in_doubt:
            state_file.commit(runs)  # remember what was read, once the outputs are out


def _finished(
    counted: PartialSummary,
    vendors: Sequence[str],
    runs: list[FileRun],
    state_file: StateFile | None,
) -> SummaryRun:
    """The report of what was counted (here or on a cluster), its alerts withheld when
    the counts say nothing (a log read with the wrong format)."""
    from logstat.alerts import withhold
    from logstat.read_health import doubt

    result = counted.summary(vendors)
    totals = result.totals
    in_doubt = doubt(totals.records, totals.rejected, counted.without_status)
    if in_doubt and result.alerts:
        result.alerts = withhold(result.alerts, in_doubt)
    return SummaryRun(result, runs, state_file, in_doubt, vanished_warnings(runs))


def _watching(
    progress: Watch | None, runs: list[FileRun]
) -> contextlib.AbstractContextManager[Progress | None]:
    return progress(runs) if progress is not None else contextlib.nullcontext()


def vanished_warnings(runs: list[FileRun]) -> list[str]:
    """One warning per file gone (rotated, deleted) before it was read."""
    from logstat.reading.runs import vanished
    from logstat.reading.sources import Vanished

    return [f"{run.source.name}: {Vanished.REASON}" for run in vanished(runs)]


def file_warnings(runs: list[FileRun]) -> list[str]:
    """What reading each file ran into (lines left unread, a file read as plain text, a
    rotated file found nowhere ...), as a summary lists it under the file: for the
    commands that write no summary.  Files gone before they were read are not among them
    (vanished_warnings)."""
    return [
        f"warning: {run.source.name}: {note}"
        for run in runs
        if not run.vanished
        for note in run.notes()
    ]


def report_settings(
    *,
    filters: Filters | None = None,
    every: str | None = None,
    top: int = 0,
    top_by: str | None = None,
    top_fields: Sequence[str] = (),
    by: str | None = None,
    fail_if: Sequence[str] = (),
    prometheus: bool = False,
) -> ReportSettings:
    """What the summary counts beside statuses: the report options, parsed and checked."""
    from logstat.alerts import parse_rules
    from logstat.filters import Filters, parse_duration
    from logstat.formats import BY_NAME
    from logstat.summary import ReportSettings, parse_choice, parse_top_fields

    if not top and (top_by or top_fields):
        raise LogstatError("--top-by and --top-fields need --top N", ExitCode.USAGE)
    return ReportSettings(
        filters=filters or Filters(),
        every=parse_duration(every, "--every") if every else None,
        top=top,
        top_fields=parse_top_fields(top_fields),
        top_by=parse_choice(top_by, "--top-by", ("class", "status")),
        by=parse_choice(by, "--by", ("source", "host", "file")),
        counts=prometheus,
        rules=period_rules(parse_rules(fail_if, BY_NAME)),
    )


def period_rules(rules: tuple[Rule, ...]) -> tuple[Rule, ...]:
    """The rules, when each can be judged on one period (a usage error names one that
    cannot: `5xx rate up 3x` needs an earlier period)."""
    from logstat.alerts import CHANGE_NEEDS_TWO

    for rule in rules:
        if rule.direction is not None:
            raise LogstatError(f"--fail-if {rule.text!r}: {CHANGE_NEEDS_TWO}", ExitCode.USAGE)
    return rules


class UnparsedInput(LogstatError):
    """The counts say nothing: no line parsed, or most records have no status.

    `summary` is what was counted (its rejects say why); `state` was not updated."""

    def __init__(self, message: str, summary: Summary) -> None:
        super().__init__(message, ExitCode.UNPARSED)
        self.summary = summary


def summarize(
    paths: PathLike | Sequence[PathLike],
    *,
    format: str | None = None,
    log_format: str | None = None,
    json_keys: str | None = None,
    vendors: Sequence[str] = (),
    endpoint_url: str | None = None,
    since: str | None = None,
    until: str | None = None,
    status: Sequence[str] = (),
    path: str | None = None,
    host: Sequence[str] = (),
    method: Sequence[str] = (),
    source: Sequence[str] = (),
    every: str | None = None,
    top: int = 0,
    top_by: str | None = None,
    top_fields: Sequence[str] = (),
    by: str | None = None,
    fail_if: Sequence[str] = (),
    tz: str | None = None,
    state: PathLike | None = None,
    rejects: PathLike | None = None,
    cluster: str | None = None,
) -> Summary:
    """Count the logs' statuses with their meanings: what `logstat summary` prints.

    The arguments are the command's options (`status=["5xx", "499"]`, `since="1h"`,
    `top=10`). Naive times are read in `tz` (else $LOGSTAT_TZ, else the local zone).
    `cluster`: a Dask scheduler (tcp://host:8786) or local:N to count on.
    Raises UnparsedInput when no line parsed or most records have no status.
    """
    display = display_zone(tz)
    settings = report_settings(
        filters=request_filters(since, until, status, path, host, method, source, display),
        every=every,
        top=top,
        top_by=top_by,
        top_fields=top_fields,
        by=by,
        fail_if=fail_if,
    )
    read_options = reading_options(format, log_format, vendors, json_keys, endpoint_url)
    with summary_run(
        paths, settings, read_options, state=state, rejects=rejects, cluster=cluster
    ) as run:
        if run.in_doubt:
            raise UnparsedInput(run.in_doubt, run.summary)
        return run.summary


def read(
    paths: PathLike | Sequence[PathLike],
    *,
    format: str | None = None,
    log_format: str | None = None,
    json_keys: str | None = None,
    vendors: Sequence[str] = (),
    endpoint_url: str | None = None,
    since: str | None = None,
    until: str | None = None,
    status: Sequence[str] = (),
    path: str | None = None,
    host: Sequence[str] = (),
    method: Sequence[str] = (),
    source: Sequence[str] = (),
    tz: str | None = None,
    columns: Sequence[str] | None = None,
    rejected: bool = False,
) -> Iterator[pl.DataFrame]:
    """The logs' requests as polars frames of canonical rows, one chunk at a time.

    Lazy: nothing is read until the first frame is asked for, and only a chunk is held
    at once. The filters (`status=["502"]`, `since="1h"` ...) keep the records a summary
    with them counts. `columns` picks canonical columns (None: all the format fills;
    "line" is the line as logged); `rejected=True` also yields every line that did not
    parse, with `line_kind` and `reject_reason` (blank and comment lines never come).
    """
    import polars as pl

    from logstat import schema
    from logstat.reading import pipeline
    from logstat.reading.objects import Window

    chosen = request_filters(since, until, status, path, host, method, source, display_zone(tz))
    read_options = reading_options(format, log_format, vendors, json_keys, endpoint_url)
    read_options = dataclasses.replace(read_options, window=Window(chosen.since, chosen.until))
    needed = None
    if columns is not None:
        needed = {*columns, *chosen.columns(), "source", "status_class"}
    runs = pipeline.plan(read_options.expand(_paths(paths)), read_options)
    pipeline.require_recognised(runs)
    kept_lines = pl.col(schema.LINE_KIND) == schema.RECORD
    predicate = chosen.expression()
    if predicate is not None:
        kept_lines &= predicate
    if rejected:
        kept_lines |= pl.col(schema.LINE_KIND) == schema.REJECTED
    for _, frame in pipeline.read(runs, read_options, needed, None):
        kept = frame.filter(kept_lines)
        if columns is not None:
            extra = [schema.LINE_KIND, schema.REJECT_REASON] if rejected else []
            kept = kept.select([*columns, *(name for name in extra if name not in columns)])
        if kept.height:
            yield kept


@dataclass(frozen=True)
class Written:
    """What export, ingest or dashboard wrote."""

    rows: int  # the dashboard: the records it counted
    rejected: int  # lines that did not parse (see summarize(..., rejects=...))
    files: list[Path | str]  # the output file, or the dataset's new part files (URLs in a store)
    notes: list[str]  # what a user should know (the command line prints them on stderr)
    vanished: list[str]  # files gone (rotated, deleted) before they were read, with why
    # why the rows say nothing (no line parsed, most without a status: the wrong format?)
    in_doubt: str | None = None

    @property
    def partial(self) -> bool:
        """Some file named was not read: the run's rows are the rest."""
        return bool(self.vanished)


def export(
    paths: PathLike | Sequence[PathLike],
    output: PathLike,
    *,
    to: str | None = None,
    raw_csv: bool = False,
    format: str | None = None,
    log_format: str | None = None,
    json_keys: str | None = None,
    vendors: Sequence[str] = (),
    endpoint_url: str | None = None,
    since: str | None = None,
    until: str | None = None,
    status: Sequence[str] = (),
    path: str | None = None,
    host: Sequence[str] = (),
    method: Sequence[str] = (),
    source: Sequence[str] = (),
    tz: str | None = None,
    progress: Watch | None = None,
    cluster: str | None = None,
) -> Written:
    """One row per request (canonical columns plus meanings) to CSV or Parquet, atomically.

    `to` is "csv" or "parquet" when the output's suffix does not say; "-" writes stdout.
    `cluster` (else $LOGSTAT_CLUSTER): read on a Dask cluster, whose workers write parts
    beside the output (engines/dask_outputs.py).
    """
    from logstat import formats, schema
    from logstat.engines import dask_outputs
    from logstat.engines.dask import cluster_address
    from logstat.outputs.export import Writer, annotated, kind_for
    from logstat.outputs.output_paths import refuse_overwriting_inputs
    from logstat.read_health import StatusTally
    from logstat.reading import pipeline
    from logstat.reading.objects import Window

    if to is not None and to not in ("csv", "parquet"):
        raise LogstatError(f"--to must be csv or parquet, not {to!r}", ExitCode.USAGE)
    target = Path(output)
    kind = kind_for(target, to)
    logs = _paths(paths)
    chosen = request_filters(since, until, status, path, host, method, source, display_zone(tz))
    refuse_overwriting_inputs(logs, {"--output": target})
    read_options = reading_options(format, log_format, vendors, json_keys, endpoint_url)
    read_options = dataclasses.replace(read_options, window=Window(chosen.since, chosen.until))
    runs = pipeline.plan(read_options.expand(logs), read_options)
    pipeline.require_recognised(runs)
    extras = {
        column
        for run in runs
        if run.choice is not None
        for column in run.choice.detection.parser.columns()
    }
    columns = schema.export_columns(extras)
    # every format: a file's format may change when it is read (pipeline._confirm)
    chains = formats.vendor_chains(read_options.vendors)
    tally = StatusTally()
    address = cluster_address(cluster)
    if address is not None:
        dask_outputs.refuse_stdout(target)
        with Writer(target, kind, columns, raw_csv) as writer:
            tally, read_as = dask_outputs.export(
                address, runs, read_options, target, columns, chosen, writer.write
            )
    else:
        with _watching(progress, runs) as watch, Writer(target, kind, columns, raw_csv) as writer:
            for _, frame in pipeline.read(runs, read_options, None, watch):
                tally.add(frame)
                writer.write_made(annotated(frame, chains, columns, chosen.apply))
        read_as = [
            (
                run.source.name,
                run.choice.format.name,
                frozenset(run.choice.detection.parser.columns()),
            )
            for run in runs
            if run.choice is not None
        ]
    warnings = []
    for name, format_name, parser_columns in read_as:
        # a file detected on its own while read (pipeline._confirm) may have columns
        # the export's fixed set lacks: say so rather than drop them silently
        left_out = sorted(parser_columns - columns.keys())
        if left_out:
            warnings.append(
                f"{name}: read as {format_name} (unlike the files "
                f"named like it); its columns {', '.join(left_out)} are not in this "
                "export: export it on its own to keep them"
            )
    gone = vanished_warnings(runs)
    rejected = sum(run.counts.rejected for run in runs)
    return Written(
        writer.rows,
        rejected,
        [target],
        [*file_warnings(runs), *warnings],
        gone,
        tally.doubt(rejected),
    )


def ingest(
    paths: PathLike | Sequence[PathLike],
    dataset: PathLike,
    *,
    state: PathLike | None = None,
    append: bool = False,
    format: str | None = None,
    log_format: str | None = None,
    json_keys: str | None = None,
    vendors: Sequence[str] = (),
    endpoint_url: str | None = None,
    progress: Watch | None = None,
    cluster: str | None = None,
) -> Written:
    """Add the logs' requests to a Parquet dataset partitioned by date and source.

    Each line of a file is added once however often it is ingested (the dataset keeps
    what every file gave), unless `append`; all or nothing: a failed run adds no row.
    `dataset` is a directory, or a URL in an object store (s3://bucket/dataset/).
    `cluster` (else $LOGSTAT_CLUSTER): read on a Dask cluster, whose workers write the
    parts; the run still commits once.
    """
    from logstat.engines.dask import cluster_address
    from logstat.engines.dask_outputs import ingest_elsewhere
    from logstat.outputs.ingest import Ingest
    from logstat.outputs.output_paths import refuse_dataset_among_inputs, refuse_overwriting_inputs
    from logstat.reading.objects import is_url

    logs = _paths(paths)
    root: Path | str = os.fspath(dataset) if is_url(os.fspath(dataset)) else Path(dataset)
    state_path = Path(state) if state is not None else None
    refuse_overwriting_inputs(logs, {"--state": state_path})
    refuse_dataset_among_inputs(logs, root)
    read_options = reading_options(format, log_format, vendors, json_keys, endpoint_url)
    address = cluster_address(cluster)
    with Ingest(root, state_path, append, endpoint_url) as run:
        runs = run.plan(logs, read_options)
        if address is not None:
            run.write(runs, read_options, None, ingest_elsewhere(address, read_options))
        else:
            with _watching(progress, runs) as watch:
                run.write(runs, read_options, watch)
    gone = vanished_warnings(runs)
    warnings = file_warnings(runs)
    if run.appended_unrecognisable:
        warnings.append(
            "stdin and pipes cannot be recognised again: their lines are added on every run"
        )
    rejected = sum(item.counts.rejected for item in runs)
    return Written(run.rows, rejected, list(run.parts), warnings, gone)


def dashboard(
    paths: PathLike | Sequence[PathLike],
    output: PathLike,
    *,
    top: int = 20,
    format: str | None = None,
    log_format: str | None = None,
    json_keys: str | None = None,
    vendors: Sequence[str] = (),
    endpoint_url: str | None = None,
    since: str | None = None,
    until: str | None = None,
    status: Sequence[str] = (),
    path: str | None = None,
    host: Sequence[str] = (),
    method: Sequence[str] = (),
    source: Sequence[str] = (),
    tz: str | None = None,
    progress: Watch | None = None,
    cluster: str | None = None,
) -> Written:
    """An HTML dashboard (one self-contained file) of the logs, or of a dataset written
    by `ingest`, written atomically.  Times are shown in `tz` (else $LOGSTAT_TZ, else
    the local zone); `top` error paths and status codes are listed.  `cluster` (else
    $LOGSTAT_CLUSTER): count the logs on a Dask cluster, as `summarize` does."""
    from logstat.dashboard import DashboardBuilder, render_page
    from logstat.engines import dask_dashboard
    from logstat.engines.dask import cluster_address
    from logstat.outputs.atomic import atomic_output
    from logstat.outputs.output_paths import refuse_overwriting_inputs
    from logstat.reading.dataset import is_dataset
    from logstat.reading.inputs import Inputs
    from logstat.reading.objects import Window

    logs = _paths(paths)
    target = Path(output)
    refuse_overwriting_inputs(logs, {"--output": target})
    zone = display_zone(tz)  # times shown and bars aligned in it; naive --since read in it
    chosen = request_filters(since, until, status, path, host, method, source, zone)
    read_options = reading_options(format, log_format, vendors, json_keys, endpoint_url)
    read_options = dataclasses.replace(read_options, window=Window(chosen.since, chosen.until))
    address = cluster_address(cluster)
    runs: list[FileRun] = []  # on a cluster, the files are counted in there
    if address is not None:
        if any(is_dataset(log, endpoint_url) for log in logs):
            raise LogstatError("--cluster reads logs, not a dataset", ExitCode.USAGE)
        builder = dask_dashboard.fold(address, logs, top, chosen, zone, read_options)
    else:
        builder = DashboardBuilder(top, chosen, zone)
        with Inputs() as inputs:
            runs = inputs.plan(logs, read_options)
            with _watching(progress, runs) as watch:
                for _, frame in inputs.read(runs, read_options, builder.needed(), watch):
                    builder.add(frame)
    data = builder.build(runs, read_options.vendors)
    with atomic_output(target) as handle:
        handle.write(render_page(data).encode("utf-8"))
    records = sum(run.counts.records for run in runs)
    rejected = sum(run.counts.rejected for run in runs)
    if address is not None:  # counted there: as the page's totals say
        records, rejected = data["totals"]["records"], data["totals"]["rejected"]
    # the page lists each file's warnings: none are repeated here
    return Written(records, rejected, [target], [], vanished_warnings(runs), data["in_doubt"])


def meaning(
    code: int | str, *, source: str | None = None, vendors: Sequence[str] = ()
) -> list[Reading | DetailReading]:
    """What a status means: `meaning(499)`, `meaning("500.19")`, `meaning("5xx")`; or a
    value logged beside it: `meaning("SC--")` (HAProxy), `meaning("LambdaInvalidResponse")`.

    With `source` ("nginx", "alb" ...), the readings a summary of that log gives: as the
    source's own status and as one passed on from the server behind it.
    """
    from logstat import format_catalog
    from logstat.status import load_registry
    from logstat.status.chains import chosen_vendors
    from logstat.status.explain import explain

    chosen = chosen_vendors(vendors)
    known = {entry["name"]: tuple(entry["vendors"]) for entry in format_catalog.read()}
    if source is not None and source.lower() not in known:
        raise LogstatError(f"--source {source!r}: choose one of {', '.join(known)}", ExitCode.USAGE)
    name = source.lower() if source is not None else None
    return explain(
        [str(code)], load_registry(), (name, known[name]) if name is not None else None, chosen
    )


def diff(
    before: Summary,
    after: Summary,
    *,
    threshold: float = 3.0,
    min_count: int = 10,
    labels: tuple[str, str] = ("before", "after"),
) -> Difference:
    """What rose and fell from one summary to another, by share of requests: statuses,
    classes, producers and (when both were made with the same `by`) hosts, sources or
    files.  A change is flagged when a two-proportion z-test of its share gives
    |z| >= `threshold` and one side counts at least `min_count` requests."""
    from logstat.report import diff as difference

    if threshold <= 0:
        raise LogstatError(f"--threshold must be above 0, not {threshold:g}", ExitCode.USAGE)
    if min_count < 0:
        raise LogstatError(f"--min-count must be 0 or more, not {min_count}", ExitCode.USAGE)
    return difference.diff(before, after, threshold=threshold, min_count=min_count, labels=labels)


def read_summary(path: PathLike) -> Summary:
    """A summary written by `logstat summary --json` (or Summary.to_json), read back."""
    from logstat.report.summary_file import read_summary as read_file

    return read_file(os.fspath(path))


@dataclass(frozen=True)
class Comparison:
    """The last `duration` of the logs against the `duration` before it."""

    summary: Summary  # the last window: [since, until)
    previous: Summary  # the window `duration` earlier: [since - duration, until - duration)
    difference: Difference  # from previous to summary
    since: datetime  # UTC
    until: datetime  # UTC, exclusive
    offset: timedelta  # how much earlier the previous window is (the duration)

    @property
    def previous_window(self) -> tuple[datetime, datetime]:
        return self.since - self.offset, self.until - self.offset


# a window's options: compare() sets them itself, or they read the logs once only
_NOT_WITH_COMPARE = ("since", "state", "rejects")


def compare(
    paths: PathLike | Sequence[PathLike],
    duration: str,
    *,
    window: str | None = None,
    until: str | None = None,
    threshold: float = 3.0,
    min_count: int = 10,
    **options: Any,
) -> Comparison:
    """`logstat summary --compare 1h`: the last `duration` of the logs, and what changed
    from the `duration` before it (`diff`).  With `window` (`--compare 1d --window 1h`),
    the last `window` against the same `window` one `duration` earlier: this hour
    against the same hour yesterday.

    The last window ends at `until` (exclusive) when given, else just after the newest
    record of the logs (the finest time a record has, a microsecond): so a log from the
    past is compared at its end, not at the clock's now.  `options` are summarize()'s
    (status, host, top, by, tz ...), applied to both windows; `since`, `state` and
    `rejects` are not among them.  The logs are read once per window (and once more to
    find the newest record when `until` is None): stdin cannot be compared.
    """
    from logstat.alerts import parse_rules
    from logstat.filters import parse_duration, parse_moment
    from logstat.formats import BY_NAME

    for name in _NOT_WITH_COMPARE:
        if options.get(name) is not None:
            raise LogstatError(f"--compare sets its own window: no --{name}", ExitCode.USAGE)
    logs = _paths(paths)
    if "-" in logs:
        raise LogstatError("--compare reads the logs more than once: not stdin", ExitCode.USAGE)
    offset = timedelta(seconds=parse_duration(duration, "--compare").seconds)
    length = timedelta(seconds=parse_duration(window, "--window").seconds) if window else offset
    if length > offset:
        raise LogstatError(
            f"--window {window!r} is longer than --compare {duration!r}: the windows would overlap",
            ExitCode.USAGE,
        )
    now = datetime.now(UTC)
    zone = display_zone(options.get("tz")).zone
    end = parse_moment(until, "--until", now, zone) if until else _after_newest(logs, options)
    windows = [(end - length - offset, end - offset), (end - length, end)]
    # rules on one period are judged on the last window, rules on a change on both
    rules = parse_rules(options.pop("fail_if", ()), BY_NAME)
    options["fail_if"] = [rule.text for rule in rules if rule.direction is None]
    previous, recent = (
        summarize(logs, since=start.isoformat(), until=stop.isoformat(), **options)
        for start, stop in windows
    )
    shown = (window or duration).strip()
    labels = (
        (f"the {shown} before", f"the last {shown}")
        if window is None
        else (f"the same {shown} {duration.strip()} earlier", f"the last {shown}")
    )
    change = diff(previous, recent, threshold=threshold, min_count=min_count, labels=labels)
    changes = [rule for rule in rules if rule.direction is not None]
    if changes:
        from logstat.change_alerts import evaluate_changes

        judged = evaluate_changes(
            changes, previous, recent, threshold=threshold, min_count=min_count
        )
        recent.alerts = [*(recent.alerts or []), *judged]
    return Comparison(recent, previous, change, windows[1][0], end, offset)


def _after_newest(logs: list[str], options: dict[str, Any]) -> datetime:
    """Just after the newest record's time in the logs, whatever the filters keep."""
    reading = ("format", "log_format", "json_keys", "vendors", "endpoint_url", "tz")
    newest: datetime | None = None
    given = {name: options[name] for name in reading if name in options}
    for frame in read(logs, columns=["timestamp"], **given):
        latest = frame["timestamp"].max()
        if isinstance(latest, datetime) and (newest is None or latest > newest):
            newest = latest
    if newest is None:
        raise LogstatError(
            "--compare: no record has a time; give --until to say where the window ends",
            ExitCode.USAGE,
        )
    return newest + timedelta(microseconds=1)
