"""moto's S3 server on loopback: a real S3 endpoint over HTTP for the object-storage tests.

Started once per test session (`moto_server` from the `moto[server]` package, a test
dependency); each test makes its own bucket.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tests.servers.network import LOOPBACK, free_port, serving

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass(frozen=True)
class S3Server:
    endpoint: str

    def client(self) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, **_credentials())

    def environment(self) -> dict[str, str]:
        """What a logstat process needs to reach this server (as a user's env would)."""
        return {**CREDENTIALS, "AWS_ENDPOINT_URL": self.endpoint}


def _credentials() -> dict[str, str]:
    return {
        "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "region_name": CREDENTIALS["AWS_DEFAULT_REGION"],
    }


def run_server(seconds: float = 30) -> Iterator[S3Server]:
    port = free_port()
    command = [sys.executable, "-m", "moto.server", "-H", LOOPBACK, "-p", str(port)]
    with serving(command, port, seconds, env={**os.environ, **CREDENTIALS}):
        yield S3Server(f"http://{LOOPBACK}:{port}")
