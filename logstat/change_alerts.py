"""`--fail-if` rules on a change between two periods: `5xx rate up 3x`, `requests down 2x`.

A status rule compares the share of the records (in the rule's source, when it names
one) that have the statuses: `5xx rate up 3x` holds when the later share is at least
3 times the earlier one.  `requests` compares the counts themselves, which says
something only for periods of the same length (as `summary --compare` makes them).

A rule holds only when the change is also more than noise, by the test `logstat diff`
flags changes with (report/diff.py): a two-proportion z-test of the share (for
`requests`, of two Poisson counts: z = (after - before) / sqrt(after + before)) gives
|z| >= the threshold in the rule's direction, and one side counts at least `min_count`.
So `5xx rate up 3x` does not trip on 1 error before and 3 after.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import polars as pl

from logstat import schema
from logstat.alerts import REQUESTS, Rule, matching
from logstat.report.diff import z_score
from logstat.report.model import AlertResult, ChangeMeasure, Summary

STATUS = schema.COLUMNS["status"]


def evaluate_changes(
    rules: Sequence[Rule],
    before: Summary,
    after: Summary,
    *,
    threshold: float,
    min_count: int,
) -> list[AlertResult]:
    """Judge each rule on a change from `before` to `after`."""
    return [_judge(rule, before, after, threshold, min_count) for rule in rules]


def _judge(
    rule: Rule, before: Summary, after: Summary, threshold: float, min_count: int
) -> AlertResult:
    assert rule.direction is not None
    count_before, total_before = measure(rule, before)
    count_after, total_after = measure(rule, after)
    factor = rule.threshold
    if rule.selector == REQUESTS:
        # counts against counts: the periods are taken to be as long as each other
        old, new = Fraction(count_before), Fraction(count_after)
        both = count_after + count_before
        z = (count_after - count_before) / math.sqrt(both) if both else None
    else:
        old = Fraction(count_before, total_before) if total_before else Fraction(0)
        new = Fraction(count_after, total_after) if total_after else Fraction(0)
        z = z_score(count_before, total_before, count_after, total_after)
    enough = max(count_before, count_after) >= min_count
    if rule.direction == "up":
        tripped = new > 0 and new >= factor * old and z is not None and z >= threshold
    else:
        tripped = new * factor <= old and old > 0 and z is not None and z <= -threshold
    return AlertResult(
        rule=rule.text,
        tripped=tripped and enough,
        count=count_after,
        total=total_after,
        of="records",
        measured=round(float(new * 100 if rule.selector != REQUESTS else new), 6),
        percent=rule.selector != REQUESTS,
        change=ChangeMeasure(
            before=count_before,
            before_total=total_before,
            ratio=round(float(new / old), 6) if old else None,
            z=round(z, 3) if z is not None else None,
        ),
    )


def measure(rule: Rule, summary: Summary) -> tuple[int, int]:
    """The records a rule counts in one summary, and the records of its source."""
    statuses = [row for row in summary.statuses if rule.source in (None, row.source)]
    total = sum(row.count for row in statuses)
    if rule.selector == REQUESTS:
        return total, total
    if rule.upstream:
        upstream = [row for row in summary.upstream_statuses if rule.source in (None, row.source)]
        frame = pl.DataFrame(
            {
                "upstream_status": [row.upstream_status for row in upstream],
                "count": [row.count for row in upstream],
            },
            schema={"upstream_status": STATUS, "count": pl.Int64},
        )
    else:
        frame = pl.DataFrame(
            {
                "status": [row.status for row in statuses],
                "status_class": [row.status_class for row in statuses],
                "count": [row.count for row in statuses],
            },
            schema={"status": STATUS, "status_class": pl.String, "count": pl.Int64},
        )
    matched = matching(rule, frame)
    return (int(matched["count"].sum()) if matched.height else 0), total
