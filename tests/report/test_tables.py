"""Rich tables of the report print the summary, the riskiest devices and the findings."""

from __future__ import annotations

import io

from rich.console import Console

from iotwarden.model.finding import Finding
from iotwarden.report.document import build
from iotwarden.report.tables import report_tables


def test_tables_name_devices_findings_and_the_fleet_score() -> None:
    devices = [{"key": "mac:02:00:00:00:00:01", "hostnames": ["plc-1"], "ips": ["10.0.0.1"],
                "classification": {"category": {"value": "ot"}, "vendor": {"value": "Siemens"}}}]
    findings = [Finding(id="risk.ot.cpu_stop", title="Controller stopped", severity="critical",
                        subject="mac:02:00:00:00:00:01")]
    buf = io.StringIO()
    console = Console(file=buf, width=200)
    for table in report_tables(build(devices, findings)):
        console.print(table)
    text = buf.getvalue()
    assert "fleet risk score" in text and "95.0" in text
    assert "plc-1" in text and "Siemens" in text
    assert "risk.ot.cpu_stop" in text and "critical" in text
