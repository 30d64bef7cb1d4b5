"""Fuzzing: arbitrary bytes and mangled log lines into the line splitter, every parser, the CLI.

Nothing may raise but LogstatError, and the counts must add up.  The default run
is bounded (about half a minute); set LOGSTAT_FUZZ_EXAMPLES to fuzz longer, e.g.
`LOGSTAT_FUZZ_EXAMPLES=5000 python3 -m pytest tests/test_fuzz.py`.  Whatever a
long run finds becomes an `@example` here or a named test.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from logstat import schema
from logstat.errors import LogstatError
from logstat.formats import FORMATS, Format
from logstat.reading.lines import Chunk, ReadProblems, read_chunks, split_lines
from logstat.reading.sources import detect_compression
from tests.helpers import assert_counts_add_up, run_cli
from tests.strategies import HOSTILE_PIECES, RENDERERS

EXAMPLES = int(os.environ.get("LOGSTAT_FUZZ_EXAMPLES", "25"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
KINDS = {schema.RECORD, schema.REJECTED, schema.COMMENT}


@st.composite
def mangled_lines(draw: st.DrawFn) -> bytes:
    """Real-looking lines of any format, cut, spliced and sprinkled with hostile bytes."""
    lines: list[bytes] = []
    for _ in range(draw(st.integers(1, 6))):
        renderer = draw(st.sampled_from(RENDERERS))
        line = renderer.render(draw(renderer.strategy)).encode("utf-8")
        for _ in range(draw(st.integers(0, 3))):
            position = draw(st.integers(0, len(line)))
            mutation = draw(st.sampled_from(["insert", "delete", "cut", "bytes"]))
            if mutation == "insert":
                piece = draw(st.sampled_from(HOSTILE_PIECES)).encode("utf-8")
                line = line[:position] + piece + line[position:]
            elif mutation == "delete":
                line = line[:position] + line[position + draw(st.integers(1, 20)) :]
            elif mutation == "cut":
                line = line[:position]
            else:
                line = line[:position] + draw(st.binary(max_size=8)) + line[position:]
        lines.append(line)
    separator = draw(st.sampled_from([b"\n", b"\r\n", b"\r\r\n"]))
    return separator.join(lines) + draw(st.sampled_from([b"", separator]))


def inputs() -> st.SearchStrategy[bytes]:
    return st.one_of(st.binary(max_size=3000), mangled_lines())


def physical_lines(data: bytes) -> int:
    """What `wc -l` says, plus a last line without its newline."""
    return data.count(b"\n") + int(bool(data) and not data.endswith(b"\n"))


@FUZZ
@given(data=inputs(), first_line_no=st.integers(1, 10**9))
@example(data=b"\xef\xbb\xbfa\r\n\xff\n", first_line_no=1)
@example(data=b"\r", first_line_no=1)
@example(data=b"\x00\n\x00", first_line_no=7)
# bytes polars' line reader takes for gzip, zlib ("x^") or zstd data
@example(data=b"x^abc\ndef\n", first_line_no=1)
@example(data=b"x\x01abc\n", first_line_no=1)
@example(data=b"(\xb5/\xfd", first_line_no=1)
@example(data=b"\x1f\x8b\x08abc\n", first_line_no=1)
def test_split_lines(data: bytes, first_line_no: int) -> None:
    frame = split_lines(Chunk(data, first_line_no))
    assert frame.height == physical_lines(data)
    assert frame["line_no"].to_list() == list(range(first_line_no, first_line_no + frame.height))
    assert not frame["line"].str.contains("\n").any()
    assert not frame["line"].str.ends_with("\r").any()


@FUZZ
@given(data=inputs(), chunk_bytes=st.integers(1, 64))
def test_read_chunks_loses_nothing(data: bytes, chunk_bytes: int) -> None:
    """Chunks of whole lines, whatever the chunk size: together they are the input."""
    problems = ReadProblems()
    chunks = list(read_chunks(io.BytesIO(data), problems, chunk_bytes))
    body = data.removeprefix(b"\xef\xbb\xbf")
    assert b"".join(chunk.data for chunk in chunks) == body
    assert problems.messages == []
    for chunk in chunks[:-1]:
        assert chunk.data.endswith(b"\n")
    numbers = [chunk.first_line_no for chunk in chunks]
    starts = [
        1 + sum(chunk.data.count(b"\n") for chunk in chunks[:index]) for index in range(len(chunks))
    ]
    assert numbers == starts


def _parsers(format: Format, sample: pl.Series) -> list[object]:
    """The parser detection picks for this input, and the format's default one."""
    parsers: list[object] = [format.make_parser(None)]
    detection = format.detect(sample)
    if detection is not None:
        parsers.append(detection.parser)
    return parsers


@pytest.mark.parametrize("format", [pytest.param(f, id=f.name) for f in FORMATS])
@FUZZ
@given(data=inputs())
@example(data=b"(\xb5/\xfd")  # zstd's magic bytes as a line: polars decompressed them
def test_parser(format: Format, data: bytes) -> None:
    lines = split_lines(Chunk(data, 1))
    sample = lines["line"].filter(lines["line"].str.strip_chars() != "")
    try:
        parsers = _parsers(format, sample)
    except LogstatError:
        return
    for parser in parsers:
        parsed = parser.parse(lines.lazy(), None).collect()  # type: ignore[attr-defined]
        assert parsed.height == lines.height
        assert set(parsed[schema.LINE_KIND].unique()) <= KINDS
        rejected = parsed.filter(pl.col(schema.LINE_KIND) == schema.REJECTED)
        assert rejected[schema.REJECT_REASON].null_count() == 0


@FUZZ
@given(data=inputs(), compress=st.sampled_from([None, "gzip", "zstd"]))
@example(data=b"\x1f\x8b", compress=None)  # gzip's magic bytes and nothing else
@example(data=b"", compress="gzip")
def test_whole_pipeline(data: bytes, compress: str | None) -> None:
    """The CLI on a file of fuzz: exit 0 with counts that add up, or exit 3 (no format)."""
    import json

    stored = data
    if compress == "gzip":
        import gzip

        stored = gzip.compress(data)
    elif compress == "zstd":
        import zstandard

        stored = zstandard.ZstdCompressor().compress(data)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "fuzz.log"
        path.write_bytes(stored)
        # in this process: a child process per example would be too slow
        code, stdout, stderr = run_cli(str(path), "--json", "--quiet", in_process=True)
    assert "internal error" not in stderr, stderr
    assert code in (0, 3, 5), stderr  # 5: no line parsed, or most have no status
    if code in (3, 5):
        assert stderr.startswith("logstat: error: ") and stderr.count("\n") == 1, stderr
    if code == 3:
        return
    summary = json.loads(stdout)
    assert_counts_add_up(summary)
    lines = physical_lines(data.removeprefix(b"\xef\xbb\xbf"))
    if compress is None and detect_compression(data[:8]) is not None:
        # plain bytes that begin like gzip/zstd/...: read as such, up to where that fails
        assert summary["files"][0]["compression"] is not None
        return
    assert summary["totals"]["lines"] == lines


def test_whole_pipeline_in_a_real_process(tmp_path: Path) -> None:
    """One fuzz-like file through `python -m logstat`, to be sure nothing differs there."""
    path = tmp_path / "fuzz.log"
    path.write_bytes(b"\x00\xff" * 100 + b"\n" + os.urandom(5000) + b"\r\n" * 3)
    result = run_cli(path, "--json")
    assert result.code in (0, 3, 5), result.stderr
