"""A Dask cluster as the engine: the same answer as here, byte for byte, even when a
worker dies mid-run.  Real distributed.LocalCluster worker processes on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import logstat
from logstat.engines import dask as engine
from logstat.reading import pipeline
from logstat.summary import PartialSummary, ReportSettings
from tests.helpers import REPO, fixture_logs, kill_a_worker_mid_run, run_cli, write_numbered_log

distributed = pytest.importorskip("distributed")

SAMPLE = REPO / "samples" / "nginx-access.log"


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with engine.connect("local:2") as connected:
        yield connected


def test_every_format_gives_the_same_json_on_the_cluster(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "TASK_FILES", 3)  # many tasks, many merges
    logs = [SAMPLE, *fixture_logs()]
    settings = ReportSettings(top=5, by="source")
    options = pipeline.Options()
    here = logstat.summarize(logs, top=5, by="source", tz="UTC")
    parts = engine.parts_of(options.expand([str(log) for log in logs]))
    there = engine.summarize(client, parts, settings, options).partial.summary()
    assert there.to_json_text() == here.to_json_text()
    assert here.totals.files == len(logs) and here.totals.records > 0


def test_the_command_line_runs_on_a_local_cluster(tmp_path: Path) -> None:
    logs = [
        str(write_numbered_log(tmp_path / f"access{index}.log", index * 100, 50))
        for index in range(5)
    ]
    local = run_cli(*logs, "--json", "--tz", "UTC", "--top", "3")
    cluster = run_cli(*logs, "--json", "--tz", "UTC", "--top", "3", "--cluster", "local:2")
    assert cluster.code == local.code == 0, cluster.stderr
    assert json.loads(cluster.stdout) == json.loads(local.stdout)


def test_a_worker_killed_mid_run_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    logs = [
        write_numbered_log(tmp_path / f"a{index}.log", index * 1000, 400) for index in range(60)
    ]
    options = pipeline.Options()
    settings = ReportSettings(top=3)
    truth = logstat.summarize(logs, top=3, tz="UTC").to_json_text()
    monkeypatch.setattr(engine, "TASK_FILES", 1)  # a task a file: the kill lands mid-run
    with engine.connect("local:2") as client:
        parts = engine.parts_of(options.expand([str(log) for log in logs]))
        result: PartialSummary = kill_a_worker_mid_run(
            client, lambda: engine.summarize(client, parts, settings, options).partial
        )
    assert result.summary().to_json_text() == truth


@pytest.mark.parametrize(
    ("arguments", "code", "fragment"),
    [
        (["--cluster", "local:0"], 2, "local:N needs N >= 1"),
        (["--cluster", "tcp://127.0.0.1:9"], 1, "cannot connect"),
    ],
)
def test_cluster_usage_errors_are_one_line(
    arguments: list[str], code: int, fragment: str, tmp_path: Path
) -> None:
    result = run_cli(str(SAMPLE), *arguments, cwd=tmp_path)
    assert result.code == code, result.stderr
    assert result.stderr.count("\n") == 1 and fragment in result.stderr


def test_stdin_cannot_go_to_a_cluster() -> None:
    result = run_cli("-", "--cluster", "local:1", stdin=SAMPLE.read_bytes())
    assert result.code == 2 and "stdin" in result.stderr


def test_objects_are_read_by_the_workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gzip

    from tests.servers.s3 import run_server

    for server in run_server():
        for name, value in server.environment().items():
            monkeypatch.setenv(name, value)  # the worker processes started below get it
        client = server.client()
        client.create_bucket(Bucket="logs")
        for index in range(12):
            lines = SAMPLE.read_bytes().splitlines(keepends=True)[index * 40 : index * 40 + 40]
            key = f"nginx/2026/11/20/access-{index:02d}.log.gz"
            client.put_object(Bucket="logs", Key=key, Body=gzip.compress(b"".join(lines)))
        # one plain object large enough to be cut into byte ranges
        client.put_object(
            Bucket="logs", Key="nginx/2026/11/21/access.log", Body=SAMPLE.read_bytes()
        )
        monkeypatch.setattr(engine, "TASK_FILES", 5)
        monkeypatch.setattr(engine, "RANGE_BYTES", 8192)
        here = logstat.summarize("s3://logs/nginx/", top=3, tz="UTC")
        there = logstat.summarize("s3://logs/nginx/", top=3, tz="UTC", cluster="local:2")
        assert there.to_json_text() == here.to_json_text()
        assert here.totals.files == 13 and here.totals.records > 0
        # with --state, the client remembers the objects the workers read
        state = tmp_path / "objects.state"
        first = logstat.summarize("s3://logs/nginx/", state=state, cluster="local:1")
        again = logstat.summarize("s3://logs/nginx/", state=state, cluster="local:1")
        assert (first.totals.files, again.totals.files) == (13, 0)


def test_local_workers_let_glibc_adapt_its_mapping_threshold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Dask's MALLOC_TRIM_THRESHOLD_ pins glibc's mmap threshold at 128 KiB: every
    larger buffer of every small file was mapped and unmapped (2.5x the system time)."""
    import os

    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    with engine.connect("local:1") as client:
        found = client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_"))
        monitor = client.run(
            lambda: __import__("dask").config.get("distributed.worker.memory.monitor-interval")
        )
    assert list(found.values()) == [None]
    assert list(monitor.values()) == [
        engine.LOCAL_MONITORS["distributed.worker.memory.monitor-interval"]
    ]
