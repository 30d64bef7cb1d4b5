"""The Python API (`import logstat`) does what the commands do, with no command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

import logstat
from logstat import ExitCode, LogstatError, UnparsedInput
from tests.helpers import REPO, run_cli

SAMPLE = REPO / "samples" / "nginx-access.log"


def test_summarize_is_the_summary_command(tmp_path: Path) -> None:
    options = ["--status", "5xx,499", "--top", "3", "--since", "2020-01-01", "--tz", "UTC"]
    code, out, _ = run_cli(str(SAMPLE), *options, "--json")
    assert code == 0
    summary = logstat.summarize(SAMPLE, status=["5xx,499"], top=3, since="2020-01-01", tz="UTC")
    assert isinstance(summary, logstat.Summary)
    assert summary.to_json_text() + "\n" == out


def test_read_yields_the_parsed_requests() -> None:
    summary = logstat.summarize([SAMPLE])
    frames = list(logstat.read([SAMPLE], columns=["status", "path"]))
    assert frames and all(frame.columns == ["status", "path"] for frame in frames)
    assert sum(frame.height for frame in frames) == summary.totals.records
    statuses = pl.concat(frames)["status"].value_counts()
    counted = {row.status: row.count for row in summary.statuses}
    assert dict(statuses.iter_rows()) == counted


def test_read_can_yield_the_rejected_lines_with_their_reason(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_bytes(SAMPLE.read_bytes() + b"not a log line\n")
    rows = pl.concat(logstat.read(log, rejected=True))
    rejected = rows.filter(pl.col("line_kind") == "rejected")
    assert rejected.height == 1 and rejected["reject_reason"][0]
    assert rows.height == logstat.summarize(log).totals.records + 1


def test_export_and_ingest_write_what_was_read(tmp_path: Path) -> None:
    records = logstat.summarize(SAMPLE).totals.records
    written = logstat.export(SAMPLE, tmp_path / "requests.parquet", status=["4xx"])
    table = pl.read_parquet(tmp_path / "requests.parquet")
    assert written.rows == table.height > 0 and not written.partial
    assert table["status"].is_between(400, 499).all()
    first = logstat.ingest([SAMPLE], tmp_path / "dataset")
    again = logstat.ingest([SAMPLE], tmp_path / "dataset")  # each line is added once
    assert (first.rows, again.rows) == (records, 0)
    assert first.files and all(part.suffix == ".parquet" for part in first.files)
    assert pl.scan_parquet(tmp_path / "dataset" / "**" / "*.parquet").collect().height == records


def test_meaning_by_source_and_producer() -> None:
    [nginx] = logstat.meaning(499, source="nginx")[:1]
    assert nginx.meaning.vendor == "nginx" and nginx.meaning.code == 499
    readings = logstat.meaning("502", source="alb")
    assert {reading.by for reading in readings} == {"ALB", "target"}
    assert {reading.meaning.code for reading in logstat.meaning("5xx")} >= {500, 502, 503}


def test_errors_are_logstat_errors_with_the_commands_exit_code(tmp_path: Path) -> None:
    with pytest.raises(LogstatError) as usage:
        logstat.summarize(SAMPLE, vendors=["no-such-vendor"])
    assert usage.value.exit_code == ExitCode.USAGE
    garbage = tmp_path / "access.log"
    garbage.write_text(SAMPLE.read_text().replace('" 200 ', '" - ', 10**6) + "x\n")
    with pytest.raises(UnparsedInput) as unparsed:
        logstat.summarize(garbage, format="nginx")
    assert unparsed.value.exit_code == ExitCode.UNPARSED
    assert unparsed.value.summary.totals.records > 0


def test_unparsed_input_leaves_the_state_alone(tmp_path: Path) -> None:
    garbage = tmp_path / "access.log"
    garbage.write_text("nothing here is a log line\n" * 5)
    state = tmp_path / "run.state"
    with pytest.raises(LogstatError):
        logstat.summarize(garbage, format="nginx", state=state)
    ok = tmp_path / "ok.log"
    ok.write_bytes(SAMPLE.read_bytes())
    first = logstat.summarize(ok, state=state)
    assert first.totals.records > 0
    assert logstat.summarize(ok, state=state).totals.records == 0  # read once


def test_importing_logstat_loads_no_polars() -> None:
    code = "import sys, logstat; print('polars' in sys.modules)"
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "False"
