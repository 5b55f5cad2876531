"""Test helper: one capture through the engine, what it made (the end-to-end counterpart of pcaputil)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import dpkt

from iotwarden.dissect.base import Packet, StreamDissector, confirm
from iotwarden.engine.core import Engine
from iotwarden.model import Flow, Observation
from iotwarden.sources.capfile import read_capture
from tests.sources.capbuild import ACK, PSH, batch_of, ethernet, ipv4


def engine_run(path: Path, engine: Engine | None = None) -> tuple[list[Observation], list[Flow]]:
    """Every observation and flow ``engine`` (a fresh one by default) makes of ``path``, flushed at the end."""
    engine = engine or Engine()
    obs: list[Observation] = []
    flows: list[Flow] = []
    for batch in read_capture(path):
        res = engine.process(batch)
        obs += res.observations
        flows += res.flows
    res = engine.flush()
    return obs + res.observations, flows + res.flows


def engine_frames(frames: list[tuple[float, bytes]], *, one_by_one: bool = False,
                  engine: Engine | None = None) -> tuple[Engine, list[Flow], list[Observation]]:
    """Every flow and observation ``engine`` (a fresh one by default) makes of Ethernet ``frames`` ((timestamp,
    frame)), in one batch or ``one_by_one``, flushed at the end; the engine too, for its counters."""
    engine = engine or Engine()
    obs: list[Observation] = []
    flows: list[Flow] = []
    for batch in ([[f] for f in frames] if one_by_one else [frames]):
        res = engine.process(batch_of(batch))
        obs += res.observations
        flows += res.flows
    res = engine.flush()
    return engine, flows + res.flows, obs + res.observations


RECORDER_CLIENT = "192.168.1.10"  # the client end of recorder_segment's connection


def recorder_segment(src: str, dst: str, seq: int, ack: int | None, data: bytes = b"", *,
                     flags: int = PSH | ACK) -> bytes:
    """An Ethernet frame of one TCP segment of a connection to the :class:`Recorder` (RECORDER_CLIENT:50000 to
    tcp/7000 and back): ``seq`` and ``ack`` taken modulo 2^32, no ACK flag when ``ack`` is None."""
    sport, dport = (50000, 7000) if src == RECORDER_CLIENT else (7000, 50000)
    seg = dpkt.tcp.TCP(sport=sport, dport=dport, seq=seq % 2**32, ack=(ack or 0) % 2**32, data=data,
                       flags=flags if ack is not None else flags & ~ACK)
    return ethernet(bytes(dpkt.ip.IP(src=ipv4(src), dst=ipv4(dst), p=6, data=seg)))


class Recorder(StreamDissector):
    """A stream dissector on tcp/7000 that records, in order across both directions, what it is fed: ``("c", bytes)``
    from the client, ``("s", bytes)`` from the server. It keeps StreamDissector's own ``gap`` (a hole ends the flow);
    a test that wants to see holes records them in its own ``gap``."""

    name = "recorder"
    tcp_ports: ClassVar[tuple[int, ...]] = (7000,)

    def __init__(self) -> None:
        self.events: list[tuple[str, bytes]] = []

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        confirm(state)
        self.events.append(("c" if pkt.to_server else "s", data))
        return []
