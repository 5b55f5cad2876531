"""Serial WAN link types (LINKTYPE_PPP, LINKTYPE_PPP_HDLC, LINKTYPE_C_HDLC): the packets behind them decode as
they do behind Ethernet, and the link's own frames (LCP, Cisco SLARP keepalives) are no IP and no error."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from scapy.layers.dns import DNS, DNSQR
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from iotwarden.engine.batch import LINKTYPE_C_HDLC, LINKTYPE_PPP, LINKTYPE_PPP_HDLC
from iotwarden.engine.core import Engine
from iotwarden.sources.linktypes import SUPPORTED_LINKTYPES
from tests.engineutil import engine_run

T0 = 1_700_000_000.0


def _packets() -> list[bytes]:
    """A DNS exchange over IPv4, a TCP handshake over IPv6: the network-layer bytes, link headers added later."""
    q = IP(src="10.1.0.5", dst="10.2.0.53") / UDP(sport=40000, dport=53) / DNS(rd=1, qd=DNSQR(qname="example.com"))
    a = IP(src="10.2.0.53", dst="10.1.0.5") / UDP(sport=53, dport=40000) / DNS(id=q[DNS].id, qr=1, qd=q[DNS].qd)
    syn = IPv6(src="2001:db8::5", dst="2001:db8:1::80") / TCP(sport=50000, dport=80, flags="S", seq=1)
    synack = IPv6(src="2001:db8:1::80", dst="2001:db8::5") / TCP(sport=80, dport=50000, flags="SA", seq=7, ack=2)
    return [bytes(p) for p in (q, a, syn, synack)]


def _write(path: Path, linktype: int, frames: list[bytes]) -> Path:
    with path.open("wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype))
        for i, frame in enumerate(frames):
            ts = T0 + i * 0.01
            fh.write(struct.pack("<IIII", int(ts), round((ts % 1) * 1e6), len(frame), len(frame)))
            fh.write(frame)
    return path


def _ethernet(ip: bytes) -> bytes:
    version = ip[0] >> 4
    return bytes(Ether(src="00:00:5e:00:53:01", dst="00:00:5e:00:53:02", type=0x0800 if version == 4 else 0x86DD)) + ip


def _cisco(ip: bytes, address: int = 0x0F) -> bytes:  # address, control 0, Ethernet type
    return bytes([address, 0]) + struct.pack("!H", 0x0800 if ip[0] >> 4 == 4 else 0x86DD) + ip


def _ppp(ip: bytes, *, framed: bool, compressed: bool = False) -> bytes:
    proto = 0x21 if ip[0] >> 4 == 4 else 0x57
    head = bytes([proto]) if compressed else struct.pack("!H", proto)  # RFC 1661 §6.5 protocol field compression
    return (b"\xff\x03" if framed else b"") + head + ip


def _summary(path: Path) -> tuple[list[tuple[object, ...]], list[tuple[str, str, str, str]]]:
    obs, flows = engine_run(path, Engine())
    flow_rows = sorted((f.ip_proto, f.a_ip, f.a_port, f.b_ip, f.b_port, f.pkts_ab, f.pkts_ba, f.payload_ab,
                        f.payload_ba, f.app) for f in flows)
    return flow_rows, sorted((o.proto, o.kind, o.src_ip or "", str(o.fields)) for o in obs)


@pytest.mark.parametrize(("linktype", "frame"), [
    (LINKTYPE_C_HDLC, _cisco),
    (LINKTYPE_C_HDLC, lambda ip: _cisco(ip, 0x8F)),
    (LINKTYPE_PPP, lambda ip: _ppp(ip, framed=False)),
    (LINKTYPE_PPP, lambda ip: _ppp(ip, framed=True)),
    (LINKTYPE_PPP, lambda ip: _ppp(ip, framed=False, compressed=True)),
    (LINKTYPE_PPP_HDLC, lambda ip: _ppp(ip, framed=True)),
    (LINKTYPE_PPP_HDLC, _cisco),
], ids=["chdlc", "chdlc-broadcast", "ppp", "ppp-hdlc-framing", "ppp-pfc", "ppp_hdlc", "ppp_hdlc-cisco"])
def test_a_serial_link_carries_what_ethernet_does(tmp_path: Path, linktype: int, frame: object) -> None:
    ips = _packets()
    serial = _write(tmp_path / "serial.pcap", linktype, [frame(ip) for ip in ips])  # type: ignore[operator]
    ether = _write(tmp_path / "ether.pcap", 1, [_ethernet(ip) for ip in ips])
    flows, obs = _summary(serial)
    assert len(flows) == 2
    assert (flows, obs) == _summary(ether)
    assert any(o[0] == "dns" for o in obs)


def test_the_links_own_frames_are_no_ip_and_no_error(tmp_path: Path) -> None:
    lcp = b"\xff\x03\xc0\x21" + bytes([1, 1, 0, 4])  # LCP Configure-Request (RFC 1661 §5.1), no options
    slarp = b"\x8f\x00\x80\x35" + bytes(14)  # Cisco SLARP keepalive
    path = _write(tmp_path / "link.pcap", LINKTYPE_PPP_HDLC, [lcp, slarp])
    engine = Engine()
    obs, flows = engine_run(path, engine)
    assert (obs, flows) == ([], [])
    assert "unsupported_linktype" not in engine.stats.decode_errors


def test_a_frame_shorter_than_its_link_header_is_a_short_link_header(tmp_path: Path) -> None:
    path = _write(tmp_path / "short.pcap", LINKTYPE_C_HDLC, [b"\x0f\x00\x08"])
    engine = Engine()
    assert engine_run(path, engine) == ([], [])
    assert engine.stats.decode_errors.get("short_link_header") == 1


def test_the_serial_link_types_are_supported() -> None:
    assert {LINKTYPE_PPP, LINKTYPE_PPP_HDLC, LINKTYPE_C_HDLC} <= SUPPORTED_LINKTYPES
