"""Partial summaries merge exactly: however the input is cut (into files read apart, into
chunks, into byte ranges of one file) and in whatever order the parts are merged, the
merged summary is the `--json` document of one run over the whole input.

The parts are made as an engine would: the files are planned once (detection, file ids),
then parts of them are read and counted on their own, and their partial summaries merged
in a random order and tree shape.
"""

from __future__ import annotations

import itertools
import random
import re
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logstat.alerts import parse_rules
from logstat.filters import Filters, parse_duration, parse_filters
from logstat.line_counts import LineCounts
from logstat.reading import pipeline
from logstat.reading.pipeline import FileRun
from logstat.reading.sources import Source, expand
from logstat.summary import (
    TOP_FIELDS,
    PartialSummary,
    ReportSettings,
    fold,
    summarize_frames,
)
from logstat.summary.file_rows import FileRow
from tests.helpers import FIXTURES
from tests.strategies import RENDERERS, Renderer, timestamps

EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
# lines no format reads, and blank lines
JUNK = ("not a log line", "GET / HTTP/1.1", '{"status": ', "\x01\x02 binary", '"', "- - -")
BLANKS = ("", "   ", "\t")
# real layouts with status layers (IIS win32, ALB error_reason), upstream statuses,
# comments, compressed files: copied whole into the input
FIXTURE_LOGS = sorted(
    path
    for path in FIXTURES.glob("*/*")
    if path.is_file()
    and not path.name.endswith((".expected.csv", ".options", ".json", ".txt", ".md"))
    and path.stat().st_size < 16 << 10
)
HEADERLESS = [renderer for renderer in RENDERERS if not renderer.header]

SETTINGS = st.builds(
    ReportSettings,
    filters=st.sampled_from(
        [
            Filters(),
            parse_filters(statuses=["5xx", "404"]),
            parse_filters(statuses=["400-499"]),
            parse_filters(since="2024-06-01"),
        ]
    ),
    every=st.sampled_from([None, parse_duration("1d", "--every")]),
    top=st.sampled_from([0, 3]),
    top_fields=st.sampled_from([TOP_FIELDS, ("path", "referer", "method")]),
    top_by=st.sampled_from([None, "status"]),
    by=st.sampled_from([None, "source", "host", "file"]),
    counts=st.booleans(),
    path_latency=st.sampled_from([None, 0, 2]),
    rules=st.sampled_from([(), parse_rules(["5xx > 10%", "rejected > 0", "requests < 1"])]),
)


@st.composite
def rendered_log(draw: st.DrawFn, renderers: list[Renderer] = RENDERERS) -> str:
    """A log of one server's lines (times within 2024), with junk and blank lines among them."""
    renderer = draw(st.sampled_from(renderers))
    moments = timestamps(2024, 2024)
    batch = draw(
        st.lists(
            st.tuples(renderer.strategy, moments).map(
                lambda pair: replace(pair[0], timestamp=pair[1])
            ),
            max_size=12,
        )
    )
    lines = [renderer.render(request) for request in batch]
    for position, noise in draw(
        st.lists(st.tuples(st.integers(0, 12), st.sampled_from(JUNK + BLANKS)), max_size=4)
    ):
        lines.insert(min(position, len(lines)), noise)
    return "".join(line + "\n" for line in (*renderer.header, *lines))


INPUT_FILE = st.one_of(rendered_log(), st.sampled_from(FIXTURE_LOGS))


def write_inputs(directory: Path, inputs: list[str | Path]) -> list[Path]:
    """Each input as a file: rendered text as `logN.txt` (names alike: later files take
    the first one's format, then confirm it), fixtures under their own names."""
    paths = []
    for index, item in enumerate(inputs):
        if isinstance(item, Path):
            path = directory / str(index) / item.name
            path.parent.mkdir()
            shutil.copyfile(item, path)
        else:
            path = directory / f"log{index}.txt"
            path.write_text(item, encoding="utf-8", newline="")
        paths.append(path)
    return paths


def one_run(paths: list[Path], chosen: ReportSettings, options: pipeline.Options) -> str:
    """The --json document of one run over every path (the CLI's path, through the library).

    Read in chunks of the size the parts are read in: a file whose format was taken from
    a sibling's is confirmed on its first chunk, so that size can change what is read."""
    runs = pipeline.plan(expand([str(path) for path in paths]), options)
    frames = (frame for _, frame in pipeline.read(runs, options, chosen.needed()))
    return summarize_frames(frames, runs, chosen).to_json_text()


def read_apart(
    groups: list[list[FileRun]], options: pipeline.Options, chosen: ReportSettings
) -> list[PartialSummary]:
    """A partial summary per chunk read and per group of files, each group read on its own."""
    partials = []
    for runs in groups:
        for _, frame in pipeline.read(runs, options, chosen.needed()):
            partial = PartialSummary(chosen)
            partial.add(frame)
            partials.append(partial)
        files = PartialSummary(chosen)
        files.add_files(runs)
        partials.append(files)
    return partials


def merged_any_way(partials: list[PartialSummary], seed: int) -> PartialSummary:
    """The partials merged in a random order and tree shape."""
    chooser = random.Random(seed)
    pool = list(partials)
    chooser.shuffle(pool)
    while len(pool) > 1:
        index = chooser.randrange(len(pool) - 1)
        pool[index : index + 2] = [pool[index].merge(pool[index + 1])]
    return pool[0]


@EXAMPLES
@given(
    inputs=st.lists(INPUT_FILE, min_size=1, max_size=7),
    chosen=SETTINGS,
    assignment=st.lists(st.integers(0, 3), min_size=7, max_size=7),
    chunk_bytes=st.sampled_from([64, 300, 4096]),
    seed=st.integers(0, 2**32),
)
def test_files_read_apart_merge_into_one_run(
    inputs: list[str | Path],
    chosen: ReportSettings,
    assignment: list[int],
    chunk_bytes: int,
    seed: int,
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        paths = write_inputs(Path(directory), inputs)
        options = pipeline.Options(chunk_bytes=chunk_bytes)
        whole = one_run(paths, chosen, options)
        runs = pipeline.plan(expand([str(path) for path in paths]), options)
        groups: dict[int, list[FileRun]] = {}
        for run, group in zip(runs, assignment, strict=False):
            groups.setdefault(group, []).append(run)
        partials = read_apart(list(groups.values()), options, chosen)
        assert merged_any_way(partials, seed).summary().to_json_text() == whole


@EXAMPLES
@given(
    text=rendered_log(HEADERLESS),
    chosen=SETTINGS,
    cuts=st.lists(st.integers(0, 20), max_size=4),
    chunk_bytes=st.sampled_from([64, 4096]),
    seed=st.integers(0, 2**32),
)
def test_ranges_of_one_file_read_apart_merge_into_one_run(
    text: str, chosen: ReportSettings, cuts: list[int], chunk_bytes: int, seed: int
) -> None:
    """Ranges of lines of one file, read on their own with the format its plan chose (as
    workers reading byte ranges of a big object would), merge into that file's row."""
    with tempfile.TemporaryDirectory() as directory:
        [path] = write_inputs(Path(directory), [text])
        whole = one_run([path], chosen, pipeline.Options())
        options = pipeline.Options(chunk_bytes=chunk_bytes)
        [planned] = pipeline.plan(expand([str(path)]), options)
        # lines end at "\n" only, as logstat reads them (str.splitlines also splits at
        # \x0c, \x1c, \u2028 ..., which a log line may hold)
        lines = [line for line in re.split(r"(?<=\n)", text) if line]
        bounds = [0, *sorted(min(cut, len(lines)) for cut in cuts), len(lines)]
        pieces = []
        for index, (start, end) in enumerate(itertools.pairwise(bounds)):
            piece = Path(directory) / f"range{index}"
            piece.write_text("".join(lines[start:end]), encoding="utf-8", newline="")
            # the file's id, name and plan; only the bytes read differ
            source = Source(planned.source.name, piece)
            pieces.append(
                FileRun(
                    planned.file_id,
                    source,
                    planned.choice,
                    planned.compression,
                    blank=planned.blank,
                )
            )
        partials = read_apart([[piece] for piece in pieces], options, chosen)
        assert merged_any_way(partials, seed).summary().to_json_text() == whole


def test_a_merge_leaves_the_other_summary_as_it_was(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    request = '192.0.2.1 - - [01/Mar/2024:10:00:00 +0000] "GET /{} HTTP/1.1" {} 1 "-" "ua"\n'
    log.write_text("".join(request.format(n, 200 + n % 3 * 100) for n in range(30)))
    chosen = ReportSettings(top=2, by="file")
    options = pipeline.Options(chunk_bytes=200)
    runs = pipeline.plan(expand([str(log)]), options)
    partials = read_apart([runs], options, chosen)
    before = [partial.summary().to_json_text() for partial in partials]
    fold([PartialSummary(chosen), *partials])
    assert [partial.summary().to_json_text() for partial in partials] == before


def test_summaries_of_other_settings_do_not_merge() -> None:
    with pytest.raises(ValueError, match="different report settings"):
        PartialSummary(ReportSettings(top=3)).merge(PartialSummary(ReportSettings()))


def test_parts_of_one_file_add_up() -> None:
    """Counters and trailing fields add, a problem is said once."""
    described = {"name": "a.log", "source": "nginx", "layout": "combined", "compression": None}
    first = FileRow(
        0,
        **described,
        detection="nginx combined",
        counts=LineCounts(lines=3, records=2, rejected=1),
        problems=["cut short"],
        trailing={3: 1},
    )
    second = FileRow(
        0,
        **described,
        detection="nginx combined",
        counts=LineCounts(lines=2, blank=2),
        problems=["cut short"],
        trailing={3: 2, 4: 1},
    )
    first.merge(second)
    assert first.counts == LineCounts(lines=5, records=2, rejected=1, blank=2)
    assert first.problems == ["cut short"]
    assert first.trailing == {3: 3, 4: 1}
    report = first.report()
    assert report.problems[1].startswith("4 lines have 3 to 4 fields after the layout")
