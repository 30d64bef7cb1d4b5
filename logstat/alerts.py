"""`--fail-if` rules: a small explicit grammar, evaluated on the final counts.

    rule      := [SOURCE ":"] ["upstream" " "] SELECTOR OPERATOR NUMBER ["%"]
               | [SOURCE ":"] ["upstream" " "] SELECTOR ["rate" " "] DIRECTION FACTOR "x"
    SELECTOR  := status terms as in --status (5xx, 499, 400-403, comma-separated)
               | "requests"            (records after filters; counts only)
               | "rejected"            (lines that did not parse; % of lines read)
    OPERATOR  := ">" | ">=" | "<" | "<="
    DIRECTION := "up" | "down"

Examples: `5xx > 2%`, `499 > 100`, `alb:460 > 0`, `upstream 5xx > 1%`,
`requests < 1`, `rejected > 0.5%`; and rules on a change, judged against an earlier
period (`summary --compare`, `diff`; logstat/change_alerts.py): `5xx rate up 3x`,
`requests down 2x`.

A percentage is of the records after filters, within the rule's scope: a
`SOURCE:` prefix narrows both the matching records and the total to that
source.  `upstream` matches the status the server behind the proxy answered
(ALB target, Cloudflare origin, nginx `$upstream_status`) instead of the status
the client got.  Comparisons are exact (rational arithmetic), so `5xx > 2%`
does not trip at exactly 2%.  No `eval`: the grammar is the regex below.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction

import polars as pl

from logstat import schema
from logstat.filters import StatusTerm, any_term, parse_status_terms, usage
from logstat.report.model import AlertResult, FileSummary

_RULE = re.compile(
    r"""^\s*
    (?:(?P<source>[a-z][a-z0-9_-]*)\s*:\s*)?
    (?:(?P<upstream>upstream)\s+)?
    (?P<selector>[0-9a-z,\s-]+?)\s*
    (?P<operator>>=|<=|>|<)\s*
    (?P<number>\d+(?:\.\d+)?)\s*
    (?P<percent>%)?
    \s*$""",
    re.IGNORECASE | re.VERBOSE,
)
OPERATORS: dict[str, Callable[[Fraction, Fraction], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
REQUESTS = "requests"
REJECTED = "rejected"
# a rule on a change: the share (a count for `requests`) N times what it was before
_CHANGE = re.compile(
    r"""^\s*
    (?:(?P<source>[a-z][a-z0-9_-]*)\s*:\s*)?
    (?:(?P<upstream>upstream)\s+)?
    (?P<selector>[0-9a-z,\s-]+?)\s+
    (?:rate\s+)?
    (?P<direction>up|down)\s+
    (?P<number>\d+(?:\.\d+)?)\s*x
    \s*$""",
    re.IGNORECASE | re.VERBOSE,
)
EXAMPLE = "e.g. '5xx > 2%', '499 > 100', 'alb:460 > 0', 'upstream 5xx > 1%', '5xx rate up 3x'"
CHANGE_NEEDS_TWO = "compares two periods: use it with --compare, or in logstat diff"


@dataclass(frozen=True)
class Rule:
    text: str
    source: str | None  # None: every source
    upstream: bool
    selector: str  # "status", REQUESTS or REJECTED
    terms: tuple[StatusTerm, ...]
    operator: str  # "" for a rule on a change
    threshold: Fraction  # the factor of a rule on a change
    percent: bool
    direction: str | None = None  # up or down: a rule on a change; None: on one period


def parse_rule(text: str, known_sources: Iterable[str] | None = None) -> Rule:
    """One --fail-if value -> Rule; a usage error that names the rule otherwise."""
    found = _RULE.match(text) or _CHANGE.match(text)
    if not found:
        raise usage(
            f"--fail-if {text!r}: expected [SOURCE:][upstream ]STATUSES OP NUMBER[%] "
            f"with OP one of > >= < <=, or STATUSES [rate ]up|down FACTORx; {EXAMPLE}"
        )
    groups = found.groupdict()
    source = found.group("source")
    if source is not None:
        source = source.lower()
        if known_sources is not None and source not in set(known_sources):
            known = ", ".join(sorted(known_sources))
            raise usage(f"--fail-if {text!r}: unknown source {source!r}; known: {known}")
    upstream = found.group("upstream") is not None
    words = found.group("selector").strip().lower()
    percent = groups.get("percent") is not None
    direction = groups.get("direction")
    threshold = Fraction(found.group("number"))
    if percent and threshold > 100:
        raise usage(f"--fail-if {text!r}: a percentage cannot be above 100%")
    if direction is not None:
        direction = direction.lower()
        if threshold < 1:
            raise usage(f"--fail-if {text!r}: the factor is 1 or more ('down 2x': halved)")
        if words == REJECTED:
            raise usage(f"--fail-if {text!r}: a change applies to statuses or requests")
    terms: tuple[StatusTerm, ...] = ()
    if words in (REQUESTS, REJECTED):
        selector = words
        if upstream:
            raise usage(f"--fail-if {text!r}: 'upstream' applies to status codes, not {words}")
        if selector == REQUESTS and percent:
            raise usage(f"--fail-if {text!r}: 'requests' takes a count, not a percentage")
    else:
        selector = "status"
        terms = parse_status_terms([words], where=f"--fail-if {text!r}")
    return Rule(
        text=" ".join(text.split()),
        source=source,
        upstream=upstream,
        selector=selector,
        terms=terms,
        operator=groups.get("operator") or "",
        threshold=threshold,
        percent=percent,
        direction=direction,
    )


def parse_rules(
    texts: Sequence[str], known_sources: Iterable[str] | None = None
) -> tuple[Rule, ...]:
    known = None if known_sources is None else tuple(known_sources)
    return tuple(parse_rule(text, known) for text in texts)


def evaluate(
    rules: Sequence[Rule], counts: pl.DataFrame, files: Sequence[FileSummary]
) -> list[AlertResult]:
    """Measure each rule.

    `counts` holds the records after filters grouped by (at least) source,
    status, status_class and upstream_status with a `count` column; `files`
    gives lines read and rejected per file (for `rejected` rules).
    """
    return [_evaluate(rule, counts, files) for rule in rules]


def _evaluate(rule: Rule, counts: pl.DataFrame, files: Sequence[FileSummary]) -> AlertResult:
    if rule.selector == REJECTED:
        scoped_files = [file for file in files if rule.source in (None, file.source)]
        count = sum(file.rejected for file in scoped_files)
        total = sum(file.lines for file in scoped_files)
    else:
        scoped = counts if rule.source is None else counts.filter(pl.col("source") == rule.source)
        total = int(scoped["count"].sum()) if scoped.height else 0
        if rule.selector == REQUESTS:
            count = total
        else:
            matched = matching(rule, scoped)
            count = int(matched["count"].sum()) if matched.height else 0
    if rule.percent:
        measured = Fraction(count * 100, total) if total else Fraction(0)
    else:
        measured = Fraction(count)
    return AlertResult(
        rule=rule.text,
        tripped=OPERATORS[rule.operator](measured, rule.threshold),
        count=count,
        total=total,
        of="lines" if rule.selector == REJECTED else "records",
        measured=round(float(measured), 6),
        percent=rule.percent,
    )


def matching(rule: Rule, counts: pl.DataFrame) -> pl.DataFrame:
    """The rows of `counts` whose status (upstream status for an upstream rule) the
    rule's terms select; `counts` has status and status_class, or upstream_status."""
    status = pl.col("upstream_status" if rule.upstream else "status")
    status_class = (
        schema.status_class_expression(status) if rule.upstream else pl.col("status_class")
    )
    matched = counts.filter(any_term(rule.terms, status, status_class))
    # no upstream status at all is not an upstream 'none': that class needs a status
    return matched.filter(status.is_not_null()) if rule.upstream else matched


def withhold(results: Sequence[AlertResult], reason: str) -> list[AlertResult]:
    """The results of a run whose counts are in doubt (read_health): none says "ok"."""
    return [replace(result, unjudged=reason) for result in results]


MOST_DECIMALS = 20  # a share of counts below 10**18 differs from a threshold by then


def shown_percent(result: AlertResult) -> str:
    """A % rule's measure as `2.67%`: two decimals, or as many more as it takes not to
    look like what it is not.  A share that is not zero never shows as 0.00% (1 of a
    million is 0.0001%), nor one short of all as 100.00%, and a share beside the
    threshold compares with it as the exact share does (2.004% against `> 2%` shows
    as 2.004%, not as 2.00%, which would not exceed 2%)."""
    exact = Fraction(result.count * 100, result.total) if result.total else Fraction(0)
    threshold = parse_rule(result.rule).threshold
    for decimals in range(2, MOST_DECIMALS + 1):
        text = _decimal(exact, decimals)
        shown = Fraction(text)
        misleading = (
            (shown == 0 < exact)
            or (exact < 100 == shown)
            or _sign(shown - threshold) != _sign(exact - threshold)
        )
        if not misleading:
            break
    return text + "%"


def _decimal(value: Fraction, decimals: int) -> str:
    with localcontext() as context:
        context.prec = 60
        exact = Decimal(value.numerator) / Decimal(value.denominator)
        return str(exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN))


def _sign(value: Fraction) -> int:
    return (value > 0) - (value < 0)


def change_text(result: AlertResult) -> str:
    """A rule on a change as measured: `2.67% against 0.40% before (6.7x, z +4.0)`."""
    change = result.change
    assert change is not None
    if result.percent:
        before = Fraction(change.before * 100, change.before_total) if change.before_total else 0
        after = Fraction(result.count * 100, result.total) if result.total else 0
        shown = f"{_decimal(Fraction(after), 2)}% against {_decimal(Fraction(before), 2)}% before"
    else:
        shown = f"{result.count:,} against {change.before:,} before"
    ratio = "new" if change.ratio is None else f"{change.ratio:.2f}x"
    z = "no records" if change.z is None else f"z {change.z:+.1f}"
    return f"{shown} ({ratio}, {z})"


def describe(result: AlertResult) -> str:
    """`5xx > 2%: measured 2.67% (16 of 600 records)`, for stderr and the views."""
    if result.change is not None:
        return f"{result.rule}: measured {change_text(result)}"
    if result.percent:
        return (
            f"{result.rule}: measured {shown_percent(result)} "
            f"({result.count:,} of {result.total:,} {result.of})"
        )
    return f"{result.rule}: measured {result.count:,} {result.of}"
