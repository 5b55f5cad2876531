"""A campaign end to end: 20 simulated devices on v1 (a real squashfs image), a v2 release signed and
served over HTTP on loopback, staged 10/50/100 behind health gates; a bad release trips the gate and is
rolled back to v1 re-signed under a newer sequence number; devices refuse a downgrade and a forgery."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from iotwarden.errors import FirmwareError
from iotwarden.firmware.ota.client import DeviceClient
from iotwarden.firmware.ota.service import CampaignService
from iotwarden.firmware.signing import keys
from iotwarden.firmware.signing.signer import sign_image
from iotwarden.store import Store

VENDOR, MODEL = "acme.example", "cam-2000"


class Fleet:
    def __init__(self, tmp_path: Path, served: tuple[Path, str], v1: bytes) -> None:
        self.www, self.base = served
        self.key = keys.generate("ed25519")
        self.trusted = keys.TrustedKeys([self.key.public_key()])
        self.svc = CampaignService(Store(f"sqlite:///{tmp_path / 'ota.db'}"))
        self.v1 = self.release(v1, "1.0", 1)
        self.devices: dict[str, DeviceClient] = {}
        for i in range(20):
            dk = f"mac:02:00:00:00:00:{i:02x}"
            zone = "plant" if i < 16 else "office"
            self.svc.enroll(dk, MODEL, "1.0", zone=zone)
            self.devices[dk] = DeviceClient(dk, VENDOR, MODEL, self.trusted, "1.0", 1, v1)

    def release(self, image: bytes, version: str, sequence: int) -> int:
        name = f"{MODEL}-{version}-{sequence}.bin"
        (self.www / name).write_bytes(image)
        uri = f"{self.base}/{name}"
        env = sign_image(
            image, self.key, vendor_domain=VENDOR, model=MODEL, version=version, sequence=sequence, uri=uri
        )
        return self.svc.add_release(env, uri)

    def poll(self) -> int:
        """Every device asks for an update once; returns how many were offered one."""
        n = 0
        for dk, dev in self.devices.items():
            offer = self.svc.offer(dk)
            if offer is not None:
                n += 1
                dev.apply(offer, self.svc.checkin)
        return n


@pytest.fixture
def fleet(tmp_path: Path, served: tuple[Path, str], squashfs_image: Path) -> Fleet:
    return Fleet(tmp_path, served, squashfs_image.read_bytes())


def test_staged_rollout_with_health_gates_completes(fleet: Fleet, squashfs_image: Path) -> None:
    v2 = squashfs_image.read_bytes() + b"\0" * 4096  # a new build: same file system, new padding
    rid = fleet.release(v2, "2.0", 2)
    st = fleet.svc.create("v2", rid, zone="plant", stages=[10, 50, 100], max_failure_rate=0.0, min_reports=1.0)
    assert st["targets"] == 16 and st["state"] == "draft"
    assert fleet.svc.start("v2")["stage"] == 0
    assert fleet.poll() == 2  # 10% of 16, rounded up
    st = fleet.svc.advance("v2")
    assert st["stage"] == 1 and st["gate"]["reported"] == 2
    assert fleet.poll() == 6  # 50% = 8 offered in all
    assert fleet.svc.advance("v2")["stage"] == 2
    assert fleet.poll() == 8
    st = fleet.svc.advance("v2")
    assert st["state"] == "completed" and st["counts"] == {"healthy": 16}
    plant = [d for k, d in fleet.devices.items() if int(k[-2:], 16) < 16]
    assert all(d.version == "2.0" and d.sequence == 2 and d.image == v2 for d in plant)
    office = [d for k, d in fleet.devices.items() if int(k[-2:], 16) >= 16]
    assert all(d.version == "1.0" for d in office)  # outside the zone: untouched


def test_gate_waits_for_reports_before_the_next_stage(fleet: Fleet) -> None:
    rid = fleet.release(b"v2 image", "2.0", 2)
    fleet.svc.create("c", rid, stages=[50, 100], min_reports=1.0)
    fleet.svc.start("c")
    st = fleet.svc.advance("c")  # nobody has checked in
    assert st["stage"] == 0 and st["state"] == "running" and "0 of 10 targets reported" in st["gate"]["reason"]


def test_failing_release_closes_the_gate_and_rolls_back(fleet: Fleet, squashfs_image: Path) -> None:
    bad = b"broken build"
    rid = fleet.release(bad, "2.0", 2)
    for dev in fleet.devices.values():
        dev.health_check = lambda image: image != bad
    fleet.svc.create("bad", rid, stages=[25, 100], max_failure_rate=0.1)
    fleet.svc.start("bad")
    assert fleet.poll() == 5
    st = fleet.svc.advance("bad")
    assert st["state"] == "paused" and "health gate closed" in st["reason"] and st["counts"]["failed"] == 5
    assert fleet.poll() == 0  # a paused campaign offers nothing
    st = fleet.svc.rollback("bad", fleet.key)
    assert st["state"] == "rolled_back" and st["counts"] == {"cancelled": 15, "revert": 5}
    assert fleet.poll() == 5  # v1 again, re-signed with sequence 3 so anti-rollback accepts it
    reverted = [d for d in fleet.devices.values() if d.sequence == 3]
    assert len(reverted) == 5 and all(d.version == "1.0" and d.image == squashfs_image.read_bytes() for d in reverted)
    assert fleet.svc.status("bad")["counts"] == {"cancelled": 15, "reverted": 5}


def test_device_refuses_a_downgrade_and_a_forged_release(fleet: Fleet, squashfs_image: Path) -> None:
    dk, dev = next(iter(fleet.devices.items()))
    dev.sequence = 9  # runs something newer than any release below
    rid = fleet.release(b"old build", "0.9", 4)
    fleet.svc.create("old", rid, stages=[100], min_reports=0.0)
    fleet.svc.start("old")
    offer = fleet.svc.offer(dk)
    assert offer is not None and not dev.apply(offer, fleet.svc.checkin)
    assert "downgrade" in dev.log[-1] and dev.version == "1.0"
    assert fleet.svc.status("old")["counts"]["failed"] == 1
    # a release signed by a key the devices do not trust
    other = keys.generate("p256")
    dev2 = list(fleet.devices.values())[1]
    forged = sign_image(b"evil", other, vendor_domain=VENDOR, model=MODEL, version="6.6", sequence=66)
    from dataclasses import replace

    assert offer is not None
    evil_offer = replace(offer, envelope=forged)
    dev2.fetch = lambda _uri: b"evil"
    assert not dev2.apply(evil_offer, fleet.svc.checkin)
    assert "untrusted_key" in dev2.log[-1]


def test_checkins_are_checked_against_golden_hashes(fleet: Fleet, squashfs_image: Path) -> None:
    dk = next(iter(fleet.devices))
    good = hashlib.sha256(squashfs_image.read_bytes()).hexdigest()
    assert fleet.svc.checkin(dk, "healthy", sha256=good, version="1.0")["golden"] == "match"
    assert fleet.svc.checkin(dk, "healthy", sha256="ab" * 32, version="1.0")["golden"] == "mismatch"
    with pytest.raises(FirmwareError, match="unknown check-in event"):
        fleet.svc.checkin(dk, "exploded")
