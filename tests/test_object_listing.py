"""Listing by the times in object names: "the last hour" of a month of ALB keys lists
a few hours of keys, and exactly the objects a full listing would keep.

A listing of keys in memory answers as the stores' listings do (prefix, "/" as the
delimiter, a key to start from, a page size, pages), and counts what it lists; S3 and
GCS are asked in their own words (ListObjectsV2, objects.list) through fakes of their
fsspec filesystems.  Azure Blob is asked in tests/test_azure_blob.py, of Azurite."""

from __future__ import annotations

import bisect
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest
from fsspec.implementations.memory import MemoryFile, MemoryFileSystem
from fsspec.registry import _registry as fsspec_protocols

from logstat.reading import object_listing, objects
from logstat.reading.object_listing import Listed, Page

DAYS = 30
PREFIX = "AWSLogs/123456789012/elasticloadbalancing/us-east-1/"
START = datetime(2026, 11, 1, tzinfo=UTC)
END = START + timedelta(days=DAYS)


class Keys:
    """Keys in memory, listed one folder level at a time as S3 lists them."""

    def __init__(self, keys: list[str]) -> None:
        self.keys = sorted(keys)
        self.listed = 0

    def page(self, prefix: str, start: str, limit: int, token: str | None) -> Page:
        """From `start` on, or after `token` (the last key of the page before)."""
        if token is not None:
            index = bisect.bisect_right(self.keys, token)
        else:
            index = bisect.bisect_left(self.keys, start)
        entries: list[Listed] = []
        while index < len(self.keys) and len(entries) < limit:
            key = self.keys[index]
            if not key.startswith(prefix):
                if key > prefix:
                    break
                index += 1
                continue
            rest = key[len(prefix) :]
            if "/" in rest:
                folder = prefix + rest[: rest.index("/") + 1]
                entries.append(Listed(folder, folder=True))
                index = bisect.bisect_left(self.keys, folder + object_listing.LAST)
            else:
                entries.append(Listed(key, 0, "etag"))
                index += 1
        self.listed += len(entries)
        more = index < len(self.keys) and self.keys[index].startswith(prefix)
        if not (more and entries):
            return Page(entries, None)
        return Page(entries, entries[-1].key + (object_listing.LAST if entries[-1].folder else ""))

    def everything(self, folder: str) -> list[str]:
        return [
            key for key in self.keys if key.startswith(folder) and "/" not in key[len(folder) :]
        ]


def alb_keys(balancers: int = 2) -> list[str]:
    """A month of 5-minute deliveries of `balancers` ALBs of two nodes each."""
    keys = []
    for minute in range(0, DAYS * 24 * 60, 5):
        end = START + timedelta(minutes=minute + 5)
        for balancer in range(balancers):
            for node in ("10.0.0.1", "10.0.1.7"):
                keys.append(
                    f"{PREFIX}{end:%Y/%m/%d}/123456789012_elasticloadbalancing_us-east-1_"
                    f"app.web-{balancer}.50dc6c495c0c918{balancer}_{end:%Y%m%dT%H%MZ}_"
                    f"{node}_{minute:08x}.log.gz"
                )
    return sorted(keys)


def listed_by_names(keys: Keys, folder: str, window: objects.Window) -> list[str]:
    """The keys below `folder` (no date folders below it) worth reading for `window`."""
    found = object_listing.by_name_times(keys, folder, window.since, window.until, objects.SLACK)
    return [
        entry.key
        for entry in found
        if not entry.folder and objects._object_wanted(entry.key.rsplit("/", 1)[-1], window)
    ]


def wanted(keys: list[str], window: objects.Window) -> list[str]:
    return [key for key in keys if objects._object_wanted(key.rsplit("/", 1)[-1], window)]


@pytest.mark.parametrize(
    "window",
    [
        objects.Window(since=END - timedelta(hours=1)),
        objects.Window(
            since=START + timedelta(days=10, hours=3), until=START + timedelta(days=10, hours=4)
        ),
        objects.Window(until=START + timedelta(hours=5)),
    ],
    ids=["last hour", "an hour in the middle", "until only"],
)
def test_a_folder_of_alb_keys_lists_the_hours_near_the_window(window: objects.Window) -> None:
    every = alb_keys()
    keys = Keys(every)
    day = (window.since or window.until or START).strftime("%Y/%m/%d")
    folder = f"{PREFIX}{day}/"
    found = listed_by_names(keys, folder, window)
    assert found == wanted(keys.everything(folder), window) != []
    # a day holds 2 load balancers x 2 nodes x 288 deliveries (1,152 keys); the window
    # and its two hours of slack each way (up to 7 hours here) are 24 keys an hour a
    # balancer, and pages that double list at most about twice that
    assert keys.listed < 2 * (7 * 24 * 2) + 20, keys.listed


def test_the_last_hour_of_a_month_lists_under_one_percent_of_its_keys() -> None:
    every = alb_keys()
    keys = Keys(every)
    store = objects.Store.__new__(objects.Store)  # the walk of date folders, over `keys`
    store.scheme, store.listed = "s3", [0]
    window = objects.Window(since=END - timedelta(hours=1))

    class Fs:
        def call_s3(self, method: str, **request: object) -> dict[str, object]:
            assert method == "list_objects_v2"
            page = keys.page(  # StartAfter is exclusive, as a token is here
                str(request["Prefix"]),
                "",
                int(request["MaxKeys"]),  # type: ignore[call-overload]
                request.get("ContinuationToken") or request.get("StartAfter"),  # type: ignore[arg-type]
            )
            return {
                "Contents": [
                    {"Key": e.key, "Size": 1, "ETag": '"x"'} for e in page.entries if not e.folder
                ],
                "CommonPrefixes": [{"Prefix": e.key} for e in page.entries if e.folder],
                "IsTruncated": page.token is not None,
                "NextContinuationToken": page.token,
            }

    store.fs = Fs()
    found = [item.url for item in store._walk(f"logs/{PREFIX.rstrip('/')}", window)]
    assert found == [f"s3://logs/{key}" for key in wanted(every, window)]
    assert len(found) > 0
    assert keys.listed < len(every) / 100, (keys.listed, len(every))


def test_names_without_times_and_subfolders_are_kept() -> None:
    folder = "logs/"
    names = ["20261201T100000Z_20261201T100500Z_a.log.gz", "20261201T230000Z_x.log.gz"]
    keys = Keys([folder + name for name in names] + [folder + "README.txt", folder + "2026/x.gz"])
    window = objects.Window(
        since=datetime(2026, 12, 1, 11, tzinfo=UTC), until=datetime(2026, 12, 1, 12, tzinfo=UTC)
    )
    found = list(
        object_listing.by_name_times(keys, folder, window.since, window.until, objects.SLACK)
    )
    assert [entry.key for entry in found] == [
        folder + "2026/",
        folder + names[0],
        folder + "README.txt",
    ]


class FakeGCS(MemoryFileSystem):
    """An fsspec filesystem in memory for gs:// URLs, listed as gcsfs asks GCS's JSON API
    (objects.list: prefix, delimiter, inclusive startOffset, maxResults, pageToken);
    `requests` counts the listing calls and `entries` what they listed."""

    protocol = "gcs"
    store: ClassVar[dict[str, Any]] = {}
    pseudo_dirs: ClassVar[list[str]] = [""]
    requests: ClassVar[list[int]] = [0]
    entries: ClassVar[list[int]] = [0]
    keys: ClassVar[Keys | None] = None  # the store's keys, sorted once

    def call(self, method: str, path: str, bucket: str, json_out: bool, **query: Any) -> Any:
        assert (method, path, json_out) == ("GET", "b/{}/o", True)
        assert query["delimiter"] == "/"
        inside = f"/{bucket}/"
        if self.keys is None or len(self.keys.keys) != len(self.store):
            type(self).keys = Keys([name[len(inside) :] for name in self.store])
        keys = self.keys
        page = keys.page(
            query["prefix"],
            query.get("startOffset") or "",
            query["maxResults"],
            query.get("pageToken"),
        )
        self.requests[0] += 1
        self.entries[0] += len(page.entries)
        answer: dict[str, Any] = {
            "kind": "storage#objects",
            "items": [
                {"name": e.key, "size": "1", "etag": "CAE="} for e in page.entries if not e.folder
            ],
            "prefixes": [e.key for e in page.entries if e.folder],
        }
        if page.token is not None:
            answer["nextPageToken"] = page.token
        return answer


def cloudfront_keys() -> list[str]:
    """A month of hourly CloudFront files of two distributions, in one flat folder."""
    keys = []
    for hour in range(DAYS * 24):
        when = START + timedelta(hours=hour)
        for distribution in ("E2ABCDEF123456", "E3FEDCBA654321"):
            for part in range(3):
                keys.append(f"cloudfront/{distribution}.{when:%Y-%m-%d-%H}.{hour:05x}{part}.gz")
    return keys


def logpush_keys() -> list[str]:
    """A month of Logpush batches, one a minute, in its daily folders (yyyymmdd/)."""
    keys = []
    for minute in range(DAYS * 24 * 60):
        when = START + timedelta(minutes=minute)
        later = when + timedelta(minutes=1)
        keys.append(
            f"logpush/{when:%Y%m%d}/{when:%Y%m%dT%H%M%SZ}_{later:%Y%m%dT%H%M%SZ}_{minute:06x}.log.gz"
        )
    return keys


@pytest.mark.parametrize(
    ("layout", "make_keys"),
    [("ALB", alb_keys), ("CloudFront", cloudfront_keys), ("Logpush", logpush_keys)],
)
def test_gcs_lists_the_last_hour_by_the_names(
    layout: str, make_keys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    every = sorted(make_keys())
    files = {f"/logs/{key}": MemoryFile(None, f"/logs/{key}", b"") for key in every}
    monkeypatch.setattr(FakeGCS, "store", files)
    monkeypatch.setattr(FakeGCS, "keys", None)
    monkeypatch.setattr(FakeGCS, "requests", [0])
    monkeypatch.setattr(FakeGCS, "entries", [0])
    monkeypatch.setitem(fsspec_protocols, "gcs", FakeGCS)  # what gs:// opens
    window = objects.Window(since=END - timedelta(hours=1))
    top = every[0].split("/", 1)[0]
    store = objects.Store("gs")
    found = [item.url for item in store.listing(f"gs://logs/{top}/", window)]
    assert found == [f"gs://logs/{key}" for key in wanted(every, window)] != []
    assert FakeGCS.entries[0] == store.listed[0]
    assert FakeGCS.entries[0] < len(every) / 100, (FakeGCS.entries[0], len(every))
    assert FakeGCS.requests[0] < 40, FakeGCS.requests[0]
    # without a window, the same store lists every key, folder by folder
    assert len(objects.Store("gs").listing(f"gs://logs/{top}/", objects.Window())) == len(every)
