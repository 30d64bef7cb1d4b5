"""`--rejects FILE`: every line that could not be parsed, with where and why."""

from __future__ import annotations

from pathlib import Path
from typing import IO

import polars as pl

from logstat import schema
from logstat.outputs.atomic import atomic_output
from logstat.outputs.export import neutralise_formulas

COLUMNS = ["file", "line_no", schema.REJECT_REASON, schema.RAW_LINE]


class RejectsWriter:
    """Appends the rejected lines of each chunk to a CSV, renamed into place at the end."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._output = atomic_output(path)
        self._handle: IO[bytes] | None = None

    def __enter__(self) -> RejectsWriter:
        self._handle = self._output.__enter__()
        try:
            self._handle.write(b"file,line_no,reason,line\n")
        except BaseException as error:  # __exit__ will not run: remove the file now
            self._output.__exit__(type(error), error, error.__traceback__)
            raise
        return self

    def write(self, frame: pl.DataFrame) -> None:
        assert self._handle is not None
        rejected = frame.filter(pl.col(schema.LINE_KIND) == schema.REJECTED).select(COLUMNS)
        if rejected.height:
            neutralise_formulas(rejected).write_csv(self._handle, include_header=False)

    def __exit__(self, *exc_info: object) -> None:
        self._output.__exit__(*exc_info)  # type: ignore[arg-type]
