"""Identity resolution across MACs and addresses (issue 3): a phone that re-randomises its MAC, a
device with two interfaces, a device whose DHCP address changes. Small captures built here (dpkt)
go through the real engine and store."""

from __future__ import annotations

import socket
from pathlib import Path

import dpkt
import pytest
from sqlalchemy import select

from iotwarden.inventory.linking import MAX_INTERFACES, InterfaceLinker, derived_from, randomised
from iotwarden.services.analyze import analyze
from iotwarden.store import Store
from iotwarden.store.queries import device_ip_history
from iotwarden.store.schema import DeviceRow

ROUTER = "00:0d:b9:4a:10:01"
BROADCAST = "ff:ff:ff:ff:ff:ff"
Frame = tuple[float, bytes]


def _mac(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


def _udp(src_mac: str, dst_mac: str, src: str, dst: str, sport: int, dport: int,  # noqa: PLR0917
         data: bytes) -> bytes:
    seg = dpkt.udp.UDP(sport=sport, dport=dport, data=data)
    seg.ulen = len(seg)
    pkt = dpkt.ip.IP(src=socket.inet_aton(src), dst=socket.inet_aton(dst), p=dpkt.ip.IP_PROTO_UDP, ttl=64, data=seg)
    return bytes(dpkt.ethernet.Ethernet(src=_mac(src_mac), dst=_mac(dst_mac), type=dpkt.ethernet.ETH_TYPE_IP,
                                        data=pkt))


def dhcp_lease(ts: float, mac: str, ip: str, *, hostname: bytes | None = None, client_id: bytes | None = None,
               fqdn: bytes | None = None) -> list[Frame]:
    """REQUEST from ``mac`` (RFC 2131 §4.3.2) and the router's ACK giving ``ip``."""
    opts: list[tuple[int, bytes]] = [(53, b"\x03"), (55, bytes([1, 3, 6, 15, 119, 252])), (50, socket.inet_aton(ip))]
    if hostname is not None:
        opts.append((12, hostname))  # RFC 2132 §3.14
    if client_id is not None:
        opts.append((61, client_id))  # RFC 2132 §9.14
    if fqdn is not None:
        opts.append((81, b"\x00\x00\x00" + fqdn))  # RFC 4702 §2 (flags, rcode1, rcode2, name)
    request = dpkt.dhcp.DHCP(op=dpkt.dhcp.DHCP_OP_REQUEST, xid=0x42, chaddr=_mac(mac), opts=opts)
    ack = dpkt.dhcp.DHCP(op=dpkt.dhcp.DHCP_OP_REPLY, xid=0x42, chaddr=_mac(mac),
                         yiaddr=int.from_bytes(socket.inet_aton(ip), "big"),
                         opts=[(53, b"\x05"), (54, socket.inet_aton("10.0.0.1")), (51, (3600).to_bytes(4, "big"))])
    return [
        (ts, _udp(mac, BROADCAST, "0.0.0.0", "255.255.255.255", 68, 67, bytes(request))),  # noqa: S104
        (ts + 0.01, _udp(ROUTER, mac, "10.0.0.1", ip, 67, 68, bytes(ack))),
    ]


def mdns_name(ts: float, mac: str, ip: str, name: str) -> Frame:
    """An unsolicited mDNS announcement of ``name`` -> ``ip`` (RFC 6762 §8.3)."""
    msg = dpkt.dns.DNS(id=0)
    msg.qr, msg.aa = dpkt.dns.DNS_R, 1
    rr = dpkt.dns.DNS.RR(name=name, type=dpkt.dns.DNS_A, cls=dpkt.dns.DNS_IN, ttl=120, rdata=socket.inet_aton(ip))
    rr.ip = socket.inet_aton(ip)
    msg.an = [rr]
    return ts, _udp(mac, "01:00:5e:00:00:fb", ip, "224.0.0.251", 5353, 5353, bytes(msg))


def devices(tmp_path: Path, frames: list[Frame]) -> dict[str, DeviceRow]:
    path = tmp_path / "cap.pcap"
    with path.open("wb") as fh:
        writer = dpkt.pcap.Writer(fh, linktype=dpkt.pcap.DLT_EN10MB)
        for ts, frame in sorted(frames, key=lambda f: f[0]):
            writer.writepkt(frame, ts=ts)
    store = Store(f"sqlite:///{tmp_path / 'inv.db'}")
    try:
        (result,) = analyze([path], store).files
        assert result.status == "complete"
        with store.session() as session:
            rows = {r.key: r for r in session.scalars(select(DeviceRow))}
            histories = {k: [h.ip for h in device_ip_history(session, k)] for k in rows}
        for key, row in rows.items():
            row.ips = histories[key]
        return rows
    finally:
        store.close()


PHONE_1, PHONE_2, PHONE_3 = "da:a1:19:00:00:01", "6e:02:77:10:20:30", "b2:4c:00:aa:bb:cc"  # locally administered
T0 = 1_700_000_000.0


def test_a_phone_that_re_randomises_its_mac_stays_one_device_with_its_macs_as_interfaces(tmp_path: Path) -> None:
    frames = [
        *dhcp_lease(T0, PHONE_1, "10.0.0.50", hostname=b"Annas-iPhone"),
        *dhcp_lease(T0 + 3600, PHONE_2, "10.0.0.51", hostname=b"Annas-iPhone"),  # new MAC, an hour later
        mdns_name(T0 + 7200, PHONE_3, "10.0.0.52", "Annas-iPhone.local"),
        *dhcp_lease(T0 + 7200.5, PHONE_3, "10.0.0.52", hostname=b"Annas-iPhone"),
    ]
    found = devices(tmp_path, frames)
    assert set(found) == {f"mac:{PHONE_1}", f"mac:{ROUTER}"}  # the first MAC names the device
    phone = found[f"mac:{PHONE_1}"]
    assert phone.attributes["link.mac"] == sorted([PHONE_1, PHONE_2, PHONE_3])
    assert phone.ips == ["10.0.0.50", "10.0.0.51", "10.0.0.52"]  # its address history across the MACs
    assert phone.hostnames == ["Annas-iPhone", "Annas-iPhone.local"]


def test_identical_devices_with_one_default_name_at_the_same_time_stay_apart(tmp_path: Path) -> None:
    cams = ["44:47:cc:2b:10:01", "44:47:cc:2b:10:02"]  # universal MACs, the vendor's default host name
    frames = [*dhcp_lease(T0, cams[0], "10.0.0.60", hostname=b"HIKVISION"),
              *dhcp_lease(T0 + 5, cams[1], "10.0.0.61", hostname=b"HIKVISION")]
    found = devices(tmp_path, frames)
    assert {f"mac:{m}" for m in cams} <= set(found)
    assert all("link.mac" not in found[f"mac:{m}"].attributes for m in cams)


def test_randomised_macs_in_use_at_the_same_time_are_not_merged_by_name(tmp_path: Path) -> None:
    frames = [*dhcp_lease(T0, PHONE_1, "10.0.0.50", hostname=b"iPhone"),
              *dhcp_lease(T0 + 0.005, PHONE_2, "10.0.0.51", hostname=b"iPhone"),
              *dhcp_lease(T0 + 60, PHONE_1, "10.0.0.50", hostname=b"iPhone")]  # both still alive
    found = devices(tmp_path, frames)
    assert {f"mac:{PHONE_1}", f"mac:{PHONE_2}"} <= set(found)


def test_two_interfaces_with_one_client_identifier_are_one_device(tmp_path: Path) -> None:
    wired, wifi = "3c:2a:f4:00:00:01", "3c:2a:f4:00:00:02"
    duid = b"\xff\x00\x00\x00\x01\x00\x04" + bytes(range(16))  # RFC 4361 §6.1: IAID + DUID, shared by both
    frames = [*dhcp_lease(T0, wired, "10.0.0.70", hostname=b"ws-fin-01", client_id=duid),
              *dhcp_lease(T0 + 1, wifi, "10.0.0.71", hostname=b"ws-fin-01", client_id=duid)]
    found = devices(tmp_path, frames)
    assert f"mac:{wifi}" not in found
    ws = found[f"mac:{wired}"]
    assert ws.attributes["link.mac"] == [wired, wifi]
    assert ws.ips == ["10.0.0.70", "10.0.0.71"]


def test_a_dual_nic_recorder_answering_sadp_on_both_is_one_device(tmp_path: Path) -> None:
    # a Hikvision NVR on two networks answers each SADP search with its one serial (DeviceSN)
    from tests.dissect.test_sadp import camera_probe_match

    lan1, lan2, vms = "c0:56:e3:00:00:01", "c0:56:e3:00:00:02", "00:50:56:00:00:09"
    answer = camera_probe_match("DS-7608NI-K2", activated="true")
    frames = [(T0, _udp(lan1, vms, "10.0.0.64", "10.0.0.9", 37020, 37020, answer)),
              (T0 + 1, _udp(lan2, vms, "10.1.0.64", "10.0.0.9", 37020, 37020, answer))]
    found = devices(tmp_path, frames)
    assert f"mac:{lan2}" not in found
    assert found[f"mac:{lan1}"].attributes["link.mac"] == [lan1, lan2]


def test_two_interfaces_with_one_fully_qualified_name_are_one_device(tmp_path: Path) -> None:
    a, b = "00:1b:21:00:00:0a", "00:1b:21:00:00:0b"
    frames = [*dhcp_lease(T0, a, "10.0.0.80", fqdn=b"app01.corp.example.com"),
              *dhcp_lease(T0 + 1, b, "10.0.0.81", fqdn=b"app01.corp.example.com")]
    found = devices(tmp_path, frames)
    assert set(found) == {f"mac:{a}", f"mac:{ROUTER}"}
    assert found[f"mac:{a}"].attributes["link.mac"] == [a, b]


def test_one_device_across_dhcp_address_changes(tmp_path: Path) -> None:
    cam = "ac:cc:8e:4a:10:01"
    frames = [*dhcp_lease(T0, cam, "10.0.0.20", hostname=b"axis-cam"),
              *dhcp_lease(T0 + 86_400, cam, "10.0.0.99", hostname=b"axis-cam")]  # a new lease a day later
    found = devices(tmp_path, frames)
    assert set(found) == {f"mac:{cam}", f"mac:{ROUTER}"}
    assert found[f"mac:{cam}"].ips == ["10.0.0.20", "10.0.0.99"]  # the history, oldest first
    assert "link.mac" not in found[f"mac:{cam}"].attributes


def test_mac_derived_client_identifiers_link_nothing() -> None:
    linker = InterfaceLinker()
    span = {"00:11:22:33:44:55": (0.0, 1.0), "00:11:22:33:44:66": (2.0, 3.0)}.get
    assert derived_from("01:00:11:22:33:44:55", "00:11:22:33:44:55")
    assert linker.offer("dhcp.client_id", "01:00:11:22:33:44:55", "00:11:22:33:44:55", span) is None
    assert linker.offer("dhcp.client_id", "01:00:11:22:33:44:55", "00:11:22:33:44:66", span) is None
    assert linker.alias == {}


def test_the_locally_administered_bit_is_what_randomised_means() -> None:
    assert randomised(PHONE_1)
    assert not randomised("00:11:22:33:44:55")
    assert not randomised("zz:11:22:33:44:55")


def test_a_device_gathers_at_most_max_interfaces_macs(monkeypatch: pytest.MonkeyPatch) -> None:
    linker = InterfaceLinker()

    def span(mac: str) -> tuple[float, float]:
        return (0.0, 1.0)

    macs = [f"00:1b:21:00:01:{i:02x}" for i in range(MAX_INTERFACES + 3)]
    for mac in macs:
        linker.offer("enip.serial", "0x1234abcd", mac, span)
    assert len(linker.interfaces(macs[0])) == MAX_INTERFACES
    assert linker.dropped == 3


def test_link_facts_table_is_bounded_and_overflow_is_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    from iotwarden.inventory import linking

    monkeypatch.setattr(linking, "MAX_LINK_FACTS", 2)
    linker = InterfaceLinker()
    for i in range(4):
        linker.offer("dhcp.fqdn", f"host{i}.example.com", f"00:1b:21:00:02:{i:02x}", lambda mac: None)
    assert len(linker.first_holder) == 2
    assert linker.dropped == 2


def test_two_linked_groups_sharing_a_fact_become_one_with_one_root() -> None:
    linker = InterfaceLinker()
    a, b, c, d = (f"00:1b:21:00:03:{i:02x}" for i in range(4))

    def span(mac: str) -> tuple[float, float]:
        return (0.0, 1.0)

    assert linker.offer("enip.serial", "s1", a, span) is None
    assert linker.offer("enip.serial", "s1", b, span) == a
    assert linker.offer("s7comm.serial_number", "s2", c, span) is None
    assert linker.offer("s7comm.serial_number", "s2", d, span) == c
    assert linker.offer("dhcp.fqdn", "plc.example.com", a, span) is None
    assert linker.offer("dhcp.fqdn", "plc.example.com.", d, span) == a  # d's group {c, d} joins a's
    assert linker.interfaces(a) == [a, b, c, d]
    assert {linker.canonical(m) for m in (a, b, c, d)} == {a}
