"""--fail-if: the rule grammar, exact evaluation, and exit code 4 after all outputs."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from logstat import schema
from logstat.alerts import Rule, describe, evaluate, parse_rule, shown_percent
from logstat.errors import ExitCode, LogstatError
from logstat.report.model import FileSummary
from tests.helpers import START, Record, run_cli, write_requests

SOURCES = ("nginx", "apache", "alb")


@pytest.mark.parametrize(
    ("text", "source", "upstream", "selector", "terms", "operator", "threshold", "percent"),
    [
        ("5xx > 2%", None, False, "status", ["5xx"], ">", Fraction(2), True),
        ("499 > 100", None, False, "status", ["499"], ">", Fraction(100), False),
        ("alb:460 > 0", "alb", False, "status", ["460"], ">", Fraction(0), False),
        ("upstream 5xx > 1%", None, True, "status", ["5xx"], ">", Fraction(1), True),
        ("5xx,499>=0.5%", None, False, "status", ["5xx", "499"], ">=", Fraction(1, 2), True),
        ("  NGINX : Upstream 500-504 <= 7  ", "nginx", True, "status", ["500-504"], "<=", 7, False),
        ("requests < 1", None, False, "requests", [], "<", Fraction(1), False),
        ("apache:rejected > 0.1%", "apache", False, "rejected", [], ">", Fraction(1, 10), True),
    ],
)
def test_grammar(
    text: str,
    source: str | None,
    upstream: bool,
    selector: str,
    terms: list[str],
    operator: str,
    threshold: Fraction,
    percent: bool,
) -> None:
    rule = parse_rule(text, SOURCES)
    assert (rule.source, rule.upstream, rule.selector) == (source, upstream, selector)
    assert [term.text for term in rule.terms] == terms
    assert (rule.operator, rule.threshold, rule.percent) == (operator, threshold, percent)
    assert rule.text == " ".join(text.split())


@pytest.mark.parametrize(
    "text",
    [
        "5xx >> 2%",
        "5xx > ",
        "> 2%",
        "5xx = 2",
        "5xx > 2%%",
        "5xx > -1",
        "5xx > 101%",
        "requests > 5%",
        "upstream rejected > 1",
        "4x > 1",
        "nosuch:5xx > 1",
        "5xx > 2% or 499 > 1",
        "__import__('os') > 1",
        "",
    ],
)
def test_malformed_rules_are_usage_errors_naming_the_rule(text: str) -> None:
    with pytest.raises(LogstatError) as raised:
        parse_rule(text, SOURCES)
    assert raised.value.exit_code == ExitCode.USAGE
    assert raised.value.message.startswith(f"--fail-if {text!r}")


def counts(rows: list[tuple[str, int | None, int | None, int]]) -> pl.DataFrame:
    """(source, status, upstream_status, count) -> the builder's status counts shape."""
    frame = pl.DataFrame(
        rows,
        schema={
            "source": pl.String,
            "status": pl.Int16,
            "upstream_status": pl.Int16,
            "count": pl.UInt32,
        },
        orient="row",
    )
    return frame.with_columns(
        schema.status_class_expression(pl.col("status")).alias("status_class")
    )


def one(
    text: str, frame: pl.DataFrame, files: list[FileSummary] | None = None
) -> tuple[bool, int, int, float]:
    (result,) = evaluate([parse_rule(text, SOURCES)], frame, files or [])
    return result.tripped, result.count, result.total, result.measured


SAMPLE = counts(
    [
        ("nginx", 200, 200, 90),
        ("nginx", 502, None, 4),
        ("nginx", 502, 502, 2),
        ("nginx", 499, None, 4),
        ("alb", 460, None, 3),
        ("alb", 200, 200, 97),
    ]
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5xx > 3%", (False, 6, 200, 3.0)),  # exactly 3% does not exceed 3%
        ("5xx >= 3%", (True, 6, 200, 3.0)),
        ("5xx < 3%", (False, 6, 200, 3.0)),
        ("5xx <= 3%", (True, 6, 200, 3.0)),
        ("nginx:5xx > 5%", (True, 6, 100, 6.0)),  # the percentage of that source's records
        ("499 > 3", (True, 4, 200, 4.0)),
        ("499 > 4", (False, 4, 200, 4.0)),
        ("alb:460 > 0", (True, 3, 100, 3.0)),
        ("nginx:460 > 0", (False, 0, 100, 0.0)),
        ("upstream 5xx > 0.9%", (True, 2, 200, 1.0)),  # status 502 with no upstream: not counted
        ("upstream 2xx >= 187", (True, 187, 200, 187.0)),
        ("requests < 201", (True, 200, 200, 200.0)),
        ("alb:requests < 100", (False, 100, 100, 100.0)),
        ("4xx,5xx > 4.99%", (True, 13, 200, 6.5)),
    ],
)
def test_evaluation(text: str, expected: tuple[bool, int, int, float]) -> None:
    assert one(text, SAMPLE) == expected


def test_percentages_of_no_records_are_zero() -> None:
    assert one("5xx > 0%", counts([])) == (False, 0, 0, 0.0)
    assert one("5xx <= 0%", counts([])) == (True, 0, 0, 0.0)


def file_summary(source: str | None, lines: int, rejected: int) -> FileSummary:
    return FileSummary("f", source, None, None, None, lines, lines - rejected, rejected, 0, 0)


def test_rejected_lines_are_a_share_of_lines_read() -> None:
    files = [file_summary("nginx", 1000, 3), file_summary(None, 10, 10), file_summary("alb", 90, 0)]
    assert one("rejected > 1%", SAMPLE, files) == (True, 13, 1100, round(1300 / 1100, 6))
    assert one("alb:rejected > 0", SAMPLE, files) == (False, 0, 90, 0.0)


@given(
    matching=st.integers(0, 1000),
    others=st.integers(0, 1000),
    threshold=st.decimals(0, 100, places=3),
    operator=st.sampled_from([">", ">=", "<", "<="]),
)
def test_percent_comparisons_are_exact(
    matching: int, others: int, threshold: object, operator: str
) -> None:
    frame = counts([("nginx", 500, None, matching), ("nginx", 200, None, others)])
    rule: Rule = parse_rule(f"5xx {operator} {threshold}%", SOURCES)
    (result,) = evaluate([rule], frame, [])
    total = matching + others
    share = Fraction(matching * 100, total) if total else Fraction(0)
    limit = Fraction(str(threshold))
    expected = {
        ">": share > limit,
        ">=": share >= limit,
        "<": share < limit,
        "<=": share <= limit,
    }[operator]
    assert result.tripped is expected


def test_description_says_rule_and_measure() -> None:
    (percent, count) = evaluate(
        [parse_rule("5xx > 2%", SOURCES), parse_rule("499 > 1", SOURCES)], SAMPLE, []
    )
    assert describe(percent) == "5xx > 2%: measured 3.00% (6 of 200 records)"
    assert describe(count) == "499 > 1: measured 4 records"


@pytest.mark.parametrize(
    ("rule", "matching", "total", "shown"),
    [
        ("5xx > 2%", 16, 600, "2.67%"),
        ("5xx > 0%", 1, 1_000_000, "0.0001%"),  # not zero: never 0.00%
        ("5xx > 0.5%", 3, 1_000_000, "0.0003%"),
        ("5xx < 100%", 999_999, 1_000_000, "99.9999%"),  # not all: never 100.00%
        ("5xx > 2%", 2_004, 100_000, "2.004%"),  # tripped: not shown as 2.00%
        ("5xx >= 2%", 1_999, 100_000, "1.999%"),  # not tripped: not shown as 2.00%
        ("5xx > 2%", 2, 100, "2.00%"),  # exactly the threshold
        ("5xx > 33.34%", 1, 3, "33.33%"),  # below, and shown below: two decimals do
        ("5xx > 33.333%", 1, 3, "33.3333%"),  # above: 33.33% and 33.333% would not look it
        ("5xx > 1%", 0, 0, "0.00%"),
    ],
)
def test_a_measured_share_never_looks_like_what_it_is_not(
    rule: str, matching: int, total: int, shown: str
) -> None:
    frame = counts([("nginx", 500, None, matching), ("nginx", 200, None, total - matching)])
    (result,) = evaluate([parse_rule(rule, SOURCES)], frame, [])
    assert shown_percent(result) == shown
    assert describe(result).startswith(f"{rule}: measured {shown} (")


@given(
    matching=st.integers(0, 10**7),
    others=st.integers(0, 10**7),
    threshold=st.decimals(0, 100, places=4),
    operator=st.sampled_from([">", ">=", "<", "<="]),
)
def test_the_shown_share_compares_with_the_threshold_as_the_exact_one(
    matching: int, others: int, threshold: object, operator: str
) -> None:
    frame = counts([("nginx", 500, None, matching), ("nginx", 200, None, others)])
    (result,) = evaluate([parse_rule(f"5xx {operator} {threshold}%", SOURCES)], frame, [])
    shown = Fraction(shown_percent(result).removesuffix("%"))
    limit = Fraction(str(threshold))
    verdict = {">": shown > limit, ">=": shown >= limit, "<": shown < limit, "<=": shown <= limit}
    assert verdict[operator] is result.tripped
    total = matching + others
    if 0 < matching < total:
        assert 0 < shown < 100


# Command line


def alerting_log(tmp_path: Path) -> Path:
    statuses = [200] * 96 + [502, 502, 503, 499]
    records = [Record("h", "192.0.2.1", START, "GET", "/", status, "x") for status in statuses]
    return write_requests(tmp_path / "apache_access.log", records)


def test_a_tripped_rule_exits_4_after_writing_every_output(tmp_path: Path) -> None:
    log = alerting_log(tmp_path)
    prom = tmp_path / "logstat.prom"
    code, out, err = run_cli(
        str(log),
        "--json",
        "--prometheus",
        str(prom),
        "--fail-if",
        "5xx > 2%",
        "--fail-if",
        "499 > 5",
        "--fail-if",
        "5xx >= 3%",
        in_process=True,
    )
    assert code == ExitCode.ALERT
    data = json.loads(out)  # the whole document was written
    assert [alert["tripped"] for alert in data["alerts"]] == [True, False, True]
    assert prom.read_text().startswith("# HELP")
    assert err.splitlines() == [
        "logstat: fail-if: 5xx > 2%: measured 3.00% (3 of 100 records)",
        "logstat: fail-if: 5xx >= 3%: measured 3.00% (3 of 100 records)",
    ]


def test_rules_that_hold_exit_0(tmp_path: Path) -> None:
    code, out, err = run_cli(str(alerting_log(tmp_path)), "--fail-if", "5xx > 5%", in_process=True)
    assert code == 0 and err == ""
    assert "Fail-if rules" in out and "5xx > 5%  3.00% (3 of 100)  ok" in out


def test_percentages_are_of_the_records_after_filters(tmp_path: Path) -> None:
    log = alerting_log(tmp_path)
    code, _, err = run_cli(
        str(log), "--status", "5xx,499", "--fail-if", "5xx > 70%", in_process=True
    )
    assert code == ExitCode.ALERT and "measured 75.00% (3 of 4 records)" in err


def test_a_malformed_rule_exits_2_before_reading(tmp_path: Path) -> None:
    code, out, err = run_cli(
        str(tmp_path / "missing.log"), "--fail-if", "5xx >> 2%", in_process=True
    )
    assert code == ExitCode.USAGE and out == ""
    assert err.startswith("logstat: error: --fail-if '5xx >> 2%'")
