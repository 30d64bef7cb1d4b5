"""How a run ends when something outside logstat stops it: a full output device, Ctrl-C,
SIGTERM, and what it leaves behind (temporary files, the --state lock)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from logstat.errors import ExitCode
from tests.helpers import REPO, run_cli

SAMPLE = REPO / "samples" / "nginx-access.log"


def assert_one_line_error(code: int, err: str, expected_code: int) -> None:
    assert code == expected_code, err
    assert err.startswith("logstat: error: "), err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err


# --- output that cannot be written ------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        [str(SAMPLE)],  # more than Python buffers: fails while writing
        [str(SAMPLE), "--json"],
        [str(SAMPLE), "--markdown"],
        ["codes", "404"],  # a few lines: fails only when flushed
        ["formats"],
        ["--help"],
    ],
)
def test_a_full_output_device_is_a_one_line_error(args: list[str]) -> None:
    with open("/dev/full", "wb") as full:
        completed = subprocess.run(
            [sys.executable, "-m", "logstat", *args],
            stdin=subprocess.DEVNULL,
            stdout=full,
            stderr=subprocess.PIPE,
            cwd=REPO,
            check=False,
        )
    err = completed.stderr.decode()
    assert_one_line_error(completed.returncode, err, ExitCode.ERROR)
    assert "cannot write the output: No space left on device" in err


def test_a_failed_output_does_not_commit_the_state(tmp_path: Path) -> None:
    """The lines were not shown: the next run must read them again."""
    state = tmp_path / "x.state"
    with open("/dev/full", "wb") as full:
        completed = subprocess.run(
            [sys.executable, "-m", "logstat", str(SAMPLE), "--state", str(state), "--json"],
            stdin=subprocess.DEVNULL,
            stdout=full,
            stderr=subprocess.PIPE,
            cwd=REPO,
            check=False,
        )
    assert completed.returncode == ExitCode.ERROR
    assert not state.exists()
    code, out, err = run_cli(str(SAMPLE), "--state", str(state), "--json")
    assert code == 0, err
    assert '"records": 600' in out


# --- Ctrl-C and SIGTERM -------------------------------------------------------------------


def _stopped_run(args: list[str], signal_number: int) -> tuple[int, str]:
    """A run reading a pipe that stays open (a slow writer), stopped by a signal."""
    process = subprocess.Popen(
        [sys.executable, "-m", "logstat", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,  # this checkout's logstat
    )
    assert process.stdin is not None and process.stderr is not None
    # more than a pipe holds: once written, logstat is running and reading
    process.stdin.write(SAMPLE.read_bytes() * 8)
    process.stdin.flush()
    time.sleep(1)  # it has read what it was given and waits for more
    process.send_signal(signal_number)
    try:
        _, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail("the run did not end after the signal")
    return process.returncode, err.decode()


@pytest.mark.parametrize(
    ("signal_number", "expected"),
    [(signal.SIGINT, ExitCode.INTERRUPTED), (signal.SIGTERM, ExitCode.TERMINATED)],
)
def test_a_stopped_run_says_interrupted(signal_number: int, expected: ExitCode) -> None:
    code, err = _stopped_run(["summary", "-"], signal_number)
    assert code == expected
    assert err.strip() == "logstat: interrupted"


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM])
def test_a_stopped_export_leaves_no_temporary_file(signal_number: int, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    previous = out / "requests.parquet"
    previous.write_bytes(b"the previous export")
    code, err = _stopped_run(["export", "-", "-o", str(previous)], signal_number)
    assert code in (ExitCode.INTERRUPTED, ExitCode.TERMINATED), err
    assert sorted(path.name for path in out.iterdir()) == ["requests.parquet"]
    assert previous.read_bytes() == b"the previous export"


# --- the --state lock ----------------------------------------------------------------------


def test_a_usage_error_leaves_no_lock_file(tmp_path: Path) -> None:
    state = tmp_path / "x.state"
    code, _, err = run_cli("summary", "-", "--state", str(state))
    assert_one_line_error(code, err, ExitCode.USAGE)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_first_run_leaves_no_lock_file(tmp_path: Path) -> None:
    state = tmp_path / "x.state"
    code, _, err = run_cli(str(tmp_path / "missing.log"), "--state", str(state))
    assert_one_line_error(code, err, ExitCode.ERROR)
    assert list(tmp_path.iterdir()) == []


def test_a_run_with_a_state_keeps_its_lock_file_and_the_next_run_takes_it(
    tmp_path: Path,
) -> None:
    state = tmp_path / "x.state"
    for _ in range(2):
        code, _, err = run_cli(str(SAMPLE), "--state", str(state))
        assert code == 0, err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["x.state", "x.state.lock"]


def test_a_waiting_run_follows_a_lock_file_removed_by_its_holder(tmp_path: Path) -> None:
    """The holder of a lock for a state never written removes the lock file as it lets
    go; a run that was waiting on the old file must not think it holds the lock."""
    from logstat.reading.state import StateFile

    state = tmp_path / "x.state"
    first = StateFile.open(state)
    lock_path = tmp_path / "x.state.lock"
    assert lock_path.exists()
    waiter = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pathlib import Path\n"
            "from logstat.reading.state import StateFile\n"
            f"held = StateFile.open(Path({str(state)!r}), lock_wait_s=20)\n"
            "print(Path(held._lock.path).stat().st_ino, flush=True)\n"
            "time.sleep(1)\n"
            "held.close()\n",
        ],
        stdout=subprocess.PIPE,
        cwd=REPO,
    )
    time.sleep(1)  # the waiter has opened the old lock file and waits for it
    first.close()  # no state written: the lock file goes
    assert waiter.stdout is not None
    held_inode = int(waiter.stdout.readline())
    # while the waiter holds it, a third run cannot take the lock
    with pytest.raises(Exception, match="another logstat run"):
        StateFile.open(state, lock_wait_s=0.1).close()
    assert waiter.wait(timeout=30) == 0
    assert held_inode > 0
    assert not lock_path.exists()  # the waiter wrote no state either


# --- shares --------------------------------------------------------------------------------


def test_a_tiny_share_is_not_shown_as_zero(tmp_path: Path) -> None:
    ok = next(line for line in SAMPLE.read_text().splitlines() if '" 200 ' in line)
    lines = [ok] * 9_997 + [ok.replace('" 200 ', '" 503 ')] * 3
    log = tmp_path / "a.log"
    log.write_text("\n".join(lines) + "\n")
    code, out, err = run_cli(str(log))
    assert code == 0, err
    row = next(line for line in out.splitlines() if line.startswith("503 "))
    assert "<0.1%" in row, row
    row = next(line for line in out.splitlines() if line.startswith("200 "))
    assert ">99.9%" in row, row
    assert "0.0%" not in row and "100.0%" not in row
