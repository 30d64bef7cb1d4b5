"""The commands that write no summary (export, ingest) say on stderr what the summary
lists under a file: here, a damaged .gz read only up to its damage.  With -q too: a cron
job's stderr is what reaches someone."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from tests.helpers import REPO, run_cli

SAMPLE = REPO / "samples" / "nginx-access.log"


@pytest.mark.parametrize("command", ["export", "ingest"])
def test_a_damaged_file_is_named_on_stderr(command: str, tmp_path: Path) -> None:
    packed = gzip.compress(SAMPLE.read_bytes())
    damaged = tmp_path / "access.log.2.gz"
    damaged.write_bytes(packed[: len(packed) // 2])  # cut short, as by a full disk
    output = ["-o", str(tmp_path / "out.csv")] if command == "export" else []
    output += ["--to", str(tmp_path / "ds")] if command == "ingest" else []
    code, _, errors = run_cli(command, str(damaged), *output, "-q")
    assert code == 0, errors
    assert errors.splitlines() == [
        f"logstat: warning: {damaged}: stopped reading early: compressed data is truncated"
    ]
