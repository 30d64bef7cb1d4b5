"""`export -o -` writes to stdout; export and dashboard take the summary's filters (issue 11)."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from logstat.cli import app
from logstat.cli import options as cli_options
from tests.helpers import REPO, run_cli

SAMPLE = REPO / "samples" / "nginx-access.log"


def test_export_to_stdout_is_csv(tmp_path: Path) -> None:
    code, out, err = run_cli(
        "export", str(SAMPLE), "-o", "-", cwd=tmp_path, env={"PYTHONPATH": str(REPO)}
    )
    assert code == 0 and "wrote 600 rows to stdout" in err
    frame = pl.read_csv(io.StringIO(out))
    assert frame.height == 600 and "status_meaning" in frame.columns
    assert os.listdir(tmp_path) == []  # no file named "-"


def test_export_parquet_to_a_pipe(tmp_path: Path) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "logstat",
            "export",
            str(SAMPLE),
            "-o",
            "-",
            "--to",
            "parquet",
            "--status",
            "5xx",
            "-q",
        ],
        capture_output=True,
        check=True,
        cwd=REPO,
    )
    frame = pl.read_parquet(io.BytesIO(completed.stdout))
    assert frame.height > 0 and set(frame["status_class"]) == {"5xx"}


def test_parquet_is_not_written_to_a_terminal() -> None:
    leader, follower = pty.openpty()
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "logstat", "export", str(SAMPLE), "-o", "-", "--to", "parquet"],
            stdout=follower,
            stderr=subprocess.PIPE,
            check=False,
            cwd=REPO,
            timeout=60,
        )
    finally:
        os.close(follower)
        os.close(leader)
    assert completed.returncode == 2
    assert b"Parquet is binary" in completed.stderr


def _summary_selected(*filters: str) -> int:
    import json

    code, out, _ = run_cli("summary", str(SAMPLE), "--json", *filters)
    assert code == 0
    selected: int = json.loads(out)["totals"]["selected"]
    return selected


@pytest.mark.parametrize(
    "filters",
    [("--status", "5xx"), ("--status", "404,500-503", "--method", "GET"), ("--path", "^/api")],
)
def test_export_keeps_what_the_summary_counts(tmp_path: Path, filters: tuple[str, ...]) -> None:
    target = tmp_path / "rows.csv"
    code, _, _ = run_cli("export", str(SAMPLE), "-o", str(target), *filters)
    assert code == 0
    assert pl.read_csv(target).height == _summary_selected(*filters) > 0


def test_dashboard_counts_only_what_the_filters_keep(tmp_path: Path) -> None:
    target = tmp_path / "index.html"
    code, _, _ = run_cli("dashboard", str(SAMPLE), "-o", str(target), "--status", "4xx", "-q")
    assert code == 0
    page = target.read_text()
    selected = _summary_selected("--status", "4xx")
    assert f'"selected":{selected}' in page
    assert '"5xx"' not in page.split('"error_paths"')[1].split("]")[0]


def test_the_filter_options_are_declared_once() -> None:
    """summary, report, export and dashboard share cli/options.py's declarations."""
    import typer.main

    group = typer.main.get_command(app)
    names = {"--since", "--until", "--status", "--path", "--host", "--method", "--source"}
    for command in ("summary", "report", "export", "dashboard"):
        options = {
            name
            for parameter in group.commands[command].params  # type: ignore[attr-defined]
            for name in parameter.opts
        }
        assert names <= options, command
    assert cli_options.FILTERS
