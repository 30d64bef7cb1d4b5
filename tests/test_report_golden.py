"""Golden reports: every fixtures/report/*.log rendered as plain text, Markdown and JSON.

A new log in fixtures/report/ is a new test; it fails until its goldens exist.
Write or refresh them (and read the diff!) with:

    LOGSTAT_UPDATE_GOLDEN=1 python3 -m pytest tests/test_report_golden.py
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import REPO, REPORT_FIXTURES, check_golden, run_cli

OPTIONS = ["--every", "1h", "--top", "3", "--by", "host", "--fail-if", "5xx > 10%", "--tz", "UTC"]
VIEWS = {"txt": [], "md": ["--markdown"], "json": ["--json"]}


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("log", sorted(REPORT_FIXTURES.glob("*.log")), ids=lambda path: path.name)
def test_report_matches_golden(log: Path, view: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)  # file names in the report are as given: relative
    relative = str(log.relative_to(REPO))
    code, out, _ = run_cli("report", relative, *OPTIONS, *VIEWS[view], in_process=True)
    assert code in (0, 4)
    check_golden(log.with_name(f"{log.stem}.report.{view}"), out)
