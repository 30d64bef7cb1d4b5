"""--state: cron runs over a growing, rotating log count every line exactly once.

The logs are simulated: lines are appended, the log is rotated as logrotate
does (rename + create, copytruncate, delayed or immediate compression), a line
is left half-written.  The totals of all the runs must equal one run over all
the data: nothing counted twice, nothing skipped.
"""

from __future__ import annotations

import errno
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logstat.errors import LogstatError
from logstat.reading import state
from logstat.reading.inputs import Inputs
from logstat.reading.lines import ReadProblems, read_chunks
from logstat.reading.pipeline import Options
from logstat.reading.state import StateFile
from tests.helpers import SimulatedLog, Totals, assert_same, count_run, log_line, run_cli


@pytest.fixture
def log(tmp_path: Path) -> SimulatedLog:
    directory = tmp_path / "logs"
    directory.mkdir()
    return SimulatedLog(directory)


def test_cron_runs_over_growing_and_rotating_log_count_each_line_once(
    log: SimulatedLog, tmp_path: Path
) -> None:
    state_file = tmp_path / "state.json"
    logs = [log.current]
    counted = Totals()

    def step(expected_new_lines: int) -> None:
        totals = count_run(logs, state_file)
        assert totals.lines == expected_new_lines
        counted.add(totals)

    log.append(5)
    step(5)
    log.append(3)
    step(3)
    step(0)  # no new data counts nothing
    # rename + create; nginx writes 2 more lines to the old file before it reopens
    log.rotate(compress="none")
    log.append(2, to=log.directory / "access.log.1")
    log.append(4)
    step(6)
    # delaycompress: access.log.1 becomes access.log.2.gz, already read to its end
    log.rotate(compress="delayed")
    log.append(1)
    step(1)
    assert (log.directory / "access.log.2.gz").exists()
    # copytruncate, with lines not yet read in the file being copied
    log.append(2)
    log.rotate(copytruncate=True, compress="delayed")
    log.append(3)
    step(5)
    # rotated and compressed at once, with unread lines in it
    log.append(4)
    log.rotate(compress="now")
    step(4)
    # a half-written last line waits for its end
    log.append(2)
    log.append_partial()
    step(2)
    step(0)
    log.finish_partial()
    log.append(1)
    step(2)
    step(0)

    assert_same(counted, count_run([log.everything], None))
    assert counted.rejected > 0  # garbage lines are counted once too


def test_no_new_data_opens_nothing(log: SimulatedLog, tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    log.append(4)
    count_run([log.current], state_file)
    with Inputs(state_file) as inputs:
        assert inputs.plan([str(log.current)], Options()) == []


def test_a_read_stopped_by_an_error_goes_on_next_run_though_the_file_is_unchanged(
    log: SimulatedLog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An I/O error a third of the way into the log: that run counts the lines before it
    and the state stops there; the next run, with the file untouched, reads the rest
    (it is not left until the file grows), and a third run opens nothing."""
    state_file = tmp_path / "state.json"
    log.append(300)
    full = count_run([log.everything], None)
    stop_at = log.current.stat().st_size // 3

    def failing(stream: Any, problems: ReadProblems, chunk_bytes: int) -> Any:
        class Failing:
            def read(self, size: int = -1, /) -> bytes:
                left = stop_at - stream.count
                if left <= 0:
                    raise OSError(errno.EIO, "Input/output error")
                return bytes(stream.read(left if size < 0 else min(size, left)))

        return read_chunks(Failing(), problems, chunk_bytes)

    with monkeypatch.context() as patched:
        patched.setattr(state, "read_chunks", failing)
        first = count_run([log.current], state_file)
    second = count_run([log.current], state_file)
    assert 0 < first.lines < 150 < second.lines
    first.add(second)
    assert_same(first, full)
    with Inputs(state_file) as inputs:
        assert inputs.plan([str(log.current)], Options()) == []


def test_line_numbers_carry_on_across_runs(log: SimulatedLog, tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    log.append(3)
    count_run([log.current], state_file)
    log.append(2)
    with Inputs(state_file) as inputs:
        runs = inputs.plan([str(log.current)], Options())
        numbers = [n for _, frame in inputs.read(runs, Options()) for n in frame["line_no"]]
    assert numbers == [4, 5]


def test_truncated_in_place_is_read_from_the_start(log: SimulatedLog, tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    log.append(6)
    count_run([log.current], state_file)
    log.current.write_text("")  # truncated, nobody kept a copy
    log.append(2)
    totals = count_run([log.current], state_file)
    assert totals.lines == 2
    assert set(totals.requests) == {"/item/6", "/item/7"}


def test_state_file_is_versioned_json_with_whole_lines_only(
    log: SimulatedLog, tmp_path: Path
) -> None:
    state_file = tmp_path / "state.json"
    log.append(2)
    log.append_partial()
    count_run([log.current], state_file)
    document = json.loads(state_file.read_text())
    assert document["logstat_state"] == state.STATE_VERSION
    [entry] = document["files"]
    whole = len(log_line(0)) + len(log_line(1))
    assert entry["offset"] == whole
    assert entry["lines"] == 2
    assert entry["path"] == entry["origin"] == str(log.current)
    assert entry["inode"] == log.current.stat().st_ino
    assert entry["fingerprint_bytes"] == log.current.stat().st_size  # short: all of it
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".state.json")]  # no temp


def test_fingerprint_grows_with_the_file(log: SimulatedLog, tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    log.append(1)
    count_run([log.current], state_file)
    log.append(200)
    count_run([log.current], state_file)
    [entry] = json.loads(state_file.read_text())["files"]
    assert entry["fingerprint_bytes"] == state.FINGERPRINT_BYTES


def test_bad_state_files_are_one_line_errors(tmp_path: Path, log: SimulatedLog) -> None:
    state_file = tmp_path / "state.json"
    for text, message in [
        ("not json", "not a logstat state file"),
        ('{"logstat_state": 99, "files": []}', "state file format 99"),
        ('{"logstat_state": 1, "files": [{"path": 1}]}', "damaged state file"),
    ]:
        state_file.write_text(text)
        with pytest.raises(LogstatError, match=message):
            StateFile.open(state_file)


def test_state_refuses_stdin(tmp_path: Path) -> None:
    with Inputs(tmp_path / "state.json") as inputs, pytest.raises(LogstatError, match="stdin"):
        inputs.plan(["-"], Options())


def test_a_second_run_waits_then_fails_clearly(
    log: SimulatedLog,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state_file = tmp_path / "state.json"
    log.append(2)
    monkeypatch.setattr(state, "LOCK_WAIT_S", 0.3)
    arguments = ["summary", str(log.current), "--state", str(state_file)]
    with StateFile.open(state_file):
        code, _, error = run_cli(*arguments, in_process=True)
    assert code == 1
    assert error.count("\n") == 1
    assert "another logstat run is using this state file" in error
    assert not state_file.exists()
    # once the other run is done, this one goes ahead
    result = run_cli(*arguments, "--json", in_process=True)
    assert result.code == 0
    assert result.summary["totals"]["lines"] == 2
    assert state_file.exists()


def test_state_is_written_only_after_the_outputs(log: SimulatedLog, tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    log.append(3)
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    arguments = ["ingest", str(log.current), "--to", str(blocked / "dataset")]
    assert run_cli(*arguments, "--state", str(state_file), in_process=True).code != 0
    assert not state_file.exists()  # nothing was written, so nothing is remembered
    assert count_run([log.current], state_file).lines == 3


def test_several_inputs_and_a_directory(tmp_path: Path) -> None:
    directory = tmp_path / "logs"
    directory.mkdir()
    first, second = directory / "a.log", directory / "b.log"
    first.write_text(log_line(0) + log_line(1))
    second.write_text(log_line(2))
    state_file = tmp_path / "state.json"
    assert count_run([directory], state_file, detect=True).lines == 3
    with first.open("a") as handle:
        handle.write(log_line(3))
    totals = count_run([directory], state_file, detect=True)
    assert set(totals.requests) == {"/item/3"}


# --- random splits --------------------------------------------------------------

OPERATIONS = st.one_of(
    st.tuples(st.just("append"), st.integers(1, 30)),
    st.tuples(st.just("partial"), st.just(0)),
    st.tuples(st.just("run"), st.just(0)),
    st.tuples(st.just("rotate"), st.sampled_from(["none", "delayed", "now"])),
    st.tuples(st.just("copytruncate"), st.sampled_from(["none", "delayed", "now"])),
    st.tuples(st.just("late"), st.integers(1, 5)),  # the server writes on to access.log.1
    st.tuples(st.just("reuse"), st.integers(0, 20)),  # a deleted file's inode is handed on
)


def reuse_inode(state_file: Path, directory: Path, choice: int) -> None:
    """As ext4 does: a file now on disk has the inode of a deleted file the state knows.

    Rewrites the state so that a remembered file whose inode no file has any more names
    the inode of one of the files on disk (picked by `choice`)."""
    if not state_file.exists():
        return
    document = json.loads(state_file.read_text())
    on_disk = sorted(directory.iterdir())
    inodes = {(path.stat().st_dev, path.stat().st_ino) for path in on_disk}
    stale = [e for e in document["files"] if (e["device"], e["inode"]) not in inodes]
    if not stale or not on_disk:
        return
    entry = stale[choice % len(stale)]
    status = on_disk[choice % len(on_disk)].stat()
    entry["device"], entry["inode"] = status.st_dev, status.st_ino
    state_file.write_text(json.dumps(document))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=st.lists(OPERATIONS, min_size=1, max_size=14))
def test_any_split_into_runs_counts_like_one_run(
    operations: list[tuple[str, object]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    split_into_runs(operations, tmp_path_factory)


def test_a_half_line_rotated_twice_then_an_inode_reused(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # Hypothesis found it: two entries named one inode, and the one that had read
    # nothing (so matched any content) was taken: the file was read again from its start.
    operations: list[tuple[str, object]] = [
        ("partial", 0),
        ("rotate", "none"),
        ("rotate", "none"),
        ("run", 0),
        ("rotate", "delayed"),
        ("reuse", 3),
    ]
    split_into_runs(operations, tmp_path_factory)


def test_a_copy_that_got_an_empty_files_inode_is_matched_by_content(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # Hypothesis found it: copytruncate copied the read log into a file that got the
    # inode of a deleted file of which nothing had been read; that entry (which matches
    # any content) took the copy, and its line was counted a second time.
    operations: list[tuple[str, object]] = [
        ("rotate", "none"),
        ("append", 1),
        ("run", 0),
        ("copytruncate", "delayed"),
        ("reuse", 1),
    ]
    split_into_runs(operations, tmp_path_factory)


def split_into_runs(
    operations: list[tuple[str, object]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Counts of the runs between the operations must equal one run over every line."""
    base = tmp_path_factory.mktemp("split")
    directory = base / "logs"
    directory.mkdir()
    log = SimulatedLog(directory)
    state_file = base / "state.json"
    counted = count_run([log.current], state_file)  # cron starts with the (empty) log
    for operation, argument in operations:
        if operation == "run":
            counted.add(count_run([log.current], state_file))
            continue
        if operation == "reuse":
            assert isinstance(argument, int)
            reuse_inode(state_file, directory, argument)
            continue
        if log.partial:
            log.finish_partial()
        if operation == "append":
            assert isinstance(argument, int)
            log.append(argument)
        elif operation == "partial":
            log.append_partial()
        elif operation == "late":
            assert isinstance(argument, int)
            first = directory / "access.log.1"
            if first.exists():
                log.append(argument, to=first)
        else:
            assert isinstance(argument, str)
            log.rotate(copytruncate=operation == "copytruncate", compress=argument)
    if log.partial:
        log.finish_partial()
    counted.add(count_run([log.current], state_file))
    full = count_run([log.everything], None) if log.written else Totals()
    assert_same(counted, full)


def test_dateext_rotation_and_other_files_beside_the_log(log: SimulatedLog) -> None:
    # the state file beside the log is no rotated log: it must never be read as one
    state_file = log.directory / "access.log.state.json"
    counted = count_run([log.current], state_file)
    log.append(5)
    counted.add(count_run([log.current], state_file))
    log.append(3)
    (log.directory / "access.log.bak").write_text(log_line(999))  # not a rotation either
    log.current.rename(log.directory / "access.log-20240310")  # logrotate dateext
    log.current.touch()
    log.append(2)
    counted.add(count_run([log.current], state_file))
    packed = log.directory / "access.log-20240310.gz"
    packed.write_bytes(gzip.compress((log.directory / "access.log-20240310").read_bytes()))
    (log.directory / "access.log-20240310").unlink()
    log.append(1)
    counted.add(count_run([log.current], state_file))
    assert_same(counted, count_run([log.everything], None))
    origins = {entry["origin"] for entry in json.loads(state_file.read_text())["files"]}
    assert origins == {str(log.current)}
