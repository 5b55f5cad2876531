"""``iotwarden serve`` starts the console on loopback over an existing store; a user logs in over HTTP and
watches a capture folder being ingested live."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from iotwarden.api import accounts
from iotwarden.cli.serve import SHUTDOWN_GRACE_S
from iotwarden.store import Store
from iotwarden.store.alert_models import AlertRow, FindingRow
from tests.api.conftest import DEMO

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


def test_serve_capture_streams_live_updates_and_stops_with_a_console_open(tmp_path: Path) -> None:
    """A console's event stream sees the ingestion of a capture dropped in the watched folder (the
    capture, the devices, each new alert, the findings); stopping the server does not wait for the
    stream, which never ends by itself."""
    db = f"sqlite:///{tmp_path / 's.db'}"
    with Store(db) as store, store.transaction() as session:
        accounts.create_user(session, "admin", "serve test passphrase", "admin")
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", LAUNCH, "serve", "--port", str(port), "--db", db,
                             "--capture", str(incoming)], stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    events: list[tuple[str, dict[str, object]]] = []
    try:
        for _ in range(200):
            try:
                httpx.get(f"{base}/login", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        with httpx.Client(base_url=base, timeout=httpx.Timeout(5, read=60)) as c:
            c.post("/api/v1/auth/login", json={"username": "admin", "password": "serve test passphrase"})
            with c.stream("GET", "/api/v1/events") as stream:
                shutil.copy(DEMO, incoming / "demo.pcap")
                topic = ""
                for line in stream.iter_lines():
                    if line.startswith("event: "):
                        topic = line[7:]
                    elif line.startswith("data: "):
                        events.append((topic, json.loads(line[6:])))
                        if topic == "finding.created":  # the last event of an analysed file
                            break
                stopped = time.monotonic()
                proc.terminate()  # the stream is still open
                proc.wait(timeout=SHUTDOWN_GRACE_S + 10)
        assert time.monotonic() - stopped < SHUTDOWN_GRACE_S + 5
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=20)
    topics = [t for t, _ in events]
    assert topics[:2] == ["capture.finished", "inventory.devices"]
    assert events[0][1]["path"] == str(incoming / "demo.pcap") and events[0][1]["status"] == "complete"
    with Store(db) as store, store.session() as session:
        alerts = list(session.scalars(select(AlertRow.id).where(AlertRow.suppressed.is_(False))))
        findings = int(session.scalar(select(func.count()).select_from(FindingRow)) or 0)
    assert sorted(d["id"] for t, d in events if t == "alert.created") == sorted(alerts) and alerts
    assert events[-1] == ("finding.created", {"count": findings})


def test_an_address_in_use_is_one_error_line_not_uvicorns_exit(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    from iotwarden.cli.main import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port), "--db", str(tmp_path / "s.db")]) == 2
    err = capsys.readouterr().err
    assert f"error: cannot listen on 127.0.0.1:{port}: Address already in use" in err
