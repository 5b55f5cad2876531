"""Helpers for the discovery/identity dissector tests: synthetic packets and per-frame results.

The contract checks themselves (only ParseError or a list of Observations) come from
tests/dissect/hostile.py, shared with the application dissector tests.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from pathlib import Path

from hypothesis import strategies as st

from iotwarden.dissect.base import Dissector, Packet, StreamDissector
from iotwarden.errors import ParseError
from iotwarden.model import Observation
from tests.dissect.hostile import TCPDUMP_CAPTURES, TCPDUMP_DIR, contract_call, mutate
from tests.pcaputil import _wants, iter_frames

__all__ = ["TCPDUMP_CAPTURES", "TCPDUMP_DIR", "contract_call", "mutate"]

UNSPECIFIED = str(ipaddress.IPv4Address(0))  # "this host" 0.0.0.0, RFC 1122 §3.2.1.3

# hypothesis strategies for "mutated valid messages": byte edits then a cut (see hostile.mutate)
EDITS = st.lists(st.tuples(st.integers(0, 4096), st.integers(0, 255)), max_size=8)
CUTS = st.integers(0, 4096)


def udp(payload: bytes, sport: int, dport: int, *, src_ip: str = "192.0.2.10", dst_ip: str = "192.0.2.1",
        ip_proto: int = 17) -> Packet:
    """A UDP (or, with ip_proto=6, TCP) packet carrying ``payload``."""
    return Packet(ts=1_700_000_000.0, payload=payload, src_mac="02:00:00:00:00:0a", dst_mac="02:00:00:00:00:01",
                  src_ip=src_ip, dst_ip=dst_ip, ip_proto=ip_proto, src_port=sport, dst_port=dport)


def frame(payload: bytes, ethertype: int | None, src_mac: str = "02:00:00:00:00:0a") -> Packet:
    """A non-IP frame (ARP, LLDP, CDP) whose payload follows the ethertype or LLC/SNAP header."""
    return Packet(ts=1_700_000_000.0, payload=payload, src_mac=src_mac, dst_mac="01:80:c2:00:00:0e",
                  ethertype=ethertype)


def by_frame(d: Dissector, path: Path) -> dict[int, list[Observation] | ParseError]:
    """What ``d`` makes of each frame it is offered, keyed by 1-based frame number (pcap_cnt); a stream
    dissector is offered datagrams only (TCP segments are no messages of their own)."""
    out: dict[int, list[Observation] | ParseError] = {}
    for number, (pkt, snap) in enumerate(iter_frames(path), start=1):
        if not _wants(d, pkt, snap) or (isinstance(d, StreamDissector) and pkt.ip_proto == 6):
            continue
        try:
            out[number] = d.dissect(pkt, {})
        except ParseError as exc:
            out[number] = exc
    return out


def single(results: dict[int, list[Observation] | ParseError], number: int) -> Observation:
    """The one Observation frame ``number`` produced."""
    got = results[number]
    assert isinstance(got, list) and len(got) == 1, got
    return got[0]


def dns_name(name: str) -> bytes:
    """``name`` in uncompressed DNS wire format (RFC 1035 §3.1)."""
    out = b"".join(bytes([len(label)]) + label for label in (p.encode() for p in name.split(".") if p))
    return out + b"\x00"


def dns_rr(name: str | bytes, rtype: int, rdata: bytes, ttl: int = 120, rclass: int = 1) -> bytes:
    """One resource record (RFC 1035 §4.1.3); ``name`` as text or ready wire bytes."""
    wire = dns_name(name) if isinstance(name, str) else name
    return wire + rtype.to_bytes(2, "big") + rclass.to_bytes(2, "big") + ttl.to_bytes(4, "big") + \
        len(rdata).to_bytes(2, "big") + rdata


def dns_msg(ident: int, flags: int, *, questions: Sequence[tuple[str, int]] = (), answers: Sequence[bytes] = (),
            authorities: Sequence[bytes] = (), additionals: Sequence[bytes] = ()) -> bytes:
    """A DNS message (RFC 1035 §4.1) from questions (name, qtype) and ready records."""
    head = b"".join(x.to_bytes(2, "big") for x in
                    (ident, flags, len(questions), len(answers), len(authorities), len(additionals)))
    qs = b"".join(dns_name(n) + t.to_bytes(2, "big") + b"\x00\x01" for n, t in questions)
    return head + qs + b"".join(answers) + b"".join(authorities) + b"".join(additionals)


def txt_rdata(entries: dict[bytes, bytes]) -> bytes:
    """TXT RDATA (RFC 6763 §6): one length-prefixed "key=value" string per entry."""
    return b"".join(bytes([len(k) + 1 + len(v)]) + k + b"=" + v for k, v in entries.items())


def mdns_announcement(service: str, instance: str, srv: bytes, target: str, txt: dict[bytes, bytes]) -> Packet:
    """An mDNS announcement on the wire (RFC 6762 §8.3): the service's PTR to ``instance``, then its SRV
    (priority, weight and port bytes ``srv``, then ``target``) and TXT records, to 224.0.0.251:5353."""
    message = dns_msg(0, 0x8400, answers=[dns_rr(service, 12, dns_name(instance))], additionals=[
        dns_rr(instance, 33, srv + dns_name(target)),
        dns_rr(instance, 16, txt_rdata(txt)),
    ])
    return udp(message, 5353, 5353, dst_ip="224.0.0.251")
