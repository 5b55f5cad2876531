"""Findings in the store: unique per check and device, widened on repeat, listed worst first."""

from __future__ import annotations

from pathlib import Path

from iotwarden.lab.generator import generate, load_scenario
from iotwarden.model.finding import Finding
from iotwarden.services.analyze import analyze
from iotwarden.store import Store
from iotwarden.store.alert_models import FindingRow
from iotwarden.store.findings import finding_dict, list_findings, row_to_finding, upsert_findings

SCENARIOS = Path(__file__).resolve().parents[2] / "src" / "iotwarden" / "lab" / "scenarios"
CAM = "mac:02:00:00:00:00:05"
PLC = "mac:02:00:00:00:00:50"


def finding(check: str, subject: str, severity: str, first: float, last: float, **evidence: object) -> Finding:
    return Finding(id=check, title=f"title of {check}", severity=severity, subject=subject,  # type: ignore[arg-type]
                   evidence=dict(evidence), remediation="fix it", references=["CWE-319"],
                   first_seen=first, last_seen=last)


def test_insert_then_widen_keeps_one_row_with_worse_severity_and_newest_evidence(store: Store) -> None:
    with store.transaction() as s:
        assert upsert_findings(s, [finding("risk.cleartext.telnet", CAM, "high", 10.0, 20.0, count=1)]) == 1
    with store.transaction() as s:
        assert upsert_findings(s, [
            finding("risk.cleartext.telnet", CAM, "medium", 5.0, 30.0, count=7),
            finding("risk.ot.cpu_stop", PLC, "critical", 1.0, 2.0),
        ]) == 1
    with store.session() as s:
        rows = list_findings(s)
        assert [(r.check_id, r.device_key) for r in rows] == [("risk.ot.cpu_stop", PLC),
                                                              ("risk.cleartext.telnet", CAM)]
        telnet = rows[1]
        assert (telnet.severity, telnet.first_seen, telnet.last_seen) == ("high", 5.0, 30.0)
        assert telnet.evidence == {"count": 7}
        assert s.query(FindingRow).count() == 2


def test_same_check_twice_in_one_batch_is_one_row(store: Store) -> None:
    with store.transaction() as s:
        assert upsert_findings(s, [finding("risk.snmp.v1v2c", CAM, "medium", 3.0, 4.0, n=1),
                                   finding("risk.snmp.v1v2c", CAM, "medium", 1.0, 2.0, n=2)]) == 1
    with store.session() as s:
        (row,) = list_findings(s)
        assert (row.first_seen, row.last_seen, row.evidence) == (1.0, 4.0, {"n": 1})


def test_resolved_finding_seen_again_reopens_and_accepted_stays_accepted(store: Store) -> None:
    with store.transaction() as s:
        upsert_findings(s, [finding("risk.a", CAM, "low", 1.0, 2.0), finding("risk.b", CAM, "low", 1.0, 2.0)])
        for row in list_findings(s):
            row.status = "resolved" if row.check_id == "risk.a" else "accepted"
    with store.transaction() as s:
        upsert_findings(s, [finding("risk.a", CAM, "low", 3.0, 4.0), finding("risk.b", CAM, "low", 3.0, 4.0)])
    with store.session() as s:
        assert {r.check_id: r.status for r in list_findings(s)} == {"risk.a": "open", "risk.b": "accepted"}


def test_filters_and_round_trip(store: Store) -> None:
    with store.transaction() as s:
        upsert_findings(s, [finding("risk.tls.expired", CAM, "medium", 1.0, 2.0),
                            finding("risk.tls.self_signed", PLC, "medium", 1.0, 2.0),
                            finding("risk.upnp.exposed", CAM, "low", 1.0, 2.0)])
    with store.session() as s:
        assert {r.check_id for r in list_findings(s, check="risk.tls.")} == {"risk.tls.expired",
                                                                            "risk.tls.self_signed"}
        assert {r.check_id for r in list_findings(s, device=CAM, severity="medium")} == {"risk.tls.expired"}
        assert len(list_findings(s, limit=1)) == 1
        assert list_findings(s, status="resolved") == []
        row = list_findings(s, check="risk.upnp.exposed")[0]
        assert row_to_finding(row).to_dict() == finding("risk.upnp.exposed", CAM, "low", 1.0, 2.0).to_dict()
        assert finding_dict(row)["status"] == "open"
    with store.transaction() as s:
        assert upsert_findings(s, []) == 0


def test_analyze_service_stores_the_runs_findings_once(tmp_path: Path) -> None:
    # small.yaml with its attacks: Mirai's root/vizxv login into dvr-01 must land in the store
    pcap = tmp_path / "small.pcap"
    generate(load_scenario(SCENARIOS / "small.yaml"), pcap, None, attacks=True)
    with Store(f"sqlite:///{tmp_path / 'a.db'}") as store:
        analyze([pcap], store)
        analyze([pcap], store)  # same bytes: skipped, nothing counted twice
        with store.session() as s:
            rows = list_findings(s)
    by_check = {(r.check_id, r.device_key): r for r in rows}
    login = by_check[("risk.credentials.default", "mac:08:ed:ed:3c:44:01")]
    assert login.severity == "critical"
    assert "root:vizxv" in login.evidence["credentials"]
    assert ("risk.ot.unauthorized_write", "mac:00:11:00:4d:21:01") in by_check
    assert len(rows) == len(by_check)
