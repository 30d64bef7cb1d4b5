"""Listing a folder of time-named objects by the times in their names.

Log shippers name each object for its time after a fixed stem: ALB and ELB
`<account>_elasticloadbalancing_<region>_app.<name>.<id>_20261201T1405Z_<ip>_<random>.log.gz`,
CloudFront `<distribution>.2026-12-01-14.<random>.gz`, Cloudflare Logpush
`20261201T140000Z_20261201T140500Z_<random>.log.gz`.  Keys list in byte order, so a
stem's objects list in time order, and S3's ListObjectsV2 can start after any key: a
folder is listed as a few probes that find each stem (one load balancer, one
distribution), then, for each stem, the keys from the window's start (less the slack)
until the first one past its end.  "The last hour" of a month of ALB keys lists a few
hours of keys, not the month.

Subfolders found by the probes are walked as before (date folders outside the window
skipped); an object whose name has no time is listed and read whatever the window.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

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
    def page(self, prefix: str, start_after: str, limit: int, token: str | None) -> Page:
        """Up to `limit` entries below `prefix` after `start_after`, one folder level deep."""
        ...


@dataclass
class S3Pages:
    """ListObjectsV2 through s3fs's client, counting the entries listed."""

    fs: Any
    bucket: str
    listed: list[int] = field(default_factory=lambda: [0])

    def page(self, prefix: str, start_after: str, limit: int, token: str | None) -> Page:
        request: dict[str, Any] = {
            "Bucket": self.bucket,
            "Prefix": prefix,
            "Delimiter": "/",
            "MaxKeys": limit,
        }
        if token is not None:
            request["ContinuationToken"] = token
        elif start_after:
            request["StartAfter"] = start_after
        response = self.fs.call_s3("list_objects_v2", **request)
        entries = [
            Listed(item["Key"], int(item.get("Size", 0)), _unquoted(item.get("ETag")))
            for item in response.get("Contents", [])
        ]
        entries += [
            Listed(item["Prefix"], folder=True) for item in response.get("CommonPrefixes", [])
        ]
        entries.sort(key=lambda entry: entry.key)
        self.listed[0] += len(entries)
        more = response.get("IsTruncated") and response.get("NextContinuationToken")
        return Page(entries, more or None)


def _unquoted(value: Any) -> str | None:
    return None if value is None else str(value).strip('"')


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
    after = ""
    probe = 1
    while True:
        page = pages.page(folder, after, probe, None)
        stem_found = False
        for entry in page.entries:
            if entry.folder:
                yield entry
                after = entry.key + LAST
                continue
            rest = entry.key[len(folder) :]
            named = _TIME_IN_NAME.search(rest)
            if named is None:  # no time to go by: read it
                yield entry
                after = entry.key
                continue
            stem = folder + rest[: named.start()]
            yield from _stem_keys(pages, stem, named, since, until, slack)
            after = stem + named.group(1)[0] + LAST  # past every timed key of the stem
            stem_found = True
            break
        if not stem_found and page.token is None:
            return  # the folder is listed to its end
        probe = 1 if stem_found else min(probe * 2, PAGE_KEYS)


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
