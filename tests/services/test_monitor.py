"""The monitor service: a folder polled for closed capture files, live batches, one pipeline throughout."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest

from iotwarden.lab.generator import generate, load_scenario
from iotwarden.services.monitor import MAX_SEEN_FILES, Monitor
from iotwarden.sources.capfile import read_capture

SCENARIOS = Path(__file__).resolve().parents[2] / "src" / "iotwarden" / "lab" / "scenarios"
ATTACK_IDS = {"detect.scan.telnet_mirai", "detect.scan.horizontal", "detect.bruteforce.telnet",
              "detect.lateral.admin_protocol"}  # the Mirai scan also resolves its whole subnet: an ARP sweep


@pytest.fixture(scope="module")
def attack_pcap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lab") / "attack.pcap"
    generate(load_scenario(SCENARIOS / "enterprise-attack.yaml"), out)
    return out


def test_files_are_processed_once_when_they_stop_growing(tmp_path: Path, attack_pcap: Path) -> None:
    heard: list[str] = []
    mon = Monitor(on_alert=[lambda a: heard.append(a.id)])
    worker = threading.Thread(target=mon.poll, args=(tmp_path,), kwargs={"interval": 0.05}, daemon=True)
    worker.start()
    shutil.copy(attack_pcap, tmp_path / "a.pcap")
    deadline = time.monotonic() + 30
    while mon.files < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # more polls: the same file is not read again
    mon.stop()
    worker.join(10)
    alerts = mon.finish()
    assert mon.files == 1 and not worker.is_alive()
    assert set(heard) >= ATTACK_IDS and {a.id for a in alerts} == ATTACK_IDS


def test_live_batches_feed_the_same_pipeline(attack_pcap: Path) -> None:
    mon = Monitor()
    mon.run_live(read_capture(attack_pcap))
    assert {a.id for a in mon.finish()} == ATTACK_IDS


def test_remembered_files_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("iotwarden.services.monitor.MAX_SEEN_FILES", 3)
    for i in range(5):
        (tmp_path / f"{i}.pcap").write_bytes(b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00" + bytes(16))
    mon = Monitor()
    mon.poll(tmp_path, once=True)
    mon.finish()
    assert mon.files == 5 and len(mon.seen) == 3 and MAX_SEEN_FILES > 3
