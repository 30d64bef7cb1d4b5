"""The live view (`logstat follow`): the window's summary as one screen of text.

What it shows comes from the summary's own tables (text.sections: the classes with
who produced them, the statuses with their meanings for the source that logged
them, the top paths of 4xx and 5xx), each fitted to the terminal's width by fit.py
as the plain view fits them, with a sparkline per class beside the class table.
The height is shared out by dropping the least frequent rows (saying how many), so
the screen never scrolls: it is drawn whole each second, with no flicker.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from rich.text import Text

from logstat.report.escape import safe
from logstat.report.fit import PLAIN, PROSE, fit_table
from logstat.report.model import Summary
from logstat.report.text import Section, fold, plain_section, sections, sparkline
from logstat.time_zones import UTC_ZONE, DisplayZone

ERROR_CLASSES = ("5xx", "4xx")  # whose top paths are shown, in this order
WATCHED = ("2xx", "4xx", "5xx")  # classes shown with no requests; others only with some
PATH_ROWS = 3  # top paths each error class gets at least, when the height allows
GAP = 2  # spaces between the two path tables side by side


@dataclass
class LiveView:
    """What one screen shows: the window's summary and its requests over time."""

    summary: Summary
    per_bucket: dict[str, list[int]]  # class -> requests in each bucket, oldest first
    bucket_seconds: int
    window: str  # as given: "5m"
    seconds: int
    now: datetime
    logs: list[str]  # the inputs, as given
    waiting: list[str] = field(default_factory=list)  # inputs missing now (rotation)
    problems: list[str] = field(default_factory=list)  # what reading ran into
    older: int = 0  # records read that were older than the window already


@dataclass
class Line:
    text: str
    style: str = ""


def render(view: LiveView, width: int, height: int, zone: DisplayZone = UTC_ZONE) -> Text:
    """The screen as one rich Text: at most `height` lines of at most `width` columns."""
    text = Text(no_wrap=True, overflow="crop", end="")
    for index, line in enumerate(screen_lines(view, width, height, zone)):
        if index:
            text.append("\n")
        text.append(line.text, style=line.style)
    return text


def screen_lines(
    view: LiveView, width: int, height: int, zone: DisplayZone = UTC_ZONE
) -> list[Line]:
    """The lines of the screen, top to bottom (see `render`)."""
    summary = view.summary
    tables = {section.title: section for section in sections(summary, zone, width, PLAIN)}
    head = [Line(_title(view, width, zone), "bold reverse"), Line(_totals(view, width))]
    foot = [Line(note[:width], "yellow") for note in _notes(view)][:2]
    space = room = max(0, height - len(head) - len(foot))
    body = _class_lines(tables.get("By class"), view, width)
    room -= len(body)
    paths = _path_sections(summary, tables, width)
    status = tables.get("By status")
    if status is not None and status.rows:
        # the meaning gets the width of the vendor table's name and of the share
        narrower = _named_meanings(_without(_without(status, "table"), "share"))
        status = replace(narrower, title=f"By status, last {view.window}")
        # the statuses come first: the paths get a few rows, if a status can still show
        fewest = len(_trimmed(status, width, room, "statuses", most=1))
        least = min(_lines(paths, width, PATH_ROWS), max(0, room - fewest)) if paths else 0
        status_lines = _trimmed(status, width, room - least, "statuses")
        body += status_lines
        room -= len(status_lines)
    elif summary.totals.selected == 0:
        older = f" ({view.older:,} records read were older)" if view.older else ""
        body.append(Line(f"No requests in the last {view.window}{older}."[:width]))
        room -= 1
    if paths and room > 0:
        body += _side_by_side(paths, width, room)
    # a terminal too narrow for a table's fixed columns crops it (rich would wrap it)
    return [Line(line.text[:width], line.style) for line in [*head, *body[:space], *foot]][:height]


def _title(view: LiveView, width: int, zone: DisplayZone) -> str:
    moment = view.now.astimezone(zone.zone if not zone.is_utc else UTC)
    clock = moment.strftime("%H:%M:%S") + (" UTC" if zone.is_utc else moment.strftime(" %z"))
    end = f" | last {view.window} to {clock} | q quits"
    names = ", ".join(safe(log) for log in view.logs)
    if len("logstat follow ") + len(names) + len(end) > width:
        names = f"{len(view.logs)} inputs" if len(view.logs) > 1 else "1 input"
    return f"logstat follow {names}{end}".ljust(width)[:width]


def _totals(view: LiveView, width: int) -> str:
    summary = view.summary
    selected = summary.totals.selected
    rate = selected / view.seconds
    parts = [f"{selected:,} request{'' if selected == 1 else 's'} ({rate:,.1f}/s)"]
    rejected = sum(summary.rejects.values())
    if rejected:
        parts.append(f"{rejected:,} line{'' if rejected == 1 else 's'} rejected")
    totals = summary.totals
    parts.append(f"{totals.lines:,} lines read since the start")
    return "; ".join(parts)[:width]


def _notes(view: LiveView) -> list[str]:
    notes = [f"waiting for {safe(log)} (rotated?)" for log in view.waiting]
    notes += [f"warning: {safe(problem)}" for problem in view.problems]
    return notes


def _class_lines(section: Section | None, view: LiveView, width: int) -> list[Line]:
    """The class table with a sparkline column: requests per mark over the window."""
    if section is None:
        return []
    base = fit_table(
        section.headers, section.rows, section.right_aligned, section.layout, None, PLAIN
    )
    room = max(8, width - PLAIN.width(base.widths) - PLAIN.between - len("||"))
    count = -(-view.seconds // view.bucket_seconds)
    # buckets per mark: a divisor of their number, so that every mark covers as many
    run = next(run for run in range(-(-count // room), count + 1) if count % run == 0)
    per_mark = run * view.bucket_seconds
    label = f"per {per_mark}s" if per_mark > 1 else "per second"
    rows = [
        [*row, sparkline(fold(view.per_bucket.get(row[0], [0] * count), count // run)[0])]
        for row in section.rows
        if row[0] in WATCHED or row[0] in view.per_bucket
    ]
    title = f"By class, last {view.window} (proxy/upstream: who produced the status)"
    shown = replace(section, title=title, headers=[*section.headers, label], rows=rows)
    return _styled(plain_section(shown, width))


def _path_sections(summary: Summary, tables: dict[str, Section], width: int) -> list[Section]:
    """The top paths of each error class seen, as the report's drill-down tables, each
    path on one line: a longer one shortened in its middle."""
    sizes = {group.group: group.count for group in summary.top.groups} if summary.top else {}
    found = []
    for status_class in ERROR_CLASSES:
        for title, section in tables.items():
            if title.startswith(f"Top path for {status_class} "):
                found.append((status_class, _without(section, "share")))
    half = _half(width, len(found))
    shown = []
    for status_class, section in found:
        counts = max(len(text) for text in [section.headers[1], *(row[1] for row in section.rows)])
        room = half - counts - PLAIN.between
        rows = [[_shortened(row[0], room), *row[1:]] for row in section.rows]
        title = f"Top paths of {status_class} ({sizes.get(status_class, 0):,} requests)"
        if len(title) > half:
            title = f"Top paths of {status_class}"
        shown.append(replace(section, title=title, rows=rows))
    return shown


def _shortened(value: str, width: int) -> str:
    """`value` in at most `width` characters: its start and end around an ellipsis."""
    if len(value) <= width or width < 5:
        return value
    end = (width - 1) // 3
    return value[: width - 1 - end] + "…" + value[len(value) - end :]


def _named_meanings(section: Section) -> Section:
    """The name and the meaning in one column, "Not Found: Nothing exists ...", as the
    report shows them on a narrow terminal: one line for most statuses."""
    if "name" not in section.headers or "meaning" not in section.headers:
        return section
    name, meaning = section.headers.index("name"), section.headers.index("meaning")
    header = "name: meaning"
    rows = []
    for row in section.rows:
        joined = row[meaning] if row[name] in ("", "-") else f"{row[name]}: {row[meaning]}"
        rows.append([joined if column == meaning else cell for column, cell in enumerate(row)])
    merged = replace(
        section,
        headers=[
            header if column == meaning else text for column, text in enumerate(section.headers)
        ],
        rows=rows,
        layout=replace(section.layout, wrap={**section.layout.wrap, header: PROSE}),
    )
    return _without(merged, "name")


def _without(section: Section, header: str) -> Section:
    """The table without one of its columns (as it is when it has none of that name)."""
    if header not in section.headers:
        return section
    index = section.headers.index(header)
    right = frozenset(
        column - (column > index) for column in section.right_aligned if column != index
    )
    return replace(
        section,
        headers=[name for column, name in enumerate(section.headers) if column != index],
        rows=[[cell for column, cell in enumerate(row) if column != index] for row in section.rows],
        right_aligned=right,
    )


def _lines(paths: list[Section], width: int, rows: int) -> int:
    """How many lines the path tables take side by side with `rows` rows each."""
    half = _half(width, len(paths))
    return max(len(plain_section(replace(s, rows=s.rows[:rows]), half)) for s in paths)


def _half(width: int, count: int) -> int:
    return width if count == 1 else (width - GAP) // 2


def _side_by_side(paths: list[Section], width: int, room: int) -> list[Line]:
    half = _half(width, len(paths))
    columns = [_trimmed(section, half, room, "paths") for section in paths]
    if any(not column for column in columns):
        return []
    lines = []
    for index in range(max(len(column) for column in columns)):
        cells = [column[index] if index < len(column) else Line("") for column in columns]
        text = (" " * GAP).join(cell.text.ljust(half) for cell in cells).rstrip()
        lines.append(Line(text, "bold" if index == 0 else ""))
    return lines


def _trimmed(
    section: Section, width: int, room: int, noun: str, most: int | None = None
) -> list[Line]:
    """The table within `room` lines (and `most` rows): its least frequent rows left out
    (they are last), with a note saying how many; nothing when not even one row fits."""
    for kept in range(min(len(section.rows), most or len(section.rows)), 0, -1):
        hidden = len(section.rows) - kept
        note = f"{hidden} more {noun} not shown" if hidden else section.note
        lines = plain_section(replace(section, rows=section.rows[:kept], note=note), width)
        if len(lines) <= room:
            return _styled(lines)
    return []


def _styled(lines: list[str]) -> list[Line]:
    """A table's lines: its title in bold, its header dim."""
    return [
        Line(text, "bold" if index == 0 else "dim" if index == 1 else "")
        for index, text in enumerate(lines)
    ]
