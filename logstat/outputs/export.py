"""Write one row per request, in the canonical schema with status annotations.

Rows are written chunk by chunk as they are parsed, so a log never has to fit
in memory; files are written through outputs.atomic (all or nothing).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import polars as pl

from logstat import schema
from logstat.errors import ExitCode, LogstatError
from logstat.outputs.atomic import atomic_output
from logstat.outputs.parquet_stream import ParquetStream
from logstat.status import tag
from logstat.status.chains import VendorChains

SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
# a spreadsheet runs a cell that starts with one of these as a formula
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


STDOUT = "-"  # `-o -`: write to standard output


def kind_for(path: Path, explicit: str | None) -> str:
    if explicit:
        return explicit
    if str(path) == STDOUT:
        return "csv"
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise LogstatError(
            f"{path}: cannot tell the output type from the suffix; use .csv or .parquet "
            "(or --to csv|parquet)",
            ExitCode.USAGE,
        )
    return kind


@contextlib.contextmanager
def standard_output() -> Iterator[IO[bytes]]:
    """stdout as an output: written as it comes (a reader may stop early, see cli.main)."""
    stream = sys.stdout.buffer
    yield stream
    stream.flush()


def annotate(
    frame: pl.DataFrame, chains: VendorChains, columns: dict[str, pl.DataType]
) -> pl.DataFrame:
    """Parsed records of one chunk -> export rows with meanings, in a fixed schema."""
    records = frame.lazy().filter(pl.col(schema.LINE_KIND) == schema.RECORD)
    # only IIS logs a sub-status; tag() needs to be told when the column is absent
    substatus = "substatus" if "substatus" in frame.columns else None
    # a status the upstream produced is read without the proxy's own tables
    tagged = tag(
        records,
        chains.chains,
        substatus=substatus,
        produced_by="produced_by",
        own_vendors=chains.own,
    )
    present = tagged.collect_schema()
    return tagged.select(
        pl.col(name).cast(dtype, strict=False)
        if name in present
        else pl.lit(None, dtype=dtype).alias(name)
        for name, dtype in columns.items()
    ).collect()


def annotated(
    frame: pl.DataFrame,
    chains: VendorChains,
    columns: dict[str, pl.DataType],
    chosen: Callable[[pl.DataFrame], pl.DataFrame],
) -> Callable[[], pl.DataFrame]:
    """The export rows of a chunk, `chosen` of them, to be made when written
    (Writer.write_made: on the writer's thread, beside the parse of the next chunk)."""
    return lambda: chosen(annotate(frame, chains, columns))


def neutralise_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula with a quote."""
    return frame.with_columns(
        pl.when(pl.any_horizontal(pl.col(name).str.starts_with(start) for start in FORMULA_START))
        .then(pl.lit("'") + pl.col(name))
        .otherwise(pl.col(name))
        .alias(name)
        for name, dtype in frame.schema.items()
        if dtype == pl.String
    )


class Writer:
    """Streams frames to a CSV or Parquet file, atomically."""

    def __init__(self, path: Path, kind: str, columns: dict[str, pl.DataType], raw: bool) -> None:
        self.path = path
        self.kind = kind
        self.columns = columns
        self.raw = raw
        self._rows = 0
        self._output = standard_output() if str(path) == STDOUT else atomic_output(path)
        self._handle: IO[bytes] | None = None
        self._parquet: ParquetStream | None = None

    @property
    def rows(self) -> int:
        return self._rows if self._parquet is None else self._parquet.rows

    def __enter__(self) -> Writer:
        self._handle = self._output.__enter__()
        try:
            if self.kind == "parquet":
                # polars' own writer, encoding on its threads while the next chunk is parsed
                self._parquet = ParquetStream(self._handle, self.columns)
            else:
                pl.DataFrame(schema=self.columns).write_csv(self._handle)  # the header
        except BaseException as error:  # __exit__ will not run: remove the file now
            self._output.__exit__(type(error), error, error.__traceback__)
            raise
        return self

    def write(self, frame: pl.DataFrame) -> None:
        self.write_made(lambda: frame)

    def write_made(self, make: Callable[[], pl.DataFrame]) -> None:
        """Write the frame `make` returns.  For Parquet it is made, encoded and compressed
        on polars' threads while the next chunk is parsed; one frame at a time, in order."""
        assert self._handle is not None
        if self._parquet is not None:
            self._parquet.write(make)  # memory stays bounded: it waits for the one before
            return
        frame = make()
        self._rows += frame.height
        out = frame if self.raw else neutralise_formulas(frame)
        out.write_csv(self._handle, include_header=False)

    def __exit__(self, *exc_info: object) -> None:
        try:
            if self._parquet is not None and exc_info[0] is not None:
                self._parquet.abandon()
            elif self._parquet is not None:
                self._parquet.close()  # the last frames and the footer
        except BaseException as error:
            if exc_info[0] is None:  # the footer failed (a full disk): discard the file
                self._output.__exit__(type(error), error, error.__traceback__)
                raise
        self._output.__exit__(*exc_info)  # type: ignore[arg-type]
