"""A Parquet dataset written by `logstat ingest`, read back like log files.

Layout (hive partitioning, which DuckDB, Spark, pyarrow and polars read as is):

    DIR/date=2024-01-05/source=nginx/part-<uuid>.parquet
    DIR/date=__HIVE_DEFAULT_PARTITION__/source=nginx/...   (requests without a time)
    DIR/_logstat/...                                        (what the dataset holds)

`date` is the request's UTC day; `source` the format name.  Each part has the
canonical columns and the status annotations (`schema.export_columns`) except
`source`, which lives in the path; every part has the same schema, so readers
need no schema merging.  Each run adds new parts and never rewrites old ones
(outputs/dataset.py writes them).

A run's parts appear in DIR together, after its commit file (see
outputs/dataset_commits.py): readers read the parts in DIR and those of committed
runs still being moved in.
"""

from __future__ import annotations

import contextlib
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import polars as pl

from logstat import formats, schema
from logstat.errors import LogstatError
from logstat.formats import Choice, Detection
from logstat.line_counts import LineCounts
from logstat.outputs.dataset_commits import LEDGER, commit_files, pending_parts
from logstat.reading.pipeline import columns_for
from logstat.reading.runs import FileRun
from logstat.reading.sources import Source

DATE = "date"
SOURCE = "source"
NO_DATE = "__HIVE_DEFAULT_PARTITION__"  # Hive's and Spark's name for a null partition value
READ_GROUP_BYTES = 16 << 20  # small parts are read together up to this size on disk
MOVE_IN_RETRIES = 5


def part_columns() -> dict[str, pl.DataType]:
    """The columns of every part file: the export columns less the `source` partition."""
    columns = schema.export_columns(())
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
    # the latency report's columns with the duration, as a log's parser would add them
    wanted = columns_for(schema.with_duration(needed, set(stored)))
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
