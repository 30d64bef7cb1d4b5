"""`logstat ingest` adds each line once, all of a run or nothing (issues 11 and 12.4, 12.11).

The dataset records what every run added (DIR/_logstat/commits); a run plans
from that record, so ingesting a file twice, a state file that was not saved, a
state file that lies, or a run killed half-way through its commit all end with
every line in the dataset exactly once.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import polars as pl
import pytest

from logstat.errors import LogstatError
from logstat.outputs import atomic, dataset_commits
from logstat.reading import dataset, state
from tests.helpers import log_line, run_cli, write_numbered_log


def stored(root: Path) -> pl.DataFrame:
    """The dataset as docs/cron.md tells polars users to read it."""
    return pl.scan_parquet(root / "**" / "*.parquet", hive_partitioning=True).collect()


def expected_paths(numbers: range) -> list[str]:
    return sorted(f"/item/{number}" for number in numbers if number % 13 != 12)


def summary_records(root: Path) -> int:
    result = run_cli("summary", str(root), "--json", in_process=True)
    assert result.code == 0, result.stderr
    records: int = result.summary["totals"]["records"]
    return records


def test_ingest_twice_adds_nothing_the_second_time(tmp_path: Path) -> None:
    log = write_numbered_log(tmp_path / "access.log", 0, 30)
    root = tmp_path / "ds"
    assert run_cli("ingest", str(log), "--to", str(root), "-q", in_process=True).code == 0
    assert run_cli("ingest", str(log), "--to", str(root), "-q", in_process=True).code == 0
    assert sorted(stored(root)["path"]) == expected_paths(range(30))
    with log.open("a") as handle:
        handle.write("".join(log_line(number) for number in range(30, 40)))
    assert run_cli("ingest", str(log), "--to", str(root), "-q", in_process=True).code == 0
    assert sorted(stored(root)["path"]) == expected_paths(range(40))
    # --append adds the lines again, on purpose
    assert (
        run_cli("ingest", str(log), "--to", str(root), "-q", "--append", in_process=True).code == 0
    )
    assert stored(root).height == 2 * len(expected_paths(range(40)))


def test_each_commit_records_the_input_ranges(tmp_path: Path) -> None:
    log = write_numbered_log(tmp_path / "access.log", 0, 26)
    root = tmp_path / "ds"
    run_cli("ingest", str(log), "--to", str(root), "-q", in_process=True)
    with log.open("a") as handle:
        handle.write("".join(log_line(number) for number in range(26, 39)))
    run_cli("ingest", str(log), "--to", str(root), "-q", in_process=True)
    first, second = (json.loads(path.read_text()) for path in dataset_commits.commit_files(root))
    [range_one], [range_two] = first["ranges"], second["ranges"]
    assert range_one["path"] == str(log.absolute()) and range_one["inode"] == log.stat().st_ino
    assert (range_one["start_line"], range_one["end_line"]) == (1, 26)
    assert (range_two["start_line"], range_two["end_line"]) == (27, 39)
    assert range_two["start_offset"] == range_one["end_offset"]
    assert range_two["end_offset"] == log.stat().st_size
    assert range_one["rows"] + range_two["rows"] == stored(root).height
    assert sum(part["rows"] for part in first["parts"]) == first["rows"] == range_one["rows"]
    assert [entry["offset"] for entry in second["files"]] == [log.stat().st_size]


def test_a_state_file_not_saved_after_the_commit_adds_nothing_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The state's filesystem is full: the dataset is committed, the state is not."""
    log = write_numbered_log(tmp_path / "access.log", 0, 40)
    root, state_path = tmp_path / "ds", tmp_path / "st"
    arguments = ["ingest", str(log), "--to", str(root), "--state", str(state_path), "-q"]
    assert run_cli(*arguments, in_process=True).code == 0
    with log.open("a") as handle:
        handle.write("".join(log_line(number) for number in range(40, 60)))

    def full(self: state.StateFile, entries: list[state.Entry], *objects: object) -> None:
        raise LogstatError(f"{self.path}: cannot write: No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(state.StateFile, "save", full)
        code, _, error = run_cli(*arguments, in_process=True)
        assert code == 1
    assert "No space left" in error
    assert run_cli(*arguments, in_process=True).code == 0
    assert sorted(stored(root)["path"]) == expected_paths(range(60))


def test_a_state_file_that_lies_does_not_count_twice(tmp_path: Path) -> None:
    log = write_numbered_log(tmp_path / "access.log", 0, 40)
    root, state_path = tmp_path / "ds", tmp_path / "st"
    arguments = ["ingest", str(log), "--to", str(root), "--state", str(state_path), "-q"]
    assert run_cli(*arguments, in_process=True).code == 0
    state_path.unlink()  # lost, or restored from an old backup
    assert run_cli(*arguments, in_process=True).code == 0
    assert sorted(stored(root)["path"]) == expected_paths(range(40))


def test_a_run_killed_while_moving_its_parts_in_is_finished_by_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Committed, then killed with some parts moved in: readers see all of it, the next
    run moves the rest in and adds nothing twice."""
    log = tmp_path / "access.log"
    # many days: many parts, so the kill lands between two renames
    log.write_text("".join(log_line(number * 1300) for number in range(40)))
    root = tmp_path / "ds"
    moved: list[str] = []
    real_replace = os.replace

    def killed_after_two(source: object, target: object) -> None:
        if "staging" in str(source) and str(target).endswith(".parquet"):
            if len(moved) == 2:
                raise KeyboardInterrupt  # as SIGKILL would, without a chance to clean up
            moved.append(str(target))
        real_replace(source, target)  # type: ignore[arg-type]

    with monkeypatch.context() as patched:
        patched.setattr(dataset_commits.os, "replace", killed_after_two)
        with pytest.raises(KeyboardInterrupt):
            from logstat.outputs.ingest import Ingest
            from logstat.reading.pipeline import Options

            with Ingest(root) as run:
                runs = run.plan([str(log)], Options())
                run.write(runs, Options(), None)
    [staging] = dataset_commits.staging_directories(root)
    assert len(list(staging.rglob("*.parquet"))) > 0 and len(moved) == 2
    records = len(expected_paths(range(0, 40 * 1300, 1300)))
    # readers see the whole committed run already
    assert summary_records(root) == records
    assert run_cli("ingest", str(log), "--to", str(root), "-q", in_process=True).code == 0
    assert dataset_commits.staging_directories(root) == []
    assert stored(root).height == records


def test_a_part_its_commit_does_not_name_is_never_read_nor_moved_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cluster worker the scheduler gave up on, but still running, can write its part
    into the staging directory after the run committed without it: that part is no
    part of the dataset, for readers nor for the run that finishes the commit."""
    log = tmp_path / "access.log"
    log.write_text("".join(log_line(number * 1300) for number in range(40)))
    root = tmp_path / "ds"

    def killed_after_commit(ledger: dataset_commits.Ledger) -> None:
        staging = ledger.staging()
        stray = staging / "date=2024-01-01" / "source=nginx" / "part-late.parquet"
        stray.parent.mkdir(parents=True, exist_ok=True)
        stray.write_bytes(next(staging.glob(dataset_commits.PART_GLOB)).read_bytes())
        raise KeyboardInterrupt  # killed before moving anything in

    with monkeypatch.context() as patched:
        patched.setattr(dataset_commits.Ledger, "move_in", killed_after_commit)
        with pytest.raises(KeyboardInterrupt):
            from logstat.outputs.ingest import Ingest
            from logstat.reading.pipeline import Options

            with Ingest(root) as run:
                runs = run.plan([str(log)], Options())
                run.write(runs, Options(), None)
    records = len(expected_paths(range(0, 40 * 1300, 1300)))
    assert summary_records(root) == records
    assert run_cli("ingest", str(log), "--to", str(root), "-q", in_process=True).code == 0
    assert dataset_commits.staging_directories(root) == []
    assert stored(root).height == records
    assert not list(root.rglob("part-late.parquet"))


def test_a_dead_runs_staging_is_removed_and_never_read(tmp_path: Path) -> None:
    log = write_numbered_log(tmp_path / "access.log", 0, 30)
    root = tmp_path / "ds"
    assert run_cli("ingest", str(log), "--to", str(root), "-q", in_process=True).code == 0
    # what a run killed before its commit leaves: 48 MB of staged parts, say
    dead = root.parent / f".ds{dataset_commits.STAGING}0123456789ab"
    part = dead / "date=2024-01-01" / "source=nginx" / "part-dead.parquet"
    part.parent.mkdir(parents=True)
    part.write_bytes(next(root.glob(dataset_commits.PART_GLOB)).read_bytes())
    assert summary_records(root) == len(expected_paths(range(30)))
    write_numbered_log(tmp_path / "other.log", 100, 5)
    assert (
        run_cli(
            "ingest", str(tmp_path / "other.log"), "--to", str(root), "-q", in_process=True
        ).code
        == 0
    )
    assert not dead.exists()


def test_rotation_without_state_follows_the_dataset_record(tmp_path: Path) -> None:
    log = write_numbered_log(tmp_path / "access.log", 0, 20)
    root = tmp_path / "ds"
    arguments = ["ingest", str(log), "--to", str(root), "-q"]
    assert run_cli(*arguments, in_process=True).code == 0
    with log.open("a") as handle:
        handle.write("".join(log_line(number) for number in range(20, 30)))
    rotated = tmp_path / "access.log.1.gz"
    rotated.write_bytes(gzip.compress(log.read_bytes()))
    log.unlink()
    write_numbered_log(log, 30, 5)
    assert run_cli(*arguments, in_process=True).code == 0
    assert run_cli(*arguments, in_process=True).code == 0
    assert sorted(stored(root)["path"]) == expected_paths(range(35))


def test_stdin_is_appended_and_cannot_be_mixed_with_files(tmp_path: Path) -> None:
    log = write_numbered_log(tmp_path / "access.log", 0, 10)
    root = tmp_path / "ds"
    assert run_cli("ingest", str(log), "-", "--to", str(root), "-q", in_process=True).code == 2
    assert not list(root.glob(dataset_commits.PART_GLOB))


def test_temporary_files_of_dead_runs_are_removed(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    dead = tmp_path / ".out.csv.abcd1234"  # what a SIGKILL during a write leaves
    dead.write_text("half")
    other = tmp_path / ".out.csv.notours-name"
    other.write_text("kept")
    with atomic.atomic_output(target) as handle:
        handle.write(b"x")
        # our own temporary file is locked: another writer leaves it alone
        [ours] = [p for p in tmp_path.iterdir() if p.name.startswith(".out.csv.") and p != other]
        atomic.remove_dead_temporary_files(target, tmp_path)
        assert ours.exists()
    assert not dead.exists() and other.exists() and target.read_text() == "x"


def test_is_dataset_with_only_a_record(tmp_path: Path) -> None:
    empty = tmp_path / "empty.log"
    empty.write_text("")
    root = tmp_path / "ds"
    assert run_cli("ingest", str(empty), "--to", str(root), "-q", in_process=True).code == 0
    assert dataset.is_dataset(str(root))


def test_readers_see_whole_runs_while_parts_are_moved_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run's parts are moved in one by one (slowly here); a reader meanwhile counts
    either all of that run or none of it."""
    import threading

    from logstat.outputs.ingest import Ingest
    from logstat.reading.pipeline import Options

    root = tmp_path / "ds"
    sizes: list[int] = []
    logs = []
    for index in range(3):
        log = tmp_path / f"access{index}.log"
        # one line a day: one part per line, so moving in takes a while
        log.write_text("".join(log_line(index * 10_000 + number * 1300) for number in range(12)))
        logs.append(log)
        sizes.append(len(expected_paths(range(index * 10_000, index * 10_000 + 12 * 1300, 1300))))
    real_replace = os.replace

    def slow_replace(source: object, target: object) -> None:
        real_replace(source, target)  # type: ignore[arg-type]
        if str(target).endswith(".parquet"):
            time.sleep(0.02)

    import time

    monkeypatch.setattr(dataset_commits.os, "replace", slow_replace)

    def writer() -> None:
        for log in logs:
            with Ingest(root) as run:
                runs = run.plan([str(log)], Options())
                run.write(runs, Options(), None)

    thread = threading.Thread(target=writer)
    allowed = {sum(sizes[:count]) for count in range(len(sizes) + 1)}
    seen: set[int] = set()
    thread.start()
    while thread.is_alive() or not seen:
        if not root.exists():
            continue
        runs = dataset.plan([str(root)]) if dataset.is_dataset(str(root)) else []
        rows = sum(frame.height for _, frame in dataset.read(runs))
        assert rows in allowed, (rows, allowed)
        seen.add(rows)
    thread.join()
    assert max(seen) == sum(sizes) or stored(root).height == sum(sizes)


def test_committed_files_is_a_snapshot_for_other_readers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Part of a run moved in, the rest still staged: the list has all of it, and polars
    reads the partitions from the staged paths too."""
    log = tmp_path / "access.log"
    log.write_text("".join(log_line(number * 1300) for number in range(20)))
    root = tmp_path / "ds"
    real_replace = os.replace
    moved: list[str] = []

    def killed_after_one(source: object, target: object) -> None:
        if "staging" in str(source) and str(target).endswith(".parquet"):
            if moved:
                raise KeyboardInterrupt
            moved.append(str(target))
        real_replace(source, target)  # type: ignore[arg-type]

    from logstat.outputs.ingest import Ingest
    from logstat.reading.pipeline import Options

    with monkeypatch.context() as patched:
        patched.setattr(dataset_commits.os, "replace", killed_after_one)
        with pytest.raises(KeyboardInterrupt), Ingest(root) as run:
            run.write(run.plan([str(log)], Options()), Options(), None)
    files = dataset.committed_files(root)
    assert any("staging" in name for name in files)
    frame = pl.scan_parquet(files, hive_partitioning=True).collect()
    assert sorted(frame["path"]) == expected_paths(range(0, 20 * 1300, 1300))
    assert frame.select((pl.col("date") == pl.col("timestamp").dt.date()).all()).item()
