"""A file that goes away during a run (rotated or deleted between its listing and its
opening) costs only that file: the run warns, reads the rest, and exits 6 (partial).

And an argument that names no file at all, a glob matching nothing or an empty
directory, is the same one-line error (exit 1).
"""

from __future__ import annotations

import glob
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import polars as pl
import pytest

from logstat.errors import ExitCode
from logstat.reading import sources
from tests.helpers import CliResult, log_line, run_cli

COMMANDS = ["summary", "ingest", "export", "dashboard"]


def write(path: Path, first: int, count: int) -> Path:
    path.write_text("".join(log_line(number) for number in range(first, first + count)))
    return path


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    directory = tmp_path / "logs"
    directory.mkdir()
    write(directory / "a.log", 0, 20)
    write(directory / "b.log", 20, 30)
    write(directory / "c.log", 50, 40)
    return directory


def cli(command: str, arguments: list[str], tmp_path: Path) -> CliResult:
    outputs = {
        "summary": ["--json"],
        "ingest": ["--to", str(tmp_path / "ds")],
        "export": ["-o", str(tmp_path / "out.csv")],
        "dashboard": ["-o", str(tmp_path / "page.html")],
    }
    return run_cli(command, *arguments, *outputs[command], "-q", in_process=True)


def vanish_on_open(monkeypatch: pytest.MonkeyPatch, target: Path, nth: int) -> Callable[[], int]:
    """Delete `target` just before it is opened for the `nth` time (1: the first)."""
    real_open = sources._open_file
    opened = 0

    def open_file(path: Path) -> BinaryIO:
        nonlocal opened
        if Path(path) == target:
            opened += 1
            if opened == nth:
                target.unlink()
        return real_open(path)

    monkeypatch.setattr(sources, "_open_file", open_file)
    return lambda: opened


def counted_paths(command: str, tmp_path: Path, out: str) -> int:
    """How many requests the command's output holds."""
    if command == "summary":
        return int(json.loads(out)["totals"]["records"])
    if command == "ingest":
        parquet = pl.scan_parquet(tmp_path / "ds" / "**" / "*.parquet", hive_partitioning=True)
        return int(parquet.select(pl.len()).collect().item())
    if command == "export":
        return pl.read_csv(tmp_path / "out.csv").height
    return -1  # the dashboard: only the exit code and the warning are checked


def records(first: int, count: int) -> int:
    return sum(1 for number in range(first, first + count) if number % 13 != 12)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("when", ["detection", "reading"])
def test_a_file_gone_before_it_is_opened_costs_only_that_file(
    command: str,
    when: str,
    logs: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    opened = vanish_on_open(monkeypatch, logs / "b.log", 1 if when == "detection" else 2)
    code, out, errors = cli(command, [str(logs / "*.log"), "--format", "nginx"], tmp_path)
    assert code == ExitCode.PARTIAL == 6, errors
    assert opened() >= 1
    assert f"logstat: warning: {logs / 'b.log'}: gone before it could be read" in errors
    assert "error" not in errors
    if command != "dashboard":
        assert counted_paths(command, tmp_path, out) == records(0, 20) + records(50, 40)


def test_a_file_gone_between_the_glob_and_its_status(
    logs: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_glob = glob.glob

    def listed_then_deleted(pattern: str, **options: Any) -> list[str]:
        return [*real_glob(pattern, **options), str(logs / "b.log.1")]  # gone since

    monkeypatch.setattr(glob, "glob", listed_then_deleted)
    code, out, errors = cli("summary", [str(logs / "*.log")], tmp_path)
    assert code == ExitCode.PARTIAL, errors
    assert "b.log.1: gone before it could be read" in errors
    totals = json.loads(out)["totals"]
    assert totals["lines"] == 90
    gone = [file for file in json.loads(out)["files"] if file["name"].endswith("b.log.1")]
    assert gone and "gone before it could be read" in gone[0]["problems"][0]


@pytest.mark.parametrize("command", ["summary", "ingest"])
@pytest.mark.parametrize("nth", [1, 2, 3])
def test_under_state_a_vanished_file_is_read_when_found_again(
    command: str,
    nth: int,
    logs: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Gone at its first, second or third opening (fingerprint, detection, reading): the
    state remembers nothing of it, and a later run reads it whole."""
    state_file = tmp_path / "state.json"
    arguments = [str(logs / "*.log"), "--state", str(state_file)]
    keep = (logs / "b.log").read_bytes()
    with monkeypatch.context() as patch:
        vanish_on_open(patch, logs / "b.log", nth)
        code, out, errors = cli(command, arguments, tmp_path)
    assert code == ExitCode.PARTIAL, errors
    first = counted_paths(command, tmp_path, out)
    if command == "summary":
        assert first == records(0, 20) + records(50, 40)
    (logs / "b.log").write_bytes(keep)  # back, as a rotated file may be found again
    code, out, errors = cli(command, arguments, tmp_path)
    assert code == 0, errors
    total = counted_paths(command, tmp_path, out)
    if command == "summary":
        total += first
    assert total == records(0, 90)


def test_an_input_gone_before_the_state_looks_at_it(
    logs: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state_file = tmp_path / "state.json"
    real_glob = glob.glob

    def listed_then_deleted(pattern: str, **options: Any) -> list[str]:
        return [*real_glob(pattern, **options), str(logs / "d.log")]

    monkeypatch.setattr(glob, "glob", listed_then_deleted)
    code, out, errors = cli("summary", [str(logs / "*.log"), "--state", str(state_file)], tmp_path)
    assert code == ExitCode.PARTIAL, errors
    assert json.loads(out)["totals"]["lines"] == 90


def test_an_alert_wins_over_a_partial_run(
    logs: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    vanish_on_open(monkeypatch, logs / "b.log", 1)
    code, _, errors = cli("summary", [str(logs / "*.log"), "--fail-if", "5xx > 0"], tmp_path)
    assert code == ExitCode.ALERT, errors
    assert "gone before it could be read" in errors


@pytest.mark.parametrize("command", COMMANDS)
def test_an_empty_directory_is_like_a_glob_matching_nothing(command: str, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / ".hidden").write_text(log_line(0))
    (empty / "sub").mkdir()
    code, _, errors = cli(command, [str(empty)], tmp_path)
    assert code == ExitCode.ERROR
    assert errors == f"logstat: error: {empty}: no files in this directory (hidden files skipped)\n"
    code, _, errors = cli(command, [str(tmp_path / "nothing*.log")], tmp_path)
    assert code == ExitCode.ERROR
    assert errors.count("\n") == 1 and "no files match" in errors
