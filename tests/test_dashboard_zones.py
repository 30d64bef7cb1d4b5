"""The dashboard's times in the --tz zone: bars on the zone's hours and days, labels
on its clock, the zone named; zones with 30- and 45-minute offsets and DST days.

The buckets are checked against a reference that knows nothing of how clock.py
works: walking minute by minute, a bucket starts where the zone's wall clock reads
a bucket boundary (a multiple of the step since midnight, a midnight, a Monday) or
jumps over one when the clocks go forward.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logstat.dashboard import DashboardBuilder
from logstat.dashboard.clock import Clock
from logstat.dashboard.data import STEPS
from logstat.time_zones import UTC_ZONE, resolve
from tests.helpers import frame_of, page_data, run_cli
from tests.servers.chromium import Browser

ZONES = [
    "Asia/Kathmandu",  # +05:45
    "Asia/Kolkata",  # +05:30
    "Australia/Lord_Howe",  # +10:30, +11:00 in summer: a 30-minute DST shift
    "Europe/Paris",  # 02:00 -> 03:00 in March, 03:00 -> 02:00 in October
    "America/Santiago",  # changes at midnight: some days start at 01:00
    "America/St_Johns",  # -03:30 / -02:30
    "Pacific/Chatham",  # +12:45 / +13:45
    "UTC",
]
DAY = 86400


def wall(instant: int, zone: ZoneInfo) -> int:
    """The zone's clock at `instant`, as seconds since 1970-01-01 00:00 on that clock."""
    local = datetime.fromtimestamp(instant, zone)
    naive = local.replace(tzinfo=None)
    return int((naive - datetime(1970, 1, 1)).total_seconds())


def reading(clock_time: int, step: int) -> int:
    """The boundary at or before a clock time: the last multiple of the step since
    midnight, or the last midnight (a Monday for 7 days; 1970-01-05 was one)."""
    if step < DAY:
        return clock_time - clock_time % step
    day = clock_time // DAY
    days = step // DAY
    first = day - (day - 4) % 7 if days == 7 else day - day % days
    return first * DAY


def is_boundary(minute: int, zone: ZoneInfo, step: int) -> bool:
    now, before = wall(minute, zone), wall(minute - 60, zone)
    return reading(now, step) == now or reading(now, step) != reading(before, step)


def reference_start(instant: int, zone: ZoneInfo, step: int) -> int:
    minute = instant - instant % 60
    while not is_boundary(minute, zone, step):
        minute -= 60
    return minute


def reference_next(start: int, zone: ZoneInfo, step: int) -> int:
    minute = start + 60
    while not is_boundary(minute, zone, step):
        minute += 60
    return minute


# instants near the changes the zones above have in 2024, and anywhere in the year
CHANGES = [
    datetime(2024, 3, 31, 1, tzinfo=UTC),  # Europe/Paris forward
    datetime(2024, 10, 27, 1, tzinfo=UTC),  # Europe/Paris back
    datetime(2024, 4, 7, 3, tzinfo=UTC),  # America/Santiago back (midnight)
    datetime(2024, 9, 8, 4, tzinfo=UTC),  # America/Santiago forward (midnight)
    datetime(2024, 4, 6, 15, tzinfo=UTC),  # Australia/Lord_Howe back
    datetime(2024, 10, 5, 15, 30, tzinfo=UTC),  # Australia/Lord_Howe forward
    datetime(2024, 3, 10, 5, 30, tzinfo=UTC),  # America/St_Johns forward
    datetime(2024, 4, 6, 14, tzinfo=UTC),  # Pacific/Chatham back
]
instants = st.one_of(
    st.builds(
        lambda change, seconds: int(change.timestamp()) + seconds,
        st.sampled_from(CHANGES),
        st.integers(-3 * DAY, 3 * DAY),
    ),
    st.integers(int(datetime(2024, 1, 1, tzinfo=UTC).timestamp()), 1735689600),
)


@settings(max_examples=200, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    step=st.sampled_from([*STEPS, 14 * DAY]),
    instant=instants,
)
def test_buckets_start_where_the_zones_clock_reads_a_boundary(
    zone: str, step: int, instant: int
) -> None:
    tz = ZoneInfo(zone)
    clock = Clock(tz, instant - 30 * DAY, instant + 30 * DAY)
    start = clock.bucket(instant, step)
    assert start == reference_start(instant, tz, step)
    assert clock.following(start, step) == reference_next(start, tz, step)


def timeline(
    zone: str, moments: list[datetime], statuses: list[int] | None = None
) -> dict[str, object]:
    builder = DashboardBuilder(zone=resolve(zone))
    codes = statuses or [200] * len(moments)
    builder.add(
        frame_of([(moment, code, "/") for moment, code in zip(moments, codes, strict=True)])
    )
    result: dict[str, object] = builder.build([])["timeline"]
    return result


def bars(result: dict[str, object]) -> dict[str, int]:
    """label -> requests, for the bars with any."""
    labels = result["labels"]
    series = result["series"]
    assert isinstance(labels, list) and isinstance(series, dict)
    totals = [sum(counts[index] for counts in series.values()) for index in range(len(labels))]
    return {label: total for label, total in zip(labels, totals, strict=True) if total}


def test_hourly_bars_start_on_kathmandus_hours() -> None:
    """+05:45: the hour from 10:00 local starts at 04:15 UTC."""
    start = datetime(2024, 3, 1, 4, 14, tzinfo=UTC)
    moments = [start, start + timedelta(minutes=2), start + timedelta(hours=150)]
    result = timeline("Asia/Kathmandu", moments)
    assert result["step_seconds"] == 3600 and result["zone"] == "Asia/Kathmandu"
    shown = bars(result)
    assert shown["2024-03-01 09:00"] == 1 and shown["2024-03-01 10:00"] == 1
    assert all(label.endswith(":00") for label in result["labels"])  # type: ignore[union-attr]


def test_daily_bars_start_at_midnight_in_kolkata() -> None:
    """+05:30: 18:29 UTC is the evening before, 18:31 UTC the next day."""
    moments = [
        datetime(2024, 3, 1, 18, 29, tzinfo=UTC),
        datetime(2024, 3, 1, 18, 31, tzinfo=UTC),
        datetime(2024, 9, 1, tzinfo=UTC),
    ]
    result = timeline("Asia/Kolkata", moments)
    assert result["step_seconds"] == DAY
    shown = bars(result)
    assert shown["2024-03-01"] == 1 and shown["2024-03-02"] == 1
    # the same requests in UTC: both on 1 March
    assert bars(timeline("UTC", moments))["2024-03-01"] == 2


def test_the_hour_repeated_when_the_clocks_go_back_is_two_bars() -> None:
    """Paris, 27 October 2024: 02:00-03:00 happens at +0200, then again at +0100."""
    first = datetime(2024, 10, 26, 22, 30, tzinfo=UTC)
    moments = [first + timedelta(minutes=30 * number) for number in range(12)]
    result = timeline("Europe/Paris", moments)
    assert result["step_seconds"] == 300
    labels = result["labels"]
    assert isinstance(labels, list) and len(labels) == len(set(labels))
    assert "2024-10-27 02:55 +0200" in labels and "2024-10-27 02:00 +0100" in labels
    # 1-hour bars: a span of more than 120 hours
    moments += [first + timedelta(hours=130)]
    result = timeline("Europe/Paris", moments)
    assert result["step_seconds"] == 3600
    labels = result["labels"]
    assert isinstance(labels, list) and len(labels) == len(set(labels))
    assert labels[0] == "2024-10-27 00:00 +0200"
    assert labels[2:5] == [
        "2024-10-27 02:00 +0200",
        "2024-10-27 02:00 +0100",
        "2024-10-27 03:00 +0100",
    ]
    shown = bars(result)
    assert shown["2024-10-27 02:00 +0200"] == 2 and shown["2024-10-27 02:00 +0100"] == 2


def test_daily_bars_over_the_dst_days_are_the_zones_days() -> None:
    """A bar per local day all year: the 23- and 25-hour days are one bar each."""
    start = datetime(2024, 1, 1, tzinfo=ZoneInfo("Europe/Paris"))
    moments = [start + timedelta(days=number, hours=23, minutes=30) for number in range(366)]
    result = timeline("Europe/Paris", moments)
    assert result["step_seconds"] == 7 * DAY  # weeks, from Mondays
    labels = result["labels"]
    assert isinstance(labels, list) and labels[0] == "2024-01-01" and labels[1] == "2024-01-08"
    assert sum(bars(result).values()) == 366
    short = timeline("Europe/Paris", moments[80:250])
    assert short["step_seconds"] == DAY
    shown = bars(short)
    days = [(start + timedelta(days=number)).strftime("%Y-%m-%d") for number in range(80, 250)]
    assert shown == dict.fromkeys(days, 1)  # 23:30 local is still that day, DST or not


def test_utc_keeps_its_labels() -> None:
    moments = [datetime(2024, 3, 1, 9, 0, tzinfo=UTC), datetime(2024, 3, 1, 12, 0, tzinfo=UTC)]
    builder = DashboardBuilder()  # UTC unless told
    builder.add(frame_of([(moment, 200, "/") for moment in moments]))
    result = builder.build([])
    assert result["zone"] == "UTC" and result["timeline"]["labels"][0] == "2024-03-01 09:00"
    assert result["first"] == "2024-03-01 09:00:00 UTC"
    assert UTC_ZONE.name == "UTC"


PAGE = """(() => ({
  subtitle: document.getElementById("subtitle").textContent,
  note: document.getElementById("timeline-note").textContent,
  footer: document.getElementById("footer").textContent,
  labels: window.logstatCharts[0].data.labels,
  rendered: document.body.dataset.rendered || null,
}))()"""


def write_log(path: Path, moments: list[datetime]) -> Path:
    lines = [
        f'192.0.2.1 - - [{moment:%d/%b/%Y:%H:%M:%S %z}] "GET / HTTP/1.1" 200 5 "-" "x"\n'
        for moment in moments
    ]
    path.write_text("".join(lines))
    return path


def test_the_page_names_the_zone_and_shows_its_times(tmp_path: Path, browser: Browser) -> None:
    moments = [datetime(2024, 3, 1, 4, 14, tzinfo=UTC) + timedelta(hours=n) for n in range(196)]
    log = write_log(tmp_path / "access.log", moments)
    output = tmp_path / "report.html"
    assert (
        run_cli(
            "dashboard",
            str(log),
            "-o",
            str(output),
            "-q",
            "--tz",
            "Asia/Kathmandu",
            in_process=True,
        ).code
        == 0
    )
    browser.open(output.as_uri())
    state = browser.evaluate(PAGE)
    assert browser.problems() == [] and state["rendered"] == "true"
    assert "2024-03-01 09:59:00 +0545 to 2024-03-09 12:59:00 +0545" in state["subtitle"]
    assert "(times in Asia/Kathmandu)" in state["subtitle"]
    assert "One bar per 1 h, on the clock of Asia/Kathmandu." in state["note"]
    assert state["labels"][:2] == ["2024-03-01 09:00", "2024-03-01 10:00"]
    assert "+0545 (times in Asia/Kathmandu)" in state["footer"]


def test_logstat_tz_and_a_naive_since_are_read_in_the_zone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LOGSTAT_TZ chooses the zone as --tz does; --since without an offset is read in it."""
    moments = [datetime(2024, 3, 1, 4, 14, tzinfo=UTC) + timedelta(hours=n) for n in range(30)]
    log = write_log(tmp_path / "access.log", moments)
    output = tmp_path / "report.html"
    monkeypatch.setenv("LOGSTAT_TZ", "Asia/Kolkata")
    assert (
        run_cli(
            "dashboard",
            str(log),
            "-o",
            str(output),
            "-q",
            "--since",
            "2024-03-01T10:00",
            in_process=True,
        ).code
        == 0
    )
    data = page_data(output)
    assert data["zone"] == "Asia/Kolkata"
    # 10:00 in Kolkata is 04:30 UTC: the 04:14 UTC request is left out
    assert data["first"] == "2024-03-01 10:44:00 +0530"
    filters = data["filters"]
    assert isinstance(filters, dict) and filters["since"] == "2024-03-01 10:00:00 +0530"
