"""MQTT past a lost segment (issues #3/#4): a session is read on after the capture lost bytes of it, from the
next segment that begins with a packet dissect/mqtt.plausible accepts, and payload bytes are never read as a
packet. Built sessions go through the default engine with segments left out (tests/engine/losscheck.session)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.base import Packet
from iotwarden.dissect.mqtt import MqttDissector, plausible
from iotwarden.model import Observation
from tests.engine.losscheck import gaps_among_junk, segment_count, session


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        n, b = n >> 7, n & 0x7F
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _packet(first: int, body: bytes) -> bytes:  # 3.1.1 §2.2 fixed header
    return bytes([first]) + _varint(len(body)) + body


def _s(text: str) -> bytes:  # 3.1.1 §1.5.3 UTF-8 string
    raw = text.encode()
    return len(raw).to_bytes(2, "big") + raw


CONNECT = _packet(0x10, _s("MQTT") + b"\x04\xc2\x00\x3c" + _s("sensor-7") + _s("user") + _s("pw"))
CONNACK = _packet(0x20, b"\x00\x00")
SUBSCRIBE = _packet(0x82, b"\x00\x01" + _s("cmd/sensor-7/#") + b"\x01")
SUBACK = _packet(0x90, b"\x00\x01\x01")
# a payload whose 128-byte segments (after the PUBLISH's 20-byte head) each begin with a packet look-alike: a
# PUBLISH to a topic with a wildcard, a PUBLISH followed by no fixed header, a SUBSCRIBE with PUBLISH's flags
_BLOCKS = (_packet(0x30, _s("fake/#") + b"x"), _packet(0x30, _s("fake/ok") + b"x") + b"\x00\x00",
           _packet(0x80, b"\x00\x02" + _s("fake") + b"\x00"))
DECOY = b"\x00" * 108 + b"".join(block.ljust(128, b"\x00") for block in _BLOCKS)


def _publish(i: int, payload: bytes) -> bytes:
    return _packet(0x30, _s(f"tele/sensor-7/{i}") + payload)


EXCHANGE = [(True, CONNECT), (False, CONNACK), (True, SUBSCRIBE), (False, SUBACK)] + [
    (True, _publish(i, DECOY if i % 2 else json.dumps({"t": 20 + i}).encode())) for i in range(6)] + [
    (False, _publish(99, b"on"))]


def _keys(observations: list[Observation]) -> Counter[tuple[Any, ...]]:
    return Counter((o.kind, json.dumps(o.fields, sort_keys=True)) for o in observations if o.proto == "mqtt")


def _topics(keys: Counter[tuple[Any, ...]]) -> set[str]:
    return {json.loads(f).get("topic") for kind, f in keys if kind == "publish"}


def _mqtt(lost: tuple[int, ...], segment: int | None = None) -> Counter[tuple[Any, ...]]:
    return _keys(session(EXCHANGE, 1883, lost, segment=segment))


def test_a_lost_publish_costs_that_publish_only() -> None:
    whole = _mqtt(())
    assert _topics(whole) == {f"tele/sensor-7/{i}" for i in (*range(6), 99)}
    for lost in range(4, 10):  # each PUBLISH of the client, one segment each, lost between packets
        lossy = _mqtt((lost,))
        assert not lossy - whole
        assert _topics(lossy) == _topics(whole) - {f"tele/sensor-7/{lost - 4}"}, lost


def test_a_segment_lost_in_the_middle_of_a_payload_reads_no_decoy_and_the_next_packets() -> None:
    whole = _keys(session(EXCHANGE, 1883, (), segment=128))
    # CONNECT, CONNACK, SUBSCRIBE, SUBACK and publish 0 are segments 0-4; publish 1 (decoy payload) 5-8
    for lost in (5, 6, 7):  # its head, then the middle of its payload: each next segment begins with a decoy
        lossy = _keys(session(EXCHANGE, 1883, (lost,), segment=128))
        assert not lossy - whole, lost
        assert {"tele/sensor-7/2", "tele/sensor-7/3", "tele/sensor-7/99"} <= _topics(lossy), lost
        assert not {t for t in _topics(lossy) if "fake" in (t or "")}


def test_plausible_wants_the_flags_lengths_and_topic_of_a_real_packet() -> None:
    good = _publish(1, b"{}")
    assert plausible(good, 0, 4) is True
    assert plausible(good[:3], 0, 4) is None  # not whole yet
    assert plausible(good + b"\x31", 0, 4) is True  # followed by the start of another header
    assert plausible(good + b"\x00\x00", 0, 4) is False  # followed by no fixed header (type 0)
    assert plausible(_packet(0x30, _s("a/#") + b"x"), 0, 4) is False  # a wildcard in a topic name (§4.7.1)
    assert plausible(_packet(0x30, _s("") + b"x"), 0, 4) is False  # an empty topic name (§4.7.3)
    assert plausible(_packet(0x30, _s("a\x01b") + b"x"), 0, 4) is False
    assert plausible(_packet(0x36, _s("a") + b"\x00\x01"), 0, 4) is False  # QoS 3
    assert plausible(_packet(0x80, b"\x00\x01" + _s("a") + b"\x00"), 0, 4) is False  # SUBSCRIBE flags not 0010
    assert plausible(_packet(0xC0, b"\x00"), 0, 4) is False  # PINGREQ with a body
    assert plausible(_packet(0xF0, b""), 0, 4) is False  # AUTH outside 5.0
    assert plausible(b"\x30\xff\xff\xff\xff\x01", 0, 4) is False  # remaining length of five bytes


def test_a_gap_drops_the_held_packet_and_what_was_to_skip() -> None:
    d: MqttDissector = MqttDissector()
    state: dict[str, Any] = {}
    pkt = Packet(ts=1.0, payload=b"", src_ip="10.0.0.1", dst_ip="10.0.0.2", ip_proto=6, src_port=40000,
                 dst_port=1883, to_server=True)
    big = _packet(0x30, _s("t") + b"y" * 20000)  # a big PUBLISH: its payload is skipped unbuffered
    assert [o.kind for o in d.feed(pkt, big[:9000], state)] == ["publish"]
    assert state["skip_c2s"]
    d.gap(state, True)
    assert not state.get("skip_c2s") and not state.get("c2s")
    assert d.feed(pkt, b"y" * 500, state) == []  # the rest of the payload: no packet begins there
    assert [o.fields["topic"] for o in d.feed(pkt, _publish(5, b"{}"), state)] == ["tele/sensor-7/5"]


_SEGMENTS = segment_count(EXCHANGE, 64)


@settings(max_examples=60, deadline=None)
@given(st.sets(st.integers(min_value=0, max_value=_SEGMENTS - 1), max_size=4), st.sampled_from([None, 64]))
def test_fuzz_any_segments_lost_nothing_is_read_that_the_whole_session_does_not_say(
        lost: set[int], segment: int | None) -> None:
    assert not _mqtt(tuple(lost), segment) - _mqtt((), segment)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.binary(max_size=200), st.booleans()), max_size=12))
def test_fuzz_gaps_among_arbitrary_bytes_raise_only_parse_errors_and_stay_bounded(
        chunks: list[tuple[bytes, bool]]) -> None:
    gaps_among_junk(MqttDissector(), [(data, gap, True) for data, gap in chunks], 1883)
