"""What a cluster's client sends and receives for each file pickles compactly and
comes back whole: a task's parts (opened only on its worker) and the files' rows."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path

from logstat.engines import dask as engine
from logstat.engines.ranges import ByteRange
from logstat.line_counts import LineCounts
from logstat.reading.objects import RemoteObject
from logstat.reading.sources import Source
from logstat.summary import PartialSummary, ReportSettings
from logstat.summary.file_rows import FileRow


def test_a_task_comes_back_whole_and_stays_sealed_until_used(tmp_path: Path) -> None:
    plain = tmp_path / "a.log"
    plain.write_text("x\n")
    named = Source("shown elsewhere", plain)  # a name that is not its path
    remote = Source(
        "s3://bucket/key.log", None, True, RemoteObject("s3://bucket/key.log", 10, "etag")
    )
    parts = [
        engine.Part(0, Source(str(plain), plain), None, (), 2),
        engine.Part(1, Source(str(plain), plain, False), None, ("a problem",), None),
        engine.Part(2, named, None, (), 2),
        engine.Part(3, remote, None, (), 10),
        engine.Part(4, Source(str(plain), plain), ByteRange(0, 1), (), 2),
    ]
    task = engine.Task(parts, [Source(str(plain), plain)], "run")
    sealed = pickle.loads(pickle.dumps(task))
    assert sealed._contents is None  # what the scheduler holds: bytes
    assert sealed.parts == parts and sealed.heads == task.heads and sealed.run == "run"
    assert all(isinstance(part.source.path, (Path, type(None))) for part in sealed.parts)


def test_a_file_row_comes_back_whole() -> None:
    """Every field set away from its default: a field added and not pickled fails here."""
    row = FileRow(7, "a.log", "nginx", "combined", "detected", "gzip")
    values = {
        "caveat": "also apache",
        "all_blank": True,
        "counts": LineCounts(*range(1, len(dataclasses.fields(LineCounts)) + 1)),
        "problems": ["cut short"],
        "trailing": {12: 3},
        "trailing_hint": "a hint",
    }
    for field in dataclasses.fields(FileRow):
        if field.name in values:
            setattr(row, field.name, values[field.name])
        else:
            assert getattr(row, field.name) != field.default, field.name
    assert pickle.loads(pickle.dumps(row)) == row


def test_a_tasks_rows_travel_as_one_value() -> None:
    # Dask sends a list item by item, a header each: a task's rows go as one bytes value
    rows = [
        FileRow(index, f"{index}.log", "nginx", "combined", "detected", None) for index in range(3)
    ]
    split = engine._rows(engine.Outcome(PartialSummary(ReportSettings()), rows=rows))
    assert isinstance(split, bytes)
    assert pickle.loads(split) == rows
