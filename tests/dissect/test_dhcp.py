"""The DHCPv4 dissector, pinned to suricata-verify's published EVE values and tcpdump's decodes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.dhcp import MAX_VALUE_OCTETS, DhcpDissector, parse_dhcp
from iotwarden.errors import ParseError
from tests.conftest import shared
from tests.dissect.discovery import (
    CUTS,
    EDITS,
    TCPDUMP_CAPTURES,
    UNSPECIFIED,
    by_frame,
    contract_call,
    mutate,
    single,
    udp,
)
from tests.pcaputil import run_dissector

D = DhcpDissector()
SV = ("pcaps", "suricata_verify")


def bootp(op: int = 1, options: bytes = b"", sname: bytes = b"", file: bytes = b"", cookie: bool = True) -> bytes:
    """A BOOTP message (RFC 2131 §2) for chaddr 02:00:00:00:00:0a with ``options`` after the cookie."""
    head = bytes([op, 1, 6, 0]) + (0x1234).to_bytes(4, "big") + b"\x00" * 4 + b"\x00" * 16
    chaddr = bytes.fromhex("02000000000a").ljust(16, b"\x00")
    body = head + chaddr + sname.ljust(64, b"\x00") + file.ljust(128, b"\x00")
    return body + (b"\x63\x82\x53\x63" + options if cookie else b"")


OVERLOADED_OFFER = bootp(op=2, options=b"\x35\x01\x02\x34\x01\x03\xff", sname=b"\x03\x04\x0a\x00\x00\x01\xff",
                         file=b"\x06\x04\x0a\x00\x00\x01\xff")
DISCOVER = bootp(options=b"\x35\x01\x01\x0c\x05cam01\x37\x03\x01\x03\x06\x3c\x08MSFT 5.0\xff")


def test_suricata_dhcp_eve_extended_request_and_ack() -> None:
    got = by_frame(D, shared(*SV, "dhcp-eve-extended", "input.pcap"))
    request, ack = single(got, 1), single(got, 2)
    assert request.kind == "request" and request.src_ip == "10.16.1.4" and request.dst_port == 67
    f = request.fields
    assert (f["xid"], f["client_mac"], f["ciaddr"], f["yiaddr"]) == (4016330564, "00:11:32:17:49:f0", "10.16.1.4",
                                                                    UNSPECIFIED)
    assert f["client_id"] == "01:00:11:32:17:49:f0"  # suricata prints it without the type octet 01
    assert f["hostname"] == "nas1"  # suricata keeps the trailing NUL ("nas1\u0000"); we strip it
    # suricata names the ones it knows: params[0..3] subnet_mask, router, domain, dns_server (1, 3, 15, 6)
    assert f["param_req_list"] == [1, 28, 2, 3, 15, 6, 12]
    assert ack.kind == "ack" and ack.src_port == 67
    f = ack.fields
    assert (f["yiaddr"], f["ciaddr"], f["siaddr"], f["giaddr"]) == ("10.16.1.4", "10.16.1.4", "10.16.1.1", UNSPECIFIED)
    assert (f["lease_time"], f["renewal_time"], f["rebinding_time"]) == (3600, 1681, 3031)
    assert (f["routers"], f["dns_servers"], f["subnet_mask"]) == (["10.16.1.1"], ["10.16.1.1"], "255.255.0.0")


def test_suricata_option_60_vendor_class() -> None:
    obs = single(by_frame(D, shared(*SV, "dhcp-eve-extended-option-60", "input.pcap")), 1)
    assert obs.kind == "request" and obs.src_ip == UNSPECIFIED
    assert obs.fields["xid"] == 3759982360 and obs.fields["vendor_class"] == "MSFT 5.0"
    # params[0..3] subnet_mask, domain, router, dns_server
    assert obs.fields["param_req_list"][:4] == [1, 15, 3, 6]


@pytest.mark.parametrize(("frame", "kind", "server"), [(3, "offer", "10.100.0.1"), (4, "offer", "10.100.0.2"),
                                                        (7, "ack", "10.100.0.2"), (8, "ack", "10.100.0.1")])
def test_suricata_option_52_overload_puts_options_in_sname(frame: int, kind: str, server: str) -> None:
    obs = single(by_frame(D, shared(*SV, "dhcp-option-52-overload", "input.pcap")), frame)
    assert obs.kind == kind
    assert obs.fields["dns_servers"] == [server] and obs.fields["routers"] == [server]
    assert ("sname" in obs.fields) == (obs.fields.get("overload") is None)


def test_suricata_option_52_overload_of_both_fields() -> None:
    obs = single(by_frame(D, shared(*SV, "dhcp-option-52-overload-both", "input.pcap")), 1)
    assert obs.kind == "discover" and obs.fields["xid"] == 2888761343
    assert obs.fields["client_mac"] == "00:00:6c:82:dc:4e" and obs.fields["lease_time"] == 3600
    assert obs.fields["overload"] == 3
    # option 56 is split over options, file and sname: concatenated in that order (RFC 3396, RFC 2131 §4.1)
    assert obs.fields["message"] == "Paddingfile name field overloadsname field overload"


def test_output_eve_dhcp_two_events_for_the_two_messages() -> None:
    assert len(run_dissector(D, shared(*SV, "dhcp-eve-extended", "input.pcap"))) == 2


def test_a_mud_url_client_from_tcpdump_dhcp_mud() -> None:
    # dhcp-mud.out: MUD-URL (161), Vendor-Class (60), Hostname (12), Parameter-Request (55) of 16 codes
    got = by_frame(D, shared("pcaps", "tcpdump_tests", "dhcp-mud.pcap"))
    f = single(got, 1).fields
    assert f["mud_url"] == "https://mudctl.example.com/.well-known/mud/v1/rasbp101"
    assert f["vendor_class"] == "dhcpcd-6.11.5:Linux-4.1.18-v7+:armv7l:BCM2709"
    assert f["hostname"] == "raspberrypi" and f["max_msg_size"] == 1472 and f["hops"] == 1
    assert f["param_req_list"] == [1, 121, 33, 3, 6, 12, 15, 28, 42, 51, 54, 58, 59, 100, 101, 119]
    assert f["options"] == [53, 61, 57, 161, 60, 12, 145, 55]
    assert single(got, 2).fields["domain"] == "ofcourseimright.com"


def test_rfc3004_user_class_instances() -> None:
    # dhcp-rfc3004-v.out: instance#1 "subopt1", #2 "subopt2-123456789", #3 "subopt3-12"
    f = single(by_frame(D, shared("pcaps", "tcpdump_tests", "dhcp-rfc3004.pcap")), 1).fields
    assert f["user_class"] == ["subopt1", "subopt2-123456789", "subopt3-12"]
    assert f["requested_ip"] == "192.168.1.4"


def test_leasequery_message_types_of_rfc4388() -> None:
    kinds = {o.kind for o in run_dissector(D, shared("pcaps", "tcpdump_tests", "dhcp-rfc4388.pcap"))}
    assert {"leasequery", "leaseactive", "leaseunknown"} <= kinds


def test_a_client_fqdn_and_raw_user_class() -> None:
    fqdn = b"\x51\x0e\x00\x00\x00cam.example"
    kind, f = parse_dhcp(bootp(options=b"\x35\x01\x03" + fqdn + b"\x4d\x08MSFT 5.0\xff"))
    assert kind == "request" and f["fqdn"] == "cam.example" and f["user_class"] == ["MSFT 5.0"]
    wire = b"\x51\x0b\x04\x00\x00\x03cam\x02io\x00"  # E flag: canonical wire format (RFC 4702 §2.1)
    assert parse_dhcp(bootp(options=b"\x35\x01\x03" + wire + b"\xff"))[1]["fqdn"] == "cam.io"


def test_repeated_options_are_concatenated_up_to_the_limit() -> None:
    chunk = b"\x3c\xff" + b"v" * 255
    f = parse_dhcp(bootp(options=b"\x35\x01\x01" + chunk * 6 + b"\xff"))[1]
    assert len(f["vendor_class"]) == MAX_VALUE_OCTETS and f["options"] == [53, 60]


def test_bootp_without_option_53_and_without_cookie() -> None:
    assert parse_dhcp(bootp(cookie=False, file=b"pxelinux.0"))[0] == "bootp"
    assert parse_dhcp(bootp(cookie=False, file=b"pxelinux.0"))[1]["file"] == "pxelinux.0"


@pytest.mark.parametrize("data", [b"\x01" * 100, bootp(op=3), bootp(options=b"\x35\x05\x01")])
def test_malformed_messages_raise_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError):
        parse_dhcp(data)


@pytest.mark.parametrize("capture", ["bootp_asan.pcap", "bootp_asan-2.pcap"])
def test_tcpdump_asan_reproducers_are_parse_errors(capture: str) -> None:
    errors: list[Exception] = []
    run_dissector(D, shared("pcaps", "tcpdump_tests", capture), errors=errors)
    assert errors and all(isinstance(e, ParseError) for e in errors)


def test_a_server_ack_carries_the_cameras_facts_under_the_servers_subject() -> None:
    # NKU lifecycle dataset: the Xiaobai Y2 camera's setup; the router's ACK echoes the camera's hostname
    obs = run_dissector(D, shared("pcaps", "nku_lifecycle", "pcaps", "xiaobai_Y2camera_lifecycle",
                                  "xiaobai_Y2camera_setup.pcap"))
    ack = next(o for o in obs if o.kind == "ack")
    assert ack.subject == "src" and ack.src_ip == ack.fields["server_id"] == "192.168.1.1"
    assert (ack.fields["client_mac"], ack.fields["yiaddr"]) == ("78:df:72:24:69:4d", "192.168.1.165")
    assert ack.fields["hostname"] == "chuangmi_camera_060a02"


def test_a_blink_camera_discover_is_an_option_order_fingerprint() -> None:
    # labeled locks/cams dataset (CSET 2021), blink-cam-01.pcap: a TI SimpleLink Wi-Fi module
    obs = run_dissector(D, shared("pcaps", "labeled_locks_cams", "pcaps", "blink-cam-01.pcap"))
    discover = next(o for o in obs if o.kind == "discover")
    assert discover.fields["hostname"] == "F4B85EFF2B1B-mysimplelink"
    assert (discover.fields["options"], discover.fields["param_req_list"]) == ([53, 51, 12, 55], [1, 3, 6])


@pytest.mark.parametrize("capture", TCPDUMP_CAPTURES or ["absent"])
def test_every_tcpdump_capture_yields_observations_or_parse_errors(capture: str) -> None:
    assert all(o.proto == "dhcp" for o in run_dissector(D, shared("pcaps", "tcpdump_tests", capture)))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_honour_the_contract(data: bytes) -> None:
    contract_call(D, udp(data, 68, 67), {})


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([DISCOVER, OVERLOADED_OFFER]),
       st.lists(st.tuples(st.integers(236, 400), st.integers(0, 255)), max_size=8), CUTS)
def test_mutated_messages_honour_the_contract(seed: bytes, edits: list[tuple[int, int]], cut: int) -> None:
    contract_call(D, udp(mutate(seed, edits, cut), 67, 68), {})


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([DISCOVER]), EDITS, CUTS)
def test_mutated_headers_honour_the_contract(seed: bytes, edits: list[tuple[int, int]], cut: int) -> None:
    contract_call(D, udp(mutate(seed, edits, cut), 68, 67), {})
