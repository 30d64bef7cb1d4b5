"""`logstat diff` for people: plain text when piped, rich tables on a terminal.

One table per kind (classes, statuses, producers, groups), built as the summary's
sections are (report/text.py) so that both views fit the terminal the same way.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from logstat.report.diff import Change, Difference, Side
from logstat.report.escape import safe
from logstat.report.fit import PROSE, Layout, wrap_line
from logstat.report.text import (
    MEANING,
    Section,
    _count,
    _percent,
    alert_section,
    plain_section,
    print_section,
)
from logstat.time_zones import UTC_ZONE, DisplayZone

TITLES = {
    "class": "Status classes",
    "status": "Status codes",
    "producer": "Who produced them (the proxy in front, or the server behind)",
    "source": "Sources",
    "host": "Hosts",
    "file": "Files",
}
EVERY_COLUMN = "--json shows every column"


def overview(difference: Difference, zone: DisplayZone = UTC_ZONE) -> list[str]:
    flagged = difference.flagged
    test = (
        f"|z| >= {difference.threshold:g} in a two-proportion z-test of the share of "
        f"requests, with at least {difference.min_count:,} requests on one side"
    )
    verdict = (
        f"{len(flagged)} change{'' if len(flagged) == 1 else 's'} more than noise ({test})."
        if flagged
        else f"No change is more than noise ({test})."
    )
    return [
        _side_line("Before", difference.before, zone),
        _side_line("After", difference.after, zone),
        verdict,
    ]


def _side_line(title: str, side: Side, zone: DisplayZone) -> str:
    span = (
        f", {zone.show(side.first)} to {zone.show(side.last)}" if side.first and side.last else ""
    )
    return f"{title}: {safe(side.label)}: {_count(side.requests)} requests{span}"


def sections(difference: Difference) -> list[Section]:
    kinds = list(dict.fromkeys(change.kind for change in difference.changes))
    tables = [_section(kind, [c for c in difference.changes if c.kind == kind]) for kind in kinds]
    return [*tables, *([alert_section(difference.alerts)] if difference.alerts else [])]


def _section(kind: str, changes: list[Change]) -> Section:
    named = kind == "status"
    headers = [
        kind,
        *(["name"] if named else []),
        "before",
        "after",
        "change",
        "before %",
        "after %",
        "ratio",
        "z",
        "verdict",
    ]
    rows = [
        [
            safe(change.key),
            *([change.name or "-"] if named else []),
            _count(change.before),
            _count(change.after),
            f"{change.change:+,}",
            _percent(change.before_share),
            _percent(change.after_share),
            _ratio(change),
            f"{change.z:+.1f}" if change.z is not None else "-",
            _verdict(change),
        ]
        for change in changes
    ]
    numbers = frozenset(range(1 + named, len(headers) - 1))
    layout = Layout({"name": PROSE}, ("name", "ratio", "change"), MEANING if named else None)
    return Section(TITLES[kind], headers, rows, numbers, layout=layout)


def _ratio(change: Change) -> str:
    """How many times its share grew: 3.0x; new when it was never seen before."""
    if change.ratio is not None:
        ratio = change.ratio
        return (
            f"{ratio:.2f}x" if ratio < 0.1 else f"{ratio:.1f}x" if ratio < 10 else f"{ratio:,.0f}x"
        )
    return "new" if change.after else "-"


def _verdict(change: Change) -> str:
    if not change.flagged:
        return ""
    return "rose" if change.direction == "up" else "fell"


def render_plain(
    difference: Difference, zone: DisplayZone = UTC_ZONE, width: int | None = None
) -> str:
    out = [part for line in overview(difference, zone) for part in wrap_line(line, width)]
    for section in sections(difference):
        out.append("")
        out.extend(plain_section(section, width, EVERY_COLUMN))
    return "\n".join(out) + "\n"


def render_rich(difference: Difference, console: Console, zone: DisplayZone = UTC_ZONE) -> None:
    for line in overview(difference, zone):
        for part in wrap_line(line, console.width):
            console.print(Text(part))
    for section in sections(difference):
        print_section(console, section, EVERY_COLUMN)
