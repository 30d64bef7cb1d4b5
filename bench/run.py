"""The benchmark: logstat against GoAccess, awk and bare polars on one generated log.

Every tool runs on the same file, `--repeat` times; the table shows medians.
logstat's status counts must equal the generator's ground truth and GoAccess's
or the run fails.  Results go to bench/results/ as JSON (and optionally Markdown).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench import generate
from bench.measure import Run, Timing, run_once

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
SCENARIOS = (
    "peers", "compressed", "startup", "many-files", "formats", "dirty", "big", "objects",
)  # fmt: skip
DEFAULT_SCENARIOS = ("peers", "compressed", "startup", "many-files", "formats", "dirty")
GOACCESS_PANELS = [  # goaccess --help, "Available panels"
    "VISITORS", "REQUESTS", "REQUESTS_STATIC", "NOT_FOUND", "HOSTS", "OS", "BROWSERS",
    "VISIT_TIMES", "VIRTUAL_HOSTS", "REFERRERS", "REFERRING_SITES", "KEYPHRASES",
    "STATUS_CODES", "REMOTE_USER", "CACHE_STATUS", "GEO_LOCATION", "MIME_TYPE", "TLS_TYPE",
]  # fmt: skip
ALB_SUMMARY = "logstat summary, alb peers"  # the ALB log the peers read (--alb-lines)
AWK_PROGRAM = "{ count[$9]++ } END { for (status in count) print status, count[status] }"

Counts = dict[int, int]


class BenchmarkFailure(Exception):
    """A tool counted differently from the ground truth: the numbers mean nothing."""


@dataclass
class Case:
    """One command to time."""

    name: str  # row label
    group: str  # rows are compared with the logstat row of their group
    argv: list[str]
    lines: int
    size: int  # decompressed bytes read
    read_counts: Callable[[Path], Counts] | None = None
    must_match: bool = False  # counts must equal the truth, or the benchmark fails
    is_logstat: bool = False
    remove_after: Path | None = None  # an output file to delete after each run
    slow: bool = False  # minutes per run (GoAccess): --slow-repeat runs only


@dataclass
class Row:
    case: Case
    timing: Timing
    counts_match: bool | None  # None: the tool does not report counts

    def to_json(self, baseline: Row | None) -> dict[str, object]:
        seconds = self.timing.seconds
        return {
            "name": self.case.name,
            "group": self.case.group,
            "command": " ".join(self.case.argv),
            "lines": self.case.lines,
            "bytes": self.case.size,
            "seconds": round(seconds, 4),
            "cpu_seconds": round(self.timing.cpu_seconds, 4),
            "runs_seconds": [round(run.seconds, 4) for run in self.timing.runs],
            "runs_cpu_seconds": [round(run.cpu_seconds, 4) for run in self.timing.runs],
            "peak_rss_bytes": self.timing.peak_rss,
            "lines_per_second": round(self.case.lines / seconds) if seconds else None,
            "megabytes_per_second": round(self.case.size / seconds / 1e6, 2) if seconds else None,
            "times_logstat": round(seconds / baseline.timing.seconds, 3) if baseline else None,
            "counts_match": self.counts_match,
        }


@dataclass
class Report:
    settings: dict[str, object]
    rows: list[Row] = field(default_factory=list)
    targets: list[dict[str, object]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def baseline(self, group: str) -> Row | None:
        return next(
            (row for row in self.rows if row.case.group == group and row.case.is_logstat), None
        )

    def row(self, name: str) -> Row | None:
        return next((row for row in self.rows if row.case.name == name), None)

    def to_json(self) -> dict[str, object]:
        return {
            **self.settings,
            "rows": [row.to_json(self.baseline(row.case.group)) for row in self.rows],
            "targets": self.targets,
            "notes": self.notes,
        }


# ---------------------------------------------------------------------------
# Reading each tool's counts.


def logstat_counts(output: Path) -> Counts:
    counts: Counter[int] = Counter()
    for row in json.loads(output.read_text())["statuses"]:
        if row["status"] is not None:
            counts[int(row["status"])] += int(row["count"])
    return dict(counts)


def goaccess_counts(output: Path) -> Counts:
    """GoAccess's status panel: classes, each with items "404 - Not Found: ..."."""
    counts: Counter[int] = Counter()
    for status_class in json.loads(output.read_text())["status_codes"]["data"]:
        for item in status_class["items"]:
            counts[int(str(item["data"])[:3])] += int(item["hits"]["count"])
    return dict(counts)


def awk_counts(output: Path) -> Counts:
    counts: Counts = {}
    for line in output.read_text().splitlines():
        status, _, count = line.rpartition(" ")
        counts[int(status) if status.isdigit() else -1] = int(count)
    return counts


def json_counts(output: Path) -> Counts:
    loaded = json.loads(output.read_text())
    return {int(status): int(count) for status, count in loaded.items() if status != "null"}


def truth_counts(truth: dict[str, object]) -> Counts:
    statuses = truth["status_counts"]
    assert isinstance(statuses, dict)
    return {int(status): int(count) for status, count in statuses.items()}


# ---------------------------------------------------------------------------
# Inputs.


def ensure_log(
    work: Path, format_name: str, lines: int, seed: int, suffix: str = "", dirty: bool = False
) -> Path:
    """The generated log for these settings, made once and reused while its truth matches;
    `dirty`: with the odd lines of generate.make_dirty."""
    log_format = generate.FORMATS[format_name]
    name = f"{format_name}-{lines}-s{seed}{'-dirty' if dirty else ''}{log_format.suffix}{suffix}"
    path = work / name
    truth = generate.truth_path(path)
    if path.exists() and truth.exists():
        known = generate.read_truth(path)
        if known.get("lines") == lines and known.get("generator") == generate.VERSION:
            return path
    if suffix:  # compress the plain file rather than draw everything again
        plain = ensure_log(work, format_name, lines, seed, dirty=dirty)
        generate.compress(plain, path)
    else:
        generate.generate(path, format_name, lines, seed, dirty)
    return path


def logstat_formats() -> set[str]:
    """Formats the installed logstat reads, as `logstat formats` lists them."""
    listed = subprocess.run(
        [sys.executable, "-m", "logstat", "formats"], capture_output=True, text=True, check=True
    ).stdout
    return {line.split(":")[0] for line in listed.splitlines() if line and not line[0].isspace()}


def awk_programs() -> list[tuple[str, str]]:
    """(label, path) of each distinct awk here: mawk and gawk, or plain awk."""
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    for name in ("mawk", "gawk", "awk"):
        path = shutil.which(name)
        if path is None:
            continue
        real = os.path.realpath(path)
        if real in seen:
            continue
        seen.add(real)
        found.append((name if name != "awk" else f"awk ({Path(real).name})", path))
    return found


# ---------------------------------------------------------------------------
# Scenarios: each returns the cases to time.


def logstat_summary(log: Path | str, lines: int, size: int, name: str, group: str) -> Case:
    return Case(
        name=name,
        group=group,
        argv=[sys.executable, "-m", "logstat", "summary", str(log), "--json", "--quiet"],
        lines=lines,
        size=size,
        read_counts=logstat_counts,
        must_match=True,
        is_logstat=True,
    )


def peer_cases(log: Path, lines: int, size: int, scratch: Path, skip_missing: bool) -> list[Case]:
    cases = [logstat_summary(log, lines, size, "logstat summary", "summary")]
    goaccess = shutil.which("goaccess")
    if goaccess:
        base = [goaccess, str(log), "--log-format=COMBINED", "-o", "json", "--no-progress"]
        cases.append(
            Case(
                "goaccess (default panels)",
                "summary",
                base,
                lines,
                size,
                goaccess_counts,
                must_match=True,
                slow=True,
            )
        )
        ignored = [
            f"--ignore-panel={panel}" for panel in GOACCESS_PANELS if panel != "STATUS_CODES"
        ]
        cases.append(
            Case(
                "goaccess (status panel only)",
                "summary",
                base + ignored,
                lines,
                size,
                goaccess_counts,
                must_match=True,
                slow=True,
            )
        )
    elif not skip_missing:
        raise BenchmarkFailure("goaccess is not installed (apt-get install goaccess)")
    cases += awk_cases(log, lines, size, "", "summary")
    peer = [sys.executable, "-m", "bench", "peer"]
    cases.append(
        Case(
            "polars scan, status regex",
            "summary",
            [*peer, "polars-status", str(log)],
            lines,
            size,
            json_counts,
        )
    )
    logstat_parquet = scratch / "logstat-export.parquet"
    cases.append(
        Case(
            "logstat export parquet",
            "export",
            [
                sys.executable,
                "-m",
                "logstat",
                "export",
                str(log),
                "-o",
                str(logstat_parquet),
                "--quiet",
            ],
            lines,
            size,
            is_logstat=True,
            remove_after=logstat_parquet,
        )
    )
    polars_parquet = scratch / "polars-parse.parquet"
    cases.append(
        Case(
            "polars full-line regex -> parquet",
            "export",
            [*peer, "polars-parse", str(log), str(polars_parquet)],
            lines,
            size,
            json_counts,
            remove_after=polars_parquet,
        )
    )
    return cases


def awk_cases(log: Path, lines: int, size: int, suffix: str, group: str) -> list[Case]:
    """Every awk installed counting the ninth field (the status in nginx's combined
    format and ALB's elb_status_code alike)."""
    return [
        Case(
            f"{label} '{{count[$9]++}}'{suffix}",
            group,
            [path, AWK_PROGRAM, str(log)],
            lines,
            size,
            awk_counts,
        )
        for label, path in awk_programs()
    ]


def alb_peer_cases(log: Path, lines: int, size: int) -> list[Case]:
    """logstat against awk and the bare polars status scan on an ALB log: the status is
    awk's ninth field there too (elb_status_code)."""
    cases = [logstat_summary(log, lines, size, ALB_SUMMARY, "summary alb")]
    cases += awk_cases(log, lines, size, ", alb", "summary alb")
    peer = [sys.executable, "-m", "bench", "peer", "polars-alb-status", str(log)]
    cases.append(
        Case("polars scan, status regex, alb", "summary alb", peer, lines, size, json_counts)
    )
    return cases


def compressed_cases(work: Path, format_name: str, lines: int, seed: int, size: int) -> list[Case]:
    cases = []
    for suffix in (".gz", ".zst"):
        log = ensure_log(work, format_name, lines, seed, suffix)
        cases.append(
            logstat_summary(log, lines, size, f"logstat summary {suffix}", f"summary {suffix}")
        )
    return cases


def startup_cases(work: Path, seed: int) -> list[Case]:
    small = ensure_log(work, "nginx", 1000, seed)
    size = small.stat().st_size
    return [
        Case(
            "logstat --help",
            "help",
            [sys.executable, "-m", "logstat", "--help"],
            0,
            0,
            is_logstat=True,
        ),
        logstat_summary(small, 1000, size, "logstat summary, 1,000 lines", "1,000 lines"),
    ]


def many_files_cases(
    work: Path, files: int, lines_per_file: int, seed: int, available: set[str]
) -> list[Case]:
    format_name = "alb" if "alb" in available else "nginx"
    directory = work / f"many-{format_name}-{files}x{lines_per_file}-s{seed}"
    truth_file = generate.truth_path(directory)
    known = json.loads(truth_file.read_text()) if truth_file.exists() else {}
    if known.get("files") != files or known.get("generator") != generate.VERSION:
        shutil.rmtree(directory, ignore_errors=True)
        generate.generate_many(directory, format_name, files, lines_per_file, ".gz", seed)
        known = json.loads(truth_file.read_text())
    total = files * lines_per_file
    case = logstat_summary(
        directory,
        total,
        int(known["decompressed_bytes"]),
        f"logstat summary, {files:,} {format_name} .gz files",
        "many files",
    )
    case.read_counts = logstat_counts
    return [case]


def format_cases(work: Path, lines: int, seed: int, available: set[str]) -> list[Case]:
    cases = []
    for format_name in generate.FORMATS:
        if format_name not in available:
            continue
        log = ensure_log(work, format_name, lines, seed)
        size = int(generate.read_truth(log)["decompressed_bytes"])  # type: ignore[call-overload]
        cases.append(
            logstat_summary(
                log, lines, size, f"logstat summary, {format_name}", f"format {format_name}"
            )
        )
    return cases


def dirty_cases(work: Path, lines: int, seed: int, available: set[str]) -> list[Case]:
    """Each of generate.DIRTY_FORMATS clean and dirty (one line in 500 odd), same requests."""
    cases = []
    for format_name in generate.DIRTY_FORMATS:
        if format_name not in available:
            continue
        for dirty in (False, True):
            log = ensure_log(work, format_name, lines, seed, dirty=dirty)
            size = int(generate.read_truth(log)["decompressed_bytes"])  # type: ignore[call-overload]
            name = f"logstat summary, {format_name}{' dirty' if dirty else ' clean'}"
            case = logstat_summary(log, lines, size, name, f"dirty {format_name}")
            case.is_logstat = not dirty  # the clean log is the baseline
            cases.append(case)
    return cases


# ---------------------------------------------------------------------------
# Running and checking.


def measure_all(
    cases: Sequence[tuple[Case, Counts | None]], repeat: int, slow_repeat: int, scratch: Path
) -> list[Row]:
    """Every case `repeat` times (slow ones `slow_repeat` times), interleaved: round one
    runs each case once, then round two, so a machine busier for a while slows every
    command alike and the ratios of one run compare."""
    timings = [Timing() for _ in cases]
    matches: list[bool | None] = [None] * len(cases)
    for round_number in range(repeat):
        for index, (case, expected) in enumerate(cases):
            if case.slow and round_number >= slow_repeat:
                continue
            print(f"timing {case.name} ({round_number + 1}/{repeat}) ...", file=sys.stderr)
            run, matches[index] = measure_once(case, scratch, expected)
            timings[index].runs.append(run)
    return [
        Row(case, timing, match)
        for (case, _), timing, match in zip(cases, timings, matches, strict=True)
    ]


def measure(case: Case, repeat: int, scratch: Path, expected: Counts | None) -> Row:
    """One case `repeat` times in a row."""
    [row] = measure_all([(case, expected)], repeat, repeat, scratch)
    return row


def measure_once(case: Case, scratch: Path, expected: Counts | None) -> tuple[Run, bool | None]:
    """One run of a case, and whether its counts matched (None: it reports none)."""
    stdout, stderr = scratch / "stdout", scratch / "stderr"
    counts_match: bool | None = None
    run: Run = run_once(case.argv, stdout, stderr)
    if run.returncode != 0:
        message = stderr.read_text(errors="replace").strip()[-2000:]
        raise BenchmarkFailure(f"{case.name} exited with {run.returncode}: {message}")
    if case.read_counts is not None and expected is not None:
        counts = case.read_counts(stdout)
        counts_match = counts == expected
        if case.must_match and not counts_match:
            difference = _difference(counts, expected)
            raise BenchmarkFailure(
                f"{case.name} counted differently from the generator's truth:\n{difference}"
            )
    if case.remove_after is not None:
        case.remove_after.unlink(missing_ok=True)
    return run, counts_match


def _difference(counts: Counts, expected: Counts) -> str:
    keys = sorted(set(counts) | set(expected))
    return "\n".join(
        f"  {key}: counted {counts.get(key, 0)}, truth {expected.get(key, 0)}"
        for key in keys
        if counts.get(key, 0) != expected.get(key, 0)
    )


# ---------------------------------------------------------------------------
# Targets from the performance issue.


@dataclass(frozen=True)
class Target:
    description: str
    numerator: str  # row name
    denominator: str | None  # row name; None: the numerator's seconds against `limit`
    limit: float  # numerator / denominator (or seconds) must be at most this
    measure: str = "seconds"  # or "peak_rss_bytes"


# issue 15's (the third round of targets): ratios of one run, interleaved
TARGETS = [
    Target("summary within 1.6x of mawk", "logstat summary", "mawk '{count[$9]++}'", 1.6),
    Target(
        ">= 10x GoAccess, status panel only", "logstat summary", "goaccess (status panel only)", 0.1
    ),
    Target(
        ">= 40x GoAccess, default panels", "logstat summary", "goaccess (default panels)", 1 / 40
    ),
    Target(
        "summary within 1.8x of bare polars status scan",
        "logstat summary",
        "polars scan, status regex",
        1.8,
    ),
    Target(
        "export within 2x of bare polars full parse",
        "logstat export parquet",
        "polars full-line regex -> parquet",
        2.0,
    ),
    Target("ALB summary within 3.5x of mawk", ALB_SUMMARY, "mawk '{count[$9]++}', alb", 3.5),
    Target(
        "ALB summary within 2.8x of bare polars status scan",
        ALB_SUMMARY,
        "polars scan, status regex, alb",
        2.8,
    ),
    Target(".gz at >= 70% of plain speed", "logstat summary .gz", "logstat summary", 1 / 0.7),
    Target(".zst at >= 70% of plain speed", "logstat summary .zst", "logstat summary", 1 / 0.7),
    Target("--help under 0.3 s", "logstat --help", None, 0.3),
    Target("1,000-line summary under 0.5 s", "logstat summary, 1,000 lines", None, 0.5),
    Target("summary peak RSS under 1 GiB", "logstat summary", None, 2**30, "peak_rss_bytes"),
]


DIRTY_LIMIT = 1.15  # a dirty log (one line in 500 odd) against the clean one


def check_targets(report: Report) -> None:
    for target in TARGETS:
        numerator = report.row(target.numerator)
        denominator = report.row(target.denominator) if target.denominator else None
        if numerator is None or (target.denominator and denominator is None):
            continue
        value = float(numerator.to_json(None)[target.measure])  # type: ignore[arg-type]
        if denominator is not None:
            value /= float(denominator.to_json(None)[target.measure])  # type: ignore[arg-type]
        report.targets.append(
            {
                "target": target.description,
                "value": round(value, 3),
                "limit": round(target.limit, 3),
                "met": value <= target.limit,
            }
        )
    nginx = report.row("logstat summary, nginx")
    for row in report.rows:
        if row.case.group.startswith("format ") and nginx is not None and row is not nginx:
            per_megabyte = row.timing.seconds / row.case.size
            value = per_megabyte / (nginx.timing.seconds / nginx.case.size)
            report.targets.append(
                {
                    "target": f"{row.case.group[7:]} within 2x of nginx per MB",
                    "value": round(value, 3),
                    "limit": 2.0,
                    "met": value <= 2.0,
                }
            )
    for row in report.rows:
        clean = report.baseline(row.case.group)
        if row.case.group.startswith("dirty ") and clean is not None and row is not clean:
            value = row.timing.seconds / clean.timing.seconds
            report.targets.append(
                {
                    "target": f"{row.case.group[6:]} dirty log within 1.15x of the clean one",
                    "value": round(value, 3),
                    "limit": DIRTY_LIMIT,
                    "met": value <= DIRTY_LIMIT,
                }
            )
    many = next((row for row in report.rows if row.case.group == "many files"), None)
    if many is not None:
        value = many.timing.seconds
        report.targets.append(
            {
                "target": f"{many.case.name} under 15 s",
                "value": round(value, 3),
                "limit": 15.0,
                "met": value <= 15.0,
            }
        )
    for big in (row for row in report.rows if row.case.group == "big"):
        value = big.timing.peak_rss
        report.targets.append(
            {
                "target": f"{big.case.name}: peak RSS under 1 GiB",
                "value": value,
                "limit": 2**30,
                "met": value <= 2**30,
            }
        )


# ---------------------------------------------------------------------------
# Output.


def machine() -> dict[str, object]:
    cpu = "unknown"
    memory = 0
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as info:
        for line in info:
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) * 1024
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_bytes": memory,
        "python": platform.python_version(),
    }


def versions() -> dict[str, str]:
    import polars

    found = {"polars": polars.__version__}
    for name, argv in {
        "goaccess": ["goaccess", "--version"],
        "logstat": [sys.executable, "-m", "logstat", "--version"],
    }.items():
        if name == "goaccess" and not shutil.which("goaccess"):
            continue
        output = subprocess.run(argv, capture_output=True, text=True, check=False).stdout
        found[name] = output.splitlines()[0] if output else "?"
    return found


def _size(count: float) -> str:
    return f"{count / 2**20:,.0f} MiB" if count >= 2**20 else f"{count / 2**10:,.0f} KiB"


def table(report: Report) -> str:
    lines = [
        "| tool | input | seconds (median) | CPU seconds | lines/s | MB/s | peak RSS "
        "| time vs logstat | counts match |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in report.rows:
        data = row.to_json(report.baseline(row.case.group))
        per_line = f"{data['lines_per_second']:,}" if row.case.lines else "-"
        per_megabyte = f"{data['megabytes_per_second']:,.1f}" if row.case.size else "-"
        ratio = (
            "1 (baseline)"
            if row.case.is_logstat
            else f"{data['times_logstat']:.2f}x"
            if data["times_logstat"]
            else "-"
        )
        match = {True: "yes", False: "no", None: "-"}[row.counts_match]
        lines.append(
            f"| {row.case.name} | {row.case.group} | {data['seconds']:.3f} "
            f"| {data['cpu_seconds']:.2f} | {per_line} "
            f"| {per_megabyte} | {_size(row.timing.peak_rss)} | {ratio} | {match} |"
        )
    lines += ["", "| target | measured | limit | met |", "|---|---:|---:|---|"]
    for target in report.targets:
        value, limit = target["value"], target["limit"]
        if "RSS" in str(target["target"]):
            shown, bound = _size(float(value)), _size(float(limit))  # type: ignore[arg-type]
        else:
            shown, bound = f"{value}", f"{limit}"
        lines.append(
            f"| {target['target']} | {shown} | {bound} | {'yes' if target['met'] else '**no**'} |"
        )
    return "\n".join(lines)


def markdown(report: Report) -> str:
    settings = report.settings
    info = settings["machine"]
    found = settings["versions"]
    assert isinstance(info, dict) and isinstance(found, dict)
    memory = _size(float(info["memory_bytes"]))
    versions_text = ", ".join(f"{name} {version}" for name, version in found.items())
    return "\n".join(
        [
            f"Measured {settings['date']} with `{settings['command']}` "
            f"({settings['repeat']} runs each, median wall time; peak RSS is the largest run).",
            "",
            f"Machine: {info['nproc']} cores ({info['cpu']}), {memory} RAM, "
            f"Python {info['python']}; {versions_text}.",
            "",
            table(report),
            *(["", *[f"- {note}" for note in report.notes]] if report.notes else []),
            "",
        ]
    )


# ---------------------------------------------------------------------------


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench run", description=__doc__)
    parser.add_argument("--lines", type=int, default=5_000_000, help="lines in the main log")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each command; medians are reported"
    )
    parser.add_argument(
        "--slow-repeat",
        type=int,
        default=1,
        help="runs of GoAccess, which takes minutes a run and is 10x off the others",
    )
    parser.add_argument(
        "--format", default="nginx", choices=["nginx", "apache"], help="format of the main log"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--work",
        type=Path,
        default=Path(tempfile.gettempdir()) / "logstat-bench",
        help="where logs are generated (kept for the next run)",
    )
    parser.add_argument(
        "--only", action="append", choices=SCENARIOS, help="run only these scenarios (repeatable)"
    )
    parser.add_argument(
        "--skip", action="append", choices=SCENARIOS, default=[], help="skip a scenario"
    )
    parser.add_argument(
        "--many-files", type=int, default=10_000, help="files in the many-small-files scenario"
    )
    parser.add_argument("--many-lines", type=int, default=500, help="lines per file there")
    parser.add_argument(
        "--objects", type=int, default=2_000, help="objects in the object-storage scenario"
    )
    parser.add_argument("--object-lines", type=int, default=50, help="lines per object there")
    parser.add_argument(
        "--alb-lines",
        type=int,
        default=500_000,
        help="lines of the ALB log logstat, awk and bare polars read in the peers scenario "
        "(0: none)",
    )
    parser.add_argument(
        "--format-lines", type=int, default=1_000_000, help="lines per log in the formats scenario"
    )
    parser.add_argument(
        "--dirty-lines",
        type=int,
        default=1_000_000,
        help="lines per log in the dirty scenario (nginx, apache, alb, iis: clean and dirty)",
    )
    parser.add_argument(
        "--big-gigabytes",
        type=float,
        default=10.0,
        help="size of the log in the big scenario (deleted after)",
    )
    parser.add_argument(
        "--skip-missing-peers", action="store_true", help="leave out peers that are not installed"
    )
    parser.add_argument(
        "--output", type=Path, help="results JSON (default bench/results/<time>.json)"
    )
    parser.add_argument("--markdown", type=Path, help="also write the table as Markdown here")
    return parser.parse_args(argv)


def compile_logstat() -> None:
    """Byte-compile logstat as `pip install` does for an installed copy.

    An editable install under PYTHONDONTWRITEBYTECODE (common in containers) would
    otherwise compile every module from source at each start, which no installed
    copy does (about 0.1-0.2 s here).
    """
    import compileall

    import logstat

    compileall.compile_dir(Path(logstat.__file__).parent, quiet=1)


def run(argv: list[str]) -> Report:
    arguments = parse_arguments(argv)
    scenarios = [name for name in arguments.only or DEFAULT_SCENARIOS if name not in arguments.skip]
    work: Path = arguments.work
    work.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="run-", dir=work))
    report = Report(
        settings={
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "command": "python -m bench run " + " ".join(argv),
            "lines": arguments.lines,
            "format": arguments.format,
            "repeat": arguments.repeat,
            "seed": arguments.seed,
            "scenarios": scenarios,
            "machine": machine(),
            "versions": versions(),
        }
    )
    available = logstat_formats()
    compile_logstat()
    try:
        cases: list[tuple[Case, Counts]] = []
        main_log = ensure_log(work, arguments.format, arguments.lines, arguments.seed)
        main_truth = generate.read_truth(main_log)
        main_counts = truth_counts(main_truth)
        size = int(main_truth["decompressed_bytes"])  # type: ignore[call-overload]
        if "peers" in scenarios:
            cases += [
                (case, main_counts)
                for case in peer_cases(
                    main_log, arguments.lines, size, scratch, arguments.skip_missing_peers
                )
            ]
        if "peers" in scenarios and arguments.alb_lines:
            alb_log = ensure_log(work, "alb", arguments.alb_lines, arguments.seed)
            alb_truth = generate.read_truth(alb_log)
            alb_size = int(alb_truth["decompressed_bytes"])  # type: ignore[call-overload]
            cases += [
                (case, truth_counts(alb_truth))
                for case in alb_peer_cases(alb_log, arguments.alb_lines, alb_size)
            ]
        if "compressed" in scenarios:
            if "peers" not in scenarios:
                cases.append(
                    (
                        logstat_summary(
                            main_log, arguments.lines, size, "logstat summary", "summary"
                        ),
                        main_counts,
                    )
                )
            cases += [
                (case, main_counts)
                for case in compressed_cases(
                    work, arguments.format, arguments.lines, arguments.seed, size
                )
            ]
        if "startup" in scenarios:
            small_counts = truth_counts(
                generate.read_truth(ensure_log(work, "nginx", 1000, arguments.seed))
            )
            cases += [(case, small_counts) for case in startup_cases(work, arguments.seed)]
        if "many-files" in scenarios:
            for case in many_files_cases(
                work, arguments.many_files, arguments.many_lines, arguments.seed, available
            ):
                directory = Path(case.argv[4])
                cases.append((case, truth_counts(generate.read_truth(directory))))
        if "formats" in scenarios:
            for case in format_cases(work, arguments.format_lines, arguments.seed, available):
                log = Path(case.argv[4])
                cases.append((case, truth_counts(generate.read_truth(log))))
            missing = [name for name in generate.FORMATS if name not in available]
            if missing:
                report.notes.append(
                    f"not benchmarked, logstat does not read them yet: {', '.join(missing)}"
                )
        if "dirty" in scenarios:
            for case in dirty_cases(work, arguments.dirty_lines, arguments.seed, available):
                log = Path(case.argv[4])
                cases.append((case, truth_counts(generate.read_truth(log))))
        report.rows += measure_all(cases, arguments.repeat, arguments.slow_repeat, scratch)
        if "objects" in scenarios:
            report.rows += object_rows(work, arguments, scratch, available, report.notes)
        if "big" in scenarios:
            report.rows += big_file(
                work, arguments.format, arguments.big_gigabytes, arguments.seed, scratch
            )
        check_targets(report)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    output = (
        arguments.output or RESULTS / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{arguments.lines}.json"
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report.to_json(), indent=2) + "\n")
    if arguments.markdown:
        arguments.markdown.write_text(markdown(report))
    print(table(report))
    print(f"\nresults: {output}", file=sys.stderr)
    return report


def object_rows(
    work: Path, arguments: argparse.Namespace, scratch: Path, available: set[str], notes: list[str]
) -> list[Row]:
    """Many small objects: from disk, from moto's S3, and from S3 and from disk on a local
    Dask cluster of one and of two workers (the per-object overhead, and what a second
    worker adds with and without moto's one server in the way); the upload's time in
    `notes`."""
    from bench import objects

    [local] = many_files_cases(
        work, arguments.objects, arguments.object_lines, arguments.seed, available
    )
    directory = Path(local.argv[4])
    expected = truth_counts(generate.read_truth(directory))
    local.group = "objects"
    local.name = f"logstat summary, {arguments.objects:,} .gz files on disk"
    rows = []
    started = time.monotonic()
    with objects.s3_server(directory) as url:
        stored = time.monotonic() - started
        notes.append(f"{arguments.objects:,} objects stored in moto in {stored:.1f} s")
        cases = [local]
        for workers in (1, 2):
            on_cluster = dataclasses.replace(
                local,
                name=f"{local.name}, --cluster local:{workers}",
                argv=[*local.argv, "--cluster", f"local:{workers}"],
                is_logstat=False,
            )
            cases.append(on_cluster)
        for name, extra in (
            ("from S3", []),
            ("from S3, --cluster local:1", ["--cluster", "local:1"]),
            ("from S3, --cluster local:2", ["--cluster", "local:2"]),
        ):
            case = logstat_summary(
                url, local.lines, local.size, f"logstat summary, {name}", "objects"
            )
            case.argv += extra
            case.is_logstat = False
            cases.append(case)
        for case in cases:
            print(f"timing {case.name} ...", file=sys.stderr, flush=True)
            rows.append(measure(case, arguments.repeat, scratch, expected))
    return rows


def big_file(work: Path, format_name: str, gigabytes: float, seed: int, scratch: Path) -> list[Row]:
    """A multi-GB log, summarised, reported on and exported once each for their peak
    memory; deleted afterwards."""
    free = shutil.disk_usage(work).free
    wanted = int(gigabytes * 1e9)
    if free < wanted * 1.4:  # the log, and its Parquet export beside it
        raise BenchmarkFailure(
            f"{work}: {free / 1e9:.0f} GB free, the big log needs {wanted * 1.4 / 1e9:.0f} GB"
        )
    per_line = 220  # bytes of a generated nginx line, near enough to size the file
    lines = wanted // per_line
    log = work / f"big-{format_name}-{lines}.log"
    parquet = scratch / "big-export.parquet"
    try:
        print(f"generating {wanted / 1e9:.0f} GB ...", file=sys.stderr, flush=True)
        truth = generate.generate(log, format_name, lines, seed)
        size = truth.decompressed_bytes
        label = f"{size / 1e9:.1f} GB"
        summary = logstat_summary(log, lines, size, f"logstat summary, {label}", "big")
        report = logstat_summary(log, lines, size, f"logstat report, {label}", "big")
        report.argv[3] = "report"
        report.is_logstat = False
        export = Case(
            f"logstat export parquet, {label}",
            "big",
            [sys.executable, "-m", "logstat", "export", str(log), "-o", str(parquet), "--quiet"],
            lines,
            size,
            remove_after=parquet,
        )
        rows = []
        for case in (summary, report, export):
            print(f"timing {case.name} ...", file=sys.stderr, flush=True)
            rows.append(measure(case, 1, scratch, dict(truth.statuses)))
        return rows
    finally:
        log.unlink(missing_ok=True)
        parquet.unlink(missing_ok=True)
        generate.truth_path(log).unlink(missing_ok=True)
