"""Inventory use cases for the front ends: devices, one device in detail, flows, capture statistics,
the approved inventory and its shadow-device findings, and the diff between two runs.

Every function returns JSON-ready dicts (the same shapes the CLI prints with ``--format json``).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from iotwarden import inputfile
from iotwarden.errors import ConfigError, StoreError, describe
from iotwarden.inventory import approved as ap
from iotwarden.inventory.classifier import Classifier
from iotwarden.inventory.diff import diff
from iotwarden.kb.taxonomy import Taxonomy
from iotwarden.model import Device
from iotwarden.model.device import CLASSIFIED_FIELDS, Conclusion
from iotwarden.model.finding import Finding
from iotwarden.risk.scorer import BANDS, band, scores_by_subject
from iotwarden.store import Store, limits
from iotwarden.store import queries as q
from iotwarden.store.alert_models import FindingRow
from iotwarden.store.alerts import list_alerts
from iotwarden.store.findings import KEY_CHUNK, list_findings, row_to_finding, upsert_findings
from iotwarden.store.inventory_models import ApprovedEntryRow, DeviceAliasRow, SnapshotRow
from iotwarden.store.merge import alias_of, aliases_of
from iotwarden.store.merge import merge_device as store_merge
from iotwarden.store.schema import CaptureRow, DeviceRow, FlowRow

MAX_APPROVED_BYTES = 16 << 20  # an approved inventory CSV larger than this is refused before it is read
DEFAULT_FLOW_LIMIT = limits.DEFAULT_FLOW_LIMIT  # flows listed when no --limit is given (store/limits.py)
RISK_FLOORS = dict(BANDS)  # band -> lowest score in it (a floor: `high` lists critical too)


def device_dict(row: DeviceRow) -> dict[str, Any]:
    return {
        "key": row.key, "mac": row.mac, "first_seen": row.first_seen, "last_seen": row.last_seen,
        "ips": list(row.ips), "hostnames": list(row.hostnames),
        "attributes": {k: list(v) for k, v in sorted(row.attributes.items())},
        "protocols": list(row.protocols), "packets": row.packets, "bytes": row.bytes,
        "classification": dict(row.classification or {}),
    }


def flow_dict(row: FlowRow) -> dict[str, Any]:
    return {
        "vlan": row.vlan, "ip_proto": row.ip_proto, "a_ip": row.a_ip, "a_port": row.a_port,
        "b_ip": row.b_ip, "b_port": row.b_port, "first_seen": row.first_seen, "last_seen": row.last_seen,
        "a_mac": row.a_mac, "b_mac": row.b_mac, "pkts_ab": row.pkts_ab, "pkts_ba": row.pkts_ba,
        "bytes_ab": row.bytes_ab, "bytes_ba": row.bytes_ba, "payload_ab": row.payload_ab,
        "payload_ba": row.payload_ba, "tcp_flags_ab": row.tcp_flags_ab, "tcp_flags_ba": row.tcp_flags_ba,
        "app": row.app, "end_reason": row.end_reason, "capture_id": row.capture_id,
    }


def device_types_under(name: str) -> list[str]:
    """The taxonomy type ``name`` (an id or alias: "VoIP Phone") and every finer kind of it
    (``camera`` -> camera, doorbell_camera, ...); ConfigError names an unknown type."""
    taxonomy = Taxonomy.load()
    wanted = taxonomy.resolve(name) or (name if taxonomy.get(name) else None)
    if wanted is None:
        close = sorted(t for t in taxonomy.types if name.lower().replace(" ", "_") in t)[:8]
        hint = f"; did you mean {', '.join(close)}?" if close else " (the types are in kb/data/taxonomy.yaml)"
        raise ConfigError(f"unknown device type {name!r}{hint}")
    return sorted(t for t in taxonomy.types if t == wanted or wanted in taxonomy.ancestors(t))


def risk_of(session: Session, rows: Sequence[DeviceRow]) -> dict[str, dict[str, Any]]:
    """Each device's risk score (0..100, :func:`iotwarden.risk.scorer.device_score` over its findings
    that are not resolved, as the report counts them) and band."""
    keys = [r.key for r in rows]
    findings: list[Finding] = []
    for start in range(0, len(keys), KEY_CHUNK):
        stmt = select(FindingRow).where(FindingRow.device_key.in_(keys[start:start + KEY_CHUNK]),
                                        FindingRow.status != "resolved")
        findings.extend(row_to_finding(f) for f in session.scalars(stmt))
    scores = scores_by_subject(findings, {r.key: r.category for r in rows})
    return {key: {"score": score, "band": band(score)} for key, score in scores.items()}


def list_devices(
    store: Store, *, proto: str | None = None, search: str | None = None, vendor: str | None = None,
    device_type: str | None = None, category: str | None = None, min_risk: str | None = None,
) -> list[dict[str, Any]]:
    """Devices with their risk (score and band), filtered by each argument given; ``device_type``
    includes its finer kinds, ``min_risk`` is a band floor (``high``: high and critical)."""
    if min_risk is not None and min_risk not in RISK_FLOORS:
        raise ConfigError(f"unknown risk band {min_risk!r}: expected one of {', '.join(RISK_FLOORS)}")
    types = device_types_under(device_type) if device_type else None
    with store.session() as session:
        rows = q.list_devices(session, proto=proto, search=search, vendor=vendor, device_types=types,
                              category=category)
        risk = risk_of(session, rows)
        out = [{**device_dict(r), "risk": risk[r.key]} for r in rows]
    if min_risk is not None:
        out = [d for d in out if d["risk"]["score"] >= RISK_FLOORS[min_risk]]
    return out


def alias_dict(row: DeviceAliasRow) -> dict[str, Any]:
    return {"key": row.alias_key, "into": row.device_key, "merged_at": row.merged_at, "reason": row.reason,
            "moved": dict(row.moved or {})}


def show_device(store: Store, ident: str, *, flow_limit: int = 20) -> dict[str, Any]:
    """One device (key, the key of a device merged into it, unique key prefix, MAC or IP) with its address
    history, evidence, risk, the keys merged into it, and its ``flow_limit`` worst findings, latest alerts
    and latest flows; ``merged`` says when ``ident`` named a device merged into this one."""
    with store.session() as session:
        row = q.resolve_device(session, ident)
        out = device_dict(row)
        named = alias_of(session, ident.strip().lower())
        out["merged"] = alias_dict(named) if named is not None and named.device_key == row.key else None
        out["aliases"] = [alias_dict(a) for a in aliases_of(session, row.key)]
        out["ip_history"] = [
            {"ip": h.ip, "domain": h.domain, "first_seen": h.first_seen, "last_seen": h.last_seen}
            for h in q.device_ip_history(session, row.key)
        ]
        out["evidence"] = [
            {"proto": e.proto, "kind": e.kind, "field": e.field, "value": e.value, "first_seen": e.first_seen,
             "last_seen": e.last_seen, "count": e.count}
            for e in q.device_evidence(session, row.key)
        ]
        out["flows"] = [flow_dict(f) for f in q.list_flows(session, device=row, limit=flow_limit)]
        out["risk"] = risk_of(session, [row])[row.key]
        out["findings"] = [
            {"check": f.check_id, "severity": f.severity, "title": f.title, "status": f.status,
             "last_seen": f.last_seen}
            for f in list_findings(session, device=row.key, limit=flow_limit)
        ]
        out["alerts"] = [
            {"row_id": a.evidence.get("_row"), "detector": a.id, "severity": a.severity, "title": a.title,
             "status": a.status, "count": a.count, "last_seen": a.last_seen}
            for a in list_alerts(session, device=row.key, limit=flow_limit)
        ]
        return out


def merge_in(session: Session, alias: str, into: str) -> dict[str, Any]:
    """Merge stored device ``alias`` into device ``into`` (exact keys, any case) in ``session``'s
    transaction, one device as an analyst knows: everything stored of ``alias`` becomes ``into``'s, the
    classifier concludes again over both, and ``alias`` stays a name of ``into`` (store/merge.py).
    Idempotent; StoreError names an unknown key, a key merged elsewhere, or the same key twice."""
    a, b = alias.strip().lower(), into.strip().lower()
    if not a or not b:
        raise StoreError("give two device keys (as `iotwarden devices list` shows them)")
    return store_merge(session, a, b, reason="manual", reclassify=Classifier().classify).to_dict()


def merge_device(store: Store, alias: str, into: str) -> dict[str, Any]:
    """:func:`merge_in` in a transaction of its own."""
    with store.transaction() as session:
        return merge_in(session, alias, into)


def explain_device(store: Store, ident: str) -> dict[str, Any]:
    """One device's conclusions, each with its confidence and evidence (rule, attribute, value, weight,
    reference); properties the classifier could not conclude are listed as unknown."""
    with store.session() as session:
        row = q.resolve_device(session, ident)
        found = dict(row.classification or {})
    return {
        "key": row.key, "mac": row.mac, "ips": list(row.ips), "hostnames": list(row.hostnames),
        "conclusions": {name: found[name] for name in CLASSIFIED_FIELDS if name in found},
        "unknown": [name for name in CLASSIFIED_FIELDS if name not in found],
    }


def list_flows(
    store: Store, *, device: str | None = None, proto: str | None = None, port: int | None = None,
    limit: int | None = DEFAULT_FLOW_LIMIT,
) -> list[dict[str, Any]]:
    with store.session() as session:
        row = q.resolve_device(session, device) if device else None
        return [flow_dict(f) for f in q.list_flows(session, device=row, proto=proto, port=port, limit=limit)]


def _capture_dict(row: CaptureRow) -> dict[str, Any]:
    stats = row.stats or {}
    return {
        "id": row.id, "path": row.path, "sha256": row.sha256, "size": row.size, "format": row.format,
        "status": row.status, "started": row.started, "finished": row.finished, "error": row.error,
        "packets": row.packets, "bytes": int(stats.get("bytes", 0)), "flows": row.flows,
        "observations": row.observations, "devices": row.devices,
        "protocols": dict(stats.get("protocols", {})), "parse_errors": dict(stats.get("parse_errors", {})),
        "rejected_before_confirmation": dict(stats.get("rejected_before_confirmation", {})),
        "decode_errors": dict(stats.get("decode_errors", {})), "tunnels": dict(stats.get("tunnels", {})),
        "analyzer_errors": dict(stats.get("analyzer_errors", {})),
        "flows_not_stored": int((stats.get("flows_not_stored") or {}).get("probes", 0)),
    }


def stats(store: Store) -> dict[str, Any]:
    """Per-capture statistics and their totals, plus what the store holds now."""
    with store.session() as session:
        captures = [_capture_dict(r) for r in q.list_captures(session)]
        stored = q.count_rows(session)
    totals: dict[str, Any] = {k: sum(c[k] for c in captures)
                              for k in ("packets", "bytes", "flows", "observations", "flows_not_stored")}
    for name in ("protocols", "parse_errors", "rejected_before_confirmation", "decode_errors", "tunnels",
                 "analyzer_errors"):
        merged: Counter[str] = Counter()
        for c in captures:
            merged.update(c[name])
        totals[name] = dict(sorted(merged.items()))
    totals["captures"] = Counter(c["status"] for c in captures)
    return {"captures": captures, "totals": totals, "store": stored}


# --- approved inventory and shadow devices (docs/approved-inventory.md) ------------------------------


def device_of(row: DeviceRow) -> Device:
    """The model record of a stored device, with its stored classification."""
    return Device(key=row.key, first_seen=row.first_seen, last_seen=row.last_seen, mac=row.mac, ips=set(row.ips),
                  hostnames=set(row.hostnames), attributes={k: set(v) for k, v in row.attributes.items()},
                  protocols=set(row.protocols), packets=row.packets, bytes=row.bytes,
                  classification={k: Conclusion.from_dict(v) for k, v in (row.classification or {}).items()})


def import_approved(store: Store, path: Path) -> dict[str, Any]:
    """Replace the approved inventory with the rows of a CSV file, then re-check every stored device.

    ConfigError names the file, the line and the problem of a bad row; nothing is replaced then.
    """
    try:
        text = inputfile.read_text(path, MAX_APPROVED_BYTES)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the approved inventory: {describe(exc)}") from None
    try:
        entries = ap.parse_csv(text)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    now = time.time()
    with store.transaction() as session:
        session.execute(delete(ApprovedEntryRow))
        session.add_all(ApprovedEntryRow(**asdict(e), imported=now) for e in entries)
    return {"file": str(path), "imported": len(entries), **check_shadow(store)}


def approved_entries(store: Store) -> list[ap.ApprovedEntry]:
    with store.session() as session:
        rows = session.scalars(select(ApprovedEntryRow).order_by(ApprovedEntryRow.id))
        return [ap.ApprovedEntry(mac=r.mac, ip=r.ip, hostname=r.hostname, vendor=r.vendor, model=r.model,
                                 device_type=r.device_type, owner=r.owner, location=r.location, notes=r.notes or "")
                for r in rows]


def check_shadow(store: Store) -> dict[str, Any]:
    """Raise ``inventory.shadow_device`` for each stored device the approved inventory does not list,
    and resolve the open ones of devices it now lists. Without an approved inventory nothing is raised
    (there is nothing to compare with)."""
    approved = approved_entries(store)
    if not approved:
        return {"approved": 0, "shadow": [], "new_findings": 0, "resolved": 0}
    with store.transaction() as session:
        devices = [device_of(r) for r in q.list_devices(session)]
        findings = ap.shadow_findings(devices, approved)
        shadow = {f.subject for f in findings}
        new = upsert_findings(session, findings)
        resolved = 0
        for row in session.scalars(select(FindingRow).where(FindingRow.check_id == ap.CHECK_ID,
                                                            FindingRow.status == "open")):
            if row.device_key not in shadow:
                row.status = "resolved"
                resolved += 1
    return {"approved": len(approved), "shadow": sorted(shadow), "new_findings": new, "resolved": resolved}


# --- devices diff between runs -------------------------------------------------------------------------


def runs(store: Store) -> list[dict[str, Any]]:
    """Analysis runs (captures) that recorded a device snapshot, oldest first."""
    with store.session() as session:
        ids = set(session.scalars(select(SnapshotRow.capture_id).distinct()))
        return [{"id": r.id, "path": r.path, "status": r.status, "finished": r.finished}
                for r in q.list_captures(session) if r.id in ids]


def _snapshot(session: Any, capture_id: int) -> dict[str, dict[str, Any]]:
    rows = session.scalars(select(SnapshotRow).where(SnapshotRow.capture_id == capture_id))
    return {r.device_key: dict(r.facts or {}) for r in rows}


def devices_diff(store: Store, *, from_run: int | None = None, to_run: int | None = None) -> dict[str, Any]:
    """New, gone and changed devices between two runs (default: the last two with snapshots)."""
    known = [r["id"] for r in sorted(runs(store), key=lambda r: r["id"])]
    for given in (from_run, to_run):
        if given is not None and given not in known:
            listed = ", ".join(map(str, known)) or "none"
            raise StoreError(f"no analysis run {given} with a device snapshot (runs: {listed})")
    if to_run is None:
        later = [r for r in known if from_run is None or r > from_run]
        if not later:
            raise StoreError("need two analysed captures to compare (iotwarden analyze, then analyze again)")
        to_run = later[-1]
    if from_run is None:
        earlier = [r for r in known if r < to_run]
        if not earlier:
            raise StoreError(f"no analysis run before run {to_run} to compare with")
        from_run = earlier[-1]
    with store.session() as session:
        before, after = _snapshot(session, from_run), _snapshot(session, to_run)
    return {"from": from_run, "to": to_run, **diff(before, after)}
