"""Which format each file is: detected from its first lines, or taken from a sibling.

`plan` opens each input once (or not at all, for a file named like one detected
beside it) and makes the FileRun that the pipeline reads.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterator, Sequence

import polars as pl

from logstat import formats
from logstat.formats import Choice
from logstat.reading.lines import (
    MAX_LINE_BYTES,
    Chunk,
    Readable,
    ReadProblems,
    line_bytes,
    read_blocks,
    split_lines,
)
from logstat.reading.runs import FileRun, Options
from logstat.reading.sources import Source, Vanished, open_source

HEAD_BYTES = 64 << 10  # what detection reads of each file
# the most read of a file to find HEAD_BYTES of whole lines: past a first line longer than
# MAX_LINE_BYTES, but not through gigabytes without a line end
HEAD_READ_LIMIT = 256 << 20


def plan(
    sources: list[Source],
    options: Options,
    earlier: dict[tuple[str, str], Choice] | None = None,
) -> list[FileRun]:
    """Open each source once and choose its format from its first lines.

    A file named like one already detected in the same directory (rotated logs,
    S3 objects written by one load balancer) takes that file's format without
    being opened here: thousands of small files cost no detection each.  `read`
    checks the guess on the file's first chunk and detects it after all when
    any line does not parse.  `earlier`: what files detected before lend (`lent`), as if
    they came first in `sources`.
    """
    runs = []
    detected: dict[tuple[str, str], Choice] = dict(earlier or {})
    for file_id, (source, kin) in enumerate(zip(sources, kinships(sources), strict=True)):
        known = detected.get(kin) if kin is not None else None
        if known is not None:
            runs.append(FileRun(file_id, source, known, tentative=True))
            continue
        try:
            opened = open_source(source)
        except Vanished:
            runs.append(FileRun(file_id, source, None, problems=[Vanished.REASON], vanished=True))
            continue
        problems = ReadProblems()
        blocks = _head_blocks(opened.stream, problems, options.chunk_bytes, source.once)
        head = next(blocks, b"")
        split = split_lines(Chunk(head, 1))
        # a line the reader cut is rejected anyway: no format is tried on its 16 MiB
        lines = split.get_column("line").filter(line_bytes(split) <= MAX_LINE_BYTES)
        sample = formats.sample_lines(lines)
        choice = choose(sample, source.name, options)
        run = FileRun(
            file_id,
            source,
            choice,
            opened.compression,
            problems=problems.messages,
            blank=len(sample) == 0,
        )
        lends = lent(run)
        if lends is not None:
            detected[lends[0]] = lends[1]
        if source.once:  # stdin or a pipe: read on from the head, never opened again
            run.kept_stream = (opened, head, blocks)
        else:
            opened.close()
        runs.append(run)
    return runs


def lent(run: FileRun) -> tuple[tuple[str, str], Choice] | None:
    """What a detected file lends to the files named like it after it: their kinship, and
    its format (None: nothing, when it has no format or its parser keeps state)."""
    kin = kinship(run.source)
    choice = run.choice
    if kin is None or choice is None or choice.detection.parser.keeps_state:
        return None
    return kin, dataclasses.replace(choice, like=os.path.basename(run.source.name))


def choose(sample: pl.Series, name: str, options: Options) -> Choice | None:
    if options.json_keys:
        return formats.by_json_keys(options.format, options.log_format, options.json_keys, sample)
    if options.format or options.log_format:
        return formats.explicit(options.format, options.log_format, sample)
    return formats.detect(sample, name)


def kinship(source: Source) -> tuple[str, str] | None:
    """Files with the same key are taken to share a format: same directory, and the
    same name once words with digits in them (dates, sequence numbers, addresses,
    random ids) are set aside."""
    if source.once:
        return None
    directory, name = os.path.split(source.name)
    return directory, _DIGIT_WORDS.sub("#", name)


def kinships(sources: Sequence[Source]) -> list[tuple[str, str] | None]:
    """`kinship` of each source, the digit words of all their names set aside at once by
    polars' regex engine: 4 µs a name one by one here, 100,000s of them per run."""
    splits = [None if source.once else os.path.split(source.name) for source in sources]
    names = [split[1] for split in splits if split is not None]
    try:
        bare = pl.Series(names, dtype=pl.String).str.replace_all(_DIGIT_WORDS_LINEAR, "#")
    except UnicodeEncodeError:  # a name that is not UTF-8 (undecodable bytes): one by one
        kept = [_DIGIT_WORDS.sub("#", name) for name in names]
    else:
        kept = bare.to_list()
    replaced = iter(kept)
    return [None if split is None else (split[0], next(replaced)) for split in splits]


# each whole word, from its start, that holds a digit: written so that a word without
# one is looked at once (the plain `[A-Za-z0-9]*[0-9][A-Za-z0-9]*` tries it again from
# each of its letters: 8 µs a name of an ALB object, 100,000s of them planned per run)
_DIGIT_WORDS = re.compile(r"(?<![A-Za-z0-9])(?=[A-Za-z]*[0-9])[A-Za-z0-9]+")
# the same words for a linear-time engine (polars', without look-arounds): a match starts
# at its word's start (a word without a digit holds none) and runs to the word's end
_DIGIT_WORDS_LINEAR = r"[A-Za-z]*[0-9][A-Za-z0-9]*"


def _head_blocks(
    stream: Readable, problems: ReadProblems, chunk_bytes: int, once: bool
) -> Iterator[bytes]:
    """The file's blocks of lines, the first (detection's head) of at least HEAD_BYTES of
    whole lines unless the file is shorter.  A line longer than MAX_LINE_BYTES is cut
    (read_blocks), so a long first line costs its length once, not squared.

    A file that is opened again to be read has at most HEAD_READ_LIMIT read for its head:
    a file of one endless line (3 GB of zeros in a 14 MB .gz) is not read to its end
    twice.  stdin and pipes are read on from here, so they are read whole anyway."""
    capped = stream if once else _Capped(stream, HEAD_READ_LIMIT)
    return read_blocks(capped, problems, chunk_bytes, first_bytes=HEAD_BYTES)


class _Capped:
    """A stream that ends after `limit` bytes."""

    def __init__(self, stream: Readable, limit: int) -> None:
        self.stream = stream
        self.left = limit

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        data = self.stream.read(self.left if size < 0 else min(size, self.left))
        self.left -= len(data)
        return data


def same_reading(one: Choice, other: Choice) -> bool:
    return one.format is other.format and one.detection.parser == other.detection.parser
