"""A real 80-column terminal (tmux): what a user sees fits it, meanings whole.

`logstat summary` on a terminal draws rich tables; piped (`| cat`) with the
terminal on stderr it prints plain text fitted to that terminal.  Both are run in
a tmux pane 80 columns wide and read back with `capture-pane -J` (wrapped lines
joined, so a line wider than the pane shows as one long line).  tmux missing:
the tests skip, except in CI (`CI` set), where they fail (.ci/run installs it).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from logstat.report.model import Summary
from logstat.summary import ReportSettings
from tests.helpers import (
    REPO,
    Pane,
    plain_columns,
    rich_columns,
    summarise,
    terminal_environment,
    tmux_pane,
)

WIDTH = 80
SAMPLE = "samples/nginx-access.log"


@pytest.fixture(scope="module")
def pane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pane]:
    with tmux_pane(tmp_path_factory.mktemp("tmux") / "socket", REPO, WIDTH) as pane:
        yield pane


@pytest.fixture(scope="module")
def summary() -> Summary:
    return summarise([REPO / SAMPLE], ReportSettings(), format=None)


def command(*extra: str) -> str:
    return " ".join([sys.executable, "-m", "logstat", "summary", SAMPLE, *extra])


def assert_meanings_whole(shown: dict[str, list[str]], summary: Summary) -> None:
    """Each status's name and meaning, whole, in the order of the summary."""
    meanings = shown.get("name: meaning") or shown["meaning"]
    assert len(meanings) == len(summary.statuses)
    for row, cell in zip(summary.statuses, meanings, strict=True):
        assert row.meaning and row.meaning in cell, (row.meaning, cell)
        assert (row.name and row.name in cell) or row.name in shown.get("name", []), row.name


def test_the_rich_summary_fits_80_columns(pane: Pane, summary: Summary) -> None:
    lines = pane.run(command())
    assert "By status" in lines and any("┃ status" in line for line in lines)  # rich, boxed
    assert max(len(line) for line in lines) <= WIDTH, [line for line in lines if len(line) > 80]
    assert_meanings_whole(rich_columns("\n".join(lines), "By status"), summary)
    assert any(line.startswith(f"Not shown at {WIDTH} columns: table") for line in lines)


def test_plain_text_piped_fits_the_terminal(pane: Pane, summary: Summary) -> None:
    lines = pane.run(command() + " | cat")
    assert "By status" in lines and not any("┃" in line for line in lines)  # plain text
    assert max(len(line) for line in lines) <= WIDTH, [line for line in lines if len(line) > 80]
    assert_meanings_whole(plain_columns("\n".join(lines), "By status"), summary)


def test_a_file_gets_the_tables_as_wide_as_they_are(pane: Pane, tmp_path: Path) -> None:
    """Output to a file is not fitted to the terminal the command was typed in."""
    target = tmp_path / "summary.txt"
    pane.run(command() + f" > {target}")
    expected = subprocess.run(
        [sys.executable, "-m", "logstat", "summary", SAMPLE],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=terminal_environment(),
        check=True,
    ).stdout
    assert target.read_text(encoding="utf-8") == expected
    assert max(len(line) for line in expected.splitlines()) > WIDTH


def test_codes_fits_80_columns(pane: Pane) -> None:
    """`logstat codes` on a terminal: each reading's meaning whole, the source URL left
    out (and said so) when it cannot fit."""
    from logstat import format_catalog
    from logstat.status import load_registry
    from logstat.status.explain import explain

    lines = pane.run(f"{sys.executable} -m logstat codes 502 499 --source alb")
    assert max(len(line) for line in lines) <= WIDTH, [line for line in lines if len(line) > 80]
    shown = rich_columns("\n".join(["codes", *lines]), "codes")
    vendors = {entry["name"]: tuple(entry["vendors"]) for entry in format_catalog.read()}
    readings = explain(["502", "499"], load_registry(), ("alb", vendors["alb"]))
    assert len(shown["name: meaning"]) == len(readings)
    for reading, cell in zip(readings, shown["name: meaning"], strict=True):
        assert cell == f"{reading.meaning.name}: {reading.meaning.meaning}"
    assert lines[-1] == f"Not shown at {WIDTH} columns: source (--json shows every column)."
