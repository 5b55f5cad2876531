"""MMS confirmed services' results (ISO 9506-2 ConfirmedServiceResponse) read by service: the table names the services
whose results are described, and each decoder fills the fields it owns."""

from __future__ import annotations

from typing import Any

from iotwarden.dissect import asn1
from iotwarden.dissect.mmsresults import RESPONSES, VMD_LOGICAL, VMD_PHYSICAL, results, status
from iotwarden.dissect.mmsservices import SERVICES
from iotwarden.dissect.mmstypes import MAX_NAMES
from tests.dissect.ber import tlv, visible


def test_results_are_described_for_these_services() -> None:
    assert {SERVICES[n] for n in RESPONSES} == {
        "status", "get_name_list", "identify", "read", "write", "get_named_variable_list_attributes",
        "initiate_upload_sequence", "get_domain_attributes", "get_program_invocation_attributes", "file_open",
        "file_directory"}


def test_status_names_the_vmd_states() -> None:
    f: dict[str, Any] = {}
    status(tlv(0x80, b"\x03") + tlv(0x81, b"\x01"), f)
    assert f == {"vmd_logical_status": VMD_LOGICAL[3], "vmd_physical_status": VMD_PHYSICAL[1]}
    assert f["vmd_logical_status"] == "support_services_allowed"


def test_access_results_count_all_and_name_the_failures() -> None:
    items = [tlv(0x80, b"\x0a"), tlv(0x83, b"\x01"), tlv(0x80, b"\x03")]  # failure [0] DataAccessError, success
    f: dict[str, Any] = {}
    results([asn1.read_tlv(i) for i in items], f)
    assert f == {"result_count": 3, "failures": ["object_non_existent", "object_access_denied"]}
    f = {}
    results([asn1.read_tlv(tlv(0x83, b"\x01"))], f)
    assert f == {"result_count": 1}


def test_a_name_list_is_bounded_and_more_follows_defaults_true() -> None:
    f: dict[str, Any] = {}
    RESPONSES[1](tlv(0xA0, *(visible(f"LD{i}") for i in range(MAX_NAMES + 3))) + tlv(0x81, b"\x00"), f)
    assert f["identifier_count"] == MAX_NAMES + 3 and len(f["identifiers"]) == MAX_NAMES
    assert f["more_follows"] is False
    f = {}
    RESPONSES[1](tlv(0xA0, visible("LD0")), f)
    assert f == {"identifier_count": 1, "identifiers": ["LD0"], "more_follows": True}
