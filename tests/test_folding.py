"""A folded summary (reading/folding.py) is the summary read chunk by chunk.

Each test summarises the same files twice: once with every plain file folded (the
size and head limits lowered so that small test files fold too), once with folding
off, and the two `--json` reports must be equal.  The lines are real corpus and
fixture logs, and generated clean lines mixed with odd ones: hostile edits, blank
lines, `\\r`, cut lines, five-digit statuses, lines of another layout.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logstat import library
from logstat.reading import folding, pipeline
from logstat.summary.settings import ReportSettings
from tests.helpers import FIXTURES, SHARED_CORPUS, data_files, fixture_options
from tests.strategies import ACCESS_LINES, apache_combined, hostile_lines, nginx_combined, requests


def _summary(
    paths: list[Path], fold: bool, settings: ReportSettings | None = None, **options: Any
) -> tuple[dict[str, Any], int]:
    """The report's JSON, and how many files were folded."""
    folded = 0
    original = folding.fold

    def counting(*arguments: Any) -> Any:
        nonlocal folded
        frames = original(*arguments)
        folded += frames is not None
        return frames

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(folding, "FOLD_MIN_BYTES", 0 if fold else 1 << 62)
        patch.setattr(folding, "MOST_LINES", 0.0)
        patch.setattr(folding, "fold", counting)
        read_options = library.reading_options(
            options.get("format"), options.get("log_format"), options.get("vendors", ())
        )
        try:
            with library.summary_run([str(path) for path in paths], settings, read_options) as run:
                return run.summary.to_json(), folded
        except Exception as error:  # both ways must fail alike
            return {"error": f"{type(error).__name__}: {error}"}, folded


def _same_both_ways(
    paths: list[Path], settings: ReportSettings | None = None, **options: Any
) -> int:
    folded, count = _summary(paths, True, settings, **options)
    chunked, none = _summary(paths, False, settings, **options)
    assert none == 0
    assert folded == chunked
    return count


def _logs() -> Iterator[Path]:
    for server in ("nginx", "apache"):
        yield from data_files(FIXTURES / server)
        yield from (
            path
            for path in data_files(SHARED_CORPUS / server)
            if not path.name.endswith(".expected.csv")
        )
    yield from data_files(SHARED_CORPUS / "odd")


LOGS = list(_logs())


@pytest.mark.parametrize("log", LOGS, ids=[f"{path.parent.name}/{path.name}" for path in LOGS])
def test_real_logs_fold_to_the_same_summary(log: Path) -> None:
    _same_both_ways([log], **fixture_options(log))


def test_folding_is_really_used(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text("".join(line + "\n" for line in ACCESS_LINES))
    assert _same_both_ways([log]) == 1


def test_by_time_and_host_fold_too(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text("".join(line + "\n" for line in ACCESS_LINES * 3))
    every = library.report_settings(every="1h", by="host")
    assert _same_both_ways([log], every) == 1


def test_files_whose_format_was_guessed_from_a_sibling_fold_when_detection_agrees(
    tmp_path: Path,
) -> None:
    clean = "".join(line + "\n" for line in ACCESS_LINES)
    (tmp_path / "access.log").write_text(clean)
    (tmp_path / "access.log.1").write_text(clean)
    # guessed (the planner numbers the first two on their own); a reject in it
    (tmp_path / "access.log.2").write_text(clean + "not an access line\n" + clean)
    # guessed too, but another server's lines: detection must decide
    (tmp_path / "access.log.3").write_text('{"time": "2026-03-01T00:00:00Z", "status": 200}\n' * 3)
    logs = sorted(tmp_path.iterdir())
    read_options = library.reading_options()
    planned = pipeline.plan(read_options.expand([str(log) for log in logs]), read_options)
    guessed = [run.tentative for run in planned]
    assert guessed == [False, False, True, True]
    assert _same_both_ways(logs) == 3


@pytest.mark.parametrize(
    ("options", "folds"),
    [
        ({"status": ["4xx", "304"], "since": "2026-03-01T00:00:00Z"}, 1),
        ({"method": ["GET"], "until": "2026-03-01T00:30:00Z"}, 1),
        ({"path": "/a*"}, 0),  # paths hardly repeat: read line by line
    ],
)
def test_filters_on_fields_that_repeat_fold(
    tmp_path: Path, options: dict[str, Any], folds: int
) -> None:
    log = tmp_path / "access.log"
    log.write_text("".join(line + "\n" for line in ACCESS_LINES * 2))
    filtered = library.report_settings(filters=library.request_filters(**options))
    assert _same_both_ways([log], filtered) == folds


@pytest.mark.parametrize(
    "data",
    [
        b"\xef\xbb\xbf" + ACCESS_LINES[0].encode() + b"\n",  # a byte-order mark
        ACCESS_LINES[0].encode() + b"\n\xff\xfe " + ACCESS_LINES[1].encode() + b"\n",  # not UTF-8
        b"x^" + ACCESS_LINES[0].encode() + b"\n",  # what polars would take for zlib data
    ],
    ids=["bom", "invalid-utf8", "zlib-like"],
)
def test_files_polars_reads_otherwise_are_read_as_usual(tmp_path: Path, data: bytes) -> None:
    log = tmp_path / "access.log"
    log.write_bytes(data + b"".join(line.encode() + b"\n" for line in ACCESS_LINES))
    assert _same_both_ways([log]) == 0


ODD_LINES = [
    "",
    "   ",
    "\t",
    '203.0.113.9 - - [01/Mar/2026:01:00:00 +0100] "GET / HTTP/1.1" 20000 5 "-" "-"',
    '203.0.113.9 - - [01/Mar/2026:01:00:00 +0100] "GET / HTTP/1.1" 200',
    '203.0.113.9 - - [01/Mar/2026:01:00:00 +0100] "GET / HTTP/1.1" 200 5',
    '203.0.113.9 - - [01/Mar/2026:01:00:00 +0100] "GET / HTTP/1.1" 200 5 "-" "-" 0.004',
    '203.0.113.9 - - [01/Mar/2026:01:00:00 +0100] "GET / HTTP/1.1" 200 5 "-" "a "b" c"',
    # escaped quotes, where a search for the fields after the status could begin
    '203.0.113.9 - - [01/Mar/2026:01:00:00 +0100] "GET /a\\" 404 5 \\"b HTTP/1.1" 200 5 "-" "-"',
    '203.0.113.9 - - [01/Mar/2026:01:00:00 +0100] "GET / " 200 5 " " "x\\" 1 \\""',
    '203.0.113.9 - - [01/Mar/2026:01:00:00 +0100] "GET / HTTP/1.1" 200 5 "-" "-"\u00a0',
    '203.0.113.9 - - [01/Mar/2026:01:00:00 +0100] "GET / HTTP/1.1" 200 5 "-" "-" \u2028',
    "not an access line",
]
ENDINGS = [b"\n", b"\r\n", b"\r\r\n"]


@st.composite
def mixed_logs(draw: st.DrawFn) -> bytes:
    render = draw(st.sampled_from([nginx_combined, apache_combined]))
    clean = st.builds(render, requests())
    line = st.one_of(clean, clean, hostile_lines(), st.sampled_from(ODD_LINES))
    lines = draw(st.lists(line, min_size=1, max_size=30))
    endings = draw(st.lists(st.sampled_from(ENDINGS), min_size=len(lines), max_size=len(lines)))
    data = b"".join(text.encode() + end for text, end in zip(lines, endings, strict=True))
    return data if draw(st.booleans()) else data.rstrip(b"\n")


def test_odd_lines_fold_to_the_same_summary(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text("".join(line + "\n" for line in ACCESS_LINES + ODD_LINES + ACCESS_LINES))
    assert _same_both_ways([log]) == 1


@given(mixed_logs())
@settings(max_examples=int(os.environ.get("LOGSTAT_FUZZ_EXAMPLES", "25")), deadline=None)
def test_generated_clean_and_dirty_lines_fold_to_the_same_summary(data: bytes) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        log = Path(directory) / "access.log"
        log.write_bytes(data)
        _same_both_ways([log])


@pytest.mark.parametrize(
    ("server", "log_format", "line"),
    [
        (
            "nginx",
            '$remote_addr [$time_local] "$request" $status $body_bytes_sent $host',
            '10.0.0.{n} [01/Mar/2026:00:{m:02d}:00 +0000] "GET /a{n} HTTP/1.1" {status} 12 ex.com',
        ),
        (
            "apache",
            '%h %t "%r" %>s %b %{Host}i',
            '10.0.0.{n} [01/Mar/2026:00:{m:02d}:00 +0000] "GET /a{n} HTTP/1.1" {status} - ex.com',
        ),
    ],
)
def test_a_custom_log_format_folds(tmp_path: Path, server: str, log_format: str, line: str) -> None:
    """A --log-format is one layout, parsed as a chain of one: it folds like the
    built-in layouts, odd lines (a cut line, another layout, a long status) apart."""
    lines = [line.format(n=n, m=n % 60, status=(200, 404, 502, 499)[n % 4]) for n in range(400)]
    lines[7] = lines[7][:30]  # cut short
    lines[50] = ACCESS_LINES[0]  # a combined line: not this layout
    lines[90] = lines[90].replace('" 404 ', '" 40404 ')
    log = tmp_path / "access.log"
    log.write_text("".join(text + "\n" for text in lines))
    assert _same_both_ways([log], format=server, log_format=log_format) == 1
