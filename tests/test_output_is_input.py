"""An output that is also an input is refused before anything is written (issue 12.3).

Every command that writes a file shares one check (logstat/output_paths.py):
device and inode, following symlinks, so a link, another spelling or a glob
that reaches the log is caught as well.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.helpers import run_cli

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "nginx-access.log"


@pytest.fixture
def log(tmp_path: Path) -> Path:
    target = tmp_path / "a.log"
    shutil.copy(SAMPLE, target)
    return target


def _outputs(log: Path) -> list[list[str]]:
    return [
        [str(log), "--rejects", str(log)],
        [str(log), "--prometheus", str(log)],
        ["summary", str(log), "--state", str(log)],
        ["export", str(log), "-o", str(log), "--to", "csv"],
        ["dashboard", str(log), "-o", str(log)],
        ["ingest", str(log), "--to", str(log.parent / "ds"), "--state", str(log)],
    ]


@pytest.mark.parametrize("case", range(6))
def test_output_that_is_the_input_is_refused(log: Path, case: int) -> None:
    before = log.read_bytes()
    code, _, err = run_cli(*_outputs(log)[case], in_process=True)
    assert code == 2
    assert "would replace the log" in err and err.count("\n") == 1
    assert log.read_bytes() == before
    assert not (log.parent / "ds").exists()


def test_a_link_or_a_glob_to_the_input_is_the_input(log: Path) -> None:
    link = log.parent / "link.prom"
    os.symlink(log, link)
    before = log.read_bytes()
    code, _, err = run_cli(str(log.parent / "*.log"), "--prometheus", str(link), in_process=True)
    assert code == 2 and "is the input" in err
    code, _, err = run_cli(str(log.parent), "--rejects", f"{log.parent}/./a.log", in_process=True)
    assert code == 2 and "is the input" in err
    assert log.read_bytes() == before


def test_two_outputs_on_one_file_are_refused(log: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    out.write_text("x")
    code, _, err = run_cli(
        str(log), "--rejects", str(out), "--prometheus", str(out), in_process=True
    )
    assert code == 2 and "same file" in err
    assert out.read_text() == "x"


def test_other_outputs_are_written(log: Path) -> None:
    prom = log.parent / "x.prom"
    prom.write_text("old")
    code, _, _ = run_cli(str(log), "--prometheus", str(prom), in_process=True)
    assert code == 0 and "logstat_requests_total" in prom.read_text()


def test_a_dataset_inside_an_input_directory_is_refused(log: Path) -> None:
    code, _, err = run_cli(
        "ingest", str(log.parent), "--to", str(log.parent / "ds"), in_process=True
    )
    assert code == 2 and "inside the input directory" in err
    assert not (log.parent / "ds").exists()
    code, _, _ = run_cli("ingest", str(log), "--to", str(log.parent / "ds"), "-q", in_process=True)
    assert code == 0  # a file beside the dataset is fine


@pytest.mark.parametrize(
    "arguments",
    [
        ["--rejects", "-"],
        ["--prometheus", "-"],
        ["--state", "-"],
        ["--to", "dataset", "--state", "-"],
    ],
    ids=["rejects", "prometheus", "state", "ingest-state"],
)
def test_a_file_output_named_dash_is_refused(
    log: Path, tmp_path: Path, arguments: list[str]
) -> None:
    """`-` is standard output for `export -o -` only: an output that is a file (the
    summary holds stdout) is refused, not written to a file named `-`."""
    words = ["ingest", str(log), *arguments] if arguments[0] == "--to" else [str(log), *arguments]
    result = run_cli(*words, cwd=tmp_path)
    assert result.code == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "not standard output (-)" in result.stderr
    assert not (tmp_path / "-").exists()
