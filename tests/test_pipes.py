"""Pipes, FIFOs and devices named as paths are read once, whole, as stdin is.

`logstat summary <(zcat access.log.gz)` and `cat big | logstat ingest /dev/stdin`
give a path that can be read only once: detection's head must be kept, not read
again from a second open (which lost the first 64 KiB or hung on a FIFO).
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import polars as pl
import pytest

from tests.helpers import REPO, log_line, run_cli

SAMPLE = REPO / "samples" / "nginx-access.log"


def big_log(lines: int) -> bytes:
    """Far more than detection's 64 KiB head, and than one read of a pipe."""
    return "".join(log_line(number) for number in range(lines)).encode()


def summary_through_fd(data: bytes, *extra: str) -> dict[str, int]:
    """`logstat summary /dev/fd/N --json` where N is the read end of a pipe, as bash's `<(...)`."""
    read_end, write_end = os.pipe()
    process = subprocess.Popen(
        [sys.executable, "-m", "logstat", "summary", f"/dev/fd/{read_end}", "--json", *extra],
        pass_fds=(read_end,),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        cwd=REPO,
    )
    os.close(read_end)
    writer = threading.Thread(target=_write_all, args=(write_end, data))
    writer.start()
    output, errors = process.communicate(timeout=120)
    writer.join()
    assert process.returncode == 0, errors.decode()
    totals: dict[str, int] = json.loads(output)["totals"]
    return totals


def _write_all(descriptor: int, data: bytes) -> None:
    with os.fdopen(descriptor, "wb") as handle, contextlib.suppress(BrokenPipeError):
        handle.write(data)


def test_process_substitution_of_the_sample_counts_every_line() -> None:
    totals = summary_through_fd(SAMPLE.read_bytes())
    assert totals["lines"] == 600
    assert totals["records"] == 600


@pytest.mark.parametrize("compressed", [False, True])
def test_a_big_pipe_given_as_a_path_loses_nothing(compressed: bool) -> None:
    data = big_log(5000)
    totals = summary_through_fd(gzip.compress(data) if compressed else data)
    assert totals["lines"] == 5000


def test_ingest_dev_stdin_writes_every_row(tmp_path: Path) -> None:
    data = big_log(4000)
    code, _, errors = run_cli("ingest", "/dev/stdin", "--to", str(tmp_path / "ds"), stdin=data)
    assert code == 0, errors
    rows = (
        pl.scan_parquet(tmp_path / "ds" / "**" / "*.parquet", hive_partitioning=True)
        .select(pl.len())
        .collect()
    )
    expected = sum(1 for number in range(4000) if number % 13 != 12)  # garbage is rejected
    assert rows.item() == expected


def test_a_fifo_is_read_once_and_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "access.fifo"
    os.mkfifo(fifo)
    data = big_log(3000)

    def feed() -> None:
        with fifo.open("wb") as handle, contextlib.suppress(BrokenPipeError):
            handle.write(data)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    code, output, errors = run_cli("summary", str(fifo), "--json", timeout=60)
    writer.join(timeout=5)
    assert code == 0, errors
    assert json.loads(output)["totals"]["lines"] == 3000


def test_state_refuses_a_pipe_given_as_a_path(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    code, _, errors = run_cli(
        "summary", "/dev/stdin", "--state", str(state_file), stdin=SAMPLE.read_bytes()
    )
    assert code == 2
    assert errors.count("\n") == 1
    assert "not a regular file" in errors
    assert not state_file.exists()
