"""--fail-if rules on a change (`5xx rate up 3x`): grammar, the ratio and the noise
test, and `summary --compare` / `diff` exiting 4 when one holds."""

from __future__ import annotations

import json
import math
from datetime import timedelta
from fractions import Fraction
from importlib.resources import files
from pathlib import Path
from typing import Any, cast

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logstat.alerts import parse_rule
from logstat.change_alerts import evaluate_changes
from logstat.errors import ExitCode
from logstat.report.diff import DIFF_SCHEMA_RESOURCE, z_score
from logstat.report.model import SCHEMA_RESOURCE
from logstat.summary import ReportSettings
from tests.helpers import START, Record, run_cli, summarise, write_requests


def schema_of(resource: str) -> dict[str, Any]:
    return cast(dict[str, Any], json.loads(files("logstat").joinpath(resource).read_text("utf-8")))


DIFF_SCHEMA = schema_of(DIFF_SCHEMA_RESOURCE)
SUMMARY_SCHEMA = schema_of(SCHEMA_RESOURCE)
SUMMARY_ALERT = jsonschema.Draft202012Validator(
    {**SUMMARY_SCHEMA["properties"]["alerts"]["oneOf"][1], "$defs": SUMMARY_SCHEMA["$defs"]}
)


@pytest.mark.parametrize(
    ("text", "selector", "upstream", "source", "direction", "factor"),
    [
        ("5xx rate up 3x", "status", False, None, "up", Fraction(3)),
        ("502 up 2x", "status", False, None, "up", Fraction(2)),
        ("requests down 2x", "requests", False, None, "down", Fraction(2)),
        ("  ALB : upstream 5xx,499 rate UP 1.5 x ", "status", True, "alb", "up", Fraction(3, 2)),
    ],
)
def test_grammar(
    text: str,
    selector: str,
    upstream: bool,
    source: str | None,
    direction: str,
    factor: Fraction,
) -> None:
    rule = parse_rule(text, ("alb", "nginx"))
    assert (rule.selector, rule.upstream, rule.source) == (selector, upstream, source)
    assert (rule.direction, rule.threshold, rule.operator) == (direction, factor, "")


@pytest.mark.parametrize("text", ["5xx up 0.5x", "rejected up 2x", "5xx sideways 2x", "5xx up x"])
def test_malformed_change_rules_are_usage_errors(text: str) -> None:
    code, out, err = run_cli("samples/nginx-access.log", "--compare", "1h", "--fail-if", text)
    assert code == ExitCode.USAGE and out == "" and f"--fail-if {text!r}" in err


def period(tmp_path: Path, name: str, errors: int, total: int, hour: int) -> Path:
    statuses = [502] * errors + [200] * (total - errors)
    moment = START + timedelta(hours=hour)
    records = [Record("h", "192.0.2.1", moment, "GET", "/", code, "x") for code in statuses]
    return write_requests(tmp_path / name, records)


def judged(tmp_path: Path, rule: str, before: tuple[int, int], after: tuple[int, int]) -> bool:
    first = summarise([period(tmp_path, "before.log", *before, 0)], ReportSettings())
    second = summarise([period(tmp_path, "after.log", *after, 1)], ReportSettings())
    [result] = evaluate_changes([parse_rule(rule)], first, second, threshold=3.0, min_count=10)
    return result.tripped


@settings(max_examples=40, deadline=None)
@given(
    before=st.tuples(st.integers(0, 60), st.integers(60, 400)),
    after=st.tuples(st.integers(0, 60), st.integers(60, 400)),
    factor=st.sampled_from([Fraction(1), Fraction(3, 2), Fraction(3)]),
)
def test_a_rise_trips_when_the_share_grew_by_the_factor_and_beyond_noise(
    tmp_path_factory: pytest.TempPathFactory,
    before: tuple[int, int],
    after: tuple[int, int],
    factor: Fraction,
) -> None:
    tmp_path = tmp_path_factory.mktemp("change")
    old, new = Fraction(*before), Fraction(*after)
    z = z_score(before[0], before[1], after[0], after[1])
    expected = (
        new > 0
        and new >= factor * old
        and z is not None
        and z >= 3
        and max(before[0], after[0]) >= 10
    )
    assert (
        judged(tmp_path, f"5xx rate up {factor.numerator / factor.denominator}x", before, after)
        == expected
    )
    down = new * factor <= old and old > 0 and z is not None and z <= -3
    assert judged(tmp_path, f"502 down {float(factor)}x", before, after) == (
        down and max(before[0], after[0]) >= 10
    )


def test_a_few_errors_more_are_noise(tmp_path: Path) -> None:
    # 3 times the share, but 1 error against 3: not news
    assert not judged(tmp_path, "5xx rate up 3x", (1, 100), (3, 100))
    assert judged(tmp_path, "5xx rate up 3x", (10, 1000), (40, 1000))


def test_requests_compare_counts_with_a_poisson_test(tmp_path: Path) -> None:
    assert judged(tmp_path, "requests down 2x", (0, 400), (0, 150))
    assert not judged(tmp_path, "requests down 2x", (0, 400), (0, 250))
    # 20 against 12: down 1.67x, z = -8 / sqrt(32) = -1.4: noise
    assert not judged(tmp_path, "requests down 1.5x", (0, 20), (0, 12))
    assert math.isclose(-8 / math.sqrt(32), -1.414, abs_tol=1e-3)


def test_diff_exits_4_and_says_which_rule_held(tmp_path: Path) -> None:
    before = period(tmp_path, "before.log", 5, 500, 0)
    after = period(tmp_path, "after.log", 50, 500, 1)
    code, out, err = run_cli(
        "diff",
        before,
        after,
        "--json",
        "--fail-if",
        "5xx rate up 3x",
        "--fail-if",
        "requests up 2x",
    )
    assert code == ExitCode.ALERT
    document = json.loads(out)
    jsonschema.Draft202012Validator(DIFF_SCHEMA).validate(document)
    alerts = document["alerts"]
    for alert in alerts:  # each is a summary's alert, as its schema says
        SUMMARY_ALERT.validate([alert])
    assert [alert["tripped"] for alert in alerts] == [True, False]
    z = (50 / 500 - 5 / 500) / math.sqrt(0.055 * 0.945 * (1 / 500 + 1 / 500))  # pooled: 55/1000
    assert alerts[0]["change"] == {
        "before": 5,
        "before_total": 500,
        "ratio": 10.0,
        "z": round(z, 3),
    }
    assert err.splitlines() == [
        "logstat: fail-if: 5xx rate up 3x: measured 10.00% against 1.00% before (10.00x, z +6.2)"
    ]


def test_diff_takes_rules_on_a_change_only(tmp_path: Path) -> None:
    log = period(tmp_path, "one.log", 5, 100, 0)
    code, _, err = run_cli("diff", log, log, "--fail-if", "5xx > 1%")
    assert code == ExitCode.USAGE and "diff judges rules on a change" in err


def test_summary_needs_two_periods_for_a_change(tmp_path: Path) -> None:
    log = period(tmp_path, "one.log", 5, 100, 0)
    code, _, err = run_cli(log, "--fail-if", "5xx rate up 3x")
    assert code == ExitCode.USAGE and "compares two periods" in err


def test_compare_judges_the_last_window_against_the_one_before(tmp_path: Path) -> None:
    before = period(tmp_path, "a.log", 5, 500, 0)
    after = period(tmp_path, "b.log", 60, 500, 1)
    logs = tmp_path / "both.log"
    logs.write_text(before.read_text() + after.read_text())
    code, out, err = run_cli(
        logs, "--compare", "1h", "--json", "--fail-if", "5xx rate up 3x", "--fail-if", "5xx > 50%"
    )
    assert code == ExitCode.ALERT, err
    summary = json.loads(out)["summary"]
    jsonschema.Draft202012Validator(SUMMARY_SCHEMA).validate(summary)
    alerts = summary["alerts"]
    assert [alert["rule"] for alert in alerts] == ["5xx > 50%", "5xx rate up 3x"]
    assert [alert["tripped"] for alert in alerts] == [False, True]
    assert alerts[1]["count"] == 60 and alerts[1]["change"]["before"] == 5
