"""Fixtures of the report tests: a store holding the analysed ``small`` lab scenario and its findings."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotwarden.lab.generator import generate, load_scenario
from iotwarden.services.analyze import analyze
from iotwarden.store import Store
from iotwarden.store.findings import upsert_findings
from tests.risk.harness import analyse

SMALL = Path(__file__).resolve().parents[2] / "src" / "iotwarden" / "lab" / "scenarios" / "small.yaml"


@pytest.fixture(scope="session")
def lab_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """SQLite URL of a store with the small scenario (attacks on) analysed and its findings stored."""
    tmp = tmp_path_factory.mktemp("report")
    pcap = tmp / "small.pcap"
    generate(load_scenario(SMALL), pcap, tmp / "small.truth.json", attacks=True)
    url = f"sqlite:///{tmp / 'report.db'}"
    with Store(url) as store:
        analyze([pcap], store)
        ctx, _ = analyse(pcap)
        with store.transaction() as session:
            upsert_findings(session, ctx.findings)
    return url
