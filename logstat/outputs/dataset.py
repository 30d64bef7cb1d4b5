"""Adds parsed requests to the Parquet dataset that `logstat ingest` keeps.

The layout, and how it is read back, is in reading/dataset.py.  Parts are written
in a staging directory beside DIR (`.DIR.logstat-staging-*`), and a run's parts
appear in DIR together, after its commit file: see dataset_commits.py.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import urllib.parse
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import polars as pl

from logstat.errors import LogstatError
from logstat.outputs.dataset_commits import Ledger, committed_run
from logstat.reading.dataset import DATE, NO_DATE, SOURCE, part_columns

MAX_OPEN_PARTS = 64  # partitions written at once; more (a long backfill) close the oldest
MAX_PART_ROWS = 2_000_000  # a bigger part is split, so reading one back stays small


@dataclass
class _Part:
    staged: Path
    final: Path
    handle: IO[bytes]
    writer: Any  # pyarrow.parquet.ParquetWriter
    rows: int = 0


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
class DatasetWriter:
    """Adds rows (as `export.annotate` makes them) to a dataset, all at once or not at all.

    The run's parts appear in DIR when the `with` block ends without an error and
    `record` is not None (what the commit file says besides the parts: the input
    ranges and where each file stands); after an error nothing of this run is in DIR.
    """

    def __init__(self, root: Path, ledger: Ledger | None = None) -> None:
        self.root = root
        self.rows = 0
        self.parts: list[Path] = []  # the files added, once committed
        self.record: dict[str, Any] | None = {}
        self._columns = part_columns()
        self._ledger = ledger
        self._own_ledger = ledger is None
        self._staging: Path | None = None
        self._committed = False
        self._open: OrderedDict[tuple[str, str], _Part] = OrderedDict()
        self._closed: list[_Part] = []

    def __enter__(self) -> DatasetWriter:
        if self._ledger is None:
            self._ledger = Ledger.open(self.root)
        return self

    def write(self, rows: pl.DataFrame) -> None:
        if rows.height == 0:
            return
        day = pl.col("timestamp").dt.strftime("%Y-%m-%d").fill_null(NO_DATE).alias(f"_{DATE}")
        keyed = rows.with_columns(day, pl.col(SOURCE).fill_null("unknown"))
        groups = keyed.partition_by([f"_{DATE}", SOURCE], as_dict=True, include_key=False)
        for (date, source), group in groups.items():
            part = self._part(str(date), str(source))
            table = group.select(list(self._columns)).to_arrow(compat_level=pl.CompatLevel.oldest())
            try:
                part.writer.write_table(table)
            except OSError as error:
                raise self._error(error) from error
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

        name = f"part-{uuid.uuid4().hex}.parquet"
        relative = Path(f"{DATE}={date}", f"{SOURCE}={urllib.parse.quote(source, safe='')}", name)
        staged = self._staging_directory() / relative
        empty = pl.DataFrame(schema=self._columns).to_arrow(compat_level=pl.CompatLevel.oldest())
        try:
            staged.parent.mkdir(parents=True, exist_ok=True)
            handle = open(staged, "wb")  # noqa: SIM115  (closed in _finish)
            writer = pyarrow.parquet.ParquetWriter(handle, empty.schema, compression="zstd")
        except OSError as error:
            raise self._error(error) from error
        part = _Part(staged, self.root / relative, handle, writer)
        self._open[key] = part
        return part

    def _staging_directory(self) -> Path:
        if self._staging is None:
            assert self._ledger is not None
            staging = self._ledger.staging()
            try:
                staging.mkdir(parents=True)
            except OSError as error:
                raise self._error(error, staging) from error
            self._staging = staging
        return self._staging

    def _finish(self, part: _Part) -> None:
        try:
            part.writer.close()
            part.handle.flush()
            os.fsync(part.handle.fileno())
            part.handle.close()
        except OSError as error:
            raise self._error(error) from error
        self._closed.append(part)

    def _commit(self) -> None:
        while self._open:
            self._finish(self._open.popitem(last=False)[1])
        if self.record is None:  # nothing read, nothing to record
            return
        assert self._ledger is not None
        parts = [
            {"path": part.final.relative_to(self.root).as_posix(), "rows": part.rows}
            for part in self._closed
        ]
        self._ledger.commit({"rows": self.rows, "parts": parts, **self.record})
        self._committed = True
        self._ledger.move_in()
        self.parts = [part.final for part in self._closed]
        self._closed = []

    def _discard(self) -> None:
        for part in self._open.values():
            with contextlib.suppress(Exception):
                part.writer.close()
            with contextlib.suppress(OSError):
                part.handle.close()
        self._open.clear()
        self._closed = []

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        try:
            if kind is None:
                self._commit()
            else:
                self._discard()
        finally:
            # committed: moved in (or left for the next run to finish moving in);
            # failed before the commit point: nothing of this run may stay
            if (
                self._staging is not None
                and not self._committed
                and not committed_run(self.root, self._staging)  # interrupted just after it
            ):
                shutil.rmtree(self._staging, ignore_errors=True)
            if self._own_ledger and self._ledger is not None:
                self._ledger.close()

    def _error(self, error: OSError, path: Path | None = None) -> LogstatError:
        where = path or self.root
        return LogstatError(f"{where}: cannot write the dataset: {error.strerror or error}")


# Reading back -------------------------------------------------------------------
