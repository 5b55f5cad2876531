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


def test_one_address_on_two_vlans_is_two_hosts_not_a_spoof() -> None:
    """A trunk mirror's guest and camera VLANs may both use 192.168.1.0/24 (behind different VRFs)."""
    obs = [_arp("02:00:00:00:00:01", "192.168.1.10", 10.0 + i) for i in range(0, 20, 2)]
    obs += [_arp("02:00:00:00:00:02", "192.168.1.10", 11.0 + i) for i in range(0, 20, 2)]
    for o in obs:
        o.vlan = 10 if o.src_mac == "02:00:00:00:00:01" else 20
    obs.sort(key=lambda o: o.ts)
    assert feed([ArpSpoofDetector()], observations=obs) == []


def test_one_address_in_two_vxlan_vnis_is_two_hosts_and_a_spoof_within_one_alerts() -> None:
    obs = [_arp("02:00:00:00:00:01", "10.0.0.5", 10.0), _arp("02:00:00:00:00:02", "10.0.0.5", 11.0),
           _arp("02:00:00:00:00:66", "10.0.0.5", 12.0)]
    obs[0].vni, obs[1].vni, obs[2].vni = (4001,), (4002,), (4002,)
    alerts = feed([ArpSpoofDetector()], observations=obs)
    assert [(a.key, a.evidence["owner_mac"], a.evidence["claimant_mac"], a.evidence["domain"]) for a in alerts] == [
        ("10.0.0.5%vni4002", "02:00:00:00:00:02", "02:00:00:00:00:66", "vni4002")]
    assert alerts[0].title.endswith("on vni4002")


def test_nested_vnis_and_vlan_name_one_domain() -> None:
    """A mirror session's VNI carrying a tenant's own overlay (the same inner VNI in every cluster)."""
    obs = [_arp("02:00:00:00:00:01", "10.244.0.5", 10.0), _arp("02:00:00:00:00:02", "10.244.0.5", 11.0)]
    obs[0].vni, obs[1].vni = (4001, 1), (4002, 1)
    assert feed([ArpSpoofDetector()], observations=obs) == []
    obs[1].vni, obs[1].vlan = (4001, 1), None
    assert [a.key for a in feed([ArpSpoofDetector()], observations=obs)] == ["10.244.0.5%vni4001/vni1"]


def test_a_router_announcing_on_each_of_its_vlans_is_no_storm() -> None:
    """A router-on-a-stick sends one gratuitous ARP per subinterface when it comes up; the same count on
    one link is a storm."""
    obs = [_arp("02:00:00:00:00:fe", f"10.{i}.0.1", 10.0 + i / 10, gratuitous=True) for i in range(40)]
    for i, o in enumerate(obs):
        o.vlan = 100 + i
    assert feed([ArpSpoofDetector()], observations=obs) == []
    for o in obs:
        o.vlan = 100
    assert [a.evidence["domain"] for a in feed([ArpSpoofDetector()], observations=obs)] == ["vlan100"]


def test_bindings_of_many_domains_are_bounded() -> None:
    det = ArpSpoofDetector({"max_bindings": 50})
    obs = [_arp("02:00:00:00:00:01", "10.0.0.1", 1.0 + i, gratuitous=True) for i in range(300)]
    for i, o in enumerate(obs):
        o.vlan = 1 + i
    feed([det], observations=obs)
    assert len(det._bindings) == 50
    assert len(det._gratuitous) == 50
    assert "10.0.0.1%vlan300" in det._bindings
