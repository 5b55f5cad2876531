"""The SSDP dissector: UPnP searches, advertisements and responses on real IoT captures."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.ssdp import MAX_HEADERS, MAX_MESSAGE_OCTETS, MAX_VALUE_CHARS, SsdpDissector, parse_ssdp
from iotwarden.errors import ParseError
from tests.conftest import shared
from tests.dissect.discovery import CUTS, EDITS, TCPDUMP_CAPTURES, contract_call, mutate, udp
from tests.pcaputil import run_dissector

D = SsdpDissector()
MSEARCH = (b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\n"
           b"ST: ssdp:all\r\nUSER-AGENT: Android/13 UPnP/1.1 App/2.0\r\n\r\n")
RESPONSE = (b"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nLOCATION: http://10.0.0.5:49152/desc.xml\r\n"
            b"SERVER: Linux/4.9 UPnP/1.0 IpCam/1.0\r\nST: upnp:rootdevice\r\nUSN: uuid:cam-1::upnp:rootdevice\r\n\r\n")


def test_suricata_sip_ssdp_pm_notify_is_ssdp() -> None:
    # suricata-verify sip-ssdp-pm: the flow to 239.255.255.250:1900 is SSDP, not SIP
    obs = run_dissector(D, shared("pcaps", "suricata_verify", "sip-ssdp-pm", "ssdp.pcap"))
    assert len(obs) == 1 and obs[0].kind == "notify" and obs[0].dst_ip == "239.255.255.250"
    f = obs[0].fields
    assert (f["method"], f["nt"], f["nts"]) == ("NOTIFY", "upnp:rootdevice", "ssdp:alive")
    assert f["usn"] == "uuid:04645c3d-e6b4-4eea-bd35-5c320c12969f::upnp:rootdevice"
    assert f["server"] == "UPnP/Tomato 1.28.7500 MIPSR2Toastman-RT K26 USB Ext UPnP/1.0 MiniUPnPd/1.6"
    assert f["location"] == "http://192.168.1.1:7406/rootDesc.xml"
    assert f["headers"]["cache-control"] == "max-age=120"


def test_a_smart_plug_searching_for_media_renderers() -> None:
    # NKU lifecycle dataset, xiaodu_plug.pcap: the plug's M-SEARCHes
    obs = run_dissector(D, shared("pcaps", "nku_lifecycle", "pcaps", "xiaodu_plug", "xiaodu_plug.pcap"))
    assert obs and {o.kind for o in obs} == {"msearch"}
    assert obs[0].fields["st"] == "urn:schemas-upnp-org:device:MediaRenderer:1"
    assert obs[0].fields["user_agent"] == "UPnP/1.0 DLNADOC/1.50 Platinum/1.0.5.13"


def test_a_gateway_answers_a_search() -> None:
    # ITI ICS captures, C37.118/C37118/c37118_1100_unclean.pcap: a home gateway's NOTIFYs and responses
    obs = run_dissector(D, shared("pcaps", "ics_iti", "pcaps", "C37.118", "C37118", "c37118_1100_unclean.pcap"))
    responses = [o for o in obs if o.kind == "response"]
    assert responses and all(o.fields["status"] == 200 and o.fields["method"] is None for o in responses)
    assert {o.fields["server"] for o in obs if o.kind == "notify"} == {"UPnP/1.0 BLR-TX4S/1.0"}


def test_a_search_and_a_response() -> None:
    kind, f = parse_ssdp(MSEARCH)
    assert kind == "msearch" and f["st"] == "ssdp:all" and f["user_agent"].startswith("Android/13")
    kind, f = parse_ssdp(RESPONSE)
    assert (kind, f["status"], f["location"]) == ("response", 200, "http://10.0.0.5:49152/desc.xml")


def test_headers_and_values_stop_at_their_limits() -> None:
    many = b"NOTIFY * HTTP/1.1\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(MAX_HEADERS + 5))
    assert len(parse_ssdp(many)[1]["headers"]) == MAX_HEADERS
    long_value = b"NOTIFY * HTTP/1.1\r\nSERVER: " + b"v" * (MAX_VALUE_CHARS * 2) + b"\r\n\r\n"
    assert len(parse_ssdp(long_value)[1]["server"]) == MAX_VALUE_CHARS


@pytest.mark.parametrize("data", [b"", b"GET / HTTP/1.1\r\n\r\n", b"HTTP/1.1 OK\r\n",
                                  b"NOTIFY * HTTP/1.1\r\nnocolon\r\n"])
def test_non_ssdp_is_a_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError):
        parse_ssdp(data)


@pytest.mark.parametrize("capture", TCPDUMP_CAPTURES or ["absent"])
def test_every_tcpdump_capture_yields_observations_or_parse_errors(capture: str) -> None:
    assert all(o.proto == "ssdp" for o in run_dissector(D, shared("pcaps", "tcpdump_tests", capture)))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_honour_the_contract(data: bytes) -> None:
    contract_call(D, udp(data, 50000, 1900), {})


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([MSEARCH, RESPONSE]), EDITS, CUTS)
def test_mutated_messages_honour_the_contract(seed: bytes, edits: list[tuple[int, int]], cut: int) -> None:
    contract_call(D, udp(mutate(seed, edits, cut), 1900, 50000), {})


def test_only_the_first_max_message_octets_are_read() -> None:
    padded = b"NOTIFY * HTTP/1.1\r\nX-PAD: " + b"p" * MAX_MESSAGE_OCTETS + b"\r\nSERVER: late\r\n\r\n"
    assert "server" not in parse_ssdp(padded)[1]
