"""`ingest --to s3://bucket/dataset/`: the dataset in moto's S3 server, all of a run or
nothing, each line once, read back by `summary` (outputs/dataset_store.py).

S3 has no rename: parts are written under their final keys and only a commit object,
created last, makes them count.  A run that fails, or is killed, after uploading parts
leaves the dataset as it was; the next run removes what it left.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import logstat
from logstat.errors import LogstatError
from logstat.outputs import dataset_store
from logstat.outputs.dataset_store import StoreLedger
from logstat.reading.objects import filesystem
from tests.helpers import REPO, run_cli
from tests.servers.deliveries import PREFIX, deliveries
from tests.servers.s3 import S3Server, run_server


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    yield from run_server()


@pytest.fixture
def environment(s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in s3.environment().items():
        monkeypatch.setenv(name, value)
    return s3.environment()


@pytest.fixture
def bucket(s3: S3Server, request: pytest.FixtureRequest) -> str:
    """A new bucket of ALB deliveries (three days: three date partitions)."""
    name = "ds-" + request.node.name.lower().replace("_", "-")[:40].strip("-")
    client = s3.client()
    client.create_bucket(Bucket=name)
    for key, data in deliveries():
        client.put_object(Bucket=name, Key=key, Body=data)
    return name


def keys(s3: S3Server, bucket: str, prefix: str) -> list[str]:
    pages = s3.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def stored_rows(url: str) -> pl.DataFrame:
    """Every row the dataset's commits name, as another reader would read them."""
    files = logstat.committed_files(url)
    fs = filesystem("s3")
    frames = [pl.read_parquet(fs.cat_file(file.split("://", 1)[1])) for file in files]
    return pl.concat(frames) if frames else pl.DataFrame()


def truth(bucket: str) -> dict[str, Any]:
    result = logstat.summarize(f"s3://{bucket}/{PREFIX}/", tz="UTC")
    return json.loads(result.to_json_text())


def counts(document: dict[str, Any]) -> dict[str, Any]:
    return {key: document[key] for key in ("classes", "statuses", "first", "last")} | {
        "records": document["totals"]["records"]
    }


def test_ingest_writes_a_dataset_to_s3_that_summary_reads(
    s3: S3Server, bucket: str, environment: dict[str, str]
) -> None:
    url = f"s3://{bucket}/dataset/"
    logs = f"s3://{bucket}/{PREFIX}/"
    added = logstat.ingest(logs, url)
    expected = truth(bucket)
    assert added.rows == expected["totals"]["records"] > 0
    assert all(str(part).startswith(f"s3://{bucket}/dataset/date=") for part in added.files)
    assert len({str(part).split("/")[4] for part in added.files}) == 3  # three days
    assert logstat.ingest(logs, url).rows == 0  # the dataset remembers the keys it holds
    code, out, error = run_cli("summary", url, "--json", "--tz", "UTC", env=environment)
    assert code == 0, error
    assert counts(json.loads(out)) == counts(expected)
    # with the parts of the duration ALB logs apart (request, target, response)
    stored_latency, logs_latency = json.loads(out)["latency"], expected["latency"]
    for table in ("by_class", "by_status", "bytes_by_status", "slowest"):
        assert stored_latency[table] == logs_latency[table], table
    assert len({row["measure"] for row in logs_latency["by_status"]}) == 4
    assert len(keys(s3, bucket, "dataset/_logstat/commits/")) == 1
    assert keys(s3, bucket, "dataset/_logstat/runs/") == []
    assert stored_rows(url).height == added.rows


def test_a_failed_commit_leaves_the_dataset_as_it_was(
    s3: S3Server, bucket: str, environment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"s3://{bucket}/dataset/"
    first_day = f"s3://{bucket}/{PREFIX}/2026/12/01/"
    before = logstat.ingest(first_day, url).rows
    stored_before = keys(s3, bucket, "dataset/")

    def fail(self: StoreLedger, record: dict[str, Any]) -> str:
        assert keys(s3, bucket, "dataset/date=2026-12-02/")  # parts were uploaded
        raise LogstatError("injected failure before the commit")

    with monkeypatch.context() as patched:
        patched.setattr(StoreLedger, "commit", fail)
        with pytest.raises(LogstatError, match="injected"):
            logstat.ingest(f"s3://{bucket}/{PREFIX}/", url)
    left = [key for key in keys(s3, bucket, "dataset/") if "/_logstat/runs/" not in key]
    assert left == stored_before  # its parts were removed
    assert logstat.summarize(url).totals.records == before
    added = logstat.ingest(f"s3://{bucket}/{PREFIX}/", url)
    assert before + added.rows == truth(bucket)["totals"]["records"]
    assert stored_rows(url).height == before + added.rows
    assert keys(s3, bucket, "dataset/_logstat/runs/") == []  # the failed run's record went


def test_a_run_killed_after_uploading_parts_adds_nothing_and_is_cleaned_up(
    s3: S3Server, bucket: str, environment: dict[str, str], tmp_path: Path
) -> None:
    url = f"s3://{bucket}/dataset/"
    logs = f"s3://{bucket}/{PREFIX}/"
    before = logstat.ingest(f"s3://{bucket}/{PREFIX}/2026/12/01/", url).rows
    stored_before = keys(s3, bucket, "dataset/")
    # a real SIGKILL at the commit point: no handler, no cleanup runs
    script = (
        "import os, signal, logstat\n"
        "from logstat.outputs.dataset_store import StoreLedger\n"
        "StoreLedger.commit = lambda self, record: os.kill(os.getpid(), signal.SIGKILL)\n"
        f"logstat.ingest({logs!r}, {url!r})\n"
    )
    killed = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, **environment, "PYTHONPATH": str(REPO)},
        capture_output=True,
        timeout=120,
    )
    assert killed.returncode == -9, killed.stderr
    orphans = sorted(set(keys(s3, bucket, "dataset/")) - set(stored_before))
    assert any("/date=2026-12-02/" in key for key in orphans)  # it had uploaded parts
    assert logstat.summarize(url).totals.records == before  # never counted
    assert len(logstat.committed_files(url)) == len(
        [key for key in stored_before if key.endswith(".parquet")]
    )
    added = logstat.ingest(logs, url)
    assert before + added.rows == truth(bucket)["totals"]["records"]
    assert not set(orphans) & set(keys(s3, bucket, "dataset/"))  # the dead run's parts went
    assert keys(s3, bucket, "dataset/_logstat/runs/") == []
    assert logstat.ingest(logs, url).rows == 0
    stored = stored_rows(url)
    assert stored.height == before + added.rows
    assert stored.select("file", "line_no").is_duplicated().sum() == 0


def test_two_runs_at_once_commit_one_at_a_time(
    s3: S3Server, bucket: str, environment: dict[str, str]
) -> None:
    url = f"s3://{bucket}/dataset/"
    fs = filesystem("s3")
    root = f"{bucket}/dataset"
    first = StoreLedger.open(fs, root, url)
    second = StoreLedger.open(fs, root, url)  # planned from the same commits
    first.commit({"rows": 0, "parts": []})
    first.move_in()
    with pytest.raises(LogstatError, match="another logstat ingest committed"):
        second.commit({"rows": 0, "parts": []})
    second.abandon([])
    assert [sequence for sequence, _ in dataset_store.commit_paths(fs, root)] == [1]
    assert keys(s3, bucket, "dataset/_logstat/runs/") == []


def test_local_logs_into_s3_give_the_rows_of_a_local_dataset(
    s3: S3Server, bucket: str, environment: dict[str, str], tmp_path: Path
) -> None:
    log = REPO / "samples" / "nginx-access.log"
    url = f"s3://{bucket}/nginx-dataset"
    code, _, error = run_cli("ingest", str(log), "--to", url, "-q", env=environment)
    assert code == 0, error
    logstat.ingest(log, tmp_path / "local")
    here = logstat.summarize(tmp_path / "local", tz="UTC").to_json_text()
    there = logstat.summarize(url, tz="UTC").to_json_text()
    assert json.loads(there)["totals"]["records"] > 0
    assert counts(json.loads(there)) == counts(json.loads(here))
    again = run_cli("ingest", str(log), "--to", url, env=environment)
    assert again.code == 0 and "added 0 rows" in again.stderr


def test_a_dataset_below_its_input_prefix_is_refused(
    bucket: str, environment: dict[str, str]
) -> None:
    code, _, error = run_cli(
        "ingest", f"s3://{bucket}/AWSLogs/", "--to", f"s3://{bucket}/AWSLogs/ds/", env=environment
    )
    assert code == 2 and error.count("\n") == 1 and "below the input" in error


def test_readers_start_from_the_newest_checkpoint(
    s3: S3Server, environment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every CHECKPOINT_EVERY commits (2 here), the run that committed writes what the
    commits say in one object; readers and later runs read it and the commits after
    it, not the commits it holds (made unreadable here to prove it)."""
    monkeypatch.setattr(dataset_store, "CHECKPOINT_EVERY", 2)
    name = "ds-checkpoints"
    client = s3.client()
    client.create_bucket(Bucket=name)
    delivered = list(deliveries())
    logs, url = f"s3://{name}/{PREFIX}/", f"s3://{name}/dataset/"
    added = 0
    for day in range(3):  # a day delivered, then ingested: commits 1, 2 and 3
        for key, data in delivered[day * 24 : (day + 1) * 24]:
            client.put_object(Bucket=name, Key=key, Body=data)
        added += logstat.ingest(logs, url).rows
    assert keys(s3, name, "dataset/_logstat/checkpoints/") == [
        "dataset/_logstat/checkpoints/0000000002.json"
    ]
    for sequence in (1, 2):  # held by the checkpoint: never read again
        client.put_object(
            Bucket=name, Key=f"dataset/_logstat/commits/{sequence:010d}.json", Body=b"damaged"
        )
    expected = truth(name)
    assert added == expected["totals"]["records"] > 0
    read_back = json.loads(logstat.summarize(url, tz="UTC").to_json_text())
    assert counts(read_back) == counts(expected)
    assert stored_rows(url).height == added
    assert logstat.ingest(logs, url).rows == 0  # the keys read, as the checkpoint holds them
    fs = filesystem("s3")
    whole: list[str] = []

    class Counting:  # the filesystem, noting the folders it lists whole
        def __getattr__(self, attribute: str) -> Any:
            return getattr(fs, attribute)

        def ls(self, path: str, **options: Any) -> Any:
            whole.append(path)
            return fs.ls(path, **options)

    checkpoint, documents = dataset_store.committed_documents(Counting(), f"{name}/dataset")
    assert checkpoint == 2 and len(documents) == 2  # the checkpoint, then commit 3
    assert whole == [f"{name}/dataset/_logstat/checkpoints"]  # commits: listed from 2 on
    with pytest.raises(LogstatError, match="cannot read the dataset's commit"):
        client.delete_object(Bucket=name, Key="dataset/_logstat/checkpoints/0000000002.json")
        logstat.summarize(url, tz="UTC")
