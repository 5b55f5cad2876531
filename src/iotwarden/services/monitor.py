"""The monitor use case: a live interface or a growing folder of captures -> engine -> analyzers,
continuously, with alerts printed, exported and stored as they happen.

Baselines persist for the whole run (one set of analyzers, one engine: a flow may span rotated capture
files). A folder is polled for capture files and Zeek logs: a file is read when its size and
modification time have not changed for one poll, and read again when it grows, from where the last
read stopped (packets or log lines already fed are passed over, never fed twice), so a writer that
pauses longer than a poll (tcpdump ``-G`` rotation on a quiet network, a Zeek log between flushes)
neither delays its alerts until rotation nor doubles them. A file whose head changed (a ring buffer,
``tcpdump -C -W``, writing a name again) or that shrank is new content, read from its start. A last
packet or line cut short by the writer is left for the next read. Memory is bounded by the analyzers'
limits and :data:`MAX_SEEN_FILES`. :meth:`Monitor.stop` (or Ctrl-C in the CLI) ends cleanly: every flow is
flushed through the detectors, alerts stored and exporters closed.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iotwarden.addons import AddonManager, site_analyzers
from iotwarden.detect.pipeline import Suppression
from iotwarden.engine.batch import PacketBatch
from iotwarden.errors import CaptureError, IotwardenError
from iotwarden.export import Exporter
from iotwarden.hooks import Context
from iotwarden.inventory.builder import InventoryBuilder
from iotwarden.model.alert import Alert
from iotwarden.services.analyze import sniff_format
from iotwarden.sources.base import RecordBatch
from iotwarden.sources.capfile import read_capture
from iotwarden.sources.zeek import read_zeek
from iotwarden.store import Store
from iotwarden.store.addresses import prior_owners
from iotwarden.store.alerts import upsert_alerts

log = logging.getLogger(__name__)
POLL_S = 2.0  # seconds between two looks at a watched folder
MAX_SEEN_FILES = 100_000  # files followed (read position remembered; oldest forgotten first)
STORE_EVERY_S = 5.0  # wall seconds between two writes of changed alerts
HEAD_BYTES = 4096  # bytes of a file's start compared to tell more of the same file from new content


@dataclass(slots=True)
class Cursor:
    """How far a followed file has been read: ``records`` packets (capture) or log lines (Zeek)."""

    kind: str | None  # "capture", "zeek", or None: not something the monitor reads
    size: int
    mtime_ns: int
    head_len: int  # the file's first ``head_len`` bytes hash to ``head`` (at most HEAD_BYTES)
    head: bytes
    records: int = 0
    error: str | None = None  # the last read's error, reported once


def _head(path: Path, length: int = HEAD_BYTES) -> tuple[int, bytes]:
    with path.open("rb") as fh:
        data = fh.read(length)
    return len(data), hashlib.sha256(data).digest()


def _skip_packets(batches: Iterator[PacketBatch], skip: int) -> Iterator[PacketBatch]:
    """The packets after the first ``skip`` (those fed by an earlier read of the same file)."""
    for batch in batches:
        n = len(batch)
        if skip >= n:
            skip -= n
            continue
        if skip:
            batch = PacketBatch(batch.data, batch.offsets[skip:], batch.caplen[skip:], batch.wirelen[skip:],
                                batch.ts[skip:], batch.linktype[skip:])
            skip = 0
        yield batch


class Monitor:
    """One monitoring run; ``on_alert`` callbacks hear each new (unsuppressed) alert."""

    def __init__(self, *, store: Store | None = None, exporters: Iterable[Exporter] = (),
                 suppressions: Iterable[Suppression] = (), options: dict[str, dict[str, Any]] | None = None,
                 on_alert: Iterable[Callable[[Alert], None]] = (), engine_config: Any = None) -> None:
        from iotwarden.engine.core import Engine  # noqa: PLC0415 - loads every dissector

        self.ctx = Context()
        analyzers = site_analyzers(options, suppressions)  # detectors and pipeline built from site policy
        self.pipeline = analyzers[-1]
        inventory = next((a for a in analyzers if isinstance(a, InventoryBuilder)), None)
        if store is not None and inventory is not None:  # alerts name the MAC that held a routed address
            with store.session() as session:
                inventory.use_prior_owners(prior_owners(session))
        self.addons = AddonManager(self.ctx, analyzers)
        self.engine = Engine(config=engine_config)
        self.store, self.exporters = store, list(exporters)
        self.export_errors: dict[str, str] = {}  # exporter -> last error (a SIEM down never stops us)
        for fn in on_alert:
            self.pipeline.subscribe(fn)
        self.pipeline.subscribe(self._export)
        self.stopping = threading.Event()
        self.seen: OrderedDict[str, Cursor] = OrderedDict()  # file name -> how far it has been read
        self._sizes: dict[str, tuple[int, int]] = {}  # file name -> (size, mtime) at the previous look
        self.files = 0
        self._stored_at = 0.0
        self.addons.load()

    def _export(self, alert: Alert) -> None:
        for exporter in self.exporters:
            try:
                exporter.send(alert)
            except IotwardenError as exc:
                self.export_errors[type(exporter).__name__] = str(exc)
                log.warning("export failed: %s", exc)

    def feed(self, batch: PacketBatch) -> None:
        res = self.engine.process(batch)
        self.addons.observations(res.observations)
        self.addons.flows(res.flows)
        if len(batch):
            self.addons.tick(float(batch.ts[-1]))
        self._maybe_store()

    def run_live(self, batches: Iterator[PacketBatch]) -> None:
        for batch in batches:
            self.feed(batch)
            if self.stopping.is_set():
                break

    def process_file(self, path: Path, cursor: Cursor | None = None, *, final: bool = True) -> None:
        """Feed ``path`` (a capture or a Zeek log) from where ``cursor`` says the last read stopped;
        a broken file is reported (once per error) and what could be read is kept."""
        cursor = cursor or Cursor("capture", 0, 0, 0, b"")
        if cursor.records == 0:
            self.files += 1
        try:
            if cursor.kind == "zeek":
                for item in read_zeek(path, skip=cursor.records, whole_lines=not final):
                    self._feed_records(item)
                    cursor.records += item.records
            else:
                for batch in _skip_packets(read_capture(path), cursor.records):
                    self.feed(batch)
                    cursor.records += len(batch)
            cursor.error = None
        except CaptureError as exc:  # a broken or half-written capture: keep what was read, never fatal
            if str(exc) != cursor.error:
                log.warning("%s (read again from there if the file grows)", exc)
            cursor.error = str(exc)
        self._maybe_store(force=True)

    def _feed_records(self, item: RecordBatch) -> None:
        self.addons.observations(item.observations)
        self.addons.flows(item.flows)
        if item.last_ts is not None:
            self.addons.tick(item.last_ts)
        self._maybe_store()

    def poll(self, folder: Path, *, interval: float = POLL_S, once: bool = False) -> None:
        """Read capture files and Zeek logs in ``folder`` as they settle and grow, until :meth:`stop`
        (or one pass over what is there now: ``once``)."""
        while not self.stopping.is_set():
            self.scan(folder, final=once)
            if once:
                return
            self.stopping.wait(interval)

    def scan(self, folder: Path, *, final: bool = False) -> None:
        """One look at ``folder``: read each file written to since its last read once it has not
        changed since the previous look; ``final``: read everything now, a last line with no end of
        line included (nothing more will be written)."""
        paths = sorted(folder.iterdir(), key=lambda p: (p.stat().st_mtime, p.name))
        for gone in self._sizes.keys() - {p.name for p in paths}:  # deleted files: forget their last look
            del self._sizes[gone]
        for path in paths:
            if not path.is_file() or path.name.startswith("."):
                continue
            st = path.stat()
            state = (st.st_size, st.st_mtime_ns)
            cursor = self.seen.get(path.name)
            if st.st_size == 0 or (cursor is not None and (cursor.size, cursor.mtime_ns) == state):
                continue  # nothing written since the last read
            settled = self._sizes.get(path.name) == state
            self._sizes[path.name] = state
            if not (settled or final):
                continue
            cursor = self._cursor(path, cursor, state)
            if cursor.kind is not None:
                self.process_file(path, cursor, final=final)
            if self.stopping.is_set():
                return

    def _cursor(self, path: Path, cursor: Cursor | None, state: tuple[int, int]) -> Cursor:
        """The file's cursor: kept when the file only grew, a fresh one for new content."""
        if cursor is not None and state[0] >= cursor.size and _head(path, cursor.head_len) == (
                cursor.head_len, cursor.head):
            cursor.size, cursor.mtime_ns = state
        else:
            kind = sniff_format(path)
            cursor = Cursor(kind if kind in ("capture", "zeek") else None, *state, 0, b"")
        cursor.head_len, cursor.head = _head(path)
        self.seen[path.name] = cursor
        self.seen.move_to_end(path.name)
        if len(self.seen) > MAX_SEEN_FILES:
            self.seen.popitem(last=False)
        return cursor

    def stop(self) -> None:
        self.stopping.set()

    def finish(self) -> list[Alert]:
        """Flush every flow through the detectors, store the alerts, close exporters; the run's alerts."""
        res = self.engine.flush()
        self.addons.observations(res.observations)
        self.addons.flows(res.flows)
        self.addons.done()
        self._maybe_store(force=True)
        for exporter in self.exporters:
            try:
                exporter.close()
            except IotwardenError as exc:
                self.export_errors[type(exporter).__name__] = str(exc)
        return list(self.ctx.alerts)

    def _maybe_store(self, force: bool = False) -> None:
        if self.store is None or (not force and time.monotonic() - self._stored_at < STORE_EVERY_S):
            return
        self.pipeline.drain(self.ctx)
        changed = self.pipeline.take_dirty()
        if changed:
            with self.store.transaction() as session:
                upsert_alerts(session, changed)
        self._stored_at = time.monotonic()
