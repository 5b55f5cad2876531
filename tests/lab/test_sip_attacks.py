"""Lab SIP attacks as the SIP dissector reads them: svmap's sweep answered by the SIP devices only, svwar's
walk answered 401 for the PBX's extensions and 404 for the rest, svcrack's refused Digest guesses."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from iotwarden.errors import ConfigError
from iotwarden.lab.generator import generate, load_scenario
from iotwarden.model import Observation
from tests.lab.conftest import SCENARIOS, observations_of

ATTACKER = "10.10.20.111"  # plug-01 in enterprise.yaml


@pytest.fixture(scope="module")
def attack(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Observation], dict]:
    obs, truth = observations_of("enterprise-voip.yaml", tmp_path_factory.mktemp("sip-attack"), "sip")
    return [o for o in obs if ATTACKER in (o.src_ip, o.dst_ip)], truth


def test_the_sweep_finds_the_phones_and_the_pbx_and_only_they_answer(attack: tuple[list[Observation], dict]) -> None:
    obs, truth = attack
    options = [o for o in obs if o.fields.get("cseq_method") == "OPTIONS"]
    asked = {o.dst_ip for o in options if o.kind == "request"}
    answered = {o.src_ip for o in options if o.kind == "response"}
    assert all(o.fields["user_agent"] == "friendly-scanner" for o in options if o.kind == "request")
    scan = next(a for a in truth["attacks"] if a["kind"] == "sip_scan")
    assert answered == set(scan["targets"][:-1]) and answered < asked  # the IoT subnet's two phones
    assert {o.fields.get("user_agent") for o in options if o.kind == "response"} == {
        "PolycomVVX-VVX_450-UA/6.4.3.5018", "Yealink SIP-T54W 96.86.0.70"}


def test_the_walk_is_challenged_for_real_extensions_and_not_found_for_the_rest(
        attack: tuple[list[Observation], dict]) -> None:
    obs, _ = attack
    walk = [o for o in obs if o.kind == "response" and o.fields.get("cseq_method") == "REGISTER"
            and o.fields.get("credentials_sent") is False]
    by_status = Counter(o.fields["status"] for o in walk)
    challenged = {o.fields["to"].split("@")[0] for o in walk if o.fields["status"] == 401}
    assert challenged >= {"2001", "2002"} and by_status[404] == 38


def test_every_guess_is_refused_and_carries_credentials(attack: tuple[list[Observation], dict]) -> None:
    obs, _ = attack
    guesses = [o for o in obs if o.kind == "request" and o.fields.get("credentials")]
    answers = [o for o in obs if o.kind == "response" and o.fields.get("credentials_sent") is True]
    assert len(guesses) == len(answers) == 40
    assert {o.fields["auth_user"] for o in guesses} == {"2001"}
    assert Counter(o.fields["status"] for o in answers) == {401: 32, 403: 8}
    assert not any(o.fields.get("auth_stale") for o in answers)


def test_a_registrar_without_a_pbx_or_a_target_that_is_no_phone_is_refused(tmp_path: Path) -> None:
    text = (SCENARIOS / "enterprise-voip.yaml").read_text()
    for bad in (text.replace("registrar: srv-linux", "registrar: plug-02"),
                text.replace("target: phone-lobby", "target: plug-02")):
        (tmp_path / "bad.yaml").write_text(bad)
        (tmp_path / "enterprise.yaml").write_text((SCENARIOS / "enterprise.yaml").read_text())
        with pytest.raises(ConfigError):
            generate(load_scenario(tmp_path / "bad.yaml"), tmp_path / "b.pcap", tmp_path / "b.json")
