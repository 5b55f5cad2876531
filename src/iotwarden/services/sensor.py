"""The sensor use case: capture files, Zeek logs or a live interface -> engine -> Observations and closed
Flows published to NATS JetStream (``iotwarden.<site>.records``, schema in services/records.py); no
analyzers, no store (workers do that, services/worker.py).

Each input is one *run* (a capture file, a Zeek folder, a live interface until stopped) with its own
engine, ended by a message that carries its capture statistics. Messages wait in a bounded outbox
(:data:`MAX_OUTBOX_MESSAGES`, :data:`MAX_OUTBOX_BYTES`) while NATS is away: reading a file then waits for
room (nothing is lost), a live capture drops the oldest message and counts it (the kernel would drop
packets otherwise). A message published again after a reconnect carries the same ``Nats-Msg-Id``, so
the stream keeps it once. NATS away (disconnected, or every publish failing) for longer than the outage
limit (:data:`~iotwarden.bus.jetstream.OUTAGE_LIMIT_S` unless set) stops the sensor: :attr:`Sensor.failure`
says why, the current input ends and what is still in the outbox stays unsent.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iotwarden.bus.jetstream import OUTAGE_LIMIT_S, BusError, NatsLink, check_site, records_subject
from iotwarden.engine.batch import PacketBatch
from iotwarden.services.feed import Feed, new_engine
from iotwarden.services.inputs import expand_paths, sniff_format
from iotwarden.services.records import MAX_MESSAGE_BYTES, MSG_ID_HEADER, Encoder, tick_of

log = logging.getLogger(__name__)
MAX_OUTBOX_MESSAGES = 4096  # messages waiting for NATS at most (see the module docstring for a full outbox)
MAX_OUTBOX_BYTES = 256 * 1024 * 1024  # bytes waiting for NATS at most
PUBLISH_TIMEOUT_S = 5.0  # one publish waits this long for the stream's acknowledgement
RETRY_WAIT_S = 1.0  # pause after a failed publish before the same message is tried again
DRAIN_WAIT_S = 30.0  # at exit, how long what is still in the outbox may take to reach NATS


@dataclass(slots=True)
class RunReport:
    """One input's outcome: ``status`` complete, partial (damaged input), stopped (Ctrl-C) or failed."""

    source: str
    run: str
    status: str = "complete"
    format: str | None = None
    packets: int = 0  # packets (or Zeek log records) read
    observations: int = 0
    flows: int = 0
    messages: int = 0
    error: str | None = None
    stats: dict[str, Any] = field(default_factory=dict)


class Outbox:
    """Messages waiting for NATS, oldest first, bounded by count and bytes."""

    def __init__(self, max_messages: int = MAX_OUTBOX_MESSAGES, max_bytes: int = MAX_OUTBOX_BYTES) -> None:
        self.max_messages, self.max_bytes = max_messages, max_bytes
        self._items: deque[tuple[str, bytes]] = deque()
        self._bytes = 0
        self._cond = threading.Condition()
        self.dropped = 0  # messages dropped to make room (live capture only)

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)

    def _full(self, size: int) -> bool:
        return bool(self._items) and (len(self._items) >= self.max_messages or self._bytes + size > self.max_bytes)

    def put(self, item: tuple[str, bytes], *, block: bool, stop: threading.Event | None = None) -> None:
        """Add ``item``; when full, wait for room (``block``, until ``stop``) or drop the oldest."""
        size = len(item[1])
        with self._cond:
            while self._full(size):
                if block and not (stop is not None and stop.is_set()):
                    self._cond.wait(0.5)
                    continue
                _, old = self._items.popleft()
                self._bytes -= len(old)
                self.dropped += 1
            self._items.append(item)
            self._bytes += size
            self._cond.notify_all()

    def peek(self, timeout: float) -> tuple[str, bytes] | None:
        with self._cond:
            if not self._items:
                self._cond.wait(timeout)
            return self._items[0] if self._items else None

    def pop(self) -> None:
        with self._cond:
            _, payload = self._items.popleft()
            self._bytes -= len(payload)
            self._cond.notify_all()

    def wait_empty(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._items and time.monotonic() < deadline:
                self._cond.wait(min(0.2, max(0.0, deadline - time.monotonic())))
            return not self._items


class Sensor:
    """Publishes what the engine makes of each input to the site's subject; :meth:`stop` (Ctrl-C) ends
    the current input cleanly (its flows flushed, its end message sent) and :meth:`close` waits up to
    :data:`DRAIN_WAIT_S` for the outbox to reach NATS. NATS away longer than ``outage_limit_s`` (0: wait
    forever) stops it as :meth:`stop` does, with :attr:`failure` set."""

    def __init__(self, link: NatsLink, site: str, *, engine_config: Any = None, max_message_bytes: int | None = None,
                 outbox: Outbox | None = None, outage_limit_s: float = OUTAGE_LIMIT_S) -> None:
        self.link, self.site = link, check_site(site)
        self.subject = records_subject(site)
        self.engine_config = engine_config
        server_max = int(getattr(link.client, "max_payload", 0) or MAX_MESSAGE_BYTES)
        self.max_message_bytes = min(max_message_bytes or MAX_MESSAGE_BYTES, server_max)
        self.outbox = outbox if outbox is not None else Outbox()  # an empty Outbox is falsy (len 0)
        self.stopping = threading.Event()
        self.published = 0
        self.duplicates = 0  # publishes the stream had already (a retry after a lost acknowledgement)
        self.retries = 0
        self.records_dropped = 0  # records too large for a message, or not JSON
        self.last_error: str | None = None
        self.outage_limit_s = outage_limit_s
        self.failure: BusError | None = None  # why the sensor gave up on NATS (the outage limit passed)
        self._failing_since: float | None = None  # time.monotonic() of the first publish of a failing series
        link.ensure_stream()
        self._closing = threading.Event()
        self._publisher = threading.Thread(target=self._publish_loop, name="sensor publisher", daemon=True)
        self._publisher.start()

    # --- publishing (its own thread: the engine never waits on the network unless the outbox is full)
    def _outage(self) -> float:
        """How long NATS has been away: disconnected, or every publish failing."""
        failing = 0.0 if self._failing_since is None else time.monotonic() - self._failing_since
        return max(self.link.down_for(), failing)

    def _give_up(self) -> bool:
        """Past the outage limit: record the failure and stop the inputs (True); else False."""
        away = self._outage()
        if not self.outage_limit_s or away <= self.outage_limit_s:
            return False
        self.failure = self.link.outage_error(self.outage_limit_s, away, f"sensor stopped, {len(self.outbox)} "
                                              "messages not sent")
        log.debug("sensor gives up: %s", self.failure)
        self.stopping.set()
        return True

    def _publish_loop(self) -> None:
        js = self.link.jetstream()
        while True:
            item = self.outbox.peek(0.2)
            if item is None:
                if self._closing.is_set() or self._give_up():  # a live capture may be idle while NATS is away
                    return
                continue
            msg_id, payload = item
            started = time.monotonic()
            try:
                ack = self.link.call(js.publish(self.subject, payload, timeout=PUBLISH_TIMEOUT_S,
                                                headers={MSG_ID_HEADER: msg_id}), PUBLISH_TIMEOUT_S + 1)
            except Exception as exc:  # noqa: BLE001 - NATS down, timeout, stream gone: retried until the limit
                if self._failing_since is None:
                    self._failing_since = started
                self.retries += 1
                self.last_error = str(exc) or type(exc).__name__
                if self.retries == 1 or self.retries % 30 == 0:
                    log.warning("publish to NATS failed (%s); retrying, %d messages waiting", self.last_error,
                                len(self.outbox))
                if "no response" in self.last_error.lower() or "not found" in self.last_error.lower():
                    try:  # a server restarted without its JetStream state: create the stream again
                        self.link.ensure_stream()
                    except BusError:  # still down: the next try says so
                        log.debug("stream not ready", exc_info=True)
                if self._give_up() or self._closing.wait(RETRY_WAIT_S):  # what is left stays unsent
                    return
                continue
            self._failing_since = None
            self.outbox.pop()
            self.published += 1
            self.duplicates += bool(getattr(ack, "duplicate", False))

    def _send(self, messages: Iterable[tuple[str, bytes]], *, block: bool) -> int:
        n = 0
        for item in messages:
            self.outbox.put(item, block=block, stop=self.stopping)
            n += 1
        return n

    def _encoder(self, source: str) -> Encoder:
        return Encoder(self.site, uuid.uuid4().hex, source, max_bytes=self.max_message_bytes)

    # --- inputs
    def run_paths(self, paths: Sequence[Path]) -> list[RunReport]:
        """Each capture file (folders expanded, Zeek log folders read together) as one run, in order."""
        reports = []
        for path in expand_paths(list(paths)):
            if self.stopping.is_set():
                break
            reports.append(self.run_file(path))
        return reports

    def run_file(self, path: Path) -> RunReport:
        """One input file (or Zeek folder) through its own engine, ended by the run's end message."""
        encoder = self._encoder(str(path))
        report = RunReport(source=str(path), run=encoder.run)
        if not path.exists():
            report.status, report.error = "failed", f"{path}: no such file"
            return report
        report.format = "zeek" if path.is_dir() else sniff_format(path) or "capture"
        feed = Feed(path, report.format, self.engine_config)
        stopped = False
        for batch in feed.batches():
            report.packets += batch.packets
            report.observations += len(batch.observations)
            report.flows += len(batch.flows)
            report.messages += self._send(encoder.batch(batch.observations, batch.flows,
                                                        tick=tick_of(batch.ts, batch.flows), packets=batch.packets),
                                          block=True)
            if self.stopping.is_set() and not stopped:  # finish with the flush the generator does next
                stopped = True
                feed.error = None
                break
        if stopped and feed.engine is not None:
            res = feed.engine.flush()
            feed.stats.merge(feed.engine.stats)
            report.flows += len(res.flows)
            report.messages += self._send(encoder.batch(res.observations, res.flows, tick=tick_of(None, res.flows)),
                                          block=True)
        if feed.error is not None:
            report.error = str(feed.error)
            if report.packets == 0 and report.observations == 0 and report.flows == 0:
                report.status = "failed"  # nothing read: no run to announce
                return report
            report.status = "partial"
        elif stopped:
            report.status = "stopped"
        feed.stats.packets = feed.stats.packets or feed.records
        return self._end(encoder, report, feed.stats.to_dict())

    def _end(self, encoder: Encoder, report: RunReport, stats: dict[str, Any]) -> RunReport:
        report.stats = {**stats, "records_dropped": encoder.dropped}
        self.records_dropped += encoder.dropped
        end_stats = {**report.stats, "status": report.status, "error": report.error}
        report.messages += self._send(encoder.batch([], [], tick=None, end=True, stats=end_stats), block=True)
        return report

    def run_live(self, batches: Iterator[PacketBatch], source: str) -> RunReport:
        """A live capture as one run until :meth:`stop` (or the batches end); a full outbox drops its oldest.
        A quiet link's heartbeat (sources/live.IdleBatch, ``capture_live(idle_s=...)``) closes the flows idle by
        its time and is sent as a tick with them, so the workers' analyzers (a held scan) come due with no packet."""
        from iotwarden.sources.live import IdleBatch  # noqa: PLC0415 - Linux-only; only a live capture sends one

        encoder = self._encoder(source)
        report = RunReport(source=source, run=encoder.run, format="live")
        engine = new_engine(self.engine_config)
        for batch in batches:
            ts: float | None
            if isinstance(batch, IdleBatch):  # no packet, yet the capture's clock went on
                res, ts = engine.advance(batch.at), batch.at
            else:
                res = engine.process(batch)
                ts = float(batch.ts[-1]) if len(batch) else None
            report.packets += len(batch)
            report.observations += len(res.observations)
            report.flows += len(res.flows)
            report.messages += self._send(encoder.batch(res.observations, res.flows, tick=tick_of(ts, res.flows),
                                                        packets=len(batch)), block=False)
            if self.stopping.is_set():
                break
        res = engine.flush()
        report.flows += len(res.flows)
        report.messages += self._send(encoder.batch(res.observations, res.flows, tick=tick_of(None, res.flows)),
                                      block=False)
        report.status = "stopped" if self.stopping.is_set() else "complete"
        return self._end(encoder, report, engine.stats.to_dict())

    def stop(self) -> None:
        self.stopping.set()

    def close(self, timeout: float = DRAIN_WAIT_S) -> int:
        """Wait up to ``timeout`` for the outbox to reach NATS (less once the publisher gave up on it), then
        stop publishing; the number of messages left unsent."""
        deadline = time.monotonic() + timeout
        while self._publisher.is_alive() and time.monotonic() < deadline:
            if self.outbox.wait_empty(min(0.5, deadline - time.monotonic())):
                break
        self._closing.set()
        self._publisher.join(PUBLISH_TIMEOUT_S + RETRY_WAIT_S + 1)
        return len(self.outbox)
