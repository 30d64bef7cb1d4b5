"""Many input files in a few lines: what the views show instead of one line per file.

Up to LIST_LIMIT files, the views list every file.  Past it they show the files
grouped by directory, format and compression, with counts, plus each file that
needs a look: rejected lines, warnings, no format recognised, or empty (the
first ATTENTION_LIMIT of them).  `--json` always lists every file.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from logstat.report.model import FileSummary

LIST_LIMIT = 20  # files listed one by one
ATTENTION_LIMIT = 20  # files needing attention listed past LIST_LIMIT
GROUP_LIMIT = 50  # groups shown; the rest are added up in one row

NOT_RECOGNISED = "format not recognised"
GROUPED_COUNTS = ("lines", "records", "rejected", "comments")  # LineCounts the groups show


@dataclass
class FileGroup:
    """Files in one directory, read in one format (or unread for one reason), one compression."""

    directory: str  # as given; "." for names without one
    format: str  # the layout read, or why there is none ("format not recognised", "empty file")
    compression: str | None
    files: int = 0
    lines: int = 0
    records: int = 0
    rejected: int = 0
    comments: int = 0

    def add(self, files: int, counts: FileSummary | FileGroup) -> None:
        """Count in `files` more files, whose lines `counts` adds up."""
        self.files += files
        for name in GROUPED_COUNTS:
            setattr(self, name, getattr(self, name) + getattr(counts, name))


def listed_one_by_one(files: list[FileSummary]) -> bool:
    return len(files) <= LIST_LIMIT


def needs_attention(file: FileSummary) -> bool:
    """Rejected lines, warnings, no format recognised, or empty."""
    return bool(file.rejected or file.problems or file.source is None)


def needing_attention(files: list[FileSummary]) -> list[FileSummary]:
    return [file for file in files if needs_attention(file)]


def format_label(file: FileSummary) -> str:
    """The layout, with detection's caveat when the lines fit other formats too;
    for a file not read, why ("empty file", "format not recognised")."""
    if file.layout is None:
        return file.detection or NOT_RECOGNISED
    return file.layout + file.caveat


def group_files(files: list[FileSummary]) -> list[FileGroup]:
    """Groups by (directory, format, compression), in that order."""
    groups: dict[tuple[str, str, str | None], FileGroup] = {}
    labels: dict[tuple[str | None, str | None], str] = {}  # most files share a few
    for file in files:
        label = labels.get((file.layout, file.detection))
        if label is None:
            label = labels[(file.layout, file.detection)] = format_label(file)
        key = (posixpath.dirname(file.name) or ".", label, file.compression)
        group = groups.get(key)
        if group is None:
            group = groups[key] = FileGroup(*key)
        group.add(1, file)
    return sorted(
        groups.values(), key=lambda group: (group.directory, group.format, group.compression or "")
    )


def shown_groups(groups: list[FileGroup]) -> tuple[list[FileGroup], FileGroup | None]:
    """At most GROUP_LIMIT groups, and the others added up (None when there are none)."""
    if len(groups) <= GROUP_LIMIT:
        return groups, None
    shown = groups[: GROUP_LIMIT - 1]
    rest = groups[GROUP_LIMIT - 1 :]
    others = FileGroup(f"({len(rest):,} more groups)", "", None)
    for group in rest:
        others.add(group.files, group)
    return shown, others
