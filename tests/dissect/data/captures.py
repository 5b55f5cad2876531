"""Read a checked-in loopback capture through one dissector (tests/pcaputil) and through the engine.

Both paths must agree (same observations, same order by time), so each ``*_real`` test pins the
dissector and the engine's dispatch of it on the same real traffic.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from iotwarden.dissect import default_dissectors
from iotwarden.dissect.base import Dissector
from iotwarden.engine.core import Engine
from iotwarden.model import Observation
from iotwarden.sources.capfile import read_capture
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
