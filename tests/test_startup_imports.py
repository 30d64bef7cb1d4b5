"""Commands that read no log start without polars, pyarrow, numpy or rich (polars alone
is about 0.2-0.3 s of imports here): help, usage errors, `formats`, `codes`."""

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
heavy = ("polars", "pyarrow", "numpy", "rich")
sys.stderr.write("heavy modules loaded: %s\\n" % [name for name in heavy if name in sys.modules])
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
        ["summary", "--no-such-option", "access.log"],
        ["export", "access.log"],  # a usage error: no --output
        ["report", "--help"],
        ["--version"],
    ],
    ids=" ".join,
)
def test_no_heavy_imports_for_commands_that_read_no_log(arguments: list[str]) -> None:
    run = subprocess.run(
        [sys.executable, "-c", PROBE, *arguments],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert "heavy modules loaded: []" in run.stderr, run.stderr
