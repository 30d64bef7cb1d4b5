"""Logs in object storage, read from moto's S3 server on loopback as from real S3.

The bucket is laid out as ALB delivers: AWSLogs/<account>/elasticloadbalancing/
<region>/yyyy/mm/dd/<account>_elasticloadbalancing_<region>_app.<name>.<id>_<end time>_
<ip>_<random>.log.gz, and the same objects are written to a local directory: both
must give one answer.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import logstat
from logstat.reading import objects
from tests.helpers import run_cli
from tests.servers.deliveries import HOURS, PREFIX, counts, deliveries
from tests.servers.s3 import S3Server, run_server


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    yield from run_server()


@pytest.fixture(scope="module")
def bucket(s3: S3Server, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """A bucket of ALB deliveries, and a local copy of it."""
    client = s3.client()
    client.create_bucket(Bucket="logs")
    local = tmp_path_factory.mktemp("local")
    for key, data in deliveries():
        client.put_object(Bucket="logs", Key=key, Body=data)
        path = local / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return "logs", local


@pytest.fixture
def environment(s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in s3.environment().items():
        monkeypatch.setenv(name, value)
    return s3.environment()


def test_a_bucket_reads_as_its_local_copy(
    bucket: tuple[str, Path], environment: dict[str, str]
) -> None:
    name, local = bucket
    code, remote_out, error = run_cli(
        f"s3://{name}/AWSLogs/", "--json", "--tz", "UTC", env=environment
    )
    assert code == 0, error
    code, local_out, _ = run_cli(str(local / "AWSLogs"), "--json", "--tz", "UTC")
    assert code == 0
    remote, here = json.loads(remote_out), json.loads(local_out)
    assert remote["totals"]["files"] == HOURS
    assert counts(remote) == counts(here)
    assert {row["produced_by"] for row in remote["statuses"] if row["status"] == 502} == {
        "proxy",
        "upstream",
    }


def test_globs_and_local_paths_mix(bucket: tuple[str, Path], environment: dict[str, str]) -> None:
    name, local = bucket
    glob = f"s3://{name}/AWSLogs/*/elasticloadbalancing/*/2026/12/0[1-2]/*.log.gz"
    first_day = sorted((local / PREFIX / "2026" / "12" / "03").iterdir())[:2]
    summary = logstat.summarize([glob, *first_day])
    assert summary.totals.files == 48 + 2


def test_since_and_until_list_only_the_days_they_need(
    bucket: tuple[str, Path], environment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    name, local = bucket
    listed: list[str] = []
    store_class = objects.Store
    original = store_class._walk

    def walk(self: objects.Store, path: str, window: objects.Window) -> Iterator[Any]:
        listed.append(path)
        return original(self, path, window)

    monkeypatch.setattr(store_class, "_walk", walk)
    since, until = "2026-12-02T10:00:00Z", "2026-12-02T11:00:00Z"
    remote = logstat.summarize(f"s3://{name}/AWSLogs/", since=since, until=until)
    assert not any(path.endswith(("/12/01", "/12/03")) for path in listed), listed
    assert any(path.endswith("/12/02") for path in listed)
    here = logstat.summarize(local / "AWSLogs", since=since, until=until)
    assert remote.totals.selected == here.totals.selected > 0
    assert remote.totals.files < 24  # objects named for other hours are not read


def test_endpoint_url_option(bucket: tuple[str, Path], s3: S3Server) -> None:
    name, _ = bucket
    environment = {key: value for key, value in s3.environment().items()}
    environment["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"  # nothing listens there
    url = f"s3://{name}/{PREFIX}/2026/12/01/"
    code, out, error = run_cli(url, "--endpoint-url", s3.endpoint, "--json", env=environment)
    assert code == 0, error
    assert json.loads(out)["totals"]["files"] == 24


def test_export_and_ingest_read_objects(
    bucket: tuple[str, Path], environment: dict[str, str], tmp_path: Path
) -> None:
    name, local = bucket
    url = f"s3://{name}/{PREFIX}/2026/12/02/"
    records = logstat.summarize(local / PREFIX / "2026" / "12" / "02").totals.records
    written = logstat.export(url, tmp_path / "rows.parquet")
    assert written.rows == pl.read_parquet(tmp_path / "rows.parquet").height == records
    added = logstat.ingest(url, tmp_path / "dataset")
    again = logstat.ingest(url, tmp_path / "dataset")  # the dataset knows the keys it holds
    assert (added.rows, again.rows) == (records, 0)


def test_state_reads_each_object_once(
    s3: S3Server, environment: dict[str, str], tmp_path: Path
) -> None:
    client = s3.client()
    client.create_bucket(Bucket="cron")
    delivered = list(deliveries())
    for key, data in delivered[:30]:
        client.put_object(Bucket="cron", Key=key, Body=data)
    state = tmp_path / "run.state"
    first = logstat.summarize("s3://cron/AWSLogs/", state=state)
    assert first.totals.files == 30
    assert logstat.summarize("s3://cron/AWSLogs/", state=state).totals.files == 0
    for key, data in delivered[30:33]:  # the next deliveries, one of them a day later
        client.put_object(Bucket="cron", Key=key, Body=data)
    later = logstat.summarize("s3://cron/AWSLogs/", state=state)
    assert later.totals.files == 3
    expected = sum(gzip.decompress(data).count(b"\n") for _, data in delivered[30:33])
    assert later.totals.records == expected
    # ingest keeps the state beside the dataset's own record of what it holds
    dataset = tmp_path / "dataset"
    ingest_state = tmp_path / "ingest.state"
    assert logstat.ingest("s3://cron/AWSLogs/", dataset, state=ingest_state).rows > 0
    assert logstat.ingest("s3://cron/AWSLogs/", dataset, state=ingest_state).rows == 0
    assert logstat.ingest("s3://cron/AWSLogs/", dataset).rows == 0


def test_missing_objects_are_one_line_errors(
    bucket: tuple[str, Path], environment: dict[str, str]
) -> None:
    name, _ = bucket
    code, _, error = run_cli(f"s3://{name}/nothing/here/", env=environment)
    assert code == 1 and error.count("\n") == 1 and "no objects here" in error
    code, _, error = run_cli(f"s3://{name}/AWSLogs/*/nothing-*.gz", env=environment)
    assert code == 1 and error.count("\n") == 1 and "no objects match" in error


@pytest.mark.parametrize(("url", "extra"), [("gs://b/x/", "gcs"), ("az://c/x/", "azure")])
def test_a_store_without_its_library_names_the_extra(url: str, extra: str) -> None:
    library = {"gcs": "gcsfs", "azure": "adlfs"}[extra]
    if importlib.util.find_spec(library) is not None:
        pytest.skip(f"{library} is installed here")
    code, _, error = run_cli(url)
    assert code == 2
    assert (
        error == f"logstat: error: {url.split(':')[0]}:// needs logstat's {extra} extra: "
        f"pip install 'logstat[{extra}]'\n"
    )


def test_small_objects_are_fetched_ahead(
    bucket: tuple[str, Path], environment: dict[str, str]
) -> None:
    name, _ = bucket
    store = objects.Store("s3", environment["AWS_ENDPOINT_URL"])
    try:
        listed = store.listing(f"s3://{name}/{PREFIX}/2026/12/01/", objects.Window())
        store.add(listed)
        first = store.open(listed[0]).read()
        assert gzip.decompress(first).startswith(b"https ")
        assert len(store._pending) >= min(len(listed) - 1, objects.FETCH_BATCH)
        for item in listed[1:]:  # what was fetched ahead is what a fetch would give
            assert store.open(item).read() == store.fs.cat_file(item.url.split("://", 1)[1])
    finally:
        store.close()


def test_an_object_gone_from_a_batch_fails_alone(
    bucket: tuple[str, Path], environment: dict[str, str]
) -> None:
    name, _ = bucket
    store = objects.Store("s3", environment["AWS_ENDPOINT_URL"])
    try:
        for number in range(3):
            store.fs.pipe_file(f"{name}/gone/{number}.log", f"line {number}\n".encode())
        listed = store.listing(f"s3://{name}/gone/", objects.Window())
        store.fs.rm_file(f"{name}/gone/1.log")  # deleted between the listing and the read
        store.add(listed)
        assert store.open(listed[0]).read() == b"line 0\n"  # fetched one batch of three
        with pytest.raises(FileNotFoundError):
            store.open(listed[1])
        assert store.open(listed[2]).read() == b"line 2\n"
    finally:
        store.close()


def test_an_hour_lists_the_keys_named_near_it(
    bucket: tuple[str, Path], environment: dict[str, str]
) -> None:
    name, _ = bucket
    url = f"s3://{name}/AWSLogs/"
    window = objects.Window(
        datetime(2026, 12, 2, 10, tzinfo=UTC), datetime(2026, 12, 2, 11, tzinfo=UTC)
    )
    by_names = objects.Store("s3", environment["AWS_ENDPOINT_URL"])
    found = by_names.listing(url, window)
    everything = objects.Store("s3", environment["AWS_ENDPOINT_URL"])
    kept = [
        item
        for item in everything.listing(url, objects.Window())
        if objects._object_wanted(item.url.rsplit("/", 1)[-1], window)
    ]
    assert [item.url for item in found] == [item.url for item in kept] != []
    assert found == kept  # sizes and ETags as the full listing gives them
    # the day folder of 24 objects was listed from the one named 08:05 to one past 13:05
    assert by_names.listed[0] < everything.listed[0] / 3, (by_names.listed, everything.listed)


def test_a_worker_reuses_one_filesystem_for_every_task() -> None:
    import pickle

    store = objects.Store("s3", "http://127.0.0.1:9")
    first, second = (pickle.loads(pickle.dumps(store)) for _ in range(2))
    assert first.fs is second.fs  # made once in a process, as on a worker
    assert first.endpoint_url == "http://127.0.0.1:9"


def test_one_filesystem_per_store_and_credentials(
    bucket: tuple[str, Path],
    environment: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The dataset checks of the URLs, their listing and an ingest into the store share
    one client; other credentials (or another endpoint) get their own."""
    made: list[tuple[str, str | None]] = []
    real = objects._new_filesystem

    def counted(scheme: str, protocol: str, extra: str, endpoint_url: str | None) -> Any:
        made.append((protocol, endpoint_url))
        return real(scheme, protocol, extra, endpoint_url)

    monkeypatch.setattr(objects, "_new_filesystem", counted)
    monkeypatch.setattr(objects, "_FILESYSTEMS", {})
    name, _ = bucket
    days = [f"s3://{name}/{PREFIX}/2026/12/01/", f"s3://{name}/{PREFIX}/2026/12/02/"]
    summary = logstat.summarize(days)
    logstat.ingest(days, f"s3://{name}/shared-client-dataset/")
    assert summary.totals.files == 2 * 24
    assert made == [("s3", environment["AWS_ENDPOINT_URL"])]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "another")  # moto takes any key
    assert logstat.summarize(days[0]).totals.files == 24
    logstat.summarize(days[0], endpoint_url=environment["AWS_ENDPOINT_URL"])
    assert len(made) == 2


def test_a_credentials_file_written_since_gets_a_new_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long-lived process (a library user, a Dask worker) sees `aws configure`: a
    credentials file changed since the client was made gets a new one."""
    made: list[str] = []
    monkeypatch.setattr(
        objects, "_new_filesystem", lambda *arguments: made.append("s3") or object()
    )
    monkeypatch.setattr(objects, "_FILESYSTEMS", {})
    credentials = tmp_path / "credentials"
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "absent"))
    first = objects.filesystem("s3", "http://127.0.0.1:9")
    assert objects.filesystem("s3", "http://127.0.0.1:9") is first  # no file yet: one client
    credentials.write_text("[default]\naws_access_key_id = one\n")
    second = objects.filesystem("s3", "http://127.0.0.1:9")
    assert second is not first and objects.filesystem("s3", "http://127.0.0.1:9") is second
    credentials.write_text("[default]\naws_access_key_id = another\n")
    assert objects.filesystem("s3", "http://127.0.0.1:9") is not second
    assert len(made) == 3


def test_a_signed_https_url_is_read(tmp_path: Path) -> None:
    """One object over HTTP (a signed URL's query and all), fetched as a bucket's are."""
    import functools
    import http.server
    import threading

    _, data = next(iter(deliveries()))
    (tmp_path / "delivery.log.gz").write_bytes(data)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *arguments: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/delivery.log.gz?X-Amz-Signature=ab"
        there = logstat.summarize(url)
        here = logstat.summarize(tmp_path / "delivery.log.gz")
        assert there.totals.files == 1
        assert there.totals.records == here.totals.records > 0
    finally:
        server.shutdown()
        server.server_close()
