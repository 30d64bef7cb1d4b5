"""Every output file appears whole or not at all.

Exports (CSV, Parquet), --rejects, --prometheus, --state, the dashboard and
the ingested dataset are written beside their target and renamed into place.
A write that fails half-way (a full disk, simulated by a file whose writes
fail after a few hundred bytes, and for real on a tiny tmpfs when this process
may mount one; or an interrupt) must leave the previous file as it was, no
temporary file behind, and say so in one line with exit code 1.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from logstat.outputs import atomic
from tests.helpers import run_cli
from tests.strategies import nginx_lines


@dataclass(frozen=True)
class Output:
    """One kind of output file: the command that writes it to `target`."""

    name: str
    file_name: str
    arguments: Callable[[Path, Path], list[str]]  # (log, target) -> argv


OUTPUTS = [
    Output("export-csv", "rows.csv", lambda log, target: ["export", str(log), "-o", str(target)]),
    Output(
        "export-parquet",
        "rows.parquet",
        lambda log, target: ["export", str(log), "-o", str(target)],
    ),
    Output("rejects", "rejects.csv", lambda log, target: [str(log), "--rejects", str(target)]),
    Output(
        "prometheus", "logstat.prom", lambda log, target: [str(log), "--prometheus", str(target)]
    ),
    Output("state", "state.json", lambda log, target: [str(log), "--state", str(target)]),
    Output(
        "dashboard", "index.html", lambda log, target: ["dashboard", str(log), "-o", str(target)]
    ),
]
CASES = [pytest.param(output, id=output.name) for output in OUTPUTS]


def _log(directory: Path, count: int, seed: int) -> Path:
    """A log with good lines and a few bad ones (so --rejects has rows to write)."""
    path = directory / "access.log"
    path.write_bytes(nginx_lines(count, seed=seed) + b"not a log line\n" * 20)
    return path


def assert_write_error(stderr: str, target: Path, reason: str = "No space left on device") -> None:
    """One line naming the file and the reason (polars may add `(os error 28)`)."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"logstat: error: {target}: cannot write: "), lines[0]
    assert reason in lines[0], lines[0]


def _leftovers(directory: Path, target: Path) -> list[str]:
    """Temporary files atomic writes leave when they fail to clean up."""
    return sorted(
        name
        for name in os.listdir(directory)
        if name.startswith(f".{target.name}.") or "staging" in name
    )


class _FailingFile(io.RawIOBase):
    """A file whose writes fail once `limit` bytes are written, as on a full disk."""

    def __init__(self, handle: Any, limit: int, error: BaseException) -> None:
        self._handle = handle
        self._left = limit
        self._error = error

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        size = len(memoryview(data).cast("B"))
        if size > self._left:
            raise self._error
        self._left -= size
        written: int = self._handle.write(data)
        return written

    def fileno(self) -> int:
        descriptor: int = self._handle.fileno()
        return descriptor

    def flush(self) -> None:
        self._handle.flush()

    def close(self) -> None:
        super().close()  # flushes first
        self._handle.close()

    def tell(self) -> int:
        position: int = self._handle.tell()
        return position


@contextlib.contextmanager
def failing_writes(
    monkeypatch: pytest.MonkeyPatch, limit: int = 300, error: BaseException | None = None
) -> Iterator[None]:
    """Make the files atomic_output opens fail after `limit` bytes."""
    error = error or OSError(errno.ENOSPC, "No space left on device")

    def fdopen(descriptor: int, *args: Any, **kwargs: Any) -> Any:
        return _FailingFile(os.fdopen(descriptor, *args, **kwargs), limit, error)

    with monkeypatch.context() as patch:
        patch.setattr(atomic, "os", SimpleNamespace(**{**vars(os), "fdopen": fdopen}))
        yield


@pytest.mark.parametrize("output", CASES)
def test_failed_write_keeps_the_previous_file(
    output: Output,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = tmp_path / output.file_name
    log = _log(tmp_path, 200, seed=1)
    code, _, err = run_cli(*output.arguments(log, target), "--quiet", in_process=True)
    assert code == 0, err
    previous = target.read_bytes()
    log = _log(tmp_path, 3000, seed=2)  # new content, so a new file would differ
    with failing_writes(monkeypatch):
        code, _, err = run_cli(*output.arguments(log, target), "--quiet", in_process=True)
    assert code == 1
    assert_write_error(err, target)
    assert target.read_bytes() == previous
    assert _leftovers(tmp_path, target) == []


@pytest.mark.parametrize("output", CASES)
def test_interrupted_write_keeps_the_previous_file(
    output: Output,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ctrl-C in the middle of writing: the old file stays, the temporary file goes."""
    target = tmp_path / output.file_name
    target.write_bytes(b"previous contents\n")
    log = _log(tmp_path, 3000, seed=3)
    with failing_writes(monkeypatch, error=KeyboardInterrupt()):
        code = run_cli(*output.arguments(log, target), "--quiet", in_process=True).code
    assert code != 0
    assert target.read_bytes() == b"previous contents\n"
    assert _leftovers(tmp_path, target) == []


@pytest.mark.parametrize("output", CASES)
def test_new_file_appears_only_when_complete(
    output: Output,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = tmp_path / output.file_name
    log = _log(tmp_path, 3000, seed=4)
    with failing_writes(monkeypatch):
        code = run_cli(*output.arguments(log, target), "--quiet", in_process=True).code
    assert code == 1
    assert not target.exists()
    assert _leftovers(tmp_path, target) == []


def test_output_into_a_missing_directory_is_a_one_line_error(tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "dir" / "rows.csv"
    result = run_cli("export", _log(tmp_path, 10, seed=5), "-o", target)
    assert result.code == 1
    assert result.stderr.strip().splitlines() == [
        f"logstat: error: {target}: cannot write: No such file or directory"
    ]


def test_failed_ingest_leaves_the_dataset_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from logstat.outputs import dataset_commits  # opens the part files of a local dataset

    root = tmp_path / "dataset"
    code, _, err = run_cli(
        "ingest", str(_log(tmp_path, 200, seed=6)), "--to", str(root), "--quiet", in_process=True
    )
    assert code == 0, err
    before = {path: path.read_bytes() for path in root.rglob("*") if path.is_file()}
    assert before

    def failing_open(path: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = open(path, mode, *args, **kwargs)  # noqa: SIM115
        if "w" not in mode:
            return handle
        return _FailingFile(handle, 300, OSError(errno.ENOSPC, "No space left on device"))

    monkeypatch.setattr(dataset_commits, "open", failing_open, raising=False)
    log = _log(tmp_path, 5000, seed=7)
    code, _, err = run_cli("ingest", str(log), "--to", str(root), "--quiet", in_process=True)
    assert code == 1
    assert len(err.strip().splitlines()) == 1 and "No space left on device" in err, err
    after = {path: path.read_bytes() for path in root.rglob("*") if path.is_file()}
    assert after == before
    assert [name for name in os.listdir(tmp_path) if "staging" in name] == []


# --- a real full disk ----------------------------------------------------------------


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs, when this process may mount one (root in a VM or container)."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount_point)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here: the simulated full disk tests cover this")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)


ON_DISK = ("export-csv", "export-parquet", "rejects")


@pytest.mark.parametrize(
    "output", [pytest.param(output, id=output.name) for output in OUTPUTS if output.name in ON_DISK]
)
def test_full_disk(output: Output, tiny_disk: Path, tmp_path: Path) -> None:
    target = tiny_disk / output.file_name
    small = _log(tmp_path, 50, seed=8)
    assert run_cli(*output.arguments(small, target), "--quiet").code == 0
    previous = target.read_bytes()
    big = tmp_path / "big.log"
    # incompressible enough to overflow the disk as CSV, as Parquet and as rejected lines
    bad = b"".join(b"bad %d %s\n" % (line, os.urandom(60).hex().encode()) for line in range(3000))
    big.write_bytes(nginx_lines(20_000, seed=9) + bad)
    result = run_cli(*output.arguments(big, target), "--quiet")
    assert result.code == 1
    assert_write_error(result.stderr, target)
    assert target.read_bytes() == previous
    assert _leftovers(tiny_disk, target) == []
