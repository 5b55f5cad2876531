"""``iotwarden findings [list]`` and ``iotwarden findings checks``."""

from __future__ import annotations

import json

import pytest

import iotwarden.cli.findings  # noqa: F401 - registers the command until cli/main.py imports it
from iotwarden.cli.main import main
from tests.report.conftest import lab_db  # noqa: F401 - the shared store fixture


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_is_worst_first_and_filters(capsys: pytest.CaptureFixture[str], lab_db: str) -> None:  # noqa: F811
    code, out, _ = run(capsys, "findings", "--db", lab_db, "-f", "json")
    assert code == 0
    data = json.loads(out)
    assert data["schema"] == "iotwarden.findings/1"
    severities = [f["severity"] for f in data["findings"]]
    assert severities[0] == "critical"
    assert severities == sorted(severities, key=["critical", "high", "medium", "low", "info"].index)
    code, out, _ = run(capsys, "findings", "list", "--db", lab_db, "-f", "json", "--check", "risk.snmp.")
    assert {f["id"] for f in json.loads(out)["findings"]} == {"risk.snmp.default_community", "risk.snmp.v1v2c"}
    code, out, _ = run(capsys, "findings", "--db", lab_db, "-f", "json", "--device", "10.20.0.103")
    assert {f["subject"] for f in json.loads(out)["findings"]} == {"mac:08:ed:ed:3c:44:01"}


def test_table_and_bad_severity(capsys: pytest.CaptureFixture[str], lab_db: str) -> None:  # noqa: F811
    code, out, _ = run(capsys, "findings", "--db", lab_db, "--severity", "high")
    assert code == 0 and "risk.credentials.default" in out and "risk.upnp.exposed" not in out
    code, _, err = run(capsys, "findings", "--db", lab_db, "--severity", "severe")
    assert code == 2 and "one of info" in err


def test_checks_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "findings", "checks", "-f", "json")
    assert code == 0
    checks = {c["id"]: c for c in json.loads(out)["checks"]}
    from iotwarden.risk.registry import check_classes

    assert set(checks) == {c.id for c in check_classes()}  # every registered check, each once
    assert {"risk.dicom.cleartext", "risk.rdp.no_nla", "risk.knx.unsecured"} <= set(checks)
    assert any(r.startswith("CWE-319") for r in checks["risk.dicom.cleartext"]["references"])
    assert any(r.startswith("CWE-1392") for r in checks["risk.credentials.default"]["references"])
    code, out, _ = run(capsys, "findings", "checks")
    assert code == 0 and "risk.exposure.many_external" in out
