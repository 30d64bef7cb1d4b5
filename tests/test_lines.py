"""Chunked reading and line splitting: nothing lost, nothing invented, numbers right."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from logstat.reading.lines import (
    Chunk,
    ReadProblems,
    line_ends,
    read_blocks,
    read_chunks,
    split_lines,
)
from logstat.reading.sources import Source, open_source

# bytes that matter to splitting: line ends, carriage returns, invalid UTF-8, a BOM
PIECES = st.sampled_from(
    [b"a", b"GET /", b" ", b"\n", b"\r", b"\r\n", b"\xff", b"\xc3\xa9", b"\xe2\x80", b"\x00", b'"']
)
DATA = st.lists(PIECES, max_size=60).map(b"".join)


def reference_lines(data: bytes) -> list[tuple[str, bool]]:
    """What split_lines must return: one line per `\\n`, terminators and `\\r` dropped."""
    if not data:
        return []
    parts = data.split(b"\n")
    if data.endswith(b"\n"):
        parts.pop()
    lines = []
    for part in parts:
        try:
            text, invalid = part.decode("utf-8"), False
        except UnicodeDecodeError:
            text, invalid = part.decode("utf-8", "backslashreplace"), True
        lines.append((text.rstrip("\r\n"), invalid))
    return lines


@given(DATA, st.integers(1, 10**12))
@settings(max_examples=300, deadline=None)
def test_split_lines_matches_the_reference(data: bytes, first: int) -> None:
    frame = split_lines(Chunk(data, first))
    expected = reference_lines(data)
    assert frame["line"].to_list() == [text for text, _ in expected]
    assert frame["invalid_utf8"].to_list() == [invalid for _, invalid in expected]
    assert frame["line_no"].to_list() == list(range(first, first + len(expected)))
    assert line_ends(data, frame) == data.count(b"\n")


@given(DATA, st.integers(1, 40))
@settings(max_examples=300, deadline=None)
def test_chunks_are_whole_lines_that_add_up_to_the_input(data: bytes, chunk_bytes: int) -> None:
    problems = ReadProblems()
    chunks = list(read_chunks(io.BytesIO(data), problems, chunk_bytes))
    body = data.removeprefix(b"\xef\xbb\xbf")
    assert b"".join(chunk.data for chunk in chunks) == body
    assert all(chunk.data for chunk in chunks)
    assert all(chunk.data.endswith(b"\n") for chunk in chunks[:-1])
    expected_first = 1
    for chunk in chunks:
        assert chunk.first_line_no == expected_first
        expected_first += chunk.data.count(b"\n")
    assert problems.messages == []


def test_a_utf8_bom_is_dropped_only_at_the_start() -> None:
    data = b"\xef\xbb\xbfone\n\xef\xbb\xbftwo\n"
    blocks = list(read_blocks(io.BytesIO(data), ReadProblems()))
    assert blocks == [b"one\n\xef\xbb\xbftwo\n"]


def test_a_line_longer_than_a_chunk_is_kept_whole() -> None:
    long = b"x" * 5000
    blocks = list(read_blocks(io.BytesIO(b"a\n" + long + b"\nb\n"), ReadProblems(), 100))
    assert b"".join(blocks) == b"a\n" + long + b"\nb\n"
    assert all(block.endswith(b"\n") for block in blocks)
    assert any(long + b"\n" in block for block in blocks)


def test_crlf_and_stray_carriage_returns() -> None:
    frame = split_lines(Chunk(b"one\r\ntwo\r\r\nthree\rfour\nlast\r", 1))
    assert frame["line"].to_list() == ["one", "two", "three\rfour", "last"]


def test_invalid_utf8_is_escaped_and_marked() -> None:
    frame = split_lines(Chunk(b"ok\nbad \xff here\n\xc3\xa9t\xc3\xa9\r\n", 7))
    assert frame["line"].to_list() == ["ok", "bad \\xff here", "été"]
    assert frame["invalid_utf8"].to_list() == [False, True, False]
    assert frame["line_no"].to_list() == [7, 8, 9]


def _lines(count: int) -> bytes:
    return b"".join(b"line %d\n" % number for number in range(count))


def test_a_truncated_gzip_keeps_what_could_be_read(tmp_path: Path) -> None:
    data = _lines(200_000)
    packed = gzip.compress(data)
    path = tmp_path / "cut.log.gz"
    path.write_bytes(packed[: len(packed) // 2])
    opened = open_source(Source(str(path), path))
    problems = ReadProblems()
    try:
        read = b"".join(read_blocks(opened.stream, problems, 1 << 20))
    finally:
        opened.close()
    assert problems.messages == ["stopped reading early: compressed data is truncated"]
    assert data.startswith(read)
    # at most one read of decompressed data is lost at the damage
    assert len(read) > len(data) // 2 - (2 << 20)


def test_compressed_streams_read_back_exactly(tmp_path: Path) -> None:
    data = _lines(50_000)
    for name, packed in {
        "a.gz": gzip.compress(data),
        "b.zst": zstandard.ZstdCompressor().compress(data),
        "c.gz": gzip.compress(data[:1000]) + gzip.compress(data[1000:]),  # two members
    }.items():
        path = tmp_path / name
        path.write_bytes(packed)
        opened = open_source(Source(str(path), path))
        problems = ReadProblems()
        try:
            read = b"".join(read_blocks(opened.stream, problems, 64 << 10))
        finally:
            opened.close()
        assert (read, problems.messages) == (data, []), name
