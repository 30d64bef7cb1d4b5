"""The summary for people: rich tables on a terminal, plain stable text when piped.

Both views are built from the same sections (title, headers, rows of strings),
so they never disagree.  Everything that came from a log or a file name goes
through `safe`, and cells are rich `Text`, never markup, so a path like
`[bold]` or an ANSI escape in a log is shown, not obeyed.
"""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from logstat.report.escape import safe
from logstat.report.files import (
    ATTENTION_LIMIT,
    NOT_RECOGNISED,
    group_files,
    listed_one_by_one,
    needing_attention,
    shown_groups,
)
from logstat.report.fit import BOXED, DATA, PLAIN, PROSE, Frame, Layout, fit_table, wrap_line
from logstat.report.latency_text import latency_tables
from logstat.report.lines_note import lines_note, path_rows_note
from logstat.report.model import (
    AlertResult,
    ClassRow,
    Drilldown,
    FileSummary,
    FilterReport,
    Group,
    LayerRow,
    StatusRow,
    Summary,
    Timeline,
    TopField,
)
from logstat.status import UNKNOWN, producer_label
from logstat.status.details import LAYERS as DETAIL_LAYERS
from logstat.time_zones import UTC_ZONE, DisplayZone

if TYPE_CHECKING:
    from rich.console import Console

FILE_GROUPS_TITLE = "Files read, by directory, format and compression"
# a narrow terminal shows a status's name in its meaning's column: "Not Found: Nothing ..."
MEANING = ("name", "meaning")
EVERY_COLUMN = "--markdown and --json show every column"


@dataclass
class Section:
    title: str
    headers: list[str]
    rows: list[list[str]]
    right_aligned: frozenset[int] = frozenset()  # numeric column indexes
    note: str | None = None  # a line under the table
    layout: Layout = field(default_factory=Layout)  # how to narrow it for a terminal (fit.py)


def _count(value: int) -> str:
    return f"{value:,}"


def _requests(count: int) -> str:
    return f"{count:,} request{'' if count == 1 else 's'}"


def _percent(share: float) -> str:
    """One decimal; a share that is not zero never shows as 0.0%, nor one short of all
    as 100.0% (3 of 10,000 is <0.1%, 9,999 of 10,000 is >99.9%)."""
    text = f"{share * 100:.1f}"
    if text == "0.0" and share > 0:
        return "<0.1%"
    if text == "100.0" and share < 1:
        return ">99.9%"
    return text + "%"


def _moment(moment: datetime | None, zone: DisplayZone) -> str:
    return zone.show(moment) if moment else "-"


def _in_zone(zone: DisplayZone) -> str:
    """Said beside times shown in another zone than UTC (UTC times end in 'UTC')."""
    return "" if zone.is_utc else f" (times in {zone.name})"


def _status(status: int | None, substatus: int | None) -> str:
    if status is None:
        return "-"
    text = f"{status:03d}" if 0 <= status < 100 else str(status)
    return f"{text}.{substatus}" if substatus is not None else text


def overview(summary: Summary, zone: DisplayZone = UTC_ZONE) -> list[str]:
    totals = summary.totals
    lines = [
        f"Read {_count(totals.files)} file{'s' if totals.files != 1 else ''}, "
        f"{_count(totals.lines)} line{'s' if totals.lines != 1 else ''}: "
        f"{_count(totals.records)} parsed, "
        f"{_count(totals.rejected)} rejected"
        + (f", {_count(totals.comments)} comment/header lines" if totals.comments else "")
        + (f", {_count(totals.blank)} blank" if totals.blank else ""),
    ]
    if listed_one_by_one(summary.files):
        for file in summary.files:
            lines.extend(_file_lines(file, "  "))
    else:
        lines.extend(_attention_lines(summary.files))
    if summary.first:
        lines.append(
            f"Time range: {_moment(summary.first, zone)} to {_moment(summary.last, zone)}"
            + _in_zone(zone)
        )
    if summary.vendors:
        lines.append(f"Application vendors consulted first: {', '.join(summary.vendors)}")
    if summary.filters:
        lines.append(filter_line(summary.filters, summary.totals.records, zone))
    return lines


def _file_lines(file: FileSummary, indent: str, rejected: bool = False) -> list[str]:
    """A file, how it was read, and what went wrong (with its rejected lines if asked)."""
    extra = f" ({file.compression})" if file.compression else ""
    lines = [f"{indent}{safe(file.name)}{extra}: {safe(file.detection or NOT_RECOGNISED)}"]
    if rejected and file.rejected:
        lines.append(
            f"{indent}  {_count(file.rejected)} of {_count(file.lines)} "
            f"line{'s' if file.lines != 1 else ''} rejected"
        )
    if file.invalid_utf8:
        were = "lines were" if file.invalid_utf8 != 1 else "line was"
        lines.append(
            f"{indent}  {_count(file.invalid_utf8)} {were} not UTF-8 (shown with \\x escapes)"
        )
    lines.extend(f"{indent}  warning: {safe(problem)}" for problem in file.problems)
    return lines


def _attention_lines(files: list[FileSummary]) -> list[str]:
    """Too many files for a line each: a pointer to the table of groups, and the files
    that need a look, each with what is wrong."""
    lines = [
        f"  {_count(len(files))} files, grouped below by directory, format and compression; "
        "--json lists each one"
    ]
    flagged = needing_attention(files)
    if not flagged:
        lines.append("  Every file was recognised, with no rejected lines and no warnings")
        return lines
    lines.append(
        f"  {_count(len(flagged))} file{'s need' if len(flagged) != 1 else ' needs'} attention "
        "(rejected lines, warnings, no format recognised, or empty)"
        + (f"; the first {ATTENTION_LIMIT}:" if len(flagged) > ATTENTION_LIMIT else ":")
    )
    for file in flagged[:ATTENTION_LIMIT]:
        lines.extend(_file_lines(file, "    ", rejected=True))
    if len(flagged) > ATTENTION_LIMIT:
        lines.append(f"    ... and {_count(len(flagged) - ATTENTION_LIMIT)} more (see --json)")
    return lines


def _file_group_section(files: list[FileSummary]) -> Section:
    groups, others = shown_groups(group_files(files))
    comments = any(group.comments for group in groups) or bool(others and others.comments)
    rows = [
        [
            safe(group.directory),
            safe(group.format),
            group.compression or "-",
            _count(group.files),
            _count(group.lines),
            _count(group.records),
            _count(group.rejected),
            *([_count(group.comments)] if comments else []),
        ]
        for group in [*groups, *([others] if others else [])]
    ]
    return Section(
        FILE_GROUPS_TITLE,
        [
            "directory",
            "format",
            "compression",
            "files",
            "lines",
            "parsed",
            "rejected",
            *(["comments"] if comments else []),
        ],
        rows,
        frozenset(range(3, 8 if comments else 7)),
        layout=Layout(
            {"directory": DATA, "format": PROSE}, ("compression", "comments", "lines", "files")
        ),
    )


def filter_descriptions(filters: FilterReport, zone: DisplayZone = UTC_ZONE) -> list[str]:
    """Each active filter in words (log-free: these are the user's own values)."""
    parts = []
    if filters.since:
        parts.append(f"since {_moment(filters.since, zone)}")
    if filters.until:
        parts.append(f"until {_moment(filters.until, zone)}")
    for name, values in (
        ("status", filters.status),
        ("host", filters.host),
        ("method", filters.method),
        ("source", filters.source),
    ):
        if values:
            parts.append(f"{name} {','.join(values)}")
    if filters.path is not None:
        parts.append(f"path matches {filters.path!r}")
    return parts


def filter_line(filters: FilterReport, records: int, zone: DisplayZone = UTC_ZONE) -> str:
    kept = records - filters.excluded
    return (
        f"Filters: {safe('; '.join(filter_descriptions(filters, zone)))}: "
        f"{_count(filters.excluded)} of {_count(records)} records excluded, {_count(kept)} kept"
    )


def sections(
    summary: Summary,
    zone: DisplayZone = UTC_ZONE,
    width: int | None = None,
    frame: Frame = PLAIN,
) -> list[Section]:
    """The report's tables; `width` (None: no limit) and `frame` only decide how many
    marks a sparkline has, the views fit the rest (fit.py)."""
    result = []
    if not listed_one_by_one(summary.files):
        result.append(_file_group_section(summary.files))
    if summary.rejects:
        result.append(
            Section(
                "Rejected lines",
                ["reason", "lines"],
                [[safe(reason), _count(count)] for reason, count in summary.rejects.items()],
                frozenset({1}),
                layout=Layout({"reason": PROSE}),
            )
        )
    result.append(_class_section("By class", summary.classes))
    several_sources = len({row.source for row in summary.statuses}) > 1
    status_section = _status_section("By status", summary.statuses, several_sources)
    source = ["--source", "SOURCE"] if several_sources else []
    status_section.note = lines_note(summary.lines_command, *source, "--status", "STATUS")
    result.append(status_section)
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
                layout=Layout({"name": PROSE}, ("table", "share")),
            )
        )
    result.extend(_layer_sections(summary.layers))
    if summary.latency:
        tables = latency_tables(summary.latency, zone, summary.lines_command)
        result.extend(Section(**table) for table in tables)
    if summary.groups:
        for group in summary.groups.groups:
            result.extend(_group_sections(summary.groups.by, group, summary.lines_command))
    if summary.timeline:
        marks = spark_marks(summary.timeline, summary.totals.selected, width, frame)
        result.append(timeline_section(summary.timeline, summary.classes, zone, marks))
    if summary.top:
        result.extend(_top_sections(summary.top, summary.lines_command))
    if summary.alerts:
        result.append(alert_section(summary.alerts))
    return result


def _class_section(title: str, classes: list[ClassRow]) -> Section:
    return Section(
        title,
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
            for row in classes
        ],
        frozenset({1, 2, 3, 4, 5}),
    )


def _status_section(title: str, statuses: list[StatusRow], several_sources: bool) -> Section:
    # "by": who produced the status, in the source's words (ALB or target, edge or origin
    # ...), one row per producer since the meaning depends on it; left out when the logs
    # cannot tell for any row (Apache)
    by = any(row.produced_by not in (None, UNKNOWN) for row in statuses)
    first = 1 if several_sources else 0
    return Section(
        title,
        [
            *(["source"] if several_sources else []),
            "status",
            *(["by"] if by else []),
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
                *([producer_label(row.source, row.produced_by)] if by else []),
                _count(row.count),
                _percent(row.share),
                row.name or "-",
                row.meaning or "-",
                row.vendor or "-",
            ]
            for row in statuses
        ],
        frozenset({first + by + 1, first + by + 2}),
        # to fit a terminal: the vendor table goes first, then the share; the name is
        # shown with the meaning ("Not Found: Nothing exists ...") when both cannot fit
        layout=Layout({"name": PROSE, "meaning": PROSE}, ("table", "share"), MEANING),
    )


# What each status layer is called and what it says, for the titles of its table.
LAYER_LABELS = {name: (layer.label, layer.says) for name, layer in DETAIL_LAYERS.items()}
LAYER_TITLES = {layer: f"{name}, {says}" for layer, (name, says) in LAYER_LABELS.items()}
NO_MEANING = "no meaning known"


def _layer_sections(layers: list[LayerRow]) -> list[Section]:
    """One table per layer that has values, in the order the summary lists them."""
    by_layer: dict[str, list[LayerRow]] = {}
    for row in layers:
        by_layer.setdefault(row.layer, []).append(row)
    result = []
    for layer, rows in by_layer.items():
        several_sources = len({row.source for row in rows}) > 1
        named = any(row.name for row in rows)  # only win32 codes have symbolic names
        result.append(
            Section(
                f"Layer details: {LAYER_TITLES.get(layer, layer)}",
                [
                    *(["source"] if several_sources else []),
                    "value",
                    "requests",
                    "share",
                    "with status",
                    *(["name"] if named else []),
                    "meaning",
                ],
                [
                    [
                        *([row.source] if several_sources else []),
                        safe(row.value),
                        _count(row.count),
                        _percent(row.share),
                        ", ".join(
                            f"{code}: {_count(count)}" for code, count in row.statuses.items()
                        ),
                        *([row.name or "-"] if named else []),
                        row.meaning or NO_MEANING,
                    ]
                    for row in rows
                ],
                frozenset({2, 3} if several_sources else {1, 2}),
                layout=Layout(
                    {"value": DATA, "with status": PROSE, "name": PROSE, "meaning": PROSE},
                    ("share",),
                    MEANING,
                ),
            )
        )
    return result


def group_label(by: str, key: str | None) -> str:
    return f"{by} {safe(key) if key is not None else '(not logged)'}"


def _group_sections(by: str, group: Group, command: str | None) -> list[Section]:
    label = f"{group_label(by, group.key)} ({_requests(group.records)})"
    several_sources = by != "source" and len({row.source for row in group.statuses}) > 1
    statuses = _status_section(f"{label}: by status", group.statuses, several_sources)
    option = GROUP_OPTIONS.get(by)
    if option is not None and group.key is not None:
        source = ["--source", "SOURCE"] if several_sources else []
        # a value as logged goes into the note only when it holds nothing a terminal acts on
        key = group.key if group.key.isprintable() else by.upper()
        statuses.note = lines_note(command, option, key, *source, "--status", "STATUS")
    return [_class_section(f"{label}: by class", group.classes), statuses]


# The `logstat lines` filter of a --by group and of a --top field; those without one
# (file; client, user agent ...) are narrowed by status only.
GROUP_OPTIONS = {"source": "--source", "host": "--host"}
TOP_OPTIONS = {
    "host": ("--host", "HOST"),
    "method": ("--method", "METHOD"),
}


SPARK_LEVELS = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 72  # marks at most; longer timelines fold several buckets into one mark
SPARK_FEWEST = 12  # a terminal too narrow for this many marks gets the line wider than it


def fold(values: list[int], width: int = SPARK_WIDTH) -> tuple[list[int], int]:
    """Sum runs of consecutive values so at most `width` remain; returns (values, run)."""
    run = max(1, -(-len(values) // width))
    return [sum(values[index : index + run]) for index in range(0, len(values), run)], run


def sparkline(values: list[int]) -> str:
    """One mark per value, scaled to the largest; zero is a space, any other count shows."""
    peak = max(values, default=0)
    marks = [
        SPARK_LEVELS[-(-value * len(SPARK_LEVELS) // peak) - 1] if value else " "
        for value in values
    ]
    return "|" + "".join(marks) + "|"


def spark_marks(timeline: Timeline, requests: int, width: int | None, frame: Frame) -> int:
    """How many marks a sparkline may have to fit `width` beside its three other columns."""
    if width is None:
        return SPARK_WIDTH
    labels = len("class")  # all, 2xx ... other, none
    numbers = max(len("requests"), len(_count(requests)))  # the peak is never above the total
    room = width - frame.width([labels, numbers, numbers, len("||")])
    return max(SPARK_FEWEST, min(SPARK_WIDTH, room))


def timeline_title(
    timeline: Timeline, zone: DisplayZone = UTC_ZONE, marks: int = SPARK_WIDTH
) -> str:
    count = len(timeline.buckets)
    if not count:
        return f"Over time ({timeline.every} buckets): no timed records"
    run = fold([0] * count, marks)[1]
    per_mark = f"each mark {run} x {timeline.every}" if run > 1 else f"each mark {timeline.every}"
    untimed = f"; {_count(timeline.untimed)} without a time" if timeline.untimed else ""
    in_zone = "" if zone.is_utc else f"; times in {zone.name}"
    return (
        f"Over time: {count} buckets of {timeline.every} from "
        f"{_moment(timeline.buckets[0].start, zone)} ({per_mark}{untimed}{in_zone})"
    )


def timeline_rows(
    timeline: Timeline, classes: list[ClassRow], marks: int = SPARK_WIDTH
) -> list[list[str]]:
    """[label, requests, peak per mark, sparkline] for all records and each class seen."""
    series = [("all", [bucket.count for bucket in timeline.buckets])]
    series += [
        (row.status_class, [bucket.classes.get(row.status_class, 0) for bucket in timeline.buckets])
        for row in classes
        if row.count
    ]
    rows = []
    for label, values in series:
        folded, _ = fold(values, marks)
        rows.append([label, _count(sum(values)), _count(max(folded, default=0)), sparkline(folded)])
    return rows


def timeline_section(
    timeline: Timeline,
    classes: list[ClassRow],
    zone: DisplayZone = UTC_ZONE,
    marks: int = SPARK_WIDTH,
) -> Section:
    return Section(
        timeline_title(timeline, zone, marks),
        ["class", "requests", "peak", "over time"],
        timeline_rows(timeline, classes, marks),
        frozenset({1, 2}),
    )


def timeline_table(
    timeline: Timeline, classes: list[ClassRow], zone: DisplayZone = UTC_ZONE
) -> Section:
    """Every bucket: start, requests, one column per class, and the statuses seen."""
    names = [row.status_class for row in classes]
    rows = []
    for bucket in timeline.buckets:
        statuses = sorted(bucket.statuses.items(), key=lambda item: (-item[1], item[0]))
        rows.append(
            [
                _bucket_start(bucket.start, zone),
                _count(bucket.count),
                *(_count(bucket.classes.get(name, 0)) for name in names),
                ", ".join(f"{code}: {_count(count)}" for code, count in statuses) or "-",
            ]
        )
    return Section(
        f"Buckets of {timeline.every} ({'UTC' if zone.is_utc else zone.name} start)",
        ["start", "requests", *names, "statuses"],
        rows,
        frozenset(range(1, len(names) + 2)),
    )


FIELD_LABELS = {"client_ip": "client", "user_agent": "user agent"}


def field_label(name: str) -> str:
    return FIELD_LABELS.get(name, name)


def _top_sections(top: Drilldown, command: str | None) -> list[Section]:
    result = []
    for group in top.groups:
        for found in group.fields:
            label = field_label(found.field)
            rows = [
                [safe(entry.value), _count(entry.count), _percent(entry.share)]
                for entry in found.entries
            ]

            def share(count: int, size: int = group.count) -> str:
                return _percent(count / size if size else 0.0)

            if found.others:
                others = found.distinct - len(found.entries)
                noun = "value" if others == 1 else "values"
                about = "about " if found.error else ""  # distinct is estimated
                rows.append(
                    [
                        f"({about}{_count(others)} other {noun})",
                        _count(found.others),
                        share(found.others),
                    ]
                )
            if found.missing:
                rows.append(["(not logged)", _count(found.missing), share(found.missing)])
            distinct = f"{'about ' if found.error else ''}{_count(found.distinct)} distinct"
            drilldown = _top_note(command, group.group, found)
            notes = [note for note in (_approximate_note(found.error), drilldown) if note]
            result.append(
                Section(
                    f"Top {label} for {group.group} ({_requests(group.count)}, {distinct})",
                    [label, "requests", "share"],
                    rows,
                    frozenset({1, 2}),
                    " ".join(notes) or None,
                    Layout({label: DATA}),
                )
            )
    return result


def _top_note(command: str | None, status: str, found: TopField) -> str | None:
    """The `logstat lines` command behind a top table: a path only matches itself
    escaped and anchored, so the path table names its first row."""
    if found.field == "path" and found.entries and found.entries[0].value is not None:
        return path_rows_note(command, None, found.entries[0].value, "--status", status)
    row_filter = TOP_OPTIONS.get(found.field, ()) if found.distinct else ()
    behind = "a row" if row_filter else "the table"
    return lines_note(command, "--status", status, *row_filter, behind=behind)


def _approximate_note(error: int | None) -> str | None:
    if not error:
        return None
    return (
        f"Approximate (too many distinct values to count each): a count may be low by up to "
        f"{_count(error)}; a value not listed has at most that many more than the last one."
    )


def measured(result: AlertResult) -> str:
    if result.change is not None:
        from logstat.alerts import change_text

        return change_text(result)
    if result.percent:
        from logstat.alerts import shown_percent  # alerts loads polars: not for `codes`

        return f"{shown_percent(result)} ({_count(result.count)} of {_count(result.total)})"
    return _count(result.count)


def verdict(result: AlertResult) -> str:
    """TRIPPED, ok, or NOT JUDGED (a run whose counts are in doubt never says ok)."""
    if result.unjudged is not None:
        return "NOT JUDGED"
    return "TRIPPED" if result.tripped else "ok"


def alert_section(alerts: list[AlertResult]) -> Section:
    return Section(
        "Fail-if rules",
        ["rule", "measured", "result"],
        [[alert.rule, measured(alert), verdict(alert)] for alert in alerts],
        layout=Layout({"rule": DATA, "measured": PROSE}),
    )


def _bucket_start(start: datetime, zone: DisplayZone) -> str:
    if zone.is_utc:
        return start.strftime("%Y-%m-%d %H:%M:%S")
    return zone.show(start)  # with its offset: it changes with daylight saving time


def render_plain(summary: Summary, zone: DisplayZone = UTC_ZONE, width: int | None = None) -> str:
    """Stable text with no colour or box drawing, for pipes, mail and diffs; within
    `width` columns when given (a terminal's), else each table as wide as it is."""
    out = [part for line in overview(summary, zone) for part in wrap_line(line, width)]
    for section in sections(summary, zone, width, PLAIN):
        out.append("")
        out.extend(plain_section(section, width))
    return "\n".join(out) + "\n"


def plain_section(
    section: Section, width: int | None, every_column: str = EVERY_COLUMN
) -> list[str]:
    """One table as plain lines (its title, rows and notes), within `width` when given."""
    out = wrap_line(section.title, width)
    fitted = fit_table(
        section.headers, section.rows, section.right_aligned, section.layout, width, PLAIN
    )
    last = len(fitted.headers) - 1
    for cells in [fitted.headers, *fitted.rows]:
        for line in range(max(len(lines) for lines in cells)):
            parts = []
            for index, lines in enumerate(cells):
                cell = lines[line] if line < len(lines) else ""
                if index in fitted.right_aligned:
                    parts.append(cell.rjust(fitted.widths[index]))
                elif index == last:
                    parts.append(cell)  # no trailing spaces
                else:
                    parts.append(cell.ljust(fitted.widths[index]))
            out.append("  ".join(parts).rstrip())
    for note in _notes(section, fitted.left_out, width, every_column):
        out.extend(wrap_line(note, width))
    return out


def pipe_width() -> int | None:
    """The width to fit plain text to: when it goes down a pipe (`| less`, `| grep`)
    while stderr shows on a terminal, that terminal's (or $COLUMNS); None (the tables
    as wide as they are) for a file, and with no terminal at all (cron, CI)."""
    try:
        piped = stat.S_ISFIFO(os.fstat(sys.stdout.fileno()).st_mode)
        if not piped or not sys.stderr.isatty():
            return None
        columns = os.environ.get("COLUMNS", "")
        if columns.isdecimal() and int(columns) > 0:
            return int(columns)
        return os.get_terminal_size(sys.stderr.fileno()).columns
    except (AttributeError, OSError, ValueError):  # no file descriptor (a test's capture)
        return None


def _notes(
    section: Section, left_out: list[str], width: int | None, every_column: str = EVERY_COLUMN
) -> list[str]:
    notes = [section.note] if section.note else []
    if left_out:
        notes.append(f"Not shown at {width} columns: {', '.join(left_out)} ({every_column}).")
    return notes


def render_rich(summary: Summary, console: Console, zone: DisplayZone = UTC_ZONE) -> None:
    """Tables fitted to the console's width: meanings wrapped, never cut mid-word."""
    from rich.text import Text  # here: plain text, piped, needs no rich (tens of ms)

    for line in overview(summary, zone):
        for part in wrap_line(line, console.width):
            console.print(Text(part))
    for section in sections(summary, zone, console.width, BOXED):
        print_section(console, section)


def print_section(console: Console, section: Section, every_column: str = EVERY_COLUMN) -> None:
    """One table on a terminal, fitted to its width; `every_column` says where the
    columns it leaves out can be seen."""
    from rich.table import Table
    from rich.text import Text

    width = console.width
    # the title on its own line: a table title would wrap at the table's width
    for part in wrap_line(section.title, width) if section.title else []:
        console.print(Text(part, style="bold"))
    fitted = fit_table(
        section.headers, section.rows, section.right_aligned, section.layout, width, BOXED
    )
    table = Table()
    for index, header in enumerate(fitted.headers):
        table.add_column(
            Text("\n".join(header)),
            justify="right" if index in fitted.right_aligned else "left",
            overflow="fold",
        )
    for cells in fitted.rows:
        table.add_row(*(Text("\n".join(lines)) for lines in cells))
    console.print(table)
    for note in _notes(section, fitted.left_out, width, every_column):
        for part in wrap_line(note, width):
            console.print(Text(part))
