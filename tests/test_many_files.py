"""Many files of one kind: the first file's format is reused, and checked on every file.

`pipeline.plan` detects a file's format once per directory and name shape
(`access.log.1`, `access.log.2` ...); `pipeline.read` confirms the guess on each
file's first chunk and detects the file on its own when a line does not parse.
The results must be exactly those of detecting every file separately.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import polars as pl

from logstat.reading import detection, pipeline
from logstat.reading.lines import CHUNK_BYTES
from logstat.reading.sources import Source, expand
from tests.helpers import REPO, run_cli

NGINX = (
    '203.0.113.{n} - - [22/Nov/2026:10:00:{n:02d} +0000] "GET /page/{n} HTTP/1.1" '
    '{status} 512 "-" "curl/8.0"\n'
)
ALB_FIXTURE = REPO / "fixtures" / "alb" / "requests.log"


def nginx_lines(count: int, status: int = 200) -> bytes:
    return "".join(NGINX.format(n=n % 60, status=status) for n in range(count)).encode()


def read_all(
    paths: list[Path], chunk_bytes: int = CHUNK_BYTES
) -> tuple[list[pipeline.FileRun], pl.DataFrame]:
    options = pipeline.Options(chunk_bytes=chunk_bytes)
    runs = pipeline.plan(expand([str(path) for path in paths]), options)
    frames = [frame for _, frame in pipeline.read(runs, options, None)]
    return runs, pl.concat(frames, how="diagonal_relaxed")


def one_by_one(paths: list[Path]) -> dict[str, tuple[str | None, int, int]]:
    """(format, records, rejected) of each file read on its own: the reference."""
    result = {}
    for path in paths:
        [run], _ = read_all([path])
        result[path.name] = (run.format_name, run.counts.records, run.counts.rejected)
    return result


def by_file(runs: list[pipeline.FileRun]) -> dict[str, tuple[str | None, int, int]]:
    return {
        Path(run.source.name).name: (run.format_name, run.counts.records, run.counts.rejected)
        for run in runs
    }


def test_siblings_share_detection_and_match_reading_each_alone(tmp_path: Path) -> None:
    paths = []
    for index in range(12):
        path = tmp_path / f"access.log.{index}"
        path.write_bytes(nginx_lines(20 + index, 200 + index % 3))
        paths.append(path)
    runs, frame = read_all(paths)
    assert [run.tentative for run in runs] == [False] * 12  # every guess was settled
    assert by_file(runs) == one_by_one(paths)
    # line numbers restart in every file, though files were split together
    for run in runs:
        numbers = frame.filter(pl.col("file_id") == run.file_id).get_column("line_no")
        assert numbers.to_list() == list(range(1, run.counts.lines + 1))


def test_a_sibling_of_another_format_is_detected_on_its_own(tmp_path: Path) -> None:
    paths = []
    for index in range(6):
        path = tmp_path / f"part-{index:03d}.log"
        if index == 3:
            shutil.copyfile(ALB_FIXTURE, path)
        else:
            path.write_bytes(nginx_lines(30))
        paths.append(path)
    runs, frame = read_all(paths)
    formats = [run.format_name for run in runs]
    assert formats == ["nginx", "nginx", "nginx", "alb", "nginx", "nginx"]
    assert by_file(runs) == one_by_one(paths)
    alb_rows = frame.filter(pl.col("file_id") == 3)
    assert set(alb_rows.get_column("source").drop_nulls()) == {"alb"}
    assert alb_rows.height == runs[3].counts.lines  # each line once: not also in the batch's frame


def test_bad_lines_in_a_sibling_are_rejected_not_a_new_format(tmp_path: Path) -> None:
    first = tmp_path / "access.log.1"
    first.write_bytes(nginx_lines(40))
    second = tmp_path / "access.log.2"
    second.write_bytes(nginx_lines(10) + b"not a request\n" + nginx_lines(10))
    runs, frame = read_all([first, second])
    assert [run.format_name for run in runs] == ["nginx", "nginx"]
    assert (runs[1].counts.records, runs[1].counts.rejected) == (20, 1)
    rejected = frame.filter(pl.col("line_kind") == "rejected")
    assert rejected.select("file_id", "line_no").rows() == [(1, 11)]


def test_a_big_sibling_of_another_format_is_detected_from_its_first_chunk(
    tmp_path: Path,
) -> None:
    first = tmp_path / "app-1.log"
    first.write_bytes(nginx_lines(50))
    second = tmp_path / "app-2.log"
    second.write_bytes(ALB_FIXTURE.read_bytes() * 40)  # several chunks of 16 KiB
    runs, _ = read_all([first, second], chunk_bytes=16 << 10)
    assert [run.format_name for run in runs] == ["nginx", "alb"]
    assert by_file(runs) == one_by_one([first, second])


def test_compressed_siblings_report_their_compression(tmp_path: Path) -> None:
    paths = []
    for index in range(3):
        path = tmp_path / f"access.log.{index}.gz"
        path.write_bytes(gzip.compress(nginx_lines(15)))
        paths.append(path)
    runs, _ = read_all(paths)
    assert [run.compression for run in runs] == ["gzip"] * 3
    assert sum(run.counts.records for run in runs) == 45


def test_an_empty_sibling_is_blank(tmp_path: Path) -> None:
    first = tmp_path / "access.log.1"
    first.write_bytes(nginx_lines(5))
    second = tmp_path / "access.log.2"
    second.write_bytes(b"")
    runs, _ = read_all([first, second])
    assert runs[1].counts.lines == 0
    assert runs[1].blank


def test_files_named_differently_are_detected_separately(tmp_path: Path) -> None:
    access = tmp_path / "access.log"
    access.write_bytes(nginx_lines(5))
    other = tmp_path / "other.log"
    other.write_bytes(nginx_lines(5))
    runs = pipeline.plan(expand([str(access), str(other)]), pipeline.Options())
    assert [run.tentative for run in runs] == [False, False]


def test_export_says_which_columns_a_file_detected_late_could_not_keep(tmp_path: Path) -> None:
    for index in range(3):
        (tmp_path / f"part-{index:03d}.log").write_bytes(nginx_lines(10))
    shutil.copyfile(ALB_FIXTURE, tmp_path / "part-003.log")
    output = tmp_path / "out.csv"
    code, _, err = run_cli("export", str(tmp_path / "part-*.log"), "-o", str(output), "--quiet")
    assert code == 0, err
    [warning] = [line for line in err.splitlines() if "part-003.log" in line]
    assert "read as alb" in warning and "request_type" in warning
    exported = pl.read_csv(output, infer_schema=False)
    [alone], _ = read_all([ALB_FIXTURE])  # the same file read on its own
    assert exported.filter(pl.col("source") == "alb").height == alone.counts.records > 0
    assert exported.filter(pl.col("source") == "nginx").height == 30
    # an export of files of one kind warns of nothing
    code, _, err = run_cli("export", str(tmp_path / "part-00[0-2].log"), "-o", str(output))
    assert code == 0 and "not in this export" not in err


def test_kinships_of_many_names_at_once_are_each_names_kinship() -> None:
    # kinships sets digit words aside with polars' regex (a pattern without look-arounds),
    # kinship with Python's: the same key for every name, stdin none, and a name that is
    # not UTF-8 (undecodable bytes, which polars cannot hold) still keyed
    names = [
        "access.log.1",
        "logs/a1b_c.d-2x",
        "abc",
        "x9",
        "9",
        "_1_",
        "ab12cd34.log",
        "été1_x2.log",
        "dir/sub/123456789012_elasticloadbalancing_us-east-1_app.web.50dc6c495c0c9188_"
        "20260301T0000Z_10.0.3.1_00000000.log.gz",
        "a.b.c",
        "",
    ]
    sources = [Source(name, Path(name)) for name in names] + [Source("<stdin>", None)]
    assert detection.kinships(sources) == [detection.kinship(source) for source in sources]
    assert detection.kinships(sources)[0] == ("", "access.log.#")
    assert detection.kinships(sources)[-1] is None
    undecodable = [*sources, Source("x\udcff1.log", Path("x\udcff1.log"))]
    assert detection.kinships(undecodable)[-1] == ("", "x\udcff#.log")
