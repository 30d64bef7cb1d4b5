"""moto's S3 server with a directory's files already stored as objects: loaded into its
backend in its own process, before it listens, rather than sent as one PUT request each.

moto answers requests in Python, one process for every request: 10,000 PUTs from 16
threads took 34 s on a busy 2-core machine (minutes on a busier one), where loading
them here takes 2.5 s, so 100,000 objects are a setup of seconds.  Stored here, the
objects are the ones a PUT stores (the same keys, bytes and ETags, listed and fetched
over HTTP as any others).

    python -m bench.moto_preloaded PORT DIRECTORY BUCKET PREFIX
"""

from __future__ import annotations

import sys
from pathlib import Path


def load(directory: Path, bucket: str, prefix: str) -> int:
    """Every .gz file of `directory` as an object `prefix/<name>` of `bucket` (created) in
    this process's moto backend; how many."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    backend.create_bucket(bucket, "us-east-1")
    files = sorted(path for path in directory.iterdir() if path.name.endswith(".gz"))
    for path in files:
        backend.put_object(bucket, f"{prefix}/{path.name}", path.read_bytes())
    return len(files)


def main(arguments: list[str]) -> None:
    from moto import server

    port, directory, bucket, prefix = arguments
    load(Path(directory), bucket, prefix)
    server.main(["-H", "127.0.0.1", "-p", port])  # serves until terminated


if __name__ == "__main__":
    main(sys.argv[1:])
