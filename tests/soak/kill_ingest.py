"""Soak: `logstat ingest --to ds --state st` killed with SIGKILL at random moments.

    python3 tests/soak/kill_ingest.py                # 20 kills over a 200,000-line log
    python3 tests/soak/kill_ingest.py --kills 3 --lines 20000   # what CI runs

The log grows between runs and is rotated once half-way (access.log ->
access.log.1, a new access.log).  Each run is killed after a random delay
within the time an uninterrupted run takes; after the last kill one run goes to
the end.  The dataset must then hold every line of the log exactly once, and
no staging directory or temporary file may be left.  Exits 0 when it holds,
1 (with what went wrong) when not.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def line(number: int) -> str:
    day, seconds = 1 + number // 86_400 % 28, number % 86_400
    hour, minute, second = seconds // 3600, seconds // 60 % 60, seconds % 60
    moment = f"{day:02d}/Jan/2024:{hour:02d}:{minute:02d}:{second:02d}"
    return (
        f'10.0.{number % 250}.{number % 200} - - [{moment} +0000] "GET /item/{number} HTTP/1.1" '
        f'{(200, 404, 500, 301)[number % 4]} {number % 5000} "-" "soak/1"\n'
    )


def append(log: Path, first: int, count: int) -> int:
    with log.open("a") as handle:
        handle.write("".join(line(number) for number in range(first, first + count)))
    return first + count


def ingest(work: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "logstat",
            "ingest",
            str(work / "access.log*"),
            "--to",
            str(work / "ds"),
            "--state",
            str(work / "st"),
            "-q",
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def check(work: Path, lines: int) -> list[str]:
    import polars as pl

    problems: list[str] = []
    stored = pl.scan_parquet(work / "ds" / "**" / "*.parquet", hive_partitioning=True)
    counts = stored.group_by("path").len().collect()
    if counts.height != lines:
        problems.append(f"{counts.height:,} distinct lines in the dataset, not {lines:,}")
    twice = counts.filter(pl.col("len") > 1)
    if twice.height:
        problems.append(f"{twice.height:,} lines stored more than once, e.g. {twice['path'][0]}")
    leftovers = [name for name in os.listdir(work) if "staging" in name or name.startswith(".st.")]
    if leftovers:
        problems.append(f"left behind: {leftovers}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--lines", type=int, default=200_000, help="lines before the first run")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    arguments = parser.parse_args()
    seed = arguments.seed if arguments.seed is not None else random.randrange(1 << 30)
    chooser = random.Random(seed)
    work = Path(tempfile.mkdtemp(prefix="logstat-kill-soak-"))
    log = work / "access.log"
    written = append(log, 0, arguments.lines)
    # how long an uninterrupted run takes, on a copy, so the kills land anywhere in one
    probe = work / "probe"
    probe.mkdir()
    os.link(log, probe / "access.log")
    started = time.monotonic()
    ingest(probe).wait()
    duration = time.monotonic() - started
    subprocess.run(["rm", "-rf", str(probe)], check=True)
    print(f"seed {seed}; one run takes {duration:.2f} s; {arguments.kills} kills", flush=True)
    growth = max(1, arguments.lines // (2 * max(1, arguments.kills)))
    for kill in range(arguments.kills):
        process = ingest(work)
        time.sleep(chooser.uniform(0, duration * 1.1))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait()
        if process.returncode not in (0, -signal.SIGKILL):
            error = process.stderr.read().decode() if process.stderr else ""
            print(f"run {kill}: exit {process.returncode}: {error}", file=sys.stderr)
            return 1
        if kill == arguments.kills // 2:
            log.rename(work / "access.log.1")  # logrotate's create
        written = append(log, written, growth)
    final = ingest(work)
    final.wait()
    if final.returncode != 0:
        error = final.stderr.read().decode() if final.stderr else ""
        print(f"the last run failed: exit {final.returncode}: {error}", file=sys.stderr)
        return 1
    problems = check(work, written)
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    if not problems:
        print(f"ok: {written:,} lines, each once in the dataset")
    if not arguments.keep and not problems:
        subprocess.run(["rm", "-rf", str(work)], check=True)
    else:
        print(f"work directory: {work}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
