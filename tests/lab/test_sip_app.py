"""Lab SIP: the enterprise desk phones register with the PBX (Digest 401, then credentials, 200), are
qualified with OPTIONS and place a call with SDP through it, as the SIP dissector reads the capture."""

from __future__ import annotations

import pytest

from iotwarden.lab.sip_app import digest_response
from iotwarden.model import Observation
from tests.lab.conftest import observations_of


def test_digest_response_is_rfc_2617s_example() -> None:
    """RFC 2617 §3.5: Mufasa's request-digest with qop=auth."""
    assert digest_response("Mufasa", "testrealm@host.com", "Circle Of Life", "GET", "/dir/index.html",
                           nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", cnonce="0a4f113b") == (
        "6629fae49393a05397450978507c4ef1")


@pytest.fixture(scope="module")
def sip_observations(tmp_path_factory: pytest.TempPathFactory) -> list[Observation]:
    return observations_of("enterprise.yaml", tmp_path_factory.mktemp("sip-lab"), "sip")[0]


def test_each_phone_registers_after_a_digest_challenge(sip_observations: list[Observation]) -> None:
    registers = [o for o in sip_observations if o.fields.get("cseq_method") == "REGISTER"]
    by_phone: dict[str, list[tuple[str, object, object]]] = {}
    for o in registers:
        phone = o.src_ip if o.kind == "request" else o.dst_ip
        by_phone.setdefault(str(phone), []).append(
            (o.kind, o.fields.get("status"), o.fields.get("credentials_sent", o.fields.get("credentials"))))
    assert len(by_phone) == 2
    for steps in by_phone.values():
        assert steps == [("request", None, False), ("response", 401, False), ("request", None, True),
                         ("response", 200, True)]
    agents = {o.fields["user_agent"] for o in registers if o.kind == "request"}
    assert agents == {"PolycomVVX-VVX_450-UA/6.4.3.5018", "Yealink SIP-T54W 96.86.0.70"}
    assert {o.fields["auth_realm"] for o in registers if o.fields.get("status") == 401} == {"asterisk"}
    assert {o.fields["server"] for o in registers if o.kind == "response"} == {
        "Asterisk PBX 18.10.0~dfsg+~cs6.10.40431411-2"}


def test_the_pbx_qualifies_the_phones_and_bridges_a_call_with_sdp(sip_observations: list[Observation]) -> None:
    options = [o for o in sip_observations if o.fields.get("cseq_method") == "OPTIONS" and o.kind == "response"]
    assert options and {o.fields["sender"]["user_agent"] for o in options} == {
        "PolycomVVX-VVX_450-UA/6.4.3.5018", "Yealink SIP-T54W 96.86.0.70"}
    invites = [o for o in sip_observations if o.fields.get("cseq_method") == "INVITE"]
    statuses = [o.fields["status"] for o in invites if o.kind == "response"]
    assert statuses.count(401) == 1 and statuses.count(200) == 2 and 180 in statuses
    offers = [o for o in invites if o.kind == "request" and o.fields.get("codecs")]
    assert offers and all(o.fields["codecs"] == ["PCMU", "PCMA", "G722", "TELEPHONE-EVENT"] for o in offers)
    assert len([o for o in sip_observations if o.fields.get("method") == "BYE"]) == 2
