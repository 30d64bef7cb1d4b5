"""Run one server through its probes: start it, send each, wait for the log lines, stop it."""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers import client, network, site
from tests.servers.client import Probe
from tests.servers.process import Server, StartupError
from tests.servers.upstream import Upstream

START_ATTEMPTS = 3
FLUSH_SECONDS = 10.0  # the last lines come after the servers' 1 s timeouts

Start = Callable[[Path, Path, int, int, int], Server]  # directory, docroot, port, upstream, dead


@dataclass
class Run:
    """What one server was sent, what the client saw, and where its logs are."""

    directory: Path
    logs: Sequence[site.AccessLog]
    probes: list[Probe]
    answers: list[int | None]
    diagnostics: str

    def expected_statuses(self) -> Counter[int]:
        """Every access log gets one line per logged probe, with the probe's status."""
        return Counter(probe.logged for probe in self.probes if probe.logged is not None)


@contextlib.contextmanager
def public_docroot() -> Iterator[Path]:
    """The static site, in a directory every user may read.

    pytest's tmp dirs are private to their owner (0700); httpd, started as root,
    serves from children that run as `nobody`, and they must read the files.
    """
    with tempfile.TemporaryDirectory(prefix="logstat-docroot-") as name:
        docroot = Path(name)
        docroot.chmod(0o755)
        site.make_docroot(docroot)
        yield docroot


def exercise(
    start: Start, logs: Sequence[site.AccessLog], probes: list[Probe], directory: Path
) -> Run:
    """Start the server in `directory`, play the probes one by one, and stop it, always."""
    with public_docroot() as docroot, Upstream() as upstream:
        server = start_on_free_ports(start, directory, docroot, upstream.port)
        try:
            answers = [client.send(server.port, probe) for probe in probes]
            run = Run(directory, logs, probes, answers, "")
            wait_for_lines(run)
        finally:
            server.stop()
        run.diagnostics = server.diagnostics()
    return run


def start_on_free_ports(start: Start, directory: Path, docroot: Path, upstream_port: int) -> Server:
    """Start the server on a free port, choosing again if another process took it first."""
    attempt = 1
    while True:
        dead_port = network.free_port()  # nothing listens there: the proxies' dead upstream
        try:
            return start(directory, docroot, network.free_port(), upstream_port, dead_port)
        except StartupError as error:
            if not error.port_taken or attempt == START_ATTEMPTS:
                pytest.fail(str(error), pytrace=False)
            attempt += 1


def wait_for_lines(run: Run) -> None:
    """Poll until every access log has a line per logged probe (or FLUSH_SECONDS pass).

    Both servers write a line when a request ends, but some end only at a timeout.
    Too few lines after the wait is left for the tests to report, with the logs.
    """
    wanted = sum(1 for probe in run.probes if probe.logged is not None)
    deadline = time.monotonic() + FLUSH_SECONDS
    while time.monotonic() < deadline:
        if all(log.lines(run.directory) >= wanted for log in run.logs):
            return
        time.sleep(0.05)
