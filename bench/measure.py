"""Run a command, timing it and reading its peak memory from the kernel."""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

SAMPLE_SECONDS = 0.01


@dataclass(frozen=True)
class Run:
    seconds: float  # wall clock
    cpu_seconds: float  # user + system, the command and the children it waited for
    peak_rss: int  # bytes; the largest of the command and its children
    returncode: int


def run_once(argv: list[str], stdout: Path, stderr: Path) -> Run:
    """Run `argv` with output to files; its peak RSS is its own high-water mark.

    wait4's ru_maxrss would also count the parent's memory that the child held
    between fork and exec, so the kernel's VmHWM of the running program is
    sampled instead (the mark only rises, so a late sample holds the peak).
    """
    with open(stdout, "wb") as out, open(stderr, "wb") as err:
        start = time.perf_counter()
        process = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        peak = 0
        while True:
            peak = max(peak, _high_water_mark(process.pid))
            done, status, usage = os.wait4(process.pid, os.WNOHANG)
            if done:
                break
            time.sleep(SAMPLE_SECONDS)
        seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait again
    return Run(
        seconds=seconds,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        peak_rss=peak or usage.ru_maxrss * 1024,
        returncode=process.returncode,
    )


def _high_water_mark(pid: int) -> int:
    """VmHWM of a running process, in bytes (0 once it has exited)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@dataclass
class Timing:
    runs: list[Run] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return statistics.median(run.seconds for run in self.runs)

    @property
    def cpu_seconds(self) -> float:
        return statistics.median(run.cpu_seconds for run in self.runs)

    @property
    def peak_rss(self) -> int:
        return max(run.peak_rss for run in self.runs)
