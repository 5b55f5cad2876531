"""ARP spoofing (an active owner's address claimed by another MAC) and gratuitous ARP storms."""

from __future__ import annotations

from iotwarden.detect.arp import ArpSpoofDetector
from iotwarden.model import Observation
from tests.detect.runner import feed


def _arp(mac: str, ip: str, ts: float, gratuitous: bool = False) -> Observation:
    return Observation(ts=ts, proto="arp", kind="reply", src_mac=mac, fields={
        "op": 2, "sender_mac": mac, "sender_ip": ip, "target_mac": "ff:ff:ff:ff:ff:ff",
        "target_ip": ip if gratuitous else "10.0.0.9", "gratuitous": gratuitous, "probe": False})


def test_a_second_mac_claiming_an_active_owners_address_is_spoofing() -> None:
    alerts = feed([ArpSpoofDetector()], observations=[_arp("02:00:00:00:00:01", "10.0.0.1", 10.0),
                                                      _arp("02:00:00:00:00:66", "10.0.0.1", 20.0)])
    assert [(a.id, a.key, a.evidence["owner_mac"]) for a in alerts] == [
        ("detect.arp.spoof", "10.0.0.1", "02:00:00:00:00:01")]


def test_an_address_handed_on_after_the_owner_went_quiet_is_not_spoofing() -> None:
    alerts = feed([ArpSpoofDetector()], observations=[_arp("02:00:00:00:00:01", "10.0.0.1", 10.0),
                                                      _arp("02:00:00:00:00:02", "10.0.0.1", 5000.0)])
    assert alerts == []


def test_a_gratuitous_arp_storm() -> None:
    obs = [_arp("02:00:00:00:00:66", f"10.0.0.{i % 5 + 1}", 10.0 + i, gratuitous=True) for i in range(30)]
    assert "detect.arp.storm" in {a.id for a in feed([ArpSpoofDetector()], observations=obs)}


def test_bindings_are_bounded() -> None:
    det = ArpSpoofDetector({"max_bindings": 50})
    feed([det], observations=[_arp(f"02:00:00:00:{i // 256:02x}:{i % 256:02x}", f"10.1.{i // 256}.{i % 256}", 1.0 + i)
                              for i in range(300)])
    assert len(det._bindings) == 50
