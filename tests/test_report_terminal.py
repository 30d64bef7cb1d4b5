"""The terminal views: log data is shown, never obeyed (no markup, no escapes)."""

from __future__ import annotations

import io

from rich.console import Console

from logstat.filters import parse_duration, parse_filters
from logstat.report.text import render_plain, render_rich
from logstat.summary import ReportSettings
from tests.helpers import REPORT_FIXTURES, summarise

EVERYTHING = ReportSettings(
    filters=parse_filters(statuses=["2xx,4xx,5xx"]),
    every=parse_duration("30m", "--every"),
    top=3,
    by="host",
)


def rich_text() -> str:
    result = summarise([REPORT_FIXTURES / "apache_vhosts.log"], EVERYTHING, format=None)
    buffer = io.StringIO()
    console = Console(file=buffer, width=200, force_terminal=True, color_system="truecolor")
    render_rich(result, console)
    return buffer.getvalue()


def test_rich_view_shows_markup_and_escapes_as_text() -> None:
    out = rich_text()
    assert "[bold red]rich markup[/] bot" in out  # markup in a user agent is not applied
    assert "evil\\x1b[31m|agent" in out  # the ESC byte is shown as \x1b
    assert "\x1b[31m|agent" not in out
    assert "/<script>alert(1)</script>" in out


def test_plain_view_has_no_control_characters() -> None:
    result = summarise([REPORT_FIXTURES / "apache_vhosts.log"], EVERYTHING, format=None)
    out = render_plain(result)
    assert not any(ord(character) < 32 and character != "\n" for character in out)
    assert "evil\\x1b[31m|agent" in out and "[bold red]rich markup[/] bot" in out
