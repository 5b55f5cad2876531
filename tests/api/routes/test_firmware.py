"""/api/v1/firmware: releases uploaded as SUIT envelopes, campaigns staged behind health gates, golden
hashes, and the reference device client checking in over HTTP with an ``ota:checkin`` token."""

from __future__ import annotations

import base64
import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from iotwarden.api import accounts, create_app
from iotwarden.firmware.ota.client import DeviceClient
from iotwarden.firmware.ota.service import Offer
from iotwarden.firmware.signing import keys
from iotwarden.firmware.signing.cose import PrivateKey
from iotwarden.firmware.signing.signer import sign_image
from iotwarden.store import Store
from iotwarden.store.auth_models import AuditRow, UserRow
from tests.api.conftest import login

VENDOR, MODEL = "acme.example", "cam-2000"
V1 = b"\x7fELF cam-2000 firmware 1.0 " * 512
V2 = b"\x7fELF cam-2000 firmware 2.0 " * 512
DEVICES = [f"mac:02:00:00:00:01:{i:02x}" for i in range(10)]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """Firmware images served over HTTP on 127.0.0.1 (what a release URI points at)."""
    www = tmp_path / "www"
    www.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, directory=str(www), **kw)

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield www, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def signing_key() -> PrivateKey:
    return keys.generate("ed25519")


@pytest.fixture
def ota_client(store: Store, signing_key: PrivateKey) -> Iterator[TestClient]:
    """The app with an OTA signing key, so rollback works over the API."""
    with TestClient(create_app(store, ota_signing_key=signing_key), base_url="http://127.0.0.1") as c:
        yield c


def token(store: Store, username: str, scopes: list[str]) -> str:
    with store.transaction() as session:
        user = session.scalars(select(UserRow).where(UserRow.username == username)).one()
        _row, value = accounts.create_token(session, user, name=f"{username}-{'-'.join(scopes)}", scopes=scopes,
                                            expires_in_s=3600)
    return value


def upload(client: TestClient, www: Path, base: str, key: PrivateKey, image: bytes, version: str,  # noqa: PLR0917
           seq: int) -> Any:
    name = f"{MODEL}-{version}-{seq}.bin"
    (www / name).write_bytes(image)
    envelope = sign_image(image, key, vendor_domain=VENDOR, model=MODEL, version=version, sequence=seq,
                          uri=f"{base}/{name}")
    return client.post("/api/v1/firmware/releases", data={"uri": f"{base}/{name}"},
                       files={"envelope": ("release.suit", envelope, "application/cbor")})


class HttpDevice:
    """The reference client (firmware/ota/client.py) speaking to the API with a device token."""

    def __init__(self, api: TestClient, device_token: str, client: DeviceClient) -> None:
        self.api, self.client = api, client
        self.auth = {"Authorization": f"Bearer {device_token}"}

    def report(self, device_key: str, event: str, **fields: Any) -> object:
        body = {"device": device_key, "event": event, **{k: v for k, v in fields.items() if v is not None}}
        response = self.api.post("/api/v1/firmware/device/checkin", json=body, headers=self.auth)
        assert response.status_code == 200, response.text
        return response.json()

    def poll(self) -> bool | None:
        """Ask for an update and apply it; None when nothing was offered."""
        response = self.api.post("/api/v1/firmware/device/offer", json={"device": self.client.device_key},
                                 headers=self.auth)
        if response.status_code == 204:
            return None
        assert response.status_code == 200, response.text
        o = response.json()
        offer = Offer(o["campaign"], o["release_id"], o["version"], o["sequence"], o["uri"],
                      base64.b64decode(o["envelope"]), o["revert"])
        return self.client.apply(offer, self.report)


def fleet(api: TestClient, store: Store, key: PrivateKey) -> list[HttpDevice]:
    trusted = keys.TrustedKeys([key.public_key()])
    device_token = token(store, "admin", ["ota:checkin"])
    out = []
    for dk in DEVICES:
        enrolled = api.put("/api/v1/firmware/devices", json={"device": dk, "model": MODEL, "version": "1.0"})
        assert enrolled.status_code == 200
        out.append(HttpDevice(api, device_token, DeviceClient(dk, VENDOR, MODEL, trusted, "1.0", 1, V1)))
    return out


def test_a_staged_rollout_with_devices_checking_in_over_http(
        ota_client: TestClient, store: Store, served: tuple[Path, str], signing_key: PrivateKey) -> None:
    login(ota_client, "analyst")
    www, base = served
    v1 = upload(ota_client, www, base, signing_key, V1, "1.0", 1)
    v2 = upload(ota_client, www, base, signing_key, V2, "2.0", 2)
    assert v1.status_code == v2.status_code == 201, v2.text
    assert v2.json()["sha256"] == hashlib.sha256(V2).hexdigest()
    devices = fleet(ota_client, store, signing_key)
    made = ota_client.post("/api/v1/firmware/campaigns",
                           json={"name": "c1", "release_id": v2.json()["id"], "stages": [10, 50, 100]})
    assert made.status_code == 201 and made.json()["state"] == "draft" and made.json()["targets"] == 10
    assert ota_client.post("/api/v1/firmware/campaigns/c1/start", json={}).json()["stage"] == 0

    offered_per_stage = []
    for expected_stage in (1, 2):
        offered_per_stage.append(sum(1 for d in devices if d.poll() is not None))
        status = ota_client.post("/api/v1/firmware/campaigns/c1/advance", json={}).json()
        assert status["state"] == "running" and status["stage"] == expected_stage, status
    offered_per_stage.append(sum(1 for d in devices if d.poll() is not None))
    done = ota_client.post("/api/v1/firmware/campaigns/c1/advance", json={}).json()

    assert offered_per_stage == [1, 4, 5]  # 10 %, then up to 50 %, then the rest
    assert done["state"] == "completed" and done["counts"] == {"healthy": 10}
    assert all(d.client.version == "2.0" and d.client.image == V2 for d in devices)
    assert all(d.poll() is None for d in devices)  # nothing more to install
    shown = ota_client.get("/api/v1/firmware/campaigns/c1").json()
    assert shown == done
    assert [c["name"] for c in ota_client.get("/api/v1/firmware/campaigns").json()] == ["c1"]
    golden = ota_client.get("/api/v1/firmware/verify-hash",
                            params={"model": MODEL, "version": "2.0", "sha256": hashlib.sha256(V2).hexdigest()})
    assert golden.json()["status"] == "match"


def test_a_bad_release_pauses_the_rollout_and_is_rolled_back_over_the_api(
        ota_client: TestClient, store: Store, served: tuple[Path, str], signing_key: PrivateKey) -> None:
    login(ota_client, "analyst")
    www, base = served
    upload(ota_client, www, base, signing_key, V1, "1.0", 1)
    bad = upload(ota_client, www, base, signing_key, V2, "2.0", 2).json()
    devices = fleet(ota_client, store, signing_key)
    for d in devices:
        d.client.health_check = lambda image: image != V2  # 2.0 does not boot
    ota_client.post("/api/v1/firmware/campaigns", json={"name": "c1", "release_id": bad["id"],
                                                        "stages": [20, 100]})
    ota_client.post("/api/v1/firmware/campaigns/c1/start", json={})
    assert [d.poll() for d in devices].count(False) == 2
    paused = ota_client.post("/api/v1/firmware/campaigns/c1/advance", json={}).json()
    assert paused["state"] == "paused" and "health gate closed" in paused["reason"]
    rolled = ota_client.post("/api/v1/firmware/campaigns/c1/rollback", json={}).json()
    assert rolled["state"] == "rolled_back"
    assert [d.poll() for d in devices].count(True) == 2  # the two tried devices get 1.0 re-signed, seq 3
    assert all(d.client.version == "1.0" and d.client.image == V1 for d in devices)
    assert {d.client.sequence for d in devices} == {1, 3}
    releases = ota_client.get("/api/v1/firmware/releases", params={"model": MODEL}).json()
    assert [(r["version"], r["sequence"]) for r in releases] == [("1.0", 3), ("2.0", 2), ("1.0", 1)]


def test_rollback_needs_a_signing_key_on_the_server(as_analyst: TestClient, store: Store,
                                                    served: tuple[Path, str], signing_key: PrivateKey) -> None:
    www, base = served
    rel = upload(as_analyst, www, base, signing_key, V2, "2.0", 2).json()
    fleet(as_analyst, store, signing_key)
    as_analyst.post("/api/v1/firmware/campaigns", json={"name": "c1", "release_id": rel["id"]})
    as_analyst.post("/api/v1/firmware/campaigns/c1/start", json={})
    refused = as_analyst.post("/api/v1/firmware/campaigns/c1/rollback", json={})
    assert refused.status_code == 409 and "--key" in refused.json()["detail"]


def test_the_checkin_scope_is_all_a_device_token_can_do(client: TestClient, store: Store) -> None:
    device = {"Authorization": f"Bearer {token(store, 'admin', ['ota:checkin'])}"}
    reader = {"Authorization": f"Bearer {token(store, 'admin', ['read', 'write'])}"}
    assert client.get("/api/v1/devices", headers=device).status_code == 403
    assert client.get("/api/v1/firmware/releases", headers=device).status_code == 403
    assert client.post("/api/v1/firmware/device/offer", json={"device": DEVICES[0]}, headers=reader).status_code == 403
    assert client.post("/api/v1/firmware/device/offer", json={"device": DEVICES[0]}, headers=device).status_code == 204
    unknown = client.post("/api/v1/firmware/device/checkin", json={"device": DEVICES[0], "event": "healthy"},
                          headers=device)
    assert unknown.status_code == 422 and "not under firmware management" in unknown.json()["detail"]
    with store.transaction() as session:  # an analyst's role does not include the scope
        analyst = session.scalars(select(UserRow).where(UserRow.username == "analyst")).one()
        with pytest.raises(Exception, match="scopes must be"):
            accounts.create_token(session, analyst, name="x", scopes=["ota:checkin"], expires_in_s=None)


def test_golden_hashes_list_add_and_verify(as_analyst: TestClient) -> None:
    digest = hashlib.sha256(V1).hexdigest()
    body = {"model": MODEL, "version": "1.0", "sha256": digest.upper(), "source": "vendor portal"}
    assert as_analyst.post("/api/v1/firmware/golden", json=body).json()["added"] is True
    assert as_analyst.post("/api/v1/firmware/golden", json=body).json()["added"] is False
    listed = as_analyst.get("/api/v1/firmware/golden", params={"model": MODEL}).json()
    assert [(g["version"], g["sha256"], g["source"]) for g in listed] == [("1.0", digest, "vendor portal")]
    check = {"model": MODEL, "version": "1.0"}
    verdict = {d: as_analyst.get("/api/v1/firmware/verify-hash", params={**check, "sha256": d}).json()["status"]
               for d in (digest, hashlib.sha256(V2).hexdigest())}
    assert list(verdict.values()) == ["match", "mismatch"]
    assert as_analyst.get("/api/v1/firmware/verify-hash", params={**check, "sha256": "zz"}).status_code == 422


def test_bad_uploads_and_unknown_campaigns_are_clear_errors(as_analyst: TestClient) -> None:
    junk = as_analyst.post("/api/v1/firmware/releases", data={"uri": "http://127.0.0.1/x.bin"},
                           files={"envelope": ("x.suit", b"not cbor", "application/cbor")})
    assert junk.status_code == 422 and "envelope" in junk.json()["detail"]
    huge = as_analyst.post("/api/v1/firmware/releases", data={"uri": "http://127.0.0.1/x.bin"},
                           files={"envelope": ("x.suit", b"\0" * (64 * 1024 + 1), "application/cbor")})
    assert huge.status_code == 413
    assert as_analyst.get("/api/v1/firmware/campaigns/nope").status_code == 404
    assert as_analyst.post("/api/v1/firmware/campaigns/nope/start", json={}).status_code == 422
    assert as_analyst.post("/api/v1/firmware/campaigns", json={"name": "c", "release_id": 99}).status_code == 422


def test_every_firmware_change_is_audited_and_viewers_only_read(
        as_analyst: TestClient, store: Store, served: tuple[Path, str], signing_key: PrivateKey) -> None:
    www, base = served
    rel = upload(as_analyst, www, base, signing_key, V2, "2.0", 2).json()
    fleet(as_analyst, store, signing_key)
    as_analyst.post("/api/v1/firmware/campaigns", json={"name": "c1", "release_id": rel["id"]})
    as_analyst.post("/api/v1/firmware/campaigns/c1/start", json={})
    as_analyst.post("/api/v1/firmware/golden", json={"model": MODEL, "version": "1.0",
                                                     "sha256": hashlib.sha256(V1).hexdigest()})
    with store.session() as session:
        actions = {(a.actor, a.action, a.target) for a in session.scalars(select(AuditRow))}
    assert {("analyst", "firmware.release.add", f"release:{rel['id']}"),
            ("analyst", "firmware.device.enroll", f"device:{DEVICES[0]}"),
            ("analyst", "firmware.campaign.create", "campaign:c1"),
            ("analyst", "firmware.campaign.start", "campaign:c1"),
            ("analyst", "firmware.golden.add", f"golden:{MODEL}@1.0")} <= actions
    login(as_analyst, "viewer")
    assert as_analyst.get("/api/v1/firmware/campaigns/c1").json()["state"] == "running"
    assert as_analyst.post("/api/v1/firmware/campaigns/c1/advance", json={}).status_code == 403
