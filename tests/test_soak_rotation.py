"""The logrotate soak (tests/soak/rotation.py) in a bounded form: a few simulated days of
the README's nightly and live `ingest` jobs into one dataset, under logrotate with
`delaycompress` and with `compress`, runs overlapping; every line written must be in
the dataset exactly once.

`LOGSTAT_SOAK_DAYS=12` runs the long version instead (every job, `rotate 5`), as
`python -m tests.soak.rotation` does.  The soak runs in a child process, which runs
logstat in child processes of its own: nothing forks a process that imported polars.
"""

from __future__ import annotations

import os
import subprocess
import sys

from tests.helpers import REPO


def test_nightly_and_live_ingest_under_logrotate_hold_each_line_once() -> None:
    days = os.environ.get("LOGSTAT_SOAK_DAYS")
    bounded = ["--days", "3", "--rotate", "2", "--runs-per-day", "2", "--jobs", "shared"]
    completed = subprocess.run(
        [sys.executable, "-m", "tests.soak.rotation", *([] if days else bounded)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=None if days else 240,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "every line written is in each dataset exactly once" in completed.stdout
