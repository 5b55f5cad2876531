"""risk.snmp.default_community: agents reached with a default community."""

from __future__ import annotations

from typing import Any

from iotwarden.hooks import Context
from iotwarden.model import Observation
from iotwarden.risk.checks.snmp_default_community import SnmpDefaultCommunity
from tests.conftest import shared
from tests.risk.harness import analyse, found, key_of

ID = "risk.snmp.default_community"


def test_lab_printer_answering_public_is_high(small_lab: Any) -> None:
    ctx, _, truth = small_lab
    findings = found(ctx, ID)
    assert set(findings) == {key_of(truth, "prn-01")}
    finding = findings[key_of(truth, "prn-01")]
    assert finding.severity == "high"
    assert finding.evidence["communities"] == ["public"]
    assert finding.evidence["operations"] == ["get", "response"]


def test_real_v1_trap_sent_with_public_flags_the_agent() -> None:
    ctx, _ = analyse(shared("pcaps", "suricata_verify", "firewall", "ruletype-firewall-54-snmp-v1-trap",
                            "public-wiresharkwiki-c06-snmpv1-trap-app-r1-1-12.pcap"))
    (finding,) = found(ctx, ID).values()
    assert finding.evidence["communities"] == ["public"]
    assert finding.evidence["operations"] == ["trap"]


def test_custom_community_is_not_a_default() -> None:
    # suricata-verify snmp-community: eight requests with community "[R0_C@cti!]" (sid 1 count 8),
    # none with "private" (sid 2 count 0)
    ctx, _ = analyse(shared("pcaps", "suricata_verify", "snmp-v2c-get", "SNMPv2c_get_requests.pcap"))
    assert found(ctx, ID) == {}


def test_unanswered_request_is_low_and_set_is_medium() -> None:
    check = SnmpDefaultCommunity()
    for kind, agent in (("get", "10.0.0.1"), ("set", "10.0.0.2")):
        check.on_observation(Context(), Observation(ts=1.0, proto="snmp", kind=kind, src_ip="10.0.0.9",
                                                    dst_ip=agent, fields={"version": "2c", "community": "private"}))
    assert check.hits[(None, "10.0.0.1")].severity == "low"
    assert check.hits[(None, "10.0.0.2")].severity == "medium"
