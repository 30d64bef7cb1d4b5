"""The terminal views fit the terminal: no line wider than it, meanings wrapped whole.

At 80 columns the summary and the report must not cut a meaning or a name in the
middle of a word, nor draw lines wider than the terminal; a column left out to
fit is named under its table.  The text of each wrapped column is read back
from the rendered output (plain: by the header's position; rich: between the
box's bars) and compared with what the summary holds.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console

from logstat.filters import parse_duration
from logstat.report.fit import PLAIN, PROSE, Layout, fit_table, wrap, wrap_line
from logstat.report.model import Summary
from logstat.report.text import render_plain, render_rich, sections
from logstat.summary import ReportSettings
from tests.helpers import REPO, REPORT_FIXTURES, plain_columns, rich_columns, summarise

LOGS = [*sorted(REPORT_FIXTURES.glob("*.log")), REPO / "samples" / "nginx-access.log"]
SUMMARY = ReportSettings()
REPORT = ReportSettings(every=parse_duration("1h", "--every"), top=3, by="host")


def summary_of(log: Path, settings: ReportSettings) -> Summary:
    return summarise([log], settings, format=None)


def plain(summary: Summary, width: int | None) -> str:
    return render_plain(summary, width=width)


def rich(summary: Summary, width: int) -> str:
    buffer = io.StringIO()
    render_rich(summary, Console(file=buffer, width=width, color_system=None))
    return buffer.getvalue()


def expected_prose(summary: Summary) -> list[tuple[str, dict[str, list[str]], Layout]]:
    """(title, the full text of each prose column, layout) for each table of the report."""
    result = []
    for section in sections(summary):
        columns = {
            header: [row[index] for row in section.rows]
            for index, header in enumerate(section.headers)
            if section.layout.wrap.get(header) == PROSE
        }
        result.append((section.title, columns, section.layout))
    return result


def assert_prose_whole(
    shown: dict[str, list[str]], columns: dict[str, list[str]], layout: Layout
) -> None:
    """Each prose cell is shown whole: in its own column, or with its name ("name:
    meaning"); a column that is not shown is said to be left out."""
    name, meaning = layout.merge or ("", "")
    for header, cells in columns.items():
        if header in shown:
            assert shown[header] == cells, header
        elif f"{name}: {meaning}" in shown and header in (name, meaning):
            for merged, cell in zip(shown[f"{name}: {meaning}"], cells, strict=True):
                assert cell == "-" or cell in merged, (cell, merged)
        else:
            raise AssertionError(f"{header} not shown")


def left_out_note(text: str, width: int) -> list[str]:
    found = re.findall(rf"Not shown at {width} columns: ([a-z ,]+) \(", text)
    return [name for names in found for name in names.split(", ")]


@pytest.mark.parametrize("settings", [SUMMARY, REPORT], ids=["summary", "report"])
@pytest.mark.parametrize("log", LOGS, ids=lambda path: path.name)
@pytest.mark.parametrize("width", [80, 100])
def test_plain_view_fits_and_keeps_meanings_whole(
    log: Path, settings: ReportSettings, width: int
) -> None:
    summary = summary_of(log, settings)
    text = plain(summary, width)
    too_wide = [line for line in text.splitlines() if len(line) > width]
    assert not too_wide, too_wide
    for title, columns, layout in expected_prose(summary):
        shown = plain_columns(text, title) if title in text.splitlines() else {}
        if not columns or title not in text.splitlines():
            continue
        assert_prose_whole(shown, columns, layout)


@pytest.mark.parametrize("settings", [SUMMARY, REPORT], ids=["summary", "report"])
@pytest.mark.parametrize("log", LOGS, ids=lambda path: path.name)
@pytest.mark.parametrize("width", [80, 100])
def test_rich_view_fits_and_keeps_meanings_whole(
    log: Path, settings: ReportSettings, width: int
) -> None:
    summary = summary_of(log, settings)
    text = rich(summary, width)
    too_wide = [line for line in text.splitlines() if len(line) > width]
    assert not too_wide, too_wide
    for title, columns, layout in expected_prose(summary):
        if columns and title in text.splitlines():
            assert_prose_whole(rich_columns(text, title), columns, layout)


def test_the_status_table_at_80_columns_names_what_it_leaves_out() -> None:
    summary = summary_of(REPO / "samples" / "nginx-access.log", SUMMARY)
    text = rich(summary, 80)
    shown = rich_columns(text, "By status")
    assert "table" not in shown and left_out_note(text, 80) == ["table"]
    assert list(shown) == ["status", "by", "requests", "share", "name: meaning"]
    assert any(
        cell.startswith("NGX_HTTP_CLIENT_CLOSED_REQUEST: The client hung up")
        for cell in shown["name: meaning"]
    )


def test_without_a_width_the_tables_are_as_wide_as_they_are() -> None:
    """Piped to a file, or with no terminal: one line per row, every column (the
    goldens in fixtures/report hold this view)."""
    summary = summary_of(REPO / "samples" / "nginx-access.log", SUMMARY)
    text = plain(summary, None)
    assert max(len(line) for line in text.splitlines()) > 150
    assert "Not shown" not in text
    status = plain_columns(text, "By status")
    assert list(status) == ["status", "by", "requests", "share", "name", "meaning", "table"]
    assert len(status["status"]) == len(summary.statuses)


def test_a_narrow_terminal_leaves_out_columns_in_their_order() -> None:
    summary = summary_of(REPO / "samples" / "nginx-access.log", SUMMARY)
    text = plain(summary, 60)
    assert max(len(line) for line in text.splitlines()) <= 60
    assert left_out_note(text, 60) == ["table", "share"]
    shown = plain_columns(text, "By status")
    assert list(shown) == ["status", "by", "requests", "name: meaning"]


def test_the_sparkline_has_as_many_marks_as_fit() -> None:
    settings = ReportSettings(every=parse_duration("5m", "--every"))
    summary = summary_of(REPORT_FIXTURES / "upstream.log", settings)

    def marks_and_run(text: str) -> tuple[int, int]:
        (line,) = [line for line in text.splitlines() if line.startswith("all ")]
        run = re.search(r"each\s+mark\s+(\d+)\s+x\s+5m", text)
        assert run, text
        return len(line.split("|")[1]), int(run.group(1))

    wide_marks, wide_run = marks_and_run(plain(summary, None))
    narrow_marks, narrow_run = marks_and_run(plain(summary, 50))
    assert wide_marks == 289 // wide_run + 1 and wide_marks <= 72
    # fewer marks, each of more buckets, and the title says how many
    assert narrow_marks < wide_marks and narrow_run > wide_run
    assert narrow_marks == -(-289 // narrow_run)
    assert len("all    requests   peak  ") + narrow_marks + 2 <= 50


def test_wrap_never_cuts_a_word_it_need_not_cut() -> None:
    text = "The client hung up before nginx could send a response"
    for width in range(len("response"), 40):
        lines = wrap(text, width, break_long=False)
        assert " ".join(lines) == text and all(len(line) <= width for line in lines)
    # a log value longer than its column is broken, after a slash where it can be
    assert wrap("/api/v1/orders/42/items", 12) == ["/api/v1/", "orders/42/", "items"]
    assert wrap("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]


def test_a_wrapped_report_line_keeps_its_indent() -> None:
    line = "  some/dir/access.log: nginx combined, 200/200 sample lines matched"
    assert wrap_line(line, 40) == [
        "  some/dir/access.log: nginx combined,",
        "    200/200 sample lines matched",
    ]
    assert wrap_line(line, None) == [line]


def test_prose_is_never_cut_even_when_the_terminal_is_too_narrow() -> None:
    """Below what the fixed columns need, prose keeps whole words while any column
    can still go; the line is wider only when nothing else is left."""
    fitted = fit_table(
        ["status", "meaning", "table"],
        [["502", "nginx got no valid answer from any upstream", "nginx"]],
        frozenset(),
        Layout({"meaning": PROSE}, ("table",)),
        30,
        PLAIN,
    )
    assert fitted.left_out == ["table"]
    assert all(len(line) <= fitted.widths[1] for line in fitted.rows[0][1])
    assert " ".join(fitted.rows[0][1]) == "nginx got no valid answer from any upstream"
