"""The latency report as plain data (Summary.latency): durations and bytes by status, and
the slowest requests, for the sources that log a duration.  See summary/latency.py for
how the quantiles are made and how close they are."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass
class ClassDurations:
    """Durations of one status class (every source), one measure."""

    status_class: str
    measure: str  # request_time_s, or a phase: target_processing_time_s ...
    requests: int  # with a duration (>= 0)
    p50: float  # seconds; quantiles within `relative_accuracy`
    p90: float
    p99: float
    max: float  # exact
    mean: float  # exact to the microsecond


@dataclass
class StatusDurations:
    """Durations of one status of one source, one measure."""

    source: str
    status: int | None
    status_class: str
    measure: str
    requests: int
    p50: float
    p90: float
    p99: float
    max: float
    mean: float


@dataclass
class StatusBytes:
    """Bytes sent for one status of one source (requests that logged a byte count)."""

    source: str
    status: int | None
    status_class: str
    requests: int
    bytes: int
    mean: float  # bytes per request, one decimal


@dataclass
class SlowRequest:
    source: str
    timestamp: datetime | None
    status: int | None
    path: str | None
    seconds: float


@dataclass
class Latency:
    relative_accuracy: float  # of p50/p90/p99: |estimate - true| <= this x true
    negative: int  # durations below zero (clock steps): in no quantile
    by_class: list[ClassDurations]
    by_status: list[StatusDurations]
    bytes_by_status: list[StatusBytes]
    slowest: list[SlowRequest]  # slowest first
