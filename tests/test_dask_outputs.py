"""`export` and `ingest` on a Dask cluster (engines/dask_outputs.py): the rows a run here
writes, each once, also when a worker is killed mid-run; `dashboard` (engines/
dask_dashboard.py): the page made here.  Real distributed.LocalCluster worker
processes on loopback."""

from __future__ import annotations

import contextlib
import functools
import io
import json
import pickle
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import logstat
from logstat.engines import dask as engine
from logstat.library import dashboard
from logstat.outputs import dataset_commits
from logstat.summary.file_rows import FileRow
from tests.helpers import (
    REPO,
    fixture_logs,
    kill_a_worker_mid_run,
    log_line,
    page_data,
    run_cli,
    write_numbered_log,
)

distributed = pytest.importorskip("distributed")

SAMPLE = REPO / "samples" / "nginx-access.log"
ORDER = ["file", "line_no"]


@pytest.fixture(scope="module")
def address() -> Iterator[str]:
    """A LocalCluster of two worker processes, by its scheduler's address."""
    with engine.connect("local:2") as client:
        yield str(client.scheduler.address)


def stored(root: Path) -> pl.DataFrame:
    files = logstat.committed_files(root)
    return pl.read_parquet(files, hive_partitioning=True).sort(ORDER)


def test_export_on_the_cluster_writes_the_rows_written_here(
    address: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "TASK_FILES", 3)  # many tasks, many parts
    logs = [SAMPLE, *fixture_logs()]
    for suffix in ("csv", "parquet"):
        here = logstat.export(logs, tmp_path / f"here.{suffix}", tz="UTC")
        there = logstat.export(logs, tmp_path / f"there.{suffix}", tz="UTC", cluster=address)
        assert (there.rows, there.rejected, there.notes) == (here.rows, here.rejected, here.notes)
        assert here.rows > 0
        if suffix == "csv":
            assert (tmp_path / "there.csv").read_bytes() == (tmp_path / "here.csv").read_bytes()
        else:
            local, cluster = (
                pl.read_parquet(tmp_path / f"{side}.parquet") for side in ("here", "there")
            )
            assert cluster.equals(local)
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "here.csv", "here.parquet", "there.csv", "there.parquet"
    ]  # fmt: skip


def test_export_filters_on_the_cluster(address: str, tmp_path: Path) -> None:
    here = logstat.export(SAMPLE, tmp_path / "here.csv", status=["5xx"])
    there = logstat.export(SAMPLE, tmp_path / "there.csv", status=["5xx"], cluster=address)
    assert there.rows == here.rows > 0
    assert (tmp_path / "there.csv").read_bytes() == (tmp_path / "here.csv").read_bytes()


def test_ingest_on_the_cluster_adds_the_rows_added_here(
    address: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "TASK_FILES", 2)
    logs = [write_numbered_log(tmp_path / f"a{index}.log", index * 1000, 300) for index in range(7)]
    here = logstat.ingest(logs, tmp_path / "here")
    there = logstat.ingest(logs, tmp_path / "there", cluster=address)
    assert there.rows == here.rows > 0
    assert (there.rejected, there.notes) == (here.rejected, here.notes)
    assert stored(tmp_path / "there").equals(stored(tmp_path / "here"))
    assert logstat.ingest(logs, tmp_path / "there", cluster=address).rows == 0
    # a log that grew is read on from where the dataset's record left it, on a worker
    with logs[3].open("a") as handle:
        handle.write("".join(log_line(number) for number in range(3300, 3340)))
    assert (
        logstat.ingest(logs, tmp_path / "here").rows
        == (logstat.ingest(logs, tmp_path / "there", cluster=address).rows)
        > 0
    )
    assert stored(tmp_path / "there").equals(stored(tmp_path / "here"))
    assert dataset_commits.staging_directories(tmp_path / "there") == []


def test_the_command_line_ingests_and_exports_on_a_local_cluster(tmp_path: Path) -> None:
    root = tmp_path / "dataset"
    result = run_cli("ingest", str(SAMPLE), "--to", root, "--cluster", "local:2")
    assert result.code == 0, result.stderr
    result = run_cli("summary", root, "--json", "--tz", "UTC")
    assert result.code == 0, result.stderr
    local = run_cli(str(SAMPLE), "--json", "--tz", "UTC")
    assert (
        json.loads(result.stdout)["totals"]["records"]
        == json.loads(local.stdout)["totals"]["records"]
    )
    result = run_cli("export", str(SAMPLE), "-o", "-", "--cluster", "local:1")
    assert result.code == 2 and result.stderr.count("\n") == 1 and "not stdout" in result.stderr


def _kill_a_worker_once_tasks_finish(address: str, work: Callable[[], Any]) -> Any:
    with distributed.Client(address) as client:
        return kill_a_worker_mid_run(client, work)


def test_a_worker_killed_mid_ingest_and_mid_export_changes_nothing(
    address: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    logs = [
        write_numbered_log(tmp_path / f"k{index}.log", index * 1000, 300) for index in range(40)
    ]
    here = logstat.ingest(logs, tmp_path / "here")
    logstat.export(logs, tmp_path / "here.csv")
    monkeypatch.setattr(engine, "TASK_FILES", 1)  # a task a file: the kill lands mid-run
    there = _kill_a_worker_once_tasks_finish(
        address, lambda: logstat.ingest(logs, tmp_path / "there", cluster=address)
    )
    assert there.rows == here.rows
    assert stored(tmp_path / "there").equals(stored(tmp_path / "here"))
    assert dataset_commits.staging_directories(tmp_path / "there") == []
    exported = _kill_a_worker_once_tasks_finish(
        address, lambda: logstat.export(logs, tmp_path / "there.csv", cluster=address)
    )
    assert exported.rows == stored(tmp_path / "here").height
    assert (tmp_path / "there.csv").read_bytes() == (tmp_path / "here.csv").read_bytes()
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".")]


def test_the_dashboard_on_the_cluster_is_the_page_made_here(
    address: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "TASK_FILES", 3)
    logs = [SAMPLE, *fixture_logs()]
    here = dashboard(logs, tmp_path / "here.html", tz="UTC", status=["4xx", "5xx"])
    there = dashboard(
        logs, tmp_path / "there.html", tz="UTC", status=["4xx", "5xx"], cluster=address
    )
    assert (there.rows, there.rejected) == (here.rows, here.rejected)
    assert here.rows > 0
    pages = [
        re.sub(r'"generated": ?"[^"]*"', "", (tmp_path / name).read_text(encoding="utf-8"))
        for name in ("here.html", "there.html")
    ]
    assert '"error_paths"' in pages[0]
    assert pages[1] == pages[0]


def test_the_dashboard_connects_to_the_cluster_while_it_lists_the_inputs(
    address: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # as the summary does: starting local:N's workers need not wait for the listing
    from logstat.reading.runs import Options

    events: list[str] = []
    connecting, expand = engine.connecting, Options.expand

    @contextlib.contextmanager
    def noted(where: str) -> Iterator[Any]:
        events.append("connecting")
        with connecting(where) as cluster:
            yield cluster

    def listed(options: Options, logs: list[str]) -> Any:
        events.append("listing")
        return expand(options, logs)

    monkeypatch.setattr(engine, "connecting", noted)
    monkeypatch.setattr(Options, "expand", listed)
    for run in (
        lambda: logstat.summarize([SAMPLE], cluster=address),
        lambda: dashboard([SAMPLE], tmp_path / "there.html", tz="UTC", cluster=address),
    ):
        events.clear()
        run()
        assert events == ["connecting", "listing"]
    assert page_data(tmp_path / "there.html")["totals"]["files"] == 1


def file_rows_in(value: Any) -> int:
    """How many files' rows `value` holds, wherever in it (as pickling it finds them)."""
    found = 0

    class Counting(pickle.Pickler):
        def reducer_override(self, held: Any) -> Any:
            nonlocal found
            found += isinstance(held, FileRow)
            return NotImplemented

    Counting(io.BytesIO()).dump(value)
    return found


def joined_without_file_rows(join: Callable[[Any, Any], Any], one: Any, other: Any) -> Any:
    """A join of the merge tree, on a worker, that refuses values holding files' rows."""
    held = file_rows_in(one) + file_rows_in(other)
    if held:
        raise AssertionError(f"{held} files' rows went up the merge tree")
    return join(one, other)


def test_the_dashboard_merges_no_file_rows_on_the_cluster_and_lists_every_file(
    address: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    logs = [
        write_numbered_log(tmp_path / f"d{index}.log", index * 1000, 200) for index in range(30)
    ]
    here = dashboard(logs, tmp_path / "here.html", tz="UTC")
    monkeypatch.setattr(engine, "TASK_FILES", 1)  # a task a file: a deep tree, a kill mid-run
    joins: list[int] = []
    tree = engine.tree

    def checked(client: Any, pending: list[Any], join: Callable[[Any, Any], Any]) -> Any:
        joins.append(len(pending) - 1)
        return tree(client, pending, functools.partial(joined_without_file_rows, join))

    monkeypatch.setattr(engine, "tree", checked)
    there = _kill_a_worker_once_tasks_finish(
        address, lambda: dashboard(logs, tmp_path / "there.html", tz="UTC", cluster=address)
    )
    assert joins == [len(logs) - 1]
    assert (there.rows, there.rejected) == (here.rows, here.rejected)
    data = page_data(tmp_path / "there.html")
    assert data["totals"]["files"] == len(logs)  # grouped on the page: more than it lists
    assert sum(group["files"] for group in data["file_groups"]) == len(logs)
    assert {**data, "generated": None} == {**page_data(tmp_path / "here.html"), "generated": None}


def test_ingest_on_the_cluster_into_a_bucket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.servers.deliveries import PREFIX, deliveries
    from tests.servers.s3 import run_server

    for server in run_server():
        for name, value in server.environment().items():
            monkeypatch.setenv(name, value)  # the worker processes started below get it
        client = server.client()
        client.create_bucket(Bucket="logs")
        for key, data in deliveries():
            client.put_object(Bucket="logs", Key=key, Body=data)
        monkeypatch.setattr(engine, "TASK_FILES", 10)
        logs, url = f"s3://logs/{PREFIX}/", "s3://logs/dataset/"
        here = logstat.ingest(logs, tmp_path / "here")
        with engine.connect("local:2") as cluster:
            address = str(cluster.scheduler.address)
            there = logstat.ingest(logs, url, cluster=address)
            assert logstat.ingest(logs, url, cluster=address).rows == 0
        assert there.rows == here.rows > 0
        assert all(str(part).startswith(url) for part in there.files)
        files = logstat.committed_files(url)
        fs = server_files(url)
        rows = pl.concat([pl.read_parquet(fs.cat_file(file.split("://", 1)[1])) for file in files])
        local = pl.concat(
            [pl.read_parquet(file) for file in logstat.committed_files(tmp_path / "here")]
        )
        assert rows.sort(ORDER).equals(local.sort(ORDER))


def server_files(url: str) -> Any:
    from logstat.reading.objects import filesystem

    return filesystem(url.split("://", 1)[0])
