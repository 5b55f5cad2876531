"""The bundled demo capture is small, complete and exactly what make_demo regenerates (never stale)."""

from __future__ import annotations

import json
from pathlib import Path

from iotwarden.lab.make_demo import CAPTURES, DEMO_PCAP, DEMO_TRUTH, main


def test_regenerating_gives_the_shipped_bytes(tmp_path: Path) -> None:
    assert main([str(tmp_path)]) == 0
    assert (tmp_path / DEMO_PCAP).read_bytes() == (CAPTURES / DEMO_PCAP).read_bytes(), \
        "demo.pcap is stale: run python -m iotwarden.lab.make_demo"
    assert (tmp_path / DEMO_TRUTH).read_text() == (CAPTURES / DEMO_TRUTH).read_text()


def test_demo_is_small_and_carries_every_attack() -> None:
    assert (CAPTURES / DEMO_PCAP).stat().st_size < 3 * 1024 * 1024
    truth = json.loads((CAPTURES / DEMO_TRUTH).read_text())
    assert truth["scenario"] == "enterprise-attack" and len(truth["devices"]) >= 25
    assert [a["kind"] for a in truth["attacks"]] == ["mirai_scan", "telnet_bruteforce", "lateral_movement"]
    assert all(a["end"] < truth["start"] + truth["duration"] for a in truth["attacks"])
