"""--every: counts per class and status in UTC time buckets, and the sparklines."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logstat.errors import ExitCode, LogstatError
from logstat.filters import parse_duration, parse_filters
from logstat.report.model import status_text
from logstat.report.text import fold, render_plain, sparkline
from logstat.status import status_class
from logstat.summary import ReportSettings
from logstat.summary import partial as partial_module
from tests.helpers import START, Record, run_cli, summarise, write_requests
from tests.strategies import records_strategy


def bucket_of(moment: datetime, seconds: int) -> datetime:
    """Buckets start at multiples of the interval since the Unix epoch, in UTC."""
    stamp = int(moment.timestamp())
    return datetime.fromtimestamp(stamp - stamp % seconds, UTC)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    records=records_strategy.filter(bool),
    every=st.sampled_from(["5m", "7m", "1h", "1d"]),
    statuses=st.sampled_from([[], ["5xx,404"]]),
)
def test_buckets_match_the_reference(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    records: list[Record],
    every: str,
    statuses: list[str],
) -> None:
    monkeypatch.setattr(partial_module, "COMPACT_EVERY", 3)  # merge partial counts often
    interval = parse_duration(every, "--every")
    filters = parse_filters(statuses=statuses)
    log = write_requests(tmp_path / "access.log", records)
    result = summarise([log], ReportSettings(filters=filters, every=interval))
    kept = [
        record
        for record in records
        if not filters.statuses
        or any(term.covers(record.status, status_class(record.status)) for term in filters.statuses)
    ]
    timeline = result.timeline
    assert timeline is not None and timeline.every == every
    assert timeline.seconds == interval.seconds and timeline.untimed == 0
    by_class = Counter(
        (bucket_of(r.moment, interval.seconds), status_class(r.status)) for r in kept
    )
    by_status = Counter(
        (bucket_of(r.moment, interval.seconds), status_text(r.status)) for r in kept
    )
    if not kept:
        assert timeline.buckets == []
        return
    starts = [bucket.start for bucket in timeline.buckets]
    # consecutive and dense, from the first record's bucket to the last's
    assert starts[0] == min(bucket_of(r.moment, interval.seconds) for r in kept)
    assert starts[-1] == max(bucket_of(r.moment, interval.seconds) for r in kept)
    assert all(
        later - earlier == timedelta(seconds=interval.seconds)
        for earlier, later in itertools.pairwise(starts)
    )
    for bucket in timeline.buckets:
        assert bucket.start.utcoffset() == timedelta(0)
        assert set(bucket.classes) == {row.status_class for row in result.classes}
        for name, count in bucket.classes.items():
            assert count == by_class[(bucket.start, name)]
        assert bucket.statuses == {
            code: count for (start, code), count in by_status.items() if start == bucket.start
        }
        assert bucket.count == sum(bucket.classes.values()) == sum(bucket.statuses.values())
    assert sum(bucket.count for bucket in timeline.buckets) == result.totals.selected == len(kept)


def test_bucket_starts_are_utc_whatever_the_log_offset(tmp_path: Path) -> None:
    """The log says +01:00 and the local zone is Pacific/Chatham; buckets are UTC days."""
    late = Record("h", "192.0.2.1", datetime(2024, 3, 1, 23, 30, tzinfo=UTC), "GET", "/", 200, "x")
    early = Record("h", "192.0.2.1", datetime(2024, 3, 2, 0, 30, tzinfo=UTC), "GET", "/", 500, "x")
    log = write_requests(tmp_path / "access.log", [late, early])
    result = summarise([log], ReportSettings(every=parse_duration("1d", "--every")))
    assert result.timeline is not None
    assert [(bucket.start, bucket.count) for bucket in result.timeline.buckets] == [
        (datetime(2024, 3, 1, tzinfo=UTC), 1),
        (datetime(2024, 3, 2, tzinfo=UTC), 1),
    ]


def test_records_without_a_time_are_counted_as_untimed(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text("192.0.2.1 200\n192.0.2.2 404\n")
    result = summarise(
        [log], ReportSettings(every=parse_duration("1h", "--every")), log_format="%h %>s"
    )
    assert result.timeline is not None
    assert result.timeline.buckets == [] and result.timeline.untimed == 2
    assert "no timed records" in render_plain(result)


def test_too_many_buckets_is_a_usage_error(tmp_path: Path) -> None:
    records = [
        Record("h", "192.0.2.1", START + timedelta(days=days), "GET", "/", 200, "x")
        for days in (0, 3)
    ]
    log = write_requests(tmp_path / "access.log", records)
    with pytest.raises(LogstatError) as raised:
        summarise([log], ReportSettings(every=parse_duration("1s", "--every")))
    assert raised.value.exit_code == ExitCode.USAGE and "--every 1s" in raised.value.message


def test_sparkline_marks() -> None:
    assert sparkline([0, 1, 8, 4]) == "| ▁█▄|"
    assert sparkline([3, 3]) == "|██|"
    assert sparkline([0, 0]) == "|  |"
    assert sparkline([]) == "||"
    # any non-zero count shows, however small beside the peak
    assert sparkline([1, 1000]) == "|▁█|"


def test_long_timelines_fold_into_at_most_72_marks() -> None:
    folded, run = fold(list(range(300)))
    assert run == 5 and len(folded) == 60 and sum(folded) == sum(range(300))
    assert fold([1, 2, 3]) == ([1, 2, 3], 1)


def test_terminal_timeline_is_stable_text(tmp_path: Path) -> None:
    moments = [START + timedelta(minutes=minutes) for minutes in (0, 1, 2, 10, 25, 26)]
    statuses = [200, 200, 500, 200, 404, 200]
    records = [
        Record("h", "192.0.2.1", moment, "GET", "/", status, "x")
        for moment, status in zip(moments, statuses, strict=True)
    ]
    log = write_requests(tmp_path / "apache_access.log", records)
    code, out, _ = run_cli(str(log), "--every", "5m", "--tz", "UTC", in_process=True)
    assert code == 0
    section = out[out.index("Over time") :].split("\n\n")[0].rstrip("\n")
    assert section == (
        "Over time: 6 buckets of 5m from 2024-03-01 09:00:00 UTC (each mark 5m)\n"
        "class  requests  peak  over time\n"
        "all           6     3  |█ ▃  ▆|\n"
        "2xx           4     2  |█ ▄  ▄|\n"
        "4xx           1     1  |     █|\n"
        "5xx           1     1  |█     |"
    )
    code, out, _ = run_cli(str(log), "--every", "5m", "--json", in_process=True)
    buckets = json.loads(out)["timeline"]["buckets"]
    assert [bucket["start"] for bucket in buckets][:2] == [
        "2024-03-01T09:00:00Z",
        "2024-03-01T09:05:00Z",
    ]
    assert buckets[0]["statuses"] == {"200": 2, "500": 1}
    assert buckets[5]["classes"] == {"1xx": 0, "2xx": 1, "3xx": 0, "4xx": 1, "5xx": 0}
