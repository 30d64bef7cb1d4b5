"""`logstat diff` and `logstat.diff`: counts, shares and z on hand-computed examples,
the properties any difference has, summary files read back, the command's exits."""

from __future__ import annotations

import json
import math
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import logstat
from logstat.errors import LogstatError
from logstat.report.diff import DIFF_SCHEMA_RESOURCE, Change, Difference, z_score
from logstat.report.diff_text import render_plain
from logstat.report.model import ClassRow, StatusRow, Summary, Totals
from logstat.report.summary_file import is_summary_file, summary_from_json
from logstat.status import status_class
from tests.helpers import REPORT_FIXTURES, assert_one_line_error, run_cli, write_log

VHOSTS = REPORT_FIXTURES / "apache_vhosts.log"
SCHEMA = json.loads(resources.files("logstat").joinpath(DIFF_SCHEMA_RESOURCE).read_text("utf-8"))


def summary_of(counts: dict[int, int], upstream: dict[int, int] | None = None) -> Summary:
    """A summary of nginx requests with these statuses (`upstream`: of them, passed on)."""
    passed = upstream or {}
    total = sum(counts.values())
    statuses = [
        StatusRow(
            source="nginx",
            status=code,
            substatus=None,
            status_class=status_class(code),
            count=count,
            share=count / total,
            name=f"name {code}",
            meaning=None,
            vendor=None,
            registered=True,
            produced_by="upstream" if passed.get(code) else None,
            proxy=count - passed.get(code, 0),
            upstream=passed.get(code, 0),
            unknown=0,
        )
        for code, count in counts.items()
        if count
    ]
    classes: dict[str, list[int]] = {}
    for row in statuses:
        tally = classes.setdefault(row.status_class, [0, 0, 0])
        tally[0] += row.count
        tally[1] += row.proxy
        tally[2] += row.upstream
    return Summary(
        totals=Totals(files=1, lines=total, records=total, rejected=0, comments=0, selected=total),
        files=[],
        rejects={},
        first=None,
        last=None,
        classes=[
            ClassRow(name, count, count / total, proxy, passed_on, 0)
            for name, (count, proxy, passed_on) in classes.items()
        ],
        statuses=statuses,
        upstream_statuses=[],
        layers=[],
        vendors=[],
    )


def changes(difference: Difference) -> dict[tuple[str, str], Change]:
    return {(change.kind, change.key): change for change in difference.changes}


# --- hand-computed examples ------------------------------------------------------------


def test_z_of_a_status_that_quadrupled() -> None:
    # 10 of 1,000 before, 40 of 1,000 after: pooled 50/2000 = 0.025,
    # z = 0.03 / sqrt(0.025 * 0.975 * 2/1000) = 0.03 / 0.0069821 = 4.2967
    assert z_score(10, 1000, 40, 1000) == pytest.approx(4.2967, abs=1e-4)
    assert z_score(40, 1000, 10, 1000) == pytest.approx(-4.2967, abs=1e-4)
    # unequal sides: 5 of 500 and 20 of 2,000 are the same share: no change at all
    assert z_score(5, 500, 20, 2000) == 0.0
    assert z_score(0, 0, 3, 10) is None  # nothing to compare with


def test_diff_counts_shares_and_flags() -> None:
    before = summary_of({200: 990, 502: 10}, upstream={502: 10})
    after = summary_of({200: 960, 502: 40}, upstream={502: 30})
    found = changes(logstat.diff(before, after))
    bad_gateway = found[("status", "502")]
    assert (bad_gateway.before, bad_gateway.after, bad_gateway.change) == (10, 40, 30)
    assert (bad_gateway.before_share, bad_gateway.after_share) == (0.01, 0.04)
    assert bad_gateway.ratio == pytest.approx(4.0)
    assert bad_gateway.z == pytest.approx(4.2967, abs=1e-4)
    assert bad_gateway.flagged and bad_gateway.direction == "up"
    assert bad_gateway.name == "name 502"
    assert found[("class", "5xx")].z == pytest.approx(4.2967, abs=1e-4)
    assert found[("class", "2xx")].z == pytest.approx(-4.2967, abs=1e-4)
    assert found[("class", "2xx")].direction == "down"
    # 30 upstream 502s of 1,000 against 10: z = 0.02 / sqrt(0.02 * 0.98 * 0.002)
    upstream = found[("producer", "5xx upstream")]
    assert (upstream.before, upstream.after) == (10, 30)
    assert upstream.z == pytest.approx(0.02 / math.sqrt(0.02 * 0.98 * 0.002))
    # 10 502s passed on after, none before: 10 requests, z 3.17: at the minimum count
    proxy = found[("producer", "5xx proxy")]
    assert (proxy.before, proxy.after, proxy.ratio) == (0, 10, None)
    assert proxy.flagged


def test_a_large_z_on_tiny_counts_is_not_flagged() -> None:
    before = summary_of({200: 10_000})
    after = summary_of({200: 9_996, 503: 4})
    unavailable = changes(logstat.diff(before, after))[("status", "503")]
    assert unavailable.z is not None and unavailable.z > 2  # 0 of 10,000 against 4
    assert not unavailable.flagged  # below --min-count 10
    assert changes(logstat.diff(before, after, min_count=4))[("status", "503")].flagged is False
    assert changes(logstat.diff(before, after, min_count=4, threshold=2))[("status", "503")].flagged


def test_bad_settings_are_usage_errors() -> None:
    same = summary_of({200: 1})
    with pytest.raises(LogstatError, match="threshold"):
        logstat.diff(same, same, threshold=0)
    with pytest.raises(LogstatError, match="min-count"):
        logstat.diff(same, same, min_count=-1)


# --- properties ------------------------------------------------------------------------

status_counts = st.dictionaries(
    st.sampled_from([200, 204, 301, 304, 400, 404, 499, 500, 502, 503]),
    st.integers(0, 5000),
    min_size=1,
).filter(lambda counts: sum(counts.values()) > 0)


@settings(max_examples=60, deadline=None)
@given(status_counts)
def test_a_summary_against_itself_changes_nothing(counts: dict[int, int]) -> None:
    summary = summary_of(counts)
    for change in logstat.diff(summary, summary).changes:
        assert change.change == 0 and change.share_change == 0
        assert change.z == 0 and not change.flagged and change.direction == "same"


@settings(max_examples=60, deadline=None)
@given(status_counts, status_counts)
def test_swapping_sides_negates_every_change(first: dict[int, int], second: dict[int, int]) -> None:
    one, other = summary_of(first), summary_of(second)
    forward = changes(logstat.diff(one, other))
    backward = changes(logstat.diff(other, one))
    assert forward.keys() == backward.keys()
    for key, change in forward.items():
        swapped = backward[key]
        assert (swapped.before, swapped.after) == (change.after, change.before)
        assert swapped.change == -change.change
        assert swapped.share_change == pytest.approx(-change.share_change)
        assert swapped.z == pytest.approx(-change.z)  # type: ignore[operator]
        assert swapped.flagged == change.flagged


# --- summary files ---------------------------------------------------------------------


def test_a_summary_file_reads_back_as_it_was_written() -> None:
    result = run_cli(
        "report", VHOSTS, "--every", "1h", "--by", "host", "--top", "2", "--json", in_process=True
    )
    document = json.loads(result.stdout)
    assert summary_from_json(document).to_json() == document


def test_summary_files_are_told_from_logs_by_content(tmp_path: Path) -> None:
    written = tmp_path / "summary.log"  # the name says nothing
    written.write_text(run_cli(VHOSTS, "--json", in_process=True).stdout, encoding="utf-8")
    json_lines = write_log(tmp_path, ['{"status": 200, "time": "2024-03-01T10:00:00Z"}'], "a.json")
    assert is_summary_file(str(written))
    assert not is_summary_file(str(json_lines)) and not is_summary_file(str(VHOSTS))
    assert not is_summary_file(str(tmp_path))


def test_a_damaged_summary_file_is_one_line(tmp_path: Path) -> None:
    document = json.loads(run_cli(VHOSTS, "--json", in_process=True).stdout)
    del document["totals"]
    damaged = tmp_path / "damaged.json"
    damaged.write_text(json.dumps(document), encoding="utf-8")
    result = run_cli("diff", damaged, VHOSTS, in_process=True)
    assert result.code == 1
    assert_one_line_error(result, "damaged.json", "totals")
    cut = tmp_path / "cut.json"
    cut.write_text('{"schema_version": 1, "totals": {', encoding="utf-8")
    assert_one_line_error(run_cli("diff", VHOSTS, cut, in_process=True), "cut.json")
    newer = tmp_path / "newer.json"
    newer.write_text('{"schema_version": 99}', encoding="utf-8")
    assert_one_line_error(run_cli("diff", newer, VHOSTS, in_process=True), "schema_version 99")


# --- the command -----------------------------------------------------------------------


def test_diff_of_logs_and_a_summary_file(tmp_path: Path) -> None:
    lines = VHOSTS.read_text(encoding="utf-8").splitlines()
    calm = write_log(tmp_path, [line for line in lines if '" 5' not in line], "calm.log")
    before = tmp_path / "before.json"
    before.write_text(
        run_cli(calm, "--by", "host", "--json", in_process=True).stdout, encoding="utf-8"
    )
    result = run_cli("diff", before, VHOSTS, "--by", "host", "--json", in_process=True)
    assert result.code == 0, result.stderr
    document = json.loads(result.stdout)
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    found = {(row["kind"], row["key"]): row for row in document["changes"]}
    server_errors = found[("class", "5xx")]
    assert server_errors["before"] == 0 and server_errors["after"] > 0
    assert any(kind == "host" for kind, _ in found)
    assert document["before"]["label"] == str(before)
    text = run_cli("diff", before, VHOSTS, in_process=True)
    assert text.code == 0 and "Status codes" in text.stdout and "z" in text.stdout


def test_the_text_fits_a_narrow_terminal() -> None:
    before = summary_of({200: 990, 502: 10})
    after = summary_of({200: 960, 502: 40})
    text = render_plain(logstat.diff(before, after), width=60)
    assert all(len(line) <= 60 for line in text.splitlines()), text
    assert "rose" in text and "|z| >= 3" in text


def test_command_errors(tmp_path: Path) -> None:
    missing = run_cli("diff", tmp_path / "nowhere.log", VHOSTS, in_process=True)
    assert missing.code != 0
    assert_one_line_error(missing, "nowhere.log")
    assert run_cli("diff", VHOSTS, VHOSTS, "--threshold", "0", in_process=True).code == 2
    assert run_cli("diff", VHOSTS, in_process=True).code == 2  # AFTER is missing
