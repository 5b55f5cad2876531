"""Inventory queries for the front ends: devices, one device in detail, flows, capture statistics.

Every function returns JSON-ready dicts (the same shapes the CLI prints with ``--format json``).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from iotwarden.model.device import CLASSIFIED_FIELDS
from iotwarden.store import Store
from iotwarden.store import queries as q
from iotwarden.store.schema import CaptureRow, DeviceRow, FlowRow

DEFAULT_FLOW_LIMIT = 100  # flows listed when no --limit is given


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


def list_devices(store: Store, *, proto: str | None = None, search: str | None = None) -> list[dict[str, Any]]:
    with store.session() as session:
        return [device_dict(r) for r in q.list_devices(session, proto=proto, search=search)]


def show_device(store: Store, ident: str, *, flow_limit: int = 20) -> dict[str, Any]:
    """One device (key, unique key prefix, MAC or IP) with its address history, evidence and recent flows."""
    with store.session() as session:
        row = q.resolve_device(session, ident)
        out = device_dict(row)
        out["ip_history"] = [
            {"ip": h.ip, "first_seen": h.first_seen, "last_seen": h.last_seen}
            for h in q.device_ip_history(session, row.key)
        ]
        out["evidence"] = [
            {"proto": e.proto, "kind": e.kind, "field": e.field, "value": e.value, "first_seen": e.first_seen,
             "last_seen": e.last_seen, "count": e.count}
            for e in q.device_evidence(session, row.key)
        ]
        out["flows"] = [flow_dict(f) for f in q.list_flows(session, device=row, limit=flow_limit)]
        return out


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
        "decode_errors": dict(stats.get("decode_errors", {})),
        "analyzer_errors": dict(stats.get("analyzer_errors", {})),
    }


def stats(store: Store) -> dict[str, Any]:
    """Per-capture statistics and their totals, plus what the store holds now."""
    with store.session() as session:
        captures = [_capture_dict(r) for r in q.list_captures(session)]
        stored = q.count_rows(session)
    totals: dict[str, Any] = {k: sum(c[k] for c in captures) for k in ("packets", "bytes", "flows", "observations")}
    for name in ("protocols", "parse_errors", "decode_errors", "analyzer_errors"):
        merged: Counter[str] = Counter()
        for c in captures:
            merged.update(c[name])
        totals[name] = dict(sorted(merged.items()))
    totals["captures"] = Counter(c["status"] for c in captures)
    return {"captures": captures, "totals": totals, "store": stored}
