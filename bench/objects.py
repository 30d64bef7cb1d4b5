"""The object-storage scenario: many small ALB .log.gz objects in moto's S3 server on
loopback, summarised from the bucket and from the same files on disk, each also on a
local Dask cluster of one and of two workers.  Needs the test extras
(`pip install -e '.[test]'`: s3fs, moto[server], dask)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
}
BUCKET = "bench"
PREFIX = "AWSLogs/123456789012/elasticloadbalancing/us-east-1/2026/12/01"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def s3_server(directory: Path) -> Iterator[str]:
    """moto's S3 server with the .gz files of `directory` stored as objects under one ALB
    day folder (loaded in its process: bench/moto_preloaded.py), its endpoint in this
    process's environment (and so in every command timed meanwhile) until the block
    ends; the folder's URL."""
    port = _free_port()
    files = sum(1 for path in directory.iterdir() if path.name.endswith(".gz"))
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.moto_preloaded", str(port), str(directory), BUCKET, PREFIX],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **CREDENTIALS},
        cwd=Path(__file__).resolve().parent.parent,  # where `bench` is
    )
    endpoint = f"http://127.0.0.1:{port}"
    saved = {name: os.environ.get(name) for name in [*CREDENTIALS, "AWS_ENDPOINT_URL"]}
    try:
        deadline = time.monotonic() + 30 + files / 100  # it listens once they are stored
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("moto's S3 server did not start")
            time.sleep(0.05)
        os.environ.update({**CREDENTIALS, "AWS_ENDPOINT_URL": endpoint})
        yield f"s3://{BUCKET}/{PREFIX}/"
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        process.terminate()
        process.wait(timeout=10)
