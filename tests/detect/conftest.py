"""Fixtures of the detector tests: the lab's benign enterprise day, generated and read by the engine once a session."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotwarden.lab.generator import generate, load_scenario
from iotwarden.model import Flow
from tests.detect.labelled import SCENARIOS, engine_flows

DAY_S = 3 * 3600  # the benign day's length: two hours after every host's learning hour


@pytest.fixture(scope="session")
def enterprise_day(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Flow]]:
    """Three hours of enterprise.yaml without its attacks, and the engine's flows of it, shared read-only by
    test_recall, test_zeek_write_order and test_lab, which each generated the same capture (the generator is
    deterministic, tests/lab/test_generator.py; ~5 CPU s a time). No test changes the flows: infect adds its own."""
    pcap = tmp_path_factory.mktemp("enterprise-day") / "b.pcap"
    generate(load_scenario(SCENARIOS / "enterprise.yaml"), pcap, duration=DAY_S)
    return pcap, engine_flows(pcap)
