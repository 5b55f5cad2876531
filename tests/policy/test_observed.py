"""Observed devices and flows: from captures through the engine, and from the store after analysis."""

from __future__ import annotations

from pathlib import Path

from iotwarden.policy.observed import from_captures, from_store
from iotwarden.services.analyze import analyze
from iotwarden.store import Store
from tests.policy.conftest import Lab


def test_the_store_gives_the_same_devices_and_flows_as_the_engine(lab: Lab, tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'w.db'}") as store:
        analyze([lab.benign_pcap], store)
        stored = from_store(store)
    direct = from_captures([lab.benign_pcap])
    assert {d.key for d in stored.devices} == {d.key for d in direct.devices}
    assert sorted(f.key for f in stored.flows) == sorted(f.key for f in direct.flows)
    cats = {d.key: d.category for d in stored.devices}
    assert cats == {d.key: d.category for d in direct.devices}
