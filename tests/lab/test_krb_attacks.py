"""Lab Kerberos attacks as the Kerberos dissector and the detectors read them: the lobby camera's spray (an
AS-REQ with PA-ENC-TIMESTAMP per user and password, each refused KDC_ERR_PREAUTH_FAILED) and the parking camera's
Kerberoasting (its TGT, then RC4-only TGS-REQs answered with RC4 tickets), both against the domain controller."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from iotwarden.detect.kerberos_abuse import KERBEROAST_ID
from iotwarden.lab.krb_attacks import SERVICE_SPNS
from iotwarden.model import Observation
from tests.detect.runner import detect
from tests.lab.conftest import observations_of

Attack = tuple[list[Observation], dict[str, Any], Path]


@pytest.fixture(scope="module")
def attack(tmp_path_factory: pytest.TempPathFactory) -> Attack:
    out = tmp_path_factory.mktemp("krb-attack")
    obs, truth = observations_of("enterprise-kerberos.yaml", out, "kerberos")
    return obs, truth, out / "lab.pcap"


def test_the_spray_is_pre_authenticated_requests_refused_for_the_password(attack: Attack) -> None:
    obs, truth, _ = attack
    spray = truth["attacks"][0]
    mine = [o for o in obs if spray["attacker"]["ip"] in (o.src_ip, o.dst_ip)]
    requests = [o for o in mine if o.kind == "as_req"]
    assert len(requests) == 16 and all(o.fields["preauth"] and o.fields["padata_types"] == [2, 128] for o in requests)
    assert Counter(o.fields["cname"] for o in requests)["alice"] == 2
    assert {o.fields["error_code"] for o in mine if o.kind == "error"} == {24}
    assert spray["technique"].startswith("T1110.003")


def test_kerberoasting_asks_rc4_alone_and_gets_rc4_tickets(attack: Attack) -> None:
    obs, truth, _ = attack
    roast = truth["attacks"][1]
    mine = [o for o in obs if roast["attacker"]["ip"] in (o.src_ip, o.dst_ip)]
    assert [o.kind for o in mine[:2]] == ["as_req", "as_rep"]
    requests = [o for o in mine if o.kind == "tgs_req"]
    assert [o.fields["sname"] for o in requests] == SERVICE_SPNS
    assert {tuple(o.fields["etypes"]) for o in requests} == {(23,)}
    assert {o.fields["ticket_etype"] for o in mine if o.kind == "tgs_rep"} == {23}


def test_the_attacks_are_caught_from_their_attackers_and_nothing_else(attack: Attack) -> None:
    _, truth, pcap = attack
    spray, roast = truth["attacks"]
    alerts = detect([pcap]).alerts
    krb = {(a.id, a.subject, a.dst_ip) for a in alerts if "kerberos" in a.id}
    dc = spray["targets"][0]
    assert krb == {("detect.bruteforce.kerberos_spray", f"mac:{spray['attacker']['mac']}", dc),
                   (KERBEROAST_ID, f"mac:{roast['attacker']['mac']}", dc)}
    (kerberoast,) = [a for a in alerts if a.id == KERBEROAST_ID]
    assert kerberoast.mitre == ["T1558", "T1558.003"] and kerberoast.evidence["rc4_spns"] == 4
