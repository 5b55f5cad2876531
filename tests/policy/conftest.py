"""Shared fixtures of the policy tests: the lab's benign and attack captures, generated once per session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from iotwarden.lab.generator import generate, load_scenario
from iotwarden.policy.observed import Observed, from_captures

SCENARIOS = Path(__file__).resolve().parents[2] / "src" / "iotwarden" / "lab" / "scenarios"


@dataclass
class Lab:
    benign_pcap: Path
    attack_pcap: Path
    benign: Observed
    attack: Observed
    truth: dict[str, object]


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Lab:
    out = tmp_path_factory.mktemp("lab")
    benign, attack = out / "enterprise.pcap", out / "enterprise-attack.pcap"
    generate(load_scenario(SCENARIOS / "enterprise.yaml"), benign)
    truth = generate(load_scenario(SCENARIOS / "enterprise-attack.yaml"), attack)
    return Lab(benign, attack, from_captures([benign]), from_captures([attack]), truth)
