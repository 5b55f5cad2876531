"""Quarantine and release as reversible policy changes."""

from __future__ import annotations

import pytest

from iotwarden.errors import PolicyError
from iotwarden.model import Flow
from iotwarden.policy.match import resolve, verdict
from iotwarden.policy.quarantine import QUARANTINE, quarantine, release
from tests.policy.test_nftables import CAM, PLC, POLICY, Q_DNS, SRV


def _flow(a: str, b: str, proto: int, port: int) -> Flow:
    return Flow(vlan=0, ip_proto=proto, a_ip=a, a_port=40000, b_ip=b, b_port=port, first_seen=0, last_seen=0)


def test_a_quarantined_device_reaches_only_its_quarantine_rule_and_release_undoes_it() -> None:
    isolated = quarantine(POLICY, [f"ip:{CAM}"], [Q_DNS])
    m = resolve(isolated, [])
    assert isolated.zones[0].name == QUARANTINE and POLICY.zone(QUARANTINE) is None  # the original is untouched
    assert verdict(isolated, m, _flow(CAM, SRV, 17, 53)).rule == "q_dns"
    assert verdict(isolated, m, _flow(CAM, SRV, 6, 8883)).rule == "quarantine.default"
    assert verdict(isolated, m, _flow(SRV, CAM, 6, 80)).rule == "quarantine.isolated"
    assert verdict(isolated, m, _flow(PLC, CAM, 6, 80)).blocked
    back = release(isolated, [CAM])
    assert not verdict(back, resolve(back, []), _flow(CAM, SRV, 6, 8883)).blocked


def test_quarantine_rules_must_leave_from_the_quarantine_zone() -> None:
    with pytest.raises(PolicyError, match="must be from zone"):
        quarantine(POLICY, [CAM], [POLICY.rules[0]])
    with pytest.raises(PolicyError, match="no device"):
        quarantine(POLICY, [])
