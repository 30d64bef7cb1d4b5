"""Parquet written by polars' own writer from frames handed over one at a time
(outputs.parquet_stream): one valid file in the order given, errors of the file or of
making a frame raised as themselves, memory held to one waiting frame."""

from __future__ import annotations

import errno
import io
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pyarrow.parquet
import pytest

from logstat.outputs.parquet_stream import ROW_GROUP_ROWS, ParquetStream
from tests.helpers import REPO

COLUMNS: dict[str, pl.DataType] = {"number": pl.Int64(), "word": pl.String()}


def _frame(start: int, count: int) -> pl.DataFrame:
    return pl.DataFrame(
        {"number": range(start, start + count), "word": [f"w{i}" for i in range(count)]},
        schema=COLUMNS,
    )


def _made(frame: pl.DataFrame) -> Callable[[], pl.DataFrame]:
    return lambda: frame


def test_frames_become_one_file_in_their_order() -> None:
    output = io.BytesIO()
    frames = [_frame(start, count) for start, count in ((0, 5), (5, 70_000), (70_005, 1))]
    stream = ParquetStream(output, COLUMNS)
    for frame in frames:
        stream.write(_made(frame))
    stream.close()
    written = pl.read_parquet(io.BytesIO(output.getvalue()))
    assert written.equals(pl.concat(frames))
    assert stream.rows == 70_006
    # row groups held to ROW_GROUP_ROWS (polars' own are larger: more memory at the peak)
    metadata = pyarrow.parquet.read_metadata(io.BytesIO(output.getvalue()))
    groups = [metadata.row_group(index).num_rows for index in range(metadata.num_row_groups)]
    assert max(groups) <= ROW_GROUP_ROWS and sum(groups) == 70_006


def test_no_frames_make_a_valid_empty_file() -> None:
    output = io.BytesIO()
    stream = ParquetStream(output, COLUMNS)
    stream.close()
    written = pl.read_parquet(io.BytesIO(output.getvalue()))
    assert written.height == 0 and written.schema == pl.Schema(COLUMNS)


class _FullDisk(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_failed_write_is_raised_as_itself() -> None:
    """polars passes on only the text of what its file raised: the error itself is
    what atomic_output turns into `cannot write: ...`."""
    stream = ParquetStream(_FullDisk(), COLUMNS)  # type: ignore[arg-type]
    with pytest.raises(OSError) as raised:
        for start in range(0, 2_000_000, 100_000):  # the sink fails on one of them
            stream.write(_made(_frame(start, 100_000)))
        stream.close()
    assert raised.value.errno == errno.ENOSPC
    stream.abandon()  # already stopped: returns


def test_a_frame_that_cannot_be_made_is_raised_as_itself() -> None:
    class Broken(Exception):
        pass

    def broken() -> pl.DataFrame:
        raise Broken

    stream = ParquetStream(io.BytesIO(), COLUMNS)
    with pytest.raises(Broken):
        stream.write(lambda: _frame(0, 10))
        stream.write(broken)
        stream.close()


def test_a_write_returns_once_its_frame_is_taken() -> None:
    """The caller parses its next chunk while one frame is made: no more pile up."""
    output = io.BytesIO()
    stream = ParquetStream(output, COLUMNS)
    started, release = threading.Event(), threading.Event()

    def slow() -> pl.DataFrame:
        started.set()
        release.wait()
        return _frame(0, 3)

    stream.write(slow)
    assert started.wait(10)
    handed = threading.Thread(target=stream.write, args=(lambda: _frame(3, 3),))
    handed.start()
    handed.join(0.5)
    assert handed.is_alive()  # the source takes no frame while it makes the one before
    release.set()
    handed.join(10)
    assert not handed.is_alive()
    stream.close()
    assert pl.read_parquet(io.BytesIO(output.getvalue()))["number"].to_list() == list(range(6))


def test_abandoned_stream_stops() -> None:
    stream = ParquetStream(io.BytesIO(), COLUMNS)
    stream.write(lambda: _frame(0, 10))
    stream.abandon()  # returns (a hang here is the failure)


def test_export_to_parquet_does_not_import_pyarrow(tmp_path: Path) -> None:
    """pyarrow's import (0.2-0.35 s with numpy) is no part of an export to Parquet."""
    log = tmp_path / "access.log"
    log.write_bytes((REPO / "samples" / "nginx-access.log").read_bytes())
    script = (
        "import sys; from logstat.cli import main; sys.argv = ['logstat', 'export', "
        f"{str(log)!r}, '-o', {str(tmp_path / 'rows.parquet')!r}, '--quiet']\n"
        "try:\n    main()\nexcept SystemExit as exit:\n    assert not exit.code, exit.code\n"
        "print('pyarrow' in sys.modules)"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert completed.stdout.strip() == "False", completed.stderr
    assert pl.read_parquet(tmp_path / "rows.parquet").height == 600


def test_a_stream_never_ended_does_not_keep_the_process_alive() -> None:
    """An interrupt as the export starts may come before the stream can be abandoned:
    the process must still exit (its sink waits for a frame that never comes)."""
    script = (
        "import io, polars as pl\n"
        "from logstat.outputs.parquet_stream import ParquetStream\n"
        "ParquetStream(io.BytesIO(), {'number': pl.Int64()})\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
