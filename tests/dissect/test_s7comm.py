"""S7comm dissector: TPKT/COTP framing, jobs that change the PLC, and the PLC identity from SZL reads."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.base import Packet
from iotwarden.dissect.s7comm import MAX_S7_PDU, S7commDissector, parse_cotp_cr
from iotwarden.errors import ParseError
from tests.conftest import shared
from tests.dissect.ot_captures import contract, run, sweep_captures, sweep_id

S7 = ("pcaps", "ics_iti", "pcaps", "s7")


def jobs(name: str) -> Counter[tuple[str, str]]:
    obs, _ = run(S7commDissector(), shared(*S7, name))
    return Counter((o.kind, o.fields.get("function", "")) for o in obs)


def tpkt(cotp_payload: bytes, eot: bool = True) -> bytes:
    body = bytes([2, 0xF0, 0x80 if eot else 0x00]) + cotp_payload
    return bytes([3, 0]) + (4 + len(body)).to_bytes(2, "big") + body


def test_block_download_and_activation() -> None:
    obs, errors = run(S7commDissector(), shared(*S7, "step7_s300_download.pcapng"))
    assert not errors
    job = [o.fields for o in obs if o.kind == "job"]
    assert [f["function"] for f in job] == ["request_download", "download_block", "download_ended", "plc_control"]
    assert job[0]["filename"] == "_0A00001P" and job[0]["block_type"] == "DB" and job[0]["block_number"] == 1
    assert job[3]["pi_service"] == "_INSE" and job[3]["block_type"] == "DB"


def test_stop_start_and_copy_ram_to_rom() -> None:
    stop, _ = run(S7commDissector(), shared(*S7, "snap7_s300_stop.pcapng"))
    assert [(o.kind, o.fields.get("pi_service")) for o in stop] == [("job", "P_PROGRAM"), ("ack_data", None)]
    assert stop[0].fields["function"] == "plc_stop"
    everything, _ = run(S7commDissector(), shared(*S7, "snap7_s300_everything.pcapng"))
    services = [o.fields.get("pi_service") for o in everything if o.fields.get("function") == "plc_control"
                and o.kind == "job"]
    assert "P_PROGRAM" in services and "_MODU" in services  # start (hot/cold) and copy RAM to ROM
    copy, _ = run(S7commDissector(), shared(*S7, "step7_s300_copyRamToRom.pcapng"))
    assert copy[0].fields["pi_service"] == "_MODU"


def test_the_plc_announces_its_stop() -> None:
    obs, _ = run(S7commDissector(), shared(*S7, "step7_s300_stop.pcapng"))
    push = [o.fields for o in obs if o.fields.get("function_group") == "mode_transition"]
    assert push == [{"rosctr": "userdata", "pdu_ref": 0, "function_group": "mode_transition", "ud_type": "push",
                     "cpu_mode_code": 0, "cpu_mode": "stop"}]


@pytest.mark.parametrize(("name", "expected"), [
    ("s7comm_varservice_libnodavedemo.pcap", {("job", "read_var"): 3, ("job", "write_var"): 4}),
    ("snap7_s300_setupCommunication.pcapng", {("setup", "setup_communication"): 2}),
    ("tia_s300_downloadOb1.pcapng", {("job", "request_download"): 1, ("job", "download_block"): 2}),
    ("snap7_s300_everything.pcapng", {("job", "start_upload"): 5, ("job", "upload"): 4, ("job", "end_upload"): 4}),
])
def test_captures_show_their_job_types(name: str, expected: dict[tuple[str, str], int]) -> None:
    seen = jobs(name)
    assert {k: seen[k] for k in expected} == expected


def test_szl_reads_identify_the_plc() -> None:
    obs, _ = run(S7commDissector(), shared(*S7, "tia_s300_goOnline.pcapng"))
    identity: dict[str, str] = {}
    for o in obs:
        identity.update({k: v for k, v in o.fields.items() if k in (
            "order_number", "firmware_version", "plc_name", "module_type_name", "serial_number", "module_name")})
    assert identity == {"order_number": "6ES7 315-2EH14-0AB0", "firmware_version": "V3.2.7",
                        "plc_name": "S7300/ET200M station_1", "module_type_name": "CPU 315-2 PN/DP",
                        "serial_number": "S C-B1U393142011", "module_name": "PLC_1"}
    requests = {o.fields["szl_id"] for o in obs if o.fields.get("ud_type") == "request" and "szl_id" in o.fields}
    assert {0x0011, 0x001C, 0x0424} <= requests
    assert all(o.subject == "src" and o.src_ip == "134.217.61.211" for o in obs if "plc_name" in o.fields)


def test_cotp_connect_names_rack_and_slot() -> None:
    obs, _ = run(S7commDissector(), shared(*S7, "s7comm_varservice_libnodavedemo.pcap"))
    cr = obs[0]
    assert cr.kind == "cotp_connect" and cr.subject == "dst"
    assert cr.fields == {"src_tsap": "0100", "dst_tsap": "0102", "connection_type": "pg", "rack": 0, "slot": 2,
                         "tpdu_size": 512}


def test_s7comm_plus_is_reported_as_such() -> None:
    obs, errors = run(S7commDissector(), shared(*S7, "S7-1511_db2_var1_HMI.pcap"))
    assert not errors
    assert obs[0].fields["dst_tsap_text"] == "SIMATIC-ROOT-HMI"
    assert {o.kind for o in obs[1:]} == {"s7plus"}
    assert {o.fields.get("function") for o in obs[1:]} >= {"create_object", "set_multi_variables"}


def test_read_var_items_are_addresses() -> None:
    obs, _ = run(S7commDissector(), shared(*S7, "s7comm_varservice_libnodavedemo.pcap"))
    write = next(o for o in obs if o.fields.get("function") == "write_var" and o.kind == "job")
    assert write.fields["items"] == [{"area": "flags", "db": 0, "byte": 0, "bit": 0, "transport_size": 2,
                                      "length": 4}]


def test_cotp_fragments_are_reassembled_and_bounded() -> None:
    s7 = bytes([0x32, 1, 0, 0, 0, 1, 0, 16, 0, 0]) + bytes.fromhex("29000000000009505f50524f4752414d")
    d, state = S7commDissector(), {}
    assert d.feed(_pkt(), tpkt(s7[:6], eot=False), state) == []
    out = d.feed(_pkt(), tpkt(s7[6:]), state)
    assert out[0].fields["function"] == "plc_stop" and out[0].fields["pi_service"] == "P_PROGRAM"
    state = {}
    with pytest.raises(ParseError, match="S7 PDU over"):
        for _ in range(MAX_S7_PDU // 1000 + 2):
            d.feed(_pkt(), tpkt(b"\x32" + bytes(1000), eot=False), state)


def test_cotp_parameters_past_the_end_are_malformed() -> None:
    with pytest.raises(ParseError):
        parse_cotp_cr(bytes([17, 0xE0, 0, 0, 0, 1, 0, 0xC2, 9, 1]))


def test_probe() -> None:
    d = S7commDissector()
    assert d.probe(bytes.fromhex("0300001611e00000000100c0010ac1020100c2020102"), True)
    assert not d.probe(b"\x16\x03\x01\x00\x10", True)


def _pkt() -> Packet:
    return Packet(ts=0.0, payload=b"", src_port=40000, dst_port=102, ip_proto=6, to_server=True)


@pytest.mark.parametrize("path", sweep_captures(), ids=sweep_id)
def test_every_capture_yields_observations_or_counted_errors(path: Path) -> None:
    obs, _ = run(S7commDissector(), path)
    # tcp 102 is shared with MMS, whose connections this dissector hands on (tests/dissect/test_mms.py)
    assert all(o.proto == ("mms" if "IEC61850" in path.parts else "s7comm") for o in obs)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_contract(data: bytes) -> None:
    contract(S7commDissector(), data, port=102)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([1, 2, 3, 7]), st.binary(max_size=200))
def test_fuzz_s7_pdus_inside_valid_framing(rosctr: int, rest: bytes) -> None:
    pdu = bytes([0x32, rosctr, 0, 0, 0, 1]) + rest
    contract(S7commDissector(), tpkt(pdu), port=102)
    contract(S7commDissector(), tpkt(pdu), to_server=False, port=102)
