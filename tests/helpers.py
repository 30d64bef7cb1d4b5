"""Small helpers shared by the tests: parse a file through the pipeline, run the CLI.

Kept small and stable: other test modules import these.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl

from logstat import pipeline
from logstat.sources import expand

REPO = Path(__file__).resolve().parent.parent


def plan_file(path: str | Path, **options: Any) -> pipeline.FileRun:
    """Detection for one file: the FileRun with its `choice` (None when nothing matched)."""
    [run] = pipeline.plan(expand([str(path)]), pipeline.Options(**options))
    return run


def parse_file(path: str | Path, **options: Any) -> pl.DataFrame:
    """Every line of `path` parsed with all columns, as the pipeline reads it.

    `options` are `logstat.pipeline.Options` fields: format, log_format, vendors, chunk_bytes.
    """
    settings = pipeline.Options(**options)
    runs = pipeline.plan(expand([str(path)]), settings)
    frames = [frame for _, frame in pipeline.read(runs, settings, None)]
    if not frames:
        return pl.DataFrame()
    return pl.concat(frames, how="diagonal_relaxed")


def run_cli(
    *args: str,
    stdin: bytes | None = None,
    cwd: str | Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> tuple[int, str, str]:
    """`python -m logstat ARGS` in a subprocess: (exit code, stdout, stderr).

    stdin is empty unless given, so a command never waits for a terminal.
    """
    environment = {**os.environ, **(env or {})}
    completed = subprocess.run(
        [sys.executable, "-m", "logstat", *args],
        input=stdin if stdin is not None else b"",
        capture_output=True,
        cwd=cwd or REPO,
        env=environment,
        timeout=timeout,
        check=False,
    )
    return (
        completed.returncode,
        completed.stdout.decode("utf-8", "replace"),
        completed.stderr.decode("utf-8", "replace"),
    )


def write_log(tmp_path: Path, lines: list[str], name: str) -> Path:
    """A log file of `lines`, each ended by a newline."""
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """The parsed records of a frame, as dicts."""
    return frame.filter(pl.col("line_kind") == "record").to_dicts()
