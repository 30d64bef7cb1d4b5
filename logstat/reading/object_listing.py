"""Listing a folder of time-named objects by the times in their names.

Log shippers name each object for its time after a fixed stem: ALB and ELB
`<account>_elasticloadbalancing_<region>_app.<name>.<id>_20261201T1405Z_<ip>_<random>.log.gz`,
CloudFront `<distribution>.2026-12-01-14.<random>.gz`, Cloudflare Logpush
`20261201T140000Z_20261201T140500Z_<random>.log.gz`.  Keys list in byte order, so a
stem's objects list in time order, and each store's listing can start at any key
(S3, GCS and Azure Blob alike: object_pages.py): a folder is listed as a few probes
that find each stem (one load balancer, one distribution), then, for each stem, the
keys from the window's start (less the slack) until the first one past its end.  "The
last hour" of a month of ALB keys lists a few hours of keys, not the month.

Subfolders found by the probes are walked as before (date folders outside the window
skipped); an object whose name has no time is listed and read whatever the window.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

PAGE_KEYS = 1000  # the most keys S3 returns in one page
FIRST_RANGE_KEYS = 10  # a stem's first page, doubled on each next: a short window lists little
LAST = "\U0010ffff"  # sorts after every character a key can hold: skips a whole prefix
# a time right at the start of a name's rest: ALB/ELB 20261201T1405Z, Logpush
# 20261201T140500Z, CloudFront 2026-12-01-14
_TIME = re.compile(r"((?:19|20)[0-9]{2})(-?)([01][0-9])-?([0-3][0-9])[T-]([0-2][0-9])([0-5][0-9])?")
_TIME_IN_NAME = re.compile(r"(?<![0-9])" + _TIME.pattern)


@dataclass(frozen=True)
class Listed:
    """A key (or, with `folder`, a common prefix ending in `/`) as a page lists it."""

    key: str
    size: int | None = None
    etag: str | None = None
    folder: bool = False


@dataclass
class Page:
    entries: list[Listed]  # keys and folders together, in key order
    token: str | None = None  # where the next page starts; None: the last page


class Pages(Protocol):
    def page(self, prefix: str, start: str, limit: int, token: str | None) -> Page:
        """Up to `limit` entries below `prefix` from `start` on (or where `token`, the last
        page's, says), one folder level deep; object_pages.py has one for each store."""
        ...


def listable(since: datetime | None, until: datetime | None) -> bool:
    """Whether a window bounds the names worth listing."""
    return since is not None or until is not None


def by_name_times(
    pages: Pages,
    folder: str,
    since: datetime | None,
    until: datetime | None,
    slack: timedelta,
) -> Iterator[Listed]:
    """The keys below `folder` (a prefix ending in `/`) worth reading for the window, and
    its subfolders (for the caller to walk), in key order."""
    start = ""
    probe = 1
    token: str | None = None
    while True:
        page = pages.page(folder, start, probe, token)
        jumped = False
        for entry in page.entries:
            rest = entry.key[len(folder) :]
            named = None if entry.folder else _TIME_IN_NAME.search(rest)
            if named is None:  # a subfolder, or no time to go by: read it
                yield entry
                continue
            stem = folder + rest[: named.start()]
            yield from _stem_keys(pages, stem, named, since, until, slack)
            # the first key past every timed key of the stem (a year starts with 1 or 2);
            # the key itself, no folder below it: Azure starts from one level only
            start = stem + chr(ord(named.group(1)[0]) + 1)
            jumped = True
            break
        if jumped:
            token, probe = None, 1
        elif page.token is None:
            return  # the folder is listed to its end
        else:
            token, probe = page.token, min(probe * 2, PAGE_KEYS)


def _stem_keys(
    pages: Pages,
    stem: str,
    example: re.Match[str],
    since: datetime | None,
    until: datetime | None,
    slack: timedelta,
) -> Iterator[Listed]:
    """The keys of one stem whose named time is within the window and its slack (the
    caller still checks each name, as for any listing)."""
    start = ""
    if since is not None:
        start = stem + _hour_text(since - slack, dashed=bool(example.group(2)))
    limit = FIRST_RANGE_KEYS
    token: str | None = None
    while True:
        page = pages.page(stem, start, limit, token)
        for entry in page.entries:
            if entry.folder:
                continue  # a folder named like a time: not this stem's objects
            found = _TIME.match(entry.key, len(stem))
            when = _time(found) if found is not None else None
            if when is not None and until is not None and when - slack > until:
                return  # the stem's keys go on in time order: none later is wanted
            yield entry
        if page.token is None:
            return
        # doubling: a range that ends soon lists at most about twice what it needed
        token, limit = page.token, min(limit * 2, PAGE_KEYS)


def name_time(name: str) -> datetime | None:
    """The time an object's name carries (its first), or None."""
    found = _TIME_IN_NAME.search(name)
    return _time(found) if found is not None else None


def _hour_text(when: datetime, dashed: bool) -> str:
    """The start of the names of the hour `when` is in, as the stem writes them."""
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%d-%H" if dashed else "%Y%m%dT%H")


def _time(found: re.Match[str]) -> datetime | None:
    try:
        return datetime(
            int(found[1]),
            int(found[3]),
            int(found[4]),
            int(found[5]),
            int(found[6] or 0),
            tzinfo=UTC,
        )
    except ValueError:
        return None
