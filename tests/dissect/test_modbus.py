"""Modbus/TCP dissector: every request and response with its exact operation (MAP V1.1b3, MBAP)."""

from __future__ import annotations

import struct
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.base import Packet
from iotwarden.dissect.modbus import MAX_PENDING_TRANSACTIONS, PORT, ModbusDissector, parse_adu
from iotwarden.errors import ParseError
from iotwarden.model import Observation
from tests.conftest import shared
from tests.dissect.gapfeed import GAP, converse
from tests.dissect.ot_captures import contract, run, sweep_captures, sweep_id


def adu(tid: int, unit: int, pdu: bytes) -> bytes:
    return struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu


def test_suricata_verify_modbus_matches_the_published_rule_counts() -> None:
    # suricata-verify modbus/test.rules + test.yaml: a rule matches once per transaction (request)
    obs, errors = run(ModbusDissector(), shared("pcaps", "suricata_verify", "modbus", "modbus.pcap"))
    requests = [o for o in obs if o.kind == "request"]
    assert sum(o.fields["function_code"] == 1 for o in requests) == 2  # sid 1 "function 1": 2
    assert sum(o.fields["unit_id"] == 10 for o in requests) == 18  # sid 4 "unit 10": 18
    assert sum(o.fields["function_code"] == 43 for o in requests) == 2  # sid 4 with function MEI: 2
    assert sum(o.fields["function_code"] == 8 for o in requests) == 8  # sid 7 "function 8": 8
    assert sum(o.fields["is_write"] for o in requests) == 3  # sid 6 "access write": 3
    reads = {"read_coils", "read_holding_registers", "read_discrete_inputs", "read_input_registers"}
    assert sum(o.fields["function"] in reads for o in requests) == 3  # sid 3 "access read": 3
    assert len(errors) == 4  # the capture was edited to hold malformed MBAP headers


def test_requests_describe_the_master_and_name_the_write() -> None:
    obs, _ = run(ModbusDissector(), shared("pcaps", "suricata_verify", "modbus", "modbus.pcap"))
    write = next(o for o in obs if o.kind == "request" and o.fields["function_code"] == 6)
    assert write.subject == "src" and write.src_ip == "10.0.0.9" and write.dst_ip == "10.0.0.3"
    assert write.fields == {"transaction_id": 1, "unit_id": 10, "function_code": 6,
                            "function": "write_single_register", "is_write": True, "address": 5, "value": 11}


def test_a_response_carries_the_address_of_its_request() -> None:
    obs, _ = run(ModbusDissector(), shared("pcaps", "suricata_verify", "modbus", "modbus.pcap"))
    response = next(o for o in obs if o.kind == "response" and o.fields["function_code"] == 3)
    assert response.src_ip == "10.0.0.3"
    assert response.fields["byte_count"] == 4 and response.fields["address"] == 5 and response.fields["quantity"] == 2


def test_exception_responses_name_the_exception() -> None:
    obs, _ = run(ModbusDissector(), shared("pcaps", "suricata_verify", "modbus", "modbus.pcap"))
    codes = Counter(o.fields["exception"] for o in obs if o.kind == "exception")
    assert codes == {"gateway_target_device_failed_to_respond": 4, "server_device_busy": 5}


def test_ics_captures_show_their_write_function_codes() -> None:
    part1, _ = run(ModbusDissector(), shared("pcaps", "ics_iti", "pcaps", "ModbusTCP", "modbus_test_data_part1.pcap"))
    part2, _ = run(ModbusDissector(), shared("pcaps", "ics_iti", "pcaps", "ModbusTCP", "modbus_test_data_part2.pcap"))
    writes = {o.fields["function"] for o in part1 + part2 if o.kind == "request" and o.fields["is_write"]}
    assert writes == {"write_single_coil", "write_single_register", "write_multiple_coils",
                      "write_multiple_registers"}
    big, errors = run(ModbusDissector(), shared("pcaps", "ics_iti", "pcaps", "ModbusTCP", "ModbusTCP.pcap"))
    assert not errors
    assert Counter(o.fields["function_code"] for o in big if o.kind == "request") == {
        1: 1519, 2: 1574, 4: 2768, 15: 2115, 16: 14}


def test_modicon_program_download_goes_through_umas() -> None:
    obs, errors = run(ModbusDissector(), shared("pcaps", "ics_iti", "pcaps", "modicon", "modicon_test.pcap"))
    assert not errors  # Modicon sends 255-byte MBAP lengths, one over the spec's 254, accepted
    umas = Counter(o.fields["umas_function"] for o in obs if o.kind == "request")
    assert all(o.fields["function"] == "umas" for o in obs)
    assert umas["take_plc_reservation"] == 1 and umas["initialize_download"] == 1
    assert umas["download_block"] == 53 and umas["end_strategy_download"] == 1


def test_device_identification_response_is_a_fact_about_the_server() -> None:
    # MAP §6.21 example layout: MEI 14, code 1, conformity 0x01, no more, next 0, 3 objects
    objects = b"".join(bytes([i, len(v)]) + v for i, v in enumerate([b"Company identification",
                                                                      b"Product code XX", b"V2.11"]))
    kind, fields = parse_adu(adu(7, 1, bytes([43, 14, 1, 1, 0, 0, 3]) + objects), is_request=False)
    assert kind == "response"
    assert fields["vendor_name"] == "Company identification"
    assert fields["product_code"] == "Product code XX" and fields["revision"] == "V2.11"
    with pytest.raises(ParseError):
        parse_adu(adu(7, 1, bytes([43, 14, 1, 1, 0, 0, 1, 0, 40]) + b"short"), is_request=False)


def test_umas_and_diagnostics_sub_codes() -> None:
    assert parse_adu(adu(1, 0, bytes([90, 0, 0x41])), True)[1]["umas_function"] == "stop_plc"
    assert parse_adu(adu(1, 0, bytes([90, 0, 0x40])), True)[1]["umas_function"] == "start_plc"
    assert parse_adu(adu(1, 0, bytes([8, 0, 1, 0, 0])), True)[1]["sub_function"] == 1


def test_adus_are_framed_across_and_within_segments() -> None:
    d, state = ModbusDissector(), {}
    stream = adu(1, 1, bytes([6, 0, 1, 0, 3])) + adu(2, 1, bytes([5, 0, 2, 0xFF, 0]))
    assert contract(d, stream[:5], port=502, state=state) == []
    out = contract(d, stream[5:], port=502, state=state)
    assert [o.fields["function"] for o in out] == ["write_single_register", "write_single_coil"]


def test_a_desynchronised_stream_is_counted_then_recovers() -> None:
    d, state = ModbusDissector(), {}
    with pytest.raises(ParseError):
        d.feed(_pkt(), b"\x00\x01\x00\x07\x00\x06\x01\x03", state)
    out = d.feed(_pkt(), adu(3, 1, bytes([3, 0, 0, 0, 1])), state)
    assert out[0].fields["function"] == "read_holding_registers"


def test_good_adus_are_kept_when_a_malformed_one_shares_their_segment() -> None:
    out = ModbusDissector().feed(_pkt(), adu(1, 1, bytes([16, 0, 1])) + adu(2, 1, bytes([6, 0, 1, 0, 1])), {})
    assert [o.fields["function"] for o in out] == ["write_single_register"]


def test_pending_transactions_are_bounded() -> None:
    d, state = ModbusDissector(), {}
    for tid in range(MAX_PENDING_TRANSACTIONS + 10):
        d.feed(_pkt(), adu(tid, 1, bytes([3, 0, tid & 0xFF, 0, 1])), state)
    assert len(state["pending"]) == MAX_PENDING_TRANSACTIONS
    assert 0 not in state["pending"] and MAX_PENDING_TRANSACTIONS + 9 in state["pending"]


def _ranges(out: list[Observation]) -> list[tuple[str, int | None, int | None]]:
    return [(o.fields["function"], o.fields.get("address"), o.fields.get("quantity"))
            for o in out if o.kind in ("response", "exception")]


def test_a_constant_transaction_id_pairs_pipelined_requests_in_order() -> None:
    # a poller that sends every request with transaction id 0, two before the first answer: before, the second
    # request replaced the first, so the first answer took the second's register range (or, a write's answer, took
    # the read and left the read's answer without one)
    reads = adu(0, 1, bytes([3, 0, 100, 0, 2])) + adu(0, 1, bytes([3, 0, 200, 0, 4]))
    out = converse(ModbusDissector(), [(True, reads), (False, adu(0, 1, bytes([3, 4]) + bytes(4))),
                                       (False, adu(0, 1, bytes([3, 8]) + bytes(8)))], None, PORT)
    assert _ranges(out) == [("read_holding_registers", 100, 2), ("read_holding_registers", 200, 4)]
    mixed = adu(0, 1, bytes([16, 0, 10, 0, 1, 2, 0, 7])) + adu(0, 1, bytes([3, 1, 44, 0, 1]))
    out = converse(ModbusDissector(), [(True, mixed), (False, adu(0, 1, bytes([16, 0, 10, 0, 1]))),
                                       (False, adu(0, 1, bytes([0x83, 2])))], None, PORT)
    assert _ranges(out) == [("write_multiple_registers", 10, 1), ("read_holding_registers", 300, 1)]


def test_a_request_its_poller_gave_up_on_shifts_no_later_answer_of_a_constant_transaction_id() -> None:
    # a poller that waits for each answer, transaction id 0 always: its read of 100 went unanswered and it read 200
    # past its 1 s response timeout. At d5b36dc the 200 read's answer (8 bytes) took 100 x2, and every later answer
    # the range of the read before its own; before d5b36dc the newest request replaced the unanswered one
    d, state, out = ModbusDissector(), dict[str, Any](), list[Observation]()
    seq = {True: 1000, False: 5000}

    def send(ts: float, to_server: bool, data: bytes) -> None:
        src, dst = (("10.0.0.1", 50000), ("10.0.0.2", PORT))[:: 1 if to_server else -1]
        out.extend(d.feed(Packet(ts=ts, payload=data, src_ip=src[0], src_port=src[1], dst_ip=dst[0],
                                 dst_port=dst[1], ip_proto=6, to_server=to_server, tcp_seq=seq[to_server],
                                 tcp_ack=seq[not to_server]), data, state))
        seq[to_server] += len(data)

    send(0.0, True, adu(0, 1, bytes([3, 0, 100, 0, 2])))
    send(1.0, True, adu(0, 1, bytes([3, 0, 200, 0, 4])))
    send(1.02, False, adu(0, 1, bytes([3, 8]) + bytes(8)))
    send(2.0, True, adu(0, 1, bytes([3, 1, 44, 0, 1])))
    send(2.02, False, adu(0, 1, bytes([3, 2, 0, 9])))
    assert _ranges(out) == [("read_holding_registers", 200, 4), ("read_holding_registers", 300, 1)]


def test_an_answer_lost_in_a_hole_shifts_no_later_answer_of_a_constant_transaction_id() -> None:
    out = converse(ModbusDissector(), [
        (True, adu(0, 1, bytes([3, 0, 100, 0, 2]))), (False, GAP),
        (True, adu(0, 1, bytes([3, 0, 200, 0, 4]))), (False, adu(0, 1, bytes([3, 8]) + bytes(8))),
        (True, adu(0, 1, bytes([3, 1, 44, 0, 1]))), (False, adu(0, 1, bytes([3, 2, 0, 9]))),
    ], None, PORT)
    assert _ranges(out) == [("read_holding_registers", 200, 4), ("read_holding_registers", 300, 1)]


def test_an_unreadable_answer_still_answers_its_request() -> None:
    out = converse(ModbusDissector(), [
        (True, adu(0, 1, bytes([6, 0, 5, 0, 1]))), (False, adu(0, 1, bytes([6, 0]))),  # cut short: a ParseError
        (True, adu(0, 1, bytes([3, 0, 100, 0, 2]))), (False, adu(0, 1, bytes([3, 4]) + bytes(4))),
    ], None, PORT)
    assert _ranges(out) == [("read_holding_registers", 100, 2)]


def test_probe_recognises_mbap_on_other_ports() -> None:
    d = ModbusDissector()
    assert d.probe(adu(1, 1, bytes([3, 0, 0, 0, 1])), True)
    assert not d.probe(b"GET / HTTP/1.1\r\n\r\n", True)
    assert not d.probe(b"\x00\x01\x00\x00\x00", True)


def test_the_probe_wants_whole_frames_end_to_end() -> None:
    d = ModbusDissector()
    two = adu(1, 1, bytes([3, 0, 0, 0, 1])) + adu(2, 1, bytes([6, 0, 1, 0, 9]))
    assert d.probe(two, True)
    assert not d.probe(two[:-1], True)  # a frame cut short: more bytes come with the next call
    # MELSOFT (ics_iti MELSEC/melsoft_variant_clean.pcap, tcp/5562): two zero bytes, then a length that
    # fits and a byte read as function 7, then the rest of a much longer message
    melsoft = bytes.fromhex("57000000001111070000ffff0300000000000034001c0216140000000000000000000000000000")
    assert not d.probe(melsoft, True)


@pytest.mark.parametrize("dcid_len", [0, 1, 4])
def test_a_quic_long_header_is_no_mbap_for_the_probe(dcid_len: int) -> None:
    # RFC 9000 §17.2: form bit, version 1, DCID length, DCID...: read as MBAP, protocol id 0 and a length
    # of 0x01xx (256-260 with a short DCID), within what the port's own reader tolerates but over UMAS's 255
    quic = bytes([0xC3, 0, 0, 0, 1, dcid_len]) + bytes([3] * dcid_len) + bytes(1200)
    assert not ModbusDissector().probe(quic, True)
    assert ModbusDissector().probe(adu(1, 1, bytes([0x5A]) + bytes(253)), True)  # a 255-byte UMAS message


def _pkt() -> Packet:
    return Packet(ts=0.0, payload=b"", src_port=40000, dst_port=502, ip_proto=6, to_server=True)


@pytest.mark.parametrize("path", sweep_captures(), ids=sweep_id)
def test_every_capture_yields_observations_or_counted_errors(path: Path) -> None:
    obs, _ = run(ModbusDissector(), path)
    assert all(o.proto == "modbus" for o in obs)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.booleans())
def test_fuzz_contract(data: bytes, to_server: bool) -> None:
    contract(ModbusDissector(), data, to_server=to_server, port=502)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 255), st.binary(max_size=250))
def test_fuzz_well_framed_pdus(fc: int, body: bytes) -> None:
    contract(ModbusDissector(), adu(1, 1, bytes([fc]) + body), port=502)
    contract(ModbusDissector(), adu(1, 1, bytes([fc]) + body), to_server=False, port=502)
