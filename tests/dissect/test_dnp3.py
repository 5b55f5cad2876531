"""DNP3 dissector: link frames with CRCs, transport reassembly, application functions (IEEE 1815)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.base import Packet
from iotwarden.dissect.dnp3 import MAX_FRAGMENT, Dnp3Dissector, crc16, parse_application
from iotwarden.errors import ParseError
from tests.conftest import shared
from tests.dissect.ot_captures import contract, run, sweep_captures, sweep_id

SV = ("pcaps", "suricata_verify", "dnp3")


def frame(user: bytes, dst: int = 10, src: int = 1, control: int = 0xC4) -> bytes:
    """A link frame with CRCs: header, then user data in 16-octet blocks (§9.2.4.1)."""
    head = bytes([0x05, 0x64, 5 + len(user), control]) + dst.to_bytes(2, "little") + src.to_bytes(2, "little")
    out = head + crc16(head).to_bytes(2, "little")
    for i in range(0, len(user), 16):
        block = user[i : i + 16]
        out += block + crc16(block).to_bytes(2, "little")
    return out


def app_obs(path: Path) -> list:
    obs, _ = run(Dnp3Dissector(), path)
    return [o for o in obs if o.kind != "link"]


def test_suricata_dnp3_eve_application_messages() -> None:
    obs = app_obs(shared(*SV, "dnp3-eve", "input.pcap"))
    # test.yaml: 55 dnp3 events; Suricata does not log application confirms (function 0), we do
    assert len(obs) - sum(o.fields["function"] == "confirm" for o in obs) == 55
    first = obs[0]
    assert first.kind == "request" and first.fields["function_code"] == 21 and first.fields["src"] == 1
    assert first.fields["dst"] == 10 and first.fields["sequence"] == 0
    assert [(o["group"], o["variation"], o["qualifier"]) for o in first.fields["objects"]] == [
        (60, 2, 6), (60, 3, 6), (60, 4, 6)]
    unsolicited = obs[1]
    assert unsolicited.kind == "unsolicited" and unsolicited.fields["function_code"] == 130
    assert unsolicited.fields["iin_flags"] == ["device_restart"] and unsolicited.fields["iin"] == 0x8000
    assert unsolicited.fields["confirm"] and unsolicited.fields["src"] == 10
    write = next(o for o in obs if o.fields["function"] == "write")
    assert write.fields["objects"] == [{"group": 80, "variation": 1, "qualifier": 0, "prefix_code": 0,
                                        "range_code": 0, "start": 7, "stop": 7}]
    # dnp3-dnp3_func-alert: function 21 once, to the server; dnp3_obj-alert: 22,01 in 4 messages
    assert [o.kind for o in obs if o.fields["function_code"] == 21] == ["request"]
    assert sum(any((x["group"], x["variation"]) == (22, 1) for x in o.fields["objects"]) for o in obs) == 4


@pytest.mark.parametrize(("test", "request_fc", "group_variation"), [
    ("dnp3-del-measure", 23, (52, 2)),  # response carries the time delay object
    ("dnp3-write", 2, (50, 1)),
    ("dnp3-file-del", 27, (70, 3)),
    ("dnp3-en-spon", 20, (60, 2)),
    ("dnp3-select-operate", 3, (12, 1)),
])
def test_suricata_published_request_and_response(test: str, request_fc: int, group_variation: tuple) -> None:
    obs = app_obs(shared(*SV, test, "input.pcap"))
    request, response = obs[0], obs[1]
    assert request.kind == "request" and request.fields["function_code"] == request_fc
    assert (request.fields["src"], request.fields["dst"]) in {(3, 2), (3, 4)}
    assert response.kind == "response" and response.fields["function_code"] == 129
    assert response.src_ip == "130.126.140.229" and request.src_ip == "130.126.142.250"
    pairs = [(o["group"], o["variation"]) for o in request.fields["objects"] + response.fields["objects"]]
    assert group_variation in pairs


def test_select_operate_crob_with_index_prefix() -> None:
    obs = app_obs(shared(*SV, "dnp3-select-operate", "input.pcap"))
    assert [o.fields["function"] for o in obs] == ["select", "response", "operate", "response"]
    assert obs[2].fields["objects"][0] == {"group": 12, "variation": 1, "qualifier": 40, "prefix_code": 2,
                                           "range_code": 8, "count": 1}


def test_file_transfer_functions() -> None:
    obs = app_obs(shared(*SV, "dnp3-file-read", "input.pcap"))
    assert [o.fields["function_code"] for o in obs if o.kind == "request"] == [25, 1, 0, 2, 2, 26]
    assert obs[2].fields["objects"][0]["group"] == 70 and obs[2].fields["objects"][0]["variation"] == 5


def test_suricata_flood_and_reassembly_limits() -> None:
    flood = app_obs(shared(*SV, "dnp3-flood", "input.pcap"))
    assert sum(o.kind == "request" for o in flood) == 33  # test.yaml: 33 requests
    for test in ("dnp3-too-long-reassembly-request", "dnp3-too-long-reassembly-response"):
        obs, errors = run(Dnp3Dissector(), shared(*SV, test, "input.pcap"))
        assert not [o for o in obs if o.kind != "link"]
        assert [str(e) for e in errors] == [f"DNP3 application fragment over {MAX_FRAGMENT} bytes"]


@pytest.mark.parametrize(("name", "function"), [
    ("cold_restart_and_response.pcap", "cold_restart"), ("warm_restart_and_response.pcap", "warm_restart"),
    ("directoperate_and_response.pcap", "direct_operate"), ("direct_operate_no_ack_crob.pcap", "direct_operate_nr"),
    ("disable_unsolcited_and_response.pcap", "disable_unsolicited"), ("file_delete.pcap", "delete_file"),
    ("immediate_freeze.pcap", "immediate_freeze"), ("assign_class.pcap", "assign_class"),
    ("write_binary_output.pcap", "write"), ("auth_change_session_keys.pcap", "authenticate_req"),
    ("lan_time_sync.pcap", "record_current_time"),
])
def test_ics_captures_show_the_function_their_name_promises(name: str, function: str) -> None:
    obs = app_obs(shared("pcaps", "ics_iti", "pcaps", "dnp3", name))
    assert function in {o.fields["function"] for o in obs if o.kind == "request"}


def test_openics_captures() -> None:
    ics = ("pcaps", "ics_iti", "pcaps", "openics")
    assert {o.fields["function"] for o in app_obs(shared(*ics, "DNP3-Write.pcap"))} == {"write"}
    assert [o.fields["function"] for o in app_obs(shared(*ics, "DNP3-SelectOperate.pcap"))] == ["select", "operate"]
    stops = Counter(o.fields["function"] for o in app_obs(shared(*ics, "DNP3-TestDataPart1.pcap")))
    assert stops["stop_application"] == 4 and stops["cold_restart"] == 2 and stops["warm_restart"] == 2
    # "DNP3-WriteRequest" only holds a link status request answered by a malformed (length 0) frame
    obs, errors = run(Dnp3Dissector(), shared(*ics, "DNP3-WriteRequest.pcap"))
    assert [(o.kind, o.fields["link_function"]) for o in obs] == [("link", "request_link_status")]
    assert len(errors) == 1
    # a format-string payload with good CRCs: the operate is still seen, its objects flagged
    malformed = app_obs(shared(*ics, "DNP3-Malformed.pcap"))
    assert {o.fields["function"] for o in malformed} == {"operate"}


def test_link_only_frames() -> None:
    obs, _ = run(Dnp3Dissector(), shared("pcaps", "ics_iti", "pcaps", "bro", "dnp3", "dnp3_link_only.pcap"))
    assert sum(o.kind == "link" for o in obs) == 6


def test_bad_crc_is_a_parse_error_and_the_next_frame_is_read() -> None:
    good = frame(bytes([0xC0, 0xC0, 0x0D]))  # transport FIN|FIR, app FIR|FIN, cold restart
    bad = bytearray(good)
    bad[-3] ^= 0xFF
    d = Dnp3Dissector()
    with pytest.raises(ParseError, match="CRC"):
        d.feed(_pkt(), bytes(bad), {})
    out = d.feed(_pkt(), b"\x00junk" + good, {})
    assert [o.fields["function"] for o in out] == ["cold_restart"]


def test_transport_segments_are_reassembled_in_sequence() -> None:
    apdu = bytes([0xC3, 0x02]) + bytes([50, 1, 0x07, 1]) + bytes(6)  # write g50v1, count 1
    d, state = Dnp3Dissector(), {}
    assert d.feed(_pkt(), frame(bytes([0x40 | 5]) + apdu[:6]), state) == []
    out = d.feed(_pkt(), frame(bytes([0x80 | 6]) + apdu[6:]), state)
    assert out[0].fields["function"] == "write" and out[0].fields["objects"][0]["group"] == 50
    with pytest.raises(ParseError, match="sequence"):
        d.feed(_pkt(), frame(bytes([0x40 | 1]) + apdu[:6]) + frame(bytes([0x80 | 9]) + apdu[6:]), state)


def test_object_list_is_bounded() -> None:
    body = bytes([0xC0, 0x01]) + bytes([60, 1, 0x06]) * 50
    _, fields = parse_application(body)
    assert len(fields["objects"]) == 32 and fields["objects_truncated"]


def test_udp_datagrams_carry_whole_frames() -> None:
    out = contract(Dnp3Dissector(), frame(bytes([0xC0, 0xC0, 0x0E])), ip_proto=17, port=20000)
    assert out[0].fields["function"] == "warm_restart"


def test_probe() -> None:
    assert Dnp3Dissector().probe(frame(b""), True)
    assert not Dnp3Dissector().probe(b"\x05\x64\x05\xc9\x00\x00\x00\x00\x00\x00", True)


def _pkt() -> Packet:
    return Packet(ts=0.0, payload=b"", src_port=40000, dst_port=20000, ip_proto=6, to_server=True)


@pytest.mark.parametrize("path", sweep_captures(), ids=sweep_id)
def test_every_capture_yields_observations_or_counted_errors(path: Path) -> None:
    obs, _ = run(Dnp3Dissector(), path)
    assert all(o.proto == "dnp3" for o in obs)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.booleans())
def test_fuzz_contract(data: bytes, udp: bool) -> None:
    contract(Dnp3Dissector(), data, ip_proto=17 if udp else 6, port=20000)


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=249))
def test_fuzz_behind_valid_crcs(user: bytes) -> None:
    contract(Dnp3Dissector(), frame(user), port=20000)
