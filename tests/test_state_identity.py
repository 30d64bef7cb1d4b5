"""--state: which file is which when inodes are reused and files are compressed.

ext4 gives a new file the inode of a file deleted a moment before, so an inode
says nothing once the file it named is gone: the content fingerprint decides.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from logstat.reading.inputs import Inputs
from logstat.reading.pipeline import Options
from tests.helpers import REPO, SimulatedLog, Totals, assert_same, count_run, log_line, run_cli

SAMPLE = REPO / "samples" / "nginx-access.log"


def ingest(*arguments: str) -> int:
    return run_cli("ingest", *arguments, "-q", in_process=True).code


def dataset_rows(root: Path) -> int:
    return (
        pl.scan_parquet(root / "**" / "*.parquet", hive_partitioning=True)
        .select(pl.len())
        .collect()
        .item()
    )


def gzip_file(path: Path) -> Path:
    """As gzip(1): the .gz beside the file (same modification time), then the file removed."""
    packed = path.with_name(path.name + ".gz")
    with path.open("rb") as source, gzip.open(packed, "wb") as target:
        shutil.copyfileobj(source, target)
    shutil.copystat(path, packed)
    path.unlink()
    return packed


def reuse_inode(state_file: Path, stale_path: Path, new_file: Path) -> None:
    """Make the state's entry for the deleted `stale_path` name the inode `new_file` has,
    as ext4 does when it hands the deleted file's inode to the next file created."""
    document = json.loads(state_file.read_text())
    status = new_file.stat()
    [entry] = [item for item in document["files"] if item["path"] == str(stale_path)]
    entry["device"], entry["inode"] = status.st_dev, status.st_ino
    state_file.write_text(json.dumps(document))


@pytest.fixture
def log(tmp_path: Path) -> SimulatedLog:
    directory = tmp_path / "logs"
    directory.mkdir()
    return SimulatedLog(directory)


def test_issue_repro_a_gz_with_a_deleted_files_inode_is_not_read_again(tmp_path: Path) -> None:
    lines = SAMPLE.read_bytes().splitlines(keepends=True)
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "access.log.1").write_bytes(b"".join(lines[:300]))
    (logs / "access.log.old").write_bytes(b"".join(lines[-300:]))
    dataset, state_file = tmp_path / "ds", tmp_path / "st"
    arguments = [str(logs / "access.log.*"), "--to", str(dataset), "--state", str(state_file)]
    assert ingest(*arguments) == 0
    assert dataset_rows(dataset) == 600
    (logs / "access.log.old").unlink()
    (logs / "access.log.1").rename(logs / "access.log.2")
    packed = gzip_file(logs / "access.log.2")
    # on tmpfs no inode is reused: make the state see what ext4 does
    reuse_inode(state_file, logs / "access.log.old", packed)
    assert ingest(*arguments) == 0
    assert dataset_rows(dataset) == 600


def test_a_file_with_a_stale_inode_and_known_content_resumes(
    log: SimulatedLog, tmp_path: Path
) -> None:
    """The live log rotated with `compress`: the new .gz and the new access.log each take
    the inode of a file the state knew, and neither is read from its start."""
    state_file = tmp_path / "state.json"
    counted = count_run([log.current], state_file)
    log.append(40)
    counted.add(count_run([log.current], state_file))
    log.rotate(compress="now")  # access.log.1.gz; the inode of access.log is gone
    log.append(7)
    counted.add(count_run([log.current], state_file))
    log.append(5)
    log.rotate(compress="now")
    log.append(3)
    document = json.loads(state_file.read_text())
    by_name = {Path(entry["path"]).name: entry for entry in document["files"]}
    assert set(by_name) == {"access.log", "access.log.1.gz"}
    # the inodes of the files the entries name are free again; ext4 hands them to the
    # files created since: the new .gz gets the older .gz's entry's inode, the new log
    # the one of the log the state read last
    newest_gz, live = log.directory / "access.log.1.gz", log.current
    stale = {"access.log.1.gz": newest_gz, "access.log": live}
    for name, now in stale.items():
        status = now.stat()
        by_name[name]["device"], by_name[name]["inode"] = status.st_dev, status.st_ino
    state_file.write_text(json.dumps(document))
    counted.add(count_run([log.current], state_file))
    assert_same(counted, count_run([log.everything], None))


def test_compressed_copy_is_recognised_by_its_decompressed_head(
    log: SimulatedLog, tmp_path: Path
) -> None:
    state_file = tmp_path / "state.json"
    log.append(30)
    counted = count_run([log.directory / "access.log*"], state_file)
    log.rotate(compress="none")
    log.append(4)
    counted.add(count_run([log.directory / "access.log*"], state_file))
    log.rotate(compress="delayed")  # access.log.2.gz: already read, now compressed
    log.append(2)
    counted.add(count_run([log.directory / "access.log*"], state_file))
    assert_same(counted, count_run([log.everything], None))


def test_live_ingest_with_compress_counts_each_line_once(log: SimulatedLog, tmp_path: Path) -> None:
    """`ingest access.log --state` every few minutes, logrotate with `compress`."""
    dataset, state_file = tmp_path / "ds", tmp_path / "st"
    arguments = [str(log.current), "--to", str(dataset), "--state", str(state_file)]
    for day in range(6):
        log.append(10 + day)
        assert ingest(*arguments) == 0
        log.append(3)
        log.rotate(compress="now")
        log.append(2)
        assert ingest(*arguments) == 0
    assert ingest(*arguments) == 0
    stored = (
        pl.scan_parquet(dataset / "**" / "*.parquet", hive_partitioning=True)
        .select("path")
        .collect()
    )
    assert stored.height == count_run([log.everything], None).records
    assert stored["path"].is_duplicated().sum() == 0


def write_unterminated(path: Path, first: int, count: int) -> None:
    """`count` lines, the last without its newline (a writer that stopped mid-line)."""
    text = "".join(log_line(number) for number in range(first, first + count))
    with path.open("a") as handle:
        handle.write(text.removesuffix("\n"))


@pytest.mark.parametrize("compress", ["none", "delayed"])
@pytest.mark.parametrize("inputs", ["live", "rotated glob"])
def test_an_unterminated_last_line_of_a_rotated_file_counts_once(
    compress: str, inputs: str, tmp_path: Path
) -> None:
    """Without --state that line counts; with it, it counts once the file is rotated and
    left alone for a run (its writer moved on), not never."""
    directory = tmp_path / "logs"
    directory.mkdir()
    log = SimulatedLog(directory)
    state_file = tmp_path / "state.json"
    live = inputs == "live"
    logs = [log.current] if live else [directory / "access.log.*"]
    log.append(3)
    write_unterminated(log.current, 3, 2)  # /item/4 has no newline
    log.written = 5
    counted = count_run(logs, state_file) if live else Totals()
    for _ in range(4):
        log.rotate(compress=compress)
        log.append(2)
        counted.add(count_run(logs, state_file))
    # every line once, as one run without --state over the same files counts them
    full = Totals()
    for path in sorted(directory.glob("access.log*")):
        if live or path.name != "access.log":
            full.add(count_run([path], None))
    if not live:  # the live log is no input: its last lines are not counted yet
        counted.add(count_run([log.current], None))
        full.add(count_run([log.current], None))
    assert counted.requests["/item/4"] == 1
    assert_same(counted, full)


def symlinked_log(tmp_path: Path) -> tuple[SimulatedLog, Path]:
    """A log in real/, and log/access.log -> ../real/access.log: (the log, log/)."""
    real = tmp_path / "real"
    real.mkdir()
    links = tmp_path / "log"
    links.mkdir()
    (links / "access.log").symlink_to(Path("..") / "real" / "access.log")
    return SimulatedLog(real), links


@pytest.mark.parametrize("compress", ["none", "delayed", "now"])
def test_a_symlinked_log_is_followed_to_where_it_is_rotated(compress: str, tmp_path: Path) -> None:
    """log/access.log -> ../real/access.log, and logrotate works in real/."""
    log, links = symlinked_log(tmp_path)
    state_file = tmp_path / "state.json"
    counted = Totals()
    for day in range(4):
        log.append(5 + day)
        counted.add(count_run([links / "access.log"], state_file))
        log.append(3)  # written after the run, before the rotation: the tail at risk
        log.rotate(compress=compress)
        log.append(1)
    counted.add(count_run([links / "access.log"], state_file))
    assert_same(counted, count_run([log.everything], None))


def test_what_rotation_took_out_of_reach_is_named(tmp_path: Path) -> None:
    """Rotated into a directory logstat does not look in (logrotate's olddir): the lines
    written after the last run are lost, and the run says so."""
    directory = tmp_path / "logs"
    directory.mkdir()
    log = SimulatedLog(directory)
    state_file = tmp_path / "state.json"
    log.append(5)
    count_run([log.current], state_file)
    log.append(3)
    old = tmp_path / "old"
    old.mkdir()
    log.current.rename(old / "access.log.1")
    log.current.touch()
    log.append(2)
    options = Options(format="nginx")
    with Inputs(state_file) as inputs:
        [planned] = inputs.plan([str(log.current)], options)
        for _ in inputs.read([planned], options):
            pass
    assert planned.counts.lines == 2
    [problem] = planned.problems
    assert "the file read before under this name (to line 5) was not found" in problem


def test_ingest_says_on_stderr_what_rotation_took_out_of_reach(tmp_path: Path) -> None:
    """ingest has no summary to list a file's warnings in: they go to stderr, with -q too."""
    log, links = symlinked_log(tmp_path)
    arguments = [links / "access.log", "--to", tmp_path / "ds", "--state", tmp_path / "st", "-q"]
    log.append(5)
    first = run_cli("ingest", *arguments, in_process=True)
    assert (first.code, first.stderr) == (0, "")
    log.append(3)
    old = tmp_path / "old"  # logrotate's olddir: not where logstat looks
    old.mkdir()
    log.current.rename(old / "access.log.1")
    log.current.touch()
    log.append(2)
    second = run_cli("ingest", *arguments, in_process=True)
    assert second.code == 0
    [warning] = second.stderr.splitlines()
    assert warning.startswith(f"logstat: warning: {links / 'access.log'}: the file read before")
    assert "(to line 5) was not found" in warning
    assert dataset_rows(tmp_path / "ds") == 7


def test_a_half_line_is_not_finished_before_the_writer_reopens(tmp_path: Path) -> None:
    """logrotate renames the log, then tells the server, which writes what it still holds
    (the rest of a half-written line) to the rotated file as it reopens: a run in between
    must not count the half line as a whole one (a request lost, two rejects instead)."""
    logs = tmp_path / "logs"
    logs.mkdir()
    live, state_file = logs / "access.log", tmp_path / "state.json"
    server = live.open("ab", buffering=0)
    last = log_line(3).encode()
    server.write("".join(log_line(number) for number in range(3)).encode() + last[:20])
    counted = count_run([live], state_file)
    live.rename(logs / "access.log.1")
    live.touch()
    counted.add(count_run([live], state_file))  # between the rename and the reopen
    server.write(last[20:])  # the server reopens its log
    server.close()
    with live.open("a") as handle:
        handle.write(log_line(4))
    for _ in range(2):
        counted.add(count_run([live], state_file))
    assert (counted.lines, counted.records, counted.rejected) == (5, 5, 0)
    assert counted.requests["/item/3"] == 1
