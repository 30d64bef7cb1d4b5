"""The per-file rows of a summary, as values that merge.

A row is keyed by the file's `file_id` (its place in the plan, which the engine
numbers once for all inputs): parts of one file counted apart (byte ranges read by
several workers) merge into one row by adding their counters.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from logstat.line_counts import LineCounts
from logstat.reading.runs import FileRun, reading_notes, trailing_hint
from logstat.report.model import FileSummary


@dataclass
class FileRow:
    file_id: int
    name: str
    source: str | None  # format name, None when not recognised
    layout: str | None
    detection: str | None  # how the format was chosen; None when none was
    compression: str | None
    caveat: str = ""  # detection's, when the lines fit other formats too (Choice.caveat)
    all_blank: bool = False  # no non-empty line to detect a format from
    counts: LineCounts = field(default_factory=LineCounts)
    problems: list[str] = field(default_factory=list)
    # records with fields after their layout's last one: how many fields -> lines
    trailing: dict[int, int] = field(default_factory=dict)
    trailing_hint: str | None = None  # how to read such fields (the parser's advice)

    def __reduce__(self) -> tuple[Any, ...]:
        # as plain values: a cluster's client unpickles one row a file (100,000s), and a
        # dataclass holding a dataclass costs it about three times as much
        counts = self.counts
        return (
            _unpickled_row,
            (
                self.file_id,
                self.name,
                self.source,
                self.layout,
                self.detection,
                self.compression,
                self.caveat,
                self.all_blank,
                (
                    counts.lines,
                    counts.records,
                    counts.rejected,
                    counts.comments,
                    counts.blank,
                    counts.invalid_utf8,
                ),
                self.problems,
                self.trailing,
                self.trailing_hint,
            ),
        )

    def copy(self) -> FileRow:
        return replace(
            self,
            counts=replace(self.counts),
            problems=list(self.problems),
            trailing=dict(self.trailing),
        )

    def merge(self, other: FileRow) -> None:
        """Add another part of the same file; what describes the file is kept from this one
        (every part of a file was read with the format its plan chose)."""
        self.counts.add(other.counts)
        self.problems.extend(problem for problem in other.problems if problem not in self.problems)
        for fields, lines in other.trailing.items():
            self.trailing[fields] = self.trailing.get(fields, 0) + lines

    def report(self) -> FileSummary:
        counts = self.counts
        return FileSummary(
            name=self.name,
            source=self.source,
            layout=self.layout,
            detection=self.detection if self.source else self._undetected(),
            compression=self.compression,
            lines=counts.lines,
            records=counts.records,
            rejected=counts.rejected,
            comments=counts.comments,
            blank=counts.blank,
            invalid_utf8=counts.invalid_utf8,
            problems=self.notes(),
            caveat=self.caveat,
        )

    def _undetected(self) -> str | None:
        """Why a file has no format, when there was nothing to recognise (None: unrecognised)."""
        if not self.all_blank:
            return None
        if self.counts.lines == 0:
            return "empty file"
        return "no format recognised: the first lines are all blank"

    def notes(self) -> list[str]:
        return reading_notes(self.problems, self.trailing, self.trailing_hint)


def _unpickled_row(
    file_id: int,
    name: str,
    source: str | None,
    layout: str | None,
    detection: str | None,
    compression: str | None,
    caveat: str,
    all_blank: bool,
    counts: tuple[int, int, int, int, int, int],
    problems: list[str],
    trailing: dict[int, int],
    trailing_hint: str | None,
) -> FileRow:
    return FileRow(
        file_id,
        name,
        source,
        layout,
        detection,
        compression,
        caveat,
        all_blank,
        LineCounts(*counts),
        problems,
        trailing,
        trailing_hint,
    )


def file_rows(runs: Iterable[FileRun]) -> list[FileRow]:
    """The rows of files read (their counters complete).  Each Choice's layout and
    detection text is worked out once: files that took a format from a sibling share
    its Choice, and a parser's description is worked out afresh on every call (10,000s
    of files)."""
    described: dict[int, tuple[str, str, str, str | None]] = {}
    rows = []
    for run in runs:
        choice = run.choice
        layout = detection = hint = None
        caveat = ""
        if choice is not None:
            known = described.get(id(choice))
            if known is None:
                known = described[id(choice)] = (
                    choice.detection.parser.description,
                    choice.summary,
                    choice.caveat,
                    trailing_hint(choice),
                )
            layout, detection, caveat, hint = known
        rows.append(
            FileRow(
                file_id=run.file_id,
                name=run.source.name,
                source=choice.format.name if choice else None,
                layout=layout,
                detection=detection,
                compression=run.compression,
                caveat=caveat,
                all_blank=run.blank,
                counts=replace(run.counts),  # a copy: rows merge, the run reads on
                problems=list(run.problems),
                trailing=dict(run.trailing),
                trailing_hint=hint,
            )
        )
    return rows
