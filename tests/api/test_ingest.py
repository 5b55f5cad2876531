"""serve --capture: a watched folder's new captures are analysed once and announced on the bus; live
windows are spooled to valid pcap files."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from iotwarden.api import ingest
from iotwarden.api.ingest import Ingestor, SpoolFile
from iotwarden.bus import InProcessBus
from iotwarden.engine.batch import LINKTYPE_ETHERNET, PacketBatch
from iotwarden.sources.capfile import read_capture
from iotwarden.store import Store
from iotwarden.store.alert_models import AlertRow, FindingRow
from tests.api.conftest import DEMO


def test_a_new_capture_in_the_folder_is_analysed_once_and_announced(tmp_path: Path) -> None:
    store, bus = Store(f"sqlite:///{tmp_path / 'live.db'}"), InProcessBus()
    watched = tmp_path / "incoming"
    watched.mkdir()
    (watched / "notes.txt").write_text("not a capture")
    ingestor = Ingestor(store, bus, str(watched), poll_s=0.01)
    sub = bus.subscribe()
    assert ingestor.scan_once(watched) == []
    shutil.copy(DEMO, watched / "demo.pcap")
    results = ingestor.scan_once(watched)
    assert [r.status for r in results] == ["complete"]
    assert ingestor.scan_once(watched) == []  # unchanged: not analysed again
    events = sub.drain()
    assert [e.topic for e in events[:2]] == ["capture.finished", "inventory.devices"]
    with store.session() as session:
        alerts = list(session.scalars(select(AlertRow).where(AlertRow.suppressed.is_(False)).order_by(AlertRow.id)))
        findings = int(session.scalar(select(func.count()).select_from(FindingRow)) or 0)
    assert alerts and findings  # the demo network has detections and risk findings
    announced = [e.data for e in events if e.topic == "alert.created"]
    assert [a["id"] for a in announced] == [a.id for a in alerts]  # each new alert, once, for the console
    assert announced[0]["title"] == alerts[0].title and announced[0]["severity"] == alerts[0].severity
    assert [e.data for e in events if e.topic == "finding.created"] == [{"count": findings}]
    assert ingestor.status["files"] == 1 and ingestor.status["packets"] > 0
    store.close()


def test_many_new_alerts_are_announced_up_to_the_limit_then_summed_up(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest, "MAX_ALERT_EVENTS", 2)
    store, bus = Store(f"sqlite:///{tmp_path / 'live.db'}"), InProcessBus()
    watched = tmp_path / "incoming"
    watched.mkdir()
    shutil.copy(DEMO, watched / "demo.pcap")
    sub = bus.subscribe(["alert"])
    Ingestor(store, bus, str(watched), poll_s=0.01).scan_once(watched)
    with store.session() as session:
        total = int(session.scalar(select(func.count()).select_from(AlertRow)
                                   .where(AlertRow.suppressed.is_(False))) or 0)
    assert total > 3
    announced = [e.data for e in sub.drain()]
    assert len(announced) == 3 and [a.get("more") for a in announced] == [None, None, total - 2]
    store.close()


def test_the_background_thread_starts_and_stops(tmp_path: Path) -> None:
    store, bus = Store(f"sqlite:///{tmp_path / 'live.db'}"), InProcessBus()
    watched = tmp_path / "incoming"
    watched.mkdir()
    shutil.copy(DEMO, watched / "demo.pcap")
    sub = bus.subscribe(["inventory"])
    ingestor = Ingestor(store, bus, str(watched), poll_s=0.05)
    ingestor.start()
    event = sub.get(timeout=60)
    ingestor.stop()
    assert event is not None and event.data["total"] > 0
    assert ingestor.status["state"] == "stopped"
    store.close()


def test_a_spooled_window_reads_back_as_the_same_packets(tmp_path: Path) -> None:
    frames = [bytes(range(60)), bytes(64) + b"\x01" * 10]
    data = np.frombuffer(b"".join(frames), dtype=np.uint8)
    batch = PacketBatch(data=data, offsets=np.array([0, 60], dtype=np.int64),
                        caplen=np.array([60, 74], dtype=np.int32), wirelen=np.array([60, 1500], dtype=np.int32),
                        ts=np.array([1700000000.25, 1700000001.5]),
                        linktype=np.array([LINKTYPE_ETHERNET] * 2, dtype=np.uint16))
    spool = SpoolFile(tmp_path / "w.pcap")
    spool.add(batch)
    spool.close()
    back = list(read_capture(tmp_path / "w.pcap"))
    assert sum(len(b) for b in back) == 2
    first = back[0]
    assert first.caplen.tolist() == [60, 74] and first.wirelen.tolist() == [60, 1500]
    assert np.allclose(first.ts, [1700000000.25, 1700000001.5])
    assert first.data[int(first.offsets[1]):int(first.offsets[1]) + 74].tobytes() == frames[1]
