"""The dashboard's time buckets in the report's zone (--tz): bars start on the zone's
hours and days, as its clocks read them.

A bucket of `step` seconds (a divisor of a day) starts where the zone's wall clock
reaches a multiple of `step` since midnight: in Asia/Kathmandu (+05:45) the hourly
bars start at 10:00 local, 04:15 UTC.  A bucket of days starts at local midnight (of
7 days: on a Monday).  Daylight saving time makes some buckets longer or shorter:
the night clocks go back, the 3-hour bucket from midnight holds four hours and the
repeated hour is two 1-hour buckets, one per offset; where the clocks jump (forward
over a bucket's start, at midnight in some zones, or back into an earlier bucket),
a bucket starts at the change.

Instants are Unix seconds.  The zone's offsets are looked up once for the span (its
changes found by sampling, then to the second), so a bucket is worked out with
arithmetic, and per distinct wall-clock bucket, never per request.
"""

from __future__ import annotations

import bisect
from datetime import datetime, tzinfo

DAY = 86400
SAMPLE = 3 * 3600  # the zone's offset is looked at this often for changes (months apart)
MONDAY = 4  # 1970-01-05, day 4 of the Unix epoch, was a Monday
PROBE = 60  # when a bucket is longer than its step, the next one is looked for this often


class Clock:
    """The zone's UTC offsets from `begin` to `end`: `starts[i]` is when `offsets[i]` began."""

    def __init__(self, zone: tzinfo, begin: int, end: int) -> None:
        self.zone = zone
        self.starts = [begin]
        self.offsets = [self.offset(begin)]
        moment = begin
        while moment < end:
            later = min(moment + SAMPLE, end)
            if self.offset(later) != self.offsets[-1]:
                change = self._change(moment, later)
                self.starts.append(change)
                self.offsets.append(self.offset(change))
            moment = later

    def offset(self, instant: int) -> int:
        """Seconds east of UTC at `instant`."""
        shift = datetime.fromtimestamp(instant, self.zone).utcoffset()
        return int(shift.total_seconds()) if shift is not None else 0

    def _change(self, before: int, after: int) -> int:
        """The first second with another offset than `before`'s, in (before, after]."""
        old = self.offset(before)
        while after - before > 1:
            middle = (before + after) // 2
            if self.offset(middle) == old:
                before = middle
            else:
                after = middle
        return after

    def bucket(self, instant: int, step: int) -> int:
        """The start of the bucket holding `instant`."""
        index = bisect.bisect_right(self.starts, instant) - 1
        aligned = align(instant + self.offsets[index], step)
        while True:
            start = aligned - self.offsets[index]
            if start >= self.starts[index] or index == 0:
                return start
            # the clock read `aligned` before this offset began, or never: the bucket
            # goes on from before the change only if the clock was in it just before
            # (a 3-hour bucket the night clocks go back); else it starts at the change
            change = self.starts[index]
            if align(change - 1 + self.offsets[index - 1], step) != aligned:
                return change
            index -= 1

    def following(self, start: int, step: int) -> int:
        """The start of the bucket after the one starting at `start`."""
        probe = start + step
        while (found := self.bucket(probe, step)) == start:
            probe += PROBE  # a longer bucket: the night the clocks went back
        # a shorter bucket may lie between: the clocks changed within this step
        while (before := self.bucket(found - 1, step)) != start:
            found = before
        return found


def align(wall: int, step: int) -> int:
    """A wall-clock time (seconds since 1970-01-01 00:00 local) down to its bucket."""
    if step % DAY:
        return wall // step * step
    days, day = step // DAY, wall // DAY
    if days == 7:
        return ((day - MONDAY) // 7 * 7 + MONDAY) * DAY
    return day // days * days * DAY
