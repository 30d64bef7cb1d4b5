"""Azurite, Azure Storage's emulator (from npm), on loopback: a real Azure Blob endpoint
for the adlfs tests.

Found as `azurite-blob` on PATH, in $LOGSTAT_AZURITE, or where .ci/run installs it
(`npm install --prefix ~/.cache/logstat/azurite azurite`). Missing, or adlfs missing,
the tests skip, except in CI (`CI` set), where they fail.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.servers.network import LOOPBACK, free_port, serving

INSTALLED = (
    Path.home() / ".cache" / "logstat" / "azurite" / "node_modules" / ".bin" / "azurite-blob"
)
# Azurite's one well-known development account, documented with the emulator
ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


@dataclass(frozen=True)
class AzuriteServer:
    endpoint: str

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
            f"BlobEndpoint={self.endpoint}/{ACCOUNT};"
        )

    def environment(self) -> dict[str, str]:
        """What a logstat process needs to reach this account (as a user's env would)."""
        return {"AZURE_STORAGE_CONNECTION_STRING": self.connection_string}

    def filesystem(self) -> Any:
        import adlfs

        return adlfs.AzureBlobFileSystem(connection_string=self.connection_string)


def azurite_binary() -> str:
    """azurite-blob's path; skip when it (or adlfs) is missing, but fail in CI."""
    found = os.environ.get("LOGSTAT_AZURITE") or shutil.which("azurite-blob")
    if not found and INSTALLED.exists():
        found = str(INSTALLED)
    missing = None
    if not found:
        missing = "Azurite is not installed (npm install azurite)"
    else:
        try:
            import adlfs  # noqa: F401
        except ImportError:
            missing = "adlfs is not installed (pip install adlfs)"
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(f"{missing}; CI must run the Azure tests, see .ci/run", pytrace=False)
        pytest.skip(missing)
    assert found is not None
    return found


def run_server(directory: Path, seconds: float = 60) -> Iterator[AzuriteServer]:
    binary = azurite_binary()
    port = free_port()
    command = [
        binary,
        "--blobHost",
        LOOPBACK,
        "--blobPort",
        str(port),
        "--location",
        str(directory),
        "--silent",
        "--skipApiVersionCheck",  # adlfs may speak a newer API version than this Azurite
        "--loose",
    ]
    with serving(command, port, seconds):
        yield AzuriteServer(f"http://{LOOPBACK}:{port}")
