"""The report read from a store: devices, stored findings with status, flows summed into edges."""

from __future__ import annotations

from iotwarden.report.source import classification_of, report_from_store
from iotwarden.store import Store
from iotwarden.store.findings import list_findings


def test_lab_store_report(lab_db: str) -> None:
    with Store(lab_db) as store:
        report = report_from_store(store, generated_at=0.0)
    s = report["summary"]
    assert s["devices"] >= 11
    assert s["findings_by_severity"]["critical"] >= 1
    assert report["source"]["database"] == lab_db
    dvr = next(d for d in report["devices"] if d["key"] == "mac:08:ed:ed:3c:44:01")  # small.yaml dvr-01
    assert dvr["risk_band"] == "critical"
    assert report["devices"][0]["risk_score"] == max(d["risk_score"] for d in report["devices"])
    net = report["network"]
    node_ids = {n["id"] for n in net["nodes"]}
    assert "mac:00:11:00:4d:21:01" in node_ids  # plc-01, polled over Modbus
    plc_edges = [e for e in net["edges"] if "mac:00:11:00:4d:21:01" in (e["source"], e["target"])]
    assert any("modbus" in e["apps"] for e in plc_edges)
    assert not any(n["id"] in ("ip:255.255.255.255", "ip:0.0.0.0") for n in net["nodes"])


def test_status_changes_show_in_the_report(lab_db: str, tmp_path: object) -> None:
    with Store(lab_db) as store:
        with store.transaction() as session:
            row = list_findings(session, check="risk.upnp.exposed")[0]
            row.status = "accepted"
        report = report_from_store(store)
        with store.transaction() as session:
            list_findings(session, check="risk.upnp.exposed")[0].status = "open"
    assert next(f for f in report["findings"] if f["id"] == "risk.upnp.exposed")["status"] == "accepted"


class Row:
    vendor = "Axis Communications"
    vendor_confidence = 0.97
    device_type = ""
    classification = None


def test_classification_from_columns_or_json() -> None:
    assert classification_of(Row()) == {"vendor": {"value": "Axis Communications", "confidence": 0.97}}
    row = Row()
    row.classification = {"vendor": {"value": "Axis", "confidence": 0.9, "evidence": []}, "model": {"value": ""}}
    assert classification_of(row) == {"vendor": {"value": "Axis", "confidence": 0.9, "evidence": []}}
    assert classification_of(object()) == {}
