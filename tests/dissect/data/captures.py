"""Read a checked-in loopback capture through one dissector (tests/pcaputil) and through the engine.

Both paths must agree (same observations, same order by time), so each ``*_real`` test pins the
dissector and the engine's dispatch of it on the same real traffic.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import dpkt

from iotwarden.dissect import default_dissectors
from iotwarden.dissect.base import Dissector
from iotwarden.engine.core import Engine
from iotwarden.model import Observation
from iotwarden.sources.capfile import read_capture
from tests.dissect.resegment import read_frames, write_frames
from tests.pcaputil import run_dissector

HERE = Path(__file__).resolve().parent


def _key(o: Observation) -> tuple[Any, ...]:
    return (o.ts, o.proto, o.kind, o.subject, o.src_ip, o.src_port, o.dst_ip, o.dst_port, repr(o.fields))


def by_dissector(dissector: Dissector, name: str) -> list[Observation]:
    """Observations of ``dissector`` on the capture ``name``; a ParseError fails the test."""
    errors: list[Exception] = []
    out = run_dissector(dissector, HERE / name, errors=errors)
    assert errors == [], errors
    return sorted(out, key=_key)


def by_engine(proto: str, name: str) -> list[Observation]:
    """Observations of protocol ``proto`` the engine with the default dissectors makes on ``name``."""
    engine = Engine(default_dissectors())
    out: list[Observation] = []
    for batch in read_capture(HERE / name):
        out += engine.process(batch).observations
    out += engine.flush().observations
    assert engine.stats.parse_errors[proto] == 0, engine.stats.parse_errors
    assert not engine.stats.analyzer_errors, engine.stats.analyzer_errors
    return sorted((o for o in out if o.proto == proto), key=_key)


def comparable(observations: list[Observation]) -> list[tuple[Any, ...]]:
    """What both readers must agree on: everything an Observation says."""
    return [_key(o) for o in observations]


def readdressed(name: str, out: Path, addresses: dict[str, str] | None = None, *,
                connections: set[int] | None = None) -> Path:
    """The loopback capture ``name`` written to ``out`` with one locally administered MAC per IPv4 address
    (loopback frames carry all-zero MACs, which name no device), ``addresses`` mapping old to new addresses
    (checksums recomputed), and only the TCP ``connections`` given (their indexes in order of first packet)."""
    link, frames = read_frames(HERE / name)
    renamed = {socket.inet_aton(a): socket.inet_aton(b) for a, b in (addresses or {}).items()}
    order: dict[frozenset[tuple[bytes, int]], int] = {}
    written: list[tuple[float, bytes]] = []
    for ts, frame in frames:
        eth = dpkt.ethernet.Ethernet(frame)
        ip, tcp = eth.data, eth.data.data
        conn = order.setdefault(frozenset({(bytes(ip.src), tcp.sport), (bytes(ip.dst), tcp.dport)}), len(order))
        if connections is not None and conn not in connections:
            continue
        ip.src, ip.dst = renamed.get(bytes(ip.src), bytes(ip.src)), renamed.get(bytes(ip.dst), bytes(ip.dst))
        eth.src, eth.dst = b"\x02\x00" + bytes(ip.src), b"\x02\x00" + bytes(ip.dst)
        ip.sum = tcp.sum = 0  # dpkt recomputes zero checksums on packing
        ip.data = tcp
        written.append((ts, bytes(eth)))
    write_frames(out, link, written)
    return out
