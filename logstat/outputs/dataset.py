"""A Parquet dataset of parsed requests: `logstat ingest` adds, reports read it back.

Layout (hive partitioning, which DuckDB, Spark, pyarrow and polars read as is):

    DIR/date=2024-01-05/source=nginx/part-<uuid>.parquet
    DIR/date=__HIVE_DEFAULT_PARTITION__/source=nginx/...   (requests without a time)
    DIR/_logstat/...                                        (what the dataset holds)

`date` is the request's UTC day; `source` the format name.  Each part has the
canonical columns and the status annotations (`export.export_columns`) except
`source`, which lives in the path; every part has the same schema, so readers
need no schema merging.  Each run adds new parts and never rewrites old ones.

Parts are written in a staging directory beside DIR (`.DIR.logstat-staging-*`),
and a run's parts appear in DIR together, after its commit file: see
dataset_commits.py.  Readers read the parts in DIR and those of committed runs
still being moved in.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import urllib.parse
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, ClassVar

import polars as pl

from logstat import formats, schema
from logstat.errors import LogstatError
from logstat.formats import Choice, Detection
from logstat.line_counts import LineCounts
from logstat.outputs.dataset_commits import (
    LEDGER,
    Ledger,
    commit_files,
    committed_run,
    pending_parts,
)
from logstat.outputs.export import export_columns
from logstat.reading.pipeline import columns_for
from logstat.reading.runs import FileRun
from logstat.reading.sources import Source

DATE = "date"
SOURCE = "source"
NO_DATE = "__HIVE_DEFAULT_PARTITION__"  # Hive's and Spark's name for a null partition value
MAX_OPEN_PARTS = 64  # partitions written at once; more (a long backfill) close the oldest
MAX_PART_ROWS = 2_000_000  # a bigger part is split, so reading one back stays small
READ_GROUP_BYTES = 16 << 20  # small parts are read together up to this size on disk
MOVE_IN_RETRIES = 5


def part_columns() -> dict[str, pl.DataType]:
    """The columns of every part file: the export columns less the `source` partition."""
    columns = export_columns(())
    del columns[SOURCE]
    return columns


def is_dataset(argument: str) -> bool:
    """A directory with `date=` partitions or commit files, as `logstat ingest` writes."""
    directory = Path(argument)
    if not directory.is_dir():
        return False
    with contextlib.suppress(OSError):
        return any(
            child.name.startswith(f"{DATE}=") or child.name == LEDGER
            for child in directory.iterdir()
        )
    return False


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


@dataclass(frozen=True)
class _StoredParser:
    """Stands in for a parser: the rows were parsed when they were ingested."""

    keeps_state: ClassVar[bool] = False

    description: str = "logstat dataset"

    def columns(self) -> set[str]:
        return set(part_columns())

    def parse(self, lines: pl.LazyFrame, needed: set[str] | None = None) -> pl.LazyFrame:
        raise NotImplementedError("dataset rows are already parsed")


@dataclass(frozen=True)
class StoredChoice(Choice):
    @property
    def summary(self) -> str:
        return "rows stored by logstat ingest"


@dataclass
class DatasetRun(FileRun):
    """One source (format) of one dataset: its part files."""

    parts: list[Path] = field(default_factory=list)
    # parts of a committed run still in its staging directory: final path -> staged path
    staged: dict[Path, Path] = field(default_factory=dict)


def plan(roots: list[str]) -> list[DatasetRun]:
    """One run per dataset and source, listing its part files."""
    runs: list[DatasetRun] = []
    for root in roots:
        by_source: dict[str, list[Path]] = {}
        staged, found = _listing(Path(root))
        for part in sorted(found):
            if part.name.startswith((".", "_")):
                continue
            source = urllib.parse.unquote(part.parent.name.removeprefix(f"{SOURCE}="))
            by_source.setdefault(source, []).append(part)
        for source, parts in sorted(by_source.items()):
            format = formats.BY_NAME.get(source)
            if format is None:
                raise LogstatError(
                    f"{root}: the dataset holds {source!r} rows, a format this logstat "
                    f"does not know (known: {', '.join(formats.BY_NAME)})"
                )
            choice = StoredChoice(format, Detection(_StoredParser(), 0, 0))
            name = f"{root} ({SOURCE}={source})"
            pending = {part: staged[part] for part in parts if part in staged}
            runs.append(
                DatasetRun(len(runs), Source(name, Path(root)), choice, parts=parts, staged=pending)
            )
    return runs


def _listing(root: Path) -> tuple[dict[Path, Path], set[Path]]:
    """The committed parts: those in DIR and those of committed runs still being moved in
    (a run killed then, or one moving them right now), with where each of those is.
    Listed again when a run commits meanwhile, so a reader never sees part of a run."""
    while True:
        before = commit_files(root)
        staged = pending_parts(root)
        found = set(root.glob(f"{DATE}=*/{SOURCE}=*/*.parquet")) | set(staged)
        if commit_files(root) == before:
            return staged, found


def committed_files(root: str | Path) -> list[str]:
    """The part files of every committed run, where each is now: a consistent snapshot for
    other readers, e.g. `pl.scan_parquet(committed_files(DIR), hive_partitioning=True)`."""
    staged, found = _listing(Path(root))
    return [str(_where(part, staged)) for part in sorted(found)]


def read(
    runs: list[DatasetRun], needed: set[str] | None = None
) -> Iterator[tuple[FileRun, pl.DataFrame]]:
    """The stored rows as frames shaped like `pipeline.read`'s (every line a record)."""
    stored = part_columns()
    wanted = columns_for(needed)
    keep = [
        name
        for name in schema.COLUMNS
        if wanted is None or name in wanted | {SOURCE, "file", "line_no", "status_class"}
    ]
    read_columns = [name for name in (*keep, "produced_by") if name in stored]
    for run in runs:
        assert run.choice is not None
        for group in _groups(run.parts, run.staged):
            rows = _read_group(group, run, read_columns, keep)
            run.counts.add(LineCounts(lines=rows.height, records=rows.height))
            yield run, rows


def _read_group(
    group: list[Path], run: DatasetRun, read_columns: list[str], keep: list[str]
) -> pl.DataFrame:
    source = pl.lit(run.choice.format.name if run.choice else None).alias(SOURCE)
    for attempt in range(MOVE_IN_RETRIES + 1):
        # a part of a committed run may be moved in between two looks: look again
        files = [str(_where(final, run.staged)) for final in group]
        try:
            frame = pl.scan_parquet(files, hive_partitioning=False).select(read_columns)
            return (
                schema.conform(frame.with_columns(source), keep)
                .with_columns(
                    pl.lit(schema.RECORD).alias(schema.LINE_KIND),
                    pl.lit(None, dtype=pl.String).alias(schema.REJECT_REASON),
                    pl.lit(None, dtype=pl.String).alias(schema.RAW_LINE),
                    pl.lit(False).alias("invalid_utf8"),
                    pl.lit(run.file_id, dtype=pl.UInt32).alias(schema.FILE_ID),
                )
                .collect()
            )
        except (OSError, pl.exceptions.PolarsError) as error:
            if attempt < MOVE_IN_RETRIES and any(final in run.staged for final in group):
                continue
            names = ", ".join(files[:2])
            raise LogstatError(f"{names}: cannot read the dataset: {error}") from error
    raise AssertionError("unreachable")


def _where(final: Path, staged: dict[Path, Path]) -> Path:
    """Where a part is now: in DIR, or still in its committed run's staging directory."""
    if final in staged and not final.exists() and staged[final].exists():
        return staged[final]
    return final


def _groups(parts: list[Path], staged: dict[Path, Path]) -> Iterator[list[Path]]:
    """Part files in groups of about READ_GROUP_BYTES, so memory stays flat."""
    group: list[Path] = []
    size = 0
    for final in parts:
        try:
            part_size = _where(final, staged).stat().st_size
        except FileNotFoundError:
            if final not in staged:
                raise
            part_size = _where(final, staged).stat().st_size  # moved in meanwhile
        if group and size + part_size > READ_GROUP_BYTES:
            yield group
            group, size = [], 0
        group.append(final)
        size += part_size
    if group:
        yield group
