"""Filters: parsing of --since/--until/--status/--path/--host/--method/--source, and
that the polars predicate keeps exactly the records a plain Python reference keeps."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logstat.errors import ExitCode, LogstatError
from logstat.filters import (
    Filters,
    StatusTerm,
    parse_duration,
    parse_filters,
    parse_moment,
    parse_status_terms,
)
from logstat.status import status_class
from logstat.summary import ReportSettings
from tests.helpers import START, Record, run_cli, summarise, write_requests
from tests.strategies import records_strategy

NOW = datetime(2024, 3, 4, 12, 0, tzinfo=UTC)


# Parsing


def test_status_terms_codes_classes_and_ranges() -> None:
    terms = parse_status_terms(["5xx,499", " 400-403 ", "OTHER,none"])
    assert [(term.text, term.kind) for term in terms] == [
        ("5xx", "class"),
        ("499", "status"),
        ("400-403", "range"),
        ("other", "class"),
        ("none", "class"),
    ]


def test_status_terms_drop_repeats() -> None:
    assert len(parse_status_terms(["5xx,5XX", "5xx"])) == 1


@pytest.mark.parametrize("value", ["4x", "500-400", "abc", "", "5xx,", "6xx", "12345"])
def test_bad_status_term_is_a_usage_error_naming_it(value: str) -> None:
    with pytest.raises(LogstatError) as raised:
        parse_status_terms([value])
    assert raised.value.exit_code == ExitCode.USAGE
    assert "--status" in raised.value.message and repr(value) in raised.value.message


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("5m", 300), ("1h", 3600), ("1d", 86400), ("2w", 14 * 86400), ("90s", 90), ("15M", 900)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text, "--every").seconds == seconds


@pytest.mark.parametrize("text", ["0m", "5", "5y", "", "m", "-5m", "1.5h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(LogstatError) as raised:
        parse_duration(text, "--every")
    assert raised.value.exit_code == ExitCode.USAGE and "--every" in raised.value.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
        ("2024-05-01T10:00", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01 10:00:30", datetime(2024, 5, 1, 10, 0, 30, tzinfo=UTC)),
        ("2024-05-01T10:00+02:00", datetime(2024, 5, 1, 8, tzinfo=UTC)),
        ("2024-05-01T10:00:00Z", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2h", NOW - timedelta(hours=2)),
        ("7d", NOW - timedelta(days=7)),
        ("30m", NOW - timedelta(minutes=30)),
    ],
)
def test_moments_are_utc(text: str, expected: datetime) -> None:
    """Naive times are UTC whatever the local zone (conftest sets Pacific/Chatham)."""
    moment = parse_moment(text, "--since", NOW)
    assert moment == expected and moment.utcoffset() == timedelta(0)


def test_relative_moments_use_the_current_time() -> None:
    before = datetime.now(UTC)
    since = parse_filters(since="1h").since
    assert since is not None
    assert before - timedelta(hours=1, seconds=5) <= since <= datetime.now(UTC) - timedelta(hours=1)


@pytest.mark.parametrize(
    ("arguments", "names"),
    [
        ({"since": "yesterday"}, "--since"),
        ({"until": "2024-13-01"}, "--until"),
        ({"since": "2024-05-02", "until": "2024-05-01"}, "--since"),
        ({"path": "(unclosed"}, "--path"),
        ({"sources": ["nginx,nosuch"], "known_sources": ["nginx", "apache"]}, "nosuch"),
    ],
)
def test_bad_filters_are_usage_errors(arguments: dict[str, object], names: str) -> None:
    with pytest.raises(LogstatError) as raised:
        parse_filters(now=NOW, **arguments)  # type: ignore[arg-type]
    assert raised.value.exit_code == ExitCode.USAGE and names in raised.value.message


def test_no_filter_means_no_predicate() -> None:
    empty = parse_filters(now=NOW)
    assert not empty.active and empty.expression() is None and empty.columns() == set()


def test_filters_ask_only_for_the_columns_they_read() -> None:
    chosen = parse_filters(since="2h", path="^/api", hosts=["a"], now=NOW)
    assert chosen.columns() == {"timestamp", "path", "host"}


# Behaviour: the predicate against a Python reference


def keeps(record: Record, filters: Filters) -> bool:
    """What the documentation promises, written plainly."""
    if filters.since and record.moment < filters.since:
        return False
    if filters.until and record.moment >= filters.until:
        return False
    if filters.statuses and not any(
        term.covers(record.status, status_class(record.status)) for term in filters.statuses
    ):
        return False
    if filters.path is not None and not re.search(filters.path, record.path):
        return False
    if filters.hosts and record.host.lower() not in {host.lower() for host in filters.hosts}:
        return False
    return not (filters.methods and record.method not in filters.methods)


filter_strategy = st.builds(
    lambda since, until, statuses, path, hosts, methods: parse_filters(
        since=since,
        until=until,
        statuses=statuses,
        path=path,
        hosts=hosts,
        methods=methods,
        now=NOW,
    ),
    since=st.sampled_from([None, "2024-03-01T12:00", "2024-03-02", "3d"]),
    until=st.sampled_from([None, "2024-03-03T06:30:00", "2024-03-03T12:00+01:00"]),
    statuses=st.sampled_from([[], ["5xx"], ["499,404"], ["400-403", "2xx"]]),
    path=st.sampled_from([None, "^/api/", "v[12]", r"\|"]),
    hosts=st.sampled_from([[], ["static.example.com"], ["shop.example.com,api.example.com"]]),
    methods=st.sampled_from([[], ["post"], ["GET,PUT"]]),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(records=records_strategy, filters=filter_strategy)
def test_filters_keep_what_the_reference_keeps(
    tmp_path: Path, records: list[Record], filters: Filters
) -> None:
    log = write_requests(tmp_path / "access.log", records, ["not a log line", ""])
    summary = summarise([log], ReportSettings(filters=filters))
    kept = [record for record in records if keeps(record, filters)]
    expected = Counter(record.status for record in kept)
    assert {row.status: row.count for row in summary.statuses} == expected
    assert summary.totals.selected == len(kept)
    # rejected lines are still read and counted; only records are filtered
    assert summary.totals.records == len(records)
    # the empty line is a blank line, counted but no reject
    assert summary.totals.rejected == 1 and summary.totals.blank == 1
    assert summary.totals.lines == len(records) + 2
    if filters.active:
        assert summary.filters is not None
        assert summary.filters.excluded == len(records) - len(kept)
    else:
        assert summary.filters is None


def test_since_is_inclusive_and_until_exclusive(tmp_path: Path) -> None:
    moments = [START + timedelta(seconds=offset) for offset in (-1, 0, 1, 59, 60, 61)]
    records = [Record("h", "192.0.2.1", moment, "GET", "/", 200, "x") for moment in moments]
    log = write_requests(tmp_path / "access.log", records)
    window = parse_filters(since="2024-03-01T09:00:00", until="2024-03-01T09:01:00", now=NOW)
    summary = summarise([log], ReportSettings(filters=window))
    assert summary.totals.selected == 3
    assert summary.first == START and summary.last == START + timedelta(seconds=59)


def test_records_without_a_time_never_match_a_time_filter(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text("192.0.2.1 200\n192.0.2.2 404\n")
    summary = summarise(
        [log], ReportSettings(filters=parse_filters(since="2000-01-01")), log_format="%h %>s"
    )
    assert summary.totals.records == 2 and summary.totals.selected == 0
    assert summary.filters is not None and summary.filters.excluded == 2


def test_status_terms_match_like_the_reference() -> None:
    terms = parse_status_terms(["5xx,499,400-403,none,other"])
    cases = [(None, "none"), (0, "other"), (404, "4xx"), (403, "4xx"), (499, "4xx"), (599, "5xx")]
    assert [any(term.covers(code, name) for term in terms) for code, name in cases] == [
        True,
        True,
        False,
        True,
        True,
        True,
    ]
    assert StatusTerm("499", 499, 499).kind == "status"


# Command line


def test_cli_says_which_filters_were_active(tmp_path: Path) -> None:
    records = [
        Record("shop.example.com", "192.0.2.1", START, "GET", "/api/x", 502, "curl"),
        Record("shop.example.com", "192.0.2.1", START, "POST", "/api/x", 200, "curl"),
        Record("api.example.com", "192.0.2.1", START, "GET", "/", 500, "curl"),
    ]
    log = write_requests(tmp_path / "apache_access.log", records, ["garbage"])
    code, out, _ = run_cli(
        str(log),
        "--status",
        "5xx",
        "--host",
        "shop.example.com",
        "--method",
        "get",
        in_process=True,
    )
    assert code == 0
    assert "Filters: status 5xx; host shop.example.com; method GET: 2 of 3 records excluded" in out
    assert "1 rejected" in out
    code, out, _ = run_cli(
        str(log), "--status", "5xx", "--path", "^/api", "--json", in_process=True
    )
    data = json.loads(out)
    assert data["filters"]["status"] == ["5xx"] and data["filters"]["path"] == "^/api"
    assert data["filters"]["excluded"] == 2 and data["totals"]["selected"] == 1
    assert data["totals"]["rejected"] == 1


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--status", "5xq"),
        ("--since", "last tuesday"),
        ("--path", "[a-"),
        ("--source", "nosuchformat"),
        ("--every", "5y"),
        ("--by", "planet"),
        ("--top-fields", "shoe_size"),
    ],
)
def test_cli_bad_values_exit_2_naming_the_option(tmp_path: Path, option: str, value: str) -> None:
    log = write_requests(tmp_path / "apache_access.log", [])
    code, out, err = run_cli("report", str(log), option, value, in_process=True)
    assert code == ExitCode.USAGE and out == ""
    assert option in err and err.startswith("logstat: error:")
