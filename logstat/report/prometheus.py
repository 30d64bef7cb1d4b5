"""`--prometheus FILE`: the summary as counters for node_exporter's textfile collector.

Text exposition format 0.0.4: a `# HELP` and `# TYPE` line per metric family,
then one sample per label set; label values are escaped (backslash, double
quote, newline).  The values count what this run read: when cron reads the
same growing log again the counters grow, and when the log is rotated they
start again, which Prometheus's `rate()` and `increase()` treat as a counter
reset.  Host names come from the logs (the `Host` header, which anyone can
set), so only the MAX_HOSTS busiest hosts get their own series and the rest
are added up under host="_other": a scanner cannot flood Prometheus with series.

Metric names are part of logstat's interface: see the README before renaming.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from logstat.export import atomic_output
from logstat.report.model import CountRow, Summary, status_text

MAX_HOSTS = 100
OTHER_HOSTS = "_other"
Labels = tuple[tuple[str, str], ...]


@dataclass
class Family:
    name: str
    kind: str  # counter or gauge
    help: str
    samples: list[tuple[Labels, float | int]] = field(default_factory=list)


def escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float | int) -> str:
    return str(value) if isinstance(value, int) else repr(float(value))


def _seconds(moment: datetime) -> float:
    return round(moment.timestamp(), 6)


def _request_rows(summary: Summary) -> list[CountRow]:
    """The finest counts: Summary.counts when asked for, else per status without hosts."""
    if summary.counts is not None:
        return summary.counts
    return [
        CountRow(row.source, None, row.status_class, row.status, row.count)
        for row in summary.statuses
    ]


def _host_labels(rows: Iterable[CountRow]) -> dict[str | None, str]:
    """Each host's label value: itself for the busiest MAX_HOSTS, OTHER_HOSTS beyond."""
    busy: Counter[str | None] = Counter()
    for row in rows:
        busy[row.host] += row.count
    ranked = sorted(busy, key=lambda host: (-busy[host], host or ""))
    return {
        host: ("" if host is None else host) if rank < MAX_HOSTS else OTHER_HOSTS
        for rank, host in enumerate(ranked)
    }


def families(summary: Summary) -> list[Family]:
    rows = _request_rows(summary)
    hosts = _host_labels(rows)
    requests: Counter[Labels] = Counter()
    for row in rows:
        labels = (
            ("source", row.source or ""),
            ("host", hosts[row.host]),
            ("class", row.status_class),
            ("status", "" if row.status is None else status_text(row.status)),
        )
        requests[labels] += row.count
    result = [
        Family(
            "logstat_requests_total",
            "counter",
            "Requests read from the logs, by log source, virtual host, status class and "
            "status code (after filters).",
            sorted(requests.items()),
        ),
        Family(
            "logstat_lines_total",
            "counter",
            "Lines read, by result: parsed as a request, rejected, or a comment/header line.",
            [
                ((("result", "parsed"),), summary.totals.records),
                ((("result", "rejected"),), summary.totals.rejected),
                ((("result", "comment"),), summary.totals.comments),
            ],
        ),
        Family(
            "logstat_rejected_lines_total",
            "counter",
            "Lines that could not be parsed, by reason.",
            sorted(((("reason", reason),), count) for reason, count in summary.rejects.items()),
        ),
        Family(
            "logstat_produced_total",
            "counter",
            "Requests by status class and by who produced the status: the proxy in front "
            "(proxy), the server behind it (upstream), or unknown.",
            [
                ((("class", row.status_class), ("produced_by", producer)), count)
                for row in summary.classes
                for producer, count in (
                    ("proxy", row.proxy),
                    ("upstream", row.upstream),
                    ("unknown", row.unknown),
                )
            ],
        ),
        Family(
            "logstat_upstream_responses_total",
            "counter",
            "Statuses answered by the server behind the proxy (ALB target, Cloudflare "
            "origin, nginx $upstream_status), by log source.",
            sorted(
                (
                    (("source", row.source), ("upstream_status", status_text(row.upstream_status))),
                    row.count,
                )
                for row in summary.upstream_statuses
            ),
        ),
    ]
    if summary.filters is not None:
        result.append(
            Family(
                "logstat_excluded_records_total",
                "counter",
                "Parsed requests left out by the filters (--since, --status, --path ...).",
                [((), summary.filters.excluded)],
            )
        )
    for name, moment, text in (
        ("logstat_first_request_timestamp_seconds", summary.first, "earliest"),
        ("logstat_last_request_timestamp_seconds", summary.last, "latest"),
    ):
        if moment is not None:
            result.append(
                Family(
                    name,
                    "gauge",
                    f"Time of the {text} request read (Unix time).",
                    [((), _seconds(moment))],
                )
            )
    return result


def render(summary: Summary) -> str:
    out: list[str] = []
    for family in families(summary):
        out.append(f"# HELP {family.name} {escape_help(family.help)}")
        out.append(f"# TYPE {family.name} {family.kind}")
        for labels, value in family.samples:
            if labels:
                pairs = ",".join(f'{key}="{escape_label(text)}"' for key, text in labels)
                out.append(f"{family.name}{{{pairs}}} {_number(value)}")
            else:
                out.append(f"{family.name} {_number(value)}")
    return "\n".join(out) + "\n"


def write(summary: Summary, path: Path) -> None:
    """Write atomically, so the collector never reads half a file."""
    with atomic_output(path) as handle:
        handle.write(render(summary).encode("utf-8"))
