"""The monitor service: a folder polled for closed capture files, live batches, one pipeline throughout."""

from __future__ import annotations

import shutil
import struct
import threading
import time
from pathlib import Path

import pytest

from iotwarden.errors import ConfigError
from iotwarden.export import exporter_names
from iotwarden.export.ecs import EcsFile, EcsWebhook
from iotwarden.export.stix import StixFile
from iotwarden.export.syslog import SyslogSender
from iotwarden.lab.generator import generate, load_scenario
from iotwarden.model.alert import Alert
from iotwarden.services.monitor import MAX_SEEN_FILES, Monitor
from iotwarden.sources.capfile import read_capture

SCENARIOS = Path(__file__).resolve().parents[2] / "src" / "iotwarden" / "lab" / "scenarios"
DATA = Path(__file__).resolve().parents[1] / "sources" / "data" / "zeek_labelled"
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


def _records(pcap: bytes) -> list[int]:
    """Byte offsets where each record of a little-endian pcap ends (24-byte file header, 16-byte
    record headers, pcap(5))."""
    ends, pos = [], 24
    while pos + 16 <= len(pcap):
        pos += 16 + struct.unpack_from("<I", pcap, pos + 8)[0]
        ends.append(pos)
    return ends


def _summary(alerts: list) -> list[tuple[str, str | None, int]]:
    return sorted((a.id, a.src_ip, a.count) for a in alerts)


def test_a_file_that_grows_after_a_read_is_resumed_where_it_stopped(tmp_path: Path, attack_pcap: Path) -> None:
    """tcpdump -G on a quiet network: the file settles (read), then grows (only the rest is read)."""
    data = attack_pcap.read_bytes()
    ends = _records(data)
    cut = ends[len(ends) // 2] + 7  # mid-record: the writer flushed part of a packet
    whole = Monitor()
    whole.process_file(attack_pcap)
    expected = _summary(whole.finish())
    mon = Monitor()
    target = tmp_path / "cap-0001.pcap"
    target.write_bytes(data[:cut])
    mon.scan(tmp_path)
    mon.scan(tmp_path)  # unchanged since the previous look: read up to the cut packet
    assert mon.seen[target.name].records == len(ends) // 2 + 1
    with target.open("ab") as fh:
        fh.write(data[cut:])
    mon.scan(tmp_path)
    mon.scan(tmp_path)
    mon.scan(tmp_path)  # nothing new: not read again
    assert mon.seen[target.name].records == len(ends) and mon.files == 1
    assert _summary(mon.finish()) == expected


def test_a_rewritten_file_is_new_content_read_from_its_start(tmp_path: Path, attack_pcap: Path) -> None:
    """tcpdump -C -W: a ring buffer writes the same names again."""
    data = attack_pcap.read_bytes()
    ends = _records(data)
    target = tmp_path / "ring0"
    target.write_bytes(data[:ends[-1]])
    mon = Monitor()
    mon.scan(tmp_path, final=True)
    other = data[:24] + data[ends[10]:ends[40]]  # other packets under the same name, a shorter file
    target.write_bytes(other)
    mon.scan(tmp_path, final=True)
    assert mon.seen["ring0"].records == 30 and mon.files == 2
    mon.finish()


def test_a_growing_zeek_log_is_read_line_by_line_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = (DATA / "conn.log.labeled").read_text().splitlines(keepends=True)
    header = [ln for ln in lines if ln.startswith("#") and not ln.startswith("#close")]
    rows = [ln for ln in lines if not ln.startswith("#")]
    fed: list[str] = []
    mon = Monitor()
    real = mon.addons.flows
    monkeypatch.setattr(mon.addons, "flows", lambda flows: (fed.extend(f.extra["uid"] for f in flows), real(flows)))
    log = tmp_path / "conn.log.labeled"
    log.write_text("".join(header + rows[:3]) + rows[3][:40])  # the writer is mid-line
    mon.scan(tmp_path)
    mon.scan(tmp_path)
    assert mon.seen[log.name].records == 3
    with log.open("a") as fh:
        fh.write(rows[3][40:] + rows[4])
    mon.scan(tmp_path)
    mon.scan(tmp_path)
    mon.finish()
    assert fed == [row.split("\t")[1] for row in rows] and mon.files == 1


def test_an_exporter_that_cannot_write_its_file_is_a_warning_and_the_others_are_still_closed(tmp_path: Path) -> None:
    """finish() closes every exporter: a STIX bundle whose folder went away (an OSError, not an IotwardenError) is
    named in export_errors, and the exporter after it is closed all the same."""
    gone = tmp_path / "gone"
    gone.mkdir()
    stix, ecs = StixFile(gone / "b.json"), EcsFile(tmp_path / "a.ndjson")
    gone.rmdir()
    mon = Monitor(exporters=[stix, ecs])
    mon.finish()
    bundle = f"stix+file://{gone / 'b.json'}"
    assert list(mon.export_errors) == [bundle] and "b.json" in mon.export_errors[bundle]
    assert ecs._fh is None


class _Down:
    """A SIEM that refuses every alert and its close: the exporters' common failure (ConfigError)."""

    def __init__(self, destination: str | None) -> None:
        if destination is not None:
            self.destination = destination

    def send(self, alert: Alert) -> None:
        raise ConfigError(f"{getattr(self, 'destination', 'down')}: connection refused")

    def close(self) -> None:
        raise ConfigError(f"{getattr(self, 'destination', 'down')}: gone at close")


def test_each_exporters_error_is_kept_under_its_own_name(tmp_path: Path) -> None:
    """Two exporters of one kind that both fail: each error is reported, under its destination (the --export URL);
    two without one are told apart by their place. Keyed by the class, one error hid the other."""
    mon = Monitor(exporters=[_Down("cef+tcp://siem-a.example:601"), _Down("cef+tcp://siem-b.example:601")])
    mon.finish()
    assert mon.export_errors == {"cef+tcp://siem-a.example:601": "cef+tcp://siem-a.example:601: gone at close",
                                 "cef+tcp://siem-b.example:601": "cef+tcp://siem-b.example:601: gone at close"}
    mon = Monitor(exporters=[_Down(None), _Down(None)])
    mon.finish()
    assert sorted(mon.export_errors) == ["_Down #1", "_Down #2"]
    files = [StixFile(tmp_path / "a.json"), StixFile(tmp_path / "b.json"), EcsFile(tmp_path / "c.ndjson")]
    assert exporter_names(files) == [f"stix+file://{tmp_path / 'a.json'}", f"stix+file://{tmp_path / 'b.json'}",
                                     f"ecs+file://{tmp_path / 'c.ndjson'}"]
    for exporter in files:
        exporter.close()
    assert exporter_names([SyslogSender("tcp", "::1", 601), SyslogSender("udp", "127.0.0.1", 514),
                           EcsWebhook("https://siem.example/hook")]) == [
        "cef+tcp://[::1]:601", "cef+udp://127.0.0.1:514", "ecs+https://siem.example/…"]
