"""MMS confirmed and unconfirmed services (ISO 9506-2 tags): names and the arguments worth describing."""

from __future__ import annotations

import pytest

from iotwarden.dissect import asn1
from iotwarden.dissect.mmsservices import SERVICES, error_fields, service_fields, unconfirmed_fields
from iotwarden.errors import ParseError
from tests.dissect.ber import ctx, integer, tlv, visible


def _service(encoded: bytes, response: bool = False) -> dict[str, object]:
    return service_fields(asn1.read_tlv(encoded), response)


def test_service_names_follow_the_asn1_tags() -> None:
    assert len(SERVICES) == 78  # status [0] .. fileDirectory [77]
    assert {n: SERVICES[n] for n in (1, 2, 4, 5, 26, 27, 28, 36, 39, 40, 41, 44, 72, 76, 77)} == {
        1: "get_name_list", 2: "identify", 4: "read", 5: "write", 26: "initiate_download_sequence",
        27: "download_segment", 28: "terminate_download_sequence", 36: "delete_domain",
        39: "delete_program_invocation", 40: "start", 41: "stop", 44: "kill", 72: "file_open", 76: "file_delete",
        77: "file_directory"}


def test_write_names_the_variables_and_the_values() -> None:
    var = tlv(0x30, tlv(0xA0, tlv(0xA1, visible("IED1CTRL"), visible("CSWI1$CO$Pos$Oper"))))
    encoded = ctx(5, tlv(0xA0, var), tlv(0xA0, tlv(0xA2, tlv(0x83, b"\x01"), tlv(0x86, b"\x05"))))
    assert _service(encoded) == {"service_code": 5, "service": "write", "variable_count": 1,
                                 "variables": ["IED1CTRL/CSWI1$CO$Pos$Oper"], "value_count": 1, "values": [[True, 5]]}
    with pytest.raises(ParseError, match="without a variable"):
        _service(ctx(5))


@pytest.mark.parametrize(("encoded", "fields"), [
    (ctx(26, tlv(0x80, b"DOM1"), tlv(0xA1, visible("cap")), tlv(0x82, b"\x00")),
     {"domain": "DOM1", "capabilities": ["cap"], "sharable": False}),
    (ctx(27, b"DOM1", constructed=False), {"domain": "DOM1"}),
    (ctx(28, tlv(0x80, b"DOM1"), tlv(0xA1, tlv(0xA0, tlv(0x80, b"\x00")))), {"domain": "DOM1", "discarded": True}),
    (ctx(32, tlv(0x80, b"DOM1"), tlv(0x82, b"\x01"), tlv(0xA4, visible("a", 0x19), visible("b.bin", 0x19))),
     {"domain": "DOM1", "sharable": True, "file_name": "a/b.bin"}),
    (ctx(33, tlv(0x80, b"DOM1"), tlv(0xA1, visible("up.bin", 0x19))), {"domain": "DOM1", "file_name": "up.bin"}),
    (ctx(36, b"DOM1", constructed=False), {"domain": "DOM1"}),
    (ctx(38, tlv(0x80, b"PI1"), tlv(0xA1, visible("DOM1"))), {"program_invocation": "PI1", "domains": ["DOM1"]}),
    (ctx(40, tlv(0x80, b"PI1"), tlv(0x81, b"warm")), {"program_invocation": "PI1", "execution_argument": "warm"}),
    (ctx(41, tlv(0x80, b"PI1")), {"program_invocation": "PI1"}),
    (ctx(39, b"PI1", constructed=False), {"program_invocation": "PI1"}),
    (ctx(1, tlv(0xA0, tlv(0x80, b"\x09")), tlv(0xA1, tlv(0x80, b""))),
     {"object_class": "domain", "object_scope": "vmd"}),
    (ctx(12, tlv(0xA1, visible("KIRKLAND"), visible("EMS_IN"))), {"variable_list": "KIRKLAND/EMS_IN"}),
    (ctx(19, tlv(0xA0, tlv(0x80, b"reserved"))), {"semaphore": "reserved"}),
    (ctx(72, tlv(0xA0, visible("COMTRADE", 0x19), visible("f.cfg", 0x19)), tlv(0x81, b"\x00")),
     {"file_name": "COMTRADE/f.cfg"}),
    (ctx(75, tlv(0xA0, visible("a", 0x19)), tlv(0xA1, visible("b", 0x19))), {"file_name": "a", "new_file_name": "b"}),
    (ctx(76, visible("old.log", 0x19)), {"file_name": "old.log"}),
    (ctx(73, b"\x07", constructed=False), {"frsm_id": 7}),
    (ctx(31, b"\x00", constructed=False), {"ulsm_id": 0}),
    (ctx(3, tlv(0xA0, tlv(0x80, b"\x00")), tlv(0xA1, tlv(0x80, b"v1")), tlv(0x82, b"v2")),
     {"object_name": "v1", "new_name": "v2"}),
    (ctx(63, b""), {}),
])
def test_request_arguments(encoded: bytes, fields: dict[str, object]) -> None:
    got = _service(encoded)
    assert {k: v for k, v in got.items() if k not in ("service_code", "service")} == fields


def test_identify_and_other_responses() -> None:
    identify = ctx(2, tlv(0x80, b"AREVA T&D Corporation"), tlv(0x81, b"e-terracomm"), tlv(0x82, b"2.3.1"),
                   tlv(0xA3, tlv(0x06, bytes.fromhex("28ca220201"))))
    assert _service(identify, response=True) == {
        "service_code": 2, "service": "identify", "vendor_name": "AREVA T&D Corporation", "model_name": "e-terracomm",
        "revision": "2.3.1", "abstract_syntaxes": ["1.0.9506.2.1"]}
    write = ctx(5, tlv(0x81, b""), tlv(0x80, b"\x03"))
    assert _service(write, response=True)["failures"] == ["object_access_denied"]
    names = ctx(1, tlv(0xA0, visible("LD0"), visible("LD1")))
    assert _service(names, response=True)["more_follows"] is True  # DEFAULT TRUE
    status = ctx(0, tlv(0x80, b"\x00"), tlv(0x81, b"\x02"))
    assert _service(status, response=True)["vmd_physical_status"] == "inoperable"
    pi = ctx(45, tlv(0x80, b"\x04"), tlv(0xA1, visible("DOM1")))
    assert _service(pi, response=True).items() >= {"program_state": "stopped", "domains": ["DOM1"]}.items()
    entry = tlv(0x30, tlv(0xA0, visible("a.cfg", 0x19)), tlv(0xA1, tlv(0x80, b"\x10")))
    directory = ctx(77, tlv(0xA0, tlv(0x30, entry)))
    assert _service(directory, response=True)["files"] == ["a.cfg"]
    opened = ctx(72, tlv(0x80, b"\x01"), tlv(0xA1, tlv(0x80, b"\x04\x00")))
    assert _service(opened, response=True).items() >= {"frsm_id": 1, "file_size": 1024}.items()


def test_unconfirmed_and_errors() -> None:
    report = asn1.read_tlv(tlv(0xA0, tlv(0xA1, tlv(0x80, b"RPT")), tlv(0xA0, tlv(0x8A, b"rcb"), tlv(0x80, b"\x0a"))))
    assert unconfirmed_fields(report) == {"service_code": 0, "service": "information_report", "variable_list": "RPT",
                                          "result_count": 2, "failures": ["object_non_existent"]}
    assert error_fields(tlv(0x80, b"\x05") + tlv(0xA2, tlv(0xA0, tlv(0x82, b"\x01")))) == {
        "invoke_id": 5, "error_class": "definition", "error_code": 1}
    with pytest.raises(ParseError):
        service_fields(asn1.read_tlv(integer(4)), False)  # a universal tag is no service
