"""The monitor use case: a live interface or a growing folder of captures -> engine -> analyzers,
continuously, with alerts printed, exported and stored as they happen.

Baselines persist for the whole run (one set of analyzers, one engine: a flow may span rotated capture
files). A folder is polled for capture files and Zeek logs: a new file is read once its size and
modification time have not changed for one poll, and read again when it grows, from where the last
read stopped (packets or log lines already fed are passed over, never fed twice), so a writer that
pauses longer than a poll (tcpdump ``-G`` rotation on a quiet network) neither delays its alerts until
rotation nor doubles them; a Zeek log is read at every poll it grew, a new one as soon as it holds a whole
first record (its whole lines only: Zeek appends all the time on a busy network, so a new log would never be
found unchanged). A file whose head changed (a ring buffer,
``tcpdump -C -W``, writing a name again) or that shrank is new content, read from its start. A last
packet or line cut short by the writer is left for the next read.

A folder's Zeek logs are read together by one :class:`~iotwarden.sources.zeek_live.ZeekFollower` for the
whole run, which puts Zeek's write order back in time order and joins conn.log's MACs onto the other logs
across files and polls, as ``analyze`` of the finished folder does. Zeek rotates a log by renaming it with
the time in its name (``conn.2026-12-06-22-00-00.log``: ``Log::default_rotation_date_format``, or ZeekControl's
archive ``conn.22:00:00-23:00:00.log.gz``, gzip'd by ``Log::default_rotation_postprocessor_cmd``;
docs.zeek.org, base/frameworks/logging/main.zeek) and starting the name afresh: a log is known by its content
(its header, with Zeek's ``#open`` time, and first record: :func:`zeek_ident`), so a renamed or compressed
copy of a log already followed shares its read position: only lines never read are fed, none twice.
With a store, the run's alerts, devices (addresses, evidence) and findings are written as a worker's
checkpoint writes them (:class:`~iotwarden.services.runstate.RunState`), every :data:`STORE_EVERY_S` and at
the end, so the stored inventory is ``analyze``'s; flows are analysed, not stored.
Memory is bounded by the analyzers' limits, the follower's and :data:`MAX_SEEN_FILES`. :meth:`Monitor.stop`
(or Ctrl-C in the CLI) ends cleanly: held Zeek records released, every flow flushed through the detectors,
alerts stored and exporters closed.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from iotwarden.addons import AddonManager, site_analyzers
from iotwarden.detect.pipeline import Suppression
from iotwarden.engine.batch import PacketBatch
from iotwarden.errors import CaptureError, IotwardenError
from iotwarden.export import Exporter, exporter_names
from iotwarden.hooks import Context
from iotwarden.model.alert import Alert
from iotwarden.services.analyze import certificate_check
from iotwarden.services.follow import Cursor, Progress, head_of, skip_packets, zeek_ident, zeek_log_begun
from iotwarden.services.inputs import sniff_format
from iotwarden.services.monitor_settings import POLL_S
from iotwarden.services.runstate import RunState
from iotwarden.sources import zeek
from iotwarden.sources.base import RecordBatch
from iotwarden.sources.capfile import read_capture
from iotwarden.sources.zeek_lines import KNOWN_TYPES
from iotwarden.sources.zeek_live import ZeekFollower
from iotwarden.store import Store
from iotwarden.store import writer as w
from iotwarden.store.addresses import prior_owners
from iotwarden.store.schema import CaptureRow

log = logging.getLogger(__name__)
MAX_SEEN_FILES = 100_000  # files followed (read position remembered; oldest forgotten first)
STORE_EVERY_S = 5.0  # wall seconds between two writes of what changed (alerts, devices, findings)
CAPTURE_FORMAT = "monitor"  # captures.format of a monitor run's row (its stored devices' snapshot points to it)

# a followed file's names (services/follow.py, split from this module) stay importable from here
__all__ = ["CAPTURE_FORMAT", "MAX_SEEN_FILES", "POLL_S", "STORE_EVERY_S", "Cursor", "Monitor", "Progress", "zeek_ident"]


class Monitor:
    """One monitoring run; ``on_alert`` callbacks hear each new (unsuppressed) alert."""

    def __init__(self, *, store: Store | None = None, exporters: Iterable[Exporter] = (),
                 suppressions: Iterable[Suppression] = (), options: dict[str, dict[str, Any]] | None = None,
                 on_alert: Iterable[Callable[[Alert], None]] = (), engine_config: Any = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        from iotwarden.engine.core import Engine  # noqa: PLC0415 - loads every dissector

        self.state: RunState | None = None  # with a store: the run's analyzers and what of them is written
        if store is not None:  # alerts name the MAC that held a routed address (the store's address history)
            with store.session() as session:
                owners = prior_owners(session)
            self.state = RunState("local", f"monitor-{time.time():.0f}", certificate_check=certificate_check(store),
                                  options=options, suppressions=suppressions, prior_owners=owners)
            self.ctx, self.addons, self.pipeline = self.state.ctx, self.state.addons, self.state.pipeline
        else:
            self.ctx = Context()
            analyzers = site_analyzers(options, suppressions)  # detectors and pipeline built from site policy
            self.pipeline = analyzers[-1]
            self.addons = AddonManager(self.ctx, analyzers)
            self.addons.load()
        self.engine = Engine(config=engine_config)
        self.store, self.exporters = store, list(exporters)
        self.unclosed = list(self.exporters)  # the exporters finish() has not closed yet (a close cut short stays)
        self._ended = False  # finish() has flushed the run: a second call only closes what is still open
        # exporter (its destination, exporter_names) -> last error (a SIEM down never stops us)
        self.export_errors: dict[str, str] = {}
        for fn in on_alert:
            self.pipeline.subscribe(fn)
        self.pipeline.subscribe(self._export)
        self.stopping = threading.Event()
        self.seen: OrderedDict[str, Cursor] = OrderedDict()  # file name -> how far it has been read
        self._sizes: dict[str, tuple[int, int]] = {}  # file name -> (size, mtime) at the previous look
        self._logs: OrderedDict[bytes, Progress] = OrderedDict()  # a Zeek log's ident -> how far it was read
        self.followers: dict[Path, ZeekFollower] = {}  # a watched folder's Zeek logs, read together
        self.clock = clock
        self.files = 0
        self.counts = {"packets": 0, "flows": 0, "observations": 0}  # read so far (packets or log records)
        self._stored_at = 0.0
        self._capture_id: int | None = None  # the run's captures row, made at its first write

    def _export(self, alert: Alert) -> None:
        for name, exporter in zip(exporter_names(self.exporters), self.exporters, strict=True):
            try:
                exporter.send(alert)
            except IotwardenError as exc:
                self.export_errors[name] = str(exc)
                log.warning("export failed: %s", exc)

    def feed(self, batch: PacketBatch) -> None:
        res = self.engine.process(batch)
        self._count(len(batch), res.observations, res.flows)
        self.addons.observations(res.observations)
        self.addons.flows(res.flows)
        if len(batch):
            self.addons.tick(float(batch.ts[-1]))
        self._maybe_store()

    def run_live(self, batches: Iterator[PacketBatch]) -> None:
        for batch in batches:
            self.feed(batch)
            if not len(batch):
                self._idle(batch)
            if self.stopping.is_set():
                break

    def _idle(self, batch: PacketBatch) -> None:
        """A live link's heartbeat (sources/live.IdleBatch): no packet, yet its clock went on; the engine closes the
        flows idle by then and the analyzers are ticked to it, so a sweep's probes are judged, and held scans and
        flows waiting for their device's class come due, on a quiet link."""
        from iotwarden.sources.live import IdleBatch  # noqa: PLC0415 - Linux-only; only a live capture sends one

        if isinstance(batch, IdleBatch):
            res = self.engine.advance(batch.at)  # the probes of a sweep that went quiet end idle now
            self._count(0, res.observations, res.flows)
            self.addons.observations(res.observations)
            self.addons.flows(res.flows)
            self.addons.tick(batch.at)
            self._maybe_store()

    def process_file(self, path: Path, cursor: Cursor | None = None, *, final: bool = True) -> None:
        """Feed ``path`` (a capture or a Zeek log) from where ``cursor`` says the last read stopped;
        a broken file is reported (once per error) and what could be read is kept."""
        cursor = cursor or Cursor("capture", 0, 0, 0, b"")
        if cursor.kind == "zeek":
            self._read_zeek(path.parent, [(path, cursor)], final=final)
            return
        if cursor.records == 0:
            self.files += 1
        try:
            for batch in skip_packets(read_capture(path), cursor.records):
                self.feed(batch)
                cursor.records += len(batch)
            cursor.error = None
        except CaptureError as exc:  # a broken or half-written capture: keep what was read, never fatal
            self._read_error(cursor, exc)
        self._maybe_store(force=True)

    @staticmethod
    def _read_error(cursor: Cursor, exc: CaptureError) -> None:
        if str(exc) != cursor.error:
            log.warning("%s (read again from there if the file grows)", exc)
        cursor.error = str(exc)

    def _read_zeek(self, folder: Path, logs: list[tuple[Path, Cursor]], *, final: bool) -> None:
        """The new lines of a folder's Zeek ``logs`` through its follower, side by side in time order; what
        the follower releases goes to the analyzers. ``final``: every log is there whole (one last pass)."""
        follower = self.followers.get(folder)
        if follower is None:
            follower = self.followers[folder] = ZeekFollower(clock=self.clock)
        for _, cursor in logs:
            if cursor.records == 0:
                self.files += 1
        streams = [self._zeek_lines(path, cursor, final=final) for path, cursor in logs]
        for item in follower.read(streams, patient=final):
            self._feed_records(item)
        self._maybe_store(force=True)

    def _zeek_lines(self, path: Path, cursor: Cursor, *, final: bool) -> Iterator[zeek._Item]:
        """The lines of one Zeek log past those already read (by this name or another of the same log)."""
        assert cursor.log_type is not None
        at = cursor.resumed  # the log is read on from where it stopped (plain or gz), never parsed again before
        skip = max(0, cursor.records - at)  # lines another copy fed (its gz archive): counted, not decoded
        try:
            for item in zeek._file_items(path, cursor.log_type, whole_lines=not final, resume=cursor.resume,
                                         skip=skip):
                at += 1
                if at > cursor.records:  # read now, or by a copy read beside it (a log and its gz archive)
                    cursor.records = at
                    yield item
            cursor.resumed = at
            cursor.error = None
        except CaptureError as exc:  # a damaged log: what was read is kept, never fatal
            self._read_error(cursor, exc)

    def _count(self, packets: int, observations: list[Any], flows: list[Any]) -> None:
        self.counts["packets"] += packets
        self.counts["observations"] += len(observations)
        self.counts["flows"] += len(flows)

    def _feed_records(self, item: RecordBatch) -> None:
        self._count(item.records, item.observations, item.flows)
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
        changed since the previous look (a Zeek log already followed: as soon as it grew); ``final``:
        read everything now, a last line with no end of line included (nothing more will be written).
        Zeek logs are read together after the captures; their records held for time order are released
        as they come due, and at :meth:`finish`."""
        logs: list[tuple[Path, Cursor]] = []
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
            grown_log = cursor is not None and cursor.kind == "zeek" and st.st_size >= cursor.size
            if not (settled or final or grown_log or (cursor is None and zeek_log_begun(path))):
                continue
            cursor = self._cursor(path, cursor, state)
            if cursor.kind == "zeek":
                logs.append((path, cursor))
            elif cursor.kind is not None:
                self.process_file(path, cursor, final=final)
            if self.stopping.is_set():
                return
        if logs:
            self._read_zeek(folder, logs, final=final)
        for follower in self.followers.values():  # quiet polls: records held long enough go on
            for item in follower.release():
                self._feed_records(item)

    def _cursor(self, path: Path, cursor: Cursor | None, state: tuple[int, int]) -> Cursor:
        """The file's cursor: kept when the file only grew, a fresh one for new content."""
        if cursor is not None and state[0] >= cursor.size and head_of(path, cursor.head_len) == (
                cursor.head_len, cursor.head):
            cursor.size, cursor.mtime_ns = state
            if cursor.kind is None and cursor.log_type is None and cursor.records == 0:
                self._sniff(path, cursor)  # first seen before its head was written whole
        else:
            cursor = Cursor(None, *state, 0, b"")
            self._sniff(path, cursor)
        if cursor.kind == "zeek" and cursor.ident is None:
            self._identify(path, cursor)
        cursor.head_len, cursor.head = head_of(path)
        self.seen[path.name] = cursor
        self.seen.move_to_end(path.name)
        if len(self.seen) > MAX_SEEN_FILES:
            self.seen.popitem(last=False)
        return cursor

    @staticmethod
    def _sniff(path: Path, cursor: Cursor) -> None:
        """What the file is: a capture, a Zeek log of a type we map, or neither (None)."""
        kind = sniff_format(path)
        cursor.kind = kind if kind in ("capture", "zeek") else None
        if cursor.kind == "zeek":
            cursor.log_type = zeek.sniff_zeek(path)
            if cursor.log_type not in KNOWN_TYPES:  # a log we do not map: ignored, as analyze does
                cursor.kind = None

    def _identify(self, path: Path, cursor: Cursor) -> None:
        """A Zeek log's content name; a log already followed under another name (renamed by rotation, its gz
        archive, a copy) shares that one's read position, so its lines are not fed again."""
        cursor.ident = zeek_ident(path)
        if cursor.ident is None:
            return
        known = self._logs.get(cursor.ident)
        if known is not None and cursor.records == 0:
            cursor.progress = known
        self._logs[cursor.ident] = cursor.progress
        self._logs.move_to_end(cursor.ident)
        if len(self._logs) > MAX_SEEN_FILES:
            self._logs.popitem(last=False)

    def stop(self) -> None:
        self.stopping.set()

    def finish(self) -> list[Alert]:
        """Release every Zeek record held, flush every flow through the detectors, store the alerts, close
        exporters; the run's alerts. Idempotent: the run is flushed once, and an exporter is closed once, its close
        returned or its error counted (``export_errors``); one whose close was cut short (a second Ctrl-C while a TLS
        collector's close waits) stays in :attr:`unclosed` for the next call or the caller to close."""
        if not self._ended:
            self._ended = True  # set first: what a failed flush raised is raised once, its alerts are not made twice
            self._flush()
        for name, exporter in zip(exporter_names(self.exporters), self.exporters, strict=True):
            if not any(e is exporter for e in self.unclosed):
                continue
            try:
                exporter.close()
            except (IotwardenError, OSError) as exc:  # OSError: a bundle file that cannot be written (disk, folder)
                self.export_errors[name] = str(exc)
            self.unclosed = [e for e in self.unclosed if e is not exporter]
        return list(self.ctx.alerts)

    def _flush(self) -> None:
        """The end of the run's input: every Zeek record held released, every flow through the detectors, the
        analyzers' done, what changed stored."""
        for follower in self.followers.values():
            for item in follower.release(end=True):
                self._feed_records(item)
        res = self.engine.flush()
        self._count(0, res.observations, res.flows)
        self.addons.observations(res.observations)
        self.addons.flows(res.flows)
        if self.state is not None:
            self.state.finish()
        else:
            self.addons.done()
        self._maybe_store(force=True)

    def _maybe_store(self, force: bool = False) -> None:
        """Every :data:`STORE_EVERY_S` (and at each file's end): what changed since the last write, as a
        worker's checkpoint writes it (services/runstate.py): alerts, devices with their addresses and
        evidence, findings; at the end the snapshot and the address fold ``analyze`` makes. Flows are
        analysed, not stored."""
        if self.store is None or self.state is None or (
                not force and time.monotonic() - self._stored_at < STORE_EVERY_S):
            return
        with self.store.transaction() as session:
            if self._capture_id is None:
                self._capture_id = w.begin_capture(session, path=f"monitor:{self.state.run}", sha256=None, size=0,
                                                   fmt=CAPTURE_FORMAT).id
            self.state.checkpoint(session, self._capture_id)
            row = session.get(CaptureRow, self._capture_id)
            if row is not None:
                status = "complete" if self.state.ended else "partial"
                w.finish_capture(row, status=status, packets=self.counts["packets"], flows=self.counts["flows"],
                                 observations=self.counts["observations"],
                                 devices=len(self.ctx.devices), error=None, stats={"files": self.files})
        self._stored_at = time.monotonic()
