"""``iotwarden monitor``: a growing folder of captures, alerts printed, exported and stored as they happen."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import iotwarden.cli.alerts
import iotwarden.cli.monitor  # noqa: F401 - registers the commands (also done by cli.main)
from iotwarden.cli.main import main
from iotwarden.lab.generator import generate, load_scenario
from iotwarden.services.monitor import Monitor
from iotwarden.store import Store
from iotwarden.store.alerts import list_alerts

SCENARIOS = Path(__file__).resolve().parents[2] / "src" / "iotwarden" / "lab" / "scenarios"
ATTACK_IDS = {"detect.scan.telnet_mirai", "detect.scan.horizontal", "detect.bruteforce.telnet",
              "detect.lateral.admin_protocol"}  # the Mirai scan also resolves its whole subnet: an ARP sweep


@pytest.fixture(scope="module")
def attack_pcap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lab") / "attack.pcap"
    generate(load_scenario(SCENARIOS / "enterprise-attack.yaml"), out)
    return out


def test_monitor_once_prints_exports_and_stores_the_alerts(tmp_path: Path, attack_pcap: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    watched = tmp_path / "spool"
    watched.mkdir()
    shutil.copy(attack_pcap, watched / "000.pcap")
    (watched / "notes.txt").write_text("not a capture")
    db, ecs = f"sqlite:///{tmp_path / 'mon.db'}", tmp_path / "alerts.ndjson"
    assert main(["monitor", str(watched), "--once", "--db", db, "--export", f"ecs+file://{ecs}"]) == 0
    out, err = capsys.readouterr()
    assert all(i in out for i in ATTACK_IDS)
    assert "stopped: 1 files" in err
    exported = {json.loads(line)["rule"]["id"] for line in ecs.read_text().splitlines()}
    assert exported == ATTACK_IDS
    with Store(db) as store, store.session() as session:
        assert {a.id for a in list_alerts(session)} == ATTACK_IDS
    code = main(["alerts", "list", "--db", db, "-f", "json"])
    doc = json.loads(capsys.readouterr()[0])
    assert code == 0 and doc["schema"] == "iotwarden.alerts/1" and len(doc["alerts"]) == 6


def test_a_broken_capture_in_the_folder_is_skipped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.pcap").write_bytes(b"\xd4\xc3\xb2\xa1" + b"\x00" * 10)
    assert main(["monitor", str(tmp_path), "--once", "--no-store"]) == 0
    assert "stopped: 1 files, 0 alerts" in capsys.readouterr()[1]


def test_bad_export_url_is_one_line_and_exit_code_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["monitor", str(tmp_path), "--once", "--no-store", "--export", "carrier-pigeon://x"]) == 2
    assert "unknown scheme" in capsys.readouterr()[1]


def test_ctrl_c_stops_cleanly(tmp_path: Path, attack_pcap: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    def interrupted(self: Monitor, folder: Path, **_: object) -> None:
        self.process_file(attack_pcap)
        raise KeyboardInterrupt

    monkeypatch.setattr(Monitor, "poll", interrupted)
    assert main(["monitor", str(tmp_path), "--db", f"sqlite:///{tmp_path / 'm.db'}"]) == 0
    out, err = capsys.readouterr()
    assert "stopped: 1 files, 6 alerts" in err and "detect.scan.telnet_mirai" in out


def test_detector_options_come_from_a_yaml_file(tmp_path: Path, attack_pcap: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(attack_pcap, tmp_path / "a.pcap")
    opts = tmp_path / "detect.yaml"
    opts.write_text("detect.scan: {min_telnet_hosts: 1000, min_arp_targets: 1000}\n")
    assert main(["monitor", str(tmp_path), "--once", "--no-store", "--detect-options", str(opts)]) == 0
    out = capsys.readouterr()[0]
    assert "detect.scan" not in out and "detect.bruteforce.telnet" in out
    opts.write_text("detect.scam: {min_hosts: 3}\n")
    assert main(["monitor", str(tmp_path), "--once", "--no-store", "--detect-options", str(opts)]) == 2
    assert "unknown detectors detect.scam" in capsys.readouterr()[1]
