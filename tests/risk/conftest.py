"""Fixtures of the risk tests: the lab scenarios generated once per session and analysed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iotwarden.hooks import Context
from iotwarden.lab.generator import generate, load_scenario
from iotwarden.risk.analyzer import RiskAnalyzer
from tests.risk.harness import analyse

SCENARIOS = Path(__file__).resolve().parents[2] / "src" / "iotwarden" / "lab" / "scenarios"


def _lab(tmp: Path, name: str, *, classified: bool, classifier: bool = False) -> tuple[Context, RiskAnalyzer,
                                                                                     dict[str, object]]:
    pcap, truth_path = tmp / f"{name}.pcap", tmp / f"{name}.truth.json"
    generate(load_scenario(SCENARIOS / f"{name}.yaml"), pcap, truth_path, attacks=True)
    truth = json.loads(truth_path.read_text())
    types = {ip: (d["type"], d["category"].lower()) for d in truth["devices"] for ip in d["ips"]}
    ctx, risk = analyse(pcap, classify=types if classified else None, classifier=classifier)
    return ctx, risk, truth


@pytest.fixture(scope="session")
def small_lab(tmp_path_factory: pytest.TempPathFactory) -> tuple[Context, RiskAnalyzer, dict[str, object]]:
    """The ``small`` scenario with its attacks on (Mirai scan and Telnet brute force from cam-01),
    devices classified as the ground truth says (a perfect classifier)."""
    return _lab(tmp_path_factory.mktemp("small"), "small", classified=True)


@pytest.fixture(scope="session")
def enterprise_lab(tmp_path_factory: pytest.TempPathFactory) -> tuple[Context, RiskAnalyzer, dict[str, object]]:
    """The ``enterprise-attack`` scenario, classified as its ground truth says."""
    return _lab(tmp_path_factory.mktemp("enterprise"), "enterprise-attack", classified=True)


@pytest.fixture(scope="session")
def enterprise_lab_classifier(tmp_path_factory: pytest.TempPathFactory) -> tuple[Context, RiskAnalyzer,
                                                                                 dict[str, object]]:
    """The ``enterprise-attack`` scenario, classified by the knowledge base (the product's own classifier)."""
    return _lab(tmp_path_factory.mktemp("enterprise-kb"), "enterprise-attack", classified=False, classifier=True)
