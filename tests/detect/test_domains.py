"""From packets: an address belongs to its broadcast domain. A trunk mirror (802.1Q VLANs) or a cloud mirror
(VXLAN, one VNI per VPC) whose links reuse one address plan shows two hosts, never an ARP spoof; a spoof
within one link still alerts; each VLAN's DHCP server is its own. Captures are built with scapy."""

from __future__ import annotations

from pathlib import Path

from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.dns import DNS, DNSQR
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.layers.vxlan import VXLAN
from scapy.packet import Packet
from scapy.utils import wrpcap

from iotwarden.detect.base import device_with_ip, subject_key
from iotwarden.hooks import Context
from iotwarden.model.device import DOMAINS_ATTRIBUTE
from tests.detect.runner import detect

A, B, EVIL = "00:11:22:33:44:01", "00:11:22:33:44:02", "00:11:22:33:44:66"
BCAST = "ff:ff:ff:ff:ff:ff"


def _vlan(vid: int) -> Packet:
    return Dot1Q(vlan=vid)


def _in_vxlan(vni: int, frame: Packet) -> Packet:
    """``frame`` as a VPC Traffic Mirroring session delivers it: VXLAN to udp/4789 (RFC 7348 §5)."""
    return (Ether(src="02:00:00:00:00:aa", dst="02:00:00:00:00:bb") / IP(src="192.0.2.1", dst="192.0.2.2")
            / UDP(sport=40000, dport=4789) / VXLAN(vni=vni) / frame)


def _host(mac: str, ip: str, tag: Packet | None) -> list[Packet]:
    """An ARP announcement and a UDP datagram of one host (the lead's capture: each on its VLAN)."""
    arp = Ether(src=mac, dst=BCAST) / ARP(op=2, hwsrc=mac, psrc=ip, hwdst=BCAST, pdst="192.168.1.1")
    udp = Ether(src=mac, dst="00:11:22:33:44:fe") / IP(src=ip, dst="192.168.1.1") / UDP(sport=5000, dport=5001) / b"x"
    if tag is not None:
        arp = Ether(src=mac, dst=BCAST) / tag.copy() / arp.payload
        udp = Ether(src=mac, dst="00:11:22:33:44:fe") / tag.copy() / udp.payload
    return [arp, udp]


def _write(path: Path, frames: list[Packet]) -> Path:
    for i, f in enumerate(frames):
        f.time = 1_700_000_000 + i * 0.5
    wrpcap(str(path), frames)
    return path


def _twovlan(tmp_path: Path) -> Path:
    """The lead's capture: A on VLAN 10 and B on VLAN 20 each ARPing as 192.168.1.10 and sending UDP."""
    frames: list[Packet] = []
    for _ in range(20):
        frames += _host(A, "192.168.1.10", _vlan(10)) + _host(B, "192.168.1.10", _vlan(20))
    return _write(tmp_path / "twovlan.pcap", frames)


def _alerts(ctx: object, prefix: str) -> list[tuple[str, str]]:
    return [(a.id, a.key) for a in ctx.alerts if a.id.startswith(prefix)]  # type: ignore[attr-defined]


def test_the_same_address_on_two_vlans_is_two_devices_and_no_spoof(tmp_path: Path) -> None:
    ctx = detect([_twovlan(tmp_path)])
    assert _alerts(ctx, "detect.arp") == []
    assert sorted(k for k in ctx.devices if k.startswith("mac:")) == [f"mac:{A}", f"mac:{B}"]
    assert all(ctx.devices[f"mac:{m}"].ips == {"192.168.1.10"} for m in (A, B))


def test_a_spoof_within_one_vlan_still_alerts(tmp_path: Path) -> None:
    frames: list[Packet] = []
    for _ in range(5):
        frames += _host(A, "192.168.1.10", _vlan(10)) + _host(B, "192.168.1.10", _vlan(20))
    frames += _host(EVIL, "192.168.1.10", _vlan(20))
    ctx = detect([_write(tmp_path / "spoof.pcap", frames)])
    spoofs = [a for a in ctx.alerts if a.id == "detect.arp.spoof"]
    assert [(a.key, a.evidence["owner_mac"], a.evidence["claimant_mac"]) for a in spoofs] == [
        ("192.168.1.10%vlan20", B, EVIL)]


def test_the_same_address_in_two_vxlan_vnis_is_two_devices_and_no_spoof(tmp_path: Path) -> None:
    frames: list[Packet] = []
    for _ in range(10):
        frames += [_in_vxlan(4001, f) for f in _host(A, "10.0.0.5", None)]
        frames += [_in_vxlan(4002, f) for f in _host(B, "10.0.0.5", None)]
    ctx = detect([_write(tmp_path / "twovni.pcap", frames)])
    assert _alerts(ctx, "detect.arp") == []
    assert {f"mac:{A}", f"mac:{B}"} <= set(ctx.devices)
    frames += [_in_vxlan(4002, f) for f in _host(EVIL, "10.0.0.5", None)]
    ctx = detect([_write(tmp_path / "twovni_spoof.pcap", frames)])
    assert _alerts(ctx, "detect.arp") == [("detect.arp.spoof", "10.0.0.5%vni4002")]


def _offer(server_mac: str, server: str, vid: int, ts: float) -> Packet:
    """A DHCPOFFER (RFC 2131 §4.3.1) from ``server`` on VLAN ``vid``."""
    frame = (Ether(src=server_mac, dst=BCAST) / Dot1Q(vlan=vid) / IP(src=server, dst="255.255.255.255")
             / UDP(sport=67, dport=68) / BOOTP(op=2, yiaddr=server.rsplit(".", 1)[0] + ".50", siaddr=server,
                                               chaddr=bytes.fromhex("020000000001"), xid=int(ts))
             / DHCP(options=[("message-type", "offer"), ("server_id", server), ("router", server), "end"]))
    frame.time = ts
    return frame


def test_each_vlans_own_dhcp_server_is_no_rogue(tmp_path: Path) -> None:
    """VLAN 20's server first answers two hours after VLAN 10's: its link learns it then."""
    t0 = 1_700_000_000.0
    frames = [_offer(A, "10.0.10.1", 10, t0), _offer(A, "10.0.10.1", 10, t0 + 60),
              _offer(B, "10.0.20.1", 20, t0 + 7200), _offer(B, "10.0.20.1", 20, t0 + 7260),
              _offer(EVIL, "10.0.20.66", 20, t0 + 20000)]
    path = tmp_path / "dhcp.pcap"
    wrpcap(str(path), frames)
    ctx = detect([path])
    assert _alerts(ctx, "detect.dhcp") == [("detect.dhcp.rogue_server", "10.0.20.66%vlan20")]


def test_a_datagrams_observations_carry_its_vnis(tmp_path: Path) -> None:
    """The VNI reaches Observations through the UDP path too: each VPC's DHCP server is its own."""
    t0 = 1_700_000_000.0
    offers = [_offer(A, "10.0.0.1", 10, t0), _offer(A, "10.0.0.1", 10, t0 + 7200), _offer(B, "10.0.0.1", 10, t0 + 7300)]
    frames = [_in_vxlan(vni, Ether(src=o.src, dst=BCAST) / o[IP]) for vni, o in zip((4001, 4001, 4002), offers,
                                                                                       strict=True)]
    for f, o in zip(frames, offers, strict=True):
        f.time = o.time
    path = tmp_path / "vxlan_dhcp.pcap"
    wrpcap(str(path), frames)
    ctx = detect([path])
    assert _alerts(ctx, "detect.dhcp") == []
    frames.append(_in_vxlan(4002, Ether(src=EVIL, dst=BCAST) / _offer(EVIL, "10.0.0.66", 10, t0 + 20000)[IP]))
    frames[-1].time = t0 + 20000
    wrpcap(str(path), frames)
    assert _alerts(detect([path]), "detect.dhcp") == [("detect.dhcp.rogue_server", "10.0.0.66%vni4002")]


def _probes_and_queries(tag: Packet | None, mac: str, ip: str, first: int) -> list[Packet]:
    """Six SYNs to port 445 of six hosts, no answer (scan probes), and three DNS lookups of generated names."""
    out: list[Packet] = []
    for i in range(6):
        out.append(IP(src=ip, dst=f"192.168.1.{first + i}") / TCP(sport=40000 + first + i, dport=445, flags="S"))
    for name in ("xjwqkzvbtrplqw", "qz7xk2v9wplmkd", "kdjfhqwpzxcvbn"):
        out.append(IP(src=ip, dst="192.168.1.1") / UDP(sport=53000 + first, dport=53)
                   / DNS(id=first, rd=1, qd=DNSQR(qname=f"{name}{first}.com")))
    frames: list[Packet] = []
    for p in out:
        frame = Ether(src=mac, dst="00:11:22:33:44:fe") / p
        if tag is not None:
            frame = Ether(src=mac, dst="00:11:22:33:44:fe") / tag.copy() / p
        frames.append(frame)
    return frames


def test_two_vlans_or_vpcs_sharing_an_address_are_two_scanners_and_two_dns_clients(tmp_path: Path) -> None:
    """From packets: VLAN 10's and VLAN 20's 192.168.1.10 each probe 6 hosts on 445 (12 together, min_hosts 10)
    and look up 3 generated names (6 together, min_dga_names 5); two VPCs' the same. Flows reach detect.scan
    with their VLAN or VNI (Flow.vlan, Flow.extra['vni']); untagged, the same packets are one scanner."""
    def run(tags: tuple[Packet | None, Packet | None], wrap: bool = False) -> list[tuple[str, str]]:
        frames = (_probes_and_queries(tags[0], A, "192.168.1.10", 20)
                  + _probes_and_queries(tags[1], B, "192.168.1.10", 40))
        if wrap:
            frames = [_in_vxlan(4001 if f.src == A else 4002, f) for f in frames]
        ctx = detect([_write(tmp_path / "two.pcap", frames)])
        return sorted(_alerts(ctx, "detect.scan") + _alerts(ctx, "detect.dns"))
    assert run((_vlan(10), _vlan(20))) == []
    assert run((None, None), wrap=True) == []
    assert run((_vlan(20), _vlan(20))) == [("detect.dns.dga", ""), ("detect.scan.horizontal", "445")]
    assert run((None, None)) == [("detect.dns.dga", ""), ("detect.scan.horizontal", "445")]


def _behind_router(router: str, tag: Packet | None, first: int) -> list[Packet]:
    """A router (its own 10.0.0.1 announced by ARP) carrying routed hosts 10.0.0.5-8 that talk with a local host
    (answered), then its 10.0.0.5 probing 12 hosts on 445 with unanswered SYNs (over min_hosts 10)."""
    local = "00:11:22:33:44:c0"
    out: list[Packet] = [
        Ether(src=router, dst=BCAST) / ARP(op=2, hwsrc=router, psrc="10.0.0.1", hwdst=BCAST, pdst="10.0.0.1"),
        Ether(src=local, dst=BCAST) / ARP(op=2, hwsrc=local, psrc="192.168.1.20", hwdst=BCAST, pdst="192.168.1.20")]
    for host in range(5, 9):
        out += [Ether(src=router, dst=local) / IP(src=f"10.0.0.{host}", dst="192.168.1.20")
                / UDP(sport=5000 + host, dport=5001) / b"x",
                Ether(src=local, dst=router) / IP(src="192.168.1.20", dst=f"10.0.0.{host}")
                / UDP(sport=5001, dport=5000 + host) / b"y"]
    out += [Ether(src=router, dst=local) / IP(src="10.0.0.5", dst=f"192.168.1.{first + i}")
            / TCP(sport=40000 + first + i, dport=445, flags="S") for i in range(12)]
    if tag is None:
        return out
    return [Ether(src=f.src, dst=f.dst) / tag.copy() / f.payload for f in out]


def test_two_vlans_routed_host_sharing_an_address_are_two_subjects_named_as_the_inventory_keys_them(
        tmp_path: Path) -> None:
    """From packets: VLAN 10's and VLAN 20's routed 10.0.0.5 (each behind its own router) each scan 12 hosts on
    445. Two alerts, each naming its VLAN's device as the inventory keys it (ip:10.0.0.5%vlan10, %vlan20); named by
    plain address (before) both were ip:10.0.0.5, one alert and no device of the inventory. Untagged, the same
    packets name ip:10.0.0.5 as before; on one VLAN one alert names that VLAN's device."""
    def subjects(frames: list[Packet]) -> tuple[list[str], Context]:
        ctx = detect([_write(tmp_path / "routed.pcap", frames)])
        return sorted(a.subject for a in ctx.alerts if a.id == "detect.scan.horizontal"), ctx
    two, ctx = subjects(_behind_router("00:11:22:33:44:a0", _vlan(10), 30)
                        + _behind_router("00:11:22:33:44:b0", _vlan(20), 60))
    assert two == ["ip:10.0.0.5%vlan10", "ip:10.0.0.5%vlan20"]
    assert set(two) <= set(ctx.devices)
    one, ctx = subjects(_behind_router("00:11:22:33:44:a0", _vlan(10), 30))
    assert one == ["ip:10.0.0.5%vlan10"] and one[0] in ctx.devices
    untagged, ctx = subjects(_behind_router("00:11:22:33:44:a0", None, 30))
    assert untagged == ["ip:10.0.0.5"] and untagged[0] in ctx.devices


ROUTER, CLIENT = "00:11:22:33:44:b0", "00:11:22:33:44:d0"


def _arp(mac: str, ip: str, tag: Packet | None) -> Packet:
    frame = Ether(src=mac, dst=BCAST) / ARP(op=2, hwsrc=mac, psrc=ip, hwdst=BCAST, pdst=ip)
    return frame if tag is None else Ether(src=mac, dst=BCAST) / tag.copy() / frame.payload


def _routed_to(hosts: range, answered: bool, tag: Packet | None) -> list[Packet]:
    """CLIENT (10.0.20.7, announced) reaching ``hosts`` (10.0.0.x) through ROUTER (10.0.20.1): a SYN each, with
    its SYN-ACK when ``answered``."""
    out = [_arp(ROUTER, "10.0.20.1", tag), _arp(CLIENT, "10.0.20.7", tag)]
    for host in hosts:
        out.append(Ether(src=CLIENT, dst=ROUTER) / IP(src="10.0.20.7", dst=f"10.0.0.{host}")
                   / TCP(sport=40000 + host, dport=445, flags="S"))
        if answered:
            out.append(Ether(src=ROUTER, dst=CLIENT) / IP(src=f"10.0.0.{host}", dst="10.0.20.7")
                       / TCP(sport=445, dport=40000 + host, flags="SA"))
    if tag is None:
        return out
    return [f if Dot1Q in f else Ether(src=f.src, dst=f.dst) / tag.copy() / f.payload for f in out]


def test_a_mac_device_records_its_vlans_and_is_never_named_for_another_vlans_address(tmp_path: Path) -> None:
    """From packets: A holds 10.0.0.5 on VLAN 10; on VLAN 20 a client's SYN to 10.0.0.5 goes through VLAN 20's router
    unanswered (no device of its own). The inventory records each MAC device's VLANs (link.domain); the holder of
    VLAN 20's 10.0.0.5 is not A (before: A, the one device holding the address, from any VLAN): device_with_ip
    finds none there, and the router's MAC with that address names the router. On VLAN 10, and untagged, A."""
    ctx = detect([_write(tmp_path / "two.pcap", _host(A, "10.0.0.5", _vlan(10)) + _routed_to(range(5, 6), False,
                                                                                              _vlan(20)))])
    assert {k: d.attributes.get(DOMAINS_ATTRIBUTE) for k, d in ctx.devices.items()} == {
        f"mac:{A}": {"vlan10"}, f"mac:{ROUTER}": {"vlan20"}, f"mac:{CLIENT}": {"vlan20"}}
    assert device_with_ip(ctx, "10.0.0.5", "vlan20") is None
    assert subject_key(ctx, ROUTER, "10.0.0.5", "vlan20") == f"mac:{ROUTER}"
    assert device_with_ip(ctx, "10.0.0.5", "vlan10") == f"mac:{A}"
    ctx = detect([_write(tmp_path / "untagged.pcap", _host(A, "10.0.0.5", None) + _routed_to(range(5, 6), False,
                                                                                             None))])
    assert all(DOMAINS_ATTRIBUTE not in d.attributes for d in ctx.devices.values())  # an untagged run: as before
    assert device_with_ip(ctx, "10.0.0.5", "") == subject_key(ctx, ROUTER, "10.0.0.5", "") == f"mac:{A}"


def test_a_host_a_router_joining_two_vlans_carries_is_seen_in_both(tmp_path: Path) -> None:
    """The router is on VLAN 10 and VLAN 20 (router-on-a-stick) and carries VLAN 20's client to 10.0.0.5-8: the
    inventory places VLAN 20's routed 10.0.0.5 on A, which holds it on VLAN 10 (EndpointResolver._across), so A
    is seen in both (link.domain) and names that address on VLAN 20 too, as the inventory does."""
    frames = [*_host(A, "10.0.0.5", _vlan(10)), _arp(ROUTER, "10.0.0.1", _vlan(10))]
    ctx = detect([_write(tmp_path / "joined.pcap", frames + _routed_to(range(5, 9), True, _vlan(20)))])
    assert ctx.devices[f"mac:{A}"].attributes[DOMAINS_ATTRIBUTE] == {"vlan10", "vlan20"}
    assert ctx.devices[f"mac:{ROUTER}"].attributes[DOMAINS_ATTRIBUTE] == {"vlan10", "vlan20"}
    assert "ip:10.0.0.5%vlan20" not in ctx.devices and "ip:10.0.0.6%vlan20" in ctx.devices
    assert device_with_ip(ctx, "10.0.0.5", "vlan20") == subject_key(ctx, ROUTER, "10.0.0.5", "vlan20") == f"mac:{A}"
