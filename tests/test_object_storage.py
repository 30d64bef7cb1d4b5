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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import logstat
from logstat.reading import objects
from tests.helpers import run_cli
from tests.servers.s3 import S3Server, run_server

ACCOUNT = "123456789012"
REGION = "us-east-1"
PREFIX = f"AWSLogs/{ACCOUNT}/elasticloadbalancing/{REGION}"
START = datetime(2026, 12, 1, tzinfo=UTC)
HOURS = 72  # three days, one object an hour


def alb_line(when: datetime, status: int, target: str) -> str:
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return (
        f"https {stamp} app/my-alb/50dc6c495c0c9188 192.0.2.10:40001 "
        f"{'10.0.0.1:80' if target != '-' else '-'} 0.000 0.010 0.000 {status} {target} 34 366 "
        f'"GET https://www.example.com:443/a HTTP/1.1" "curl/8.5.0" '
        "ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 "
        f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/web/73e2d6bc24d8a067 "
        '"Root=1-65e50000-0123456789abcdef01234567" "www.example.com" "-" 0 '
        f'{stamp} "forward" "-" "-" "10.0.0.1:80" "{target}" "-" "-" TID_0123456789abcdef'
    )


def deliveries() -> Iterator[tuple[str, bytes]]:
    """(key, gzipped content): one 5-minute file an hour, as ALB names them."""
    for hour in range(HOURS):
        end = START + timedelta(hours=hour, minutes=5)
        lines = [
            alb_line(end - timedelta(minutes=4, seconds=second), status, target)
            for second, (status, target) in enumerate(
                [(200, "200"), (200, "200"), (404, "404"), (502, "-"), (502, "502")][: 2 + hour % 4]
            )
        ]
        name = (
            f"{ACCOUNT}_elasticloadbalancing_{REGION}_app.my-alb.50dc6c495c0c9188_"
            f"{end:%Y%m%dT%H%MZ}_192.0.2.200_{hour:08x}.log.gz"
        )
        key = f"{PREFIX}/{end:%Y/%m/%d}/{name}"
        yield key, gzip.compress(("\n".join(lines) + "\n").encode())


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


def counts(document: dict[str, Any]) -> dict[str, Any]:
    """A --json document without what names the files."""
    return {key: document[key] for key in ("totals", "classes", "statuses", "rejects", "first")}


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
        assert len(store._pending) >= min(len(listed) - 1, objects.FETCH_THREADS)
        for item in listed[1:]:  # what was fetched ahead is what a fetch would give
            assert store.open(item).read() == store.fs.cat_file(item.url.split("://", 1)[1])
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
