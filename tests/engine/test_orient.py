"""Who initiated a flow (engine/orient.py): a SYN, a SYN+ACK seen first, else the end on a likely server port.

Flows are hand-built (tests/sources/capbuild.py); the real capture is ics_iti MELSEC/melsoft_variant_clean.pcap,
which begins with the PLC's answer on tcp/5562 (tshark: frame 1 is 192.168.3.250:5562 -> 192.168.3.18:5001,
a 0xD7 MELSOFT response).
"""

from __future__ import annotations

import struct

import numpy as np
import pytest

from iotwarden.dissect.dnp3 import Dnp3Dissector
from iotwarden.engine import service_ports
from iotwarden.engine.core import Engine
from iotwarden.engine.decode import decode
from iotwarden.engine.flowtable import FlowTable
from iotwarden.engine.orient import DYNAMIC_START, OLD_CLIENT_SERVICE, SERVICE, SYSTEM, ServerPorts
from iotwarden.engine.segments import SegmentRules
from iotwarden.model import Flow
from iotwarden.sources.capfile import read_capture
from tests.conftest import shared
from tests.inventory.test_ics_iti_acceptance import _devices
from tests.sources.capbuild import ACK, PSH, RST, SYN, batch_of, ethernet, mac, tcp, udp

C, S = "10.0.0.5", "10.0.0.80"
CM, SM = "02:00:00:00:00:01", "02:00:00:00:00:02"  # capbuild mac(1), mac(2)
Frames = list[tuple[float, bytes]]


def _c2s(t: float, sport: int, dport: int, flags: int = PSH | ACK, data: bytes = b"q") -> tuple[float, bytes]:
    return t, ethernet(tcp(C, S, sport, dport, flags, 100, data), src=1, dst=2)


def _s2c(t: float, sport: int, dport: int, flags: int = PSH | ACK, data: bytes = b"answer") -> tuple[float, bytes]:
    return t, ethernet(tcp(S, C, sport, dport, flags, 500, data), src=2, dst=1)


def _run(frames: Frames, engine: Engine | None = None, batch: int = 65536) -> list[Flow]:
    engine = engine or Engine([])
    flows: list[Flow] = []
    for lo in range(0, len(frames), batch):
        flows += engine.process(batch_of(frames[lo : lo + batch])).flows
    return flows + engine.flush().flows


def _ends(flow: Flow) -> tuple[str, int, str, int, str | None, str | None]:
    return flow.a_ip, flow.a_port, flow.b_ip, flow.b_port, flow.a_mac, flow.b_mac


def _to_server(frames: Frames, ports: ServerPorts, batch: int = 65536) -> list[bool]:
    """Each packet's direction as tier 2 sees it (dispatch, reassembly), in capture order."""
    table = FlowTable(SegmentRules(60.0, 60.0, 3600.0, 1.0), 100, ports)
    out: list[tuple[int, bool]] = []
    for lo in range(0, len(frames), batch):
        b = batch_of(frames[lo : lo + batch])
        pf, _ = table.update(decode(b), b.ts, b.wirelen.astype(np.int64), b.data)
        out += [(lo + int(i), bool(t)) for i, t in zip(pf.idx, pf.to_server, strict=True)]
    return [t for _, t in sorted(out)]


def test_a_syn_names_the_initiator() -> None:
    frames = [_c2s(1.0, 40000, 80, SYN, b""), _s2c(1.1, 80, 40000, SYN | ACK, b""), _c2s(1.2, 40000, 80)]
    [flow] = _run(frames)
    assert _ends(flow) == (C, 40000, S, 80, CM, SM)
    assert "flipped" not in flow.extra


def test_a_syn_ack_seen_first_is_the_responders() -> None:
    frames = [_s2c(1.1, 80, 40000, SYN | ACK, b""), _c2s(1.2, 40000, 80), _s2c(1.3, 80, 40000)]
    [flow] = _run(frames)
    assert _ends(flow) == (C, 40000, S, 80, CM, SM)
    assert (flow.pkts_ab, flow.pkts_ba, flow.payload_ab, flow.payload_ba) == (1, 2, 1, 6)
    assert (flow.tcp_flags_ab, flow.tcp_flags_ba) == (PSH | ACK, SYN | ACK | PSH)
    assert flow.extra["flipped"] == "syn-ack"
    assert _to_server(frames, ServerPorts.of()) == [False, True, False]


def test_a_reordered_handshake_is_oriented_by_its_syn() -> None:
    # the SYN+ACK captured before its SYN (Zeek: Connection::FlipRoles); both ports ephemeral
    frames = [_s2c(1.0, 7000, 40000, SYN | ACK, b""), _c2s(1.0, 40000, 7000, SYN, b""), _c2s(1.1, 40000, 7000)]
    [flow] = _run(frames)
    assert _ends(flow) == (C, 40000, S, 7000, CM, SM)
    assert flow.extra["flipped"] == "syn"


def test_a_syn_ack_answered_by_a_reset_is_a_probe_and_keeps_its_sender() -> None:
    # a SYN/ACK scan from an ephemeral port: Zeek declines to flip it ("doesn't work for stealth scans")
    frames = [_c2s(1.0, 40000, 80, SYN | ACK, b""), _s2c(1.1, 80, 40000, RST, b"")]
    [flow] = _run(frames)
    assert _ends(flow) == (C, 40000, S, 80, CM, SM)
    assert "flipped" not in flow.extra


def test_a_syn_ack_seen_first_and_a_session_later_reset_by_the_client_is_still_the_responders() -> None:
    frames = [_s2c(1.0, 7000, 40000, SYN | ACK, b""), _c2s(1.1, 40000, 7000), _c2s(1.2, 40000, 7000, RST, b"")]
    [flow] = _run(frames)
    assert _ends(flow) == (C, 40000, S, 7000, CM, SM)
    assert flow.extra["flipped"] == "syn-ack"


def test_joined_mid_stream_the_end_on_a_well_known_port_is_the_server() -> None:
    # Modbus/TCP (tcp/502): the PLC's answer is the capture's first packet
    frames = [_s2c(1.0, 502, 40000), _c2s(1.1, 40000, 502), _s2c(1.2, 502, 40000)]
    [flow] = _run(frames)
    assert _ends(flow) == (C, 40000, S, 502, CM, SM)
    assert (flow.pkts_ab, flow.pkts_ba, flow.bytes_ab, flow.bytes_ba) == (1, 2, len(frames[1][1]),
                                                                         len(frames[0][1]) + len(frames[2][1]))
    assert flow.extra["flipped"] == "port"
    assert _to_server(frames, ServerPorts.of()) == [False, True, False]


def test_joined_mid_stream_a_declared_port_makes_the_server() -> None:
    # tcp/7777 names no service: only a table whose dissectors declare it makes its end the server
    frames = [_s2c(1.0, 7777, 40000), _c2s(1.1, 40000, 7777)]
    assert _to_server(frames, ServerPorts.of(tcp=(7777,))) == [False, True]
    assert _to_server(frames, ServerPorts.of()) == [True, False]
    # DNP3's tcp/20000 is no System Port, but IANA names it ("dnp"): an engine without dissectors knows it
    [bare] = _run([_s2c(1.0, 20000, 40000), _c2s(1.1, 40000, 20000)], Engine([]))
    assert (_ends(bare), bare.extra["flipped"]) == ((C, 40000, S, 20000, CM, SM), "port")


@pytest.mark.parametrize(("first", "second"), [(5555, 40000), (502, 80), (49152, 40000)])
def test_joined_mid_stream_without_one_likely_server_port_keeps_the_first_sender(first: int, second: int) -> None:
    # two ephemeral ports; two likely server ports; a declared port in the dynamic range (RFC 6335 §6) facing
    # an ephemeral one
    frames = [_s2c(1.0, first, second), _c2s(1.1, second, first)]
    [flow] = _run(frames, Engine([Dnp3Dissector()]) if first == 49152 else None)
    assert _ends(flow) == (S, first, C, second, SM, CM)
    assert not ServerPorts.of(tcp=(49152,)).tcp[49152]
    assert ServerPorts.of(tcp=(7777,)).tcp[7777] == SERVICE


def test_a_udp_answer_whose_request_was_not_captured_is_the_servers() -> None:
    frames = [(1.0, ethernet(udp(S, C, 53, 40000, b"answer"), src=2, dst=1)),
              (1.5, ethernet(udp(C, S, 40000, 53, b"query"), src=1, dst=2))]
    [flow] = _run(frames)
    assert _ends(flow) == (C, 40000, S, 53, CM, SM)
    assert (flow.pkts_ab, flow.pkts_ba, flow.payload_ab, flow.payload_ba, flow.extra["flipped"]) == (1, 1, 5, 6, "port")


def _broadcast(l3: bytes) -> bytes:
    return b"\xff" * 6 + mac(2) + struct.pack(">H", 0x0800) + l3


@pytest.mark.parametrize("frame", [
    ethernet(udp(S, "255.255.255.255", 53, 40000, b"x"), src=2, dst=1),  # limited broadcast
    ethernet(udp(S, "239.255.255.250", 53, 40000, b"x"), src=2, dst=1),  # IPv4 multicast
    _broadcast(udp(S, "10.0.0.255", 53, 40000, b"x")),  # subnet broadcast: told by the MAC only
], ids=["limited-broadcast", "ipv4-multicast", "subnet-broadcast"])
def test_udp_to_a_broadcast_or_multicast_destination_never_flips(frame: bytes) -> None:
    [flow] = _run([(1.0, frame)])
    assert (flow.a_ip, flow.a_port) == (S, 53)


@pytest.mark.parametrize("cut", [1, 2, 4])
def test_a_flow_over_several_batches_keeps_the_orientation_its_first_batch_gave(cut: int) -> None:
    frames = [_s2c(1.0, 502, 40000), _c2s(1.1, 40000, 502), _s2c(1.2, 502, 40000),
              _c2s(1.3, 40000, 502), _c2s(1.4, 40000, 502)]
    [flow] = _run(frames, batch=cut)
    assert _ends(flow) == (C, 40000, S, 502, CM, SM)
    assert (flow.pkts_ab, flow.pkts_ba, flow.extra["flipped"]) == (3, 2, "port")
    assert _to_server(frames, ServerPorts.of(), batch=cut) == [False, True, False, True, True]


@pytest.mark.parametrize("cut", [1, 65536])
def test_a_syn_after_payload_names_no_initiator(cut: int) -> None:
    # two ephemeral ports: the first sender initiates, and a SYN of the other end after the flow carried payload
    # changes nothing (Zeek: "SYN_inside_connection"), in the same batch or a later one
    frames = [_s2c(1.0, 7000, 40000), _c2s(1.1, 40000, 7000, SYN, b"")]
    [flow] = _run(frames, batch=cut)
    assert _ends(flow) == (S, 7000, C, 40000, SM, CM)
    assert "flipped" not in flow.extra


@pytest.mark.parametrize(("frames", "ends", "flipped"), [
    # the SYN+ACK ends a batch, its SYN begins the next (both ports ephemeral)
    ([_s2c(1.0, 7000, 40000, SYN | ACK, b""), _c2s(1.0, 40000, 7000, SYN, b""), _c2s(1.1, 40000, 7000)],
     (C, 40000, S, 7000, CM, SM), "syn"),
    # a bare ACK left of an earlier connection, then the other end's SYN opens one on the same ports
    ([_s2c(1.0, 7000, 40000, ACK, b""), _c2s(1.1, 40000, 7000, SYN, b""), _s2c(1.2, 7000, 40000, SYN | ACK, b""),
      _c2s(1.3, 40000, 7000)], (C, 40000, S, 7000, CM, SM), "syn"),
    # a SYN/ACK probe whose RST comes in the next batch: the prober stays the initiator
    ([_c2s(1.0, 40000, 80, SYN | ACK, b""), _s2c(1.1, 80, 40000, RST, b"")], (C, 40000, S, 80, CM, SM), None),
    # joined mid-stream on a server port, a pure ACK first: the port decides, and the later data keeps it
    ([_s2c(1.0, 502, 40000, ACK, b""), _c2s(1.1, 40000, 502), _s2c(1.2, 502, 40000)],
     (C, 40000, S, 502, CM, SM), "port"),
], ids=["reordered-handshake", "syn-after-a-bare-ack", "syn-ack-probe", "port"])
def test_a_flow_without_payload_yet_is_oriented_as_one_batch_would(frames: Frames, ends: tuple[object, ...],
                                                                   flipped: str | None) -> None:
    whole = _run(frames)
    for cut in (1, 2):
        assert _run(frames, batch=cut) == whole
    [flow] = whole
    assert (_ends(flow), flow.extra.get("flipped")) == (ends, flipped)
    # tier 2 (which takes payload alone) sees each payload packet in the final orientation's direction, wherever
    # the batches are cut
    carry = [len(frame) > 14 + 20 + 20 for _, frame in frames]  # Ethernet, IPv4, TCP headers, then payload
    cut_one, whole_batch = _to_server(frames, ServerPorts.of(), batch=1), _to_server(frames, ServerPorts.of())
    assert [t for t, c in zip(cut_one, carry, strict=True) if c] == [t for t, c in zip(whole_batch, carry,
                                                                                          strict=True) if c]


def test_a_flow_whose_payload_tier_2_has_seen_keeps_its_orientation() -> None:
    # the first batch's data went to tier 2 as the first sender's: a SYN+ACK probe's RST one batch later leaves it
    frames = [_c2s(1.0, 40000, 7000, SYN | ACK, b""), _s2c(1.05, 7000, 40000), _c2s(1.1, 40000, 7000, RST, b"")]
    [late] = _run(frames, batch=2)
    assert (_ends(late), late.extra["flipped"]) == ((S, 7000, C, 40000, SM, CM), "syn-ack")


def test_melsoft_joined_mid_stream_the_plc_on_tcp_5562_is_the_responder() -> None:
    path = shared("pcaps", "ics_iti", "pcaps", "MELSEC", "melsoft_variant_clean.pcap")
    engine = Engine()
    flows = [f for b in read_capture(path) for f in engine.process(b).flows] + engine.flush().flows
    [flow] = flows
    # GX Works at 192.168.3.18 polls the FX5U at 192.168.3.250:5562 (tshark -z conv,tcp: 11699 frames from .18,
    # 11045 from .250). Every frame is captured twice, once on each side of a relay (00:0c:29:0e:15:a7 forwards
    # both ways, TTL unchanged), and the first frame is the relay's copy of the PLC's answer, so the PLC end's
    # MAC in the flow is the relay's.
    assert (flow.a_ip, flow.a_port, flow.b_ip, flow.b_port, flow.app) == ("192.168.3.18", 5001, "192.168.3.250",
                                                                          5562, "melsoft")
    assert (flow.pkts_ab, flow.pkts_ba, flow.extra["flipped"]) == (11699, 11045, "port")
    assert (flow.a_mac, flow.b_mac) == ("38:e0:8e:e0:4e:07", "00:0c:29:0e:15:a7")
    devices = _devices(path)
    plc_end, gx_works = devices["mac:00:0c:29:0e:15:a7"], devices["mac:38:e0:8e:e0:4e:07"]
    assert "192.168.3.250" in plc_end.ips
    assert plc_end.attributes.get("service.server") == {"melsoft"}
    assert "service.client" not in plc_end.attributes
    assert gx_works.attributes.get("service.client") == {"melsoft"}
    assert "service.server" not in gx_works.attributes


@pytest.mark.parametrize(("server", "client"), [
    (2049, 800),  # NFS: a client binds a reserved port (Linux: 665-1023) to reach nfsd
    (513, 1023),  # rlogin: rresvport() binds 512-1023, from the top
    (514, 1022),  # rsh
    (22, 1023),  # ssh with a privileged source port (UsePrivilegedPort)
    (3306, 40000), (5432, 40000), (1883, 40000), (8883, 40000), (3389, 50000),  # named services above 1023
    (20000, 40000),  # DNP3 without a DNP3 dissector: IANA names the port
    (20000, 1080), (20000, 1723),  # a DNP3 master on Windows XP polls from a port of 1025-5000 IANA names too
])
def test_joined_mid_stream_a_named_service_port_is_the_server_whatever_the_clients_port(server: int,
                                                                                         client: int) -> None:
    frames = [_s2c(1.0, server, client), _c2s(1.1, client, server), _s2c(1.2, server, client)]
    [flow] = _run(frames, Engine([]))
    assert (_ends(flow), flow.extra["flipped"]) == ((C, client, S, server, CM, SM), "port")
    # the client's first packet keeps its sender
    [kept] = _run(frames[1:], Engine([]))
    assert _ends(kept) == (C, client, S, server, CM, SM) and "flipped" not in kept.extra


@pytest.mark.parametrize(("first", "second", "flipped"), [
    (700, 900, True), (900, 700, False),  # two unnamed System Ports: the lower serves
    (443, 8883, True), (8883, 443, False),  # two named services: the lower serves (Zeek's tie-break)
    (1433, 3306, True), (3306, 1433, False),  # two named services of Windows XP's client ports (1025-5000)
])
def test_joined_mid_stream_tcp_ports_of_one_rank_make_the_lower_the_server(first: int, second: int,
                                                                          flipped: bool) -> None:
    [flow] = _run([_s2c(1.0, first, second), _c2s(1.1, second, first)], Engine([]))
    low, high = min(first, second), max(first, second)
    assert (flow.a_port, flow.b_port) == (high, low)
    assert flow.extra.get("flipped") == ("port" if flipped else None)


def test_a_syn_ack_probe_between_two_service_ports_keeps_its_sender() -> None:
    # Zeek's tie-break never flips a first packet carrying SYN ("to avoid confusing stealth scans")
    frames = [_c2s(1.0, 80, 443, SYN | ACK, b""), _s2c(1.1, 443, 80, RST, b"")]
    [flow] = _run(frames, Engine([]))
    assert (_ends(flow), flow.extra.get("flipped")) == ((C, 80, S, 443, CM, SM), None)


@pytest.mark.parametrize(("first", "second", "flipped"), [
    (53, 5353, False),  # two named services: the first sender stays the initiator (Zeek's UDPAnalyzer)
    (123, 700, True),  # a named service facing an unnamed System Port: the named one serves
    (2049, 800, True),  # NFS over UDP
])
def test_joined_mid_stream_udp_flips_only_towards_the_higher_ranked_port(first: int, second: int,
                                                                         flipped: bool) -> None:
    frames = [(1.0, ethernet(udp(S, C, first, second, b"answer"), src=2, dst=1)),
              (1.5, ethernet(udp(C, S, second, first, b"query"), src=1, dst=2))]
    [flow] = _run(frames, Engine([]))
    assert (flow.a_port, flow.b_port) == ((second, first) if flipped else (first, second))
    assert flow.extra.get("flipped") == ("port" if flipped else None)


def test_ranks_of_ports() -> None:
    ports = ServerPorts.of(tcp=(7777, 50000), udp=(9999,))
    assert [int(ports.tcp[p]) for p in (2049, 3306, 1080, 7777, 22, 5432, 800, 0, 40000, 50000, 20, 4000)] == [
        OLD_CLIENT_SERVICE, OLD_CLIENT_SERVICE, OLD_CLIENT_SERVICE, SERVICE, SERVICE, SERVICE, SYSTEM, SYSTEM, 0, 0,
        SYSTEM, 0]
    assert [int(ports.udp[p]) for p in (9999, 53, 2049, 68, 47808, 7777)] == [SERVICE, SERVICE, OLD_CLIENT_SERVICE,
                                                                             SYSTEM, SERVICE, 0]
    # the named services hold no dynamic port, nor a port clients take as their source
    for table in (service_ports.TCP, service_ports.UDP):
        assert all(0 < p < DYNAMIC_START for p in table)
    assert 20 not in service_ports.TCP and 68 not in service_ports.UDP
