"""risk.mqtt.anonymous: brokers that accept CONNECT without a username."""

from __future__ import annotations

from typing import Any

from tests.conftest import shared
from tests.risk.harness import analyse, found, hits, key_of

ID = "risk.mqtt.anonymous"


def test_connect_without_username_accepted_is_high() -> None:
    # suricata-verify mqtt-limit-2/test.yaml: connect flags.username false, client_id "P1", then CONNACK
    # (a loopback capture: the broker ::1 is no inventory device, so the check's hit is what is checked)
    _, risk = analyse(shared("pcaps", "suricata_verify", "mqtt-limit-2", "input.pcap"))
    (hit,) = hits(risk, ID).values()
    assert hit.severity == "high"
    assert hit.evidence()["client_ids"] == ["P1"]
    assert hit.evidence()["accepted"] == ["yes"]


def test_refused_connect_is_not_a_finding() -> None:
    # mqtt5-sub-customauth/test.yaml: no username (enhanced auth "foo"), CONNACK return_code 140: refused
    _, risk = analyse(shared("pcaps", "suricata_verify", "mqtt5-sub-customauth", "input.pcap"))
    assert hits(risk, ID) == {}


def test_connect_with_username_is_not_anonymous() -> None:
    _, risk = analyse(shared("pcaps", "suricata_verify", "mqtt311-pub-userpass", "input.pcap"))
    assert hits(risk, ID) == {}


def test_lab_plug_without_credentials_makes_the_broker_anonymous(enterprise_lab: Any) -> None:
    # enterprise.yaml: plug-02 connects without username to mqtt-broker
    ctx, _, truth = enterprise_lab
    assert set(found(ctx, ID)) == {key_of(truth, "mqtt-broker")}
