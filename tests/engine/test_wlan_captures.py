"""802.11 captures built with scapy, both link types, pcap and pcapng: what the engine reads of them
agrees with tshark, and a DHCP + mDNS exchange over Wi-Fi gives the inventory it gives over Ethernet."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from iotwarden.engine.core import Engine
from iotwarden.engine.decode import addr_text, decode, mac48, mac_texts
from iotwarden.services.analyze import analyze
from iotwarden.sources.capfile import read_capture
from iotwarden.store import Store
from iotwarden.store.schema import DeviceRow, FlowRow
from tests.engineutil import engine_run
from tests.services import builders as b

pytest.importorskip("scapy", reason="scapy (the bench extra) builds these captures")
from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.dns import DNS, DNSQR
from scapy.layers.dot11 import (
    Dot11,
    Dot11AssoReq,
    Dot11Beacon,
    Dot11Elt,
    Dot11FCS,
    Dot11ProbeReq,
    Dot11QoS,
    Dot11ReassoReq,
    RadioTap,
)
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import ARP, LLC, SNAP, Ether
from scapy.packet import Packet, Raw
from scapy.utils import mac2str, wrpcap, wrpcapng

AP, STA, GW, PEER = "02:00:00:00:00:03", "02:00:00:00:00:07", "02:00:00:00:00:09", "02:00:00:00:00:0b"
RELAY = "02:00:00:00:00:04"  # the second radio of a WDS link (four-address frames)


def _frames(radiotap: bool) -> list[Packet]:
    """A DNS query up (To DS), its answer down (QoS, From DS, with FCS under radiotap), a WDS frame
    (four addresses, QoS + HT Control), and frames with no packet: beacon, protected, null data, ACK."""

    def wrap(frame: Packet, *, fcs: bool = False) -> Packet:
        if not radiotap:
            return frame
        if fcs:  # the frame, then its FCS (CRC-32, least significant byte first: 802.11-2020 §9.2.4.8)
            body = bytes(frame)
            return RadioTap(present="Flags", Flags="FCS") / Dot11FCS(body + struct.pack("<I", zlib.crc32(body)))
        return RadioTap() / frame

    query = IP(src="10.0.0.5", dst="10.0.0.1") / UDP(sport=5000, dport=53) / DNS(rd=1, qd=DNSQR(qname="example.com"))
    answer = IP(src="10.0.0.1", dst="10.0.0.5") / UDP(sport=53, dport=5000) / DNS(qr=1, qd=DNSQR(qname="example.com"))
    wds = bytes(Dot11(type=2, subtype=8, FCfield="to_DS+from_DS+order", addr1=AP, addr2=RELAY, addr3=GW, addr4=PEER)
                / Dot11QoS()) + b"\0\0\0\0" + bytes(LLC() / SNAP() / IP(src="10.0.0.11", dst="10.0.0.9")
                                                    / UDP(sport=4000, dport=4001) / Raw(b"wds"))
    return [
        wrap(Dot11(type=2, subtype=0, FCfield="to_DS", addr1=AP, addr2=STA, addr3=GW) / LLC() / SNAP() / query),
        wrap(Dot11(type=2, subtype=8, FCfield="from_DS", addr1=STA, addr2=AP, addr3=GW) / Dot11QoS() / LLC() / SNAP()
             / answer, fcs=True),
        wrap(Dot11(wds)),
        wrap(Dot11(type=0, subtype=8, addr1="ff:ff:ff:ff:ff:ff", addr2=AP, addr3=AP) / Dot11Beacon()
             / Dot11Elt(ID="SSID", info="lab")),
        wrap(Dot11(type=2, subtype=0, FCfield="to_DS+protected", addr1=AP, addr2=STA, addr3=GW) / Raw(b"\x01" * 40)),
        wrap(Dot11(type=2, subtype=4, FCfield="to_DS", addr1=AP, addr2=STA, addr3=AP)),
        wrap(Dot11(type=1, subtype=13, addr1=STA)),
    ]


EXPECTED = [  # (SA, DA, source IP, destination IP) per frame; None: no IP packet
    (STA, GW, "10.0.0.5", "10.0.0.1"),
    (GW, STA, "10.0.0.1", "10.0.0.5"),
    (PEER, GW, "10.0.0.11", "10.0.0.9"),
    None, None, None, None,
]
NOT_IP = {"wlan_management": 1, "wlan_protected": 1, "wlan_null_data": 1, "wlan_control": 1}
WRITERS: dict[str, Callable[[str, list[Packet]], Any]] = {"pcap": wrpcap, "pcapng": wrpcapng}


def _ours(path: Path) -> list[tuple[str | None, str | None, str, str] | None]:
    rows: list[tuple[str | None, str | None, str, str] | None] = []
    for batch in read_capture(path):
        h = decode(batch)
        macs = zip(mac_texts(mac48(batch.data, h.src_mac_off)), mac_texts(mac48(batch.data, h.dst_mac_off)),
                   strict=True)
        for i, (sa, da) in enumerate(macs):
            ip = h.ipver[i] > 0 and h.error[i] == 0
            rows.append((sa, da, addr_text(4, 0, int(h.src_lo[i])), addr_text(4, 0, int(h.dst_lo[i]))) if ip else None)
    return rows


def _tshark(path: Path) -> list[tuple[str, ...] | None]:
    done = subprocess.run(["tshark", "-r", str(path), "-T", "fields", "-e", "wlan.sa", "-e", "wlan.da", "-e", "ip.src",
                           "-e", "ip.dst"], capture_output=True, text=True, timeout=60, check=True)
    rows = [tuple(line.split("\t")) for line in done.stdout.splitlines()]
    return [row if len(row) == 4 and row[2] else None for row in rows]


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
@pytest.mark.parametrize("radiotap", [True, False], ids=["radiotap", "bare"])
def test_packets_flows_and_macs_agree_with_tshark(tmp_path: Path, fmt: str, radiotap: bool) -> None:
    path = tmp_path / f"wifi.{fmt}"
    WRITERS[fmt](str(path), _frames(radiotap))
    assert _ours(path) == EXPECTED
    engine = Engine()
    _, flows = engine_run(path, engine)
    assert sorted((f.a_mac, f.b_mac, f.a_ip, f.b_ip, f.app) for f in flows) == [
        (STA, GW, "10.0.0.5", "10.0.0.1", "dns"), (PEER, GW, "10.0.0.11", "10.0.0.9", None)]
    assert dict(engine.stats.decode_errors) == NOT_IP
    assert engine.stats.packets == len(EXPECTED)
    if shutil.which("tshark") is None:
        pytest.skip("tshark is not installed: the comparison with Wireshark's reading is left out")
    assert _ours(path) == _tshark(path)


def _to_wifi(frame: bytes) -> Packet:
    """The Ethernet frame's packet as the router's access point would carry it: sent by a station
    (To DS) or by the router itself (From DS, BSSID = router); QoS data under radiotap with an FCS."""
    eth = Ether(frame)
    payload = LLC() / SNAP(code=eth.type) / eth.payload
    if eth.src == b.ROUTER_MAC:
        dot11 = Dot11FCS(type=2, subtype=8, FCfield="from_DS", addr1=eth.dst, addr2=b.ROUTER_MAC, addr3=eth.src)
    else:
        dot11 = Dot11FCS(type=2, subtype=8, FCfield="to_DS", addr1=b.ROUTER_MAC, addr2=eth.src, addr3=eth.dst)
    return RadioTap(present="Flags", Flags="FCS") / dot11 / Dot11QoS() / payload


DEVICE_FIELDS = ("key", "mac", "ips", "hostnames", "attributes", "protocols", "packets", "vendor", "model",
                 "device_type", "category", "os", "firmware", "classification")


def _inventory(path: Path, tmp_path: Path) -> tuple[list[dict[str, Any]], list[tuple[Any, ...]]]:
    store = Store(f"sqlite:///{tmp_path / (path.stem + '.db')}")
    try:
        report = analyze([path], store)
        assert [f.status for f in report.files] == ["complete"]
        with store.session() as s:
            devices = [{k: getattr(d, k) for k in DEVICE_FIELDS} for d in s.scalars(select(DeviceRow))]
            flows = [(f.ip_proto, f.a_ip, f.a_port, f.b_ip, f.b_port, f.app) for f in s.scalars(select(FlowRow))]
    finally:
        store.close()
    return sorted(devices, key=lambda d: d["key"]), sorted(flows)


def test_dhcp_and_mdns_over_wifi_give_the_inventory_they_give_over_ethernet(tmp_path: Path) -> None:
    start = 1_700_000_000.0
    frames = [*b.dhcp_exchange(start), b.arp_reply(start + 0.5), b.mdns_announcement(start + 2.0)]
    ethernet = b.write_pcap(tmp_path / "ethernet.pcap", frames)
    wifi = tmp_path / "wifi.pcap"
    packets = []
    for ts, frame in frames:
        pkt = _to_wifi(frame)
        pkt.time = ts
        packets.append(pkt)
    wrpcap(str(wifi), packets)
    over_ethernet, over_wifi = _inventory(ethernet, tmp_path), _inventory(wifi, tmp_path)
    assert over_wifi == over_ethernet
    devices = {d["key"]: d for d in over_wifi[0]}
    camera = next(d for d in devices.values() if d["mac"] == b.CAMERA_MAC)
    assert camera["vendor"] == "Axis"
    assert "axis-cam-01" in camera["hostnames"]
    assert any(d["mac"] == b.PRINTER_MAC for d in devices.values())


# WSC (WPS) device information (Wi-Fi Simple Configuration v2.0.x §12) in 802.11 requests: a station's
# probe and (re)association requests make no device; their facts join a MAC the network shows otherwise
ROUTER_IP, PRINTER_IP, PHONE_IP, LAPTOP_IP = "192.168.1.1", "192.168.1.50", "192.168.1.51", "192.168.1.52"
PRINTER = "f4:81:39:00:00:01"  # Canon's OUI, a global MAC
PHONE = "9a:6f:22:00:00:05"  # locally administered: a private (randomised) MAC it joins with
LAPTOP = "c8:5b:76:00:00:06"  # on the network before it probes
PASSERS_BY = ("da:a1:19:11:22:33", "7e:4c:00:00:00:08", "00:1a:11:00:00:09")  # two randomised, one global
NEIGHBOUR_CLIENT = "3c:2a:f4:00:00:0a"  # associates with another BSS on the channel, never sends data
# one phone that probes with one randomised MAC and joins with another
RANDOM_PROBER, RANDOM_JOINER = "b2:00:00:00:00:0c", "b6:00:00:00:00:0d"
PRINTER_WPS = {"wps.manufacturer": ["Canon"], "wps.model_name": ["TS5300 series"], "wps.model_number": ["TS5350"],
               "wps.device_name": ["Canon TS5300 series"], "wps.primary_device_type": ["3-0050F204-5"]}


Device = tuple[str, str, str, str, int, int]  # manufacturer, model name and number, device name, category, sub


def _wsc(device: Device) -> Packet:
    """The WSC element (vendor specific, OUI 00:50:F2 type 4) stating ``device`` (§12 attributes)."""
    maker, model, number, name, category, sub = device
    attrs = b"".join(len(v).to_bytes(2, "big").join((t.to_bytes(2, "big"), v)) for t, v in (
        (0x104A, b"\x10"), (0x1021, maker.encode()), (0x1023, model.encode()), (0x1024, number.encode()),
        (0x1011, name.encode()),
        (0x1054, category.to_bytes(2, "big") + bytes.fromhex("0050F204") + sub.to_bytes(2, "big"))))
    return Dot11Elt(ID=221, info=b"\x00\x50\xf2\x04" + attrs)


CANON: Device = ("Canon", "TS5300 series", "TS5350", "Canon TS5300 series", 3, 5)  # printer, MFP
SAMSUNG: Device = ("samsung", "SM-G991B", "SM-G991B", "Galaxy S21", 10, 5)  # telephone, smartphone
LENOVO: Device = ("LENOVO", "ThinkPad", "T14", "WORKLAPTOP", 1, 5)  # computer, notebook


def _probe(sta: str, device: Device) -> Packet:
    """A Probe Request to broadcast (wildcard SSID) carrying the WSC element."""
    return RadioTap() / Dot11(type=0, subtype=4, addr1="ff:ff:ff:ff:ff:ff", addr2=sta, addr3="ff:ff:ff:ff:ff:ff") / (
        Dot11ProbeReq() / Dot11Elt(ID="SSID", info="") / _wsc(device))


def _join(sta: str, device: Device, bssid: str = AP, *, again: bool = False) -> Packet:
    """An Association Request to ``bssid`` (a Reassociation Request with ``again``) carrying the WSC element."""
    fixed = Dot11ReassoReq(current_AP=bssid) if again else Dot11AssoReq()
    return RadioTap() / Dot11(type=0, subtype=2 if again else 0, addr1=bssid, addr2=sta, addr3=bssid) / fixed / (
        Dot11Elt(ID="SSID", info="lab") / _wsc(device))


def _up(sta: str, dst: str, payload: Packet, code: int = 0x0800) -> Packet:
    """A station's frame to the access point (To DS), QoS data with an FCS as the router's AP sends it."""
    return RadioTap() / Dot11(type=2, subtype=0, FCfield="to_DS", addr1=AP, addr2=sta, addr3=dst) / LLC() / SNAP(
        code=code) / payload


def _down(sta: str, payload: Packet) -> Packet:
    """The router (the access point itself, BSSID = its MAC) to ``sta`` (From DS)."""
    return RadioTap() / Dot11(type=2, subtype=0, FCfield="from_DS", addr1=sta, addr2=AP, addr3=AP) / LLC() / SNAP() / (
        payload)


def _joins_the_network(sta: str, ip: str) -> list[Packet]:
    """DHCP DISCOVER and the router's ACK (RFC 2131), a gratuitous ARP (RFC 5227 announcement), a DNS query
    and its answer: the station on the network."""
    bootp = BOOTP(chaddr=mac2str(sta), xid=7)
    return [
        _up(sta, "ff:ff:ff:ff:ff:ff", IP(src="0.0.0.0", dst="255.255.255.255") / UDP(sport=68, dport=67)  # noqa: S104
            / bootp / DHCP(options=[("message-type", "discover"), "end"])),
        _down(sta, IP(src=ROUTER_IP, dst=ip) / UDP(sport=67, dport=68) / BOOTP(op=2, yiaddr=ip, chaddr=mac2str(sta),
                                                                             xid=7)
              / DHCP(options=[("message-type", "ack"), ("server_id", ROUTER_IP), "end"])),
        _up(sta, "ff:ff:ff:ff:ff:ff", ARP(op=2, hwsrc=sta, psrc=ip, hwdst="ff:ff:ff:ff:ff:ff", pdst=ip), 0x0806),
        _up(sta, AP, IP(src=ip, dst=ROUTER_IP) / UDP(sport=6353, dport=53) / DNS(rd=1, qd=DNSQR(qname="a.test"))),
        _down(sta, IP(src=ROUTER_IP, dst=ip) / UDP(sport=53, dport=6353) / DNS(qr=1, qd=DNSQR(qname="a.test"))),
    ]


def _wps_inventory(tmp_path: Path, name: str, frames: list[Packet]) -> dict[str, dict[str, Any]]:
    for i, frame in enumerate(frames):
        frame.time = 1_700_000_000.0 + i
    path = tmp_path / f"{name}.pcapng"
    wrpcapng(str(path), frames)
    devices, _ = _inventory(path, tmp_path)
    return {d["mac"]: d for d in devices}


def _wps(device: dict[str, Any]) -> dict[str, list[str]]:
    return {k: v for k, v in device["attributes"].items() if k.startswith("wps.")}


def test_passers_by_probing_make_no_device(tmp_path: Path) -> None:
    """Stations in range probe (with WSC device information), one associates with a neighbour's BSS on
    the channel: none sends data, none is on the network, none is a device."""
    frames = [_probe(mac, device) for mac, device in zip(PASSERS_BY, (SAMSUNG, LENOVO, CANON), strict=True)]
    frames += [_probe(NEIGHBOUR_CLIENT, CANON), _join(NEIGHBOUR_CLIENT, CANON, bssid="02:00:00:00:00:99"),
               _probe(PASSERS_BY[0], SAMSUNG)]
    assert _wps_inventory(tmp_path, "passers_by", frames) == {}


def test_a_printer_that_probes_then_joins_is_one_device_with_its_wps_facts(tmp_path: Path) -> None:
    """The printer probes, associates, reassociates, then takes an address by DHCP, announces it by ARP
    and asks DNS: its device holds the WSC facts, and the knowledge base its maker, model and type."""
    frames = [_probe(PRINTER, CANON), _join(PRINTER, CANON), _join(PRINTER, CANON, again=True),
              *_joins_the_network(PRINTER, PRINTER_IP)]
    devices = _wps_inventory(tmp_path, "printer", frames)
    assert set(devices) == {PRINTER, AP}  # the printer and the router it talked to
    printer = devices[PRINTER]
    assert _wps(printer) == PRINTER_WPS
    assert (printer["vendor"], printer["model"], printer["device_type"]) == ("Canon", "TS5300 series", "mfp")
    assert printer["ips"] == [PRINTER_IP] and "wps" in printer["protocols"]
    assert _wps(devices[AP]) == {}


def test_probes_of_passers_by_and_of_the_network_s_stations_in_one_capture(tmp_path: Path) -> None:
    """Mixed: passers-by and a neighbour's client make no device; the printer (global MAC) and a phone
    joining with its private MAC keep their WSC facts; a laptop already on the network gets those it
    probes with afterwards; a phone probing with one randomised MAC and joining with another gets none
    (nothing ties the two MACs), and the MAC it probed with is no device."""
    frames = [
        _probe(PASSERS_BY[0], SAMSUNG), *_joins_the_network(LAPTOP, LAPTOP_IP), _probe(PRINTER, CANON),
        _probe(PASSERS_BY[1], LENOVO), _probe(PHONE, SAMSUNG), _join(PRINTER, CANON), _probe(RANDOM_PROBER, SAMSUNG),
        _join(NEIGHBOUR_CLIENT, CANON, bssid="02:00:00:00:00:99"), _join(PHONE, SAMSUNG),
        *_joins_the_network(PRINTER, PRINTER_IP), _probe(PASSERS_BY[2], CANON), _probe(LAPTOP, LENOVO),
        *_joins_the_network(PHONE, PHONE_IP), *_joins_the_network(RANDOM_JOINER, "192.168.1.53"),
    ]
    devices = _wps_inventory(tmp_path, "mixed", frames)
    assert set(devices) == {AP, PRINTER, PHONE, LAPTOP, RANDOM_JOINER}
    assert _wps(devices[PRINTER]) == PRINTER_WPS
    assert devices[PRINTER]["device_type"] == "mfp"
    assert _wps(devices[PHONE]) == {"wps.manufacturer": ["samsung"], "wps.model_name": ["SM-G991B"],
                                    "wps.model_number": ["SM-G991B"], "wps.device_name": ["Galaxy S21"],
                                    "wps.primary_device_type": ["10-0050F204-5"]}
    assert _wps(devices[LAPTOP])["wps.device_name"] == ["WORKLAPTOP"]
    assert _wps(devices[RANDOM_JOINER]) == {} and _wps(devices[AP]) == {}
    # the same stations without the probes: device for device the same, but for the wps facts
    plain = _wps_inventory(tmp_path, "mixed_plain", [f for f in frames if f[Dot11].type != 0])
    assert set(plain) == set(devices)
    assert all(not _wps(d) for d in plain.values())
    assert {m: d["packets"] for m, d in plain.items()} == {m: d["packets"] for m, d in devices.items()}


def test_the_facts_of_stations_never_on_the_network_are_counted(tmp_path: Path) -> None:
    frames = [_probe(mac, device) for mac, device in zip(PASSERS_BY, (SAMSUNG, LENOVO, CANON), strict=True)]
    for i, frame in enumerate(frames):
        frame.time = 1_700_000_000.0 + i
    path = tmp_path / "passers.pcapng"
    wrpcapng(str(path), frames)
    store = Store(f"sqlite:///{tmp_path / 'passers.db'}")
    try:
        (result,) = analyze([path], store).files
    finally:
        store.close()
    counted = result.stats["inventory"]
    assert counted["facts_unplaced"] >= len(PASSERS_BY)  # each station's WSC facts, held and let go
    assert counted["facts_dropped"] == 0
