"""Small S3 objects fetched through obstore (logstat/reading/object_fetch.py), with the
credentials, endpoint and region s3fs would use: against moto's S3 server, and a tiny
S3 of our own on loopback that checks what moto does not (who signed a request, for
which region) and refuses what it is told to."""

from __future__ import annotations

import gzip
import http.server
import json
import pickle
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest

from logstat.errors import ExitCode, LogstatError
from logstat.reading import object_fetch, objects
from tests.helpers import run_cli
from tests.servers.deliveries import PREFIX, deliveries
from tests.servers.s3 import S3Server, run_server


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    yield from run_server()


@pytest.fixture(scope="module")
def bucket(s3: S3Server) -> dict[str, bytes]:
    """A bucket of ALB deliveries (and a key obstore cannot name); what each key holds."""
    client = s3.client()
    client.create_bucket(Bucket="fetched")
    stored = dict(list(deliveries())[:40])
    stored["odd//two-slashes.log"] = b"line\n"
    for key, data in stored.items():
        client.put_object(Bucket="fetched", Key=key, Body=data)
    return stored


@pytest.fixture
def environment(s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in s3.environment().items():
        monkeypatch.setenv(name, value)
    return s3.environment()


def _store(objects_wanted: dict[str, bytes], bucket: str, endpoint: str) -> objects.Store:
    store = objects.Store("s3", endpoint)
    store.add(
        [
            objects.RemoteObject(f"s3://{bucket}/{key}", len(data), None)
            for key, data in objects_wanted.items()
        ]
    )
    return store


def test_a_batch_is_fetched_through_obstore_not_s3fs(
    bucket: dict[str, bytes], environment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(bucket, "fetched", environment["AWS_ENDPOINT_URL"])
    asked: list[list[str]] = []
    real = store.fs.cat_ranges

    def cat_ranges(paths: list[str], *arguments: Any, **options: Any) -> Any:
        asked.append(paths)
        return real(paths, *arguments, **options)

    monkeypatch.setattr(store.fs, "cat_ranges", cat_ranges)
    try:
        for item in store.order:
            assert store.open(item).read() == bucket[item.url.split("/", 3)[3]]
    finally:
        store.close()
    # s3fs fetched only the key obstore cannot name (an empty path segment)
    assert asked == [["fetched/odd//two-slashes.log"]]


def test_an_object_missing_from_a_batch_is_gone_and_the_others_read(
    bucket: dict[str, bytes], environment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key deleted since the listing: the run notes it (as a rotated file) and reads
    the rest of its batch."""
    url = f"s3://fetched/{PREFIX}/2026/12/01/"
    listing = objects.Store.listing

    def with_a_missing_object(
        self: objects.Store, argument: str, window: objects.Window
    ) -> list[objects.RemoteObject]:
        found = listing(self, argument, window)
        gone = objects.RemoteObject(found[2].url.replace(".log.gz", "-gone.log.gz"), 100, None)
        return [*found[:3], gone, *found[3:]]

    monkeypatch.setattr(objects.Store, "listing", with_a_missing_object)
    code, out, errors = run_cli("summary", url, "--json", in_process=True)
    assert code == ExitCode.PARTIAL, errors
    gone = with_a_missing_object(objects.Store("s3"), url, objects.Window())[3].url
    assert (
        errors == f"logstat: warning: {gone}: gone before it could be read (rotated or deleted)\n"
    )
    expected = sum(
        gzip.decompress(data).count(b"\n")
        for key, data in bucket.items()
        if key.startswith(f"{PREFIX}/2026/12/01/")
    )
    totals = json.loads(out)["totals"]
    assert (totals["files"], totals["records"]) == (25, expected)


def test_the_native_store_is_made_once_per_bucket_and_credentials(
    bucket: dict[str, bytes], environment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[str] = []
    real = object_fetch.new_store

    def counted(fs: Any, name: str) -> Any:
        made.append(name)
        return real(fs, name)

    monkeypatch.setattr(object_fetch, "new_store", counted)
    monkeypatch.setattr(objects, "_NATIVE_STORES", {})
    first = _store(bucket, "fetched", environment["AWS_ENDPOINT_URL"])
    # a Dask worker's tasks: each unpickles its own Store; one native store serves them
    for store in (first, pickle.loads(pickle.dumps(first)), pickle.loads(pickle.dumps(first))):
        store.add([] if store.order else first.order)
        try:
            assert store.open(store.order[0]).read() == next(iter(bucket.values()))
        finally:
            store.close()
    assert made == ["fetched"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "another")  # moto takes any key
    store = _store(bucket, "fetched", environment["AWS_ENDPOINT_URL"])
    try:
        store.open(store.order[0]).read()
    finally:
        store.close()
    assert made == ["fetched", "fetched"]


def test_a_profile_reads_a_bucket(bucket: dict[str, bytes], s3: S3Server, tmp_path: Path) -> None:
    """Credentials from a profile of the shared files only, as `aws configure` writes
    them: the listing (s3fs) and the fetch (obstore) both find them."""
    environment = _profile_only(tmp_path, "logs-reader", "profile-secret")
    environment["AWS_ENDPOINT_URL"] = s3.endpoint
    url = f"s3://fetched/{PREFIX}/2026/12/01/"
    code, out, error = run_cli(url, "--json", env=environment)
    assert code == 0, error
    assert '"files": 24' in out


class FakeS3(http.server.BaseHTTPRequestHandler):
    """One bucket in eu-west-1: a HEAD of it says so; a GET signed for another region is
    refused as S3 refuses it (naming the region); `.../denied` is refused; any other
    key holds its own name.  Every GET's signing key and region are kept."""

    REGION = "eu-west-1"
    signed: ClassVar[list[tuple[str, str]]] = []

    def do_HEAD(self) -> None:
        self.send_response(200)
        self.send_header("x-amz-bucket-region", self.REGION)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        found = re.search(
            r"Credential=([^/]+)/\d+/([^/]+)/s3/", self.headers["Authorization"] or ""
        )
        key, region = found.groups() if found else ("", "")
        self.signed.append((key, region))
        if region != self.REGION:
            self._error(
                400,
                "AuthorizationHeaderMalformed",
                f"the region '{region}' is wrong; expecting '{self.REGION}'",
                f"<Region>{self.REGION}</Region>",
            )
        elif self.path.endswith("/denied"):
            self._error(403, "AccessDenied", "Access Denied")
        else:
            body = self.path.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", '"0"')
            self.end_headers()
            self.wfile.write(body)

    def _error(self, status: int, code: str, message: str, extra: str = "") -> None:
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>{message}</Message>{extra}<RequestId>1</RequestId></Error>"
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *arguments: Any) -> None:
        pass


@pytest.fixture
def fake_s3() -> Iterator[str]:
    FakeS3.signed.clear()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeS3)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _profile_only(tmp_path: Path, key: str, secret: str) -> dict[str, str]:
    """An environment whose only credentials are a named profile's in a shared file."""
    credentials = tmp_path / "credentials"
    credentials.write_text(
        f"[default]\naws_access_key_id = default-key\naws_secret_access_key = x\n\n"
        f"[logs]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n"
    )
    return {
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_PROFILE": "logs",
        "AWS_DEFAULT_REGION": "us-east-1",  # not the bucket's
        "AWS_EC2_METADATA_DISABLED": "true",
    }


@pytest.fixture
def profile_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    for name, value in _profile_only(tmp_path, "profile-key", "profile-secret").items():
        monkeypatch.setenv(name, value)


def test_the_fetch_signs_with_the_profile_for_the_buckets_region(
    fake_s3: str, profile_environment: None
) -> None:
    wanted = {"logs/a.log": b"", "logs/b.log": b""}
    store = _store(wanted, "eu-bucket", fake_s3)
    try:
        assert store.open(store.order[0]).read() == b"/eu-bucket/logs/a.log"  # path-style
        assert store.open(store.order[1]).read() == b"/eu-bucket/logs/b.log"
    finally:
        store.close()
    assert FakeS3.signed == [("profile-key", "eu-west-1")] * 2


def test_a_refused_object_says_what_s3fs_says(fake_s3: str, profile_environment: None) -> None:
    store = _store({"logs/denied": b"", "logs/c.log": b""}, "eu-bucket", fake_s3)
    try:
        with pytest.raises(Exception) as through_s3fs:
            store.fs.cat_file("eu-bucket/logs/denied")
        with pytest.raises(LogstatError) as refused:
            store.open(store.order[0])
        assert store.open(store.order[1]).read() == b"/eu-bucket/logs/c.log"
    finally:
        store.close()
    said = objects._reason(through_s3fs.value)
    assert said == "Access Denied"
    assert str(refused.value) == f"s3://eu-bucket/logs/denied: cannot read: {said}"


def test_without_credentials_each_fetch_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    store = object_fetch.new_store(None, "any-bucket")
    [found] = object_fetch.fetch([(store, "key.log")])
    assert isinstance(found, Exception) and str(found) == "Unable to locate credentials"


def test_refreshable_credentials_are_asked_again() -> None:
    from botocore.credentials import Credentials, RefreshableCredentials

    handed: list[str] = []

    def refresh() -> dict[str, str]:
        handed.append(f"key-{len(handed)}")
        expiry = datetime.now(UTC) + timedelta(minutes=60)
        return {
            "access_key": handed[-1],
            "secret_key": "s",
            "token": "t",
            "expiry_time": expiry.isoformat(),
        }

    refreshable = RefreshableCredentials.create_from_metadata(refresh(), refresh, "test")
    provider = object_fetch.BotocoreCredentials(refreshable)
    first = provider()
    assert first["access_key_id"] == "key-0" and first["token"] == "t"
    assert first["expires_at"] <= datetime.now(UTC) + object_fetch.FROZEN_FOR
    # 9 minutes left: within botocore's mandatory refresh, so the next ask gets new ones
    refreshable._expiry_time = datetime.now(UTC) + timedelta(minutes=9)  # type: ignore[attr-defined]
    assert provider()["access_key_id"] == "key-1"
    static = object_fetch.BotocoreCredentials(Credentials("k", "s"))()
    assert static["expires_at"] is None and static["access_key_id"] == "k"


@pytest.mark.parametrize(
    ("endpoint", "region", "bucket", "style", "expected"),
    [
        # AWS: virtual-hosted in the bucket's region, whatever region the client has
        ("https://s3.amazonaws.com", "eu-west-1", "logs", None,
         ("https://logs.s3.eu-west-1.amazonaws.com", True)),
        ("https://s3.us-east-1.amazonaws.com", "us-west-2", "logs", None,
         ("https://logs.s3.us-west-2.amazonaws.com", True)),
        ("https://s3-fips.us-east-1.amazonaws.com", "us-east-1", "logs", None,
         ("https://logs.s3-fips.us-east-1.amazonaws.com", True)),
        ("https://s3.cn-north-1.amazonaws.com.cn", "cn-north-1", "logs", None,
         ("https://logs.s3.cn-north-1.amazonaws.com.cn", True)),
        # a dotted name would break TLS as a host: path-style, as botocore does
        ("https://s3.amazonaws.com", "us-east-1", "my.logs", None,
         ("https://s3.us-east-1.amazonaws.com", False)),
        ("https://s3.amazonaws.com", "us-east-1", "logs", "path",
         ("https://s3.us-east-1.amazonaws.com", False)),
        # another endpoint: path-style, unless the config says virtual
        ("http://127.0.0.1:9000", "us-east-1", "logs", None, ("http://127.0.0.1:9000", False)),
        ("https://acct.r2.cloudflarestorage.com", "auto", "logs", None,
         ("https://acct.r2.cloudflarestorage.com", False)),
        ("http://minio.example:9000/", "us-east-1", "logs", "virtual",
         ("http://logs.minio.example:9000", True)),
    ],
)  # fmt: skip
def test_how_a_bucket_is_reached(
    endpoint: str, region: str, bucket: str, style: str | None, expected: tuple[str, bool]
) -> None:
    reach = object_fetch.reach_of(endpoint, region, bucket, style)
    assert (reach.endpoint, reach.virtual_hosted) == expected
    assert reach.region == region


def test_s3_without_obstore_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *rest: None if name == "obstore" else real(name, *rest),
    )
    monkeypatch.setattr(objects, "_FILESYSTEMS", {})
    with pytest.raises(LogstatError) as missing:
        objects.filesystem("s3", "http://127.0.0.1:9")
    assert str(missing.value) == "s3:// needs logstat's s3 extra: pip install 'logstat[s3]'"


FORKED = """
import os, signal, sys
from logstat.reading import objects

def read():
    store = objects.Store("s3")
    listed = store.listing(sys.argv[1], objects.Window())
    store.add(listed)
    try:
        return sum(len(store.open(item).read()) for item in listed)
    finally:
        store.close()

parent = read()
child = os.fork()
if child == 0:
    signal.alarm(60)  # a hung child ends (the test then fails on its status)
    os._exit(0 if read() == parent > 0 else 3)
print(parent, os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]))
"""


def test_a_process_forked_after_a_fetch_still_reads(
    bucket: dict[str, bytes], environment: dict[str, str]
) -> None:
    """obstore's runtime does not survive a fork (a request in the child hangs): a child
    forked after its parent fetched (multiprocessing's default on Linux) uses s3fs."""
    import os
    import subprocess
    import sys

    url = f"s3://fetched/{PREFIX}/2026/12/01/"
    completed = subprocess.run(
        [sys.executable, "-c", FORKED, url],
        capture_output=True,
        text=True,
        timeout=90,
        env={**os.environ, **environment},
    )
    assert completed.returncode == 0, completed.stderr
    read, child = completed.stdout.split()
    assert int(read) == sum(len(data) for key, data in bucket.items() if "/2026/12/01/" in key)
    assert child == "0"


def test_after_a_fork_the_batch_goes_through_s3fs(
    bucket: dict[str, bytes], environment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(object_fetch, "_STARTED_IN", -1)  # obstore ran in another process
    made: list[str] = []
    monkeypatch.setattr(object_fetch, "new_store", lambda fs, name: made.append(name))
    store = _store(dict(list(bucket.items())[:3]), "fetched", environment["AWS_ENDPOINT_URL"])
    try:
        assert [store.open(item).read() for item in store.order] == list(bucket.values())[:3]
    finally:
        store.close()
    assert made == []


def test_obstore_errors_read_as_s3fs_errors() -> None:
    from obstore.exceptions import GenericError, PermissionDeniedError

    unreachable = GenericError(
        "Generic S3 error: Error performing GET http://127.0.0.1:9/b/k in 586.6ms, after 4 "
        "retries, max_retries: 4, retry_timeout: 180s  - HTTP error: error sending request"
        '\n\nDebug source:\nGeneric { store: "S3", source: ... }'
    )
    said = object_fetch.translated(unreachable)
    assert type(said) is OSError
    assert (
        str(said)
        == "Error performing GET http://127.0.0.1:9/b/k - HTTP error: error sending request"
    )
    body = "<Error><Code>{}</Code><Message>{}</Message></Error>"
    refused = object_fetch.translated(
        PermissionDeniedError("403 Forbidden: " + body.format("AccessDenied", "Access Denied"))
    )
    assert isinstance(refused, PermissionError) and str(refused) == "Access Denied"
    slow = object_fetch.translated(GenericError("503: " + body.format("SlowDown", "Slow down")))
    assert str(slow) == (
        "[Errno 5] An error occurred (SlowDown) when calling the GetObject operation: Slow down"
    )


def test_the_accelerate_endpoint_is_left_to_s3fs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """botocore sends each request of an accelerated store to another host, which obstore
    is not given: s3fs fetches those (moto has no accelerate endpoint to read from)."""
    config = tmp_path / "config"
    config.write_text("[default]\ns3 =\n    use_accelerate_endpoint = true\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    assert object_fetch.new_store(None, "bucket") is None


def _private_ca(directory: Path) -> tuple[Path, Path, Path]:
    """A CA of its own and a certificate it signed for 127.0.0.1: (CA, certificate, key)."""
    ca, ca_key = directory / "ca.pem", directory / "ca.key"
    certificate, key = directory / "server.pem", directory / "server.key"
    request = directory / "server.csr"
    extensions = directory / "server.ext"
    extensions.write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
    for command in (
        f"req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=private-ca "
        f"-keyout {ca_key} -out {ca}",
        f"req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout {key} -out {request}",
        f"x509 -req -in {request} -CA {ca} -CAkey {ca_key} -CAcreateserial -days 2 "
        f"-extfile {extensions} -out {certificate}",
    ):
        subprocess.run(["openssl", *command.split()], check=True, capture_output=True)
    return ca, certificate, key


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_a_store_behind_a_private_ca_is_read_with_its_bundle(
    tmp_path: Path, profile_environment: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS_CA_BUNDLE (botocore's) is the bundle obstore trusts too: a store whose
    certificate a private CA signed is read, not refused as of an unknown issuer."""
    import ssl

    ca, certificate, key = _private_ca(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeS3)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("AWS_CA_BUNDLE", str(ca))
    FakeS3.signed.clear()
    wanted = {"logs/a.log": b"", "logs/b.log": b""}
    store = _store(wanted, "eu-bucket", f"https://127.0.0.1:{server.server_address[1]}")
    try:
        assert [store.open(item).read() for item in store.order] == [
            b"/eu-bucket/logs/a.log",
            b"/eu-bucket/logs/b.log",
        ]
        assert FakeS3.signed == [("profile-key", "eu-west-1")] * 2  # both through obstore
    finally:
        store.close()
        server.shutdown()
        server.server_close()
