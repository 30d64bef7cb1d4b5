"""`logstat summary --compare D` and `logstat.compare`: the last D of a log against the
D before it, with exact counts on a generated log of two hours (and a stray earlier one)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import logstat
from logstat.errors import LogstatError
from tests.helpers import Record, assert_one_line_error, run_cli, write_requests

NINE = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def request(moment: datetime, status: int) -> Record:
    return Record("shop.example", "10.0.0.1", moment, "GET", "/cart", status, "agent")


@pytest.fixture
def log(tmp_path: Path) -> Path:
    """Records every 30 s from 09:00:30 to 11:00:00 UTC (k = 0..239 at 09:00:30 + 30k s):
    from 09:00:30 to 10:00:00 one in 40 is a 502 (3 of 120), after it one in 4 (30 of
    120); and 10 requests between 08:00 and 08:59, all 200."""
    requests = [request(NINE - timedelta(minutes=60 - 6 * step), 200) for step in range(10)]
    for k in range(240):
        one_in = 40 if k < 120 else 4
        status = 502 if k % one_in == 0 else 200
        requests.append(request(NINE + timedelta(seconds=30 * (k + 1)), status))
    return write_requests(tmp_path / "access.log", requests)


def counts(summary: logstat.Summary) -> dict[str, int]:
    return {row.status_class: row.count for row in summary.classes if row.count}


def test_the_last_hour_ends_at_the_newest_record(log: Path) -> None:
    # newest record 11:00:00: the last hour is (10:00:00, 11:00:00], the one before
    # (09:00:00, 10:00:00]: the record at 10:00:00 is the previous hour's
    result = logstat.compare(log, "1h")
    assert result.until == datetime(2024, 3, 1, 11, 0, 0, 1, tzinfo=UTC)
    assert result.since == datetime(2024, 3, 1, 10, 0, 0, 1, tzinfo=UTC)
    assert counts(result.summary) == {"2xx": 90, "5xx": 30}
    assert counts(result.previous) == {"2xx": 117, "5xx": 3}
    bad_gateway = next(c for c in result.difference.changes if c.key == "502")
    assert (bad_gateway.before, bad_gateway.after) == (3, 30)
    assert bad_gateway.flagged and bad_gateway.direction == "up"
    assert result.difference.before.label == "the 1h before"
    assert result.difference.after.label == "the last 1h"


def test_any_duration_and_until(log: Path) -> None:
    half = logstat.compare(log, "30m")  # (10:30, 11:00] against (10:00, 10:30]: k 180.. / 120..
    assert (half.summary.totals.selected, half.previous.totals.selected) == (60, 60)
    assert counts(half.summary) == {"2xx": 45, "5xx": 15}
    # --until is exclusive: [09:00, 10:00) holds k 0..118; the hour before it the 10 strays
    ended = logstat.compare(log, "1h", until="2024-03-01T10:00:00Z")
    assert counts(ended.summary) == {"2xx": 116, "5xx": 3}
    assert counts(ended.previous) == {"2xx": 10}
    # a day: everything before the last day's start is nothing
    day = logstat.compare(log, "1d")
    assert (day.summary.totals.selected, day.previous.totals.selected) == (250, 0)
    assert all(change.z is None for change in day.difference.changes)


def test_a_window_shorter_than_the_offset_is_the_same_window_earlier(log: Path) -> None:
    # `--compare 1h --window 30m`: (10:30, 11:00] against (09:30, 10:00], k 60..119
    result = logstat.compare(log, "1h", window="30m")
    assert result.previous_window == (
        datetime(2024, 3, 1, 9, 30, 0, 1, tzinfo=UTC),
        datetime(2024, 3, 1, 10, 0, 0, 1, tzinfo=UTC),
    )
    assert counts(result.summary) == {"2xx": 45, "5xx": 15}
    assert counts(result.previous) == {"2xx": 59, "5xx": 1}
    assert result.difference.before.label == "the same 30m 1h earlier"
    code, out, err = run_cli(log, "--compare", "1h", "--window", "30m", "--json")
    assert code == 0, err
    assert json.loads(out)["windows"]["previous"] == {
        "since": "2024-03-01T09:30:00.000001Z",
        "until": "2024-03-01T10:00:00.000001Z",
    }


def test_the_other_filters_apply_to_both_windows(log: Path) -> None:
    result = logstat.compare(log, "1h", status=["5xx"])
    assert (result.summary.totals.selected, result.previous.totals.selected) == (30, 3)


def test_json_holds_the_summary_the_difference_and_the_windows(log: Path) -> None:
    result = run_cli(log, "--compare", "1h", "--json", in_process=True)
    assert result.code == 0, result.stderr
    document = result.summary
    assert document["summary"]["totals"]["selected"] == 120
    rows = {(row["kind"], row["key"]): row for row in document["compare"]["changes"]}
    assert (rows[("status", "502")]["before"], rows[("status", "502")]["after"]) == (3, 30)
    assert document["windows"] == {
        "last": {"since": "2024-03-01T10:00:00.000001Z", "until": "2024-03-01T11:00:00.000001Z"},
        "previous": {
            "since": "2024-03-01T09:00:00.000001Z",
            "until": "2024-03-01T10:00:00.000001Z",
        },
    }


def test_text_shows_the_summary_then_what_changed(log: Path) -> None:
    result = run_cli("summary", log, "--compare", "1h", "--tz", "UTC", in_process=True)
    assert result.code == 0, result.stderr
    summary_part, changed = result.stdout.split("What changed: ")
    assert (
        "Filters: since 2024-03-01 10:00:00 UTC; until 2024-03-01 11:00:00 UTC: "
        "130 of 250 records excluded, 120 kept"
    ) in summary_part
    assert changed.startswith(
        "2024-03-01 10:00:00 UTC to 2024-03-01 11:00:00 UTC against "
        "2024-03-01 09:00:00 UTC to 2024-03-01 10:00:00 UTC"
    )
    assert "Before: the 1h before: 120 requests" in changed
    assert "After: the last 1h: 120 requests" in changed
    assert "rose" in changed


def test_fail_if_judges_the_last_window(log: Path) -> None:
    tripped = run_cli(log, "--compare", "1h", "--fail-if", "5xx > 20%", in_process=True)
    assert tripped.code == 4 and "fail-if" in tripped.stderr
    calm = run_cli(
        log,
        "--compare",
        "1h",
        "--until",
        "2024-03-01T10:00:00Z",
        "--fail-if",
        "5xx > 20%",
        in_process=True,
    )
    assert calm.code == 0, calm.stderr


@pytest.mark.parametrize(
    ("words", "fragment"),
    [
        (["--compare", "0h"], "--compare '0h'"),
        (["--compare", "hour"], "--compare 'hour'"),
        (["--compare", "1h", "--since", "2h"], "--since"),
        (["--compare", "1h", "--markdown"], "--markdown"),
        (["--compare", "1h", "--until", "yesterday"], "--until"),
        (["--compare", "1h", "--rejects", "rejects.csv"], "--rejects"),
        (["--compare", "1h", "--prometheus", "metrics.prom"], "--prometheus"),
        (["--compare", "1h", "--state", "logstat.state"], "--state"),
        (["--compare", "1h", "--window", "2h"], "--window '2h' is longer than --compare '1h'"),
        (["--window", "1h"], "--window goes with --compare"),
    ],
)
def test_usage_errors_are_one_line(log: Path, words: list[str], fragment: str) -> None:
    result = run_cli(log, *words, in_process=True)
    assert result.code == 2
    assert_one_line_error(result, fragment)


def test_stdin_and_a_state_file_are_refused(tmp_path: Path) -> None:
    stdin = run_cli("summary", "-", "--compare", "1h", in_process=True)
    assert stdin.code == 2
    assert_one_line_error(stdin, "stdin")
    with pytest.raises(LogstatError, match="--state"):
        logstat.compare(tmp_path / "access.log", "1h", state=tmp_path / "state")
