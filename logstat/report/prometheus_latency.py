"""Latency in the Prometheus file: summary metrics (quantile labels, _sum, _count), the
largest durations, and bytes sent.  Units are in the names (seconds, bytes).

The quantiles describe the requests this run read (with --state: the lines new since
the last run), so they are written as they are, never added to the state's totals;
bytes sent is a counter and is.  Written only when some request logged a duration."""

from __future__ import annotations

from logstat.report.latency_model import MEASURE_LABELS, Latency, StatusDurations
from logstat.report.model import status_text

DURATION = "logstat_request_duration_seconds"
PHASE_DURATION = "logstat_request_phase_duration_seconds"
LARGEST = "logstat_request_duration_max_seconds"
PHASE_LARGEST = "logstat_request_phase_duration_max_seconds"
BYTES = "logstat_response_bytes_total"
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


def families(
    latency: Latency | None,
) -> list[tuple[str, str, str, list[tuple[str, Labels, float]]]]:
    """(name, type, help, [(sample name, labels, value)]) of the latency metrics."""
    if latency is None:
        return []
    accuracy = f"{latency.relative_accuracy:.0%}"
    result = []
    for name, rows, what in (
        (
            DURATION,
            [row for row in latency.by_status if row.measure == "request_time_s"],
            "Request",
        ),
        (
            PHASE_DURATION,
            [row for row in latency.by_status if row.measure != "request_time_s"],
            "Durations of the parts of a request a proxy logs apart (phase: ALB/ELB "
            "request, target, response; HAProxy server; Envoy upstream; nginx upstream, "
            "upstream connect, upstream header; origin; first byte)",
        ),
    ):
        if not rows:
            continue
        samples: list[tuple[str, Labels, float]] = []
        for row in rows:
            labels = _labels(row)
            for quantile, value in (("0.5", row.p50), ("0.9", row.p90), ("0.99", row.p99)):
                samples.append((name, (*labels, ("quantile", quantile)), value))
            samples.append((name + "_sum", labels, row.sum))
            samples.append((name + "_count", labels, row.requests))
        result.append(
            (
                name,
                "summary",
                f"{what}, in seconds, read from this run's logs, by log source, "
                f"status class and status code; quantiles within {accuracy} (a log-bucket "
                "sketch), sum and count exact.",
                samples,
            )
        )
    for name, whole in ((LARGEST, True), (PHASE_LARGEST, False)):
        largest = [
            (name, _labels(row), row.max)
            for row in latency.by_status
            if (row.measure == "request_time_s") == whole
        ]
        if largest:
            result.append(
                (
                    name,
                    "gauge",
                    "The longest duration in seconds read from this run's logs, by log "
                    "source, status class and status code"
                    + ("." if whole else " and phase (the part of the request)."),
                    largest,
                )
            )
    return result
