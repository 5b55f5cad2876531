"""Hostile-input helpers for the application dissector tests: the dissector contract, checked.

Every TCP (or UDP) payload of a capture is offered to a dissector whatever its ports, as the engine
does after a positive probe, and only ``ParseError`` or a list of Observations may come out, each of the
dissector's protocol or of one it hands a connection's bytes on to (``protos``: HTTP's CONNECT tunnel and
RDP's and LDAP's STARTTLS hand theirs to TLS).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

from iotwarden.dissect.base import Dissector, Packet, StreamDissector
from iotwarden.errors import ParseError
from iotwarden.model import Observation
from tests.conftest import SHARED_DATA
from tests.pcaputil import iter_packets

TCPDUMP_DIR = SHARED_DATA / "pcaps" / "tcpdump_tests"
TCPDUMP_CAPTURES = sorted(p.name for p in TCPDUMP_DIR.glob("*.pcap*")) if TCPDUMP_DIR.is_dir() else []


def contract_call(d: Dissector, pkt: Packet, state: dict[str, Any], data: bytes | None = None, *,
                  protos: Collection[str] = ()) -> list[Observation]:
    """One dissector call; returns its observations, [] on ParseError; fails on anything else, or on an
    observation of a protocol neither the dissector's nor one of ``protos`` (those it hands bytes on to)."""
    try:
        if isinstance(d, StreamDissector):
            out = d.feed(pkt, pkt.payload if data is None else data, state)
        else:
            out = d.dissect(pkt, state)
    except ParseError:
        return []
    assert isinstance(out, list)
    assert all(isinstance(o, Observation) for o in out)
    for o in out:
        assert (o.proto == d.name or o.proto in protos) and o.subject in ("src", "dst")
    return out


def feed_capture_any_port(d: Dissector, path: Path, ip_proto: int | None = None, *,
                          protos: Collection[str] = ()) -> int:
    """Offer every payload of the right transport to ``d`` (``ip_proto``: another one, for a stream dissector
    that also reads datagrams); the number of observations made (of ``d``'s protocol or ``protos``)."""
    proto = ip_proto or (6 if isinstance(d, StreamDissector) else 17)
    states: dict[tuple[Any, ...], dict[str, Any]] = {}
    made = 0
    for pkt in iter_packets(path):
        if pkt.ip_proto != proto or not pkt.payload:
            continue
        key = tuple(sorted([(pkt.src_ip, pkt.src_port), (pkt.dst_ip, pkt.dst_port)]))
        state = states.setdefault(key, {})
        if not state.get("done"):
            made += len(contract_call(d, pkt, state, protos=protos))
    return made


def feed_chunks(d: Dissector, chunks: Iterable[tuple[bool, bytes]], *,
                protos: Collection[str] = ()) -> list[Observation]:
    """Feed (to_server, bytes) chunks of one synthetic flow; stops when the dissector is done. Observations of
    ``d``'s protocol or of ``protos``."""
    state: dict[str, Any] = {}
    out: list[Observation] = []
    ip_proto = 6 if isinstance(d, StreamDissector) else 17
    client, server = ("10.0.0.1", 40000), ("10.0.0.2", 80)
    for to_server, data in chunks:
        if state.get("done"):
            break
        (sip, sport), (dip, dport) = (client, server) if to_server else (server, client)
        pkt = Packet(ts=1.0, payload=data, src_ip=sip, dst_ip=dip, ip_proto=ip_proto, src_port=sport,
                     dst_port=dport, to_server=to_server)
        out.extend(contract_call(d, pkt, state, protos=protos))
    return out


def mutate(data: bytes, edits: list[tuple[int, int]], cut: int) -> bytes:
    """``data`` with byte edits (position modulo length, new value) applied, then cut at ``cut``."""
    out = bytearray(data)
    for pos, value in edits:
        if out:
            out[pos % len(out)] = value
    return bytes(out[: max(0, cut)])
