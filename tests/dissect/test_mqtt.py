"""MQTT dissector pinned to the suricata-verify mqtt* captures (3.1, 3.1.1 and 5.0), limits, fuzz."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.base import Packet
from iotwarden.dissect.mqtt import MAX_MESSAGES, MAX_PUBLISH_HEAD, MqttDissector
from iotwarden.errors import ParseError
from iotwarden.model import Observation
from tests.conftest import shared
from tests.dissect.hostile import TCPDUMP_CAPTURES, feed_capture_any_port, feed_chunks, mutate
from tests.pcaputil import iter_packets, run_dissector

SV = ("pcaps", "suricata_verify")


def _run(test: str, name: str = "input.pcap") -> tuple[list[Observation], list[Exception]]:
    errors: list[Exception] = []
    return run_dissector(MqttDissector(), shared(*SV, test, name), errors=errors), errors


def _one(obs: list[Observation], kind: str) -> dict[str, Any]:
    (fields,) = [o.fields for o in obs if o.kind == kind]
    return fields


# (test, protocol_name, protocol_version, client_id) from each test.yaml's mqtt.connect checks
CONNECTS = [
    ("mqtt31-pub-userpass", "MQIsdp", 3, "myvoiceismypassport"),
    ("mqtt31-pub-userpass-auto-clientid", "MQIsdp", 3, "mosq-dRkAMvJQvimi16jz72"),
    ("mqtt311-pub-userpass", "MQTT", 4, "myvoiceismypassport"),
    ("mqtt311-pub-userpass-auto-clientid", "MQTT", 4, "mosq-aGMiV6nelbCb00tvAY"),
    ("mqtt5-pub-userpass", "MQTT", 5, "myvoiceismypassport"),
    ("mqtt5-pub-userpass-auto-clientid", "MQTT", 5, ""),
    ("mqtt5-pub-mosquittoprops", "MQTT", 5, "myvoiceismypassport"),
]


@pytest.mark.parametrize(("test", "name", "version", "client_id"), CONNECTS)
def test_connect_publish_of_each_protocol_version(test: str, name: str, version: int, client_id: str) -> None:
    obs, errors = _run(test)
    assert errors == []
    connect = _one(obs, "connect")
    assert (connect["protocol_name"], connect["protocol_version"], connect["client_id"]) == (name, version, client_id)
    assert connect["username"] == "user" and connect["password_present"] is True
    assert connect["clean_session"] is True and "pass" not in connect.values()  # the password is not kept
    assert _one(obs, "connack")["return_code"] == 0
    publish = _one(obs, "publish")
    assert publish["topic"] == "topicX" and publish["payload_len"] == len("baabaablacksheep")
    connect_obs = next(o for o in obs if o.kind == "connect")
    assert connect_obs.subject == "src" and connect_obs.dst_port == 1883


def test_will_topic_of_mqtt5_connect() -> None:
    obs, _ = _run("mqtt5-pub-mosquittoprops")
    assert _one(obs, "connect")["will_topic"] == "willtopic"
    assert _one(obs, "publish")["qos"] == 1


@pytest.mark.parametrize("prefix", ["mqtt31", "mqtt311", "mqtt5"])
def test_subscribe_and_unsubscribe_topics(prefix: str) -> None:
    sub, _ = _run(f"{prefix}-sub-userpass")
    assert _one(sub, "subscribe")["topics"] == [{"topic": "topicX", "qos": 0}, {"topic": "topicY", "qos": 0}]
    unsub, _ = _run(f"{prefix}-unsub-qos2")
    assert _one(unsub, "subscribe")["topics"] == [{"topic": "topicX", "qos": 2}]
    assert [o.fields["topics"] for o in unsub if o.kind == "unsubscribe"] == [["topicX"], ["topicY"]]


@pytest.mark.parametrize(("test", "name", "code"), [
    ("mqtt-connect-rules", "mqtt5_pub_jpeg.pcap", 0),
    ("mqtt-connect-rules-2", "mqtt5_pub_jpeg_connack134.pcap", 134),
])
def test_mqtt5_connack_reason_codes_and_binary_publish(test: str, name: str, code: int) -> None:
    obs, _ = _run(test, name)
    connect = _one(obs, "connect")
    assert connect["client_id"] == "" and connect["username"] == "user" and connect["protocol_version"] == 5
    assert _one(obs, "connack")["reason_code"] == code
    assert _one(obs, "publish")["topic"] == "topicX"


def test_custom_auth_connack_code() -> None:
    obs, _ = _run("mqtt5-sub-customauth")
    assert _one(obs, "connect")["username"] is None
    assert _one(obs, "connack")["return_code"] == 140  # mqtt5-sub-customauth/test.yaml


def test_big_publishes_are_described_and_skipped_unbuffered() -> None:
    obs, errors = _run("mqtt-limit-2")
    assert errors == [] and _one(obs, "connect")["client_id"] == "P1"
    publishes = [o.fields for o in obs if o.kind == "publish"]
    # mqtt-limit-2/test.yaml: two ~100 kB PUBLISHes (qos 1 then 0), then smaller ones
    assert [(p["topic"], p["qos"], p["payload_len"]) for p in publishes[:2]] == [("foo", 1, 100000),
                                                                               ("foo", 0, 100000)]
    assert [p["topic"] for p in publishes[2:]] == ["bar", "baz"]


def test_midstream_flow_starting_with_the_server() -> None:
    obs, _ = _run("mqtt-midstream-split", "mqtt-midstream-split.pcap")
    assert [o.kind for o in obs] == ["connack", "publish"]  # mqtt-midstream-split/test.yaml
    assert obs[1].fields["topic"] == "topicX"


@pytest.mark.parametrize("test", ["mqtt-events-invalid-qos", "mqtt-events-unassigned-msgtype",
                                  "mqtt5-excessiveproplen"])
def test_malformed_packets_are_counted(test: str) -> None:
    _, errors = _run(test)
    assert len(errors) == 1 and isinstance(errors[0], ParseError)


def test_observations_per_flow_are_bounded() -> None:
    publish = b"\x30\x07\x00\x01t" + b"abcd"
    obs = feed_chunks(MqttDissector(), [(True, publish * (MAX_MESSAGES + 10))])
    assert len(obs) == MAX_MESSAGES


def test_oversized_control_packet_is_a_parse_error() -> None:
    size = MqttDissector.max_buffer + 10
    header = b"\x82" + bytes([0x80 | (size & 0x7F), 0x80 | ((size >> 7) & 0x7F), size >> 14])
    with pytest.raises(ParseError):
        MqttDissector().feed(Packet(ts=0.0, payload=b""), header + b"\x00" * size, {})


def test_publish_head_over_its_limit_is_cut() -> None:
    topic = b"t" * (MAX_PUBLISH_HEAD + 10)
    body = len(topic).to_bytes(2, "big") + topic
    n = len(body)
    packet = b"\x30" + bytes([0x80 | (n & 0x7F), n >> 7]) + body
    assert feed_chunks(MqttDissector(), [(True, packet), (True, b"\xc0\x00")]) == []


def test_probe() -> None:
    d = MqttDissector()
    assert d.probe(b"\x10\x1c\x00\x04MQTT\x04\x02\x00\x3c", True)
    assert d.probe(b"\x10\x1c\x00\x06MQIsdp\x03", True)
    assert not d.probe(b"\x10\x1c\x00\x04HTTP\x04\x02", True)
    # fuzzed (engine fuzz over a TLS capture): a 5-byte remaining length raised ParseError out of the probe
    assert not d.probe(b"\x10\xff\xff\xff\xff\x00\x04MQTT\x04", True)


@pytest.mark.parametrize("name", TCPDUMP_CAPTURES)
def test_tcpdump_captures_on_any_port_keep_the_contract(name: str) -> None:
    feed_capture_any_port(MqttDissector(), shared("pcaps", "tcpdump_tests", name))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=200)), max_size=6))
def test_fuzz_random_bytes(chunks: list[tuple[bool, bytes]]) -> None:
    feed_chunks(MqttDissector(), chunks)


def _stream(path: Path) -> bytes:
    return b"".join(p.payload for p in iter_packets(path) if p.payload and p.to_server)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8), st.integers(0, 300))
def test_fuzz_mutated_client_stream(edits: list[tuple[int, int]], cut: int) -> None:
    feed_chunks(MqttDissector(), [(True, mutate(_stream(shared(*SV, "mqtt5-pub-mosquittoprops", "input.pcap")),
                                                edits, cut))])
