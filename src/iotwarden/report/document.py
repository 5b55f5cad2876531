"""The report document (schema ``iotwarden.report/1``, docs/schemas/report.md): devices with their
classification and risk, findings, summary counts for the charts, and the who-talks-to-whom graph.

Built from plain inputs (device dicts, findings, traffic edges) so the same function serves the store,
a live run and the tests; rendering (JSON, HTML, Rich tables) is elsewhere.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from iotwarden.model.finding import SEVERITIES, Finding
from iotwarden.risk.scorer import band, fleet_score, scores_by_subject

SCHEMA = "iotwarden.report/1"
UNKNOWN = "unknown"
MAX_MAP_NODES = 250  # nodes drawn on the network map (busiest first); the rest are counted as left out
MAX_MAP_EDGES = 1000  # edges drawn (busiest first)
MAX_TYPES_CHARTED = 20  # device types in the "by type" chart; the rest are summed as "other"
CLASSIFIED = ("vendor", "model", "device_type", "category", "os", "os_version", "firmware")
RISK_BANDS = ("critical", "high", "medium", "low", "none")
INTERNET = "internet"  # the one map node that stands for every address outside the inventory on the internet


@dataclass(slots=True)
class Edge:
    """Traffic between two map nodes (device keys, ``internet`` or ``ip:<addr>`` of unknown hosts)."""

    source: str
    target: str
    bytes: int = 0
    flows: int = 0
    apps: set[str] = field(default_factory=set)


def _iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if ts is not None else None


def _label(device: Mapping[str, Any]) -> str:
    names = device.get("hostnames") or []
    if names:
        return str(sorted(names)[0])
    ips = device.get("ips") or []
    return str(sorted(ips)[0]) if ips else str(device["key"])


def device_entry(device: Mapping[str, Any], score: float, findings: int) -> dict[str, Any]:
    """One device of the report: identity, classification (value + confidence) and risk."""
    classification = device.get("classification") or {}
    out: dict[str, Any] = {
        "key": device["key"], "label": _label(device), "mac": device.get("mac"),
        "ips": sorted(device.get("ips") or []), "hostnames": sorted(device.get("hostnames") or []),
        "protocols": sorted(device.get("protocols") or []),
    }
    for name in CLASSIFIED:
        found = classification.get(name)
        out[name] = found.get("value") if isinstance(found, Mapping) else None
        out[f"{name}_confidence"] = found.get("confidence") if isinstance(found, Mapping) else None
    out.update({
        "risk_score": score, "risk_band": band(score), "findings": findings,
        "packets": int(device.get("packets") or 0), "bytes": int(device.get("bytes") or 0),
        "first_seen": device.get("first_seen"), "last_seen": device.get("last_seen"),
    })
    return out


def _limited_counts(counter: Counter[str], limit: int) -> dict[str, int]:
    top = counter.most_common()
    out = dict(top[:limit])
    rest = sum(n for _, n in top[limit:])
    if rest:
        out["other"] = out.get("other", 0) + rest
    return out


def subnet_group(ips: Iterable[str]) -> str:
    """The map group of a host by address: ``subnet <the /24 or /64 of its first local address>``,
    ``outside the site`` for a public one, ``layer 2 only`` without one (the console groups so too,
    when no segmentation policy names zones)."""
    for ip in sorted(ips):
        try:
            net = ipaddress.ip_network(f"{ip}/{24 if ':' not in ip else 64}", strict=False)
        except ValueError:
            continue
        if net.network_address.is_private or net.network_address.is_link_local:
            return f"subnet {net}"
        return "outside the site"
    return "layer 2 only"


def _node(key: str, device: Mapping[str, Any] | None, nbytes: int) -> dict[str, Any]:
    if device is None:
        label = "Internet" if key == INTERNET else key.removeprefix("ip:")
        category = INTERNET if key == INTERNET else UNKNOWN
        group = "outside the site" if key == INTERNET else subnet_group([key.removeprefix("ip:")])
        return {"id": key, "label": label, "category": category, "device_type": None, "bytes": nbytes,
                "risk_band": "none", "inventory": False, "group": group}
    return {"id": key, "label": device["label"], "category": device.get("category") or UNKNOWN,
            "device_type": device.get("device_type"), "bytes": nbytes, "risk_band": device["risk_band"],
            "inventory": True, "group": subnet_group(device.get("ips") or [])}


def network(devices: Sequence[Mapping[str, Any]], edges: Iterable[Edge]) -> dict[str, Any]:
    """Nodes and edges of the map, busiest first and bounded by MAX_MAP_NODES / MAX_MAP_EDGES."""
    by_key = {d["key"]: d for d in devices}
    ordered = sorted(edges, key=lambda e: (-e.bytes, e.source, e.target))
    traffic: Counter[str] = Counter()
    for e in ordered:
        traffic[e.source] += e.bytes
        traffic[e.target] += e.bytes
    for d in devices:
        traffic.setdefault(d["key"], 0)
    keep = [k for k, _ in sorted(traffic.items(), key=lambda kv: (-kv[1], kv[0]))][:MAX_MAP_NODES]
    kept = set(keep)
    nodes = [_node(key, by_key.get(key), traffic[key]) for key in keep]
    drawn = [e for e in ordered if e.source in kept and e.target in kept][:MAX_MAP_EDGES]
    return {
        "nodes": nodes,
        "edges": [{"source": e.source, "target": e.target, "bytes": e.bytes, "flows": e.flows,
                   "apps": sorted(e.apps)} for e in drawn],
        "left_out": {"nodes": len(traffic) - len(nodes), "edges": len(ordered) - len(drawn)},
    }


def build(
    devices: Sequence[Mapping[str, Any]], findings: Sequence[Finding], edges: Iterable[Edge] = (), *,
    statuses: Mapping[tuple[str, str], str] | None = None, source: Mapping[str, Any] | None = None,
    generated_at: float | None = None,
) -> dict[str, Any]:
    """The report document. ``devices`` are dicts shaped like ``Device.to_dict()`` (classification as
    ``{field: {"value", "confidence"}}``); ``statuses`` maps (check id, device key) to workflow status."""
    categories = {d["key"]: ((d.get("classification") or {}).get("category") or {}).get("value") for d in devices}
    scores = scores_by_subject([f for f in findings if (statuses or {}).get((f.id, f.subject)) != "resolved"],
                               categories)
    per_device = Counter(f.subject for f in findings)
    entries = [device_entry(d, scores[d["key"]], per_device[d["key"]]) for d in devices]
    entries.sort(key=lambda e: (-e["risk_score"], e["key"]))
    severity = Counter(f.severity for f in findings)
    summary = {
        "devices": len(entries), "findings": len(findings),
        "fleet_score": fleet_score(scores.values()), "fleet_band": band(fleet_score(scores.values())),
        "devices_by_category": dict(sorted(Counter(e["category"] or UNKNOWN for e in entries).items())),
        "devices_by_type": _limited_counts(Counter(e["device_type"] or UNKNOWN for e in entries), MAX_TYPES_CHARTED),
        "devices_by_risk_band": {b: sum(1 for e in entries if e["risk_band"] == b) for b in RISK_BANDS},
        "findings_by_severity": {s: severity.get(s, 0) for s in reversed(SEVERITIES)},
        "findings_by_check": dict(sorted(Counter(f.id for f in findings).items())),
    }
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    finding_entries = [
        {**f.to_dict(), "status": (statuses or {}).get((f.id, f.subject), "open")}
        for f in sorted(findings, key=lambda f: (-rank[f.severity], f.id, f.subject))
    ]
    now = generated_at if generated_at is not None else datetime.now(UTC).timestamp()
    return {
        "schema": SCHEMA, "generated_at": _iso(now), "source": dict(source or {}), "summary": summary,
        "devices": entries, "findings": finding_entries, "network": network(entries, edges),
    }
