"""A very long line costs its length once, is cut at MAX_LINE_BYTES and rejected with
its reason; detection reads a bounded amount of a file however its lines run."""

from __future__ import annotations

import gzip
import io
import json
import time
from pathlib import Path
from typing import Any, BinaryIO

import polars as pl
import pytest

from logstat.reading import detection
from logstat.reading.lines import (
    MAX_LINE_BYTES,
    Chunk,
    ReadProblems,
    line_bytes,
    read_blocks,
    split_lines,
)
from logstat.reading.sources import Source, open_source
from tests.helpers import log_line, run_cli

OVER_LONG = "line longer than 16 MiB (only its start was read)"


def lines(first: int, count: int) -> bytes:
    return "".join(log_line(number) for number in range(first, first + count)).encode()


def summarized(data: bytes, compressed: bool, directory: Path) -> tuple[Path, dict[str, Any]]:
    """`data` as access.log (or .gz), and its `summary --json`, the format detected."""
    path = directory / ("access.log.gz" if compressed else "access.log")
    path.write_bytes(gzip.compress(data, compresslevel=1) if compressed else data)
    code, out, errors = run_cli("summary", str(path), "--json")
    assert code == 0, errors
    return path, json.loads(out)


@pytest.mark.parametrize("compressed", [False, True])
def test_a_long_first_line_is_one_reject_with_its_reason(compressed: bool, tmp_path: Path) -> None:
    data = b"x" * (24 << 20) + b"\n" + lines(0, 300)
    _, summary = summarized(data, compressed, tmp_path)
    assert summary["totals"]["lines"] == 301
    assert summary["totals"]["records"] == sum(1 for n in range(300) if n % 13 != 12)
    assert summary["rejects"][OVER_LONG] == 1


def test_the_cut_line_keeps_its_start_and_the_lines_around_it_count(tmp_path: Path) -> None:
    long = b"GET /" + b"a" * (20 << 20)
    data = lines(0, 3) + long + b"\n" + lines(3, 3) + long  # the last one unterminated
    path = tmp_path / "access.log"
    path.write_bytes(data)
    rejects = tmp_path / "rejects.csv"
    code, out, errors = run_cli(
        "summary", str(path), "--json", "--format", "nginx", "--rejects", str(rejects)
    )
    assert code == 0, errors
    summary = json.loads(out)
    assert summary["totals"]["lines"] == 8
    assert summary["rejects"][OVER_LONG] == 2
    assert summary["totals"]["records"] == 6


def cpu_seconds(line_bytes: int) -> float:
    """CPU time to read a file made of one line of `line_bytes` as detection does."""
    data = b"y" * line_bytes + b"\n" + lines(0, 10)
    best = float("inf")
    for _ in range(3):
        stream = io.BytesIO(data)
        start = time.process_time()
        blocks = list(read_blocks(stream, ReadProblems(), detection.HEAD_BYTES))
        best = min(best, time.process_time() - start)
        assert blocks[0].index(b"\n") == min(line_bytes, MAX_LINE_BYTES + 1)
    return best


def test_a_long_line_costs_its_length_not_its_length_squared() -> None:
    """Read in 64 KiB steps (detection's), an 8 MB and a 32 MB line: joined at every step,
    the second cost about 16 times the first (over a second of copying); read once, about
    3 times (~20 ms).  CPU time, the best of three, with a bound far from both: the floor
    of 10 ms keeps page faults on a busy machine from deciding a 2 ms measurement."""
    small, big = cpu_seconds(8 << 20), cpu_seconds(32 << 20)
    assert big < 8 * max(small, 0.010), (small, big)


def test_detection_reads_a_bounded_part_of_a_file_with_no_line_end(tmp_path: Path) -> None:
    """600 MB of zeros in a .gz: detection stops at HEAD_READ_LIMIT."""
    path = tmp_path / "zeros.gz"
    block = bytes(1 << 20)
    with gzip.open(path, "wb", compresslevel=1) as handle:
        for _ in range(600):
            handle.write(block)
    opened = open_source(Source(str(path), path))
    counted = Counted(opened.stream)
    try:
        blocks = detection._head_blocks(counted, ReadProblems(), 16 << 20, once=False)
        head = next(blocks)
        assert len(head) == MAX_LINE_BYTES + 1  # the start of the one line, cut
        assert counted.count == detection.HEAD_READ_LIMIT
    finally:
        opened.close()


class Counted:
    """An OpenedSource's place in _head_blocks: counts the decompressed bytes read."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.count += len(data)
        return data


@pytest.mark.parametrize("compressed", [False, True])
def test_a_line_of_bytes_not_utf8_is_measured_in_the_files_bytes(
    compressed: bool, tmp_path: Path
) -> None:
    """A 4.5 MB request path in Latin-1 is 18 MB of `\\xHH` text: still a record, not a
    line longer than 16 MiB; a line of such bytes that is longer in the file is cut."""
    path_bytes = b"/caf" + b"\xe9" * (4_500_000)
    long_request = (
        b'10.0.0.1 - - [09/Mar/2024:22:00:00 +0000] "GET ' + path_bytes + b' HTTP/1.1" 200 5 '
        b'"-" "agent/1"\r\n'
    )
    over_long = b"\xe9" * (MAX_LINE_BYTES + 10) + b"\n"
    data = lines(0, 3) + long_request + lines(3, 3) + over_long + lines(6, 3)
    path, summary = summarized(data, compressed, tmp_path)
    assert summary["totals"]["lines"] == 11
    assert summary["totals"]["records"] == 1 + sum(1 for n in range(9) if n % 13 != 12)
    assert summary["rejects"] == {OVER_LONG: 1}
    exported = tmp_path / "out.parquet"
    code, _, errors = run_cli("export", str(path), "-o", str(exported), "--format", "nginx")
    assert code == 0, errors
    frame = pl.read_parquet(exported)
    assert not [name for name in frame.columns if "line_bytes" in name]  # bookkeeping only
    [path_text] = frame.filter(pl.col("path").str.starts_with("/caf"))["path"].to_list()
    assert path_text == "/caf" + "\\xe9" * 4_500_000


def test_line_bytes_counts_the_files_bytes_without_line_ends() -> None:
    data = b"ab\xff\r\n" + b"\xfe" * (MAX_LINE_BYTES // 2) + b"\n\n" + b"c\xfd\r"
    frame = split_lines(Chunk(data, 1))
    assert line_bytes(frame).to_list() == [3, MAX_LINE_BYTES // 2, 0, 2]
    assert frame["line"].str.len_bytes().max() > MAX_LINE_BYTES  # as \xHH text
