"""Fixtures of the lab tests: the small scenario generated once per session, with and without attacks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from iotwarden.engine.core import Engine
from iotwarden.lab.generator import generate, load_scenario
from iotwarden.lab.scenario import Scenario
from iotwarden.model import Observation
from iotwarden.sources.capfile import read_capture
from tests.lab.capcheck import CaptureReport, check_capture

SCENARIOS = Path(__file__).resolve().parents[2] / "src" / "iotwarden" / "lab" / "scenarios"


@pytest.fixture(scope="session")
def small_scenario() -> Scenario:
    return load_scenario(SCENARIOS / "small.yaml")


@pytest.fixture(scope="session")
def small_benign(tmp_path_factory: pytest.TempPathFactory, small_scenario: Scenario) -> tuple[Path, dict[str, Any],
                                                                                              CaptureReport]:
    out = tmp_path_factory.mktemp("lab")
    result = generate(small_scenario, out / "small.pcap", out / "small.json")
    return out / "small.pcap", result, check_capture(out / "small.pcap")


@pytest.fixture(scope="session")
def small_attack(tmp_path_factory: pytest.TempPathFactory, small_scenario: Scenario) -> tuple[Path, dict[str, Any],
                                                                                              CaptureReport]:
    out = tmp_path_factory.mktemp("lab")
    result = generate(small_scenario, out / "attack.pcap", out / "attack.json", attacks=True)
    return out / "attack.pcap", result, check_capture(out / "attack.pcap")


def observations_of(scenario: str, out: Path, proto: str) -> tuple[list[Observation], dict[str, Any]]:
    """One scenario generated into ``out`` and read back by the engine: its ``proto`` observations (none of
    that protocol's messages a parse error) and its ground truth."""
    generate(load_scenario(SCENARIOS / scenario), out / "lab.pcap", out / "lab.json")
    engine, obs = Engine(), []
    for batch in read_capture(out / "lab.pcap"):
        obs += engine.process(batch).observations
    obs += engine.flush().observations
    assert engine.stats.parse_errors[proto] == 0
    return [o for o in obs if o.proto == proto], json.loads((out / "lab.json").read_text())
