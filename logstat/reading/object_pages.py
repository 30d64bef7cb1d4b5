"""One page of a folder's listing, from a given key on, in each store's own words.

fsspec lists a whole folder; listing by the times in names (object_listing.py) needs a
listing that starts at a key and stops after a few entries, which each store offers
under its own name: S3's ListObjectsV2 `StartAfter` (exclusive), GCS's `startOffset`
(inclusive), Azure Blob's `startFrom` (inclusive, service version 2026-02-06).  Each
is reached through the client the fsspec filesystem already holds, so credentials
and endpoints are the filesystem's.  A store with none of these is listed by folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from logstat.reading.object_listing import LAST, PAGE_KEYS, Listed, Page, Pages


def pages_for(protocol: str, fs: Any, bucket: str, listed: list[int]) -> Pages | None:
    """The paged listing of a bucket (container) for an fsspec protocol, or None."""
    if protocol == "s3":
        return S3Pages(fs, bucket, listed)
    if protocol == "gcs":
        return GCSPages(fs, bucket, listed)
    if protocol == "abfs":
        return AzurePages(fs, bucket, listed)
    return None


def names_from(fs: Any, folder: str, first: str) -> list[str] | None:
    """The objects directly in `folder` (bucket/path) named `first` or after, in order,
    listed from there when the store can (None when it cannot: list the folder)."""
    protocols = {fs.protocol} if isinstance(fs.protocol, str) else set(fs.protocol)
    protocol = next((name for name in ("s3", "gcs", "abfs") if name in protocols), "")
    bucket, _, key = folder.rstrip("/").partition("/")
    pages = pages_for(protocol, fs, bucket, [0])
    if pages is None:
        return None
    names: list[str] = []
    token = None
    while True:
        page = pages.page(f"{key}/", f"{key}/{first}", PAGE_KEYS, token)
        names += [f"{bucket}/{entry.key}" for entry in page.entries if not entry.folder]
        if page.token is None:
            return names
        token = page.token


@dataclass
class S3Pages:
    """ListObjectsV2 through s3fs's client."""

    fs: Any
    bucket: str
    listed: list[int] = field(default_factory=lambda: [0])

    def page(self, prefix: str, start: str, limit: int, token: str | None) -> Page:
        request: dict[str, Any] = {
            "Bucket": self.bucket,
            "Prefix": prefix,
            "Delimiter": "/",
            "MaxKeys": limit,
        }
        if token is not None:
            request["ContinuationToken"] = token
        elif start:
            request["StartAfter"] = _just_before(start)
        response = self.fs.call_s3("list_objects_v2", **request)
        entries = [
            Listed(item["Key"], int(item.get("Size", 0)), _unquoted(item.get("ETag")))
            for item in response.get("Contents", [])
        ]
        entries += [
            Listed(item["Prefix"], folder=True) for item in response.get("CommonPrefixes", [])
        ]
        more = response.get("IsTruncated") and response.get("NextContinuationToken")
        return _counted(self.listed, entries, more or None)


@dataclass
class GCSPages:
    """The JSON API's objects.list through gcsfs's authorised session."""

    fs: Any
    bucket: str
    listed: list[int] = field(default_factory=lambda: [0])

    def page(self, prefix: str, start: str, limit: int, token: str | None) -> Page:
        response = self.fs.call(
            "GET",
            "b/{}/o",
            self.bucket,
            json_out=True,
            prefix=prefix,
            delimiter="/",
            startOffset=start or None,
            maxResults=limit,
            pageToken=token,
        )
        entries = [
            Listed(
                item["name"],
                int(item.get("size", 0)),
                _unquoted(item.get("etag") or item.get("generation")),
            )
            for item in response.get("items", [])
        ]
        entries += [Listed(name, folder=True) for name in response.get("prefixes", [])]
        return _counted(self.listed, entries, response.get("nextPageToken"))


@dataclass
class AzurePages:
    """List Blobs (by hierarchy) through adlfs's service client, on adlfs's event loop."""

    fs: Any
    container: str
    listed: list[int] = field(default_factory=lambda: [0])

    def page(self, prefix: str, start: str, limit: int, token: str | None) -> Page:
        from fsspec.asyn import sync

        entries, more = sync(self.fs.loop, self._page, prefix, start, limit, token)
        return _counted(self.listed, entries, more)

    async def _page(
        self, prefix: str, start: str, limit: int, token: str | None
    ) -> tuple[list[Listed], str | None]:
        from azure.storage.blob.aio import BlobPrefix

        options: dict[str, Any] = {"name_starts_with": prefix, "delimiter": "/"}
        if start:
            options["start_from"] = start
        entries: list[Listed] = []
        async with self.fs.service_client.get_container_client(self.container) as client:
            pages = client.walk_blobs(results_per_page=limit, **options).by_page(token)
            async for page in pages:
                async for item in page:
                    if isinstance(item, BlobPrefix):
                        entries.append(Listed(item.name, folder=True))
                    else:
                        entries.append(Listed(item.name, item.size, _unquoted(item.etag)))
                return entries, pages.continuation_token or None
        return entries, None


def _counted(listed: list[int], entries: list[Listed], more: str | None) -> Page:
    entries.sort(key=lambda entry: entry.key)
    listed[0] += len(entries)
    return Page(entries, more)


def _just_before(key: str) -> str:
    """A key that sorts after every key before `key` and before `key` itself: S3 starts
    after a key, the listing from one (keys never hold U+10FFFF)."""
    return key[:-1] + chr(ord(key[-1]) - 1) + LAST


def _unquoted(value: Any) -> str | None:
    return None if value is None else str(value).strip('"')
