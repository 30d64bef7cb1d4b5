"""A run that parsed no line, or whose records mostly have no status, says so loudly and
exits 5; its --fail-if rules never say "ok"; its --state is not committed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logstat.errors import ExitCode
from logstat.read_health import MOST, doubt
from tests.helpers import REPO, run_cli

SAMPLE = REPO / "samples" / "nginx-access.log"
LINES = SAMPLE.read_text().splitlines()
_STATUS = re.compile(r'" \d{3} ')  # after the request line


def _without_status(lines: list[str], count: int) -> list[str]:
    """The lines, the first `count` with their status replaced by `-` (no status)."""
    changed = [_STATUS.sub('" - ', line, count=1) for line in lines[:count]]
    assert all('" - ' in line for line in changed)
    return changed + lines[count:]


def _log(tmp_path: Path, lines: list[str], name: str = "a.log") -> Path:
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_no_line_parsed_is_exit_5_with_the_summary_still_shown(tmp_path: Path) -> None:
    log = _log(tmp_path, ["this is not", "an access log"])
    code, out, err = run_cli(str(log), "--format", "nginx")
    assert code == ExitCode.UNPARSED
    assert "0 parsed, 2 rejected" in out  # the summary says why
    assert err.startswith("logstat: error: none of the 2 lines read parsed")
    assert err.count("\n") == 1


def test_most_records_without_a_status_is_exit_5(tmp_path: Path) -> None:
    log = _log(tmp_path, _without_status(LINES[:100], 51))
    code, _, err = run_cli(str(log))
    assert code == ExitCode.UNPARSED, err
    assert "51 of 100 records (51.0%) have no status" in err


def test_half_of_the_records_without_a_status_is_not_most(tmp_path: Path) -> None:
    log = _log(tmp_path, _without_status(LINES[:100], 50))
    code, _, err = run_cli(str(log))
    assert code == 0, err


def test_filters_do_not_hide_the_doubt(tmp_path: Path) -> None:
    """The share is of every record read, not of those the filters kept."""
    log = _log(tmp_path, _without_status(LINES[:100], 80))
    code, _, err = run_cli(str(log), "--status", "2xx")
    assert code == ExitCode.UNPARSED, err


@pytest.mark.parametrize("view", [[], ["--markdown"], ["--json"]])
def test_fail_if_never_says_ok_on_such_a_run(tmp_path: Path, view: list[str]) -> None:
    log = _log(tmp_path, _without_status(LINES[:100], 90))
    code, out, err = run_cli(str(log), "--fail-if", "5xx > 50%", *view)
    assert code == ExitCode.UNPARSED, err
    assert "--fail-if rules not judged" in err
    if view == ["--json"]:
        [alert] = json.loads(out)["alerts"]
        assert alert["unjudged"] and "have no status" in alert["unjudged"]
    else:
        rule_line = next(line for line in out.splitlines() if "5xx > 50%" in line)
        assert "NOT JUDGED" in rule_line
        assert "ok" not in rule_line.split()


def test_a_judged_rule_has_no_reason(tmp_path: Path) -> None:
    code, out, err = run_cli(str(SAMPLE), "--fail-if", "5xx > 50%", "--json")
    assert code == 0, err
    [alert] = json.loads(out)["alerts"]
    assert alert["unjudged"] is None


def test_such_a_run_does_not_commit_the_state(tmp_path: Path) -> None:
    """Its lines are read again once the format is fixed."""
    log = _log(tmp_path, ["this is not", "an access log"])
    state = tmp_path / "x.state"
    code, _, _ = run_cli(str(log), "--format", "nginx", "--state", str(state))
    assert code == ExitCode.UNPARSED
    assert not state.exists()


@pytest.mark.parametrize("lines", [[], ["#Software: Microsoft Internet Information Services 10.0"]])
def test_nothing_to_parse_is_no_doubt(tmp_path: Path, lines: list[str]) -> None:
    """An empty file, or one with only comment lines, read nothing wrong."""
    log = _log(tmp_path, lines, "u_ex240101.log")
    code, _, err = run_cli(str(log), "--format", "iis")
    assert code == 0, err


@given(
    records=st.integers(0, 10_000),
    rejected=st.integers(0, 10_000),
    data=st.data(),
)
def test_doubt_follows_its_rule(records: int, rejected: int, data: st.DataObject) -> None:
    without_status = data.draw(st.integers(0, records))
    found = doubt(records, rejected, without_status)
    expected = (records == 0 and rejected > 0) or (records > 0 and without_status / records > MOST)
    assert (found is not None) == expected


# export, ingest and dashboard: the same rule, said the same way


def test_export_of_unparsed_lines_is_exit_5_with_the_rows_written(tmp_path: Path) -> None:
    log = _log(tmp_path, _without_status(LINES[:100], 90))
    target = tmp_path / "out.csv"
    code, _, err = run_cli("export", str(log), "-o", str(target))
    assert code == ExitCode.UNPARSED, err
    assert "90 of 100 records (90.0%) have no status" in err
    assert "wrote 100 rows" in err  # what was read is there to look at
    assert len(target.read_text().splitlines()) == 101
    # to stdout too: the rows out, the doubt on stderr
    code, out, err = run_cli("export", str(log), "-o", "-")
    assert code == ExitCode.UNPARSED and len(out.splitlines()) == 101, err


def test_ingest_of_unparsed_lines_adds_nothing_and_is_exit_5(tmp_path: Path) -> None:
    """Rows read with the wrong format would stay in the dataset, and its record would
    take their lines as read: none go in, and the right format adds them all later."""
    import polars as pl

    log = _log(tmp_path, _without_status(LINES[:100], 90))
    root = tmp_path / "dataset"
    code, _, err = run_cli("ingest", str(log), "--to", str(root))
    assert code == ExitCode.UNPARSED, err
    assert err.startswith("logstat: error: 90 of 100 records (90.0%) have no status")
    assert "nothing was added" in err and err.count("\n") == 1
    assert not list(root.rglob("*.parquet"))
    code, _, err = run_cli("ingest", str(_log(tmp_path, LINES[:100], "b.log")), "--to", str(root))
    assert code == 0, err
    stored = pl.scan_parquet(root / "**" / "*.parquet", hive_partitioning=True).collect()
    assert stored.height == 100


def test_ingest_of_lines_that_do_not_parse_is_exit_5(tmp_path: Path) -> None:
    log = _log(tmp_path, ["this is not", "an access log"])
    code, _, err = run_cli("ingest", str(log), "--to", str(tmp_path / "d"), "--format", "nginx")
    assert code == ExitCode.UNPARSED, err
    assert "none of the 2 lines read parsed" in err


def test_dashboard_of_unparsed_lines_says_so_on_the_page_and_exits_5(tmp_path: Path) -> None:
    log = _log(tmp_path, _without_status(LINES[:100], 90))
    page = tmp_path / "report.html"
    code, _, err = run_cli("dashboard", str(log), "-o", str(page))
    assert code == ExitCode.UNPARSED, err
    assert "90 of 100 records (90.0%) have no status" in err
    found = re.search(r'id="logstat-data">(.*?)</script>', page.read_text())
    assert found is not None
    assert "have no status" in json.loads(found.group(1))["in_doubt"]
    code, _, err = run_cli("dashboard", str(SAMPLE), "-o", str(page))
    assert code == 0, err
    found = re.search(r'id="logstat-data">(.*?)</script>', page.read_text())
    assert found is not None and json.loads(found.group(1))["in_doubt"] is None
