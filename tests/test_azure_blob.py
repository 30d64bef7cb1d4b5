"""Logs in Azure Blob Storage, read from Azurite (the emulator, from npm) on loopback
through adlfs, as from Azure: a container laid out as ALB deliveries (the object
storage tests' layout) reads as its local copy."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

import logstat
from logstat.reading import objects
from tests.helpers import run_cli
from tests.servers.azurite import AzuriteServer, run_server
from tests.servers.deliveries import HOURS, PREFIX, counts, deliveries


@pytest.fixture(scope="module")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteServer]:
    yield from run_server(tmp_path_factory.mktemp("azurite"))


@pytest.fixture(scope="module")
def container(azurite: AzuriteServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A container `logs` of ALB deliveries, and its local copy."""
    fs = azurite.filesystem()
    fs.mkdir("logs")
    local = tmp_path_factory.mktemp("local")
    for key, data in deliveries():
        fs.pipe_file(f"logs/{key}", data)
        path = local / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return local


@pytest.fixture
def environment(azurite: AzuriteServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in azurite.environment().items():
        monkeypatch.setenv(name, value)
    return azurite.environment()


def test_a_container_reads_as_its_local_copy(container: Path, environment: dict[str, str]) -> None:
    code, remote_out, error = run_cli(
        "az://logs/AWSLogs/", "--json", "--tz", "UTC", env=environment
    )
    assert code == 0, error
    code, local_out, _ = run_cli(str(container / "AWSLogs"), "--json", "--tz", "UTC")
    assert code == 0
    remote, here = json.loads(remote_out), json.loads(local_out)
    assert remote["totals"]["files"] == HOURS
    assert counts(remote) == counts(here)


def test_date_folders_outside_the_window_are_skipped(
    container: Path, environment: dict[str, str]
) -> None:
    since, until = "2026-12-02T10:00:00Z", "2026-12-02T11:00:00Z"
    remote = logstat.summarize("abfs://logs/AWSLogs/", since=since, until=until)
    here = logstat.summarize(container / "AWSLogs", since=since, until=until)
    assert remote.totals.selected == here.totals.selected > 0
    assert remote.totals.files < 24


def test_the_listing_starts_at_the_window_hour(
    container: Path, environment: dict[str, str]
) -> None:
    """Azure lists a day folder from the window's hour on (List Blobs' startFrom): fewer
    entries than the day holds, and the objects a full listing would keep."""
    window = objects.Window(
        since=datetime(2026, 12, 2, 10, tzinfo=UTC), until=datetime(2026, 12, 2, 11, tzinfo=UTC)
    )
    store = objects.Store("az")
    found = store.listing("az://logs/AWSLogs/", window)
    everything = objects.Store("az").listing("az://logs/AWSLogs/", objects.Window())
    kept = [
        item for item in everything if objects._object_wanted(item.url.rsplit("/", 1)[-1], window)
    ]
    assert found == kept != []  # sizes and ETags as the full listing gives them (--state)
    # 8 folders on the way down, then one probe and a first page of 10 keys from 08:00
    # (the window less its slack): 19; a listing of the whole day folder would make 32
    assert store.listed[0] <= 8 + 1 + 10, store.listed[0]


def test_state_reads_each_blob_once(
    azurite: AzuriteServer, environment: dict[str, str], tmp_path: Path
) -> None:
    fs = azurite.filesystem()
    fs.mkdir("cron")
    delivered = list(deliveries())
    for key, data in delivered[:10]:
        fs.pipe_file(f"cron/{key}", data)
    state = tmp_path / "run.state"
    url = f"az://cron/{PREFIX}/"
    assert logstat.summarize(url, state=state).totals.files == 10
    assert logstat.summarize(url, state=state).totals.files == 0
    for key, data in delivered[10:12]:
        fs.pipe_file(f"cron/{key}", data)
    assert logstat.summarize(url, state=state).totals.files == 2
