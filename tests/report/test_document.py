"""The report document: schema, summary counts, scores, statuses and the bounded map."""

from __future__ import annotations

from typing import Any

import pytest

from iotwarden.model.finding import Finding
from iotwarden.report import document
from iotwarden.report.document import SCHEMA, Edge, build, subnet_group


def device(key: str, category: str | None = None, device_type: str | None = None, **extra: Any) -> dict[str, Any]:
    classification = {}
    if category:
        classification["category"] = {"value": category, "confidence": 0.9}
    if device_type:
        classification["device_type"] = {"value": device_type, "confidence": 0.8}
    return {"key": key, "ips": extra.pop("ips", []), "hostnames": extra.pop("hostnames", []),
            "classification": classification, **extra}


def finding(check: str, subject: str, severity: str) -> Finding:
    return Finding(id=check, title=check, severity=severity, subject=subject)  # type: ignore[arg-type]


DEVICES = [device("mac:02:00:00:00:00:01", "ot", "plc", ips=["10.0.0.1"], hostnames=["plc-1"], bytes=500),
           device("mac:02:00:00:00:00:02", "iot", "camera", ips=["10.0.0.2"]),
           device("mac:02:00:00:00:00:03")]
FINDINGS = [finding("risk.ot.cpu_stop", "mac:02:00:00:00:00:01", "critical"),
            finding("risk.upnp.exposed", "mac:02:00:00:00:00:02", "low"),
            finding("risk.tls.expired", "mac:02:00:00:00:00:02", "medium")]


def test_document_shape_and_counts() -> None:
    report = build(DEVICES, FINDINGS, generated_at=0.0)
    assert report["schema"] == SCHEMA
    assert report["generated_at"] == "1970-01-01T00:00:00Z"
    s = report["summary"]
    assert (s["devices"], s["findings"]) == (3, 3)
    assert s["devices_by_category"] == {"iot": 1, "ot": 1, "unknown": 1}
    assert s["devices_by_type"] == {"plc": 1, "camera": 1, "unknown": 1}
    assert s["devices_by_risk_band"] == {"critical": 1, "high": 0, "medium": 1, "low": 0, "none": 1}
    assert s["findings_by_severity"] == {"critical": 1, "high": 0, "medium": 1, "low": 1, "info": 0}
    assert s["fleet_score"] == round(0.5 * 95.0 + 0.5 * (95.0 + 31.0 + 0.0) / 3, 1)
    assert [d["key"] for d in report["devices"]] == ["mac:02:00:00:00:00:01", "mac:02:00:00:00:00:02",
                                                     "mac:02:00:00:00:00:03"]
    plc = report["devices"][0]
    assert (plc["label"], plc["category"], plc["category_confidence"], plc["vendor"]) == ("plc-1", "ot", 0.9, None)
    assert [f["severity"] for f in report["findings"]] == ["critical", "medium", "low"]
    assert all(f["status"] == "open" for f in report["findings"])


def test_resolved_findings_do_not_count_in_the_score() -> None:
    statuses = {("risk.ot.cpu_stop", "mac:02:00:00:00:00:01"): "resolved"}
    report = build(DEVICES, FINDINGS, statuses=statuses)
    plc = next(d for d in report["devices"] if d["key"] == "mac:02:00:00:00:00:01")
    assert (plc["risk_score"], plc["risk_band"], plc["findings"]) == (0.0, "none", 1)
    assert next(f for f in report["findings"] if f["id"] == "risk.ot.cpu_stop")["status"] == "resolved"


def test_map_joins_devices_and_the_internet() -> None:
    edges = [Edge("mac:02:00:00:00:00:01", "mac:02:00:00:00:00:02", 100, 2, {"modbus"}),
             Edge("mac:02:00:00:00:00:02", "internet", 900, 1, {"tls"})]
    net = build(DEVICES, [], edges)["network"]
    assert [n["id"] for n in net["nodes"]][:2] == ["mac:02:00:00:00:00:02", "internet"]
    internet = next(n for n in net["nodes"] if n["id"] == "internet")
    assert (internet["label"], internet["category"], internet["inventory"]) == ("Internet", "internet", False)
    assert internet["group"] == "outside the site"
    assert all(n["group"] for n in net["nodes"])
    assert net["edges"][0] == {"source": "mac:02:00:00:00:00:02", "target": "internet", "bytes": 900, "flows": 1,
                               "apps": ["tls"]}
    assert net["left_out"] == {"nodes": 0, "edges": 0}


def test_map_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(document, "MAX_MAP_NODES", 3)
    monkeypatch.setattr(document, "MAX_MAP_EDGES", 1)
    many = [device(f"ip:10.1.0.{n}") for n in range(10)]
    edges = [Edge(f"ip:10.1.0.{n}", f"ip:10.1.0.{n + 1}", 10 * n) for n in range(9)]
    net = build(many, [], edges)["network"]
    assert len(net["nodes"]) == 3
    assert len(net["edges"]) == 1
    assert net["left_out"] == {"nodes": 7, "edges": 8}


def test_types_chart_sums_the_long_tail(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(document, "MAX_TYPES_CHARTED", 2)
    devices = [device(f"ip:10.1.0.{n}", "iot", f"type{n % 4}") for n in range(8)]
    assert build(devices, [])["summary"]["devices_by_type"] == {"type0": 2, "type1": 2, "other": 4}


@pytest.mark.parametrize(("ips", "group"), [
    (["10.10.30.51", "192.168.1.9"], "subnet 10.10.30.0/24"), (["fe80::1"], "subnet fe80::/64"),
    (["93.184.216.34"], "outside the site"), ([], "layer 2 only"), (["not an address", "172.16.0.9"],
                                                                    "subnet 172.16.0.0/24")])
def test_map_groups_hosts_by_subnet(ips: list[str], group: str) -> None:
    assert subnet_group(ips) == group
