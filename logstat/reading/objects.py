"""Logs in object storage: s3://, gs://, az:// (abfs://) and https:// as inputs.

Through fsspec and each store's own library (s3fs, gcsfs, adlfs), installed as
extras (`pip install 'logstat[s3]'`); credentials come from each cloud's standard
chain (environment, profiles, instance roles), as its own tools read them.

Listing walks the key tree one level at a time, so folders named for dates
(`.../2026/12/01/` as ALB, ELB and CloudFront deliver, `.../20261201/` as Cloudflare
Logpush does) outside the --since/--until window are never listed.  Objects are
fetched ahead of the reader on a pool of threads, so many small objects do not cost
a round trip each in sequence (a batch of them is one call of the store's library,
fetched concurrently on its event loop; on S3 through obstore, object_fetch.py, while
listing, streaming and writing stay on s3fs); they stream through the same decompress,
split and parse path as local files and never land on disk.
"""

from __future__ import annotations

import importlib.util
import io
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, BinaryIO

from logstat.errors import ExitCode, LogstatError
from logstat.reading import object_fetch, object_listing, object_pages

# scheme -> (fsspec protocol, the extra that installs its library)
SCHEMES = {
    "s3": ("s3", "s3"),
    "s3a": ("s3", "s3"),
    "gs": ("gcs", "gcs"),
    "gcs": ("gcs", "gcs"),
    "az": ("abfs", "azure"),
    "abfs": ("abfs", "azure"),
    "abfss": ("abfs", "azure"),
    "http": ("http", "http"),
    "https": ("http", "http"),
}
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
ENDPOINT_ENVIRONMENT = "AWS_ENDPOINT_URL"  # the S3 endpoint, as the AWS tools read it

SMALL_OBJECT_BYTES = 16 << 20  # fetched whole, ahead of the reader; larger ones stream
FETCH_BATCH = 16  # objects fetched by one call of the store's library, concurrently
FETCH_CALLS = 4  # such calls at once: FETCH_BATCH * FETCH_CALLS objects in flight
AHEAD_BYTES = 256 << 20  # at most this much fetched and not yet read
KEPT_OBJECTS = 4  # fetched objects kept after reading: detection reads a head, then all
# Options of a whole-object fetch, by fsspec protocol: s3fs asks for an object's size (a
# HEAD request) before each GET, to split a large object in parts; these are small (a
# larger one streams), so the HEAD would only double the requests (and their CPU).
FETCH_OPTIONS: dict[str, dict[str, Any]] = {"s3": {"max_concurrency": 1}}


def scheme_of(argument: str) -> str | None:
    """The URL scheme of an argument that names objects, or None for a local path."""
    found = _URL.match(argument)
    if found is None or found.group(1).lower() not in SCHEMES:
        return None
    return found.group(1).lower()


def is_url(argument: str) -> bool:
    return scheme_of(argument) is not None


@dataclass(frozen=True)
class Window:
    """The times a run wants (--since/--until): prunes folders and objects named for dates."""

    since: datetime | None = None
    until: datetime | None = None

    def overlaps(self, first: datetime, last: datetime) -> bool:
        """Whether [first, last) can hold a wanted time."""
        if self.since is not None and last <= self.since:
            return False
        return not (self.until is not None and first > self.until)

    @property
    def open(self) -> bool:
        return self.since is None and self.until is None


def filesystem(scheme: str, endpoint_url: str | None = None) -> Any:
    """The fsspec filesystem for a scheme, made once per process for each store and the
    credentials in the environment: a run's listing, its dataset checks and a worker's
    tasks share it (making one costs s3fs about 0.1 s of CPU).  A missing library names
    the extra to install."""
    protocol, extra = SCHEMES[scheme]
    key, endpoint_url = _client_key(scheme, endpoint_url)
    with _FILESYSTEMS_LOCK:
        found = _FILESYSTEMS.get(key)
        if found is None:
            found = _FILESYSTEMS[key] = _new_filesystem(scheme, protocol, extra, endpoint_url)
        return found


def native_store(scheme: str, endpoint_url: str | None, bucket: str) -> Any:
    """The obstore store that fetches a bucket's small S3 objects (object_fetch.py),
    made once per process for each bucket, endpoint and credentials, as `filesystem`
    makes s3fs's (whose client it asks for the endpoint and the bucket's region).
    None in a process forked after obstore ran in its parent: obstore's runtime does not
    survive a fork (it hangs), so such a child fetches through s3fs; None too when
    botocore's configuration asks for what obstore is not given (object_fetch.py)."""
    if not object_fetch.usable():
        return None
    key = (*_client_key(scheme, endpoint_url)[0], bucket)
    with _NATIVE_LOCK:  # one at a time: each asks its bucket for the region
        if key not in _NATIVE_STORES:  # (None too: s3fs fetches them)
            _NATIVE_STORES[key] = object_fetch.new_store(filesystem(scheme, endpoint_url), bucket)
        return _NATIVE_STORES[key]


def _client_key(scheme: str, endpoint_url: str | None) -> tuple[tuple[object, ...], str | None]:
    """What a client is made for (store, endpoint, credentials in the environment and
    their files, process), and the endpoint."""
    protocol = SCHEMES[scheme][0]
    if protocol == "s3":  # the endpoint s3fs would take from the environment, said here
        endpoint_url = endpoint_url or os.environ.get(ENDPOINT_ENVIRONMENT) or None
    else:
        endpoint_url = None
    credentials = tuple(
        sorted(item for item in os.environ.items() if item[0].startswith(CREDENTIAL_PREFIXES))
    )
    # (a forked child makes its own)
    key = (protocol, endpoint_url, credentials, _credential_files(protocol), os.getpid())
    return key, endpoint_url


# where each cloud's tools find credentials in the environment: other values, other clients
CREDENTIAL_PREFIXES = ("AWS_", "GOOGLE_", "GCE_", "AZURE_")
# and the files they read them from (an environment variable may name another file):
# a file written since (`aws configure`, `gcloud auth`, `az login`) gets a new client
CREDENTIAL_FILES = {
    "s3": (
        ("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"),
        ("AWS_CONFIG_FILE", "~/.aws/config"),
    ),
    "gcs": (
        ("GOOGLE_APPLICATION_CREDENTIALS", "~/.config/gcloud/application_default_credentials.json"),
    ),
    "abfs": (
        (None, "~/.azure/azureProfile.json"),
        (None, "~/.azure/msal_token_cache.json"),
    ),
}


def _credential_files(protocol: str) -> tuple[tuple[str, int, int], ...]:
    """Each credentials file of a protocol as (path, size, modification time); a stat
    apiece, cheap beside a client."""
    found = []
    for variable, default in CREDENTIAL_FILES.get(protocol, ()):
        path = os.path.expanduser((os.environ.get(variable) if variable else None) or default)
        try:
            status = os.stat(path)
        except OSError:
            continue
        found.append((path, status.st_size, status.st_mtime_ns))
    return tuple(found)


_FILESYSTEMS: dict[tuple[object, ...], Any] = {}
_FILESYSTEMS_LOCK = threading.Lock()
_NATIVE_STORES: dict[tuple[object, ...], Any] = {}
_NATIVE_LOCK = threading.Lock()


def _new_filesystem(scheme: str, protocol: str, extra: str, endpoint_url: str | None) -> Any:
    try:
        import fsspec
    except ImportError as error:
        raise _missing(scheme, extra) from error
    # each run lists afresh: a cached listing would hide the objects delivered since
    options: dict[str, Any] = {"skip_instance_cache": True, "use_listings_cache": False}
    if protocol == "s3":
        if importlib.util.find_spec("obstore") is None:  # fetches the small objects
            raise _missing(scheme, extra)
        if endpoint_url:
            options["client_kwargs"] = {"endpoint_url": endpoint_url}
    try:
        return fsspec.filesystem(protocol, **options)
    except (ImportError, ValueError) as error:  # fsspec knows the protocol, its library is absent
        raise _missing(scheme, extra) from error


def _missing(scheme: str, extra: str) -> LogstatError:
    return LogstatError(
        f"{scheme}:// needs logstat's {extra} extra: pip install 'logstat[{extra}]'",
        ExitCode.USAGE,
    )


@dataclass(frozen=True)
class RemoteObject:
    """One object: its URL as the user writes it, and what the listing said of it."""

    url: str
    size: int | None
    version: str | None  # ETag or generation: an object rewritten under its key differs


class Store:
    """One filesystem for a run: lists objects and hands out their bytes, fetching ahead.

    `order` is the objects in the order the run reads them; opening one starts the
    fetch of those after it, in batches, up to FETCH_BATCH * FETCH_CALLS objects and
    AHEAD_BYTES at once.
    """

    def __init__(self, scheme: str, endpoint_url: str | None = None) -> None:
        self.scheme = scheme
        self.endpoint_url = endpoint_url
        self.fs = filesystem(scheme, endpoint_url)
        self.order: list[RemoteObject] = []
        self._position: dict[str, int] = {}
        self._pending: OrderedDict[str, Future[bytes]] = OrderedDict()
        self._kept: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self.listed = [0]  # keys and folders listed so far (listings by name count here)

    # what travels to a Dask worker is where the store is: the pool, the fetched bytes
    # and the reading order stay with this process (a task adds its own objects)
    def __getstate__(self) -> dict[str, Any]:
        return {"scheme": self.scheme, "endpoint_url": self.endpoint_url}

    def __setstate__(self, state: dict[str, Any]) -> None:
        # a worker reuses one filesystem (its client and connections) for every task
        # (`filesystem`): it only reads objects, which never change, so nothing it
        # caches goes stale
        self.__init__(state["scheme"], state["endpoint_url"])  # type: ignore[misc]

    def add(self, objects: list[RemoteObject]) -> None:
        for item in objects:
            self._position.setdefault(item.url, len(self.order))
            self.order.append(item)

    def listing(self, argument: str, window: Window) -> list[RemoteObject]:
        """The objects an argument names: one object, a prefix (ending in /), or a glob."""
        path = self._path(argument)
        try:
            if any(character in path for character in "*?["):
                return self._glob(argument, path, window)
            if self.scheme in ("http", "https"):
                return [self._object(argument, self.fs.info(argument))]
            if not argument.endswith("/"):
                info = self._info(path)
                if info is not None and info.get("type") != "directory":
                    return [self._object(argument, info)]
            found = list(self._walk(path.rstrip("/"), window))
        except FileNotFoundError:
            found = []
        except OSError as error:
            raise LogstatError(f"{argument}: cannot list: {error}") from error
        except Exception as error:  # the cloud libraries raise their own types
            raise LogstatError(f"{argument}: cannot list: {_reason(error)}") from error
        if not found:
            raise LogstatError(f"{argument}: no objects here")
        return found

    def _path(self, argument: str) -> str:
        if self.scheme in ("http", "https"):
            return argument
        return argument.split("://", 1)[1]

    def _url(self, path: str) -> str:
        return f"{self.scheme}://{path}"

    def _info(self, path: str) -> dict[str, Any] | None:
        try:
            info: dict[str, Any] = self.fs.info(path)
            return info
        except FileNotFoundError:
            return None

    def _object(self, url: str, info: dict[str, Any]) -> RemoteObject:
        version = info.get("ETag") or info.get("etag") or info.get("generation")
        size = info.get("size")
        return RemoteObject(url, int(size) if size is not None else None, _text(version))

    def _walk(self, path: str, window: Window) -> Iterator[RemoteObject]:
        """Objects below `path` in key order, one folder level at a time, skipping
        folders and objects whose names say they are outside the window."""
        if object_listing.listable(window.since, window.until):
            bucket = path.partition("/")[0]
            pages = object_pages.pages_for(SCHEMES[self.scheme][0], self.fs, bucket, self.listed)
            if pages is not None:
                yield from self._walk_by_names(pages, path, window)
                return
        entries = sorted(self.fs.ls(path, detail=True), key=lambda entry: entry["name"])
        self.listed[0] += len(entries)
        parents = _date_parts(path)
        for entry in entries:
            name = entry["name"].rstrip("/")
            leaf = name.rsplit("/", 1)[-1]
            if entry.get("type") == "directory":
                span = _folder_span(parents, leaf)
                if span is not None and not window.overlaps(span[0] - SLACK, span[1] + SLACK):
                    continue
                yield from self._walk(name, window)
            elif leaf and _object_wanted(leaf, window):
                yield self._object(self._url(name), entry)

    def _walk_by_names(
        self, pages: object_listing.Pages, path: str, window: Window
    ) -> Iterator[RemoteObject]:
        """As _walk, but a folder of objects named for their times lists only the names
        near the window (object_listing.py): the store's listing starts at a given key."""
        bucket, _, key = path.partition("/")
        parents = _date_parts(path)
        folder = key + "/" if key else ""
        listed = object_listing.by_name_times(pages, folder, window.since, window.until, SLACK)
        for entry in listed:
            name = f"{bucket}/{entry.key.rstrip('/')}"
            leaf = name.rsplit("/", 1)[-1]
            if entry.folder:
                span = _folder_span(parents, leaf)
                if span is not None and not window.overlaps(span[0] - SLACK, span[1] + SLACK):
                    continue
                yield from self._walk(name, window)
            elif leaf and _object_wanted(leaf, window):
                yield RemoteObject(self._url(name), entry.size, entry.etag)

    def _glob(self, argument: str, path: str, window: Window) -> list[RemoteObject]:
        found = self.fs.glob(path, detail=True)
        objects: list[RemoteObject] = []
        for name, info in sorted(found.items()):
            if info.get("type") == "directory":
                objects.extend(self._walk(name, window))
            elif _object_wanted(name.rsplit("/", 1)[-1], window):
                url = name if self.scheme in ("http", "https") else self._url(name)
                objects.append(self._object(url, info))
        if not objects:
            raise LogstatError(f"no objects match {argument!r}")
        return objects

    def open(self, item: RemoteObject) -> BinaryIO:
        """The object's bytes: fetched ahead when small, streamed when large."""
        if item.size is not None and item.size > SMALL_OBJECT_BYTES:
            return self._stream(item)
        with self._lock:
            data = self._kept.get(item.url)
            future = None if data is not None else self._pending.pop(item.url, None)
        if data is None:
            if future is None:  # not asked for yet: its batch starts with it
                future = self._fetch_from(item)
            data = self._result(item, future)
            with self._lock:
                self._kept[item.url] = data
                while len(self._kept) > KEPT_OBJECTS:
                    self._kept.popitem(last=False)
        self._fetch_ahead(item)
        return io.BytesIO(data)

    def head(self, item: RemoteObject, size: int) -> bytes:
        """The object's first `size` bytes, in one small request."""
        data: bytes = self.fs.cat_file(self._path(item.url), start=0, end=size)
        return data

    def _stream(self, item: RemoteObject) -> BinaryIO:
        try:
            stream: BinaryIO = self.fs.open(self._path(item.url), "rb", block_size=8 << 20)
            return stream
        except FileNotFoundError:
            raise
        except Exception as error:
            raise LogstatError(f"{item.url}: cannot open: {_reason(error)}") from error

    def _result(self, item: RemoteObject, future: Future[bytes]) -> bytes:
        try:
            return future.result()
        except FileNotFoundError:
            raise
        except Exception as error:
            raise LogstatError(f"{item.url}: cannot read: {_reason(error)}") from error

    def _fetch_from(self, item: RemoteObject) -> Future[bytes]:
        """Start fetching `item` (with those read after it, as one batch); its future."""
        with self._lock:
            batch = [item, *self._following(item, FETCH_BATCH - 1)]
            self._submit(batch)
            return self._pending.pop(item.url)

    def _fetch_ahead(self, item: RemoteObject) -> None:
        """Start fetching the small objects read after `item`, a batch at a time, within
        FETCH_BATCH * FETCH_CALLS objects and AHEAD_BYTES."""
        with self._lock:
            room = FETCH_BATCH * FETCH_CALLS - len(self._pending)
            if room >= FETCH_BATCH:
                self._submit(self._following(item, room))

    def _following(self, item: RemoteObject, count: int) -> list[RemoteObject]:
        """Up to `count` small objects read after `item`, neither fetched nor asked for,
        within the byte budget (the caller holds the lock)."""
        start = self._position.get(item.url)
        if start is None:
            return []
        budget = AHEAD_BYTES - sum(self._size(url) for url in self._pending)
        found: list[RemoteObject] = []
        for following in self.order[start + 1 : start + 1 + FETCH_BATCH * FETCH_CALLS]:
            if len(found) >= count or budget <= 0:
                break
            if following.url in self._pending or following.url in self._kept:
                continue
            if following.size is not None and following.size > SMALL_OBJECT_BYTES:
                continue
            budget -= following.size or 0
            found.append(following)
        return found

    def _submit(self, items: list[RemoteObject]) -> None:
        """Fetch `items` in batches, each one call of the store's library that fetches its
        objects concurrently on the library's event loop (the caller holds the lock)."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(FETCH_CALLS, thread_name_prefix="logstat-fetch")
        for first in range(0, len(items), FETCH_BATCH):
            batch = {item.url: Future[bytes]() for item in items[first : first + FETCH_BATCH]}
            self._pending.update(batch)
            self._pool.submit(self._fetch_batch, batch)

    def _fetch_batch(self, batch: dict[str, Future[bytes]]) -> None:
        wanted = [
            (url, future)
            for url, future in batch.items()
            if future.set_running_or_notify_cancel()  # False: the run has ended
        ]
        paths = [self._path(url) for url, _ in wanted]
        found: list[bytes | BaseException | None] = [None] * len(paths)
        try:
            if SCHEMES[self.scheme][0] == "s3":
                self._fetch_natively(paths, found)
            rest = [number for number, data in enumerate(found) if data is None]
            if rest:
                # cat_ranges, not cat: the paths as given (cat expands a `?` as a glob),
                # each whole, the results in their order, an error where one failed
                options = FETCH_OPTIONS.get(SCHEMES[self.scheme][0], {})
                fetched = self.fs.cat_ranges(
                    [paths[number] for number in rest], None, None, on_error="return", **options
                )
                for number, data in zip(rest, fetched, strict=True):
                    found[number] = data
        except Exception as error:  # the whole call failed: each object not fetched says so
            found = [error if data is None else data for data in found]
        for (_, future), data in zip(wanted, found, strict=True):
            if isinstance(data, bytes):
                future.set_result(data)
            else:  # (None: never, every path is asked of one library or the other)
                future.set_exception(data or OSError("not fetched"))

    def _fetch_natively(self, paths: list[str], found: list[bytes | BaseException | None]) -> None:
        """S3 objects through obstore, one concurrent set of requests for the batch
        (object_fetch.py: 4x less CPU an object than s3fs); listing, streaming, `head`
        and the dataset's writes stay on s3fs.  Keys obstore cannot name (and all, in a
        process forked after obstore ran) are left."""
        stores: dict[str, Any] = {}
        requests: list[tuple[Any, str]] = []
        numbers: list[int] = []
        for number, path in enumerate(paths):
            bucket, _, key = path.partition("/")
            if not object_fetch.fetchable(key):
                continue
            if bucket not in stores:
                stores[bucket] = native_store(self.scheme, self.endpoint_url, bucket)
            if stores[bucket] is not None:
                requests.append((stores[bucket], key))
                numbers.append(number)
        for number, data in zip(numbers, object_fetch.fetch(requests), strict=True):
            found[number] = data

    def _size(self, url: str) -> int:
        position = self._position.get(url)
        size = self.order[position].size if position is not None else None
        return size or 0

    def close(self) -> None:
        if self._pool is not None:
            for future in self._pending.values():
                future.cancel()
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        self._pending.clear()
        self._kept.clear()


def _text(value: Any) -> str | None:
    return None if value is None else str(value).strip('"')


def _reason(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text


# How far the requests in an object can be from the date its folder or name gives: ALB
# and ELB name a 5-minute file by its end (and file it under that day), CloudFront an
# hourly file by its start, Logpush a batch by its first minute; two hours each way
# keeps every object that might hold a wanted request.
SLACK = timedelta(hours=2)

# Folder names that are dates: yyyy, then mm, then dd below it (ALB, ELB, CloudFront
# to S3), or yyyymmdd (Cloudflare Logpush's daily folders), or yyyy-mm-dd.
_YEAR = re.compile(r"^(?:19|20)[0-9]{2}$")
_TWO = re.compile(r"^[0-9]{2}$")
_DAY = re.compile(r"^((?:19|20)[0-9]{2})-?([01][0-9])-?([0-3][0-9])$")


def _date_parts(path: str) -> list[str]:
    """The date folders at the end of `path`: [yyyy], [yyyy, mm] or []."""
    parts = path.split("/")
    if len(parts) >= 2 and _YEAR.match(parts[-2]) and _TWO.match(parts[-1]):
        return [parts[-2], parts[-1]]
    if parts and _YEAR.match(parts[-1]):
        return [parts[-1]]
    return []


def folder_end(url: str) -> datetime | None:
    """The latest time a date folder's objects can hold (None: not a date folder): a
    folder that ends before --since is not listed."""
    parent, _, leaf = url.rstrip("/").rpartition("/")
    span = _folder_span(_date_parts(parent), leaf)
    return span[1] + SLACK if span is not None else None


def _folder_span(parents: list[str], leaf: str) -> tuple[datetime, datetime] | None:
    """The times a folder named `leaf` below date folders `parents` can hold, or None
    when its name is no date."""
    try:
        if not parents:
            day = _DAY.match(leaf)
            if day is not None:
                start = datetime(int(day[1]), int(day[2]), int(day[3]), tzinfo=UTC)
                return start, start + timedelta(days=1)
            if _YEAR.match(leaf):
                year = int(leaf)
                return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
            return None
        if len(parents) == 1 and _TWO.match(leaf):
            start = datetime(int(parents[0]), int(leaf), 1, tzinfo=UTC)
            following = date(start.year + start.month // 12, start.month % 12 + 1, 1)
            return start, datetime(following.year, following.month, 1, tzinfo=UTC)
        if len(parents) == 2 and _TWO.match(leaf):
            start = datetime(int(parents[0]), int(parents[1]), int(leaf), tzinfo=UTC)
            return start, start + timedelta(days=1)
    except ValueError:  # 2026/13/45: not a date after all
        return None
    return None


def _object_wanted(name: str, window: Window) -> bool:
    if window.open:
        return True
    named = object_listing.name_time(name)
    if named is None:
        return True
    return window.overlaps(named - SLACK, named + SLACK)
