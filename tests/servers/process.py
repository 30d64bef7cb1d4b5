"""Start a real server binary in the foreground and stop it, always, with bounded waits."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers.network import wait_until_serving

STARTUP_SECONDS = 10.0
STOP_SECONDS = 5.0


def require_binary(name: str) -> str:
    """The server binary's path; skip when it is missing, but fail in CI, where it must be."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin:/sbin")
    if found:
        return found
    message = f"{name} is not installed (apt-get install {name})"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must run the real-server tests, see .ci/run", pytrace=False)
    pytest.skip(message)


class StartupError(RuntimeError):
    """The server exited or did not listen in time; the message has its own output."""

    @property
    def port_taken(self) -> bool:
        # the free port was taken between choosing it and the server binding it
        return "Address already in use" in str(self)


@dataclass
class Server:
    """A running server process and where its files live."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    directory: Path
    stop_signal: signal.Signals
    error_log: Path

    def diagnostics(self) -> str:
        """The server's own output and error log, to explain a failure."""
        parts = []
        for path in (self.directory / "server-output.txt", self.error_log):
            if path.exists():
                text = path.read_text(errors="replace")[-4000:]
                parts.append(f"--- {path.name} ---\n{text}")
        return "\n".join(parts)

    def stop(self) -> None:
        """Ask the server to stop; kill its process group when it does not within STOP_SECONDS."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(self.stop_signal)
        try:
            self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            # the group holds only this server and its workers: it was started in a new session
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=STOP_SECONDS)


def start(
    name: str,
    command: Sequence[str],
    *,
    port: int,
    directory: Path,
    stop_signal: signal.Signals,
    error_log: Path,
    pid_file: Path,
) -> Server:
    """Run `command` in `directory` and wait until it listens on `port` (or fail, stopped)."""
    with (directory / "server-output.txt").open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=directory,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(name, process, port, directory, stop_signal, error_log)
    try:
        wait_until_serving(port, process, pid_file, STARTUP_SECONDS)
    except BaseException as error:
        server.stop()
        if isinstance(error, RuntimeError):
            raise StartupError(f"{name} did not start: {error}\n{server.diagnostics()}") from None
        raise
    return server
