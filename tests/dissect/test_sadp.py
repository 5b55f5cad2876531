"""Hikvision SADP (dissect/sadp.py): the search and answers as the open-source clients and a captured exchange
show them, the DeviceSN split, commands read without their secrets, limits, XML attacks and hostile input."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect import default_dissectors
from iotwarden.dissect.sadp import MAX_ELEMENTS, MAX_FIELD_CHARS, SadpDissector, parse_sadp, split_device_sn
from iotwarden.errors import ParseError
from tests.conftest import shared
from tests.dissect.discovery import CUTS, EDITS, TCPDUMP_CAPTURES, contract_call, frame, mutate, udp
from tests.pcaputil import run_dissector

D = SadpDissector()

# the search cameronnewman/hikvision-tooling internal/sadp/scanner.go sends (with a fresh UUID each time)
INQUIRY = (b'<?xml version="1.0" encoding="utf-8"?><Probe><Uuid>8282F1DB-2FA6-4709-B261-3C6B6A48CA17</Uuid>'
           b"<Types>inquiry</Types></Probe>")
INQUIRY_V32 = INQUIRY.replace(b"<Types>inquiry<", b"<Types>inquiry_v32<")

# the answer of a Turbo HD DVR to that search, as captured on mhzhuji.com ("海康设备搜索器搜索协议解析"),
# with the salt shortened; element names as scanner.go's Device reads them
DVR_PROBE_MATCH = b"""<?xml version="1.0" encoding="UTF-8" ?>
<ProbeMatch>
    <Uuid>8282F1DB-2FA6-4709-B261-3C6B6A48CA17</Uuid>
    <Types>inquiry</Types>
    <Encrypt>true</Encrypt>
    <Salt>9bb2be4e49c225d4e57e659ecb97214a</Salt>
    <DeviceType>44322</DeviceType>
    <DeviceDescription>DS-7804HQH-K1</DeviceDescription>
    <DeviceSN>DS-7804HQH-K10420190822CCCHD53257168WCVU</DeviceSN>
    <CommandPort>8000</CommandPort>
    <HttpPort>80</HttpPort>
    <MAC>68-6d-bc-ee-f8-f0</MAC>
    <IPv4Address>192.168.1.227</IPv4Address>
    <IPv4SubnetMask>255.255.255.0</IPv4SubnetMask>
    <IPv4Gateway>192.168.1.1</IPv4Gateway>
    <IPv6Address>fe80::6a6d:bcff:feee:f8f0</IPv6Address>
    <IPv6Gateway>::</IPv6Gateway>
    <IPv6MaskLen>64</IPv6MaskLen>
    <DHCP>false</DHCP>
    <AnalogChannelNum>4</AnalogChannelNum>
    <DigitalChannelNum>5</DigitalChannelNum>
    <SoftwareVersion>V3.5.38build 191215</SoftwareVersion>
    <DSPVersion>V5.0, build 191213</DSPVersion>
    <BootTime>2021-05-19 14:31:12</BootTime>
    <OEMInfo>N/A</OEMInfo>
    <Activated>true</Activated>
    <PasswordResetAbility>true</PasswordResetAbility>
    <SyncIPCPassword>true</SyncIPCPassword>
    <PasswordResetModeSecond>true</PasswordResetModeSecond>
    <DeviceLock>true</DeviceLock>
</ProbeMatch>
"""


def camera_probe_match(model: str = "DS-2CD2142FWD-I", sn: str | None = None, activated: str = "false") -> bytes:
    """A camera's answer in the same layout (the serial per ipcamtalk's reading of Hikvision serials)."""
    sn = f"{model}0020170725AAWR712345678" if sn is None else sn
    return (f'<?xml version="1.0" encoding="UTF-8"?><ProbeMatch><Uuid>u-1</Uuid><Types>inquiry</Types>'
            f"<DeviceType>138153</DeviceType><DeviceDescription>{model}</DeviceDescription><DeviceSN>{sn}</DeviceSN>"
            "<CommandPort>8000</CommandPort><HttpPort>80</HttpPort><MAC>c0-56-e3-12-34-56</MAC>"
            "<IPv4Address>192.0.2.64</IPv4Address><SoftwareVersion>V5.5.0build 170725</SoftwareVersion>"
            f"<DSPVersion>V7.3 build 170725</DSPVersion><Activated>{activated}</Activated></ProbeMatch>").encode()


# --- the messages ------------------------------------------------------------------------------------

def test_a_search_is_an_inquiry_of_its_sender() -> None:
    for message in (INQUIRY, INQUIRY_V32):
        [o] = D.dissect(udp(message, 51000, 37020, dst_ip="239.255.255.250"), {})
        assert (o.proto, o.kind, o.subject) == ("sadp", "inquiry", "src")
        assert o.fields == {"uuid": "8282F1DB-2FA6-4709-B261-3C6B6A48CA17",
                            "types": message.split(b"<Types>")[1].split(b"<")[0].decode()}


def test_a_recorder_answers_with_what_it_is() -> None:
    kind, f = parse_sadp(DVR_PROBE_MATCH)
    assert kind == "probe_match"
    assert f == {
        "uuid": "8282F1DB-2FA6-4709-B261-3C6B6A48CA17", "types": "inquiry", "device_type": "44322",
        "device_description": "DS-7804HQH-K1", "device_sn": "DS-7804HQH-K10420190822CCCHD53257168WCVU",
        "software_version": "V3.5.38build 191215", "dsp_version": "V5.0, build 191213",
        "boot_time": "2021-05-19 14:31:12", "oem_info": "N/A", "ipv4_address": "192.168.1.227",
        "ipv4_subnet_mask": "255.255.255.0", "ipv4_gateway": "192.168.1.1", "ipv6_address": "fe80::6a6d:bcff:feee:f8f0",
        "command_port": 8000, "http_port": 80, "analog_channel_num": 4, "digital_channel_num": 5,
        "dhcp": False, "activated": True, "password_reset_ability": True,
        "sn_model": "DS-7804HQH-K1", "sn_date": "2019-08-22", "sn_serial": "D53257168",
        "mac": "68:6d:bc:ee:f8:f0",
    }


def test_the_salt_and_unlisted_elements_are_not_kept() -> None:
    _, f = parse_sadp(DVR_PROBE_MATCH)
    text = repr(f)
    assert "9bb2be4e" not in text and "Salt" not in text and "salt" not in text
    assert not {"encrypt", "device_lock", "ipv6_gateway"} & set(f)


def test_a_camera_answer_and_a_device_waiting_for_activation() -> None:
    kind, f = parse_sadp(camera_probe_match())
    assert kind == "probe_match" and f["activated"] is False
    assert (f["device_description"], f["software_version"], f["mac"]) == ("DS-2CD2142FWD-I", "V5.5.0build 170725",
                                                                          "c0:56:e3:12:34:56")
    assert (f["sn_model"], f["sn_date"], f["sn_serial"]) == ("DS-2CD2142FWD-I", "2017-07-25", "712345678")


@pytest.mark.parametrize(("sn", "model"), [
    ("DS-2CD2142FWD-I0020170725AAWR712345678", "DS-2CD2142FWD-X"),  # another model than the description
    ("DS-2CD2142FWD-I0020171325AAWR712345678", "DS-2CD2142FWD-I"),  # no month 13
    ("DS-2CD2142FWD-I00201707", "DS-2CD2142FWD-I"),  # cut short
    ("712345678", "DS-2CD2142FWD-I"),  # the label serial alone
    ("DS-2CD2142FWD-I0020170725AAWR712345678", ""),  # no description to check the model against
])
def test_a_device_sn_is_split_only_where_the_convention_holds(sn: str, model: str) -> None:
    assert split_device_sn(sn, model) is None
    _, f = parse_sadp(camera_probe_match(model or "X", sn=sn) if model else camera_probe_match(sn=sn).replace(
        b"<DeviceDescription>DS-2CD2142FWD-I</DeviceDescription>", b""))
    assert "sn_model" not in f and f["device_sn"] == sn


def test_the_dvr_serial_of_the_reading_guide_splits() -> None:
    # ipcamtalk.com "Here's how to read Hikvision serial numbers": model, channels, date, grades and region, serial
    assert split_device_sn("DS-7608NI-E2/8P0820160211AAWR123456789WCVU", "DS-7608NI-E2/8P") == {
        "sn_model": "DS-7608NI-E2/8P", "sn_date": "2016-02-11", "sn_serial": "123456789"}


def test_commands_keep_their_type_and_never_a_password() -> None:
    # a command carries a password or a reset code (hiktools hiktools/sadp/message.py: getcode, reset)
    command = (b"<?xml version='1.0' encoding='utf-8'?><Probe><Uuid>AB</Uuid><Types>update</Types>"
               b"<MAC>c0-56-e3-12-34-56</MAC><Password>hunter2-Secret</Password><IPv4Address>192.0.2.9</IPv4Address>"
               b"</Probe>")
    kind, f = parse_sadp(command)
    assert (kind, f) == ("command", {"uuid": "AB", "types": "update"})
    reply = (b"<ProbeMatch><Uuid>AB</Uuid><Types>getcode</Types><MAC>C0-56-E3-12-34-56</MAC>"
             b"<Code>AwAAAHNlY3JldA==</Code></ProbeMatch>")
    kind, f = parse_sadp(reply)
    assert (kind, f) == ("command_reply", {"uuid": "AB", "types": "getcode", "mac": "c0:56:e3:12:34:56"})
    kind, f = parse_sadp(b"<ProbeMatch><Types>reset</Types><Result>success</Result></ProbeMatch>")
    assert (kind, f) == ("command_reply", {"types": "reset", "mac": None, "result": "success"})


def test_values_are_bounded_and_odd_values_are_none() -> None:
    long = "D" * (MAX_FIELD_CHARS * 4)
    _, f = parse_sadp(camera_probe_match(model=long, sn="x"))
    assert len(f["device_description"]) == MAX_FIELD_CHARS
    odd = (b"<ProbeMatch><Types>inquiry</Types><HttpPort>80a</HttpPort><CommandPort>9999999</CommandPort>"
           b"<DHCP>maybe</DHCP><MAC>zz-zz</MAC><DeviceSN></DeviceSN></ProbeMatch>")
    _, f = parse_sadp(odd)
    assert f == {"types": "inquiry", "http_port": None, "command_port": None, "dhcp": None, "mac": None}


def test_the_first_of_a_repeated_element_counts_and_nested_elements_are_not_fields() -> None:
    doubled = (b"<ProbeMatch><Types>inquiry</Types><DeviceDescription>DS-2CD1</DeviceDescription>"
               b"<DeviceDescription>DS-2CD2</DeviceDescription><X><DeviceSN>inner</DeviceSN></X></ProbeMatch>")
    _, f = parse_sadp(doubled)
    assert f["device_description"] == "DS-2CD1" and "device_sn" not in f


def test_elements_stop_at_their_limit() -> None:
    crowd = b"<x/>" * MAX_ELEMENTS
    with pytest.raises(ParseError, match="MAX_ELEMENTS"):
        parse_sadp(b"<ProbeMatch><Types>inquiry</Types>" + crowd + b"</ProbeMatch>")
    deep = b"<x>" * (MAX_ELEMENTS + 10) + b"</x>" * (MAX_ELEMENTS + 10)
    with pytest.raises(ParseError):
        parse_sadp(b"<ProbeMatch>" + deep + b"</ProbeMatch>")


WSD_PROBE = (b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
             b'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"><s:Body><d:Probe/></s:Body></s:Envelope>')


@pytest.mark.parametrize("data", [
    b"", b"   ", b"M-SEARCH * HTTP/1.1\r\n\r\n", b"\x21\x02\x42\x01", b"<", b"<html><body/></html>",
    WSD_PROBE, b'<Probe xmlns="urn:x"><Types>inquiry</Types></Probe>',
    INQUIRY[:-8], DVR_PROBE_MATCH[:200], b'<?xml version="1.0" encoding="no-such-codec"?><Probe/>',
])
def test_what_is_not_an_sadp_message_is_a_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError):
        parse_sadp(data)


# --- XML attacks ------------------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<ProbeMatch><Types>inquiry</Types><DeviceDescription>&lol9;</DeviceDescription></ProbeMatch>"""


def test_an_entity_bomb_and_external_entities_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="DTDForbidden"):
        parse_sadp(BILLION_LAUGHS)
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    xxe = (f'<?xml version="1.0"?><!DOCTYPE ProbeMatch [<!ENTITY x SYSTEM "{secret.as_uri()}">]>'
           "<ProbeMatch><Types>inquiry</Types><DeviceDescription>&x;</DeviceDescription></ProbeMatch>").encode()
    with pytest.raises(ParseError) as err:
        parse_sadp(xxe)
    assert "TOP-SECRET-VALUE" not in str(err.value)
    with pytest.raises(ParseError):
        parse_sadp(b"<ProbeMatch><Types>inquiry</Types><DeviceSN>&undeclared;</DeviceSN></ProbeMatch>")


# --- dispatch, the binary form, memo and the contract -------------------------------------------------

def test_registered_on_udp_37020_and_the_binary_ethertype_and_memoised() -> None:
    assert any(isinstance(d, SadpDissector) and d.udp_ports == (37020,) and d.ethertypes == (0x8033,)
               for d in default_dissectors())
    assert D.memo_key(INQUIRY) == INQUIRY
    [o] = D.dissect(udp(DVR_PROBE_MATCH, 37020, 51000), {})
    assert (o.kind, o.subject, o.fields["device_description"]) == ("probe_match", "src", "DS-7804HQH-K1")


def test_a_binary_frame_is_recorded_by_its_length_alone() -> None:
    payload = bytes([0x21, 0x02, 0x01, 0x42]) + bytes(34) + b"\x00" * 10
    [o] = D.dissect(frame(payload, 0x8033), {})
    assert (o.proto, o.kind, o.fields) == ("sadp", "binary", {"octets": len(payload)})
    with pytest.raises(ParseError):
        D.dissect(frame(b"", 0x8033), {})
    with pytest.raises(ParseError):  # the binary form on the UDP port is not read
        D.dissect(udp(payload, 37020, 37020), {})


@pytest.mark.parametrize("capture", TCPDUMP_CAPTURES or ["absent"])
def test_every_tcpdump_capture_yields_observations_or_parse_errors(capture: str) -> None:
    assert all(o.proto == "sadp" for o in run_dissector(D, shared("pcaps", "tcpdump_tests", capture)))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_honour_the_contract(data: bytes) -> None:
    contract_call(D, udp(data, 51000, 37020), {})
    contract_call(D, udp(b"<ProbeMatch>" + data, 37020, 51000), {})
    contract_call(D, frame(data, 0x8033), {})


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([INQUIRY, DVR_PROBE_MATCH, camera_probe_match(), BILLION_LAUGHS]), EDITS, CUTS)
def test_mutated_messages_honour_the_contract(seed: bytes, edits: list[tuple[int, int]], cut: int) -> None:
    contract_call(D, udp(mutate(seed, edits, cut), 37020, 51000), {})


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>/:=\"'&;!?[] ProbeMatchTypesinquryDOCTYPE%#\x00")), max_size=300))
def test_markup_soup_honours_the_contract(soup: str) -> None:
    contract_call(D, udp(f"<ProbeMatch><Types>inquiry</Types>{soup}</ProbeMatch>".encode(), 37020, 37020), {})
    contract_call(D, udp(soup.encode(), 37020, 37020), {})
