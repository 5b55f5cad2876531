"""WSC (WPS) device information from the elements of 802.11 Probe and (Re)Association Requests."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.base import Packet
from iotwarden.dissect.wps import MAX_ATTRIBUTES, MAX_ELEMENTS, WpsDissector, parse_wsc, wsc_body
from iotwarden.errors import ParseError


def attr(atype: int, value: bytes) -> bytes:
    return struct.pack(">HH", atype, len(value)) + value


def element(eid: int, body: bytes) -> bytes:
    return bytes([eid, len(body)]) + body


def wsc(attrs: bytes) -> bytes:
    return element(221, b"\x00\x50\xf2\x04" + attrs)


SSID = element(0, b"")
RATES = element(1, b"\x82\x84\x8b\x96")
CANON = (attr(0x104A, b"\x10") + attr(0x1021, b"Canon") + attr(0x1023, b"TS5300 series") + attr(0x1024, b"TS5350")
         + attr(0x1011, b"Canon TS5300 series\x00") + attr(0x1054, bytes.fromhex("0003 0050F204 0005")))


def _dissect(elements: bytes) -> list[dict[str, object]]:
    pkt = Packet(ts=1.0, payload=elements, src_mac="02:00:00:00:00:07", dst_mac="ff:ff:ff:ff:ff:ff")
    return [o.fields for o in WpsDissector().dissect(pkt, {})]


def test_a_probe_request_states_maker_model_name_and_type() -> None:
    obs = WpsDissector().dissect(Packet(ts=1.0, payload=SSID + RATES + wsc(CANON) + element(127, b"\x00" * 8),
                                        src_mac="02:00:00:00:00:07"), {})
    assert [(o.proto, o.kind, o.src_mac, o.subject) for o in obs] == [
        ("wps", "device_info", "02:00:00:00:00:07", "src")]
    assert obs[0].fields == {"manufacturer": "Canon", "model_name": "TS5300 series", "model_number": "TS5350",
                             "device_name": "Canon TS5300 series", "primary_device_type": "3-0050F204-5"}


def test_each_observation_names_the_request_that_carried_it() -> None:
    """The consumers weigh a probe request (any station in range sends one) apart from an association."""
    def frame(subtype: int | None, payload: bytes = SSID + wsc(CANON)) -> list[object]:
        pkt = Packet(ts=1.0, payload=payload, src_mac="02:00:00:00:00:07", wlan_subtype=subtype)
        return [o.fields.get("frame") for o in WpsDissector().dissect(pkt, {})]

    assert [frame(s) for s in (4, 0, 2)] == [["probe_request"], ["association_request"], ["reassociation_request"]]
    assert frame(None) == [None] and frame(8) == [None]  # no subtype told, or one not declared: no frame field
    assert frame(4, SSID + RATES) == []  # still nothing without a WSC element


def test_a_wsc_element_split_in_two_is_read_as_one() -> None:
    """WSC v2.0.x §8.2: a WSC element over 251 octets continues in the next; the bodies concatenate."""
    cut = 9  # inside the Manufacturer attribute
    assert _dissect(SSID + wsc(CANON[:cut]) + RATES + wsc(CANON[cut:])) == _dissect(SSID + wsc(CANON))


def test_frames_without_wsc_or_with_blank_values_say_nothing() -> None:
    p2p = element(221, b"\x50\x6f\x9a\x09" + b"\x02\x02\x00\x25\x00")  # Wi-Fi Direct element, not WSC
    assert _dissect(SSID + RATES + p2p) == []
    assert _dissect(b"") == []
    # wpa_supplicant writes one space for an unset string (src/wps/wps_dev_attr.c)
    assert _dissect(wsc(attr(0x1021, b" ") + attr(0x1023, b" ") + attr(0x1054, b"\x00" * 7))) == []


def test_a_damaged_element_list_keeps_what_came_before() -> None:
    assert _dissect(SSID + wsc(CANON) + b"\xdd\xff\x00\x50")[0]["manufacturer"] == "Canon"
    assert wsc_body(SSID + b"\xdd\xff\x00\x50\xf2\x04" + CANON) is None  # its length runs past the frame


def test_an_attribute_running_past_its_element_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="0x1021 runs past"):
        parse_wsc(attr(0x1021, b"Canon")[:-2])
    with pytest.raises(ParseError, match="attribute header"):
        parse_wsc(CANON + b"\x10")


def test_text_keeps_at_most_the_spec_length_and_never_fails_on_bad_utf8() -> None:
    fields = parse_wsc(attr(0x1021, b"M" * 200) + attr(0x1023, b"\xff\xfeModel"))
    assert fields["manufacturer"] == "M" * 64
    assert fields["model_name"] == "\\xff\\xfeModel"


def test_limits_on_elements_and_attributes_are_kept() -> None:
    padding = element(1, b"\x82") * MAX_ELEMENTS
    assert wsc_body(padding + wsc(CANON)) is None  # past MAX_ELEMENTS nothing more is walked
    assert wsc_body(element(1, b"\x82") * (MAX_ELEMENTS - 1) + wsc(CANON)) is not None
    many = attr(0x104A, b"\x10") * MAX_ATTRIBUTES + attr(0x1021, b"Late")
    assert "manufacturer" not in parse_wsc(many)
    assert parse_wsc(attr(0x104A, b"\x10") * (MAX_ATTRIBUTES - 1) + attr(0x1021, b"Late")) == {"manufacturer": "Late"}


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.integers(0, 300), st.lists(st.tuples(st.integers(0, 300), st.integers(0, 255)),
                                                              max_size=6))
def test_fuzz_elements_give_fields_or_a_parse_error(noise: bytes, cut: int, flips: list[tuple[int, int]]) -> None:
    frame = bytearray(SSID + RATES + wsc(CANON) + noise)
    for at, value in flips:
        if at < len(frame):
            frame[at] = value
    for payload in (bytes(frame[:cut]), noise, b"\xdd" + noise):
        try:
            out = _dissect(payload)
        except ParseError:
            continue
        assert all(isinstance(v, str) for fields in out for v in fields.values())
