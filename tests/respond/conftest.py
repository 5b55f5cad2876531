"""Response fixtures: a migrated store with an IoT camera and an OT PLC, a Mirai-scan alert, a device CA,
and a webhook receiver listening on 127.0.0.1 that records what it is sent."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from iotwarden.detect.pipeline import alert_uid
from iotwarden.identity.ca import DeviceCA
from iotwarden.model.alert import Alert
from iotwarden.store import Store
from iotwarden.store.identity_models import SqlIdentityRepository
from iotwarden.store.schema import DeviceRow

CAMERA_KEY, CAMERA_MAC, CAMERA_IP = "mac:44:47:cc:2b:10:03", "44:47:cc:2b:10:03", "10.10.20.102"
PLC_KEY, PLC_MAC, PLC_IP = "mac:00:1b:1b:00:00:01", "00:1b:1b:00:00:01", "10.10.30.20"
PASSPHRASE = "correct horse battery staple"


def _device(key: str, mac: str, ip: str, *, category: str, device_type: str, vendor: str) -> DeviceRow:
    return DeviceRow(key=key, mac=mac, first_seen=1709542800.0, last_seen=1709543000.0, ips=[ip], hostnames=[],
                     attributes={}, protocols=[], packets=10, bytes=1000, vendor=vendor, vendor_confidence=0.9,
                     device_type=device_type, device_type_confidence=0.9, category=category,
                     category_confidence=0.9, classification={})


def seeded_store(path: Path) -> Store:
    """A migrated store at ``path`` whose inventory holds the camera and the PLC."""
    st = Store(f"sqlite:///{path}")
    with st.transaction() as session:
        session.add(_device(CAMERA_KEY, CAMERA_MAC, CAMERA_IP, category="iot", device_type="camera",
                            vendor="Hikvision"))
        session.add(_device(PLC_KEY, PLC_MAC, PLC_IP, category="ot", device_type="plc", vendor="Siemens"))
    return st


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with seeded_store(tmp_path / "iotwarden.db") as st:
        yield st


def mirai_alert(subject: str = CAMERA_KEY, src_ip: str = CAMERA_IP) -> Alert:
    """What detect.scan raises for a Mirai-style Telnet scan (as the pipeline hands it on: with a uid)."""
    alert = Alert(id="detect.scan.telnet_mirai", title=f"Mirai-style Telnet scan from {src_ip}", severity="high",
                  subject=subject, key="23/2323", src_ip=src_ip, mitre=["T1046", "T1110"], evidence={"hosts": 12},
                  first_seen=1709542864.25, last_seen=1709542890.5, count=3)
    alert.uid = alert_uid(alert)
    return alert


@pytest.fixture
def ca(tmp_path: Path, store: Store) -> DeviceCA:
    return DeviceCA.init(tmp_path / "ca", PASSPHRASE, SqlIdentityRepository(store))


@dataclass
class Receiver:
    """A webhook endpoint: ``statuses`` are answered in turn (then 200); ``received`` holds the bodies."""

    url: str
    statuses: list[int] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)  # as sent, for signature checks


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            rec.received.append(json.loads(body))
            rec.bodies.append(body)
            rec.headers.append(dict(self.headers))
            status = rec.statuses.pop(0) if rec.statuses else 200
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b'{"ok": true}' if status == 200 else b"no")

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rec.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield rec
    server.shutdown()
    server.server_close()
