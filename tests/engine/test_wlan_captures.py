"""802.11 captures built with scapy, both link types, pcap and pcapng: what the engine reads of them
agrees with tshark, and a DHCP + mDNS exchange over Wi-Fi gives the inventory it gives over Ethernet."""

from __future__ import annotations

import shutil
import subprocess
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
from scapy.layers.dns import DNS, DNSQR
from scapy.layers.dot11 import Dot11, Dot11Beacon, Dot11Elt, Dot11FCS, Dot11QoS, RadioTap
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import LLC, SNAP, Ether
from scapy.packet import Packet, Raw
from scapy.utils import wrpcap, wrpcapng

AP, STA, GW, PEER = "02:00:00:00:00:03", "02:00:00:00:00:07", "02:00:00:00:00:09", "02:00:00:00:00:0b"
RELAY = "02:00:00:00:00:04"  # the second radio of a WDS link (four-address frames)


def _frames(radiotap: bool) -> list[Packet]:
    """A DNS query up (To DS), its answer down (QoS, From DS, with FCS under radiotap), a WDS frame
    (four addresses, QoS + HT Control), and frames with no packet: beacon, protected, null data, ACK."""

    def wrap(frame: Packet, *, fcs: bool = False) -> Packet:
        if not radiotap:
            return frame
        if fcs:
            return RadioTap(present="Flags", Flags="FCS") / Dot11FCS(bytes(frame))
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


def test_wps_device_information_of_a_probe_request_reaches_the_inventory(tmp_path: Path) -> None:
    """A printer's WSC element (Wi-Fi Simple Configuration v2.0.x §12) in its Probe and Association Requests:
    the station's device gets the wps.* attributes, and the knowledge base its maker, model and type."""
    from scapy.layers.dot11 import Dot11AssoReq, Dot11ProbeReq

    printer = "f4:81:39:00:00:01"
    attrs = b"".join(len(v).to_bytes(2, "big").join((t.to_bytes(2, "big"), v)) for t, v in (
        (0x104A, b"\x10"), (0x1021, b"Canon"), (0x1023, b"TS5300 series"), (0x1024, b"TS5350"),
        (0x1011, b"Canon TS5300 series"), (0x1054, bytes.fromhex("00030050F2040005"))))
    wsc = Dot11Elt(ID=221, info=b"\x00\x50\xf2\x04" + attrs)
    probe = RadioTap() / Dot11(type=0, subtype=4, addr1="ff:ff:ff:ff:ff:ff", addr2=printer,
                               addr3="ff:ff:ff:ff:ff:ff") / Dot11ProbeReq() / Dot11Elt(ID="SSID", info="") / wsc
    assoc = RadioTap() / Dot11(type=0, subtype=0, addr1=AP, addr2=printer, addr3=AP) / Dot11AssoReq() / Dot11Elt(
        ID="SSID", info="lab") / wsc
    path = tmp_path / "wps.pcapng"
    wrpcapng(str(path), [probe, assoc])
    devices, _ = _inventory(path, tmp_path)
    device = next(d for d in devices if d["mac"] == printer)
    assert {k: v for k, v in device["attributes"].items() if k.startswith("wps.")} == {
        "wps.manufacturer": ["Canon"], "wps.model_name": ["TS5300 series"], "wps.model_number": ["TS5350"],
        "wps.device_name": ["Canon TS5300 series"], "wps.primary_device_type": ["3-0050F204-5"]}
    assert (device["vendor"], device["model"], device["device_type"]) == ("Canon", "TS5300 series", "mfp")
