"""A private NATS server with JetStream for tests that stop and restart it: its own free loopback port and
its own store directory (``-js -sd``), never the shared server on 4222 that other tests use."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

NATS_SERVER = "/usr/sbin/nats-server"  # Debian's nats-server package
START_TIMEOUT_S = 10.0  # a fresh server (JetStream recovering its store) answers within this


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True


class NatsServer:
    """``nats-server -a 127.0.0.1 -p PORT -js -sd STORE``: :meth:`start`, :meth:`kill` (SIGKILL, as a crash),
    and :meth:`start` again on the same port and store directory (streams and consumers survive)."""

    def __init__(self, store_dir: Path, binary: str) -> None:
        self.store_dir, self.binary = store_dir, binary
        self.port = free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self.log = store_dir.parent / f"nats-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        assert self.proc is None, "already running"
        args = [self.binary, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store_dir),
                "-l", str(self.log)]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self.starts += 1
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _listening(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"nats-server did not start on port {self.port}: see {self.log}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: the server dies as in a crash (no goodbye to clients, nothing flushed)."""
        assert self.proc is not None, "not running"
        self.proc.kill()
        self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
            self.proc = None


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A private, started NATS server; stopped after the test whatever happened."""
    binary = shutil.which("nats-server") or (NATS_SERVER if Path(NATS_SERVER).exists() else None)
    if binary is None:
        pytest.skip("nats-server is not installed (Debian package nats-server; .ci/run installs it)")
    store_dir = tmp_path / "jetstream"
    store_dir.mkdir()
    server = NatsServer(store_dir, binary)
    server.start()
    try:
        yield server
    finally:
        server.stop()
