"""``iotwarden serve`` starts the console on loopback over an existing store; a user logs in over HTTP."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from iotwarden.api import accounts
from iotwarden.store import Store

LAUNCH = "import sys, iotwarden.cli.serve; from iotwarden.cli.main import main; sys.exit(main(sys.argv[1:]))"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_on_loopback_and_needs_a_login(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    with Store(db) as store, store.transaction() as session:
        accounts.create_user(session, "admin", "serve test passphrase", "admin")
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", LAUNCH, "serve", "--port", str(port), "--db", db,
                             "--capture", str(incoming)], stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                httpx.get(f"{base}/login", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        with httpx.Client(base_url=base) as c:
            assert c.get("/api/v1/devices").status_code == 401
            assert c.post("/api/v1/auth/login", json={"username": "admin",
                                                      "password": "serve test passphrase"}).status_code == 200
            sources = c.get("/api/v1/sources").json()
        assert sources[0]["kind"] == "folder" and sources[0]["state"] == "running"
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert f"http://127.0.0.1:{port}/" in err
