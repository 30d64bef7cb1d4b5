"""The object-storage scenario: many small ALB .log.gz objects in moto's S3 server on
loopback, summarised from the bucket, from the bucket on a local Dask cluster of one
and of two workers, and from the same files on disk.  Needs the test extras
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
def s3_server() -> Iterator[str]:
    """moto's S3 server, its endpoint in this process's environment (and so in every
    command timed meanwhile) until the block ends."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **CREDENTIALS},
    )
    endpoint = f"http://127.0.0.1:{port}"
    saved = {name: os.environ.get(name) for name in [*CREDENTIALS, "AWS_ENDPOINT_URL"]}
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("moto's S3 server did not start")
            time.sleep(0.05)
        os.environ.update({**CREDENTIALS, "AWS_ENDPOINT_URL": endpoint})
        yield endpoint
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        process.terminate()
        process.wait(timeout=10)


def upload(directory: Path, endpoint: str) -> str:
    """Every file of `directory` as an object under one ALB day folder; its URL."""
    from concurrent.futures import ThreadPoolExecutor

    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, **_boto_credentials())
    client.create_bucket(Bucket=BUCKET)
    files = sorted(path for path in directory.iterdir() if path.name.endswith(".gz"))

    def put(path: Path) -> None:
        client.put_object(Bucket=BUCKET, Key=f"{PREFIX}/{path.name}", Body=path.read_bytes())

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, files))
    return f"s3://{BUCKET}/{PREFIX}/"


def _boto_credentials() -> dict[str, str]:
    return {
        "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "region_name": CREDENTIALS["AWS_DEFAULT_REGION"],
    }
