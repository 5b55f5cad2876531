"""SNMP dissector pinned to the suricata-verify snmp-* captures, plus limits and hostile input."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.base import Packet
from iotwarden.dissect.snmp import MAX_VARBINDS, SnmpDissector, parse_message
from iotwarden.errors import ParseError
from iotwarden.model import Observation
from tests.conftest import shared
from tests.dissect.hostile import TCPDUMP_CAPTURES, contract_call, feed_capture_any_port, mutate
from tests.pcaputil import iter_packets, run_dissector

SV = ("pcaps", "suricata_verify")


def _run(path: Path) -> tuple[list[Observation], list[Exception]]:
    errors: list[Exception] = []
    return run_dissector(SnmpDissector(), path, errors=errors), errors


def test_v2c_get_requests() -> None:
    obs, errors = _run(shared(*SV, "snmp-v2c-get", "SNMPv2c_get_requests.pcap"))
    assert errors == [] and len(obs) == 8  # snmp-v2c-get/test.yaml: 8 v2 events
    assert {o.fields["version"] for o in obs} == {"2c"}
    assert {o.fields["community"] for o in obs} == {"[R0_C@cti!]"}  # snmp-community: 8 matches
    gets = [o for o in obs if o.kind == "get"]
    (getnext,) = [o for o in obs if o.kind == "getnext"]
    assert len(gets) == 3 and [v["oid"] for v in getnext.fields["varbinds"]] == ["0.1"]
    response = next(o for o in obs if o.kind == "response" and o.fields["request_id"] == 555232471)
    assert response.fields["varbinds"] == [{"oid": "1.3.6.1.2.1.1.3.0", "type": "timeticks", "value": 76705700}]
    assert gets[0].src_ip == "10.144.246.184" and gets[0].subject == "src"


def test_v3_with_encrypted_pdus() -> None:
    obs, errors = _run(shared(*SV, "snmp-v3-encrypted", "SNMPv3.pcap"))
    kinds = [o.kind for o in obs]
    # snmp-v3-encrypted/test.yaml: 8 v3 events, 2 get_request, 4 encrypted
    assert errors == [] and len(obs) == 8 and {o.fields["version"] for o in obs} == {"3"}
    assert kinds.count("get") == 2 and kinds.count("encrypted") == 4
    assert {o.fields["msg_user_name"] for o in obs} == {"admin"}
    assert obs[1].fields["engine_id"] == "000039e7000000a1c0a81da0"


def test_v3_unauthenticated_getbulk() -> None:
    obs, errors = _run(shared(*SV, "snmp-v3-unauth", "snmp-v3-get-bulk-unauth.pcap"))
    kinds = [o.kind for o in obs]
    assert errors == [] and len(obs) == 8  # snmp-v3-unauth/test.yaml
    assert kinds.count("get") == 3 and kinds.count("getbulk") == 1
    bulk = next(o.fields for o in obs if o.kind == "getbulk")
    assert bulk["msg_user_name"] == "noAuthUser" and bulk["max_repetitions"] == 10 and bulk["security_model"] == 3


def test_v1_traps_including_a_long_form_pdu_tag() -> None:
    path = shared(*SV, "firewall", "ruletype-firewall-54-snmp-v1-trap",
                  "public-wiresharkwiki-c06-snmpv1-trap-app-r1-1-12.pcap")
    obs, errors = _run(path)
    # snmp-trap-oid/test.yaml: 7 traps with this trap_oid and trap_address; the other 5 are malformed
    assert len(obs) == 7 and len(errors) == 5
    assert {o.fields["trap_oid"] for o in obs} == {"1.3.6.1.4.1.4.1.2.21"}
    assert {o.fields["agent_addr"] for o in obs} == {"127.0.0.1"}
    assert set(range(6)) <= {o.fields["generic_trap"] for o in obs}  # RFC 1157 §4.1.6 generic traps 0-5


def test_system_group_values_are_promoted_from_responses() -> None:
    def tlv(tag: int, value: bytes) -> bytes:
        return bytes([tag, len(value)]) + value

    def vb(oid: bytes, value: bytes) -> bytes:
        return tlv(0x30, tlv(0x06, oid) + value)

    varbinds = (vb(bytes.fromhex("2b06010201010100"), tlv(0x04, b"Linux cam 4.9"))
                + vb(bytes.fromhex("2b06010201010200"), tlv(0x06, bytes.fromhex("2b0601040181e621")))
                + vb(bytes.fromhex("2b06010201010500"), tlv(0x04, b"cam-01")))
    pdu = tlv(0xA2, tlv(0x02, b"\x07") + tlv(0x02, b"\x00") + tlv(0x02, b"\x00") + tlv(0x30, varbinds))
    f = parse_message(tlv(0x30, tlv(0x02, b"\x01") + tlv(0x04, b"public") + pdu))
    assert (f["sys_descr"], f["sys_object_id"], f["sys_name"]) == ("Linux cam 4.9", "1.3.6.1.4.1.29473", "cam-01")


@pytest.mark.parametrize(("pdu_tag", "promoted"), [(0xA2, True), (0xA0, False)])  # a response; a get's NULLs
def test_ups_mib_identity_is_promoted_from_responses_only(pdu_tag: int, promoted: bool) -> None:
    def tlv(tag: int, value: bytes) -> bytes:
        return bytes([tag, len(value)]) + value

    def vb(oid: bytes, value: bytes) -> bytes:
        return tlv(0x30, tlv(0x06, oid) + value)

    # UPS-MIB (RFC 1628) upsIdentManufacturer.0 and upsIdentModel.0 as Tripp Lite's agent answers them (Observium
    # and LibreNMS poweralert pollers' snmpwalk comments)
    answer = pdu_tag == 0xA2
    varbinds = (vb(bytes.fromhex("2b0601020121010101" "00"), tlv(0x04, b"TRIPP LITE") if answer else b"\x05\x00")
                + vb(bytes.fromhex("2b0601020121010102" "00"),
                     tlv(0x04, b"TRIPP LITE PDUMH20HVATNET") if answer else b"\x05\x00"))
    pdu = tlv(pdu_tag, tlv(0x02, b"\x07") + tlv(0x02, b"\x00") + tlv(0x02, b"\x00") + tlv(0x30, varbinds))
    f = parse_message(tlv(0x30, tlv(0x02, b"\x01") + tlv(0x04, b"public") + pdu))
    if promoted:
        assert (f["ups_ident_manufacturer"], f["ups_ident_model"]) == ("TRIPP LITE", "TRIPP LITE PDUMH20HVATNET")
    else:
        assert "ups_ident_model" not in f and "ups_ident_manufacturer" not in f


def test_varbind_list_is_bounded() -> None:
    one = bytes.fromhex("300c06082b060102010101000500")
    many = one * (MAX_VARBINDS + 5)
    body = bytes.fromhex("020101") + bytes.fromhex("020100") + bytes.fromhex("020100") + b"\x30\x82" + len(
        many).to_bytes(2, "big") + many
    pdu = b"\xa0\x82" + len(body).to_bytes(2, "big") + body
    msg = bytes.fromhex("020101") + bytes.fromhex("0406") + b"public" + pdu
    f = parse_message(b"\x30\x82" + len(msg).to_bytes(2, "big") + msg)
    assert len(f["varbinds"]) == MAX_VARBINDS


@pytest.mark.parametrize("name", ["snmp-heapoverflow-1.pcap", "snmp-heapoverflow-2.pcap",
                                  "ip-snmp-leftshift-unsigned.pcap", "ip6-snmp-oid-unsigned.pcap"])
def test_tcpdump_malformed_snmp_is_counted(name: str) -> None:
    obs, errors = _run(shared("pcaps", "tcpdump_tests", name))
    assert obs == [] and len(errors) == 1 and isinstance(errors[0], ParseError)


def test_probe() -> None:
    d = SnmpDissector()
    assert d.probe(bytes.fromhex("302602010104067075626c6963a119020403b0e5a3020100020100300b300906052b060102010500"),
                   True)
    assert not d.probe(b"\x30\x03\x02\x01\x07", True) and not d.probe(b"GET /", True)


@pytest.mark.parametrize("name", TCPDUMP_CAPTURES)
def test_tcpdump_captures_on_any_port_keep_the_contract(name: str) -> None:
    feed_capture_any_port(SnmpDissector(), shared("pcaps", "tcpdump_tests", name))


def _one(payload: bytes) -> None:
    contract_call(SnmpDissector(), Packet(ts=0.0, payload=payload, ip_proto=17), {})


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_random_bytes(data: bytes) -> None:
    _one(b"\x30" + data)


def _messages() -> list[bytes]:
    path = shared(*SV, "snmp-v3-unauth", "snmp-v3-get-bulk-unauth.pcap")
    v2 = shared(*SV, "snmp-v2c-get", "SNMPv2c_get_requests.pcap")
    return [p.payload for p in [*iter_packets(path), *iter_packets(v2)] if p.payload]


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 15), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6),
       st.integers(0, 300))
def test_fuzz_mutated_messages(which: int, edits: list[tuple[int, int]], cut: int) -> None:
    messages = _messages()
    _one(mutate(messages[which % len(messages)], edits, cut))
