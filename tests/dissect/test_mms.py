"""MMS dissector on the real IEC 61850 / ICCP captures of ../shared/data (fields checked against tshark 4.0's
MMS, ACSE and presentation decode), on port 102 through the S7comm dissector, and under hostile input."""

from __future__ import annotations

import contextlib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect import default_dissectors
from iotwarden.dissect.mms import MmsDissector, decode_tsdu, is_mms, parse_pdu
from iotwarden.dissect.s7comm import S7commDissector
from iotwarden.engine.core import Engine
from iotwarden.errors import ParseError
from iotwarden.model import Observation
from iotwarden.sources.capfile import read_capture
from tests.conftest import shared
from tests.detect.runner import detect
from tests.dissect.ber import cotp_dt, ctx, integer, presentation_data, tlv
from tests.dissect.hostile import feed_capture_any_port, feed_chunks, mutate
from tests.dissect.ot_captures import contract, run, sweep_captures, sweep_id

IEC = ("pcaps", "ics_iti", "pcaps", "IEC61850")
COMMANDS = (*IEC, "MMS - Specific Commands")


def _mms(*path: str) -> list[Observation]:
    obs, _ = run(S7commDissector(), shared(*path))
    assert all(o.proto == "mms" for o in obs)
    return obs


def test_identify_names_the_vendor_model_and_revision() -> None:
    obs = _mms(*IEC, "piccolo.pcap")
    assert [(o.kind, o.fields.get("service")) for o in obs] == [
        ("initiate_request", None), ("initiate_response", None), ("request", "identify"),
        ("response", "identify"), ("request", "status")]
    answer = obs[3]
    assert (answer.subject, answer.src_ip) == ("src", "10.10.0.30")
    assert answer.fields == {"invoke_id": 1, "service_code": 2, "service": "identify", "vendor_name": "INFO TECH",
                             "model_name": "S61850 for PC", "revision": "0.0.1"}


def test_the_identify_answer_becomes_the_ieds_inventory_attributes() -> None:
    ctx = detect([shared(*IEC, "piccolo.pcap")])  # inventory/identity.py rule "mms"
    ied = ctx.devices["mac:00:18:f3:eb:c3:d9"]
    assert {k: v for k, v in ied.attributes.items() if k.startswith("mms.")} == {
        "mms.vendor_name": {"INFO TECH"}, "mms.model_name": {"S61850 for PC"}, "mms.revision": {"0.0.1"}}
    assert not [k for k in ctx.devices["mac:08:00:27:36:39:da"].attributes if k.startswith("mms.")]


def test_the_association_carries_the_acse_ap_titles() -> None:
    request, response = _mms(*IEC, "piccolo.pcap")[:2]
    assert request.fields == {
        "calling_session_selector": "0001", "called_session_selector": "0001",
        "calling_presentation_selector": "00000001", "called_presentation_selector": "00000001",
        "application_context": "1.0.9506.2.3", "called_ap_title": "1.1.1.999.1", "called_ae_qualifier": 12,
        "calling_ap_title": "1.1.1.999", "calling_ae_qualifier": 12, "local_detail": 65280,
        "max_serv_outstanding_calling": 10, "max_serv_outstanding_called": 10, "nesting_level": 5, "version": 1,
        "parameter_cbb": "f100", "services_supported": "ee1c000004000000010118"}
    assert (response.fields["acse_result"], response.fields["responding_ap_title"]) == ("accepted", "1.1.1.999.1")


def test_iccp_both_ends_identify_read_write_and_report() -> None:
    obs = _mms(*IEC, "8d7c7db0-9804-012b-b2a6-0016cb8cea27.pcap")  # TPKT headers in segments of their own
    kinds = Counter((o.kind, o.fields.get("service")) for o in obs)
    assert kinds == {("cotp_connect", None): 1, ("initiate_request", None): 1, ("initiate_response", None): 1,
                     ("request", "identify"): 7, ("response", "identify"): 7, ("request", "read"): 6,
                     ("response", "read"): 6, ("request", "write"): 4, ("response", "write"): 4,
                     ("request", "get_name_list"): 2, ("response", "get_name_list"): 2,
                     ("request", "get_named_variable_list_attributes"): 4,
                     ("response", "get_named_variable_list_attributes"): 4,
                     ("unconfirmed", "information_report"): 115}  # as tshark counts them
    assert obs[1].fields["application_context"] == "1.0.9506.1.1"  # ICCP / TASE.2
    assert {o.fields["vendor_name"] for o in obs if "vendor_name" in o.fields} == {"AREVA T&D Corporation"}
    write = next(o for o in obs if o.fields.get("service") == "write")
    assert (write.src_port, write.fields["variables"], write.fields["values"][0][0]) == (
        102, ["KIRKLAND/CITEC_TS0"], [1, "KIRKLAND", "EMS_ANALOG_ICCP_IN"])  # the server writes too in ICCP


def test_iec61850_report_control_read_error_and_release() -> None:
    obs = [o for o in _mms(*IEC, "Sample_File_MMS_and_GOOSE.pcap") if o.kind != "unconfirmed"]
    assert [(o.kind, o.fields.get("service")) for o in obs] == [
        ("cotp_connect", None), ("initiate_request", None), ("initiate_response", None),
        ("request", "get_variable_access_attributes"), ("error", None), ("request", "read"), ("response", "read"),
        ("conclude_request", None), ("conclude_response", None), ("release_request", None),
        ("release_response", None)]
    assert obs[3].fields["variables"] == ["AA1E1Q01FP2LD0/LLN0$BR$rcb_B02"]
    assert obs[4].fields == {"invoke_id": 303731, "error_class": "access", "error_code": 2}
    assert obs[6].fields["failures"] == ["object_non_existent"]
    assert (obs[9].fields, obs[10].fields) == ({"reason": "urgent"}, {"reason": "not_finished"})


@pytest.mark.parametrize(("name", "requests"), [
    ("mms-stopRequest.pcap", [("start", "R395024397Application_1"), ("stop", "R395024397Application_1")]),
    ("mms-killRequest.pcap", [("kill", "R395024397Application_1")]),
    ("mms-deleteProgramInvocation.pcap", [("delete_program_invocation", "MuSecurity_Application_1")]),
    ("mms-initiateDownloadSequence.pcap", [("take_control", None), ("initiate_download_sequence", None)]),
    ("mms-terminateUploadSequence.pcap", [("initiate_upload_sequence", None), ("terminate_upload_sequence", None)]),
])
def test_bare_mms_in_cotp_program_and_domain_services(name: str, requests: list[tuple[str, str | None]]) -> None:
    obs, errors = run(S7commDissector(), shared(*COMMANDS, name))
    assert [(o.fields["service"], o.fields.get("program_invocation")) for o in obs if o.kind == "request"] == requests
    assert obs[0].kind == "cotp_connect" and obs[0].fields == {"src_tsap": "0002", "dst_tsap": "0200"}
    assert errors  # the servers' answers in these captures are malformed TPKTs: counted, never a crash


def test_download_and_write_arguments() -> None:
    download = next(o for o in _mms(*COMMANDS, "mms-initiateDownloadSequence.pcap")
                    if o.fields.get("service") == "initiate_download_sequence")
    assert download.fields == {"invoke_id": 1, "service_code": 26, "service": "initiate_download_sequence",
                               "domain": "DTLogFilesDomain", "capabilities": ["MuSecAC800M"], "sharable": False}
    write = next(o for o in _mms(*IEC, "iec") if o.kind == "request")
    assert write.fields == {"invoke_id": 0, "service_code": 5, "service": "write", "variable_count": 1,
                            "variables": ["ACTSETGGIO80$DC$NamPlt$vendor"], "value_count": 1, "values": [0]}


def test_the_engine_hands_port_102_mms_to_this_dissector() -> None:
    engine = Engine(default_dissectors())
    obs: list[Observation] = []
    for batch in read_capture(shared(*IEC, "piccolo.pcap")):
        obs += engine.process(batch).observations
    obs += engine.flush().observations
    assert [o.kind for o in obs if o.proto == "mms"][:4] == [
        "initiate_request", "initiate_response", "request", "response"]
    assert not [o for o in obs if o.proto == "s7comm"]


def test_probe_finds_mms_on_another_port_and_leaves_s7_alone() -> None:
    d = MmsDissector()
    assert d.probe(cotp_dt(presentation_data(b"\x8b\x00")), True)
    assert d.probe(cotp_dt(tlv(0xA8, tlv(0x81, b"\x01"))), True)
    assert not d.probe(cotp_dt(bytes.fromhex("32010000000000080000f0000001000101e0")), True)
    assert not d.probe(bytes.fromhex("0300001611e00000000100c0010ac1020100c2020102"), True)
    assert is_mms(b"\x0d\x00") and is_mms(b"\xa0\x00") and not is_mms(b"\x32") and not is_mms(b"")


def test_reject_cancel_and_conclude_pdus() -> None:
    assert parse_pdu(tlv(0xA4, tlv(0x80, b"\x07"), tlv(0x81, b"\x01"))) == (
        "reject", {"invoke_id": 7, "reject_pdu": "confirmed_request", "reject_code": 1})
    assert parse_pdu(tlv(0x85, b"\x03")) == ("cancel_request", {"invoke_id": 3})
    assert parse_pdu(b"\x8c\x00") == ("conclude_response", {})
    assert parse_pdu(tlv(0xAA, tlv(0xA0, tlv(0x88, b"\x01")))) == (
        "initiate_error", {"error_class": "initiate", "error_code": 1})
    modifiers = tlv(0x30, tlv(0xA1, b""))
    assert parse_pdu(tlv(0xA0, integer(9), modifiers, ctx(41, tlv(0x80, b"P")))) == (
        "request", {"invoke_id": 9, "modifier_count": 1, "service_code": 41, "service": "stop",
                    "program_invocation": "P"})


@pytest.mark.parametrize("pdu", [
    tlv(0xA0, integer(1)),  # confirmed request without a service (mms-confirmedRequestPDU.pcap)
    tlv(0xA0, tlv(0x80, b"\x01")),  # no invokeID
    tlv(0xA3, b""),
    tlv(0xAE, b""),  # past conclude-ErrorPDU [13]
    tlv(0x30, b""),
    b"\xa0\x05\x02\x01",  # truncated
])
def test_malformed_pdus_are_parse_errors(pdu: bytes) -> None:
    with pytest.raises(ParseError):
        parse_pdu(pdu)


@pytest.mark.parametrize("path", sweep_captures(), ids=sweep_id)
def test_every_capture_yields_observations_or_counted_errors(path: Path) -> None:
    feed_capture_any_port(MmsDissector(), path)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_contract(data: bytes) -> None:
    contract(MmsDissector(), data, port=102)
    contract(S7commDissector(), cotp_dt(data), port=102)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA8, 0xA9]), st.binary(max_size=200), st.booleans())
def test_fuzz_mms_pdus_inside_valid_framing(tag: int, body: bytes, wrapped: bool) -> None:
    pdu = tlv(tag, body)
    tsdu = presentation_data(pdu) if wrapped else pdu
    state: dict[str, Any] = {}
    out = contract(MmsDissector(), cotp_dt(tsdu), port=102, state=state)
    assert all(o.proto == "mms" for o in out)
    with contextlib.suppress(ParseError):
        decode_tsdu(tsdu)


# the CONNECT TSDU of piccolo.pcap frame 1: session CN, presentation CP-type, ACSE AARQ, MMS initiate
PICCOLO_CN = bytes.fromhex(
    "0db60506130100160102140200023302000134020001c1a031819da003800101a28195810400000001820400000001a423300f"
    "0201010604520100013004060251013010020103060528ca22020130040602510161623060020101a05b6059a107060528ca22"
    "0203a20706052901876701a30302010ca606060429018767a70302010cbe33283106025101020103a028a826800300ff008101"
    "0a82010a830105a416800101810305f100820c03ee1c000004000000010118")


def test_the_real_connect_tsdu_decodes_whole() -> None:
    assert [kind for kind, _ in decode_tsdu(PICCOLO_CN)] == ["initiate_request"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), max_size=6), st.integers(0, 200))
def test_fuzz_mutated_real_association(edits: list[tuple[int, int]], cut: int) -> None:
    tsdu = mutate(PICCOLO_CN, edits, cut)
    feed_chunks(MmsDissector(), [(True, cotp_dt(tsdu))])
