"""`logstat ingest`: add the requests of log files to a dataset, each line once.

The dataset remembers what each file contributed (dataset_commits.py), in the
`--state` file's entry format, and a run plans from that: a file read before is
read on from where the dataset's last commit left it, however the run before
ended and whatever `--state` says.  With `append=True` the dataset's record is
not consulted and whole files are added again (or, with a state file, what the
state file says is new).  stdin and pipes cannot be recognised again, so their
lines are always appended.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import polars as pl

from logstat import formats, schema
from logstat.errors import ExitCode, LogstatError
from logstat.outputs import dataset
from logstat.outputs.dataset_commits import LEDGER, Ledger
from logstat.outputs.dataset_store import StoreLedger
from logstat.outputs.export import annotate
from logstat.read_health import StatusTally
from logstat.reading import pipeline
from logstat.reading.dataset import is_dataset, store_root
from logstat.reading.inputs import plan_files
from logstat.reading.object_state import SECTION as OBJECTS
from logstat.reading.object_state import ObjectLedger
from logstat.reading.runs import FileRun, Options, Progress
from logstat.reading.sources import Source
from logstat.reading.state import Entry, StateFile, resume_of


def _recognisable(source: Source) -> bool:
    """A regular file (found again by its identity and its first bytes) or an object
    (by its key: objects do not change)."""
    if source.remote is not None:
        return True
    if source.path is None:
        return False
    try:
        return stat.S_ISREG(os.stat(source.path).st_mode)
    except OSError:
        return True  # let the planner say what is wrong with it


class Ingest:
    """One ingest run: holds the dataset's lock (and the state file's) from enter to exit."""

    def __init__(
        self,
        root: Path | str,
        state_path: Path | None = None,
        append: bool = False,
        endpoint_url: str | None = None,
    ) -> None:
        """`root`: a directory, or a URL (s3://bucket/dataset/) of a dataset in a store."""
        self.root = root
        self.state_path = state_path
        self.append = append
        self.endpoint_url = endpoint_url
        self.rows = 0
        self.parts: list[Path | str] = []
        self.appended_unrecognisable = False  # stdin or a pipe: appended, not tracked
        self._ledger: Ledger | StoreLedger | None = None
        self._state: StateFile | None = None
        self._planner: StateFile | None = None
        self._recorded: list[dict[str, Any]] | None = None
        self._recorded_objects: Any = None  # the objects read, as the dataset records them

    def __enter__(self) -> Ingest:
        self._ledger = open_ledger(self.root, self.endpoint_url)
        try:
            if self.state_path is not None:
                self._state = StateFile.open(self.state_path)
        except BaseException:
            self._ledger.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._state is not None:
            self._state.close()
        if self._ledger is not None:
            self._ledger.close()

    def plan(self, logs: list[str], options: Options) -> list[FileRun]:
        assert self._ledger is not None
        if any(is_dataset(log, options.endpoint_url) for log in logs):
            raise LogstatError("ingest reads log files, not a dataset", ExitCode.USAGE)
        sources = options.expand(logs)
        unrecognisable = [source for source in sources if not _recognisable(source)]
        if unrecognisable and len(unrecognisable) != len(sources) and not self.append:
            raise LogstatError(
                f"{unrecognisable[0].name} cannot be recognised again, so its lines are "
                "appended on every run: ingest it on its own, or pass --append",
                ExitCode.USAGE,
            )
        self._recorded = self._ledger.files()
        self._recorded_objects = self._ledger.section(OBJECTS)
        if self.append or (unrecognisable and self._state is None):
            self.appended_unrecognisable = bool(unrecognisable) and not self.append
            self._planner = self._state  # --append: only what the state file says is new
        else:
            self._planner = self._state or StateFile(Path(LEDGER), [], None)  # never saved
            if self._recorded is not None:  # the dataset's record wins over the state file
                self._planner.entries = _entries(self._recorded, self.root)
            if self._recorded_objects is not None:
                self._planner.objects = ObjectLedger.load(self._recorded_objects)
        return plan_files(sources, options, self._planner)

    def write(
        self,
        runs: list[FileRun],
        options: Options,
        progress: Progress | None,
        elsewhere: Elsewhere | None = None,
    ) -> None:
        """Read the runs into the dataset and commit them (then save the state file).

        `elsewhere`: the runs are read and their parts written by others (the tasks of a
        cluster, engines/dask_outputs.py), which update the runs as reading them here would."""
        assert self._ledger is not None
        with dataset.DatasetWriter(Path(self.root), self._ledger) as writer:
            if elsewhere is not None:
                tally = elsewhere(runs, self._ledger, writer)
            else:
                tally = StatusTally()
                rows = RowMaker(options)
                for _, frame in pipeline.read(runs, options, None, progress):
                    tally.add(frame)
                    writer.write(rows.make(frame))
            # rows read with the wrong format would stay, and be taken as read: none go in
            in_doubt = tally.doubt(sum(run.counts.rejected for run in runs))
            if in_doubt:
                raise LogstatError(f"{in_doubt}; nothing was added", ExitCode.UNPARSED)
            entries = self._planner.next_entries(runs) if self._planner is not None else None
            read_objects = self._planner.next_objects(runs) if self._planner is not None else None
            tracked = entries is not None and not self.append
            files = [asdict(entry) for entry in entries] if tracked and entries else []
            record: dict[str, Any] = {"append": self.append, "ranges": _ranges(runs)}
            if tracked:
                record["files"] = files
                if read_objects is not None and (
                    read_objects.folders or self._recorded_objects is not None
                ):
                    record[OBJECTS] = read_objects.to_json()
            elif self._recorded is not None:
                record["files"] = self._recorded  # appended rows are not tracked
            unchanged = not tracked or (
                files == self._recorded and record.get(OBJECTS) == self._recorded_objects
            )
            writer.record = None if writer.rows == 0 and unchanged else record
        self.rows, self.parts = writer.rows, writer.parts
        if self._state is not None and entries is not None:
            # after the dataset: a failure here loses nothing
            self._state.save(entries, read_objects)


class RowMaker:
    """Parsed frames -> the rows a dataset stores: every canonical column (also those a
    format never fills), the status annotations and every duration part."""

    def __init__(self, options: Options) -> None:
        self.columns = schema.export_columns(schema.DURATION_PARTS)
        # every format: a file's format may change when it is read (pipeline._confirm)
        self.chains = formats.vendor_chains(options.vendors)

    def make(self, frame: pl.DataFrame) -> pl.DataFrame:
        complete = schema.conform(frame.lazy()).collect()
        return annotate(complete, self.chains, self.columns)


# reads the runs somewhere else, adds the parts written to the writer, gives the tally
Elsewhere = Callable[[list[FileRun], "Ledger | StoreLedger", dataset.DatasetWriter], StatusTally]


def open_ledger(root: Path | str, endpoint_url: str | None = None) -> Ledger | StoreLedger:
    """The commits of the dataset at `root` (a directory, or a URL of an object store),
    opened for one writing run."""
    store = store_root(str(root), endpoint_url)
    if store is None:
        return Ledger.open(Path(root))
    return StoreLedger.open(store.fs, store.path, store.url)


def _entries(recorded: list[dict[str, Any]], root: Path | str) -> list[Entry]:
    try:
        return [Entry.from_json(item) for item in recorded]
    except (TypeError, ValueError) as error:
        raise LogstatError(f"{root}: damaged dataset commit ({error})") from error


def _ranges(runs: list[FileRun]) -> list[dict[str, Any]]:
    """What each file added: its identity and the decompressed bytes and lines read."""
    ranges: list[dict[str, Any]] = []
    for run in runs:
        resume = resume_of(run)
        if resume is not None:
            if resume.end_offset is None:
                continue  # not read to its end: nothing of it counts
            entry = resume.entry()
            ranges.append(
                {
                    "path": entry.path,
                    "device": entry.device,
                    "inode": entry.inode,
                    "fingerprint": entry.fingerprint,
                    "fingerprint_bytes": entry.fingerprint_bytes,
                    "compression": entry.compression,
                    "start_offset": resume.offset,
                    "end_offset": resume.end_offset,
                    "start_line": resume.lines + 1,
                    "end_line": resume.end_lines,
                    "rows": run.counts.records,
                }
            )
            continue
        item: dict[str, Any] = {
            "path": run.source.name,
            "lines": run.counts.lines,
            "rows": run.counts.records,
        }
        if run.source.path is not None:
            try:
                status = os.stat(run.source.path)
                item |= {"device": status.st_dev, "inode": status.st_ino}
            except OSError:
                pass
        ranges.append(item)
    return ranges
