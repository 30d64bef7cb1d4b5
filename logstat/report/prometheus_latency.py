"""Latency in the Prometheus file: summary metrics (quantile labels, _sum, _count), the
largest durations, and bytes sent.  Units are in the names (seconds, bytes).

The quantiles describe the requests this run read (with --state: the lines new since
the last run), so they are written as they are, never added to the state's totals;
bytes sent is a counter and is.  Written only when some request logged a duration."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from logstat.report.latency_model import (
    MEASURE_LABELS,
    Latency,
    PathCount,
    PathDurations,
    StatusDurations,
)
from logstat.report.model import status_text

DURATION = "logstat_request_duration_seconds"
PHASE_DURATION = "logstat_request_phase_duration_seconds"
LARGEST = "logstat_request_duration_max_seconds"
PHASE_LARGEST = "logstat_request_phase_duration_max_seconds"
BYTES = "logstat_response_bytes_total"
# the top paths' (--top N with paths): per run, like the durations by status
PATH_DURATION = "logstat_path_request_duration_seconds"
PATH_PHASE_DURATION = "logstat_path_request_phase_duration_seconds"
PATH_LARGEST = "logstat_path_request_duration_max_seconds"
PATH_PHASE_LARGEST = "logstat_path_request_phase_duration_max_seconds"
PATH_BYTES = "logstat_path_response_bytes"
BYTES_HELP = (
    "Bytes sent to clients, by log source, status class and status code (sources that "
    "log a duration only)."
)
Labels = tuple[tuple[str, str], ...]


def bytes_samples(latency: Latency | None) -> list[tuple[Labels, int]]:
    """logstat_response_bytes_total's samples (a counter: --state adds them up)."""
    if latency is None:
        return []
    return sorted(
        (
            (
                ("source", row.source),
                ("class", row.status_class),
                ("status", "" if row.status is None else status_text(row.status)),
            ),
            row.bytes,
        )
        for row in latency.bytes_by_status
    )


def _labels(row: StatusDurations) -> Labels:
    labels: Labels = (
        ("source", row.source),
        ("class", row.status_class),
        ("status", "" if row.status is None else status_text(row.status)),
    )
    if row.measure != "request_time_s":
        labels += (("phase", MEASURE_LABELS[row.measure]),)
    return labels


def _path_key(row: PathCount | PathDurations) -> Labels:
    """A top path's labels: its source too when several sources log durations (then the
    same path of two sources is two measurements)."""
    source: Labels = (("source", row.source),) if row.source is not None else ()
    return (*source, ("path", row.path))


def _path_labels(row: PathDurations) -> Labels:
    labels = _path_key(row)
    if row.measure != "request_time_s":
        labels += (("phase", MEASURE_LABELS[row.measure]),)
    return labels


Family = tuple[str, str, str, list[tuple[str, Labels, float]]]
PHASES = (
    "Durations of the parts of a request a proxy logs apart (phase: ALB/ELB request, target, "
    "response; HAProxy server; Envoy upstream; nginx upstream, upstream connect, upstream "
    "header; origin; first byte)"
)


def families(latency: Latency | None) -> list[Family]:
    """(name, type, help, [(sample name, labels, value)]) of the latency metrics."""
    if latency is None:
        return []
    accuracy = f"{latency.relative_accuracy:.0%}"
    by_status = "by log source, status class and status code"
    result = _durations(
        latency.by_status,
        _labels,
        (DURATION, PHASE_DURATION),
        (LARGEST, PHASE_LARGEST),
        by_status,
        accuracy,
    )
    top = latency.top_paths
    if top is not None:
        by_source = any(row.source is not None for row in top.paths)
        result += _durations(
            top.by_path,
            _path_labels,
            (PATH_DURATION, PATH_PHASE_DURATION),
            (PATH_LARGEST, PATH_PHASE_LARGEST),
            (
                f"by log source and path, for each source's {top.limit} paths with the most "
                "requests"
                if by_source
                else f"by path, for the {len(top.paths)} paths with the most requests"
            )
            + (
                f" (a path's count may be low by up to {top.error}: more distinct paths "
                "than are held)"
                if top.error
                else ""
            ),
            accuracy,
        )
        sent = [(_path_key(row), row.bytes) for row in top.paths if row.with_bytes]
        if sent:
            result.append(
                (
                    PATH_BYTES,
                    "gauge",
                    "Bytes sent to clients read from this run's logs, "
                    + ("by log source and path" if by_source else "by path")
                    + ", for the paths with the most requests.",
                    [(PATH_BYTES, labels, value) for labels, value in sent],
                )
            )
    return result


def _durations(
    rows: Sequence[StatusDurations | PathDurations],
    labels_of: Callable[[Any], Labels],
    summaries: tuple[str, str],
    largest_names: tuple[str, str],
    by_what: str,
    accuracy: str,
) -> list[Family]:
    """The summary metrics (whole requests, then phases) and the largest durations."""
    result: list[Family] = []
    for name, whole, what in ((summaries[0], True, "Request"), (summaries[1], False, PHASES)):
        chosen = [row for row in rows if (row.measure == "request_time_s") == whole]
        if not chosen:
            continue
        samples: list[tuple[str, Labels, float]] = []
        for row in chosen:
            labels = labels_of(row)
            for quantile, value in (("0.5", row.p50), ("0.9", row.p90), ("0.99", row.p99)):
                samples.append((name, (*labels, ("quantile", quantile)), value))
            samples.append((name + "_sum", labels, row.sum))
            samples.append((name + "_count", labels, row.requests))
        result.append(
            (
                name,
                "summary",
                f"{what}, in seconds, read from this run's logs, {by_what}; quantiles "
                f"within {accuracy} (a log-bucket sketch), sum and count exact.",
                samples,
            )
        )
    for name, whole in ((largest_names[0], True), (largest_names[1], False)):
        largest = [
            (name, labels_of(row), row.max)
            for row in rows
            if (row.measure == "request_time_s") == whole
        ]
        if largest:
            result.append(
                (
                    name,
                    "gauge",
                    f"The longest duration in seconds read from this run's logs, {by_what}"
                    + ("." if whole else " and phase (the part of the request)."),
                    largest,
                )
            )
    return result
