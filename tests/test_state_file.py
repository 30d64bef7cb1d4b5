"""The --state file itself: damaged, unreadable or symlinked.

A damaged state is a one-line error with exit 1 and is left as it was (the run
stops before it could be replaced); a symlinked state is one state, its target.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from logstat.reading import state
from tests.helpers import REPO, CliResult, run_cli

SAMPLE = REPO / "samples" / "nginx-access.log"


def summary(*arguments: str) -> CliResult:
    """`logstat summary ARGS --json` in this process."""
    return run_cli("summary", *arguments, "--json", "-q", in_process=True)


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "access.log"
    path.write_bytes(SAMPLE.read_bytes())
    return path


def good_state(log: Path, state_file: Path) -> dict[str, Any]:
    code, _, errors = summary(str(log), "--state", str(state_file))
    assert code == 0, errors
    with log.open("a") as handle:  # something new for the next run to read and record
        handle.write(SAMPLE.read_text().splitlines(keepends=True)[0])
    document: dict[str, Any] = json.loads(state_file.read_text())
    return document


DAMAGE = {
    "negative lines": ("lines", -10),
    "negative offset": ("offset", -5),
    "text offset": ("offset", "12"),
    "fraction": ("size", 1.5),
    "boolean": ("inode", True),
    "huge": ("lines", 10**30),
    "number fingerprint": ("fingerprint", 5),
    "short fingerprint": ("fingerprint", "abc"),
    "list path": ("path", []),
    "unknown compression": ("compression", "lzip"),
    "null origin": ("origin", None),
    "too many fingerprint bytes": ("fingerprint_bytes", 10**6),
}


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
def test_a_damaged_entry_is_a_one_line_error_and_is_kept(
    damage: tuple[str, object], log: Path, tmp_path: Path
) -> None:
    state_file = tmp_path / "state.json"
    document = good_state(log, state_file)
    name, value = damage
    document["files"][0][name] = value
    state_file.write_text(json.dumps(document))
    damaged = state_file.read_bytes()
    code, _, errors = summary(str(log), "--state", str(state_file))
    assert code == 1
    assert errors.count("\n") == 1
    assert "damaged state file" in errors
    assert repr(name) in errors
    assert state_file.read_bytes() == damaged


@pytest.mark.parametrize(
    "text",
    [
        '{"logstat_state": 1, "files": ' + "[" * 100_000 + "]" * 100_000 + "}",
        '{"logstat_state": 1, "files": [[[[]]]]}',
        '{"logstat_state": 1, "files": "x"}',
        '{"logstat_state": 1, "files": [{}]}',
        '{"logstat_state": true, "files": []}',
        '{"logstat_state": 1, "files": [], "extra": ' + "{" * 50_000 + "}" * 50_000 + "}",
        "[]",
        "\xff\xfe",
    ],
    ids=["deep", "nested", "text", "empty entry", "true", "deep extra", "list", "not utf-8"],
)
def test_a_damaged_document_is_a_one_line_error_and_is_kept(
    text: str, log: Path, tmp_path: Path
) -> None:
    state_file = tmp_path / "state.json"
    state_file.write_bytes(text.encode("latin-1" if text.startswith("\xff") else "utf-8"))
    damaged = state_file.read_bytes()
    code, _, errors = summary(str(log), "--state", str(state_file))
    assert code == 1, errors
    assert errors.count("\n") == 1
    assert "state file" in errors
    assert "internal error" not in errors
    assert state_file.read_bytes() == damaged


def test_an_unreadable_state_file_is_a_one_line_error(
    log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state_file = tmp_path / "state.json"
    good_state(log, state_file)
    real_open = Path.open

    def denied(path: Path, *arguments: Any, **options: Any) -> Any:
        if path == state_file:  # the tests may run as root, whom chmod does not stop
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *arguments, **options)

    monkeypatch.setattr(Path, "open", denied)
    code, _, errors = summary(str(log), "--state", str(state_file))
    assert code == 1
    message = f"{state_file}: cannot read the state file: Permission denied"
    assert errors == f"logstat: error: {message}\n"


def test_a_directory_as_state_is_a_one_line_error(log: Path, tmp_path: Path) -> None:
    code, _, errors = summary(str(log), "--state", str(tmp_path))
    assert code == 1
    assert errors.count("\n") == 1
    assert "cannot read the state file" in errors


def test_a_symlinked_state_is_its_target(log: Path, tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    target = real / "live.state"
    link = tmp_path / "live.state"
    link.symlink_to(os.path.relpath(target, tmp_path))  # dangling until the first run
    code, out, _ = summary(str(log), "--state", str(link))
    assert (code, json.loads(out)["totals"]["lines"]) == (0, 600)
    assert link.is_symlink() and target.is_file()
    assert (real / "live.state.lock").exists()
    assert not (tmp_path / "live.state.lock").exists()
    # through the link or by the target's name: one state, nothing new to count
    for name in (link, target, link):
        code, out, _ = summary(str(log), "--state", str(name))
        assert (code, json.loads(out)["totals"]["lines"]) == (0, 0)
    assert link.is_symlink()


def test_two_runs_through_the_link_and_the_target_exclude_each_other(
    log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "live.state"
    link = tmp_path / "link.state"
    link.symlink_to(target)
    monkeypatch.setattr(state, "LOCK_WAIT_S", 0.2)
    with state.StateFile.open(target):
        code, _, errors = summary(str(log), "--state", str(link))
    assert code == 1
    assert "another logstat run is using this state file" in errors
