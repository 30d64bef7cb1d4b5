"""The summary for people: rich tables on a terminal, plain stable text when piped.

Both views are built from the same sections (title, headers, rows of strings),
so they never disagree.  Everything that came from a log or a file name goes
through `safe`, and cells are rich `Text`, never markup, so a path like
`[bold]` or an ANSI escape in a log is shown, not obeyed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from rich.console import Console
from rich.table import Table
from rich.text import Text

from logstat.report.model import Summary

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def safe(value: object) -> str:
    """Text from a log, with control characters shown as escapes."""
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", str(value))


@dataclass
class Section:
    title: str
    headers: list[str]
    rows: list[list[str]]
    right_aligned: frozenset[int] = frozenset()  # numeric column indexes


def _count(value: int) -> str:
    return f"{value:,}"


def _percent(share: float) -> str:
    return f"{share * 100:.1f}%"


def _moment(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "-"


def _status(status: int | None, substatus: int | None) -> str:
    if status is None:
        return "-"
    text = f"{status:03d}" if 0 <= status < 100 else str(status)
    return f"{text}.{substatus}" if substatus is not None else text


def overview(summary: Summary) -> list[str]:
    totals = summary.totals
    lines = [
        f"Read {_count(totals.files)} file{'s' if totals.files != 1 else ''}, "
        f"{_count(totals.lines)} lines: {_count(totals.records)} parsed, "
        f"{_count(totals.rejected)} rejected"
        + (f", {_count(totals.comments)} comment/header lines" if totals.comments else ""),
    ]
    for file in summary.files:
        described = file.detection or "format not recognised"
        extra = f" ({file.compression})" if file.compression else ""
        lines.append(f"  {safe(file.name)}{extra}: {safe(described)}")
        if file.invalid_utf8:
            lines.append(
                f"    {_count(file.invalid_utf8)} lines were not UTF-8 (shown with \\x escapes)"
            )
        lines.extend(f"    warning: {safe(problem)}" for problem in file.problems)
    if summary.first:
        lines.append(f"Time range: {_moment(summary.first)} to {_moment(summary.last)}")
    if summary.vendors:
        lines.append(f"Application vendors consulted first: {', '.join(summary.vendors)}")
    return lines


def sections(summary: Summary) -> list[Section]:
    result = []
    if summary.rejects:
        result.append(
            Section(
                "Rejected lines",
                ["reason", "lines"],
                [[safe(reason), _count(count)] for reason, count in summary.rejects.items()],
                frozenset({1}),
            )
        )
    result.append(
        Section(
            "By class",
            ["class", "requests", "share", "proxy", "upstream", "unknown"],
            [
                [
                    row.status_class,
                    _count(row.count),
                    _percent(row.share),
                    _count(row.proxy),
                    _count(row.upstream),
                    _count(row.unknown),
                ]
                for row in summary.classes
            ],
            frozenset({1, 2, 3, 4, 5}),
        )
    )
    several_sources = len({row.source for row in summary.statuses}) > 1
    result.append(
        Section(
            "By status",
            [
                *(["source"] if several_sources else []),
                "status",
                "requests",
                "share",
                "name",
                "meaning",
                "table",
            ],
            [
                [
                    *([row.source] if several_sources else []),
                    _status(row.status, row.substatus),
                    _count(row.count),
                    _percent(row.share),
                    row.name or "-",
                    row.meaning or "-",
                    row.vendor or "-",
                ]
                for row in summary.statuses
            ],
            frozenset({1, 2, 3} if several_sources else {1, 2}),
        )
    )
    if summary.upstream_statuses:
        result.append(
            Section(
                "Upstream statuses (what the server behind the proxy answered)",
                ["source", "upstream", "requests", "share", "name", "table"],
                [
                    [
                        row.source,
                        _status(row.upstream_status, None),
                        _count(row.count),
                        _percent(row.share),
                        row.name or "-",
                        row.vendor or "-",
                    ]
                    for row in summary.upstream_statuses
                ],
                frozenset({2, 3}),
            )
        )
    return result


def render_plain(summary: Summary) -> str:
    """Stable text with no colour or box drawing, for pipes, mail and diffs."""
    out = overview(summary)
    for section in sections(summary):
        out.append("")
        out.append(section.title)
        widths = [
            max(len(cell) for cell in [header, *(row[index] for row in section.rows)])
            for index, header in enumerate(section.headers)
        ]
        last = len(section.headers) - 1
        for cells in [section.headers, *section.rows]:
            parts = []
            for index, cell in enumerate(cells):
                if index in section.right_aligned:
                    parts.append(cell.rjust(widths[index]))
                elif index == last:
                    parts.append(cell)  # no trailing spaces
                else:
                    parts.append(cell.ljust(widths[index]))
            out.append("  ".join(parts).rstrip())
    return "\n".join(out) + "\n"


def render_rich(summary: Summary, console: Console) -> None:
    for line in overview(summary):
        console.print(Text(line))
    for section in sections(summary):
        table = Table(title=Text(section.title, style="bold"), title_justify="left")
        for index, header in enumerate(section.headers):
            table.add_column(
                header,
                justify="right" if index in section.right_aligned else "left",
                overflow="fold",
            )
        for cells in section.rows:
            table.add_row(*(Text(cell) for cell in cells))
        console.print(table)
