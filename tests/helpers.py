"""What the tests share, in one place: no test module imports another.

- where things are: the repository, fixtures, the shared corpus;
- running the command: `run_cli` (a child process, or this process) and its checks;
- parsing a file as the pipeline does, and the format fixtures with their options;
- golden files: `check_golden`, rewritten with LOGSTAT_UPDATE_GOLDEN=1;
- logs the tests write: numbered nginx lines, synthetic requests, a rotating log;
- a terminal of its own (tmux): `tmux_pane`;
- a dashboard page's data: `page_data`;
- a Dask worker killed mid-run: `kill_a_worker_mid_run`.

Hypothesis strategies and the renderers of generated requests live in tests/strategies.py.
"""

from __future__ import annotations

import contextlib
import difflib
import gzip
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, NamedTuple

import polars as pl
import pytest

from logstat import formats, schema
from logstat.filters import StatusTerm
from logstat.reading import detection, pipeline, sources
from logstat.reading.inputs import Inputs
from logstat.reading.lines import Chunk, split_lines
from logstat.report.model import Summary, status_text
from logstat.status import status_class
from logstat.summary import CLASS_ORDER, ReportSettings, summarize_frames

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
REPORT_FIXTURES = FIXTURES / "report"
SHARED_CORPUS = REPO.parent / "shared" / "corpus"

# --- running the command -----------------------------------------------------------


class CliResult(NamedTuple):
    """What a command did: its exit code and what it wrote."""

    code: int
    stdout: str
    stderr: str

    @property
    def summary(self) -> dict[str, Any]:
        """The --json output."""
        data: dict[str, Any] = json.loads(self.stdout)
        return data


def run_cli(
    *arguments: str | Path,
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
    cwd: str | Path | None = None,
    timeout: float = 300,
    in_process: bool = False,
) -> CliResult:
    """`logstat ARGUMENTS` as a user runs it: `python -m logstat` in a child process, its
    stdin empty unless given (so it never waits for a terminal), 200 columns wide unless
    `env` says otherwise.  A traceback or a Rust panic on stderr fails the test.

    `in_process=True` calls `logstat.cli.main` in this process instead: many times faster,
    for the tests about what a command writes; stdin, env and cwd need a child process.
    """
    words = [str(argument) for argument in arguments]
    if in_process:
        if stdin is not None or env is not None or cwd is not None:
            raise TypeError("stdin, env and cwd need a child process (in_process=False)")
        result = _call_main(words)
    else:
        completed = subprocess.run(
            [sys.executable, "-m", "logstat", *words],
            input=stdin if stdin is not None else b"",
            capture_output=True,
            cwd=cwd or REPO,
            env={**os.environ, "COLUMNS": "200", **(env or {})},
            timeout=timeout,
            check=False,
        )
        result = CliResult(
            completed.returncode,
            completed.stdout.decode("utf-8", "replace"),
            completed.stderr.decode("utf-8", "replace"),
        )
    assert "Traceback" not in result.stderr, result.stderr
    assert "panicked" not in result.stderr, result.stderr  # a Rust panic inside polars
    return result


def _call_main(words: list[str]) -> CliResult:
    """`logstat.cli.main(words)` with stdout and stderr captured as pytest's capsys does
    (text over bytes, so binary outputs have a `.buffer`); needs no fixture, so it works
    inside hypothesis tests too."""
    from logstat import cli

    out, err = io.BytesIO(), io.BytesIO()
    stdout = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    stderr = io.TextIOWrapper(err, encoding="utf-8", newline="", write_through=True)
    with (
        contextlib.redirect_stdout(stdout),
        contextlib.redirect_stderr(stderr),
        pytest.raises(SystemExit) as stopped,
    ):
        cli.main(words)
    stdout.flush()
    stderr.flush()
    code = stopped.value.code
    assert code is None or isinstance(code, int), code
    return CliResult(
        int(code or 0),
        out.getvalue().decode("utf-8", "replace"),
        err.getvalue().decode("utf-8", "replace"),
    )


def assert_one_line_error(result: CliResult, *fragments: str) -> None:
    """A failure is one line on stderr, `logstat: error: ...`, naming what went wrong."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("logstat: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def assert_counts_add_up(summary: dict[str, Any]) -> None:
    """The invariant of every run: each line is a record, a rejected line, a comment or blank."""
    totals, files = summary["totals"], summary["files"]
    for file in files:
        kinds = file["records"] + file["rejected"] + file["comments"] + file["blank"]
        assert file["lines"] == kinds, file
    assert totals["files"] == len(files)
    for key in ("lines", "records", "rejected", "comments", "blank"):
        assert totals[key] == sum(file[key] for file in files), key
    kinds = totals["records"] + totals["rejected"] + totals["comments"] + totals["blank"]
    assert totals["lines"] == kinds
    assert sum(summary["rejects"].values()) == totals["rejected"], summary["rejects"]
    counted = totals.get("selected", totals["records"])
    assert sum(row["count"] for row in summary["classes"]) == counted
    assert sum(row["count"] for row in summary["statuses"]) == counted


# --- parsing files as the pipeline does --------------------------------------------


def plan_file(path: str | Path, **options: Any) -> pipeline.FileRun:
    """Detection for one file: the FileRun with its `choice` (None when nothing matched)."""
    [run] = pipeline.plan(sources.expand([str(path)]), pipeline.Options(**options))
    return run


def parse_run(path: str | Path, **options: Any) -> tuple[pipeline.FileRun, pl.DataFrame]:
    """Detect (or force) the format of one file and parse every line of it, all columns.

    `options` are `pipeline.Options` fields: format, log_format, vendors, chunk_bytes.
    """
    settings = pipeline.Options(**options)
    [run] = pipeline.plan(sources.expand([str(path)]), settings)
    frames = [frame for _, frame in pipeline.read([run], settings, None)]
    return run, pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()


def parse_file(path: str | Path, **options: Any) -> pl.DataFrame:
    """Every line of `path` parsed with all columns, as the pipeline reads it."""
    return parse_run(path, **options)[1]


def records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """The parsed records of a frame, as dicts."""
    return frame.filter(pl.col("line_kind") == "record").to_dicts()


def sample_of(path: Path) -> pl.Series:
    """The lines detection looks at: the first non-empty lines of the decompressed file."""
    (source,) = sources.expand([str(path)])
    opened = sources.open_source(source)
    try:
        head = opened.stream.read(detection.HEAD_BYTES)
    finally:
        opened.close()
    return formats.sample_lines(split_lines(Chunk(head, 1))["line"])


# --- format fixtures and golden files ------------------------------------------------

GOLDEN_SUFFIX = ".expected.csv"
OPTIONS_SUFFIX = ".options"
FIXTURE_NOTES = "README.md"  # where a fixture folder says where its lines come from
# LOGSTAT_UPDATE_GOLDEN=1 rewrites every golden file a test compares with: read the diff
UPDATE_GOLDEN = os.environ.get("LOGSTAT_UPDATE_GOLDEN") == "1"


def detected_by_lines(log: Path) -> formats.Choice | None:
    """The format detection picks for `log` from its lines alone, under a name that says
    nothing about the server (no path hint breaks a tie)."""
    return formats.detect(sample_of(log), "access.log")


# the corpus folders of formats, whose logs no other format may read
CORPUS_FORMATS = ("nginx", "apache", "iis", "alb", "elb", "cloudflare")


def corpus_logs_read_by(format: formats.Format, corpus: Path) -> list[str]:
    """The other formats' corpus logs of which `format` reads any sample line."""
    return [
        f"{directory}/{log.name}"
        for directory in CORPUS_FORMATS
        if directory != format.name
        for log in data_files(corpus / directory)
        if (found := format.detect(sample_of(log))) is not None and found.matched
    ]


def data_files(directory: Path) -> list[Path]:
    """The logs in a fixture or corpus directory: every file but goldens and options."""
    if not directory.is_dir():
        return []
    return sorted(
        path
        for path in directory.iterdir()
        if path.is_file()
        and path.name != FIXTURE_NOTES
        and GOLDEN_SUFFIX not in path.name
        and not path.name.endswith(OPTIONS_SUFFIX)
    )


def golden_of(log: Path) -> Path:
    """`<log>.expected.csv`, the parsed columns a fixture (or corpus) log must give."""
    return log.with_name(log.name + GOLDEN_SUFFIX)


def fixture_options(log: Path) -> dict[str, Any]:
    """The pipeline options a `<name>.options` sidecar holds (command-line syntax)."""
    sidecar = log.with_suffix(OPTIONS_SUFFIX)
    if not sidecar.exists():
        return {}
    words = shlex.split(sidecar.read_text(encoding="utf-8"))
    names = {"--format": "format", "--log-format": "log_format"}
    options: dict[str, Any] = {}
    for flag, value in zip(words[::2], words[1::2], strict=True):
        if flag == "--vendor":
            options["vendors"] = (*options.get("vendors", ()), value)
        else:
            options[names[flag]] = value
    return options


# The parsed columns each format's goldens hold (a format not listed: the first list).
_TEMPLATE_COLUMNS = (
    "line_no", "status", "status_class", "upstream_status", "upstream_status_list", "method",
    "path", "query", "protocol", "client_ip", "host", "timestamp", "bytes_sent",
    "request_time_s", "referer", "user_agent", "line_kind", "reject_reason",
)  # fmt: skip
GOLDEN_COLUMNS: dict[str, tuple[str, ...]] = {
    "nginx": _TEMPLATE_COLUMNS,
    "apache": _TEMPLATE_COLUMNS,
    "alb": (
        "line_no", "line_kind", "reject_reason", "request_type", "timestamp", "client_ip",
        "target", "host", "method", "path", "query", "protocol", "status", "status_class",
        "upstream_status", "upstream_status_list", "produced_by", "error_reason",
        "classification", "bytes_sent", "request_time_s",
    ),
    "elb": (
        "line_no", "line_kind", "reject_reason", "timestamp", "client_ip", "backend", "host",
        "method", "path", "query", "protocol", "status", "status_class", "upstream_status",
        "produced_by", "bytes_sent", "request_time_s", "user_agent", "ssl_protocol",
    ),
    "iis": (
        "line_no", "line_kind", "reject_reason", "timestamp", "client_ip", "host", "method",
        "path", "query", "protocol", "status", "status_class", "substatus", "win32_status",
        "produced_by", "bytes_sent", "request_time_s", "user_agent", "referer", "s_sitename",
        "cs_username", "http_x_forwarded_for", "unlisted_fields", "ftp_status",
    ),
    "cloudflare": (
        "line_no", "line_kind", "reject_reason", "timestamp", "client_ip", "host", "method",
        "path", "query", "protocol", "status", "status_class", "upstream_status",
        "origin_response_status", "produced_by", "bytes_sent", "request_time_s", "user_agent",
        "referer", "cache_cache_status", "security_action", "security_actions",
        "worker_status", "ray_id",
    ),
    "haproxy": (
        "line_no", "line_kind", "reject_reason", "timestamp", "client_ip", "frontend",
        "backend", "server", "method", "path", "query", "protocol", "status", "status_class",
        "termination_state", "produced_by", "bytes_sent", "request_time_s",
        "captured_request_headers", "captured_response_headers", "captured_headers",
    ),
    "envoy": (
        "line_no", "line_kind", "reject_reason", "timestamp", "client_ip", "host", "method",
        "path", "query", "protocol", "status", "status_class", "response_flags",
        "response_code_details", "upstream_host", "upstream_cluster", "produced_by",
        "bytes_sent", "request_time_s", "user_agent", "request_id",
    ),
    "cloudfront": (
        "line_no", "line_kind", "reject_reason", "timestamp", "client_ip", "host", "method",
        "path", "query", "protocol", "status", "status_class", "edge_result_type",
        "edge_response_result_type", "edge_detailed_result_type", "produced_by",
        "bytes_sent", "request_time_s", "user_agent", "edge_location", "trailing_fields",
    ),
    "traefik": (
        "line_no", "line_kind", "reject_reason", "timestamp", "client_ip", "host", "method",
        "path", "query", "protocol", "status", "status_class", "upstream_status",
        "origin_status", "origin_content_size", "produced_by", "bytes_sent", "request_time_s",
        "origin_time_s", "router_name", "service_name", "service_url", "retry_attempts",
        "user_agent",
    ),
    "caddy": (
        "line_no", "line_kind", "reject_reason", "timestamp", "client_ip", "host", "method",
        "path", "query", "protocol", "status", "status_class", "produced_by", "bytes_sent",
        "request_time_s", "user_agent", "logger", "response_date", "response_content_type",
        "error_message", "error_id", "error_trace",
    ),
    "google_lb": (
        "line_no", "line_kind", "reject_reason", "timestamp", "client_ip", "host", "method",
        "path", "query", "protocol", "status", "status_class", "status_details", "produced_by",
        "bytes_sent", "request_time_s", "user_agent", "cache_hit", "security_policy_outcome",
        "backend_service", "resource_type",
    ),
    "azure_front_door": (
        "line_no", "line_kind", "reject_reason", "timestamp", "client_ip", "host", "method",
        "path", "query", "protocol", "status", "status_class", "front_door_error_info",
        "cache_status", "produced_by", "bytes_sent", "request_time_s", "user_agent", "pop",
        "origin_name", "category",
    ),
    "azure_app_gateway": (
        "line_no", "line_kind", "reject_reason", "timestamp", "client_ip", "host", "method",
        "path", "query", "protocol", "status", "status_class", "upstream_status",
        "app_gateway_error_info", "produced_by", "bytes_sent", "request_time_s", "user_agent",
        "server_routed", "rule_name", "backend_pool", "request_query",
    ),
}  # fmt: skip
GOLDEN_COLUMNS["cloudfront_realtime"] = GOLDEN_COLUMNS["cloudfront"]
# how the goldens write times: ISO 8601 in UTC, except where polars' CSV form was kept
ISO_UTC = "%Y-%m-%dT%H:%M:%S%.fZ"
GOLDEN_TIME_FORMAT: dict[str, str | None] = {
    "alb": None,
    "elb": None,
    "iis": None,
    "cloudflare": None,
}


def golden_columns(format_name: str) -> tuple[str, ...]:
    return GOLDEN_COLUMNS.get(format_name, _TEMPLATE_COLUMNS)


def golden_csv(frame: pl.DataFrame, format_name: str) -> str:
    """A parsed fixture as its `<log>.expected.csv` holds it: the format's golden columns,
    null where this file has no such field (a log need not have every field)."""
    columns = golden_columns(format_name)
    absent = [
        pl.lit(None, dtype=schema.COLUMNS.get(column, pl.String())).alias(column)
        for column in columns
        if column not in frame.columns
    ]
    table = frame.with_columns(absent).select(columns)
    time_format = GOLDEN_TIME_FORMAT.get(format_name, ISO_UTC)
    if time_format is not None:
        table = table.with_columns(pl.col("timestamp").dt.to_string(time_format))
    return table.write_csv()


def check_golden(golden: Path, actual: str) -> None:
    """`actual` must equal the golden file, byte for byte; a difference fails with a diff.

    With LOGSTAT_UPDATE_GOLDEN=1 a missing or different golden is rewritten and the test
    is skipped, so the run lists what changed: review `git diff` before keeping it.
    """
    expected = golden.read_text(encoding="utf-8") if golden.exists() else None
    if UPDATE_GOLDEN and actual != expected:
        golden.write_text(actual, encoding="utf-8")
        pytest.skip(f"rewrote {golden.relative_to(REPO)}: review the diff before keeping it")
    assert expected is not None, f"no golden {golden.name}: run with LOGSTAT_UPDATE_GOLDEN=1"
    if actual != expected:
        diff = difflib.unified_diff(
            expected.splitlines(), actual.splitlines(), "expected", "actual", lineterm=""
        )
        pytest.fail(f"{golden.name} differs:\n" + "\n".join(diff))


def check_expected_statuses(log: Path, frame: pl.DataFrame, columns: dict[str, str]) -> None:
    """A corpus log's `<file>.expected.csv`: each line it lists is a record whose parsed
    columns hold its values (`columns`: the CSV's column -> the parsed one; empty is null)."""
    expected = pl.read_csv(golden_of(log), infer_schema=False)
    by_line = {row["line_no"]: row for row in frame.iter_rows(named=True)}
    for row in expected.iter_rows(named=True):
        parsed = by_line[int(row["line_no"])]
        want = tuple(int(row[column]) if row[column] else None for column in columns)
        got = tuple(parsed[column] for column in columns.values())
        assert (parsed["line_kind"], got) == ("record", want), row


# --- logs written by the tests ------------------------------------------------------


# A corpus ALB or ELB log's expected.csv: its columns and the parsed ones they hold
AWS_EXPECTED = {"status": "status", "target_status": "upstream_status"}


def write_log(directory: Path, lines: Iterable[str], name: str = "access.log") -> Path:
    """A log file of `lines`, each ended by a newline."""
    path = directory / name
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


NUMBERED_START = datetime(2024, 3, 9, 22, 0, tzinfo=UTC)
NUMBERED_STATUSES = (200, 200, 200, 304, 404, 499, 500, 502)


def log_line(number: int) -> str:
    """A unique nginx combined line (the path carries the number); every 13th is garbage."""
    if number % 13 == 12:
        return f"garbage line {number} that no format parses\n"
    moment = (NUMBERED_START + timedelta(seconds=7 * number)).strftime("%d/%b/%Y:%H:%M:%S +0000")
    status = NUMBERED_STATUSES[number % len(NUMBERED_STATUSES)]
    return (
        f'10.1.{number % 200}.{number % 250} - - [{moment}] "GET /item/{number}?q={number} '
        f'HTTP/1.1" {status} {100 + number} "-" "agent/{number % 5}"\n'
    )


def write_numbered_log(path: Path, first: int, count: int, extra: str = "") -> Path:
    """Lines `log_line(first)` to `log_line(first + count - 1)`, then `extra`."""
    path.write_text("".join(log_line(number) for number in range(first, first + count)) + extra)
    return path


# Synthetic requests, for the report tests

START = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Record:
    """One request as the report tests know it."""

    host: str
    client_ip: str
    moment: datetime  # UTC
    method: str
    path: str
    status: int
    user_agent: str


def apache_line(record: Record, offset_hours: int = 1) -> str:
    """Apache's vhost_combined (which logs the virtual host), with the time written at a
    UTC offset as servers do."""
    local = record.moment.astimezone(timezone(timedelta(hours=offset_hours)))
    return (
        f"{record.host}:443 {record.client_ip} - - [{local:%d/%b/%Y:%H:%M:%S %z}] "
        f'"{record.method} {record.path} HTTP/1.1" {record.status} 512 "-" "{record.user_agent}"'
    )


def write_requests(path: Path, requests: Iterable[Record], extra_lines: Sequence[str] = ()) -> Path:
    lines = [apache_line(request) for request in requests] + list(extra_lines)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def summarise(
    paths: Sequence[Path],
    settings: ReportSettings,
    chunk_bytes: int = 700,
    format: str | None = "apache",
    log_format: str | None = None,
) -> Summary:
    """The summary the library builds for these files (format fixed to apache by default),
    read in small chunks so that the merging of partial summaries is exercised."""
    chosen = pipeline.Options(format=format, log_format=log_format, chunk_bytes=chunk_bytes)
    runs = pipeline.plan(sources.expand([str(path) for path in paths]), chosen)
    frames = (frame for _, frame in pipeline.read(runs, chosen, settings.needed()))
    return summarize_frames(frames, runs, settings)


def reference_groups(
    requests: list[Record], by: str, terms: tuple[StatusTerm, ...]
) -> list[tuple[str, list[Record]]]:
    """The --top groups worked out by hand: by selection, by class or by status code."""
    if by == "selection":
        return [
            (
                term.text,
                [r for r in requests if term.covers(r.status, status_class(r.status))],
            )
            for term in terms
        ]
    if by == "class":
        groups = [
            (name, [r for r in requests if status_class(r.status) == name]) for name in CLASS_ORDER
        ]
        return [(name, members) for name, members in groups if members]
    codes = Counter(request.status for request in requests)
    ordered = sorted(codes, key=lambda code: (-codes[code], code))
    return [(status_text(code), [r for r in requests if r.status == code]) for code in ordered]


def frame_of(lines: Sequence[tuple[datetime | None, int, str | None]]) -> pl.DataFrame:
    """Parsed nginx records (time, status, path), as the pipeline hands them on."""
    return pl.DataFrame(
        {
            "source": ["nginx"] * len(lines),
            "timestamp": [moment for moment, _, _ in lines],
            "status": [status for _, status, _ in lines],
            "path": [path for _, _, path in lines],
            schema.LINE_KIND: [schema.RECORD] * len(lines),
            schema.REJECT_REASON: [None] * len(lines),
            "produced_by": ["unknown"] * len(lines),
        },
        schema_overrides={
            "timestamp": schema.TIMESTAMP,
            "status": pl.Int16,
            schema.REJECT_REASON: pl.String,
        },
    ).with_columns(schema.status_class_expression(pl.col("status")).alias("status_class"))


# The data a dashboard page holds (what its scripts draw)


def page_data(page: Path) -> Any:
    found = re.search(r'id="logstat-data">(.*?)</script>', page.read_text(encoding="utf-8"))
    assert found is not None
    return json.loads(found.group(1))


# Tables of the terminal views, read back cell by cell

NOTES = ("Not shown at ", "Approximate", "Lines behind ")  # lines that end a plain table below


def plain_columns(text: str, title: str) -> dict[str, list[str]]:
    """The table under `title` in the plain view: each header's cells, with the lines
    of a wrapped cell joined by spaces (a row starts where the first column is set)."""
    lines = text.splitlines()
    start = lines.index(title) + 1
    header = lines[start]
    names = re.findall(r"\S+(?: \S+)*", header)  # headers are separated by 2+ spaces
    starts = [header.index(name) for name in names]
    columns: dict[str, list[str]] = {name: [] for name in names}
    for line in lines[start + 1 :]:
        if not line or line.startswith(NOTES):
            break  # the table ends with a blank line, or with a note under it
        new_row = not line[: starts[1]].isspace() if len(starts) > 1 else True
        for index, name in enumerate(names):
            end = starts[index + 1] if index + 1 < len(starts) else None
            cell = line[starts[index] : end].strip()
            if new_row:
                columns[name].append(cell)
            elif cell:
                columns[name][-1] += " " + cell
    return columns


def rich_columns(text: str, title: str) -> dict[str, list[str]]:
    """The same from the rich view: cells between the bars of the box."""
    lines = text.splitlines()
    at = lines.index(title)
    header = [cell.strip() for cell in lines[at + 2].strip("┃").split("┃")]
    columns: dict[str, list[str]] = {name: [] for name in header}
    for line in lines[at + 4 :]:
        if not line.startswith("│"):
            break
        cells = [cell.strip() for cell in line.strip("│").split("│")]
        new_row = bool(cells[0])
        for name, cell in zip(header, cells, strict=True):
            if new_row:
                columns[name].append(cell)
            elif cell:
                columns[name][-1] += " " + cell
    return columns


# A log that grows and rotates, for the --state and ingest tests


@dataclass
class Totals:
    """What runs counted, comparable across runs: lines by kind, and each request once."""

    lines: int = 0
    records: int = 0
    rejected: int = 0
    requests: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)

    def add(self, other: Totals) -> None:
        self.lines += other.lines
        self.records += other.records
        self.rejected += other.rejected
        self.requests.update(other.requests)
        self.statuses.update(other.statuses)


def count_run(logs: list[Path], state_file: Path | None, detect: bool = False) -> Totals:
    """One run over `logs` (with --state when given), as the commands do it.

    The format is given (detection is tested elsewhere and costs time) unless `detect`.
    """
    options = pipeline.Options() if detect else pipeline.Options(format="nginx")
    totals = Totals()
    with Inputs(state_file) as inputs:
        runs = inputs.plan([str(log) for log in logs], options)
        for _, frame in inputs.read(runs, options, {"status", "path"}):
            counted = frame.filter(frame[schema.LINE_KIND] == schema.RECORD)
            totals.requests.update(counted["path"].to_list())
            totals.statuses.update(counted["status"].to_list())
        inputs.commit(runs)
    totals.lines = sum(run.counts.lines for run in runs)
    totals.records = sum(run.counts.records for run in runs)
    totals.rejected = sum(run.counts.rejected for run in runs)
    return totals


def assert_same(runs: Totals, full: Totals) -> None:
    """Runs over a rotating log counted what one run over all of it counts."""
    duplicated = {path for path, count in runs.requests.items() if count > 1}
    assert not duplicated, f"counted twice: {sorted(duplicated)[:5]}"
    missing = set(full.requests) - set(runs.requests)
    assert not missing, f"skipped: {sorted(missing)[:5]}"
    assert runs == full


class SimulatedLog:
    """An access log that grows and is rotated; `everything` keeps all data, in order."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.current = directory / "access.log"
        self.current.touch()
        self.everything = directory.parent / "everything.log"
        self.everything.touch()
        self.written = 0
        self.partial = ""  # the rest of a half-written line

    def append(self, count: int, to: Path | None = None) -> None:
        target = to or self.current
        assert not self.partial, "finish the partial line first"
        text = "".join(log_line(self.written + index) for index in range(count))
        self.written += count
        self._write(target, text)

    def append_partial(self) -> None:
        line = log_line(self.written)
        self.written += 1
        cut = len(line) // 2
        self._write(self.current, line[:cut])
        self.partial = line[cut:]

    def finish_partial(self) -> None:
        rest, self.partial = self.partial, ""
        self._write(self.current, rest)

    def _write(self, target: Path, text: str) -> None:
        with target.open("a") as handle:
            handle.write(text)
        with self.everything.open("a") as handle:
            handle.write(text)

    def rotated(self, number: int) -> Path | None:
        for name in (f"access.log.{number}", f"access.log.{number}.gz"):
            path = self.directory / name
            if path.exists():
                return path
        return None

    def rotate(self, copytruncate: bool = False, compress: str = "delayed") -> None:
        """As logrotate: shift access.log.N(.gz) up, then move or copy access.log to .1.

        compress: "none", "delayed" (delaycompress: .2 is compressed) or "now" (.1 is).
        """
        assert not self.partial
        numbers = sorted(
            (int(path.name.split(".")[2]) for path in self.directory.glob("access.log.*")),
            reverse=True,
        )
        for number in numbers:
            old = self.rotated(number)
            assert old is not None
            old.rename(self.directory / old.name.replace(f".{number}", f".{number + 1}", 1))
        first = self.directory / "access.log.1"
        if copytruncate:
            shutil.copy2(self.current, first)
            with self.current.open("r+") as handle:
                handle.truncate(0)
        else:
            self.current.rename(first)
            self.current.touch()
        if compress == "delayed":
            self._compress(self.directory / "access.log.2")
        elif compress == "now":
            self._compress(first)

    def _compress(self, path: Path) -> None:
        if path.exists():
            packed = path.with_name(path.name + ".gz")
            packed.write_bytes(gzip.compress(path.read_bytes()))
            path.unlink()


# A terminal of its own: tmux


PANE_DONE = "logstat-exit-"  # echoed with the exit code after a command typed in a pane


class Pane:
    """A tmux server of its own (its own socket), with one pane (session `logstat`)."""

    def __init__(self, socket: Path) -> None:
        self.socket = socket

    def tmux(self, *arguments: str) -> str:
        return subprocess.run(
            ["tmux", "-u", "-S", str(self.socket), *arguments],
            check=True,
            capture_output=True,
            text=True,
            env=terminal_environment(),
            timeout=30,
        ).stdout

    def run(self, command: str) -> list[str]:
        """Type `command` at the prompt; the lines it printed, with trailing spaces cut."""
        self.tmux("send-keys", "-t", "logstat", "clear; tmux clear-history", "Enter")
        time.sleep(0.3)
        self.tmux("send-keys", "-t", "logstat", f"{command}; echo {PANE_DONE}$?", "Enter")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            lines = [
                line.rstrip()
                for line in self.tmux("capture-pane", "-p", "-J", "-S", "-", "-E", "-").split("\n")
            ]
            done = [line for line in lines if line.startswith(PANE_DONE)]
            if done:
                assert done[0] == PANE_DONE + "0", lines
                typed = next(index for index, line in enumerate(lines) if command in line)
                return lines[typed + 1 : lines.index(done[0])]
            time.sleep(0.2)
        raise AssertionError("logstat did not finish in the pane")


def terminal_environment() -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TERM": "xterm-256color",
        "PYTHONPATH": str(REPO),  # this checkout's logstat
        "LOGSTAT_TZ": "UTC",
    }


@contextlib.contextmanager
def tmux_pane(socket: Path, directory: Path, width: int, height: int = 24) -> Iterator[Pane]:
    """A pane `width` x `height` with a shell in `directory`.  tmux missing: the test
    skips, except in CI (`CI` set), where it fails (.ci/run installs it)."""
    if shutil.which("tmux") is None:
        if os.environ.get("CI"):
            pytest.fail("tmux is not installed; CI must run the terminal tests, see .ci/run")
        pytest.skip("tmux is not installed (apt-get install -y tmux)")
    pane = Pane(socket)
    pane.tmux(
        "new-session", "-d", "-s", "logstat", "-x", str(width), "-y", str(height),
        "bash --norc --noprofile",
    )  # fmt: skip
    try:
        pane.tmux("set-option", "-t", "logstat", "history-limit", "20000")
        pane.tmux("send-keys", "-t", "logstat", f"PS1='$ '; cd {directory}", "Enter")
        yield pane
    finally:
        pane.tmux("kill-server")


def fixture_logs() -> list[Path]:
    """Every format's fixture logs that are read without options."""
    from logstat.formats import FORMATS

    logs = []
    for format in FORMATS:
        logs += [
            log
            for log in data_files(FIXTURES / format.name)
            if not log.with_name(log.name + ".options").exists()
        ]
    return logs


def kill_a_worker_mid_run(client: Any, work: Callable[[], Any]) -> Any:
    """Run `work` (which uses the cluster `client` is connected to) in a thread, SIGKILL a
    worker process as soon as the first task has finished, and return the work's result."""
    import signal
    import threading

    result: list[Any] = []
    running = threading.Thread(target=lambda: result.append(work()))
    running.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _finished_tasks(client):
        time.sleep(0.05)
    victim = next(iter(client.scheduler_info()["workers"]))
    pid = client.run(os.getpid, workers=[victim])[victim]
    os.kill(pid, signal.SIGKILL)
    running.join(timeout=180)
    assert result, "the run did not finish"
    return result[0]


def _finished_tasks(client: Any) -> int:
    def finished(dask_scheduler: Any) -> int:
        return sum(1 for task in dask_scheduler.tasks.values() if task.state == "memory")

    return int(client.run_on_scheduler(finished))
