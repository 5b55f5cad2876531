"""The WS-Discovery dissector: Windows, ONVIF and WSD-printer messages, QName resolution, ONVIF scopes,
its limits, and XML that must never expand (entity bombs, external entities) or raise out of it."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect import default_dissectors
from iotwarden.dissect.wsd import MAX_ELEMENTS, MAX_ITEMS, MAX_TEXT_CHARS, WsdDissector, parse_wsd
from iotwarden.errors import ParseError
from tests.conftest import shared
from tests.dissect.discovery import CUTS, EDITS, TCPDUMP_CAPTURES, contract_call, mutate, udp
from tests.pcaputil import run_dissector

D = WsdDissector()
ONVIF_NETWORK = "http://www.onvif.org/ver10/network/wsdl"
ONVIF_DEVICE = "http://www.onvif.org/ver10/device/wsdl"
DEVPROF = "http://schemas.xmlsoap.org/ws/2006/02/devprof"
PUB = "http://schemas.microsoft.com/windows/pub/2005/07"
PRINT = "http://schemas.microsoft.com/windows/2006/08/wdp/print"
SCAN = "http://schemas.microsoft.com/windows/2006/08/wdp/scan"

# A Hikvision DS-2CD3955FWD-IWS answering an ONVIF probe, as recorded in programcj/programming_path
# (3-work/linux/onvif/Onvif_Discover.c, comment above Onvif_DiscoverIp); vendor namespaces trimmed, the
# scope list wrapped (XML white space separates scopes)
HIKVISION_PROBE_MATCH = b"""<?xml version="1.0" encoding="UTF-8"?>
<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"
 xmlns:wsadis="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"
 xmlns:dn="http://www.onvif.org/ver10/network/wsdl" xmlns:tds="http://www.onvif.org/ver10/device/wsdl">
 <env:Header>
 <wsadis:MessageID>urn:uuid:18ec6401-3aa0-11b5-83f6-b4a3820fd92d</wsadis:MessageID>
 <wsadis:RelatesTo>uuid:bfe8bb88-03a2-4e1a-904a-59a7d2882649</wsadis:RelatesTo>
 <wsadis:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsadis:To>
 <wsadis:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</wsadis:Action>
 <d:AppSequence InstanceId="705289" MessageNumber="11682"/>
 </env:Header>
 <env:Body>
 <d:ProbeMatches>
 <d:ProbeMatch>
 <wsadis:EndpointReference>
 <wsadis:Address>urn:uuid:18ec6401-3aa0-11b5-83f6-b4a3820fd92d</wsadis:Address>
 </wsadis:EndpointReference>
 <d:Types>dn:NetworkVideoTransmitter tds:Device</d:Types>
 <d:Scopes>onvif://www.onvif.org/type/video_encoder onvif://www.onvif.org/Profile/Streaming
 onvif://www.onvif.org/Profile/G onvif://www.onvif.org/type/audio_encoder onvif://www.onvif.org/type/ptz
 onvif://www.onvif.org/hardware/DS-2CD3955FWD-IWS onvif://www.onvif.org/name/HIKVISION%20DS-2CD3955FWD-IWS
 onvif://www.onvif.org/location/city/hangzhou</d:Scopes>
 <d:XAddrs>http://192.168.0.218/onvif/device_service http://[fe80::b6a3:82ff:fe0f:d92d]/onvif/device_service</d:XAddrs>
 <d:MetadataVersion>10</d:MetadataVersion>
 </d:ProbeMatch>
 </d:ProbeMatches>
 </env:Body>
 </env:Envelope>"""

# A Dahua IPC-HFW2228M-I1-V2's Hello, as in cogini/onvif test/discovery_test.exs ("parse Hello"), scopes wrapped
DAHUA_HELLO = b"""<?xml version="1.0" encoding="utf-8" standalone="yes" ?>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:sc="http://www.w3.org/2003/05/soap-encoding"
  xmlns:dn="http://www.onvif.org/ver10/network/wsdl" xmlns:tds="http://www.onvif.org/ver10/device/wsdl"
  xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing">
  <s:Header>
    <a:MessageID>uuid:7dffd1ac-a95b-4479-ae60-0128450c7104</a:MessageID>
    <a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To>
    <a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Hello</a:Action>
  </s:Header>
  <s:Body>
    <d:Hello>
      <a:EndpointReference>
        <a:Address>uuid:503b687a-b9d7-474f-a2d0-a18c8b25a464</a:Address>
      </a:EndpointReference>
    <d:Types>dn:NetworkVideoTransmitter tds:Device</d:Types>
    <d:Scopes>onvif://www.onvif.org/location/country/china onvif://www.onvif.org/name/Dahua
      onvif://www.onvif.org/hardware/IPC-HFW2228M-I1-V2 onvif://www.onvif.org/Profile/Streaming
      onvif://www.onvif.org/type/Network_Video_Transmitter onvif://www.onvif.org/extension/unique_identifier</d:Scopes>
    <d:XAddrs>http://192.168.1.45/onvif/device_service</d:XAddrs>
    <d:MetadataVersion>1</d:MetadataVersion>
    </d:Hello>
  </s:Body>
</s:Envelope>"""

# The Hello example of OASIS WS-Discovery 1.1 (§4.1, a printer with types of its own namespace)
SPEC_HELLO_1_1 = b"""<s:Envelope xmlns:a="http://www.w3.org/2005/08/addressing"
  xmlns:d="http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01" xmlns:i="http://printer.example.org/2003/imaging"
  xmlns:s="http://www.w3.org/2003/05/soap-envelope">
 <s:Header>
  <a:Action>http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01/Hello</a:Action>
  <a:MessageID>urn:uuid:0a6dc791-2be6-4991-9af1-454778a1917a</a:MessageID>
  <a:To>urn:docs-oasis-open-org:ws-dd:ns:discovery:2009:01</a:To>
  <d:AppSequence InstanceId="1077004800" MessageNumber="1" />
 </s:Header>
 <s:Body>
  <d:Hello>
   <a:EndpointReference><a:Address>urn:uuid:98190dc2-0890-4ef8-ac9a-5940995e6119</a:Address></a:EndpointReference>
   <d:Types>i:PrintBasic i:PrintAdvanced</d:Types>
   <d:Scopes>
     ldap:///ou=engineering,o=examplecom,c=us
     ldap:///ou=floor1,ou=b42,ou=anytown,o=examplecom,c=us
     http://itdept/imaging/deployment/2004-12-04
   </d:Scopes>
   <d:XAddrs>http://prn-example/PRN42/b42-1668-a</d:XAddrs>
   <d:MetadataVersion>75965</d:MetadataVersion>
  </d:Hello>
 </s:Body>
</s:Envelope>"""


def envelope(body: str, *, namespaces: str = "", header: str = "") -> bytes:
    """A SOAP 1.2 envelope with the 2005/04 discovery and 2004/08 addressing prefixes d: and a:."""
    return ('<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
            'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
            f'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" {namespaces}>'
            f"<s:Header>{header}</s:Header><s:Body>{body}</s:Body></s:Envelope>").encode()


def match(types: str, scopes: str = "", address: str = "urn:uuid:00000000-0000-0000-0000-000000000001") -> str:
    return (f"<d:ProbeMatch><a:EndpointReference><a:Address>{address}</a:Address></a:EndpointReference>"
            f"<d:Types>{types}</d:Types><d:Scopes>{scopes}</d:Scopes>"
            "<d:XAddrs>http://192.0.2.7:80/wsd</d:XAddrs><d:MetadataVersion>3</d:MetadataVersion></d:ProbeMatch>")


WSD_NAMESPACES = f'xmlns:wsdp="{DEVPROF}" xmlns:wprt="{PRINT}" xmlns:wscn="{SCAN}"'
MFP_PROBE_MATCHES = envelope(f"<d:ProbeMatches>{match('wsdp:Device wprt:PrintDeviceType wscn:ScanDeviceType')}"
                             "</d:ProbeMatches>", namespaces=WSD_NAMESPACES)


# --- real captures ------------------------------------------------------------------------------

def test_a_windows_host_probes_says_hello_and_resolves_over_ipv4_and_ipv6() -> None:
    # ITI ICS-Security-Tools, pcaps/s7/S7Comm/wrapup.pcapng: the engineering PC's Function Discovery traffic
    obs = run_dissector(D, shared("pcaps", "ics_iti", "pcaps", "s7", "S7Comm", "wrapup.pcapng"))
    assert len(obs) == 16 and {o.kind for o in obs} == {"probe", "hello", "resolve"}
    assert {(o.src_ip, o.dst_ip) for o in obs} == {("192.168.0.16", "239.255.255.250"),
                                                   ("fe80::98a:de6e:a5a4:6cfa", "ff02::c")}
    probe = next(o for o in obs if o.kind == "probe")
    assert probe.fields["types"] == [f"{{{DEVPROF}}}Device"] and probe.fields["endpoints"] == []
    hellos = [o for o in obs if o.kind == "hello"]
    assert {o.fields["endpoints"][0] for o in hellos} == {"urn:uuid:e46328c0-b2bd-402f-b28e-274fbfc92a70"}
    assert all(o.fields["types"] == [f"{{{DEVPROF}}}Device", f"{{{PUB}}}Computer"] for o in hellos)
    v6 = next(o for o in hellos if o.src_ip and ":" in o.src_ip)
    assert v6.fields["xaddrs"] == ["http://[fe80::98a:de6e:a5a4:6cfa]:5357/e46328c0-b2bd-402f-b28e-274fbfc92a70/"]
    assert {o.fields["metadata_version"] for o in hellos} == {332, 333}
    assert (v6.fields["instance_id"], v6.fields["version"]) == (92, "2005/04")
    resolve = next(o for o in obs if o.kind == "resolve")
    # a Resolve names the endpoint it looks for (a printer's, MAC 30:05:5c:00:d9:cd in the UUID), not its sender
    assert resolve.fields["endpoints"] == ["urn:uuid:e3248000-80ce-11db-8000-30055c00d9cd"]
    assert resolve.fields["action"] == "http://schemas.xmlsoap.org/ws/2005/04/discovery/Resolve"


def test_resolves_over_both_families_only_name_their_targets() -> None:
    # ITI ICS-Security-Tools, pcaps/MELSEC/melsoft_UDP_unclean_1.pcap: a PC resolving the printers it knows
    obs = run_dissector(D, shared("pcaps", "ics_iti", "pcaps", "MELSEC", "melsoft_UDP_unclean_1.pcap"))
    assert len(obs) == 64 and {o.kind for o in obs} == {"resolve"}
    assert {o.fields["endpoints"][0] for o in obs} == {
        "urn:uuid:434e4237-4a35-3731-354e-705a0fa8a977", "urn:uuid:e3248000-80ce-11db-8000-30055c00d9cd",
        "urn:uuid:e3248000-80ce-11db-8000-001ba9f3ec2c", "urn:uuid:e3248000-80ce-11db-8000-001ba9f3ec35"}
    assert any(o.dst_ip == "ff02::c" for o in obs) and any(o.dst_ip == "239.255.255.250" for o in obs)


# --- ONVIF ----------------------------------------------------------------------------------------

def test_an_onvif_camera_answers_a_probe() -> None:
    kind, f = parse_wsd(HIKVISION_PROBE_MATCH)
    assert (kind, f["version"], f["matches"]) == ("probe_matches", "2005/04", 1)
    assert f["types"] == [f"{{{ONVIF_NETWORK}}}NetworkVideoTransmitter", f"{{{ONVIF_DEVICE}}}Device"]
    assert f["endpoints"] == ["urn:uuid:18ec6401-3aa0-11b5-83f6-b4a3820fd92d"]
    assert f["relates_to"] == "uuid:bfe8bb88-03a2-4e1a-904a-59a7d2882649"
    assert (f["instance_id"], f["message_number"], f["metadata_version"]) == (705289, 11682, 10)
    assert f["xaddrs"] == ["http://192.168.0.218/onvif/device_service",
                           "http://[fe80::b6a3:82ff:fe0f:d92d]/onvif/device_service"]
    assert len(f["scopes"]) == 8
    assert f["onvif_types"] == ["video_encoder", "audio_encoder", "ptz"]
    assert f["onvif_names"] == ["HIKVISION DS-2CD3955FWD-IWS"]  # %20 decoded
    assert f["onvif_hardware"] == ["DS-2CD3955FWD-IWS"]
    assert f["onvif_locations"] == ["city/hangzhou"]
    assert f["onvif_profiles"] == ["Streaming", "G"]


def test_an_onvif_camera_says_hello() -> None:
    kind, f = parse_wsd(DAHUA_HELLO)
    assert kind == "hello" and f["endpoints"] == ["uuid:503b687a-b9d7-474f-a2d0-a18c8b25a464"]
    assert f["onvif_names"] == ["Dahua"] and f["onvif_hardware"] == ["IPC-HFW2228M-I1-V2"]
    assert f["onvif_types"] == ["Network_Video_Transmitter"] and f["onvif_locations"] == ["country/china"]
    assert "matches" not in f  # a Hello describes one endpoint, it holds no matches


def test_onvif_scope_categories_are_case_insensitive_and_other_scopes_stay_only_in_scopes() -> None:
    scopes = ("ONVIF://www.onvif.org/Name/My%20Cam onvif://www.onvif.org/MAC/58:50:ed:1f:e3:85 "
              "onvif://example.org/name/Other onvif://www.onvif.org/location/ http://scopes.example/x")
    _, f = parse_wsd(envelope(f"<d:Hello>{match('d:Any', scopes)}</d:Hello>"))
    assert f["onvif_names"] == ["My Cam"] and f["onvif_locations"] == []
    assert len(f["scopes"]) == 5


# --- WS-Discovery itself ----------------------------------------------------------------------------

def test_the_specifications_hello_in_the_1_1_namespace() -> None:
    kind, f = parse_wsd(SPEC_HELLO_1_1)
    assert (kind, f["version"]) == ("hello", "1.1")
    assert f["types"] == ["{http://printer.example.org/2003/imaging}PrintBasic",
                          "{http://printer.example.org/2003/imaging}PrintAdvanced"]
    assert f["scopes"][2] == "http://itdept/imaging/deployment/2004-12-04"
    assert (f["metadata_version"], f["instance_id"], f["message_number"]) == (75965, 1077004800, 1)
    assert f["action"] == "http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01/Hello"


def test_a_printer_and_scanner_answers_as_both() -> None:
    kind, f = parse_wsd(MFP_PROBE_MATCHES)
    assert kind == "probe_matches"
    assert f["types"] == [f"{{{DEVPROF}}}Device", f"{{{PRINT}}}PrintDeviceType", f"{{{SCAN}}}ScanDeviceType"]


def test_qnames_resolve_through_the_declarations_in_scope() -> None:
    # a prefix declared on the Types element itself, the default namespace, one undeclared prefix, and
    # an unprefixed name without a default namespace (XML Schema 2 §3.2.18 QName resolution)
    body = ('<d:Hello><d:Types xmlns:x="urn:x">x:One dn:NetworkVideoTransmitter Bare</d:Types></d:Hello>'
            '<!-- trailing comment -->')
    _, f = parse_wsd(envelope(body))
    assert f["types"] == ["{urn:x}One", "dn:NetworkVideoTransmitter", "Bare"]
    default = ('<Probe xmlns="http://schemas.xmlsoap.org/ws/2005/04/discovery"><Types>tds:Device Local</Types>'
               '<Scopes MatchBy="http://schemas.xmlsoap.org/ws/2005/04/discovery/rfc3986" /></Probe>')
    kind, f = parse_wsd(envelope(default, namespaces=f'xmlns:tds="{ONVIF_DEVICE}"'))
    assert kind == "probe"
    assert f["types"] == [f"{{{ONVIF_DEVICE}}}Device", "{http://schemas.xmlsoap.org/ws/2005/04/discovery}Local"]
    assert f["match_by"] == "http://schemas.xmlsoap.org/ws/2005/04/discovery/rfc3986"


def test_every_kind_of_message() -> None:
    epr = "<a:EndpointReference><a:Address>urn:uuid:1</a:Address></a:EndpointReference>"
    for element, kind in (("Hello", "hello"), ("Bye", "bye"), ("Probe", "probe"), ("Resolve", "resolve")):
        assert parse_wsd(envelope(f"<d:{element}>{epr}</d:{element}>"))[0] == kind
    resolved = parse_wsd(envelope(f"<d:ResolveMatches><d:ResolveMatch>{epr}</d:ResolveMatch></d:ResolveMatches>"))
    assert resolved[0] == "resolve_matches" and resolved[1]["matches"] == 1


def test_several_matches_are_merged_first_first() -> None:
    two = envelope("<d:ProbeMatches>" + match("wprt:PrintDeviceType", address="urn:uuid:a")
                   + match("wscn:ScanDeviceType wprt:PrintDeviceType", address="urn:uuid:b") + "</d:ProbeMatches>",
                   namespaces=WSD_NAMESPACES)
    _, f = parse_wsd(two)
    assert f["matches"] == 2 and f["endpoints"] == ["urn:uuid:a", "urn:uuid:b"]
    assert f["types"] == [f"{{{PRINT}}}PrintDeviceType", f"{{{SCAN}}}ScanDeviceType"]
    assert f["metadata_version"] == 3


def test_lists_values_and_elements_stop_at_their_limits() -> None:
    many = " ".join(f"http://scope.example/{i}" for i in range(MAX_ITEMS + 10))
    _, f = parse_wsd(envelope(f"<d:Hello><d:Scopes>{many}</d:Scopes></d:Hello>"))
    assert len(f["scopes"]) == MAX_ITEMS
    long_name = "n" * (MAX_TEXT_CHARS * 3)
    _, f = parse_wsd(envelope(f"<d:Hello><d:Scopes>onvif://www.onvif.org/name/{long_name}</d:Scopes></d:Hello>"))
    assert len(f["scopes"][0]) == MAX_TEXT_CHARS
    crowd = "<x/>" * MAX_ELEMENTS
    with pytest.raises(ParseError, match="MAX_ELEMENTS"):
        parse_wsd(envelope(f"<d:Hello><d:Scopes>{crowd}</d:Scopes></d:Hello>"))


def test_deep_nesting_is_refused_without_recursion() -> None:
    deep = "<x>" * (MAX_ELEMENTS + 50) + "</x>" * (MAX_ELEMENTS + 50)
    with pytest.raises(ParseError):
        parse_wsd(envelope(f"<d:Hello>{deep}</d:Hello>"))


@pytest.mark.parametrize("data", [
    b"", b"   ", b"M-SEARCH * HTTP/1.1\r\n\r\n", b"\x00\x01\x02", b"<",
    b"<html><body>not soap</body></html>",
    envelope("<d:Unknown/>"),
    envelope("<s:Fault><s:Code><s:Value>s:Sender</s:Value></s:Code></s:Fault>"),
    b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>',
    b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><u:Hello/></s:Body></s:Envelope>',
    b'<?xml version="1.0" encoding="no-such-codec"?><a/>',
    HIKVISION_PROBE_MATCH[:-40],
])
def test_what_is_not_a_ws_discovery_message_is_a_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError):
        parse_wsd(data)


def test_a_byte_order_mark_and_utf16_are_read() -> None:
    assert parse_wsd(b"\xef\xbb\xbf" + DAHUA_HELLO.lstrip())[0] == "hello"
    utf16 = DAHUA_HELLO.decode().replace('encoding="utf-8"', 'encoding="utf-16"').encode("utf-16")
    assert parse_wsd(utf16)[1]["onvif_names"] == ["Dahua"]


# --- XML attacks: refused before anything expands or is fetched -------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">]>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery">
<s:Body><d:Hello><d:Scopes>&lol9;</d:Scopes></d:Hello></s:Body></s:Envelope>"""


def _external(target: str, kind: str = "SYSTEM") -> bytes:
    return (f'<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY xxe {kind} "{target}">]>'
            '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
            'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery">'
            "<s:Body><d:Hello><d:Scopes>&xxe;</d:Scopes></d:Hello></s:Body></s:Envelope>").encode()


def test_an_entity_bomb_is_refused_without_expanding() -> None:
    with pytest.raises(ParseError, match="DTDForbidden"):
        parse_wsd(BILLION_LAUGHS)


def test_external_entities_and_dtds_are_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    attacks = [_external(secret.as_uri()), _external("http://127.0.0.1:9/x.dtd"),
               f'<?xml version="1.0"?><!DOCTYPE s:Envelope SYSTEM "{secret.as_uri()}"><s:Envelope/>'.encode(),
               f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY % p SYSTEM "{secret.as_uri()}"> %p;]><x/>'.encode()]
    for data in attacks:
        with pytest.raises(ParseError) as err:
            parse_wsd(data)
        assert "TOP-SECRET-VALUE" not in str(err.value)


def test_an_undeclared_entity_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        parse_wsd(envelope("<d:Hello><d:Scopes>&lol9;</d:Scopes></d:Hello>"))


# --- dispatch, memo and the dissector contract ------------------------------------------------------

def test_registered_on_udp_3702_and_memoised_on_the_whole_datagram() -> None:
    assert any(isinstance(d, WsdDissector) and d.udp_ports == (3702,) for d in default_dissectors())
    assert D.memo_key(DAHUA_HELLO) == DAHUA_HELLO
    [o] = D.dissect(udp(DAHUA_HELLO, 3702, 3702, dst_ip="239.255.255.250"), {})
    assert (o.proto, o.kind, o.subject) == ("wsd", "hello", "src")


@pytest.mark.parametrize("capture", TCPDUMP_CAPTURES or ["absent"])
def test_every_tcpdump_capture_yields_observations_or_parse_errors(capture: str) -> None:
    assert all(o.proto == "wsd" for o in run_dissector(D, shared("pcaps", "tcpdump_tests", capture)))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_honour_the_contract(data: bytes) -> None:
    contract_call(D, udp(data, 50000, 3702), {})
    contract_call(D, udp(b"<" + data, 50000, 3702), {})


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([HIKVISION_PROBE_MATCH, DAHUA_HELLO, SPEC_HELLO_1_1, MFP_PROBE_MATCHES, BILLION_LAUGHS]),
       EDITS, CUTS)
def test_mutated_messages_honour_the_contract(seed: bytes, edits: list[tuple[int, int]], cut: int) -> None:
    contract_call(D, udp(mutate(seed, edits, cut), 3702, 50000), {})


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>/:=\"'&;!?[] dsaxmlnENTITYDOCTYPE%#\x00")), max_size=300))
def test_markup_soup_honours_the_contract(soup: str) -> None:
    contract_call(D, udp(envelope(f"<d:Hello>{soup}</d:Hello>"), 3702, 3702), {})
    contract_call(D, udp(soup.encode(), 3702, 3702), {})
