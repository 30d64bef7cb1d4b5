"""A Dask cluster as the engine: each task reads some inputs into a partial summary,
and the partial summaries merge, in a tree on the cluster, into the answer, exactly
as the chunks of one file do on one machine (summary/partial.py).

`--cluster tcp://scheduler:8786` uses a running cluster: every worker needs
`pip install 'logstat[dask]'` and must reach the inputs (object URLs, or paths every
worker can read). `--cluster local:N` starts N worker processes on this machine,
which is also how many small files use every core.
"""

from __future__ import annotations

import contextlib
import copy
import os
import pickle
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, Self, TypeVar

import polars as pl

from logstat import schema
from logstat.errors import ExitCode, LogstatError

if TYPE_CHECKING:
    from logstat.engines.ranges import ByteRange
    from logstat.formats import Choice
    from logstat.reading.runs import FileRun, Options, Resumed
    from logstat.reading.sources import Source
    from logstat.reading.state import Reads, Resume
    from logstat.summary import PartialSummary, ReportSettings
    from logstat.summary.file_rows import FileRow

ENVIRONMENT = "LOGSTAT_CLUSTER"
LOCAL = "local:"
TASK_FILES = 1024  # inputs a task reads at most: many small objects must not cost a task each
TASK_BYTES = 256 << 20  # ... nor one task hold a day of a busy site
TASKS_A_SLOT = 4  # with fewer inputs, smaller tasks: each worker thread gets about this many
RETRIES = 3  # a task whose worker died runs again on another
RANGE_BYTES = 64 << 20  # a plain file larger than this is cut into byte ranges (ranges.py)
# local:N's nannies and workers read each worker's memory (psutil) every 0.1 s and every
# process's system figures (for Dask's dashboard) every 0.5 s: a second of this
# process's CPU a minute, on the cores the workers count on; a worker's memory is
# still watched (and it is restarted near its limit), each second
LOCAL_MONITORS = {
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
    # Dask starts workers with MALLOC_TRIM_THRESHOLD_ set, which keeps glibc's threshold
    # for mapping a block of its own at 128 KiB: every larger buffer (a file's
    # decompressed text, a frame's column) was mapped, faulted in page by page and
    # unmapped again, file after file; the system time of 100,000 small files was
    # 2.5x that of a run without a cluster.  Unset: glibc adapts its threshold.
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
}


def cluster_address(option: str | None) -> str | None:
    """--cluster, else $LOGSTAT_CLUSTER; None: run here."""
    return option or os.environ.get(ENVIRONMENT) or None


@contextlib.contextmanager
def connect(address: str) -> Iterator[Any]:
    """A dask.distributed Client of the cluster at `address`, or of a LocalCluster of N
    worker processes for `local:N`; closed (and the local cluster stopped) at the end."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as error:
        raise LogstatError(
            "--cluster needs logstat's dask extra: pip install 'logstat[dask]'", ExitCode.USAGE
        ) from error
    if address.startswith(LOCAL):
        count = address[len(LOCAL) :]
        if not count.isdigit() or int(count) < 1:
            raise LogstatError(f"--cluster {address}: local:N needs N >= 1", ExitCode.USAGE)
        import dask

        # one polars thread a worker: the workers are the parallelism
        with (
            _environment("POLARS_MAX_THREADS", "1"),
            dask.config.set(LOCAL_MONITORS),
            LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=int(count),
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",  # no fixed port: several runs at once
                silence_logs=50,
            ) as cluster,
            Client(cluster) as client,  # type: ignore[no-untyped-call]
        ):
            yield client
        return
    try:
        client = Client(address, timeout="20s")  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError) as error:
        raise LogstatError(f"--cluster {address}: cannot connect: {error}") from error
    with client:
        yield client


class Connection:
    """A cluster connected to in a thread (`connecting`)."""

    def __init__(self, ready: Any, done: Any) -> None:
        self._ready = ready
        self._done = done

    def client(self) -> Any:
        """The client, once connected (a failure to connect is raised here)."""
        return self._ready.result()

    def release(self) -> None:
        """Done with the cluster: the thread closes it (stops `local:N`'s workers, which
        takes a moment of waiting) while the caller goes on making the report."""
        self._done.set()


@contextlib.contextmanager
def connecting(address: str) -> Iterator[Connection]:
    """`connect` in a thread, while the caller plans the run (lists and cuts the inputs):
    starting `local:N`'s worker processes takes a second or two of waiting, which the
    planning need not add to; closing them, another moment, which making the report
    need not add to (`Connection.release`).  The cluster is closed by the thread that
    connected (a Client is left in the context it was entered in), by the end."""
    import concurrent.futures
    import threading

    ready: concurrent.futures.Future[Any] = concurrent.futures.Future()
    done = threading.Event()

    def hold() -> None:
        try:
            with connect(address) as client:
                ready.set_result(client)
                done.wait()
        except BaseException as error:
            if not ready.done():
                ready.set_exception(error)

    holder = threading.Thread(target=hold, name="logstat-cluster")
    holder.start()
    try:
        yield Connection(ready, done)
    finally:
        done.set()
        holder.join()


@contextlib.contextmanager
def _environment(name: str, value: str) -> Iterator[None]:
    """`name` set for the worker processes started meanwhile (unless the user set it)."""
    if name in os.environ:
        yield
        return
    os.environ[name] = value
    try:
        yield
    finally:
        os.environ.pop(name, None)


@dataclass(frozen=True)
class Part:
    """One input of a task: a file or object with its number in the whole run, and how to
    read it: whole, from where --state left it (state.Resume), or one byte range of a
    large plain file (ranges.ByteRange); `problems`: what the client found to say of it."""

    file_id: int
    source: Source
    resume: Resumed | None = None
    problems: tuple[str, ...] = ()
    size: int | None = None  # bytes when planned (stat once: 100,000s of files)


def parts_of(sources: Sequence[Source]) -> list[Part]:
    """Every input as a part, a large plain file as several (one a byte range)."""
    return planned_parts([(source, None, ()) for source in sources])


def state_parts(reads: Reads) -> list[Part]:
    """What --state chose to read, as parts: each file from where the last run stopped,
    the new part of a large plain file cut into byte ranges as a fresh file is."""
    return planned_parts([(read.source, read.resume, read.problems) for read in reads.files])


def planned_parts(inputs: Sequence[tuple[Source, Resumed | None, Sequence[str]]]) -> list[Part]:
    """The inputs (each how to read it: whole, or from where --state or a dataset's record
    left it; what planning found to say of it) as parts, numbered in order: a large plain
    file, or what it grew by since it was read, cut into byte ranges (ranges.py).  The
    one plan of summary, export and ingest on a cluster."""
    from logstat.engines import ranges
    from logstat.reading.state import Resume

    parts = []
    for file_id, (source, resume, problems) in enumerate(inputs):
        if source.once:
            raise LogstatError(
                f"--cluster reads files and objects, not {source.name}: workers cannot "
                "read this process's stdin or pipes",
                ExitCode.USAGE,
            )
        size = source.size
        if resume is None:
            cut = ranges.cut(source, RANGE_BYTES, size)  # read here: tests make it small
        elif isinstance(resume, Resume):
            cut = ranges.cut_resumed(resume, RANGE_BYTES)
        else:
            cut = None
        if cut is None:
            parts.append(Part(file_id, source, resume, tuple(problems), size))
        else:  # the file's problems are said once, by its first range
            parts += [
                Part(file_id, source, byte_range, tuple(problems) if index == 0 else (), size)
                for index, byte_range in enumerate(cut)
            ]
    return parts


class Task:
    """Parts for one task, and the files whose detection they share (named like them, and
    first of their name earlier in the run): detected again there, not read, so each
    input is read as a run of every file would.

    A task pickles its parts and heads as one bytes value, opened where they are used:
    the scheduler unpickles every task's arguments when the graph arrives, in one
    process for the whole run, and the parts of 100,000 files cost it seconds there (a
    tenth of the client's CPU), where each worker opens only its own tasks'."""

    def __init__(self, parts: list[Part], heads: list[Source], run: str = "") -> None:
        self._contents: tuple[list[Part], list[Source]] | None = (parts, heads)
        self._sealed: bytes | None = None
        self.run = run  # which run of the client: a worker detects each head once per run

    @property
    def parts(self) -> list[Part]:
        return self._opened()[0]

    @property
    def heads(self) -> list[Source]:
        return self._opened()[1]

    def _opened(self) -> tuple[list[Part], list[Source]]:
        if self._contents is None:
            assert self._sealed is not None
            listed, heads = pickle.loads(self._sealed)
            self._contents = ([_unpacked(part) for part in listed], heads)
        return self._contents

    def __reduce__(self) -> tuple[Any, ...]:
        if self._sealed is None:
            assert self._contents is not None
            parts, heads = self._contents
            packed = [_packed(part) for part in parts]
            self._sealed = pickle.dumps((packed, heads), pickle.HIGHEST_PROTOCOL)
        return (_sealed_task, (self._sealed, self.run))


def _packed(part: Part) -> Part | tuple[int, str, bool, tuple[str, ...], int | None]:
    """A file read whole as a tuple (plain values pickle several times faster than a
    Part holding a Source holding a Path), anything else as it is."""
    source = part.source
    path = source.path
    if (
        part.resume is None
        and source.remote is None
        and path is not None
        and str(path) == source.name
    ):
        return (part.file_id, source.name, source.regular, part.problems, part.size)
    return part


def _unpacked(packed: Part | tuple[int, str, bool, tuple[str, ...], int | None]) -> Part:
    from pathlib import Path

    from logstat.reading.sources import Source

    if isinstance(packed, Part):
        return packed
    file_id, name, regular, problems, size = packed
    return Part(file_id, Source(name, Path(name), regular), None, problems, size)


def _sealed_task(sealed: bytes, run: str) -> Task:
    """A task as unpickled: its parts stay pickled until they are used."""
    task = Task.__new__(Task)
    task._contents, task._sealed, task.run = None, sealed, run
    return task


def slots(client: Any) -> int:
    """How many tasks the cluster runs at once (its workers' threads)."""
    threads: dict[str, int] = client.nthreads()
    return max(1, sum(threads.values()))


def tasks(parts: Sequence[Part], slots: int = 1) -> list[Task]:
    """The parts cut into tasks, in order, each some files (or objects) of a bounded size:
    up to TASK_FILES, fewer when `slots` tasks at once (the cluster's) would not get
    TASKS_A_SLOT each, so that every worker has its share (a task has a cost of its own,
    about 15 ms of CPU: with 64 small objects a task it was a quarter of the counting);
    a byte range is a task of its own."""
    import uuid

    from logstat.engines.ranges import ByteRange
    from logstat.reading.detection import kinships

    whole = sum(1 for part in parts if not isinstance(part.resume, ByteRange))
    limit = max(1, min(TASK_FILES, -(-whole // (TASKS_A_SLOT * slots))))
    groups: list[list[Part]] = []
    group: list[Part] = []
    size = 0
    for part in parts:
        ranged = isinstance(part.resume, ByteRange)
        if group and (ranged or len(group) >= limit or size >= TASK_BYTES):
            groups.append(group)
            group, size = [], 0
        group.append(part)
        size += part.size or 0
        if ranged:
            groups.append(group)
            group, size = [], 0
    if group:
        groups.append(group)
    first_of_kin: dict[tuple[str, str], Source] = {}
    cut = []
    run = uuid.uuid4().hex
    kins = iter(kinships([part.source for part in parts]))
    for group in groups:
        heads: dict[tuple[str, str], Source] = {}
        for part in group:
            kin = next(kins)
            if kin is None or kin in heads:
                continue
            if kin in first_of_kin:  # first named so in an earlier task
                heads[kin] = first_of_kin[kin]
            else:
                first_of_kin[kin] = part.source
                heads[kin] = part.source  # marks the name as seen in this task; dropped below
        earlier = [head for head in heads.values() if all(head is not p.source for p in group)]
        cut.append(Task(group, earlier, run))
    return cut


@dataclass
class Outcome:
    """What tasks found, merged: the partial summary, and what the client needs to write
    the rejects and the state once every task is in."""

    partial: PartialSummary
    # the rows of the files read whole, apart from `partial`: they go to the client once,
    # not copied up the merge tree at each level (`fold_apart`); counted in by `settled`
    rows: list[FileRow] = field(default_factory=list)
    # file_id -> (end offset, lines, compression) of a file resumed under --state; the
    # offset is None when the file was not read to its end
    ends: dict[int, tuple[int | None, int, str | None]] = field(default_factory=dict)
    vanished: set[int] = field(default_factory=set)  # file_ids gone before they were read
    lines: dict[tuple[int, int], int] = field(default_factory=dict)  # (file_id, range start)
    # (file_id, range start) -> (stop, whole) of a range of a resumed file (ranges.ByteRange)
    stops: dict[tuple[int, int], tuple[int | None, bool]] = field(default_factory=dict)
    bases: dict[int, int] = field(default_factory=dict)  # file_id -> lines read before
    rejects: list[pl.DataFrame] = field(default_factory=list)  # with --rejects
    # Files read in byte ranges: a range that stops short (a read problem, the file
    # replaced) ends its file's reading for this run, as reading it in one piece does,
    # and the state stops there (ranges.resumed_end): the ranges after it are not
    # counted, or the next run would count their lines again.  Outcomes merge in task
    # order, a file's ranges in consecutive tasks, so each outcome knows:
    anchored: set[int] = field(default_factory=set)  # files whose first range is in it
    stopped: set[int] = field(default_factory=set)  # ... whose reading stopped short in it
    # file_id -> the counts (and rejected lines) of a file's ranges whose earlier ranges
    # are in an earlier outcome: counted once that one is merged, if none stopped short
    loose: dict[int, Outcome] = field(default_factory=dict)

    def merge(self, other: Outcome) -> Outcome:
        """Add `other`, the outcome of the tasks right after this one's."""
        self._add_counts(other)
        self.rows += other.rows
        for file_id, loose in other.loose.items():
            if file_id in self.stopped:
                continue  # after a range that stopped short: read by the next run
            if file_id in self.anchored:
                self._add_counts(loose)
            elif file_id in self.loose:
                self.loose[file_id]._add_counts(loose)
            else:
                self.loose[file_id] = loose
        self.anchored |= other.anchored
        self.stopped |= other.stopped
        self.ends.update(other.ends)
        self.vanished |= other.vanished
        self.lines.update(other.lines)
        self.stops.update(other.stops)
        self.bases.update(other.bases)
        return self

    def _add_counts(self, other: Outcome) -> None:
        self.partial.merge(other.partial)
        if other.rejects:
            self.rejects = [pl.concat([*self.rejects, *other.rejects], how="vertical_relaxed")]

    def read_range(self, file_id: int, byte_range: ByteRange) -> None:
        """This outcome (of one task) is of `byte_range` of the file, as read."""
        if byte_range.stop is None or not byte_range.whole:
            self.stopped.add(file_id)
        if byte_range.start == byte_range.first:
            self.anchored.add(file_id)
        else:  # counted once the ranges before it are known to have read all their lines
            from logstat.summary import PartialSummary

            self.loose[file_id] = Outcome(self.partial, rejects=self.rejects)
            self.partial, self.rejects = PartialSummary(self.partial.settings), []

    def settled(self) -> Outcome:
        """Every task merged: the counts of ranges whose first range was not among the
        tasks (none, when every part was read) counted in as they are."""
        for loose in self.loose.values():
            self._add_counts(loose)
        self.loose = {}
        self.partial.take_files(self.rows)
        self.rows = []
        return self

    def rejected_lines(self) -> pl.DataFrame | None:
        """The rejected lines in the order of the inputs and their lines, each numbered in
        its file (a range's lines are numbered from 1 in the task that read them)."""
        from logstat.engines.ranges import first_lines

        if not self.rejects:
            return None
        frame = pl.concat(self.rejects, how="vertical_relaxed")
        starts = first_lines(self.lines, self.bases)
        if starts:
            firsts = pl.DataFrame(
                {
                    schema.FILE_ID: [key[0] for key in starts],
                    RANGE_START: [key[1] for key in starts],
                    "_first": [value - 1 for value in starts.values()],
                },
                schema={schema.FILE_ID: pl.UInt32, RANGE_START: pl.UInt64, "_first": pl.UInt64},
            )
            frame = frame.join(firsts, on=[schema.FILE_ID, RANGE_START], how="left")
            frame = frame.with_columns(
                (pl.col("line_no") + pl.col("_first").fill_null(0)).alias("line_no")
            ).drop("_first")
        return frame.sort([schema.FILE_ID, "line_no"], maintain_order=True)

    def runs(self, parts: Sequence[Part]) -> list[FileRun]:
        """The files read, as runs for the state to commit: each resumed file where its
        task stopped, each object read unless it was gone."""
        from dataclasses import replace

        from logstat.engines.ranges import ByteRange, resumed_end
        from logstat.reading.runs import FileRun
        from logstat.reading.state import Resume

        # the ranges of each resumed file, in order, as their tasks read them
        ranged: dict[int, list[tuple[ByteRange, int]]] = {}
        for part in parts:
            byte_range = part.resume
            if isinstance(byte_range, ByteRange) and byte_range.resume is not None:
                stop, whole = self.stops[part.file_id, byte_range.start]
                read = replace(byte_range, stop=stop, whole=whole)
                lines = self.lines[part.file_id, byte_range.start]
                ranged.setdefault(part.file_id, []).append((read, lines))
        runs: dict[int, FileRun] = {}
        for part in parts:
            if part.file_id in runs:
                continue
            resume = part.resume if isinstance(part.resume, Resume) else None
            if resume is not None and part.file_id in self.ends:
                resume.end_offset, resume.end_lines, resume.compression = self.ends[part.file_id]
            if part.file_id in ranged:
                resume = ranged[part.file_id][0][0].resume  # the file's, shared by its ranges
                assert resume is not None
                resume.end_offset, resume.end_lines = resumed_end(ranged[part.file_id])
            vanished = part.file_id in self.vanished
            runs[part.file_id] = FileRun(
                part.file_id, part.source, None, resume=resume, vanished=vanished
            )
        return list(runs.values())


RANGE_START = "_range_start"  # which range of its file a rejected line was read in


@contextlib.contextmanager
def planned(
    task: Task, options: Options, needed: set[str] | None = None
) -> Iterator[list[FileRun]]:
    """On a worker: the task's parts planned, each with its number in the whole run, what
    the client found to say of it, and how to read it (whole, resumed, a byte range).

    Formats are detected here as a run of every file detects them: a file named like
    one earlier in the run shares its detection (confirmed by its own lines), so that
    earlier file is detected here first."""
    from logstat.engines.ranges import ByteRange
    from logstat.reading import detection

    sources = [part.source for part in task.parts]
    stores = {id(source.store): source.store for source in sources if source.store}
    for store in stores.values():  # fetch this task's objects ahead of its reader
        store.add([s.remote for s in sources if s.store is store and s.remote is not None])
    try:
        runs = detection.plan(sources, options, _lent_by_heads(task, options))
        for run, part in zip(runs, task.parts, strict=True):
            run.file_id = part.file_id
            run.problems.extend(part.problems)
            if isinstance(part.resume, ByteRange) and run.tentative:
                # the file's first chunk (of its new part, under --state) confirms the guess
                _settle(run, options, needed, part.resume.resume)
            run.resume = part.resume
        yield runs
    finally:
        for store in stores.values():
            store.close()


def count(task: Task, settings: ReportSettings, options: Options, rejects: bool) -> Outcome:
    """One task, on a worker: read its parts into a partial summary (each file keeps its
    number in the whole run, so the files' rows merge on the client)."""
    from logstat.engines.ranges import ByteRange
    from logstat.reading import pipeline
    from logstat.reading.state import Resume
    from logstat.summary import PartialSummary

    with planned(task, options, settings.needed()) as runs:
        start = before = 0
        for part in task.parts:
            if isinstance(part.resume, ByteRange):
                start, before = part.resume.start, part.resume.lines_before
        outcome = Outcome(PartialSummary(settings))
        for _, frame in pipeline.read(runs, options, settings.needed(), None):
            outcome.partial.add(frame)
            if rejects:
                outcome.rejects.append(_rejected(frame, start, before))
        outcome.rows = rows_apart(runs, outcome.partial)
        [first, *_] = runs
        for run, part in zip(runs, task.parts, strict=True):
            if run.vanished:
                outcome.vanished.add(run.file_id)
            if isinstance(run.resume, Resume):
                resume = run.resume
                outcome.ends[run.file_id] = (
                    resume.end_offset,
                    resume.end_lines,
                    resume.compression,
                )
            if isinstance(part.resume, ByteRange):
                outcome.lines[run.file_id, part.resume.start] = run.counts.lines
                byte_range = run.resume
                assert isinstance(byte_range, ByteRange)  # as read: where it stopped
                if byte_range.resume is not None:
                    key = (run.file_id, byte_range.start)
                    outcome.stops[key] = (byte_range.stop, byte_range.whole)
                    outcome.bases[run.file_id] = byte_range.resume.lines
        if len(outcome.rejects) > 1:
            outcome.rejects = [pl.concat(outcome.rejects, how="vertical_relaxed")]
        if isinstance(first.resume, ByteRange):  # a byte range is a task of its own
            outcome.read_range(first.file_id, first.resume)
        return outcome


# A worker's detections of the files whose format later tasks' files share, by run and
# name: each is read and detected once per worker and run, not once per task.
_HEADS: OrderedDict[tuple[str, str], tuple[tuple[str, str], Choice] | None] = OrderedDict()
HEADS_KEPT = 4096


def _lent_by_heads(task: Task, options: Options) -> dict[tuple[str, str], Choice]:
    """What the task's heads lend to its files (detection.lent), detected here once."""
    from logstat.reading import detection

    lent = {}
    for head in task.heads:
        key = (task.run, head.name)
        if key in _HEADS:
            found = _HEADS[key]
        else:
            [run] = detection.plan([head], options)
            found = _HEADS[key] = detection.lent(run)
            while len(_HEADS) > HEADS_KEPT:
                _HEADS.popitem(last=False)
        if found is not None:
            lent[found[0]] = found[1]
    return lent


def _rejected(frame: pl.DataFrame, start: int, before: int) -> pl.DataFrame:
    """The frame's rejected lines, with the range they were read in and their numbers in
    it (a range numbered in its file, `before` lines in, counts from 1 too)."""
    from logstat.outputs.rejects import COLUMNS

    return (
        frame.filter(pl.col(schema.LINE_KIND) == schema.REJECTED)
        .select(schema.FILE_ID, *COLUMNS, schema.LINE_KIND)
        .with_columns(
            pl.lit(start, dtype=pl.UInt64).alias(RANGE_START),
            (pl.col("line_no") - before).alias("line_no"),
        )
    )


def _settle(run: FileRun, options: Options, needed: set[str] | None, resume: Resume | None) -> None:
    """Confirm a guessed format (taken from a file named alike) on the file's first chunk,
    as a run of the whole file does (under --state, of its new part: `resume`, copied),
    before reading one of its ranges."""
    from dataclasses import replace

    from logstat.reading import pipeline
    from logstat.reading.batching import chunks_of
    from logstat.reading.lines import split_lines
    from logstat.reading.runs import FileRun

    probe = FileRun(run.file_id, run.source, run.choice, tentative=True)  # counts apart
    probe.resume = replace(resume) if resume is not None else None
    first = next(chunks_of(probe, options.chunk_bytes), None)
    if first is not None:
        pipeline.confirm_guess(probe, split_lines(first[0]), options, needed)
        run.choice, run.blank = probe.choice, probe.blank
    run.tentative = False


def rows_apart(runs: list[FileRun], partial: PartialSummary) -> list[FileRow]:
    """On a worker, a task's files read: the rows of those read whole, to go to the client
    apart from the merge tree (`fold_apart`); a byte range's row is counted into the
    task's `partial` instead, to merge there with its file's other ranges (and, under
    --state, to be left out with them after a range that stopped short)."""
    from logstat.engines.ranges import ByteRange
    from logstat.summary.file_rows import file_rows

    [first, *_] = runs  # a byte range is a task of its own
    if isinstance(first.resume, ByteRange):
        partial.add_files(runs)
        return []
    return file_rows(runs)


class Apart(Protocol):
    """A task's result (a summary's Outcome, a page's counts) that holds the rows of the
    files it read whole apart from its counts (`rows_apart`), and merges with the result
    of the tasks after it."""

    rows: list[FileRow]

    def merge(self, other: Self) -> Self: ...


Merged = TypeVar("Merged", bound=Apart)


def merge(one: Merged, other: Merged) -> Merged:
    return one.merge(other)


def _counts(result: Merged) -> Merged:
    """On the worker that holds `result`: it without the rows of its files (`fold_apart`)."""
    counts = copy.copy(result)
    counts.rows = []
    return counts


def _rows(result: Apart) -> bytes:
    """The rows of `result`'s files, pickled here as one value: Dask sends a list item by
    item, a header each (gathering 100,000 rows cost the client 3.1-3.6 s of CPU and
    10-20 s of waiting, loaded, against 0.9-1.0 s and 2-2.6 s as bytes)."""
    return pickle.dumps(result.rows, pickle.HIGHEST_PROTOCOL)


def fold_apart(client: Any, counting: Iterable[Any]) -> tuple[Any, list[FileRow]]:
    """The results of the tasks `counting` submits (futures of `Apart` values, at least
    one), merged on the cluster in a tree (no worker or client holds more than two at
    once to merge them), in order, without the rows of their files: those (one a file:
    10,000s) come here apart, each once, where the tree would copy them at each of its
    levels.  The merged counts, and the rows in task order."""
    counted = list(counting)
    rows = client.map(_rows, counted, retries=RETRIES, pure=False)
    pending = client.map(_counts, counted, retries=RETRIES, pure=False)
    del counted  # dropped on the workers once split (`counting` holds none)
    merged, *found = finished([tree(client, pending, merge), *rows])
    return merged, [row for held in found for row in pickle.loads(held)]


def summarize(
    client: Any,
    parts: Sequence[Part],
    settings: ReportSettings,
    options: Options,
    rejects: bool = False,
) -> Outcome:
    """What every part holds, counted on the cluster and merged there in a tree
    (`fold_apart`); with `rejects`, the rejected lines come back too."""
    from logstat.summary import PartialSummary

    groups = tasks(parts, slots(client))
    if not groups:
        return Outcome(PartialSummary(settings))
    counting = (  # a graph a task: as one, 100,000 files' tasks are 16 MiB, which Dask warns of
        client.submit(count, task, settings, options, rejects, retries=RETRIES, pure=False)
        for task in groups
    )
    result: Outcome
    result, rows = fold_apart(client, counting)
    result.rows = rows
    return result.settled()


def tree(client: Any, pending: list[Any], join: Callable[[Any, Any], Any]) -> Any:
    """The future of the tasks' results joined two by two on the cluster, in order: each
    level sent as one graph (`client.map`), as `fold_apart` sends its splits; a graph of
    its own a task cost this process (and local:N's scheduler, which runs in it) twice
    the CPU: 0.6 s against 0.3 s for 400 small tasks."""
    while len(pending) > 1:
        paired = client.map(join, pending[0:-1:2], pending[1::2], retries=RETRIES, pure=False)
        if len(pending) % 2:
            paired.append(pending[-1])
        pending = paired
    return pending[0]


def finished(futures: list[Any]) -> list[Any]:
    """The results of `futures`, in order; a task that failed on every retry (or a
    cluster that went away) is a one-line error."""
    client = futures[0].client if futures else None
    try:
        return list(client.gather(futures)) if client is not None else []
    except LogstatError:
        raise
    except Exception as error:
        raise LogstatError(
            f"the cluster could not finish: {type(error).__name__}: {error}"
        ) from error
