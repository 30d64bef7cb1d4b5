"""Hostile and broken input through the real command line: no traceback, nothing lost.

Each test states what the user gets.  The rules (docs/guarantees.md):

* every line read is counted once: a record, a rejected line (with a reason), a
  comment/header line or a blank line, so `lines = records + rejected + comments + blank`;
* damaged input that can still be read in part (truncated or corrupt compressed
  data, a file that changes while it is read) is read up to the damage, with a
  warning in the summary, and exits 0: the counts are right for what was there;
* the exit code is non-zero only when the user must act: a file that cannot be
  opened or read (1), nothing in the input looks like any known log (3);
* an empty input is an empty summary, exit 0 (a log just rotated is no error).
"""

from __future__ import annotations

import gzip
import io
import os
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import zstandard

from logstat.reading import batching, detection, lines, pipeline, sources
from logstat.reading.sources import expand
from logstat.summary import summarize_frames
from tests.helpers import CliResult, assert_counts_add_up, assert_one_line_error, run_cli
from tests.strategies import nginx_lines

LINE = b'203.0.113.9 - - [10/Oct/2023:13:55:36 +0000] "GET /x HTTP/1.1" 200 12 "-" "curl/8.0"\n'
BIG = 40_000  # lines in the logs that are compressed: several MiB, many read calls


def summarise(*paths: Path) -> tuple[CliResult, dict[str, Any]]:
    result = run_cli(*paths, "--json", "--quiet")
    assert result.code == 0, result.stderr
    summary = result.summary
    assert_counts_add_up(summary)
    return result, summary


def complete_lines(data: bytes) -> tuple[int, int]:
    """(whole lines, 1 if a partial last line follows else 0) of decompressed data."""
    return data.count(b"\n"), int(bool(data) and not data.endswith(b"\n"))


# --- damaged compressed files ---------------------------------------------------------


def _gzip_truncated(directory: Path) -> tuple[Path, bytes]:
    compressed = gzip.compress(nginx_lines(BIG, seed=1))
    cut = compressed[: len(compressed) * 6 // 10]
    path = directory / "access.log.gz"
    path.write_bytes(cut)
    readable = zlib.decompressobj(wbits=31).decompress(cut)
    return path, readable


def _gzip_with_garbage(directory: Path) -> tuple[Path, bytes]:
    data = nginx_lines(BIG, seed=2)
    path = directory / "access.log.gz"
    path.write_bytes(gzip.compress(data) + b"\x00garbage after the gzip member\xff\n")
    return path, data


def _zstd_truncated(directory: Path) -> tuple[Path, bytes]:
    compressed = zstandard.ZstdCompressor().compress(nginx_lines(BIG, seed=3))
    cut = compressed[: len(compressed) * 6 // 10]
    path = directory / "access.log.zst"
    path.write_bytes(cut)
    readable = zstandard.ZstdDecompressor().decompressobj().decompress(cut)
    return path, readable


def _zstd_with_garbage(directory: Path) -> tuple[Path, bytes]:
    data = nginx_lines(BIG, seed=4)
    path = directory / "access.log.zst"
    path.write_bytes(zstandard.ZstdCompressor().compress(data) + b"garbage after the frame\n")
    return path, data


DAMAGED: dict[str, Callable[[Path], tuple[Path, bytes]]] = {
    "gzip-truncated": _gzip_truncated,
    "gzip-garbage-appended": _gzip_with_garbage,
    "zstd-truncated": _zstd_truncated,
    "zstd-garbage-appended": _zstd_with_garbage,
}


@pytest.mark.parametrize("damage", list(DAMAGED))
def test_damaged_compressed_file_is_read_up_to_the_damage(damage: str, tmp_path: Path) -> None:
    """Exit 0; what was read is counted and parsed; no line is invented."""
    path, readable = DAMAGED[damage](tmp_path)
    whole, partial = complete_lines(readable)
    _, summary = summarise(path)
    file = summary["files"][0]
    assert file["source"] == "nginx"
    assert 0 < file["records"] <= whole
    assert file["lines"] <= whole + partial
    assert file["rejected"] <= 1  # only a cut-off last line can fail to parse
    # lines.py promises to lose at most one read (READ_BYTES) of what was decompressed
    read_lines = b"".join(readable.splitlines(keepends=True)[: file["records"]])
    lost = len(readable[: readable.rfind(b"\n") + 1]) - len(read_lines)
    assert lost <= getattr(lines, "READ_BYTES", 0), f"{lost:,} readable bytes lost"


@pytest.mark.parametrize("damage", list(DAMAGED))
def test_damaged_compressed_file_is_reported(damage: str, tmp_path: Path) -> None:
    """The summary warns that the file ended early, in JSON and in the text view."""
    path, _ = DAMAGED[damage](tmp_path)
    _, summary = summarise(path)
    problems = summary["files"][0]["problems"]
    assert len(problems) == 1, problems
    assert problems[0].startswith("stopped reading early: "), problems
    text = run_cli(path, "--quiet")
    assert text.code == 0
    assert "stopped reading early" in text.stdout


@pytest.mark.parametrize("damage", list(DAMAGED))
def test_damaged_compressed_file_loses_no_readable_line(damage: str, tmp_path: Path) -> None:
    path, readable = DAMAGED[damage](tmp_path)
    whole, partial = complete_lines(readable)
    _, summary = summarise(path)
    assert summary["files"][0]["records"] == whole
    assert summary["files"][0]["lines"] == whole + partial


def test_small_damaged_file_is_read_and_reported_once(tmp_path: Path) -> None:
    """A file shorter than what detection reads: its lines still count, one warning."""
    compressed = gzip.compress(nginx_lines(300, seed=11))
    path = tmp_path / "access.log.gz"
    path.write_bytes(compressed[: len(compressed) // 2])
    readable = zlib.decompressobj(wbits=31).decompress(compressed[: len(compressed) // 2])
    whole, partial = complete_lines(readable)
    _, summary = summarise(path)
    file = summary["files"][0]
    assert (file["records"], file["lines"]) == (whole, whole + partial)
    assert file["problems"] == ["stopped reading early: compressed data is truncated"]


def test_gzip_member_after_member_is_read_whole(tmp_path: Path) -> None:
    """Concatenated gzip members (`cat a.gz b.gz`) are one file, as gunzip reads them."""
    first, second = nginx_lines(3000, seed=5), nginx_lines(2000, seed=6)
    path = tmp_path / "joined.gz"
    path.write_bytes(gzip.compress(first) + gzip.compress(second))
    _, summary = summarise(path)
    assert summary["totals"]["records"] == 5000
    assert summary["files"][0]["problems"] == []


# --- junk, NUL bytes, encodings, line ends, huge lines ----------------------------------


def test_binary_junk_alone_is_no_log(tmp_path: Path) -> None:
    """Nothing recognisable at all: exit 3 and one line saying so; nothing on stdout."""
    path = tmp_path / "junk.bin"
    path.write_bytes(os.urandom(200_000))
    result = run_cli(path, "--json")
    assert result.code == 3
    assert_one_line_error(result, "junk.bin", "no known log format")
    assert result.stdout == ""


def test_binary_junk_beside_a_log_is_rejected_and_counted(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(os.urandom(100_000) + b"\n\x00\x01\x02\n")
    log = tmp_path / "access.log"
    log.write_bytes(nginx_lines(500))
    _, summary = summarise(junk, log)
    by_name = {Path(file["name"]).name: file for file in summary["files"]}
    junk_lines = junk.read_bytes().count(b"\n")  # it ends with \n: no partial line
    assert by_name["junk.bin"]["lines"] == junk_lines
    # random bytes hold a few empty or white-space-only lines: blank, not rejected
    rejected = by_name["junk.bin"]["rejected"]
    assert rejected + by_name["junk.bin"]["blank"] == junk_lines
    assert by_name["access.log"]["records"] == 500
    assert summary["rejects"] == {"format not recognised": rejected}


def test_nul_bytes(tmp_path: Path) -> None:
    """NUL runs (a crashed writer's preallocated block) cost only the lines they touch."""
    good = nginx_lines(300)
    path = tmp_path / "access.log"
    path.write_bytes(
        good
        + b"\x00" * 4096  # no newline: it becomes the start of the next line
        + LINE
        + b"\x00\x00\x00\n"
        + LINE.replace(b"/x", b"/a\x00b")
        + good
    )
    _, summary = summarise(path)
    file = summary["files"][0]
    assert file["lines"] == 600 + 3
    assert file["records"] >= 600  # every clean line
    assert file["rejected"] >= 1  # the line of NULs alone is no request


def test_invalid_utf8_is_read_with_escapes(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    path.write_bytes(
        LINE
        + LINE.replace(b'"curl/8.0"', b'"\xff\xfe agent \xc3\x28"')
        + LINE.replace(b"/x", b"/caf\xe9")  # Latin-1, not UTF-8
        + LINE.replace(b"/x", "/café".encode())  # valid UTF-8
    )
    _, summary = summarise(path)
    file = summary["files"][0]
    assert file["records"] == 4
    assert file["invalid_utf8"] == 2
    export = tmp_path / "out.csv"
    assert run_cli("export", path, "-o", export, "--quiet").code == 0
    text = export.read_text(encoding="utf-8")
    assert "\\xff\\xfe agent \\xc3(" in text
    assert "/caf\\xe9" in text and "/café" in text


def test_mixed_line_ends(tmp_path: Path) -> None:
    """CRLF, LF and a stray CR before the LF: same records, no CR left in any field."""
    path = tmp_path / "access.log"
    crlf = LINE.replace(b"\n", b"\r\n")
    path.write_bytes(crlf * 3 + LINE * 3 + LINE.replace(b"\n", b"\r\r\n") + crlf.rstrip(b"\n"))
    _, summary = summarise(path)
    assert summary["totals"]["lines"] == 8
    assert summary["totals"]["records"] == 8
    export = tmp_path / "out.csv"
    assert run_cli("export", path, "-o", export, "--quiet").code == 0
    assert "\r" not in export.read_text(encoding="utf-8")


@pytest.mark.parametrize("start", [b"x^", b"x\x01", b"x\x9c", b"x\xda"])
def test_first_line_that_starts_like_zlib_data(start: bytes, tmp_path: Path) -> None:
    """A line is a line, even when its first bytes are what zlib streams begin with."""
    path = tmp_path / "access.log"
    path.write_bytes(start + b" not a request\n" + nginx_lines(5))
    _, summary = summarise(path)
    assert (summary["totals"]["records"], summary["totals"]["rejected"]) == (5, 1)


@pytest.mark.parametrize("start", [b"\x1f\x8b\x08", b"(\xb5/\xfd", b"x^", b"x\xda"])
def test_chunk_that_starts_like_compressed_data(start: bytes, tmp_path: Path) -> None:
    """Further down a file, a line may begin like gzip or zstd data, at a chunk's start."""
    head = nginx_lines(50)
    path = tmp_path / "access.log"
    path.write_bytes(head + start + b" junk\n" + nginx_lines(50, seed=1))
    summary = summarise_in_process(path, chunk_bytes=len(head))
    assert (summary["totals"]["records"], summary["totals"]["rejected"]) == (100, 1)


@pytest.mark.parametrize("magic", [b"\x1f\x8b", b"\x1f\x8b\x08\x08", b"(\xb5/\xfd", b"BZh9"])
@pytest.mark.parametrize("stdin", [False, True])
def test_log_that_starts_with_compression_magic_bytes(
    magic: bytes, stdin: bool, tmp_path: Path
) -> None:
    """Read as the text it is: every line counted, and a warning saying why."""
    data = magic + b" junk before the first line\n" + nginx_lines(200)
    path = tmp_path / "access.log"
    path.write_bytes(data)
    result = run_cli("-", "--json", stdin=data) if stdin else run_cli(path, "--json")
    assert result.code == 0, result.stderr
    summary = result.summary
    assert_counts_add_up(summary)
    file = summary["files"][0]
    assert (file["records"], file["rejected"], file["compression"]) == (200, 1, None)
    [problem] = file["problems"]
    assert problem.startswith("read as plain text: starts like "), problem


def test_real_gzip_broken_at_its_start_is_damage(tmp_path: Path) -> None:
    """Not taken for text: nothing can be read, which the summary says; exit 0 like any damage."""
    compressed = bytearray(gzip.compress(nginx_lines(200)))
    compressed[10:30] = bytes(range(230, 250))
    path = tmp_path / "access.log.gz"
    path.write_bytes(compressed)
    _, summary = summarise(path)
    file = summary["files"][0]
    assert (file["lines"], file["compression"]) == (0, "gzip")
    [problem] = file["problems"]
    assert problem.startswith("stopped reading early: corrupt gzip data: "), problem


def test_gzip_inside_gzip(tmp_path: Path) -> None:
    """Decompressed once, as the magic bytes say; the inner stream is data, read as lines."""
    inner = gzip.compress(nginx_lines(100))
    path = tmp_path / "access.log.gz.gz"
    path.write_bytes(gzip.compress(inner))
    result = run_cli(path, "--json", "--format", "nginx")
    assert result.code == 5, result.stderr  # no line parsed: said loudly, summary still out
    whole, partial = complete_lines(inner)
    assert result.summary["totals"]["lines"] == whole + partial
    assert result.summary["totals"]["records"] == 0


def test_ten_megabyte_lines(tmp_path: Path) -> None:
    """A 10 MB request is parsed; 10 MB of garbage is one rejected line."""
    path = tmp_path / "access.log"
    huge_path = LINE.replace(b"/x", b"/" + b"a" * (10 << 20))
    path.write_bytes(LINE + huge_path + b"z" * (10 << 20) + b"\n" + LINE)
    _, summary = summarise(path)
    assert summary["totals"]["lines"] == 4
    assert summary["totals"]["records"] == 3
    assert summary["totals"]["rejected"] == 1


# --- files that change, vanish, or cannot be read -----------------------------------------


class _ChangesAfterFirstRead:
    """A stream that runs `change` once, after the first read from it."""

    def __init__(self, stream: Any, change: Callable[[], None]) -> None:
        self._stream = stream
        self._change: Callable[[], None] | None = change

    def read(self, size: int = -1) -> bytes:
        data: bytes = self._stream.read(size)
        if self._change is not None:
            self._change()
            self._change = None
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def summarise_in_process(path: Path, chunk_bytes: int) -> dict[str, Any]:
    """The summary of `path` read `chunk_bytes` at a time, through the library."""
    options = pipeline.Options(chunk_bytes=chunk_bytes)
    runs = pipeline.plan(expand([str(path)]), options)
    frames = (frame for _, frame in pipeline.read(runs, options))
    summary: dict[str, Any] = summarize_frames(frames, runs).to_json()
    assert_counts_add_up(summary)
    return summary


def _read_while_changing(
    path: Path, change: Callable[[], None], monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """Summarise `path` in small chunks, running `change` between the first chunks."""
    real_open = sources.open_source
    opened_count = 0

    def open_and_change(source: Any) -> Any:
        nonlocal opened_count
        opened = real_open(source)
        opened_count += 1
        if opened_count == 2:  # the first open is detection's, the second the read
            opened.stream = _ChangesAfterFirstRead(opened.stream, change)
        return opened

    monkeypatch.setattr(detection, "open_source", open_and_change)
    monkeypatch.setattr(batching, "open_source", open_and_change)
    summary = summarise_in_process(path, chunk_bytes=256 << 10)
    assert opened_count == 2, "the read path no longer goes through sources.open_source"
    return summary


def test_file_that_grows_while_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Lines appended during the read are read too (like tail); no line is counted twice."""
    path = tmp_path / "access.log"
    original, appended = nginx_lines(10_000, seed=7), nginx_lines(1000, seed=8)
    path.write_bytes(original)

    def grow() -> None:
        with path.open("ab") as handle:
            handle.write(appended)

    summary = _read_while_changing(path, grow, monkeypatch)
    assert summary["totals"]["lines"] in (10_000, 11_000)
    assert summary["totals"]["records"] == summary["totals"]["lines"]


def test_file_truncated_while_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """copytruncate in the middle of a read: what was read is counted, nothing invented."""
    path = tmp_path / "access.log"
    original = nginx_lines(10_000, seed=9)
    path.write_bytes(original)
    cut = len(original) // 3 + 17  # in the middle of a line

    def truncate() -> None:
        os.truncate(path, cut)

    summary = _read_while_changing(path, truncate, monkeypatch)
    totals = summary["totals"]
    assert 0 < totals["lines"] <= 10_000
    assert totals["records"] >= totals["lines"] - 1  # at most the cut-off line is rejected


def test_empty_file_is_an_empty_summary(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    path.write_bytes(b"")
    _, summary = summarise(path)
    totals = summary["totals"]
    assert (totals["files"], totals["lines"], totals["records"]) == (1, 0, 0)
    assert summary["statuses"] == []


def test_empty_stdin_is_an_empty_summary() -> None:
    result = run_cli("-", "--json", stdin=b"")
    assert result.code == 0, result.stderr
    assert result.summary["totals"]["lines"] == 0


def test_empty_file_beside_a_log(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_bytes(b"")
    (tmp_path / "b.log").write_bytes(nginx_lines(10))
    _, summary = summarise(tmp_path)
    assert summary["totals"]["files"] == 2
    assert summary["totals"]["records"] == 10


def test_unreadable_file_is_a_one_line_error() -> None:
    """A file that opens but cannot be read (EIO, even for root): exit 1, the file named."""
    result = run_cli("/proc/self/mem", "--json")
    assert result.code == 1
    assert_one_line_error(result, "/proc/self/mem")
    assert result.stdout == ""


def test_file_that_cannot_be_opened_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Permission denied (simulated: root may open anything): exit 1, no traceback."""

    path = tmp_path / "secret.log"
    path.write_bytes(LINE)
    real_open = open

    def refusing_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", refusing_open)
    code, _, error = run_cli(path, "--json", in_process=True)
    assert code == 1
    assert error.strip().splitlines() == [f"logstat: error: {path}: cannot open: Permission denied"]


def test_missing_file_and_empty_glob_are_one_line_errors(tmp_path: Path) -> None:
    missing = run_cli(tmp_path / "nope.log")
    assert missing.code == 1
    assert_one_line_error(missing, "nope.log")
    empty_glob = run_cli(str(tmp_path / "*.nothing"))
    assert empty_glob.code == 1
    assert_one_line_error(empty_glob, "*.nothing")


def test_directory_inside_a_glob_is_walked(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.log").write_bytes(nginx_lines(5))
    (tmp_path / "logs" / "archive").mkdir()  # a directory where the glob expects files
    (tmp_path / "logs" / "archive" / "b.log").write_bytes(nginx_lines(7))
    _, summary = summarise(Path(str(tmp_path / "logs" / "*")))
    assert summary["totals"]["files"] == 2
    assert summary["totals"]["records"] == 12


def test_directory_with_a_symlink_loop(tmp_path: Path) -> None:
    """Each file is read once, however many links lead to it; the walk ends."""
    root = tmp_path / "logs"
    (root / "sub").mkdir(parents=True)
    (root / "a.log").write_bytes(nginx_lines(3))
    (root / "sub" / "b.log").write_bytes(nginx_lines(4))
    (root / "sub" / "loop").symlink_to(root, target_is_directory=True)
    (root / "self").symlink_to(".", target_is_directory=True)
    (root / "again.log").symlink_to(root / "a.log")
    (root / "dangling.log").symlink_to(root / "gone.log")
    _, summary = summarise(root)
    assert summary["totals"]["files"] == 2
    assert summary["totals"]["records"] == 7


HUNDRED_THOUSAND = 100_000


def test_hundred_thousand_files() -> None:
    """A directory of 100,000 one-line logs: every file counted, in well under a minute
    (detection is shared by files named alike, and small files are read together)."""
    shared_memory = Path("/dev/shm")
    base = shared_memory if shared_memory.is_dir() and os.access(shared_memory, os.W_OK) else None
    with tempfile.TemporaryDirectory(dir=base) as directory:
        root = Path(directory)
        for index in range(HUNDRED_THOUSAND):
            extra = b"not a log line\n" if index % 1000 == 0 else b""
            (root / f"{index:06d}.log").write_bytes(LINE + extra)
        result = run_cli(root, "--json", "--quiet", timeout=60)
    assert result.code == 0, result.stderr
    summary = result.summary
    assert_counts_add_up(summary)
    assert summary["totals"]["files"] == HUNDRED_THOUSAND
    assert summary["totals"]["records"] == HUNDRED_THOUSAND
    assert summary["totals"]["rejected"] == HUNDRED_THOUSAND // 1000


# --- formats that change, times that jump, odd values ---------------------------------


IIS_BLOCK = (
    b"#Software: Microsoft Internet Information Services 10.0\r\n"
    b"#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip "
    b"cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\r\n"
    + b"2024-03-01 10:00:00 10.0.0.5 GET /a - 443 - 192.0.2.1 curl/8.0 - 200 0 0 12\r\n"
    * 50
)


def test_format_changes_in_the_middle_of_a_file(tmp_path: Path) -> None:
    """Detected from the top; the lines after the change are rejected with a reason, counted."""
    path = tmp_path / "access.log"
    path.write_bytes(nginx_lines(300) + IIS_BLOCK)
    _, summary = summarise(path)
    file = summary["files"][0]
    assert file["source"] == "nginx"
    assert file["lines"] == 352
    assert file["records"] == 300
    assert file["rejected"] == 52
    assert all("nginx" in reason for reason in summary["rejects"]), summary["rejects"]


def test_lines_of_another_format_mixed_in(tmp_path: Path) -> None:
    alb = (
        b"http 2018-07-02T22:23:00.186641Z app/my-lb/50dc6c495c0c9188 192.168.131.39:2817 "
        b'10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "GET http://example.com:80/ HTTP/1.1" '
        b'"curl/7.46.0" - - arn:aws:elasticloadbalancing:us-east-2:1:targetgroup/t/7 '
        b'"Root=1-58337262-36d228ad5d99923122bbe354" "-" "-" 0 2018-07-02T22:22:48.364000Z '
        b'"forward" "-" "-" "10.0.0.1:80" "200" "-" "-"\n'
    )
    good = nginx_lines(200).splitlines(keepends=True)
    mixed = b"".join(line + (alb if index % 10 == 9 else b"") for index, line in enumerate(good))
    path = tmp_path / "access.log"
    path.write_bytes(mixed)
    _, summary = summarise(path)
    assert summary["totals"]["records"] == 200
    assert summary["totals"]["rejected"] == 20


def test_timestamps_that_jump_back(tmp_path: Path) -> None:
    """The time range is the earliest and latest request, not the first and last line."""
    lines = [
        LINE.replace(b"10/Oct/2023:13:55:36 +0000", stamp)
        for stamp in (
            b"10/Oct/2023:13:55:36 +0000",
            b"10/Oct/2023:12:00:00 +0000",  # an hour and more back (clock reset)
            b"09/Oct/2023:23:00:00 -0200",  # same instant as 10/Oct 01:00 UTC
            b"10/Oct/2023:14:00:00 +0000",
        )
    ]
    path = tmp_path / "access.log"
    path.write_bytes(b"".join(lines))
    _, summary = summarise(path)
    assert summary["first"] == "2023-10-10T01:00:00Z"
    assert summary["last"] == "2023-10-10T14:00:00Z"


def test_dates_far_in_the_past_and_future(tmp_path: Path) -> None:
    """Years 1 to 9999 read as written; a time no datetime can hold counts with no time."""
    stamps = (
        b"01/Jan/1970:00:00:00 +0000",
        b"31/Dec/2999:23:59:59 +0000",
        b"01/Jan/0001:00:00:00 +0000",
        b"01/Jan/0001:00:00:00 +0100",  # 31 Dec of year 0 in UTC: out of range
        b"31/Dec/9999:23:59:59 -0100",  # year 10000 in UTC: out of range
    )
    path = tmp_path / "access.log"
    path.write_bytes(b"".join(LINE.replace(b"10/Oct/2023:13:55:36 +0000", s) for s in stamps))
    _, summary = summarise(path)
    assert summary["totals"]["records"] == 5
    assert summary["first"] == "0001-01-01T00:00:00Z"
    assert summary["last"] == "2999-12-31T23:59:59Z"
    export = tmp_path / "out.parquet"
    assert run_cli("export", path, "-o", export, "--quiet").code == 0


def test_odd_status_values(tmp_path: Path) -> None:
    """`-` is no status (class none); 0, 000 and 9999 are kept (class other); `abc` and
    99999 (five digits: no HTTP status) are rejected."""
    values = [b"-", b"0", b"000", b"9999", b"abc", b"99999", b"200"]
    path = tmp_path / "access.log"
    path.write_bytes(b"".join(LINE.replace(b" 200 ", b" %s " % value) for value in values))
    _, summary = summarise(path)
    counts = {(row["status"], row["status_class"]): row["count"] for row in summary["statuses"]}
    assert counts == {(None, "none"): 1, (0, "other"): 2, (9999, "other"): 1, (200, "2xx"): 1}
    assert summary["totals"]["rejected"] == 2
    [reason] = summary["rejects"]
    assert "nginx" in reason  # says which format the line failed to match


def test_stdin_with_damaged_gzip() -> None:
    """The same rules hold for stdin: decompressed by magic bytes, read up to the damage."""
    compressed = gzip.compress(nginx_lines(2000, seed=10))
    result = run_cli("-", "--json", stdin=compressed[: len(compressed) // 2])
    assert result.code == 0, result.stderr
    assert_counts_add_up(result.summary)
    assert result.summary["files"][0]["problems"]


def test_gzip_of_binary_junk(tmp_path: Path) -> None:
    """Valid compression around junk is still junk: exit 3, one line."""
    path = tmp_path / "junk.gz"
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb") as handle:
        handle.write(os.urandom(50_000))
    path.write_bytes(buffer.getvalue())
    result = run_cli(path)
    assert result.code == 3
    assert_one_line_error(result, "no known log format")
