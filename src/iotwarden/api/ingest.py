"""``serve --capture``: analyse a folder's new capture files, or a live interface in windows, in a background
thread, and publish what changed on the bus for the console: ``capture.finished``, ``inventory.devices``,
``alert.created`` (each new alert, up to :data:`MAX_ALERT_EVENTS` per file, then one summing up the
rest) and ``finding.created`` (how many new findings).

A live interface is spooled to a pcap file per window (:data:`WINDOW_S` or :data:`MAX_WINDOW_PACKETS`),
each analysed like any capture file and then deleted, also when the link fell quiet (the capture's idle ticks);
a flow that spans two windows is stored as two.
"""

from __future__ import annotations

import struct
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import func, select

from iotwarden.bus import InProcessBus
from iotwarden.engine.batch import PacketBatch
from iotwarden.errors import IotwardenError
from iotwarden.services.analyze import FileResult, analyze_file
from iotwarden.services.inputs import sniff_format
from iotwarden.store import Store
from iotwarden.store.alert_models import AlertRow, FindingRow
from iotwarden.store.schema import DeviceRow

POLL_S = 2.0  # how often a watched folder is listed
MAX_FOLDER_FILES = 10_000  # files of a watched folder remembered as done (the oldest forgotten first)
WINDOW_S = 10.0  # seconds of live traffic analysed (and committed) together
MAX_WINDOW_PACKETS = 200_000  # a busier window is cut early so memory and latency stay bounded
MAX_KEYS_IN_EVENT = 50  # device keys named in one inventory event
MAX_ALERT_EVENTS = 50  # new alerts announced one by one per analysed file; the rest in one summary event
PCAP_MAGIC_US = 0xA1B2C3D4  # pcap file format (draft-ietf-opsawg-pcap §4): microsecond timestamps


class Ingestor:
    """One background source; ``status`` is the live dict the API's /sources lists."""

    def __init__(self, store: Store, bus: InProcessBus, target: str, *, poll_s: float = POLL_S,
                 window_s: float = WINDOW_S) -> None:
        self.store, self.bus, self.target = store, bus, target
        self.poll_s, self.window_s = poll_s, window_s
        self.kind = "folder" if Path(target).is_dir() else "interface"
        self.status: dict[str, Any] = {"source": target, "kind": self.kind, "state": "starting", "files": 0,
                                       "packets": 0, "errors": 0, "last_error": None, "updated": time.time()}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"ingest {target}", daemon=True)
        self._done: dict[str, float] = {}  # path -> mtime analysed

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _set(self, **changes: Any) -> None:
        self.status.update(changes, updated=time.time())

    def _run(self) -> None:
        self._set(state="running")
        try:
            if self.kind == "folder":
                self._watch_folder(Path(self.target))
            else:
                self._capture_interface(self.target)
            self._set(state="stopped")
        except IotwardenError as exc:
            self._set(state="failed", last_error=str(exc), errors=self.status["errors"] + 1)

    def _last_ids(self) -> tuple[int, int]:
        """The newest alert and finding ids: what an analysis adds comes after them."""
        with self.store.session() as session:
            return (int(session.scalar(select(func.max(AlertRow.id))) or 0),
                    int(session.scalar(select(func.max(FindingRow.id))) or 0))

    def _analyse(self, path: Path) -> FileResult:
        """Analyse one file and announce what it changed."""
        before = self._last_ids()
        result = analyze_file(path, self.store)
        if result.status != "skipped":
            self._publish(result)
            self._announce(before)
        return result

    def _announce(self, before: tuple[int, int]) -> None:
        shown = (AlertRow.id > before[0], AlertRow.suppressed.is_(False))
        with self.store.session() as session:
            alerts = list(session.scalars(select(AlertRow).where(*shown).order_by(AlertRow.id)
                                          .limit(MAX_ALERT_EVENTS + 1)))
            more = 0
            if len(alerts) > MAX_ALERT_EVENTS:
                more = int(session.scalar(select(func.count()).select_from(AlertRow).where(
                    *shown, AlertRow.id > alerts[MAX_ALERT_EVENTS - 1].id)) or 0)
            findings = int(session.scalar(select(func.count()).select_from(FindingRow)
                                          .where(FindingRow.id > before[1])) or 0)
        for row in alerts[:MAX_ALERT_EVENTS]:
            self.bus.publish("alert.created", {"id": row.id, "title": row.title, "severity": row.severity,
                                               "detector_id": row.detector_id, "device_key": row.device_key})
        if more:
            self.bus.publish("alert.created", {"more": more, "title": f"{more} more new alerts"})
        if findings:
            self.bus.publish("finding.created", {"count": findings})

    def _publish(self, result: FileResult) -> None:
        self._set(files=self.status["files"] + 1, packets=self.status["packets"] + result.packets)
        if result.error:
            self._set(errors=self.status["errors"] + 1, last_error=result.error)
        self.bus.publish("capture.finished", {"path": result.path, "status": result.status,
                                              "packets": result.packets, "devices": result.devices})
        if result.device_keys:
            with self.store.session() as session:
                total = int(session.scalar(select(func.count()).select_from(DeviceRow)) or 0)
            self.bus.publish("inventory.devices", {"count": len(result.device_keys), "total": total,
                                                   "keys": result.device_keys[:MAX_KEYS_IN_EVENT]})

    # --- a folder: every new or changed capture file, once its size has settled
    def scan_once(self, folder: Path) -> list[FileResult]:
        """Analyse the files that appeared or changed since the last scan (skipping growing ones)."""
        results = []
        sizes = {p: p.stat().st_size for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")}
        time.sleep(min(0.2, self.poll_s))
        for path, size in sizes.items():
            try:
                stat = path.stat()
            except OSError:
                continue
            if stat.st_size != size or self._done.get(str(path)) == stat.st_mtime:
                continue  # still being written, or already analysed
            self._done[str(path)] = stat.st_mtime
            while len(self._done) > MAX_FOLDER_FILES:
                self._done.pop(next(iter(self._done)))
            if sniff_format(path) != "capture":
                continue
            results.append(self._analyse(path))
        return results

    def _watch_folder(self, folder: Path) -> None:
        while not self._stop.is_set():
            self.scan_once(folder)
            self._stop.wait(self.poll_s)

    # --- a live interface: spool a window to pcap, analyse it, delete it
    def _capture_interface(self, interface: str) -> None:
        from iotwarden.sources.live import IDLE_TICK_S, capture_live  # noqa: PLC0415 - Linux-only, needs CAP_NET_RAW

        # a quiet link hands over an IdleBatch (no packet) every idle_s, so a window that is due is analysed then,
        # not only when a later packet comes (a scan's packets before a quiet spell would wait for it, or the stop)
        batches = capture_live(interface, stop=self._stop, idle_s=min(IDLE_TICK_S, self.window_s))
        spool = Path(tempfile.mkdtemp(prefix="iotwarden-live-"))
        window: SpoolFile | None = None
        try:
            for batch in batches:
                if len(batch):
                    if window is None:
                        window = SpoolFile(spool / f"window-{time.time():.3f}.pcap")
                    window.add(batch)
                if window is None:
                    continue
                if window.packets >= MAX_WINDOW_PACKETS or time.monotonic() - window.opened >= self.window_s:
                    self._analyse_window(window)
                    window = None
            if window is not None:
                self._analyse_window(window)
        finally:
            for leftover in spool.glob("*.pcap"):
                leftover.unlink(missing_ok=True)
            spool.rmdir()

    def _analyse_window(self, window: SpoolFile) -> None:
        window.close()
        try:
            if window.packets:
                self._analyse(window.path)
        finally:
            window.path.unlink(missing_ok=True)


class SpoolFile:
    """A pcap file being written from PacketBatches (one link type per file, the first batch's)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.opened = time.monotonic()
        self.packets = 0
        self._fh: BinaryIO = path.open("wb")
        self._linktype: int | None = None

    def add(self, batch: PacketBatch) -> None:
        for i in range(len(batch)):
            if self._linktype is None:
                self._linktype = int(batch.linktype[i])
                # global header: magic, version 2.4, thiszone, sigfigs, snaplen, link type (§4)
                self._fh.write(struct.pack("<IHHiIII", PCAP_MAGIC_US, 2, 4, 0, 0, 262144, self._linktype))
            if int(batch.linktype[i]) != self._linktype:
                continue  # a second link type needs its own file; rare on one interface
            start, caplen = int(batch.offsets[i]), int(batch.caplen[i])
            ts = float(batch.ts[i])
            sec = int(ts)
            self._fh.write(struct.pack("<IIII", sec, int((ts - sec) * 1e6), caplen, int(batch.wirelen[i])))
            self._fh.write(batch.data[start:start + caplen].tobytes())
            self.packets += 1

    def close(self) -> None:
        self._fh.close()
