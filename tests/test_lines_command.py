"""`logstat lines`: the lines behind a count are the lines the summary counted."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from logstat.report.lines_note import exact_path
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


def drilldowns(text: str) -> list[str]:
    """The commands the plain report shows under its tables."""
    return [
        line.split(": ", 1)[1]
        for line in text.splitlines()
        if line.startswith(("Lines behind a row: ", "Lines behind the "))
    ]


def lines_of(command: str, **values: str) -> int:
    words = shlex.split(command)
    assert words[:2] == ["logstat", "lines"]
    words = [values.get(word, word) for word in words[2:]]
    code, out, error = run_cli("lines", *words)
    assert code == 0, error
    return len(out.splitlines())


def test_the_command_under_each_table_prints_the_lines_behind_its_rows() -> None:
    # the times as resolved (in UTC), the path filter as given
    filters = ["--since", "2026-11-20T22:10", "--path", "^/(cart|api)", "--tz", "UTC"]
    code, out, _ = run_cli("report", str(SAMPLE), "--status", "5xx,499", "--top", "3", *filters)
    assert code == 0
    commands = drilldowns(out)
    by_status, top_path, top_client = commands[0], commands[1], commands[2]
    assert "--since 2026-11-20T22:10:00Z" in by_status and "--path '^/(cart|api)'" in by_status
    code, out, _ = run_cli(str(SAMPLE), "--json", "--status", "5xx,499", *filters)
    document = json.loads(out)
    for row in document["statuses"]:
        assert lines_of(by_status, STATUS=str(row["status"])) == row["count"]
    code, out, _ = run_cli(
        "report", str(SAMPLE), "--json", "--status", "5xx,499", "--top", "3", *filters
    )
    group = json.loads(out)["top"]["groups"][0]
    assert group["group"] == "5xx" and group["fields"][0]["field"] == "path"
    # the note names the first row's path, escaped and anchored; another row's path
    # goes in its place
    words = shlex.split(top_path)
    first_row = words[len(words) - words[::-1].index("--path")]  # the last --path
    for entry in group["fields"][0]["entries"]:
        exact = "^" + re.escape(entry["value"]) + "$"
        assert lines_of(top_path, **{first_row: exact}) == entry["count"]
    assert lines_of(top_path) == group["fields"][0]["entries"][0]["count"]
    assert lines_of(top_client) == group["count"]


def test_no_command_when_the_input_cannot_be_read_again() -> None:
    code, out, _ = run_cli("-", stdin=SAMPLE.read_bytes())
    assert code == 0 and "By status" in out and not drilldowns(out)


# ingress-nginx `upstreaminfo` lines: a duration, so the summary has the tables by path
UPSTREAMINFO = (
    '10.1.0.5 - - [02/Mar/2024:00:00:{second:02d} +0000] "GET {target} HTTP/1.1" 200 574 "-" '
    '"curl/8" 320 0.0{second:02d} [default-api-80] [] 10.2.0.9:8080 512 0.030 200 req{second:04d}'
)
# the path every --path regex character is in, and paths its unescaped or unanchored
# pattern would match too (the query string is not part of the path)
EXACT = "/a.b/(x)+[1]|$*{2}^#&-~\\"
TARGETS = [f"{EXACT}?q=1+2", EXACT, f"{EXACT}?q=(3)", f"{EXACT}?q=1"]
DECOYS = ["/aXb/(x)+[1]|$*{2}^#&-~\\", "/a.b/xx1", "/pre/a.b/(x)+[1]|$*{2}^#&-~\\", f"{EXACT}/more"]


def first_row_command(text: str, title: str) -> str:
    """The command under the table `title` (for its first row)."""
    table = text[text.index(title) :]
    note = next(line for line in table.splitlines() if "Lines behind the first row" in line)
    return note[note.index(": logstat lines ") + 2 :]


def test_the_command_under_the_tables_by_path_prints_exactly_that_paths_lines(
    tmp_path: Path,
) -> None:
    """--path is a regex searched anywhere: the command under the tables by path gives
    the first row's path anchored and escaped, so it matches that path alone."""
    log = tmp_path / "access.log"
    lines = [
        UPSTREAMINFO.format(second=second, target=target)
        for second, target in enumerate(TARGETS + DECOYS)
    ]
    log.write_text("\n".join(lines) + "\n", "utf-8")
    code, text, error = run_cli("summary", str(log), "--top", "3")
    assert code == 0, error
    code, out, _ = run_cli("summary", str(log), "--top", "3", "--json")
    first = json.loads(out)["latency"]["top_paths"]["paths"][0]
    assert first["path"] == EXACT and first["requests"] == len(TARGETS)
    for title in ("Latency by path", "Requests and bytes by path"):
        command = first_row_command(text, title)
        words = shlex.split(command)
        assert words[:3] == ["logstat", "lines", str(log)]
        code, found, error = run_cli("lines", *words[2:])
        assert code == 0, error
        assert found.splitlines() == lines[: len(TARGETS)]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=12), st.lists(st.text(max_size=12), max_size=6))
def test_an_exact_path_pattern_matches_that_path_and_no_other(path: str, others: list[str]) -> None:
    """As --path applies it (polars' str.contains, Rust regex syntax): any text, with
    regex characters, line breaks or control characters, is matched alone."""
    candidates = pl.Series([path, *others, path + "/", "/" + path, path * 2], dtype=pl.String)
    pattern = exact_path(path)
    matched = candidates.str.contains(pattern).to_list()
    assert matched == [candidate == path for candidate in candidates.to_list()]
    assert all(character.isprintable() for character in pattern)
