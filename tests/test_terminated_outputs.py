"""SIGTERM (or Ctrl-C) in the middle of writing leaves no temporary file and no staging
directory, and a SIGKILL's leftovers are removed by the next run (issue 12.11)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from logstat.outputs import dataset_commits
from tests.helpers import REPO, log_line


@pytest.fixture(scope="module")
def big_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "access.log"
    line_block = "".join(log_line(number) for number in range(2000))
    path.write_text(line_block * 60)  # 120,000 lines: a run of a few seconds
    return path


def _start(*arguments: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "logstat", *arguments, "-q"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_for(found: object, process: subprocess.Popen[bytes], timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found():  # type: ignore[operator]
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.005)
    return False


def _temporary(directory: Path, name: str) -> list[str]:
    return [entry for entry in os.listdir(directory) if entry.startswith(f".{name}.")]


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_export_stopped_leaves_no_temporary_file(
    tmp_path: Path, big_log: Path, stop: signal.Signals
) -> None:
    target = tmp_path / "out.parquet"
    process = _start("export", str(big_log), "-o", str(target))
    if not _wait_for(lambda: _temporary(tmp_path, target.name), process):
        pytest.fail("the export ended before its temporary file was seen")
    process.send_signal(stop)
    process.wait(timeout=60)
    assert process.returncode in (130, 143), process.stderr.read() if process.stderr else ""
    assert os.listdir(tmp_path) == []


def test_ingest_terminated_leaves_no_staging_and_adds_nothing(
    tmp_path: Path, big_log: Path
) -> None:
    root = tmp_path / "ds"
    process = _start("ingest", str(big_log), "--to", str(root))
    if not _wait_for(lambda: dataset_commits.staging_directories(root), process):
        pytest.fail("the ingest ended before its staging directory was seen")
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)
    assert process.returncode == 143
    assert dataset_commits.staging_directories(root) == []
    assert dataset_commits.commit_files(root) == []
    assert not list(root.glob(dataset_commits.PART_GLOB))


def test_killed_runs_leftovers_are_removed_by_the_next_run(tmp_path: Path, big_log: Path) -> None:
    root, target = tmp_path / "ds", tmp_path / "out.csv"
    ingest = _start("ingest", str(big_log), "--to", str(root))
    assert _wait_for(lambda: dataset_commits.staging_directories(root), ingest)
    ingest.kill()
    export = _start("export", str(big_log), "-o", str(target))
    assert _wait_for(lambda: _temporary(tmp_path, target.name), export)
    export.kill()
    for process in (ingest, export):
        process.wait()
    assert dataset_commits.staging_directories(root) and _temporary(tmp_path, target.name)
    small = tmp_path / "small.log"
    small.write_text("".join(log_line(number) for number in range(10)))
    subprocess.run(
        [sys.executable, "-m", "logstat", "ingest", str(small), "--to", str(root), "-q"],
        cwd=REPO,
        check=True,
    )
    subprocess.run(
        [sys.executable, "-m", "logstat", "export", str(small), "-o", str(target), "-q"],
        cwd=REPO,
        check=True,
    )
    assert dataset_commits.staging_directories(root) == []
    assert _temporary(tmp_path, target.name) == []
