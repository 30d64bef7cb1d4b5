"""--tz: the zone times are shown in and naive --since/--until are read in.

conftest sets TZ=Pacific/Chatham (+13:45 in November), so the default (the machine's
local zone, as `date` uses) is visibly not UTC here.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from logstat.errors import ExitCode, LogstatError
from logstat.filters import parse_moment
from logstat.time_zones import UTC_ZONE, local_zone, resolve
from tests.helpers import REPO, run_cli

SAMPLE = REPO / "samples" / "nginx-access.log"  # 23:00:05 to 23:57:53 at +0100, 20 Nov 2026
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _records_since(since: str, *options: str, env: dict[str, str] | None = None) -> int:
    code, out, err = run_cli(str(SAMPLE), "--json", "--since", since, *options, env=env)
    assert code == 0, err
    data = json.loads(out)
    return int(data["totals"]["selected"])


def test_the_default_is_the_local_zone() -> None:
    code, out, err = run_cli(str(SAMPLE))
    assert code == 0, err
    assert (
        "Time range: 2026-11-21 11:45:05 +1345 to 2026-11-21 12:42:53 +1345 "
        "(times in Pacific/Chatham)"
    ) in out


def test_tz_utc_shows_utc() -> None:
    code, out, err = run_cli(str(SAMPLE), "--tz", "UTC")
    assert code == 0, err
    assert "Time range: 2026-11-20 22:00:05 UTC to 2026-11-20 22:57:53 UTC\n" in out


def test_an_iana_zone_and_the_environment_variable() -> None:
    expected = "2026-11-20 23:00:05 +0100 to 2026-11-20 23:57:53 +0100 (times in Europe/Paris)"
    code, out, err = run_cli(str(SAMPLE), "--tz", "Europe/Paris")
    assert code == 0, err
    assert expected in out
    code, out, err = run_cli(str(SAMPLE), env={"LOGSTAT_TZ": "Europe/Paris"})
    assert code == 0, err
    assert expected in out
    code, out, err = run_cli(str(SAMPLE), "--tz", "UTC", env={"LOGSTAT_TZ": "Europe/Paris"})
    assert "UTC to" in out  # the option wins over the environment


def test_an_unknown_zone_is_a_usage_error() -> None:
    code, out, err = run_cli(str(SAMPLE), "--tz", "Mars/Olympus_Mons")
    assert code == ExitCode.USAGE
    assert err.startswith("logstat: error: --tz 'Mars/Olympus_Mons': not a time zone")
    assert out == ""


def test_a_naive_since_is_read_in_the_zone() -> None:
    """23:30 in Paris is 22:30 UTC and 12:15 the next day in Chatham: the same records."""
    in_utc = _records_since("2026-11-20T22:30", "--tz", "UTC")
    assert 0 < in_utc < 600
    assert _records_since("2026-11-20T23:30", "--tz", "Europe/Paris") == in_utc
    assert _records_since("2026-11-21T12:15") == in_utc  # local: Pacific/Chatham
    # an offset in the value wins over the zone
    assert _records_since("2026-11-20T23:30+01:00", "--tz", "Asia/Tokyo") == in_utc


def test_json_stays_in_utc_whatever_the_zone() -> None:
    outputs = set()
    for zone in ("UTC", "Europe/Paris", "local", "Asia/Kathmandu"):
        code, out, err = run_cli(str(SAMPLE), "--json", "--every", "10m", "--tz", zone)
        assert code == 0, err
        outputs.add(out)
    [only] = outputs
    data = json.loads(only)
    assert data["first"] == "2026-11-20T22:00:05Z"
    assert data["timeline"]["buckets"][0]["start"] == "2026-11-20T22:00:00Z"


@pytest.mark.parametrize("view", [[], ["--markdown"]])
def test_the_time_range_and_timeline_say_their_zone(view: list[str]) -> None:
    code, out, err = run_cli(
        str(SAMPLE), "--every", "10m", "--since", "2026-11-20T23:10", "--tz", "Europe/Paris", *view
    )
    assert code == 0, err
    # the range of the records kept
    assert "Time range: 2026-11-20 23:10:00 +0100 to 2026-11-20 23:57:53 +0100 (times in " in out
    assert "since 2026-11-20 23:10:00 +0100" in out
    assert (
        "buckets of 10m from 2026-11-20 23:10:00 +0100 (each mark 10m; times in Europe/Paris)"
        in (out)
    )
    if view:
        assert "Buckets of 10m (Europe/Paris start)" in out
        assert "| 2026-11-20 23:10:00 +0100 |" in out


def test_rich_on_a_terminal_says_the_zone_too() -> None:
    from io import StringIO

    from rich.console import Console

    from logstat.report.text import render_rich
    from logstat.summary import ReportSettings
    from tests.helpers import summarise

    summary = summarise([SAMPLE], ReportSettings(), format="nginx")
    buffer = StringIO()
    render_rich(summary, Console(file=buffer, width=200), resolve("Asia/Kathmandu"))
    assert "2026-11-21 03:45:05 +0545 to" in buffer.getvalue()
    assert "(times in Asia/Kathmandu)" in buffer.getvalue()


# --- the zone itself --------------------------------------------------------------------------


def test_local_follows_tz(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/St_Johns")
    assert local_zone().name == "America/St_Johns"
    assert resolve("local").name == "America/St_Johns"
    assert resolve(None).name == "America/St_Johns"
    monkeypatch.setenv("TZ", ":Europe/Paris")  # the C library's spelling
    assert resolve(None).name == "Europe/Paris"
    monkeypatch.setenv("TZ", "/usr/share/zoneinfo/Asia/Tokyo")
    assert resolve(None).name == "Asia/Tokyo"
    monkeypatch.setenv("TZ", "")  # empty: UTC, as for date
    assert resolve(None) == UTC_ZONE
    monkeypatch.setenv("TZ", "Etc/UTC")
    assert resolve(None) == UTC_ZONE


def test_unknown_zones_and_paths_are_refused() -> None:
    for name in ("Nowhere/Special", "../../etc/passwd", "/etc/passwd", "Europe/"):
        with pytest.raises(LogstatError) as error:
            resolve(name)
        assert error.value.exit_code == ExitCode.USAGE


@pytest.mark.parametrize(
    ("text", "zone", "expected"),
    [
        # winter and summer in Paris: the offset comes from the zone's rules, not a constant
        ("2024-01-15T12:00", "Europe/Paris", datetime(2024, 1, 15, 11, tzinfo=UTC)),
        ("2024-07-15T12:00", "Europe/Paris", datetime(2024, 7, 15, 10, tzinfo=UTC)),
        ("2024-05-01", "Asia/Kathmandu", datetime(2024, 4, 30, 18, 15, tzinfo=UTC)),
        ("2024-05-01T10:00+02:00", "Asia/Kathmandu", datetime(2024, 5, 1, 8, tzinfo=UTC)),
        ("2h", "Asia/Kathmandu", datetime(2026, 11, 30, 22, tzinfo=UTC)),
    ],
)
def test_naive_moments_are_read_in_the_zone(text: str, zone: str, expected: datetime) -> None:
    assert parse_moment(text, "--since", NOW, ZoneInfo(zone)) == expected
