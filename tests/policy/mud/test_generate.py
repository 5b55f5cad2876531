"""Generating a MUD profile from traffic: valid, accepts the traffic it came from, flags what is new."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from iotwarden.errors import PolicyError
from iotwarden.model import Flow
from iotwarden.policy.mud import generate as gen
from iotwarden.policy.mud.check import Checker, check_flows
from iotwarden.policy.mud.generate import generate
from iotwarden.policy.mud.model import MudProfile
from iotwarden.policy.mud.traffic import DnsTable, Traffic, read_traffic
from iotwarden.policy.mud.validate import problems
from tests.policy.mud.conftest import INFECTED_MAC, PAIRS


@pytest.mark.parametrize("pair", sorted(PAIRS))
def test_a_profile_generated_from_a_capture_accepts_that_capture(pair: str, pair_traffic: dict[str, Traffic]) -> None:
    t, mac = pair_traffic[pair], PAIRS[pair].mac
    profile = generate(t.flows, name=pair, mac=mac, dns=t.dns, mfg_name="Maker")
    data = profile.to_dict()
    assert problems(data) == []
    assert MudProfile.from_dict(json.loads(json.dumps(data))).to_dict() == data
    result = check_flows(Checker(profile, mac=mac, dns=t.dns), t.flows)
    assert result.flows > 0 and result.violating == 0


def test_peers_are_named_by_dns_when_an_answer_maps_them(pair_traffic: dict[str, Traffic]) -> None:
    t = pair_traffic["tapo"]
    profile = generate(t.flows, name="tapo", mac=PAIRS["tapo"].mac, dns=t.dns)
    names = {a.matches.l3.dst_dnsname for a in profile.policy("from-device")[0].aces if a.matches.l3}
    # the names mudgee put in its own profile of the same capture (tapo-p115rule.csv)
    assert {"pool.ntp.org", "security.iot.i.tplinknbu.com", "n-euw1-device-api.tplinkcloud.com"} <= names
    dhcp_dns = [a for a in profile.policy("from-device")[0].aces if a.matches.mud and a.matches.mud.local_networks]
    assert dhcp_dns, "the gateway (DHCP, DNS) is a local peer: local-networks"


def test_a_profile_of_the_benign_day_flags_the_infected_cameras_attack(lab_captures: tuple[Path, Path]) -> None:
    benign, attack = (read_traffic(p) for p in lab_captures)
    profile = generate(benign.flows, name="cam-parking", mac=INFECTED_MAC, dns=benign.dns,
                       mfg_name="Hikvision", model_name="DS-2CD2143G2-I")
    assert check_flows(Checker(profile, mac=INFECTED_MAC, dns=benign.dns), benign.flows).violating == 0
    result = check_flows(Checker(profile, mac=INFECTED_MAC, dns=attack.dns), attack.flows)
    start = 1709542800.0  # enterprise.yaml start; attacks begin at +60 s
    ports = {(v.packet.proto, v.packet.dport) for v in result.violations}
    # Mirai Telnet scan (23, 2323), then SMB, RDP and SSH towards the IT servers
    assert {(6, 23), (6, 2323), (6, 445), (6, 3389), (6, 22)} <= ports
    assert all(v.flow.first_seen >= start + 60 and v.packet.direction == "from-device" for v in result.violations)
    # the attack scenario is the benign day plus the attack: every added flow of the camera, and only those
    owner = Checker(profile, mac=INFECTED_MAC)
    added = sum(1 for f in attack.flows if owner.owns(f)) - sum(1 for f in benign.flows if owner.owns(f))
    assert result.violating == added > 0


def test_generation_is_bounded() -> None:
    flows = [Flow(0, 6, "10.0.0.2", 40000, "203.0.113.9", port, 1.0, 2.0, pkts_ab=1, tcp_flags_ab=0x02)
             for port in range(1, 40)]
    limit = gen.MAX_ACES
    try:
        gen.MAX_ACES = 10
        with pytest.raises(PolicyError, match="more than 10 distinct rules"):
            generate(flows, name="scanner", ips=["10.0.0.2"])
    finally:
        gen.MAX_ACES = limit


def test_fields_of_a_generated_profile() -> None:
    when = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)
    p = generate([], name="Lobby Cam", dns=DnsTable(), mfg_name="Hikvision", model_name="X", now=when)
    assert p.mud_url == "https://mud.iotwarden.invalid/lobby-cam.json"
    assert (p.last_update, p.systeminfo, p.mfg_name, p.cache_validity) == (
        "2024-03-04T09:00:00+00:00", "Lobby Cam", "Hikvision", 48)
    assert problems(p.to_dict()) == []
