"""The summary as Markdown (GitHub flavour), for mail and tickets.

Built from the same sections as the terminal views, so the two never disagree.
Every cell and heading is escaped: log data (paths, hosts, user agents, file
names) can hold `|`, backticks, `*`, `<script>`, `[x](http://...)` or bare
URLs, and none of it may change the document's structure, add links or raw
HTML.  Log data never starts a line, so only inline syntax needs escaping.
"""

from __future__ import annotations

import re

from logstat.report.escape import safe
from logstat.report.model import Summary
from logstat.report.text import Section, overview, sections, timeline_table
from logstat.time_zones import UTC_ZONE, DisplayZone

# Characters with an inline meaning in CommonMark/GFM: emphasis, code, links and
# images (`[`; `(` and `!` mean nothing without it), HTML and autolinks (`<`),
# entities, table cells, strikethrough, math; and what starts a bare autolink:
# the `:` of `scheme://`, `@` in e-mail addresses, the `.` after `www`.
_SPECIAL = re.compile(r"[\\`*_\[\]<|~&@$]|:(?=//)|(?<=[wW]{3})\.")
_WHITESPACE = {"\n": "\\x0a", "\t": "\\x09"}


def escape(value: object) -> str:
    """Text that Markdown shows exactly as written, on one line."""
    text = safe(value)
    for character, shown in _WHITESPACE.items():
        text = text.replace(character, shown)
    return _SPECIAL.sub(lambda match: "\\" + match.group(), text)


def table(section: Section) -> list[str]:
    def row(cells: list[str]) -> str:
        return "| " + " | ".join(escape(cell) for cell in cells) + " |"

    rule = [
        "--:" if index in section.right_aligned else "---" for index in range(len(section.headers))
    ]
    return [
        f"## {escape(section.title)}",
        "",
        row(section.headers),
        "| " + " | ".join(rule) + " |",
        *(row(cells) for cells in section.rows),
        "",
        *([escape(section.note), ""] if section.note else []),
    ]


def render_markdown(summary: Summary, zone: DisplayZone = UTC_ZONE) -> str:
    out = ["# logstat report", ""]
    for line in overview(summary, zone):
        depth = (len(line) - len(line.lstrip(" "))) // 2
        out.append("  " * depth + "- " + escape(line.strip()))
    out.append("")
    for section in sections(summary, zone):
        out.extend(table(section))
    if summary.timeline:  # machine-readable detail behind the sparklines, last
        out.extend(table(timeline_table(summary.timeline, summary.classes, zone)))
    return "\n".join(out).rstrip("\n") + "\n"
