"""Test helper: one capture through the engine, what it made (the end-to-end counterpart of pcaputil)."""

from __future__ import annotations

from pathlib import Path

from iotwarden.engine.core import Engine
from iotwarden.model import Flow, Observation
from iotwarden.sources.capfile import read_capture


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
