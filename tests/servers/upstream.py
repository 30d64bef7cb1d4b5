"""A tiny HTTP server on loopback that the proxies under test forward to.

A path with `/slow` sleeps longer than the proxies' read timeout before answering, so
that a proxy gives up (504) or a client hangs up first (nginx 499); a path with
`/status/NNN` answers NNN (the upstream's own 502, which a proxy passes on); a path
with `/close` closes the connection without an answer; anything else answers 200 at once.
"""

from __future__ import annotations

import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from tests.servers.network import LOOPBACK

# longer than every proxy read timeout in the configs (1 s), short enough to keep tests fast
SLOW_SECONDS = 2.5


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if "/close" in self.path:
            self.close_connection = True  # no answer at all: the proxy reads end of file
            return
        if "/slow" in self.path:
            time.sleep(SLOW_SECONDS)
        asked = re.search(r"/status/(\d{3})", self.path)
        status = int(asked.group(1)) if asked else 200
        body = b"from upstream\n"
        try:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the proxy gave up on us already

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep pytest output clean


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # do not wait for sleeping handlers at shutdown


class Upstream:
    """Context manager: an upstream HTTP server on a free loopback port, in a thread."""

    def __init__(self) -> None:
        self._server = _Server((LOOPBACK, 0), _Handler)
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Upstream:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
