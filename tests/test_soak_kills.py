"""The kill -9 soak of `logstat ingest` (tests/soak/kill_ingest.py), in a bounded form:
a few kills at random moments of a small log; every line must end up in the
dataset exactly once.  Run the script itself for the long version (20 kills)."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import REPO


def test_ingest_killed_at_random_moments_holds_each_line_once() -> None:
    completed = subprocess.run(
        [
            sys.executable,
            str(REPO / "tests" / "soak" / "kill_ingest.py"),
            "--kills",
            "3",
            "--lines",
            "4000",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "each once" in completed.stdout
