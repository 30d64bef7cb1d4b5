"""One Parquet file written by polars' own writer from frames handed over one at a time.

polars cannot append row groups to an open Parquet file, but its streaming sink reads a
lazy source that a Python generator feeds (polars.io.plugins.register_io_source): the
generator takes the frames handed over here, and `sink_parquet`, on a thread of its own,
encodes and compresses them on polars' threads while the caller parses the next chunk.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator
from typing import IO, Any, cast

import polars as pl

Make = Callable[[], pl.DataFrame]
_END: Any = object()  # no more frames: the sink writes the footer
# polars' own row groups (about 114,000 export rows) held 100-150 MiB more at the
# peak of a 5 M-line export than pyarrow's one group a chunk (about 76,000 rows)
ROW_GROUP_ROWS = 40_000


class _Abandoned(Exception):
    """Raised in the source when the caller gave up: the sink stops, the file is discarded."""


def _abandoned() -> pl.DataFrame:
    raise _Abandoned


class _Recorded:
    """The output as polars sees it: a write's own error (a full disk, an interrupt) is
    kept, as polars passes on only its text in an error of its own."""

    def __init__(self, handle: IO[bytes], stream: ParquetStream) -> None:
        self._handle = handle
        self._stream = stream

    def write(self, data: Any) -> int:
        try:
            return self._handle.write(data)
        except BaseException as error:
            self._stream.failed(error)
            raise

    def flush(self) -> None:
        self._handle.flush()


class ParquetStream:
    """Frames written in order as one Parquet file (zstd) to `handle`, which stays open.
    At most one frame waits to be made while polars encodes the ones before it."""

    def __init__(self, handle: IO[bytes], columns: dict[str, pl.DataType]) -> None:
        self.columns = columns
        self.rows = 0
        self._output = _Recorded(handle, self)
        self._waiting: queue.Queue[Make] = queue.Queue()
        self._taken = threading.Semaphore(0)  # released as the source takes a frame
        self._failure: BaseException | None = None  # the first cause, as raised
        self._error: BaseException | None = None  # what stopped the sink
        self._ended = threading.Event()
        # a daemon: a run stopped before it could end the sink (an interrupt as it
        # starts) still exits, where the sink would wait for its next frame forever
        thread = threading.Thread(target=self._sink, name="logstat-parquet", daemon=True)
        thread.start()

    def failed(self, error: BaseException) -> None:
        if self._failure is None:  # the first failure is the cause of the others
            self._failure = error

    def write(self, make: Make) -> None:
        """Hand over the frame `make` returns, to be made on polars' thread when polars
        asks for it; returns once it is taken (so memory holds one frame waiting at
        most), or raises what stopped the sink."""
        self._waiting.put(make)
        while not self._taken.acquire(timeout=0.1):  # polars is busy with the frames before
            if self._ended.is_set():
                self._raise_ended()

    def close(self) -> None:
        """Write the footer once every frame is written; raises what failed."""
        self.write(_END)
        self._ended.wait()
        if self._error is not None:
            raise self._error

    def abandon(self) -> None:
        """Stop without a footer (the caller failed): the file is to be discarded."""
        if not self._ended.is_set():
            with contextlib.suppress(Exception):  # the sink's own end is moot now
                self.write(_abandoned)
        self._ended.wait()

    def _raise_ended(self) -> None:
        if self._error is not None:
            raise self._error
        raise RuntimeError("the Parquet sink ended before its last frame")

    def _sink(self) -> None:
        from polars.io.plugins import register_io_source

        frames = register_io_source(self._frames, schema=self.columns, validate_schema=True)
        # level 1, as pyarrow wrote before (polars' 3: the same size here, more CPU)
        output = cast(IO[bytes], self._output)  # polars calls its write() alone
        try:
            frames.sink_parquet(
                output, compression="zstd", compression_level=1, row_group_size=ROW_GROUP_ROWS
            )
        except pl.exceptions.PolarsError as error:
            # polars' error holds only the text of what its file or the source raised
            self._error = self._failure if self._failure is not None else error
        except BaseException as error:
            self._error = error
        finally:
            self._ended.set()

    def _frames(self, *pushed_down: object) -> Iterator[pl.DataFrame]:
        """The source: the whole frames handed over (no projection or filter is pushed
        down into a plain sink), until the end."""
        while True:
            make = self._waiting.get()
            self._taken.release()
            if make is _END:
                return
            try:
                frame = make()
            except BaseException as error:
                self.failed(error)
                raise
            self.rows += frame.height
            yield frame
