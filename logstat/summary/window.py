"""The last few minutes of requests, for a live view: one partial summary per bucket.

A bucket is a second for windows up to 5 minutes, and longer for longer ones (12 s for
an hour), so a window never holds more than BUCKETS of them: each is merged again
every second.  Each record is counted in the bucket of the second it was logged in
(its timestamp, in UTC); a line without a time (a rejected line, a record whose time
is not logged) in the second it was read, and a record stamped after the moment it
was read (a clock ahead of ours) in that moment's second.  The window is its last
buckets, the current one included; older ones are dropped as time goes on.  Partial
summaries merge exactly, so the window's summary is the summary of exactly the
records whose bucket is inside it, however the lines were cut into frames and
whenever they were read.

    window = BucketWindow(300, settings)
    window.add(frame, now)           # a parsed frame (pipeline.read), read at `now`
    window.add_files(runs)           # the files those frames came from
    summary = window.summary(now)    # the report of the last 300 seconds
    window.per_bucket(now)           # class -> requests in each bucket, oldest first
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import polars as pl

from logstat.reading.runs import FileRun
from logstat.report.model import Summary
from logstat.summary.partial import PartialSummary, fold
from logstat.summary.settings import ReportSettings, ensure_columns

BUCKETS = 300  # the most buckets a window holds: the buckets of a longer one are longer
KEY = "__bucket"  # the column a frame is split by: buckets since the epoch


class BucketWindow:
    """Records of the last `seconds` seconds, one PartialSummary per bucket."""

    def __init__(self, seconds: int, settings: ReportSettings | None = None) -> None:
        if seconds < 1:
            raise ValueError("a window is at least one second long")
        self.seconds = seconds
        self.bucket_seconds = -(-seconds // BUCKETS)
        self.count = -(-seconds // self.bucket_seconds)  # buckets in the window
        self.settings = settings or ReportSettings()
        self.buckets: dict[int, PartialSummary] = {}
        # each bucket's requests by class, worked out once per change of the bucket
        self._classes: dict[int, dict[str, int]] = {}
        # the files read since the start, under one id per name: whose lines were
        # counted (their format picks the meanings) and how many lines each had
        self.files = PartialSummary(self.settings)
        self._file_ids: dict[str, int] = {}
        self.older = 0  # records read that were already older than the window

    def first_bucket(self, now: float) -> int:
        """The oldest bucket inside the window that ends with the bucket of `now`."""
        return int(now) // self.bucket_seconds - self.count + 1

    def add(self, frame: pl.DataFrame, now: float) -> None:
        """Count a parsed frame read at `now` (seconds since the epoch) into its buckets."""
        current = int(now)
        frame = ensure_columns(frame, ["timestamp"])
        second = pl.coalesce(pl.col("timestamp").dt.epoch("s"), pl.lit(current, pl.Int64))
        bucket = second.clip(upper_bound=current).floordiv(self.bucket_seconds)
        keyed = frame.with_columns(bucket.alias(KEY))
        inside = keyed.filter(pl.col(KEY) >= self.first_bucket(now))
        self.older += keyed.height - inside.height
        for (key,), part in inside.partition_by(KEY, as_dict=True).items():
            assert isinstance(key, int)
            partial = self.buckets.get(key)
            if partial is None:
                partial = self.buckets[key] = PartialSummary(self.settings)
            partial.add(part.drop(KEY))
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
        """Forget the buckets that have left the window."""
        first = self.first_bucket(now)
        for key in [key for key in self.buckets if key < first]:
            del self.buckets[key]
            self._classes.pop(key, None)

    def partial(self, now: float) -> PartialSummary:
        """The buckets inside the window merged (with the files read), as a new value."""
        first = self.first_bucket(now)
        inside = [self.buckets[key] for key in sorted(self.buckets) if key >= first]
        return fold([PartialSummary(self.settings), self.files, *inside])

    def summary(self, now: float, vendors: Iterable[str] = ()) -> Summary:
        """The report of the window: its records; the files' lines since the start."""
        return self.partial(now).summary(vendors)

    def per_bucket(self, now: float) -> dict[str, list[int]]:
        """Requests by class in each bucket of the window, oldest first (a class only
        when it has requests in the window)."""
        first = self.first_bucket(now)
        series: dict[str, list[int]] = {}
        for offset in range(self.count):
            for status_class, count in self._class_counts(first + offset).items():
                series.setdefault(status_class, [0] * self.count)[offset] = count
        return series

    def _class_counts(self, key: int) -> dict[str, int]:
        partial = self.buckets.get(key)
        if partial is None:
            return {}
        counts = self._classes.get(key)
        if counts is None:
            table = partial.status_counts().group_by("status_class").agg(pl.col("count").sum())
            counts = self._classes[key] = {
                str(row["status_class"]): int(row["count"]) for row in table.iter_rows(named=True)
            }
        return counts
