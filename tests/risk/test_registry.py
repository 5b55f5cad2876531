"""The registry lists every check once, each with the metadata a finding needs."""

from __future__ import annotations

from pathlib import Path

from iotwarden.model.finding import SEVERITIES
from iotwarden.risk.registry import CHECKS, catalogue, check_classes, default_checks

CHECKS_DIR = Path(__file__).resolve().parents[2] / "src" / "iotwarden" / "risk" / "checks"
HELPERS = {"__init__", "ot_operations"}


def test_every_check_module_is_registered_and_ids_are_unique() -> None:
    modules = {p.stem for p in CHECKS_DIR.glob("*.py")} - HELPERS
    assert modules == {spec.split(":")[0] for spec in CHECKS}
    ids = [cls.id for cls in check_classes()]
    assert len(ids) == len(set(ids)) == len(CHECKS)


def test_issue_checks_are_all_present() -> None:
    assert {c["id"] for c in catalogue()} == {
        "risk.cleartext.telnet", "risk.cleartext.ftp", "risk.cleartext.http_basic", "risk.snmp.default_community",
        "risk.snmp.v1v2c", "risk.credentials.default", "risk.mqtt.anonymous", "risk.mqtt.cleartext",
        "risk.upnp.exposed", "risk.tls.weak_version", "risk.tls.weak_cipher", "risk.tls.self_signed",
        "risk.tls.expired", "risk.firmware.outdated", "risk.ot.unauthorized_write", "risk.ot.program_change",
        "risk.ot.cpu_stop", "risk.ot.firmware_update", "risk.exposure.many_external",
        "risk.cleartext.rtsp", "risk.rtsp.unauthenticated_stream", "risk.smb.v1", "risk.sadp.unactivated",
        "risk.p2p.exposed", "risk.dicom.cleartext", "risk.rdp.no_nla", "risk.knx.unsecured",
        "risk.cleartext.ldap", "risk.knx.duplicate_address",
    }


def test_each_check_has_title_severity_remediation_and_protos_or_flows() -> None:
    for check in default_checks():
        assert check.id.startswith("risk.") and check.title and check.remediation, check.id
        assert check.severity in SEVERITIES, check.id
        assert check.protos or check.wants_flows, check.id


def test_catalogue_lists_options_with_types() -> None:
    entry = next(c for c in catalogue() if c["id"] == "risk.exposure.many_external")
    assert entry["options"] == [
        {"name": "threshold", "type": "int", "default": 50,
         "help": "Distinct external destination addresses that make a finding."},
        {"name": "high_threshold", "type": "int", "default": 500,
         "help": "Distinct external destinations that make the finding high."},
    ]
