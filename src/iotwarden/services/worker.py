"""The worker use case: a durable JetStream pull consumer of the sensors' records -> each run's analyzers
(services/runstate.py) -> store, and what changed announced on the console bus.

At-least-once: a message is acknowledged only after the transaction holding its effects committed. Each
message leaves a row in ``stream_messages`` (the digest of its id ``site:run:seq``) in that same
transaction, and its run's totals in the run's one ``captures`` row (format ``nats``), so a message
delivered again after a crash between commit and acknowledgement is recognised and acknowledged
without being fed twice; flows, alerts, findings and device sets are upserts anyway, and device
counters are written as differences (runstate). A malformed message is counted and terminated (never
redelivered); a record failing its checks is counted and skipped.

Analyzer state lives in this process, per site and sensor run (baselines, scan windows, the inventory's
endpoints). A restart loses it: what was committed stays, unacknowledged messages are delivered again
and feed a fresh state that joins the run where it is (counted as a gap when messages were committed
before). So one durable consumer (one worker) per set of sites: two workers on the same consumer would
split one run's messages between two states.

NATS away (a server restart) is waited out: pulls come back empty, acknowledgements wait in the
client's buffer, the consumer goes on from its acknowledged position once the server is back. A server
that crashed may also have forgotten acknowledgements of its last moments (JetStream writes consumer state
asynchronously): those messages come again after :data:`ACK_WAIT_S` and are recognised as stored. Away
longer than the outage limit (:data:`~iotwarden.bus.jetstream.OUTAGE_LIMIT_S` unless set), the worker
writes what it holds and stops with a :class:`~iotwarden.bus.jetstream.BusError`.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import delete, func, select

from iotwarden.bus.inprocess import InProcessBus
from iotwarden.bus.jetstream import (
    CALL_TIMEOUT_S,
    OUTAGE_LIMIT_S,
    RECORDS_PREFIX,
    STREAM,
    STREAM_MAX_AGE_S,
    NatsLink,
    check_site,
    records_subject,
)
from iotwarden.detect.pipeline import Suppression
from iotwarden.errors import ParseError, StoreError
from iotwarden.services.analyze import certificate_check
from iotwarden.services.inventory import check_shadow
from iotwarden.services.records import RecordMessage, decode
from iotwarden.services.runstate import MAX_PENDING_FLOWS, Checkpoint, RunState
from iotwarden.store import Store
from iotwarden.store import writer as w
from iotwarden.store.addresses import prior_owners
from iotwarden.store.alert_models import AlertRow
from iotwarden.store.schema import CaptureRow, DeviceRow
from iotwarden.store.stream_models import StreamMessageRow

log = logging.getLogger(__name__)
MAX_RUNS = 64  # runs analysed at once; past it the least recently fed run is ended (done) and written
RUN_IDLE_S = 3600.0  # a run with no message for this long (its sensor died) is ended and written
FETCH_BATCH = 256  # messages asked for in one pull
FETCH_WAIT_S = 1.0  # how long one pull waits for messages
COMMIT_EVERY_S = 2.0  # held messages are written and acknowledged at least this often
MAX_HELD = 1024  # messages held (fed, not yet acknowledged) before a checkpoint is forced
ACK_WAIT_S = 120.0  # the server redelivers a message not acknowledged for this long (checkpoints come sooner)
MAX_DELIVER = 10  # deliveries of one message at most: one that keeps failing the store is then left
STORE_RETRY_S = 5.0  # after a failed transaction, its messages are redelivered after this delay
MAX_ALERT_EVENTS = 50  # new alerts announced one by one per checkpoint; the rest in one summary event
MAX_KEYS_IN_EVENT = 50  # device keys named in one inventory event
CAPTURE_FORMAT = "nats"  # captures.format of the rows the worker writes


def message_digest(msg_id: str) -> str:
    """The ``stream_messages.digest`` that marks a message as stored."""
    return hashlib.sha256(f"iotwarden.records\n{msg_id}".encode()).hexdigest()


@dataclass(slots=True)
class WorkerStats:
    messages: int = 0  # messages fed to analyzers and stored
    duplicates: int = 0  # messages delivered again that were already stored (acknowledged, not fed)
    malformed: int = 0  # messages that were not records (terminated)
    malformed_records: int = 0  # records that failed their checks inside good messages (skipped)
    checkpoints: int = 0
    store_errors: int = 0  # failed transactions (their messages redelivered, their runs' state dropped)
    fetch_errors: int = 0  # pulls that failed for another reason than no messages (NATS away)
    runs_started: int = 0
    runs_ended: int = 0
    runs_evicted: int = 0  # ended by MAX_RUNS or RUN_IDLE_S rather than by their end message
    gaps: int = 0  # messages of a run never seen (a sensor's outbox overflowed, or a restart joined mid-run)

    def to_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


class Worker:
    """Consumes ``site``'s records (every site's when None) with the durable consumer ``durable``."""

    def __init__(self, link: NatsLink, store: Store, *, site: str | None = None, bus: InProcessBus | None = None,
                 durable: str | None = None, options: dict[str, dict[str, Any]] | None = None,
                 suppressions: Iterable[Suppression] = (), outage_limit_s: float = OUTAGE_LIMIT_S) -> None:
        self.link, self.store, self.bus = link, store, bus
        self.outage_limit_s = outage_limit_s  # NATS away longer than this ends run() with BusError (0: never)
        self._failing_since: float | None = None  # time.monotonic() of the first pull of a failing series
        self.options, self.suppressions = options, list(suppressions)  # site policy for every run's detectors
        self.site = check_site(site) if site is not None else None
        self.subject = records_subject(self.site)
        self.durable = durable or f"iotwarden-worker-{self.site or 'all'}"
        check_site(self.durable)
        self.stats = WorkerStats()
        self.runs: OrderedDict[tuple[str, str], RunState] = OrderedDict()
        self.held: list[tuple[Msg, RecordMessage]] = []
        self._held_ids: set[str] = set()
        self._also_ack: list[Msg] = []  # second copies of held messages
        self._held_since = 0.0
        self.stopping = threading.Event()
        link.ensure_stream()
        config = ConsumerConfig(durable_name=self.durable, ack_policy=AckPolicy.EXPLICIT,
                                deliver_policy=DeliverPolicy.ALL, ack_wait=ACK_WAIT_S, max_deliver=MAX_DELIVER,
                                max_ack_pending=2 * MAX_HELD, filter_subject=self.subject)
        self.sub = link.call(link.jetstream().pull_subscribe(self.subject, durable=self.durable, stream=STREAM,
                                                             config=config))

    # --- the loop
    def run(self, *, idle_exit_s: float | None = None) -> None:
        """Consume until :meth:`stop`; with ``idle_exit_s``, also stop once nothing came for that long.
        :class:`BusError` once NATS has been away longer than the outage limit (what was fed is written)."""
        idle_since = time.monotonic()
        try:
            while not self.stopping.is_set():
                if self.step():
                    idle_since = time.monotonic()
                elif idle_exit_s is not None and time.monotonic() - idle_since >= idle_exit_s:
                    break
        finally:
            self.checkpoint()

    def step(self) -> int:
        """One pull, its messages fed, and a checkpoint when one is due; the number of messages pulled."""
        msgs = self._fetch()
        away = max(self.link.down_for(),
                   0.0 if self._failing_since is None else time.monotonic() - self._failing_since)
        if self.outage_limit_s and away > self.outage_limit_s:
            raise self.link.outage_error(self.outage_limit_s, away,
                                         "worker stopped, what it had received is stored")
        for msg in msgs:
            self._accept(msg)
        self._evict_idle()
        pending = sum(len(s.pending_flows) for s in self.runs.values())
        due = self.held and (not msgs or len(self.held) >= MAX_HELD or pending >= MAX_PENDING_FLOWS
                             or time.monotonic() - self._held_since >= COMMIT_EVERY_S)
        if due or any(s.ended for s in self.runs.values()):
            self.checkpoint()
        return len(msgs)

    def stop(self) -> None:
        self.stopping.set()

    def _fetch(self) -> list[Msg]:
        started = time.monotonic()
        try:
            pulled = self.link.call(self.sub.fetch(FETCH_BATCH, timeout=FETCH_WAIT_S), FETCH_WAIT_S + CALL_TIMEOUT_S)
            self._failing_since = None
            return list(pulled)
        except (NatsTimeout, TimeoutError):
            self._failing_since = None
            return []
        except Exception as exc:  # noqa: BLE001 - NATS away: wait and pull again until the outage limit
            self._failing_since = self._failing_since or started
            self.stats.fetch_errors += 1
            if self.stats.fetch_errors == 1 or self.stats.fetch_errors % 30 == 0:
                log.warning("pull from NATS failed (%s); retrying", str(exc) or type(exc).__name__)
            self.stopping.wait(FETCH_WAIT_S)
            return []

    def _accept(self, msg: Msg) -> None:
        try:
            rec = decode(msg.data)
            if msg.subject != f"{RECORDS_PREFIX}.{rec.site}.records":
                raise ParseError(f"site {rec.site!r} published on {msg.subject}")
        except ParseError as exc:
            self.stats.malformed += 1
            log.warning("malformed message on %s (terminated): %s", msg.subject, exc)
            self._call(msg.term())
            return
        if rec.msg_id in self._held_ids:  # delivered again while held: acknowledged with the first copy
            self._also_ack.append(msg)
            return
        if self._stored(rec.msg_id):
            self.stats.duplicates += 1
            self._call(msg.ack())
            return
        state = self._state(rec)
        state.feed(rec)
        self.stats.malformed_records += rec.malformed
        if not self.held:
            self._held_since = time.monotonic()
        self.held.append((msg, rec))
        self._held_ids.add(rec.msg_id)

    def _call(self, coro: Any) -> None:
        try:
            self.link.call(coro)
        except Exception as exc:  # noqa: BLE001 - an ack lost to a disconnect: the message comes again
            log.debug("acknowledgement failed: %s", exc)

    def _stored(self, msg_id: str) -> bool:
        with self.store.session() as session:
            return session.get(StreamMessageRow, message_digest(msg_id)) is not None

    def _state(self, rec: RecordMessage) -> RunState:
        key = (rec.site, rec.run)
        state = self.runs.get(key)
        if state is None:
            live = [s for s in self.runs.values() if not s.ended]
            if len(live) >= MAX_RUNS:  # the least recently fed run ends; written at the next checkpoint
                live[0].finish()
                self.stats.runs_evicted += 1
            with self.store.session() as session:  # who held each address, by the store's history
                priors = prior_owners(session)
            state = RunState(rec.site, rec.run, certificate_check=certificate_check(self.store), options=self.options,
                             suppressions=self.suppressions, prior_owners=priors)
            self.runs[key] = state
            self.stats.runs_started += 1
        self.runs.move_to_end(key)
        if rec.seq > state.next_seq and state.next_seq == 0:
            log.info("run %s of site %s joined at message %d", rec.run, rec.site, rec.seq)
        return state

    def _evict_idle(self) -> None:
        now = time.monotonic()
        for state in list(self.runs.values()):
            if not state.ended and now - state.last_fed >= RUN_IDLE_S:
                state.finish()
                self.stats.runs_evicted += 1

    # --- writing
    def checkpoint(self) -> None:
        """Write every run's changes and the held messages' rows in one transaction, then acknowledge them."""
        touched = {(rec.site, rec.run) for _, rec in self.held} | {k for k, s in self.runs.items() if s.ended}
        if not touched:
            return
        held = self.held
        results: list[tuple[RunState, Checkpoint]] = []
        try:
            with self.store.transaction() as session:
                before = int(session.scalar(select(func.max(AlertRow.id))) or 0)
                rows = {k: self._capture_rows(session, k, [r for _, r in held if (r.site, r.run) == k])
                        for k in touched}
                for key in sorted(touched):
                    state = self.runs[key]
                    results.append((state, state.checkpoint(session, rows[key])))
                alerts = list(session.scalars(select(AlertRow).where(AlertRow.id > before,
                                                                     AlertRow.suppressed.is_(False))
                                              .order_by(AlertRow.id).limit(MAX_ALERT_EVENTS + 1)))
                total = int(session.scalar(select(func.count()).select_from(DeviceRow)) or 0)
        except StoreError as exc:
            self.stats.store_errors += 1
            log.warning("%s: %d messages will be delivered again in %.0f s", exc, len(held), STORE_RETRY_S)
            for msg in [m for m, _ in held] + self._also_ack:
                self._call(msg.nak(delay=STORE_RETRY_S))
            for key in touched:  # their analyzers are ahead of the store now: start again from what it holds
                self.runs.pop(key, None)
            self._release()
            return
        for msg in [m for m, _ in held] + self._also_ack:  # buffered by the client while NATS is away
            self._call(msg.ack())
        if self.link.connected:  # a flush while away would only wait for the server
            self._call(self.link.client.flush(timeout=int(CALL_TIMEOUT_S)))
        self.stats.checkpoints += 1
        self.stats.messages += len(self._held_ids)
        self._release()
        ended = [state for state, _ in results if state.ended]
        for state in ended:
            self.stats.runs_ended += 1
            self.stats.gaps += state.gaps
            self.runs.pop((state.site, state.run), None)
        if ended:
            check_shadow(self.store)  # devices the approved inventory does not list, as analyze does
        self._announce(results, alerts, total)

    def _release(self) -> None:
        self.held, self._held_ids, self._also_ack = [], set(), []

    def _capture_rows(self, session: Any, key: tuple[str, str], recs: list[RecordMessage]) -> int:
        """The run's ``captures`` row (one per sensor run, its totals kept up to date) and one
        ``stream_messages`` row per message (the mark that it is stored); the id the run's flows point to."""
        site, run = key
        path = f"nats://{site}/{run}"
        row = session.scalars(select(CaptureRow).where(CaptureRow.path == path, CaptureRow.format == CAPTURE_FORMAT)
                              .order_by(CaptureRow.id.desc()).limit(1)).first()
        if row is None:
            row = w.begin_capture(session, path=path, sha256=None, size=0, fmt=CAPTURE_FORMAT)
            w.finish_capture(row, status="partial", packets=0, flows=0, observations=0, devices=0, error=None,
                             stats={"site": site, "run": run, "messages": 0, "malformed_records": 0})
        now = time.time()
        stats = dict(row.stats or {})
        for rec in recs:
            session.add(StreamMessageRow(digest=message_digest(rec.msg_id), capture_id=row.id, stored_at=now))
            row.packets += rec.packets
            row.flows += len(rec.flows)
            row.observations += len(rec.observations)
            stats["messages"] = int(stats.get("messages", 0)) + 1
            stats["malformed_records"] = int(stats.get("malformed_records", 0)) + rec.malformed
            stats["source"] = rec.source
            if rec.end:
                status = str(rec.stats.get("status") or "complete")
                row.status = status if status in ("complete", "partial") else "complete"
                row.error = rec.stats.get("error")
                stats.update(rec.stats)
        state = self.runs.get(key)
        if state is not None and state.ended and not any(r.end for r in recs):  # evicted, or idle for too long
            row.error = row.error or "run ended by the worker (no end message)"
        row.stats = stats
        row.finished = now
        # a message older than the stream's retention is never delivered again: its mark can go
        session.execute(delete(StreamMessageRow).where(StreamMessageRow.stored_at < now - STREAM_MAX_AGE_S))
        return int(row.id)

    def _announce(self, results: list[tuple[RunState, Checkpoint]], alerts: list[AlertRow], total: int) -> None:
        if self.bus is None:
            return
        for state, cp in results:
            if cp.devices:
                keys = cp.new_devices or sorted(state.ctx.devices)
                self.bus.publish("inventory.devices", {"count": cp.devices, "total": total, "site": state.site,
                                                       "keys": keys[:MAX_KEYS_IN_EVENT]})
            if cp.new_findings:
                self.bus.publish("finding.created", {"count": cp.new_findings, "site": state.site})
            if state.ended:
                self.bus.publish("capture.finished", {"path": f"nats://{state.site}/{state.run}",
                                                      "status": state.end_stats.get("status", "complete"),
                                                      "packets": state.packets, "devices": len(state.ctx.devices)})
        for row in alerts[:MAX_ALERT_EVENTS]:
            self.bus.publish("alert.created", {"id": row.id, "title": row.title, "severity": row.severity,
                                               "detector_id": row.detector_id, "device_key": row.device_key})
        if len(alerts) > MAX_ALERT_EVENTS:
            self.bus.publish("alert.created", {"more": True, "title": "more new alerts"})
