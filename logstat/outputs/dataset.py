"""Adds parsed requests to the Parquet dataset that `logstat ingest` keeps.

The layout, and how it is read back, is in reading/dataset.py.  Parts are written
in a staging directory beside DIR (`.DIR.logstat-staging-*`), and a run's parts
appear in DIR together, after its commit file: see dataset_commits.py.  In an object
store they are written under their final keys and count once a commit object lists
them: see dataset_store.py.
"""

from __future__ import annotations

import contextlib
import urllib.parse
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

import polars as pl

from logstat.errors import LogstatError
from logstat.outputs.dataset_commits import Ledger
from logstat.reading.dataset import DATE, NO_DATE, SOURCE, part_columns

MAX_OPEN_PARTS = 64  # partitions written at once; more (a long backfill) close the oldest
MAX_PART_ROWS = 2_000_000  # a bigger part is split, so reading one back stays small


class Parts(Protocol):
    """Where a run's part files go: a staging directory (dataset_commits.LocalParts) or
    their final keys in an object store (dataset_store.StoreParts)."""

    def open(self, relative: str) -> IO[bytes]: ...
    def finish(self, handle: IO[bytes]) -> None: ...
    def discard(self, handle: IO[bytes]) -> None: ...
    def remove(self, relatives: list[str]) -> None: ...
    def location(self, relative: str) -> Path | str: ...


class DatasetLedger(Protocol):
    """A dataset's commits, on disk (dataset_commits.Ledger) or in a store
    (dataset_store.StoreLedger), as a writing run uses them."""

    def part_prefix(self) -> str: ...
    def parts(self) -> Parts: ...
    def commit(self, record: dict[str, Any]) -> Any: ...
    def move_in(self) -> None: ...
    def abandon(self, written: list[str], complete: bool = True) -> None: ...
    def keep_only(self, listed: list[str]) -> None: ...
    def location(self, relative: str) -> Path | str: ...
    def close(self) -> None: ...


@dataclass
class _Part:
    relative: str
    handle: IO[bytes]
    writer: Any  # pyarrow.parquet.ParquetWriter
    rows: int = 0
    bytes: int = 0


# Parts are written here rather than by pyarrow.dataset.write_dataset(...,
# partitioning="hive") into the staging directory, because that was not as safe for
# the same speed (measured with pyarrow 26, 1M nginx lines over one day and 60 days):
# - it pulls its rows and holds no signal handler: run from the main thread, a SIGTERM
#   waits for the whole write to end; fed from a thread of its own, it needs a queue
#   and errors handed back, more code than the writers kept open below;
# - it cuts its input into 32Ki-row batches, so over 60 days a partition gets row
#   groups of a few hundred rows (parts up to 60% bigger, 30-60% more CPU), unless
#   `min_rows_per_group` buffers rows in each open part: then the CPU time is the
#   same as here and the peak memory 20% (one day) to 55% (60 days) higher;
# - it does not fsync the parts, which must be on disk before the commit file, and
#   names them part-{i}: both would take another pass over the files it wrote.
class PartitionedParts:
    """Rows (as `export.annotate` makes them) written as part files, one per date and
    source (more when large), named `<prefix>-<uuid>.parquet`: what one run on one
    machine, or one task on a cluster, writes before the commit."""

    def __init__(self, parts: Parts, prefix: str) -> None:
        self.target = parts
        self.prefix = prefix
        self.rows = 0
        self.finished: list[dict[str, Any]] = []  # {"path", "rows", "bytes"}, once closed
        self._columns = part_columns()
        self._open: OrderedDict[tuple[str, str], _Part] = OrderedDict()

    def write(self, rows: pl.DataFrame) -> None:
        if rows.height == 0:
            return
        day = pl.col("timestamp").dt.strftime("%Y-%m-%d").fill_null(NO_DATE).alias(f"_{DATE}")
        keyed = rows.with_columns(day, pl.col(SOURCE).fill_null("unknown"))
        groups = keyed.partition_by([f"_{DATE}", SOURCE], as_dict=True, include_key=False)
        for (date, source), group in groups.items():
            part = self._part(str(date), str(source))
            table = group.select(
                pl.col(name) if name in group.columns else pl.lit(None, dtype).alias(name)
                for name, dtype in self._columns.items()  # a duration part not logged: null
            ).to_arrow(compat_level=pl.CompatLevel.oldest())
            try:
                part.writer.write_table(table)
            except OSError as error:
                raise _error(self.target.location(part.relative), error) from error
            part.rows += group.height
            self.rows += group.height
            if part.rows >= MAX_PART_ROWS:
                self._finish(self._open.pop((str(date), str(source))))

    def _part(self, date: str, source: str) -> _Part:
        key = (date, source)
        part = self._open.get(key)
        if part is not None:
            self._open.move_to_end(key)
            return part
        if len(self._open) >= MAX_OPEN_PARTS:
            _, oldest = self._open.popitem(last=False)
            self._finish(oldest)
        import pyarrow.parquet

        name = f"{self.prefix}-{uuid.uuid4().hex}"
        relative = f"{DATE}={date}/{SOURCE}={urllib.parse.quote(source, safe='')}/{name}.parquet"
        empty = pl.DataFrame(schema=self._columns).to_arrow(compat_level=pl.CompatLevel.oldest())
        handle = self.target.open(relative)
        try:
            writer = pyarrow.parquet.ParquetWriter(handle, empty.schema, compression="zstd")
        except OSError as error:
            self.target.discard(handle)
            raise _error(self.target.location(relative), error) from error
        part = _Part(relative, handle, writer)
        self._open[key] = part
        return part

    def _finish(self, part: _Part) -> None:
        try:
            part.writer.close()
            part.bytes = part.handle.tell()
        except OSError as error:
            raise _error(self.target.location(part.relative), error) from error
        self.target.finish(part.handle)
        self.finished.append({"path": part.relative, "rows": part.rows, "bytes": part.bytes})

    def close(self) -> list[dict[str, Any]]:
        """Finish every part: the list of what was written."""
        while self._open:
            self._finish(self._open.popitem(last=False)[1])
        return self.finished

    def discard(self) -> list[str]:
        """Stop writing (after an error): the parts begun, to remove."""
        begun = [part["path"] for part in self.finished]
        for part in self._open.values():
            with contextlib.suppress(Exception):
                part.writer.close()
            self.target.discard(part.handle)
            begun.append(part.relative)
        self._open.clear()
        return begun


class DatasetWriter:
    """Adds rows (as `export.annotate` makes them) to a dataset, all at once or not at all.

    The run's parts appear in DIR when the `with` block ends without an error and
    `record` is not None (what the commit file says besides the parts: the input
    ranges and where each file stands); after an error nothing of this run is in DIR.
    `root` is a directory, or a dataset in an object store when `ledger` is its
    dataset_store.StoreLedger.
    """

    def __init__(self, root: Path, ledger: DatasetLedger | None = None) -> None:
        self.root = root
        self.rows = 0
        self.parts: list[Path | str] = []  # the files added, once committed
        self.record: dict[str, Any] | None = {}
        self._ledger = ledger
        self._own_ledger = ledger is None
        self._committed = False
        self._writer: PartitionedParts | None = None
        self._added: list[dict[str, Any]] = []  # parts written elsewhere (cluster tasks)
        # others write parts where this run's go (cluster tasks): the writer may not
        # learn of all of them (a task that died)
        self.others_write = False

    def __enter__(self) -> DatasetWriter:
        if self._ledger is None:
            self._ledger = Ledger.open(self.root)
        self._writer = PartitionedParts(self._ledger.parts(), self._ledger.part_prefix())
        return self

    def write(self, rows: pl.DataFrame) -> None:
        assert self._writer is not None
        self._writer.write(rows)
        self.rows = self._writer.rows + sum(part["rows"] for part in self._added)

    def add(self, parts: list[dict[str, Any]]) -> None:
        """Parts already written where this run's parts go (by the tasks of a cluster)."""
        assert self._writer is not None
        self._added += parts
        self.rows = self._writer.rows + sum(part["rows"] for part in self._added)

    def _commit(self) -> None:
        assert self._ledger is not None and self._writer is not None
        parts = [*self._writer.close(), *self._added]
        if self.record is None:  # nothing read, nothing to record (removed on exit)
            return
        if self.others_write:  # a task that died, then ran again, left parts of its first try
            self._ledger.keep_only([part["path"] for part in parts])
        self._ledger.commit({"rows": self.rows, "parts": parts, **self.record})
        self._committed = True
        self._ledger.move_in()
        self.parts = [self._ledger.location(part["path"]) for part in parts]

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        assert self._ledger is not None and self._writer is not None
        try:
            if kind is None:
                self._commit()
        finally:
            # committed: moved in (or left for the next run to finish moving in);
            # failed before the commit point: nothing of this run may stay
            if not self._committed:
                written = self._writer.discard() + [part["path"] for part in self._added]
                self._ledger.abandon(written, complete=not self.others_write)
            if self._own_ledger:
                self._ledger.close()


def _error(where: Path | str, error: OSError) -> LogstatError:
    return LogstatError(f"{where}: cannot write the dataset: {error.strerror or error}")


# Reading back -------------------------------------------------------------------
