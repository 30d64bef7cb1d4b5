"""Where a command's parsed rows come from: log files, log files resumed from a
`--state` file, or a Parquet dataset written by `logstat ingest`.

Every kind yields the same frames as `pipeline.read`, so the commands that count
and render need not know which it was:

    inputs = Inputs(state_path)          # locks the state file (None: no state)
    runs = inputs.plan(logs, options)
    for run, frame in inputs.read(runs, options, needed, progress): ...
    ...write the outputs...
    inputs.commit(runs)                  # only then remember what was read
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from logstat.errors import ExitCode, LogstatError
from logstat.formats import Choice
from logstat.reading import pipeline
from logstat.reading.objects import is_url
from logstat.reading.runs import FileRun, Options, Progress
from logstat.reading.sources import Source

if TYPE_CHECKING:
    from logstat.reading.state import StateFile


def plan_files(
    sources: list[Source],
    options: Options,
    state: StateFile | None,
    earlier: dict[tuple[str, str], Choice] | None = None,
) -> list[FileRun]:
    """The log files to read (with a state: each from where the last run stopped, the
    unchanged ones left out); stop when no file that has lines could be recognised.
    `earlier`: formats detected before, lent to the files named like them (detection.py)."""
    if state is None:
        runs = pipeline.plan(sources, options, earlier)
        pipeline.require_recognised(runs)
        return runs
    runs = state.plan(sources, options, earlier)
    # a log just rotated is empty: not yet a reason to stop a cron run
    pipeline.require_recognised(
        [run for run in runs if (run.resume and run.resume.has_lines) or run.source.remote]
    )
    return runs


class Inputs:
    def __init__(self, state: Path | None = None) -> None:
        self.state_file = None
        if state is not None:
            # imported here, as the dataset reader below: a plain run starts faster without
            from logstat.reading.state import StateFile

            self.state_file = StateFile.open(state)
        self._datasets = False

    def plan(self, logs: list[str], options: Options) -> list[FileRun]:
        """Detect each input's format (or list a dataset's parts); stop if none is known."""
        roots = []
        if any(is_url(log) or os.path.isdir(log) for log in logs):  # what a dataset can be
            from logstat.reading import dataset

            roots = [log for log in logs if dataset.is_dataset(log, options.endpoint_url)]
        if roots:
            if len(roots) != len(logs):
                raise LogstatError("read a dataset on its own, not with log files", ExitCode.USAGE)
            if self.state_file is not None:
                raise LogstatError(
                    "--state is for log files; a dataset is read whole", ExitCode.USAGE
                )
            self._datasets = True
            return list(dataset.plan(roots, options.endpoint_url))
        return plan_files(options.expand(logs), options, self.state_file)

    def read(
        self,
        runs: list[FileRun],
        options: Options,
        needed: set[str] | None = None,
        progress: Progress | None = None,
    ) -> Iterator[tuple[FileRun, pl.DataFrame]]:
        if self._datasets:
            from logstat.reading import dataset

            return dataset.read(
                [run for run in runs if isinstance(run, dataset.DatasetRun)], needed
            )
        return pipeline.read(runs, options, needed, progress)

    @property
    def is_dataset(self) -> bool:
        return self._datasets

    def commit(self, runs: list[FileRun]) -> None:
        """After the outputs are written: remember what was read (with --state), unlock."""
        if self.state_file is not None:
            self.state_file.commit(runs)
        self.close()

    def close(self) -> None:
        if self.state_file is not None:
            self.state_file.close()

    def __enter__(self) -> Inputs:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
