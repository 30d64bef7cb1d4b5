"""The dataset's own record of what it holds: one commit file per `logstat ingest` run.

    DIR/_logstat/lock                         held by the run writing to DIR
    DIR/_logstat/commits/<sequence>-<run>.json  one per run, written last

A run writes its part files in a staging directory beside DIR
(`.DIR.logstat-staging-<run>`), then writes its commit file atomically (the
commit point), then moves its parts into DIR.  A run that dies before its
commit file exists added nothing: the next run (which holds the lock, so the
dead one is not running) removes its staging directory.  A run that dies after
it has its parts moved in by the next run (or read from the staging directory by
readers meanwhile).  So a run's rows are in the dataset all at once or not at all.

Each commit file says which input ranges the run added (the file's identity:
path, device, inode, fingerprint of its first bytes; and the decompressed byte
and line range read) and, under `files`, where every log file read into the
dataset stands after the run, in the `--state` file's entry format.  `ingest`
plans from the latest `files`, not from `--state`, so a rerun after any failure
converges to each line exactly once whatever the state file says.

`_logstat` starts with an underscore, which Hive, Spark, pyarrow and DuckDB's
hive readers skip; polars reads a directory whole, so it is read with a glob
(`DIR/**/*.parquet`), as the README shows.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from logstat.errors import ExitCode, LogstatError
from logstat.outputs.atomic import atomic_output

LEDGER = "_logstat"
COMMITS = "commits"
LOCK = "lock"
COMMIT_VERSION = 1
STAGING = ".logstat-staging-"
LOCK_WAIT_S = 10.0
PART_GLOB = "date=*/source=*/*.parquet"


def staging_prefix(root: Path) -> str:
    return f".{root.absolute().name}{STAGING}"


def staging_directories(root: Path) -> list[Path]:
    """Every staging directory of this dataset, of live, dead and committed runs."""
    parent = root.absolute().parent
    prefix = staging_prefix(root)
    with contextlib.suppress(OSError):
        return sorted(parent / name for name in os.listdir(parent) if name.startswith(prefix))
    return []


def commits_directory(root: Path) -> Path:
    return root / LEDGER / COMMITS


def commit_files(root: Path) -> list[Path]:
    """The committed runs, oldest first (temporary files of a commit being written left out)."""
    directory = commits_directory(root)
    with contextlib.suppress(OSError):
        names = sorted(
            name
            for name in os.listdir(directory)
            if name.endswith(".json") and not name.startswith(".")
        )
        return [directory / name for name in names]
    return []


def committed_run(root: Path, staging: Path) -> bool:
    """Has the run that wrote into this staging directory committed?"""
    return _commit_of(root, staging) is not None


def _commit_of(root: Path, staging: Path) -> Path | None:
    run = staging.name.rsplit("-", 1)[-1]
    return next((path for path in commit_files(root) if path.stem.endswith(f"-{run}")), None)


def _listed(root: Path, staging: Path) -> set[str]:
    """The parts the run's commit names: only those are the dataset's.  A staging
    directory can hold others: a cluster worker the scheduler gave up on but that still
    runs may write its part after the commit."""
    commit = _commit_of(root, staging)
    if commit is None:
        return set()
    parts = read_commit(commit).get("parts", [])
    return {part["path"] for part in parts if isinstance(part, dict) and "path" in part}


def pending_parts(root: Path) -> dict[Path, Path]:
    """Parts of committed runs not yet moved into DIR: final path -> staged path."""
    pending: dict[Path, Path] = {}
    for staging in staging_directories(root):
        listed = _listed(root, staging)
        if not listed:
            continue
        try:
            for staged in staging.glob(PART_GLOB):
                if staged.relative_to(staging).as_posix() in listed:
                    pending[root / staged.relative_to(staging)] = staged
        except FileNotFoundError:
            # moved in and removed while listed: every part is in DIR now, where the
            # caller looks next
            continue
    return pending


def move_in(staging: Path, root: Path) -> None:
    """Rename every part the run's commit names to its place in DIR, then remove the
    staging directory (and whatever else is in it)."""
    listed = _listed(root, staging)
    for staged in sorted(staging.glob(PART_GLOB)):
        if staged.relative_to(staging).as_posix() not in listed:
            continue
        final = root / staged.relative_to(staging)
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, final)
        except OSError as error:
            raise LogstatError(
                f"{final}: cannot write the dataset: {error.strerror or error}"
            ) from error
    shutil.rmtree(staging, ignore_errors=True)


def read_commit(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as error:
        raise LogstatError(f"{path}: cannot read the dataset's commit: {error}") from error
    if not isinstance(document, dict) or document.get("logstat_commit") != COMMIT_VERSION:
        raise LogstatError(
            f"{path}: not a dataset commit this logstat reads (format {COMMIT_VERSION})"
        )
    return document


@dataclass
class LocalParts:
    """Part files written in a run's staging directory, each on disk before the commit."""

    staging: Path

    def open(self, relative: str) -> IO[bytes]:
        path = self.location(relative)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return open(path, "wb")
        except OSError as error:
            raise _write_error(path, error) from error

    def finish(self, handle: IO[bytes]) -> None:
        try:
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
        except OSError as error:
            raise _write_error(Path(handle.name), error) from error

    def discard(self, handle: IO[bytes]) -> None:
        with contextlib.suppress(OSError):
            handle.close()

    def remove(self, relatives: list[str]) -> None:
        for relative in relatives:
            with contextlib.suppress(OSError):
                self.location(relative).unlink()

    def location(self, relative: str) -> Path:
        return self.staging / relative


def _write_error(path: Path, error: OSError) -> LogstatError:
    return LogstatError(f"{path}: cannot write the dataset: {error.strerror or error}")


class Ledger:
    """DIR's commit files, locked from `open` to `close` (one writing run at a time)."""

    def __init__(self, root: Path, descriptor: int) -> None:
        self.root = root
        self._descriptor: int | None = descriptor
        self.run = uuid.uuid4().hex[:12]

    @classmethod
    def open(cls, root: Path, wait_s: float = LOCK_WAIT_S) -> Ledger:
        if root.exists() and not root.is_dir():
            raise LogstatError(f"{root}: not a directory", ExitCode.USAGE)
        lock_path = root / LEDGER / LOCK
        try:
            commits_directory(root).mkdir(parents=True, exist_ok=True)
            descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise LogstatError(
                f"{root}: cannot write the dataset: {error.strerror or error}"
            ) from error
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(descriptor)
                    raise LogstatError(
                        f"{root}: another logstat ingest is writing to this dataset "
                        f"(waited {wait_s:g} s); try again later"
                    ) from None
                time.sleep(0.05)
        ledger = cls(root, descriptor)
        try:
            ledger.recover()
        except BaseException:
            ledger.close()
            raise
        return ledger

    def recover(self) -> None:
        """Finish the commits of runs that died moving their parts in; remove what runs
        that died before committing left.  We hold the lock: no other run is writing."""
        for staging in staging_directories(self.root):
            if committed_run(self.root, staging):
                move_in(staging, self.root)
            else:
                shutil.rmtree(staging, ignore_errors=True)

    def staging(self) -> Path:
        root = self.root.absolute()
        return root.parent / f"{staging_prefix(root)}{self.run}"

    def part_prefix(self) -> str:
        """How part names start (the run is in the staging directory's name)."""
        return "part"

    def parts(self) -> LocalParts:
        return LocalParts(self.staging())

    def location(self, relative: str) -> Path:
        """Where a part of this run is once moved in."""
        return self.root / relative

    def keep_only(self, listed: list[str]) -> None:
        """Remove the staged parts not among `listed` (the relative paths to commit)."""
        staging = self.staging()
        keep = set(listed)
        for staged in staging.glob(PART_GLOB):
            if staged.relative_to(staging).as_posix() not in keep:
                with contextlib.suppress(OSError):
                    staged.unlink()

    def abandon(self, written: list[str], complete: bool = True) -> None:
        """A run that failed: nothing of it may stay, unless it committed (its parts are
        moved in by the next run) or was interrupted just after its commit.  The staging
        directory goes whole, whoever wrote in it (`complete` does not matter here)."""
        staging = self.staging()
        if staging.exists() and not committed_run(self.root, staging):
            shutil.rmtree(staging, ignore_errors=True)

    def files(self) -> list[dict[str, Any]] | None:
        """Where every log file read into the dataset stands, from the newest commit that
        says (None: no commit does, as in a dataset written by an older logstat)."""
        files = self.section("files")
        if files is not None and not isinstance(files, list):
            raise LogstatError(f"{self.root}: damaged dataset commit (files)")
        return files

    def section(self, name: str) -> Any:
        """A section of the newest commit that has it (None: none has)."""
        for path in reversed(commit_files(self.root)):
            document = read_commit(path)
            if name in document:
                return document[name]
        return None

    def commit(self, record: dict[str, Any]) -> Path:
        """Write this run's commit file: the commit point.  Then call `move_in`."""
        commits = commit_files(self.root)
        sequence = int(commits[-1].name.split("-", 1)[0]) + 1 if commits else 1
        path = commits_directory(self.root) / f"{sequence:010d}-{self.run}.json"
        document = {
            "logstat_commit": COMMIT_VERSION,
            "run": self.run,
            "committed_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            **record,
        }
        with atomic_output(path) as handle:
            handle.write((json.dumps(document, indent=1) + "\n").encode())
        return path

    def move_in(self) -> None:
        """Move the committed run's parts into DIR (a run that dies here is finished by
        the next one)."""
        staging = self.staging()
        if staging.exists():
            move_in(staging, self.root)

    def close(self) -> None:
        if self._descriptor is not None:
            os.close(self._descriptor)  # closing drops the flock
            self._descriptor = None

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
