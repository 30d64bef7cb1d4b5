"""`logstat lines`: the lines behind a count are the lines the summary counted."""

from __future__ import annotations

import json
import re

from tests.helpers import REPO, run_cli

SAMPLE = REPO / "samples" / "nginx-access.log"
STATUS = re.compile(r'" (\d{3}) ')


def summary_count(*filters: str) -> int:
    code, out, _ = run_cli(str(SAMPLE), "--json", "--tz", "UTC", *filters)
    assert code == 0
    return int(json.loads(out)["totals"]["selected"])


def test_the_lines_are_those_logged_with_the_status() -> None:
    code, out, error = run_cli("lines", str(SAMPLE), "--status", "502,504")
    assert code == 0, error
    expected = [
        line
        for line in SAMPLE.read_text().splitlines()
        if (found := STATUS.search(line)) and found.group(1) in ("502", "504")
    ]
    assert out.splitlines() == expected
    assert len(expected) == summary_count("--status", "502,504") > 0


def test_json_rows_match_the_summary_for_the_same_filters() -> None:
    filters = ["--since", "2026-11-20T22:00", "--until", "2026-11-20T22:10", "--tz", "UTC"]
    code, out, _ = run_cli("lines", str(SAMPLE), "--json", *filters)
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == summary_count(*filters) > 0
    assert all("2026-11-20T22:00" <= row["timestamp"] < "2026-11-20T22:10" for row in rows)
    assert {"status", "path", "line", "line_no", "file"} <= rows[0].keys()


def test_limit_stops_early() -> None:
    code, out, _ = run_cli("lines", str(SAMPLE), "--limit", "3")
    assert code == 0 and out.splitlines() == SAMPLE.read_text().splitlines()[:3]
