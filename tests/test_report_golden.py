"""Golden reports: every fixtures/report/*.log rendered as plain text, Markdown and JSON.

A new log in fixtures/report/ is a new test; it fails until its goldens exist.
Write or refresh them (and read the diff!) with:

    LOGSTAT_UPDATE_GOLDEN=1 python3 -m pytest tests/test_report_golden.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.reporting import REPORT_FIXTURES, run_cli

OPTIONS = ["--every", "1h", "--top", "3", "--by", "host", "--fail-if", "5xx > 10%", "--tz", "UTC"]
VIEWS = {"txt": [], "md": ["--markdown"], "json": ["--json"]}
UPDATE = os.environ.get("LOGSTAT_UPDATE_GOLDEN") == "1"


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("log", sorted(REPORT_FIXTURES.glob("*.log")), ids=lambda path: path.name)
def test_report_matches_golden(
    log: Path, view: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)  # file names in the report are as given: relative
    relative = str(log.relative_to(REPO))
    code, out, _ = run_cli(capsys, "report", relative, *OPTIONS, *VIEWS[view])
    assert code in (0, 4)
    golden = log.with_name(f"{log.stem}.report.{view}")
    if UPDATE:
        golden.write_text(out, encoding="utf-8")
    assert golden.exists(), f"no golden {golden.name}: run with LOGSTAT_UPDATE_GOLDEN=1"
    assert out == golden.read_text(encoding="utf-8")
