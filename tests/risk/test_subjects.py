"""Endpoints resolve to inventory keys the way the inventory keys devices."""

from __future__ import annotations

import random
import struct
from pathlib import Path

from iotwarden.hooks import Context
from iotwarden.lab.behave_app import telnet_login
from iotwarden.lab.behave_net import arp_frame
from iotwarden.lab.proto_net import arp
from iotwarden.lab.wire import BROADCAST_MAC, Frame, Host, TcpStream, udp_frame
from iotwarden.model import Device, Observation
from iotwarden.model.device import DOMAINS_ATTRIBUTE
from iotwarden.risk.scorer import device_score, fleet_score
from iotwarden.risk.subjects import SubjectIndex, endpoint_of, is_external, usable_mac
from tests.risk.harness import T0, analyse, write_pcap

CAM = Device("mac:02:00:00:00:00:05", 0.0, 1.0, mac="02:00:00:00:00:05", ips={"10.0.0.5"})
ROUTER = Device("mac:02:00:00:00:00:01", 0.0, 1.0, mac="02:00:00:00:00:01", ips={"10.0.0.1"})
ROUTED = Device("ip:10.1.0.7", 0.0, 1.0, ips={"10.1.0.7"})
INDEX = SubjectIndex({d.key: d for d in (CAM, ROUTER, ROUTED)})


def test_mac_owning_the_address_is_the_device() -> None:
    assert INDEX.resolve("02:00:00:00:00:05", "10.0.0.5") == CAM.key
    assert INDEX.resolve("02:00:00:00:00:05", None) == CAM.key


def test_address_behind_a_router_is_its_own_device() -> None:
    assert INDEX.resolve("02:00:00:00:00:01", "10.1.0.7") == ROUTED.key


def test_a_routed_address_within_a_vlan_is_its_zoned_device() -> None:
    """A tagged capture's routed host is keyed ip:<address>%<domain> (inventory/addresses.zoned)."""
    zoned = Device("ip:10.2.0.9%vlan100", 0.0, 1.0, ips={"10.2.0.9"})
    index = SubjectIndex({d.key: d for d in (CAM, ROUTER, zoned)})
    assert index.resolve("02:00:00:00:00:01", "10.2.0.9") == zoned.key
    assert index.resolve(None, "10.2.0.9") == zoned.key
    assert index.resolve("02:00:00:00:00:05", "10.0.0.5") == CAM.key


def test_address_without_mac_belongs_to_the_mac_device_carrying_it() -> None:
    assert INDEX.resolve(None, "10.0.0.5") == CAM.key


def test_internet_addresses_are_no_device() -> None:
    assert INDEX.resolve("02:00:00:00:00:01", "93.184.216.34") == ROUTER.key  # the gateway's MAC: the router
    assert INDEX.resolve(None, "93.184.216.34") is None
    assert INDEX.device(None, "10.0.0.5") is CAM


def test_endpoint_of_follows_the_subject_and_drops_group_macs() -> None:
    obs = Observation(ts=0.0, proto="telnet", kind="login_attempt", src_mac="02:00:00:00:00:09",
                      dst_mac="01:00:5e:00:00:01", src_ip="10.0.0.9", dst_ip="10.0.0.5", subject="dst")
    assert endpoint_of(obs) == (None, "10.0.0.5")
    assert endpoint_of(obs, "src") == ("02:00:00:00:00:09", "10.0.0.9")
    assert usable_mac("AB:BB:CC:DD:EE:FF") is None  # I/G bit set (0xAB is odd)
    assert usable_mac("00:00:00:00:00:00") is None
    assert usable_mac("zz:00:00:00:00:00") is None
    assert usable_mac("0A:00:00:00:00:01") == "0a:00:00:00:00:01"


def test_external_means_outside_the_sites_local_networks() -> None:
    assert is_external("93.184.216.34")
    assert is_external("198.51.100.7")  # documentation ranges stand for the internet in the lab
    assert not is_external("10.1.2.3") and not is_external("fd00::1") and not is_external("100.64.0.1")
    assert not is_external("127.0.0.1") and not is_external("239.255.255.250") and not is_external("0.0.0.0")  # noqa: S104
    assert not is_external("not an address") and not is_external(None)


# --- broadcast domains: a tagged site address resolves within its VLAN or VNI (issues #3/#4) ---------------

A = Device("mac:02:00:00:00:00:0a", 0.0, 1.0, mac="02:00:00:00:00:0a", ips={"10.0.0.5"},
           attributes={DOMAINS_ATTRIBUTE: {"vlan10"}})
R20 = Device("mac:02:00:00:00:00:b0", 0.0, 1.0, mac="02:00:00:00:00:b0", ips={"10.0.0.1"},
             attributes={DOMAINS_ATTRIBUTE: {"vlan20"}})


def test_a_tagged_observations_site_address_is_zoned_and_an_outside_one_is_not() -> None:
    obs = Observation(ts=0.0, proto="telnet", kind="login_attempt", src_mac="02:00:00:00:00:09",
                      dst_mac="02:00:00:00:00:b0", src_ip="192.168.1.9", dst_ip="10.0.0.5", subject="dst", vlan=20)
    assert endpoint_of(obs) == ("02:00:00:00:00:b0", "10.0.0.5%vlan20")
    assert endpoint_of(obs, "src") == ("02:00:00:00:00:09", "192.168.1.9%vlan20")
    obs.vni, obs.dst_ip = (4001,), "93.184.216.34"
    assert endpoint_of(obs) == ("02:00:00:00:00:b0", "93.184.216.34")
    obs.vlan, obs.vni = None, None
    assert endpoint_of(obs, "src") == ("02:00:00:00:00:09", "192.168.1.9")


def test_a_routed_address_of_one_vlan_never_resolves_to_another_vlans_mac_device() -> None:
    """A holds 10.0.0.5 on VLAN 10. VLAN 20's 10.0.0.5 (through VLAN 20's router) is its own ip: device when the
    inventory made one, else not A: the router's MAC names the router, no MAC names nothing (unresolved)."""
    index = SubjectIndex({d.key: d for d in (A, R20)})
    assert index.resolve(R20.mac, "10.0.0.5%vlan20") == R20.key
    assert index.resolve(None, "10.0.0.5%vlan20") is None
    assert index.resolve(None, "10.0.0.5%vlan10") == index.resolve(R20.mac, "10.0.0.5%vlan10") == A.key
    assert index.resolve(None, "10.0.0.5") == index.resolve(R20.mac, "10.0.0.5") == A.key  # untagged: as before
    routed = Device("ip:10.0.0.5%vlan20", 0.0, 1.0, ips={"10.0.0.5"})
    index = SubjectIndex({d.key: d for d in (A, R20, routed)})
    assert index.resolve(R20.mac, "10.0.0.5%vlan20") == index.resolve(None, "10.0.0.5%vlan20") == routed.key
    assert index.resolve(A.mac, "10.0.0.5%vlan20") == A.key  # A's own frames: a MAC is one device on every VLAN


def test_two_vlans_routed_hosts_at_one_address_each_resolve_to_their_own() -> None:
    ten, twenty = (Device(f"ip:10.0.0.5%vlan{v}", 0.0, 1.0, ips={"10.0.0.5"}) for v in (10, 20))
    index = SubjectIndex({d.key: d for d in (ROUTER, ten, twenty)})
    assert index.resolve(ROUTER.mac, "10.0.0.5%vlan20") == twenty.key
    assert index.resolve(ROUTER.mac, "10.0.0.5%vlan10") == ten.key
    assert index.resolve(None, "10.0.0.5%vlan30") is None
    assert index.resolve(ROUTER.mac, "10.0.0.5") == ten.key  # untagged: the first routed device, as before


def test_a_mac_device_recording_no_domain_holds_its_address_in_any() -> None:
    """A device the run never saw in a tagged frame records no domain (Device.in_domain: any), as detect/base does."""
    index = SubjectIndex({d.key: d for d in (CAM, ROUTER)})
    assert index.resolve(None, "10.0.0.5%vlan20") == CAM.key
    assert index.resolve(None, "93.184.216.34") is None


def tagged(frames: list[Frame], vid: int) -> list[Frame]:
    """``frames`` with an 802.1Q tag of VLAN ``vid`` after the MACs (IEEE 802.1Q §9.3)."""
    return [(t, f[:12] + struct.pack("!HH", 0x8100, vid) + f[12:]) for t, f in frames]


def _announce(mac: str, ip: str, t: float) -> Frame:
    return t, arp_frame(mac, BROADCAST_MAC, arp(2, mac, ip, BROADCAST_MAC, ip))


def _telnet(client: Host, server: Host, password: str, t: float, seed: int) -> list[Frame]:
    """A Telnet session where ``client`` logs into ``server`` as root with ``password``, which it accepts."""
    conn = TcpStream(random.Random(seed), client, 40000 + seed, server, 23)
    out = conn.handshake(t)
    out += telnet_login(conn, conn.t + 0.01, "root", password, success=True, banner="DVR")
    return out + conn.close(conn.t + 0.5, from_client=False)


def _behind_router(router: str, client: Host, password: str, vid: int, t: float) -> list[Frame]:
    """On VLAN ``vid``: a router (its own 10.0.0.1) carrying 10.0.0.5-8 to ``client``, which logs into 10.0.0.5's
    Telnet with ``password``: the inventory's ip:10.0.0.5%vlan<vid>."""
    out = [_announce(router, "10.0.0.1", t), _announce(client.mac, client.ip, t)]
    for n in range(6, 9):
        far = Host(router, f"10.0.0.{n}")
        out += [(t + n, udp_frame(far, client.mac, client.ip, b"x", sport=5000 + n, dport=5001)),
                (t + n + 0.1, udp_frame(client, router, far.ip, b"y", sport=5001, dport=5000 + n))]
    return tagged(out + _telnet(client, Host(router, "10.0.0.5"), password, t + 20, vid), vid)


def _risk(ctx: Context) -> dict[str, list[tuple[str, str]]]:
    """Per device key, its findings (check id, severity)."""
    out: dict[str, list[tuple[str, str]]] = {}
    for f in sorted(ctx.findings, key=lambda f: (f.subject, f.id)):
        out.setdefault(f.subject, []).append((f.id, f.severity))
    return out


def test_two_vlans_routed_telnet_servers_at_one_address_each_get_their_own_findings(tmp_path: Path) -> None:
    """From packets: VLAN 10's and VLAN 20's routed 10.0.0.5 (each behind its own router) each take a Telnet login;
    VLAN 20's with Mirai's root/xc3511. Only ip:10.0.0.5%vlan20 has risk.credentials.default, each has its own
    cleartext Telnet finding, and the scores count each finding once, on its device (before: all three on the
    first routed device holding 10.0.0.5, VLAN 10's)."""
    frames = (_behind_router("02:00:00:00:00:a0", Host("02:00:00:00:00:c0", "192.168.1.20"), "S1te-only-pw", 10, T0)
              + _behind_router("02:00:00:00:00:b0", Host("02:00:00:00:00:d0", "192.168.1.20"), "xc3511", 20,
                               T0 + 100))
    ctx, _ = analyse(write_pcap(tmp_path / "two_vlans.pcap", frames))
    telnet, default = ("risk.cleartext.telnet", "high"), ("risk.credentials.default", "critical")
    assert _risk(ctx) == {"ip:10.0.0.5%vlan10": [telnet], "ip:10.0.0.5%vlan20": [telnet, default]}
    scores = {k: d.risk_score for k, d in ctx.devices.items() if d.risk_score}
    ten = [f for f in ctx.findings if f.subject == "ip:10.0.0.5%vlan10"]
    twenty = [f for f in ctx.findings if f.subject == "ip:10.0.0.5%vlan20"]
    assert scores == {"ip:10.0.0.5%vlan10": device_score(ten), "ip:10.0.0.5%vlan20": device_score(twenty)}
    assert fleet_score(d.risk_score or 0.0 for d in ctx.devices.values()) == fleet_score(
        [device_score(ten), device_score(twenty)] + [0.0] * (len(ctx.devices) - 2))


def test_a_routed_vlan_20_finding_never_lands_on_vlan_10s_mac_device(tmp_path: Path) -> None:
    """From packets: A holds 10.0.0.5 on VLAN 10 and takes a Telnet login with a site password; on VLAN 20 a client
    logs into VLAN 20's routed 10.0.0.5 with root/xc3511. A keeps its own cleartext Telnet finding only; the
    default-credential login is ip:10.0.0.5%vlan20's (before: A's, the MAC device holding 10.0.0.5 on VLAN 10)."""
    a, client = Host("02:00:00:00:00:0a", "10.0.0.5"), Host("02:00:00:00:00:c0", "10.0.0.20")
    local = [_announce(a.mac, a.ip, T0), _announce(client.mac, client.ip, T0)]
    local += _telnet(client, a, "S1te-only-pw", T0 + 1, 3)
    frames = tagged(local, 10) + _behind_router("02:00:00:00:00:b0", Host("02:00:00:00:00:d0", "192.168.1.20"),
                                                 "xc3511", 20, T0 + 100)
    ctx, _ = analyse(write_pcap(tmp_path / "mac_and_routed.pcap", frames))
    telnet, default = ("risk.cleartext.telnet", "high"), ("risk.credentials.default", "critical")
    assert _risk(ctx) == {"mac:02:00:00:00:00:0a": [telnet], "ip:10.0.0.5%vlan20": [telnet, default]}
