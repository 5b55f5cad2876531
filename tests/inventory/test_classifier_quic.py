"""The classifier on a device whose only evidence is a QUIC Initial (dissect/quic.py): its ClientHello's SNI
reaches the knowledge base as ``tls.sni``, exactly as the same hello over TCP does (kb/data/rules/tls.yaml)."""

from __future__ import annotations

from pathlib import Path

import dpkt

from iotwarden.addons import default_analyzers
from iotwarden.model import Device
from tests.dissect.quicbuild import client_hello, crypto_frame, initial
from tests.risk.harness import run_capture
from tests.services.builders import Frame, tcp, udp, write_pcap

# a locally administered MAC (IEEE 802 §8.2.2: no maker) on a private address, and the gateway towards a
# Google address; weather.nest.com is in tls.yaml (tls.sni.nest, tls.sni.nest_weather)
DEVICE_MAC, GATEWAY_MAC = "0a:1b:2c:3d:4e:5f", "0e:00:00:00:00:01"
DEVICE_IP, CLOUD_IP = "192.168.7.23", "142.250.180.10"
SNI = "weather.nest.com"


def inventory(path: Path) -> dict[str, Device]:
    """The devices the default analyzers make of a capture (engine, inventory, classifier)."""
    return run_capture(path, default_analyzers()).devices


def quic_capture(path: Path) -> Path:
    """The device's QUIC connection: its Initial (the ClientHello), then 1-RTT packets both ways."""
    out = (DEVICE_MAC, GATEWAY_MAC, DEVICE_IP, CLOUD_IP, 51515, 443)
    back = (GATEWAY_MAC, DEVICE_MAC, CLOUD_IP, DEVICE_IP, 443, 51515)
    hello = initial(crypto_frame(0, client_hello(SNI, alpn=("h3",))), scid=bytes(8))
    frames: list[Frame] = [(1_700_000_000.0, udp(out, hello))]
    frames += [(1_700_000_000.1 + i / 100, udp(back if i % 2 else out, b"\x41" + bytes(8) + bytes(60)))
               for i in range(10)]
    return write_pcap(path, frames)


def tls_capture(path: Path) -> Path:
    """The same ClientHello over TCP (a TLS record, RFC 8446 §5.1) after a three-way handshake."""
    out = (DEVICE_MAC, GATEWAY_MAC, DEVICE_IP, CLOUD_IP, 51516, 443)
    back = (GATEWAY_MAC, DEVICE_MAC, CLOUD_IP, DEVICE_IP, 443, 51516)
    message = client_hello(SNI, alpn=("h2",))
    record = b"\x16\x03\x01" + len(message).to_bytes(2, "big") + message
    syn, ack, psh = dpkt.tcp.TH_SYN, dpkt.tcp.TH_ACK, dpkt.tcp.TH_PUSH
    t = 1_700_000_000.0
    return write_pcap(path, [(t, tcp(out, syn, 100, 0)), (t + 0.01, tcp(back, syn | ack, 900, 101)),
                             (t + 0.02, tcp(out, ack, 101, 901)), (t + 0.03, tcp(out, psh | ack, 101, 901, record))])


def test_a_device_known_only_by_its_quic_initial_is_classified_by_its_sni(tmp_path: Path) -> None:
    device = inventory(quic_capture(tmp_path / "quic.pcap"))[f"mac:{DEVICE_MAC}"]
    assert device.attributes["tls.sni"] == {SNI}
    assert all(v.startswith("q13d") for v in device.attributes["tls.ja4"])
    assert "quic" in device.protocols
    assert (device.vendor, device.category) == ("Google Nest", "iot")


def test_quic_and_tls_hellos_naming_one_cloud_classify_alike(tmp_path: Path) -> None:
    over_quic = inventory(quic_capture(tmp_path / "quic.pcap"))[f"mac:{DEVICE_MAC}"]
    over_tcp = inventory(tls_capture(tmp_path / "tls.pcap"))[f"mac:{DEVICE_MAC}"]
    assert over_quic.attributes["tls.sni"] == over_tcp.attributes["tls.sni"] == {SNI}
    assert (over_quic.vendor, over_quic.device_type, over_quic.category) == (
        over_tcp.vendor, over_tcp.device_type, over_tcp.category)
