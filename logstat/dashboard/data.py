"""What the dashboard shows, folded chunk by chunk like the summary.

The summary (classes, codes with their meanings, proxy/upstream split) comes
from `PartialSummary`; this adds counts per minute and class for the chart over
time (re-bucketed at the end to at most MAX_BUCKETS bars, whatever the time
span, on the hours and days of the --tz zone: clock.py) and the paths that drew
the most 4xx and 5xx answers.  Times are shown in that zone, which the page names.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import polars as pl

from logstat import schema
from logstat.dashboard.clock import DAY, Clock
from logstat.filters import Filters
from logstat.read_health import doubt
from logstat.reading.runs import FileRun
from logstat.report.files import (
    ATTENTION_LIMIT,
    group_files,
    listed_one_by_one,
    needing_attention,
    shown_groups,
)
from logstat.report.latency_model import MEASURE_LABELS
from logstat.report.model import FileSummary, FilterReport
from logstat.status.details import LAYERS as DETAIL_LAYERS
from logstat.status.producers import LAYER_NAMES
from logstat.summary import CLASS_ORDER, PartialSummary, ReportSettings
from logstat.summary.topk import ERROR, TopCounts
from logstat.time_zones import UTC_ZONE, DisplayZone
from logstat.version import version

MAX_BUCKETS = 240
# bucket sizes to choose from, in seconds: the smallest that gives few enough bars
STEPS = (60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 7 * 86400)
ERROR_CLASSES = ("4xx", "5xx")
PATH_CHARS = 300  # longer paths are cut in the table
COMPACT_EVERY = 64
PATH_SCHEMA = {"path": pl.String(), "status_class": pl.String(), "status": pl.Int16()}


class DashboardBuilder:
    def __init__(
        self, top: int = 20, filters: Filters | None = None, zone: DisplayZone = UTC_ZONE
    ) -> None:
        self.top = top
        self.zone = zone  # --tz: the times shown, and the hours and days the bars start on
        # the filters (--status, --since ...) apply to every chart and table, as in summary
        self.filters = filters or Filters()
        # with the latency and bytes of the `top` paths with the most requests
        self.summary = PartialSummary(ReportSettings(filters=self.filters, path_latency=top))
        self._minutes: list[pl.DataFrame] = []
        # bounded like the --top counts: exact until topk.BUDGET distinct (class, status, path)
        self._paths = TopCounts(["status_class", "status"], "path", dict(PATH_SCHEMA))
        self._untimed = 0  # records without a time: in no bar

    def needed(self) -> set[str]:
        return ReportSettings(filters=self.filters).needed() | {"timestamp", "path"}

    def add(self, frame: pl.DataFrame) -> None:
        self.summary.add(frame)
        records = frame.filter(pl.col(schema.LINE_KIND) == schema.RECORD)
        for column in ("timestamp", "path", "status", *self.filters.columns()):
            if column not in records.columns:  # a format may lack one
                records = records.with_columns(
                    pl.lit(None, dtype=schema.COLUMNS[column]).alias(column)
                )
        records = self.filters.apply(records)
        timed = records.filter(pl.col("timestamp").is_not_null())
        self._untimed += records.height - timed.height
        minute = (pl.col("timestamp").dt.epoch("s") // 60).alias("minute")
        self._minutes.append(timed.group_by(minute, "status_class").agg(pl.len().alias("count")))
        errors = records.filter(pl.col("status_class").is_in(ERROR_CLASSES))
        self._paths.add(
            errors.group_by("status_class", "status", "path").agg(pl.len().alias("count"))
        )
        if len(self._minutes) >= COMPACT_EVERY:
            self._minutes = [self._minute_counts()]
            self._paths.compact()

    def merge(self, other: DashboardBuilder) -> DashboardBuilder:
        """Add `other` (the same page's counts of other lines or files) to this one, as
        PartialSummary.merge does; `other` is left as it was.  Returns this builder."""
        self.summary.merge(other.summary)
        self._minutes += other._minutes
        self._paths.merge(other._paths)
        self._untimed += other._untimed
        if len(self._minutes) >= COMPACT_EVERY:
            self._minutes = [self._minute_counts()]
            self._paths.compact()
        return self

    @property
    def held_rows(self) -> int:
        """Rows held in partial counts (besides the summary's): minutes and error paths."""
        return sum(part.height for part in self._minutes) + self._paths.held_rows

    def _minute_counts(self) -> pl.DataFrame:
        if not self._minutes:
            return pl.DataFrame(
                schema={"minute": pl.Int64(), "status_class": pl.String(), "count": pl.UInt32()}
            )
        merged = pl.concat(self._minutes, how="vertical_relaxed")
        return merged.group_by("minute", "status_class").agg(pl.col("count").sum())

    def build(self, runs: list[FileRun], vendors: Iterable[str] = ()) -> dict[str, Any]:
        """The page's data: plain JSON values."""
        self.summary.add_files(runs)
        result = self.summary.summary(vendors)
        # the files are added below: a page lists at most a few dozen of them
        summary = dataclasses.replace(result, files=[]).to_json()
        timeline = {**_timeline(self._minute_counts(), self.zone), "untimed": self._untimed}
        zone = self.zone
        totals = result.totals
        return {
            "generated": zone.show(datetime.now(UTC)),
            "version": version(),
            "zone": zone.name,  # every time on the page is shown in it
            # why the counts say nothing (no line parsed, most without a status), or None
            "in_doubt": doubt(totals.records, totals.rejected, self.summary.without_status),
            "totals": summary["totals"],
            # what --status, --since ... kept (None: all); times as shown in the zone
            "filters": _filters(summary.get("filters"), result.filters, zone),
            "first": zone.show(result.first) if result.first else None,
            "last": zone.show(result.last) if result.last else None,
            **_files(result.files),
            "classes": summary["classes"],
            "statuses": summary["statuses"],  # one row per (source, status, producer)
            "producer_labels": {source: list(names) for source, names in LAYER_NAMES.items()},
            "upstream_statuses": summary["upstream_statuses"],
            "layers": summary["layers"],
            "layer_labels": {
                name: [layer.label, layer.says] for name, layer in DETAIL_LAYERS.items()
            },
            "vendors": summary["vendors"],
            "timeline": timeline,
            "error_paths": _error_paths(self._paths.counts(), self.top),
            # None: exact; else each path's error count may be low by up to this
            "error_paths_error": int(self._paths.errors()[ERROR].sum()) or None,
            "top": self.top,
            # durations and bytes by status, slowest requests: None when none was logged
            "latency": summary.get("latency"),
            "measure_labels": MEASURE_LABELS,
        }


def _files(files: list[FileSummary]) -> dict[str, Any]:
    """Every file when there are few; otherwise groups by directory, format and
    compression, and the files that need attention (`attention`: how many in all)."""
    if listed_one_by_one(files):
        return {"files": [file.to_json() for file in files], "file_groups": [], "attention": None}
    flagged = needing_attention(files)
    groups, others = shown_groups(group_files(files))
    rows = groups + ([others] if others else [])
    return {
        "files": [file.to_json() for file in flagged[:ATTENTION_LIMIT]],
        "file_groups": [dataclasses.asdict(group) for group in rows],
        "attention": len(flagged),
    }


def _step(span_seconds: int) -> int:
    for step in STEPS:
        if math.ceil(span_seconds / step) <= MAX_BUCKETS:
            return step
    days = math.ceil(span_seconds / MAX_BUCKETS / 86400)
    return days * 86400


def _filters(
    found: dict[str, Any] | None, filters: FilterReport | None, zone: DisplayZone
) -> dict[str, Any] | None:
    if found is None or filters is None:
        return found
    moments = {"since": filters.since, "until": filters.until}
    return {**found, **{name: zone.show(at) for name, at in moments.items() if at is not None}}


def _timeline(minutes: pl.DataFrame, zone: DisplayZone) -> dict[str, Any]:
    if minutes.height == 0:
        return {"step_seconds": None, "labels": [], "series": {}, "zone": zone.name}
    first = int(minutes["minute"].min()) * 60  # type: ignore[arg-type]
    last = int(minutes["minute"].max()) * 60  # type: ignore[arg-type]
    step = _step(last - first + 60)
    margin = step + 2 * DAY  # a bucket may start up to a step (and a shift) before `first`
    clock = Clock(zone.zone, first - margin, last + margin)
    # the minutes by offset and wall-clock step (or day: a bucket holds whole ones), in
    # polars; then, in Python, the bucket each such group is in
    offsets = pl.DataFrame(
        {"instant": clock.starts, "offset": clock.offsets, "segment": range(len(clock.starts))},
        schema={"instant": pl.Int64(), "offset": pl.Int64(), "segment": pl.Int64()},
    )
    walls = (
        minutes.with_columns((pl.col("minute").cast(pl.Int64) * 60).alias("instant"))
        .sort("instant")
        .join_asof(offsets, on="instant", strategy="backward")
        .group_by(
            ((pl.col("instant") + pl.col("offset")) // min(step, DAY)).alias("wall"),
            "segment",
            "status_class",
        )
        .agg(pl.col("count").sum(), pl.col("instant").min())
    )
    starts: list[int] = [clock.bucket(first, step)]
    while starts[-1] < clock.bucket(last, step):
        starts.append(clock.following(starts[-1], step))
    index = {start: number for number, start in enumerate(starts)}
    series: dict[str, list[int]] = {}
    for status_class, number, instant in walls.select(
        "status_class", "count", "instant"
    ).iter_rows():
        counts = series.setdefault(str(status_class), [0] * len(starts))
        counts[index[clock.bucket(int(instant), step)]] += int(number)
    ordered = {name: series[name] for name in CLASS_ORDER if name in series}
    return {
        "step_seconds": step,
        "labels": _labels(starts, step, zone),
        "series": ordered,
        "zone": zone.name,
    }


def _labels(starts: list[int], step: int, zone: DisplayZone) -> list[str]:
    """Each bar's start on the zone's clock; with its offset when the offset changes
    within the chart (the hour repeated when the clocks go back is two bars)."""
    moments = [datetime.fromtimestamp(start, zone.zone) for start in starts]
    if step % DAY == 0:
        return [moment.strftime("%Y-%m-%d") for moment in moments]
    shape = "%Y-%m-%d %H:%M"
    if len({moment.utcoffset() for moment in moments}) > 1:
        shape += " %z"
    return [moment.strftime(shape) for moment in moments]


def _error_paths(paths: pl.DataFrame, top: int) -> list[dict[str, Any]]:
    if paths.height == 0:
        return []
    by_path = (
        paths.group_by("path")
        .agg(
            pl.col("count").sum().alias("errors"),
            pl.col("count").filter(pl.col("status_class") == "4xx").sum().alias("client_errors"),
            pl.col("count").filter(pl.col("status_class") == "5xx").sum().alias("server_errors"),
            pl.col("status")
            .sort_by(["count", "status"], descending=[True, False])
            .first()
            .alias("top_status"),
            pl.col("count").max().alias("top_status_count"),
        )
        .sort(["errors", "path"], descending=[True, False], nulls_last=True)
        .head(top)
    )
    rows = []
    for row in by_path.iter_rows(named=True):
        path = row["path"]
        if path is not None and len(path) > PATH_CHARS:
            path = path[:PATH_CHARS] + "…"
        rows.append({**row, "path": path})
    return rows
