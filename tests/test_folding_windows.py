"""Folding (reading/folding.py) is chosen only for a file whose lines the fast regex
reads nearly all of, through the whole file: one whose layout changes part-way (a new
log_format appending a field) is read chunk by chunk, since folding would hold every
odd line's text at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from logstat.reading import folding, pipeline
from logstat.reading.runs import Options
from logstat.summary.settings import ReportSettings
from tests.helpers import log_line


def _write(path: Path, lines: int, changed_from: int | None) -> Path:
    """nginx combined lines; from line `changed_from` on, with $request_time after them."""
    with path.open("w") as handle:
        for number in range(lines):
            line = log_line(number * 13 // 12)  # log_line(n) for n % 13 == 12 is odd: skipped
            if changed_from is not None and number >= changed_from:
                line = line.rstrip("\n") + " 0.125\n"
            handle.write(line)
    return path


def _folds(path: Path) -> bool:
    runs = pipeline.plan(Options().expand([str(path)]), Options())
    return folding.fold(runs[0], ReportSettings().needed(), Options()) is not None


@pytest.mark.parametrize("changed_at", [0.5, 0.9, 0.97])
def test_a_file_whose_layout_changes_part_way_is_not_folded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, changed_at: float
) -> None:
    monkeypatch.setattr(folding, "FOLD_MIN_BYTES", 0)
    lines = 60_000
    assert _folds(_write(tmp_path / "clean.log", lines, None))
    assert not _folds(_write(tmp_path / "changed.log", lines, int(lines * changed_at)))
