"""Lab RDP password attacks as the RDP dissector and detector read them: each guess one connection with the
tool's cookie, HYBRID selected, the target's self-signed certificate naming it, CredSSP refused; guessing on the
file server, two passwords sprayed over six names on the domain controller."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from iotwarden.model import Observation
from tests.detect.runner import detect
from tests.lab.conftest import observations_of


@pytest.fixture(scope="module")
def attack(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Observation], dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("rdp-attack")
    obs, truth = observations_of("enterprise-rdp.yaml", out, "rdp")
    return obs, truth, out / "lab.pcap"


def test_every_guess_is_a_cookie_a_hybrid_confirm_and_the_servers_named_certificate(
        attack: tuple[list[Observation], dict[str, Any], Path]) -> None:
    obs, truth, _ = attack
    guessing, spraying = truth["attacks"]
    requests = [o for o in obs if o.kind == "connection_request"]
    assert Counter(o.dst_ip for o in requests) == {guessing["targets"][0]: 14, spraying["targets"][0]: 12}
    assert {o.fields["username"] for o in requests if o.dst_ip == spraying["targets"][0]} == {
        "administrator", "admin", "backup", "scada", "operator", "svc_sql"}
    assert {o.fields["selected_protocol"] for o in obs if o.kind == "connection_confirm"} == {"HYBRID"}
    names = {(o.src_ip, o.fields["computer_name"]) for o in obs if o.kind == "server_certificate"}
    assert names == {(guessing["targets"][0], "SRV-FILES"), (spraying["targets"][0], "SRV-DC")}


Attack = tuple[list[Observation], dict[str, Any], Path]


def test_guessing_and_spraying_are_detected_from_the_attacker(attack: Attack) -> None:
    _, truth, pcap = attack
    guessing, spraying = truth["attacks"]
    alerts = [a for a in detect([pcap]).alerts if a.id.startswith("detect.bruteforce.rdp")]
    mac = guessing["attacker"]["mac"]
    # the spray's attempts span both servers (the guessing's administrator too): no one destination
    assert {(a.id, a.subject, a.dst_ip) for a in alerts} == {
        ("detect.bruteforce.rdp", f"mac:{mac}", guessing["targets"][0]),
        ("detect.bruteforce.rdp", f"mac:{mac}", spraying["targets"][0]),  # two passwords per name: 12 tries
        ("detect.bruteforce.rdp_spray", f"mac:{mac}", None)}
    (spray,) = [a for a in alerts if a.id == "detect.bruteforce.rdp_spray"]
    assert spray.evidence["user_count"] == 5  # raised as the fifth name arrives (min_users)
    assert spraying["targets"][0] in spray.evidence["servers"]
    assert guessing["technique"].startswith("T1110.001") and spraying["technique"].startswith("T1110.003")
