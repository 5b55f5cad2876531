"""UPnP device descriptions: real products' documents read whole and through the HTTP dissector (plain,
chunked, split at every byte, until close), limits driven to their bound, XML attacks and hostile input."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect import xmlstream
from iotwarden.dissect.http import HttpDissector
from iotwarden.dissect.upnpdesc import (
    MAX_DESCRIPTION,
    MAX_DEVICES,
    MAX_SERVICES,
    MAX_TEXT,
    DescriptionReader,
    may_be_description,
    parse_description,
)
from iotwarden.errors import ParseError
from iotwarden.model import Observation
from tests.dissect.hostile import feed_chunks, mutate
from tests.dissect.upnpdocs import (
    HUE_BRIDGE,
    IGD_ROUTER,
    ROKU_4200X,
    SONOS_ONE,
    WEMO_INSIGHT,
    WEMO_SCPD,
    http_get,
    http_reply,
)


def parsed(doc: bytes) -> dict[str, Any]:
    fields = parse_description(doc)
    assert fields is not None
    return fields


def descriptions(chunks: list[tuple[bool, bytes]]) -> list[Observation]:
    return [o for o in feed_chunks(HttpDissector(), chunks) if o.kind == "upnp_description"]


# ---- real products' documents ----

def test_hue_bridge_states_its_maker_model_and_number() -> None:
    f = parsed(HUE_BRIDGE)
    assert (f["upnp_device_type"], f["upnp_manufacturer"], f["upnp_model_name"], f["upnp_model_number"]) == (
        "urn:schemas-upnp-org:device:Basic:1", "Signify", "Philips hue bridge 2015", "BSB002")
    assert f["upnp_friendly_name"] == "Philips hue (192.168.212.23)"
    assert f["upnp_model_description"] == "Philips hue Personal Wireless Lighting"
    assert f["upnp_serial_number"] == "001788a36abf" and f["upnp_udn"] == "uuid:2f402f80-da50-11e1-9b23-001788a36abf"
    assert f["upnp_embedded"] == [] and f["upnp_service_types"] == [] and f["upnp_truncated"] is False
    assert f["upnp_presentation_url"] is None  # absent elements are None


def test_wemo_uses_belkins_own_namespace_and_its_extensions_are_not_fields() -> None:
    f = parsed(WEMO_INSIGHT)
    assert (f["upnp_device_type"], f["upnp_manufacturer"], f["upnp_model_name"], f["upnp_model_number"]) == (
        "urn:Belkin:device:insight:1", "Belkin International Inc.", "Insight", "1.0")
    assert f["upnp_upc"] == "123456789" and f["upnp_presentation_url"] == "/pluginpres.html"
    assert len(f["upnp_service_types"]) == 11 and "urn:Belkin:service:insight:1" in f["upnp_service_types"]
    assert "001122334455" not in repr(f)  # <macAddress> is Belkin's element, not UDA's


def test_sonos_embedded_devices_in_order_and_foreign_namespaces_skipped() -> None:
    f = parsed(SONOS_ONE)
    assert f["upnp_device_type"] == "urn:schemas-upnp-org:device:ZonePlayer:1"
    assert (f["upnp_manufacturer"], f["upnp_model_name"], f["upnp_model_number"]) == ("Sonos, Inc.", "Sonos One", "S18")
    assert [d["upnp_device_type"] for d in f["upnp_embedded"]] == [
        "urn:schemas-upnp-org:device:MediaServer:1", "urn:schemas-upnp-org:device:MediaRenderer:1"]
    assert f["upnp_embedded"][1]["upnp_udn"] == "uuid:RINCON_48A6B88C948E01400_MR"
    assert "deviceID" not in repr(f) and "rhapsody" not in repr(f)  # the Rhapsody extension's own namespace
    assert f["upnp_service_types"][:3] == ["urn:schemas-upnp-org:service:AlarmClock:1",
                                      "urn:schemas-upnp-org:service:ZoneGroupTopology:1",
                                      "urn:schemas-tencent-com:service:QPlay:1"]
    assert f["upnp_service_types"].count("urn:schemas-upnp-org:service:ConnectionManager:1") == 1  # kept once
    assert "urn:schemas-sonos-com:service:Queue:1" in f["upnp_service_types"]


def test_igd_devices_nested_two_deep() -> None:
    f = parsed(IGD_ROUTER)
    assert f["upnp_device_type"] == "urn:schemas-upnp-org:device:InternetGatewayDevice:1"
    assert [d["upnp_device_type"] for d in f["upnp_embedded"]] == ["urn:schemas-upnp-org:device:WANDevice:1",
                                                         "urn:schemas-upnp-org:device:WANConnectionDevice:1"]
    assert f["upnp_embedded"][1] == {"upnp_device_type": "urn:schemas-upnp-org:device:WANConnectionDevice:1",
                                "upnp_friendly_name": "WANConnectionDevice",
                                "upnp_udn": "uuid:00000000-0000-0000-0000-000000000002"}
    assert "urn:schemas-upnp-org:service:WANIPConnection:1" in f["upnp_service_types"]


def test_roku_description() -> None:
    f = parsed(ROKU_4200X)
    assert (f["upnp_device_type"], f["upnp_manufacturer"], f["upnp_model_name"]) == (
        "urn:roku-com:device:player:1-0", "Roku", "Roku Streaming Player 4200X")
    assert f["upnp_service_types"] == ["urn:roku-com:service:ecp:1"]


@pytest.mark.parametrize("doc", [
    WEMO_SCPD,  # a service description (UDA 2.0 §2.5)
    b'<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>',
    b'<root xmlns="urn:schemas-upnp-org:service-1-0"><device><deviceType>x</deviceType></device></root>',
    b"<html><body>router login</body></html>",
    b'{"deviceType": "urn:schemas-upnp-org:device:Basic:1"}',
    b"",
])
def test_documents_that_are_no_device_description(doc: bytes) -> None:
    assert parse_description(doc) is None


def test_no_namespace_a_byte_order_mark_and_leading_blank_lines_are_accepted() -> None:
    doc = b"\r\n\xef\xbb\xbf" + HUE_BRIDGE.replace(b' xmlns="urn:schemas-upnp-org:device-1-0"', b"")
    assert parsed(doc)["upnp_model_number"] == "BSB002"


def test_text_is_unescaped_trimmed_and_cut() -> None:
    doc = (b'<root xmlns="urn:schemas-upnp-org:device-1-0"><device><friendlyName>\n  Kitchen &amp; Bath\n'
           b"</friendlyName><modelName><![CDATA[A<B>]]></modelName><manufacturer>" + b"x" * (MAX_TEXT * 3)
           + b"</manufacturer></device></root>")
    f = parsed(doc)
    assert f["upnp_friendly_name"] == "Kitchen & Bath" and f["upnp_model_name"] == "A<B>"
    assert f["upnp_manufacturer"] == "x" * MAX_TEXT


def test_the_declared_encoding_is_honoured_and_an_unknown_one_refused() -> None:
    latin = HUE_BRIDGE.replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"').replace(b"Signify", b"Signify \xe9")
    assert parsed(latin)["upnp_manufacturer"] == "Signify \u00e9"
    with pytest.raises(ParseError):
        parse_description(HUE_BRIDGE.replace(b'encoding="UTF-8"', b'encoding="ATF-8"'))


def test_a_repeated_element_keeps_its_first_value() -> None:
    doc = HUE_BRIDGE.replace(b"<modelNumber>BSB002</modelNumber>",
                             b"<modelNumber>BSB002</modelNumber><modelNumber>other</modelNumber>")
    assert parsed(doc)["upnp_model_number"] == "BSB002"


# ---- limits (STYLE 7) ----

def test_devices_and_services_are_bounded() -> None:
    embedded = b"".join(b"<device><deviceType>urn:x:device:d%d:1</deviceType><serviceList>%s</serviceList></device>"
                        % (i, b"<service><serviceType>urn:x:service:s%d:1</serviceType></service>" % i)
                        for i in range(MAX_DEVICES + 5))
    doc = (b'<root xmlns="urn:schemas-upnp-org:device-1-0"><device><deviceType>urn:x:device:root:1</deviceType>'
           b"<serviceList>" + b"".join(b"<service><serviceType>urn:x:service:r%d:1</serviceType></service>" % i
                                       for i in range(MAX_SERVICES)) + b"</serviceList><deviceList>" + embedded
           + b"</deviceList></device></root>")
    f = parsed(doc)
    assert len(f["upnp_embedded"]) == MAX_DEVICES - 1 and len(f["upnp_service_types"]) == MAX_SERVICES
    assert f["upnp_truncated"] is False


def test_nesting_past_the_depth_limit_is_skipped_not_followed() -> None:
    deep = b"<x>" * (xmlstream.MAX_DEPTH + 10) + b"<modelName>deep</modelName>" + b"</x>" * (xmlstream.MAX_DEPTH + 10)
    doc = HUE_BRIDGE.replace(b"<modelURL>", deep + b"<modelURL>")
    f = parsed(doc)
    assert f["upnp_model_name"] == "Philips hue bridge 2015" and f["upnp_truncated"] is False


def test_reading_stops_at_the_size_limit_keeping_what_came_before() -> None:
    padding = b"<!--" + b"p" * MAX_DESCRIPTION + b"-->"
    doc = HUE_BRIDGE.replace(b"<modelNumber>", padding + b"<modelNumber>")
    reader = DescriptionReader()
    assert reader.feed(doc[:1000]) is False
    assert reader.feed(doc[1000:]) is True
    f = reader.result()
    assert f is not None and f["upnp_truncated"] is True
    assert f["upnp_model_name"] == "Philips hue bridge 2015" and f["upnp_model_number"] is None
    assert reader.read == MAX_DESCRIPTION


def test_a_truncated_document_keeps_the_complete_elements() -> None:
    cut = SONOS_ONE.index(b"<modelName>Sonos One</modelName>") + 20
    f = parsed(SONOS_ONE[:cut])
    assert f["upnp_truncated"] is True and f["upnp_manufacturer"] == "Sonos, Inc." and f["upnp_model_name"] is None


# ---- XML attacks: refused before anything is expanded or fetched ----

BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE root [<!ENTITY a "aaaaaaaaaa">'
                  + b"".join(b'<!ENTITY %s "%s">' % (b"a" * (i + 1), (b"&" + b"a" * i + b";") * 10)
                             for i in range(1, 9))
                  + b']><root xmlns="urn:schemas-upnp-org:device-1-0"><device><friendlyName>&aaaaaaaaa;'
                  b"</friendlyName></device></root>")
EXTERNAL_ENTITY = (b'<?xml version="1.0"?><!DOCTYPE root [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                   b'<root xmlns="urn:schemas-upnp-org:device-1-0"><device><friendlyName>&x;</friendlyName>'
                   b"</device></root>")
EXTERNAL_DTD = (b'<?xml version="1.0"?><!DOCTYPE root SYSTEM "http://192.0.2.1/evil.dtd">'
                b'<root xmlns="urn:schemas-upnp-org:device-1-0"><device><friendlyName>x</friendlyName></device></root>')
PARAMETER_ENTITY = (b'<?xml version="1.0"?><!DOCTYPE root [<!ENTITY % p SYSTEM "http://192.0.2.1/p.dtd"> %p;]>'
                    b'<root xmlns="urn:schemas-upnp-org:device-1-0"/>')


@pytest.mark.parametrize("doc", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD, PARAMETER_ENTITY])
def test_dtds_are_refused_as_parse_errors(doc: bytes) -> None:
    with pytest.raises(ParseError):
        parse_description(doc)


@pytest.mark.parametrize("doc", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD, PARAMETER_ENTITY])
def test_an_attack_served_over_http_describes_nothing_and_raises_nothing(doc: bytes) -> None:
    obs = feed_chunks(HttpDissector(), [(True, http_get()), (False, http_reply(doc))])
    assert [o.kind for o in obs] == ["request", "response"]


def test_malformed_xml_after_the_identity_keeps_the_identity() -> None:
    doc = HUE_BRIDGE.replace(b"<UDN>", b"<UDN><broken></UDN>")
    (o,) = descriptions([(True, http_get()), (False, http_reply(doc))])
    assert o.fields["upnp_model_number"] == "BSB002" and o.fields["upnp_truncated"] is True


# ---- through the HTTP dissector ----

def test_the_response_describes_the_server_never_the_client() -> None:
    obs = feed_chunks(HttpDissector(), [(True, http_get()), (False, http_reply(HUE_BRIDGE))])
    request, response, description = obs
    assert request.src_ip == "10.0.0.1" and request.kind == "request"
    assert (response.kind, description.kind) == ("response", "upnp_description")
    assert description.subject == "src" and description.src_ip == "10.0.0.2" and description.src_port == 80
    assert description.fields == parsed(HUE_BRIDGE)


@pytest.mark.parametrize("chunk", [1, 7, 64, 4096])
def test_chunked_bodies(chunk: int) -> None:
    (o,) = descriptions([(True, http_get(b"/setup.xml")), (False, http_reply(WEMO_INSIGHT, chunk=chunk))])
    assert o.fields == parsed(WEMO_INSIGHT)


@pytest.mark.parametrize("framing", ["length", "chunked", "close"])
def test_split_at_every_byte(framing: str) -> None:
    reply = http_reply(SONOS_ONE, chunk=100 if framing == "chunked" else 0, framing=framing)
    (o,) = descriptions([(True, http_get(b"/xml/device_description.xml")),
                         *((False, reply[i:i + 1]) for i in range(len(reply)))])
    assert o.fields == parsed(SONOS_ONE)


def test_a_body_until_close_arriving_with_its_head() -> None:
    (o,) = descriptions([(True, http_get(b"/")), (False, http_reply(ROKU_4200X, framing="close"))])
    assert o.fields["upnp_model_number"] == "4200X" and o.fields["upnp_truncated"] is False


def test_pipelined_exchanges_describe_once_and_keep_framing() -> None:
    reply = (http_reply(WEMO_SCPD, content_type=b"text/xml") + http_reply(HUE_BRIDGE)
             + http_reply(b"ok", content_type=b"text/plain"))
    obs = feed_chunks(HttpDissector(), [(True, http_get() * 3), (False, reply)])
    assert [o.kind for o in obs] == ["request"] * 3 + ["response", "response", "upnp_description", "response"]


def test_a_description_without_content_type_is_read() -> None:
    (o,) = descriptions([(True, http_get()), (False, http_reply(HUE_BRIDGE, content_type=None))])
    assert o.fields["upnp_manufacturer"] == "Signify"


@pytest.mark.parametrize(("request_", "reply"), [
    (b"HEAD /description.xml HTTP/1.1\r\n\r\n", http_reply(b"")),  # no body after a HEAD
    (http_get(), http_reply(HUE_BRIDGE, content_type=b"text/html")),  # another media type
    (http_get(), http_reply(HUE_BRIDGE).replace(b"200 OK", b"404 Not Found")),
    (b"POST /upnp/control/basicevent1 HTTP/1.1\r\nContent-Length: 0\r\n\r\n", http_reply(HUE_BRIDGE)),  # SOAP
])
def test_bodies_that_are_not_read(request_: bytes, reply: bytes) -> None:
    assert descriptions([(True, request_), (False, reply)]) == []


@pytest.mark.parametrize(("status", "method", "content_type", "expect"), [
    (200, "GET", 'text/xml; charset="utf-8"', True), (200, None, "application/xml", True), (200, "GET", None, True),
    (200, "GET", "TEXT/XML", True), (200, "GET", "text/html", False), (206, "GET", "text/xml", False),
    (200, "POST", "text/xml", False), (200, "HEAD", "text/xml", False),
])
def test_which_responses_may_be_a_description(status: int, method: str | None, content_type: str | None,
                                              expect: bool) -> None:
    assert may_be_description(status, method, content_type) is expect


# ---- hostile input (STYLE 13) ----

@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_fuzz_random_bytes_keep_the_contract(data: bytes) -> None:
    try:
        result = parse_description(data)
    except ParseError:
        return
    assert result is None or isinstance(result["upnp_embedded"], list)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([HUE_BRIDGE, WEMO_INSIGHT, SONOS_ONE, IGD_ROUTER]),
       st.lists(st.tuples(st.integers(0, 100_000), st.integers(0, 255)), max_size=8), st.integers(0, 6000),
       st.integers(0, 3))
def test_fuzz_mutated_documents_through_http(doc: bytes, edits: list[tuple[int, int]], cut: int, way: int) -> None:
    body = mutate(doc, edits, cut)
    reply = http_reply(body, chunk=(0, 33, 0, 0)[way], framing=("length", "chunked", "close", "length")[way])
    if way == 3:
        reply = mutate(reply, edits, len(reply))
    half = len(reply) // 2
    feed_chunks(HttpDissector(), [(True, http_get()), (False, reply[:half]), (False, reply[half:])])
