"""One sensor run inside a worker: its analyzers (the registry of ``addons.default_analyzers``, as
``iotwarden analyze`` sets them up) and what of their state the store already holds, so each checkpoint
writes only what changed since the previous one.

The store merges device counters and evidence counts by adding, so a checkpoint writes differences:
packets, bytes and evidence counts since the last checkpoint. A device key the inventory gave up since
(its endpoints were folded into another device: a gateway found, randomised MACs linked) gets its
written counters taken back, and its row removed when this run created it. Findings come from the risk
analyzer's end-of-input pass: at the run's end, and for a long (live) run every :data:`FINDINGS_EVERY_S`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from iotwarden.addons import AddonManager, site_analyzers
from iotwarden.detect.pipeline import AlertPipeline
from iotwarden.hooks import Context
from iotwarden.inventory.builder import InventoryBuilder
from iotwarden.inventory.classifier import Classifier
from iotwarden.inventory.priors import PriorOwners
from iotwarden.inventory.resolution import EvidenceKey
from iotwarden.model import Device, Flow
from iotwarden.model.alert import Alert
from iotwarden.model.finding import Finding
from iotwarden.risk.analyzer import RiskAnalyzer
from iotwarden.services.records import RecordMessage
from iotwarden.store import writer as w
from iotwarden.store.addresses import fold_address_devices
from iotwarden.store.alerts import upsert_alerts
from iotwarden.store.findings import upsert_findings
from iotwarden.store.identity_models import link_certificates
from iotwarden.store.schema import DeviceIpRow, DeviceRow, EvidenceRow

FINDINGS_EVERY_S = 60.0  # wall seconds between two risk passes of a run that has not ended
MAX_PENDING_FLOWS = 200_000  # closed flows held between two checkpoints; the worker checkpoints before more


@dataclasses.dataclass(slots=True)
class Checkpoint:
    """What one checkpoint wrote for a run (for the worker's counters and the console's events)."""

    flows: int = 0
    devices: int = 0
    new_devices: list[str] = dataclasses.field(default_factory=list)
    removed_devices: int = 0
    alerts: list[Alert] = dataclasses.field(default_factory=list)
    new_alerts: int = 0
    findings: int = 0
    new_findings: int = 0
    evidence_dropped: int = 0
    folded: dict[str, str] = dataclasses.field(default_factory=dict)  # stored ip: device -> MAC device, at the end


Sets = tuple[frozenset[Any], frozenset[Any], frozenset[Any], frozenset[Any]]  # ips, hostnames, protocols, attributes


def _sets_of(dev: Device) -> Sets:
    return (frozenset(dev.ips), frozenset(dev.hostnames), frozenset(dev.protocols),
            frozenset((k, v) for k, values in dev.attributes.items() for v in values))


def _sets_of_row(row: DeviceRow) -> Sets:
    return (frozenset(row.ips), frozenset(row.hostnames), frozenset(row.protocols),
            frozenset((k, v) for k, values in (row.attributes or {}).items() for v in values))


def _signature(dev: Device) -> tuple[Any, ...]:
    """Changes whenever anything merge_devices writes for the device changes."""
    return (dev.packets, dev.bytes, dev.first_seen, dev.last_seen, dev.mac, len(dev.ips), len(dev.hostnames),
            sum(len(v) for v in dev.attributes.values()), len(dev.protocols), id(dev.classification))


class RunState:
    """The analyzers of one run (``site``, ``run``) and the bookkeeping of its checkpoints."""

    def __init__(self, site: str, run: str, *, certificate_check: Any = None,
                 options: dict[str, dict[str, Any]] | None = None, suppressions: Iterable[Any] = (),
                 prior_owners: PriorOwners | None = None) -> None:
        """``prior_owners``: the store's address history when the run starts (inventory/priors.py)."""
        self.site, self.run = site, run
        self.ctx = Context()
        analyzers = site_analyzers(options, suppressions)  # the site's detector options and suppressions
        if certificate_check is not None:  # before the alert pipeline, as in services.analyze
            analyzers.insert(len(analyzers) - 1, certificate_check)
        self.cert_check = certificate_check
        self.inventory = next((a for a in analyzers if isinstance(a, InventoryBuilder)), None)
        if self.inventory is not None and prior_owners is not None:
            self.inventory.use_prior_owners(prior_owners)
        self.risk = next((a for a in analyzers if isinstance(a, RiskAnalyzer)), None)
        self.classify = Classifier().classify
        self.pipeline = next(a for a in analyzers if isinstance(a, AlertPipeline))
        self.addons = AddonManager(self.ctx, analyzers)
        self.addons.load()
        self.next_seq = 0  # the sequence number expected next
        self.gaps = 0  # messages of the run never seen (the sensor's outbox overflowed, or acked elsewhere)
        self.ended = False
        self.end_stats: dict[str, Any] = {}
        self.packets = 0
        self.last_fed = time.monotonic()
        self.pending_flows: list[Flow] = []
        self._written: dict[str, tuple[int, int]] = {}  # device key -> (packets, bytes) in the store
        self._signatures: dict[str, tuple[Any, ...]] = {}
        self._created: set[str] = set()  # device keys whose row this run inserted
        self._evidence: dict[str, dict[EvidenceKey, int]] = {}  # device key -> evidence fact -> count in the store
        self._sets: dict[str, Sets] = {}  # device key -> its sets as last written
        self._base: dict[str, Sets] = {}  # device key -> its stored sets before this run (rows it did not create)
        self._findings_at = time.monotonic()

    def feed(self, msg: RecordMessage) -> None:
        """The message's records to the analyzers, in the order the sensor's engine produced them."""
        if msg.seq > self.next_seq:
            self.gaps += msg.seq - self.next_seq
        self.next_seq = max(self.next_seq, msg.seq + 1)
        self.last_fed = time.monotonic()
        self.packets += msg.packets
        self.addons.observations(msg.observations)
        self.addons.flows(msg.flows)
        self.pending_flows.extend(msg.flows)
        if msg.tick is not None:
            self.addons.tick(msg.tick)
        if msg.end:
            self.end_stats = dict(msg.stats)
            self.finish()

    def finish(self) -> None:
        """End of input: every analyzer's ``done`` (final classification, findings, aggregated alerts)."""
        if not self.ended:
            self.ended = True
            self.addons.done()

    def checkpoint(self, session: Session, capture_id: int) -> Checkpoint:
        """Write what changed since the last checkpoint inside ``session``'s transaction; a failed
        transaction leaves this state ahead of the store, so the worker then drops the state."""
        out = Checkpoint()
        flows = w.FlowWriter(session, capture_id)
        flows.add(self.pending_flows)
        flows.flush()
        out.flows, self.pending_flows = flows.written, []
        self.pipeline.drain(self.ctx)
        out.alerts = self.pipeline.take_dirty()
        out.new_alerts = upsert_alerts(session, out.alerts)
        changed = self._devices(session, out)
        if self.cert_check is not None:
            link_certificates(session, self.cert_check.links)
        if self.inventory is not None and changed:
            w.merge_device_ips(session, {k: v for k, v in self.inventory.ip_history().items() if k in changed})
            rows, shrunk = self._evidence_deltas()
            out.evidence_dropped = w.merge_evidence(session, rows)
            if shrunk:  # facts taken back entirely: their rows go (times widened by 0 are not kept either)
                session.execute(delete(EvidenceRow).where(EvidenceRow.device_key.in_(sorted(shrunk)),
                                                          EvidenceRow.count <= 0))
        findings = self._findings()
        if findings is not None:
            out.findings, out.new_findings = len(findings), upsert_findings(session, findings)
        if self.ended:
            w.write_snapshot(session, capture_id, [self.ctx.devices[k] for k in sorted(self.ctx.devices)])
            if self.inventory is not None:  # stored ip: devices whose address the run's MACs held then, as analyze
                merged = fold_address_devices(session, self.inventory.ip_history(), reclassify=self.classify)
                out.folded = {m.alias: m.into for m in merged}
        return out

    def _devices(self, session: Session, out: Checkpoint) -> set[str]:
        devices = self.ctx.devices
        changed = {k for k, d in devices.items() if self._signatures.get(k) != _signature(d)}
        fresh = sorted(k for k in changed if k not in self._written)
        for i in range(0, len(fresh), w.KEY_CHUNK):
            chunk = fresh[i:i + w.KEY_CHUNK]
            stored = set(session.scalars(select(DeviceRow.key).where(DeviceRow.key.in_(chunk))))
            self._created.update(k for k in chunk if k not in stored)
            out.new_devices.extend(k for k in chunk if k not in stored)
        for i in range(0, len(fresh), w.KEY_CHUNK):  # what the store held before this run: kept on a reset
            for row in session.scalars(select(DeviceRow).where(DeviceRow.key.in_(fresh[i:i + w.KEY_CHUNK]))):
                self._base[row.key] = _sets_of_row(row)
        deltas, shrunk = [], []
        for key in sorted(changed):
            dev = devices[key]
            packets, nbytes = self._written.get(key, (0, 0))
            deltas.append(dataclasses.replace(dev, packets=dev.packets - packets, bytes=dev.bytes - nbytes))
            self._written[key] = (dev.packets, dev.bytes)
            self._signatures[key] = _signature(dev)
            sets = _sets_of(dev)
            if any(not old <= new for old, new in zip(self._sets.get(key, sets), sets, strict=True)):
                shrunk.append(key)  # endpoints moved to another device (a gateway found): not a union any more
            self._sets[key] = sets
        w.merge_devices(session, deltas, reclassify=self.classify)  # over all the store knows, as analyze does
        for key in shrunk:
            base = self._base.get(key, (frozenset(),) * 4)
            ips, hostnames, protocols, attributes = (b | c for b, c in zip(base, self._sets[key], strict=True))
            attrs: dict[str, list[str]] = {}
            for name, value in sorted(attributes):
                attrs.setdefault(name, []).append(value)
            session.execute(update(DeviceRow).where(DeviceRow.key == key).values(
                ips=sorted(ips)[:w.MAX_STORED_IPS], hostnames=sorted(hostnames)[:w.MAX_STORED_HOSTNAMES],
                protocols=sorted(protocols), attributes=attrs))
        out.devices = len(deltas)
        for key in [k for k in self._written if k not in devices]:  # folded into another device since
            packets, nbytes = self._written.pop(key)
            self._signatures.pop(key, None)
            self._sets.pop(key, None)
            self._base.pop(key, None)
            if key in self._created:
                self._created.discard(key)
                self._evidence.pop(key, None)  # its rows go with it
                for table in (EvidenceRow, DeviceIpRow):
                    session.execute(delete(table).where(table.device_key == key))
                session.execute(delete(DeviceRow).where(DeviceRow.key == key))
            else:
                session.execute(update(DeviceRow).where(DeviceRow.key == key).values(
                    packets=DeviceRow.packets - packets, bytes=DeviceRow.bytes - nbytes))
            out.removed_devices += 1
        return changed

    def _evidence_deltas(self) -> tuple[list[w.Evidence], set[str]]:
        """Count differences per fact; a fact that moved to another device is taken back (negative)."""
        rows = []
        shrunk: set[str] = set()
        assert self.inventory is not None
        current = self.inventory.evidence()
        for key in set(current) | set(self._evidence):
            facts = current.get(key, {})
            written = self._evidence.setdefault(key, {})
            for ek, (first, last, count) in facts.items():
                delta = int(count) - written.get(ek, 0)
                if delta:
                    rows.append(w.Evidence(key, *ek, first, last, delta))
                    written[ek] = int(count)
            for ek in [ek for ek in written if ek not in facts]:
                rows.append(w.Evidence(key, *ek, 0.0, 0.0, -written.pop(ek)))
                shrunk.add(key)
            if not written:
                del self._evidence[key]
        return rows, shrunk

    def _findings(self) -> list[Finding] | None:
        """The run's findings at its end; before it, a risk pass every :data:`FINDINGS_EVERY_S`."""
        if self.ended:
            return [f for f in self.ctx.findings if isinstance(f, Finding)]
        if self.risk is None or time.monotonic() - self._findings_at < FINDINGS_EVERY_S:
            return None
        self._findings_at = time.monotonic()
        before = len(self.ctx.findings)
        self.risk.done(self.ctx)  # pure over the checks' hits: safe to repeat; its output is taken back out
        found = [f for f in self.ctx.findings[before:] if isinstance(f, Finding)]
        del self.ctx.findings[before:]
        return found
