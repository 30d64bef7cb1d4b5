"""--every: the selected records per time bucket, every bucket from the first to the last."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from logstat.errors import ExitCode, LogstatError
from logstat.filters import Duration
from logstat.report.model import Bucket, Timeline, status_text
from logstat.summary.rows import total
from logstat.summary.settings import BUCKET, MAX_BUCKETS


def timeline(buckets: pl.DataFrame, every: Duration, classes: list[str]) -> Timeline:
    untimed = total(buckets.filter(pl.col(BUCKET).is_null()))
    timed = buckets.filter(pl.col(BUCKET).is_not_null())
    if timed.height == 0:
        return Timeline(every=every.text, seconds=every.seconds, buckets=[], untimed=untimed)
    first: datetime = timed[BUCKET].min()  # type: ignore[assignment]
    last: datetime = timed[BUCKET].max()  # type: ignore[assignment]
    span = int((last - first).total_seconds()) // every.seconds + 1
    if span > MAX_BUCKETS:
        raise LogstatError(
            f"--every {every.text} over {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC "
            f"would make {span:,} buckets (at most {MAX_BUCKETS:,}); choose a longer interval "
            "or narrow the time range with --since/--until",
            ExitCode.USAGE,
        )
    starts = pl.datetime_range(
        first, last, every.polars, eager=True, time_unit="us", time_zone="UTC"
    )
    result = {
        start: Bucket(start=start, count=0, classes=dict.fromkeys(classes, 0), statuses={})
        for start in starts
    }
    ordered = timed.sort([BUCKET, "status"], nulls_last=True)
    for start, status_class, status, count in ordered.iter_rows():
        bucket = result[start]
        bucket.count += count
        bucket.classes[status_class] = bucket.classes.get(status_class, 0) + count
        key = status_text(status)
        bucket.statuses[key] = bucket.statuses.get(key, 0) + count
    return Timeline(
        every=every.text, seconds=every.seconds, buckets=list(result.values()), untimed=untimed
    )
