"""A Parquet dataset written by `logstat ingest`, read back like log files.

Layout (hive partitioning, which DuckDB, Spark, pyarrow and polars read as is):

    DIR/date=2024-01-05/source=nginx/part-<uuid>.parquet
    DIR/date=__HIVE_DEFAULT_PARTITION__/source=nginx/...   (requests without a time)
    DIR/_logstat/...                                        (what the dataset holds)

`date` is the request's UTC day; `source` the format name.  Each part has the
canonical columns, the status annotations and the duration parts (`part_columns`)
except `source`, which lives in the path; every part a run writes has the same
schema.  Parts written before the duration parts were kept lack those columns:
read here as null (pyarrow and DuckDB readers need schema merging for them).  Each
run adds new parts and never rewrites old ones (outputs/dataset.py writes them).

A run's parts appear in DIR together, after its commit file (see
outputs/dataset_commits.py): readers read the parts in DIR and those of committed
runs still being moved in.  In an object store (s3://bucket/dataset/), parts are
written under their final keys and readers read only the parts that a commit object
lists (outputs/dataset_store.py): a run that failed or died left parts no commit names.
"""

from __future__ import annotations

import contextlib
import io
import os
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import polars as pl

from logstat import formats, schema
from logstat.errors import LogstatError
from logstat.formats import Choice, Detection
from logstat.line_counts import LineCounts
from logstat.outputs import dataset_store
from logstat.outputs.dataset_commits import LEDGER, commit_files, pending_parts
from logstat.reading.objects import filesystem, scheme_of
from logstat.reading.pipeline import columns_for
from logstat.reading.runs import FileRun
from logstat.reading.sources import Source

DATE = "date"
SOURCE = "source"
NO_DATE = "__HIVE_DEFAULT_PARTITION__"  # Hive's and Spark's name for a null partition value
READ_GROUP_BYTES = 16 << 20  # small parts are read together up to this size on disk
MOVE_IN_RETRIES = 5


def part_columns() -> dict[str, pl.DataType]:
    """The columns of every part file: the export columns with every duration part
    (schema.DURATION_PARTS, null where the format logs none), less the `source`
    partition.  Parts written before the duration parts were kept lack them: read as
    null (`_scan`)."""
    columns = schema.export_columns(schema.DURATION_PARTS)
    del columns[SOURCE]
    return columns


@dataclass(frozen=True)
class StoreRoot:
    """A dataset in an object store: its filesystem, and its path there (no scheme)."""

    fs: Any
    path: str
    url: str


def store_root(argument: str, endpoint_url: str | None = None) -> StoreRoot | None:
    """The store a dataset URL names (None: a local path)."""
    scheme = scheme_of(argument)
    if scheme is None:
        return None
    path = argument.split("://", 1)[1].rstrip("/")
    return StoreRoot(filesystem(scheme, endpoint_url), path, argument)


def is_dataset(argument: str, endpoint_url: str | None = None) -> bool:
    """A directory with `date=` partitions or commit files, as `logstat ingest` writes;
    or a prefix in an object store with commit objects."""
    scheme = scheme_of(argument)
    if scheme is not None:
        if scheme in ("http", "https") or any(character in argument for character in "*?["):
            return False
        store = store_root(argument, endpoint_url)
        assert store is not None
        try:
            return dataset_store.is_store_dataset(store.fs, store.path)
        except Exception:  # the listing of the logs says what is wrong with the URL
            return False
    directory = Path(argument)
    if not directory.is_dir():
        return False
    with contextlib.suppress(OSError):
        # names, not Paths: a directory of logs may hold 100,000s of files
        return any(name.startswith(f"{DATE}=") or name == LEDGER for name in os.listdir(directory))
    return False


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
    store: StoreRoot | None = None  # a dataset in an object store: parts are its paths
    sizes: dict[Path, int] = field(default_factory=dict)  # bytes of a store's parts


def plan(roots: list[str], endpoint_url: str | None = None) -> list[DatasetRun]:
    """One run per dataset and source, listing its part files."""
    runs: list[DatasetRun] = []
    for root in roots:
        by_source: dict[str, list[Path]] = {}
        store = store_root(root, endpoint_url)
        sizes: dict[Path, int] = {}
        staged: dict[Path, Path] = {}
        if store is not None:
            found, sizes = _store_listing(store)
        else:
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
                DatasetRun(
                    len(runs),
                    Source(name, None if store else Path(root)),
                    choice,
                    parts=parts,
                    staged=pending,
                    store=store,
                    sizes=sizes,
                )
            )
    return runs


def _store_listing(store: StoreRoot) -> tuple[set[Path], dict[Path, int]]:
    """The parts the commit objects list (relative paths under the root), with sizes."""
    found: set[Path] = set()
    sizes: dict[Path, int] = {}
    for part in dataset_store.committed_parts(store.fs, store.path):
        relative = Path(part["path"])
        found.add(relative)
        if isinstance(part.get("bytes"), int):
            sizes[relative] = part["bytes"]
    return found, sizes


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
    store = store_root(str(root))
    if store is not None:  # the URLs of the parts the commits list
        found = _store_listing(store)[0]
        return [f"{store.url.rstrip('/')}/{part.as_posix()}" for part in sorted(found)]
    staged, found = _listing(Path(root))
    return [str(_where(part, staged)) for part in sorted(found)]


def read(
    runs: list[DatasetRun], needed: set[str] | None = None
) -> Iterator[tuple[FileRun, pl.DataFrame]]:
    """The stored rows as frames shaped like `pipeline.read`'s (every line a record)."""
    stored = part_columns()
    # the latency report's columns with the duration, as a log's parser would add them
    wanted = columns_for(schema.with_duration(needed, set(stored)))
    keep = [
        name
        for name in (*schema.COLUMNS, *schema.DURATION_PARTS)
        if wanted is None or name in wanted | {SOURCE, "file", "line_no", "status_class"}
    ]
    read_columns = [name for name in (*keep, "produced_by") if name in stored]
    for run in runs:
        assert run.choice is not None
        for group in _groups(run.parts, run.staged, run.sizes if run.store else None):
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
        if run.store is not None:
            files = [f"{run.store.url.rstrip('/')}/{final.as_posix()}" for final in group]
        try:
            frame = (
                _fetch(run.store, group, read_columns) if run.store is not None else _scan(files)
            ).select(read_columns)
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


def _fetch(store: StoreRoot, group: list[Path], columns: list[str]) -> pl.LazyFrame:
    """Parts of a store's dataset, fetched together (not in sequence) and read in memory."""
    paths = [f"{store.path}/{part.as_posix()}" for part in group]
    try:
        contents = store.fs.cat(paths, on_error="raise")
    except FileNotFoundError as error:
        raise OSError(f"a committed part is missing: {error}") from error
    except Exception as error:  # the cloud libraries raise their own types
        raise OSError(str(error).splitlines()[0] if str(error) else type(error).__name__) from error
    frames = [_scan(io.BytesIO(contents[path])).select(columns) for path in paths]
    return pl.concat(frames)


def _scan(source: list[str] | io.BytesIO) -> pl.LazyFrame:
    """Part files as every part is now: columns an older logstat did not write (the
    duration parts) are null, and columns a newer one adds are left out."""
    return pl.scan_parquet(
        source,
        hive_partitioning=False,
        schema=part_columns(),
        missing_columns="insert",
        extra_columns="ignore",
    )


def _where(final: Path, staged: dict[Path, Path]) -> Path:
    """Where a part is now: in DIR, or still in its committed run's staging directory."""
    if final in staged and not final.exists() and staged[final].exists():
        return staged[final]
    return final


def _groups(
    parts: list[Path], staged: dict[Path, Path], sizes: dict[Path, int] | None = None
) -> Iterator[list[Path]]:
    """Part files in groups of about READ_GROUP_BYTES, so memory stays flat (`sizes`: a
    store's parts, as their commits give them)."""
    group: list[Path] = []
    size = 0
    for final in parts:
        if sizes is not None:
            part_size = sizes.get(final, READ_GROUP_BYTES // 16)
        else:
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
