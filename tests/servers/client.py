"""Send one request on its own loopback connection, the way a probe says, and see the answer."""

from __future__ import annotations

import contextlib
import re
import socket
import ssl
import time
from dataclasses import dataclass

from tests.servers.network import LOOPBACK

ANSWER_SECONDS = 5.0  # every probe is answered or closed well within this
_STATUS_LINE = re.compile(rb"^HTTP/\d\.\d (\d{3})")


@dataclass(frozen=True)
class Probe:
    """One request, what the client should see, and what the server should log for it.

    `logged` is the status the server writes to its access log; `answered` is
    the status line the client receives (None: the connection closes with no
    answer, as for nginx 444/408 or a client that hangs up first).
    """

    name: str
    payload: bytes
    logged: int | None  # None: the server writes no access-log line
    answered: int | None
    hang_up_after: float | None = None  # close our side after this many seconds (nginx 499)
    upstream_status: int | None = None  # nginx $upstream_status: the last attempt's
    upstream_list: str | None = None  # every attempt as nginx logs it ("502, 200"), if several
    produced_by: str = "proxy"  # who really produced the status: proxy (the server) / upstream
    waits_for_timeout: bool = False  # the logged duration spans one of the server's 1 s timeouts


def request(
    method: str, target: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    """A well-formed HTTP/1.1 request that asks the server to close the connection after it."""
    lines = [f"{method} {target} HTTP/1.1", "Host: localhost", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def tls_client_hello() -> bytes:
    """A real TLS ClientHello, made in memory: what a browser sends to https:// on a plain port."""
    context = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    connection = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
    with contextlib.suppress(ssl.SSLWantReadError):  # it waits for the server's answer
        connection.do_handshake()
    return outgoing.read()


def send(port: int, probe: Probe) -> int | None:
    """Play the probe against the server; the status line's code, or None when none came."""
    with socket.create_connection((LOOPBACK, port), timeout=ANSWER_SECONDS) as connection:
        connection.sendall(probe.payload)
        if probe.hang_up_after is not None:
            time.sleep(probe.hang_up_after)
            return None
        received = b""
        try:
            while chunk := connection.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass  # a server closing with unread input resets the connection; keep what came
    found = _STATUS_LINE.match(received)
    return int(found.group(1)) if found else None
