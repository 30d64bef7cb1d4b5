"""HAProxy under test: its config, its two access logs, and the requests it gets with
what it logs, down to the termination state.

HAProxy logs through syslog, or to stdout/stderr; it writes no file itself.  Its
`option httplog` lines go to stdout, which the start command redirects to
haproxy-httplog.log (raw lines, as containers log them), and to a unix datagram
socket that a thread here appends to haproxy-syslog.log (each line behind the
RFC 3164 header HAProxy writes: `<134>Dec  7 02:54:00 haproxy[1234]: `).
"""

from __future__ import annotations

import contextlib
import shlex
import signal
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

from tests.servers import client, process, site
from tests.servers.client import Probe, request
from tests.servers.network import LOOPBACK

LOGS = (
    site.AccessLog("haproxy-httplog.log", "raw", None, "haproxy httplog"),
    site.AccessLog("haproxy-syslog.log", "rfc3164", None, "haproxy httplog"),
)
RAW_LOG, SYSLOG_LOG = LOGS
SOCKET_NAME = "log.sock"

CONFIG = """\
global
    log stdout format raw local0
    log {directory}/{socket} local0
defaults
    mode http
    log global
    option httplog
    # connections that send nothing are not logged: the harness's own check that
    # HAProxy listens would be a 400 otherwise
    option http-ignore-probes
    timeout connect 1s
    timeout client 1s
    timeout server 1s
    timeout http-request 1s
    timeout tarpit 1s
frontend web
    bind {loopback}:{port}
    http-request deny if {{ path /deny }}
    http-request redirect location /index.html if {{ path /old }}
    http-request return status 200 content-type text/plain string ok if {{ path /health }}
    http-request tarpit if {{ path /tarpit }}
    use_backend dead if {{ path_beg /dead/ }}
    default_backend live
backend live
    server app {loopback}:{upstream_port}
backend dead
    retries 0
    server gone {loopback}:{dead_port}
"""


class SyslogReceiver:
    """A unix datagram socket HAProxy logs to, each message appended to a file as it comes."""

    def __init__(self, path: Path, log: Path) -> None:
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.bind(str(path))
        self._socket.settimeout(0.1)
        self._log = log
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        with self._log.open("ab") as output:
            while not self._stopped.is_set():
                try:
                    message = self._socket.recv(65536)
                except TimeoutError:
                    continue
                output.write(message if message.endswith(b"\n") else message + b"\n")
                output.flush()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)
        self._socket.close()


@dataclass
class HAProxyServer(process.Server):
    """HAProxy, and the receiver of its syslog messages (stopped after HAProxy)."""

    receiver: SyslogReceiver | None = None

    def stop(self) -> None:
        try:
            super().stop()
        finally:
            if self.receiver is not None:
                self.receiver.stop()


def start(
    directory: Path, docroot: Path, port: int, upstream_port: int, dead_port: int
) -> process.Server:
    binary = process.require_binary("haproxy")
    conf = directory / "haproxy.cfg"
    conf.write_text(
        CONFIG.format(
            directory=directory,
            socket=SOCKET_NAME,
            loopback=LOOPBACK,
            port=port,
            upstream_port=upstream_port,
            dead_port=dead_port,
        )
    )
    pid_file = directory / "haproxy.pid"
    with contextlib.suppress(FileNotFoundError):
        (directory / SOCKET_NAME).unlink()  # left by an attempt on a port taken meanwhile
    receiver = SyslogReceiver(directory / SOCKET_NAME, directory / SYSLOG_LOG.file_name)
    # -db: the foreground, where HAProxy writes no pid file; the shell writes its own pid,
    # which HAProxy keeps (exec), and sends stdout (the raw log) to the access log.
    # TZ=UTC: %tr is local time without an offset, which logstat reads as UTC
    command = (
        f"echo $$ > {shlex.quote(str(pid_file))}; TZ=UTC exec {shlex.quote(binary)} -db "
        f"-f {shlex.quote(str(conf))} >> {shlex.quote(str(directory / RAW_LOG.file_name))}"
    )
    try:
        server = process.start(
            "haproxy",
            ["sh", "-c", command],
            port=port,
            directory=directory,
            # SIGUSR1: soft stop, sessions in flight finish and are logged
            stop_signal=signal.SIGUSR1,
            error_log=directory / "server-output.txt",
            pid_file=pid_file,
        )
    except BaseException:
        receiver.stop()
        raise
    return HAProxyServer(**vars(server), receiver=receiver)


# What HAProxy logs as the termination state for each probe (8.5 of its manual).
TERMINATION = {
    "proxied": "----",
    "server's own 404": "----",
    "server's own 502": "----",
    "server's own 503": "----",
    "dead server": "SC--",
    "server too slow": "sH--",
    "server closes without answering": "SH--",
    "denied": "PR--",
    "redirect": "LR--",
    "http-request return": "LR--",
    "tarpit": "PT--",
    "garbage request line": "PR--",
    "partial header": "cR--",
    "client hangs up on slow server": "sH--",
    "TLS on the plain port": "PR--",
}


def probes() -> list[Probe]:
    """The requests HAProxy gets, each with what the client sees and what HAProxy logs."""
    return [
        *[Probe("proxied", request("GET", "/app/ok"), 200, 200, produced_by="upstream")] * 3,
        Probe(
            "server's own 404", request("GET", "/app/status/404"), 404, 404, produced_by="upstream"
        ),
        Probe(
            "server's own 502", request("GET", "/app/status/502"), 502, 502, produced_by="upstream"
        ),
        Probe(
            "server's own 503", request("GET", "/app/status/503"), 503, 503, produced_by="upstream"
        ),
        Probe("dead server", request("GET", "/dead/x"), 503, 503),
        Probe("server too slow", request("GET", "/app/slow"), 504, 504, waits_for_timeout=True),
        Probe("server closes without answering", request("GET", "/app/close"), 502, 502),
        Probe("denied", request("GET", "/deny"), 403, 403),
        Probe("redirect", request("GET", "/old"), 302, 302),
        Probe("http-request return", request("GET", "/health"), 200, 200),
        Probe("tarpit", request("GET", "/tarpit"), 500, 500, waits_for_timeout=True),
        Probe("garbage request line", b"HELLO\r\n\r\n", 400, 400),
        Probe(
            "partial header",
            b"GET / HTTP/1.1\r\nHost: localhost\r\n",
            408,
            408,
            waits_for_timeout=True,
        ),
        # option http-ignore-probes: not logged (a 400 `CR--` without it)
        Probe("connect and close", b"", None, None, hang_up_after=0.2),
        # without `option abortonclose` HAProxy waits for the server all the same
        Probe(
            "client hangs up on slow server",
            request("GET", "/app/slow-hangup"),
            504,
            None,
            hang_up_after=0.3,
            waits_for_timeout=True,
        ),
        Probe("TLS on the plain port", client.tls_client_hello(), 400, 400),
    ]
