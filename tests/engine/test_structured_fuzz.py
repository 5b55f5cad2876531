"""Structure-aware fuzz of the default dissectors through the engine: real flows rebuilt message by message.

tests/engine/test_core.py edits frames in place, where a byte inserted or deleted in a TCP segment desynchronises
the stream (the next segment is a hole or a retransmission); here each flow of a real capture is read into its
messages (a TCP direction's segments, a datagram), one to five of them are edited as a parser reads them (a length
or count field inflated, zeroed or set to its maximum, a BER long length, a DNS compression pointer, a run
repeated, a message spliced with another of its protocol, cut, dropped, replayed or moved), and the flow is
written again as clean TCP (handshake, sequence and acknowledgment numbers right) or UDP, so every edit reaches
the dissector in its stream. Only ParseError may come out of a dissector: no crash (analyzer_errors) and no
packet lost. From the brief-E fuzz campaign (37,300 such mutants over 49 protocols, no dissector crash).
"""

from __future__ import annotations

import random
import struct
from pathlib import Path

import dpkt
import pytest

import iotwarden.lab
from iotwarden.dissect import default_dissectors
from iotwarden.engine.core import Engine
from tests.conftest import shared
from tests.sources.capbuild import ACK, FIN, PSH, SYN, batch_of, ethernet, tcp, udp

SV, ICS = ("pcaps", "suricata_verify"), ("pcaps", "ics_iti", "pcaps")
DEMO = Path(iotwarden.lab.__file__).parent / "captures" / "demo.pcap"
# protocol -> (capture, the server port of its flows); None: the bundled lab capture
CASES: dict[str, tuple[tuple[str, ...] | None, int]] = {
    "smb2_dcerpc": (None, 445), "kerberos": (None, 88), "sip": (None, 5060), "http": (None, 80),
    "tls_certificates": (None, 443), "mqtt": (None, 1883),
    "dns_tcp": (("pcaps", "tcpdump_tests", "dns_tcp.pcap"), 53),
    "dhcp_options": (("pcaps", "tcpdump_tests", "dhcp-rfc4388.pcap"), 67),
    "bacnet": ((*ICS, "BACnet", "bacnet_test.pcap"), 47808),
    "s7comm_cotp": ((*ICS, "s7", "S7-1511-opc-request-all-types.pcap"), 102),
    "mms_asn1": ((*ICS, "IEC61850", "8d7c7db0-9804-012b-b2a6-0016cb8cea27.pcap"), 102),
    "enip_cip": ((*ICS, "EthernetIP", "cip_start_plc.pcap"), 44818),
    "modbus": ((*SV, "modbus", "modbus.pcap"), 502),
    "pnio_cm": ((*ICS, "profinet", "profinet.pcap"), 34964),
}
MUTANTS = 60
MAX_MESSAGES = 40
Message = tuple[bool, bytes]  # (to the server, payload)


class Flow:
    """One TCP or UDP conversation of a capture: its ends and its messages in capture order."""

    def __init__(self, proto: int, client: tuple[str, int], server: tuple[str, int]) -> None:
        self.proto, self.client, self.server = proto, client, server
        self.messages: list[Message] = []


def _flows(path: Path, port: int) -> list[Flow]:
    """The IPv4 flows of an Ethernet capture to or from ``port``, retransmitted segments left out."""
    flows: dict[tuple[object, ...], Flow] = {}
    seen: set[tuple[object, ...]] = set()
    with path.open("rb") as fh:
        for _, buf in dpkt.pcap.UniversalReader(fh):
            eth = dpkt.ethernet.Ethernet(buf)
            ip = eth.data
            if not isinstance(ip, dpkt.ip.IP) or not isinstance(ip.data, dpkt.tcp.TCP | dpkt.udp.UDP):
                continue
            t = ip.data
            if port not in (t.sport, t.dport) or ip.mf or ip.offset or not t.data:
                continue
            src = (dpkt.utils.inet_to_str(ip.src), t.sport)
            dst = (dpkt.utils.inet_to_str(ip.dst), t.dport)
            to_server = t.dport == port
            client, server = (src, dst) if to_server else (dst, src)
            key = (ip.p, client, server)
            flow = flows.setdefault(key, Flow(ip.p, client, server))
            if ip.p == 6:
                segment = (key, to_server, t.seq, len(t.data))
                if segment in seen:
                    continue
                seen.add(segment)
            if len(flow.messages) < MAX_MESSAGES:
                flow.messages.append((to_server, bytes(t.data)))
    return list(flows.values())


def _frames(flow: Flow, messages: list[Message]) -> list[tuple[float, bytes]]:
    """``messages`` on ``flow``'s addresses as clean frames: TCP with its handshake and close, segments of at most
    1460 bytes, or one datagram each."""
    out: list[tuple[float, bytes]] = []
    (c, cport), (s, sport) = flow.client, flow.server

    def frame(to_server: bool, l3: bytes) -> None:
        out.append((1_700_000_000.0 + len(out) * 0.001, ethernet(l3, src=1 if to_server else 2,
                                                                  dst=2 if to_server else 1)))

    if flow.proto == 17:
        for to_server, data in messages:
            frame(to_server, udp(c, s, cport, sport, data) if to_server else udp(s, c, sport, cport, data))
        return out
    seq = {True: 1000, False: 500_000}

    def segment(to_server: bool, flags: int, data: bytes = b"") -> None:
        a, b = ((c, cport), (s, sport)) if to_server else ((s, sport), (c, cport))
        frame(to_server, tcp(a[0], b[0], a[1], b[1], flags, seq[to_server], data, ack=seq[not to_server]))
        seq[to_server] += len(data) + (1 if flags & (SYN | FIN) else 0)

    segment(True, SYN)
    segment(False, SYN | ACK)
    segment(True, ACK)
    for to_server, data in messages:
        for lo in range(0, len(data), 1460):
            segment(to_server, PSH | ACK, data[lo : lo + 1460])
    segment(True, FIN | ACK)
    segment(False, FIN | ACK)
    segment(True, ACK)
    return out


def _inflate(m: bytearray, rnd: random.Random) -> None:
    """An integer that may be a length or count (at most what follows it, plus a little) set to a value it should
    not hold."""
    fields = []
    for p in range(min(len(m), 400)):
        rest = len(m) - p
        fields += [(p, "B")] if 2 <= m[p] <= rest else []
        fields += [(p, f) for f in (">H", "<H") if p + 2 <= len(m) and 2 <= struct.unpack_from(f, m, p)[0] <= rest + 8]
        fields += [(p, f) for f in (">I", "<I") if p + 4 <= len(m) and 2 <= struct.unpack_from(f, m, p)[0] <= rest + 8]
    if not fields:
        return
    p, f = rnd.choice(fields)
    v, top = struct.unpack_from(f, m, p)[0], (1 << (8 * struct.calcsize(f))) - 1
    new = rnd.choice([v + 1, v + rnd.randint(2, 64), v * 2, v * 16, top, top >> 1, 0, 1, max(v - 1, 0), v // 2])
    struct.pack_into(f, m, p, new & top)


def _edit(m: bytearray, rnd: random.Random, pool: list[bytes]) -> None:
    n = len(m)
    at = rnd.randrange(n) if n else 0
    op = rnd.randrange(9)
    if op <= 2:
        _inflate(m, rnd)
    elif op == 3 and n:
        for _ in range(rnd.randint(1, 6)):
            m[rnd.randrange(n)] ^= 1 << rnd.randrange(8)
    elif op == 4:
        del m[at:]
    elif op == 5:  # spliced with another message of the protocol
        other = rnd.choice(pool)
        lo = rnd.randrange(len(other) + 1)
        m[at:] = other[lo:] if rnd.random() < 0.5 else other[lo : rnd.randrange(lo, len(other) + 1)] + m[at:]
    elif op == 6:  # a BER long-form length, an indefinite one, a high tag number
        m[at : at + 1] = rnd.choice([b"\x84\xff\xff\xff\xff", b"\x82\xff\xff", b"\x80", b"\x30\x80",
                                     b"\x1f\xff\xff\x7f"])
    elif op == 7 and n > 2:  # a DNS compression pointer, possibly to itself
        m[at : at + 2] = bytes([0xC0, at & 0xFF]) if rnd.random() < 0.5 else bytes([0xC0 | rnd.randrange(64),
                                                                                   rnd.randrange(256)])
    elif n:  # a run repeated
        lo = rnd.randrange(n)
        m[at:at] = m[lo : lo + rnd.randint(1, 32)] * rnd.randint(2, 100)


def _mutant(messages: list[Message], rnd: random.Random, pool: list[bytes]) -> list[Message]:
    out = [(d, bytearray(m)) for d, m in messages]
    for _ in range(rnd.choice([1, 1, 2, 3, 5])):
        r = rnd.random()
        if r < 0.08 and len(out) > 1:
            del out[rnd.randrange(len(out))]
        elif r < 0.14:
            d, m = out[rnd.randrange(len(out))]
            out.insert(rnd.randrange(len(out) + 1), (d, bytearray(m)))
        elif r < 0.18 and len(out) > 1:
            i, j = rnd.randrange(len(out)), rnd.randrange(len(out))
            out[i], out[j] = out[j], out[i]
        else:  # early messages (handshakes, hellos, negotiations) more often: there the parsing is deepest
            _edit(out[min(rnd.randrange(len(out)), rnd.randrange(len(out)))][1], rnd, pool)
    return [(d, bytes(m)) for d, m in out]


def _run(frames: list[tuple[float, bytes]], batch: int) -> Engine:
    engine = Engine(default_dissectors())
    for lo in range(0, len(frames), batch):
        engine.process(batch_of(frames[lo : lo + batch]))
    engine.flush()
    return engine


@pytest.mark.parametrize("case", list(CASES))
def test_fuzz_structure_aware_mutants_of_real_flows_crash_no_dissector(case: str) -> None:
    where, port = CASES[case]
    flows = _flows(DEMO if where is None else shared(*where), port)[:12]
    assert flows, case
    baseline = _run([f for flow in flows for f in _frames(flow, flow.messages)], 64)
    assert sum(baseline.stats.protocols.values()) > 0 and not baseline.stats.analyzer_errors
    pool = [m for flow in flows for _, m in flow.messages]
    for n in range(MUTANTS):
        rnd = random.Random(f"{case}:{n}")
        flow = rnd.choice(flows)
        frames = _frames(flow, _mutant(flow.messages, rnd, pool))
        engine = _run(frames, rnd.choice([1, 3, 64]))
        assert engine.stats.packets == len(frames)
        assert not engine.stats.analyzer_errors, (n, dict(engine.stats.analyzer_errors))
