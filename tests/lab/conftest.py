"""Fixtures of the lab tests: the small scenario generated once per session, with and without attacks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from iotwarden.lab.generator import generate, load_scenario
from iotwarden.lab.scenario import Scenario
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
