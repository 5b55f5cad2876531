"""Test helper: one capture through the engine, what it made (the end-to-end counterpart of pcaputil)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from iotwarden.dissect.base import Packet, StreamDissector, confirm
from iotwarden.engine.core import Engine
from iotwarden.model import Flow, Observation
from iotwarden.sources.capfile import read_capture
from tests.sources.capbuild import batch_of


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
