"""Loopback ports for the servers under test: free ones, closed ones, and waiting for a listener."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A port nothing listens on right now (the kernel picks it; a tiny race is accepted)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


def is_listening(port: int) -> bool:
    """Whether a connect to the port succeeds (the connection is closed before anything is sent)."""
    try:
        with socket.create_connection((LOOPBACK, port), timeout=0.2):
            return True
    except OSError:
        return False


def wait_until_serving(
    port: int, process: subprocess.Popen[bytes], pid_file: Path, seconds: float
) -> None:
    """Return once the process has written its pid file and `port` accepts connections.

    A connect alone would also succeed if another program held the port; both
    servers write their pid file only after binding their listeners.
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with code {process.returncode} before listening")
        if _holds_pid(pid_file, process.pid) and is_listening(port):
            return
        time.sleep(0.05)
    raise RuntimeError(f"not serving on {LOOPBACK}:{port} after {seconds:g} s")


def _holds_pid(pid_file: Path, pid: int) -> bool:
    try:
        return pid_file.read_text().strip() == str(pid)
    except OSError:
        return False


@contextlib.contextmanager
def serving(
    command: Sequence[str], port: int, seconds: float, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server that writes no pid file (the emulators) until it listens on `port`;
    stop it on leaving, killed if it lingers (Azurite waits for idle keep-alive connections)."""
    name = Path(command[0]).name
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    try:
        deadline = time.monotonic() + seconds
        while not is_listening(port):
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with code {process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} not serving after {seconds:g} s")
            time.sleep(0.05)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
