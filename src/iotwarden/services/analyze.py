"""The analyze use case: capture files and Zeek logs -> engine -> analyzers -> store, one transaction
per file (see :func:`analyze` for what is kept when a file breaks or was analysed before).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iotwarden.addons import AddonManager, default_analyzers
from iotwarden.errors import CaptureError, describe
from iotwarden.hooks import Context
from iotwarden.identity.traffic import TrafficCertificateCheck
from iotwarden.inventory.builder import InventoryBuilder
from iotwarden.inventory.classifier import Classifier
from iotwarden.model import Device
from iotwarden.model.alert import Alert
from iotwarden.model.finding import Finding
from iotwarden.services.feed import Feed
from iotwarden.services.inputs import (
    Inputs,
    expand_inputs,
    expand_paths,
    fingerprint,
    sniff_format,
    zeek_logs,
)
from iotwarden.services.inventory import check_shadow
from iotwarden.services.records import tick_of
from iotwarden.store import Store
from iotwarden.store import writer as w
from iotwarden.store.addresses import fold_address_devices, prior_owners
from iotwarden.store.alerts import upsert_alerts
from iotwarden.store.findings import upsert_findings
from iotwarden.store.identity_models import SqlIdentityRepository, link_certificates
from iotwarden.store.merge import MergeResult
from iotwarden.store.queries import devices_by_keys

SCHEMA = "iotwarden.analysis/1"  # docs/schemas/analysis.md
PROGRESS_CAP = 0.99  # share of a file the estimate may reach before the file is really done
# Young-generation collection threshold during a run (CPython's default is 700). A run allocates
# millions of short-lived, acyclic objects (flows, observations, rows) that reference counting frees;
# collecting every 700 allocations spent 15-20% of the CPU walking them. Older thresholds are kept.
GC_YOUNG_THRESHOLD = 50_000

Progress = Callable[[int, int], None]  # (bytes done, bytes total) over all files of the run

# what a run reads (services/inputs.py, split from this module) stays importable from here
__all__ = ["SCHEMA", "AnalysisReport", "FileResult", "Inputs", "Progress", "analyze", "analyze_file",
           "certificate_check", "expand_inputs", "expand_paths", "gc_tuned", "sniff_format"]


@dataclass(slots=True)
class FileResult:
    """The outcome of one input file; ``status`` is complete, partial, failed or skipped."""

    path: str
    status: str
    format: str | None = None
    sha256: str | None = None
    size: int = 0
    capture_id: int | None = None
    packets: int = 0  # packets read (captures) or log records read (Zeek)
    flows: int = 0
    devices: int = 0
    observations: int = 0
    error: str | None = None
    packets_read: int | None = None  # with an error: packets read before the damage
    skipped_because: str | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    device_keys: list[str] = field(default_factory=list)
    # what analyzers concluded in this run, not (yet) kept by the store: key -> device of the run
    concluded: dict[str, Device] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path, "status": self.status, "format": self.format, "sha256": self.sha256,
            "size": self.size, "capture_id": self.capture_id, "packets": self.packets, "flows": self.flows,
            "devices": self.devices, "observations": self.observations, "error": self.error,
            "packets_read": self.packets_read, "skipped_because": self.skipped_because, "stats": self.stats,
        }


@dataclass(slots=True)
class AnalysisReport:
    files: list[FileResult] = field(default_factory=list)
    devices: list[Device] = field(default_factory=list)  # stored state of every device the run saw
    shadow: dict[str, Any] = field(default_factory=dict)  # services.inventory.check_shadow's summary

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if f.error is not None]

    def to_dict(self) -> dict[str, Any]:
        totals = {k: sum(getattr(f, k) for f in self.files) for k in ("packets", "flows", "observations")}
        return {
            "schema": SCHEMA,
            "files": [f.to_dict() for f in self.files],
            "totals": {**totals, "files": len(self.files), "failed": len(self.failed), "devices": len(self.devices)},
            "devices": [d.to_dict() for d in self.devices],
        }


class _Counter:
    """Spreads the progress of one file over its size (batches do not say where in the file they are).

    Bytes are estimated (record lengths; compressed files read more than their size), so a file never
    shows as done before its end: the estimate stops at :data:`PROGRESS_CAP` of the file.
    """

    def __init__(self, progress: Progress | None, done: int, size: int, total: int) -> None:
        self.progress, self.base, self.size, self.total, self.seen = progress, done, size, total, 0

    def advance(self, nbytes: int) -> None:
        self.seen = min(int(self.size * PROGRESS_CAP), self.seen + nbytes)
        if self.progress is not None:
            self.progress(self.base + self.seen, self.total)


@contextmanager
def gc_tuned() -> Iterator[None]:
    """The garbage collector set for a bulk run, restored on exit (also on error).

    Raises the young-generation threshold to :data:`GC_YOUNG_THRESHOLD`; then, unless the process
    had already frozen objects itself (a server's start-up), :func:`gc.freeze` moves what exists
    before the run (modules, tables loaded by earlier runs) out of the collector's scans, and
    :func:`gc.unfreeze` gives it back afterwards. Cyclic garbage is still collected, only less often.
    """
    threshold = gc.get_threshold()
    freeze = gc.get_freeze_count() == 0
    gc.set_threshold(GC_YOUNG_THRESHOLD, *threshold[1:])
    if freeze:
        gc.freeze()
    try:
        yield
    finally:
        if freeze:
            gc.unfreeze()
        gc.set_threshold(*threshold)


def analyze(
    paths: Sequence[Path | str], store: Store, *, progress: Progress | None = None, config: Any = None,
    max_probe_flows: int | None = w.MAX_PROBE_FLOWS,
) -> AnalysisReport:
    """Analyse every file (folders expanded) into ``store``; a bad file never stops the others.

    Each file is one transaction: a run killed mid-file leaves the store as it was before that file.
    A file that breaks part-way (truncated capture) commits what was read before the damage, marked
    ``partial``; one that yields nothing is recorded as ``failed`` with nothing else. A file whose
    bytes (sha256) were analysed before is ``skipped``, so counters are never added twice.
    ``config`` is the engine's ``EngineConfig`` (None: defaults); ``progress(done, total)`` gets
    bytes as files are read. Past ``max_probe_flows`` empty connection attempts in one file (None: no
    limit) the rest are analysed but not stored; the file's stats count them.
    """
    report = AnalysisReport()
    given = [Path(p) for p in paths]
    files: list[Path] = []
    for path in given:
        inputs = expand_inputs([path])
        if path.is_dir() and not inputs.paths and not inputs.unreadable:
            report.files.append(FileResult(path=str(path), status="failed", packets_read=0,
                                           error=f"{path}: no capture files or Zeek logs in this folder "
                                                 "or the folders below it"))
        for folder, why in inputs.unreadable:
            report.files.append(FileResult(path=str(folder), status="failed", packets_read=0, error=why))
        for folder, why in inputs.left_out:
            report.files.append(FileResult(path=str(folder), status="skipped", skipped_because=why))
        files.extend(inputs.paths)
    sizes = [p.stat().st_size if p.is_file() else sum(f.stat().st_size for f in zeek_logs(p)) if p.is_dir() else 0
             for p in files]
    total, done = sum(sizes), 0
    seen_keys: dict[str, None] = {}
    concluded: dict[str, Device] = {}
    for path, size in zip(files, sizes, strict=True):
        result = analyze_file(path, store, counter=_Counter(progress, done, size, total), config=config,
                              max_probe_flows=max_probe_flows)
        done += size
        if progress is not None:
            progress(done, total)
        report.files.append(result)
        seen_keys.update(dict.fromkeys(result.device_keys))
        concluded.update(result.concluded)
    with store.session() as session:
        rows = devices_by_keys(session, list(seen_keys))
    report.devices = []
    for r in rows:
        dev = Device(key=r.key, first_seen=r.first_seen, last_seen=r.last_seen, mac=r.mac, ips=set(r.ips),
                     hostnames=set(r.hostnames), attributes={k: set(v) for k, v in r.attributes.items()},
                     protocols=set(r.protocols), packets=r.packets, bytes=r.bytes)
        if r.key in concluded:  # the latest run's classification and risk score
            dev.classification = dict(concluded[r.key].classification)
            dev.risk_score = concluded[r.key].risk_score
        report.devices.append(dev)
    if any(f.status in ("complete", "partial") for f in report.files):
        report.shadow = check_shadow(store)  # devices the approved inventory does not list
    return report


def _failed(store: Store, result: FileResult, message: str, packets_read: int) -> FileResult:
    result.status, result.error, result.packets_read = "failed", message, packets_read
    if result.format is not None:  # the file exists: keep a record of the failed attempt
        with store.transaction() as session:
            row = w.begin_capture(session, path=result.path, sha256=result.sha256, size=result.size,
                                  fmt=result.format)
            w.finish_capture(row, status="failed", packets=packets_read, flows=0, observations=0, devices=0,
                             error=message, stats={})
            result.capture_id = row.id
    return result


def analyze_file(path: Path, store: Store, *, counter: _Counter | None = None, config: Any = None,
                 max_probe_flows: int | None = w.MAX_PROBE_FLOWS) -> FileResult:
    """Analyse one file in one transaction (see the module docstring for what is kept on errors)."""
    result = FileResult(path=str(path), status="failed")
    if not path.exists():
        return _failed(store, result, f"{path}: no such file", 0)
    if path.is_dir():
        result.format = "zeek"
    elif not path.is_file():
        return _failed(store, result, f"{path}: not a regular file", 0)
    else:
        result.format = sniff_format(path) or "capture"  # unknown content: the capture reader says why
    try:
        result.sha256, result.size = fingerprint(path)
    except OSError as exc:
        return _failed(store, result, f"{path}: cannot read: {describe(exc)}", 0)
    if result.size == 0:
        return _failed(store, result, f"{path}: empty file (0 bytes), not a capture", 0)
    with store.session() as session:
        earlier = w.find_analysed(session, result.sha256)
        if earlier is not None:
            result.status, result.capture_id = "skipped", earlier.id
            result.skipped_because = f"same bytes already analysed as capture {earlier.id} ({earlier.path})"
            return result
    counter = counter or _Counter(None, 0, result.size, result.size)
    try:
        with gc_tuned():
            return _run(path, store, result, counter, config, max_probe_flows=max_probe_flows)
    except _NothingRead as nothing:
        return _failed(store, result, _message(path, nothing.error), nothing.error.packets_read)


class _NothingRead(Exception):
    """Rolls back a capture's transaction when the file broke before anything usable was read."""

    def __init__(self, error: CaptureError) -> None:
        super().__init__(str(error))
        self.error = error


def certificate_check(store: Store) -> TrafficCertificateCheck | None:
    """The identity check of certificates seen in traffic, when the device CA has issued any."""
    issued = SqlIdentityRepository(store).list_certificates()
    return TrafficCertificateCheck(issued) if issued else None


def _run(path: Path, store: Store, result: FileResult, counter: _Counter, config: Any, *,
         max_probe_flows: int | None) -> FileResult:
    ctx = Context()
    analyzers = default_analyzers()
    cert_check = certificate_check(store)
    if cert_check is not None:  # certificates seen in traffic vs the ones our CA issued (issue: identity)
        analyzers.insert(len(analyzers) - 1, cert_check)
    inventory = next((a for a in analyzers if isinstance(a, InventoryBuilder)), None)
    addons = AddonManager(ctx, analyzers)
    fmt = result.format or "capture"
    with store.transaction() as session:
        if inventory is not None:  # an address the capture cannot place goes to the MAC that held it then
            inventory.use_prior_owners(prior_owners(session))
        row = w.begin_capture(session, path=str(path), sha256=result.sha256, size=result.size, fmt=fmt)
        out = _Sink(addons, w.FlowWriter(session, row.id, max_probes=max_probe_flows, bulk=True))
        feed = Feed(path, fmt, config)  # engine batches, then the flush that closes every flow
        addons.load()
        for batch in feed.batches():
            counter.advance(batch.nbytes)
            out.feed(batch.observations, batch.flows, batch.ts)
        error = feed.error
        ctx.stats.merge(feed.stats)
        addons.done()
        out.flows.finish()  # before the device merge, alerts and findings read or write
        ctx.stats.packets = ctx.stats.packets or feed.records
        seen_flows = out.flows.written + out.flows.probes_not_stored
        ctx.stats.flows = max(ctx.stats.flows, seen_flows)
        ctx.stats.observations = out.observations
        if error is not None and ctx.stats.packets == 0 and seen_flows == 0 and not ctx.devices:
            raise _NothingRead(error)  # rolls the transaction back; only the failure is recorded
        unreadable = _unreadable_log(path, feed, seen_flows, out.observations)
        if unreadable is not None:
            raise _NothingRead(unreadable)
        result.packets, result.flows = ctx.stats.packets, seen_flows
        result.observations, result.devices = out.observations, len(ctx.devices)
        result.device_keys = sorted(ctx.devices)
        # a device the store knew is classified over everything known of it, not this capture alone
        classify = Classifier().classify
        w.merge_devices(session, [ctx.devices[k] for k in result.device_keys], reclassify=classify)
        result.concluded = {k: d for k, d in ctx.devices.items() if d.classification or d.risk_score is not None}
        if cert_check is not None:  # the inventory link: which device presented which issued certificate
            link_certificates(session, cert_check.links)
        w.write_snapshot(session, row.id, [ctx.devices[k] for k in result.device_keys])
        dropped = 0
        if inventory is not None:
            w.merge_device_ips(session, inventory.ip_history())
            dropped = w.merge_evidence(session, [
                w.Evidence(key, *ek, first, last, int(count))
                for key, facts in inventory.evidence().items() for ek, (first, last, count) in facts.items()
            ])
        result.stats = {**ctx.stats.to_dict(), "inventory": {
            "endpoints_dropped": inventory.dropped if inventory else 0, "evidence_dropped": dropped,
            # facts about MACs the run never showed on the network (reported by a gateway, overheard in 802.11
            # probe requests): not made into devices, counted here
            "facts_unplaced": inventory.pending.unplaced + inventory.overheard.unplaced if inventory else 0,
            "facts_dropped": inventory.pending.dropped + inventory.overheard.dropped if inventory else 0,
        }}
        if out.flows.probes_not_stored:  # analysed, counted, not stored: past the file's probe budget
            result.stats["flows_not_stored"] = {
                "probes": out.flows.probes_not_stored, "stored_probes": out.flows.probes,
                "why": f"empty connection attempts past the first {max_probe_flows} of this file (--max-probe-flows)"}
        findings = [f for f in ctx.findings if isinstance(f, Finding)]  # risk checks' conclusions of this run
        result.stats["findings"] = {"reported": len(findings), "new": upsert_findings(session, findings)}
        alerts = [a for a in ctx.alerts if isinstance(a, Alert) and a.uid]  # the alert pipeline's output
        result.stats["alerts"] = {"raised": len(alerts), "stored": upsert_alerts(session, alerts)}
        if inventory is not None:  # stored ip: devices whose address this run's MACs held when they were seen
            _folded(result, ctx.devices, fold_address_devices(session, inventory.ip_history(), reclassify=classify))
        result.status = "partial" if error is not None else "complete"
        if error is not None:
            result.error, result.packets_read = _message(path, error), error.packets_read
        w.finish_capture(row, status=result.status, packets=result.packets, flows=result.flows,
                         observations=result.observations, devices=result.devices, error=result.error,
                         stats=result.stats)
        result.capture_id = row.id
    return result


def _unreadable_log(path: Path, feed: Feed, flows: int, observations: int) -> CaptureError | None:
    """A Zeek log (or folder of logs) none of whose data lines could be read: a failure, not an empty network."""
    bad = feed.stats.parse_errors.get("zeek", 0)
    if feed.fmt != "zeek" or bad == 0 or bad < feed.records or flows or observations:
        return None
    return CaptureError(f"{path}: none of its {bad:,} Zeek log lines could be read (a field a record needs is "
                        "missing or malformed: check the #fields header and the column values)")


def _folded(result: FileResult, devices: dict[str, Device], merged: list[MergeResult]) -> None:
    """Report the stored ``ip:`` devices folded into MAC devices (the MAC's conclusions now drawn over
    both); a key of this run folded is the MAC's now."""
    if not merged:
        return
    for m in merged:
        if m.classification is not None and m.into in devices:
            devices[m.into].classification = dict(m.classification)
            result.concluded[m.into] = devices[m.into]
    gone = {m.alias for m in merged}
    result.stats["inventory"]["folded"] = {m.alias: m.into for m in merged}
    result.device_keys = [k for k in result.device_keys if k not in gone]
    result.concluded = {k: d for k, d in result.concluded.items() if k not in gone}
    result.devices = len(result.device_keys)


class _Sink:
    """Hands a source's records to the analyzers and the flow writer, counting observations."""

    def __init__(self, addons: AddonManager, flows: w.FlowWriter) -> None:
        self.addons, self.flows, self.observations = addons, flows, 0

    def feed(self, obs: list[Any], closed: list[Any], ts: float | None) -> None:
        self.observations += len(obs)
        self.addons.observations(obs)
        self.addons.flows(closed)
        self.flows.add(closed)
        tick = tick_of(ts, closed)
        if tick is not None:
            self.addons.tick(tick)


def _message(path: Path, exc: CaptureError) -> str:
    text = str(exc)
    return text if str(path) in text else f"{path}: {text}"
