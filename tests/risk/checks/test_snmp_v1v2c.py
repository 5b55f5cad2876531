"""risk.snmp.v1v2c: agents speaking SNMP v1/v2c."""

from __future__ import annotations

from tests.conftest import shared
from tests.risk.harness import analyse, found

ID = "risk.snmp.v1v2c"


def test_v2c_agent_is_flagged_once_per_request_and_the_community_is_never_kept() -> None:
    # suricata-verify snmp-community/test.yaml: 8 requests carry the community "[R0_C@cti!]"
    ctx, _ = analyse(shared("pcaps", "suricata_verify", "snmp-v2c-get", "SNMPv2c_get_requests.pcap"))
    (finding,) = found(ctx, ID).values()
    assert finding.evidence["versions"] == ["2c"]
    assert finding.evidence["count"] == 8
    assert "R0_C" not in str(finding.to_dict())


def test_snmpv3_is_not_flagged() -> None:
    ctx, _ = analyse(shared("pcaps", "suricata_verify", "snmp-v3-unauth", "snmp-v3-get-bulk-unauth.pcap"))
    assert found(ctx, ID) == {}
