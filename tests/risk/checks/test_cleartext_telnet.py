"""risk.cleartext.telnet: Telnet servers whose sessions cross the network in cleartext."""

from __future__ import annotations

from typing import Any

from tests.conftest import shared
from tests.risk.harness import analyse, found, key_of

ID = "risk.cleartext.telnet"


def test_suricata_telnet_capture_flags_the_server_with_the_typed_username() -> None:
    # suricata-verify telnet-01: one telnet flow (test.yaml: flow count 1), user "fake" logs in
    ctx, _ = analyse(shared("pcaps", "suricata_verify", "telnet", "telnet-01", "telnet.pcap"))
    (finding,) = found(ctx, ID).values()
    assert finding.severity == "high"
    assert finding.evidence["usernames"] == ["fake"]
    assert finding.evidence["clients"] == ["192.168.0.2"]
    assert "password" not in str(finding.evidence)


def test_lab_dvr_with_telnet_login_is_flagged_and_devices_without_telnet_are_not(small_lab: Any) -> None:
    ctx, _, truth = small_lab
    findings = found(ctx, ID)
    assert set(findings) == {key_of(truth, "dvr-01")}
    assert findings[key_of(truth, "dvr-01")].evidence["usernames"] == ["root"]


def test_no_telnet_in_an_snmp_capture() -> None:
    ctx, _ = analyse(shared("pcaps", "suricata_verify", "snmp-v2c-get", "SNMPv2c_get_requests.pcap"))
    assert found(ctx, ID) == {}
