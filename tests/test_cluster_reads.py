"""On a Dask cluster: large plain files cut into byte ranges, --state and --rejects.

Each gives what a run here gives: the same --json byte for byte, the same rejects
file, the same state file (apart from when it was written), also when a worker dies
mid-run.  Real distributed.LocalCluster worker processes on loopback."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import logstat
from logstat.engines import dask as engine
from logstat.engines.ranges import ByteRange, cut
from logstat.reading.lines import ReadProblems
from logstat.reading.sources import Source, open_source
from tests.helpers import FIXTURES, kill_a_worker_mid_run, log_line, write_numbered_log

distributed = pytest.importorskip("distributed")


def range_lines(path: Path, limit: int) -> list[bytes]:
    """The lines of `path` as its ranges of `limit` bytes read them, one after another."""
    source = Source(str(path), path)
    ranges = cut(source, limit)
    assert ranges is not None
    found: list[bytes] = []
    for byte_range in ranges:
        opened = open_source(source)
        try:
            for chunk in byte_range.read_chunks(opened, ReadProblems(), 1 << 20):
                found += chunk.data.split(b"\n")[: chunk.data.count(b"\n") or None]
                if not chunk.data.endswith(b"\n") and chunk.data.count(b"\n"):
                    found.append(chunk.data.rsplit(b"\n", 1)[1])
        finally:
            opened.close()
    return found


@pytest.mark.parametrize("seed", range(6))
def test_ranges_hold_each_line_once(tmp_path: Path, seed: int) -> None:
    chooser = random.Random(seed)
    lines = [
        b"x" * chooser.choice([0, 1, 5, 40, 90, 300, 1000]) + str(number).encode()
        for number in range(200)
    ]
    data = b"\n".join(lines) + (b"\n" if seed % 2 else b"")  # with and without a last newline
    if seed == 3:
        data = b"\n\n" + data  # a range may start on a line end
    path = tmp_path / "access.log"
    path.write_bytes(data)
    expected = data.split(b"\n")
    if data.endswith(b"\n"):
        expected.pop()
    for limit in (1, 7, 64, 100, 1000, len(data) - 1):
        assert range_lines(path, limit) == expected, limit


def test_only_large_plain_files_are_cut(tmp_path: Path) -> None:
    import gzip

    plain = write_numbered_log(tmp_path / "a.log", 0, 100)
    packed = tmp_path / "a.log.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert cut(Source(str(plain), plain), plain.stat().st_size) is None  # not larger
    assert cut(Source(str(packed), packed), 10) is None  # compressed
    ranges = cut(Source(str(plain), plain), 1000)
    assert ranges is not None and ranges[0] == ByteRange(0, 1000)
    assert ranges[-1].end == plain.stat().st_size


@pytest.fixture(scope="module")
def address() -> Iterator[str]:
    """A LocalCluster of 2 worker processes for the module's runs."""
    with engine.connect("local:2") as client:
        yield str(client.scheduler.address)


def straddling_log(path: Path, first: int, count: int) -> Path:
    """Numbered lines (every 13th garbage), with a line longer than many ranges inside."""
    lines = [log_line(number) for number in range(first, first + count)]
    lines.insert(count // 3, "long " + "y" * 20_000 + "\n")
    path.write_text("".join(lines))
    return path


def both(
    logs: list[Path], address: str, tmp_path: Path, **options: Any
) -> tuple[str, str, bytes, bytes]:
    """The --json of a run here and on the cluster, and their rejects files."""
    here = logstat.summarize(logs, top=3, tz="UTC", rejects=tmp_path / "here.csv", **options)
    there = logstat.summarize(
        logs, top=3, tz="UTC", rejects=tmp_path / "there.csv", cluster=address, **options
    )
    return (
        here.to_json_text(),
        there.to_json_text(),
        (tmp_path / "here.csv").read_bytes(),
        (tmp_path / "there.csv").read_bytes(),
    )


def test_a_large_file_read_in_ranges_counts_as_here(
    address: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "RANGE_BYTES", 4096)  # ~20 lines a range; the long line spans 5
    # web-2.log is named like web-1.log, so its format is guessed from web-1's (nginx)
    # and found wrong on its first chunk: every range of it must be read as ELB
    elb = (FIXTURES / "elb" / "listeners.log").read_text().splitlines(keepends=True)
    lines = [elb[number % len(elb)] for number in range(400)]
    lines[100:100] = ["long " + "y" * 20_000 + "\n", "garbage\n"]
    (tmp_path / "web-2.log").write_text("".join(lines))
    logs = [
        write_numbered_log(tmp_path / "web-1.log", 0, 40),
        tmp_path / "web-2.log",
        straddling_log(tmp_path / "other.log", 5000, 600),
    ]
    parts = engine.parts_of([Source(str(log), log) for log in logs])
    assert len(parts) > 30 and len({part.file_id for part in parts}) == 3
    here, there, rejects_here, rejects_there = both(logs, address, tmp_path)
    assert there == here
    # the same rows; the cluster writes them in the order of the inputs, a run here as its
    # batches go (a file whose guessed format was wrong comes after the files batched with it)
    assert sorted(rejects_there.splitlines()) == sorted(rejects_here.splitlines())
    assert rejects_there.splitlines()[1:] == sorted(
        rejects_there.splitlines()[1:],
        key=lambda row: (logs.index(Path(row.split(b",")[0].decode())), int(row.split(b",")[1])),
    )
    assert rejects_here.count(b"\n") > 40 and b"long yyyy" in rejects_here
    assert {row["source"] for row in json.loads(here)["files"]} == {"nginx", "elb"}


def test_state_and_rejects_on_the_cluster_as_here(address: str, tmp_path: Path) -> None:
    logs = [
        write_numbered_log(tmp_path / f"site{index}.log", index * 1000, 120) for index in range(4)
    ]
    states = {"here": tmp_path / "here.state", "there": tmp_path / "there.state"}
    for round_number in range(3):
        runs = {}
        for where, state in states.items():
            rejects = tmp_path / f"{where}.csv"
            cluster = address if where == "there" else None
            summary = logstat.summarize(
                logs, top=3, tz="UTC", state=state, rejects=rejects, cluster=cluster
            )
            runs[where] = (summary.to_json_text(), rejects.read_bytes(), _state(state))
        assert runs["there"] == runs["here"], round_number
        totals = json.loads(runs["here"][0])["totals"]
        # the first run reads every line, each next one what the logs grew by since
        assert totals["lines"] == [480, 60 + 7, 93][round_number]
        assert totals["rejected"] > 0
        # the logs grow between runs; the next run reads only what was added, also of
        # a log rotated meanwhile (its tail from the rotated file, the new one whole)
        for index, log in enumerate(logs[: 2 + round_number]):
            with log.open("a") as file:
                file.writelines(log_line(index * 1000 + 500 + n) for n in range(30 + round_number))
        if round_number == 0:
            logs[3].rename(logs[3].with_name("site3.log.1"))
            write_numbered_log(logs[3], 9000, 7)


def _state(path: Path) -> Any:
    document = json.loads(path.read_text())
    for entry in document["files"]:
        entry.pop("read_at")
    return document


def test_a_worker_killed_mid_run_counts_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    logs = [
        write_numbered_log(tmp_path / f"a{index}.log", index * 1000, 300) for index in range(40)
    ]
    truth = logstat.summarize(
        logs, top=3, tz="UTC", state=tmp_path / "here.state", rejects=tmp_path / "here.csv"
    ).to_json_text()
    monkeypatch.setattr(engine, "TASK_FILES", 1)  # a task a file: the kill lands mid-run
    with engine.connect("local:2") as client:
        address = str(client.scheduler.address)
        result = kill_a_worker_mid_run(
            client,
            lambda: logstat.summarize(
                logs,
                top=3,
                tz="UTC",
                state=tmp_path / "there.state",
                rejects=tmp_path / "there.csv",
                cluster=address,
            ).to_json_text(),
        )
    assert result == truth
    assert (tmp_path / "there.csv").read_bytes() == (tmp_path / "here.csv").read_bytes()
    assert _state(tmp_path / "there.state") == _state(tmp_path / "here.state")


def test_a_worker_detects_each_head_once_a_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from logstat.reading import detection
    from logstat.reading.runs import Options
    from logstat.summary import PartialSummary, ReportSettings, fold

    logs = [
        write_numbered_log(tmp_path / f"web-{index}.log", index * 100, 30) for index in range(8)
    ]
    monkeypatch.setattr(engine, "TASK_FILES", 2)
    options = Options()
    groups = engine.tasks(engine.parts_of(options.expand([str(log) for log in logs])))
    assert len(groups) == 4 and all(task.heads == groups[1].heads != [] for task in groups[1:])
    detected: list[list[str]] = []
    plan = detection.plan

    def counting(sources: list[Source], *arguments: Any) -> Any:
        detected.append([source.name for source in sources if detection.kinship(source)])
        return plan(sources, *arguments)

    monkeypatch.setattr(detection, "plan", counting)
    settings = ReportSettings(top=3)
    outcomes = [engine.count(task, settings, options, False) for task in groups]
    heads = [names for names in detected if names == [str(logs[0])]]
    assert len(heads) == 1  # web-0.log lends its format to every later task, detected once
    counted = fold([PartialSummary(settings), *(outcome.settled().partial for outcome in outcomes)])
    truth = logstat.summarize(logs, top=3, tz="UTC")
    assert counted.summary().to_json_text() == truth.to_json_text()


# the lines each run of the cron steps reads, each once: a half line when it is finished,
# the rotated file's last line once the next run finds it unchanged, the truncated log
# from its start
CRON_LINES = [300, 150, 1 + 120, 1 + 60 + 200, 1 + 80, 90, 100]


def _cron_step(log: Path, step: int) -> None:
    """What the log went through before run `step` (after the first): appends, a line
    written in two halves, rotation with a long unfinished line, truncation."""
    long_line = log_line(7000).replace("?q=", "?q=" + "z" * 5000 + "&", 1)
    with log.open("a") as file:
        if step == 1:
            file.writelines(log_line(n) for n in range(300, 450))
            file.write(log_line(450)[:40])  # half a line: waits for its newline
        elif step == 2:
            file.write(log_line(450)[40:])
            file.writelines(log_line(n) for n in range(451, 571))
            file.write(log_line(571)[:30])
        elif step == 3:
            file.write(log_line(571)[30:])
            file.writelines(log_line(n) for n in range(572, 632))
            file.write(long_line[:-1])  # unfinished when the log is rotated
    if step == 3:
        log.rename(log.with_name("access.log.1"))
        write_numbered_log(log, 1000, 200)
    elif step == 4:  # access.log.1 is left as it was: its last line is finished as it is
        with log.open("a") as file:
            file.writelines(log_line(n) for n in range(1200, 1280))
    elif step == 5:  # truncated and written again (copytruncate)
        write_numbered_log(log, 2000, 90)
    elif step == 6:
        with log.open("a") as file:
            file.writelines(log_line(n) for n in range(2090, 2190))


def counted_cuts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many ranges each new part of a file under --state was cut into, from now on."""
    from logstat.engines import ranges

    cuts: list[int] = []
    cut_resumed = ranges.cut_resumed

    def counting(*arguments: Any) -> Any:
        found = cut_resumed(*arguments)
        cuts.append(len(found or []))
        return found

    monkeypatch.setattr(ranges, "cut_resumed", counting)
    return cuts


def test_state_reads_a_grown_file_in_ranges_as_here(
    address: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "RANGE_BYTES", 2048)  # ~17 lines a range
    cuts = counted_cuts(monkeypatch)
    log = write_numbered_log(tmp_path / "access.log", 0, 300)
    states = {"here": tmp_path / "here.state", "there": tmp_path / "there.state"}
    read = []
    for step in range(7):
        if step:
            _cron_step(log, step)
        cuts.clear()
        runs = {}
        for where, state in states.items():
            rejects = tmp_path / f"{where}.csv"
            cluster = address if where == "there" else None
            summary = logstat.summarize(
                [log], top=3, tz="UTC", state=state, rejects=rejects, cluster=cluster
            )
            runs[where] = (summary.to_json_text(), rejects.read_bytes(), _state(state))
        assert runs["there"] == runs["here"], step
        assert max(cuts) >= 3, step  # the new part of a file was several ranges
        read.append(json.loads(runs["here"][0])["totals"]["lines"])
    assert read == CRON_LINES


def test_a_worker_killed_while_reading_ranges_under_state_counts_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "RANGE_BYTES", 4096)
    log = write_numbered_log(tmp_path / "access.log", 0, 500)
    options: dict[str, Any] = {"top": 3, "tz": "UTC"}
    here = {"state": tmp_path / "here.state", "rejects": tmp_path / "here.csv"}
    there = {"state": tmp_path / "there.state", "rejects": tmp_path / "there.csv"}
    logstat.summarize([log], **options, **here)
    with engine.connect("local:2") as client:
        address = str(client.scheduler.address)
        logstat.summarize([log], **options, **there, cluster=address)
        with log.open("a") as file:  # ~100 ranges of new lines, and half a line
            file.writelines(log_line(n) for n in range(500, 3900))
            file.write(log_line(3900)[:50])
        truth = logstat.summarize([log], **options, **here).to_json_text()
        result = kill_a_worker_mid_run(
            client,
            lambda: logstat.summarize([log], **options, **there, cluster=address).to_json_text(),
        )
    assert result == truth
    assert json.loads(truth)["totals"]["lines"] == 3400
    assert (tmp_path / "there.csv").read_bytes() == (tmp_path / "here.csv").read_bytes()
    assert _state(tmp_path / "there.state") == _state(tmp_path / "here.state")


def test_state_ranges_of_a_file_whose_format_was_guessed(
    address: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "RANGE_BYTES", 4096)
    # web-2.log is named like web-1.log (nginx): its guessed format is wrong, found so on
    # the first chunk of its new part, and every range of that part is read as ELB
    elb = (FIXTURES / "elb" / "listeners.log").read_text().splitlines(keepends=True)
    web2 = tmp_path / "web-2.log"
    web2.write_text("".join(elb[number % len(elb)] for number in range(100)))
    logs = [write_numbered_log(tmp_path / "web-1.log", 0, 40), web2]
    for step in range(2):
        if step:
            with web2.open("a") as file:
                file.writelines(elb[number % len(elb)] for number in range(300))
                file.write("garbage\n")
        runs = []
        for where, cluster in (("here", None), ("there", address)):
            state, rejects = tmp_path / f"{where}.state", tmp_path / f"{where}.csv"
            summary = logstat.summarize(
                logs, top=3, tz="UTC", state=state, rejects=rejects, cluster=cluster
            )
            runs.append((summary.to_json_text(), rejects.read_bytes(), _state(state)))
        assert runs[1] == runs[0], step
        assert {row["source"] for row in json.loads(runs[0][0])["files"]} == {"elb"} | (
            {"nginx"} if step == 0 else set()
        )


def test_ranges_opened_after_a_rotation_read_the_file_planned(tmp_path: Path) -> None:
    """Under --state each range opens the log by its name; once logrotate has renamed it
    and a new log taken the name, the ranges still read the file the run planned (found
    beside it by device and inode), so none is left for the next run to read again."""
    from logstat.engines import ranges
    from logstat.reading.runs import Options
    from logstat.reading.state import StateFile

    log = write_numbered_log(tmp_path / "access.log", 0, 40)
    options = Options()
    logstat.summarize([log], tz="UTC", state=tmp_path / "logs.state")  # read up to here
    with log.open("a") as file:
        file.writelines(log_line(number) for number in range(40, 240))
    grown = log.read_bytes()
    with StateFile.open(tmp_path / "logs.state") as state:
        [read] = state.reads(options.expand([str(log)]), options).files
    assert read.resume is not None and read.resume.offset > 0
    parts = ranges.cut_resumed(read.resume, 2048)
    assert parts is not None and len(parts) >= 5
    problems = ReadProblems()
    before = [
        b"".join(chunk.data for chunk in part.read_chunks(open_source(read.source), problems, 4096))
        for part in parts[:2]
    ]
    log.rename(tmp_path / "access.log.1")
    write_numbered_log(log, 1000, 30)  # the new log, under the old name
    after = [
        b"".join(chunk.data for chunk in part.read_chunks(open_source(read.source), problems, 4096))
        for part in parts[2:]
    ]
    assert problems.messages == []
    assert b"".join(before + after) == grown[read.resume.offset :]
    assert all(part.whole for part in parts)
    assert ranges.resumed_end([(part, 0) for part in parts])[0] == len(grown)


def _stored(root: Path) -> Any:
    import polars as pl

    # a log rotated and written again holds line numbers its old name held: by path too
    return pl.read_parquet(logstat.committed_files(root), hive_partitioning=True).sort(
        ["file", "line_no", "path"]
    )


def range_reads(address: str) -> Callable[[], list[tuple[int, int, int]]]:
    """From now on, every byte range the workers open to read, as (inode, start, end);
    the function returns those read since (a range read twice is there twice)."""

    def install() -> None:
        import os

        from logstat.engines.ranges import ByteRange

        if not hasattr(ByteRange, "reads"):
            read = ByteRange.read_chunks

            def counting(self: Any, opened: Any, *arguments: Any) -> Any:
                inode = os.fstat(opened.counter.raw.fileno()).st_ino
                ByteRange.reads.append((inode, self.start, self.end))  # type: ignore[attr-defined]
                return read(self, opened, *arguments)

            ByteRange.reads = []  # type: ignore[attr-defined]
            ByteRange.read_chunks = counting  # type: ignore[method-assign]
        ByteRange.reads.clear()  # type: ignore[attr-defined]

    def collect() -> list[tuple[int, int, int]]:
        from logstat.engines.ranges import ByteRange

        return list(getattr(ByteRange, "reads", []))

    with distributed.Client(address) as client:
        client.run(install)

    def reads() -> list[tuple[int, int, int]]:
        with distributed.Client(address) as client:
            found = client.run(collect)
        return sorted(read for worker in found.values() for read in worker)

    return reads


def read_once(reads: list[tuple[int, int, int]], at_least: int) -> None:
    assert len(reads) >= at_least
    assert len(set(reads)) == len(reads), "a byte range was read twice"


def test_export_of_large_files_in_ranges_writes_the_rows_written_here(
    address: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import polars as pl

    monkeypatch.setattr(engine, "RANGE_BYTES", 4096)  # the long line spans 5 ranges
    logs = [
        straddling_log(tmp_path / "big.log", 0, 400),
        write_numbered_log(tmp_path / "small.log", 5000, 10),
        straddling_log(tmp_path / "big2.log", 8000, 300),
    ]
    assert len(cut(Source(str(logs[0]), logs[0]), 4096) or []) >= 10
    for suffix in ("csv", "parquet"):
        here = logstat.export(logs, tmp_path / f"here.{suffix}", tz="UTC")
        reads = range_reads(address)
        there = logstat.export(logs, tmp_path / f"there.{suffix}", tz="UTC", cluster=address)
        read_once(reads(), 20)
        assert (there.rows, there.rejected, there.notes) == (here.rows, here.rejected, here.notes)
        if suffix == "csv":  # the same rows, in file and line order, numbered in their file
            assert (tmp_path / "there.csv").read_bytes() == (tmp_path / "here.csv").read_bytes()
        else:
            local, cluster = (
                pl.read_parquet(tmp_path / f"{side}.parquet") for side in ("here", "there")
            )
            assert cluster.equals(local)
            assert cluster["line_no"].max() == 401  # the long line is line 134 of big.log


def test_ingest_reads_a_grown_file_in_ranges_as_here(
    address: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each cron step (appends, half lines, rotation, truncation), ingested here and on
    the cluster with --state: the same rows in the datasets, the same state after."""
    monkeypatch.setattr(engine, "RANGE_BYTES", 2048)  # ~17 lines a range
    cuts = counted_cuts(monkeypatch)
    log = write_numbered_log(tmp_path / "access.log", 0, 300)
    added = []
    for step in range(7):
        if step:
            _cron_step(log, step)
        cuts.clear()
        rows = {}
        for where in ("here", "there"):
            cluster = address if where == "there" else None
            state = tmp_path / f"{where}.state"
            reads = range_reads(address)
            rows[where] = logstat.ingest([log], tmp_path / where, state=state, cluster=cluster)
        read_once(reads(), max(cuts))  # each range of the new part read once
        assert (rows["there"].rows, rows["there"].rejected, rows["there"].notes) == (
            rows["here"].rows,
            rows["here"].rejected,
            rows["here"].notes,
        ), step
        assert _stored(tmp_path / "there").equals(_stored(tmp_path / "here")), step
        assert _state(tmp_path / "there.state") == _state(tmp_path / "here.state"), step
        assert max(cuts) >= 3, step  # the new part of a file was several ranges
        added.append(rows["here"].rows + rows["here"].rejected)
    assert added == CRON_LINES


def slow_first_range(seconds: float | None) -> Callable[[], None]:
    """For client.run: each byte range's reading noted on its worker as (start, began,
    ended) in wall-clock time, the one starting at byte 0 taking `seconds` longer (None:
    ranges read as they do)."""

    def install() -> None:
        import time

        from logstat.engines.ranges import ByteRange

        if not hasattr(ByteRange, "plain_read"):
            ByteRange.plain_read = ByteRange.read_chunks  # type: ignore[attr-defined]
        plain = ByteRange.plain_read  # type: ignore[attr-defined]
        ByteRange.timed = []  # type: ignore[attr-defined]
        if seconds is None:
            ByteRange.read_chunks = plain  # type: ignore[method-assign]
            return

        def timed(self: Any, *arguments: Any) -> Any:
            began = time.time()
            if self.start == 0:
                time.sleep(seconds)
            yield from plain(self, *arguments)
            ByteRange.timed.append((self.start, began, time.time()))  # type: ignore[attr-defined]

        ByteRange.read_chunks = timed  # type: ignore[method-assign]

    return install


def ranges_timed() -> list[tuple[int, float, float]]:
    """On a worker: the ranges read since slow_first_range was installed."""
    from logstat.engines.ranges import ByteRange

    return list(ByteRange.timed)  # type: ignore[attr-defined]


def test_ingest_holds_a_bounded_number_of_ranges_behind_a_slow_one(
    address: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file's first range reads slowly: the ranges after it are read, and held, only as
    far as the bound (a range is written once the ranges before it are counted)."""
    from logstat.engines import dask_outputs

    monkeypatch.setattr(engine, "RANGE_BYTES", 2048)
    monkeypatch.setattr(dask_outputs, "RANGES_HELD", 2)
    log = write_numbered_log(tmp_path / "access.log", 0, 600)
    here = logstat.ingest([log], tmp_path / "here")
    with distributed.Client(address) as client:
        bound = max(2, 2 * engine.slots(client))
        client.run(slow_first_range(3.0))
        try:
            there = logstat.ingest([log], tmp_path / "there", cluster=address)
            timed = sorted(read for found in client.run(ranges_timed).values() for read in found)
        finally:
            client.run(slow_first_range(None))
    assert (there.rows, there.rejected) == (here.rows, here.rejected)
    assert _stored(tmp_path / "there").equals(_stored(tmp_path / "here"))
    [(_, _, first_done)] = [read for read in timed if read[0] == 0]
    assert len(timed) > 4 * bound  # many ranges, read once each
    read_meanwhile = [read for read in timed if read[0] != 0 and read[1] < first_done]
    assert len(read_meanwhile) <= bound - 1, (bound, len(read_meanwhile))


def test_a_worker_killed_mid_ingest_and_export_of_ranges_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "RANGE_BYTES", 4096)
    log = write_numbered_log(tmp_path / "access.log", 0, 500)
    here = {"state": tmp_path / "here.state"}
    there = {"state": tmp_path / "there.state"}
    logstat.ingest([log], tmp_path / "here", **here)
    with engine.connect("local:2") as client:
        address = str(client.scheduler.address)
        logstat.ingest([log], tmp_path / "there", **there, cluster=address)
        with log.open("a") as file:  # ~100 ranges of new lines, and half a line
            file.writelines(log_line(n) for n in range(500, 3900))
            file.write(log_line(3900)[:50])
        truth = logstat.ingest([log], tmp_path / "here", **here)
        result = kill_a_worker_mid_run(
            client, lambda: logstat.ingest([log], tmp_path / "there", **there, cluster=address)
        )
        assert result.rows == truth.rows
        logstat.export([log], tmp_path / "here.csv")
        exported = kill_a_worker_mid_run(
            client, lambda: logstat.export([log], tmp_path / "there.csv", cluster=address)
        )
    assert exported.rows > truth.rows
    assert (tmp_path / "there.csv").read_bytes() == (tmp_path / "here.csv").read_bytes()
    assert _stored(tmp_path / "there").equals(_stored(tmp_path / "here"))
    assert _state(tmp_path / "there.state") == _state(tmp_path / "here.state")
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".")]


def test_ranges_after_one_not_read_through_are_not_committed() -> None:
    """A range that stopped short (a read problem, the file replaced) ends its file's
    reading, as one read of the file ends there: the ranges after it add no row, or the
    next run, reading on from there, would add theirs again."""
    from logstat.engines.dask_outputs import InputReport, TaskResult, read_through
    from logstat.line_counts import LineCounts
    from logstat.read_health import StatusTally

    def result(index: int, start: int, stop: int | None, whole: bool) -> TaskResult:
        byte_range = ByteRange(start, start + 10, stop=stop, whole=whole)
        report = InputReport(
            index, LineCounts(), [], {}, False, False, None, byte_range, "nginx", frozenset()
        )
        return TaskResult([{"path": f"{index}-{start}"}], StatusTally(), [report])

    results = [
        result(0, 0, 10, True),
        result(0, 10, 15, False),  # a read problem half-way
        result(0, 20, 30, True),
        result(1, 0, None, False),  # replaced before it was read
        result(1, 10, 20, True),
        result(2, 0, 10, True),
        result(2, 10, 20, True),
    ]
    kept = [part["path"] for item in read_through(results) for part in item.parts]
    assert kept == ["0-0", "0-10", "1-0", "2-0", "2-10"]


def failing_reads(offset: int | None) -> Callable[[], None]:
    """For client.run: on each worker, the byte range whose reading starts before `offset`
    and reaches it fails there with a read error (None: ranges read as they do)."""

    def install() -> None:
        import errno

        from logstat.engines import ranges
        from logstat.reading import lines

        def read_chunks(stream: Any, problems: ReadProblems, chunk_bytes: int) -> Any:
            file = stream.stream  # ranges._Limited over the file, at the range's start

            class Failing:
                begin = file.tell()

                def read(self, size: int = -1, /) -> bytes:
                    if offset is None or not self.begin < offset:
                        return bytes(stream.read(size))
                    left = offset - file.tell()
                    if left <= 0:
                        raise OSError(errno.EIO, "Input/output error")
                    return bytes(stream.read(left if size < 0 else min(size, left)))

            return lines.read_chunks(Failing(), problems, chunk_bytes)

        ranges.read_chunks = lines.read_chunks if offset is None else read_chunks  # type: ignore[assignment]

    return install


def test_ranges_after_one_that_stopped_short_are_counted_by_the_next_run(
    address: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A range of a file's new part under --state fails half-way: this run counts the
    file up to there and says why, as a read of the file in one piece does; the state
    stops there too, so the next run counts the rest, each line once across the runs."""
    monkeypatch.setattr(engine, "RANGE_BYTES", 4096)
    log = write_numbered_log(tmp_path / "access.log", 0, 600)
    size = log.stat().st_size
    assert size > 10 * 4096
    state = tmp_path / "there.state"
    runs = []
    with distributed.Client(address) as client:
        client.run(failing_reads(size // 3))  # a range in the file's first half fails
        try:
            first = logstat.summarize(
                [log], top=3, tz="UTC", state=state, rejects=tmp_path / "1.csv", cluster=address
            )
        finally:
            client.run(failing_reads(None))
    runs.append(json.loads(first.to_json_text()))
    with log.open("a") as file:  # the log grows (a file unchanged since is not opened)
        file.writelines(log_line(n) for n in range(600, 650))
    truth = logstat.summarize([log], top=3, tz="UTC", rejects=tmp_path / "truth.csv")
    for number in (2, 3):
        found = logstat.summarize(
            [log], top=3, tz="UTC", state=state, rejects=tmp_path / f"{number}.csv", cluster=address
        )
        runs.append(json.loads(found.to_json_text()))
    [file] = runs[0]["files"]
    assert [problem for problem in file["problems"] if "Input/output error" in problem]
    assert 0 < runs[0]["totals"]["lines"] < 300 < runs[1]["totals"]["lines"]
    assert runs[2]["totals"]["lines"] == 0  # the state is at the end of the log
    expected = json.loads(truth.to_json_text())
    for name in ("lines", "records", "rejected", "selected"):
        assert sum(run["totals"][name] for run in runs) == expected["totals"][name], name
    for row in expected["statuses"]:
        counted = [
            found["count"]
            for run in runs
            for found in run["statuses"]
            if found["status"] == row["status"]
        ]
        assert sum(counted) == row["count"], row["status"]
    rejected = [(tmp_path / f"{number}.csv").read_bytes().splitlines() for number in (1, 2, 3)]
    truth_rows = (tmp_path / "truth.csv").read_bytes().splitlines()
    assert rejected[0][1:] + rejected[1][1:] + rejected[2][1:] == truth_rows[1:]


def test_ranges_after_one_that_stopped_short_drop_out_in_every_merge_tree() -> None:
    """The tasks' outcomes merge in a tree of any shape (in task order): a file's ranges
    after one that stopped short are never counted, whichever side they merged into."""
    from logstat.line_counts import LineCounts
    from logstat.reading.runs import FileRun
    from logstat.summary import PartialSummary

    def outcome(file_id: int, lines: int, start: int | None = None, whole: bool = True) -> Any:
        source = Source(f"f{file_id}", Path(f"f{file_id}"))
        run = FileRun(file_id, source, None, counts=LineCounts(lines=lines))
        partial = PartialSummary()
        partial.add_files([run])
        found = engine.Outcome(partial)
        if start is not None:
            found.read_range(file_id, ByteRange(start, start + 10, stop=start + 5, whole=whole))
        return found

    def leaves() -> list[Any]:
        return [
            outcome(0, 1, 0),
            outcome(0, 2, 10, whole=False),  # a read problem half-way: counted up to there
            outcome(0, 4, 20),
            outcome(0, 8, 30),
            outcome(1, 16),  # a small file, read whole
            outcome(2, 32, 0),
            outcome(2, 64, 10),
        ]

    def shapes(low: int, high: int) -> Iterator[Any]:
        """Every tree over the leaves low..high-1 (as nested pairs of indexes)."""
        if high - low == 1:
            yield low
            return
        for middle in range(low + 1, high):
            for left in shapes(low, middle):
                for right in shapes(middle, high):
                    yield (left, right)

    def merged(shape: Any, found: list[Any]) -> Any:
        if isinstance(shape, int):
            return found[shape]
        return engine.merge(merged(shape[0], found), merged(shape[1], found))

    trees = list(shapes(0, 7))
    assert len(trees) == 132
    for tree in trees:
        total = merged(tree, leaves()).settled()
        counted = {file_id: row.counts.lines for file_id, row in total.partial.files.items()}
        assert counted == {0: 1 + 2, 1: 16, 2: 32 + 64}, tree
        assert total.stopped == {0} and total.loose == {}
