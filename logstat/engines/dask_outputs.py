"""`export` and `ingest` on a Dask cluster: the workers write Parquet parts straight to
where the output goes, and the client commits once.

The client plans the run as it would here (which inputs, and for `ingest` where each
file is read on from); the inputs are cut into tasks as for a summary (engines/dask.py).
Each task reads its inputs and writes its rows as parts named by the task:

- ingest: the dataset's parts, in the run's staging directory (a local dataset) or
  under their final keys (a dataset in an object store), `<prefix>-t<task>-<uuid>`;
- export: one Parquet part per task, `task-<n>.parquet`, in a directory beside the
  output, written whole (outputs/atomic.py).

A task returns the parts it wrote and what reading did to each input (counts,
problems, where a resumed file ended).  Dask runs a task whose worker died again; only
the parts a finished task returned are committed (the ingest commit lists them, the
rest of the run's parts are removed first; the export is written from them, in task
order), so a task killed half-way, or run twice, neither loses nor repeats a row.
"""

from __future__ import annotations

import contextlib
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from logstat.engines import dask
from logstat.errors import ExitCode, LogstatError
from logstat.line_counts import LineCounts
from logstat.read_health import StatusTally

if TYPE_CHECKING:
    import polars as pl

    from logstat.filters import Filters
    from logstat.outputs.dataset import DatasetLedger, DatasetWriter, Parts
    from logstat.reading.runs import FileRun, Options

PARTS = ".logstat-parts-"  # export: the tasks' parts, beside the output


@dataclass(frozen=True)
class InputReport:
    """What reading one input on a worker found: the client's run is brought up to it."""

    index: int  # the input's number in the run
    counts: LineCounts
    problems: list[str]
    trailing: dict[int, int]
    blank: bool
    vanished: bool
    compression: str | None
    resume: Any  # reading/state.Resume, with where reading ended (None: read whole)
    format_name: str | None
    parser_columns: frozenset[str]


@dataclass
class TaskResult:
    parts: list[dict[str, Any]]  # {"path", "rows", "bytes"}
    tally: StatusTally
    outcomes: list[InputReport] = field(default_factory=list)


def _outcome(index: int, run: FileRun) -> InputReport:
    choice = run.choice
    return InputReport(
        index,
        run.counts,
        run.problems,
        run.trailing,
        run.blank,
        run.vanished,
        run.compression,
        run.resume,
        choice.format.name if choice else None,
        frozenset(choice.detection.parser.columns()) if choice else frozenset(),
    )


def _bring_up_to(run: FileRun, reports: list[InputReport]) -> None:
    """The client's run as reading it found: one report, or one per byte range of a
    large file, in order (their counts add up; under --state the file's reading ends
    where its ranges' lines did, ranges.resumed_end)."""
    from logstat.engines.ranges import ByteRange, resumed_end

    first = reports[0]
    run.counts = LineCounts.total(report.counts for report in reports)
    run.problems = [problem for report in reports for problem in report.problems]
    run.trailing = {}
    for report in reports:
        for fields, lines in report.trailing.items():
            run.trailing[fields] = run.trailing.get(fields, 0) + lines
    run.blank = all(report.blank for report in reports)
    run.vanished = first.vanished
    run.compression = first.compression
    if not isinstance(first.resume, ByteRange):
        if first.resume is not None:
            run.resume = first.resume
        return
    resume = run.resume  # the file's state.Resume, its new part cut in ranges; or None
    if resume is not None:
        read = [(report.resume, report.counts.lines) for report in reports]
        resume.end_offset, resume.end_lines = resumed_end(read)  # type: ignore[attr-defined]


@contextlib.contextmanager
def _read(
    task: dask.Task, options: Options, preceding: list[int] | None
) -> Iterator[tuple[list[FileRun], Iterator[pl.DataFrame]]]:
    """On a worker: the task's runs (resumed where the client planned) and their frames;
    a byte range of a file numbers its lines after the `preceding` lines of the file's
    ranges before it (counted by their own tasks, `range_lines`); None: from 1, and
    the client numbers them in the file (`line_offsets`)."""
    from logstat.engines.ranges import ByteRange
    from logstat.reading import pipeline

    for part in task.parts:
        if isinstance(part.resume, ByteRange) and preceding is not None:
            part.resume.preceding = sum(preceding)
    with dask.planned(task, options) as runs:
        frames = (frame for _, frame in pipeline.read(runs, options, None, None))
        yield runs, frames


def range_lines(part: dask.Part, options: Options) -> int:
    """On a worker: the lines a byte range of a file owns (read, not parsed)."""
    from logstat.engines.ranges import ByteRange, owned_lines

    assert isinstance(part.resume, ByteRange)
    return owned_lines(part.source, part.resume, options.chunk_bytes)


def _parts(runs: list[FileRun]) -> tuple[list[FileRun], list[dask.Part]]:
    """The runs still to read (those known gone stay as they are) as a summary's parts
    (dask.planned_parts: a large plain file, or its new part, in byte ranges), with what
    planning said."""
    live = [run for run in runs if not run.vanished]
    return live, dask.planned_parts([(run.source, run.resume, run.problems) for run in live])


def _preceding(client: Any, groups: list[dask.Task], options: Options) -> list[list[Any]]:
    """For each task, the line counts (futures) of the ranges of its file before its own
    range: every range but a file's last is counted apart first, so that rows keep their
    line numbers in the file wherever they were read."""
    from logstat.engines.ranges import ByteRange

    counted: dict[int, list[Any]] = {}
    preceding: list[list[Any]] = []
    for task in groups:
        [part, *_] = task.parts
        if not isinstance(part.resume, ByteRange):
            preceding.append([])
            continue
        before = counted.setdefault(part.file_id, [])
        preceding.append(list(before))
        before.append(client.submit(range_lines, part, options, retries=dask.RETRIES, pure=False))
    return preceding


def _run(
    address: str,
    runs: list[FileRun],
    options: Options,
    submit: Callable[[Any, int, dask.Task, list[Any] | None], Any],
    count_first: bool = True,
) -> list[TaskResult]:
    """Every task submitted (retried when its worker dies), the runs brought up to what
    the tasks found; the results in task order (`read_through`).  `count_first`: the
    ranges of a file are counted before they are read, to number their rows in the file
    as they are written (else each numbers its rows from 1: `line_offsets`)."""
    live, parts = _parts(runs)
    if not parts:
        return []
    with dask.connect(address) as client:
        groups = dask.tasks(parts, dask.slots(client))
        if count_first:
            preceding: list[list[Any] | None] = list(_preceding(client, groups, options))
        else:
            preceding = [None] * len(groups)
        futures = [
            submit(client, number, task, preceding[number]) for number, task in enumerate(groups)
        ]
        results: list[TaskResult] = dask.finished(futures)
    kept = read_through(results)
    reports: dict[int, list[InputReport]] = {}
    for result in kept:
        for report in result.outcomes:
            reports.setdefault(report.index, []).append(report)
    for index, found in reports.items():
        _bring_up_to(live[index], found)
    return kept


def read_through(results: list[TaskResult]) -> list[TaskResult]:
    """The tasks' results, in order, less those of a file's byte ranges after one that did
    not read all its lines (a read problem, a file replaced, a last line without its
    newline): reading the file in one piece stops there, and so does the state (or the
    dataset's record), so the next run reads those lines; committed now, they would be
    added twice."""
    from logstat.engines.ranges import ByteRange

    kept: list[TaskResult] = []
    stopped: set[int] = set()
    for result in results:
        ranged = [report for report in result.outcomes if isinstance(report.resume, ByteRange)]
        if ranged and ranged[0].index in stopped:
            continue
        kept.append(result)
        for report in ranged:
            if report.resume.stop is None or not report.resume.whole:
                stopped.add(report.index)
    return kept


def line_offsets(results: list[TaskResult]) -> list[int]:
    """What to add to the line numbers of each task's rows, written with each byte range
    of a file numbering its lines from 1 (the range that starts the file's reading, in
    the file): the lines of the file's ranges before it, from the counts their tasks
    returned, so that a range is read once."""
    from logstat.engines.ranges import ByteRange, first_lines

    lines: dict[tuple[int, int], int] = {}
    bases: dict[int, int] = {}
    for result in results:
        for report in result.outcomes:
            if isinstance(report.resume, ByteRange):
                lines[report.index, report.resume.start] = report.counts.lines
                if report.resume.resume is not None:
                    bases[report.index] = report.resume.resume.lines
    firsts = first_lines(lines, bases)
    offsets = []
    for result in results:
        ranged = [report for report in result.outcomes if isinstance(report.resume, ByteRange)]
        if ranged and ranged[0].resume.start != ranged[0].resume.first:
            offsets.append(firsts[ranged[0].index, ranged[0].resume.start] - 1)
        else:
            offsets.append(0)
    return offsets


def _tally(results: list[TaskResult]) -> StatusTally:
    tally = StatusTally()
    for result in results:
        tally.records += result.tally.records
        tally.without_status += result.tally.without_status
    return tally


# ingest -----------------------------------------------------------------------------


def ingest_task(
    number: int,
    task: dask.Task,
    options: Options,
    parts: Parts,
    prefix: str,
    preceding: list[int] | None,
) -> TaskResult:
    """One task, on a worker: its inputs' rows written as dataset parts named by the task."""
    from logstat.outputs.dataset import PartitionedParts
    from logstat.outputs.ingest import RowMaker

    writer = PartitionedParts(parts, f"{prefix}-t{number:06d}")
    tally = StatusTally()
    try:
        with _read(task, options, preceding) as (runs, frames):
            rows = RowMaker(options)
            for frame in frames:
                tally.add(frame)
                writer.write(rows.make(frame))
            written = writer.close()
            return TaskResult(written, tally, [_outcome(run.file_id, run) for run in runs])
    except BaseException:
        parts.remove(writer.discard())
        raise


def ingest_elsewhere(
    address: str, options: Options
) -> Callable[[list[FileRun], DatasetLedger, DatasetWriter], StatusTally]:
    """For outputs.ingest.Ingest.write: the runs read, and their parts written, by the
    cluster's workers where this run's parts go."""

    def elsewhere(runs: list[FileRun], ledger: DatasetLedger, writer: DatasetWriter) -> StatusTally:
        parts, prefix = ledger.parts(), ledger.part_prefix()
        writer.others_write = True

        def submit(client: Any, number: int, task: dask.Task, preceding: list[Any] | None) -> Any:
            return client.submit(
                ingest_task, number, task, options, parts, prefix, preceding,
                retries=dask.RETRIES, pure=False,
            )  # fmt: skip

        results = _run(address, runs, options, submit)
        for result in results:
            writer.add(result.parts)
        return _tally(results)

    return elsewhere


# export -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportTask:
    """What an export task needs besides its inputs: where its part goes and its rows' shape."""

    directory: Path
    columns: dict[str, Any]  # column -> polars type
    filters: Filters


def export_task(number: int, task: dask.Task, options: Options, shape: ExportTask) -> TaskResult:
    """One task, on a worker: its inputs' export rows written as one Parquet part (a byte
    range of a file numbers its rows from 1: the client numbers them in the file)."""
    from logstat import formats
    from logstat.outputs.export import Writer, annotate

    chains = formats.vendor_chains(options.vendors)
    tally = StatusTally()
    name = f"task-{number:06d}.parquet"
    # written whole under the task's name: a task run again replaces its own part
    with (
        _read(task, options, None) as (runs, frames),
        Writer(shape.directory / name, "parquet", shape.columns, raw=True) as writer,
    ):
        for frame in frames:
            tally.add(frame)
            writer.write(shape.filters.apply(annotate(frame, chains, shape.columns)))
    part = {"path": name, "rows": writer.rows}
    return TaskResult([part], tally, [_outcome(run.file_id, run) for run in runs])


def refuse_stdout(target: Path) -> None:
    if str(target) == "-":
        raise LogstatError(
            "--cluster writes the parts beside the output file: not stdout (-o FILE)",
            ExitCode.USAGE,
        )


def export(
    address: str,
    runs: list[FileRun],
    options: Options,
    target: Path,
    columns: dict[str, Any],
    filters: Filters,
    write: Callable[[pl.DataFrame], None],
) -> tuple[StatusTally, list[tuple[str, str | None, frozenset[str]]]]:
    """The export rows read on the cluster, in the order of the inputs, handed to
    `write` (the client's Writer); the tally, and each input's name, format and the
    columns its parser gives (as detected where it was read)."""
    import polars as pl
    import pyarrow.parquet

    refuse_stdout(target)
    directory = target.absolute().parent / f".{target.name}{PARTS}{uuid.uuid4().hex[:12]}"
    shape = ExportTask(directory, columns, filters)
    try:
        directory.mkdir()
    except OSError as error:
        raise LogstatError(f"{directory}: cannot write: {error.strerror or error}") from error
    try:

        def submit(client: Any, number: int, task: dask.Task, preceding: object) -> Any:
            return client.submit(
                export_task, number, task, options, shape, retries=dask.RETRIES, pure=False
            )

        # each range read once, its rows numbered from 1: numbered in the file here
        results = _run(address, runs, options, submit, count_first=False)
        for result, offset in zip(results, line_offsets(results), strict=True):
            for part in result.parts:
                parquet = pyarrow.parquet.ParquetFile(directory / part["path"])
                for batch in parquet.iter_batches():
                    frame = pl.from_arrow(batch)
                    assert isinstance(frame, pl.DataFrame)
                    if offset and "line_no" in frame.columns:
                        frame = frame.with_columns(pl.col("line_no") + offset)
                    write(frame)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    live = [run for run in runs if not run.vanished]
    read_as = {  # a file read in byte ranges: as its first range read it
        outcome.index: (
            live[outcome.index].source.name,
            outcome.format_name,
            outcome.parser_columns,
        )
        for result in reversed(results)
        for outcome in result.outcomes
    }
    return _tally(results), [read_as[index] for index in sorted(read_as)]
