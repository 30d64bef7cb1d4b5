"""--top: the most frequent values of some fields in each group of statuses."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from logstat.filters import StatusTerm
from logstat.report.model import Drilldown, TopEntry, TopField, TopGroup, status_text
from logstat.summary.rows import share, total
from logstat.summary.settings import CLASS_ORDER, ReportSettings
from logstat.summary.topk import ERROR, TopCounts, distinct_estimate


def drilldown(
    settings: ReportSettings, top: dict[str, TopCounts], counts: pl.DataFrame
) -> Drilldown:
    """The --top groups: each class (or status, or --status term) with its fields' values."""
    by = settings.top_by or ("selection" if settings.filters.statuses else "class")
    groups = []
    for label, kind, predicate in _top_groups(by, counts, settings.filters.statuses):
        size = total(counts.filter(predicate))
        if size == 0 and by != "selection":
            continue
        fields = [
            _top_field(top[name], predicate, size, settings.top) for name in settings.top_fields
        ]
        groups.append(TopGroup(group=label, kind=kind, count=size, fields=fields))
    return Drilldown(limit=settings.top, by=by, groups=groups)


def _top_groups(
    by: str, counts: pl.DataFrame, terms: Sequence[StatusTerm]
) -> list[tuple[str, str, pl.Expr]]:
    """(label, kind, predicate over status/status_class) for each drill-down group."""
    status, status_class = pl.col("status"), pl.col("status_class")
    if by == "selection":
        return [(term.text, term.kind, term.expression(status, status_class)) for term in terms]
    if by == "class":
        return [(name, "class", status_class == name) for name in CLASS_ORDER]
    codes = (
        counts.group_by("status")
        .agg(pl.col("count").sum())
        .sort(["count", "status"], descending=[True, False], nulls_last=True)
    )
    return [
        (
            status_text(code),
            "status",
            status.is_null() if code is None else (status == code).fill_null(False),
        )
        for code in codes["status"]
    ]


def _top_field(top: TopCounts, predicate: pl.Expr, size: int, limit: int) -> TopField:
    name, counts, errors = top.value, top.counts().filter(predicate), top.errors().filter(predicate)
    by_value = counts.group_by(name).agg(pl.col("count").sum())
    present = by_value.filter(pl.col(name).is_not_null())
    ranked = present.sort(["count", name], descending=[True, False]).head(limit)
    entries = [
        TopEntry(value=str(value), count=int(count), share=share(int(count), size))
        for value, count in ranked.iter_rows()
    ]
    # approximate counts: a value's count may be low by the sum of its statuses' errors
    # (what the counters lost is in `others`; `missing` stays exact); distinct: estimated
    error = int(errors[ERROR].sum()) if errors.height else 0
    missing = total(by_value.filter(pl.col(name).is_null()))
    distinct = present.height
    if error:
        # no fewer than the values counted, no more than the requests with a value
        estimate = distinct_estimate(top.hashes().filter(predicate))
        distinct = min(max(estimate, present.height), size - missing)
    return TopField(
        field=name,
        distinct=distinct,
        missing=missing,
        others=size - missing - sum(entry.count for entry in entries),
        entries=entries,
        error=error or None,
    )
