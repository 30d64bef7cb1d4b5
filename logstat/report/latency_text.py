"""The latency report's tables for the text, rich and Markdown views: durations by class
and by status (ALB/ELB: by phase too), bytes sent by status, the slowest requests.
Shown only when some selected record has a duration."""

from __future__ import annotations

from typing import Any

from logstat.report.escape import safe
from logstat.report.fit import DATA, Layout
from logstat.report.latency_model import (
    MEASURE_LABELS,
    ClassDurations,
    Latency,
    PathDurations,
    StatusDurations,
    TopPaths,
)
from logstat.report.lines_note import path_rows_note
from logstat.report.model import status_text
from logstat.time_zones import UTC_ZONE, DisplayZone

# A table for text.py to make a Section of (this module does not import it: text.py
# imports this one): title, headers, rows, right_aligned, note, layout.
Table = dict[str, Any]


def _table(
    title: str,
    headers: list[str],
    rows: list[list[str]],
    right_aligned: frozenset[int] = frozenset(),
    note: str | None = None,
    layout: Layout | None = None,
) -> Table:
    return {
        "title": title,
        "headers": headers,
        "rows": rows,
        "right_aligned": right_aligned,
        "note": note,
        "layout": layout or Layout(),
    }


def _count(value: int) -> str:
    return f"{value:,}"


def _code(status: int | None) -> str:
    return "-" if status is None else status_text(status)


FIGURES = ["requests", "p50", "p90", "p99", "max", "mean"]


def duration_text(seconds: float) -> str:
    """Three significant digits (the sketch is within 1%) in s, ms or us: 1.53 s, 12.3 ms."""
    if seconds == 0:
        return "0"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale or unit == "us":
            value = seconds / scale
            return f"{value:,.0f} {unit}" if value >= 1000 else f"{value:.3g} {unit}"
    raise AssertionError("unreachable")


def _figures(row: ClassDurations | StatusDurations | PathDurations) -> list[str]:
    return [
        _count(row.requests),
        *(duration_text(value) for value in (row.p50, row.p90, row.p99, row.max, row.mean)),
    ]


def latency_tables(
    latency: Latency, zone: DisplayZone = UTC_ZONE, command: str | None = None
) -> list[Table]:
    """The tables; `command`: the summary's `logstat lines` (None: no input to read again),
    for the notes that name the lines behind a row."""
    phases = any(row.measure != "request_time_s" for row in latency.by_status)
    several_sources = len({row.source for row in latency.by_status}) > 1
    accuracy = f"{latency.relative_accuracy:.0%}"
    note = (
        f"p50/p90/p99 within {accuracy} (a log-bucket sketch); requests, max and mean exact."
        + (
            " total: the whole request; the other rows are the parts of it the proxy logs"
            " apart (ALB/ELB: request, target, response; HAProxy: server; Envoy: upstream;"
            " nginx: upstream, upstream connect, upstream header, summed over the upstreams"
            " tried;"
            " Traefik, Cloudflare: origin; CloudFront: first byte): a slow backend shows"
            " there, a slow client in request or response.  A part not measured (ALB's -1:"
            " no target answered) is no duration."
            if phases
            else ""
        )
        + (
            f" {_count(latency.negative)} durations below zero left out."
            if latency.negative
            else ""
        )
    )
    time_column = ["time"] if phases else []
    first = 1 + len(time_column)
    # several sources that log durations: by class and source (their durations differ)
    by_source = any(row.source is not None for row in latency.by_class)
    result = [
        _table(
            (
                "Latency by class and source"
                if by_source
                else "Latency by class (every source that logs durations)"
            ),
            [*(["source"] if by_source else []), "class", *time_column, *FIGURES],
            [
                [
                    *([row.source or "-"] if by_source else []),
                    row.status_class,
                    *([MEASURE_LABELS[row.measure]] if phases else []),
                    *_figures(row),
                ]
                for row in latency.by_class
            ],
            frozenset(range(first + by_source, first + by_source + len(FIGURES))),
            layout=Layout(drop=("mean", "p90")),
        ),
        _table(
            "Latency by status",
            [*(["source"] if several_sources else []), "status", *time_column, *FIGURES],
            [
                [
                    *([row.source] if several_sources else []),
                    _code(row.status),
                    *([MEASURE_LABELS[row.measure]] if phases else []),
                    *_figures(row),
                ]
                for row in latency.by_status
            ],
            frozenset(range(first + several_sources, first + several_sources + len(FIGURES))),
            note,
            Layout(drop=("mean", "p90")),
        ),
    ]
    if latency.bytes_by_status:
        result.append(
            _table(
                "Bytes sent by status",
                [*(["source"] if several_sources else []), "status", "requests", "bytes", "mean"],
                [
                    [
                        *([row.source] if several_sources else []),
                        _code(row.status),
                        _count(row.requests),
                        _count(row.bytes),
                        f"{row.mean:,.1f}",
                    ]
                    for row in latency.bytes_by_status
                ],
                frozenset(range(1 + several_sources, 4 + several_sources)),
            )
        )
    if latency.top_paths is not None and latency.top_paths.paths:
        result.extend(_path_tables(latency.top_paths, accuracy, command))
    if latency.slowest:
        result.append(
            _table(
                f"Slowest requests ({len(latency.slowest)})",
                ["duration", *(["source"] if several_sources else []), "status", "time", "path"],
                [
                    [
                        duration_text(row.seconds),
                        *([row.source] if several_sources else []),
                        _code(row.status),
                        zone.show(row.timestamp) if row.timestamp else "-",
                        safe(row.path) if row.path is not None else "-",
                    ]
                    for row in latency.slowest
                ],
                frozenset({0}),
                layout=Layout({"path": DATA}, ("time",)),
            )
        )
    return result


def _path_tables(top: TopPaths, accuracy: str, command: str | None) -> list[Table]:
    """Latency, requests and bytes of the paths with the most requests; each source's
    apart when the rows have one (several sources log durations)."""
    phases = any(row.measure != "request_time_s" for row in top.by_path)
    time_column = ["time"] if phases else []
    by_source = any(row.source is not None for row in top.paths)
    source_column = ["source"] if by_source else []
    missed = any(row.missed for row in top.paths)
    counted = (
        "every request of each path is counted"
        if not missed
        else "more distinct paths than are held: a path's figures describe the requests"
        " counted, and up to `not counted` more may be missing"
    )
    result = []
    if top.by_path:
        first = len(source_column) + 1 + len(time_column)
        result.append(
            _table(
                (
                    f"Latency by path and source (each source's {top.limit} paths with the"
                    " most requests)"
                    if by_source
                    else f"Latency by path (the {len(top.paths)} with the most requests)"
                ),
                [*source_column, "path", *time_column, *FIGURES],
                [
                    [
                        *([row.source or "-"] if by_source else []),
                        safe(row.path),
                        *([MEASURE_LABELS[row.measure]] if phases else []),
                        *_figures(row),
                    ]
                    for row in top.by_path
                ],
                frozenset(range(first, first + len(FIGURES))),
                _notes(
                    f"p50/p90/p99 within {accuracy}; requests, max and mean exact; {counted}.",
                    path_rows_note(command, top.by_path[0].source, top.by_path[0].path),
                ),
                Layout({"path": DATA}, ("mean", "p90")),
            )
        )
    sent = any(row.with_bytes for row in top.paths)
    headers = [*source_column, "path", "requests", *(["not counted"] if missed else [])]
    headers += ["bytes", "mean"] if sent else []
    result.append(
        _table(
            "Requests and bytes by path and source" if by_source else "Requests and bytes by path",
            headers,
            [
                [
                    *([row.source or "-"] if by_source else []),
                    safe(row.path),
                    _count(row.requests),
                    *([f"<= {_count(row.missed)}" if row.missed else "0"] if missed else []),
                    *(
                        [_count(row.bytes), f"{row.bytes / row.with_bytes:,.1f}"]
                        if row.with_bytes
                        else ["-", "-"]
                    )[: 2 if sent else 0],
                ]
                for row in top.paths
            ],
            frozenset(range(len(source_column) + 1, len(headers))),
            _notes(
                None if top.by_path else f"{counted[0].upper()}{counted[1:]}.",
                path_rows_note(command, top.paths[0].source, top.paths[0].path),
            ),
            Layout({"path": DATA}),
        )
    )
    return result


def _notes(*notes: str | None) -> str | None:
    """The notes given, as one line under a table (None: none)."""
    return " ".join(note for note in notes if note) or None
