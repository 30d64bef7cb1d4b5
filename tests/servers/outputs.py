"""logstat run over the logs a server under test wrote: summaries and exports, a few at
a time, through the public CLI in the log directory."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.servers.harness import Run
from tests.servers.site import AccessLog

CLI_SECONDS = 60
PARALLEL_RUNS = 4  # logstat runs at once: most of each is starting Python and polars
REPO = Path(__file__).resolve().parents[2]


@dataclass
class Outputs:
    """What logstat printed for one server's logs, by job name."""

    directory: Path
    results: dict[str, subprocess.CompletedProcess[str]]

    def summary(self, job: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(succeeded(self.results[job]))
        return data

    def export(self, log: AccessLog) -> list[dict[str, str]]:
        succeeded(self.results[export_job(log)])
        with (self.directory / export_file(log)).open(newline="") as table:
            return list(csv.DictReader(table))


def logstat(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The public CLI, run in the log directory so that file names are as given.

    PYTHONPATH names this checkout: run elsewhere, `-m logstat` would find whatever
    logstat is installed, not the code under test."""
    return subprocess.run(
        [sys.executable, "-m", "logstat", *args],
        cwd=directory,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=CLI_SECONDS,
        check=False,
    )


def succeeded(result: subprocess.CompletedProcess[str]) -> str:
    """The output of a logstat run that must have worked."""
    assert result.returncode == 0, f"logstat {' '.join(result.args[3:])}\n{result.stderr}"
    return result.stdout


def export_job(log: AccessLog) -> str:
    return f"export {log.file_name}"


def export_file(log: AccessLog) -> str:
    return f"{log.file_name}.export.csv"


Job = tuple[Path, list[str]]  # the directory logstat runs in, and its arguments


def run_logstat(run: Run, exports: tuple[AccessLog, ...], extra: dict[str, Job]) -> Outputs:
    """Every logstat run a server's tests read, a few at a time (each mostly starts Python).

    One summary per access log (named by its file), one CSV export per log in
    `exports`, both in the server's log directory, and the `extra` jobs.
    """
    jobs: dict[str, Job] = {
        log.file_name: (run.directory, [log.file_name, "--json", *log.logstat_args])
        for log in run.logs
    }
    for log in exports:
        arguments = ["export", log.file_name, "-o", export_file(log), "--quiet"]
        jobs[export_job(log)] = (run.directory, [*arguments, *log.logstat_args])
    jobs.update(extra)
    with ThreadPoolExecutor(max_workers=PARALLEL_RUNS) as pool:
        futures = {
            job: pool.submit(logstat, directory, *arguments)
            for job, (directory, arguments) in jobs.items()
        }
    return Outputs(run.directory, {job: future.result() for job, future in futures.items()})


def log_text(run: Run, log: AccessLog) -> str:
    """The log as the server wrote it, with long lines cut, for failure messages."""
    lines = (run.directory / log.file_name).read_bytes().decode(errors="backslashreplace")
    return "\n".join(line[:160] for line in lines.splitlines())
