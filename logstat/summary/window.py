"""The last few minutes of requests, for a live view: one partial summary per second.

Each record is counted in the second it was logged in (its timestamp, in UTC); a
line without a time (a rejected line, a record whose time is not logged) in the
second it was read, and a record stamped after the moment it was read (a clock
ahead of ours) in that moment's second.  Seconds older than the window are
dropped as time goes on.  Partial summaries merge exactly, so the window's
summary is the summary of exactly the records whose second is inside it, however
the lines were cut into frames and whenever they were read.

    window = SecondWindow(300, settings)
    window.add(frame, now)           # a parsed frame (pipeline.read), read at `now`
    window.add_files(runs)           # the files those frames came from
    summary = window.summary(now)    # the report of the last 300 seconds
    window.per_second(now)           # class -> requests in each second, oldest first
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import polars as pl

from logstat.reading.runs import FileRun
from logstat.report.model import Summary
from logstat.summary.partial import PartialSummary, fold
from logstat.summary.settings import ReportSettings, ensure_columns

SECOND = "__second"  # the column a frame is split by: whole seconds since the epoch


class SecondWindow:
    """Records of the last `seconds` seconds, one PartialSummary per second."""

    def __init__(self, seconds: int, settings: ReportSettings | None = None) -> None:
        if seconds < 1:
            raise ValueError("a window is at least one second long")
        self.seconds = seconds
        self.settings = settings or ReportSettings()
        self.buckets: dict[int, PartialSummary] = {}
        # each bucket's requests by class, worked out once per change of the bucket
        self._classes: dict[int, dict[str, int]] = {}
        # the files read since the start, under one id per name: whose lines were
        # counted (their format picks the meanings) and how many lines each had
        self.files = PartialSummary(self.settings)
        self._file_ids: dict[str, int] = {}
        self.older = 0  # records read that were already older than the window

    def first_second(self, now: float) -> int:
        """The oldest second inside the window that ends with the second of `now`."""
        return int(now) - self.seconds + 1

    def add(self, frame: pl.DataFrame, now: float) -> None:
        """Count a parsed frame read at `now` (seconds since the epoch) into its seconds."""
        current = int(now)
        frame = ensure_columns(frame, ["timestamp"])
        second = pl.coalesce(pl.col("timestamp").dt.epoch("s"), pl.lit(current, pl.Int64))
        keyed = frame.with_columns(second.clip(upper_bound=current).alias(SECOND))
        inside = keyed.filter(pl.col(SECOND) >= self.first_second(now))
        self.older += keyed.height - inside.height
        for (key,), part in inside.partition_by(SECOND, as_dict=True).items():
            assert isinstance(key, int)
            bucket = self.buckets.get(key)
            if bucket is None:
                bucket = self.buckets[key] = PartialSummary(self.settings)
            bucket.add(part.drop(SECOND))
            self._classes.pop(key, None)

    def add_files(self, runs: Iterable[FileRun]) -> None:
        """The files read (each run's counters once its lines are read), kept by name: the
        same file read on every tick is one file."""
        renumbered = []
        for run in runs:
            file_id = self._file_ids.setdefault(run.source.name, len(self._file_ids))
            renumbered.append(replace(run, file_id=file_id))
        self.files.add_files(renumbered)

    def drop_old(self, now: float) -> None:
        """Forget the seconds that have left the window."""
        first = self.first_second(now)
        for key in [key for key in self.buckets if key < first]:
            del self.buckets[key]
            self._classes.pop(key, None)

    def partial(self, now: float) -> PartialSummary:
        """The seconds inside the window merged (with the files read), as a new value."""
        first = self.first_second(now)
        inside = [self.buckets[key] for key in sorted(self.buckets) if key >= first]
        return fold([PartialSummary(self.settings), self.files, *inside])

    def summary(self, now: float, vendors: Iterable[str] = ()) -> Summary:
        """The report of the window: its records; the files' lines since the start."""
        return self.partial(now).summary(vendors)

    def per_second(self, now: float) -> dict[str, list[int]]:
        """Requests by class in each second of the window, oldest first (a class only
        when it has requests in the window)."""
        first = self.first_second(now)
        series: dict[str, list[int]] = {}
        for offset in range(self.seconds):
            for status_class, count in self._class_counts(first + offset).items():
                series.setdefault(status_class, [0] * self.seconds)[offset] = count
        return series

    def _class_counts(self, key: int) -> dict[str, int]:
        bucket = self.buckets.get(key)
        if bucket is None:
            return {}
        counts = self._classes.get(key)
        if counts is None:
            table = bucket.status_counts().group_by("status_class").agg(pl.col("count").sum())
            counts = self._classes[key] = {
                str(row["status_class"]): int(row["count"]) for row in table.iter_rows(named=True)
            }
        return counts
