"""Files are read on a second thread and parsed on a third: errors reach the caller, and
stopping early stops both."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from logstat.errors import LogstatError
from logstat.reading import background, pipeline
from logstat.reading.sources import expand

LINE = b'203.0.113.9 - - [22/Nov/2026:10:00:00 +0000] "GET /x HTTP/1.1" 200 12 "-" "curl/8.0"\n'


def test_items_arrive_in_order() -> None:
    assert list(background.in_background(iter(range(100)))) == list(range(100))


def test_an_error_while_reading_is_raised_to_the_caller() -> None:
    def failing() -> Iterator[int]:
        yield 1
        raise LogstatError("disk on fire")

    received = []
    with pytest.raises(LogstatError, match="disk on fire"):
        for item in background.in_background(failing()):
            received.append(item)
    assert received == [1]


def test_stopping_early_stops_the_reader_and_closes_its_files() -> None:
    closed = threading.Event()

    def endless() -> Iterator[int]:
        try:
            number = 0
            while True:
                number += 1
                yield number
        finally:
            closed.set()

    for item in background.in_background(endless()):
        if item == 5:
            break
    assert closed.wait(5)
    assert not any(thread.name == "logstat-reader" for thread in threading.enumerate())


def test_a_big_file_is_numbered_across_chunks(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    path.write_bytes(LINE * 5000)
    options = pipeline.Options(chunk_bytes=64 << 10)
    runs = pipeline.plan(expand([str(path)]), options)
    frames = [frame for _, frame in pipeline.read(runs, options, {"status"})]
    assert len(frames) > 5
    numbers = [number for frame in frames for number in frame.get_column("line_no").to_list()]
    assert numbers == list(range(1, 5001))
    assert runs[0].counts.records == 5000


def test_stopping_a_read_early_stops_the_parsing_thread(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    path.write_bytes(LINE * 5000)
    options = pipeline.Options(chunk_bytes=64 << 10)
    runs = pipeline.plan(expand([str(path)]), options)
    frames = pipeline.read(runs, options, {"status"})
    next(frames)
    next(frames)
    frames.close()
    names = [thread.name for thread in threading.enumerate()]
    assert not [name for name in names if name.startswith(("logstat-parser", "logstat-reader"))]


def test_a_parse_error_reaches_the_caller_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "access.log"
    path.write_bytes(LINE * 5000)
    options = pipeline.Options(chunk_bytes=64 << 10)
    runs = pipeline.plan(expand([str(path)]), options)
    parse = pipeline._parse
    calls = []

    def failing_third(*arguments: object) -> object:
        calls.append(threading.current_thread().name)
        if len(calls) == 3:
            raise LogstatError("parser on fire")
        return parse(*arguments)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "_parse", failing_third)
    received = 0
    with pytest.raises(LogstatError, match="parser on fire"):
        for _ in pipeline.read(runs, options, {"status"}):
            received += 1
    assert received == 2  # the frames before the failing one, in order
    assert any(name.startswith("logstat-parser") for name in calls)  # parsed ahead
