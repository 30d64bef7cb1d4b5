"""Commands that read no log start without polars (about 0.3 s of imports here)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers import REPO

PROBE = """
import sys
sys.argv = ["logstat", *sys.argv[1:]]
from logstat.cli import main
try:
    main()
except SystemExit:
    pass
sys.stderr.write("polars loaded: %s\\n" % ("polars" in sys.modules))
"""


@pytest.mark.parametrize(
    "arguments",
    [
        ["--help"],
        ["formats"],
        ["codes", "499", "502"],
        ["codes", "502", "--source", "alb", "--json"],
        ["codes", "5xx", "--vendor", "esri"],
        ["codes", "CD--", "sQ", "--source", "haproxy"],  # a layer's table, not a code
        ["summary"],  # a usage error: no logs named
    ],
    ids=" ".join,
)
def test_no_polars_for_commands_that_read_no_log(arguments: list[str]) -> None:
    run = subprocess.run(
        [sys.executable, "-c", PROBE, *arguments],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert "polars loaded: False" in run.stderr, run.stderr
