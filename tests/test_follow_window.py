"""The live view's counting: a window of one partial summary per second, and files
read as they grow and rotate.

The window's summary is the summary of exactly the records whose second is inside it,
however the records arrived (in frames of any size, at any time, late or early) and
whenever old seconds were dropped; its requests per second add up to it.  The follower
reads each line once across growth, rotation and truncation.
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logstat import formats
from logstat.errors import ExitCode, LogstatError
from logstat.library import request_filters
from logstat.reading.follow import Follower
from logstat.reading.runs import Options
from logstat.report.live import LiveView, screen_lines
from logstat.summary import ReportSettings, summarize_frames
from logstat.summary.window import BucketWindow
from logstat.time_zones import UTC_ZONE
from tests.helpers import FIXTURES, frame_of, log_line, parse_file, run_cli

START = 1_800_000_000.0  # seconds since the epoch: where the simulated clock starts
STATUSES = (200, 201, 304, 404, 499, 500, 502, None)
PATHS = ("/", "/api", "/login", None)
SETTINGS = ReportSettings(top=3, top_fields=("path",), top_by="class")
# as `logstat follow --status 5xx,404 --path ^/a --top 1`: what the filters leave out
# of the window is counted as excluded, as a summary counts it
FILTERED = ReportSettings(
    filters=request_filters(status=["5xx,404"], path="^/a", tz=UTC_ZONE),
    top=1,
    top_fields=("path",),
    top_by="class",
)

# a record as read: seconds from the moment it was read (None: no time logged)
RECORDS = st.lists(
    st.tuples(
        st.one_of(st.none(), st.floats(-400, 5, allow_nan=False)),
        st.sampled_from(STATUSES),
        st.sampled_from(PATHS),
    ),
    max_size=12,
)
# reads: how long after the last one (seconds), what came, and whether old seconds
# were dropped after it
READS = st.lists(
    st.tuples(st.floats(0, 90, allow_nan=False), RECORDS, st.booleans()), min_size=1, max_size=8
)
EXAMPLES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

Row = tuple[datetime | None, int | None, str | None]


def _moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _second(row: Row, read_at: float) -> int:
    """The second a record counts in: its own (floored), at most the one it was read in."""
    moment = row[0]
    own = int(moment.timestamp() // 1) if moment is not None else int(read_at)
    return min(own, int(read_at))


def _json(summary: Any) -> dict[str, Any]:
    return summary.to_json()  # type: ignore[no-any-return]


@EXAMPLES
@given(
    reads=READS,
    # one-second buckets, then buckets of 2 s (600 buckets' worth) and of 4 s (226 buckets)
    seconds=st.sampled_from([1, 7, 60, 300, 600, 901]),
    chosen=st.sampled_from([SETTINGS, FILTERED]),
)
def test_the_window_counts_exactly_the_records_inside_it(
    reads: list[tuple[float, list[tuple[float | None, int | None, str | None]], bool]],
    seconds: int,
    chosen: ReportSettings,
) -> None:
    window = BucketWindow(seconds, chosen)
    now = START
    seen: list[tuple[Row, float]] = []
    for advance, records, drop in reads:
        now += advance
        rows: list[Row] = [
            (None if offset is None else _moment(now + offset), status, path)
            for offset, status, path in records
        ]
        if rows:
            window.add(_frame(rows), now)
        if drop:
            window.drop_old(now)
        seen += [(row, now) for row in rows]
    size = window.bucket_seconds
    assert size == -(-seconds // 300) and window.count * size >= seconds
    first = int(now) // size - window.count + 1  # the oldest bucket inside
    inside = [(row, _second(row, read_at) // size) for row, read_at in seen]
    inside = [(row, bucket) for row, bucket in inside if bucket >= first]
    frame = _frame([row for row, _ in inside]) if inside else None
    expected = summarize_frames([frame] if frame is not None else [], [], chosen)
    assert _json(window.summary(now)) == _json(expected)
    # the sparkline's counts: each bucket's records (those the filters keep), by class
    series = window.per_bucket(now)
    for row in expected.classes:
        assert sum(series.get(row.status_class, [])) == row.count
    kept: dict[int, int] = {}
    if frame is not None:
        predicate = chosen.filters.expression()
        keys = pl.Series([bucket for _, bucket in inside])
        selected = frame.with_columns(keys.alias("bucket"))
        if predicate is not None:
            selected = selected.filter(predicate)
        kept = dict(Counter(selected["bucket"].to_list()))
    for offset in range(window.count):
        count = sum(values[offset] for values in series.values())
        assert count == kept.get(first + offset, 0)


def _frame(rows: list[Row]) -> pl.DataFrame:
    """Parsed records (frame_of), the path a String even when no row has one."""
    return frame_of(rows).with_columns(pl.col("path").cast(pl.String))  # type: ignore[arg-type]


def test_old_seconds_are_dropped_and_late_records_kept_out() -> None:
    window = BucketWindow(60, SETTINGS)
    assert window.first_bucket(START + 0.9) == int(START) - 59
    window.add(_frame([(_moment(START - 30), 200, "/")]), START)
    assert window.summary(START).totals.selected == 1
    window.drop_old(START + 31)
    assert window.buckets == {} and window.summary(START + 31).totals.selected == 0
    # read now, logged two minutes ago: never in a 60 s window
    window.add(_frame([(_moment(START - 120), 500, "/")]), START + 31)
    assert window.summary(START + 31).totals.selected == 0 and window.older == 1


def test_a_window_of_no_time_is_refused() -> None:
    with pytest.raises(ValueError):
        BucketWindow(0)


# --- the follower ----------------------------------------------------------------------


def _read(follower: Follower, settings: ReportSettings = SETTINGS) -> list[int]:
    """The line numbers of the records read (log_line puts the number in the path)."""
    numbers = []
    for _, frame in follower.read(settings.needed()):
        records = frame.filter(frame["line_kind"] == "record")
        numbers += [int(path.split("/")[2]) for path in records["path"].to_list()]
    return numbers


def _append(path: Path, first: int, count: int) -> None:
    with path.open("a") as handle:
        handle.write("".join(log_line(number) for number in range(first, first + count)))


def _records(first: int, count: int) -> list[int]:
    return [number for number in range(first, first + count) if number % 13 != 12]


def test_the_follower_reads_each_line_once_across_growth_and_rotation(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    _append(log, 0, 20)
    follower = Follower([str(log)], Options())
    assert _read(follower) == _records(0, 20)
    assert _read(follower) == []  # nothing new
    _append(log, 20, 5)
    assert _read(follower) == _records(20, 5)
    # rotated: renamed, written to a little more under its new name, then a new log
    log.rename(tmp_path / "access.log.1")
    _append(tmp_path / "access.log.1", 25, 3)
    assert _read(follower) == [] and follower.waiting == [str(log)]
    _append(log, 28, 4)
    assert sorted(_read(follower)) == _records(25, 7) and follower.waiting == []
    assert _read(follower) == []
    # copytruncate: the log emptied in place and written again from its start
    os.truncate(log, 0)
    _append(log, 32, 2)
    assert _read(follower) == _records(32, 2)


def test_a_format_is_detected_once_and_again_when_the_file_changes_format(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each tick lends the format found to the next (no detection for lines that parse);
    a log replaced by one in another format is detected again, its lines read as such."""
    detected: list[str] = []
    detect = formats.detect

    def counting(sample: pl.Series, name: str) -> Any:
        detected.append(name)
        return detect(sample, name)

    monkeypatch.setattr(formats, "detect", counting)
    log = tmp_path / "access.log"
    log.write_text("".join(log_line(number) for number in range(0, 12)))  # records only
    follower = Follower([str(log)], Options())
    assert _read(follower) == _records(0, 12) and len(detected) == 1
    for first in (13, 26, 39):  # log_line(n) for n % 13 == 12 is not a record: left out
        _append(log, first, 12)
        assert _read(follower) == _records(first, 12)
    assert len(detected) == 1
    alb = (FIXTURES / "alb" / "requests.log").read_text().splitlines(keepends=True)
    log.rename(tmp_path / "access.log.1")
    log.write_text("".join(alb))
    statuses = Counter()
    for run, frame in follower.read(SETTINGS.needed()):
        assert run.format_name == "alb"
        statuses.update(frame.filter(frame["line_kind"] == "record")["status"].to_list())
    truth = Counter(
        parse_file(FIXTURES / "alb" / "requests.log")
        .filter(pl.col("line_kind") == "record")["status"]
        .to_list()
    )
    assert statuses == truth and sum(truth.values()) > 0


def test_several_files_and_a_glob_each_line_once(tmp_path: Path) -> None:
    """Files named twice are read once; a file that comes to match a glob is read from
    its start."""
    (tmp_path / "web").mkdir()
    first, second = tmp_path / "web" / "a.log", tmp_path / "web" / "b.log"
    _append(first, 0, 4)
    follower = Follower([str(first), str(tmp_path / "web" / "*.log")], Options())
    assert _read(follower) == _records(0, 4)
    _append(second, 100, 3)
    _append(first, 4, 2)
    assert sorted(_read(follower)) == _records(4, 2) + _records(100, 3)
    assert _read(follower) == []


def test_the_follower_refuses_what_is_not_a_local_file(tmp_path: Path) -> None:
    for argument in ("-", "s3://bucket/logs/"):
        with pytest.raises(LogstatError, match="local files only") as raised:
            Follower([argument], Options())
        assert raised.value.exit_code == ExitCode.USAGE
    with pytest.raises(LogstatError, match="no such file"):
        _read(Follower([str(tmp_path / "missing.log")], Options()))


# --- the screen ------------------------------------------------------------------------


def test_the_screen_fits_its_size_whatever_the_counts(tmp_path: Path) -> None:
    now = START
    rows: list[Row] = [
        (_moment(now - second), status, f"/{'deep/' * (second % 30)}{second}")
        for second in range(300)
        for status in (200, 404, 499, 500, 502, 503, 301, 418)
    ]
    window = BucketWindow(300, SETTINGS)
    window.add(_frame(rows), now)
    view = LiveView(
        window.summary(now), window.per_bucket(now), 1, "5m", 300, _moment(now), ["access.log"]
    )
    # (width, height, whether the paths show, whether every status does)
    for width, height, paths, every in (
        (80, 24, True, False),
        (60, 15, False, False),
        (120, 40, True, True),
    ):
        lines = screen_lines(view, width, height)
        assert len(lines) <= height and max(len(line.text) for line in lines) <= width
        text = "\n".join(line.text for line in lines)
        assert "2,400 requests" in text and "name: meaning" in text
        assert ("more statuses not shown" not in text) == every, text
        # the paths only where the statuses leave room for them
        assert ("Top paths of 5xx" in text and "Top paths of 4xx" in text) == paths, text


def test_a_tiny_terminal_gets_what_fits() -> None:
    window = BucketWindow(60, SETTINGS)
    window.add(_frame([(_moment(START - 1), 502, "/a"), (_moment(START), 404, "/b")]), START)
    view = LiveView(
        window.summary(START), window.per_bucket(START), 1, "1m", 60, _moment(START), ["a.log"],
        waiting=["b.log"],
    )  # fmt: skip
    for width, height in ((20, 3), (40, 8), (12, 1), (30, 0)):
        lines = screen_lines(view, width, height)
        assert len(lines) <= height and all(len(line.text) <= width for line in lines)
    # the footer (what is waited for) stays when the body is cut
    assert screen_lines(view, 80, 6)[-1].text == "waiting for b.log (rotated?)"


def test_an_empty_window_says_why() -> None:
    window = BucketWindow(60, SETTINGS)
    window.add(_frame([(_moment(START - 3600), 200, "/")] * 3), START)
    view = LiveView(
        window.summary(START), window.per_bucket(START), 1, "1m", 60, _moment(START), ["a.log"],
        older=window.older,
    )  # fmt: skip
    text = [line.text for line in screen_lines(view, 80, 24)]
    assert "No requests in the last 1m (3 records read were older)." in text, text


# --- the command line ------------------------------------------------------------------


@pytest.mark.parametrize(
    "words",
    [("follow",), ("--follow",), ("-f",), ("summary", "--follow"), ("report", "--follow")],
)
def test_not_a_terminal_is_a_one_line_error(words: tuple[str, ...], tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    _append(log, 0, 3)
    result = run_cli(*words, str(log), in_process=True)
    assert result.code == ExitCode.USAGE
    assert result.stderr.strip().splitlines() == [
        "logstat: error: follow draws a live view on a terminal, and stdout is not one "
        "(for a report use `logstat summary`)"
    ]


def test_summary_f_is_still_format(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    _append(log, 0, 3)
    assert run_cli("summary", "-f", "nginx", str(log), in_process=True).code == ExitCode.OK
    # before -f meant --follow, `logstat -f nginx access.log` was the summary: cron lines
    # still say it, so -f before a format's name (and no file of that name) stays --format
    result = run_cli("-f", "nginx", str(log), in_process=True)
    assert result.code == ExitCode.OK and "By status" in result.stdout
    (tmp_path / "nginx").write_text("")  # a file named like a format: followed, as asked
    assert run_cli("-f", "nginx", str(log), cwd=tmp_path).code == ExitCode.USAGE


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (("--window", "2d", "access.log"), "--window '2d': at most 1d"),
        (("--window", "soon", "access.log"), "--window 'soon': expected a positive number"),
        (("-",), "follow reads local files only, not stdin"),
        (("s3://bucket/logs/",), "follow reads local files only, not s3://bucket/logs/"),
    ],
)
def test_wrong_options_are_one_line_errors(words: tuple[str, ...], message: str) -> None:
    result = run_cli("follow", *words, in_process=True)
    assert result.code == ExitCode.USAGE
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr, result
