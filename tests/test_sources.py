"""Inputs: paths, globs, directories and stdin; decompression by magic bytes."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import random
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import zstandard

from logstat.errors import LogstatError
from logstat.reading import decompress, pipeline
from logstat.reading.lines import ReadProblems, read_chunks
from logstat.reading.sources import Source, detect_compression, expand, looks_like_text, open_source
from tests.helpers import parse_file, plan_file

TEXT = b"".join(
    b'192.0.2.1 - - [10/Mar/2024:13:55:36 +0000] "GET /%d HTTP/1.1" 200 1 "-" "x"\n' % number
    for number in range(2000)
)

COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "bzip2": bz2.compress,
    "xz": lzma.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
}


def read_all(source: Source) -> tuple[bytes, str | None, list[str]]:
    opened = open_source(source)
    problems = ReadProblems()
    try:
        data = b"".join(chunk.data for chunk in read_chunks(opened.stream, problems, 4096))
    finally:
        opened.close()
    return data, opened.compression, problems.messages


def names(sources: list[Source], root: Path) -> list[str]:
    return [str(Path(source.name).relative_to(root)) for source in sources]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for name in ["b.log", "a.log", "sub/c.log", "sub/deeper/d.log.gz", ".hidden.log", "sub/.git/x"]:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x\n")
    return tmp_path


def test_directories_are_walked_sorted_without_hidden_files(tree: Path) -> None:
    assert names(expand([str(tree)]), tree) == [
        "a.log",
        "b.log",
        "sub/c.log",
        "sub/deeper/d.log.gz",
    ]


@pytest.mark.parametrize("argument", ["{tree}", "{tree}/", "{tree}//sub/..", ".", "sub"])
def test_walked_files_are_named_as_their_paths(
    tree: Path, argument: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the walk joins each listed name to its directory's Path (sources._child), not
    # Path(text): the same Path, and its text is the file's name, as the user wrote the
    # directory (the workers of a cluster rebuild the Path from the name)
    monkeypatch.chdir(tree)
    sources = expand([argument.format(tree=tree)])
    assert len(sources) == (2 if argument == "sub" else 4)
    for source in sources:
        assert source.path is not None
        rebuilt = Path(source.name)
        assert (str(source.path), source.path.parts, source.path) == (
            source.name,
            rebuilt.parts,
            rebuilt,
        )
        assert source.path.stat().st_size == 2


def test_globs_are_sorted_and_recursive(tree: Path) -> None:
    assert names(expand([str(tree / "*.log")]), tree) == ["a.log", "b.log"]
    assert names(expand([str(tree / "**" / "*.log*")]), tree) == [
        "a.log",
        "b.log",
        "sub/c.log",
        "sub/deeper/d.log.gz",
    ]


def test_the_same_file_is_read_once_in_first_seen_order(tree: Path) -> None:
    sources = expand([str(tree / "b.log"), str(tree), str(tree / "a.log")])
    assert names(sources, tree) == ["b.log", "a.log", "sub/c.log", "sub/deeper/d.log.gz"]


def test_stdin_is_a_dash() -> None:
    [source] = expand(["-"])
    assert (source.name, source.path, source.size) == ("<stdin>", None, None)


def test_missing_paths_and_empty_globs_are_errors(tmp_path: Path) -> None:
    with pytest.raises(LogstatError, match="no such file or directory"):
        expand([str(tmp_path / "missing.log")])
    with pytest.raises(LogstatError, match="no files match"):
        expand([str(tmp_path / "*.nothing")])


def test_symlink_loops_end(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.log").write_bytes(b"x\n")
    os.symlink(tmp_path / "logs", tmp_path / "logs" / "loop")
    assert names(expand([str(tmp_path / "logs")]), tmp_path) == ["logs/a.log"]


@pytest.mark.parametrize(
    ("head", "compression"),
    [
        (b"\x1f\x8b\x08\x00", "gzip"),
        (b"BZh91AY", "bzip2"),
        (b"\xfd7zXZ\x00\x00", "xz"),
        (b"\x28\xb5\x2f\xfd\x00", "zstd"),
        (b"192.0.2.1 - -", None),
        (b"", None),
    ],
)
def test_compression_is_told_by_magic_bytes(head: bytes, compression: str | None) -> None:
    assert detect_compression(head) == compression


@pytest.mark.parametrize("compression", sorted(COMPRESSORS))
def test_compressed_files_are_decompressed_whatever_their_name(
    tmp_path: Path, compression: str
) -> None:
    path = tmp_path / "access.log.1"
    path.write_bytes(COMPRESSORS[compression](TEXT))
    data, found, problems = read_all(Source(str(path), path))
    assert (data, found, problems) == (TEXT, compression, [])


def test_a_plain_file_named_gz_is_read_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "access.log.gz"
    path.write_bytes(TEXT)
    assert read_all(Source(str(path), path)) == (TEXT, None, [])


def test_concatenated_gzip_members_and_zstd_frames_are_all_read(tmp_path: Path) -> None:
    half = len(TEXT) // 2
    cut = TEXT.rfind(b"\n", 0, half) + 1
    first, second = TEXT[:cut], TEXT[cut:]
    gz = tmp_path / "rotated.gz"
    gz.write_bytes(gzip.compress(first) + gzip.compress(second))
    zst = tmp_path / "rotated.zst"
    compressor = zstandard.ZstdCompressor()
    zst.write_bytes(compressor.compress(first) + compressor.compress(second))
    assert read_all(Source(str(gz), gz))[0] == TEXT
    assert read_all(Source(str(zst), zst))[0] == TEXT


# about 3 MB of distinct lines (a repeated text would fit in xz's and zstd's window,
# and cost next to nothing after its first copy)
BIG_TEXT = b"".join(
    b'192.0.2.%d - - [10/Mar/2024:13:55:36 +0000] "GET /%d HTTP/1.1" 200 %d "-" "x"\n'
    % (number % 256, number * 7919, number)
    for number in range(40_000)
)


def readable_part(compression: str, data: bytes) -> bytes:
    """What a decompressor fed all of `data` gives before it fails or runs out."""
    decompressor: Any = {
        "gzip": lambda: zlib.decompressobj(wbits=31),
        "bzip2": bz2.BZ2Decompressor,
        "xz": lzma.LZMADecompressor,
        "zstd": lambda: zstandard.ZstdDecompressor().decompressobj(),
    }[compression]()
    parts = [
        decompressor.decompress(data[start : start + 512]) for start in range(0, len(data), 512)
    ]
    return b"".join(parts)


def whole_lines(data: bytes) -> bytes:
    return data[: data.rfind(b"\n") + 1]


@pytest.mark.parametrize("compression", sorted(COMPRESSORS))
def test_truncated_compressed_files_keep_what_was_read(tmp_path: Path, compression: str) -> None:
    whole = COMPRESSORS[compression](BIG_TEXT)
    cut = whole[: len(whole) * 2 // 3]
    path = tmp_path / "truncated.log"
    path.write_bytes(cut)
    options = pipeline.Options()
    [run] = pipeline.plan(expand([str(path)]), options)
    frames = [frame for _, frame in pipeline.read([run], options)]
    frame = pl.concat(frames) if frames else pl.DataFrame({"line_kind": [], "line_no": []})
    readable = readable_part(compression, cut)
    # every line that could be decompressed is read and is a record; the line the
    # damage cut off is read too (rejected, or a record if it was cut in its last field)
    assert BIG_TEXT.count(b"\n") // 3 < frame.height
    assert frame.height == readable.count(b"\n") + (0 if readable.endswith(b"\n") else 1)
    assert set(frame["line_kind"].head(frame.height - 1)) == {"record"}
    assert frame["line_no"].to_list() == list(range(1, frame.height + 1))
    assert run.compression == compression
    assert run.problems == ["stopped reading early: compressed data is truncated"]


@pytest.mark.parametrize("compression", sorted(COMPRESSORS))
def test_damage_after_the_end_is_reported_and_costs_nothing(
    tmp_path: Path, compression: str
) -> None:
    path = tmp_path / "access.log"
    path.write_bytes(COMPRESSORS[compression](TEXT) + b"\x00\x00this is not compressed\n")
    data, found, problems = read_all(Source(str(path), path))
    assert (data, found) == (TEXT, compression)
    name = {"gzip": "gzip", "bzip2": "bzip2", "xz": "xz", "zstd": "zstd"}[compression]
    assert problems == [
        f"stopped reading early: data after the end of the {name} data is not {name}"
    ]


@pytest.mark.parametrize("compression", sorted(COMPRESSORS))
def test_nul_padding_after_the_end_is_ignored(tmp_path: Path, compression: str) -> None:
    """Block-padded archives (tape, some uploaders): gunzip and xz ignore the NULs too."""
    path = tmp_path / "access.log"
    path.write_bytes(COMPRESSORS[compression](TEXT) + b"\x00" * 3000)
    assert read_all(Source(str(path), path)) == (TEXT, compression, [])


@pytest.mark.parametrize("compression", sorted(COMPRESSORS))
def test_members_and_frames_one_after_another_are_one_file(
    tmp_path: Path, compression: str
) -> None:
    """`cat a.gz b.gz`, pbzip2, multi-stream xz, pzstd: read to the end, as their tools do."""
    pieces = [TEXT[:1000], TEXT[1000:1001], b"", TEXT[1001:]]
    path = tmp_path / "joined"
    path.write_bytes(b"".join(COMPRESSORS[compression](piece) for piece in pieces))
    assert read_all(Source(str(path), path)) == (TEXT, compression, [])


def test_zstd_skippable_frames_are_skipped(tmp_path: Path) -> None:
    """Metadata frames some tools write between frames; a file is told by its first frame."""
    compressor = zstandard.ZstdCompressor()
    skippable = struct.pack("<II", 0x184D2A5E, 6) + b"labels"
    path = tmp_path / "access.log.zst"
    path.write_bytes(
        compressor.compress(TEXT[:500]) + skippable + compressor.compress(TEXT[500:]) + skippable
    )
    assert read_all(Source(str(path), path)) == (TEXT, "zstd", [])


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_corrupt_data_keeps_the_lines_before_it(tmp_path: Path, compression: str) -> None:
    whole = bytearray(COMPRESSORS[compression](BIG_TEXT))
    middle = len(whole) // 2
    whole[middle : middle + 64] = bytes(64)  # a run of zeros in the middle of the data
    path = tmp_path / "access.log"
    path.write_bytes(whole)
    data, found, problems = read_all(Source(str(path), path))
    # deflate notices some damage only later (here at the CRC): what came out before is read
    readable = readable_part_until_error(compression, bytes(whole))
    assert found == compression
    assert readable.startswith(data)
    assert len(data) > len(BIG_TEXT) // 3
    # all but what the step that met the damage had decompressed
    assert len(whole_lines(readable)) - len(data) <= decompress.OUTPUT_STEP
    [problem] = problems
    assert problem.startswith(f"stopped reading early: corrupt {compression} data: ")


def readable_part_until_error(compression: str, data: bytes) -> bytes:
    """`readable_part`, fed 512 bytes at a time, stopping at the first error."""
    decompressor: Any = (
        zlib.decompressobj(wbits=31)
        if compression == "gzip"
        else zstandard.ZstdDecompressor().decompressobj()
    )
    parts = []
    for start in range(0, len(data), 512):
        try:
            parts.append(decompressor.decompress(data[start : start + 512]))
        except (zlib.error, zstandard.ZstdError):
            break
    return b"".join(parts)


def test_read_returns_what_came_before_the_damage_then_fails(tmp_path: Path) -> None:
    """`read(size)` gathers steps: the step that fails does not take the others with it."""
    whole = gzip.compress(BIG_TEXT)
    path = tmp_path / "cut.gz"
    path.write_bytes(whole[: len(whole) // 2])
    opened = open_source(Source(str(path), path))
    try:
        data = opened.stream.read(len(BIG_TEXT))
        assert data == readable_part("gzip", whole[: len(whole) // 2])
        with pytest.raises(EOFError):
            opened.stream.read(100)
        assert opened.stream.read(100) == b""  # after the damage: the end
    finally:
        opened.close()


def test_seeking_forward_in_decompressed_data(tmp_path: Path) -> None:
    """--state skips what an earlier run read of a file that was compressed since."""
    path = tmp_path / "access.log.1.gz"
    path.write_bytes(gzip.compress(BIG_TEXT))
    opened = open_source(Source(str(path), path))
    try:
        assert opened.stream.seek(1_000_001) == 1_000_001
        assert opened.stream.read(100) == BIG_TEXT[1_000_001:1_000_101]
        with pytest.raises(io.UnsupportedOperation):
            opened.stream.seek(10)
        assert opened.stream.seek(len(BIG_TEXT) + 5) == len(BIG_TEXT)  # short of the end
    finally:
        opened.close()


# --- plain text that starts with compression magic bytes --------------------------------

MAGIC_STARTS = {
    "gzip": b"\x1f\x8b",
    "gzip-with-method": b"\x1f\x8b\x08",
    "gzip-with-file-name-flag": b"\x1f\x8b\x08\x08",  # looks for a file name to the end
    "bzip2": b"BZh",
    "bzip2-with-level": b"BZh9",
    "xz": b"\xfd7zXZ\x00",
    "zstd": b"\x28\xb5\x2f\xfd",
    "zstd-with-header": b"\x28\xb5\x2f\xfd\x20",
}


@pytest.mark.parametrize("start", list(MAGIC_STARTS))
@pytest.mark.parametrize("size", ["short", "long"])
def test_plain_text_starting_with_magic_bytes_is_read_as_text(
    tmp_path: Path, start: str, size: str
) -> None:
    """A log whose first bytes happen to be compression magic: every line read, and said so."""
    text = (
        MAGIC_STARTS[start] + b" a first line of junk\n" + (TEXT if size == "long" else TEXT[:300])
    )
    path = tmp_path / "access.log"
    path.write_bytes(text)
    data, found, problems = read_all(Source(str(path), path))
    assert (data, found) == (text, None)
    compression = detect_compression(MAGIC_STARTS[start])
    [problem] = problems
    assert problem.startswith(f"read as plain text: starts like {compression} but does not ")


def test_plain_text_with_magic_bytes_counts_every_line(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    path.write_bytes(b"\x1f\x8b junk\n" + TEXT)
    [run] = pipeline.plan(expand([str(path)]), pipeline.Options())
    frame = pl.concat([frame for _, frame in pipeline.read([run], pipeline.Options())])
    assert frame["line_kind"].value_counts().sort("line_kind").rows() == [
        ("record", 2000),
        ("rejected", 1),
    ]
    assert run.compression is None
    assert len(run.problems) == 1  # once, though detection and reading both read the end


@pytest.mark.parametrize("compression", sorted(COMPRESSORS))
def test_compressed_data_damaged_at_its_start_is_reported_as_damage(
    tmp_path: Path, compression: str
) -> None:
    """Real compressed data broken before its first byte is not taken for text."""
    whole = bytearray(COMPRESSORS[compression](TEXT))
    header = {"gzip": 10, "bzip2": 10, "xz": 12, "zstd": 6}[compression]
    whole[header : header + 40] = bytes(range(200, 240))  # binary junk where the data starts
    path = tmp_path / "access.log"
    path.write_bytes(whole)
    data, found, problems = read_all(Source(str(path), path))
    assert (data, found) == (b"", compression)
    [problem] = problems
    assert problem.startswith("stopped reading early: corrupt")


def test_a_gzip_header_alone_is_truncated_data(tmp_path: Path) -> None:
    path = tmp_path / "access.log.gz"
    path.write_bytes(gzip.compress(TEXT)[:10])
    assert read_all(Source(str(path), path)) == (
        b"",
        "gzip",
        ["stopped reading early: compressed data is truncated"],
    )


@pytest.mark.parametrize(
    ("data", "text"),
    [
        pytest.param(TEXT, True, id="a log"),
        pytest.param(b"caf\xe9 in Latin-1 and \x00 a NUL\n" * 10, True, id="odd bytes"),
        pytest.param(random.Random(1).randbytes(4096), False, id="random bytes"),
        pytest.param(gzip.compress(TEXT)[2:], False, id="gzip data"),
        pytest.param(zstandard.ZstdCompressor().compress(TEXT)[4:], False, id="zstd data"),
        pytest.param(b"\x08\x00\x00\x00\x00\x00\x00\x03", False, id="a gzip header"),
    ],
)
def test_text_is_told_from_binary_data(data: bytes, text: bool) -> None:
    assert looks_like_text(data) is text


def test_a_directory_where_a_file_is_expected_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(LogstatError, match="cannot"):
        open_source(Source(str(tmp_path), tmp_path))


def test_size_is_the_size_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "a.log.gz"
    path.write_bytes(gzip.compress(TEXT))
    assert Source(str(path), path).size == path.stat().st_size
    assert Source("gone", tmp_path / "gone").size is None


def test_a_utf8_byte_order_mark_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "bom.log"
    path.write_bytes(b"\xef\xbb\xbf" + TEXT[:200])
    run = plan_file(path)
    assert run.choice is not None
    first = parse_file(path).row(0, named=True)
    assert (first["line_kind"], first["client_ip"]) == ("record", "192.0.2.1")


def test_a_line_longer_than_a_chunk_is_kept_whole(tmp_path: Path) -> None:
    long_agent = "A" * 300_000
    line = f'192.0.2.1 - - [10/Mar/2024:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "{long_agent}"\n'
    path = tmp_path / "long.log"
    path.write_text(TEXT.decode() + line + TEXT.decode(), encoding="utf-8")
    frame = parse_file(path, chunk_bytes=64 << 10)
    assert frame.height == 4001
    assert frame["line_no"].to_list() == list(range(1, 4002))
    assert frame.row(2000, named=True)["user_agent"] == long_agent
    assert set(frame["line_kind"]) == {"record"}
