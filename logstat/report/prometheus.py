"""`--prometheus FILE`: the summary as counters for node_exporter's textfile collector.

Text exposition format 0.0.4: a `# HELP` and `# TYPE` line per metric family,
then one sample per label set; label values are escaped (backslash, double
quote, newline).

With `--state`, the counters are real counters: each run adds what it read to
the totals kept in the state file (its "prometheus" section), so they only go
up, across runs and log rotations, and start again only with a new state file.
A series once written is written by every later run.  Without `--state` the
values count what this run read.

Host names come from the logs (the `Host` header, which anyone can set), so
only MAX_HOSTS hosts get their own series (the busiest; with `--state`, those
that had one keep it) and the rest are added up under host="_other".  So that a
real host cannot be taken for that series, a host name starting with `_` is
written with one more `_` (`_other` -> `__other`).

The writer is ours, not prometheus_client's registry with `generate_latest` or
`write_to_textfile`, because they were neither as safe nor as fast here (measured
with prometheus_client 0.26, 50,000 series of logstat_requests_total):
- the file would change: generate_latest writes every value as a float (`600.0`,
  not `600`) and sorts each sample's labels by name (`class,host,source,status`):
  Prometheus would not mind, but whatever else reads the file (a script, a diff of
  yesterday's) would see it change;
- it took 5 times as long (380 ms against 70 ms): a metric family is a list of
  Sample tuples built, then formatted, one by one;
- write_to_textfile renames a `FILE.<pid>.<thread>` temporary into place without
  fsync, and one a kill left stays forever; outputs/atomic.py fsyncs the file
  before the rename and removes what a killed run left.
The escaping is the same three rules; the tests read every file back with
prometheus_client's parser, which stays a test dependency only.

Metric names are part of logstat's interface: see the README before renaming.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from logstat.outputs.atomic import atomic_output
from logstat.report import prometheus_latency
from logstat.report.model import CountRow, Summary, status_text

if TYPE_CHECKING:
    from logstat.reading.state import StateFile

MAX_HOSTS = 100
# the families a run may leave out (no filters, no request with a time)
HELP = {
    "logstat_excluded_records_total": "Parsed requests left out by the filters "
    "(--since, --status, --path ...).",
    "logstat_first_request_timestamp_seconds": "Time of the earliest request read (Unix time).",
    "logstat_last_request_timestamp_seconds": "Time of the latest request read (Unix time).",
    prometheus_latency.BYTES: prometheus_latency.BYTES_HELP,
}
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


def _produced_samples(summary: Summary) -> list[tuple[Labels, float | int]]:
    """Requests by (source, class, status, produced_by): the status rows, sub-statuses added."""
    produced: Counter[Labels] = Counter()
    for row in summary.statuses:
        labels = (
            ("source", row.source or ""),
            ("class", row.status_class),
            ("status", "" if row.status is None else status_text(row.status)),
            ("produced_by", row.produced_by or "unknown"),
        )
        produced[labels] += row.count
    return [(labels, count) for labels, count in sorted(produced.items())]


def host_label(host: str | None) -> str:
    """A host's label value: names starting with `_` get one more, so none is OTHER_HOSTS."""
    if host is None:
        return ""
    return "_" + host if host.startswith("_") else host


def _host_labels(rows: Iterable[CountRow], kept: Iterable[str] = ()) -> dict[str | None, str]:
    """Each host's label value: its own for MAX_HOSTS hosts (those in `kept`, which had
    their own series before, then the busiest), OTHER_HOSTS for the rest."""
    busy: Counter[str | None] = Counter()
    for row in rows:
        busy[row.host] += row.count
    own = set(kept)
    ranked = sorted(busy, key=lambda host: (host_label(host) not in own, -busy[host], host or ""))
    slots = max(MAX_HOSTS, len(own))
    labels: dict[str | None, str] = {}
    for host in ranked:
        label = host_label(host)
        if label in own or len(own) < slots:
            own.add(label)
            labels[host] = label
        else:
            labels[host] = OTHER_HOSTS
    return labels


def families(summary: Summary, kept_hosts: Iterable[str] = ()) -> list[Family]:
    rows = _request_rows(summary)
    hosts = _host_labels(rows, kept_hosts)
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
            "Lines read, by result: parsed as a request, rejected, a comment/header line, "
            "or blank (empty or only white space).",
            [
                ((("result", "parsed"),), summary.totals.records),
                ((("result", "rejected"),), summary.totals.rejected),
                ((("result", "comment"),), summary.totals.comments),
                ((("result", "blank"),), summary.totals.blank),
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
            "logstat_status_produced_total",
            "counter",
            "Requests by log source, status code and who produced the status: the proxy, "
            "edge or load balancer that wrote the log (proxy), the server behind it whose "
            "status was passed on (upstream), or unknown.  The meaning differs: ALB's own "
            "502 is not a target's 502.",
            _produced_samples(summary),
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
    sent = prometheus_latency.bytes_samples(summary.latency)
    if sent:
        result.append(
            Family(prometheus_latency.BYTES, "counter", prometheus_latency.BYTES_HELP, list(sent))
        )
    if summary.filters is not None:
        result.append(
            Family(
                "logstat_excluded_records_total",
                "counter",
                HELP["logstat_excluded_records_total"],
                [((), summary.filters.excluded)],
            )
        )
    for name, moment in (
        ("logstat_first_request_timestamp_seconds", summary.first),
        ("logstat_last_request_timestamp_seconds", summary.last),
    ):
        if moment is not None:
            result.append(Family(name, "gauge", HELP[name], [((), _seconds(moment))]))
    return result


def render(summary: Summary, state: StateFile | None = None) -> str:
    """The text file; with a state file, the totals since the state began (and the
    state's "prometheus" section updated, to be saved with the state)."""
    # the latency summaries describe this run's requests: never added to the totals
    latency = _latency_text(summary)
    if state is None:
        return render_families(families(summary)) + latency
    section = _Totals.load(state.sections.get(SECTION))
    found = families(summary, section.hosts)
    section.add(found)
    state.sections[SECTION] = section.dump()
    return render_families(section.families(found)) + latency


def render_families(found: list[Family]) -> str:
    out: list[str] = []
    for family in found:
        out.append(f"# HELP {family.name} {escape_help(family.help)}")
        out.append(f"# TYPE {family.name} {family.kind}")
        out.extend(_sample(family.name, labels, value) for labels, value in family.samples)
    return "\n".join(out) + "\n"


def _sample(name: str, labels: Labels, value: float | int) -> str:
    if not labels:
        return f"{name} {_number(value)}"
    pairs = ",".join(f'{key}="{escape_label(text)}"' for key, text in labels)
    return f"{name}{{{pairs}}} {_number(value)}"


def _latency_text(summary: Summary) -> str:
    """The latency summaries and largest durations (prometheus_latency.py), or ""."""
    out: list[str] = []
    for name, kind, text, samples in prometheus_latency.families(summary.latency):
        out.append(f"# HELP {name} {escape_help(text)}")
        out.append(f"# TYPE {name} {kind}")
        out.extend(_sample(sample, labels, value) for sample, labels, value in samples)
    return "".join(line + "\n" for line in out)


def write(summary: Summary, path: Path, state: StateFile | None = None) -> None:
    """Write atomically, so the collector never reads half a file."""
    with atomic_output(path) as handle:
        handle.write(render(summary, state).encode("utf-8"))


# Totals kept in the state file ------------------------------------------------------

SECTION = "prometheus"
TOTALS_VERSION = 1
Series = tuple[str, Labels]  # (metric name, labels)


@dataclass
class _Totals:
    """The state file's "prometheus" section:

    {"version": 1, "hosts": [host label values with their own series],
     "counters": [[name, [[label, value], ...], total], ...],
     "gauges": [[name, [], value], ...]}   (earliest first and latest last request)
    """

    hosts: list[str] = field(default_factory=list)
    counters: dict[Series, float | int] = field(default_factory=dict)
    gauges: dict[Series, float | int] = field(default_factory=dict)

    @classmethod
    def load(cls, data: Any) -> _Totals:
        """The section as saved; a missing, other-version or damaged one starts again."""
        if not isinstance(data, dict) or data.get("version") != TOTALS_VERSION:
            return cls()
        try:
            return cls(
                [str(host) for host in data["hosts"]],
                {_series(item): _value(item[2]) for item in data["counters"]},
                {_series(item): _value(item[2]) for item in data["gauges"]},
            )
        except (KeyError, TypeError, ValueError, IndexError):
            return cls()

    def dump(self) -> dict[str, Any]:
        return {
            "version": TOTALS_VERSION,
            "hosts": sorted(self.hosts),
            "counters": [
                [name, [list(pair) for pair in labels], value]
                for (name, labels), value in sorted(self.counters.items())
            ],
            "gauges": [
                [name, [list(pair) for pair in labels], value]
                for (name, labels), value in sorted(self.gauges.items())
            ],
        }

    def add(self, found: list[Family]) -> None:
        for family in found:
            for labels, value in family.samples:
                key = (family.name, labels)
                if family.kind == "counter":
                    self.counters[key] = self.counters.get(key, 0) + value
                elif key not in self.gauges:
                    self.gauges[key] = value
                elif family.name.startswith("logstat_first_"):
                    self.gauges[key] = min(self.gauges[key], value)
                else:
                    self.gauges[key] = max(self.gauges[key], value)
                if family.name == "logstat_requests_total":
                    host = dict(labels).get("host")
                    if host is not None and host != OTHER_HOSTS and host not in self.hosts:
                        self.hosts.append(host)

    def families(self, found: list[Family]) -> list[Family]:
        """This run's families with the totals as values; series of earlier runs too."""
        known = {family.name: family for family in found}
        result: list[Family] = []
        for family in found:
            values = self.counters if family.kind == "counter" else self.gauges
            samples = sorted(
                (labels, value) for (name, labels), value in values.items() if name == family.name
            )
            result.append(Family(family.name, family.kind, family.help, samples))
        # families this run has none of (no filters this time, no timestamps)
        for name in sorted({name for name, _ in (*self.counters, *self.gauges)} - set(known)):
            kind = "counter" if any(key[0] == name for key in self.counters) else "gauge"
            values = self.counters if kind == "counter" else self.gauges
            samples = sorted(
                (labels, value) for (key, labels), value in values.items() if key == name
            )
            result.append(Family(name, kind, HELP.get(name, name), samples))
        return result


def _series(item: Any) -> Series:
    name, pairs = item[0], item[1]
    if not isinstance(name, str) or not isinstance(pairs, list):
        raise TypeError("not a series")
    return name, tuple((str(key), str(value)) for key, value in pairs)


def _value(value: Any) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("not a number")
    return value
