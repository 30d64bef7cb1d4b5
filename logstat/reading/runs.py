"""A file to read, what reading it found (FileRun), and how to read (Options).

The other reading modules pass these along: detection.plan makes the runs, batching
and pipeline fill their counters, state.py gives a run where to resume.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from logstat import formats
from logstat.errors import ExitCode, LogstatError
from logstat.formats import Choice
from logstat.line_counts import LineCounts
from logstat.reading.lines import CHUNK_BYTES, Chunk, ReadProblems
from logstat.reading.objects import Window
from logstat.reading.sources import OpenedSource, Source, expand

Progress = Callable[[int], None]  # called with raw bytes consumed since the last call


class Resumed(Protocol):
    """Where a file is read from under --state, and how far (state.Resume)."""

    def read_chunks(
        self, opened: OpenedSource, problems: ReadProblems, chunk_bytes: int
    ) -> Iterator[Chunk]:
        """The file's new lines, from where the last run stopped."""
        ...

    @property
    def has_lines(self) -> bool:
        """False for an empty file or a single partial line: nothing to detect yet."""
        ...


@dataclass(frozen=True)
class Options:
    format: str | None = None  # --format
    log_format: str | None = None  # --log-format
    json_keys: str | None = None  # --json-keys: ROLE=KEY,... for JSON access logs
    vendors: tuple[str, ...] = ()  # --vendor, most specific first
    chunk_bytes: int = CHUNK_BYTES
    endpoint_url: str | None = None  # --endpoint-url: an S3-compatible store (R2, MinIO)
    window: Window | None = None  # --since/--until: prunes object listings by their dates

    def expand(self, arguments: list[str]) -> list[Source]:
        """The inputs the arguments name (files, globs, directories, objects, stdin)."""
        return expand(arguments, self.endpoint_url, self.window)


@dataclass
class FileRun:
    """One input file: what was detected, and what reading it found."""

    file_id: int
    source: Source
    choice: Choice | None
    compression: str | None = None
    counts: LineCounts = field(default_factory=LineCounts)  # what reading it found so far
    problems: list[str] = field(default_factory=list)
    # records with fields after their layout's last one: how many fields -> lines
    trailing: dict[int, int] = field(default_factory=dict)
    blank: bool = False  # no non-empty line to detect a format from (an empty file)
    vanished: bool = False  # listed, then gone (rotated or deleted) before it was read
    resume: Resumed | None = None  # --state: read on from where the last run stopped
    # the format was taken from an earlier file like this one without reading this
    # one; its first chunk confirms it (or this file is detected on its own)
    tentative: bool = False
    # stdin or a pipe cannot be read twice: the open stream, detection's head (its first
    # block of lines) and the blocks that follow it are kept
    kept_stream: tuple[OpenedSource, bytes, Iterator[bytes]] | None = None

    @property
    def format_name(self) -> str | None:
        return self.choice.format.name if self.choice else None

    def notes(self) -> list[str]:
        """What reading this file ran into, as the summary says it under the file."""
        return reading_notes(self.problems, self.trailing, trailing_hint(self.choice))


def reading_notes(problems: list[str], trailing: dict[int, int], hint: str | None) -> list[str]:
    """Problems, and records with fields the layout does not explain (`trailing`: how many
    fields -> lines; read, but some fields may be lost), with `hint` on how to read them."""
    if not trailing:
        return list(problems)
    lines = sum(trailing.values())
    fewest, most = min(trailing), max(trailing)
    fields = str(most) if fewest == most else f"{fewest} to {most}"
    return [
        *problems,
        f"{lines:,} line{'s have' if lines != 1 else ' has'} {fields} "
        f"field{'s' if most != 1 else ''} after the layout: "
        + (hint or "pass --log-format with the server's format string to read them"),
    ]


def trailing_hint(choice: Choice | None) -> str | None:
    """The parser's advice on reading fields after its layout, if it has any."""
    return getattr(choice.detection.parser, "trailing_hint", None) if choice else None


def vanished(runs: list[FileRun]) -> list[FileRun]:
    """The files that were gone before they could be read: the run's counts are partial."""
    return [run for run in runs if run.vanished]


def require_recognised(runs: list[FileRun]) -> None:
    """Stop when no input file could be recognised at all (empty files are no failure)."""
    readable = [run for run in runs if not run.blank and not run.vanished]
    if readable and all(run.choice is None for run in readable):
        tried = ", ".join(formats.BY_NAME)
        names = ", ".join(run.source.name for run in readable[:3])
        names += " ..." if len(readable) > 3 else ""
        raise LogstatError(
            f"{names}: no known log format matched (tried {tried}); "
            "pass --format NAME, --log-format with the server's format string, "
            "or --json-keys status=KEY for JSON lines",
            ExitCode.NO_FORMAT,
        )
