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
problems, where a resumed file ended).  Each byte range of a large file is read once,
its rows numbered from 1 in the range: export adds the lines of the file's ranges
before it when the client writes the output; ingest holds a range's rows on the
worker that read them until those lines are known, then writes them (`read_range`,
`write_range`), and reads a file's range only once the range RANGES_HELD before it is
written, so a slow or retried range holds back a bounded number of others.  Dask
runs a task whose worker died again; only the parts a finished task returned are
committed (the ingest commit lists them, the rest of the run's parts are removed
first; the export is written from them, in task order), so a task killed half-way,
or run twice, neither loses nor repeats a row.
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
# ingest: a file's ranges read and not yet written, at most (or twice the cluster's
# threads, when more): a slow or retried range keeps the rest from piling up after it
RANGES_HELD = 16


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
    task: dask.Task, options: Options
) -> Iterator[tuple[list[FileRun], Iterator[pl.DataFrame]]]:
    """On a worker: the task's runs (resumed where the client planned) and their frames
    (a byte range of a file, unless it starts the file's reading, numbers its lines
    from 1: they are numbered in the file once the ranges before it are counted)."""
    from logstat.reading import pipeline

    with dask.planned(task, options) as runs:
        frames = (frame for _, frame in pipeline.read(runs, options, None, None))
        yield runs, frames


def _parts(runs: list[FileRun]) -> tuple[list[FileRun], list[dask.Part]]:
    """The runs still to read (those known gone stay as they are) as a summary's parts
    (dask.planned_parts: a large plain file, or its new part, in byte ranges), with what
    planning said."""
    live = [run for run in runs if not run.vanished]
    return live, dask.planned_parts([(run.source, run.resume, run.problems) for run in live])


def _run(
    address: str,
    runs: list[FileRun],
    options: Options,
    submit: Callable[[Any, int, dask.Task], Any],
) -> list[TaskResult]:
    """Every task submitted (retried when its worker dies), the runs brought up to what
    the tasks found; the results in task order (`read_through`)."""
    live, parts = _parts(runs)
    if not parts:
        return []
    with dask.connect(address) as client:
        groups = dask.tasks(parts, dask.slots(client))
        futures = [submit(client, number, task) for number, task in enumerate(groups)]
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
    number: int, task: dask.Task, options: Options, parts: Parts, prefix: str
) -> TaskResult:
    """One task, on a worker: its inputs' rows written as dataset parts named by the task."""
    from logstat.outputs.ingest import RowMaker

    tally = StatusTally()
    with _read(task, options) as (runs, frames):
        rows = RowMaker(options)

        def made() -> Iterator[pl.DataFrame]:
            for frame in frames:
                tally.add(frame)
                yield rows.make(frame)

        written = _write_parts(parts, f"{prefix}-t{number:06d}", made())
        return TaskResult(written, tally, [_outcome(run.file_id, run) for run in runs])


def _write_parts(parts: Parts, name: str, frames: Iterator[pl.DataFrame]) -> list[dict[str, Any]]:
    """`frames` written as dataset parts named `name`-...; none left if writing fails."""
    from logstat.outputs.dataset import PartitionedParts

    writer = PartitionedParts(parts, name)
    try:
        for frame in frames:
            writer.write(frame)
        return writer.close()
    except BaseException:
        parts.remove(writer.discard())
        raise


@dataclass
class HeldRows:
    """A byte range's dataset rows, numbered from 1 in the range (unless it starts its
    file's reading), held on the worker that read them until the lines of the file's
    ranges before it are known (`write_range`)."""

    frames: list[pl.DataFrame]
    tally: StatusTally
    report: InputReport


def read_range(task: dask.Task, options: Options, after: Any = None) -> HeldRows:
    """On a worker: the rows of a task of one byte range, read once and not written yet.
    `after`: the write this read waits for (Dask runs it first), so that a file holds at
    most RANGES_HELD ranges' rows while a range before them is slow or read again."""
    from logstat.outputs.ingest import RowMaker

    tally = StatusTally()
    rows = RowMaker(options)
    with _read(task, options) as (runs, frames):
        made = []
        for frame in frames:
            tally.add(frame)
            made.append(rows.make(frame))
        [run] = runs  # a byte range is a task of its own
        return HeldRows(made, tally, _outcome(run.file_id, run))


def held_lines(held: HeldRows) -> int:
    """The lines a range held (where the file's later ranges number theirs from)."""
    return held.report.counts.lines


def write_range(
    number: int, held: HeldRows, parts: Parts, prefix: str, preceding: list[int]
) -> TaskResult:
    """On a worker (where `held` was read): the range's rows, numbered in their file after
    the `preceding` lines of the file's ranges before it, written as the task's parts."""
    import polars as pl

    from logstat.engines.ranges import ByteRange

    byte_range = held.report.resume
    assert isinstance(byte_range, ByteRange)
    offset = 0
    if byte_range.start != byte_range.first:  # numbered from 1: after the lines before it
        offset = (byte_range.resume.lines if byte_range.resume else 0) + sum(preceding)
    frames = (
        frame.with_columns(pl.col("line_no") + offset) if offset else frame for frame in held.frames
    )
    written = _write_parts(parts, f"{prefix}-t{number:06d}", frames)
    return TaskResult(written, held.tally, [held.report])


def ingest_elsewhere(
    address: str, options: Options
) -> Callable[[list[FileRun], DatasetLedger, DatasetWriter], StatusTally]:
    """For outputs.ingest.Ingest.write: the runs read, and their parts written, by the
    cluster's workers where this run's parts go."""
    from logstat.engines.ranges import ByteRange

    def elsewhere(runs: list[FileRun], ledger: DatasetLedger, writer: DatasetWriter) -> StatusTally:
        parts, prefix = ledger.parts(), ledger.part_prefix()
        writer.others_write = True
        counted: dict[int, list[Any]] = {}  # file_id -> its ranges' lines so far (futures)
        written_of: dict[int, list[Any]] = {}  # file_id -> its ranges' writes so far
        ranges_held = 0  # known once connected

        def submit(client: Any, number: int, task: dask.Task) -> Any:
            nonlocal ranges_held
            [part, *_] = task.parts
            if not isinstance(part.resume, ByteRange):
                return client.submit(
                    ingest_task, number, task, options, parts, prefix,
                    retries=dask.RETRIES, pure=False,
                )  # fmt: skip
            # read now, written once the ranges before it are counted; the rows stay on
            # the worker (no reference here: dropped once written, read again if lost)
            ranges_held = ranges_held or max(RANGES_HELD, 2 * dask.slots(client))
            before = counted.setdefault(part.file_id, [])
            writes = written_of.setdefault(part.file_id, [])
            after = writes[-ranges_held] if len(writes) >= ranges_held else None
            held = client.submit(read_range, task, options, after, retries=dask.RETRIES, pure=False)
            written = client.submit(
                write_range, number, held, parts, prefix, list(before),
                retries=dask.RETRIES, pure=False,
            )  # fmt: skip
            before.append(client.submit(held_lines, held, retries=dask.RETRIES, pure=False))
            writes.append(written)
            return written

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
        _read(task, options) as (runs, frames),
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

        def submit(client: Any, number: int, task: dask.Task) -> Any:
            return client.submit(
                export_task, number, task, options, shape, retries=dask.RETRIES, pure=False
            )

        # each range read once, its rows numbered from 1: numbered in the file here
        results = _run(address, runs, options, submit)
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
