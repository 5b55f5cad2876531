"""Shared inputs of the MUD tests: the v4k0nd pcap + MUD pairs (read in place) and lab captures."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from iotwarden.lab.generator import generate, load_scenario
from iotwarden.policy.mud.model import MudProfile
from iotwarden.policy.mud.traffic import Traffic, read_traffic
from tests.conftest import REPO, shared

SCENARIOS = REPO / "src" / "iotwarden" / "lab" / "scenarios"
INFECTED_MAC = "44:47:cc:2b:10:03"  # cam-parking in enterprise.yaml, the attacker of enterprise-attack.yaml


@dataclass(frozen=True)
class Pair:
    """One device of v4k0nd/ss-for-iot-MUD: its MAC (README.md), capture and mudgee profile."""

    name: str
    mac: str
    capture: str
    profile: str

    def read_profile(self) -> MudProfile:
        return MudProfile.from_dict(json.loads(shared("mud", "v4k0nd_pcap_plus_mud", self.profile).read_text()))


PAIRS = {
    "door_sensor": Pair("door_sensor", "b8:06:0d:3b:47:f8", "door_sensor-19JWT/G06-door_sensor-19JWT.pcapng",
                        "door_sensor-19JWT/G06-door_sensor-19JWT.mud"),
    "mood_lamp": Pair("mood_lamp", "b8:06:0d:18:84:b4", "mood_lamp-3204432/G06-mood_lamp-3204432.pcap",
                      "mood_lamp-3204432/mood_lamp-3204432Mud.json"),
    "tapo": Pair("tapo", "40:ae:30:46:6e:a8", "tapo-p115/G06-tapo-p115.pcap", "tapo-p115/G06-tapo-p115.mud"),
}


@pytest.fixture(scope="session")
def pair_traffic() -> dict[str, Traffic]:
    return {k: read_traffic(shared("mud", "v4k0nd_pcap_plus_mud", p.capture)) for k, p in PAIRS.items()}


@pytest.fixture(scope="session")
def lab_captures(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(benign, attack) captures of the enterprise scenario, same seed, 600 s each."""
    out = tmp_path_factory.mktemp("lab")
    generate(load_scenario(SCENARIOS / "enterprise.yaml"), out / "benign.pcap")
    generate(load_scenario(SCENARIOS / "enterprise-attack.yaml"), out / "attack.pcap", out / "truth.json")
    return out / "benign.pcap", out / "attack.pcap"
