"""RDP-UDP ([MS-RDPEUDP]) handshake: SYN and SYN+ACK built field by field from §2.2.2 and §3.1.5.1, read by the
dissector, recognised on another port by its probe, and the flow named ``rdp`` by the engine.

tshark 4.0 (``tshark -r F -V``, its rdpudp dissector on udp/3389) reads the capture :func:`_capture` writes as
this test does: "snSourceAck: 0xffffffff", "ReceiveWindowSize: 64", "Flags: 0x1801, Syn, Correlation id, SynEx",
"Initial SequenceNumber: 0x12345678", "Upstream MTU: 1232", "DownStream MTU: 1232", "Correlation Id:
000102030405060708090a0b0c0d0e0f", SynEx "Version: UDPv2 (0x0101)" (RDPUDP_PROTOCOL_VERSION_3, which hands the
connection to [MS-RDPEUDP2]); then the server's "snSourceAck: 0x12345678", "Flags: 0x1005, Syn, Ack, SynEx".
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.base import APP_STATE_KEY, Packet
from iotwarden.dissect.rdpudp import RdpUdpDissector, parse_syn
from iotwarden.model import Observation
from tests.engineutil import engine_run
from tests.risk.harness import T0, host, udp, write_pcap

SYN, ACK, SYNLOSSY, CORRELATION_ID, SYNEX = 0x0001, 0x0004, 0x0200, 0x0800, 0x1000  # §2.2.2.1 uFlags
CORRELATION = bytes(range(16))


def syn(*, isn: int = 0x12345678, window: int = 64, flags: int = SYN | CORRELATION_ID | SYNEX, up: int = 1232,
        down: int = 1232, version: int | None = 0x0101, source_ack: int = 0xFFFFFFFF, pad: bool = True) -> bytes:
    """A SYN datagram (§3.1.5.1.1): RDPUDP_FEC_HEADER, RDPUDP_SYNDATA_PAYLOAD, the correlation id and SYNDATAEX
    payloads their flags announce, zero-padded to 1232 bytes."""
    data = struct.pack("!IHH", source_ack, window, flags) + struct.pack("!IHH", isn, up, down)
    if flags & CORRELATION_ID:
        data += CORRELATION + bytes(16)  # uCorrelationId, uReserved (§2.2.2.8)
    if flags & SYNEX:  # §2.2.2.9: uSynExFlags (RDPUDP_VERSION_INFO_VALID), uUdpVer, cookieHash for version 3
        data += struct.pack("!H", 1 if version is not None else 0)
        if version is not None:
            data += struct.pack("!H", version) + (bytes(32) if version == 0x0101 else b"")
    return data + bytes(max(0, 1232 - len(data))) if pad else data


def syn_ack(*, ack: int = 0x12345678, flags: int = SYN | ACK | SYNEX, version: int | None = 0x0101) -> bytes:
    """The server's SYN+ACK (§3.1.5.1.2): a SYN whose snSourceAck is the client's snInitialSequenceNumber."""
    return syn(isn=0x0BADF00D, flags=flags, source_ack=ack, version=version)


def _pkt(to_server: bool, payload: bytes) -> Packet:
    return Packet(ts=T0, payload=payload, src_ip="10.9.0.5" if to_server else "10.9.0.10",
                  dst_ip="10.9.0.10" if to_server else "10.9.0.5", ip_proto=17, src_port=50000 if to_server else 3389,
                  dst_port=3389 if to_server else 50000, to_server=to_server)


def _run(datagrams: list[tuple[bool, bytes]]) -> tuple[list[Observation], dict[str, Any]]:
    d, state, out = RdpUdpDissector(), {}, []
    for to_server, payload in datagrams:
        out += d.dissect(_pkt(to_server, payload), state)
    return out, state


def test_syn_and_syn_ack_are_read_as_tshark_reads_them() -> None:
    obs, state = _run([(True, syn()), (False, syn_ack())])
    assert [(o.proto, o.kind) for o in obs] == [("rdp", "udp_syn"), ("rdp", "udp_syn_ack")]
    assert obs[0].fields == {"receive_window": 64, "up_mtu": 1232, "down_mtu": 1232, "lossy": False,
                             "udp_version": 3, "correlation_id": CORRELATION.hex(), "padded": True}
    assert obs[1].fields == {"receive_window": 64, "up_mtu": 1232, "down_mtu": 1232, "lossy": False,
                             "udp_version": 3}
    assert state[APP_STATE_KEY] == "rdp" and state["done"]


def test_a_lossy_version_1_syn_without_optional_payloads() -> None:
    obs, _ = _run([(True, syn(flags=SYN | SYNLOSSY, up=1132, down=1200, pad=False))])
    assert obs[0].fields == {"receive_window": 64, "up_mtu": 1132, "down_mtu": 1200, "lossy": True,
                             "udp_version": 1, "correlation_id": None, "padded": False}


def test_retransmitted_syns_and_the_datagrams_after_the_handshake_add_nothing() -> None:
    obs, _ = _run([(True, syn()), (True, syn()), (False, syn_ack()), (True, b"\x00" * 40), (False, b"\x01" * 40)])
    assert [o.kind for o in obs] == ["udp_syn", "udp_syn_ack"]


def test_a_syn_ack_acknowledging_another_sequence_number_is_not_read() -> None:
    obs, state = _run([(True, syn()), (False, syn_ack(ack=0x11111111))])
    assert [o.kind for o in obs] == ["udp_syn"] and state["done"]


def test_what_breaks_the_syn_layout_is_no_syn() -> None:
    assert parse_syn(syn(), ack=False) is not None
    assert parse_syn(syn(source_ack=0), ack=False) is None  # snSourceAck must be -1
    assert parse_syn(syn(flags=ACK | SYN), ack=False) is None  # a SYN+ACK is no SYN
    assert parse_syn(syn(flags=SYN | 0x0008), ack=False) is None  # RDPUDP_FLAG_DATA: not allowed in a SYN
    assert parse_syn(syn(flags=0x0800), ack=False) is None  # no RDPUDP_FLAG_SYN
    assert parse_syn(syn(up=1500), ack=False) is None  # MTUs must lie within 1132..1232
    assert parse_syn(syn(down=576), ack=False) is None
    assert parse_syn(syn(version=0x0007), ack=False) is None  # no such RDPUDP_PROTOCOL_VERSION
    assert parse_syn(syn(pad=False)[:40], ack=False) is None  # the correlation id payload cut short
    assert parse_syn(syn()[:15], ack=False) is None
    assert parse_syn(b"\xff" * 64, ack=False) is None  # every flag set


def test_probe_recognises_a_client_syn_only() -> None:
    d = RdpUdpDissector()
    assert d.probe(syn(), True)
    assert not d.probe(syn(), False)
    assert not d.probe(syn_ack(), True)
    assert not d.probe(b"\x16\xfe\xfd" + bytes(60), True)  # DTLS
    assert not d.probe(bytes(64), True)


def test_a_mid_connection_datagram_names_nothing() -> None:
    obs, state = _run([(True, b"\x00\x00\x00\x05\x00\x40\x00\x0c" + bytes(40))])
    assert obs == [] and APP_STATE_KEY not in state


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=120)), max_size=6))
def test_fuzz_random_datagrams_never_raise(datagrams: list[tuple[bool, bytes]]) -> None:
    _run([(True, syn()), *datagrams])
    _run(datagrams)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF), st.integers(0, 0xFFFF), st.integers(0, 80))
def test_fuzz_headers_never_raise(flags: int, up: int, version: int, cut: int) -> None:
    data = syn(flags=flags, up=up, version=version, pad=False)[: 16 + cut]
    for ack in (True, False):
        fields = parse_syn(data, ack=ack)
        assert fields is None or 1132 <= fields["up_mtu"] <= 1232


def _capture(path: Path, dport: int) -> Path:
    client, server = host(5), host(10)
    return write_pcap(path, udp(client, server, 50000, dport, syn(), t=T0)
                      + udp(server, client, dport, 50000, syn_ack(), t=T0 + 0.01))


def test_the_engine_names_the_flow_rdp_on_its_port_and_by_probe_elsewhere(tmp_path: Path) -> None:
    for port in (3389, 53389):
        obs, flows = engine_run(_capture(tmp_path / f"u{port}.pcap", port))
        assert [(o.kind, o.src_ip) for o in obs if o.proto == "rdp"] == [("udp_syn", "10.9.0.5"),
                                                                       ("udp_syn_ack", "10.9.0.10")]
        assert [(f.ip_proto, f.a_ip, f.b_port, f.app) for f in flows] == [(17, "10.9.0.5", port, "rdp")]
