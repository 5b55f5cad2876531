"""serve --capture: a watched folder's new captures are analysed once and announced on the bus; live
windows are spooled to valid pcap files."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select

from iotwarden.api import ingest
from iotwarden.api.ingest import Ingestor, SpoolFile
from iotwarden.bus import InProcessBus
from iotwarden.engine.batch import LINKTYPE_ETHERNET, PacketBatch
from iotwarden.sources import live
from iotwarden.sources.capfile import read_capture
from iotwarden.sources.live import idle_batch
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


def _quiet_link(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, packets: bool) -> tuple[Ingestor, list[int]]:
    """A live capture (sources/live.capture_live replaced) of one batch of the demo network's packets (or none),
    then a quiet link: an IdleBatch each ``idle_s``, as the real capture hands over when asked for them, and
    nothing at all when not. Returns the ingestor, run to the capture's end, and how many windows had been
    analysed when each idle tick was taken (before any later packet or the stop)."""
    first = next(iter(read_capture(DEMO)))
    analysed: list[Path] = []
    seen: list[int] = []
    store, bus = Store(f"sqlite:///{tmp_path / 'live.db'}"), InProcessBus()
    ingestor = Ingestor(store, bus, "lo0-fake", window_s=0.05)

    def capture(interface: str, *, stop: object = None, idle_s: float | None = None, **_: object) -> Iterator[Any]:
        if packets:
            yield first
        time.sleep(0.1)  # past the window
        for k in range(3 if idle_s is not None else 0):
            yield idle_batch(LINKTYPE_ETHERNET, 1_700_000_000.0 + k)
            seen.append(len(analysed))

    real = ingestor._analyse
    monkeypatch.setattr(live, "capture_live", capture)
    monkeypatch.setattr(ingestor, "_analyse", lambda path: analysed.append(path) or real(path))
    ingestor._capture_interface("lo0-fake")
    store.close()
    return ingestor, seen


def test_a_live_window_is_analysed_once_due_though_the_link_fell_quiet(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: the window was cut only when a later packet came (the capture handed over nothing while the link
    was quiet), so a scan's packets before a quiet spell were analysed, and its alerts announced, only at the next
    packet or the stop. Now the capture's idle ticks close a window that is due."""
    ingestor, seen = _quiet_link(tmp_path, monkeypatch, packets=True)
    assert seen == [1, 1, 1]  # analysed at the first idle tick, once
    assert ingestor.status["files"] == 1 and ingestor.status["packets"] == len(next(iter(read_capture(DEMO))))


def test_idle_ticks_with_no_window_open_analyse_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ingestor, seen = _quiet_link(tmp_path, monkeypatch, packets=False)
    assert seen == [0, 0, 0] and ingestor.status["files"] == 0
