"""What changed between two summaries: `logstat diff BEFORE AFTER`, `logstat.diff`.

Each status, class, producer (the proxy in front or the server behind, per class)
and group (hosts with `--by host`) is compared as a share of each side's requests
(`Totals.selected`), since two periods seldom have as many requests.  Whether a
change is more than noise is a two-proportion z-test on that share:

    p = (x1 + x2) / (n1 + n2)            the share under "nothing changed"
    z = (x2/n2 - x1/n1) / sqrt(p (1 - p) (1/n1 + 1/n2))

A change is flagged when |z| >= `threshold` (3 by default: about 1 in 370 by chance
for one row, so a table of a few dozen rows seldom flags one by chance) and one side
counts at least `min_count` requests, so that 0 against 2 is never news.

`Difference.to_json()` is `diff --json`, described by report/schema/diff.schema.json;
its `schema_version` changes only when a field is removed, renamed or changes meaning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from logstat.report.model import AlertResult, Summary, _iso, _plain, status_text

DIFF_SCHEMA_VERSION = 1
DIFF_SCHEMA_RESOURCE = "report/schema/diff.schema.json"  # inside the logstat package
THRESHOLD = 3.0  # |z| at or above which a change is flagged
MIN_COUNT = 10  # ... when one side counts at least this many requests
KINDS = ("class", "status", "producer", "source", "host", "file")  # the order shown


@dataclass(frozen=True)
class Side:
    """One side of the comparison: what it was made from and how many requests it has."""

    label: str  # the paths or the summary file, as given
    requests: int  # Totals.selected: what every share is of
    first: datetime | None
    last: datetime | None


@dataclass(frozen=True)
class Change:
    kind: str  # class, status, producer, or the summaries' --by: source, host, file
    key: str  # 5xx; 502 (nginx 502 when sources differ); 5xx upstream; shop.example.com
    name: str | None  # the status's name (Bad Gateway), None for other kinds
    before: int  # requests
    after: int
    before_share: float  # of the side's requests, 0..1
    after_share: float
    z: float | None  # two-proportion z of the shares; None when a side has no requests
    flagged: bool  # |z| >= threshold and one side counts at least min_count

    @property
    def change(self) -> int:
        return self.after - self.before

    @property
    def share_change(self) -> float:
        return self.after_share - self.before_share

    @property
    def ratio(self) -> float | None:
        """How many times the share grew (0.5: halved); None when it was 0 before."""
        return self.after_share / self.before_share if self.before_share else None

    @property
    def direction(self) -> str:
        """up, down or same: by share of requests, not by count."""
        if self.after_share > self.before_share:
            return "up"
        return "down" if self.after_share < self.before_share else "same"


@dataclass(frozen=True)
class Difference:
    before: Side
    after: Side
    threshold: float
    min_count: int
    changes: list[Change]  # by kind (KINDS), then most significant first
    alerts: list[AlertResult] | None = None  # --fail-if rules on the change; None: none given

    @property
    def flagged(self) -> list[Change]:
        return [change for change in self.changes if change.flagged]

    def to_json(self) -> dict[str, Any]:
        """The `diff --json` document as plain values."""
        return {
            "schema_version": DIFF_SCHEMA_VERSION,
            "test": {
                "method": "two-proportion z-test of each row's share of requests",
                "threshold": self.threshold,
                "min_count": self.min_count,
            },
            "before": _side_json(self.before),
            "after": _side_json(self.after),
            "changes": [_change_json(change) for change in self.changes],
            **({"alerts": _plain(self.alerts)} if self.alerts is not None else {}),
        }


def z_score(before: int, before_total: int, after: int, after_total: int) -> float | None:
    """The two-proportion z of after/after_total against before/before_total (pooled).

    None when a side has no requests; 0 when the pooled share is 0 or 1 (no variance:
    both sides agree)."""
    if before_total <= 0 or after_total <= 0:
        return None
    pooled = (before + after) / (before_total + after_total)
    variance = pooled * (1 - pooled) * (1 / before_total + 1 / after_total)
    if variance <= 0:
        return 0.0
    return (after / after_total - before / before_total) / math.sqrt(variance)


def diff(
    before: Summary,
    after: Summary,
    *,
    threshold: float = THRESHOLD,
    min_count: int = MIN_COUNT,
    labels: tuple[str, str] = ("before", "after"),
) -> Difference:
    """What rose and fell from `before` to `after`, by share of requests, with a z-test.

    Rows come from the summaries' classes, statuses (one per status and substatus; the
    source is named when the summaries read more than one), producers per class
    (`5xx upstream`) and, when both summaries were split alike (`--by host`), groups."""
    if threshold <= 0:
        raise ValueError(f"threshold must be above 0, not {threshold}")
    if min_count < 0:
        raise ValueError(f"min_count must be 0 or more, not {min_count}")
    sides = (before, after)
    totals = (before.totals.selected, after.totals.selected)
    rows: dict[tuple[str, str], list[int]] = {}
    names: dict[tuple[str, str], str] = {}
    for index, summary in enumerate(sides):
        for kind, key, count, name in _rows(summary, _several_sources(sides)):
            rows.setdefault((kind, key), [0, 0])[index] += count
            if name and (kind, key) not in names:
                names[(kind, key)] = name
    for kind in _group_kinds(sides):
        for index, summary in enumerate(sides):
            for group in summary.groups.groups if summary.groups else []:
                key = "(none)" if group.key is None else group.key
                rows.setdefault((kind, key), [0, 0])[index] += group.records
    changes = [
        _change(kind, key, names.get((kind, key)), counts, totals, threshold, min_count)
        for (kind, key), counts in rows.items()
        if any(counts)  # a summary lists every class, zero included: nothing to compare
    ]
    changes.sort(key=_order)
    return Difference(
        Side(labels[0], totals[0], before.first, before.last),
        Side(labels[1], totals[1], after.first, after.last),
        threshold,
        min_count,
        changes,
    )


def _several_sources(sides: tuple[Summary, Summary]) -> bool:
    return len({row.source for summary in sides for row in summary.statuses}) > 1


def _rows(summary: Summary, name_sources: bool) -> list[tuple[str, str, int, str | None]]:
    """(kind, key, count, name) for the classes, statuses and producers of a summary."""
    found: list[tuple[str, str, int, str | None]] = []
    for row in summary.classes:
        found.append(("class", row.status_class, row.count, None))
        for producer in ("proxy", "upstream"):
            count = getattr(row, producer)
            if count and row.count != row.unknown:
                found.append(("producer", f"{row.status_class} {producer}", count, None))
    for status in summary.statuses:
        key = status_text(status.status)
        if status.substatus is not None:
            key += f".{status.substatus}"
        if name_sources:
            key = f"{status.source} {key}"
        found.append(("status", key, status.count, status.name))
    return found


def _group_kinds(sides: tuple[Summary, Summary]) -> list[str]:
    """The --by split both summaries share, if any."""
    kinds = {summary.groups.by if summary.groups else None for summary in sides}
    return [kind for kind in kinds if kind is not None] if len(kinds) == 1 else []


def _change(
    kind: str,
    key: str,
    name: str | None,
    counts: list[int],
    totals: tuple[int, int],
    threshold: float,
    min_count: int,
) -> Change:
    before, after = counts
    z = z_score(before, totals[0], after, totals[1])
    return Change(
        kind=kind,
        key=key,
        name=name,
        before=before,
        after=after,
        before_share=before / totals[0] if totals[0] else 0.0,
        after_share=after / totals[1] if totals[1] else 0.0,
        z=z,
        flagged=z is not None and abs(z) >= threshold and max(before, after) >= min_count,
    )


def _order(change: Change) -> tuple[int, bool, float, int, str]:
    """By kind, flagged first, then the largest |z|, the largest count change, the key."""
    strength = -abs(change.z) if change.z is not None else 0.0
    return (KINDS.index(change.kind), not change.flagged, strength, -abs(change.change), change.key)


def _side_json(side: Side) -> dict[str, Any]:
    return {
        "label": side.label,
        "requests": side.requests,
        "first": _iso(side.first),
        "last": _iso(side.last),
    }


def _change_json(change: Change) -> dict[str, Any]:
    return {
        "kind": change.kind,
        "key": change.key,
        "name": change.name,
        "before": change.before,
        "after": change.after,
        "change": change.change,
        "before_share": change.before_share,
        "after_share": change.after_share,
        "share_change": change.share_change,
        "ratio": change.ratio,
        "direction": change.direction,
        "z": change.z,
        "flagged": change.flagged,
    }
