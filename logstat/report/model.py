"""The summary as plain data: what every view renders and what --json prints."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

JSON_SCHEMA_VERSION = 1


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
    proxy: int
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
class Totals:
    files: int
    lines: int
    records: int
    rejected: int
    comments: int


@dataclass
class Summary:
    totals: Totals
    files: list[FileSummary]
    rejects: dict[str, int]  # reason -> lines
    first: datetime | None  # earliest request time (UTC)
    last: datetime | None
    classes: list[ClassRow]
    statuses: list[StatusRow]
    upstream_statuses: list[UpstreamRow]
    vendors: list[str]  # --vendor tables consulted first

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["schema_version"] = JSON_SCHEMA_VERSION
        data["first"] = _iso(self.first)
        data["last"] = _iso(self.last)
        return data


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None
