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
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from logstat.errors import ExitCode, LogstatError

if TYPE_CHECKING:
    from logstat.reading.runs import Options
    from logstat.reading.sources import Source
    from logstat.summary import PartialSummary, ReportSettings

ENVIRONMENT = "LOGSTAT_CLUSTER"
LOCAL = "local:"
TASK_FILES = 64  # inputs a task reads: many small objects must not cost a task each
TASK_BYTES = 256 << 20  # ... nor one task hold a day of a busy site
RETRIES = 3  # a task whose worker died runs again on another


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
        # one polars thread a worker: the workers are the parallelism
        with (
            _environment("POLARS_MAX_THREADS", "1"),
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
class Task:
    """Inputs for one task, each with its number in the whole run, and the files whose
    detection they share (named like them, and first of their name earlier in the run):
    detected again there, not read, so each input is read as a run of every file would."""

    inputs: list[tuple[int, Source]]
    heads: list[Source]


def tasks(sources: Sequence[Source]) -> list[Task]:
    """The inputs cut into tasks, each a few files (or objects) of a bounded size, in order."""
    from logstat.reading.detection import kinship

    groups: list[list[tuple[int, Source]]] = []
    group: list[tuple[int, Source]] = []
    size = 0
    for file_id, source in enumerate(sources):
        if source.once:
            raise LogstatError(
                f"--cluster reads files and objects, not {source.name}: workers cannot "
                "read this process's stdin or pipes",
                ExitCode.USAGE,
            )
        if group and (len(group) >= TASK_FILES or size >= TASK_BYTES):
            groups.append(group)
            group, size = [], 0
        group.append((file_id, source))
        size += source.size or 0
    if group:
        groups.append(group)
    first_of_kin: dict[tuple[str, str], Source] = {}
    cut = []
    for group in groups:
        heads: dict[tuple[str, str], Source] = {}
        for _, source in group:
            kin = kinship(source)
            if kin is None or kin in heads:
                continue
            if kin in first_of_kin:  # first named so in an earlier task
                heads[kin] = first_of_kin[kin]
            else:
                first_of_kin[kin] = source
                heads[kin] = source  # marks the name as seen in this task; dropped below
        earlier = [head for head in heads.values() if all(head is not s for _, s in group)]
        cut.append(Task(group, earlier))
    return cut


def count(task: Task, settings: ReportSettings, options: Options) -> PartialSummary:
    """One task, on a worker: read its inputs into a partial summary.

    Formats are detected here as a run of every file detects them: a file named like
    one earlier in the run shares its detection (confirmed by its own lines), so that
    earlier file is detected here first; each file keeps its number in the whole run,
    so the files' rows merge on the client."""
    from logstat.reading import pipeline
    from logstat.summary import PartialSummary

    sources = [source for _, source in task.inputs]
    stores = {id(source.store): source.store for source in sources if source.store}
    for store in stores.values():  # fetch this task's objects ahead of its reader
        store.add([s.remote for s in sources if s.store is store and s.remote is not None])
    try:
        planned = pipeline.plan([*task.heads, *sources], options)
        runs = planned[len(task.heads) :]
        for run, (file_id, _) in zip(runs, task.inputs, strict=True):
            run.file_id = file_id
        partial = PartialSummary(settings)
        for _, frame in pipeline.read(runs, options, settings.needed(), None):
            partial.add(frame)
        partial.add_files(runs)
        return partial
    finally:
        for store in stores.values():
            store.close()


def merge(one: PartialSummary, other: PartialSummary) -> PartialSummary:
    return one.merge(other)


def summarize(
    client: Any, sources: Sequence[Source], settings: ReportSettings, options: Options
) -> PartialSummary:
    """The partial summary of every input, counted on the cluster and merged there in a
    tree (no worker or client holds more than two partials at once to merge them)."""
    from logstat.summary import PartialSummary

    groups = tasks(sources)
    if not groups:
        return PartialSummary(settings)
    pending = [
        client.submit(count, task, settings, options, retries=RETRIES, pure=False)
        for task in groups
    ]
    while len(pending) > 1:
        paired = [
            client.submit(merge, pending[index], pending[index + 1], retries=RETRIES, pure=False)
            for index in range(0, len(pending) - 1, 2)
        ]
        if len(pending) % 2:
            paired.append(pending[-1])
        pending = paired
    try:
        result: PartialSummary = pending[0].result()
    except LogstatError:
        raise
    except Exception as error:  # a task failed on every retry, or the cluster went away
        raise LogstatError(
            f"the cluster could not finish: {type(error).__name__}: {error}"
        ) from error
    return result
