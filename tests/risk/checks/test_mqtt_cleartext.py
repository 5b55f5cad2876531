"""risk.mqtt.cleartext: MQTT credentials without TLS."""

from __future__ import annotations

from typing import Any

from tests.conftest import shared
from tests.risk.harness import analyse, found, hits, key_of

ID = "risk.mqtt.cleartext"


def test_connect_with_username_and_password_on_1883() -> None:
    # suricata-verify mqtt311-pub-userpass: CONNECT with username "user" and a password, to port 1883
    # (a loopback capture: the broker ::1 is no inventory device, so the check's hit is what is checked)
    _, risk = analyse(shared("pcaps", "suricata_verify", "mqtt311-pub-userpass", "input.pcap"))
    (hit,) = hits(risk, ID).values()
    assert hit.severity == "high"
    evidence = hit.evidence()
    assert (evidence["usernames"], evidence["ports"], evidence["password_sent"]) == (["user"], ["1883"], ["yes"])


def test_lab_broker_receiving_the_plug_password(small_lab: Any) -> None:
    ctx, _, truth = small_lab
    assert set(found(ctx, ID)) == {key_of(truth, "rpi-01")}


def test_anonymous_connect_carries_no_credentials() -> None:
    _, risk = analyse(shared("pcaps", "suricata_verify", "mqtt-limit-2", "input.pcap"))
    assert hits(risk, ID) == {}
