"""Small S3 objects fetched through obstore (Rust): a batch is one set of requests,
run concurrently with the GIL released.

s3fs (aiobotocore) signs each request and parses each answer in Python, about 1.3 ms
of CPU an object; obstore does it natively, about 0.34 ms (bench/RESULTS.md).  Only
the fetch of whole small objects moves here: listing, streaming large objects,
`head` and the dataset's writes stay on s3fs, and what obstore needs to match it is
taken from s3fs's own client and botocore:

- credentials from botocore's standard chain (environment, AWS_PROFILE and the shared
  files, SSO, container and instance roles), handed over as obstore's
  `credential_provider`, refreshed as botocore refreshes them;
- the endpoint s3fs's client resolved (`--endpoint-url`, AWS_ENDPOINT_URL and the
  rest), over http when it says so, path-style for a custom endpoint as botocore
  addresses one, virtual-hosted on AWS;
- the bucket's region from a HEAD of the bucket (`x-amz-bucket-region`, as s3fs's
  region cache finds it): botocore follows a wrong region's redirect, obstore would
  fail.
"""

from __future__ import annotations

import asyncio
import errno
import os
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from obstore.store import ClientConfig, S3Credential

# botocore refreshes expiring credentials at least 10 minutes before they expire (its
# mandatory refresh), so a copy taken now is valid for 5 minutes: obstore asks again then
FROZEN_FOR = timedelta(minutes=5)
RETRIES = 4  # botocore's default: 5 attempts in all
REQUEST_TIMEOUT = "120s"  # a whole object of up to 16 MiB (obstore's default is 30 s)

# AWS's S3 hosts as botocore names them: s3[-fips][.dualstack][.<region>].amazonaws.com[.cn]
_AWS_HOST = re.compile(
    r"^(?P<service>s3(?:-fips)?(?:\.dualstack)?)(?:\.[a-z0-9-]+)?\.(?P<domain>amazonaws\.com(?:\.cn)?)$"
)
# a bucket that can be a host name's first label (one with dots breaks TLS: path-style)
_VIRTUAL_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
# an S3 error answer's code and message, as botocore parses them
_ERROR_CODE = re.compile(r"<Code>([^<]*)</Code>")
_ERROR_MESSAGE = re.compile(r"<Message>([^<]*)</Message>")
# obstore's timing and retry settings in an error's first line (the reason without them)
_NOISE = re.compile(
    r" in [0-9.]+[mµn]?s(, after \d+ retries, max_retries: \d+, retry_timeout: \S+)? "
)


@dataclass(frozen=True)
class Reach:
    """Where a bucket's objects are fetched from, as obstore wants it said."""

    endpoint: str
    region: str
    virtual_hosted: bool


class BotocoreCredentials:
    """obstore's credential provider: the credentials botocore's chain found."""

    def __init__(self, credentials: Any) -> None:
        from botocore.credentials import RefreshableCredentials

        self.credentials = credentials
        self.refreshable = isinstance(credentials, RefreshableCredentials)

    def __call__(self) -> S3Credential:
        frozen = self.credentials.get_frozen_credentials()  # refreshed first if due
        return {
            "access_key_id": frozen.access_key,
            "secret_access_key": frozen.secret_key,
            "token": frozen.token,
            "expires_at": datetime.now(UTC) + FROZEN_FOR if self.refreshable else None,
        }


def usable() -> bool:
    """Whether obstore can run here: not in a process forked after it ran in the parent
    (its tokio runtime's threads are not copied by a fork, and a request would hang)."""
    return _STARTED_IN in (None, os.getpid())


def new_store(fs: Any, bucket: str) -> Any:
    """An obstore S3Store for `bucket`, reached as s3fs's filesystem `fs` reaches it; or,
    when botocore finds no credentials, the error each fetch then gives (as s3fs's);
    None for S3's accelerate endpoint, or a CA bundle that cannot be read: s3fs then."""
    global _STARTED_IN
    _STARTED_IN = os.getpid()
    import botocore.session
    from botocore.exceptions import NoCredentialsError
    from obstore.store import S3Store

    session = botocore.session.Session()  # the chain s3fs's session reads: same env and files
    if _accelerated(session):
        return None
    try:
        trusted = _ca_bundle(session)
    except OSError:  # s3fs says what is wrong with it
        return None
    credentials = session.get_credentials()
    if credentials is None:
        return NoCredentialsError()
    style = (session.get_scoped_config().get("s3") or {}).get("addressing_style")
    reach = reach_of(*_client_facts(fs, bucket), bucket, style)
    options: ClientConfig = {
        "allow_http": reach.endpoint.startswith("http://"),
        "timeout": REQUEST_TIMEOUT,
    }
    if trusted is not None:
        options["root_certificate"] = trusted
    return S3Store(
        bucket,
        # said explicitly, so obstore's own reading of the environment (AWS_ENDPOINT,
        # AWS_REGION, AWS_SKIP_SIGNATURE...) cannot make it differ from s3fs
        endpoint=reach.endpoint,
        region=reach.region,
        virtual_hosted_style_request=reach.virtual_hosted,
        skip_signature=False,
        credential_provider=BotocoreCredentials(credentials),
        client_options=options,
        retry_config={"max_retries": RETRIES},
    )


def _accelerated(session: Any) -> bool:
    """Whether botocore sends S3 requests to the accelerate endpoint (another host for
    each bucket, which obstore is not given): such stores are fetched through s3fs."""
    s3 = session.get_scoped_config().get("s3") or {}
    return str(s3.get("use_accelerate_endpoint", "")).lower() == "true"


def _ca_bundle(session: Any) -> bytes | None:
    """The CA bundle botocore verifies TLS with (AWS_CA_BUNDLE, `ca_bundle`: a store
    behind a private CA), as obstore's client option: added to the system's roots, where
    botocore's replaces them."""
    path = session.get_config_variable("ca_bundle")
    if not path:
        return None
    with open(os.path.expanduser(path), "rb") as bundle:
        return bundle.read()


def _client_facts(fs: Any, bucket: str) -> tuple[str, str]:
    """The endpoint s3fs's client uses, and the bucket's region (a HEAD of the bucket
    answers with it, even when refused; else the client's own region)."""
    from fsspec.asyn import sync

    async def facts() -> tuple[str, str]:
        from botocore.exceptions import ClientError

        client = await fs.set_session()
        try:
            response = await client.head_bucket(Bucket=bucket)
        except ClientError as error:
            response = error.response
        except Exception:  # unreachable now: the fetches will say why
            response = {}
        headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        region = headers.get("x-amz-bucket-region") or client.meta.region_name
        if region in (None, "aws-global"):
            region = "us-east-1"
        return str(client.meta.endpoint_url), str(region)

    found: tuple[str, str] = sync(fs.loop, facts)
    return found


def reach_of(endpoint: str, region: str, bucket: str, style: str | None) -> Reach:
    """How obstore reaches `bucket`: virtual-hosted on AWS (as botocore), path-style
    on another endpoint, unless the AWS config's `s3.addressing_style` says otherwise."""
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    aws = _AWS_HOST.match(host)
    virtual = style == "virtual" or (style != "path" and aws is not None)
    virtual = virtual and _VIRTUAL_BUCKET.match(bucket) is not None
    if aws is not None:  # the bucket's region, whichever the client was made for
        host = f"{aws['service']}.{region}.{aws['domain']}"
        endpoint = f"{parts.scheme}://{host}"
    if virtual:
        endpoint = f"{parts.scheme}://{bucket}.{host}" + (f":{parts.port}" if parts.port else "")
    return Reach(endpoint.rstrip("/"), region, virtual)


def fetchable(key: str) -> bool:
    """Whether obstore can name the key: its paths have no empty, `.` or `..` segments
    (S3 keys may; s3fs fetches those)."""
    return all(part not in ("", ".", "..") for part in key.split("/"))


def fetch(requests: list[tuple[Any, str]]) -> list[bytes | BaseException]:
    """The whole objects (store, key) asks for (`fetchable` keys), fetched concurrently
    on this thread's event loop; each result its bytes or its error (as s3fs would
    raise it)."""
    found: list[bytes | BaseException] = _loop().run_until_complete(_gather(requests))
    return found


async def _gather(requests: list[tuple[Any, str]]) -> list[bytes | BaseException]:
    return await asyncio.gather(
        *(_get(store, key) for store, key in requests), return_exceptions=True
    )


async def _get(store: Any, key: str) -> bytes:
    import obstore

    if isinstance(store, BaseException):
        raise store
    try:
        result = await obstore.get_async(store, key)
        return bytes(await result.bytes_async())
    except Exception as error:
        raise translated(error) from error


def translated(error: Exception) -> Exception:
    """An obstore error as s3fs raises its botocore twin: FileNotFoundError for a
    missing key, PermissionError for a refusal, S3's own message for others."""
    from obstore.exceptions import NotFoundError, PermissionDeniedError, UnauthenticatedError

    text = str(error)
    message = _ERROR_MESSAGE.search(text)
    code = _ERROR_CODE.search(text)
    reason = message[1] if message else (text.splitlines()[0] if text else type(error).__name__)
    if isinstance(error, FileNotFoundError | NotFoundError) or (code and code[1] == "NoSuchKey"):
        return FileNotFoundError(errno.ENOENT, reason)
    if isinstance(error, PermissionDeniedError | UnauthenticatedError | PermissionError) or (
        code and code[1] == "AccessDenied"
    ):
        return PermissionError(reason)
    if code is not None:  # botocore's words for an error s3fs does not translate
        return OSError(
            errno.EIO,
            f"An error occurred ({code[1]}) when calling the GetObject operation: {reason}",
        )
    return OSError(_NOISE.sub("", reason).removeprefix("Generic S3 error: "))


_STARTED_IN: int | None = None  # the process that first used obstore
_THREAD = threading.local()


class _Loop:
    """An event loop for one fetch thread, closed when the thread ends."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def __del__(self) -> None:
        self.loop.close()


def _loop() -> asyncio.AbstractEventLoop:
    held: _Loop | None = getattr(_THREAD, "held", None)
    if held is None:
        held = _THREAD.held = _Loop()
    return held.loop
