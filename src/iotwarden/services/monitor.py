"""The monitor use case: a live interface or a growing folder of captures -> engine -> analyzers,
continuously, with alerts printed, exported and stored as they happen.

Baselines persist for the whole run (one set of analyzers, one engine: a flow may span rotated capture
files). A folder is polled: a capture file is processed once, when its size and modification time
have not changed for one poll (the writer closed it). Memory is bounded by the analyzers' limits and
:data:`MAX_SEEN_FILES`. :meth:`Monitor.stop` (or Ctrl-C in the CLI) ends cleanly: every flow is
flushed through the detectors, alerts stored and exporters closed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from iotwarden.addons import AddonManager, default_analyzers
from iotwarden.detect import default_detectors
from iotwarden.detect.base import Detector
from iotwarden.detect.pipeline import AlertPipeline, Suppression
from iotwarden.engine.batch import PacketBatch
from iotwarden.errors import CaptureError, IotwardenError
from iotwarden.export import Exporter
from iotwarden.hooks import Context
from iotwarden.model.alert import Alert
from iotwarden.services.analyze import sniff_format
from iotwarden.sources.capfile import read_capture
from iotwarden.store import Store
from iotwarden.store.alerts import upsert_alerts

log = logging.getLogger(__name__)
POLL_S = 2.0  # seconds between two looks at a watched folder
MAX_SEEN_FILES = 100_000  # processed capture files remembered (oldest forgotten first)
STORE_EVERY_S = 5.0  # wall seconds between two writes of changed alerts


class Monitor:
    """One monitoring run; ``on_alert`` callbacks hear each new (unsuppressed) alert."""

    def __init__(self, *, store: Store | None = None, exporters: Iterable[Exporter] = (),
                 suppressions: Iterable[Suppression] = (), options: dict[str, dict[str, Any]] | None = None,
                 on_alert: Iterable[Callable[[Alert], None]] = (), engine_config: Any = None) -> None:
        from iotwarden.engine.core import Engine  # noqa: PLC0415 - loads every dissector

        self.ctx = Context()
        # the registry's analyzers, with the detectors built from this run's options (site policy)
        analyzers = [a for a in default_analyzers() if not isinstance(a, AlertPipeline | Detector)]
        analyzers += default_detectors(options)
        self.pipeline = AlertPipeline(suppressions)
        self.addons = AddonManager(self.ctx, [*analyzers, self.pipeline])
        self.engine = Engine(config=engine_config)
        self.store, self.exporters = store, list(exporters)
        self.export_errors: dict[str, str] = {}  # exporter -> last error (a SIEM down never stops us)
        for fn in on_alert:
            self.pipeline.subscribe(fn)
        self.pipeline.subscribe(self._export)
        self.stopping = threading.Event()
        self.seen: OrderedDict[tuple[str, int, float], None] = OrderedDict()
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

    def process_file(self, path: Path) -> None:
        try:
            for batch in read_capture(path):
                self.feed(batch)
        except CaptureError as exc:  # a broken capture is reported and skipped, never fatal
            log.warning("%s", exc)
        self.files += 1
        self._maybe_store(force=True)

    def poll(self, folder: Path, *, interval: float = POLL_S, once: bool = False) -> None:
        """Process capture files appearing in ``folder`` until :meth:`stop` (or one pass: ``once``)."""
        sizes: dict[str, tuple[int, float]] = {}
        while not self.stopping.is_set():
            for path in sorted(folder.iterdir(), key=lambda p: (p.stat().st_mtime, p.name)):
                if not path.is_file() or path.name.startswith("."):
                    continue
                st = path.stat()
                ident = (path.name, st.st_size, st.st_mtime)
                if ident in self.seen or st.st_size == 0:
                    continue
                settled = sizes.get(path.name) == (st.st_size, st.st_mtime)
                sizes[path.name] = (st.st_size, st.st_mtime)
                if not (settled or once) or sniff_format(path) != "capture":
                    continue
                self.seen[ident] = None
                if len(self.seen) > MAX_SEEN_FILES:
                    self.seen.popitem(last=False)
                self.process_file(path)
                if self.stopping.is_set():
                    break
            if once:
                return
            self.stopping.wait(interval)

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
