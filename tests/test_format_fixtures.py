"""Every format's fixtures parse as their goldens: one harness for all of `FORMATS`.

For each format in `logstat.formats.FORMATS`, every file in `fixtures/<name>/` is a
log; it is parsed as the pipeline reads it (with the options of an optional
`<log>.options` sidecar, in command-line syntax) and compared with
`<log>.expected.csv`, which holds the columns `tests.helpers.GOLDEN_COLUMNS` names
for the format.  A new fixture file, or a folder for a new format, is a new test;
it fails until its golden exists.  Write or refresh the goldens (and read the diff):

    LOGSTAT_UPDATE_GOLDEN=1 python3 -m pytest tests/test_format_fixtures.py
"""

from __future__ import annotations

from pathlib import Path

import pytest

from logstat.formats import BY_NAME, FORMATS, Format
from tests.helpers import (
    FIXTURES,
    REPORT_FIXTURES,
    check_golden,
    data_files,
    fixture_options,
    golden_csv,
    golden_of,
    parse_run,
)

FIXTURE_LOGS = [
    (format.name, log) for format in FORMATS for log in data_files(FIXTURES / format.name)
]


@pytest.mark.parametrize(
    ("format_name", "log"), FIXTURE_LOGS, ids=[f"{name}/{log.name}" for name, log in FIXTURE_LOGS]
)
def test_fixture_parses_as_its_golden(format_name: str, log: Path) -> None:
    run, frame = parse_run(log, **fixture_options(log))
    # detected (or, with options, told) as the format its folder names
    assert run.format_name == format_name
    assert set(frame["source"].drop_nulls()) == {format_name}
    # every line is counted once, as one kind
    assert (
        run.counts.lines
        == frame.height
        == run.counts.records + run.counts.rejected + run.counts.comments + run.counts.blank
    )
    check_golden(golden_of(log), golden_csv(frame, format_name))


@pytest.mark.parametrize("format", FORMATS, ids=lambda format: format.name)
def test_every_format_has_fixtures(format: Format) -> None:
    assert data_files(FIXTURES / format.name), f"no logs in fixtures/{format.name}/"


def test_every_fixture_folder_is_a_format() -> None:
    """A folder no format is named after would be read by no test."""
    folders = {
        path.name for path in FIXTURES.iterdir() if path.is_dir() and path != REPORT_FIXTURES
    }
    assert folders <= set(BY_NAME), sorted(folders - set(BY_NAME))
