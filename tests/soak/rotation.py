"""Soak: days of logrotate under the README's cron jobs; each line in the dataset once.

    python -m tests.soak.rotation                  # 12 days, every job, both rotations
    python -m tests.soak.rotation --days 4 --rotate 2 --jobs shared   # about what CI runs
    LOGSTAT_SOAK_DAYS=30 python -m pytest tests/test_soak_rotation.py   # long, from pytest

A writer appends to `access.log` as a web server does: through an open
descriptor, a line at a time, now and then half a line that it finishes later;
at times it dies before midnight having written a whole line but its newline.
Every simulated midnight, logrotate rotates it as its `create`, `compress`,
`delaycompress` and `rotate N` options do, with real renames and real gzip:

    gzip access.log.1                   (delaycompress: yesterday's; a new .gz, .1 removed)
    access.log.N.gz -> .N+1.gz ... .1.gz -> .2.gz       (renames, oldest first)
    access.log -> access.log.1, a new access.log        (the writer still writes to .1)
    postrotate: the writer reopens access.log
    gzip access.log.1                   (compress without delaycompress)
    rm access.log.N+1.gz                                (what `rotate N` keeps no longer)

ext4 hands a deleted file's inode to the next file created, so new logs and new
.gz files take the inodes of files the state and the dataset remember; the
soak counts how often that happened.  The datasets and state files are kept on
another file system (/dev/shm when there is one), or their own files would take
the freed inodes first.

The jobs, each `python -m logstat ingest` in its own process:

- nightly: `ingest 'access.log.*' --to DS --state ST` after logrotate (the README's);
- live: `ingest access.log --to DS --state ST` several times a day;
- shared: `ingest 'access.log*'` nightly and `ingest access.log` live, one dataset,
  a state file each; shared-rotated: the same with the nightly job's `'access.log.*'`.

Runs overlap as cron lets them: two runs of a job at once, the nightly and the
live job at once, a run while logrotate works and while the writer writes.  A
second run waits for the lock (or gives up after its wait with exit 1 and says
so); a file rotated away under a run is exit 6.  At the end the writer stops,
logrotate runs once more and each job runs until nothing is left: every dataset
must hold every line written exactly once (each line names itself in its path).
Exits 0 when that holds, 1 with what went wrong when not.

logstat runs only in child processes (exec'd at once): this process never
imports polars until every run has ended, so no fork happens after polars
started its threads.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
START = datetime(2024, 5, 1, tzinfo=UTC)
LOG = "access.log"
# what a run may end with: the lock held too long by another run is a clean refusal,
# a file rotated away under a run is a partial run (exit 6): neither may lose a line
CLEAN_EXITS = {0, 6}
LOCK_REFUSALS = ("another logstat run is using this state file", "another logstat ingest")
ITEM = re.compile(r"/soak/(\d+)")


def line(number: int) -> bytes:
    """A unique nginx combined line: its number is in the path and sets its time."""
    moment = START + timedelta(seconds=number * 7)
    stamp = moment.strftime("%d/%b/%Y:%H:%M:%S +0000")
    status = (200, 200, 304, 404, 500, 502)[number % 6]
    return (
        f'10.2.{number % 250}.{number % 199} - - [{stamp}] "GET /soak/{number} HTTP/1.1" '
        f'{status} {number % 9000} "-" "soak-rotation/1"\n'
    ).encode()


class Writer:
    """The web server: writes through a descriptor it reopens only when told to."""

    def __init__(self, directory: Path, chooser: random.Random) -> None:
        self.directory = directory
        self.path = directory / LOG
        self.chooser = chooser
        self.handle = self.path.open("ab", buffering=0)
        self.next = 0
        self.rest = b""  # the end of a half-written line, written with the next write
        self.stopped = False
        self.crashed = False
        self.events: Counter[str] = Counter()

    def write(self, count: int) -> None:
        """`count` more lines; the last is sometimes left half-written."""
        if self.stopped or self.crashed:
            return
        data = self.rest + b"".join(line(self.next + index) for index in range(count))
        self.next += count
        self.rest = b""
        if count and self.chooser.random() < 0.3:  # a buffered writer cut a line
            self.events["half lines"] += 1
            cut = len(data) - self.chooser.randrange(1, len(line(self.next - 1)))
            data, self.rest = data[:cut], data[cut:]
        self.handle.write(data)

    def finish_line(self) -> None:
        self.handle.write(self.rest)
        self.rest = b""

    def crash(self) -> None:
        """The server dies writing a line: all of it is there but its newline.  It starts
        again on the new log once logrotate made one; that line must count, once."""
        self.finish_line()
        self.handle.write(line(self.next).removesuffix(b"\n"))
        self.next += 1
        self.crashed = True
        self.events["crashes"] += 1

    def reopen(self) -> None:
        """postrotate: what is buffered goes to the old file, then the new one is opened."""
        if self.crashed:  # started again: nothing of the old one is written
            self.crashed = False
        else:
            self.finish_line()
        self.handle.close()
        self.handle = self.path.open("ab", buffering=0)

    def close(self) -> None:
        self.finish_line()
        self.handle.close()
        self.stopped = True


@dataclass
class Logrotate:
    """logrotate's daily run with `create`, `compress`, `rotate N`, `delaycompress` or not."""

    directory: Path
    keep: int
    delay: bool
    inodes_freed: set[int] = field(default_factory=set)
    inodes_reused: int = 0

    def rotate(self, writer: Writer, late_lines: int) -> None:
        """In logrotate's order (prerotateSingleLog, rotateSingleLog, the postrotate
        script, postrotateSingleLog)."""
        first = self.directory / f"{LOG}.1"
        if self.delay:
            self._gzip(first)  # yesterday's .1 becomes .1.gz, then .2.gz below
        for number in range(self.keep, 0, -1):
            old = self.directory / f"{LOG}.{number}.gz"
            if old.exists():
                old.rename(self.directory / f"{LOG}.{number + 1}.gz")
        writer.path.rename(first)
        self._create(writer.path)
        writer.write(late_lines)  # the server writes to .1 until it reopens its log
        writer.events["lines written to .1 after the rename"] += late_lines
        writer.reopen()
        if not self.delay:
            self._gzip(first)
        disposed = self.directory / f"{LOG}.{self.keep + 1}.gz"
        if disposed.exists():
            self.inodes_freed.add(disposed.stat().st_ino)
            disposed.unlink()

    def _create(self, path: Path) -> None:
        path.touch(exist_ok=False)
        self._note(path)

    def _gzip(self, path: Path) -> None:
        if not path.exists():
            return
        inode = path.stat().st_ino
        subprocess.run(["gzip", "-6", str(path)], check=True)  # keeps the mtime, removes path
        self._note(path.with_name(path.name + ".gz"))
        self.inodes_freed.add(inode)

    def _note(self, created: Path) -> None:
        inode = created.stat().st_ino
        if inode in self.inodes_freed:
            self.inodes_reused += 1
            self.inodes_freed.discard(inode)


@dataclass
class Job:
    """One cron job: its dataset, its state file and its argument."""

    name: str
    dataset: Path
    state: Path
    logs: str
    runs: int = 0
    waited_out: int = 0  # refused after waiting for another run's lock
    partial: int = 0  # exit 6: a file rotated away under the run

    def start(self) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "logstat", "ingest", self.logs]
        command += ["--to", str(self.dataset), "--state", str(self.state), "-q"]
        environment = {**os.environ, "PYTHONPATH": str(REPO)}
        self.runs += 1
        return subprocess.Popen(
            command, cwd=REPO, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )


class Failure(Exception):
    pass


@dataclass
class Soak:
    work: Path  # the logs
    data: Path  # the datasets and state files
    days: int
    runs_per_day: int
    lines_per_day: int
    keep: int
    delay: bool
    job_names: list[str]
    chooser: random.Random
    warnings: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.logs = self.work / "logs"
        self.logs.mkdir(parents=True)
        self.data.mkdir(parents=True)
        (self.logs / LOG).touch()
        self.writer = Writer(self.logs, self.chooser)
        self.logrotate = Logrotate(self.logs, self.keep, self.delay)
        self.nightly: list[Job] = []
        self.live: list[Job] = []
        everything, live = str(self.logs / f"{LOG}*"), str(self.logs / LOG)
        rotated = str(self.logs / f"{LOG}.*")
        for name in self.job_names:
            dataset = self.data / f"{name}.ds"
            if name == "nightly":
                self.nightly.append(Job("nightly", dataset, self.data / "nightly.state", rotated))
            elif name == "live":
                self.live.append(Job("live", dataset, self.data / "live.state", live))
            elif name in ("shared", "shared-rotated"):
                nightly_state = self.data / f"{name}-nightly.state"
                live_state = self.data / f"{name}-live.state"
                logs = everything if name == "shared" else rotated
                self.nightly.append(Job(f"{name} nightly", dataset, nightly_state, logs))
                self.live.append(Job(f"{name} live", dataset, live_state, live))
            else:
                raise Failure(f"unknown job {name!r}")

    @property
    def jobs(self) -> list[Job]:
        return [*self.nightly, *self.live]

    def run(self, *jobs: Job, rotate: bool = False) -> None:
        """Start `jobs` at once; write lines (and rotate, when asked) while they run."""
        started = [(job, job.start()) for job in jobs]
        if rotate:
            time.sleep(self.chooser.uniform(0, 0.6))
            self.logrotate.rotate(self.writer, self.chooser.randrange(0, 5))
        while any(process.poll() is None for _, process in started):
            self.writer.write(self.chooser.randrange(0, 4))
            time.sleep(self.chooser.uniform(0.01, 0.1))
        for job, process in started:
            error = process.stderr.read().decode(errors="replace") if process.stderr else ""
            for warning in error.splitlines():
                self.warnings[re.sub(r"\d[\d,]*", "N", warning)] += 1
            if process.returncode == 6:
                job.partial += 1
            elif process.returncode == 1 and any(text in error for text in LOCK_REFUSALS):
                job.waited_out += 1
            elif process.returncode not in CLEAN_EXITS:
                raise Failure(f"{job.name}: exit {process.returncode}: {error.strip()}")

    def day(self, number: int) -> None:
        per_run = max(1, self.lines_per_day // (self.runs_per_day + 1))
        for _ in range(self.runs_per_day):
            self.writer.write(self.chooser.randrange(per_run // 2, per_run * 3 // 2 + 1))
            chosen = self.chooser.random()
            if chosen < 0.15 and self.live:  # cron overlap: the same job twice at once
                self.writer.events["a job twice at once"] += 1
                self.run(self.live[0], self.live[0])
            elif chosen < 0.3 and self.live and self.nightly and number:  # two jobs at once
                self.writer.events["two jobs at once"] += 1
                self.run(self.chooser.choice(self.live), self.chooser.choice(self.nightly))
            else:
                self.run(*self.live)
        self.writer.write(self.chooser.randrange(per_run // 2, per_run * 3 // 2 + 1))
        if number == 0 or self.chooser.random() < 0.2:
            self.writer.crash()
        # midnight: logrotate, at times while a live run is reading
        if self.live and self.chooser.random() < 0.3:
            self.writer.events["rotations during a run"] += 1
            self.run(self.chooser.choice(self.live), rotate=True)
        else:
            self.logrotate.rotate(self.writer, self.chooser.randrange(0, 5))
        self.writer.write(self.chooser.randrange(0, per_run // 4 + 1))
        if self.nightly:
            self.run(*self.nightly)
        print(f"day {number + 1}: {self.writer.next:,} lines written", flush=True)

    def drain(self) -> None:
        """The writer stops, logrotate runs once more, each job runs until nothing is new."""
        self.logrotate.rotate(self.writer, 0)
        self.writer.close()
        for _ in range(3):  # an unfinished last line counts once it was left alone a while
            for job in self.jobs:
                self.run(job)


def check(soak: Soak) -> list[str]:
    """Every line written in each dataset exactly once; nothing left behind."""
    import polars as pl  # only now: no logstat run is left to start

    problems: list[str] = []
    written = soak.writer.next
    for dataset in sorted({job.dataset for job in soak.jobs}):
        paths = (
            pl.scan_parquet(dataset / "**" / "*.parquet", hive_partitioning=True)
            .select("path")
            .collect()
            .get_column("path")
        )
        matches = [ITEM.fullmatch(path) for path in paths]
        counts = Counter(int(match.group(1)) for match in matches if match)
        strangers = matches.count(None)
        if strangers:
            problems.append(f"{dataset.name}: {strangers:,} rows of no line written")
        twice = sorted(number for number, count in counts.items() if count > 1)
        missing = sorted(set(range(written)) - set(counts))
        if twice:
            extra = sum(counts[number] - 1 for number in twice)
            problems.append(f"{dataset.name}: {extra:,} rows too many, e.g. line {twice[:5]}")
        if missing:
            problems.append(f"{dataset.name}: {len(missing):,} lines missing, e.g. {missing[:5]}")
    leftovers = [
        name for name in os.listdir(soak.data) if "staging" in name or name.startswith(".")
    ]
    if leftovers:
        problems.append(f"left behind: {leftovers}")
    return problems


def soak_once(
    arguments: argparse.Namespace, seed: int, delay: bool, work: Path, data: Path
) -> list[str]:
    soak = Soak(
        work,
        data,
        arguments.days,
        arguments.runs_per_day,
        arguments.lines_per_day,
        arguments.rotate,
        delay,
        arguments.jobs.split(","),
        random.Random(seed),
    )
    try:
        for day in range(arguments.days):
            soak.day(day)
        soak.drain()
    except Failure as failure:
        return [str(failure)]
    problems = check(soak)
    print(
        f"{'delaycompress' if delay else 'compress'}: {soak.writer.next:,} lines over "
        f"{arguments.days} days; {soak.logrotate.inodes_reused} inodes reused"
    )
    print(
        "  " + ", ".join(f"{count} {event}" for event, count in sorted(soak.writer.events.items()))
    )
    for job in soak.jobs:
        print(
            f"  {job.name}: {job.runs} runs, {job.partial} with a file rotated away, "
            f"{job.waited_out} gave up waiting for the lock"
        )
    for warning, count in soak.warnings.most_common():
        print(f"  stderr ({count}x): {warning}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=int(os.environ.get("LOGSTAT_SOAK_DAYS", 12)))
    parser.add_argument("--runs-per-day", type=int, default=4, help="runs of the live job")
    parser.add_argument("--lines-per-day", type=int, default=1000)
    parser.add_argument("--rotate", type=int, default=5, help="logrotate's `rotate N`")
    parser.add_argument(
        "--compression",
        choices=["delaycompress", "compress", "both"],
        default="both",
        help="compress the .1 at once (compress) or a day later (delaycompress)",
    )
    parser.add_argument(
        "--jobs", default="nightly,live,shared,shared-rotated", help="comma-separated"
    )
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    arguments = parser.parse_args(argv)
    seed = arguments.seed if arguments.seed is not None else random.randrange(1 << 30)
    delays = {"delaycompress": [True], "compress": [False], "both": [True, False]}
    top = Path(tempfile.mkdtemp(prefix="logstat-rotation-soak-"))
    shm = Path("/dev/shm")
    elsewhere = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
    data_top = Path(tempfile.mkdtemp(prefix="logstat-rotation-soak-data-", dir=elsewhere))
    print(f"seed {seed}; logs in {top}, datasets in {data_top}", flush=True)
    problems: list[str] = []
    for delay in delays[arguments.compression]:
        name = "delayed" if delay else "at-once"
        found = soak_once(arguments, seed, delay, top / name, data_top / name)
        problems += [f"{'delaycompress' if delay else 'compress'}: {item}" for item in found]
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    if not problems:
        print("ok: every line written is in each dataset exactly once")
    if arguments.keep or problems:
        print(f"kept: {top} {data_top}")
    else:
        subprocess.run(["rm", "-rf", str(top), str(data_top)], check=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
