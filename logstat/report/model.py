"""The summary as plain data: what every view renders and what --json prints.

This is the stable interface between counting (`logstat.summary`) and the views
(terminal text, JSON, Markdown, Prometheus, dashboards).  `Summary.to_json()`
is the `--json` document (`to_json_text()` writes it, indented by 2);
`logstat/report/schema/summary.schema.json`
describes it and a test checks the two agree.  Versioning: `schema_version`
changes only when a field is removed, renamed or changes meaning; new fields
may appear within a version.  Optional parts (`filters`, `timeline`, `top`,
`groups`, `counts`, `alerts`) are None (JSON null) unless asked for; `latency` is
left out of the JSON when no selected record has a duration.

Shares are fractions (0..1) of the records after filters (`Totals.selected`),
except where a field says otherwise.  Times are UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from logstat.report.json_text import OMIT_NONE, dumps_indented
from logstat.report.latency_model import Latency

JSON_SCHEMA_VERSION = 1
SCHEMA_RESOURCE = "report/schema/summary.schema.json"  # inside the logstat package


@dataclass
class FileSummary:
    name: str
    source: str | None  # format name, None when not recognised
    layout: str | None  # e.g. "nginx combined"
    detection: str | None  # e.g. "nginx combined, 200/200 sample lines matched"
    compression: str | None
    lines: int
    records: int
    rejected: int
    comments: int
    invalid_utf8: int
    problems: list[str] = field(default_factory=list)
    blank: int = 0  # empty or white-space-only lines
    # detection's caveat when the lines fit other formats too ("" when not): the views
    # add it to the layout of grouped files; not in --json, whose `detection` holds it
    caveat: str = field(default="", metadata={"json": False})

    def to_json(self) -> dict[str, Any]:
        # written out, not walked: --json may list 100,000 files (a test checks the keys)
        return {
            "name": self.name,
            "source": self.source,
            "layout": self.layout,
            "detection": self.detection,
            "compression": self.compression,
            "lines": self.lines,
            "records": self.records,
            "rejected": self.rejected,
            "comments": self.comments,
            "invalid_utf8": self.invalid_utf8,
            "problems": list(self.problems),
            "blank": self.blank,
        }


@dataclass
class ClassRow:
    status_class: str  # 1xx..5xx, other, none
    count: int
    share: float  # of all records
    proxy: int  # produced by the proxy / edge / server in front
    upstream: int  # passed through from the server behind
    unknown: int  # the log cannot tell


@dataclass
class StatusRow:
    source: str
    status: int | None
    substatus: int | None
    status_class: str
    count: int
    share: float
    name: str | None
    meaning: str | None
    vendor: str | None  # whose table the meaning came from ("class": nobody registers it)
    registered: bool
    # who produced the status: proxy (the server, edge or load balancer that wrote the log),
    # upstream (the server behind it, passed through) or unknown; None for no status.  One
    # row per producer, since the meaning depends on it (see logstat.status.producer_chain)
    produced_by: str | None
    proxy: int  # of `count`, by producer: one of the three equals `count`
    upstream: int
    unknown: int


@dataclass
class UpstreamRow:
    source: str
    upstream_status: int
    count: int
    share: float  # of the records that have an upstream status
    name: str | None
    meaning: str | None
    vendor: str | None


@dataclass
class LayerRow:
    """One value of a status layer logged beside the HTTP status, with its meaning."""

    layer: str  # the column: win32_status (IIS), error_reason, classification_reason (ALB)
    source: str
    value: str  # as logged; IIS win32 codes in decimal
    count: int
    share: float
    name: str | None  # symbolic name (ERROR_NETNAME_DELETED); None where the value is one
    meaning: str | None  # None: no meaning known
    statuses: dict[str, int]  # status_text(code) -> requests, most first: what clients got


@dataclass
class Totals:
    files: int
    lines: int
    records: int  # lines parsed as requests
    rejected: int
    comments: int
    selected: int  # records left after filters (== records without filters)
    blank: int = 0  # empty or white-space-only lines: neither records nor rejects


@dataclass
class FilterReport:
    """The filters in force (as understood, times resolved to UTC) and what they removed."""

    since: datetime | None  # inclusive
    until: datetime | None  # exclusive
    status: list[str]  # terms: "5xx", "499", "400-403"
    path: str | None  # regular expression
    host: list[str]
    method: list[str]
    source: list[str]
    excluded: int  # records the filters left out


@dataclass
class Bucket:
    start: datetime  # UTC; a multiple of the interval since the Unix epoch
    count: int
    classes: dict[str, int]  # every class in Summary.classes, zero included
    statuses: dict[str, int]  # status_text(code) -> count, only codes seen in this bucket


@dataclass
class Timeline:
    every: str  # as given: "5m", "1h", "1d"
    seconds: int
    buckets: list[Bucket]  # consecutive, from the first record's bucket to the last's
    untimed: int  # selected records without a timestamp (in no bucket)


def _omitted_when_none() -> Any:
    """A field defaulting to None, left out of the JSON when None."""
    return field(default=None, metadata={OMIT_NONE: True})


@dataclass
class TopEntry:
    value: str
    count: int
    share: float  # of the group's records


@dataclass
class TopField:
    field: str  # canonical column: path, client_ip, host, user_agent, ...
    distinct: int  # distinct non-missing values in the group
    missing: int  # group records where the log has no value for the field
    others: int  # group records with a value outside the top entries
    entries: list[TopEntry]  # most frequent first; ties by value
    # approximate counts (too many distinct values to count exactly): each count may be
    # low by at most this, and distinct is an estimate; None (left out of JSON): exact
    error: int | None = _omitted_when_none()


@dataclass
class TopGroup:
    group: str  # "5xx", "499", "400-403"
    kind: str  # class, status or range
    count: int  # records in the group
    fields: list[TopField]


@dataclass
class Drilldown:
    limit: int  # --top N
    by: str  # how groups were chosen: "selection" (--status terms), "class" or "status"
    groups: list[TopGroup]


@dataclass
class Group:
    key: str | None  # None: the records have no value for the --by field
    records: int
    share: float  # of all selected records
    classes: list[ClassRow]  # shares of the group's records
    statuses: list[StatusRow]


@dataclass
class Breakdown:
    by: str  # source, host or file
    groups: list[Group]  # most records first


@dataclass
class CountRow:
    """The finest counts (for counters such as Prometheus)."""

    source: str | None
    host: str | None
    status_class: str
    status: int | None
    count: int


@dataclass
class ChangeMeasure:
    """The earlier period of a rule on a change (`5xx rate up 3x`)."""

    before: int  # matching records before (the rule's count is the later period's)
    before_total: int
    ratio: float | None  # later share (count for `requests`) / earlier; None: 0 before
    z: float | None  # the test of the change (logstat/change_alerts.py); None: no records


@dataclass
class AlertResult:
    rule: str  # as written, whitespace normalised
    tripped: bool
    count: int  # matching records (rejected lines for `rejected` rules)
    total: int  # what a percentage is of
    of: str  # "records" or "lines"
    measured: float  # the percentage (0-100) for a % rule, else the count
    percent: bool
    unjudged: str | None = None  # why the run cannot judge the rule (read_health); None: judged
    # a rule on a change: the period before (left out of the JSON for other rules)
    change: ChangeMeasure | None = field(default=None, metadata={OMIT_NONE: True})


@dataclass
class Summary:
    totals: Totals
    files: list[FileSummary]
    rejects: dict[str, int]  # reason -> lines
    first: datetime | None  # earliest selected request time (UTC)
    last: datetime | None
    classes: list[ClassRow]
    statuses: list[StatusRow]
    upstream_statuses: list[UpstreamRow]
    layers: list[LayerRow]  # IIS sc-win32-status, ALB error_reason ...: empty when none logged
    vendors: list[str]  # --vendor tables consulted first
    filters: FilterReport | None = None  # None: no filter given
    timeline: Timeline | None = None  # --every
    top: Drilldown | None = None  # --top
    groups: Breakdown | None = None  # --by, or per source when several were read
    counts: list[CountRow] | None = None  # asked for by counter views (--prometheus)
    alerts: list[AlertResult] | None = None  # --fail-if
    # durations and bytes by status, slowest requests: sources that log a duration only
    # (left out of the JSON when no selected record has one)
    latency: Latency | None = field(default=None, metadata={OMIT_NONE: True})
    # `logstat lines` with this summary's inputs and filters, shell-quoted, to which a
    # table's row adds its own filter (--status 502): the views show it under the tables.
    # None: the run cannot be read again the same way (stdin, --state); not in --json
    lines_command: str | None = field(default=None, metadata={"json": False})

    def to_json(self) -> dict[str, Any]:
        """The --json document as plain values: dicts, lists, strings, numbers, None."""
        data: dict[str, Any] = {"schema_version": JSON_SCHEMA_VERSION}
        for name in _field_names(Summary):
            value = getattr(self, name)
            if value is None and name in _OMITTED[Summary]:
                continue
            data[name] = [file.to_json() for file in value] if name == "files" else _plain(value)
        return data

    def to_json_text(self) -> str:
        """The --json document as text (`json.dumps(self.to_json(), indent=2)`, faster)."""
        return dumps_indented(self.to_json())


def status_text(code: int | None) -> str:
    """A status as text: 3 digits for the pseudo-codes below 100 (000), 'none' for no status."""
    if code is None:
        return "none"
    return f"{code:03d}" if 0 <= code < 100 else str(code)


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
_OMITTED: dict[type, tuple[str, ...]] = {}


def _field_names(kind: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = tuple(
            item.name for item in fields(kind) if item.metadata.get("json", True)
        )
        _OMITTED[kind] = tuple(item.name for item in fields(kind) if item.metadata.get(OMIT_NONE))
    return names


def _plain(value: Any) -> Any:
    """A report value as JSON values: dataclasses become dicts, times ISO 8601 text.
    (Unlike dataclasses.asdict, this copies no leaf values: it is several times faster.)"""
    if value is None or isinstance(value, str | int | float):
        return value
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, datetime):
        return _iso(value)
    plain = {name: _plain(getattr(value, name)) for name in _field_names(type(value))}
    for name in _OMITTED[type(value)]:
        if plain[name] is None:
            del plain[name]
    return plain


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None
