"""The latency report as plain data (Summary.latency): durations and bytes by status, and
the slowest requests, for the sources that log a duration.  See summary/latency.py for
how the quantiles are made and how close they are."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from logstat.report.json_text import OMIT_NONE

# Measures, as a table names them: the whole request, then the parts of it a proxy
# logs apart (the format's extra columns, schema.WITH_DURATION), so that a slow backend
# is told from a slow client.  ALB and ELB log -1 for a phase that did not happen (no
# target answered), HAProxy -1 for a timer that did not run: null, no duration.
MEASURE_LABELS = {
    "request_time_s": "total",  # the whole request (schema.DURATION)
    "request_processing_time_s": "request",  # ALB/ELB: reading the request
    "target_processing_time_s": "target",  # ALB: the target answering
    "backend_processing_time_s": "backend",  # classic ELB's name for it
    "response_processing_time_s": "response",  # ALB/ELB: sending the response back
    "response_time_s": "server",  # HAProxy Tr: the server's response headers
    "upstream_service_time_s": "upstream",  # Envoy x-envoy-upstream-service-time
    # nginx: every upstream attempt's time, summed (formats/template.py to_summed_seconds)
    "upstream_connect_time_s": "upstream connect",  # $upstream_connect_time
    "upstream_header_time_s": "upstream header",  # $upstream_header_time
    "upstream_response_time_s": "upstream",  # $upstream_response_time
    "origin_time_s": "origin",  # Traefik OriginDuration
    "origin_response_time_s": "origin",  # Cloudflare OriginResponseDurationMs
    "time_to_first_byte_s": "first byte",  # CloudFront time-to-first-byte
}


@dataclass
class ClassDurations:
    """Durations of one status class, one measure: of every source when one source logs
    durations, else of one source (their durations mean different things)."""

    # None (left out of the JSON): the only source that logs durations
    source: str | None = field(metadata={OMIT_NONE: True})
    status_class: str
    measure: str  # request_time_s, or a phase: target_processing_time_s ...
    requests: int  # with a duration (>= 0)
    p50: float  # seconds; quantiles within `relative_accuracy`
    p90: float
    p99: float
    max: float  # exact
    mean: float  # exact to the microsecond
    sum: float  # seconds, exact to the microsecond


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
    sum: float


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
class PathCount:
    """One of the top paths: the requests its figures describe, and the bytes sent."""

    # None (left out of the JSON): one source logs durations; else the path as this
    # source logged it (an ALB's and its nginx's figures for a path are two measurements)
    source: str | None = field(metadata={OMIT_NONE: True})
    path: str
    requests: int  # counted: the requests its figures describe
    missed: int  # at most this many more were not counted (0: all; <= TopPaths.error)
    with_bytes: int  # requests that logged a byte count
    bytes: int


@dataclass
class PathDurations:
    """Durations of one of the top paths, one measure: of its source (PathCount.source)."""

    source: str | None = field(metadata={OMIT_NONE: True})
    path: str
    measure: str
    requests: int  # with this duration, of the path's counted requests
    p50: float
    p90: float
    p99: float
    max: float
    mean: float
    sum: float


@dataclass
class TopPaths:
    """Latency and bytes of the paths with the most requests (summary/path_latency.py)."""

    limit: int  # --top N
    # 0: every path's figures describe all its requests; else a path's count may be low by
    # up to this (more distinct paths than are held), its figures describing those counted
    error: int
    # most requests first (with several sources: each source's `limit`, by source)
    paths: list[PathCount]
    by_path: list[PathDurations]  # in the order of `paths`, then of the measures


@dataclass
class Latency:
    relative_accuracy: float  # of p50/p90/p99: |estimate - true| <= this x true
    negative: int  # durations below zero (clock steps): in no quantile
    by_class: list[ClassDurations]
    by_status: list[StatusDurations]
    bytes_by_status: list[StatusBytes]
    slowest: list[SlowRequest]  # slowest first
    top_paths: TopPaths | None = field(default=None, metadata={OMIT_NONE: True})
