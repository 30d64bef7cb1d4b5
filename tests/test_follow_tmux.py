"""`logstat -f` in a real 80x24 terminal (tmux): the view updates as the log grows, follows
its rotation without counting a line twice, fits the screen, and `q` ends it with exit 0.

The test writes the log (lines stamped with the current time, so they fall in the
window), types keys with `send-keys` and reads the screen back with `capture-pane -J`
(wrapped lines joined: a line wider than the pane shows as one long line).  tmux
missing: the tests skip, except in CI (`CI` set), where they fail.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.helpers import PANE_DONE, Pane, tmux_pane

WIDTH, HEIGHT = 80, 24
REQUESTS = re.compile(r"^([0-9,]+) requests? \(")


@pytest.fixture
def pane(tmp_path: Path) -> Iterator[Pane]:
    with tmux_pane(tmp_path / "socket", tmp_path, WIDTH, HEIGHT) as pane:
        yield pane


def append(path: Path, first: int, count: int, status: int) -> None:
    """`count` nginx lines stamped now, their numbers in their paths."""
    moment = datetime.now(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
    with path.open("a") as handle:
        for number in range(first, first + count):
            handle.write(
                f'10.0.0.{number % 250} - - [{moment}] "GET /item/{number} HTTP/1.1" '
                f'{status} 512 "-" "agent"\n'
            )


def screen(pane: Pane) -> list[str]:
    text = pane.tmux("capture-pane", "-p", "-J", "-t", "logstat")
    return [line.rstrip() for line in text.rstrip("\n").split("\n")]


def fits(lines: list[str]) -> None:
    assert len(lines) <= HEIGHT, lines
    assert max(len(line) for line in lines) <= WIDTH, [line for line in lines if len(line) > 80]


def requests(lines: list[str]) -> int | None:
    found = [REQUESTS.match(line) for line in lines]
    return next((int(match.group(1).replace(",", "")) for match in found if match), None)


def wait_for(pane: Pane, check: Callable[[list[str]], bool], seconds: float = 30) -> list[str]:
    """The screen once `check` holds on it; every view seen must fit 80x24."""
    deadline = time.monotonic() + seconds
    lines: list[str] = []
    while time.monotonic() < deadline:
        lines = screen(pane)
        if lines[0].startswith("logstat follow"):
            fits(lines)
        if check(lines):
            return lines
        time.sleep(0.2)
    raise AssertionError("the screen never showed what was expected:\n" + "\n".join(lines))


def start(pane: Pane, log: Path) -> None:
    # a short command line: one as wide as the pane (a long virtualenv path) wraps, and
    # capture-pane -J joins what is printed after the view to the command line
    short = log.parent / "logstat"
    short.write_text(f'#!/bin/sh\nexec {sys.executable} -m logstat "$@"\n')
    short.chmod(0o755)
    command = f"./logstat -f {log.name}"
    pane.tmux("send-keys", "-t", "logstat", f"{command}; echo {PANE_DONE}$?", "Enter")


def class_count(lines: list[str], status_class: str) -> int:
    row = next(line for line in lines if line.startswith(status_class + " "))
    return int(row.split()[1].replace(",", ""))


def test_the_view_updates_follows_rotation_and_q_quits(pane: Pane, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    append(log, 0, 10, 200)
    start(pane, log)
    lines = wait_for(pane, lambda lines: requests(lines) == 10)
    assert lines[0].startswith("logstat follow access.log | last 5m to ")
    assert class_count(lines, "2xx") == 10 and class_count(lines, "5xx") == 0
    assert any(line.startswith("200 ") and "OK: " in line for line in lines)  # the meaning

    append(log, 10, 5, 502)
    lines = wait_for(pane, lambda lines: requests(lines) == 15)
    assert class_count(lines, "5xx") == 5
    # nginx's own meaning of 502, as the summary shows it
    assert any(line.startswith("502 ") and "nginx got no valid answer" in line for line in lines)
    assert any(line.startswith("Top paths of 5xx (5 requests)") for line in lines), lines

    # logrotate: renamed, written to a little under the new name, then a new log
    log.rename(tmp_path / "access.log.1")
    append(tmp_path / "access.log.1", 15, 3, 404)
    time.sleep(1.5)
    append(log, 18, 4, 200)
    lines = wait_for(pane, lambda lines: requests(lines) == 22)
    assert class_count(lines, "4xx") == 3 and class_count(lines, "2xx") == 14
    time.sleep(2.5)  # a few more readings: nothing is counted twice
    lines = screen(pane)
    assert requests(lines) == 22 and "22 lines read since the start" in lines[1], lines

    pane.tmux("send-keys", "-t", "logstat", "q")
    lines = wait_for(pane, lambda lines: any(line.startswith(PANE_DONE) for line in lines))
    assert f"{PANE_DONE}0" in lines, lines
    assert not any(line.startswith("logstat follow") for line in lines)  # the screen restored


def test_ctrl_c_ends_the_view(pane: Pane, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    append(log, 0, 3, 499)
    start(pane, log)
    lines = wait_for(pane, lambda lines: requests(lines) == 3)
    assert any(line.startswith("499 ") for line in lines), lines
    pane.tmux("send-keys", "-t", "logstat", "C-c")
    lines = wait_for(pane, lambda lines: any(line.startswith(PANE_DONE) for line in lines))
    assert f"{PANE_DONE}130" in lines and "logstat: interrupted" in lines, lines


def test_not_a_terminal_exits_2_with_one_line(pane: Pane, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    append(log, 0, 3, 200)
    command = f"{sys.executable} -m logstat -f {log.name} | cat"
    pane.tmux(
        "send-keys", "-t", "logstat", f"{command}; echo {PANE_DONE}${{PIPESTATUS[0]}}", "Enter"
    )
    lines = wait_for(pane, lambda lines: any(line.startswith(PANE_DONE) for line in lines))
    assert f"{PANE_DONE}2" in lines, lines
    errors = [line for line in lines if line.startswith("logstat:")]
    assert errors == [
        "logstat: error: follow draws a live view on a terminal, and stdout is not one "
        "(for a report use `logstat summary`)"
    ], lines
